//! The shipment's life after its documents: T1 routing, agency declarations, CEB623
//! cancellation, CEB625 return and the agencies' receipts, with the quota effects they carry.

use super::event::{AgencyReceipt, Effect, Meta, Outcome};
use super::quota;
use super::route;
use super::rule;
use super::shipment::{Agency, AgencyState, Filed, Phase, Quota, Shipment, State};
use crate::domain::records::{InvtCancel, InvtRefund};
use crate::domain::AppStatus;
use crate::report::{At, Violation};
use crate::rules::{Decision, Rules};

/// T1: once order, payment, waybill and a declared inventory are on file (they agree: each was
/// checked against the others when it arrived), the shipment is complete and routed to its
/// agencies, once.
pub(super) fn route_if_complete(
    s: &mut Shipment,
    rules: &Rules,
    at: u64,
    effects: &mut Vec<Effect>,
) {
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
    let routes = route::at_t1(s, rules, at);
    let guid = s
        .inventory
        .as_ref()
        .and_then(|f| f.guid.as_ref())
        .map_or_else(String::new, |g| g.to_string());
    let to: Vec<&str> = routes.iter().map(|r| r.agency.name()).collect();
    s.transition(
        State::Routed,
        at,
        format!("inventory {guid} routed to {}", to.join(", ")),
    );
    effects.extend(routes.into_iter().map(Effect::Route));
    effects.push(Effect::EmitStatus(State::Routed));
}

/// An agency declaration (inspection, FX settlement, tax): filed; when the shipment is already
/// routed, routed to its agency at once (a change when the agency had a message before). Not
/// accepted once the shipment is released, rejected, cancelled or returned.
pub(super) fn declaration(s: &Shipment, agency: Agency, key: &str, meta: &Meta) -> Outcome {
    if s.declared.get(&agency).is_some_and(|k| k == key) {
        return Outcome::repeat(s);
    }
    if !s.open() {
        return Outcome::rejected(
            s,
            vec![Violation::new(
                rule::AMEND,
                "shipment",
                s.key.order_no.as_str(),
                format!(
                    "the shipment is {}: its {} declaration can no longer change",
                    s.state,
                    agency.name()
                ),
            )],
        );
    }
    let mut next = s.clone();
    next.declared.insert(agency, key.to_owned());
    let mut effects = Vec::new();
    if matches!(s.state, State::Routed | State::Held) {
        let route = route::declared_after_routing(&mut next, agency, key, meta.received_at);
        effects.push(Effect::Route(route));
    }
    Outcome::accepted(next, effects)
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
    let open = s.open();
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
    let mut effects: Vec<Effect> = route::cancel(s, guid)
        .into_iter()
        .map(Effect::Route)
        .collect();
    effects.push(Effect::EmitStatus(State::Cancelled));
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

/// An agency receipt: the agency's phase under the release policy, then the shipment settled
/// (released, held, rejected or still waiting) while it is routed or held; on a shipment that
/// is already decided, cancelled or returned the receipt is only recorded.
pub(super) fn receipt(s: &Shipment, r: &AgencyReceipt, rules: &Rules) -> Outcome {
    let Some(last) = s.agencies.get(&r.agency).filter(|a| a.routed > 0) else {
        return Outcome::ignored(
            s,
            Violation::new(
                rule::RECEIPT,
                "agency",
                r.agency.name(),
                format!(
                    "{} has not been routed anything for this shipment",
                    r.agency.name()
                ),
            ),
        );
    };
    if !r.message_id.is_empty() && r.message_id != last.message {
        return Outcome::ignored(
            s,
            Violation::new(
                rule::RECEIPT,
                "messageId",
                r.message_id.clone(),
                format!(
                    "{} receipt for message {}, which message {} replaced",
                    r.agency.name(),
                    r.message_id,
                    last.message
                ),
            ),
        );
    }
    if last.status == Some(r.status) && last.text == r.text {
        return Outcome::repeat(s);
    }
    // Receipts of one message are ordered by the agency's own clock; the first receipt of a
    // message (and one without a time) is never stale.
    if last.status.is_some() && r.at != 0 && r.at < last.at {
        return Outcome::ignored(
            s,
            Violation::new(
                rule::RECEIPT,
                "returnStatus",
                r.status.to_string(),
                format!(
                    "{} receipt {} at {} is older than the agency's last change at {}",
                    r.agency.name(),
                    r.status,
                    r.at,
                    last.at
                ),
            ),
        );
    }
    let phase = match rules.policy.decide(r.agency, r.status) {
        Decision::Passed => Phase::Passed,
        Decision::Held => Phase::Held,
        Decision::Rejected => Phase::Rejected,
        Decision::Progress => Phase::Routed,
    };
    let mut next = s.clone();
    next.agencies.insert(
        r.agency,
        AgencyState {
            phase,
            status: Some(r.status),
            text: r.text.clone(),
            at: r.at,
            routed: last.routed,
            message: last.message.clone(),
        },
    );
    let mut effects = Vec::new();
    route::settle(&mut next, rules, r.at, &mut effects);
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
