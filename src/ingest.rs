//! From a submission to what the store must write: decode, validate every block, and turn
//! each clean block into one store event keyed by its guid (scoped to the sender). Pure: the
//! store and the network are the caller's.

use crate::ceb::encode::{
    encode, receipt_for, receipt_kind, receipt_message, Outcome as CebOutcome,
};
use crate::ceb::{self, DecodeError};
use crate::domain::{Body, Declaration, Document, MessageKind, ReceiptTime, ReturnStatus};
use crate::pb::v1;
use crate::report::Report;
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
}

/// A decoded submission and what to do with each block.
#[derive(Debug)]
pub struct Plan {
    /// Message guid (or the typed declaration's key).
    pub id: String,
    /// The sender the keys are scoped to.
    pub sender: String,
    /// The message kind, for the receipt (CEB only).
    pub kind: Option<MessageKind>,
    /// Per block.
    pub blocks: Vec<BlockPlan>,
    /// The CEB receipt for the blocks, as sent back to XML senders.
    pub receipt_xml: Vec<u8>,
}

/// Plans a CEB XML submission. `sender` may be empty: then the message's `copCode` is used.
pub fn plan_xml(
    bytes: &[u8],
    sender: &str,
    rules: &Rules,
    now: ReceiptTime,
) -> Result<Plan, DecodeError> {
    let text = ceb::to_utf8(bytes, &rules.limits)?;
    let message = ceb::decode_str(&text, &rules.limits)?;
    let sender = if sender.is_empty() {
        message.sender().unwrap_or_default().to_owned()
    } else {
        sender.to_owned()
    };
    let mut blocks = Vec::with_capacity(message.blocks.len());
    let mut receipts = Vec::with_capacity(message.blocks.len());
    for (i, block) in message.blocks.iter().enumerate() {
        let index = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let key = block_key(block).unwrap_or_else(|| format!("{}#{index}", message.guid));
        let mut report = validate(block, rules);
        report
            .violations
            .splice(0..0, message.envelope_defects.iter().cloned());
        let (status, info) = match report.violations.first() {
            None => (STATUS_ACCEPTED, "accepted".to_owned()),
            Some(first) => (ReturnStatus(first.code.unwrap_or(-1)), first.to_string()),
        };
        let pre_no = pre_no(&key);
        if let Some(receipt) = receipt_for(
            block,
            CebOutcome {
                status,
                info: &info,
                time: now,
                pre_no: &pre_no,
            },
        ) {
            receipts.push(receipt);
        }
        let verdict = if report.is_clean() {
            Verdict::Accept(event(&sender, &key, block, message.kind.root(), now))
        } else {
            Verdict::Reject(report)
        };
        blocks.push(BlockPlan {
            index,
            key,
            verdict,
        });
    }
    let receipt_xml = match receipt_kind(message.kind) {
        Some(kind) if !receipts.is_empty() => {
            encode(&receipt_message(kind, &message.guid, receipts)).into_bytes()
        }
        _ => Vec::new(),
    };
    Ok(Plan {
        id: message.guid.to_string(),
        sender,
        kind: Some(message.kind),
        blocks,
        receipt_xml,
    })
}

/// Plans one typed agency declaration (already converted from protobuf).
pub fn plan_typed(
    declaration: &Declaration<'_>,
    key: &str,
    sender: &str,
    content: &[u8],
    rules: &Rules,
) -> Plan {
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
        })
    } else {
        Verdict::Reject(report)
    };
    Plan {
        id: key.to_owned(),
        sender: sender.to_owned(),
        kind: None,
        blocks: vec![BlockPlan {
            index: 1,
            key: key.to_owned(),
            verdict,
        }],
        receipt_xml: Vec::new(),
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

/// The store event of a clean CEB block: the block in canonical CEB XML under its key. A
/// repeat is answered with the REPEAT outcome, so no stored reply is needed.
fn event(
    sender: &str,
    key: &str,
    block: &Declaration<'_>,
    root: &str,
    now: ReceiptTime,
) -> Accepted {
    let canonical = match &block.body {
        Body::Ceb(document) => canonical_xml(document),
        _ => Vec::new(),
    };
    Accepted {
        sender: sender.to_owned(),
        key: key.to_owned(),
        content: content_hash(&canonical),
        reply: Vec::new(),
        puts: vec![(Tree::Declarations, record_key(sender, key), canonical)],
        outbox: Vec::new(),
        audit: format!("{now} {sender} {root} {key} accepted").into_bytes(),
    }
}

/// The block alone, written canonically: equal blocks give equal bytes (and hashes).
fn canonical_xml(document: &Document<'_>) -> Vec<u8> {
    let message = receipt_message(document.kind(), "-", vec![document.clone()]);
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
fn pre_no(key: &str) -> String {
    let hash = content_hash(key.as_bytes());
    let n = u64::from_be_bytes([
        hash[0], hash[1], hash[2], hash[3], hash[4], hash[5], hash[6], hash[7],
    ]);
    format!("SW{:016}", n % 10_000_000_000_000_000)
}
