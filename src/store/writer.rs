//! The writer thread: drains queued commits, applies each in its own sled transaction, syncs
//! once for the whole batch and only then answers (group commit).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};
use tokio::sync::{mpsc, oneshot};

use super::durable::Durable;
use super::{Accepted, Committed, StoreConfig, StoreError, Tree};

pub(super) const IDEMPOTENCY: &str = "idempotency";
pub(super) const OUTBOX: &str = "outbox";
pub(super) const AUDIT: &str = "audit";

pub(super) struct Request {
    pub event: Accepted,
    pub reply: oneshot::Sender<Result<Committed, StoreError>>,
}

/// Commit counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Events written (not repeats or conflicts).
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

pub(super) fn start(
    db: sled::Db,
    path: PathBuf,
    config: StoreConfig,
    mut requests: mpsc::Receiver<Request>,
    stats: Arc<SharedStats>,
) -> Result<std::thread::JoinHandle<()>, StoreError> {
    let trees = Trees::open(&db)?;
    let mut durable = Durable::open(&path)?;
    let handle = std::thread::Builder::new()
        .name("store-writer".into())
        .spawn(move || {
            let mut batch = Vec::with_capacity(config.max_batch);
            while let Some(first) = requests.blocking_recv() {
                batch.push(first);
                while batch.len() < config.max_batch {
                    match requests.try_recv() {
                        Ok(next) => batch.push(next),
                        Err(_) => break,
                    }
                }
                write_batch(&db, &trees, &mut durable, &mut batch, &stats);
            }
        })?;
    Ok(handle)
}

fn write_batch(
    db: &sled::Db,
    trees: &Trees,
    durable: &mut Durable,
    batch: &mut Vec<Request>,
    stats: &SharedStats,
) {
    let outcomes: Vec<Result<Committed, StoreError>> =
        batch.iter().map(|r| apply(db, trees, &r.event)).collect();
    let wrote = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(Committed::New { .. })))
        .count() as u64;
    let synced = if wrote > 0 {
        db.flush()
            .map_err(StoreError::from)
            .and_then(|_| durable.sync().map_err(StoreError::from))
    } else {
        Ok(())
    };
    stats.batches.fetch_add(1, Ordering::Relaxed);
    if synced.is_ok() {
        stats.commits.fetch_add(wrote, Ordering::Relaxed);
        stats.fsyncs.store(durable.fsyncs, Ordering::Relaxed);
    }
    for (request, outcome) in batch.drain(..).zip(outcomes) {
        let answer = match (&synced, outcome) {
            // Nothing is acknowledged unless the sync succeeded.
            (Err(e), Ok(Committed::New { .. })) => {
                Err(StoreError::Io(std::io::Error::other(e.to_string())))
            }
            (_, outcome) => outcome,
        };
        let _ = request.reply.send(answer);
    }
}

struct Trees {
    idempotency: sled::Tree,
    outbox: sled::Tree,
    audit: sled::Tree,
    data: Vec<(Tree, sled::Tree)>,
}

impl Trees {
    fn open(db: &sled::Db) -> Result<Trees, StoreError> {
        let mut data = Vec::with_capacity(Tree::ALL.len());
        for tree in Tree::ALL {
            data.push((tree, db.open_tree(tree.name())?));
        }
        Ok(Trees {
            idempotency: db.open_tree(IDEMPOTENCY)?,
            outbox: db.open_tree(OUTBOX)?,
            audit: db.open_tree(AUDIT)?,
            data,
        })
    }
}

/// Applies one event in one transaction over the trees it writes (sled's transactions cost
/// per tree taking part).
fn apply(db: &sled::Db, trees: &Trees, event: &Accepted) -> Result<Committed, StoreError> {
    let mut used: Vec<Tree> = event.puts.iter().map(|(t, _, _)| *t).collect();
    used.sort_by_key(|t| Tree::ALL.iter().position(|a| a == t));
    used.dedup();
    let mut all: Vec<&sled::Tree> = vec![&trees.idempotency, &trees.audit, &trees.outbox];
    let fixed = if event.outbox.is_empty() { 2 } else { 3 };
    all.truncate(fixed);
    for tree in &used {
        all.extend(trees.data.iter().filter(|(t, _)| t == tree).map(|(_, t)| t));
    }
    let key = idempotency_key(&event.sender, &event.key);
    let seq = db.generate_id()?;
    let result = all.as_slice().transaction(|tx| {
        let (idem, audit) = (&tx[0], &tx[1]);
        if let Some(stored) = idem.get(&key)? {
            return Ok(if stored.get(..32) == Some(&event.content[..]) {
                Committed::Repeat {
                    reply: stored_reply(&stored).to_vec(),
                }
            } else {
                Committed::Conflict
            });
        }
        let mut record = event.content.to_vec();
        record.extend_from_slice(&event.reply);
        idem.insert(key.as_slice(), record)?;
        for (tree, k, v) in &event.puts {
            let at = used.iter().position(|t| t == tree).unwrap_or(0);
            tx[fixed + at].insert(k.as_slice(), v.as_slice())?;
        }
        for (id, row) in &event.outbox {
            tx[2].insert(id.as_slice(), row.as_slice())?;
        }
        audit.insert(&seq.to_be_bytes(), event.audit.as_slice())?;
        Ok::<_, ConflictableTransactionError<()>>(Committed::New { seq })
    });
    match result {
        Ok(committed) => Ok(committed),
        Err(TransactionError::Storage(e)) => Err(e.into()),
        Err(TransactionError::Abort(())) => Err(StoreError::Closed),
    }
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
