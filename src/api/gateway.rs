//! The `singlewindow.v1.Gateway` service. Handlers record the shipment key on the call's
//! `request` span (see `observe`) once they know it.

use std::pin::Pin;
use std::sync::Arc;

use prost::Message as _;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};
use tracing::Instrument as _;

use super::identify::{caller_of, credential_of, note_of, refuse, Credential};
use super::limits::Rates;
use super::{shipments, status, CallNote, State};
use crate::auth::{policy, Caller};
use crate::ceb::encode::{encode, message_return};
use crate::domain::{Body, Declaration, ReceiptTime};
use crate::ingest::{self, block_outcome, Plan, Verdict};
use crate::pb::{self, v1};
use crate::report::Report;
use crate::signing::{Receipt, Signer};
use crate::store::Committed;

/// The service; cheap to clone.
#[derive(Clone)]
pub struct Gateway {
    state: Arc<State>,
    closing: tokio::sync::watch::Receiver<bool>,
    rates: Arc<Rates>,
    /// Signs the acceptance receipts; `None` when the key could not be had (logged).
    signer: Option<Arc<Signer>>,
}

impl Gateway {
    /// A service over `state`; `closing` turns true when the server begins to shut down. Its
    /// acceptance receipts are signed with `signing.key` in the store's folder (created when
    /// missing).
    pub fn new(state: Arc<State>, closing: tokio::sync::watch::Receiver<bool>) -> Gateway {
        let rates = Arc::new(Rates::new(&state.limits));
        let signer = match Signer::open_for_store(state.store.path(), &state.audit.signing_key) {
            Ok(signer) => {
                tracing::info!(
                    public_key = %signer.public_key_hex(),
                    "acceptance receipts are signed with this Ed25519 key (single-window receipt verify)"
                );
                Some(Arc::new(signer))
            }
            Err(error) => {
                tracing::error!(%error, "acceptance receipts are not signed");
                None
            }
        };
        Gateway {
            state,
            closing,
            rates,
            signer,
        }
    }

    /// Handles one submission by `caller`: plan (decode + validate), check that the caller
    /// sends every block in its own role, commit the clean blocks together, reply once every
    /// accepted block is on disk. An enterprise always sends as itself. The sender's rate limit
    /// is applied first, or, when the sender is left to the message's `copCode`, once the
    /// message is decoded. The message id goes to the call's audit record (`note`).
    pub async fn submit_one(
        &self,
        caller: &Caller,
        note: &CallNote,
        mut request: v1::SubmitRequest,
    ) -> Result<v1::SubmitReply, Status> {
        request.sender = policy::sender(caller, &request.sender).map_err(|d| refuse(note, &d))?;
        let sender_known = !request.sender.is_empty();
        if sender_known {
            self.rates.admit(&request.sender)?;
        }
        let mut plan = self.plan(request).await?;
        note.message_id(&plan.id);
        let holders: Vec<policy::Holders> = plan.blocks.iter().map(|b| b.holders.clone()).collect();
        policy::submission(caller, plan.cop.as_deref(), &holders).map_err(|d| refuse(note, &d))?;
        if !sender_known {
            self.rates.admit(&plan.sender)?;
        }
        // Clean blocks are committed concurrently, so that they share the store's fsync.
        let (sender, received) = (plan.sender.as_str(), plan.received);
        let commits: Vec<_> = plan
            .blocks
            .iter_mut()
            .map(|block| {
                let store = self.state.store.clone();
                let verdict = std::mem::replace(&mut block.verdict, Verdict::Committing);
                let (index, key) = (block.index, block.key.clone());
                let signer = self.signer.clone();
                async move {
                    // What a signed receipt names (the block's key, the sender, the hashes of
                    // the submission and of the content), taken before the event goes to the
                    // store.
                    let signed = match &verdict {
                        Verdict::Accept(event) => {
                            signer.map(|signer| (signer, received, event.content))
                        }
                        _ => None,
                    };
                    // `late`: refused by the shipment's state after validation passed.
                    let (outcome, report, late) = match verdict {
                        Verdict::Reject(report) => (v1::Outcome::Rejected, Some(report), false),
                        Verdict::Committing => (v1::Outcome::Unspecified, None, false),
                        Verdict::Accept(event) => match store.commit(event).await {
                            Ok(Committed::New { .. }) => (v1::Outcome::Accepted, None, false),
                            Ok(Committed::Refused(refusal)) => {
                                let outcome = if refusal.ignored {
                                    v1::Outcome::Ignored
                                } else {
                                    v1::Outcome::Rejected
                                };
                                let report = Report {
                                    violations: refusal.violations,
                                };
                                (outcome, Some(report), true)
                            }
                            Ok(Committed::Repeat { .. }) => (v1::Outcome::Repeat, None, false),
                            Ok(Committed::Conflict) => (v1::Outcome::Conflict, None, false),
                            Err(err) => return Err(status::store(&err)),
                        },
                    };
                    let refusal = report
                        .as_ref()
                        .and_then(|r| r.violations.first().cloned())
                        .filter(|_| late);
                    let signed_receipt = signed.and_then(|(signer, received, content)| {
                        let said = match outcome {
                            v1::Outcome::Accepted => "accepted",
                            v1::Outcome::Repeat => "repeat",
                            _ => return None,
                        };
                        Some(signer.sign(&Receipt::new(&key, sender, received, content, said)))
                    });
                    Ok((
                        block_outcome(index, &key, outcome, report.as_ref()),
                        refusal,
                        signed_receipt,
                    ))
                }
            })
            .collect();
        let results = futures_util::future::try_join_all(commits).await?;
        let refused: Vec<Option<&crate::report::Violation>> =
            results.iter().map(|(_, late, _)| late.as_ref()).collect();
        let receipt_xml = plan.receipt_xml(&refused);
        let mut signed_receipts = Vec::new();
        let blocks: Vec<v1::BlockOutcome> = results
            .into_iter()
            .map(|(block, _, signed)| {
                signed_receipts.extend(signed);
                block
            })
            .collect();
        crate::telemetry::count::submission(plan.kind, &blocks);
        Ok(v1::SubmitReply {
            id: plan.id,
            blocks,
            receipt_xml,
            signed_receipts,
        })
    }

    async fn plan(&self, request: v1::SubmitRequest) -> Result<Plan, Status> {
        let rules = &self.state.rules;
        let key = request.idempotency_key.clone();
        let sender = request.sender.clone();
        let is_typed = !matches!(
            request.payload,
            Some(v1::submit_request::Payload::CebXml(_)) | None
        );
        if is_typed && (key.is_empty() || sender.is_empty()) {
            return Err(Status::invalid_argument(
                "idempotency_key and sender: both are required for a typed declaration \
                 (the key names it: a repeat with the same key is recognised)",
            ));
        }
        let plan = match request.payload {
            Some(v1::submit_request::Payload::CebXml(bytes)) => {
                if bytes.len() > self.state.blocking_above_bytes {
                    let state = self.state.clone();
                    tokio::task::spawn_blocking(move || plan_xml(&bytes, &sender, &state))
                        .await
                        .map_err(|e| Status::internal(e.to_string()))??
                } else {
                    plan_xml(&bytes, &sender, &self.state)?
                }
            }
            Some(v1::submit_request::Payload::Inspection(pb)) => {
                let decl = pb::inspection(&pb).map_err(|r| status::invalid_fields(&r))?;
                typed(
                    Body::Inspection(decl),
                    &key,
                    &sender,
                    &pb.encode_to_vec(),
                    rules,
                )
            }
            Some(v1::submit_request::Payload::FxSettlement(pb)) => {
                let decl = pb::fx_settlement(&pb).map_err(|r| status::invalid_fields(&r))?;
                typed(
                    Body::FxSettlement(decl),
                    &key,
                    &sender,
                    &pb.encode_to_vec(),
                    rules,
                )
            }
            Some(v1::submit_request::Payload::Tax(pb)) => {
                let decl = pb::tax(&pb).map_err(|r| status::invalid_fields(&r))?;
                typed(Body::Tax(decl), &key, &sender, &pb.encode_to_vec(), rules)
            }
            None => return Err(status::empty()),
        };
        if let Some((ebp_code, order_no)) = &plan.shipment {
            record_shipment(ebp_code, order_no);
        }
        Ok(plan)
    }
}

fn plan_xml(bytes: &[u8], sender: &str, state: &State) -> Result<Plan, Status> {
    let received_at = crate::clock::unix_millis();
    let now = ReceiptTime::from_unix_millis(received_at);
    ingest::plan_xml(bytes, sender, &state.rules, received_at).map_err(|err| {
        // The CEB900 rides in the status details (a header): without the original message,
        // which the sender has anyway.
        let original = String::from_utf8_lossy(bytes);
        let receipt = message_return(&guid_of(&original), &err, root_of(&original), "", now);
        status::undecodable(&err, encode(&receipt))
    })
}

fn typed(
    body: Body<'_>,
    key: &str,
    sender: &str,
    content: &[u8],
    rules: &Arc<crate::rules::Rules>,
) -> Plan {
    ingest::plan_typed(
        &Declaration::new(body),
        key,
        sender,
        content,
        rules,
        crate::clock::unix_millis(),
    )
}

/// The root `guid` attribute, read loosely from a message that did not decode (for CEB900).
fn guid_of(text: &str) -> String {
    text.find("guid=\"")
        .and_then(|at| text[at + 6..].split('"').next())
        .filter(|g| g.chars().count() == 36)
        .unwrap_or("00000000-0000-0000-0000-000000000000")
        .to_owned()
}

/// The root element name, read loosely (for CEB900's oriMessageType).
fn root_of(text: &str) -> &str {
    text.find("CEB")
        .and_then(|at| text.get(at..at + 13))
        .filter(|r| r.ends_with("Message"))
        .unwrap_or("Unknown")
}

/// Longest key value a span takes (a key is far shorter; a client's junk is cut).
const SPAN_VALUE_BYTES: usize = 64;

/// Records the shipment key on the call's span (empty parts are left out).
fn record_shipment(ebp_code: &str, order_no: &str) {
    let span = tracing::Span::current();
    for (field, value) in [("ebp_code", ebp_code), ("order_no", order_no)] {
        if !value.is_empty() {
            span.record(field, crate::text::cut(value, SPAN_VALUE_BYTES));
        }
    }
}

type ReplyStream = Pin<Box<dyn Stream<Item = Result<v1::SubmitReply, Status>> + Send>>;

#[tonic::async_trait]
impl v1::gateway_server::Gateway for Gateway {
    async fn submit(
        &self,
        request: Request<v1::SubmitRequest>,
    ) -> Result<Response<v1::SubmitReply>, Status> {
        let (caller, note) = (caller_of(&request), note_of(&request));
        self.submit_one(&caller, &note, request.into_inner())
            .await
            .map(Response::new)
    }

    type SubmitStreamStream = ReplyStream;

    async fn submit_stream(
        &self,
        request: Request<Streaming<v1::SubmitRequest>>,
    ) -> Result<Response<Self::SubmitStreamStream>, Status> {
        let (caller, note) = (caller_of(&request), note_of(&request));
        let credential = credential_of(&request);
        let mut requests = request.into_inner();
        let (replies, out) = mpsc::channel(self.state.stream_window.max(1));
        let gateway = self.clone();
        tokio::spawn(
            async move {
                // One request at a time, in order; a full reply window stops the reading, and
                // HTTP/2 flow control then slows the client: nothing is buffered without bound.
                while let Some(next) = requests.next().await {
                    // A certificate revoked while the stream is open sends nothing more.
                    if let Some(Err(denied)) = credential.as_ref().map(Credential::still_valid) {
                        let _ = replies.send(Err(refuse(&note, &denied))).await;
                        break;
                    }
                    let reply = match next {
                        Ok(request) => gateway.submit_one(&caller, &note, request).await,
                        Err(status) => Err(status),
                    };
                    // An error ends the call (gRPC sends it as the trailers): nothing after it
                    // is read, let alone committed.
                    let ended = reply.is_err();
                    if replies.send(reply).await.is_err() || ended {
                        break;
                    }
                }
            }
            .instrument(tracing::Span::current()),
        );
        Ok(Response::new(Box::pin(ReceiverStream::new(out))))
    }

    async fn get_shipment(
        &self,
        request: Request<v1::GetShipmentRequest>,
    ) -> Result<Response<v1::ShipmentView>, Status> {
        let (caller, note) = (caller_of(&request), note_of(&request));
        if let Some(key) = &request.get_ref().shipment {
            record_shipment(&key.ebp_code, &key.order_no);
            note.message_id(&format!("{}/{}", key.ebp_code, key.order_no));
        }
        shipments::get(
            &self.state.store,
            &self.state.rules,
            request.get_ref(),
            &caller,
        )
        .map_err(|denied| match denied {
            shipments::Refused::Denied(d) => refuse(&note, &d),
            shipments::Refused::Status(status) => status,
        })
        .map(Response::new)
    }

    async fn list_shipments(
        &self,
        request: Request<v1::ListShipmentsRequest>,
    ) -> Result<Response<v1::ListShipmentsReply>, Status> {
        let (caller, note) = (caller_of(&request), note_of(&request));
        let mut request = request.into_inner();
        request.enterprise =
            policy::listing(&caller, &request.enterprise).map_err(|d| refuse(&note, &d))?;
        shipments::list(&self.state.store, &request).map(Response::new)
    }

    type WatchShipmentsStream = shipments::EventStream;

    async fn watch_shipments(
        &self,
        request: Request<v1::WatchShipmentsRequest>,
    ) -> Result<Response<Self::WatchShipmentsStream>, Status> {
        let (caller, note) = (caller_of(&request), note_of(&request));
        let credential = credential_of(&request);
        let mut request = request.into_inner();
        request.enterprise =
            policy::listing(&caller, &request.enterprise).map_err(|d| refuse(&note, &d))?;
        Ok(Response::new(shipments::watch(
            self.state.store.clone(),
            request,
            credential,
            self.closing.clone(),
        )))
    }

    async fn echo(
        &self,
        request: Request<v1::EchoRequest>,
    ) -> Result<Response<v1::EchoReply>, Status> {
        Ok(Response::new(v1::EchoReply {
            payload: request.into_inner().payload,
        }))
    }
}
