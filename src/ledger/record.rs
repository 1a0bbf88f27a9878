//! A shipment as stored: the state machine's plain data, with each document on file kept by
//! reference to its declaration record (the canonical CEB XML the gateway accepted), so a
//! shipment record stays small and a document is stored once.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ceb;
use crate::ceb::Limits;
use crate::correlate::{Agency, AgencyState, Filed, Phase, Quota, Shipment, State, Transition};
use crate::domain::records::{InvtCancel, InvtRefund};
use crate::domain::{
    AppStatus, Body, Document, EntCode, Guid, IdNumber, ReturnStatus, ShipmentKey, Text, Timestamp,
};
use crate::ingest::record_key;
use crate::store::{Read, StoreError, Tree};

/// The stored form of a [`Shipment`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// `ebpCode`.
    pub ebp: String,
    /// `orderNo`.
    pub order_no: String,
    /// The state's name.
    pub state: String,
    /// Documents on file: kind → reference.
    pub docs: BTreeMap<String, DocRef>,
    /// Every transition.
    pub history: Vec<Step>,
    /// The agencies' parts and last receipts.
    pub agencies: BTreeMap<String, Receipt>,
    /// What the shipment counted toward its buyer's quota.
    pub quota: Option<Counted>,
    /// The enterprises the shipment is listed under (the index written with it).
    pub enterprises: Vec<String>,
}

/// Where a document on file is: its declaration record, and what is not in the document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocRef {
    /// Sending enterprise.
    pub sender: String,
    /// Idempotency key (the guid).
    pub key: String,
    /// Unix milliseconds.
    pub received_at: u64,
}

impl DocRef {
    /// `sender/key`: how the shipment names an agency declaration on file.
    pub fn declaration_key(&self) -> String {
        format!("{}/{}", self.sender, self.key)
    }
}

/// One transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// Unix milliseconds.
    pub at: u64,
    /// State left.
    pub from: String,
    /// State entered.
    pub to: String,
    /// Why.
    pub cause: String,
}

/// Where an agency's part stands, with its last receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The phase's name (not-required, routed, passed, held, rejected).
    pub phase: String,
    /// Messages routed to the agency for the shipment.
    pub routed: u32,
    /// The agency's current message id.
    #[serde(default)]
    pub message: String,
    /// CEB returnStatus of the last receipt (none before the first).
    pub status: Option<i32>,
    /// returnInfo.
    pub text: String,
    /// Unix milliseconds.
    pub at: u64,
}

/// Quota counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counted {
    /// Buyer's ID number (stored data; never shown unmasked).
    pub buyer: String,
    /// CNY.
    pub amount: String,
    /// Year.
    pub year: u32,
}

/// Parses a state name.
pub fn state_named(name: &str) -> Option<State> {
    [
        State::Collecting,
        State::Complete,
        State::Routed,
        State::Held,
        State::Released,
        State::Rejected,
        State::Cancelled,
        State::Returned,
    ]
    .into_iter()
    .find(|s| s.name() == name)
}

fn agency_named(name: &str) -> Option<Agency> {
    Agency::named(name)
}

impl Record {
    /// The record of `shipment`, with the references of its documents and the enterprises
    /// it is listed under. Documents keep the references they had in `refs` unless replaced.
    pub fn of(
        shipment: &Shipment,
        docs: BTreeMap<String, DocRef>,
        enterprises: Vec<String>,
    ) -> Record {
        Record {
            ebp: shipment.key.ebp_code.as_str().to_owned(),
            order_no: shipment.key.order_no.as_str().to_owned(),
            state: shipment.state.name().to_owned(),
            docs,
            history: shipment
                .history
                .iter()
                .map(|t| Step {
                    at: t.at,
                    from: t.from.name().to_owned(),
                    to: t.to.name().to_owned(),
                    cause: t.cause.clone(),
                })
                .collect(),
            agencies: shipment
                .agencies
                .iter()
                .map(|(a, s)| {
                    (
                        a.name().to_owned(),
                        Receipt {
                            phase: s.phase.name().to_owned(),
                            routed: s.routed,
                            message: s.message.clone(),
                            status: s.status.map(|c| c.0),
                            text: s.text.clone(),
                            at: s.at,
                        },
                    )
                })
                .collect(),
            quota: shipment.quota.as_ref().map(|q| Counted {
                buyer: q.buyer.as_str().to_owned(),
                amount: q.amount.to_string(),
                year: q.year,
            }),
            enterprises,
        }
    }

    /// JSON bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// From JSON bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Record, StoreError> {
        serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(format!("shipment: {e}")))
    }

    /// The shipment key.
    pub fn key(&self) -> Result<ShipmentKey<'static>, StoreError> {
        Ok(ShipmentKey {
            ebp_code: EntCode::parse_str(self.ebp.clone())
                .map_err(|e| StoreError::Corrupt(format!("shipment ebpCode: {e}")))?,
            order_no: Text(Cow::Owned(self.order_no.clone())),
        })
    }

    /// The shipment, its documents read back from their declaration records.
    pub fn load(&self, store: &dyn Read, limits: &Limits) -> Result<Shipment, StoreError> {
        let corrupt =
            |what: &str| StoreError::Corrupt(format!("shipment {}: {what}", self.order_no));
        let mut s = Shipment::new(self.key()?);
        s.state = state_named(&self.state).ok_or_else(|| corrupt("state"))?;
        for (kind, r) in &self.docs {
            if let Some(agency) = Agency::named(kind) {
                s.declared.insert(agency, r.declaration_key());
                continue;
            }
            let doc = document(store, r, limits)?;
            match (kind.as_str(), doc) {
                ("order", Document::Order(d)) => {
                    s.order = Some(filed(
                        d.head.guid.clone(),
                        d.head.app_time,
                        d.head.app_status,
                        r,
                        d,
                    ))
                }
                ("payment", Document::Payment(d)) => {
                    s.payment = Some(filed(
                        d.head.guid.clone(),
                        d.head.app_time,
                        d.head.app_status,
                        r,
                        d,
                    ))
                }
                ("waybill", Document::Logistics(d)) => {
                    s.waybill = Some(filed(
                        d.head.guid.clone(),
                        d.head.app_time,
                        d.head.app_status,
                        r,
                        d,
                    ))
                }
                ("inventory", Document::Inventory(d)) => {
                    s.inventory = Some(filed(
                        d.head.guid.clone(),
                        d.head.app_time,
                        d.head.app_status,
                        r,
                        d,
                    ))
                }
                ("cancel", Document::InvtCancel(d)) => {
                    s.cancel = Some(filed::<InvtCancel<'static>>(
                        d.guid.clone(),
                        d.app_time,
                        d.app_status,
                        r,
                        d,
                    ))
                }
                ("return", Document::InvtRefund(d)) => {
                    s.refund = Some(filed::<InvtRefund<'static>>(
                        d.head.guid.clone(),
                        d.head.app_time,
                        d.head.app_status,
                        r,
                        d,
                    ))
                }
                _ => return Err(corrupt(&format!("document {kind}"))),
            }
        }
        for step in &self.history {
            s.history.push(Transition {
                at: step.at,
                from: state_named(&step.from).ok_or_else(|| corrupt("history"))?,
                to: state_named(&step.to).ok_or_else(|| corrupt("history"))?,
                cause: step.cause.clone(),
            });
        }
        for (name, r) in &self.agencies {
            let agency = agency_named(name).ok_or_else(|| corrupt("agency"))?;
            s.agencies.insert(
                agency,
                AgencyState {
                    phase: Phase::named(&r.phase).ok_or_else(|| corrupt("agency phase"))?,
                    status: r.status.map(ReturnStatus),
                    text: r.text.clone(),
                    at: r.at,
                    routed: r.routed,
                    message: r.message.clone(),
                },
            );
        }
        s.refresh_buyer();
        if let Some(q) = &self.quota {
            s.quota = Some(Quota {
                buyer: IdNumber::parse_str(q.buyer.clone()).map_err(|_| corrupt("quota buyer"))?,
                amount: q.amount.parse().map_err(|_| corrupt("quota amount"))?,
                year: q.year,
            });
        }
        Ok(s)
    }
}

fn filed<T>(
    guid: Option<Guid<'static>>,
    app_time: Option<Timestamp>,
    app_status: Option<AppStatus>,
    r: &DocRef,
    doc: T,
) -> Filed<T> {
    Filed {
        doc,
        guid,
        app_time,
        app_status: app_status.unwrap_or(AppStatus::Declare),
        sender: r.sender.clone(),
        received_at: r.received_at,
    }
}

/// A declaration on file, decoded.
pub fn document(
    store: &dyn Read,
    r: &DocRef,
    limits: &Limits,
) -> Result<Document<'static>, StoreError> {
    let corrupt = |what: String| StoreError::Corrupt(format!("declaration {}: {what}", r.key));
    let bytes = store
        .read(Tree::Declarations, &record_key(&r.sender, &r.key))?
        .ok_or_else(|| corrupt("missing".into()))?;
    let text = std::str::from_utf8(&bytes).map_err(|e| corrupt(e.to_string()))?;
    let message = ceb::decode_stored(text, limits).map_err(|e| corrupt(e.to_string()))?;
    match message.blocks.into_iter().next().map(|b| b.body) {
        Some(Body::Ceb(doc)) => Ok(doc.into_owned()),
        _ => Err(corrupt("no block".into())),
    }
}
