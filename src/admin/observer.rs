//! Follows the store's status events (from the first on file, then live) and keeps the
//! gauges of shipments by state and the time-to-release histogram; samples each agency's
//! outbox backlog once a second.

use std::collections::HashMap;
use std::time::Duration;

use metrics::{gauge, histogram};
use tokio::sync::watch;

use crate::correlate::State;
use crate::domain::Agency;
use crate::ledger::StatusEvent;
use crate::store::Store;
use crate::telemetry::names;

/// Status events read at a time.
const BATCH: usize = 1024;

/// Shipments by state, and when each open shipment was first seen.
#[derive(Default)]
struct Tally {
    states: HashMap<String, i64>,
    first_seen: HashMap<(String, String), u64>,
}

impl Tally {
    /// Counts one event; returns the time to release when it is a release of a shipment
    /// whose first event this run saw.
    fn apply(&mut self, e: &StatusEvent) -> Option<Duration> {
        let key = (e.ebp.clone(), e.order_no.clone());
        if e.from.is_empty() {
            self.first_seen.insert(key.clone(), e.at);
        } else {
            *self.states.entry(e.from.clone()).or_default() -= 1;
        }
        *self.states.entry(e.state.clone()).or_default() += 1;
        let open = crate::ledger::state_named(&e.state).is_some_and(State::is_open);
        let first = if open {
            self.first_seen.get(&key).copied()
        } else {
            self.first_seen.remove(&key)
        };
        (e.state == "released")
            .then(|| first.map(|at| Duration::from_millis(e.at.saturating_sub(at))))
            .flatten()
    }
}

/// Runs until `closing` turns true.
pub async fn run(store: Store, mut closing: watch::Receiver<bool>) {
    let mut published = store.subscribe();
    let mut tally = Tally::default();
    let mut after = 0u64;
    let mut caught_up = false;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        match store.events_after(after, BATCH) {
            Ok(events) => {
                let full = events.len() == BATCH;
                for (seq, bytes) in events {
                    after = seq;
                    let Ok(event) = StatusEvent::from_bytes(&bytes) else {
                        continue;
                    };
                    let released = tally.apply(&event);
                    // History on file at start counts states only: its times are not this run's.
                    if let (true, Some(took)) = (caught_up, released) {
                        histogram!(names::TIME_TO_RELEASE_SECONDS).record(took.as_secs_f64());
                    }
                }
                for (state, n) in &tally.states {
                    gauge!(names::SHIPMENTS, "state" => state.clone()).set(*n as f64);
                }
                if full {
                    continue;
                }
                caught_up = true;
            }
            Err(e) => tracing::warn!(error = %e, "admin: reading status events"),
        }
        tokio::select! {
            changed = published.changed() => if changed.is_err() { break },
            _ = tick.tick() => backlog(&store),
            changed = closing.changed() => if changed.is_err() || *closing.borrow() { break },
        }
    }
}

fn backlog(store: &Store) {
    for agency in Agency::ALL {
        let rows = store.outbox_len(agency.name());
        gauge!(names::OUTBOX_BACKLOG, "agency" => agency.name()).set(rows as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(order: &str, from: &str, to: &str, at: u64) -> StatusEvent {
        StatusEvent {
            ebp: "E".into(),
            order_no: order.into(),
            from: from.into(),
            state: to.into(),
            at,
            cause: String::new(),
            enterprises: Vec::new(),
        }
    }

    #[test]
    fn states_follow_the_transitions_and_release_times_run_from_the_first_event() {
        let mut t = Tally::default();
        assert_eq!(t.apply(&event("A", "", "collecting", 1_000)), None);
        assert_eq!(t.apply(&event("B", "", "collecting", 1_500)), None);
        t.apply(&event("A", "collecting", "complete", 2_000));
        t.apply(&event("A", "complete", "routed", 2_000));
        assert_eq!(
            t.apply(&event("A", "routed", "released", 3_250)),
            Some(Duration::from_millis(2_250))
        );
        assert_eq!(t.states["collecting"], 1);
        assert_eq!(t.states["routed"], 0);
        assert_eq!(t.states["released"], 1);
        assert!(!t.first_seen.contains_key(&("E".into(), "A".into())));
    }
}
