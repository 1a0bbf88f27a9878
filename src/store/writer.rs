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
//! once the group is on disk. A group that adds records also writes the chain's new head in
//! its transaction. Purges of the audit log go through the writer too, so that the
//! records they remove and the checkpoint they leave never race a commit.
//!
//! This file is the request loop: drain the queue, decide each request, write the group, sync,
//! then answer. The rest of `writer/`:
//! - `decide`: one event against the state on file and the group's earlier events;
//! - `group`: one group's staged writes, the [`View`] a fold reads through, its one transaction;
//! - `chain`: the audit chain: the tip and checkpoint, a record chained in, purges.

mod chain;
mod decide;
mod group;

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, watch};

use super::durable::Durable;
use super::stats::SharedStats;
use super::trees::Trees;
use super::{Accepted, Committed, StoreConfig, StoreError};
use crate::audit::{Facts, Purged};
pub(super) use chain::{load_checkpoint, load_head, AuditState};
use chain::{put_audit, put_head};
use group::Group;
pub use group::View;

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
        put_head(&mut group, self.audit.get());
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
}
