//! Reads of the data trees as committed: point reads, prefix scans and pages, the committed
//! reply of an idempotency key, and the [`Read`] trait shared with the writer's [`View`].

use super::keys::{idempotency_key, stored_reply};
use super::{Store, StoreError, Tree, View};

/// A key and its value.
pub type Entry = (Vec<u8>, Vec<u8>);

impl Store {
    /// A record of `tree`.
    pub fn get(&self, tree: Tree, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.trees.data(tree).get(key)?.map(|v| v.to_vec()))
    }

    /// Records of `tree` whose keys start with `prefix`, in key order.
    pub fn scan(&self, tree: Tree, prefix: &[u8]) -> Result<Vec<Entry>, StoreError> {
        self.page(tree, prefix, &[], usize::MAX)
    }

    /// Up to `limit` records of `tree` whose keys start with `prefix` and come after `after`
    /// (from the first when empty), in key order.
    pub fn page(
        &self,
        tree: Tree,
        prefix: &[u8],
        after: &[u8],
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        use std::ops::Bound;
        let start = if after.is_empty() {
            Bound::Included(prefix.to_vec())
        } else {
            Bound::Excluded(after.to_vec())
        };
        self.trees
            .data(tree)
            .range::<Vec<u8>, _>((start, Bound::Unbounded))
            .take_while(|r| r.as_ref().map_or(true, |(k, _)| k.starts_with(prefix)))
            .take(limit)
            .map(|r| {
                r.map(|(k, v)| (k.to_vec(), v.to_vec()))
                    .map_err(StoreError::from)
            })
            .collect()
    }

    /// The committed reply of idempotency key `key` of `sender`, if any.
    pub fn reply_of(&self, sender: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let tree = &self.trees.idempotency;
        Ok(tree
            .get(idempotency_key(sender, key))?
            .map(|v| stored_reply(&v).to_vec()))
    }
}

/// Point reads of the data trees: the store as readers see it, or a [`View`] inside the
/// writer.
pub trait Read {
    /// A record of `tree`.
    fn read(&self, tree: Tree, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
}

impl Read for Store {
    fn read(&self, tree: Tree, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.get(tree, key)
    }
}

impl Read for View<'_> {
    fn read(&self, tree: Tree, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.get(tree, key)
    }
}
