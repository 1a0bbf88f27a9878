//! The reporter: sends receipts to the gateway's `Receipts.Report` from a bounded queue, each
//! retried with capped exponential backoff until the gateway answers OK (any outcome: REPEAT
//! and ORPHAN are final answers too). A job is one message's receipts, reported one after the
//! other, so a message's 120 goes before its 800; up to `report_in_flight` jobs run at once.
//! A release after a hold leaves its job and comes back through the queue when the hold is
//! over. The gateway's address may be unknown at start: reports wait until it is set.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};
use tonic::transport::Channel;

use crate::client::ClientTls;
use crate::pb::v1::{self, receipts_client::ReceiptsClient, ReceiptOutcome};

use super::book::Book;
use super::decide::Receipt;

/// One message's receipts, in the order they are reported.
pub(crate) type Job = VecDeque<Receipt>;

/// First wait after a failed report.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// Longest wait between two tries.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Time to connect to the gateway.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Time for one report.
const REPORT_TIMEOUT: Duration = Duration::from_secs(5);

/// The queue's sending side; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Reporter {
    queue: mpsc::Sender<Job>,
}

/// The reporter has stopped (shutdown).
#[derive(Debug)]
pub(crate) struct Stopped;

impl Reporter {
    /// Starts the reporter on the current runtime, reporting to the gateway at `gateway` with
    /// `tls` (for an `https://` URL). It stops when `closed` turns true.
    pub(crate) fn start(
        book: Arc<Book>,
        gateway: watch::Receiver<Option<String>>,
        tls: ClientTls,
        token: Option<String>,
        closed: watch::Receiver<bool>,
        in_flight: usize,
        capacity: usize,
    ) -> Reporter {
        let (queue, jobs) = mpsc::channel(capacity.max(1));
        let shared = Arc::new(Shared {
            book,
            gateway: Gateway {
                url: gateway,
                tls,
                // Parsed once (the node makes it hex, always a valid header value).
                token: token.and_then(|t| t.parse().ok()),
                cached: Mutex::new(None),
            },
            closed,
            queue: queue.clone(),
            failing: AtomicBool::new(false),
        });
        let slots = Arc::new(Semaphore::new(in_flight.max(1)));
        tokio::spawn(dispatch(shared, jobs, slots));
        Reporter { queue }
    }

    /// Room for one job: waits while the queue is full. Sending on the permit does not wait,
    /// so a take and the queueing of its receipts happen with no `.await` between them.
    pub(crate) async fn reserve(&self) -> Result<mpsc::Permit<'_, Job>, Stopped> {
        self.queue.reserve().await.map_err(|_| Stopped)
    }

    /// Queues `job`, waiting for room.
    pub(crate) async fn send(&self, job: Job) -> Result<(), Stopped> {
        self.queue.send(job).await.map_err(|_| Stopped)
    }
}

struct Shared {
    book: Arc<Book>,
    gateway: Gateway,
    closed: watch::Receiver<bool>,
    /// For jobs coming back after a hold.
    queue: mpsc::Sender<Job>,
    /// The last report failed: logged once until one succeeds.
    failing: AtomicBool,
}

/// Where to report, and the channel to it.
struct Gateway {
    url: watch::Receiver<Option<String>>,
    /// For an `https://` URL: the gateway's CA and, for mutual TLS, our certificate.
    tls: ClientTls,
    /// Sent as [`crate::api::INTERNAL_TOKEN`] with each report, when set.
    token: Option<tonic::metadata::AsciiMetadataValue>,
    cached: Mutex<Option<(String, Channel)>>,
}

/// Resolves when `closed` turns true (or its sender is gone).
pub(crate) async fn wait_closed(closed: &mut watch::Receiver<bool>) {
    let _ = closed.wait_for(|closed| *closed).await;
}

async fn dispatch(shared: Arc<Shared>, mut jobs: mpsc::Receiver<Job>, slots: Arc<Semaphore>) {
    let mut closed = shared.closed.clone();
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => return,
            },
            () = wait_closed(&mut closed) => return,
        };
        let job = tokio::select! {
            job = jobs.recv() => match job {
                Some(job) => job,
                None => return,
            },
            () = wait_closed(&mut closed) => return,
        };
        tokio::spawn(run_job(shared.clone(), job, slot));
    }
}

/// Reports `job`'s receipts in order; hands the rest back to the queue at a hold.
async fn run_job(shared: Arc<Shared>, mut job: Job, slot: OwnedSemaphorePermit) {
    let mut closed = shared.closed.clone();
    while let Some(mut receipt) = job.pop_front() {
        if receipt.delay_ms > 0 {
            let hold = Duration::from_millis(receipt.delay_ms);
            receipt.delay_ms = 0;
            job.push_front(receipt);
            drop(slot);
            tokio::spawn(async move {
                let mut closed = shared.closed.clone();
                tokio::select! {
                    () = tokio::time::sleep(hold) => {
                        // Back to the queue (an error means shutdown: the ledger keeps it).
                        let _ = shared.queue.send(job).await;
                    }
                    () = wait_closed(&mut closed) => {}
                }
            });
            return;
        }
        if !report(&shared, &receipt, &mut closed).await {
            return;
        }
        if let Err(err) = shared.book.reported(&receipt) {
            eprintln!("single-window agency-sim: {err}");
        }
    }
}

/// Answers by which the gateway refuses a receipt for good (see `agency.proto`).
fn refused_for_good(code: tonic::Code) -> bool {
    matches!(
        code,
        tonic::Code::InvalidArgument | tonic::Code::AlreadyExists | tonic::Code::PermissionDenied
    )
}

/// Reports `receipt` until the gateway takes it or refuses it for good; false when shutdown
/// came first.
async fn report(shared: &Shared, receipt: &Receipt, closed: &mut watch::Receiver<bool>) -> bool {
    let mut backoff = FIRST_BACKOFF;
    loop {
        let Some(url) = shared.gateway.url(closed).await else {
            return false;
        };
        let outcome = match shared.gateway.channel(&url) {
            Ok(channel) => {
                let mut request = tonic::Request::new(to_pb(receipt));
                if let Some(token) = shared.gateway.token.clone() {
                    request
                        .metadata_mut()
                        .insert(crate::api::INTERNAL_TOKEN, token);
                }
                ReceiptsClient::new(channel)
                    .report(request)
                    .await
                    .map(tonic::Response::into_inner)
            }
            Err(err) => Err(tonic::Status::unavailable(format!("{err:#}"))),
        };
        if let Err(status) = &outcome {
            if refused_for_good(status.code()) {
                // The gateway will never take this receipt: retrying would only hold a slot.
                eprintln!(
                    "single-window agency-sim: gateway {url} refuses receipt {} for good: {}: {}",
                    receipt.receipt_id,
                    status.code(),
                    status.message()
                );
                return true;
            }
        }
        let outcome = outcome.map_err(|status| format!("{}: {}", status.code(), status.message()));
        match outcome {
            Ok(ack) => {
                if shared.failing.swap(false, Ordering::Relaxed) {
                    eprintln!("single-window agency-sim: gateway {url} takes receipts again");
                }
                log_outcome(receipt, &ack);
                return true;
            }
            Err(err) => {
                if !shared.failing.swap(true, Ordering::Relaxed) {
                    eprintln!(
                        "single-window agency-sim: gateway {url} does not take receipts \
                         ({err}); retrying"
                    );
                }
            }
        }
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            () = wait_closed(closed) => return false,
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

impl Gateway {
    /// The gateway's URL, once known; `None` at shutdown.
    async fn url(&self, closed: &mut watch::Receiver<bool>) -> Option<String> {
        let mut url = self.url.clone();
        tokio::select! {
            biased;
            known = url.wait_for(Option::is_some) => known.ok().and_then(|url| url.clone()),
            () = wait_closed(closed) => None,
        }
    }

    /// A channel to `url` (connecting lazily, reconnecting by itself), kept while the URL stays:
    /// plaintext for `http://`, TLS for `https://`.
    fn channel(&self, url: &str) -> anyhow::Result<Channel> {
        let mut cached = self
            .cached
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((known, channel)) = cached.as_ref() {
            if known == url {
                return Ok(channel.clone());
            }
        }
        let channel = self
            .tls
            .endpoint(url)?
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REPORT_TIMEOUT)
            .tcp_nodelay(true)
            .connect_lazy();
        *cached = Some((url.to_owned(), channel.clone()));
        Ok(channel)
    }
}

fn to_pb(receipt: &Receipt) -> v1::AgencyReceipt {
    v1::AgencyReceipt {
        receipt_id: receipt.receipt_id.clone(),
        message_id: receipt.message_id.clone(),
        agency: receipt.agency.name().to_owned(),
        return_status: receipt.return_status,
        return_info: receipt.return_info.to_owned(),
        at_unix_ms: receipt.at_unix_ms,
    }
}

/// ORPHAN and IGNORED are final but worth a line: the gateway did not apply the receipt.
fn log_outcome(receipt: &Receipt, ack: &v1::ReceiptAck) {
    match ReceiptOutcome::try_from(ack.outcome) {
        Ok(ReceiptOutcome::Applied | ReceiptOutcome::Repeat) => {}
        Ok(outcome) => eprintln!(
            "single-window agency-sim: receipt {} {}: {}",
            receipt.receipt_id,
            outcome.as_str_name(),
            ack.detail
        ),
        Err(_) => eprintln!(
            "single-window agency-sim: receipt {}: unknown outcome {}: {}",
            receipt.receipt_id, ack.outcome, ack.detail
        ),
    }
}
