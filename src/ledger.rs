//! The ledger: shipments kept in the store. The shell around the pure state machine
//! ([`crate::correlate`]): each accepted declaration carries a [`Fold`] that the store's writer
//! runs on the state on file, so events on one shipment are applied one at a time, in the
//! order they are written, and a shipment's documents, state, indexes, quota totals, outbox
//! rows and status events change in the same atomic write as the declaration itself.
//!
//! Readers (get, list, watch) read the store directly.

mod fold;
mod keys;
pub mod outbound;
mod record;
mod status;

use std::collections::BTreeSet;
use std::sync::Arc;

pub use fold::Arrival;
pub use fold::Routing;
pub use record::{DocRef, Record};
pub use status::StatusEvent;

use crate::correlate::{Agency, AgencyReceipt, Meta, Shipment, State};
use crate::domain::{Declaration, ShipmentKey};
use crate::rules::Rules;
use crate::store::{content_hash, Accepted, Fold, Read, Store, StoreError, Tree};

/// The fold of a declaration that arrives from `meta.sender`, stored under `at`.
pub fn fold_declaration(
    declaration: Declaration<'static>,
    meta: Meta,
    at: DocRef,
    rules: Arc<Rules>,
) -> Fold {
    let arrival = Arrival {
        event: crate::correlate::Event::Document(declaration, meta),
        at,
    };
    Fold::new(move |view| fold::document(view, &arrival, &rules))
}

/// The fold of the seller's agency declaration for `agency`, stored under `at`, filed in
/// shipment `key`.
pub fn fold_agency_declaration(
    agency: Agency,
    key: ShipmentKey<'static>,
    at: DocRef,
    rules: Arc<Rules>,
) -> Fold {
    Fold::new(move |view| fold::agency_declaration(view, agency, &key, &at, &rules))
}

/// Where routed message `message_id` went: its agency and shipment.
pub fn routing(store: &Store, message_id: &str) -> Result<Option<Routing>, StoreError> {
    store
        .get(Tree::Index, &keys::message(message_id))?
        .map(|bytes| {
            serde_json::from_slice(&bytes)
                .map_err(|e| StoreError::Corrupt(format!("message index: {e}")))
        })
        .transpose()
}

/// The store event of an agency's receipt `id` for shipment `key` (its idempotency key is the
/// receipt id, scoped to the agency).
pub fn receipt_event(
    id: &str,
    key: ShipmentKey<'static>,
    receipt: AgencyReceipt,
    rules: Arc<Rules>,
) -> Accepted {
    let sender = format!("agency:{}", receipt.agency.name());
    let content = content_hash(
        format!(
            "{}\0{}\0{}\0{}\0{}",
            receipt.message_id, key.ebp_code, key.order_no, receipt.status, receipt.text
        )
        .as_bytes(),
    );
    let audit = format!(
        "{} receipt {id} {} / {}: {}",
        sender, key.ebp_code, key.order_no, receipt.status
    );
    Accepted {
        sender,
        key: id.to_owned(),
        content,
        reply: Vec::new(),
        puts: Vec::new(),
        outbox: Vec::new(),
        audit: audit.into_bytes(),
        fold: Some(Fold::new(move |view| {
            fold::receipt(view, &key, &receipt, &rules)
        })),
    }
}

/// The record of shipment `key`, if on file.
pub fn record(store: &Store, key: &ShipmentKey<'_>) -> Result<Option<Record>, StoreError> {
    store
        .get(Tree::Shipments, &keys::shipment(key))?
        .map(|bytes| Record::from_bytes(&bytes))
        .transpose()
}

/// The shipment `key` and its record, if on file.
pub fn get(
    store: &Store,
    key: &ShipmentKey<'_>,
    rules: &Rules,
) -> Result<Option<(Shipment, Record)>, StoreError> {
    let Some(bytes) = store.get(Tree::Shipments, &keys::shipment(key))? else {
        return Ok(None);
    };
    let record = Record::from_bytes(&bytes)?;
    let shipment = record.load(store as &dyn Read, &rules.limits)?;
    Ok(Some((shipment, record)))
}

/// One page of the shipments `enterprise` takes part in (in `state`, when given), in key
/// order after the page token `after` ("" for the first page); with the token of the next
/// page ("" when this is the last).
pub fn list(
    store: &Store,
    enterprise: &str,
    state: Option<State>,
    after: &[u8],
    limit: usize,
) -> Result<(Vec<Record>, Vec<u8>), StoreError> {
    let prefix = keys::by_enterprise_prefix(enterprise, state);
    if !after.is_empty() && !after.starts_with(&prefix) {
        return Ok((Vec::new(), Vec::new()));
    }
    let entries = store.page(Tree::Index, &prefix, after, limit.saturating_add(1))?;
    let more = entries.len() > limit;
    let mut records = Vec::with_capacity(limit.min(entries.len()));
    let mut last = Vec::new();
    for (index, _) in entries.into_iter().take(limit) {
        let Some((ebp, order_no)) = keys::shipment_of_index(&index) else {
            continue;
        };
        let key = [ebp.as_bytes(), order_no.as_bytes()].join(&0u8);
        if let Some(bytes) = store.get(Tree::Shipments, &key)? {
            records.push(Record::from_bytes(&bytes)?);
        }
        last = index;
    }
    Ok((records, if more { last } else { Vec::new() }))
}

/// The CEB622 receipt of the shipment's inventory with customs' last decision (800 once
/// released), for XML senders; `None` until customs has decided anything, and for a cancelled
/// shipment (whatever customs said last, the inventory is withdrawn).
pub fn inventory_receipt(
    store: &Store,
    record: &Record,
    rules: &Rules,
) -> Result<Option<Vec<u8>>, StoreError> {
    use crate::ceb::encode::{encode, receipt_for, receipt_message, Outcome};
    use crate::domain::{Body, MessageKind, ReceiptTime, ReturnStatus};
    let (Some(customs), Some(at)) = (record.agencies.get("customs"), record.docs.get("inventory"))
    else {
        return Ok(None);
    };
    let Some(status) = customs
        .status
        .filter(|_| record.state != State::Cancelled.name())
    else {
        return Ok(None);
    };
    let inventory = record::document(store as &dyn Read, at, &rules.limits)?;
    let pre_no = crate::ingest::pre_no(&at.key);
    let block = receipt_for(
        &Declaration::new(Body::Ceb(inventory)),
        Outcome {
            status: ReturnStatus(status),
            info: &customs.text,
            time: ReceiptTime::from_unix_millis(customs.at),
            pre_no: &pre_no,
        },
    );
    Ok(block.map(|b| encode(&receipt_message(MessageKind::Ceb622, &at.key, vec![b])).into_bytes()))
}

/// The buyer's total counted toward the annual quota of `year`.
pub fn quota_used(
    store: &Store,
    buyer: &crate::domain::IdNumber<'_>,
    year: u32,
) -> Result<crate::domain::Decimal, StoreError> {
    fold::quota_total(store, &keys::quota(buyer, year))
}

/// Parses a state name ("collecting", "routed", …).
pub fn state_named(name: &str) -> Option<State> {
    record::state_named(name)
}

/// The enterprises that take part in a shipment, as its platform's own documents say: the
/// platform; the codes the order names (e-commerce enterprise, payment enterprise) and the
/// inventory names (e-commerce enterprise, agent, logistics enterprise, guarantor); and the
/// senders of the order and the inventory. A payment's or a waybill's enterprise (or sender),
/// or a cancellation's or return's sender, takes part only once the order or the inventory
/// names it: a document that joins the shipment by its order number does not by itself make
/// its sender a party (it could then read another platform's shipment).
pub fn enterprises(s: &Shipment) -> Vec<String> {
    let mut set = BTreeSet::from([s.key.ebp_code.as_str().to_owned()]);
    let mut add = |c: &str| {
        if !c.is_empty() {
            set.insert(c.to_owned());
        }
    };
    if let Some(o) = &s.order {
        let h = &o.doc.head;
        for c in [&h.ebc_code, &h.pay_code].into_iter().flatten() {
            add(c.as_str());
        }
        add(&o.sender);
    }
    if let Some(i) = &s.inventory {
        let h = &i.doc.head;
        let named = [
            &h.ebc_code,
            &h.agent_code,
            &h.logistics_code,
            &h.assure_code,
        ];
        for c in named.into_iter().flatten() {
            add(c.as_str());
        }
        add(&i.sender);
    }
    set.into_iter().collect()
}
