//! The agreement rules (domain.md §3 A2, C1, L1, B1): what two documents of one shipment both
//! say must be the same. Run on the state a document would produce, for the pairs the
//! arriving document is in.

use super::compare::{differ, head, item, list, Show};
use super::kind::DocKind;
use super::rule;
use super::shipment::Shipment;
use crate::report::{At, Violation};

/// Violations of A2, C1, L1 and B1 caused by `arriving`.
pub(super) fn check(s: &Shipment, arriving: DocKind, out: &mut Vec<Violation>) {
    let is = |a: DocKind, b: DocKind| arriving == a || arriving == b;
    let order = s.order.as_ref().map(|f| &f.doc);
    let payment = s.payment.as_ref().map(|f| &f.doc.head);
    let waybill = s.waybill.as_ref().map(|f| &f.doc.head);
    let inventory = s.inventory.as_ref().map(|f| &f.doc);

    if let (Some(o), Some(p)) = (order, payment) {
        if is(DocKind::Order, DocKind::Payment) {
            out.extend(differ(
                rule::A2,
                arriving,
                head(DocKind::Order, "acturalPaid", o.head.actural_paid.as_ref()),
                head(DocKind::Payment, "amountPaid", p.amount_paid.as_ref()),
                Show::Plain,
            ));
        }
    }
    if let (Some(o), Some(w)) = (order, waybill) {
        if is(DocKind::Order, DocKind::Waybill) {
            let o = &o.head;
            let fields = [
                ("consignee", &o.consignee, &w.consignee, Show::Name),
                (
                    "consigneeTelephone",
                    &o.consignee_telephone,
                    &w.consignee_telephone,
                    Show::Masked,
                ),
                (
                    "consigneeAddress",
                    &o.consignee_address,
                    &w.consignee_address,
                    Show::Address,
                ),
            ];
            for (field, ordered, carried, show) in fields {
                out.extend(differ(
                    rule::C1,
                    arriving,
                    head(DocKind::Order, field, ordered.as_ref()),
                    head(DocKind::Waybill, field, carried.as_ref()),
                    show,
                ));
            }
        }
    }
    if let (Some(o), Some(i)) = (order, inventory) {
        if is(DocKind::Order, DocKind::Inventory) {
            lines(o, i, arriving, out);
        }
    }
    buyers(s, arriving, out);
}

/// L1: inventory lines and order lines pair up 1:1 by `gnum`, `gname` = `itemName`.
fn lines(
    order: &crate::domain::records::Order<'static>,
    inventory: &crate::domain::records::Inventory<'static>,
    arriving: DocKind,
    out: &mut Vec<Violation>,
) {
    let ordered: Vec<(Option<i32>, Option<&str>)> = order
        .items
        .iter()
        .map(|l| (l.gnum, l.item_name.as_ref().map(|t| t.as_str())))
        .collect();
    let declared: Vec<(Option<i32>, Option<&str>)> = inventory
        .items
        .iter()
        .map(|l| (l.gnum, l.gname.as_ref().map(|t| t.as_str())))
        .collect();
    let (here, there, other) = match arriving {
        DocKind::Order => (&ordered, &declared, DocKind::Inventory),
        _ => (&declared, &ordered, DocKind::Order),
    };
    let record = |kind| match kind {
        DocKind::Order => ("OrderList", "itemName"),
        _ => ("InventoryList", "gname"),
    };
    let (here_record, _) = record(arriving);
    for (index, (gnum, _)) in here.iter().enumerate() {
        let Some(gnum) = gnum else { continue };
        if there.iter().any(|(g, _)| g == &Some(*gnum)) {
            continue;
        }
        out.push(Violation::new(
            rule::L1,
            At::item(here_record, index + 1).field("gnum"),
            gnum.to_string(),
            format!(
                "{arriving} gnum {gnum} has no {other} line ({other} gnums {})",
                list(there.iter().filter_map(|(g, _)| *g))
            ),
        ));
    }
    for (gnum, _) in there {
        let Some(gnum) = gnum else { continue };
        if here.iter().any(|(g, _)| g == &Some(*gnum)) {
            continue;
        }
        out.push(Violation::new(
            rule::L1,
            At::head(here_record).field("gnum"),
            String::new(),
            format!(
                "{other} gnum {gnum} has no {arriving} line ({arriving} gnums {})",
                list(here.iter().filter_map(|(g, _)| *g))
            ),
        ));
    }
    for (index, (gnum, gname)) in declared.iter().enumerate() {
        let Some(gnum) = gnum else { continue };
        let Some((order_index, (_, item_name))) = ordered
            .iter()
            .enumerate()
            .find(|(_, (g, _))| g == &Some(*gnum))
        else {
            continue;
        };
        out.extend(differ(
            rule::L1,
            arriving,
            item(
                DocKind::Inventory,
                "InventoryList",
                index + 1,
                "gname",
                *gname,
            ),
            item(
                DocKind::Order,
                "OrderList",
                order_index + 1,
                "itemName",
                *item_name,
            ),
            Show::Plain,
        ));
    }
}

/// B1: the inventory's buyer is the order's, and the payer is that buyer.
fn buyers(s: &Shipment, arriving: DocKind, out: &mut Vec<Violation>) {
    type Person<'s> = (DocKind, [(&'static str, Option<&'s str>); 2]);
    let order = s.order.as_ref().map(|f| &f.doc.head).map(|o| {
        (
            DocKind::Order,
            [
                ("buyerName", o.buyer_name.as_ref().map(|t| t.as_str())),
                (
                    "buyerIdNumber",
                    o.buyer_id_number.as_ref().map(|n| n.as_str()),
                ),
            ],
        )
    });
    let inventory = s.inventory.as_ref().map(|f| &f.doc.head).map(|i| {
        (
            DocKind::Inventory,
            [
                ("buyerName", i.buyer_name.as_ref().map(|t| t.as_str())),
                (
                    "buyerIdNumber",
                    i.buyer_id_number.as_ref().map(|n| n.as_str()),
                ),
            ],
        )
    });
    let payment = s.payment.as_ref().map(|f| &f.doc.head).map(|p| {
        (
            DocKind::Payment,
            [
                ("payerName", p.payer_name.as_ref().map(|t| t.as_str())),
                (
                    "payerIdNumber",
                    p.payer_id_number.as_ref().map(|n| n.as_str()),
                ),
            ],
        )
    });
    let pairs: [(Option<Person>, Option<Person>); 3] =
        [(inventory, order), (payment, order), (payment, inventory)];
    for (a, b) in pairs {
        let (Some((a_kind, a_fields)), Some((b_kind, b_fields))) = (a, b) else {
            continue;
        };
        if arriving != a_kind && arriving != b_kind {
            continue;
        }
        for (((a_field, a_value), (b_field, b_value)), show) in a_fields
            .into_iter()
            .zip(b_fields)
            .zip([Show::Name, Show::Masked])
        {
            out.extend(differ(
                rule::B1,
                arriving,
                head(a_kind, a_field, a_value),
                head(b_kind, b_field, b_value),
                show,
            ));
        }
    }
}
