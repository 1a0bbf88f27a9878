//! What one event writes and what its commit comes to: the [`Accepted`] event a caller hands to
//! [`super::Store::commit`] (records, outbox rows, audit entry and an optional [`Fold`] run on
//! the writer), what a fold decides, and the [`Committed`] answer. Plain data: the writer
//! decides and writes; nothing here touches sled.

use sha2::{Digest, Sha256};

use super::{StoreError, Tree, View};
use crate::report::Violation;

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

/// SHA-256 of content as received.
pub fn content_hash(content: &[u8]) -> [u8; 32] {
    Sha256::digest(content).into()
}
