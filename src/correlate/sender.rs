//! P1, second half: the authenticated sender (`BaseTransfer/copCode`) must be one of the
//! enterprises the document names for the role that sends it.

use super::rule;
use crate::domain::{Document, EntCode};
use crate::report::Violation;

/// A P1 violation when `sender` is none of the enterprises `doc` names for its sending role.
/// Documents that name none of them (a missing required element, reported by validation) and
/// documents this core does not correlate pass.
pub(super) fn check(doc: &Document<'_>, sender: &str) -> Option<Violation> {
    let (word, named) = senders(doc)?;
    let present: Vec<(&str, &str)> = named
        .iter()
        .filter_map(|(field, code)| code.map(|c| (*field, c.as_str())))
        .collect();
    if present.is_empty() || present.iter().any(|(_, code)| *code == sender) {
        return None;
    }
    let allowed = present
        .iter()
        .map(|(field, code)| format!("{field} {code}"))
        .collect::<Vec<_>>()
        .join(" or ");
    Some(Violation::new(
        rule::P1,
        "BaseTransfer/copCode",
        sender,
        format!("sender copCode {sender:?} is not the {word}'s {allowed}"),
    ))
}

type Named<'d> = (&'static str, Vec<(&'static str, Option<&'d EntCode<'d>>)>);

/// The document's word and the (element, code) pairs that may send it.
fn senders<'d>(doc: &'d Document<'d>) -> Option<Named<'d>> {
    Some(match doc {
        Document::Order(o) => (
            "order",
            vec![
                ("ebpCode", o.head.ebp_code.as_ref()),
                ("ebcCode", o.head.ebc_code.as_ref()),
            ],
        ),
        Document::Payment(p) => ("payment", vec![("payCode", p.head.pay_code.as_ref())]),
        Document::Logistics(l) => (
            "waybill",
            vec![("logisticsCode", l.head.logistics_code.as_ref())],
        ),
        Document::Inventory(i) => (
            "inventory",
            vec![
                ("agentCode", i.head.agent_code.as_ref()),
                ("ebcCode", i.head.ebc_code.as_ref()),
                ("ebpCode", i.head.ebp_code.as_ref()),
            ],
        ),
        Document::InvtCancel(c) => (
            "cancellation",
            vec![
                ("agentCode", c.agent_code.as_ref()),
                ("ebcCode", c.ebc_code.as_ref()),
                ("ebpCode", c.ebp_code.as_ref()),
            ],
        ),
        Document::InvtRefund(r) => (
            "return",
            vec![
                ("agentCode", r.head.agent_code.as_ref()),
                ("ebcCode", r.head.ebc_code.as_ref()),
                ("ebpCode", r.head.ebp_code.as_ref()),
            ],
        ),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::records::{Payment, PaymentHead};

    fn payment(pay_code: Option<&str>) -> Document<'static> {
        Document::Payment(Payment {
            head: PaymentHead {
                pay_code: pay_code.map(|c| EntCode::parse_str(c.to_owned()).unwrap()),
                ..Default::default()
            },
            items: Vec::new(),
        })
    }

    #[test]
    fn the_sender_must_be_named_for_its_role() {
        let table = [
            (Some("3301960002"), "3301960002", false),
            (Some("3301960002"), "3301960001", true),
            (Some("3301960002"), "", true),
            (None, "3301960001", false),
        ];
        for (pay_code, sender, refused) in table {
            let v = check(&payment(pay_code), sender);
            assert_eq!(v.is_some(), refused, "{pay_code:?} {sender:?}");
            if let Some(v) = v {
                assert_eq!(v.path, "BaseTransfer/copCode");
                assert!(v.message.contains("payCode 3301960002"), "{}", v.message);
            }
        }
    }
}
