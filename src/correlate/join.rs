//! The join rules (domain.md §3 K1–K4): each document names the shipment (`ebpCode` +
//! `orderNo`, the order standing for the key once on file) and the documents it joins to
//! name each other consistently. Run on the state a document would produce, for the pairs
//! the arriving document is in.

use super::compare::{differ, head, key, Show};
use super::kind::DocKind;
use super::rule;
use super::shipment::Shipment;
use crate::report::Violation;

/// Violations of K1–K4 (and the order's own key) caused by `arriving`.
pub(super) fn check(s: &Shipment, arriving: DocKind, out: &mut Vec<Violation>) {
    keyed(s, arriving, out);
    let (Some(order), Some(payment)) = (&s.order, &s.payment) else {
        return inventory_pairs(s, arriving, out);
    };
    if matches!(arriving, DocKind::Order | DocKind::Payment) {
        let (o, p) = (&order.doc.head, &payment.doc.head);
        let pairs = [
            (
                "payCode",
                o.pay_code.as_ref().map(|c| c.as_str()),
                p.pay_code.as_ref().map(|c| c.as_str()),
            ),
            (
                "payTransactionId",
                o.pay_transaction_id.as_ref().map(|t| t.as_str()),
                p.pay_transaction_id.as_ref().map(|t| t.as_str()),
            ),
        ];
        for (field, ordered, paid) in pairs {
            out.extend(differ(
                rule::K1,
                arriving,
                head(DocKind::Order, field, ordered),
                head(DocKind::Payment, field, paid),
                Show::Plain,
            ));
        }
    }
    inventory_pairs(s, arriving, out);
}

/// The arriving document's `ebpCode` / `orderNo` against the order (or, with no order on
/// file yet, the shipment key).
fn keyed(s: &Shipment, arriving: DocKind, out: &mut Vec<Violation>) {
    let order = s.order.as_ref().map(|f| &f.doc.head);
    let reference = |field: &'static str, from_order: Option<&str>, from_key: &str| match order {
        Some(_) => head(DocKind::Order, field, from_order),
        None => key(field, from_key),
    };
    let order_no = order.and_then(|o| o.order_no.as_ref()).map(|t| t.as_str());
    let ebp_code = order.and_then(|o| o.ebp_code.as_ref()).map(|c| c.as_str());
    let key_order_no = s.key.order_no.as_str();
    let key_ebp = s.key.ebp_code.as_str();
    let (rule, order_no_here, ebp_here) = match arriving {
        DocKind::Order => {
            let Some(o) = order else { return };
            let fields = [
                (
                    "orderNo",
                    o.order_no.as_ref().map(|t| t.as_str()),
                    key_order_no,
                ),
                ("ebpCode", o.ebp_code.as_ref().map(|c| c.as_str()), key_ebp),
            ];
            for (field, value, expected) in fields {
                out.extend(differ(
                    rule::KEY,
                    arriving,
                    head(DocKind::Order, field, value),
                    key(field, expected),
                    Show::Plain,
                ));
            }
            return;
        }
        DocKind::Payment => {
            let Some(p) = s.payment.as_ref().map(|f| &f.doc.head) else {
                return;
            };
            (
                rule::K1,
                p.order_no.as_ref().map(|t| t.as_str()),
                Some(p.ebp_code.as_ref().map(|c| c.as_str())),
            )
        }
        DocKind::Inventory => {
            let Some(i) = s.inventory.as_ref().map(|f| &f.doc.head) else {
                return;
            };
            (
                rule::K2,
                i.order_no.as_ref().map(|t| t.as_str()),
                Some(i.ebp_code.as_ref().map(|c| c.as_str())),
            )
        }
        DocKind::Waybill => {
            let Some(w) = s.waybill.as_ref().map(|f| &f.doc.head) else {
                return;
            };
            (rule::K4, w.order_no.as_ref().map(|t| t.as_str()), None)
        }
    };
    out.extend(differ(
        rule,
        arriving,
        head(arriving, "orderNo", order_no_here),
        reference("orderNo", order_no, key_order_no),
        Show::Plain,
    ));
    if let Some(ebp_here) = ebp_here {
        out.extend(differ(
            rule,
            arriving,
            head(arriving, "ebpCode", ebp_here),
            reference("ebpCode", ebp_code, key_ebp),
            Show::Plain,
        ));
    }
}

/// K2 (`ebcCode` with the order) and K3 (`logisticsCode` + `logisticsNo` with the waybill).
fn inventory_pairs(s: &Shipment, arriving: DocKind, out: &mut Vec<Violation>) {
    let Some(inventory) = s.inventory.as_ref().map(|f| &f.doc.head) else {
        return;
    };
    if let (Some(order), DocKind::Inventory | DocKind::Order) = (&s.order, arriving) {
        let o = &order.doc.head;
        out.extend(differ(
            rule::K2,
            arriving,
            head(
                DocKind::Inventory,
                "ebcCode",
                inventory.ebc_code.as_ref().map(|c| c.as_str()),
            ),
            head(
                DocKind::Order,
                "ebcCode",
                o.ebc_code.as_ref().map(|c| c.as_str()),
            ),
            Show::Plain,
        ));
    }
    if let (Some(waybill), DocKind::Inventory | DocKind::Waybill) = (&s.waybill, arriving) {
        let w = &waybill.doc.head;
        let pairs = [
            (
                "logisticsCode",
                inventory.logistics_code.as_ref().map(|c| c.as_str()),
                w.logistics_code.as_ref().map(|c| c.as_str()),
            ),
            (
                "logisticsNo",
                inventory.logistics_no.as_ref().map(|t| t.as_str()),
                w.logistics_no.as_ref().map(|t| t.as_str()),
            ),
        ];
        for (field, declared, carried) in pairs {
            out.extend(differ(
                rule::K3,
                arriving,
                head(DocKind::Inventory, field, declared),
                head(DocKind::Waybill, field, carried),
                Show::Plain,
            ));
        }
    }
}
