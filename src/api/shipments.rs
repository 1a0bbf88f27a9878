//! The read side of the gateway: one shipment, shipments by enterprise and state, and the
//! stream of status events (resumable by sequence number). Reads the store directly; the
//! writer is never involved.

use std::pin::Pin;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::Stream;
use tonic::Status;

use super::identify::Credential;
use crate::auth::{policy, Caller, Denied};
use crate::domain::{EntCode, ShipmentKey, Text};
use crate::ledger::{self, Record, StatusEvent};
use crate::pb::v1;
use crate::store::Store;

/// Largest page of `ListShipments`.
pub const MAX_PAGE: usize = 1000;
/// Status events read from the store at a time by one watcher.
const WATCH_BATCH: usize = 256;
/// Status events a watcher keeps ready before it stops reading (a slow watcher slows only
/// itself).
const WATCH_WINDOW: usize = 64;

/// The stream of status events.
pub type EventStream = Pin<Box<dyn Stream<Item = Result<v1::StatusEvent, Status>> + Send>>;

/// Why a read is refused.
#[derive(Debug)]
pub enum Refused {
    /// By the policy: not the caller's shipment.
    Denied(Denied),
    /// Bad request, or the store failed.
    Status(Status),
}

impl From<Status> for Refused {
    fn from(status: Status) -> Refused {
        Refused::Status(status)
    }
}

/// `GetShipment` by `caller`. An enterprise reads only shipments it is a party to; asking for
/// another platform's order number is refused whether it is on file or not, so that a refusal
/// says nothing of what others have on file.
pub fn get(
    store: &Store,
    rules: &crate::rules::Rules,
    request: &v1::GetShipmentRequest,
    caller: &Caller,
) -> Result<v1::ShipmentView, Refused> {
    let key = key_of(request.shipment.as_ref())?;
    let record = ledger::record(store, &key).map_err(|e| super::status::store(&e))?;
    let own_platform = caller
        .enterprise()
        .is_none_or(|own| own == key.ebp_code.as_str());
    let readable = match &record {
        Some(record) => policy::may_read(caller, &record.enterprises),
        None => own_platform,
    };
    if !readable {
        return Err(Refused::Denied(Denied::because(format!(
            "shipment ebpCode {} orderNo {}: not a shipment of {}",
            key.ebp_code,
            key.order_no,
            caller.describe()
        ))));
    }
    let Some(record) = record else {
        return Err(Status::not_found(format!(
            "no shipment ebpCode {} orderNo {} is on file",
            key.ebp_code, key.order_no
        ))
        .into());
    };
    let receipt = ledger::inventory_receipt(store, &record, rules)
        .map_err(|e| super::status::store(&e))?
        .unwrap_or_default();
    Ok(v1::ShipmentView {
        inventory_receipt_xml: receipt,
        ..view(&record)
    })
}

/// `ListShipments`.
pub fn list(
    store: &Store,
    request: &v1::ListShipmentsRequest,
) -> Result<v1::ListShipmentsReply, Status> {
    if request.enterprise.is_empty() {
        return Err(Status::invalid_argument(
            "enterprise: required (the enterprise code whose shipments to list)",
        ));
    }
    let state = match request.state.as_str() {
        "" => None,
        name => Some(ledger::state_named(name).ok_or_else(|| {
            Status::invalid_argument(format!(
                "state: {name:?} is not a shipment state (collecting, complete, routed, held, released, rejected, cancelled, returned)"
            ))
        })?),
    };
    let size = match request.page_size as usize {
        0 => 100,
        n if n <= MAX_PAGE => n,
        n => {
            return Err(Status::invalid_argument(format!(
                "page_size: {n} is over the maximum {MAX_PAGE}"
            )))
        }
    };
    let after = decode_token(&request.page_token)?;
    let (records, next) = ledger::list(store, &request.enterprise, state, &after, size)
        .map_err(|e| super::status::store(&e))?;
    Ok(v1::ListShipmentsReply {
        shipments: records
            .iter()
            .map(|r| v1::ShipmentSummary {
                shipment: Some(pb_key(&r.ebp, &r.order_no)),
                state: r.state.clone(),
                updated_at_unix_ms: r.history.last().map_or_else(
                    || r.docs.values().map(|d| d.received_at).max().unwrap_or(0),
                    |t| t.at,
                ),
            })
            .collect(),
        next_page_token: encode_token(&next),
    })
}

/// `WatchShipments`: events after the requested sequence, then live ones as they are written.
pub fn watch(
    store: Store,
    request: v1::WatchShipmentsRequest,
    credential: Option<Credential>,
    mut closing: tokio::sync::watch::Receiver<bool>,
) -> EventStream {
    let (tx, rx) = mpsc::channel(WATCH_WINDOW);
    let mut written = store.subscribe();
    tokio::spawn(async move {
        let mut after = request.after_sequence;
        loop {
            let events = match store.events_after(after, WATCH_BATCH) {
                Ok(events) => events,
                Err(e) => {
                    let _ = tx.send(Err(super::status::store(&e))).await;
                    return;
                }
            };
            if events.is_empty() {
                tokio::select! {
                    changed = written.changed() => if changed.is_err() { return },
                    () = tx.closed() => return,
                    () = closed(&mut closing) => {
                        let _ = tx.send(Err(Status::unavailable("the gateway is shutting down; resume from the last sequence"))).await;
                        return;
                    }
                }
                continue;
            }
            // A certificate revoked while the watch is open is sent nothing more.
            if let Some(Err(denied)) = credential.as_ref().map(Credential::still_valid) {
                let _ = tx.send(Err(denied.status())).await;
                return;
            }
            for (sequence, bytes) in events {
                after = sequence;
                let Ok(event) = StatusEvent::from_bytes(&bytes) else {
                    continue;
                };
                if !request.enterprise.is_empty()
                    && !event.enterprises.contains(&request.enterprise)
                {
                    continue;
                }
                if tx.send(Ok(status_event(sequence, event))).await.is_err() {
                    return;
                }
            }
        }
    });
    Box::pin(ReceiverStream::new(rx))
}

/// Completes once `closing` is true (or its sender is gone).
async fn closed(closing: &mut tokio::sync::watch::Receiver<bool>) {
    loop {
        if *closing.borrow_and_update() {
            return;
        }
        if closing.changed().await.is_err() {
            return;
        }
    }
}

fn status_event(sequence: u64, e: StatusEvent) -> v1::StatusEvent {
    v1::StatusEvent {
        sequence,
        shipment: Some(pb_key(&e.ebp, &e.order_no)),
        from: e.from,
        state: e.state,
        at_unix_ms: e.at,
        cause: e.cause,
    }
}

fn view(r: &Record) -> v1::ShipmentView {
    v1::ShipmentView {
        shipment: Some(pb_key(&r.ebp, &r.order_no)),
        state: r.state.clone(),
        history: r
            .history
            .iter()
            .map(|t| v1::Transition {
                at_unix_ms: t.at,
                from: t.from.clone(),
                to: t.to.clone(),
                cause: t.cause.clone(),
            })
            .collect(),
        documents: r
            .docs
            .iter()
            .map(|(kind, d)| v1::FiledDocument {
                kind: kind.clone(),
                guid: d.key.clone(),
                sender: d.sender.clone(),
                received_at_unix_ms: d.received_at,
            })
            .collect(),
        agencies: r
            .agencies
            .iter()
            .map(|(agency, a)| v1::AgencyStatus {
                agency: agency.clone(),
                return_status: a.status.unwrap_or(0),
                return_info: a.text.clone(),
                at_unix_ms: a.at,
                phase: a.phase.clone(),
                routed: a.routed,
            })
            .collect(),
        enterprises: r.enterprises.clone(),
        quota_counted: r
            .quota
            .as_ref()
            .map_or_else(String::new, |q| q.amount.clone()),
        inventory_receipt_xml: Vec::new(),
    }
}

fn key_of(key: Option<&v1::ShipmentKey>) -> Result<ShipmentKey<'static>, Status> {
    let key = key.ok_or_else(|| Status::invalid_argument("shipment: required"))?;
    let ebp_code = EntCode::parse_str(key.ebp_code.clone()).map_err(|e| {
        Status::invalid_argument(format!("shipment.ebp_code: {:?}: {e}", key.ebp_code))
    })?;
    if key.order_no.is_empty() {
        return Err(Status::invalid_argument("shipment.order_no: required"));
    }
    Ok(ShipmentKey {
        ebp_code,
        order_no: Text(std::borrow::Cow::Owned(key.order_no.clone())),
    })
}

fn pb_key(ebp: &str, order_no: &str) -> v1::ShipmentKey {
    v1::ShipmentKey {
        ebp_code: ebp.to_owned(),
        order_no: order_no.to_owned(),
    }
}

/// A page token: the last key of the page, hex.
pub(super) fn encode_token(key: &[u8]) -> String {
    crate::hex::encode(key)
}

/// The key of a page token.
pub(super) fn decode_token(token: &str) -> Result<Vec<u8>, Status> {
    crate::hex::decode(token)
        .ok_or_else(|| Status::invalid_argument("page_token: not a token this gateway gave out"))
}
