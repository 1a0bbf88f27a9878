//! Dispatch: delivers the outbox to the agencies. One worker per agency reads its outbox
//! queue in the order rows were written and delivers each row (a `v1::Delivery` with a stable
//! message id) over gRPC, with a bounded number in flight, capped exponential backoff with
//! jitter, and a circuit breaker, so one dead agency neither stalls the others (each has its
//! own worker, queue and connection) nor burns CPU (while its circuit is open nothing is
//! tried). A row leaves the outbox only after the agency took it (removals are written in
//! batches), or when it goes to the dead letters: after the last attempt, or at once on a
//! permanent refusal. Deliveries are at-least-once: after a crash every row still in the
//! outbox is delivered again, under the same message id, and the agency drops repeats.
//!
//! Each attempt runs in a `delivery` span (agency, message id, shipment key, attempt) and is
//! counted (`DELIVERIES{agency, outcome}`, `DELIVERY_SECONDS{agency}`); logs name the gRPC
//! code of a failure, never the agency's text. At shutdown a worker stops taking rows, lets
//! the deliveries in flight finish (each within its deadline) and writes what they delivered.

mod backoff;
mod breaker;
pub mod dead;

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use metrics::{counter, histogram};
use prost::Message;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tonic::transport::Channel;
use tonic::Code;
use tracing::Instrument as _;

/// Now, Unix milliseconds (see [`crate::clock`]).
pub use crate::clock::unix_millis;
pub use backoff::{Backoff, Jitter};
pub use breaker::{Breaker, BreakerState};
pub use dead::DeadLetter;

use crate::domain::Agency;
use crate::pb::v1;
use crate::pb::v1::agency_endpoint_client::AgencyEndpointClient;
use crate::store::{Accepted, Store, Writes};
use crate::telemetry::names;

/// Dispatch settings (config `[dispatch]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DispatchConfig {
    /// Deliveries in flight per agency.
    pub max_in_flight: usize,
    /// Deadline of one delivery.
    pub timeout: Duration,
    /// Retry delays.
    pub backoff: Backoff,
    /// Attempts before a message goes to the dead letters.
    pub max_attempts: u32,
    /// Transient failures in a row that open an agency's circuit.
    pub breaker_failures: u32,
    /// How long an open circuit stays open before one probe.
    pub breaker_open: Duration,
}

impl Default for DispatchConfig {
    fn default() -> Self {
        DispatchConfig {
            max_in_flight: 64,
            timeout: Duration::from_secs(5),
            backoff: Backoff {
                base: Duration::from_millis(100),
                cap: Duration::from_secs(30),
            },
            max_attempts: 20,
            breaker_failures: 5,
            breaker_open: Duration::from_secs(2),
        }
    }
}

/// Counters of one agency's worker.
#[derive(Debug, Default)]
pub struct AgencyStats {
    /// Deliveries the agency took.
    pub delivered: AtomicU64,
    /// Of those, ones it had taken before (it said `duplicate`).
    pub duplicates: AtomicU64,
    /// Failed attempts that will be retried.
    pub retried: AtomicU64,
    /// Messages moved to the dead letters.
    pub dead: AtomicU64,
    /// Deliveries in flight now.
    pub in_flight: AtomicU64,
}

/// The running workers.
#[derive(Clone, Default)]
pub struct Dispatcher {
    stats: Arc<BTreeMap<Agency, Arc<AgencyStats>>>,
    tasks: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Dispatcher {
    /// Starts one worker per agency in `endpoints` (agency → gRPC URL), until `closing` turns
    /// true. An `http://` URL is plaintext; an `https://` one is TLS with `tls` (the agencies'
    /// CA and, for mutual TLS, the gateway's certificate and key): an error when `tls` lacks
    /// the CA or a file cannot be read.
    pub fn start(
        store: &Store,
        endpoints: &BTreeMap<Agency, String>,
        config: DispatchConfig,
        closing: watch::Receiver<bool>,
        tls: &crate::client::ClientTls,
    ) -> anyhow::Result<Dispatcher> {
        let mut stats = BTreeMap::new();
        let mut tasks = Vec::new();
        for (agency, url) in endpoints {
            let channel = tls
                .endpoint(url)
                .with_context(|| format!("agency {}: {url}", agency.name()))?
                .connect_timeout(config.timeout)
                .tcp_nodelay(true)
                .connect_lazy();
            let counters = Arc::new(AgencyStats::default());
            stats.insert(*agency, counters.clone());
            let worker = Worker {
                agency: *agency,
                store: store.clone(),
                client: AgencyEndpointClient::new(channel),
                config,
                stats: counters,
                breaker: Breaker::new(config.breaker_failures, config.breaker_open),
                jitter: Jitter::new(seed(*agency)),
            };
            tasks.push(tokio::spawn(worker.run(closing.clone())));
        }
        Ok(Dispatcher {
            stats: Arc::new(stats),
            tasks: Arc::new(std::sync::Mutex::new(tasks)),
        })
    }

    /// Waits until every worker has stopped (after `closing` turned true) and finished its
    /// writes.
    pub async fn stopped(&self) {
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        for task in tasks {
            let _ = task.await;
        }
    }

    /// Each agency's counters.
    pub fn stats(&self) -> &BTreeMap<Agency, Arc<AgencyStats>> {
        &self.stats
    }
}

fn seed(agency: Agency) -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    now ^ (agency as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// A row being delivered.
struct Job {
    key: Vec<u8>,
    delivery: v1::Delivery,
    attempts: Vec<dead::Attempt>,
    /// It holds its shipment's turn (it is the message of its shipment that is out).
    turn: bool,
}

impl Job {
    /// The shipment it is for: one shipment's messages to one agency go one at a time, in
    /// the order they were routed (a cancellation never overtakes the inventory it cancels).
    fn shipment(&self) -> String {
        self.delivery
            .shipment
            .as_ref()
            .map_or_else(String::new, |k| format!("{}\0{}", k.ebp_code, k.order_no))
    }
}

/// What one attempt came to.
enum Attempted {
    /// The agency took it (and said whether it had before).
    Taken { duplicate: bool },
    /// Failed; worth trying again (and a sign the agency may be down).
    Retry(String),
    /// Refused for good.
    Refused(String),
}

/// What a finished background write hands back.
enum Written {
    /// Delivered rows removed from the outbox.
    Removed,
    /// The removal failed: the rows, to remove again later.
    NotRemoved(Vec<Vec<u8>>),
    /// A dead letter written, for this shipment.
    Buried(String),
    /// The dead letter could not be written: the job, to retry later.
    NotBuried(Box<Job>),
}

struct Worker {
    agency: Agency,
    store: Store,
    client: AgencyEndpointClient<Channel>,
    config: DispatchConfig,
    stats: Arc<AgencyStats>,
    breaker: Breaker,
    jitter: Jitter,
}

/// Rows read from the outbox at a time.
const PAGE: usize = 512;
/// Delivered rows removed from the outbox in one write, at most.
const DONE_BATCH: usize = 512;
/// Wait before reading the outbox or writing again after a store error.
const STORE_RETRY: Duration = Duration::from_millis(500);

/// A worker's queues.
#[derive(Default)]
struct Queues {
    /// The last outbox row read.
    cursor: Vec<u8>,
    /// The outbox may have rows after the cursor.
    refill: bool,
    /// When to read the outbox again after an error.
    refill_at: Option<Instant>,
    /// Due now.
    ready: VecDeque<Job>,
    /// Due later (retries), by time.
    waiting: BTreeMap<(Instant, u64), Job>,
    tick: u64,
    /// Shipments with a message out (in flight or waiting to be retried).
    busy: std::collections::HashSet<String>,
    /// Messages of busy shipments, in order, behind the one out.
    behind: std::collections::HashMap<String, VecDeque<Job>>,
    /// Rows delivered, to remove from the outbox.
    done: Vec<Vec<u8>>,
}

impl Queues {
    fn jobs(&self) -> usize {
        self.ready.len()
            + self.waiting.len()
            + self.behind.values().map(VecDeque::len).sum::<usize>()
    }

    /// The job, when its shipment has no other message out (it takes the shipment's turn);
    /// otherwise it waits behind that message and `None` is returned.
    fn take_turn(&mut self, mut job: Job) -> Option<Job> {
        if !job.turn {
            let shipment = job.shipment();
            if !self.busy.insert(shipment.clone()) {
                self.behind.entry(shipment).or_default().push_back(job);
                return None;
            }
            job.turn = true;
        }
        Some(job)
    }

    /// The shipment's message is finished (taken or buried): the next one of it is due.
    fn release(&mut self, shipment: &str) {
        self.busy.remove(shipment);
        if let Some(next) = self.behind.get_mut(shipment).and_then(VecDeque::pop_front) {
            self.ready.push_front(next);
        }
        if self.behind.get(shipment).is_some_and(VecDeque::is_empty) {
            self.behind.remove(shipment);
        }
    }

    fn retry_at(&mut self, at: Instant, job: Job) {
        self.tick += 1;
        self.waiting.insert((at, self.tick), job);
    }
}

impl Worker {
    async fn run(mut self, mut closing: watch::Receiver<bool>) {
        let mut written = self.store.outbox_written();
        let mut q = Queues {
            refill: true,
            ..Queues::default()
        };
        let mut in_flight: JoinSet<(Job, Attempted)> = JoinSet::new();
        let mut writes: JoinSet<Written> = JoinSet::new();
        while !*closing.borrow() {
            let now = Instant::now();
            self.refill(&mut q, &mut writes, now);
            while let Some(entry) = q.waiting.first_entry() {
                if entry.key().0 > now {
                    break;
                }
                q.ready.push_back(entry.remove());
            }
            self.launch_ready(&mut q, &mut in_flight, now);
            self.flush_done(&mut q, &mut writes);
            let wake = self.wake(&q, now);
            tokio::select! {
                Some(joined) = in_flight.join_next(), if !in_flight.is_empty() => match joined {
                    Ok((job, attempted)) => self.on_result(&mut q, &mut writes, job, attempted),
                    // A delivery task panicked: its job is lost until a restart reads the row
                    // again; the breaker must not stay half-open waiting for it.
                    Err(_) => self.breaker.failure(Instant::now()),
                },
                Some(joined) = writes.join_next(), if !writes.is_empty() => {
                    if let Ok(result) = joined {
                        self.on_written(&mut q, result);
                    }
                }
                changed = written.changed() => {
                    if changed.is_err() { break; }
                    q.refill = true;
                }
                _ = tokio::time::sleep_until(wake.into()) => {}
                changed = closing.changed() => {
                    if changed.is_err() { break; }
                }
            }
        }
        self.drain(q, in_flight, writes).await;
    }

    /// At shutdown: the deliveries in flight finish and the rows they delivered leave the
    /// outbox (once: a row whose removal fails is delivered again after the restart, and the
    /// agency drops the repeat). Retries waiting stay in the outbox.
    async fn drain(
        &mut self,
        mut q: Queues,
        mut in_flight: JoinSet<(Job, Attempted)>,
        mut writes: JoinSet<Written>,
    ) {
        let finishing = in_flight.len();
        while let Some(joined) = in_flight.join_next().await {
            if let Ok((job, attempted)) = joined {
                self.on_result(&mut q, &mut writes, job, attempted);
            }
        }
        while writes.join_next().await.is_some() {}
        while !q.done.is_empty() {
            self.flush_done(&mut q, &mut writes);
            if let Some(Ok(Written::NotRemoved(_))) | None = writes.join_next().await {
                break;
            }
        }
        tracing::debug!(agency = self.agency.name(), finishing, "dispatch stopped");
    }

    /// Reads the rows after the cursor, when there may be some and room for them.
    fn refill(&mut self, q: &mut Queues, writes: &mut JoinSet<Written>, now: Instant) {
        if !q.refill || q.jobs() >= PAGE || q.refill_at.is_some_and(|at| at > now) {
            return;
        }
        let rows = match self.store.outbox_page(self.agency.name(), &q.cursor, PAGE) {
            Ok(rows) => rows,
            Err(e) => {
                tracing::error!(agency = self.agency.name(), error = %e, "reading the outbox");
                q.refill_at = Some(now + STORE_RETRY);
                return;
            }
        };
        q.refill_at = None;
        q.refill = rows.len() == PAGE;
        for (key, row) in rows {
            q.cursor.clone_from(&key);
            match v1::Delivery::decode(row.as_slice()) {
                Ok(delivery) => q.ready.push_back(Job {
                    key,
                    delivery,
                    attempts: Vec::new(),
                    turn: false,
                }),
                Err(e) => {
                    let job = Job {
                        key,
                        delivery: v1::Delivery::default(),
                        attempts: Vec::new(),
                        turn: false,
                    };
                    let reason = format!("outbox row does not decode: {e}");
                    self.bury(writes, job, reason, row);
                }
            }
        }
    }

    /// Starts due deliveries while there is room in flight and the circuit allows; a
    /// shipment with a message out waits behind it.
    fn launch_ready(
        &mut self,
        q: &mut Queues,
        in_flight: &mut JoinSet<(Job, Attempted)>,
        now: Instant,
    ) {
        while in_flight.len() < self.config.max_in_flight.max(1) {
            let Some(job) = q.ready.pop_front() else {
                break;
            };
            let Some(job) = q.take_turn(job) else {
                continue;
            };
            // Asked only for a job that will go: asking is what spends a half-open probe.
            if !self.breaker.allow(now) {
                q.ready.push_front(job);
                break;
            }
            self.launch(in_flight, job);
            if self.breaker.state() == BreakerState::HalfOpen {
                break;
            }
        }
        self.stats
            .in_flight
            .store(in_flight.len() as u64, Ordering::Relaxed);
    }

    /// Removes delivered rows from the outbox, one batch at a time.
    fn flush_done(&self, q: &mut Queues, writes: &mut JoinSet<Written>) {
        if q.done.is_empty() || !writes.is_empty() {
            return;
        }
        let batch: Vec<Vec<u8>> = q.done.drain(..q.done.len().min(DONE_BATCH)).collect();
        let store = self.store.clone();
        let queue = self.agency.name();
        writes.spawn(async move {
            let audit = format!("{queue}: {} deliveries taken", batch.len());
            let removes = Writes {
                outbox_removes: batch.clone(),
                ..Writes::default()
            };
            match store
                .commit(Accepted::bookkeeping("gateway:dispatch", audit, removes))
                .await
            {
                Ok(_) => Written::Removed,
                Err(e) => {
                    tracing::error!(agency = queue, error = %e, "recording deliveries");
                    tokio::time::sleep(STORE_RETRY).await;
                    Written::NotRemoved(batch)
                }
            }
        });
    }

    /// When the loop must look again without any event: the next retry, the circuit's
    /// probe (when something waits for it), an outbox read to retry.
    fn wake(&self, q: &Queues, now: Instant) -> Instant {
        let probe = self.breaker.reopens_at().filter(|_| !q.ready.is_empty());
        q.waiting
            .keys()
            .next()
            .map(|(at, _)| *at)
            .into_iter()
            .chain(probe)
            .chain(q.refill_at)
            .min()
            .unwrap_or(now + Duration::from_secs(3600))
    }

    fn on_result(
        &mut self,
        q: &mut Queues,
        writes: &mut JoinSet<Written>,
        job: Job,
        attempted: Attempted,
    ) {
        let queue = self.agency.name();
        match attempted {
            Attempted::Taken { duplicate } => {
                self.breaker.success();
                self.stats.delivered.fetch_add(1, Ordering::Relaxed);
                if duplicate {
                    self.stats.duplicates.fetch_add(1, Ordering::Relaxed);
                }
                q.release(&job.shipment());
                q.done.push(job.key);
            }
            Attempted::Refused(error) => {
                self.breaker.success();
                let job = with_attempt(job, error.clone());
                let row = job.delivery.encode_to_vec();
                self.bury(writes, job, format!("refused by {queue}: {error}"), row);
            }
            Attempted::Retry(error) => {
                self.breaker.failure(Instant::now());
                let job = with_attempt(job, error);
                let failures = job.attempts.len() as u32;
                if failures >= self.config.max_attempts {
                    let row = job.delivery.encode_to_vec();
                    let reason = format!("gave up after {failures} attempts");
                    self.bury(writes, job, reason, row);
                } else {
                    self.stats.retried.fetch_add(1, Ordering::Relaxed);
                    let delay = self.config.backoff.delay(failures, self.jitter.unit());
                    q.retry_at(Instant::now() + delay, job);
                }
            }
        }
    }

    fn on_written(&mut self, q: &mut Queues, result: Written) {
        match result {
            Written::Removed => {}
            Written::NotRemoved(keys) => q.done.extend(keys),
            Written::Buried(shipment) => q.release(&shipment),
            Written::NotBuried(job) => q.retry_at(Instant::now() + STORE_RETRY, *job),
        }
    }

    fn launch(&self, in_flight: &mut JoinSet<(Job, Attempted)>, mut job: Job) {
        let mut client = self.client.clone();
        let timeout = self.config.timeout;
        let agency = self.agency.name();
        job.delivery.attempt = job.attempts.len() as u32 + 1;
        let span = delivery_span(agency, &job);
        let attempt = async move {
            let started = Instant::now();
            let mut request = tonic::Request::new(job.delivery.clone());
            request.set_timeout(timeout);
            let answer = tokio::time::timeout(timeout, client.deliver(request)).await;
            histogram!(names::DELIVERY_SECONDS, "agency" => agency)
                .record(started.elapsed().as_secs_f64());
            let (result, outcome, code) = match answer {
                Err(_) => {
                    let error = format!("no answer within {} ms", timeout.as_millis());
                    (Attempted::Retry(error), "retry", Code::DeadlineExceeded)
                }
                Ok(Ok(ack)) => {
                    let duplicate = ack.into_inner().duplicate;
                    let outcome = if duplicate { "duplicate" } else { "taken" };
                    (Attempted::Taken { duplicate }, outcome, Code::Ok)
                }
                Ok(Err(status)) => {
                    let code = status.code();
                    let error = format!("{code:?}: {}", status.message());
                    if permanent(code) {
                        (Attempted::Refused(error), "refused", code)
                    } else {
                        (Attempted::Retry(error), "retry", code)
                    }
                }
            };
            counter!(names::DELIVERIES, "agency" => agency, "outcome" => outcome).increment(1);
            // The code only: an agency's text may quote the declaration.
            match outcome {
                "refused" => tracing::warn!(outcome, ?code, "delivery refused"),
                "retry" => tracing::debug!(outcome, ?code, "delivery failed, will retry"),
                _ => tracing::debug!(outcome, "delivered"),
            }
            (job, result)
        };
        in_flight.spawn(attempt.instrument(span));
    }

    /// Moves the job's row to the dead letters (in the background); its shipment's next
    /// message is due once it is written.
    fn bury(&self, writes: &mut JoinSet<Written>, job: Job, reason: String, row: Vec<u8>) {
        let shipment = job.delivery.shipment.clone().unwrap_or_default();
        let letter = DeadLetter {
            id: if job.delivery.message_id.is_empty() {
                format!(
                    "{}:row:{}",
                    self.agency.name(),
                    crate::hex::encode(&job.key)
                )
            } else {
                job.delivery.message_id.clone()
            },
            agency: self.agency.name().to_owned(),
            kind: dead::DELIVERY.to_owned(),
            message_id: job.delivery.message_id.clone(),
            ebp: shipment.ebp_code,
            order_no: shipment.order_no,
            reason,
            attempts: job.attempts.clone(),
            at: unix_millis(),
            body: crate::hex::encode(&row),
        };
        let store = self.store.clone();
        let stats = self.stats.clone();
        let agency = self.agency.name();
        let span = delivery_span(agency, &job);
        writes.spawn(
            async move {
                let attempts = job.attempts.len();
                match dead::bury(&store, Some(job.key.clone()), letter).await {
                    Ok(()) => {
                        stats.dead.fetch_add(1, Ordering::Relaxed);
                        counter!(names::DEAD_LETTERS, "agency" => agency, "kind" => dead::DELIVERY)
                            .increment(1);
                        tracing::warn!(attempts, "moved to the dead letters");
                        Written::Buried(job.shipment())
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "writing a dead letter");
                        Written::NotBuried(Box::new(job))
                    }
                }
            }
            .instrument(span),
        );
    }
}

/// The span of one attempt (or of burying the row).
fn delivery_span(agency: &'static str, job: &Job) -> tracing::Span {
    let (ebp_code, order_no) = job
        .delivery
        .shipment
        .as_ref()
        .map_or(("", ""), |k| (k.ebp_code.as_str(), k.order_no.as_str()));
    tracing::info_span!(
        "delivery",
        agency,
        message_id = job.delivery.message_id.as_str(),
        ebp_code,
        order_no,
        attempt = job.delivery.attempt,
    )
}

fn with_attempt(mut job: Job, error: String) -> Job {
    job.attempts.push(dead::Attempt {
        number: job.attempts.len() as u32 + 1,
        at: unix_millis(),
        error,
    });
    job
}

/// Codes by which an agency refuses a message for good (see `agency.proto`). Codes that
/// point at the endpoint rather than the message (UNIMPLEMENTED: not an agency there;
/// UNAUTHENTICATED, PERMISSION_DENIED: credentials; NOT_FOUND) are retried and count
/// against the circuit, so a misconfigured endpoint does not bury its whole queue.
pub fn permanent(code: Code) -> bool {
    matches!(
        code,
        Code::InvalidArgument | Code::FailedPrecondition | Code::AlreadyExists | Code::OutOfRange
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(order_no: &str, id: &str) -> Job {
        Job {
            key: id.as_bytes().to_vec(),
            delivery: v1::Delivery {
                message_id: id.to_owned(),
                shipment: Some(v1::ShipmentKey {
                    ebp_code: "E".into(),
                    order_no: order_no.into(),
                }),
                ..v1::Delivery::default()
            },
            attempts: Vec::new(),
            turn: false,
        }
    }

    fn id(job: Option<Job>) -> Option<String> {
        job.map(|j| j.delivery.message_id)
    }

    #[test]
    fn a_shipment_has_one_message_out_and_the_next_waits_in_order() {
        let mut q = Queues::default();
        let first = q.take_turn(job("A", "a-inventory")).unwrap();
        assert_eq!(id(q.take_turn(job("A", "a-cancel"))), None, "waits behind");
        assert_eq!(id(q.take_turn(job("A", "a-later"))), None);
        assert_eq!(
            id(q.take_turn(job("B", "b-inventory"))).as_deref(),
            Some("b-inventory")
        );
        // A retry of the message out keeps its turn.
        assert_eq!(id(q.take_turn(first)).as_deref(), Some("a-inventory"));
        q.release(&job("A", "").shipment());
        let next = q.ready.pop_front().unwrap();
        assert_eq!(next.delivery.message_id, "a-cancel");
        assert_eq!(id(q.take_turn(next)).as_deref(), Some("a-cancel"));
        q.release(&job("A", "").shipment());
        assert_eq!(q.ready.pop_front().unwrap().delivery.message_id, "a-later");
        assert!(q.behind.is_empty());
    }

    #[test]
    fn endpoint_faults_are_retried_and_refusals_of_the_message_are_final() {
        for code in [
            Code::InvalidArgument,
            Code::FailedPrecondition,
            Code::AlreadyExists,
        ] {
            assert!(permanent(code), "{code:?}");
        }
        for code in [
            Code::Unavailable,
            Code::DeadlineExceeded,
            Code::Cancelled,
            Code::Unimplemented,
            Code::PermissionDenied,
            Code::Unauthenticated,
            Code::NotFound,
        ] {
            assert!(!permanent(code), "{code:?}");
        }
    }
}
