//! The agencies' decisions and the receipts that carry them (pure: no I/O, no clock, no
//! tokio). A decision is a function of the seed and the message id (a hash), so a restarted
//! simulator decides as before; the receipts of a decision, their ids and times are a function
//! of the decision and its time, so they can be recomputed from the ledger.

use serde::{Deserialize, Serialize};

use crate::domain::Agency;

use super::config::{Rule, RuleAction, SimConfig};
use super::random;

/// What an agency decided on one delivered message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// Released (customs 800), passed, settled, tax bill issued.
    Release,
    /// Held for inspection or quarantine, released after the hold.
    Inspect,
    /// Detained (501) for good.
    Detain,
    /// Rejected (100).
    Reject,
    /// A cancellation, taken note of: no receipt.
    Cancel,
}

impl Decision {
    /// The decisions, in the order of their weights.
    pub const ALL: [Decision; 5] = [
        Decision::Release,
        Decision::Inspect,
        Decision::Detain,
        Decision::Reject,
        Decision::Cancel,
    ];

    /// Its name in the ledger and in `--rule`.
    pub fn name(self) -> &'static str {
        match self {
            Decision::Release => "release",
            Decision::Inspect => "inspect",
            Decision::Detain => "detain",
            Decision::Reject => "reject",
            Decision::Cancel => "cancel",
        }
    }

    /// The decision called `name`.
    pub fn named(name: &str) -> Option<Decision> {
        Decision::ALL.into_iter().find(|d| d.name() == name)
    }
}

/// What is known of a delivery when it is decided.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// The delivery's stable id.
    pub message_id: &'a str,
    /// The agency it is for.
    pub agency: Agency,
    /// `inventory`, `cancel`, `inspection`, `tax`, `fx`.
    pub kind: &'a str,
    /// The shipment's order number ("" when the delivery names none).
    pub order_no: &'a str,
    /// The enterprise's credit class ("" when not registered).
    pub credit: &'a str,
}

/// One receipt of a decision, in the order they are reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// `{message_id}#{seq}`, seq counting from 1.
    pub receipt_id: String,
    /// The message decided on.
    pub message_id: String,
    /// The deciding agency.
    pub agency: Agency,
    /// CEB `returnStatus`.
    pub return_status: i32,
    /// Text for people.
    pub return_info: &'static str,
    /// When it was decided: the decision time, plus the hold for a release after a hold.
    pub at_unix_ms: u64,
    /// Wait this long after the previous receipt before reporting this one, ms.
    pub delay_ms: u64,
}

/// The rule for `order_no`: the one with the longest matching prefix.
pub fn rule_for<'r>(rules: &'r [Rule], order_no: &str) -> Option<&'r Rule> {
    rules
        .iter()
        .filter(|rule| order_no.starts_with(rule.prefix.as_str()))
        .max_by_key(|rule| rule.prefix.len())
}

/// The decision on `subject`: `cancel` for a cancellation, else the rule of its order number,
/// else a weighted draw keyed on (seed, message id). The customs inspect weight is scaled by
/// the credit factor. A `refuse` rule is the caller's to apply before deciding; here it
/// falls back to the draw.
pub fn decide(config: &SimConfig, subject: &Subject<'_>) -> Decision {
    if subject.kind == "cancel" {
        return Decision::Cancel;
    }
    if let Some(rule) = rule_for(&config.rules, subject.order_no) {
        if let RuleAction::Decide(decision) = rule.action {
            return decision;
        }
    }
    let mix = config.mix;
    let inspect = match subject.agency {
        Agency::Customs => mix.inspect * config.credit.factor(subject.credit),
        _ => mix.inspect,
    };
    let weights = [
        (Decision::Release, mix.release),
        (Decision::Inspect, inspect),
        (Decision::Detain, mix.detain),
        (Decision::Reject, mix.reject),
    ];
    let point = random::unit(random::hash(config.seed, subject.message_id));
    pick(&weights, point)
}

/// The weighted choice at `point` (0..1) of the cumulative weights; release when they are 0.
fn pick(weights: &[(Decision, f64)], point: f64) -> Decision {
    let usable = |w: f64| w.is_finite() && w > 0.0;
    let total: f64 = weights.iter().map(|(_, w)| *w).filter(|w| usable(*w)).sum();
    if total <= 0.0 {
        return Decision::Release;
    }
    let mut left = point * total;
    let mut last = Decision::Release;
    for (decision, weight) in weights.iter().filter(|(_, w)| usable(*w)) {
        if left < *weight {
            return *decision;
        }
        left -= weight;
        last = *decision;
    }
    // Rounding left a sliver past the end: it belongs to the last weight.
    last
}

/// The receipts of `decision` on `message_id` by `agency`, decided at `at_unix_ms`, with a
/// release after a hold `hold_ms` later.
pub fn receipts(
    message_id: &str,
    agency: Agency,
    decision: Decision,
    at_unix_ms: u64,
    hold_ms: u64,
) -> Vec<Receipt> {
    use Decision::{Cancel, Detain, Inspect, Reject, Release};
    // (status, info, after the hold)
    let plan: &[(i32, &'static str, bool)] = match (agency, decision) {
        (_, Cancel) => &[],
        (Agency::Customs, Release) => &[(120, ACCEPTED, false), (800, "released", false)],
        (Agency::Customs, Inspect) => &[
            (120, ACCEPTED, false),
            (500, "physical inspection", false),
            (800, "released after inspection", true),
        ],
        (Agency::Customs, Detain) => &[(120, ACCEPTED, false), (501, "detained", false)],
        (Agency::Customs, Reject) => &[(120, ACCEPTED, false), (100, "rejected by customs", false)],
        (Agency::Inspection, Release) => &[(800, "inspection passed", false)],
        (Agency::Inspection, Inspect) => &[
            (501, "held for quarantine", false),
            (800, "quarantine passed", true),
        ],
        (Agency::Inspection, Detain) => &[(501, "held for quarantine", false)],
        (Agency::Inspection, Reject) => &[(100, "rejected by inspection and quarantine", false)],
        (Agency::Tax, Release | Inspect | Detain) => &[(120, "tax bill issued", false)],
        (Agency::Tax, Reject) => &[(100, "tax declaration rejected", false)],
        (Agency::Fx, Release | Inspect | Detain) => &[(800, "settled", false)],
        (Agency::Fx, Reject) => &[(100, "settlement rejected", false)],
    };
    plan.iter()
        .zip(1u32..)
        .map(|(&(status, info, held), seq)| {
            let delay_ms = if held { hold_ms } else { 0 };
            Receipt {
                receipt_id: format!("{message_id}#{seq}"),
                message_id: message_id.to_owned(),
                agency,
                return_status: status,
                return_info: info,
                at_unix_ms: at_unix_ms.saturating_add(delay_ms),
                delay_ms,
            }
        })
        .collect()
}

const ACCEPTED: &str = "accepted into the customs system";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::config::Mix;

    fn subject<'a>(message_id: &'a str, agency: Agency, credit: &'a str) -> Subject<'a> {
        Subject {
            message_id,
            agency,
            kind: "inventory",
            order_no: "SO-1",
            credit,
        }
    }

    /// How often each decision comes out of `n` message ids.
    fn shares(config: &SimConfig, agency: Agency, credit: &str, n: u32) -> [f64; 4] {
        let mut counts = [0u32; 4];
        for i in 0..n {
            let id = format!("m-{i}");
            let d = decide(config, &subject(&id, agency, credit));
            let slot = Decision::ALL.iter().position(|x| *x == d).unwrap();
            counts[slot] += 1;
        }
        counts.map(|c| f64::from(c) / f64::from(n))
    }

    #[test]
    fn the_weights_set_the_shares() {
        let config = SimConfig {
            mix: Mix {
                release: 0.5,
                inspect: 0.2,
                detain: 0.1,
                reject: 0.2,
            },
            ..SimConfig::default()
        };
        let got = shares(&config, Agency::Tax, "", 20_000);
        for (got, want) in got.iter().zip([0.5, 0.2, 0.1, 0.2]) {
            assert!((got - want).abs() < 0.015, "{got} vs {want}");
        }
        let only_reject = SimConfig {
            mix: Mix {
                release: 0.0,
                inspect: 0.0,
                detain: 0.0,
                reject: 3.0,
            },
            ..SimConfig::default()
        };
        assert_eq!(
            shares(&only_reject, Agency::Fx, "", 500),
            [0.0, 0.0, 0.0, 1.0]
        );
    }

    #[test]
    fn decisions_depend_on_seed_and_message_only() {
        let config = SimConfig::default();
        let other_seed = SimConfig {
            seed: 2,
            ..SimConfig::default()
        };
        let mut differ = 0;
        for i in 0..2_000 {
            let id = format!("m-{i}");
            let a = decide(&config, &subject(&id, Agency::Fx, ""));
            assert_eq!(a, decide(&config, &subject(&id, Agency::Fx, "")));
            differ += usize::from(a != decide(&other_seed, &subject(&id, Agency::Fx, "")));
        }
        assert!(differ > 50, "the seed changes decisions: {differ}");
    }

    #[test]
    fn the_credit_factor_scales_the_customs_inspect_rate() {
        let config = SimConfig {
            mix: Mix {
                release: 0.9,
                inspect: 0.1,
                detain: 0.0,
                reject: 0.0,
            },
            ..SimConfig::default()
        };
        let n = 20_000;
        let inspected = |agency, credit| shares(&config, agency, credit, n)[1];
        let general = inspected(Agency::Customs, "general");
        assert!((general - 0.1).abs() < 0.01, "{general}");
        assert_eq!(general, inspected(Agency::Customs, ""));
        assert_eq!(general, inspected(Agency::Customs, "unheard-of"));
        let advanced = inspected(Agency::Customs, "advanced");
        assert!((advanced - 0.1 * 0.5 / 0.95).abs() < 0.01, "{advanced}");
        let untrusted = inspected(Agency::Customs, "untrusted");
        assert!((untrusted - 0.3 / 1.2).abs() < 0.015, "{untrusted}");
        // Only customs applies credit classes.
        assert_eq!(inspected(Agency::Inspection, "untrusted"), general);
    }

    #[test]
    fn the_longest_prefix_rule_wins_and_cancel_is_cancel() {
        let mut config = SimConfig::default();
        for rule in ["SO=reject", "SO-1=detain", "SO-12=inspect", "X=refuse"] {
            config
                .rules
                .push(crate::sim::parse::parse_rule(rule).unwrap());
        }
        let cases = [
            ("SO-123", "inventory", Decision::Inspect),
            ("SO-13", "inventory", Decision::Detain),
            ("SO-2", "inventory", Decision::Reject),
            ("SO-123", "cancel", Decision::Cancel),
        ];
        for (order_no, kind, want) in cases {
            let s = Subject {
                message_id: "m",
                agency: Agency::Customs,
                kind,
                order_no,
                credit: "",
            };
            assert_eq!(decide(&config, &s), want, "{order_no} {kind}");
        }
        assert_eq!(
            rule_for(&config.rules, "X1").unwrap().action,
            RuleAction::Refuse
        );
        assert!(rule_for(&config.rules, "Y").is_none());
        assert!(rule_for(&config.rules, "").is_none());
    }

    #[test]
    fn receipts_follow_the_tables() {
        let statuses = |agency, decision| -> Vec<(i32, u64)> {
            receipts("m", agency, decision, 1_000, 200)
                .iter()
                .map(|r| (r.return_status, r.delay_ms))
                .collect()
        };
        use Agency::*;
        use Decision::*;
        type Case = (Agency, Decision, &'static [(i32, u64)]);
        let cases: [Case; 12] = [
            (Customs, Release, &[(120, 0), (800, 0)]),
            (Customs, Inspect, &[(120, 0), (500, 0), (800, 200)]),
            (Customs, Detain, &[(120, 0), (501, 0)]),
            (Customs, Reject, &[(120, 0), (100, 0)]),
            (Customs, Cancel, &[]),
            (Inspection, Inspect, &[(501, 0), (800, 200)]),
            (Inspection, Detain, &[(501, 0)]),
            (Inspection, Reject, &[(100, 0)]),
            (Tax, Inspect, &[(120, 0)]),
            (Tax, Reject, &[(100, 0)]),
            (Fx, Detain, &[(800, 0)]),
            (Fx, Reject, &[(100, 0)]),
        ];
        for (agency, decision, want) in cases {
            assert_eq!(statuses(agency, decision), want, "{agency:?} {decision:?}");
        }
        let inspected = receipts("m-7", Customs, Inspect, 1_000, 200);
        let ids: Vec<&str> = inspected.iter().map(|r| r.receipt_id.as_str()).collect();
        assert_eq!(ids, ["m-7#1", "m-7#2", "m-7#3"]);
        let times: Vec<u64> = inspected.iter().map(|r| r.at_unix_ms).collect();
        assert_eq!(times, [1_000, 1_000, 1_200]);
    }
}
