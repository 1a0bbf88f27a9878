//! The writer thread: drains queued commits, decides each one on the state on file (the
//! idempotency key, then the event's [`Fold`]), writes the whole group in one sled
//! transaction, syncs once and only then answers (group commit).
//!
//! Every event is still all-or-nothing: its writes sit in the same transaction, never split
//! across two. Events of one group see each other's writes (through [`View`]'s overlay), so a
//! group is applied exactly as if its events had been written one after another.
//!
//! Every written event gets an audit record chained to the one before (see [`crate::audit`]):
//! the writer keeps the chain's tip, takes it into each group and keeps the group's tip only
//! once the group is on disk. Purges of the audit log go through the writer too, so that the
//! records they remove and the checkpoint they leave never race a commit.

use rustc_hash::FxHashMap as HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};
use tokio::sync::{mpsc, oneshot, watch};

use super::durable::Durable;
use super::{Accepted, Committed, Folded, StoreConfig, StoreError, Tree};
use crate::audit::{Chain, Checkpoint, Facts, Purged, Record, Tip};

/// Key of the audit checkpoint in the `audit_meta` tree.
const CHECKPOINT_KEY: &[u8] = b"checkpoint";

pub(super) enum Request {
    Commit {
        event: Accepted,
        reply: oneshot::Sender<Result<Committed, StoreError>>,
    },
    /// Removes up to `limit` audit records written before `before_unix_ms`, oldest first.
    PurgeAudit {
        before_unix_ms: u64,
        limit: usize,
        reply: oneshot::Sender<Result<Purged, StoreError>>,
    },
    /// A record of the audit log that stands alone (a call's); nobody waits for it.
    Audit(Box<Facts>),
}

/// A request decided, with where its answer goes.
enum Decided {
    Commit(
        oneshot::Sender<Result<Committed, StoreError>>,
        Result<Committed, StoreError>,
    ),
    Purge(
        oneshot::Sender<Result<Purged, StoreError>>,
        Result<Purged, StoreError>,
    ),
    /// A call's audit record was queued in the group (or its id failed: logged).
    Audited,
}

/// The audit chain's state: its tip and the last purge's checkpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct AuditState {
    tip: Tip,
    checkpoint: Option<Checkpoint>,
}

impl AuditState {
    /// As on file: the last record's link (the checkpoint's when none is left; the genesis
    /// when there was never one). A last record that does not read (written before records
    /// were chained) gives a chain that starts again from the genesis hash.
    pub fn load(trees: &Trees) -> Result<AuditState, StoreError> {
        let checkpoint = match trees.audit_meta.get(CHECKPOINT_KEY)? {
            Some(bytes) => Some(
                Checkpoint::from_bytes(&bytes)
                    .map_err(|e| StoreError::Corrupt(format!("audit checkpoint: {e}")))?,
            ),
            None => None,
        };
        let tip = match trees.audit.last()? {
            Some((_, bytes)) => {
                Record::from_bytes(&bytes).map_or_else(|_| Tip::default(), |r| r.tip())
            }
            None => checkpoint.map_or_else(Tip::default, |c| c.tip()),
        };
        Ok(AuditState { tip, checkpoint })
    }

    /// The checkpoint.
    pub fn checkpoint(&self) -> Option<Checkpoint> {
        self.checkpoint
    }
}

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
    commits: AtomicU64,
    fsyncs: AtomicU64,
    batches: AtomicU64,
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

pub(super) struct Writer {
    pub db: sled::Db,
    pub trees: Arc<Trees>,
    pub path: PathBuf,
    pub config: StoreConfig,
    pub stats: Arc<SharedStats>,
    /// The last status-event sequence on disk, for watchers.
    pub published: watch::Sender<u64>,
    /// The sequence of the last outbox row on disk, for the dispatchers (rows above it are
    /// not synced yet and must not be delivered).
    pub outbox_written: watch::Sender<u64>,
    /// Set when a write or fsync failed: what sled holds may then differ from what is on disk
    /// (a retry would be taken for a repeat), so nothing more is written until a restart.
    pub failed: std::sync::atomic::AtomicBool,
    /// The audit chain as on disk (the writer thread's alone).
    pub audit: std::cell::Cell<AuditState>,
}

pub(super) fn start(
    writer: Writer,
    mut requests: mpsc::Receiver<Request>,
) -> Result<std::thread::JoinHandle<()>, StoreError> {
    let mut durable = Durable::open(&writer.path)?;
    let handle = std::thread::Builder::new()
        .name("store-writer".into())
        .spawn(move || {
            let mut batch = Vec::with_capacity(writer.config.max_batch);
            while let Some(first) = requests.blocking_recv() {
                batch.push(first);
                while batch.len() < writer.config.max_batch {
                    match requests.try_recv() {
                        Ok(next) => batch.push(next),
                        Err(_) => break,
                    }
                }
                writer.write_batch(&mut durable, &mut batch);
            }
        })?;
    Ok(handle)
}

impl Writer {
    fn write_batch(&self, durable: &mut Durable, batch: &mut Vec<Request>) {
        if self.failed.load(Ordering::Relaxed) {
            for request in batch.drain(..) {
                match request {
                    Request::Commit { reply, .. } => drop(reply.send(Err(StoreError::Failed))),
                    Request::PurgeAudit { reply, .. } => drop(reply.send(Err(StoreError::Failed))),
                    Request::Audit(_) => {
                        tracing::error!("a call's audit record is lost: the store failed")
                    }
                }
            }
            return;
        }
        let mut group = Group {
            audit: self.audit.get(),
            ..Group::default()
        };
        let decided: Vec<Decided> = batch
            .drain(..)
            .map(|request| match request {
                Request::Commit { mut event, reply } => {
                    Decided::Commit(reply, self.decide(&mut group, &mut event))
                }
                Request::PurgeAudit {
                    before_unix_ms,
                    limit,
                    reply,
                } => Decided::Purge(reply, self.purge_audit(&mut group, before_unix_ms, limit)),
                Request::Audit(facts) => {
                    match self.db.generate_id() {
                        Ok(seq) => put_audit(&mut group, seq, *facts),
                        Err(error) => tracing::error!(%error, "a call's audit record is lost"),
                    }
                    Decided::Audited
                }
            })
            .collect();
        let wrote = decided
            .iter()
            .filter(|d| matches!(d, Decided::Commit(_, Ok(Committed::New { .. }))))
            .count();
        let wrote = u64::try_from(wrote).unwrap_or(u64::MAX);
        let synced = if !group.order.is_empty() {
            let started = std::time::Instant::now();
            let synced = self
                .write(&group)
                .and_then(|_| self.db.flush().map_err(StoreError::from))
                .and_then(|_| durable.sync().map_err(StoreError::from));
            crate::telemetry::count::flush(started.elapsed(), wrote);
            synced
        } else {
            Ok(())
        };
        self.stats.batches.fetch_add(1, Ordering::Relaxed);
        if synced.is_err() {
            self.failed.store(true, Ordering::Relaxed);
        }
        if synced.is_ok() {
            self.stats.commits.fetch_add(wrote, Ordering::Relaxed);
            self.stats.fsyncs.store(durable.fsyncs, Ordering::Relaxed);
            self.audit.set(group.audit);
            if let Some(last) = group.last_event {
                self.published.send_replace(last);
            }
            if let Some(last) = group.last_outbox {
                self.outbox_written.send_replace(last);
            }
        }
        let unsynced = |e: &StoreError| StoreError::Io(std::io::Error::other(e.to_string()));
        for decided in decided {
            // Nothing is acknowledged unless the write and the sync succeeded.
            match decided {
                Decided::Commit(reply, outcome) => {
                    let answer = match (&synced, outcome) {
                        (Err(e), Ok(Committed::New { .. })) => Err(unsynced(e)),
                        (_, outcome) => outcome,
                    };
                    let _ = reply.send(answer);
                }
                Decided::Purge(reply, outcome) => {
                    let answer = match (&synced, outcome) {
                        (Err(e), Ok(purged)) if purged.removed > 0 => Err(unsynced(e)),
                        (_, outcome) => outcome,
                    };
                    let _ = reply.send(answer);
                }
                Decided::Audited => {}
            }
        }
    }

    /// Removes, in `group`, up to `limit` audit records written before `before_unix_ms`
    /// (oldest first, from the checkpoint on), checking each one's link; leaves the new
    /// checkpoint and the purge's own record. Removes nothing when a record to remove does
    /// not verify.
    fn purge_audit(
        &self,
        group: &mut Group,
        before_unix_ms: u64,
        limit: usize,
    ) -> Result<Purged, StoreError> {
        let previous = group.audit.checkpoint;
        let start = previous.map_or(0, |c| c.seq.saturating_add(1));
        let mut chain = Chain::from_checkpoint(previous.as_ref());
        let mut removed: Vec<Vec<u8>> = Vec::new();
        let mut last = None;
        for row in self.trees.audit.range(start.to_be_bytes()..).take(limit) {
            let (key, bytes) = row?;
            let seq = super::audit_seq(&key)?;
            let refuse = |why: String| {
                StoreError::Corrupt(format!("audit log not purged: seq {seq}: {why}"))
            };
            let record = Record::from_bytes(&bytes).map_err(|e| refuse(e.to_string()))?;
            if record.at_unix_ms >= before_unix_ms {
                break;
            }
            chain
                .take(seq, &record)
                .map_err(|broken| refuse(broken.to_string()))?;
            removed.push(key.to_vec());
            last = Some(record);
        }
        let Some(last) = last else {
            return Ok(Purged::default());
        };
        let count = u64::try_from(removed.len()).unwrap_or(u64::MAX);
        let seq = self.db.generate_id()?;
        let checkpoint = Checkpoint {
            seq: last.seq,
            hash: last.hash,
            purged: previous.map_or(0, |c| c.purged).saturating_add(count),
            at_unix_ms: crate::clock::unix_millis(),
        };
        for key in removed {
            group.put(Slot::Audit, key, None);
        }
        group.put(
            Slot::AuditMeta,
            CHECKPOINT_KEY.to_vec(),
            Some(checkpoint.to_bytes()),
        );
        group.audit.checkpoint = Some(checkpoint);
        let facts = Facts {
            note: format!(
                "audit purge: {count} records up to seq {} removed (written before \
                 {before_unix_ms} Unix ms)",
                last.seq
            ),
            enterprise: Some("gateway:audit".to_owned()),
            outcome: Some("purged".to_owned()),
            ..Facts::default()
        };
        put_audit(group, seq, facts);
        Ok(Purged {
            removed: count,
            checkpoint: Some(checkpoint),
            seq: Some(seq),
        })
    }

    /// Decides one event against the state on file and the group's earlier events; queues its
    /// writes in `group` when it is new.
    fn decide(&self, group: &mut Group, event: &mut Accepted) -> Result<Committed, StoreError> {
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

    /// Writes the group in one transaction over the trees it touches.
    fn write(&self, group: &Group) -> Result<(), StoreError> {
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

/// Where a write goes: one of the store's own trees or a data tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Slot {
    Idempotency,
    Outbox,
    Audit,
    AuditMeta,
    Events,
    Data(Tree),
}

/// The writes of one group, in order, with the last value of each key (the overlay later
/// events of the group read through).
#[derive(Default)]
pub(super) struct Group {
    /// Where each key's last write is in `order`.
    latest: HashMap<(Slot, Vec<u8>), usize>,
    order: Vec<(Slot, Vec<u8>, Option<Vec<u8>>)>,
    last_event: Option<u64>,
    /// The sequence of the last outbox row written.
    last_outbox: Option<u64>,
    /// The audit chain with the group's records on it.
    audit: AuditState,
}

impl Group {
    /// `Some(value, or None when removed)` when the group wrote `key`.
    fn get(&self, slot: Slot, key: &[u8]) -> Option<Option<Vec<u8>>> {
        let at = *self.latest.get(&(slot, key.to_vec()))?;
        Some(self.order[at].2.clone())
    }

    fn put(&mut self, slot: Slot, key: Vec<u8>, value: Option<Vec<u8>>) {
        self.latest.insert((slot, key.clone()), self.order.len());
        self.order.push((slot, key, value));
    }
}

/// What a [`super::Fold`] sees: the data trees as the earlier events (of this group too) left
/// them, with its own event's puts on top.
pub struct View<'a> {
    trees: &'a Trees,
    group: &'a Group,
    own: &'a [super::Put],
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

pub(super) struct Trees {
    pub idempotency: sled::Tree,
    pub outbox: sled::Tree,
    pub audit: sled::Tree,
    /// The audit log's checkpoint.
    pub audit_meta: sled::Tree,
    pub events: sled::Tree,
    data: Vec<sled::Tree>,
}

impl Trees {
    pub fn open(db: &sled::Db) -> Result<Trees, StoreError> {
        let mut data = Vec::with_capacity(Tree::ALL.len());
        for tree in Tree::ALL {
            data.push(db.open_tree(tree.name())?);
        }
        Ok(Trees {
            idempotency: db.open_tree("idempotency")?,
            outbox: db.open_tree("outbox")?,
            audit: db.open_tree("audit")?,
            audit_meta: db.open_tree("audit_meta")?,
            events: db.open_tree("events")?,
            data,
        })
    }

    pub fn data(&self, tree: Tree) -> &sled::Tree {
        &self.data[tree as usize]
    }

    fn of(&self, slot: Slot) -> &sled::Tree {
        match slot {
            Slot::Idempotency => &self.idempotency,
            Slot::Outbox => &self.outbox,
            Slot::Audit => &self.audit,
            Slot::AuditMeta => &self.audit_meta,
            Slot::Events => &self.events,
            Slot::Data(tree) => self.data(tree),
        }
    }
}

/// Chains a record of `facts` under `seq` onto the group's audit chain.
fn put_audit(group: &mut Group, seq: u64, facts: Facts) {
    let record = Record::chain(&group.audit.tip, seq, crate::clock::unix_millis(), facts);
    group.audit.tip = record.tip();
    group.put(
        Slot::Audit,
        seq.to_be_bytes().to_vec(),
        Some(record.to_bytes()),
    );
}

/// `queue \0`: where the rows of an outbox queue start.
pub(super) fn outbox_prefix(queue: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(queue.len() + 9);
    k.extend_from_slice(queue.as_bytes());
    k.push(0);
    k
}

/// `sender \0 key`.
pub(super) fn idempotency_key(sender: &str, key: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(sender.len() + key.len() + 1);
    k.extend_from_slice(sender.as_bytes());
    k.push(0);
    k.extend_from_slice(key.as_bytes());
    k
}

/// The reply part of an idempotency record (after the 32-byte content hash).
pub(super) fn stored_reply(record: &[u8]) -> &[u8] {
    record.get(32..).unwrap_or_default()
}
