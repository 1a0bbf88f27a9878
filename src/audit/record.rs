//! An audit record and how it is chained (pure).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::hex::serde32;

/// The hash the first record of a log chains from.
pub const GENESIS: [u8; 32] = [0; 32];

/// What an audit record says about the call or event: the caller's entry and the facts known
/// when it was written. Fields that are unknown are left out of the JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Facts {
    /// The caller's entry, free text (a store event's `Accepted.audit`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub note: String,
    /// The sender: an enterprise code, or `gateway:<part>` for the gateway's own bookkeeping.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enterprise: Option<String>,
    /// The message id (the idempotency key: a CEB block's guid, a typed declaration's key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// What came of it: `accepted`, `purged`, …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// The caller's IP address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<String>,
    /// The caller's port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_port: Option<u16>,
    /// SHA-256 of the caller's TLS certificate, hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_fingerprint: Option<String>,
    /// The caller's `user-agent`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// The call (`Submit`, `GetShipment`, …), for a call's record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Who the caller is: `enterprise <code>`, `agency <name>`, `operator <name>`, `local`,
    /// `anonymous`, or `certificate <fingerprint>` for one the register refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caller: Option<String>,
}

impl Facts {
    /// The facts of a store event: `entry` (free text, kept as the note), with the sender, the
    /// message id and, for a keyed event, the outcome `accepted`.
    pub fn of_event(entry: Vec<u8>, sender: &str, key: &str) -> Facts {
        let note = String::from_utf8(entry)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        let given = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        Facts {
            note,
            enterprise: given(sender),
            message_id: given(key),
            outcome: (!key.is_empty()).then(|| "accepted".to_owned()),
            ..Facts::default()
        }
    }
}

/// One record of the audit log, as stored (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// Commit sequence (also the record's key).
    pub seq: u64,
    /// When it was written, Unix ms.
    pub at_unix_ms: u64,
    /// The sequence of the record before it (for the report of a missing one; not hashed:
    /// `prev_hash` is the link).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev_seq: Option<u64>,
    /// The hash of the record before it ([`GENESIS`] for the first).
    #[serde(with = "serde32")]
    pub prev_hash: [u8; 32],
    /// SHA-256(prev_hash ‖ seq ‖ at_unix_ms ‖ facts as JSON), integers big-endian.
    #[serde(with = "serde32")]
    pub hash: [u8; 32],
    /// The call's facts.
    pub facts: Facts,
}

impl Record {
    /// The record that follows `tip`.
    pub fn chain(tip: &Tip, seq: u64, at_unix_ms: u64, facts: Facts) -> Record {
        let hash = link_hash(&tip.hash, seq, at_unix_ms, &facts);
        Record {
            seq,
            at_unix_ms,
            prev_seq: tip.seq,
            prev_hash: tip.hash,
            hash,
            facts,
        }
    }

    /// The hash its content gives (equal to `hash` unless it was changed).
    pub fn computed_hash(&self) -> [u8; 32] {
        link_hash(&self.prev_hash, self.seq, self.at_unix_ms, &self.facts)
    }

    /// The chain's tip once this record is on it.
    pub fn tip(&self) -> Tip {
        Tip {
            seq: Some(self.seq),
            hash: self.hash,
        }
    }

    /// As stored.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// From the stored bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Record, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

/// The end of the chain: where the next record links.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tip {
    /// The last record's sequence (`None` before the first).
    pub seq: Option<u64>,
    /// Its hash.
    pub hash: [u8; 32],
}

impl Default for Tip {
    fn default() -> Self {
        Tip {
            seq: None,
            hash: GENESIS,
        }
    }
}

/// The end of the chain as the writer last left it, kept beside the records and written in
/// the same transaction as the records it ends: a record taken from the end of the log leaves
/// the head naming it, and the writer links the next record to the head, not to what is left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Head {
    /// The last record's sequence.
    pub seq: u64,
    /// Its hash.
    #[serde(with = "serde32")]
    pub hash: [u8; 32],
}

impl Head {
    /// The head at `tip` (`None` before the first record).
    pub fn of(tip: &Tip) -> Option<Head> {
        tip.seq.map(|seq| Head {
            seq,
            hash: tip.hash,
        })
    }

    /// The tip it names.
    pub fn tip(&self) -> Tip {
        Tip {
            seq: Some(self.seq),
            hash: self.hash,
        }
    }

    /// As stored.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// From the stored bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Head, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

/// Where verification starts once records were purged: the last purged record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// The last purged record's sequence.
    pub seq: u64,
    /// Its hash: the first remaining record's `prev_hash`.
    #[serde(with = "serde32")]
    pub hash: [u8; 32],
    /// Records purged so far, in all.
    pub purged: u64,
    /// When the last purge ran, Unix ms.
    pub at_unix_ms: u64,
}

impl Checkpoint {
    /// The tip verification starts from.
    pub fn tip(&self) -> Tip {
        Tip {
            seq: Some(self.seq),
            hash: self.hash,
        }
    }

    /// As stored.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// From the stored bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Checkpoint, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

fn link_hash(prev: &[u8; 32], seq: u64, at_unix_ms: u64, facts: &Facts) -> [u8; 32] {
    let body = serde_json::to_vec(facts).unwrap_or_default();
    let mut hasher = Sha256::new();
    hasher.update(prev);
    hasher.update(seq.to_be_bytes());
    hasher.update(at_unix_ms.to_be_bytes());
    hasher.update(&body);
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_of_an_event_keep_its_entry_as_the_note() {
        let cases: [(&[u8], &str, &str, Facts); 4] = [
            (
                b"20240101 E1 CEB311 g1 accepted",
                "E1",
                "g1",
                Facts {
                    note: "20240101 E1 CEB311 g1 accepted".into(),
                    enterprise: Some("E1".into()),
                    message_id: Some("g1".into()),
                    outcome: Some("accepted".into()),
                    ..Facts::default()
                },
            ),
            (
                b"customs: 3 deliveries taken",
                "gateway:dispatch",
                "",
                Facts {
                    note: "customs: 3 deliveries taken".into(),
                    enterprise: Some("gateway:dispatch".into()),
                    ..Facts::default()
                },
            ),
            (
                br#"{"note":"n","outcome":"x"}"#,
                "E2",
                "k",
                Facts {
                    note: r#"{"note":"n","outcome":"x"}"#.into(),
                    enterprise: Some("E2".into()),
                    message_id: Some("k".into()),
                    outcome: Some("accepted".into()),
                    ..Facts::default()
                },
            ),
            (
                b"bad \xff byte",
                "",
                "",
                Facts {
                    note: "bad \u{fffd} byte".into(),
                    ..Facts::default()
                },
            ),
        ];
        for (entry, sender, key, want) in cases {
            assert_eq!(Facts::of_event(entry.to_vec(), sender, key), want);
        }
    }

    #[test]
    fn records_chain_and_round_trip() {
        let first = Record::chain(&Tip::default(), 7, 1_000, Facts::default());
        assert_eq!(first.prev_hash, GENESIS);
        assert_eq!(first.prev_seq, None);
        let second = Record::chain(
            &first.tip(),
            9,
            1_001,
            Facts::of_event(b"x".to_vec(), "E", "k"),
        );
        assert_eq!(second.prev_hash, first.hash);
        assert_eq!(second.prev_seq, Some(7));
        let read = Record::from_bytes(&second.to_bytes()).unwrap();
        assert_eq!(read, second);
        assert_eq!(read.computed_hash(), read.hash);
        let mut changed = read.clone();
        changed.facts.note = "y".into();
        assert_ne!(changed.computed_hash(), changed.hash);
    }
}
