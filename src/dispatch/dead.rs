//! The dead letters: deliveries given up on (after the last attempt, or refused for good) and
//! receipts for messages the gateway never routed (orphans), each with why and every
//! attempt's error; listed, inspected and replayed by operators.

use serde::{Deserialize, Serialize};

use crate::store::{Accepted, Store, StoreError, Tree, Writes};

/// One dead letter as stored (`Tree::DeadLetters`, keyed by its id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// Its id: the message id (a delivery) or `orphan:` + receipt id.
    pub id: String,
    /// The agency.
    pub agency: String,
    /// `delivery` or `orphan-receipt`.
    pub kind: String,
    /// The message it is about.
    pub message_id: String,
    /// Shipment `ebpCode` ("" when unknown).
    pub ebp: String,
    /// Shipment `orderNo` ("" when unknown).
    pub order_no: String,
    /// Why it is here.
    pub reason: String,
    /// Every attempt, oldest first.
    pub attempts: Vec<Attempt>,
    /// When it was put here (Unix milliseconds).
    pub at: u64,
    /// The delivery (encoded `v1::Delivery`) or the receipt (encoded `v1::AgencyReceipt`),
    /// hex.
    pub body: String,
}

/// One delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// 1, 2, …
    pub number: u32,
    /// Unix milliseconds.
    pub at: u64,
    /// What went wrong.
    pub error: String,
}

/// A delivery dead letter.
pub const DELIVERY: &str = "delivery";
/// An orphan receipt dead letter.
pub const ORPHAN: &str = "orphan-receipt";

impl DeadLetter {
    /// JSON.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// From JSON.
    pub fn from_bytes(bytes: &[u8]) -> Result<DeadLetter, StoreError> {
        serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(format!("dead letter: {e}")))
    }

    /// The body's bytes.
    pub fn body_bytes(&self) -> Vec<u8> {
        crate::hex::decode(&self.body).unwrap_or_default()
    }
}

/// Moves outbox row `row_key` to the dead letters (one atomic write).
pub async fn bury(
    store: &Store,
    row_key: Option<Vec<u8>>,
    letter: DeadLetter,
) -> Result<(), StoreError> {
    let audit = format!(
        "dead letter {} ({}): {}",
        letter.id, letter.kind, letter.reason
    );
    let writes = Writes {
        puts: vec![(
            Tree::DeadLetters,
            letter.id.clone().into_bytes(),
            letter.to_bytes(),
        )],
        outbox_removes: row_key.into_iter().collect(),
        ..Writes::default()
    };
    store
        .commit(Accepted::bookkeeping("gateway:dispatch", audit, writes))
        .await
        .map(|_| ())
}

/// One page of dead letters (of `agency` when not empty), after id `after`, with the token of
/// the next page (empty when no further letter matches).
pub fn list(
    store: &Store,
    agency: &str,
    after: &[u8],
    limit: usize,
) -> Result<(Vec<DeadLetter>, Vec<u8>), StoreError> {
    let mut letters: Vec<(Vec<u8>, DeadLetter)> = Vec::new();
    let mut cursor = after.to_vec();
    // One more than a page: whether a next page exists is known from a match, not a guess.
    while letters.len() <= limit {
        let page = store.page(Tree::DeadLetters, b"", &cursor, 256)?;
        let last_page = page.len() < 256;
        for (key, value) in page {
            cursor.clone_from(&key);
            let letter = DeadLetter::from_bytes(&value)?;
            if (agency.is_empty() || letter.agency == agency) && letters.len() <= limit {
                letters.push((key, letter));
            }
        }
        if last_page {
            break;
        }
    }
    let next = if letters.len() > limit {
        letters.truncate(limit);
        letters
            .last()
            .map(|(key, _)| key.clone())
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    Ok((letters.into_iter().map(|(_, l)| l).collect(), next))
}

/// The dead letter `id`.
pub fn get(store: &Store, id: &str) -> Result<Option<DeadLetter>, StoreError> {
    store
        .get(Tree::DeadLetters, id.as_bytes())?
        .map(|b| DeadLetter::from_bytes(&b))
        .transpose()
}

/// Puts a dead delivery back in its agency's outbox (same message id) and removes it from
/// the dead letters, in one write.
pub async fn replay_delivery(store: &Store, letter: &DeadLetter) -> Result<(), StoreError> {
    let writes = Writes {
        removes: vec![(Tree::DeadLetters, letter.id.clone().into_bytes())],
        outbox: vec![(letter.agency.clone(), letter.body_bytes())],
        ..Writes::default()
    };
    let audit = format!("dead letter {} replayed", letter.id);
    store
        .commit(Accepted::bookkeeping("gateway:admin", audit, writes))
        .await
        .map(|_| ())
}

/// Removes dead letter `id`.
pub async fn remove(store: &Store, id: &str, why: &str) -> Result<(), StoreError> {
    let writes = Writes {
        removes: vec![(Tree::DeadLetters, id.as_bytes().to_vec())],
        ..Writes::default()
    };
    let audit = format!("dead letter {id} removed: {why}");
    store
        .commit(Accepted::bookkeeping("gateway:admin", audit, writes))
        .await
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter(id: &str, agency: &str) -> DeadLetter {
        DeadLetter {
            id: id.to_owned(),
            agency: agency.to_owned(),
            kind: DELIVERY.to_owned(),
            message_id: id.to_owned(),
            ebp: String::new(),
            order_no: String::new(),
            reason: "test".to_owned(),
            attempts: Vec::new(),
            at: 0,
            body: String::new(),
        }
    }

    #[test]
    fn pages_of_one_agency_end_with_its_last_letter() {
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let store = Store::open(dir.path(), crate::store::StoreConfig::default()).unwrap();
        for (id, agency) in [
            ("a", "customs"),
            ("b", "tax"),
            ("c", "customs"),
            ("d", "tax"),
            ("e", "customs"),
            ("f", "tax"),
        ] {
            rt.block_on(bury(&store, None, letter(id, agency))).unwrap();
        }
        let mut seen = Vec::new();
        let mut token = Vec::new();
        loop {
            let (page, next) = list(&store, "customs", &token, 1).unwrap();
            seen.extend(page.into_iter().map(|l| l.id));
            if next.is_empty() {
                break;
            }
            token = next;
        }
        assert_eq!(seen, ["a", "c", "e"]);
        let (all, next) = list(&store, "", &[], 10).unwrap();
        assert_eq!((all.len(), next.len()), (6, 0));
        store.close().unwrap();
    }
}
