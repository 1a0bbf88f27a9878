//! The ledger file: one JSON object per line, appended for every delivery taken and for every
//! receipt the gateway took. It is the simulator's memory across restarts (which messages were
//! taken, what was decided, what is still to report) and the tests' record of what the agency
//! saw. Each line is written with one `write` on a file opened for appending, before the
//! delivery is answered; a line torn by a crash was never acknowledged and is cut off at the
//! next start.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::decide::Decision;

/// One line of the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LedgerLine {
    /// The gateway took a receipt (any OK reply).
    Reported(ReportedLine),
    /// A delivery was taken (answered OK).
    Delivery(DeliveryLine),
}

/// A delivery taken: `{"message_id","agency","kind","ebp_code","order_no","attempt",
/// "duplicate","decision","at_unix_ms"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryLine {
    /// The delivery's stable id.
    pub message_id: String,
    /// customs, inspection, fx, tax.
    pub agency: String,
    /// inventory, cancel, inspection, tax, fx.
    pub kind: String,
    /// The shipment's platform code.
    pub ebp_code: String,
    /// The shipment's order number.
    pub order_no: String,
    /// The gateway's attempt number.
    pub attempt: u32,
    /// The message was taken before (in this run or an earlier one): no new effect.
    pub duplicate: bool,
    /// The decision, on the first (effective) delivery only; `null` on a duplicate.
    pub decision: Option<Decision>,
    /// When it was taken (and decided).
    pub at_unix_ms: u64,
}

/// A receipt the gateway took: `{"reported","message_id","status"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportedLine {
    /// The receipt id (`{message_id}#{seq}`).
    pub reported: String,
    /// The message it decides on.
    pub message_id: String,
    /// Its CEB `returnStatus`.
    pub status: i32,
}

/// Counts over a ledger, for tests of the at-least-once delivery.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LedgerSummary {
    /// Delivery lines (every delivery answered OK, duplicates included).
    pub taken: usize,
    /// Distinct message ids taken.
    pub messages: usize,
    /// Delivery lines marked duplicate (raw redeliveries).
    pub duplicates: usize,
    /// Non-duplicate lines beyond the first of their message: a second effect. Must be 0.
    pub effective_duplicates: usize,
    /// Receipt lines (a receipt reported again after a duplicate counts again).
    pub reported: usize,
}

/// Why the ledger cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The file cannot be read or written.
    #[error("ledger {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// A complete line is not a ledger line.
    #[error("ledger {path} line {line}: {source}")]
    Line {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What serde said.
        source: serde_json::Error,
    },
}

/// Reads every complete line of the ledger at `path` (a torn last line without its newline is
/// left out: it was never acknowledged).
pub fn read_ledger(path: &Path) -> Result<Vec<LedgerLine>, LedgerError> {
    let text = std::fs::read(path).map_err(|source| io_error(path, source))?;
    parse_lines(&text, path)
}

/// Counts `lines`.
pub fn summarize(lines: &[LedgerLine]) -> LedgerSummary {
    let mut summary = LedgerSummary::default();
    let mut first: HashMap<&str, usize> = HashMap::new();
    for line in lines {
        match line {
            LedgerLine::Reported(_) => summary.reported += 1,
            LedgerLine::Delivery(d) => {
                summary.taken += 1;
                let effective = first.entry(d.message_id.as_str()).or_default();
                if d.duplicate {
                    summary.duplicates += 1;
                } else {
                    *effective += 1;
                }
            }
        }
    }
    summary.messages = first.len();
    summary.effective_duplicates = first.values().map(|n| n.saturating_sub(1)).sum();
    summary
}

/// The ledger open for appending.
#[derive(Debug)]
pub(crate) struct LedgerFile {
    path: PathBuf,
    file: File,
}

impl LedgerFile {
    /// Opens (or creates) the ledger at `path`, cuts off a torn last line, and returns it with
    /// its lines.
    pub(crate) fn open(path: &Path) -> Result<(LedgerFile, Vec<LedgerLine>), LedgerError> {
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(|source| io_error(path, source))?;
        let mut text = Vec::new();
        file.read_to_end(&mut text)
            .map_err(|source| io_error(path, source))?;
        let complete = complete_len(&text);
        if complete < text.len() {
            let len = u64::try_from(complete).unwrap_or(u64::MAX);
            file.set_len(len).map_err(|source| io_error(path, source))?;
        }
        let lines = parse_lines(&text[..complete], path)?;
        let ledger = LedgerFile {
            path: path.to_owned(),
            file,
        };
        Ok((ledger, lines))
    }

    /// Appends `line` with one write.
    pub(crate) fn append(&mut self, line: &LedgerLine) -> Result<(), LedgerError> {
        let mut bytes = serde_json::to_vec(line).map_err(|source| LedgerError::Line {
            path: self.path.clone(),
            line: 0,
            source,
        })?;
        bytes.push(b'\n');
        self.file
            .write_all(&bytes)
            .and_then(|()| self.file.flush())
            .map_err(|source| io_error(&self.path, source))
    }
}

fn io_error(path: &Path, source: std::io::Error) -> LedgerError {
    LedgerError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The length of `text` up to and including its last newline.
fn complete_len(text: &[u8]) -> usize {
    text.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1)
}

fn parse_lines(text: &[u8], path: &Path) -> Result<Vec<LedgerLine>, LedgerError> {
    let complete = &text[..complete_len(text)];
    let mut lines = Vec::new();
    for (index, raw) in complete.split(|b| *b == b'\n').enumerate() {
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let line = serde_json::from_slice(raw).map_err(|source| LedgerError::Line {
            path: path.to_owned(),
            line: index + 1,
            source,
        })?;
        lines.push(line);
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(id: &str, duplicate: bool) -> LedgerLine {
        LedgerLine::Delivery(DeliveryLine {
            message_id: id.into(),
            agency: "customs".into(),
            kind: "inventory".into(),
            ebp_code: "E1".into(),
            order_no: "SO-1".into(),
            attempt: 1,
            duplicate,
            decision: (!duplicate).then_some(Decision::Release),
            at_unix_ms: 5,
        })
    }

    #[test]
    fn lines_round_trip_in_the_documented_shape() {
        let line = delivery("m", false);
        let text = serde_json::to_string(&line).unwrap();
        assert_eq!(
            text,
            r#"{"message_id":"m","agency":"customs","kind":"inventory","ebp_code":"E1","order_no":"SO-1","attempt":1,"duplicate":false,"decision":"release","at_unix_ms":5}"#
        );
        assert_eq!(serde_json::from_str::<LedgerLine>(&text).unwrap(), line);
        let reported = LedgerLine::Reported(ReportedLine {
            reported: "m#1".into(),
            message_id: "m".into(),
            status: 120,
        });
        let text = serde_json::to_string(&reported).unwrap();
        assert_eq!(text, r#"{"reported":"m#1","message_id":"m","status":120}"#);
        assert_eq!(serde_json::from_str::<LedgerLine>(&text).unwrap(), reported);
    }

    #[test]
    fn a_torn_last_line_is_left_out_and_a_bad_line_is_an_error() {
        let path = Path::new("ledger.jsonl");
        let good = serde_json::to_string(&delivery("m", false)).unwrap();
        let torn = format!("{good}\n{{\"message_id\":\"n\",\"age");
        assert_eq!(parse_lines(torn.as_bytes(), path).unwrap().len(), 1);
        let bad = format!("{good}\nnot json\n{good}\n");
        let err = parse_lines(bad.as_bytes(), path).unwrap_err().to_string();
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn summaries_count_duplicates() {
        let lines = [
            delivery("a", false),
            delivery("a", true),
            delivery("b", false),
            delivery("b", false),
            delivery("c", true),
        ];
        let summary = summarize(&lines);
        assert_eq!(
            summary,
            LedgerSummary {
                taken: 5,
                messages: 3,
                duplicates: 2,
                effective_duplicates: 1,
                reported: 0,
            }
        );
    }
}
