//! Single-document rules of the CEB declarations: order, payment, waybill, waybill status,
//! inventory, cancellation, return, warehouse entry.

use super::check::Check;
use super::rule;
use crate::domain::records::{
    Delivery, Inventory, InventoryHead, InventoryList, InvtCancel, InvtRefund, Logistics,
    LogisticsStatus, Order, Payment,
};
use crate::domain::{Decimal, EntCode, IdNumber, IdType, Text, TradeMode};
use crate::report::{At, Violation};
use crate::rules::Role;

const ORDER_HEAD: At = At {
    record: "OrderHead",
    item: None,
};

/// CEB311 order.
pub(super) fn order(c: &mut Check<'_>, order: &Order<'_>) {
    let h = &order.head;
    let at = ORDER_HEAD;
    c.import_flag(at, "orderType", h.order_type);
    c.enterprise(at, "ebpCode", h.ebp_code.as_ref(), Role::Ebp);
    c.enterprise(at, "ebcCode", h.ebc_code.as_ref(), Role::Ebc);
    c.enterprise(at, "payCode", h.pay_code.as_ref(), Role::Pay);
    c.import_currency(at, "currency", h.currency);
    c.identity(
        at,
        ("buyerIdType", h.buyer_id_type),
        ("buyerIdNumber", h.buyer_id_number.as_ref()),
    );
    c.not_blank(at, "buyerName", h.buyer_name.as_ref());
    for (field, value) in [
        ("goodsValue", h.goods_value),
        ("freight", h.freight),
        ("discount", h.discount),
        ("taxTotal", h.tax_total),
        ("acturalPaid", h.actural_paid),
    ] {
        c.not_negative(at, field, value);
    }
    if let (Some(goods), Some(freight), Some(tax), Some(discount), Some(paid)) = (
        h.goods_value,
        h.freight,
        h.tax_total,
        h.discount,
        h.actural_paid,
    ) {
        let expected = goods
            .checked_add(freight)
            .and_then(|s| s.checked_add(tax))
            .and_then(|s| s.checked_sub(discount));
        if expected != Some(paid) {
            c.push(Violation::new(
                rule::A1,
                at.field("acturalPaid"),
                paid.to_string(),
                format!(
                    "acturalPaid {paid} ≠ goodsValue {goods} + freight {freight} + taxTotal {tax} − discount {discount}"
                ),
            ));
        }
    }
    let mut lines_total = Some(Decimal::ZERO);
    for (i, line) in order.items.iter().enumerate() {
        let at = At::item("OrderList", i + 1);
        c.unit(at, "unit", line.unit);
        c.country(at, "country", line.country);
        c.import_currency(at, "currency", line.currency);
        c.goods_name(at, "itemName", line.item_name.as_ref());
        c.not_negative(at, "qty", line.qty);
        c.not_negative(at, "price", line.price);
        c.line_total(at, line.price, line.qty, line.total_price);
        lines_total = match (lines_total, line.total_price) {
            (Some(sum), Some(t)) => sum.checked_add(t),
            _ => None,
        };
    }
    c.gnums("OrderList", order.items.iter().map(|l| l.gnum), false);
    if let (Some(goods), Some(sum)) = (h.goods_value, lines_total) {
        if goods != sum {
            c.push(Violation::new(
                rule::A4,
                at.field("goodsValue"),
                goods.to_string(),
                format!("goodsValue {goods} ≠ sum of OrderList totalPrice {sum}"),
            ));
        }
    }
}

/// CEB411 payment voucher.
pub(super) fn payment(c: &mut Check<'_>, payment: &Payment<'_>) {
    let h = &payment.head;
    let at = At::head("PaymentHead");
    c.enterprise(at, "payCode", h.pay_code.as_ref(), Role::Pay);
    c.enterprise(at, "ebpCode", h.ebp_code.as_ref(), Role::Ebp);
    c.identity(
        at,
        ("payerIdType", h.payer_id_type),
        ("payerIdNumber", h.payer_id_number.as_ref()),
    );
    c.not_blank(at, "payerName", h.payer_name.as_ref());
    c.import_currency(at, "currency", h.currency);
    c.not_negative(at, "amountPaid", h.amount_paid);
}

/// CEB511 waybill.
pub(super) fn logistics(c: &mut Check<'_>, logistics: &Logistics<'_>) {
    let h = &logistics.head;
    let at = At::head("LogisticsHead");
    c.enterprise(
        at,
        "logisticsCode",
        h.logistics_code.as_ref(),
        Role::Logistics,
    );
    c.import_currency(at, "currency", h.currency);
    c.pack_no(at, h.pack_no);
    for (field, value) in [
        ("freight", h.freight),
        ("insuredFee", h.insured_fee),
        ("weight", h.weight),
    ] {
        c.not_negative(at, field, value);
    }
}

/// CEB513 waybill status.
pub(super) fn logistics_status(c: &mut Check<'_>, status: &LogisticsStatus<'_>) {
    let at = At::head("LogisticsStatus");
    c.enterprise(
        at,
        "logisticsCode",
        status.logistics_code.as_ref(),
        Role::Logistics,
    );
}

/// CEB621 customs inventory.
pub(super) fn inventory(c: &mut Check<'_>, inventory: &Inventory<'_>) {
    let h = &inventory.head;
    let at = At::head("InventoryHead");
    c.import_flag(at, "ieFlag", h.ie_flag);
    c.enterprise(at, "ebpCode", h.ebp_code.as_ref(), Role::Ebp);
    c.enterprise(at, "ebcCode", h.ebc_code.as_ref(), Role::Ebc);
    c.enterprise(
        at,
        "logisticsCode",
        h.logistics_code.as_ref(),
        Role::Logistics,
    );
    c.enterprise(at, "agentCode", h.agent_code.as_ref(), Role::Agent);
    assure_code(c, h);
    c.customs(at, "customsCode", h.customs_code);
    c.customs(at, "portCode", h.port_code);
    c.country(at, "country", h.country);
    c.import_currency(at, "currency", h.currency);
    c.identity(
        at,
        ("buyerIdType", h.buyer_id_type),
        ("buyerIdNumber", h.buyer_id_number.as_ref()),
    );
    c.not_blank(at, "buyerName", h.buyer_name.as_ref());
    c.pack_no(at, h.pack_no);
    for (field, value) in [
        ("freight", h.freight),
        ("insuredFee", h.insured_fee),
        ("grossWeight", h.gross_weight),
        ("netWeight", h.net_weight),
    ] {
        c.not_negative(at, field, value);
    }
    if let (Some(gross), Some(net)) = (h.gross_weight, h.net_weight) {
        if gross < net {
            c.push(Violation::new(
                rule::WEIGHT,
                at.field("grossWeight"),
                gross.to_string(),
                format!("grossWeight {gross} is below netWeight {net}"),
            ));
        }
    }
    trade_mode_fields(c, inventory);
    for (i, line) in inventory.items.iter().enumerate() {
        inventory_line(c, At::item("InventoryList", i + 1), line);
    }
    c.gnums(
        "InventoryList",
        inventory.items.iter().map(|l| l.gnum),
        false,
    );
    transaction_limit(c, inventory);
}

fn inventory_line(c: &mut Check<'_>, at: At, line: &InventoryList<'_>) {
    c.hs(at, "gcode", line.gcode);
    c.goods_name(at, "gname", line.gname.as_ref());
    if line.item_name != line.gname {
        c.goods_name(at, "itemName", line.item_name.as_ref());
    }
    c.country(at, "country", line.country);
    c.country(at, "tradeCountry", line.trade_country);
    c.import_currency(at, "currency", line.currency);
    c.unit(at, "unit", line.unit);
    c.unit(at, "unit1", line.unit1);
    c.unit(at, "unit2", line.unit2);
    for (field, value) in [
        ("qty", line.qty),
        ("qty1", line.qty1),
        ("qty2", line.qty2),
        ("price", line.price),
    ] {
        c.not_negative(at, field, value);
    }
    c.line_total(at, line.price, line.qty, line.total_price);
}

/// P1: the guarantor is the platform, the e-commerce enterprise or the logistics enterprise.
fn assure_code(c: &mut Check<'_>, h: &InventoryHead<'_>) {
    let Some(assure) = &h.assure_code else { return };
    let named = [&h.ebp_code, &h.ebc_code, &h.logistics_code];
    if named.iter().any(|code| code.as_ref() == Some(assure)) {
        return;
    }
    let text = |code: &Option<crate::domain::EntCode<'_>>| {
        code.as_ref().map_or("-".to_owned(), |c| c.to_string())
    };
    c.push(Violation::new(
        rule::P1,
        At::head("InventoryHead").field("assureCode"),
        assure.as_str(),
        format!(
            "assureCode must be the ebpCode ({}), ebcCode ({}) or logisticsCode ({})",
            text(&h.ebp_code),
            text(&h.ebc_code),
            text(&h.logistics_code)
        ),
    ));
}

/// 9610 needs the transport fields; bonded modes need the bonded-zone fields.
fn trade_mode_fields(c: &mut Check<'_>, inventory: &Inventory<'_>) {
    let h = &inventory.head;
    let at = At::head("InventoryHead");
    let present = |t: &Option<crate::domain::Text<'_>>| {
        t.as_ref().is_some_and(|t| !t.as_str().trim().is_empty())
    };
    let (rule, missing): (&str, Vec<&str>) = match h.trade_mode {
        Some(TradeMode::DirectPurchase) => (
            rule::MODE_9610,
            [
                ("trafNo", &h.traf_no),
                ("voyageNo", &h.voyage_no),
                ("billNo", &h.bill_no),
            ]
            .into_iter()
            .filter(|(_, v)| !present(v))
            .map(|(f, _)| f)
            .collect(),
        ),
        Some(TradeMode::Bonded | TradeMode::BondedA) => {
            let missing: Vec<&str> = [
                ("emsNo", &h.ems_no),
                ("areaCode", &h.area_code),
                ("areaName", &h.area_name),
            ]
            .into_iter()
            .filter(|(_, v)| !present(v))
            .map(|(f, _)| f)
            .collect();
            for (i, line) in inventory.items.iter().enumerate() {
                if !present(&line.item_record_no) {
                    c.push(Violation::new(
                        rule::MODE_1210,
                        At::item("InventoryList", i + 1).field("itemRecordNo"),
                        "",
                        "bonded import needs the bonded-ledger item number",
                    ));
                }
            }
            (rule::MODE_1210, missing)
        }
        None => return,
    };
    for field in missing {
        c.push(Violation::new(
            rule,
            at.field(field),
            "",
            format!(
                "trade mode {} needs {field}",
                h.trade_mode.map_or("", |m| m.code())
            ),
        ));
    }
}

/// Q1: the dutiable value of one inventory is within the single-transaction limit, unless
/// it is one indivisible item (then it is taxed in full instead, but must still fit the
/// buyer's annual limit). The buyer's running annual total is checked in correlation.
fn transaction_limit(c: &mut Check<'_>, inventory: &Inventory<'_>) {
    let h = &inventory.head;
    let Some(value) = super::tax::dutiable_value(
        inventory.items.iter().map(|l| l.total_price),
        h.freight,
        h.insured_fee,
    ) else {
        return;
    };
    let limit = c.rules.tax.single_transaction_limit;
    let annual = c.rules.tax.annual_limit;
    let one_item =
        inventory.items.len() == 1 && inventory.items[0].qty == Some(Decimal::from_units(1));
    if value > annual {
        c.push(
            Violation::new(
                rule::Q1,
                At::head("InventoryHead").field("freight"),
                value.to_string(),
                format!("dutiable value {value} alone is over the buyer's annual limit {annual}"),
            )
            .with_code(rule::Q1_ANNUAL_CODE),
        );
    } else if value > limit && !one_item {
        c.push(
            Violation::new(
                rule::Q1,
                At::head("InventoryHead").field("freight"),
                value.to_string(),
                format!(
                    "dutiable value {value} (goods + freight + insurance) is over the single-transaction limit {limit}"
                ),
            )
            .with_code(rule::Q1_SINGLE_CODE),
        );
    }
}

/// CEB623 cancellation.
pub(super) fn cancel(c: &mut Check<'_>, cancel: &InvtCancel<'_>) {
    c.customs(At::head("InvtCancel"), "customsCode", cancel.customs_code);
    parties_and_buyer(
        c,
        At::head("InvtCancel"),
        Parties {
            ebp: cancel.ebp_code.as_ref(),
            ebc: cancel.ebc_code.as_ref(),
            logistics: cancel.logistics_code.as_ref(),
            agent: cancel.agent_code.as_ref(),
            buyer_id_type: cancel.buyer_id_type,
            buyer_id_number: cancel.buyer_id_number.as_ref(),
            buyer_name: cancel.buyer_name.as_ref(),
        },
    );
}

/// The enterprises and the buyer named by a cancellation or a return.
struct Parties<'r, 'a> {
    ebp: Option<&'r EntCode<'a>>,
    ebc: Option<&'r EntCode<'a>>,
    logistics: Option<&'r EntCode<'a>>,
    agent: Option<&'r EntCode<'a>>,
    buyer_id_type: Option<IdType>,
    buyer_id_number: Option<&'r IdNumber<'a>>,
    buyer_name: Option<&'r Text<'a>>,
}

fn parties_and_buyer(c: &mut Check<'_>, at: At, p: Parties<'_, '_>) {
    c.enterprise(at, "ebpCode", p.ebp, Role::Ebp);
    c.enterprise(at, "ebcCode", p.ebc, Role::Ebc);
    c.enterprise(at, "logisticsCode", p.logistics, Role::Logistics);
    c.enterprise(at, "agentCode", p.agent, Role::Agent);
    c.identity(
        at,
        ("buyerIdType", p.buyer_id_type),
        ("buyerIdNumber", p.buyer_id_number),
    );
    c.not_blank(at, "buyerName", p.buyer_name);
}

/// CEB625 return. Its lines refer to the original inventory's lines (checked against it in
/// correlation, -625209), so the HS table is not consulted here.
pub(super) fn refund(c: &mut Check<'_>, refund: &InvtRefund<'_>) {
    let h = &refund.head;
    let at = At::head("InvtRefundHead");
    c.customs(at, "customsCode", h.customs_code);
    parties_and_buyer(
        c,
        at,
        Parties {
            ebp: h.ebp_code.as_ref(),
            ebc: h.ebc_code.as_ref(),
            logistics: h.logistics_code.as_ref(),
            agent: h.agent_code.as_ref(),
            buyer_id_type: h.buyer_id_type,
            buyer_id_number: h.buyer_id_number.as_ref(),
            buyer_name: h.buyer_name.as_ref(),
        },
    );
    for (i, line) in refund.items.iter().enumerate() {
        let at = At::item("InvtRefundList", i + 1);
        c.unit(at, "unit", line.unit);
        c.not_negative(at, "qty", line.qty);
    }
    c.gnums("InvtRefundList", refund.items.iter().map(|l| l.gnum), true);
}

/// CEB711 warehouse entry.
pub(super) fn delivery(c: &mut Check<'_>, delivery: &Delivery<'_>) {
    let h = &delivery.head;
    let at = At::head("DeliveryHead");
    c.import_flag(at, "ieFlag", h.ie_flag);
    c.customs(at, "customsCode", h.customs_code);
    c.enterprise(
        at,
        "operatorCode",
        h.operator_code.as_ref(),
        Role::Warehouse,
    );
    c.enterprise(
        at,
        "logisticsCode",
        h.logistics_code.as_ref(),
        Role::Logistics,
    );
    c.gnums("DeliveryList", delivery.items.iter().map(|l| l.gnum), false);
}
