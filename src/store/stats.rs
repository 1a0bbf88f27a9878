//! Commit counters: kept by the writer in atomics, read as a [`Stats`] snapshot.

use std::sync::atomic::{AtomicU64, Ordering};

use super::Store;

/// Commit counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Events written (not repeats, conflicts or refusals).
    pub commits: u64,
    /// fsyncs of the data file.
    pub fsyncs: u64,
    /// Batches applied.
    pub batches: u64,
}

#[derive(Default)]
pub(super) struct SharedStats {
    pub(super) commits: AtomicU64,
    pub(super) fsyncs: AtomicU64,
    pub(super) batches: AtomicU64,
}

impl SharedStats {
    pub fn snapshot(&self) -> Stats {
        Stats {
            commits: self.commits.load(Ordering::Relaxed),
            fsyncs: self.fsyncs.load(Ordering::Relaxed),
            batches: self.batches.load(Ordering::Relaxed),
        }
    }
}

impl Store {
    /// Commit and fsync counters.
    pub fn stats(&self) -> Stats {
        self.stats.snapshot()
    }
}
