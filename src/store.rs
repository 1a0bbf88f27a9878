//! The store: the single owner of durable state, on sled 0.34.7.
//!
//! One accepted event is one sled transaction over several trees: the idempotency key, the
//! records the caller writes (declarations, payloads, shipments, quotas, indexes), outbox rows
//! and an audit entry. `commit` answers only after the transaction is on disk for real: sled's
//! `flush` ends in `sync_file_range`, which neither flushes the drive's cache nor the file's
//! metadata, so the writer then `fsync`s the data file (and any blob file) itself. Concurrent
//! commits share that fsync: one writer thread drains whatever is queued, applies each event
//! in its own transaction, syncs once and then answers them all (group commit).

mod durable;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot};

pub use writer::Stats;

/// The trees an event may write to besides the store's own (idempotency, outbox, audit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tree {
    /// Declarations by id: small metadata records.
    Declarations,
    /// Raw payloads by content hash, in chunks (large values never sit in index pages).
    Payloads,
    /// Shipment state by shipment key.
    Shipments,
    /// Buyers' annual quotas.
    Quotas,
    /// Secondary indexes (enterprise + status → shipment, …).
    Index,
}

impl Tree {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Tree::Declarations => "declarations",
            Tree::Payloads => "payloads",
            Tree::Shipments => "shipments",
            Tree::Quotas => "quotas",
            Tree::Index => "index",
        }
    }

    pub(crate) const ALL: [Tree; 5] = [
        Tree::Declarations,
        Tree::Payloads,
        Tree::Shipments,
        Tree::Quotas,
        Tree::Index,
    ];
}

/// A key and its value.
pub type Entry = (Vec<u8>, Vec<u8>);

/// A record to put: tree, key, value.
pub type Put = (Tree, Vec<u8>, Vec<u8>);

/// One accepted event, written atomically.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// Enterprise that sent it (idempotency keys are scoped to it).
    pub sender: String,
    /// The idempotency key (CEB guid, or the client's key for typed submissions).
    pub key: String,
    /// SHA-256 of the content as received: same key with other content is refused.
    pub content: [u8; 32],
    /// The reply to give again when the same content comes again.
    pub reply: Vec<u8>,
    /// Records to put.
    pub puts: Vec<Put>,
    /// Outbox rows: (message id, row).
    pub outbox: Vec<Entry>,
    /// The audit entry.
    pub audit: Vec<u8>,
}

/// What a commit came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Committed {
    /// Written and on disk; `seq` orders events (and audit entries).
    New { seq: u64 },
    /// The same key with the same content was committed before: its original reply.
    Repeat { reply: Vec<u8> },
    /// The same key was committed before with other content.
    Conflict,
}

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
    stats: Arc<writer::SharedStats>,
    config: StoreConfig,
    path: PathBuf,
    writer: Arc<std::sync::Mutex<Option<std::thread::JoinHandle<()>>>>,
}

impl Store {
    /// Opens (or creates) the store in folder `path` and starts its writer thread.
    pub fn open(path: &Path, config: StoreConfig) -> Result<Store, StoreError> {
        let db = sled::Config::new().path(path).open()?;
        durable::sync_dir(path)?;
        let (queue, requests) = mpsc::channel(config.queue.max(1));
        let stats = Arc::new(writer::SharedStats::default());
        let handle = writer::start(db.clone(), path.to_owned(), config, requests, stats.clone())?;
        Ok(Store {
            db,
            queue,
            stats,
            config,
            path: path.to_owned(),
            writer: Arc::new(std::sync::Mutex::new(Some(handle))),
        })
    }

    /// Closes this handle. The last handle to close stops the writer once the commits queued
    /// before are answered, flushes and releases the folder.
    pub fn close(self) -> Result<(), StoreError> {
        let Store {
            db, queue, writer, ..
        } = self;
        drop(queue);
        if let Ok(writer) = Arc::try_unwrap(writer) {
            let handle = writer.into_inner().ok().flatten();
            if let Some(handle) = handle {
                let _ = handle.join();
            }
            db.flush()?;
        }
        Ok(())
    }

    /// Commits `event` and answers once it is on disk (or is a repeat or a conflict).
    pub async fn commit(&self, event: Accepted) -> Result<Committed, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(writer::Request { event, reply })
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// A record of `tree`.
    pub fn get(&self, tree: Tree, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .db
            .open_tree(tree.name())?
            .get(key)?
            .map(|v| v.to_vec()))
    }

    /// Records of `tree` whose keys start with `prefix`, in key order.
    pub fn scan(&self, tree: Tree, prefix: &[u8]) -> Result<Vec<Entry>, StoreError> {
        let tree = self.db.open_tree(tree.name())?;
        tree.scan_prefix(prefix)
            .map(|r| {
                r.map(|(k, v)| (k.to_vec(), v.to_vec()))
                    .map_err(StoreError::from)
            })
            .collect()
    }

    /// The outbox rows, in message-id order.
    pub fn outbox(&self) -> Result<Vec<Entry>, StoreError> {
        let tree = self.db.open_tree(writer::OUTBOX)?;
        tree.iter()
            .map(|r| {
                r.map(|(k, v)| (k.to_vec(), v.to_vec()))
                    .map_err(StoreError::from)
            })
            .collect()
    }

    /// Audit entries, in event order.
    pub fn audit(&self) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let tree = self.db.open_tree(writer::AUDIT)?;
        tree.iter()
            .map(|r| {
                let (k, v) = r?;
                let seq = <[u8; 8]>::try_from(k.as_ref()).map_or(0, u64::from_be_bytes);
                Ok((seq, v.to_vec()))
            })
            .collect()
    }

    /// The committed reply of idempotency key `key` of `sender`, if any.
    pub fn reply_of(&self, sender: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let tree = self.db.open_tree(writer::IDEMPOTENCY)?;
        Ok(tree
            .get(writer::idempotency_key(sender, key))?
            .map(|v| writer::stored_reply(&v).to_vec()))
    }

    /// Splits `payload` into chunk puts under its SHA-256 (returned), for [`Accepted::puts`].
    pub fn payload_puts(&self, payload: &[u8]) -> ([u8; 32], Vec<Put>) {
        let hash: [u8; 32] = Sha256::digest(payload).into();
        let puts = payload
            .chunks(self.config.chunk_bytes.max(1))
            .enumerate()
            .map(|(i, chunk)| {
                let mut key = hash.to_vec();
                key.extend_from_slice(&u32::try_from(i).unwrap_or(u32::MAX).to_be_bytes());
                (Tree::Payloads, key, chunk.to_vec())
            })
            .collect();
        (hash, puts)
    }

    /// A payload put with [`Store::payload_puts`], joined again.
    pub fn payload(&self, hash: &[u8; 32]) -> Result<Option<Vec<u8>>, StoreError> {
        let chunks = self.scan(Tree::Payloads, hash)?;
        if chunks.is_empty() {
            return Ok(None);
        }
        Ok(Some(chunks.into_iter().flat_map(|(_, v)| v).collect()))
    }

    /// Commit and fsync counters.
    pub fn stats(&self) -> Stats {
        self.stats.snapshot()
    }

    /// The folder of the store.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// SHA-256 of content as received.
pub fn content_hash(content: &[u8]) -> [u8; 32] {
    Sha256::digest(content).into()
}
