//! The simulator's one piece of state: which messages were taken and what was decided, kept
//! in memory and mirrored line by line in the ledger file. A take checks for a duplicate,
//! decides and writes its line under one lock with no `.await`, so two deliveries of one
//! message cannot both be effective and a cancelled handler cannot leave half a take.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use crate::domain::Agency;

use super::decide::{self, Decision, Receipt, Subject};
use super::ledger::{DeliveryLine, LedgerError, LedgerFile, LedgerLine, ReportedLine};

/// What a take did.
#[derive(Debug)]
pub(crate) enum Taking {
    /// First delivery of the message: decided; these receipts are to be reported.
    First(Vec<Receipt>),
    /// Taken before: the receipts already due, to be reported again.
    Duplicate(Vec<Receipt>),
}

/// A delivery, as far as the book is concerned.
#[derive(Debug)]
pub(crate) struct Take<'a> {
    /// What the decision is about.
    pub subject: Subject<'a>,
    /// The shipment's platform code.
    pub ebp_code: &'a str,
    /// The gateway's attempt number.
    pub attempt: u32,
    /// Now, wall clock.
    pub now_unix_ms: u64,
}

/// Taken messages and the ledger.
#[derive(Debug)]
pub(crate) struct Book {
    inner: Mutex<Inner>,
    hold_ms: u64,
}

#[derive(Debug)]
struct Inner {
    taken: HashMap<String, Taken>,
    file: Option<LedgerFile>,
}

#[derive(Debug, Clone, Copy)]
struct Taken {
    agency: Agency,
    decision: Decision,
    at_unix_ms: u64,
}

impl Book {
    /// Opens the book on the ledger at `path` (in memory only without one). Returns it with
    /// the receipts decided in an earlier run that the gateway never took, per message, in
    /// order; a release after a hold waits for a new hold.
    pub(crate) fn open(
        path: Option<&Path>,
        hold_ms: u64,
    ) -> Result<(Book, Vec<Vec<Receipt>>), LedgerError> {
        let (file, lines) = match path {
            Some(path) => {
                let (file, lines) = LedgerFile::open(path)?;
                (Some(file), lines)
            }
            None => (None, Vec::new()),
        };
        let (taken, pending) = replay(&lines, hold_ms);
        let book = Book {
            inner: Mutex::new(Inner { taken, file }),
            hold_ms,
        };
        Ok((book, pending))
    }

    /// Takes one delivery: records it, deciding with `decide` if it is the first.
    pub(crate) fn take(
        &self,
        take: &Take<'_>,
        decide: impl FnOnce() -> Decision,
    ) -> Result<Taking, LedgerError> {
        let subject = &take.subject;
        let id = subject.message_id;
        let mut inner = self.lock();
        if let Some(earlier) = inner.taken.get(id).copied() {
            inner.append(&delivery_line(take, None))?;
            let mut due = decide::receipts(
                id,
                earlier.agency,
                earlier.decision,
                earlier.at_unix_ms,
                self.hold_ms,
            );
            due.retain(|r| r.at_unix_ms <= take.now_unix_ms);
            due.iter_mut().for_each(|r| r.delay_ms = 0);
            return Ok(Taking::Duplicate(due));
        }
        let decision = decide();
        inner.append(&delivery_line(take, Some(decision)))?;
        let taken = Taken {
            agency: subject.agency,
            decision,
            at_unix_ms: take.now_unix_ms,
        };
        inner.taken.insert(id.to_owned(), taken);
        let receipts =
            decide::receipts(id, subject.agency, decision, take.now_unix_ms, self.hold_ms);
        Ok(Taking::First(receipts))
    }

    /// Notes that the gateway took `receipt`.
    pub(crate) fn reported(&self, receipt: &Receipt) -> Result<(), LedgerError> {
        self.lock().append(&LedgerLine::Reported(ReportedLine {
            reported: receipt.receipt_id.clone(),
            message_id: receipt.message_id.clone(),
            status: receipt.return_status,
        }))
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Nothing panics while holding the lock; a poisoned one still holds consistent data.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Inner {
    fn append(&mut self, line: &LedgerLine) -> Result<(), LedgerError> {
        match &mut self.file {
            Some(file) => file.append(line),
            None => Ok(()),
        }
    }
}

fn delivery_line(take: &Take<'_>, decision: Option<Decision>) -> LedgerLine {
    let subject = &take.subject;
    LedgerLine::Delivery(DeliveryLine {
        message_id: subject.message_id.to_owned(),
        agency: subject.agency.name().to_owned(),
        kind: subject.kind.to_owned(),
        ebp_code: take.ebp_code.to_owned(),
        order_no: subject.order_no.to_owned(),
        attempt: take.attempt,
        duplicate: decision.is_none(),
        decision,
        at_unix_ms: take.now_unix_ms,
    })
}

/// The taken messages of a ledger and the receipts still to report.
fn replay(lines: &[LedgerLine], hold_ms: u64) -> (HashMap<String, Taken>, Vec<Vec<Receipt>>) {
    let mut taken = HashMap::new();
    let mut order = Vec::new();
    let mut reported = HashSet::new();
    for line in lines {
        match line {
            LedgerLine::Reported(r) => {
                reported.insert(r.reported.as_str());
            }
            LedgerLine::Delivery(d) => {
                let (Some(decision), Some(agency)) = (d.decision, Agency::named(&d.agency)) else {
                    continue;
                };
                if taken.contains_key(&d.message_id) {
                    continue;
                }
                let first = Taken {
                    agency,
                    decision,
                    at_unix_ms: d.at_unix_ms,
                };
                taken.insert(d.message_id.clone(), first);
                order.push(d.message_id.as_str());
            }
        }
    }
    let pending = order
        .into_iter()
        .filter_map(|id| {
            let t = taken.get(id)?;
            let mut left = decide::receipts(id, t.agency, t.decision, t.at_unix_ms, hold_ms);
            left.retain(|r| !reported.contains(r.receipt_id.as_str()));
            (!left.is_empty()).then_some(left)
        })
        .collect();
    (taken, pending)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take(id: &str, now: u64) -> Take<'_> {
        Take {
            subject: Subject {
                message_id: id,
                agency: Agency::Customs,
                kind: "inventory",
                order_no: "SO-1",
                credit: "",
            },
            ebp_code: "E1",
            attempt: 1,
            now_unix_ms: now,
        }
    }

    fn ids(receipts: &[Receipt]) -> Vec<&str> {
        receipts.iter().map(|r| r.receipt_id.as_str()).collect()
    }

    #[test]
    fn a_duplicate_is_not_decided_again_and_gets_the_due_receipts() {
        let (book, pending) = Book::open(None, 200).unwrap();
        assert!(pending.is_empty());
        let Taking::First(first) = book.take(&take("m", 1_000), || Decision::Inspect).unwrap()
        else {
            panic!("first take is not first");
        };
        assert_eq!(ids(&first), ["m#1", "m#2", "m#3"]);
        let again = book
            .take(&take("m", 1_100), || panic!("decided twice"))
            .unwrap();
        let Taking::Duplicate(due) = again else {
            panic!("second take is not a duplicate");
        };
        assert_eq!(ids(&due), ["m#1", "m#2"]);
        let Taking::Duplicate(due) = book.take(&take("m", 1_200), || Decision::Reject).unwrap()
        else {
            panic!("third take is not a duplicate");
        };
        assert_eq!(ids(&due), ["m#1", "m#2", "m#3"]);
        assert!(due.iter().all(|r| r.delay_ms == 0));
    }

    #[test]
    fn a_reopened_ledger_remembers_takes_and_unreported_receipts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.jsonl");
        {
            let (book, _) = Book::open(Some(&path), 200).unwrap();
            let Taking::First(receipts) =
                book.take(&take("m", 1_000), || Decision::Inspect).unwrap()
            else {
                panic!("not first");
            };
            book.reported(&receipts[0]).unwrap();
            book.take(&take("n", 1_000), || Decision::Cancel).unwrap();
        }
        let (book, pending) = Book::open(Some(&path), 200).unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(ids(&pending[0]), ["m#2", "m#3"]);
        assert_eq!(pending[0][1].delay_ms, 200);
        let again = book.take(&take("n", 2_000), || Decision::Release).unwrap();
        assert!(matches!(again, Taking::Duplicate(ref r) if r.is_empty()));
    }
}
