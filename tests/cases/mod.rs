//! The cross-document rule cases shared by the state-machine tests (`tests/correlate.rs`)
//! and the end-to-end gateway tests (`tests/gateway_rules.rs`): each breaks one rule on a
//! clean synthetic shipment and says which arrival orders refuse which path, with the two
//! values the violation must name.
#![allow(dead_code)]

use std::borrow::Cow;
use std::sync::OnceLock;

use single_window::correlate::rule;
use single_window::domain::records::{InvtCancel, InvtRefund, InvtRefundHead, InvtRefundList};
use single_window::domain::{AppType, Decimal, Document, EntCode, Guid, IdNumber, Text, Timestamp};
use single_window::report::mask;
use single_window::rules::Rules;
use single_window::synth::{self, CARRIER, PAYER, PLATFORM};

pub fn rules() -> &'static Rules {
    static RULES: OnceLock<Rules> = OnceLock::new();
    RULES.get_or_init(|| Rules::embedded().expect("the shipped rules load"))
}

/// The first synthetic shipment with two goods lines (so L1 has lines to mismatch).
pub fn clean() -> synth::Shipment {
    clean_from(7, 0)
}

/// The first synthetic shipment of `seed` from number `first` with two goods lines.
pub fn clean_from(seed: u64, first: u64) -> synth::Shipment {
    (first..first + 1000)
        .map(|n| synth::shipment(seed, n, rules()))
        .find(|s| s.inventory.items.len() == 2)
        .expect("a synthetic shipment with two lines")
}

pub fn text(s: &str) -> Option<Text<'static>> {
    Some(Text(Cow::Owned(s.to_owned())))
}

pub fn ent(s: &str) -> Option<EntCode<'static>> {
    Some(EntCode::parse_str(s.to_owned()).expect("test code"))
}

pub fn guid(s: &str) -> Option<Guid<'static>> {
    Some(Guid::parse_str(format!("{s:0>36}")).expect("test guid"))
}

/// A broken shipment, the rule and code expected, the arrival orders with the paths refused,
/// and the two values the messages must name.
pub struct Case {
    pub name: &'static str,
    pub rule: &'static str,
    pub code: Option<i32>,
    pub breaks: fn(&mut synth::Shipment),
    pub orders: &'static [(&'static str, &'static [&'static str])],
    pub values: fn(&synth::Shipment) -> [String; 2],
}

pub fn other_id() -> Option<IdNumber<'static>> {
    IdNumber::parse_str("11010519491231002X").ok()
}

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "K1 payment orderNo",
            rule: rule::K1,
            code: None,
            breaks: |s| s.payment.head.order_no = text("SWX"),
            orders: &[
                ("OPWI", &["PaymentHead/orderNo"]),
                ("PIWO", &["PaymentHead/orderNo"]),
            ],
            values: |s| {
                [
                    "SWX".into(),
                    s.order.head.order_no.clone().unwrap().to_string(),
                ]
            },
        },
        Case {
            name: "K1 payTransactionId",
            rule: rule::K1,
            code: None,
            breaks: |s| s.payment.head.pay_transaction_id = text("PTX"),
            orders: &[
                ("OPWI", &["PaymentHead/payTransactionId"]),
                ("PWIO", &["OrderHead/payTransactionId"]),
            ],
            values: |s| {
                let ordered = s.order.head.pay_transaction_id.clone().unwrap();
                ["PTX".into(), ordered.to_string()]
            },
        },
        Case {
            name: "K2 inventory ebcCode",
            rule: rule::K2,
            code: None,
            breaks: |s| s.inventory.head.ebc_code = ent("1105910158"),
            orders: &[
                ("OPWI", &["InventoryHead/ebcCode"]),
                ("IPWO", &["OrderHead/ebcCode"]),
            ],
            values: |_| ["1105910158".into(), PLATFORM.into()],
        },
        Case {
            name: "K2 inventory orderNo",
            rule: rule::K2,
            code: None,
            breaks: |s| s.inventory.head.order_no = text("SWX"),
            orders: &[
                ("OPWI", &["InventoryHead/orderNo"]),
                ("IPWO", &["InventoryHead/orderNo"]),
            ],
            values: |s| {
                [
                    "SWX".into(),
                    s.order.head.order_no.clone().unwrap().to_string(),
                ]
            },
        },
        Case {
            name: "K3 logisticsNo",
            rule: rule::K3,
            code: None,
            breaks: |s| s.inventory.head.logistics_no = text("LNX"),
            orders: &[
                ("OPWI", &["InventoryHead/logisticsNo"]),
                ("IPOW", &["LogisticsHead/logisticsNo"]),
            ],
            values: |s| {
                let carried = s.logistics.head.logistics_no.clone().unwrap();
                ["LNX".into(), carried.to_string()]
            },
        },
        Case {
            name: "K4 waybill orderNo",
            rule: rule::K4,
            code: None,
            breaks: |s| s.logistics.head.order_no = text("SWX"),
            orders: &[
                ("OPWI", &["LogisticsHead/orderNo"]),
                ("WPIO", &["LogisticsHead/orderNo"]),
            ],
            values: |s| {
                [
                    "SWX".into(),
                    s.order.head.order_no.clone().unwrap().to_string(),
                ]
            },
        },
        Case {
            name: "A2 amountPaid",
            rule: rule::A2,
            code: None,
            breaks: |s| {
                let paid = s.payment.head.amount_paid.unwrap();
                s.payment.head.amount_paid = paid.checked_sub(Decimal::from_units(50));
            },
            orders: &[
                ("OPWI", &["PaymentHead/amountPaid"]),
                ("PWIO", &["OrderHead/acturalPaid"]),
            ],
            values: |s| {
                let paid = s.payment.head.amount_paid.unwrap();
                [
                    s.order.head.actural_paid.unwrap().to_string(),
                    paid.to_string(),
                ]
            },
        },
        Case {
            name: "C1 consigneeAddress",
            rule: rule::C1,
            code: None,
            breaks: |s| s.logistics.head.consignee_address = text("上海市浦东新区1号"),
            orders: &[
                ("OPWI", &["LogisticsHead/consigneeAddress"]),
                ("WPIO", &["OrderHead/consigneeAddress"]),
            ],
            // Personal data: only the region of each address is shown.
            values: |s| {
                let ordered = s.order.head.consignee_address.clone().unwrap();
                [
                    single_window::telemetry::mask::address(ordered.as_str()),
                    single_window::telemetry::mask::address("上海市浦东新区1号"),
                ]
            },
        },
        Case {
            name: "C1 consigneeTelephone (masked)",
            rule: rule::C1,
            code: None,
            breaks: |s| s.logistics.head.consignee_telephone = text("13900139000"),
            orders: &[
                ("OWPI", &["LogisticsHead/consigneeTelephone"]),
                ("WIPO", &["OrderHead/consigneeTelephone"]),
            ],
            values: |_| [mask("13800138000"), mask("13900139000")],
        },
        Case {
            name: "L1 gname",
            rule: rule::L1,
            code: None,
            breaks: |s| s.inventory.items[1].gname = text("别的商品 something else"),
            orders: &[
                ("OPWI", &["InventoryList[2]/gname"]),
                ("IPWO", &["OrderList[2]/itemName"]),
            ],
            values: |s| {
                let ordered = s.order.items[1].item_name.clone().unwrap();
                ["别的商品 something else".into(), ordered.to_string()]
            },
        },
        Case {
            name: "L1 gnum without an order line",
            rule: rule::L1,
            code: None,
            breaks: |s| s.inventory.items[1].gnum = Some(5),
            orders: &[
                ("OPWI", &["InventoryList[2]/gnum", "InventoryList/gnum"]),
                ("IPWO", &["OrderList[2]/gnum", "OrderList/gnum"]),
            ],
            values: |_| ["gnum 5".into(), "gnum 2".into()],
        },
        Case {
            name: "B1 inventory buyerName",
            rule: rule::B1,
            code: None,
            breaks: |s| s.inventory.head.buyer_name = text("李四"),
            orders: &[
                ("OPWI", &["InventoryHead/buyerName"]),
                ("IWPO", &["PaymentHead/payerName"]),
            ],
            // Personal data: only the first character of each name is shown.
            values: |_| ["李*".into(), "张*".into()],
        },
        Case {
            name: "B1 payerIdNumber (masked)",
            rule: rule::B1,
            code: None,
            breaks: |s| s.payment.head.payer_id_number = other_id(),
            orders: &[
                ("OWIP", &["PaymentHead/payerIdNumber"]),
                ("PWIO", &["InventoryHead/buyerIdNumber"]),
            ],
            values: |s| {
                let buyer = s.order.head.buyer_id_number.clone().unwrap();
                [mask(buyer.as_str()), mask("11010519491231002X")]
            },
        },
        Case {
            name: "P1 payment sender is not its payCode",
            rule: rule::P1,
            code: None,
            breaks: |s| s.payment.head.pay_code = ent("1101110323"),
            orders: &[
                ("OPWI", &["BaseTransfer/copCode"]),
                ("PWIO", &["BaseTransfer/copCode"]),
            ],
            values: |_| [PAYER.into(), "1101110323".into()],
        },
    ]
}

/// The document for letter `O`, `P`, `W` or `I`, with the sender of its role.
pub fn doc(s: &synth::Shipment, letter: char) -> (Document<'static>, &'static str) {
    match letter {
        'O' => (Document::Order(s.order.clone()), PLATFORM),
        'P' => (Document::Payment(s.payment.clone()), PAYER),
        'W' => (Document::Logistics(s.logistics.clone()), CARRIER),
        'I' => (Document::Inventory(s.inventory.clone()), PLATFORM),
        _ => panic!("no document {letter}"),
    }
}

/// `s`'s document `letter` as a change (or delete) with a new guid and `appTime` moved by
/// `seconds`.
pub fn amended(
    s: &synth::Shipment,
    letter: char,
    app_type: AppType,
    seconds: i64,
) -> Document<'static> {
    let mut s = s.clone();
    let time = |t: Option<Timestamp>| {
        t.map(|t| Timestamp::from_number(t.number().checked_add_signed(seconds).unwrap()))
    };
    let new_guid = guid("AMEND");
    match letter {
        'O' => {
            let h = &mut s.order.head;
            (h.app_type, h.app_time, h.guid) = (Some(app_type), time(h.app_time), new_guid);
        }
        'P' => {
            let h = &mut s.payment.head;
            (h.app_type, h.app_time, h.guid) = (Some(app_type), time(h.app_time), new_guid);
        }
        'W' => {
            let h = &mut s.logistics.head;
            (h.app_type, h.app_time, h.guid) = (Some(app_type), time(h.app_time), new_guid);
        }
        _ => {
            let h = &mut s.inventory.head;
            (h.app_type, h.app_time, h.guid) = (Some(app_type), time(h.app_time), new_guid);
        }
    }
    doc(&s, letter).0
}

pub fn sender_of(letter: char) -> &'static str {
    match letter {
        'P' => PAYER,
        'W' => CARRIER,
        _ => PLATFORM,
    }
}

/// A CEB623 head or CEB625 head (`$ty`) of shipment `$s`'s inventory: the same fields, copied.
macro_rules! of_inventory {
    ($ty:ident, $s:expr, $guid:expr, $reason:expr) => {{
        let h = &$s.inventory.head;
        $ty {
            guid: guid($guid),
            app_type: Some(AppType::New),
            app_time: h.app_time,
            app_status: h.app_status,
            order_no: h.order_no.clone(),
            ebp_code: h.ebp_code.clone(),
            ebc_code: h.ebc_code.clone(),
            agent_code: h.agent_code.clone(),
            agent_name: h.agent_name.clone(),
            customs_code: h.customs_code,
            ebp_name: h.ebp_name.clone(),
            ebc_name: h.ebc_name.clone(),
            logistics_no: h.logistics_no.clone(),
            logistics_code: h.logistics_code.clone(),
            logistics_name: h.logistics_name.clone(),
            cop_no: h.cop_no.clone(),
            invt_no: invt_no($s),
            buyer_id_type: h.buyer_id_type,
            buyer_id_number: h.buyer_id_number.clone(),
            buyer_name: h.buyer_name.clone(),
            buyer_telephone: h.buyer_telephone.clone(),
            reason: text($reason),
            ..Default::default()
        }
    }};
}

pub fn cancel(s: &synth::Shipment) -> Document<'static> {
    Document::InvtCancel(of_inventory!(InvtCancel, s, "CANCEL", "buyer changed mind"))
}

pub fn refund(s: &synth::Shipment, gnums: &[i32]) -> Document<'static> {
    Document::InvtRefund(InvtRefund {
        head: of_inventory!(InvtRefundHead, s, "REFUND", "damaged in transit"),
        items: gnums
            .iter()
            .map(|g| {
                let line = &s.inventory.items[(*g as usize).saturating_sub(1).min(1)];
                InvtRefundList {
                    gnum: Some(*g),
                    gcode: line.gcode,
                    gname: line.gname.clone(),
                    qty: line.qty,
                    unit: line.unit,
                    ..Default::default()
                }
            })
            .collect(),
    })
}

/// The customs inventory number a released inventory would have been given (18 characters).
pub fn invt_no(s: &synth::Shipment) -> Option<Text<'static>> {
    let order = s
        .inventory
        .head
        .order_no
        .as_ref()
        .map_or("", |t| t.as_str());
    let digits: String = order.chars().filter(char::is_ascii_digit).collect();
    text(&format!(
        "2926I{:0>13}",
        &digits[digits.len().saturating_sub(13)..]
    ))
}
