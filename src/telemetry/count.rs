//! Counting what the gateway decided, in the metrics of [`super::names`]: declarations by kind
//! and outcome, the rules that refused them, repeats, receipts, store flushes.

use std::time::Duration;

use metrics::{counter, histogram};

use super::names;
use crate::domain::{MessageKind, ReturnStatus};
use crate::pb::v1;

/// The blocks of one submission (a CEB message of `kind`, or a typed declaration when `None`).
pub fn submission(kind: Option<MessageKind>, blocks: &[v1::BlockOutcome]) {
    let kind = kind.map_or("typed", MessageKind::root);
    for block in blocks {
        let outcome = match v1::Outcome::try_from(block.outcome) {
            Ok(v1::Outcome::Accepted) => "accepted",
            Ok(v1::Outcome::Rejected) => "rejected",
            Ok(v1::Outcome::Repeat) => "repeat",
            Ok(v1::Outcome::Conflict) => "conflict",
            Ok(v1::Outcome::Ignored) => "ignored",
            _ => "unspecified",
        };
        counter!(names::DECLARATIONS, "kind" => kind, "outcome" => outcome).increment(1);
        if outcome == "repeat" {
            counter!(names::DUPLICATES, "source" => "submission").increment(1);
        }
        for violation in &block.violations {
            counter!(names::REJECTIONS, "rule" => rule_label(&violation.rule)).increment(1);
        }
    }
}

/// Rule ids are a fixed set in the code (K1, A3, XSD-LENGTH, …); anything else (it cannot
/// happen, but a label must never carry free text) is "other".
fn rule_label(rule: &str) -> String {
    let ok = rule.as_bytes().first().is_some_and(u8::is_ascii_uppercase)
        && rule.len() <= 24
        && rule
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        rule.to_owned()
    } else {
        "other".to_owned()
    }
}

/// One agency receipt and what became of it (applied, repeat, orphan, ignored).
pub fn receipt(agency: &str, status: ReturnStatus, outcome: &'static str) {
    let agency = match crate::domain::Agency::named(agency) {
        Some(a) => a.name(),
        None => "other",
    };
    let status = super::status_label(status);
    counter!(names::RECEIPTS, "agency" => agency, "status" => status, "outcome" => outcome)
        .increment(1);
    if outcome == "repeat" {
        counter!(names::DUPLICATES, "source" => "receipt").increment(1);
    }
    if outcome == "orphan" {
        counter!(names::DEAD_LETTERS, "agency" => agency, "kind" => "orphan-receipt").increment(1);
    }
}

/// One group written by the store: how long its write, flush and fsync took, and how many
/// events it carried.
pub fn flush(took: Duration, events: u64) {
    histogram!(names::FLUSH_SECONDS).record(took.as_secs_f64());
    histogram!(names::COMMITS_PER_FLUSH).record(events as f64);
}

/// One commit, from the call to its answer.
pub fn commit(took: Duration) {
    histogram!(names::COMMIT_SECONDS).record(took.as_secs_f64());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_labels_are_rule_ids_or_other() {
        assert_eq!(rule_label("XSD-LENGTH"), "XSD-LENGTH");
        assert_eq!(rule_label("K1"), "K1");
        assert_eq!(rule_label("110101199003071234"), "other", "never a number");
        assert_eq!(rule_label("a b"), "other");
        assert_eq!(rule_label(""), "other");
    }
}
