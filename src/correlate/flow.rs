//! The shipment's life after its documents: T1 routing, CEB623 cancellation, CEB625 return
//! and the agencies' receipts (800 released, 100 rejected), with the quota effects they carry.

use super::event::{AgencyReceipt, Effect, Meta, Outcome};
use super::quota;
use super::rule;
use super::shipment::{Agency, AgencyState, Filed, Quota, Shipment, State};
use crate::domain::records::{InvtCancel, InvtRefund};
use crate::domain::{AppStatus, ReturnStatus};
use crate::report::{At, Violation};

/// T1: once order, payment, waybill and a declared inventory are on file (they agree: each was
/// checked against the others when it arrived), the shipment is complete and routed, once.
pub(super) fn route_if_complete(s: &mut Shipment, at: u64, effects: &mut Vec<Effect>) {
    let all_on_file = s.order.is_some() && s.payment.is_some() && s.waybill.is_some();
    if s.state != State::Collecting || !all_on_file || !s.inventory_declared() {
        return;
    }
    s.transition(
        State::Complete,
        at,
        "T1: order, payment, waybill and declared inventory on file and agreeing",
    );
    effects.push(Effect::EmitStatus(State::Complete));
    let guid = s
        .inventory
        .as_ref()
        .and_then(|f| f.guid.as_ref())
        .map_or_else(String::new, |g| g.to_string());
    s.transition(
        State::Routed,
        at,
        format!("inventory {guid} routed to customs"),
    );
    effects.push(Effect::RouteToCustoms);
    effects.push(Effect::EmitStatus(State::Routed));
}

/// CEB623: allowed while a declared inventory is on file and the goods are neither released
/// nor already cancelled (-623005 otherwise). Gives back any quota counted.
pub(super) fn cancel(s: &Shipment, cancel: &InvtCancel<'static>, meta: &Meta) -> Outcome {
    if same_guid(
        s.cancel.as_ref().and_then(|f| f.guid.as_ref()),
        cancel.guid.as_ref(),
    ) {
        return Outcome::repeat(s);
    }
    let open = matches!(s.state, State::Collecting | State::Complete | State::Routed);
    if !open || !s.inventory_declared() {
        let why = if open {
            "no declared inventory is on file".to_owned()
        } else {
            format!("the shipment is {}", s.state)
        };
        return Outcome::rejected(
            s,
            vec![Violation::new(
                rule::CANCEL,
                At::head("InvtCancel").field("orderNo"),
                cancel.order_no.as_ref().map_or("", |t| t.as_str()),
                format!("cancellation not allowed: {why}"),
            )
            .with_code(rule::CANCEL_STATE_CODE)],
        );
    }
    let mut next = s.clone();
    next.cancel = Some(Filed {
        doc: cancel.clone(),
        guid: cancel.guid.clone(),
        app_time: cancel.app_time,
        app_status: cancel.app_status.unwrap_or(AppStatus::Declare),
        sender: meta.sender.clone(),
        received_at: meta.received_at,
    });
    let guid = cancel.guid.as_ref().map_or("", |g| g.as_str());
    next.transition(
        State::Cancelled,
        meta.received_at,
        format!("CEB623 cancellation {guid}"),
    );
    let mut effects = vec![Effect::EmitStatus(State::Cancelled)];
    if let Some(q) = next.quota.take() {
        effects.push(Effect::ReleaseQuota {
            buyer: q.buyer,
            amount: q.amount,
            year: q.year,
        });
    }
    Outcome::accepted(next, effects)
}

/// CEB625: allowed only after release; every line must be a line of the inventory (-625209).
/// Gives back the returned value from the quota.
pub(super) fn refund(s: &Shipment, refund: &InvtRefund<'static>, meta: &Meta) -> Outcome {
    if same_guid(
        s.refund.as_ref().and_then(|f| f.guid.as_ref()),
        refund.head.guid.as_ref(),
    ) {
        return Outcome::repeat(s);
    }
    let order_no = refund.head.order_no.as_ref().map_or("", |t| t.as_str());
    let (State::Released, Some(inventory)) = (s.state, s.inventory.as_ref()) else {
        return Outcome::rejected(
            s,
            vec![Violation::new(
                rule::RETURN,
                At::head("InvtRefundHead").field("orderNo"),
                order_no,
                format!(
                    "return not allowed: the shipment is {}, not released",
                    s.state
                ),
            )],
        );
    };
    let declared: Vec<i32> = inventory.doc.items.iter().filter_map(|l| l.gnum).collect();
    let unknown: Vec<Violation> = refund
        .items
        .iter()
        .enumerate()
        .filter_map(|(index, line)| {
            let gnum = line.gnum?;
            if declared.contains(&gnum) {
                return None;
            }
            Some(
                Violation::new(
                    rule::RETURN,
                    At::item("InvtRefundList", index + 1).field("gnum"),
                    gnum.to_string(),
                    format!(
                        "return gnum {gnum} is not a line of the inventory (inventory gnums {})",
                        super::compare::list(declared.iter().copied())
                    ),
                )
                .with_code(rule::RETURN_GNUM_CODE),
            )
        })
        .collect();
    if !unknown.is_empty() {
        return Outcome::rejected(s, unknown);
    }
    let mut next = s.clone();
    let mut effects = vec![Effect::EmitStatus(State::Returned)];
    if let Some(q) = next.quota.take() {
        let amount = quota::returned(&inventory.doc, refund, q.amount);
        effects.push(Effect::ReleaseQuota {
            buyer: q.buyer.clone(),
            amount,
            year: q.year,
        });
        let left = q.amount.checked_sub(amount).unwrap_or(q.amount);
        if left > crate::domain::Decimal::ZERO {
            next.quota = Some(Quota { amount: left, ..q });
        }
    }
    next.refund = Some(Filed {
        doc: refund.clone(),
        guid: refund.head.guid.clone(),
        app_time: refund.head.app_time,
        app_status: refund.head.app_status.unwrap_or(AppStatus::Declare),
        sender: meta.sender.clone(),
        received_at: meta.received_at,
    });
    let guid = refund.head.guid.as_ref().map_or("", |g| g.as_str());
    next.transition(
        State::Returned,
        meta.received_at,
        format!("CEB625 return {guid}"),
    );
    Outcome::accepted(next, effects)
}

/// An agency receipt: recorded per agency; customs 800 releases a routed shipment (and counts
/// the quota), any agency's 100 rejects one; other statuses are only recorded.
pub(super) fn receipt(s: &Shipment, r: &AgencyReceipt) -> Outcome {
    let ignored = |message: String| {
        Violation::new(rule::RECEIPT, "returnStatus", r.status.to_string(), message)
    };
    if let Some(last) = s.agencies.get(&r.agency) {
        if last.status == r.status && last.text == r.text {
            return Outcome::repeat(s);
        }
        if r.at < last.at {
            return Outcome::ignored(
                s,
                ignored(format!(
                    "{} receipt {} at {} is older than receipt {} at {}",
                    r.agency.name(),
                    r.status,
                    r.at,
                    last.status,
                    last.at
                )),
            );
        }
    }
    let mut next = s.clone();
    next.agencies.insert(
        r.agency,
        AgencyState {
            status: r.status,
            text: r.text.clone(),
            at: r.at,
        },
    );
    let mut effects = Vec::new();
    let cause = format!("{} receipt {}: {}", r.agency.name(), r.status, r.text);
    match (r.agency, r.status) {
        (Agency::Customs, ReturnStatus::RELEASED) => {
            if s.state != State::Routed {
                return Outcome::ignored(
                    s,
                    Violation::new(
                        rule::T1,
                        "returnStatus",
                        r.status.to_string(),
                        format!(
                            "customs release of a shipment that is {}, not routed",
                            s.state
                        ),
                    ),
                );
            }
            next.transition(State::Released, r.at, cause);
            effects.push(Effect::EmitStatus(State::Released));
            if let Some(q) = count(&next) {
                effects.push(Effect::CountQuota {
                    buyer: q.buyer.clone(),
                    amount: q.amount,
                    year: q.year,
                });
                next.quota = Some(q);
            }
        }
        (_, ReturnStatus(100)) => {
            if !matches!(s.state, State::Complete | State::Routed) {
                return Outcome::ignored(
                    s,
                    ignored(format!(
                        "{} rejection of a shipment that is {}",
                        r.agency.name(),
                        s.state
                    )),
                );
            }
            next.transition(State::Rejected, r.at, cause);
            effects.push(Effect::EmitStatus(State::Rejected));
        }
        _ => {}
    }
    Outcome::accepted(next, effects)
}

/// What release counts: the inventory's dutiable value, for its buyer, in its appTime's year.
pub(super) fn count(s: &Shipment) -> Option<Quota> {
    let inventory = s.inventory.as_ref()?;
    Some(Quota {
        buyer: s.buyer.clone()?,
        amount: quota::counted(&inventory.doc)?,
        year: inventory.app_time?.year(),
    })
}

fn same_guid<T: PartialEq>(on_file: Option<&T>, arriving: Option<&T>) -> bool {
    on_file.is_some() && on_file == arriving
}
