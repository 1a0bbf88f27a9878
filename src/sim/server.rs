//! The `singlewindow.v1.AgencyEndpoint` service of the simulated agencies. `Deliver` checks
//! the delivery, draws the injected faults (before anything is recorded, so a faulted attempt
//! has no effect), waits the drawn latency, then takes the delivery in the [`Book`] and queues
//! its receipts with no `.await` in between, and only then answers OK. [`tls`] reads what the
//! server needs to serve TLS (and mutual TLS).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tonic::{Request, Response, Status};

use crate::domain::Agency;
use crate::pb::v1::{self, agency_endpoint_server::AgencyEndpoint};

use super::book::{Book, Take, Taking};
use super::config::{invalid, ConfigError, RuleAction, SimConfig};
use super::decide::{self, Subject};
use super::random;
use super::reporter::{wait_closed, Reporter};

/// How long a `timeout` fault keeps the caller waiting: longer than any delivery deadline.
const TIMEOUT_FAULT: Duration = Duration::from_secs(30);

/// The service; cheap to clone.
#[derive(Clone)]
pub(crate) struct Agencies {
    shared: Arc<Shared>,
}

struct Shared {
    config: SimConfig,
    draws: random::Stream,
    book: Arc<Book>,
    reporter: Reporter,
    /// Turns true when shutdown begins: waits end.
    closed: watch::Receiver<bool>,
}

impl Agencies {
    /// The agencies of `config`, recording in `book` and reporting through `reporter`.
    pub(crate) fn new(
        config: SimConfig,
        book: Arc<Book>,
        reporter: Reporter,
        closed: watch::Receiver<bool>,
    ) -> Agencies {
        let draws = random::Stream::new(config.seed);
        Agencies {
            shared: Arc::new(Shared {
                config,
                draws,
                book,
                reporter,
                closed,
            }),
        }
    }
}

#[tonic::async_trait]
impl AgencyEndpoint for Agencies {
    async fn deliver(
        &self,
        request: Request<v1::Delivery>,
    ) -> Result<Response<v1::DeliveryAck>, Status> {
        let shared = &self.shared;
        let delivery = request.into_inner();
        let (ebp_code, order_no) = delivery
            .shipment
            .as_ref()
            .map_or(("", ""), |s| (s.ebp_code.as_str(), s.order_no.as_str()));
        let agency = shared.admit(&delivery, order_no)?;
        shared.faults().await?;
        let latency = shared.draws.latency(shared.config.latency);
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        let mut closed = shared.closed.clone();
        let slot = tokio::select! {
            biased;
            slot = shared.reporter.reserve() => slot.map_err(|_| stopping())?,
            () = wait_closed(&mut closed) => return Err(stopping()),
        };
        // From here on nothing awaits: the take and the queueing of its receipts go together.
        let take = Take {
            subject: Subject {
                message_id: &delivery.message_id,
                agency,
                kind: &delivery.kind,
                order_no,
                credit: &delivery.credit,
            },
            ebp_code,
            attempt: delivery.attempt,
            now_unix_ms: now_unix_ms(),
        };
        let taking = shared
            .book
            .take(&take, || decide::decide(&shared.config, &take.subject))
            .map_err(|err| Status::internal(err.to_string()))?;
        let (duplicate, receipts) = match taking {
            Taking::First(receipts) => (false, receipts),
            Taking::Duplicate(receipts) => (true, receipts),
        };
        if !receipts.is_empty() {
            slot.send(receipts.into());
        }
        Ok(Response::new(v1::DeliveryAck { duplicate }))
    }
}

impl Shared {
    /// The delivery's agency, if it is well-formed, simulated here and not refused by a rule.
    fn admit(&self, delivery: &v1::Delivery, order_no: &str) -> Result<Agency, Status> {
        if delivery.message_id.is_empty() {
            return Err(Status::invalid_argument("message_id is empty"));
        }
        if delivery.agency.is_empty() {
            return Err(Status::invalid_argument("agency is empty"));
        }
        let simulated = &self.config.agencies;
        let Some(agency) = Agency::named(&delivery.agency).filter(|a| simulated.contains(a)) else {
            let names: Vec<&str> = simulated.iter().map(|a| a.name()).collect();
            return Err(Status::failed_precondition(format!(
                "agency {:?} is not simulated here (only {})",
                delivery.agency,
                names.join(",")
            )));
        };
        if let Some(rule) = decide::rule_for(&self.config.rules, order_no) {
            if rule.action == RuleAction::Refuse {
                return Err(Status::failed_precondition(format!(
                    "refused by the simulator: order number {order_no:?} matches the refuse \
                     rule {:?}",
                    rule.prefix
                )));
            }
        }
        Ok(agency)
    }

    /// The injected faults of this attempt, drawn in turn.
    async fn faults(&self) -> Result<(), Status> {
        let faults = self.config.faults;
        if self.draws.chance(faults.unavailable) {
            return Err(Status::unavailable(
                "unavailable (injected by the simulator)",
            ));
        }
        if self.draws.chance(faults.timeout) {
            let mut closed = self.closed.clone();
            tokio::select! {
                () = tokio::time::sleep(TIMEOUT_FAULT) => {}
                () = wait_closed(&mut closed) => {}
            }
            return Err(Status::unavailable("timed out (injected by the simulator)"));
        }
        if self.draws.chance(faults.refuse) {
            return Err(Status::failed_precondition(
                "refused by the simulator: injected refusal",
            ));
        }
        Ok(())
    }
}

/// The TLS the simulator serves with (`--tls-cert`, `--tls-key`, `--tls-client-ca`), its files
/// read and checked; `None`: plaintext. The gateway's TLS files (`--gateway-tls-*`) are read
/// too, so that a missing one stops the start rather than every report. Errors name the flag.
pub(crate) fn tls(config: &SimConfig) -> Result<Option<ServerTlsConfig>, ConfigError> {
    let gateway = &config.gateway_tls;
    for (flag, path) in [
        ("--gateway-tls-ca", &gateway.ca),
        ("--gateway-tls-cert", &gateway.cert),
        ("--gateway-tls-key", &gateway.key),
    ] {
        if let Some(path) = path {
            read(flag, path)?;
        }
    }
    let (cert, key) = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => (cert, key),
        (None, None) if config.tls_client_ca.is_some() => {
            return Err(invalid(
                "--tls-client-ca",
                "mutual TLS needs --tls-cert and --tls-key",
            ))
        }
        (None, None) => return Ok(None),
        (Some(_), None) => return Err(invalid("--tls-key", "--tls-cert needs --tls-key")),
        (None, Some(_)) => return Err(invalid("--tls-cert", "--tls-key needs --tls-cert")),
    };
    let identity = Identity::from_pem(read("--tls-cert", cert)?, read("--tls-key", key)?);
    let mut tls = ServerTlsConfig::new().identity(identity);
    if let Some(ca) = &config.tls_client_ca {
        tls = tls.client_ca_root(Certificate::from_pem(read("--tls-client-ca", ca)?));
    }
    // Parses the PEM now: a bad certificate or key is a start-up error, not a served error.
    if let Err(err) = Server::builder().tls_config(tls.clone()) {
        let flag = if config.tls_client_ca.is_some() {
            "--tls-cert/--tls-key/--tls-client-ca"
        } else {
            "--tls-cert/--tls-key"
        };
        return Err(invalid(flag, format!("unusable: {}", chain(&err))));
    }
    Ok(Some(tls))
}

/// The bytes of the PEM file given with `flag`.
fn read(flag: &'static str, path: &Path) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path)
        .map_err(|err| invalid(flag, format!("{}: cannot be read: {err}", path.display())))
}

/// An error and its sources, for people.
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

fn stopping() -> Status {
    Status::unavailable("the simulator is shutting down")
}

fn now_unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
