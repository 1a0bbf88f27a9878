//! The release side of `load`: when each shipment was first submitted, when the gateway's
//! status events said it was released, and the outbox backlog while the load ran.

use std::io::Write;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;
use tonic::transport::Channel;

use crate::domain::Agency;
use crate::pb::v1;
use crate::pb::v1::gateway_client::GatewayClient;
use crate::store::Store;

/// When each shipment's first message was sent (µs after the start; `u64::MAX`: not yet).
pub struct FirstSent {
    base: Instant,
    micros: Vec<AtomicU64>,
}

impl FirstSent {
    /// Shipment `n` had a message sent at `t`.
    pub fn sent(&self, n: usize, t: Instant) {
        if let Some(slot) = self.micros.get(n) {
            let us = t.saturating_duration_since(self.base).as_micros() as u64;
            slot.fetch_min(us, Ordering::Relaxed);
        }
    }

    fn at(&self, n: usize) -> Option<Duration> {
        let us = self.micros.get(n)?.load(Ordering::Relaxed);
        (us != u64::MAX).then(|| Duration::from_micros(us))
    }
}

/// Follows `WatchShipments` for this run's shipments.
pub struct Watch {
    first: Arc<FirstSent>,
    task: JoinHandle<Outcomes>,
    stop: tokio::sync::oneshot::Sender<()>,
}

/// When each shipment was released (after the start), and how many ended otherwise.
#[derive(Default)]
pub struct Outcomes {
    released: Vec<Option<Duration>>,
    rejected: usize,
    held: usize,
}

impl Watch {
    /// Subscribes before the first submission.
    pub async fn start(
        channel: Channel,
        seed: u64,
        shipments: usize,
        started: Instant,
    ) -> anyhow::Result<Watch> {
        let mut client = GatewayClient::new(channel);
        let mut stream = client
            .watch_shipments(v1::WatchShipmentsRequest::default())
            .await?
            .into_inner();
        let prefix = format!("SW{seed:04}");
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let mut out = Outcomes {
                released: vec![None; shipments],
                ..Outcomes::default()
            };
            let mut left = shipments;
            while left > 0 {
                let event = tokio::select! {
                    _ = &mut stopped => break,
                    event = stream.message() => event,
                };
                let Ok(Some(event)) = event else { break };
                let n = event
                    .shipment
                    .as_ref()
                    .and_then(|k| k.order_no.strip_prefix(&prefix))
                    .and_then(|n| n.parse::<usize>().ok())
                    .filter(|n| *n < shipments);
                let Some(n) = n else { continue };
                match event.state.as_str() {
                    "released" if out.released[n].is_none() => {
                        out.released[n] = Some(started.elapsed());
                        left -= 1;
                    }
                    "rejected" => out.rejected += 1,
                    "held" => out.held += 1,
                    _ => {}
                }
            }
            out
        });
        let first = Arc::new(FirstSent {
            base: started,
            micros: (0..shipments).map(|_| AtomicU64::new(u64::MAX)).collect(),
        });
        Ok(Watch { first, task, stop })
    }

    /// The first-submission times the submitters fill in.
    pub fn first_sent(&self) -> Arc<FirstSent> {
        self.first.clone()
    }

    /// Waits up to `wait_secs` for every release, then stops watching.
    pub async fn finish(self, wait_secs: u64) -> Released {
        let Watch {
            first,
            mut task,
            stop,
        } = self;
        let outcomes = match tokio::time::timeout(Duration::from_secs(wait_secs), &mut task).await {
            Ok(done) => done.unwrap_or_default(),
            Err(_) => {
                let _ = stop.send(());
                task.await.unwrap_or_default()
            }
        };
        Released { first, outcomes }
    }
}

/// What the watch saw.
pub struct Released {
    first: Arc<FirstSent>,
    outcomes: Outcomes,
}

impl Released {
    /// Prints releases/s against accepted shipments/s and time-to-release percentiles.
    pub fn report(
        &self,
        out: &mut dyn Write,
        accepted_declarations: u64,
        submitting: Duration,
    ) -> std::io::Result<()> {
        let times: Vec<Duration> = self.outcomes.released.iter().flatten().copied().collect();
        let count = times.len();
        let last = times.iter().max().copied().unwrap_or_default();
        let accepted_rate = accepted_declarations as f64 / 4.0 / submitting.as_secs_f64();
        let release_rate = count as f64 / last.as_secs_f64().max(1e-9);
        let mut to_release: Vec<Duration> = self
            .outcomes
            .released
            .iter()
            .enumerate()
            .filter_map(|(n, r)| Some(r.as_ref()?.saturating_sub(self.first.at(n)?)))
            .collect();
        to_release.sort();
        let pct = |p: f64| -> f64 {
            let i =
                ((to_release.len() as f64 * p) as usize).min(to_release.len().saturating_sub(1));
            to_release.get(i).map_or(0.0, |d| d.as_secs_f64() * 1e3)
        };
        writeln!(
            out,
            "released {count} of {} shipments ({} rejected, {} held on the way); last release \
             {:.2} s after the start",
            self.outcomes.released.len(),
            self.outcomes.rejected,
            self.outcomes.held,
            last.as_secs_f64()
        )?;
        writeln!(
            out,
            "shipments accepted {accepted_rate:.0}/s, released {release_rate:.0}/s: ratio {:.2}",
            release_rate / accepted_rate.max(1e-9)
        )?;
        writeln!(
            out,
            "time to release (first submission → released): p50 {:.1} ms, p90 {:.1} ms, \
             p99 {:.1} ms, max {:.1} ms",
            pct(0.5),
            pct(0.9),
            pct(0.99),
            pct(1.0)
        )
    }
}

/// The outbox backlog, sampled every 100 ms (embedded gateway only).
pub struct Backlog {
    max: Arc<AtomicUsize>,
    task: Option<JoinHandle<()>>,
}

impl Backlog {
    /// Starts sampling `store` (nothing when `None`).
    pub fn sample(store: Option<Store>) -> Backlog {
        let max = Arc::new(AtomicUsize::new(0));
        let task = store.map(|store| {
            let max = max.clone();
            tokio::spawn(async move {
                loop {
                    max.fetch_max(rows(&store), Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            })
        });
        Backlog { max, task }
    }

    /// The largest backlog seen.
    pub fn max(&self) -> usize {
        self.max.load(Ordering::Relaxed)
    }

    /// The backlog now.
    pub fn now(&self, store: &Store) -> usize {
        rows(store)
    }
}

impl Drop for Backlog {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

fn rows(store: &Store) -> usize {
    Agency::ALL.iter().map(|a| store.outbox_len(a.name())).sum()
}
