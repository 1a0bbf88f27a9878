//! The agency side of the gateway: agencies report decisions (`Receipts`), operators handle
//! dead letters (`Admin`). A receipt finds its shipment through the message it decides on;
//! one for a message never routed is kept as an orphan dead letter.

use std::sync::Arc;

use prost::Message;
use tonic::{Request, Response, Status};

use super::identify::{caller_of, note_of, refuse};
use super::{CallNote, State};
use crate::auth::{policy, Caller, Denied};
use crate::correlate::AgencyReceipt;
use crate::dispatch::dead::{self, DeadLetter};
use crate::domain::{Agency, EntCode, ReturnStatus, ShipmentKey, Text};
use crate::ledger;
use crate::pb::v1;
use crate::pb::v1::admin_server::Admin;
use crate::pb::v1::receipts_server::Receipts;
use crate::store::Committed;
use crate::telemetry::count;

/// The `Receipts` and `Admin` services.
#[derive(Clone)]
pub struct AgencySide {
    state: Arc<State>,
}

impl AgencySide {
    /// Over the shared state.
    pub fn new(state: Arc<State>) -> AgencySide {
        AgencySide { state }
    }

    /// Applies one receipt reported by `caller`: an agency reports only as itself, and only
    /// for messages routed to it.
    pub async fn report_one(
        &self,
        caller: &Caller,
        note: &CallNote,
        r: v1::AgencyReceipt,
    ) -> Result<v1::ReceiptAck, Status> {
        note.message_id(&r.message_id);
        let store = &self.state.store;
        if r.receipt_id.is_empty() || r.message_id.is_empty() {
            return Err(Status::invalid_argument(
                "receipt_id and message_id: both are required",
            ));
        }
        let agency = Agency::named(&r.agency).ok_or_else(|| {
            Status::invalid_argument(format!(
                "agency: {:?} is not customs, inspection, fx or tax",
                r.agency
            ))
        })?;
        policy::report(caller, agency).map_err(|d| refuse(note, &d))?;
        let store_err = |e| super::status::store(&e);
        let Some(routing) = ledger::routing(store, &r.message_id).map_err(store_err)? else {
            count::receipt(&r.agency, ReturnStatus(r.return_status), "orphan");
            let letter = orphan(&r);
            let detail = letter.reason.clone();
            dead::bury(store, None, letter).await.map_err(store_err)?;
            return Ok(ack(v1::ReceiptOutcome::Orphan, detail, String::new()));
        };
        if routing.agency != r.agency {
            // Not which agency it went to: that is no business of the caller's.
            let denied = Denied::because(format!(
                "message {} was not routed to {}",
                r.message_id, r.agency
            ));
            return Err(refuse(note, &denied));
        }
        let key = ShipmentKey {
            ebp_code: EntCode::parse_str(routing.ebp.clone())
                .map_err(|e| Status::internal(format!("message index of {}: {e}", r.message_id)))?,
            order_no: Text(routing.order_no.clone().into()),
        };
        let event = ledger::receipt_event(
            &r.receipt_id,
            key.clone(),
            AgencyReceipt {
                agency,
                message_id: r.message_id.clone(),
                status: ReturnStatus(r.return_status),
                text: r.return_info.clone(),
                at: r.at_unix_ms,
            },
            self.state.rules.clone(),
        );
        let committed = store.commit(event).await.map_err(store_err)?;
        let state = ledger::record(store, &key)
            .map_err(store_err)?
            .map_or_else(String::new, |rec| rec.state);
        Ok(match committed {
            Committed::New { .. } => {
                count::receipt(&r.agency, ReturnStatus(r.return_status), "applied");
                ack(v1::ReceiptOutcome::Applied, String::new(), state)
            }
            Committed::Repeat { .. } => {
                count::receipt(&r.agency, ReturnStatus(r.return_status), "repeat");
                ack(v1::ReceiptOutcome::Repeat, String::new(), state)
            }
            Committed::Refused(refusal) => {
                count::receipt(&r.agency, ReturnStatus(r.return_status), "ignored");
                let detail = refusal
                    .violations
                    .iter()
                    .map(|v| format!("[{}] {}", v.rule, v.message))
                    .collect::<Vec<_>>()
                    .join("; ");
                ack(v1::ReceiptOutcome::Ignored, detail, state)
            }
            Committed::Conflict => {
                return Err(Status::already_exists(format!(
                    "receipt_id {} was reported before with other content",
                    r.receipt_id
                )))
            }
        })
    }
}

fn ack(outcome: v1::ReceiptOutcome, detail: String, state: String) -> v1::ReceiptAck {
    v1::ReceiptAck {
        outcome: outcome as i32,
        detail,
        shipment_state: state,
    }
}

fn orphan(r: &v1::AgencyReceipt) -> DeadLetter {
    DeadLetter {
        id: format!("orphan:{}:{}", r.agency, r.receipt_id),
        agency: r.agency.clone(),
        kind: dead::ORPHAN.to_owned(),
        message_id: r.message_id.clone(),
        ebp: String::new(),
        order_no: String::new(),
        reason: format!("receipt for message {} that was never routed", r.message_id),
        attempts: Vec::new(),
        at: crate::clock::unix_millis(),
        body: crate::hex::encode(&r.encode_to_vec()),
    }
}

#[tonic::async_trait]
impl Receipts for AgencySide {
    async fn report(
        &self,
        request: Request<v1::AgencyReceipt>,
    ) -> Result<Response<v1::ReceiptAck>, Status> {
        let (caller, note) = (caller_of(&request), note_of(&request));
        self.report_one(&caller, &note, request.into_inner())
            .await
            .map(Response::new)
    }
}

fn view(letter: &DeadLetter) -> v1::DeadLetter {
    let body = letter.body_bytes();
    v1::DeadLetter {
        id: letter.id.clone(),
        agency: letter.agency.clone(),
        kind: letter.kind.clone(),
        message_id: letter.message_id.clone(),
        shipment: Some(v1::ShipmentKey {
            ebp_code: letter.ebp.clone(),
            order_no: letter.order_no.clone(),
        }),
        reason: letter.reason.clone(),
        attempts: letter
            .attempts
            .iter()
            .map(|a| v1::Attempt {
                number: a.number,
                at_unix_ms: a.at,
                error: a.error.clone(),
            })
            .collect(),
        at_unix_ms: letter.at,
        receipt: (letter.kind == dead::ORPHAN)
            .then(|| v1::AgencyReceipt::decode(body.as_slice()).ok())
            .flatten(),
    }
}

#[tonic::async_trait]
impl Admin for AgencySide {
    async fn list_dead_letters(
        &self,
        request: Request<v1::ListDeadLettersRequest>,
    ) -> Result<Response<v1::ListDeadLettersReply>, Status> {
        let r = request.into_inner();
        let limit = match r.page_size {
            0 => 100,
            n => (n as usize).min(1000),
        };
        let after = super::shipments::decode_token(&r.page_token)?;
        let (letters, next) = dead::list(&self.state.store, &r.agency, &after, limit)
            .map_err(|e| super::status::store(&e))?;
        Ok(Response::new(v1::ListDeadLettersReply {
            dead_letters: letters.iter().map(view).collect(),
            next_page_token: super::shipments::encode_token(&next),
        }))
    }

    async fn get_dead_letter(
        &self,
        request: Request<v1::DeadLetterRequest>,
    ) -> Result<Response<v1::DeadLetter>, Status> {
        note_of(&request).message_id(&request.get_ref().id);
        let id = request.into_inner().id;
        match dead::get(&self.state.store, &id).map_err(|e| super::status::store(&e))? {
            Some(letter) => Ok(Response::new(view(&letter))),
            None => Err(Status::not_found(format!("no dead letter {id:?}"))),
        }
    }

    async fn replay_dead_letter(
        &self,
        request: Request<v1::DeadLetterRequest>,
    ) -> Result<Response<v1::ReplayReply>, Status> {
        let (caller, note) = (caller_of(&request), note_of(&request));
        note.message_id(&request.get_ref().id);
        let id = request.into_inner().id;
        let store = &self.state.store;
        let store_err = |e| super::status::store(&e);
        let Some(letter) = dead::get(store, &id).map_err(store_err)? else {
            return Err(Status::not_found(format!("no dead letter {id:?}")));
        };
        if letter.kind == dead::DELIVERY {
            dead::replay_delivery(store, &letter)
                .await
                .map_err(store_err)?;
            return Ok(Response::new(v1::ReplayReply {
                message_id: letter.message_id,
                detail: format!("back in the {} outbox", letter.agency),
            }));
        }
        let receipt = v1::AgencyReceipt::decode(letter.body_bytes().as_slice())
            .map_err(|e| Status::internal(format!("dead letter {id}: {e}")))?;
        if ledger::routing(store, &receipt.message_id)
            .map_err(store_err)?
            .is_none()
        {
            return Err(Status::failed_precondition(format!(
                "message {} is still unknown: the receipt stays an orphan",
                receipt.message_id
            )));
        }
        // Applied as the operator who replays it: the agency reported it before.
        let outcome = self.report_one(&caller, &note, receipt).await?;
        dead::remove(store, &id, "replayed")
            .await
            .map_err(store_err)?;
        Ok(Response::new(v1::ReplayReply {
            message_id: letter.message_id,
            detail: format!(
                "receipt applied: {:?}",
                v1::ReceiptOutcome::try_from(outcome.outcome).unwrap_or_default()
            ),
        }))
    }
}
