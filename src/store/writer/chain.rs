//! The audit chain on the writer: its state as on file (tip, head and last checkpoint),
//! chaining an event's or a call's record into a group, the group's new head, and purges
//! (records removed, a checkpoint and the purge's own record left), all staged in the group
//! like any other write.

use super::{Group, Writer};
use crate::audit::{Chain, Checkpoint, Facts, Head, Purged, Record, Tip};
use crate::store::keys::audit_seq;
use crate::store::trees::{Slot, Trees};
use crate::store::StoreError;

/// Key of the audit checkpoint in the `audit_meta` tree.
const CHECKPOINT_KEY: &[u8] = b"checkpoint";
/// Key of the audit chain's head in the `audit_meta` tree.
const HEAD_KEY: &[u8] = b"head";

/// The audit chain's state: its tip and the last purge's checkpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(in crate::store) struct AuditState {
    tip: Tip,
    checkpoint: Option<Checkpoint>,
}

impl AuditState {
    /// As on file: the head (so that the next record links to the chain's true end even if
    /// records were taken from it); in a store written before heads were kept, the last
    /// record's link (the checkpoint's when none is left; the genesis when there was never
    /// one). A last record that does not read (written before records were chained) gives a
    /// chain that starts again from the genesis hash.
    pub fn load(trees: &Trees) -> Result<AuditState, StoreError> {
        let checkpoint = load_checkpoint(trees)?;
        let tip = match (load_head(trees)?, trees.audit.last()?) {
            (Some(head), _) => head.tip(),
            (None, Some((_, bytes))) => {
                Record::from_bytes(&bytes).map_or_else(|_| Tip::default(), |r| r.tip())
            }
            (None, None) => checkpoint.map_or_else(Tip::default, |c| c.tip()),
        };
        Ok(AuditState { tip, checkpoint })
    }
}

impl Writer {
    /// Removes, in `group`, up to `limit` audit records written before `before_unix_ms`
    /// (oldest first, from the checkpoint on), checking each one's link; leaves the new
    /// checkpoint and the purge's own record. Removes nothing when a record to remove does
    /// not verify.
    pub(super) fn purge_audit(
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
            let seq = audit_seq(&key)?;
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
}

/// The last purge's checkpoint as on file (`None`: never purged).
pub(in crate::store) fn load_checkpoint(trees: &Trees) -> Result<Option<Checkpoint>, StoreError> {
    load_meta(
        trees,
        CHECKPOINT_KEY,
        "audit checkpoint",
        Checkpoint::from_bytes,
    )
}

/// The chain's head as on file (`None` in a store written before heads were kept).
pub(in crate::store) fn load_head(trees: &Trees) -> Result<Option<Head>, StoreError> {
    load_meta(trees, HEAD_KEY, "audit head", Head::from_bytes)
}

/// The `audit_meta` entry `key`, read with `parse`; one that does not read is corrupt.
fn load_meta<T>(
    trees: &Trees,
    key: &[u8],
    what: &str,
    parse: fn(&[u8]) -> Result<T, serde_json::Error>,
) -> Result<Option<T>, StoreError> {
    let Some(bytes) = trees.audit_meta.get(key)? else {
        return Ok(None);
    };
    parse(&bytes)
        .map(Some)
        .map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

/// Keeps the group's new end of the chain as the head, in the group's own transaction, when
/// the group put records on the chain (`before`: the chain before the group).
pub(super) fn put_head(group: &mut Group, before: AuditState) {
    if group.audit.tip == before.tip {
        return;
    }
    if let Some(head) = Head::of(&group.audit.tip) {
        group.put(Slot::AuditMeta, HEAD_KEY.to_vec(), Some(head.to_bytes()));
    }
}

/// Chains a record of `facts` under `seq` onto the group's audit chain.
pub(super) fn put_audit(group: &mut Group, seq: u64, facts: Facts) {
    let record = Record::chain(&group.audit.tip, seq, crate::clock::unix_millis(), facts);
    group.audit.tip = record.tip();
    group.put(
        Slot::Audit,
        seq.to_be_bytes().to_vec(),
        Some(record.to_bytes()),
    );
}
