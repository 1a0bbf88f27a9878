//! CEB XML out: any [`Message`] written in schema order (the receipts the gateway sends back,
//! and the synthetic messages of tests and the load generator), and the receipt constructors:
//! CEB312, 412, 512, 514, 622, 624, 626 for a declaration, CEB900 for a message that could not
//! be processed. Pure: text in, text out.

use std::borrow::Cow;
use std::fmt::Write as _;

use quick_xml::escape::escape;

use super::error::DecodeError;
use super::CEB_NS;
use crate::domain::record::{Composite, Record};
use crate::domain::records::{
    DocumentVisitor, InventoryReturn, InvtCancelReturn, InvtRefundReturn, LogisticsReturn,
    LogisticsStatusReturn, MessageReturn, OrderReturn, PaymentReturn,
};
use crate::domain::{
    Body, Declaration, Document, Guid, Message, MessageKind, ReceiptTime, ReturnStatus, Text,
};

/// Writes `message` as CEB XML (UTF-8, `ceb:` prefix).
pub fn encode(message: &Message<'_>) -> String {
    let mut w = Writer {
        out: String::with_capacity(1024 + 2048 * message.blocks.len()),
        depth: 1,
    };
    let root = message.kind.root();
    w.out
        .push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = write!(
        w.out,
        "<ceb:{root} guid=\"{}\" version=\"{}\" xmlns:ceb=\"{CEB_NS}\">",
        escape(message.guid.as_ref()),
        escape(message.version.as_ref())
    );
    for block in &message.blocks {
        if let Body::Ceb(document) = &block.body {
            document.accept(&mut w);
        }
    }
    if let Some(transfer) = &message.transfer {
        w.record(transfer);
    }
    for subscribe in &message.subscribes {
        w.record(subscribe);
    }
    if message.signed {
        w.out.push_str(PLACEHOLDER_SIGNATURE);
    }
    let _ = write!(w.out, "\n</ceb:{root}>\n");
    w.out
}

/// A structurally complete `ds:Signature` carrying no real signature: the gateway does not
/// sign with the SM2 key of a customs client; test and load messages need the element only.
const PLACEHOLDER_SIGNATURE: &str = "\n\t<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/TR/2001/REC-xml-c14n-20010315\"/><ds:SignatureMethod Algorithm=\"http://www.chinaport.gov.cn/2022/04/xmldsig#sm2-sm3\"/><ds:Reference URI=\"\"><ds:DigestMethod Algorithm=\"http://www.chinaport.gov.cn/2022/04/xmldsig#sm3\"/><ds:DigestValue>AA==</ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue>AA==</ds:SignatureValue></ds:Signature>";

struct Writer {
    out: String,
    depth: usize,
}

impl Writer {
    fn open(&mut self, name: &str) {
        self.indent();
        let _ = write!(self.out, "<ceb:{name}>");
        self.depth += 1;
    }

    fn close(&mut self, name: &str) {
        self.depth -= 1;
        self.indent();
        let _ = write!(self.out, "</ceb:{name}>");
    }

    fn indent(&mut self) {
        self.out.push('\n');
        for _ in 0..self.depth {
            self.out.push('\t');
        }
    }

    fn fields<'a, R: Record<'a>>(&mut self, record: &R) {
        for (i, spec) in R::FIELDS.iter().enumerate() {
            if let Some(text) = record.text(i) {
                self.indent();
                let _ = write!(
                    self.out,
                    "<ceb:{0}>{1}</ceb:{0}>",
                    spec.name,
                    escape_text(&text)
                );
            }
        }
    }
}

impl<'a> DocumentVisitor<'a> for Writer {
    fn composite<C: Composite<'a>>(&mut self, block: &C) {
        self.open(C::NAME);
        self.record(block.head());
        for item in block.items() {
            self.record(item);
        }
        self.close(C::NAME);
    }

    fn record<R: Record<'a>>(&mut self, record: &R) {
        self.open(R::NAME);
        self.fields(record);
        self.close(R::NAME);
    }
}

/// Escapes element text; a carriage return is written as `&#13;` so that it survives the
/// line-end normalization of the reader.
fn escape_text(text: &str) -> Cow<'_, str> {
    let escaped = escape(text);
    if !escaped.contains('\r') {
        return escaped;
    }
    Cow::Owned(escaped.replace('\r', "&#13;"))
}

/// What the gateway says about one accepted or rejected declaration.
#[derive(Debug, Clone, Copy)]
pub struct Outcome<'s> {
    /// `returnStatus`: 2/3/120/800… or a negative error code.
    pub status: ReturnStatus,
    /// `returnInfo` (1..1000 characters).
    pub info: &'s str,
    /// `returnTime`.
    pub time: ReceiptTime,
    /// The gateway's 18-character electronic-port number of the document (`preNo`).
    pub pre_no: &'s str,
}

/// The receipt block (CEB312/412/512/514/622/624/626) answering `declaration`, `None` for
/// documents that get no such receipt (receipts themselves, agency declarations).
pub fn receipt_for<'a>(
    declaration: &Declaration<'a>,
    outcome: Outcome<'_>,
) -> Option<Document<'a>> {
    let Body::Ceb(document) = &declaration.body else {
        return None;
    };
    let info = Some(Text(Cow::Owned(truncate(outcome.info, 1000))));
    let status = Some(outcome.status);
    let time = Some(outcome.time);
    let pre_no = Some(Text(Cow::Owned(outcome.pre_no.to_owned())));
    Some(match document {
        Document::Order(o) => Document::OrderReturn(OrderReturn {
            guid: o.head.guid.clone(),
            ebp_code: o.head.ebp_code.clone(),
            ebc_code: o.head.ebc_code.clone(),
            order_no: o.head.order_no.clone(),
            return_status: status,
            return_time: time,
            return_info: info,
            ..Default::default()
        }),
        Document::Payment(p) => Document::PaymentReturn(PaymentReturn {
            guid: p.head.guid.clone(),
            pay_code: p.head.pay_code.clone(),
            pay_transaction_id: p.head.pay_transaction_id.clone(),
            return_status: status,
            return_time: time,
            return_info: info,
            ..Default::default()
        }),
        Document::Logistics(l) => Document::LogisticsReturn(LogisticsReturn {
            guid: l.head.guid.clone(),
            logistics_code: l.head.logistics_code.clone(),
            logistics_no: l.head.logistics_no.clone(),
            return_status: status,
            return_time: time,
            return_info: info,
            ..Default::default()
        }),
        Document::LogisticsStatus(s) => Document::LogisticsStatusReturn(LogisticsStatusReturn {
            guid: s.guid.clone(),
            logistics_code: s.logistics_code.clone(),
            logistics_no: s.logistics_no.clone(),
            logistics_status: s.logistics_status.clone(),
            return_status: status,
            return_time: time,
            return_info: info,
            ..Default::default()
        }),
        Document::Inventory(i) => Document::InventoryReturn(InventoryReturn {
            guid: i.head.guid.clone(),
            customs_code: i.head.customs_code,
            ebp_code: i.head.ebp_code.clone(),
            ebc_code: i.head.ebc_code.clone(),
            agent_code: i.head.agent_code.clone(),
            cop_no: i
                .head
                .cop_no
                .clone()
                .or_else(|| i.head.order_no.as_ref().map(cop_no)),
            pre_no,
            invt_no: i
                .head
                .invt_no
                .clone()
                .filter(|n| n.as_str().chars().count() == 18),
            return_status: status,
            return_time: time,
            return_info: info,
            ..Default::default()
        }),
        Document::InvtCancel(c) => Document::InvtCancelReturn(InvtCancelReturn {
            guid: c.guid.clone(),
            customs_code: c.customs_code,
            ebp_code: c.ebp_code.clone(),
            ebc_code: c.ebc_code.clone(),
            agent_code: c.agent_code.clone(),
            cop_no: c.cop_no.clone().or_else(|| c.order_no.as_ref().map(cop_no)),
            pre_no,
            invt_no: receipt_invt_no(&c.invt_no),
            return_status: status,
            return_time: time,
            return_info: info,
            ..Default::default()
        }),
        Document::InvtRefund(r) => Document::InvtRefundReturn(InvtRefundReturn {
            guid: r.head.guid.clone(),
            customs_code: r.head.customs_code,
            ebp_code: r.head.ebp_code.clone(),
            ebc_code: r.head.ebc_code.clone(),
            agent_code: r.head.agent_code.clone(),
            cop_no: r
                .head
                .cop_no
                .clone()
                .or_else(|| r.head.order_no.as_ref().map(cop_no)),
            pre_no,
            invt_no: receipt_invt_no(&r.head.invt_no),
            return_status: status,
            return_time: time,
            return_info: info,
            ..Default::default()
        }),
        _ => return None,
    })
}

/// The receipt message kind that answers a message of `kind`.
pub fn receipt_kind(kind: MessageKind) -> Option<MessageKind> {
    Some(match kind {
        MessageKind::Ceb311 => MessageKind::Ceb312,
        MessageKind::Ceb411 => MessageKind::Ceb412,
        MessageKind::Ceb511 => MessageKind::Ceb512,
        MessageKind::Ceb513 => MessageKind::Ceb514,
        MessageKind::Ceb621 => MessageKind::Ceb622,
        MessageKind::Ceb623 => MessageKind::Ceb624,
        MessageKind::Ceb625 => MessageKind::Ceb626,
        MessageKind::Ceb711 => MessageKind::Ceb712,
        _ => return None,
    })
}

/// A message of `kind` carrying `blocks` and no envelope (as receipts are).
pub fn receipt_message<'a>(
    kind: MessageKind,
    guid: &str,
    blocks: Vec<Document<'a>>,
) -> Message<'a> {
    Message {
        kind,
        guid: Cow::Owned(guid.to_owned()),
        version: Cow::Borrowed("1.0"),
        blocks: blocks
            .into_iter()
            .map(|d| Declaration::new(Body::Ceb(d)))
            .collect(),
        transfer: None,
        subscribes: Vec::new(),
        extended: false,
        signed: false,
        envelope_defects: Vec::new(),
    }
}

/// CEB900: the format-check receipt for a message that could not be processed.
pub fn message_return(
    guid: &str,
    error: &DecodeError,
    original_type: &str,
    original: &str,
    time: ReceiptTime,
) -> Message<'static> {
    let block = MessageReturn {
        guid: Guid::parse_str(guid.to_owned()).ok(),
        return_status: Some(ReturnStatus(-900)),
        return_info: Some(Text(Cow::Owned(truncate(&error.to_string(), 5000)))),
        return_time: Some(time),
        ori_cop_msg_id: Some(Text(Cow::Owned(String::new()))),
        ori_message_type: Some(Text(Cow::Owned(truncate(original_type, 15)))),
        ori_biz_message: Some(Text(Cow::Owned(original.to_owned()))),
        ..Default::default()
    };
    receipt_message(
        MessageKind::Ceb900,
        guid,
        vec![Document::MessageReturn(block)],
    )
}

/// Receipts carry `invtNo` only in its full 18-character form (the receipt schema's facet).
fn receipt_invt_no<'a>(invt_no: &Option<Text<'a>>) -> Option<Text<'a>> {
    invt_no.clone().filter(|n| n.as_str().chars().count() == 18)
}

fn cop_no<'a>(order_no: &Text<'a>) -> Text<'a> {
    Text(Cow::Owned(truncate(order_no.as_str(), 20)))
}

fn truncate(text: &str, max_chars: usize) -> String {
    crate::text::first_chars(text, max_chars).to_owned()
}

/// Rewrites the `returnStatus` and `returnInfo` of a receipt block, for a declaration that
/// passed validation but was then refused (or ignored) by the shipment's state.
pub fn set_outcome(receipt: &mut Document<'_>, status: ReturnStatus, info: &str) {
    let info = Some(Text(Cow::Owned(truncate(info, 1000))));
    macro_rules! set {
        ($r:expr) => {{
            $r.return_status = Some(status);
            $r.return_info = info;
        }};
    }
    match receipt {
        Document::OrderReturn(r) => set!(r),
        Document::PaymentReturn(r) => set!(r),
        Document::LogisticsReturn(r) => set!(r),
        Document::LogisticsStatusReturn(r) => set!(r),
        Document::InventoryReturn(r) => set!(r),
        Document::InvtCancelReturn(r) => set!(r),
        Document::InvtRefundReturn(r) => set!(r),
        Document::DeliveryReturn(r) => set!(r),
        _ => {}
    }
}
