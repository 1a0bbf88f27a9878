//! One agency's worker: a loop that reads the agency's outbox queue into its [`Queues`],
//! starts due deliveries while there is room in flight and the circuit allows, acts on each
//! attempt's result (counted in `DELIVERIES{agency, outcome}` and the agency's
//! [`AgencyStats`]: taken, retried after a backoff, or buried in the dead letters), and writes
//! in the background (delivered rows leave the outbox in batches; dead letters). Only the loop
//! touches the queues and the breaker; deliveries and writes are tasks that hand back what
//! they came to. At shutdown it stops taking rows, lets the deliveries in flight finish and
//! writes what they delivered.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use metrics::counter;
use prost::Message;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tonic::transport::Channel;
use tracing::Instrument as _;

use super::attempt::{self, delivery_span, with_attempt, Attempted};
use super::queues::{Job, Queues};
use super::{
    dead, unix_millis, AgencyStats, Breaker, BreakerState, DeadLetter, DispatchConfig, Jitter,
};
use crate::domain::Agency;
use crate::pb::v1;
use crate::pb::v1::agency_endpoint_client::AgencyEndpointClient;
use crate::store::{Accepted, Store, Writes};
use crate::telemetry::names;

/// One agency's worker; [`Worker::run`] is its loop.
pub(super) struct Worker {
    agency: Agency,
    store: Store,
    client: AgencyEndpointClient<Channel>,
    config: DispatchConfig,
    stats: Arc<AgencyStats>,
    breaker: Breaker,
    jitter: Jitter,
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

/// Rows read from the outbox at a time.
const PAGE: usize = 512;
/// Delivered rows removed from the outbox in one write, at most.
const DONE_BATCH: usize = 512;
/// Wait before reading the outbox or writing again after a store error.
const STORE_RETRY: Duration = Duration::from_millis(500);

impl Worker {
    /// The worker of `agency`, delivering through `client` and counting in `stats`.
    pub(super) fn new(
        agency: Agency,
        store: Store,
        client: AgencyEndpointClient<Channel>,
        config: DispatchConfig,
        stats: Arc<AgencyStats>,
    ) -> Worker {
        Worker {
            agency,
            store,
            client,
            config,
            stats,
            breaker: Breaker::new(config.breaker_failures, config.breaker_open),
            jitter: Jitter::new(seed(agency)),
        }
    }

    /// Delivers until `closing` turns true, then drains.
    pub(super) async fn run(mut self, mut closing: watch::Receiver<bool>) {
        let mut written = self.store.outbox_written();
        let mut q = Queues::new();
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

    /// Acts on what an attempt came to.
    fn on_result(
        &mut self,
        q: &mut Queues,
        writes: &mut JoinSet<Written>,
        job: Job,
        attempted: Attempted,
    ) {
        let queue = self.agency.name();
        let count = |outcome: &'static str| {
            counter!(names::DELIVERIES, "agency" => queue, "outcome" => outcome).increment(1);
        };
        // One match counts the outcome, keeps the agency's stats and acts on it.
        match attempted {
            Attempted::Taken { duplicate } => {
                count(if duplicate { "duplicate" } else { "taken" });
                self.breaker.success();
                self.stats.delivered.fetch_add(1, Ordering::Relaxed);
                if duplicate {
                    self.stats.duplicates.fetch_add(1, Ordering::Relaxed);
                }
                q.release(&job.shipment());
                q.done.push(job.key);
            }
            Attempted::Refused(error) => {
                count("refused");
                self.breaker.success();
                let job = with_attempt(job, error.clone());
                let row = job.delivery.encode_to_vec();
                self.bury(writes, job, format!("refused by {queue}: {error}"), row);
            }
            Attempted::Retry(error) => {
                count("retry");
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
        let client = self.client.clone();
        let timeout = self.config.timeout;
        let agency = self.agency.name();
        job.delivery.attempt = job.attempts.len() as u32 + 1;
        let span = delivery_span(agency, &job);
        in_flight.spawn(attempt::deliver(client, job, timeout, agency).instrument(span));
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

/// The seed of a worker's jitter: the time, mixed with the agency, so workers started at once
/// draw different delays.
fn seed(agency: Agency) -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    now ^ (agency as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}
