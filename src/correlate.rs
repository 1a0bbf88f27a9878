//! Correlation: the shipment state machine, `apply(&Shipment, &Event, &Rules) -> Outcome`.
//!
//! Pure and deterministic: no I/O, no clock (every time comes in the event), no tokio, sled or
//! tonic. The store keeps the state, carries out the [`Effect`]s and keeps the running totals
//! of the buyers' annual quotas ([`quota_check`]).
//!
//! A shipment is one order (key `ebpCode` + `orderNo`). Its four documents (order, payment,
//! waybill, inventory) arrive in any order; each cross-document rule of domain.md §3 (K1–K4,
//! A2, C1, L1, B1, P1) runs as soon as the documents it needs are on file, and refuses the
//! document that arrives last, naming both documents and both values. CEB `appType` 1/2/3
//! files, replaces or removes a document (duplicate, unknown, stale and in-use rules with
//! their CEB codes). When T1 holds the shipment goes collecting → complete → routed and an
//! [`Effect::Route`] is emitted for each agency that has a part (customs, inspection when a
//! goods line is flagged, tax, FX), once. Agency receipts set each agency's phase, and the
//! release policy turns the phases into one outcome: released (counting the quota), held or
//! rejected. CEB623 cancels it before release (and is routed to the agencies that have it),
//! CEB625 returns it after; an agency declaration after routing is routed as a change. A refused or ignored event leaves the state as it was.

mod agree;
mod compare;
mod event;
mod flow;
mod join;
mod kind;
mod lifecycle;
mod quota;
mod route;
pub mod rule;
mod sender;
mod shipment;

pub use event::{AgencyReceipt, Effect, Event, Meta, Outcome, Route, Routed, Verdict};
pub use kind::{DocKind, KindCodes};
pub use quota::quota_check;
pub use route::flagged_lines;
pub use shipment::{Agency, AgencyState, Filed, Phase, Quota, Shipment, State, Transition};

use crate::domain::{Body, Declaration, Document, ShipmentKey};
use crate::report::Violation;
use crate::rules::Rules;
use lifecycle::{Filing, Slot};

/// Applies `event` to `shipment`: the next state, the effects to carry out and the verdict.
///
/// `rules` is the same policy validation uses: the HS table's inspection flags and the
/// routing and release policy.
pub fn apply(shipment: &Shipment, event: &Event, rules: &Rules) -> Outcome {
    match event {
        Event::Document(declaration, meta) => document(shipment, declaration, meta, rules),
        Event::AgencyReceipt(receipt) => flow::receipt(shipment, receipt, rules),
        Event::AgencyDeclaration { agency, key, meta } => {
            flow::declaration(shipment, *agency, key, meta)
        }
    }
}

/// What releasing `shipment` would count toward its buyer's annual quota (Q1): the
/// inventory's dutiable value, for its buyer, in the year of its `appTime`.
pub fn quota_of(shipment: &Shipment) -> Option<Quota> {
    flow::count(shipment)
}

/// The shipment a document belongs to, when the document names it (`ebpCode` + `orderNo`).
/// A waybill names no platform: the store joins it by `orderNo` (K4) or through the
/// inventory's `logisticsCode` + `logisticsNo` (K3), so it gets `None` here.
pub fn key_of(document: &Document<'_>) -> Option<ShipmentKey<'static>> {
    let (ebp_code, order_no) = match document {
        Document::Order(o) => (o.head.ebp_code.as_ref(), o.head.order_no.as_ref()),
        Document::Payment(p) => (p.head.ebp_code.as_ref(), p.head.order_no.as_ref()),
        Document::Inventory(i) => (i.head.ebp_code.as_ref(), i.head.order_no.as_ref()),
        Document::InvtCancel(c) => (c.ebp_code.as_ref(), c.order_no.as_ref()),
        Document::InvtRefund(r) => (r.head.ebp_code.as_ref(), r.head.order_no.as_ref()),
        _ => return None,
    };
    Some(
        ShipmentKey {
            ebp_code: ebp_code?.clone(),
            order_no: order_no?.clone(),
        }
        .into_owned(),
    )
}

fn document(
    shipment: &Shipment,
    declaration: &Declaration<'static>,
    meta: &Meta,
    rules: &Rules,
) -> Outcome {
    let Body::Ceb(doc) = &declaration.body else {
        return Outcome::ignored(shipment, not_correlated("an agency declaration"));
    };
    if let Some(violation) = sender::check(doc, &meta.sender) {
        return Outcome::rejected(shipment, vec![violation]);
    }
    match doc {
        Document::Order(d) => filed(shipment, d.clone(), meta, rules),
        Document::Payment(d) => filed(shipment, d.clone(), meta, rules),
        Document::Logistics(d) => filed(shipment, d.clone(), meta, rules),
        Document::Inventory(d) => filed(shipment, d.clone(), meta, rules),
        Document::InvtCancel(d) => flow::cancel(shipment, d, meta),
        Document::InvtRefund(d) => flow::refund(shipment, d, meta),
        other => Outcome::ignored(shipment, not_correlated(other.kind().root())),
    }
}

/// Files one of the four documents, checks it against the others on file, routes on T1.
fn filed<T: Slot>(shipment: &Shipment, doc: T, meta: &Meta, rules: &Rules) -> Outcome {
    let mut next = match lifecycle::file(shipment, doc, meta) {
        Filing::Filed(next) => next,
        Filing::Repeat => return Outcome::repeat(shipment),
        Filing::Ignored(violation) => return Outcome::ignored(shipment, violation),
        Filing::Rejected(violation) => return Outcome::rejected(shipment, vec![violation]),
    };
    if T::slot(&next).is_some() {
        let mut violations = Vec::new();
        join::check(&next, T::KIND, &mut violations);
        agree::check(&next, T::KIND, &mut violations);
        if !violations.is_empty() {
            return Outcome::rejected(shipment, violations);
        }
    }
    let mut effects = Vec::new();
    flow::route_if_complete(&mut next, rules, meta.received_at, &mut effects);
    Outcome::accepted(*next, effects)
}

fn not_correlated(what: &str) -> Violation {
    Violation::new(
        rule::KIND,
        "",
        what.to_owned(),
        format!("{what} is not correlated by the shipment state machine"),
    )
}
