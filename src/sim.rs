//! The agency simulator (`single-window agency-sim`): customs, inspection & quarantine, FX and
//! tax behind one `singlewindow.v1.AgencyEndpoint` gRPC server, for tests, benchmarks and
//! demos of the gateway.
//!
//! What a simulated agency does with a `Deliver`:
//! 1. checks it (a message id; an agency simulated here, else FAILED_PRECONDITION; a
//!    `--rule PREFIX=refuse` refuses the shipment for good);
//! 2. draws the injected faults for this attempt (UNAVAILABLE, a wait past the caller's
//!    deadline, FAILED_PRECONDITION): a faulted attempt records nothing;
//! 3. waits the drawn latency;
//! 4. takes it: one ledger line per delivery taken, written before the OK. The first delivery
//!    of a message decides (a hash of seed and message id over the decision weights, the
//!    customs inspect weight scaled by the credit class, order-number prefix rules winning);
//!    a repeat is `duplicate: true`, decides nothing and sends the receipts already due again;
//! 5. the reporter sends the receipts (`{message_id}#{seq}`) to the gateway's
//!    `Receipts.Report`, in order per message, retrying until the gateway takes them.
//!
//! Decisions are pure ([`decide`]); the only state is the book of taken messages, mirrored in
//! the ledger file, from which a restarted simulator knows its duplicates and re-queues the
//! receipts the gateway never took. Modules: [`config`] (plain data), [`parse`] (its
//! textual forms), [`settings`] (flags and file), [`decide`] (pure decisions and receipts),
//! [`ledger`] (the file format), `random`, `book` (state), `server` (the gRPC handler),
//! `reporter`.
//!
//! TLS: the server serves plaintext, TLS (`--tls-cert`, `--tls-key`) or mutual TLS (with
//! `--tls-client-ca`, the gateway must present a certificate that CA signed); the reporter
//! reaches an `https://` gateway with `--gateway-tls-ca` (and `--gateway-tls-cert`,
//! `--gateway-tls-key` for mutual TLS).

pub mod config;
pub mod decide;
pub mod ledger;
pub mod parse;
pub mod settings;

mod book;
mod random;
mod reporter;
mod server;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tonic::transport::{Server, ServerTlsConfig};

use crate::pb::v1::agency_endpoint_server::AgencyEndpointServer;

pub use config::{ConfigError, CreditFactors, Faults, Latency, Mix, Rule, RuleAction, SimConfig};
pub use decide::Decision;
pub use ledger::{
    read_ledger, summarize, DeliveryLine, LedgerError, LedgerLine, LedgerSummary, ReportedLine,
};

use book::Book;
use reporter::Reporter;
use server::Agencies;

/// Largest delivery accepted, bytes (a CEB621 with 99 lines is far below).
const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

/// Serves the simulated agencies on `listener` until `shutdown` completes. The receipts go to
/// `config.gateway` (held while it is `None`). Receipts not reported by then are reported by
/// the next run on the same ledger.
pub async fn serve(
    config: SimConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (_gateway, gateway_url) = watch::channel(config.gateway.clone());
    let sim = Sim::start(config, gateway_url)?;
    sim.run(listener, shutdown).await
}

/// Checks `config` and reads its TLS files (`--tls-cert`, `--tls-key`, `--tls-client-ca`,
/// `--gateway-tls-*`) as [`serve`] will, so that a caller can refuse a bad one before it binds.
/// The error names the flag.
pub fn check(config: &SimConfig) -> Result<(), ConfigError> {
    config.check()?;
    server::tls(config).map(drop)
}

/// Starts the simulator on `127.0.0.1:0` on the current runtime, for a gateway that runs its
/// agencies in-process. Set `config.gateway` to `None` when the gateway's address is not
/// known yet, then call [`Embedded::set_gateway`].
pub async fn spawn(config: SimConfig) -> anyhow::Result<Embedded> {
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let addr = listener.local_addr()?;
    let scheme = if config.serves_tls() { "https" } else { "http" };
    let (gateway, gateway_url) = watch::channel(config.gateway.clone());
    let sim = Sim::start(config, gateway_url)?;
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(sim.run(listener, async move {
        let _ = stopped.await;
    }));
    Ok(Embedded {
        url: format!("{scheme}://{addr}"),
        addr,
        gateway,
        stop: Some(stop),
        task: Some(task),
    })
}

/// A simulator running in this process; stopped by [`Embedded::stop`] or when dropped.
#[derive(Debug)]
pub struct Embedded {
    /// Where it serves: `http://127.0.0.1:PORT`, or `https://127.0.0.1:PORT` when it serves TLS
    /// (`SimConfig::tls_cert`).
    pub url: String,
    /// The same, as an address.
    pub addr: SocketAddr,
    gateway: watch::Sender<Option<String>>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl Embedded {
    /// Names (or changes) the gateway the receipts go to; receipts held so far go now.
    pub fn set_gateway(&self, url: &str) -> Result<(), ConfigError> {
        config::check_gateway(url)?;
        self.gateway.send_replace(Some(url.to_owned()));
        Ok(())
    }

    /// Stops serving: no new deliveries, the ones in flight finish, the reporter stops (the
    /// ledger keeps what it did not report).
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await?,
            None => Ok(()),
        }
    }
}

impl Drop for Embedded {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A simulator ready to serve: ledger loaded, reporter running.
struct Sim {
    agencies: Agencies,
    /// TLS to serve with; plaintext when `None`.
    tls: Option<ServerTlsConfig>,
    closing: Arc<watch::Sender<bool>>,
}

impl Sim {
    /// Checks `config`, reads its TLS files, opens the ledger, starts the reporter and queues
    /// the receipts an earlier run left unreported.
    fn start(config: SimConfig, gateway: watch::Receiver<Option<String>>) -> anyhow::Result<Sim> {
        config.check()?;
        let tls = server::tls(&config)?;
        let (book, pending) = Book::open(config.ledger.as_deref(), config.hold_ms)?;
        let book = Arc::new(book);
        let (closing, closed) = watch::channel(false);
        let reporter = Reporter::start(
            book.clone(),
            gateway,
            config.gateway_tls.clone(),
            config.gateway_token.clone(),
            closed.clone(),
            config.report_in_flight,
            config.queue,
        );
        if !pending.is_empty() {
            let reporter = reporter.clone();
            tokio::spawn(async move {
                for job in pending {
                    if reporter.send(job.into()).await.is_err() {
                        break;
                    }
                }
            });
        }
        Ok(Sim {
            agencies: Agencies::new(config, book, reporter, closed),
            tls,
            closing: Arc::new(closing),
        })
    }

    async fn run(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (health_reporter, health) = tonic_health::server::health_reporter();
        health_reporter
            .set_serving::<AgencyEndpointServer<Agencies>>()
            .await;
        let closing = self.closing.clone();
        let signal = async move {
            shutdown.await;
            health_reporter
                .set_not_serving::<AgencyEndpointServer<Agencies>>()
                .await;
            // Waits in handlers and the reporter end, so the drain is quick.
            closing.send_replace(true);
        };
        let endpoint = AgencyEndpointServer::new(self.agencies)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES);
        let mut server = Server::builder();
        if let Some(tls) = self.tls {
            server = server.tls_config(tls)?;
        }
        let served = server
            .add_service(health)
            .add_service(endpoint)
            .serve_with_incoming_shutdown(crate::api::incoming(listener), signal)
            .await;
        self.closing.send_replace(true);
        Ok(served?)
    }
}
