//! Payloads in chunks under their SHA-256 (`hash ‖ chunk index`, big-endian), so that large
//! values never sit in index pages: split for an event's puts, joined again on read.

use sha2::{Digest, Sha256};

use super::{Put, Store, StoreError, Tree};

impl Store {
    /// Splits `payload` into chunk puts under its SHA-256 (returned), for
    /// [`Accepted::puts`](super::Accepted::puts).
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
}
