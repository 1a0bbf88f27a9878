//! Walking the chain: each record must link to the one before (or to the checkpoint) and
//! give its own hash, and the walk must pass through the chain's head. Pure: the records come
//! in as (key, bytes), in key order.

use super::record::{Checkpoint, Head, Record, Tip};
use crate::hex;

/// The result of walking the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Records that verified (before the break, if any).
    pub entries: u64,
    /// Where the walk started (`None`: from the first record ever written).
    pub checkpoint: Option<Checkpoint>,
    /// The last good link.
    pub tip: Tip,
    /// The head the walk had to pass through (`None`: a store from before heads were kept).
    pub head: Option<Head>,
    /// The first broken link, if any.
    pub broken: Option<Broken>,
}

/// The first broken link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    /// The sequence (key) of the record where the chain breaks.
    pub seq: u64,
    /// Why.
    pub why: Break,
    /// The hash expected there.
    pub expected: [u8; 32],
    /// The hash found.
    pub found: [u8; 32],
}

/// How a link is broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Break {
    /// The record's content does not give its hash: it was changed (expected: the hash its
    /// content gives; found: the hash it records).
    Altered,
    /// The record does not link to the one before it: a record was taken out or put in
    /// before it (expected: the previous record's hash; found: its `prev_hash`).
    Unlinked {
        /// The sequence of the record before it on file (or the checkpoint's).
        previous_on_file: Option<u64>,
        /// The sequence it says comes before it.
        recorded_previous: Option<u64>,
    },
    /// The record does not read as a record.
    Unreadable(String),
    /// The record is filed under another sequence than its own.
    Misfiled {
        /// The sequence it records.
        recorded_seq: u64,
    },
    /// The log stops before its head (reported at the head's seq; expected: the head's hash;
    /// found: the hash where the walk ended): records were taken from its end.
    Short {
        /// The last record on file, verified (`None`: no record is left).
        last_on_file: Option<u64>,
    },
    /// The record filed at the head's seq is not the one the head names (expected: the head's
    /// hash; found: the record's): the log was rewritten up to here.
    NotHead,
}

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (expected, found) = (hex::encode(&self.expected), hex::encode(&self.found));
        let seq = self.seq;
        match &self.why {
            Break::Altered => write!(
                f,
                "seq {seq}: record altered: its content hashes to {expected}, it records {found}"
            ),
            Break::Unlinked {
                previous_on_file,
                recorded_previous,
            } => {
                let name = |s: &Option<u64>| s.map_or_else(|| "none".to_owned(), |s| s.to_string());
                write!(
                    f,
                    "seq {seq}: chain broken: expected prev hash {expected} (of seq {}), found \
                     {found} (of seq {}): a record is missing or was added",
                    name(previous_on_file),
                    name(recorded_previous)
                )
            }
            Break::Unreadable(why) => write!(f, "seq {seq}: unreadable record: {why}"),
            Break::Misfiled { recorded_seq } => {
                write!(f, "seq {seq}: record of seq {recorded_seq} filed here")
            }
            Break::Short {
                last_on_file: Some(last),
            } => write!(
                f,
                "seq {seq}: records missing at the end, up to the head (hash {expected}); the \
                 last record on file is seq {last} (hash {found})"
            ),
            Break::Short { last_on_file: None } => write!(
                f,
                "seq {seq}: records missing at the end, up to the head (hash {expected}); no \
                 record is left on file"
            ),
            Break::NotHead => write!(
                f,
                "seq {seq}: not the head's record: the head names hash {expected}, the record \
                 here has {found}: the log was rewritten"
            ),
        }
    }
}

/// The chain walked so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chain {
    tip: Tip,
    entries: u64,
}

impl Chain {
    /// A walk from `checkpoint`, or from the first record ever written.
    pub fn from_checkpoint(checkpoint: Option<&Checkpoint>) -> Chain {
        Chain {
            tip: checkpoint.map_or_else(Tip::default, Checkpoint::tip),
            entries: 0,
        }
    }

    /// Takes the record filed under `key` (stored bytes); the record, or the broken link.
    pub fn step(&mut self, key: u64, bytes: &[u8]) -> Result<Record, Broken> {
        let record = Record::from_bytes(bytes).map_err(|e| Broken {
            seq: key,
            why: Break::Unreadable(e.to_string()),
            expected: self.tip.hash,
            found: [0; 32],
        })?;
        self.take(key, &record)?;
        Ok(record)
    }

    /// Takes `record`, read from under `key`: the chain moves on to it, or the broken link.
    pub fn take(&mut self, key: u64, record: &Record) -> Result<(), Broken> {
        let broken = |why, expected, found| Broken {
            seq: key,
            why,
            expected,
            found,
        };
        if record.seq != key {
            let why = Break::Misfiled {
                recorded_seq: record.seq,
            };
            return Err(broken(why, self.tip.hash, record.prev_hash));
        }
        if record.prev_hash != self.tip.hash {
            let why = Break::Unlinked {
                previous_on_file: self.tip.seq,
                recorded_previous: record.prev_seq,
            };
            return Err(broken(why, self.tip.hash, record.prev_hash));
        }
        let computed = record.computed_hash();
        if computed != record.hash {
            return Err(broken(Break::Altered, computed, record.hash));
        }
        self.tip = record.tip();
        self.entries += 1;
        Ok(())
    }

    /// The last good link.
    pub fn tip(&self) -> Tip {
        self.tip
    }

    /// Records taken so far.
    pub fn entries(&self) -> u64 {
        self.entries
    }
}

/// Walks `records` (key, bytes; in key order) from `checkpoint` up to the first broken link.
/// When there is a `head` (stores written before heads were kept have none), the walk must
/// pass through it; records after it are commits made since the head was read.
pub fn verify<E>(
    checkpoint: Option<&Checkpoint>,
    head: Option<&Head>,
    records: impl IntoIterator<Item = Result<(u64, Vec<u8>), E>>,
) -> Result<Verified, E> {
    let mut chain = Chain::from_checkpoint(checkpoint);
    let mut broken = None;
    for record in records {
        let (key, bytes) = record?;
        broken = match chain.step(key, &bytes) {
            Err(b) => Some(b),
            Ok(record) => head.and_then(|head| not_head(head, &record)),
        };
        if broken.is_some() {
            break;
        }
    }
    let end = chain.tip();
    if let Some(head) = head.filter(|head| broken.is_none() && end.seq < Some(head.seq)) {
        let last_on_file = end.seq.filter(|_| chain.entries() > 0);
        broken = Some(Broken {
            seq: head.seq,
            why: Break::Short { last_on_file },
            expected: head.hash,
            found: end.hash,
        });
    }
    Ok(Verified {
        entries: chain.entries(),
        checkpoint: checkpoint.copied(),
        tip: chain.tip(),
        head: head.copied(),
        broken,
    })
}

/// The break when `record` is filed at the head's seq but is not the head's record.
fn not_head(head: &Head, record: &Record) -> Option<Broken> {
    (record.seq == head.seq && record.hash != head.hash).then_some(Broken {
        seq: head.seq,
        why: Break::NotHead,
        expected: head.hash,
        found: record.hash,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Facts;

    fn log(seqs: &[u64]) -> Vec<Record> {
        let mut tip = Tip::default();
        seqs.iter()
            .map(|&seq| {
                let record = Record::chain(
                    &tip,
                    seq,
                    seq * 10,
                    Facts::of_event(b"e".to_vec(), "E", "k"),
                );
                tip = record.tip();
                record
            })
            .collect()
    }

    fn walk(checkpoint: Option<&Checkpoint>, records: &[Record]) -> Verified {
        let rows = records.iter().map(|r| Ok::<_, ()>((r.seq, r.to_bytes())));
        verify(checkpoint, None, rows).unwrap()
    }

    #[test]
    fn each_kind_of_break_is_found_at_its_record() {
        let good = log(&[1, 2, 5, 9]);
        let ok = walk(None, &good);
        assert_eq!((ok.entries, ok.broken, ok.tip), (4, None, good[3].tip()));

        let mut altered = good.clone();
        altered[2].facts.note = "forged".into();
        let broken = walk(None, &altered).broken.unwrap();
        assert_eq!((broken.seq, broken.why), (5, Break::Altered));

        let mut missing = good.clone();
        missing.remove(1);
        let broken = walk(None, &missing).broken.unwrap();
        assert_eq!(broken.seq, 5);
        assert_eq!(
            broken.why,
            Break::Unlinked {
                previous_on_file: Some(1),
                recorded_previous: Some(2)
            }
        );
        assert_eq!(
            (broken.expected, broken.found),
            (good[0].hash, good[1].hash)
        );
        assert!(broken.to_string().contains("seq 5: chain broken"));

        let mut first_gone = good.clone();
        first_gone.remove(0);
        assert_eq!(walk(None, &first_gone).broken.unwrap().seq, 2);

        let checkpoint = Checkpoint {
            seq: 1,
            hash: good[0].hash,
            purged: 1,
            at_unix_ms: 0,
        };
        let after = walk(Some(&checkpoint), &first_gone);
        assert_eq!((after.entries, after.broken), (3, None));
    }

    #[test]
    fn a_log_must_end_at_its_head() {
        let good = log(&[1, 2, 5, 9]);
        let rows = |records: &[Record]| {
            records
                .iter()
                .map(|r| Ok::<_, ()>((r.seq, r.to_bytes())))
                .collect::<Vec<_>>()
        };
        let head = Head::of(&good[3].tip()).unwrap();
        let whole = verify(None, Some(&head), rows(&good)).unwrap();
        assert_eq!((whole.entries, whole.broken), (4, None));

        let cut = verify(None, Some(&head), rows(&good[..3])).unwrap();
        let broken = cut.broken.unwrap();
        assert_eq!(cut.entries, 3);
        let short = Break::Short {
            last_on_file: Some(5),
        };
        assert_eq!((broken.seq, broken.why.clone()), (9, short));
        assert_eq!(
            (broken.expected, broken.found),
            (good[3].hash, good[2].hash)
        );
        assert!(broken
            .to_string()
            .contains("seq 9: records missing at the end"));

        let emptied = verify(None, Some(&head), rows(&[]))
            .unwrap()
            .broken
            .unwrap();
        assert_eq!(emptied.why, Break::Short { last_on_file: None });
        assert!(emptied.to_string().contains("no record is left on file"));

        // Records after the head were committed since it was read: not a break.
        let earlier = Head::of(&good[2].tip()).unwrap();
        let later = verify(None, Some(&earlier), rows(&good)).unwrap();
        assert_eq!((later.entries, later.broken), (4, None));

        // A log rewritten up to the head's seq: its record there is not the head's.
        let mut rewritten = good.clone();
        rewritten[3] = Record::chain(&good[2].tip(), 9, 1, Facts::default());
        let broken = verify(None, Some(&head), rows(&rewritten))
            .unwrap()
            .broken
            .unwrap();
        assert_eq!((broken.seq, broken.why), (9, Break::NotHead));

        // A break inside the log is reported where it is, not at the head.
        let mut missing = good.clone();
        missing.remove(1);
        let inner = verify(None, Some(&head), rows(&missing))
            .unwrap()
            .broken
            .unwrap();
        assert_eq!(inner.seq, 5);
    }

    #[test]
    fn unreadable_and_misfiled_records_break_the_chain() {
        let rows = vec![Ok::<_, ()>((1, b"not json".to_vec()))];
        let broken = verify(None, None, rows).unwrap().broken.unwrap();
        assert!(matches!(broken.why, Break::Unreadable(_)));
        let record = &log(&[3])[0];
        let rows = vec![Ok::<_, ()>((4, record.to_bytes()))];
        let broken = verify(None, None, rows).unwrap().broken.unwrap();
        assert_eq!(broken.why, Break::Misfiled { recorded_seq: 3 });
    }
}
