//! From a submission to what the store must write: decode, validate every block, and turn
//! each clean block into one store event keyed by its guid (scoped to the sender), carrying
//! the fold that files it into its shipment. Pure: the store and the network are the caller's.

use std::sync::Arc;

use crate::auth::policy::Holders;
use crate::ceb::encode::{
    encode, receipt_for, receipt_kind, receipt_message, set_outcome, Outcome as CebOutcome,
};
use crate::ceb::{self, DecodeError};
use crate::correlate::Meta;
use crate::domain::records::BaseTransfer;
use crate::domain::{
    Agency, Body, Declaration, Document, MessageKind, ReceiptTime, ReturnStatus, ShipmentKey,
};
use crate::ledger::{self, DocRef};
use crate::pb::v1;
use crate::report::{Report, Violation};
use crate::rules::Rules;
use crate::store::{content_hash, Accepted, Tree};
use crate::validate::validate;

/// `returnStatus` of a block the gateway accepted: 2, "being declared".
pub const STATUS_ACCEPTED: ReturnStatus = ReturnStatus(2);

/// What to do with one block.
#[derive(Debug)]
pub enum Verdict {
    /// Clean: write this event.
    Accept(Accepted),
    /// Broken rules: write nothing.
    Reject(Report),
    /// Handed to the store (the event has moved out of the plan).
    Committing,
}

/// One block of a submission.
#[derive(Debug)]
pub struct BlockPlan {
    /// 1-based.
    pub index: u32,
    /// Its idempotency key.
    pub key: String,
    /// Accept or reject.
    pub verdict: Verdict,
    /// The CEB receipt block for it (XML senders), as if accepted.
    pub receipt: Option<Document<'static>>,
    /// Who may send it (the fields that must name the sender).
    pub holders: Holders,
}

/// A decoded submission and what to do with each block.
#[derive(Debug)]
pub struct Plan {
    /// Message guid (or the typed declaration's key).
    pub id: String,
    /// The sender the keys are scoped to.
    pub sender: String,
    /// The message's `copCode` (CEB only): the enterprise that transmitted it.
    pub cop: Option<String>,
    /// The message kind, for the receipt (CEB only).
    pub kind: Option<MessageKind>,
    /// Per block.
    pub blocks: Vec<BlockPlan>,
    /// The (first) block's shipment (`ebpCode`, `orderNo`), when it names one: for the call's
    /// log span.
    pub shipment: Option<(String, String)>,
    /// SHA-256 of the submission: the CEB message's bytes as received, or the typed
    /// declaration's protobuf encoding (for its signed receipts).
    pub received: [u8; 32],
}

impl Plan {
    /// The CEB receipt message for the blocks (empty for typed declarations), each block
    /// with its final outcome: `refused[i]` is the violation that refused block `i` after
    /// validation (by the shipment's state), if any.
    pub fn receipt_xml(&self, refused: &[Option<&Violation>]) -> Vec<u8> {
        let Some(kind) = self.kind.and_then(receipt_kind) else {
            return Vec::new();
        };
        let receipts: Vec<Document<'_>> = self
            .blocks
            .iter()
            .enumerate()
            .filter_map(|(i, block)| {
                let mut receipt = block.receipt.clone()?;
                if let Some(Some(v)) = refused.get(i) {
                    set_outcome(
                        &mut receipt,
                        ReturnStatus(v.code.unwrap_or(-1)),
                        &v.to_string(),
                    );
                }
                Some(receipt)
            })
            .collect();
        if receipts.is_empty() {
            return Vec::new();
        }
        encode(&receipt_message(kind, &self.id, receipts)).into_bytes()
    }
}

/// Plans a CEB XML submission received at `received_at` (Unix milliseconds). `sender` may be
/// empty: then the message's `copCode` is used.
pub fn plan_xml(
    bytes: &[u8],
    sender: &str,
    rules: &Arc<Rules>,
    received_at: u64,
) -> Result<Plan, DecodeError> {
    let now = ReceiptTime::from_unix_millis(received_at);
    let text = ceb::to_utf8(bytes, &rules.limits)?;
    let mut message = ceb::decode_str(&text, &rules.limits)?;
    let cop = message.sender().map(str::to_owned);
    let sender = if sender.is_empty() {
        message.sender().unwrap_or_default().to_owned()
    } else {
        sender.to_owned()
    };
    let mut blocks = Vec::with_capacity(message.blocks.len());
    let shipment = message.blocks.first().and_then(|b| match &b.body {
        Body::Ceb(doc) => crate::correlate::key_of(doc).map(|k| {
            (
                k.ebp_code.as_str().to_owned(),
                k.order_no.as_str().to_owned(),
            )
        }),
        _ => None,
    });
    let kind = message.kind;
    let blocks_in = std::mem::take(&mut message.blocks);
    for (i, block) in blocks_in.into_iter().enumerate() {
        let index = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let key = block_key(&block).unwrap_or_else(|| format!("{}#{index}", message.guid));
        let mut report = validate(&block, rules);
        report
            .violations
            .splice(0..0, message.envelope_defects.iter().cloned());
        let (status, info) = match report.violations.first() {
            None => (STATUS_ACCEPTED, "accepted".to_owned()),
            Some(first) => (ReturnStatus(first.code.unwrap_or(-1)), first.to_string()),
        };
        let holders = crate::auth::policy::holders(&block.body);
        let pre_no = pre_no(&key);
        let receipt = receipt_for(
            &block,
            CebOutcome {
                status,
                info: &info,
                time: now,
                pre_no: &pre_no,
            },
        )
        .map(Document::into_owned);
        let verdict = if report.is_clean() {
            let at = DocRef {
                sender: sender.clone(),
                key: key.clone(),
                received_at,
            };
            let transfer = message.transfer.as_ref();
            Verdict::Accept(event(
                at,
                block.into_owned(),
                transfer,
                kind.root(),
                now,
                rules,
            ))
        } else {
            Verdict::Reject(report)
        };
        blocks.push(BlockPlan {
            index,
            key,
            verdict,
            receipt,
            holders,
        });
    }
    Ok(Plan {
        id: message.guid.to_string(),
        sender,
        cop,
        kind: Some(message.kind),
        blocks,
        shipment,
        received: content_hash(bytes),
    })
}

/// Plans one typed agency declaration (already converted from protobuf).
pub fn plan_typed(
    declaration: &Declaration<'_>,
    key: &str,
    sender: &str,
    content: &[u8],
    rules: &Arc<Rules>,
    received_at: u64,
) -> Plan {
    let filed = |shipment: &ShipmentKey<'_>, agency: Agency| {
        let at = DocRef {
            sender: sender.to_owned(),
            key: key.to_owned(),
            received_at,
        };
        ledger::fold_agency_declaration(agency, shipment.clone().into_owned(), at, rules.clone())
    };
    let (fold, shipment) = match &declaration.body {
        Body::Inspection(d) => (
            Some(filed(&d.shipment, Agency::Inspection)),
            Some(&d.shipment),
        ),
        Body::FxSettlement(d) => (Some(filed(&d.shipment, Agency::Fx)), Some(&d.shipment)),
        Body::Tax(d) => (Some(filed(&d.shipment, Agency::Tax)), Some(&d.shipment)),
        Body::Ceb(_) => (None, None),
    };
    let shipment = shipment.map(|k| {
        (
            k.ebp_code.as_str().to_owned(),
            k.order_no.as_str().to_owned(),
        )
    });
    let report = validate(declaration, rules);
    let verdict = if report.is_clean() {
        Verdict::Accept(Accepted {
            sender: sender.to_owned(),
            key: key.to_owned(),
            content: content_hash(content),
            reply: Vec::new(),
            puts: vec![(
                Tree::Declarations,
                record_key(sender, key),
                content.to_vec(),
            )],
            outbox: Vec::new(),
            audit: format!("typed {sender} {key}").into_bytes(),
            fold,
        })
    } else {
        Verdict::Reject(report)
    };
    Plan {
        id: key.to_owned(),
        sender: sender.to_owned(),
        cop: None,
        kind: None,
        shipment,
        blocks: vec![BlockPlan {
            index: 1,
            key: key.to_owned(),
            verdict,
            receipt: None,
            holders: crate::auth::policy::holders(&declaration.body),
        }],
        received: content_hash(content),
    }
}

/// The outcome of a block as the reply carries it (and as the store keeps it for repeats).
pub fn block_outcome(
    index: u32,
    key: &str,
    outcome: v1::Outcome,
    report: Option<&Report>,
) -> v1::BlockOutcome {
    v1::BlockOutcome {
        index,
        outcome: outcome as i32,
        violations: report.map_or_else(Vec::new, |r| {
            r.violations.iter().map(crate::pb::violation).collect()
        }),
        key: key.to_owned(),
    }
}

/// The store event of a clean CEB block: the block in canonical CEB XML under its key, and
/// the fold that files it into its shipment. A repeat is answered with the REPEAT outcome, so
/// no stored reply is needed.
fn event(
    at: DocRef,
    block: Declaration<'static>,
    transfer: Option<&BaseTransfer<'_>>,
    root: &str,
    now: ReceiptTime,
    rules: &Arc<Rules>,
) -> Accepted {
    let canonical = match &block.body {
        Body::Ceb(document) => canonical_xml(document, transfer),
        _ => Vec::new(),
    };
    let (sender, key) = (at.sender.clone(), at.key.clone());
    let meta = Meta {
        sender: sender.clone(),
        received_at: at.received_at,
    };
    Accepted {
        content: content_hash(&canonical),
        reply: Vec::new(),
        puts: vec![(Tree::Declarations, record_key(&sender, &key), canonical)],
        outbox: Vec::new(),
        audit: format!("{now} {sender} {root} {key} accepted").into_bytes(),
        fold: Some(ledger::fold_declaration(block, meta, at, rules.clone())),
        sender,
        key,
    }
}

/// The message guid of a stored block's canonical form (the block has its own guid).
const CANONICAL_GUID: &str = "00000000-0000-0000-0000-000000000000";

/// The block alone (with the message's `BaseTransfer`: who sent it), written canonically: equal blocks give equal bytes (and hashes).
fn canonical_xml(document: &Document<'_>, transfer: Option<&BaseTransfer<'_>>) -> Vec<u8> {
    let mut message = receipt_message(document.kind(), CANONICAL_GUID, vec![document.clone()]);
    message.transfer = transfer.cloned();
    encode(&message).into_bytes()
}

/// `sender \0 key`: declarations are kept per sender, like their keys.
pub fn record_key(sender: &str, key: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(sender.len() + key.len() + 1);
    k.extend_from_slice(sender.as_bytes());
    k.push(0);
    k.extend_from_slice(key.as_bytes());
    k
}

/// The guid of a block (its head's), the idempotency key of CEB submissions.
fn block_key(block: &Declaration<'_>) -> Option<String> {
    let Body::Ceb(document) = &block.body else {
        return None;
    };
    let guid = match document {
        Document::Order(o) => o.head.guid.as_ref(),
        Document::Payment(p) => p.head.guid.as_ref(),
        Document::Logistics(l) => l.head.guid.as_ref(),
        Document::LogisticsStatus(s) => s.guid.as_ref(),
        Document::Inventory(i) => i.head.guid.as_ref(),
        Document::InvtCancel(c) => c.guid.as_ref(),
        Document::InvtRefund(r) => r.head.guid.as_ref(),
        Document::Delivery(d) => d.head.guid.as_ref(),
        _ => None,
    };
    guid.map(|g| g.to_string())
}

/// The gateway's 18-character electronic-port number for a document: "SW" and 16 digits
/// derived from its key.
pub fn pre_no(key: &str) -> String {
    let hash = content_hash(key.as_bytes());
    let n = u64::from_be_bytes([
        hash[0], hash[1], hash[2], hash[3], hash[4], hash[5], hash[6], hash[7],
    ]);
    format!("SW{:016}", n % 10_000_000_000_000_000)
}
