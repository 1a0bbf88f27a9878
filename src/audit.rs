//! The audit log: one record per store event, hash-chained and append-only.
//!
//! Each record (JSON, in the store's `audit` tree under its commit sequence) carries the time,
//! the call's facts ([`Facts`]: the caller's entry as `note`, sender, message id, outcome,
//! and fields for the gRPC-level facts), the hash of the record before it and its own hash,
//! SHA-256(prev_hash ‖ seq ‖ time ‖ facts as JSON). The store's writer chains the records
//! in commit order; a change to a record, or a record taken out, breaks the chain at the
//! next link, which [`verify`] reports. The chain's [`Head`] is kept beside it, written in the
//! same transaction as the records it ends, so records taken from the end are found too (the
//! head and the records removed together are not: that needs an anchor outside the store).
//! Retention: [`purge`] removes the oldest records and
//! leaves a [`Checkpoint`] (the last removed record's seq and hash) from which what remains
//! still verifies; the purge is itself an audit record. Records, hashing and verification are
//! pure; the store writes and reads them.

mod purge;
mod record;
mod verify;

pub use purge::{purge, run_purge, Policy, Purged, PURGE_BATCH};
pub use record::{Checkpoint, Facts, Head, Record, Tip, GENESIS};
pub use verify::{verify, Break, Broken, Chain, Verified};

use crate::store::{Store, StoreError};

/// Verifies the audit log of `store` from its checkpoint (or from the first record) to its
/// head.
pub fn verify_store(store: &Store) -> Result<Verified, StoreError> {
    let checkpoint = store.audit_checkpoint()?;
    let head = store.audit_head()?;
    verify(checkpoint.as_ref(), head.as_ref(), store.audit_entries())
}
