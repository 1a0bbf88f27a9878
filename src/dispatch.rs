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
//!
//! The files: `attempt` one delivery attempt and what it came to ([`permanent`] refusals);
//! `worker` an agency's loop; `queues` its in-memory queues (one message out per shipment);
//! `config` the settings; `backoff`, `breaker` and [`dead`] (the dead letters). Here: the
//! [`Dispatcher`] handle that starts the workers, and their [`AgencyStats`].

mod attempt;
mod backoff;
mod breaker;
mod config;
pub mod dead;
mod queues;
mod worker;

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::sync::watch;

/// Now, Unix milliseconds (see [`crate::clock`]).
pub use crate::clock::unix_millis;
pub use attempt::permanent;
pub use backoff::{Backoff, Jitter};
pub use breaker::{Breaker, BreakerState};
pub use config::DispatchConfig;
pub use dead::DeadLetter;

use crate::domain::Agency;
use crate::pb::v1::agency_endpoint_client::AgencyEndpointClient;
use crate::store::Store;
use worker::Worker;

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
            let client = AgencyEndpointClient::new(channel);
            let worker = Worker::new(*agency, store.clone(), client, config, counters);
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
