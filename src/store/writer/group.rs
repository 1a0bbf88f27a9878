//! One group's writes: staged in order with an overlay of each key's last value, read by later
//! events of the group through [`View`], then written in one sled transaction.

use rustc_hash::FxHashMap as HashMap;
use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};

use super::{AuditState, Writer};
use crate::store::trees::{Slot, Trees};
use crate::store::{Put, StoreError, Tree};

/// What a [`Fold`](crate::store::Fold) sees: the data trees as the earlier events (of this
/// group too) left them, with its own event's puts on top.
pub struct View<'a> {
    pub(super) trees: &'a Trees,
    pub(super) group: &'a Group,
    pub(super) own: &'a [Put],
}

impl View<'_> {
    /// A record of `tree`.
    pub fn get(&self, tree: Tree, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some((_, _, value)) = self
            .own
            .iter()
            .rev()
            .find(|(t, k, _)| *t == tree && k == key)
        {
            return Ok(Some(value.clone()));
        }
        if let Some(pending) = self.group.get(Slot::Data(tree), key) {
            return Ok(pending);
        }
        Ok(self.trees.data(tree).get(key)?.map(|v| v.to_vec()))
    }
}

/// The writes of one group, in order, with the last value of each key (the overlay later
/// events of the group read through).
#[derive(Default)]
pub(super) struct Group {
    /// Where each key's last write is in `order`.
    pub(super) latest: HashMap<(Slot, Vec<u8>), usize>,
    pub(super) order: Vec<(Slot, Vec<u8>, Option<Vec<u8>>)>,
    pub(super) last_event: Option<u64>,
    /// The sequence of the last outbox row written.
    pub(super) last_outbox: Option<u64>,
    /// The audit chain with the group's records on it.
    pub(super) audit: AuditState,
}

impl Group {
    /// `Some(value, or None when removed)` when the group wrote `key`.
    pub(super) fn get(&self, slot: Slot, key: &[u8]) -> Option<Option<Vec<u8>>> {
        let at = *self.latest.get(&(slot, key.to_vec()))?;
        Some(self.order[at].2.clone())
    }

    pub(super) fn put(&mut self, slot: Slot, key: Vec<u8>, value: Option<Vec<u8>>) {
        self.latest.insert((slot, key.clone()), self.order.len());
        self.order.push((slot, key, value));
    }
}

impl Writer {
    /// Writes the group in one transaction over the trees it touches.
    pub(super) fn write(&self, group: &Group) -> Result<(), StoreError> {
        let mut slots: Vec<Slot> = group.order.iter().map(|(s, _, _)| *s).collect();
        slots.sort();
        slots.dedup();
        let trees: Vec<&sled::Tree> = slots.iter().map(|s| self.trees.of(*s)).collect();
        let result = trees.as_slice().transaction(|tx| {
            for (slot, key, value) in &group.order {
                let at = slots.binary_search(slot).unwrap_or(0);
                match value {
                    Some(value) => tx[at].insert(key.as_slice(), value.as_slice())?,
                    None => tx[at].remove(key.as_slice())?,
                };
            }
            Ok::<_, ConflictableTransactionError<()>>(())
        });
        match result {
            Ok(()) => Ok(()),
            Err(TransactionError::Storage(e)) => Err(e.into()),
            Err(TransactionError::Abort(())) => Err(StoreError::Closed),
        }
    }
}
