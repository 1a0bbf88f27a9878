//! The layout of the store's own keys and records, shared by the writer and the readers:
//! outbox rows (`queue \0 sequence`), idempotency records (`sender \0 key` → content hash ‖
//! reply) and audit records (their sequence, big-endian).

use super::StoreError;

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

/// The sequence an audit record is filed under (its key, big-endian).
pub(super) fn audit_seq(key: &[u8]) -> Result<u64, StoreError> {
    <[u8; 8]>::try_from(key)
        .map(u64::from_be_bytes)
        .map_err(|_| StoreError::Corrupt("audit record key is not a sequence".into()))
}
