//! What one event does to the ledger, decided on the writer thread on the state on file: find
//! the shipment (a waybill, which names no platform, by its order number or its waybill
//! number), run the pure state machine, check what only the store can see (U1 uniqueness
//! across shipments, the buyer's annual total for Q1), and turn the outcome into writes:
//! shipment record, indexes, quota totals, outbox rows and status events.
//!
//! This file is the entry point: the three folds (a declaration, an agency declaration, an
//! agency's receipt). The rest is beside it:
//! - [`change`]: one shipment being changed ([`change::Ledger`]) and the writes of the change;
//! - [`keyed`]: an order, payment, inventory, cancellation or return, into the shipment it
//!   names (U1 for payments, the Q1 quota check);
//! - [`waybill`]: a waybill, into the shipment its numbers point to, else kept waiting; and
//!   a waiting waybill joining the shipment that arrives later;
//! - [`index`]: the index entries the fold reads and writes (U1 numbers, waiting waybills,
//!   platforms of an order number, routed messages, quota totals).
//!
//! Pure: the store is seen only through [`Read`] and changed only through the [`Folded`]
//! writes returned.

mod change;
mod index;
mod keyed;
mod waybill;

use super::record::DocRef;
use crate::correlate::{self, rule, Agency, AgencyReceipt, Event, Meta};
use crate::domain::{Body, Declaration, Document, ShipmentKey};
use crate::report::Violation;
use crate::rules::Rules;
use crate::store::{Folded, Read, Refusal, StoreError};
use change::Ledger;
pub(super) use index::quota_total;
pub use index::Routing;

/// A declaration to fold in: the state machine's event (the document with its sender and
/// time) and where the declaration is stored.
#[derive(Debug)]
pub struct Arrival {
    /// `Event::Document`.
    pub event: Event,
    /// Its declaration record.
    pub at: DocRef,
}

impl Arrival {
    /// The CEB document it carries (`None` for agency declarations and receipts).
    pub(super) fn document(&self) -> Option<&Document<'static>> {
        match &self.event {
            Event::Document(
                Declaration {
                    body: Body::Ceb(doc),
                    ..
                },
                _,
            ) => Some(doc),
            _ => None,
        }
    }
}

/// Folds a declaration into its shipment. Declarations that are not one of the shipment's
/// documents (agency declarations, waybill statuses, …) are stored without correlation.
pub fn document(view: &dyn Read, arrival: &Arrival, rules: &Rules) -> Result<Folded, StoreError> {
    let Some(doc) = arrival.document() else {
        return Ok(Folded::default());
    };
    match doc {
        Document::Logistics(waybill) => waybill::waybill(view, arrival, waybill, rules),
        Document::Order(_)
        | Document::Payment(_)
        | Document::Inventory(_)
        | Document::InvtCancel(_)
        | Document::InvtRefund(_) => match correlate::key_of(doc) {
            Some(key) => keyed::keyed(view, arrival, &key, rules),
            None => Ok(Folded::default()),
        },
        _ => Ok(Folded::default()),
    }
}

/// Files the seller's agency declaration (stored under `at`) in shipment `key`, routing it
/// when the shipment is already routed.
pub fn agency_declaration(
    view: &dyn Read,
    agency: Agency,
    key: &ShipmentKey<'static>,
    at: &DocRef,
    rules: &Rules,
) -> Result<Folded, StoreError> {
    let mut ledger = Ledger::load_or_new(view, key, rules)?;
    let event = Event::AgencyDeclaration {
        agency,
        key: at.declaration_key(),
        meta: Meta {
            sender: at.sender.clone(),
            received_at: at.received_at,
        },
    };
    match ledger.take(correlate::apply(&ledger.shipment, &event, rules)) {
        Ok(()) => {
            ledger.docs.insert(agency.name().to_owned(), at.clone());
            ledger.finish(view)
        }
        Err(refusal) => Ok(Folded::Refuse(refusal)),
    }
}

/// Applies an agency's receipt to shipment `key`.
pub fn receipt(
    view: &dyn Read,
    key: &ShipmentKey<'static>,
    receipt: &AgencyReceipt,
    rules: &Rules,
) -> Result<Folded, StoreError> {
    let Some(mut ledger) = Ledger::load(view, key, rules)? else {
        return Ok(refuse(Violation::new(
            rule::RECEIPT,
            "orderNo",
            key.order_no.as_str(),
            format!("no shipment {} / {} is on file", key.ebp_code, key.order_no),
        )));
    };
    let outcome = correlate::apply(
        &ledger.shipment,
        &Event::AgencyReceipt(receipt.clone()),
        rules,
    );
    match ledger.take(outcome) {
        Ok(()) => ledger.finish(view),
        Err(refusal) => Ok(Folded::Refuse(refusal)),
    }
}

fn refuse(violation: Violation) -> Folded {
    Folded::Refuse(Refusal {
        ignored: false,
        violations: vec![violation],
    })
}
