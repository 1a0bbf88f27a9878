//! Dispatch: delivers the outbox to the agencies. One worker per agency reads its outbox
//! queue in the order rows were written and delivers each row (a `v1::Delivery` with a stable
//! message id) over gRPC, with a bounded number in flight, capped exponential backoff with
//! jitter, and a circuit breaker, so one dead agency neither stalls the others (each has its
//! own worker, queue and connection) nor burns CPU (while its circuit is open nothing is
//! tried). A row leaves the outbox only after the agency took it (removals are written in
//! batches), or when it goes to the dead letters: after the last attempt, or at once on a
//! permanent refusal. Deliveries are at-least-once: after a crash every row still in the
//! outbox is delivered again, under the same message id, and the agency drops repeats.

mod backoff;
mod breaker;
pub mod dead;

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use prost::Message;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tonic::transport::{Channel, Endpoint};
use tonic::Code;

pub use backoff::{Backoff, Jitter};
pub use breaker::{Breaker, BreakerState};
pub use dead::DeadLetter;

use crate::domain::Agency;
use crate::pb::v1;
use crate::pb::v1::agency_endpoint_client::AgencyEndpointClient;
use crate::store::{Accepted, Store, Writes};

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
}

impl Dispatcher {
    /// Starts one worker per agency in `endpoints` (agency → gRPC URL), until `closing` turns
    /// true.
    pub fn start(
        store: &Store,
        endpoints: &BTreeMap<Agency, String>,
        config: DispatchConfig,
        closing: watch::Receiver<bool>,
    ) -> Result<Dispatcher, tonic::transport::Error> {
        let mut stats = BTreeMap::new();
        for (agency, url) in endpoints {
            let channel = Endpoint::from_shared(url.clone())?
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
            tokio::spawn(worker.run(closing.clone()));
        }
        Ok(Dispatcher {
            stats: Arc::new(stats),
        })
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
}

/// What one attempt came to.
enum Attempted {
    Taken { duplicate: bool },
    Retry(String),
    Refused(String),
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

impl Worker {
    async fn run(mut self, mut closing: watch::Receiver<bool>) {
        let queue = self.agency.name();
        let mut written = self.store.outbox_written();
        let mut cursor: Vec<u8> = Vec::new();
        let mut refill = true;
        let mut ready: VecDeque<Job> = VecDeque::new();
        let mut waiting: BTreeMap<(Instant, u64), Job> = BTreeMap::new();
        let mut tick = 0u64;
        let mut in_flight: JoinSet<(Job, Attempted)> = JoinSet::new();
        let mut done: Vec<Vec<u8>> = Vec::new();
        let mut writes: JoinSet<()> = JoinSet::new();
        loop {
            if *closing.borrow() {
                break;
            }
            if refill && ready.len() < PAGE {
                match self.store.outbox_page(queue, &cursor, PAGE) {
                    Ok(rows) => {
                        refill = rows.len() == PAGE;
                        for (key, row) in rows {
                            cursor.clone_from(&key);
                            match v1::Delivery::decode(row.as_slice()) {
                                Ok(delivery) => ready.push_back(Job {
                                    key,
                                    delivery,
                                    attempts: Vec::new(),
                                }),
                                Err(e) => {
                                    let job = Job {
                                        key,
                                        delivery: v1::Delivery::default(),
                                        attempts: Vec::new(),
                                    };
                                    let reason = format!("outbox row does not decode: {e}");
                                    self.bury(&mut writes, job, reason, row);
                                }
                            }
                        }
                    }
                    Err(e) => {
                        eprintln!("single-window: dispatch {queue}: reading the outbox: {e}");
                        refill = true;
                    }
                }
            }
            let now = Instant::now();
            while let Some(entry) = waiting.first_entry() {
                if entry.key().0 > now {
                    break;
                }
                ready.push_back(entry.remove());
            }
            while in_flight.len() < self.config.max_in_flight.max(1) && !ready.is_empty() {
                if !self.breaker.allow(now) {
                    break;
                }
                let Some(job) = ready.pop_front() else { break };
                self.launch(&mut in_flight, job);
                if self.breaker.state() == BreakerState::HalfOpen {
                    break;
                }
            }
            self.stats
                .in_flight
                .store(in_flight.len() as u64, Ordering::Relaxed);
            if !done.is_empty() && writes.is_empty() {
                let batch: Vec<Vec<u8>> = done.drain(..done.len().min(DONE_BATCH)).collect();
                let store = self.store.clone();
                writes.spawn(async move {
                    let audit = format!("{queue}: {} deliveries taken", batch.len());
                    let writes = Writes {
                        outbox_removes: batch,
                        ..Writes::default()
                    };
                    if let Err(e) = store
                        .commit(Accepted::bookkeeping("gateway:dispatch", audit, writes))
                        .await
                    {
                        eprintln!("single-window: dispatch {queue}: recording deliveries: {e}");
                    }
                });
            }
            let wake = waiting
                .keys()
                .next()
                .map(|(at, _)| *at)
                .into_iter()
                .chain(self.breaker.reopens_at().filter(|_| !ready.is_empty()))
                .min()
                .unwrap_or(now + Duration::from_secs(3600));
            tokio::select! {
                Some(joined) = in_flight.join_next(), if !in_flight.is_empty() => {
                    let Ok((job, result)) = joined else { continue };
                    match result {
                        Attempted::Taken { duplicate } => {
                            self.breaker.success();
                            self.stats.delivered.fetch_add(1, Ordering::Relaxed);
                            if duplicate {
                                self.stats.duplicates.fetch_add(1, Ordering::Relaxed);
                            }
                            done.push(job.key);
                        }
                        Attempted::Refused(error) => {
                            self.breaker.success();
                            let job = with_attempt(job, error.clone());
                            let row = job.delivery.encode_to_vec();
                            self.bury(&mut writes, job, format!("refused by {queue}: {error}"), row);
                        }
                        Attempted::Retry(error) => {
                            self.breaker.failure(Instant::now());
                            let job = with_attempt(job, error);
                            let failures = job.attempts.len() as u32;
                            if failures >= self.config.max_attempts {
                                let row = job.delivery.encode_to_vec();
                                let reason = format!("gave up after {failures} attempts");
                                self.bury(&mut writes, job, reason, row);
                            } else {
                                self.stats.retried.fetch_add(1, Ordering::Relaxed);
                                let delay = self.config.backoff.delay(failures, self.jitter.unit());
                                tick += 1;
                                waiting.insert((Instant::now() + delay, tick), job);
                            }
                        }
                    }
                }
                Some(_) = writes.join_next(), if !writes.is_empty() => {}
                changed = written.changed() => {
                    if changed.is_err() { break; }
                    refill = true;
                }
                _ = tokio::time::sleep_until(wake.into()) => {}
                _ = closing.changed() => {}
            }
        }
        while writes.join_next().await.is_some() {}
    }

    fn launch(&self, in_flight: &mut JoinSet<(Job, Attempted)>, mut job: Job) {
        let mut client = self.client.clone();
        let timeout = self.config.timeout;
        job.delivery.attempt = job.attempts.len() as u32 + 1;
        in_flight.spawn(async move {
            let mut request = tonic::Request::new(job.delivery.clone());
            request.set_timeout(timeout);
            let result = match tokio::time::timeout(timeout, client.deliver(request)).await {
                Err(_) => Attempted::Retry(format!("no answer within {} ms", timeout.as_millis())),
                Ok(Ok(ack)) => Attempted::Taken {
                    duplicate: ack.into_inner().duplicate,
                },
                Ok(Err(status)) if permanent(status.code()) => {
                    Attempted::Refused(format!("{:?}: {}", status.code(), status.message()))
                }
                Ok(Err(status)) => {
                    Attempted::Retry(format!("{:?}: {}", status.code(), status.message()))
                }
            };
            (job, result)
        });
    }

    fn bury(&self, writes: &mut JoinSet<()>, job: Job, reason: String, row: Vec<u8>) {
        self.stats.dead.fetch_add(1, Ordering::Relaxed);
        let shipment = job.delivery.shipment.clone().unwrap_or_default();
        let letter = DeadLetter {
            id: if job.delivery.message_id.is_empty() {
                format!("{}:row:{}", self.agency.name(), dead::to_hex(&job.key))
            } else {
                job.delivery.message_id.clone()
            },
            agency: self.agency.name().to_owned(),
            kind: dead::DELIVERY.to_owned(),
            message_id: job.delivery.message_id.clone(),
            ebp: shipment.ebp_code,
            order_no: shipment.order_no,
            reason,
            attempts: job.attempts,
            at: unix_millis(),
            body: dead::to_hex(&row),
        };
        let store = self.store.clone();
        let key = job.key;
        writes.spawn(async move {
            if let Err(e) = dead::bury(&store, Some(key), letter).await {
                eprintln!("single-window: dispatch: writing a dead letter: {e}");
            }
        });
    }
}

fn with_attempt(mut job: Job, error: String) -> Job {
    job.attempts.push(dead::Attempt {
        number: job.attempts.len() as u32 + 1,
        at: unix_millis(),
        error,
    });
    job
}

/// Codes by which an agency refuses a message for good (see `agency.proto`).
pub fn permanent(code: Code) -> bool {
    matches!(
        code,
        Code::InvalidArgument
            | Code::FailedPrecondition
            | Code::PermissionDenied
            | Code::NotFound
            | Code::Unimplemented
            | Code::AlreadyExists
            | Code::OutOfRange
            | Code::Unauthenticated
    )
}

/// Now, Unix milliseconds.
pub fn unix_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
