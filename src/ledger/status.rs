//! Status events: what watchers of shipments are told, one per state change (and one when a
//! shipment is first seen), numbered by the store in the order they were written.

use serde::{Deserialize, Serialize};

use crate::correlate::{Shipment, Transition};
use crate::store::StoreError;

/// One status event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusEvent {
    /// Shipment `ebpCode`.
    pub ebp: String,
    /// Shipment `orderNo`.
    pub order_no: String,
    /// The state left ("" when the shipment was first seen).
    pub from: String,
    /// The state entered.
    pub state: String,
    /// Unix milliseconds (the time carried by the event that caused it).
    pub at: u64,
    /// Why.
    pub cause: String,
    /// The enterprises taking part, who may watch it.
    pub enterprises: Vec<String>,
}

impl StatusEvent {
    /// The shipment was first seen.
    pub fn created(s: &Shipment, enterprises: &[String]) -> StatusEvent {
        let first = s.history.first();
        StatusEvent {
            ebp: s.key.ebp_code.as_str().to_owned(),
            order_no: s.key.order_no.as_str().to_owned(),
            from: String::new(),
            state: first.map_or(s.state, |t| t.from).name().to_owned(),
            at: first.map_or_else(|| latest_received(s), |t| t.at),
            cause: "first document on file".to_owned(),
            enterprises: enterprises.to_vec(),
        }
    }

    /// A transition of `s`.
    pub fn step(s: &Shipment, t: &Transition, enterprises: &[String]) -> StatusEvent {
        StatusEvent {
            ebp: s.key.ebp_code.as_str().to_owned(),
            order_no: s.key.order_no.as_str().to_owned(),
            from: t.from.name().to_owned(),
            state: t.to.name().to_owned(),
            at: t.at,
            cause: t.cause.clone(),
            enterprises: enterprises.to_vec(),
        }
    }

    /// JSON bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// From JSON bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<StatusEvent, StoreError> {
        serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(format!("status event: {e}")))
    }
}

/// When the last document on file was received (Unix milliseconds; 0 with none).
fn latest_received(s: &Shipment) -> u64 {
    [
        s.order.as_ref().map(|f| f.received_at),
        s.payment.as_ref().map(|f| f.received_at),
        s.waybill.as_ref().map(|f| f.received_at),
        s.inventory.as_ref().map(|f| f.received_at),
    ]
    .into_iter()
    .flatten()
    .max()
    .unwrap_or(0)
}
