//! The store: the single owner of durable state, on sled 0.34.7.
//!
//! An accepted event writes, atomically, over several trees: the idempotency key, the records
//! the caller writes (declarations, payloads, shipments, quotas, indexes), outbox rows, status
//! events for watchers and an audit entry. An event may carry a [`Fold`]: work the writer does
//! on the state on file just before writing (the shipment state machine), which adds writes or
//! refuses the event. `commit` answers only after the write is on disk for real: sled's
//! `flush` ends in `sync_file_range`, which neither flushes the drive's cache nor the file's
//! metadata, so the writer then `fsync`s the data file (and any blob file) itself. Concurrent
//! commits share that fsync: one writer thread drains whatever is queued, decides each event
//! in order, writes the group in one sled transaction, syncs once and then answers them all
//! (group commit).
//!
//! Each written event leaves a record in the hash-chained audit log (see [`crate::audit`]),
//! chained by the writer in commit order; purges of the log go through the writer too.
//!
//! Map of `store/`:
//! - `event`: what one event writes and what its commit comes to (plain data);
//! - `trees`: the sled trees: the data trees an event names, the store's own;
//! - `open`: opening the store (and starting its writer), closing it;
//! - `requests`: the handle's requests to the writer: commit, a call's audit record, purge;
//! - `read`: point reads and pages of the data trees, committed replies;
//! - `sequenced`: status events, outbox queues and the audit log as readers see them;
//! - `payload`: payloads in chunks under their SHA-256;
//! - `keys`: the layout of the store's own keys, shared by the writer and the readers;
//! - `stats`: commit counters;
//! - `writer`: the writer thread (group commit), `durable`: the fsyncs behind it.

mod durable;
mod event;
mod keys;
mod open;
mod payload;
mod read;
mod requests;
mod sequenced;
mod stats;
mod trees;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::{mpsc, watch};

pub use event::{
    content_hash, Accepted, Committed, Fold, FoldFn, Folded, Outbound, Put, Refusal, Writes,
};
pub use read::{Entry, Read};
pub use stats::Stats;
pub use trees::Tree;
pub use writer::View;

/// Store failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// sled failed.
    #[error("store: {0}")]
    Sled(#[from] sled::Error),
    /// The file system failed (fsync).
    #[error("store: {0}")]
    Io(#[from] std::io::Error),
    /// The writer is gone (the store is shutting down).
    #[error("store: closed")]
    Closed,
    /// A write or fsync failed earlier: the store takes nothing more until it is reopened.
    #[error("store: a write or fsync failed; nothing more is written until a restart")]
    Failed,
    /// A stored record does not read back.
    #[error("store: corrupt record: {0}")]
    Corrupt(String),
}

/// Knobs of the store; from config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreConfig {
    /// Commits waiting for the writer before `commit` waits (backpressure).
    pub queue: usize,
    /// Most events applied before one fsync.
    pub max_batch: usize,
    /// Size of a payload chunk.
    pub chunk_bytes: usize,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            queue: 4096,
            max_batch: 512,
            chunk_bytes: 16 * 1024,
        }
    }
}

/// The store. Cloning shares it.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    queue: mpsc::Sender<writer::Request>,
    stats: Arc<stats::SharedStats>,
    trees: Arc<trees::Trees>,
    published: watch::Receiver<u64>,
    outbox_written: watch::Receiver<u64>,
    config: StoreConfig,
    path: PathBuf,
    writer: Arc<std::sync::Mutex<Option<std::thread::JoinHandle<()>>>>,
}

impl Store {
    /// The folder of the store.
    pub fn path(&self) -> &Path {
        &self.path
    }
}
