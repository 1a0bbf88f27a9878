//! The index entries the fold reads and writes beside the shipment records (their keys are
//! in [`crate::ledger::keys`]): which agency and shipment a routed message went to, which
//! document holds a waybill or payment number (U1), the waybills waiting for their order, the
//! platforms with a shipment of an order number (K4), and the buyers' quota totals.

use serde::{Deserialize, Serialize};

use crate::domain::records::{Logistics, Payment};
use crate::domain::Decimal;
use crate::ledger::keys;
use crate::ledger::record::DocRef;
use crate::store::{Read, StoreError, Tree};

/// A routed message's index entry: to which agency, for which shipment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Routing {
    /// Agency name.
    pub agency: String,
    /// Shipment `ebpCode`.
    pub ebp: String,
    /// Shipment `orderNo`.
    pub order_no: String,
}

/// A U1 index entry: the document holding a number, and its shipment (none while a waybill
/// waits for its order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Numbered {
    pub(super) shipment: Option<(String, String)>,
    pub(super) guid: String,
    /// The waybill's own orderNo (where it waits, while it has no shipment).
    #[serde(default)]
    pub(super) order_no: String,
}

impl Numbered {
    pub(super) fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub(super) fn read(view: &dyn Read, key: &[u8]) -> Result<Option<Numbered>, StoreError> {
        view.read(Tree::Index, key)?
            .map(|b| {
                serde_json::from_slice(&b)
                    .map_err(|e| StoreError::Corrupt(format!("U1 index: {e}")))
            })
            .transpose()
    }
}

/// A waybill waiting for a shipment to join.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Pending {
    pub(super) at: DocRef,
    pub(super) logistics_code: String,
    pub(super) logistics_no: String,
}

pub(super) fn waybill_number(w: &Logistics<'_>) -> Option<Vec<u8>> {
    Some(keys::logistics_no(
        w.head.logistics_code.as_ref()?.as_str(),
        w.head.logistics_no.as_ref()?.as_str(),
    ))
}

pub(super) fn payment_number(p: &Payment<'_>) -> Option<Vec<u8>> {
    Some(keys::pay_transaction(
        p.head.pay_code.as_ref()?.as_str(),
        p.head.pay_transaction_id.as_ref()?.as_str(),
    ))
}

pub(super) fn platforms(view: &dyn Read, key: &[u8]) -> Result<Vec<String>, StoreError> {
    view.read(Tree::Index, key)?
        .map(|b| {
            serde_json::from_slice(&b)
                .map_err(|e| StoreError::Corrupt(format!("orderNo index: {e}")))
        })
        .transpose()
        .map(Option::unwrap_or_default)
}

pub(super) fn pending(view: &dyn Read, key: &[u8]) -> Result<Vec<Pending>, StoreError> {
    view.read(Tree::Index, key)?
        .map(|b| {
            serde_json::from_slice(&b)
                .map_err(|e| StoreError::Corrupt(format!("pending waybills: {e}")))
        })
        .transpose()
        .map(Option::unwrap_or_default)
}

/// The buyer's counted total for a quota key.
pub(in crate::ledger) fn quota_total(view: &dyn Read, key: &[u8]) -> Result<Decimal, StoreError> {
    let Some(bytes) = view.read(Tree::Quotas, key)? else {
        return Ok(Decimal::ZERO);
    };
    std::str::from_utf8(&bytes)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| StoreError::Corrupt("quota total".into()))
}
