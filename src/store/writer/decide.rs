//! Deciding one event on the writer: a repeat or a conflict of its idempotency key, else its
//! fold run on the state on file, else every id drawn and all its writes staged in the group.

use super::{put_audit, Group, View, Writer};
use crate::audit::Facts;
use crate::store::keys::{idempotency_key, outbox_prefix, stored_reply};
use crate::store::trees::Slot;
use crate::store::{Accepted, Committed, Folded, StoreError};

impl Writer {
    /// Decides one event against the state on file and the group's earlier events; queues its
    /// writes in `group` when it is new.
    pub(super) fn decide(
        &self,
        group: &mut Group,
        event: &mut Accepted,
    ) -> Result<Committed, StoreError> {
        let keyed = !event.key.is_empty();
        let key = idempotency_key(&event.sender, &event.key);
        let stored = match group.get(Slot::Idempotency, &key) {
            _ if !keyed => None,
            Some(pending) => pending,
            None => self.trees.idempotency.get(&key)?.map(|v| v.to_vec()),
        };
        if let Some(stored) = stored {
            return Ok(if stored.get(..32) == Some(&event.content[..]) {
                Committed::Repeat {
                    reply: stored_reply(&stored).to_vec(),
                }
            } else {
                Committed::Conflict
            });
        }
        let folded = match event.fold.take() {
            Some(fold) => (fold.0)(&View {
                trees: &self.trees,
                group,
                own: &event.puts,
            })?,
            None => Folded::default(),
        };
        let writes = match folded {
            Folded::Refuse(refusal) => return Ok(Committed::Refused(refusal)),
            Folded::Write(writes) => writes,
        };
        // Every id first, so that a failure leaves nothing of the event in the group.
        let seq = self.db.generate_id()?;
        let outbox_ids = (0..event.outbox.len() + writes.outbox.len())
            .map(|_| self.db.generate_id())
            .collect::<Result<Vec<u64>, _>>()?;
        let event_ids = (0..writes.events.len())
            .map(|_| self.db.generate_id())
            .collect::<Result<Vec<u64>, _>>()?;
        if keyed {
            let mut record = event.content.to_vec();
            record.extend_from_slice(&event.reply);
            group.put(Slot::Idempotency, key, Some(record));
        }
        for (tree, k, v) in event.puts.drain(..).chain(writes.puts) {
            group.put(Slot::Data(tree), k, Some(v));
        }
        for (tree, k) in writes.removes {
            group.put(Slot::Data(tree), k, None);
        }
        for ((queue, row), id) in event.outbox.drain(..).chain(writes.outbox).zip(outbox_ids) {
            let mut key = outbox_prefix(&queue);
            key.extend_from_slice(&id.to_be_bytes());
            group.put(Slot::Outbox, key, Some(row));
            group.last_outbox = Some(id);
        }
        for key in writes.outbox_removes {
            group.put(Slot::Outbox, key, None);
        }
        let facts = Facts::of_event(std::mem::take(&mut event.audit), &event.sender, &event.key);
        put_audit(group, seq, facts);
        let mut events = Vec::with_capacity(writes.events.len());
        for (body, at) in writes.events.into_iter().zip(event_ids) {
            group.put(Slot::Events, at.to_be_bytes().to_vec(), Some(body));
            group.last_event = Some(at);
            events.push(at);
        }
        Ok(Committed::New { seq, events })
    }
}
