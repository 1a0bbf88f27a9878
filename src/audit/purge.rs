//! Retention: the purge job removes the records older than the retention period, oldest
//! first, in batches; the store's writer checks each removed record's link, leaves a
//! [`super::Checkpoint`] and writes the purge as a record of its own.

use std::time::Duration;

use tokio::sync::watch;

use super::Checkpoint;
use crate::store::{Store, StoreError};

/// Most records one purge batch removes (one store transaction).
pub const PURGE_BATCH: usize = 4096;

/// How long records are kept and how often the purge runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Records older than this are removed.
    pub retention: Duration,
    /// Time between two purges.
    pub every: Duration,
}

impl From<&crate::config::Audit> for Policy {
    fn from(audit: &crate::config::Audit) -> Self {
        let days = u64::try_from(audit.retention_days.get()).unwrap_or(u64::MAX);
        let every = u64::try_from(audit.purge_every_s.get()).unwrap_or(u64::MAX);
        Policy {
            retention: Duration::from_secs(days.saturating_mul(24 * 3600)),
            every: Duration::from_secs(every),
        }
    }
}

/// What a purge did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Purged {
    /// Records removed.
    pub removed: u64,
    /// The checkpoint it left (`None` when nothing was removed).
    pub checkpoint: Option<Checkpoint>,
    /// The sequence of the purge's own record (`None` when nothing was removed).
    pub seq: Option<u64>,
}

/// Removes the records of `store` written more than `older_than` ago. Refused (nothing
/// removed) when a record to remove does not verify: a broken chain is not purged away.
pub async fn purge(store: &Store, older_than: Duration) -> Result<Purged, StoreError> {
    let older_than = u64::try_from(older_than.as_millis()).unwrap_or(u64::MAX);
    let before = crate::clock::unix_millis().saturating_sub(older_than);
    let mut total = Purged::default();
    loop {
        let round = store.purge_audit(before, PURGE_BATCH).await?;
        total.removed += round.removed;
        if round.removed == 0 {
            return Ok(total);
        }
        total.checkpoint = round.checkpoint;
        total.seq = round.seq;
        if round.removed < u64::try_from(PURGE_BATCH).unwrap_or(u64::MAX) {
            return Ok(total);
        }
    }
}

/// The purge job: purges `store` by `policy` at once and then every `policy.every`, until
/// `closing` turns true.
pub async fn run_purge(store: Store, policy: Policy, mut closing: watch::Receiver<bool>) {
    let mut every = tokio::time::interval(policy.every);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = closing.wait_for(|closing| *closing) => return,
        }
        match purge(&store, policy.retention).await {
            Ok(purged) if purged.removed > 0 => tracing::info!(
                removed = purged.removed,
                up_to_seq = purged.checkpoint.map(|c| c.seq),
                "audit: records past retention purged"
            ),
            Ok(_) => {}
            Err(StoreError::Closed) => return,
            Err(error) => tracing::warn!(%error, "audit: purge failed"),
        }
    }
}
