//! An order, payment, inventory, cancellation or return, folded into the shipment it names:
//! U1 for a new payment's transaction id, a waiting waybill joined first, then the state
//! machine, and Q1 (the buyer's annual total) once the inventory is newly declared.

use super::change::Ledger;
use super::index::{payment_number, quota_total, Numbered};
use super::waybill::join_pending_waybill;
use super::{refuse, Arrival};
use crate::correlate::{self, rule, DocKind};
use crate::domain::records::Payment;
use crate::domain::{AppType, Document, ShipmentKey};
use crate::ledger::keys;
use crate::report::{At, Violation};
use crate::rules::Rules;
use crate::store::{Folded, Read, StoreError};

/// An order, payment, inventory, cancellation or return, into the shipment it names.
pub(super) fn keyed(
    view: &dyn Read,
    arrival: &Arrival,
    key: &ShipmentKey<'static>,
    rules: &Rules,
) -> Result<Folded, StoreError> {
    let Some(doc) = arrival.document() else {
        return Ok(Folded::default());
    };
    if let Document::Payment(p) = doc {
        if let Some(v) = payment_taken(view, p, key)? {
            return Ok(refuse(v));
        }
    }
    let mut ledger = Ledger::load_or_new(view, key, rules)?;
    if ledger.shipment.waybill.is_none() {
        if let Err(refusal) = join_pending_waybill(view, &mut ledger, doc)? {
            return Ok(Folded::Refuse(refusal));
        }
    }
    let inventory_before = ledger.docs.get("inventory").map(|r| r.key.clone());
    if let Err(refusal) = ledger.apply(arrival) {
        return Ok(Folded::Refuse(refusal));
    }
    let newly_declared = matches!(doc, Document::Inventory(_))
        && ledger.shipment.inventory_declared()
        && ledger.docs.get("inventory").map(|r| &r.key) != inventory_before.as_ref();
    if newly_declared {
        if let Some(q) = correlate::quota_of(&ledger.shipment) {
            let used = quota_total(view, &keys::quota(&q.buyer, q.year))?;
            if let Some(v) = correlate::quota_check(used, q.amount, rules) {
                return Ok(refuse(v));
            }
        }
    }
    ledger.finish(view)
}

/// U1 for payments: a new payment whose transaction id another shipment's payment holds.
fn payment_taken(
    view: &dyn Read,
    p: &Payment<'_>,
    key: &ShipmentKey<'_>,
) -> Result<Option<Violation>, StoreError> {
    if p.head.app_type.unwrap_or(AppType::New) != AppType::New {
        return Ok(None);
    }
    let Some(number) = payment_number(p) else {
        return Ok(None);
    };
    let Some(held) = Numbered::read(view, &number)? else {
        return Ok(None);
    };
    let this = (key.ebp_code.as_str(), key.order_no.as_str());
    let theirs = held
        .shipment
        .as_ref()
        .map(|(e, o)| (e.as_str(), o.as_str()));
    if theirs == Some(this) {
        return Ok(None);
    }
    let id = p
        .head
        .pay_transaction_id
        .as_ref()
        .map_or("", |t| t.as_str());
    let (_, other_order) = theirs.unwrap_or(("", ""));
    Ok(Some(
        Violation::new(
            rule::U1,
            At::head("PaymentHead").field("payTransactionId"),
            id,
            format!(
                "payTransactionId {id} of payment enterprise {} is already used by payment {} of order {other_order}",
                p.head.pay_code.as_ref().map_or("", |c| c.as_str()),
                held.guid
            ),
        )
        .with_code(DocKind::Payment.codes().duplicate.unwrap_or(-1)),
    ))
}
