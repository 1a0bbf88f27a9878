//! The sequenced trees as readers see them: status events for watchers and outbox queues for
//! the dispatchers (only rows already on disk: nothing is shown or delivered before the write
//! that made it is durable), and the audit log with its checkpoint and head.

use tokio::sync::watch;

use super::keys::{audit_seq, outbox_prefix};
use super::{writer, Entry, Store, StoreError};

impl Store {
    /// Status events with a sequence number above `after`, oldest first, at most `limit`;
    /// only events already on disk.
    pub fn events_after(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let last = *self.published.borrow();
        self.trees
            .events
            .range(after.saturating_add(1).to_be_bytes()..)
            .take(limit)
            .map(|r| {
                let (k, v) = r?;
                let seq = <[u8; 8]>::try_from(k.as_ref()).map_or(u64::MAX, u64::from_be_bytes);
                Ok((seq, v.to_vec()))
            })
            .take_while(|r| r.as_ref().map_or(true, |(seq, _)| *seq <= last))
            .collect()
    }

    /// The sequence number of the last status event on disk; changes as events are written.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.published.clone()
    }

    /// Every outbox row, by queue and then in the order written.
    pub fn outbox(&self) -> Result<Vec<Entry>, StoreError> {
        let tree = &self.trees.outbox;
        tree.iter()
            .map(|r| {
                r.map(|(k, v)| (k.to_vec(), v.to_vec()))
                    .map_err(StoreError::from)
            })
            .collect()
    }

    /// Up to `limit` rows of outbox queue `queue` after the row keyed `after` (from the first
    /// when empty), in the order they were written: (row key, row). Only rows already on disk:
    /// a row is never delivered before the write that made it is durable.
    pub fn outbox_page(
        &self,
        queue: &str,
        after: &[u8],
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        use std::ops::Bound;
        let prefix = outbox_prefix(queue);
        let start = if after.is_empty() {
            Bound::Included(prefix.clone())
        } else {
            Bound::Excluded(after.to_vec())
        };
        let durable = *self.outbox_written.borrow();
        let synced = |key: &[u8]| {
            key.get(prefix.len()..)
                .and_then(|seq| <[u8; 8]>::try_from(seq).ok())
                .is_some_and(|seq| u64::from_be_bytes(seq) <= durable)
        };
        self.trees
            .outbox
            .range::<Vec<u8>, _>((start, Bound::Unbounded))
            .take_while(|r| {
                r.as_ref()
                    .map_or(true, |(k, _)| k.starts_with(&prefix) && synced(k))
            })
            .take(limit)
            .map(|r| {
                r.map(|(k, v)| (k.to_vec(), v.to_vec()))
                    .map_err(StoreError::from)
            })
            .collect()
    }

    /// Rows waiting in outbox queue `queue`.
    pub fn outbox_len(&self, queue: &str) -> usize {
        self.trees.outbox.scan_prefix(outbox_prefix(queue)).count()
    }

    /// Changes each time outbox rows reach the disk.
    pub fn outbox_written(&self) -> watch::Receiver<u64> {
        self.outbox_written.clone()
    }

    /// Audit entries, in event order.
    pub fn audit(&self) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let tree = &self.trees.audit;
        tree.iter()
            .map(|r| {
                let (k, v) = r?;
                let seq = <[u8; 8]>::try_from(k.as_ref()).map_or(0, u64::from_be_bytes);
                Ok((seq, v.to_vec()))
            })
            .collect()
    }

    /// Audit records (key, stored bytes), in sequence order, read as they are iterated.
    pub fn audit_entries(
        &self,
    ) -> impl Iterator<Item = Result<(u64, Vec<u8>), StoreError>> + Send + 'static {
        self.trees.audit.iter().map(|r| {
            let (k, v) = r?;
            Ok((audit_seq(&k)?, v.to_vec()))
        })
    }

    /// Where the audit log must end (`None` in a store written before heads were kept).
    pub fn audit_head(&self) -> Result<Option<crate::audit::Head>, StoreError> {
        writer::load_head(&self.trees)
    }

    /// Where the audit log verifies from since its last purge (`None`: never purged).
    pub fn audit_checkpoint(&self) -> Result<Option<crate::audit::Checkpoint>, StoreError> {
        writer::load_checkpoint(&self.trees)
    }
}
