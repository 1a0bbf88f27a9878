//! What the files of a `submit` run came to: block counts per outcome, a file's exit code, and
//! the summary table printed at the end (pure: no I/O).

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::cli::validate::{EXIT_CLEAN, EXIT_REJECTED, EXIT_UNREADABLE};
use crate::pb::v1;

/// Blocks per outcome, of one file or of many.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Blocks {
    /// On disk.
    pub accepted: usize,
    /// Same key, same content as before: nothing new stored.
    pub repeat: usize,
    /// Violations: nothing stored.
    pub rejected: usize,
    /// Same key, other content: refused.
    pub conflict: usize,
    /// Stale or out of place for the shipment: nothing changed.
    pub ignored: usize,
}

impl Blocks {
    /// The counts of a reply's blocks.
    pub fn of(reply: &v1::SubmitReply) -> Blocks {
        let mut blocks = Blocks::default();
        for block in &reply.blocks {
            match v1::Outcome::try_from(block.outcome) {
                Ok(v1::Outcome::Accepted) => blocks.accepted += 1,
                Ok(v1::Outcome::Repeat) => blocks.repeat += 1,
                Ok(v1::Outcome::Conflict) => blocks.conflict += 1,
                Ok(v1::Outcome::Ignored) => blocks.ignored += 1,
                // An outcome this client does not know is not a success.
                _ => blocks.rejected += 1,
            }
        }
        blocks
    }

    /// Every block.
    pub fn total(&self) -> usize {
        self.accepted + self.repeat + self.rejected + self.conflict + self.ignored
    }

    /// 0 when every block was accepted or a repeat, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        if self.rejected + self.conflict + self.ignored > 0 {
            EXIT_REJECTED
        } else {
            EXIT_CLEAN
        }
    }

    fn add(&mut self, other: &Blocks) {
        self.accepted += other.accepted;
        self.repeat += other.repeat;
        self.rejected += other.rejected;
        self.conflict += other.conflict;
        self.ignored += other.ignored;
    }

    fn columns(&self) -> [usize; 5] {
        [
            self.accepted,
            self.repeat,
            self.rejected,
            self.conflict,
            self.ignored,
        ]
    }
}

impl std::fmt::Display for Blocks {
    /// `10 blocks: 1 accepted, 9 repeat` (the outcomes that occur).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let total = self.total();
        write!(f, "{total} block{}", if total == 1 { "" } else { "s" })?;
        let named = [
            (self.accepted, "accepted"),
            (self.repeat, "repeat"),
            (self.rejected, "rejected"),
            (self.conflict, "conflict"),
            (self.ignored, "ignored"),
        ];
        let mut separator = ": ";
        for (count, name) in named.into_iter().filter(|(count, _)| *count > 0) {
            write!(f, "{separator}{count} {name}")?;
            separator = ", ";
        }
        Ok(())
    }
}

/// One row of the summary: files and their blocks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Row {
    /// Files.
    pub files: usize,
    /// Their blocks, for the files the gateway answered block by block.
    pub blocks: Blocks,
    /// Files with no block outcome: unreadable, undecodable, not answered or not sent.
    pub failed: usize,
}

impl Row {
    /// A file the gateway answered block by block.
    pub fn answered(&mut self, blocks: &Blocks) {
        self.files += 1;
        self.blocks.add(blocks);
    }

    /// A file with no block outcome.
    pub fn failed(&mut self) {
        self.files += 1;
        self.failed += 1;
    }
}

/// The files submitted in this run and those skipped because the journal had their answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Files sent (or meant to be sent) in this run.
    pub submitted: Row,
    /// Files skipped: the counts are the journal's.
    pub skipped: Row,
    /// The exit code so far: the worst file's.
    pub code: i32,
}

impl Summary {
    /// Counts a file's exit code in.
    pub fn worst(&mut self, code: i32) {
        self.code = self.code.max(code);
    }

    /// A file with no block outcome (exit code 2).
    pub fn failed(&mut self) {
        self.submitted.failed();
        self.worst(EXIT_UNREADABLE);
    }

    /// The table: one row for the submitted files, one for the skipped, one for all.
    pub fn table(&self) -> String {
        let total = Row {
            files: self.submitted.files + self.skipped.files,
            blocks: {
                let mut blocks = self.submitted.blocks;
                blocks.add(&self.skipped.blocks);
                blocks
            },
            failed: self.submitted.failed + self.skipped.failed,
        };
        let header = [
            "files", "accepted", "repeat", "rejected", "conflict", "ignored", "failed",
        ];
        let mut table = format!("{:<10}", "");
        for name in header {
            let _ = write!(table, "{name:>10}");
        }
        table.push('\n');
        for (name, row) in [
            ("submitted", &self.submitted),
            ("skipped", &self.skipped),
            ("total", &total),
        ] {
            let _ = write!(table, "{name:<10}{:>10}", row.files);
            for count in row.blocks.columns() {
                let _ = write!(table, "{count:>10}");
            }
            let _ = writeln!(table, "{:>10}", row.failed);
        }
        table
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(outcomes: &[v1::Outcome]) -> v1::SubmitReply {
        v1::SubmitReply {
            blocks: outcomes
                .iter()
                .map(|o| v1::BlockOutcome {
                    outcome: *o as i32,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn blocks_are_counted_named_and_give_the_exit_code() {
        use v1::Outcome::*;
        let cases: [(&[v1::Outcome], &str, i32); 6] = [
            (&[], "0 blocks", 0),
            (&[Accepted], "1 block: 1 accepted", 0),
            (
                &[Accepted, Repeat, Repeat],
                "3 blocks: 1 accepted, 2 repeat",
                0,
            ),
            (&[Rejected, Accepted], "2 blocks: 1 accepted, 1 rejected", 1),
            (&[Conflict], "1 block: 1 conflict", 1),
            (
                &[Ignored, Unspecified],
                "2 blocks: 1 rejected, 1 ignored",
                1,
            ),
        ];
        for (outcomes, text, code) in cases {
            let blocks = Blocks::of(&reply(outcomes));
            assert_eq!(blocks.to_string(), text);
            assert_eq!(blocks.exit_code(), code, "{text}");
        }
    }

    #[test]
    fn the_table_has_a_row_for_submitted_skipped_and_total() {
        let mut summary = Summary::default();
        summary.submitted.answered(&Blocks {
            accepted: 2,
            rejected: 1,
            ..Blocks::default()
        });
        summary.failed();
        summary.skipped.answered(&Blocks {
            repeat: 3,
            ..Blocks::default()
        });
        let table = summary.table();
        let rows: Vec<Vec<&str>> = table
            .lines()
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(
            rows,
            [
                vec!["files", "accepted", "repeat", "rejected", "conflict", "ignored", "failed"],
                vec!["submitted", "2", "2", "0", "1", "0", "0", "1"],
                vec!["skipped", "1", "0", "3", "0", "0", "0", "0"],
                vec!["total", "3", "2", "3", "1", "0", "0", "1"],
            ]
        );
        assert_eq!(summary.code, EXIT_UNREADABLE);
    }
}
