//! A worker's in-memory queues, pure (time is passed in): the rows read from the outbox as
//! jobs, due now (`ready`), due later (`waiting`, retries by time) or held behind their
//! shipment's message that is out (`behind`), and the rows delivered that are still to leave
//! the outbox (`done`). One shipment's messages to one agency go one at a time, in the order
//! they were routed: a job takes its shipment's turn before it goes, keeps it through its
//! retries, and gives it back (`release`) once taken or buried.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::time::Instant;

use super::dead;
use crate::pb::v1;

/// A row being delivered.
pub(super) struct Job {
    pub(super) key: Vec<u8>,
    pub(super) delivery: v1::Delivery,
    pub(super) attempts: Vec<dead::Attempt>,
    /// It holds its shipment's turn (it is the message of its shipment that is out).
    pub(super) turn: bool,
}

impl Job {
    /// The shipment it is for: one shipment's messages to one agency go one at a time, in
    /// the order they were routed (a cancellation never overtakes the inventory it cancels).
    pub(super) fn shipment(&self) -> String {
        self.delivery
            .shipment
            .as_ref()
            .map_or_else(String::new, |k| format!("{}\0{}", k.ebp_code, k.order_no))
    }
}

/// A worker's queues.
#[derive(Default)]
pub(super) struct Queues {
    /// The last outbox row read.
    pub(super) cursor: Vec<u8>,
    /// The outbox may have rows after the cursor.
    pub(super) refill: bool,
    /// When to read the outbox again after an error.
    pub(super) refill_at: Option<Instant>,
    /// Due now.
    pub(super) ready: VecDeque<Job>,
    /// Due later (retries), by time.
    pub(super) waiting: BTreeMap<(Instant, u64), Job>,
    tick: u64,
    /// Shipments with a message out (in flight or waiting to be retried).
    busy: HashSet<String>,
    /// Messages of busy shipments, in order, behind the one out.
    behind: HashMap<String, VecDeque<Job>>,
    /// Rows delivered, to remove from the outbox.
    pub(super) done: Vec<Vec<u8>>,
}

impl Queues {
    /// Empty queues, with the whole outbox queue still to read.
    pub(super) fn new() -> Queues {
        Queues {
            refill: true,
            ..Queues::default()
        }
    }

    pub(super) fn jobs(&self) -> usize {
        self.ready.len()
            + self.waiting.len()
            + self.behind.values().map(VecDeque::len).sum::<usize>()
    }

    /// The job, when its shipment has no other message out (it takes the shipment's turn);
    /// otherwise it waits behind that message and `None` is returned.
    pub(super) fn take_turn(&mut self, mut job: Job) -> Option<Job> {
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
    pub(super) fn release(&mut self, shipment: &str) {
        self.busy.remove(shipment);
        if let Some(next) = self.behind.get_mut(shipment).and_then(VecDeque::pop_front) {
            self.ready.push_front(next);
        }
        if self.behind.get(shipment).is_some_and(VecDeque::is_empty) {
            self.behind.remove(shipment);
        }
    }

    pub(super) fn retry_at(&mut self, at: Instant, job: Job) {
        self.tick += 1;
        self.waiting.insert((at, self.tick), job);
    }
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
}
