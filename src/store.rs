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

mod durable;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot, watch};

use crate::report::Violation;
pub use writer::{Stats, View};

/// The trees an event may write to besides the store's own (idempotency, outbox, audit,
/// events).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tree {
    /// Declarations by id: small metadata records.
    Declarations,
    /// Raw payloads by content hash, in chunks (large values never sit in index pages).
    Payloads,
    /// Shipment state by shipment key.
    Shipments,
    /// Buyers' annual quotas.
    Quotas,
    /// Secondary indexes (enterprise + status → shipment, message id → shipment, …).
    Index,
    /// Deliveries given up on (and orphan receipts), with why: for operators to inspect and
    /// replay.
    DeadLetters,
}

impl Tree {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Tree::Declarations => "declarations",
            Tree::Payloads => "payloads",
            Tree::Shipments => "shipments",
            Tree::Quotas => "quotas",
            Tree::Index => "index",
            Tree::DeadLetters => "dead_letters",
        }
    }

    pub(crate) const ALL: [Tree; 6] = [
        Tree::Declarations,
        Tree::Payloads,
        Tree::Shipments,
        Tree::Quotas,
        Tree::Index,
        Tree::DeadLetters,
    ];
}

/// A key and its value.
pub type Entry = (Vec<u8>, Vec<u8>);

/// A record to put: tree, key, value.
pub type Put = (Tree, Vec<u8>, Vec<u8>);

/// An outbox row to add: the queue it joins (an agency) and the row. The writer files it under
/// `queue \0 sequence`, so a queue reads in the order rows were written.
pub type Outbound = (String, Vec<u8>);

/// One accepted event, written atomically.
#[derive(Debug)]
pub struct Accepted {
    /// Enterprise that sent it (idempotency keys are scoped to it).
    pub sender: String,
    /// The idempotency key (CEB guid, or the client's key for typed submissions). Empty for
    /// the gateway's own bookkeeping (deliveries done, dead letters): written without one.
    pub key: String,
    /// SHA-256 of the content as received: same key with other content is refused.
    pub content: [u8; 32],
    /// The reply to give again when the same content comes again.
    pub reply: Vec<u8>,
    /// Records to put.
    pub puts: Vec<Put>,
    /// Outbox rows.
    pub outbox: Vec<Outbound>,
    /// The audit entry.
    pub audit: Vec<u8>,
    /// Work on the state on file, done by the writer just before the event is written.
    pub fold: Option<Fold>,
}

/// A decision the writer makes on the state on file (reads through a [`View`] that includes
/// the writes of earlier events), adding writes to the event or refusing it. Runs once, on the
/// writer thread, only for an event that is not a repeat.
pub struct Fold(pub Box<FoldFn>);

/// The work of a [`Fold`].
pub type FoldFn = dyn FnOnce(&View<'_>) -> Result<Folded, StoreError> + Send;

impl Accepted {
    /// The gateway's own bookkeeping (no idempotency key): `writes`, with an audit entry.
    pub fn bookkeeping(sender: &str, audit: String, writes: Writes) -> Accepted {
        Accepted {
            sender: sender.to_owned(),
            key: String::new(),
            content: [0; 32],
            reply: Vec::new(),
            puts: Vec::new(),
            outbox: Vec::new(),
            audit: audit.into_bytes(),
            fold: Some(Fold::new(move |_| Ok(Folded::Write(writes)))),
        }
    }
}

impl Fold {
    /// Wraps `f`.
    pub fn new(f: impl FnOnce(&View<'_>) -> Result<Folded, StoreError> + Send + 'static) -> Fold {
        Fold(Box::new(f))
    }
}

impl std::fmt::Debug for Fold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Fold")
    }
}

/// What a [`Fold`] decided.
#[derive(Debug)]
pub enum Folded {
    /// Write the event, with these writes too.
    Write(Writes),
    /// Write nothing; answer with this.
    Refuse(Refusal),
}

impl Default for Folded {
    fn default() -> Self {
        Folded::Write(Writes::default())
    }
}

/// Writes a [`Fold`] adds to its event.
#[derive(Debug, Default)]
pub struct Writes {
    /// Records to put.
    pub puts: Vec<Put>,
    /// Records to remove.
    pub removes: Vec<(Tree, Vec<u8>)>,
    /// Outbox rows.
    pub outbox: Vec<Outbound>,
    /// Outbox rows to remove, by their key (delivered, or moved to the dead letters).
    pub outbox_removes: Vec<Vec<u8>>,
    /// Status events for watchers, each given the next event sequence number.
    pub events: Vec<Vec<u8>>,
}

/// Why a [`Fold`] refused its event (nothing was written).
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    /// Dropped without harm (stale, out of place) rather than refused for a fault.
    pub ignored: bool,
    /// What is wrong.
    pub violations: Vec<Violation>,
}

/// What a commit came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Committed {
    /// Written and on disk; `seq` orders commits (and audit entries), `events` are the
    /// sequence numbers of the status events it wrote.
    New {
        /// Commit sequence.
        seq: u64,
        /// Status-event sequences.
        events: Vec<u64>,
    },
    /// The event's fold refused it: nothing written.
    Refused(Refusal),
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
    stats: Arc<writer::SharedStats>,
    trees: Arc<writer::Trees>,
    published: watch::Receiver<u64>,
    outbox_written: watch::Receiver<u64>,
    config: StoreConfig,
    path: PathBuf,
    writer: Arc<std::sync::Mutex<Option<std::thread::JoinHandle<()>>>>,
}

impl Store {
    /// Opens (or creates) the store in folder `path` and starts its writer thread.
    pub fn open(path: &Path, config: StoreConfig) -> Result<Store, StoreError> {
        let db = open_db(path)?;
        durable::sync_dir(path)?;
        let (queue, requests) = mpsc::channel(config.queue.max(1));
        let stats = Arc::new(writer::SharedStats::default());
        let trees = Arc::new(writer::Trees::open(&db)?);
        let audit = writer::AuditState::load(&trees)?;
        let last = trees
            .events
            .last()?
            .and_then(|(k, _)| <[u8; 8]>::try_from(k.as_ref()).ok())
            .map_or(0, u64::from_be_bytes);
        let (published_tx, published) = watch::channel(last);
        // Every row on file now is on disk; every later one gets a higher sequence.
        let (outbox_tx, outbox_written) = watch::channel(db.generate_id()?);
        let handle = writer::start(
            writer::Writer {
                db: db.clone(),
                trees: trees.clone(),
                path: path.to_owned(),
                config,
                stats: stats.clone(),
                published: published_tx,
                outbox_written: outbox_tx,
                failed: std::sync::atomic::AtomicBool::new(false),
                audit: std::cell::Cell::new(audit),
            },
            requests,
        )?;
        Ok(Store {
            db,
            queue,
            stats,
            trees,
            published,
            outbox_written,
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
        let started = std::time::Instant::now();
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(writer::Request::Commit { event, reply })
            .await
            .map_err(|_| StoreError::Closed)?;
        let answer = answer.await.map_err(|_| StoreError::Closed)?;
        crate::telemetry::count::commit(started.elapsed());
        answer
    }

    /// Queues an audit record that stands alone (a call's) without waiting for it: it is
    /// written, and chained, with the writer's next group. When the queue is full the record
    /// waits for room on a task of its own.
    pub fn audit_call(&self, facts: crate::audit::Facts) {
        let request = writer::Request::Audit(Box::new(facts));
        match self.queue.try_send(request) {
            Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => {}
            Err(mpsc::error::TrySendError::Full(request)) => {
                let queue = self.queue.clone();
                tokio::spawn(async move {
                    let _ = queue.send(request).await;
                });
            }
        }
    }

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
        let prefix = writer::outbox_prefix(queue);
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
        self.trees
            .outbox
            .scan_prefix(writer::outbox_prefix(queue))
            .count()
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

    /// Where the audit log verifies from since its last purge (`None`: never purged).
    pub fn audit_checkpoint(&self) -> Result<Option<crate::audit::Checkpoint>, StoreError> {
        let trees = &self.trees;
        Ok(writer::AuditState::load(trees)?.checkpoint())
    }

    /// Removes up to `limit` audit records written before `before_unix_ms`, oldest first,
    /// leaving a checkpoint and a record of the purge (see [`crate::audit::purge`]).
    pub async fn purge_audit(
        &self,
        before_unix_ms: u64,
        limit: usize,
    ) -> Result<crate::audit::Purged, StoreError> {
        let (reply, answer) = oneshot::channel();
        let request = writer::Request::PurgeAudit {
            before_unix_ms,
            limit,
            reply,
        };
        self.queue
            .send(request)
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// The committed reply of idempotency key `key` of `sender`, if any.
    pub fn reply_of(&self, sender: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let tree = &self.trees.idempotency;
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

/// How long `open` waits for the folder's lock: sled releases it only when the last of its
/// objects is dropped, which after a close in the same process can lag (sled's own tests block
/// on the lock for the same reason). Another process holding the folder still fails.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Opens sled in `path` without a periodic flusher: every write reaches the file in the
/// writer's own flush, which it follows with an fsync before any acknowledgement.
fn open_db(path: &Path) -> Result<sled::Db, StoreError> {
    let started = std::time::Instant::now();
    loop {
        match sled::Config::new().path(path).flush_every_ms(None).open() {
            Err(sled::Error::Io(e))
                if e.to_string().contains("could not acquire lock")
                    && started.elapsed() < LOCK_WAIT =>
            {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            result => return Ok(result?),
        }
    }
}

/// The sequence an audit record is filed under (its key, big-endian).
fn audit_seq(key: &[u8]) -> Result<u64, StoreError> {
    <[u8; 8]>::try_from(key)
        .map(u64::from_be_bytes)
        .map_err(|_| StoreError::Corrupt("audit record key is not a sequence".into()))
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

/// SHA-256 of content as received.
pub fn content_hash(content: &[u8]) -> [u8; 32] {
    Sha256::digest(content).into()
}
