//! Table-driven tests of the single-document validation rules.
//!
//! Every case starts from a clean synthetic shipment (`synth::shipment`), breaks exactly one
//! rule and checks the whole report: the rule ids, the element paths and the CEB codes of
//! every violation, and nothing else. Facet rules (XSD-*) are broken in the XML text, since the
//! typed records cannot hold a bad value.

use std::borrow::Cow;
use std::sync::OnceLock;

use single_window::ceb::{decode_str, encode::encode};
use single_window::domain::records::{Inventory, Logistics, Order, Payment};
use single_window::domain::{
    Body, CountryCode, CurrencyCode, CustomsCode, Decimal, Declaration, Document, EntCode,
    FxSettlement, HsCode, IdNumber, IdType, IeFlag, InspectionDeclaration, MessageKind,
    TaxDeclaration, TaxLine, Text, TradeMode, UnitCode,
};
use single_window::report::Report;
use single_window::rules::Rules;
use single_window::synth::{self, Shipment, CARRIER, PAYER, PLATFORM};
use single_window::validate::{rule, validate};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// One expected violation: rule id, element path, CEB code.
type Exp = (&'static str, &'static str, Option<i32>);

/// A table row: what is broken, how, and the complete expected report.
type Case<T> = (&'static str, fn(&mut T), &'static [Exp]);

const GNUM_DUP: Option<i32> = Some(rule::GNUM_DUPLICATE_CODE);
const Q1_CODE: Option<i32> = Some(rule::Q1_SINGLE_CODE);

fn rules() -> &'static Rules {
    static RULES: OnceLock<Rules> = OnceLock::new();
    RULES.get_or_init(|| Rules::embedded().expect("the shipped rules load"))
}

/// The first synthetic shipment of seed 7 whose documents have exactly `lines` goods lines.
fn shipment(lines: usize) -> Shipment {
    (0..1000)
        .map(|n| synth::shipment(7, n, rules()))
        .find(|s| s.inventory.items.len() == lines)
        .unwrap_or_else(|| panic!("no synthetic shipment with {lines} lines"))
}

fn d(s: &str) -> Decimal {
    s.parse().expect("test decimal")
}

fn plus(value: &mut Option<Decimal>, delta: &str) {
    let v = value.expect("the synthetic field is set");
    *value = v.checked_add(d(delta));
}

fn some_d(s: &str) -> Option<Decimal> {
    Some(d(s))
}

fn text(s: &'static str) -> Option<Text<'static>> {
    Some(Text(Cow::Borrowed(s)))
}

fn ent(s: &'static str) -> EntCode<'static> {
    EntCode::parse_str(s).expect("test enterprise code")
}

fn hs(s: &str) -> HsCode {
    HsCode::parse_str(s).expect("test HS code")
}

/// The same identity number with a wrong check character.
fn bad_check_digit(id: &IdNumber<'_>) -> IdNumber<'static> {
    let mut s = id.as_str().to_owned();
    let last = s.pop().expect("non-empty id");
    s.push(if last == '0' { '1' } else { '0' });
    IdNumber::parse_str(s).expect("still printable")
}

fn ceb(document: Document<'static>) -> Body<'static> {
    Body::Ceb(document)
}

fn check(body: Body<'_>) -> Report {
    validate(&Declaration::new(body), rules())
}

fn shown(report: &Report) -> String {
    report
        .violations
        .iter()
        .map(|v| format!("\n    {v}"))
        .collect()
}

/// The report holds exactly `expected` (rule, path, code), in any order.
fn assert_report(name: &str, report: &Report, expected: &[Exp]) {
    let mut got: Vec<(String, String, Option<i32>)> = report
        .violations
        .iter()
        .map(|v| (v.rule.to_owned(), v.path.clone(), v.code))
        .collect();
    let mut want: Vec<(String, String, Option<i32>)> = expected
        .iter()
        .map(|(r, p, c)| ((*r).to_owned(), (*p).to_owned(), *c))
        .collect();
    got.sort();
    want.sort();
    assert_eq!(got, want, "case {name:?}: report was:{}", shown(report));
}

/// Runs every row of `cases` on a fresh copy of `base`.
fn run<T: Clone>(base: &T, wrap: fn(T) -> Body<'static>, cases: &[Case<T>]) {
    assert_report("baseline", &check(wrap(base.clone())), &[]);
    for (name, mutate, expected) in cases {
        let mut doc = base.clone();
        mutate(&mut doc);
        assert_report(name, &check(wrap(doc)), expected);
    }
}

fn inventory_body(inv: Inventory<'static>) -> Body<'static> {
    ceb(Document::Inventory(inv))
}

fn order_body(order: Order<'static>) -> Body<'static> {
    ceb(Document::Order(order))
}

fn payment_body(payment: Payment<'static>) -> Body<'static> {
    ceb(Document::Payment(payment))
}

fn logistics_body(logistics: Logistics<'static>) -> Body<'static> {
    ceb(Document::Logistics(logistics))
}

fn tax_body(tax: TaxDeclaration<'static>) -> Body<'static> {
    Body::Tax(tax)
}

fn inspection_body(inspection: InspectionDeclaration<'static>) -> Body<'static> {
    Body::Inspection(inspection)
}

fn fx_body(fx: FxSettlement<'static>) -> Body<'static> {
    Body::FxSettlement(fx)
}

// --- XML text ------------------------------------------------------------------------------

/// The CEB XML of a one-block message carrying `document`.
fn xml_of(kind: MessageKind, document: Document<'static>) -> String {
    let message = synth::message(kind, &format!("{:036}", 1), PLATFORM, vec![document]);
    encode(&message)
}

/// Byte range of the text of the `nth` (1-based) `<ceb:name>` element.
fn element_text(xml: &str, name: &str, nth: usize) -> std::ops::Range<usize> {
    let open = format!("<ceb:{name}>");
    let close = format!("</ceb:{name}>");
    let mut from = 0;
    for _ in 0..nth {
        let at = xml[from..]
            .find(&open)
            .unwrap_or_else(|| panic!("no element #{nth} {name} in the XML"));
        from += at + open.len();
    }
    let end = from + xml[from..].find(&close).expect("closed element");
    from..end
}

/// Replaces the text of the `nth` `<ceb:name>` element.
fn set_element(xml: &str, name: &str, nth: usize, new_text: &str) -> String {
    let range = element_text(xml, name, nth);
    format!("{}{new_text}{}", &xml[..range.start], &xml[range.end..])
}

/// Removes the `nth` `<ceb:name>` element.
fn remove_element(xml: &str, name: &str, nth: usize) -> String {
    let range = element_text(xml, name, nth);
    let start = range.start - format!("<ceb:{name}>").len();
    let end = range.end + format!("</ceb:{name}>").len();
    format!("{}{}", &xml[..start], &xml[end..])
}

/// Decodes a one-block message and validates its block (decoder defects included).
fn check_xml(xml: &str) -> Report {
    let message = decode_str(xml, &rules().limits).expect("the message decodes");
    assert_eq!(message.blocks.len(), 1);
    validate(&message.blocks[0], rules())
}

// ---------------------------------------------------------------------------------------------
// Baseline
// ---------------------------------------------------------------------------------------------

#[test]
fn clean_synthetic_documents_produce_empty_reports() {
    for n in 0..60 {
        let s = synth::shipment(7, n, rules());
        let bodies = [
            ("order", order_body(s.order.clone())),
            ("payment", payment_body(s.payment.clone())),
            ("logistics", logistics_body(s.logistics.clone())),
            ("inventory", inventory_body(s.inventory.clone())),
            ("tax", tax_body(s.tax.clone())),
            ("inspection", inspection_body(s.inspection.clone())),
            ("fx", fx_body(s.fx.clone())),
        ];
        for (what, body) in bodies {
            let report = check(body);
            assert!(report.is_clean(), "shipment {n} {what}: {}", shown(&report));
        }
    }
    // Every line count the tables below rely on exists.
    for lines in 1..=3 {
        assert_eq!(shipment(lines).order.items.len(), lines);
    }
}

#[test]
fn clean_documents_stay_clean_through_xml() {
    let s = shipment(3);
    for (kind, document) in [
        (MessageKind::Ceb311, Document::Order(s.order)),
        (MessageKind::Ceb411, Document::Payment(s.payment)),
        (MessageKind::Ceb511, Document::Logistics(s.logistics)),
        (MessageKind::Ceb621, Document::Inventory(s.inventory)),
    ] {
        let report = check_xml(&xml_of(kind, document));
        assert_report(&format!("{kind:?} round trip"), &report, &[]);
    }
}

// ---------------------------------------------------------------------------------------------
// Order arithmetic: A1, A3, A4, NEGATIVE
// ---------------------------------------------------------------------------------------------

#[test]
fn order_arithmetic() {
    let cases: &[Case<Order<'static>>] = &[
        (
            "A1: acturalPaid one fen too high",
            |o| plus(&mut o.head.actural_paid, "0.01"),
            &[(rule::A1, "OrderHead/acturalPaid", None)],
        ),
        (
            "A1: discount not subtracted",
            |o| o.head.discount = some_d("5"),
            &[(rule::A1, "OrderHead/acturalPaid", None)],
        ),
        (
            "A3: line 2 totalPrice ≠ price × qty (head kept consistent)",
            |o| {
                plus(&mut o.items[1].total_price, "1");
                plus(&mut o.head.goods_value, "1");
                plus(&mut o.head.actural_paid, "1");
            },
            &[(rule::A3, "OrderList[2]/totalPrice", None)],
        ),
        (
            "A3: two lines wrong, each reported",
            |o| {
                plus(&mut o.items[0].total_price, "-0.02");
                plus(&mut o.items[2].total_price, "0.02");
            },
            &[
                (rule::A3, "OrderList[1]/totalPrice", None),
                (rule::A3, "OrderList[3]/totalPrice", None),
            ],
        ),
        (
            "A4: goodsValue ≠ sum of line totals",
            |o| {
                plus(&mut o.head.goods_value, "1");
                plus(&mut o.head.actural_paid, "1");
            },
            &[(rule::A4, "OrderHead/goodsValue", None)],
        ),
        (
            "NEGATIVE: line qty and total below zero",
            |o| {
                let line = &mut o.items[1];
                let (qty, price) = (line.qty.unwrap(), line.price.unwrap());
                let neg_qty = Decimal::ZERO.checked_sub(qty).unwrap();
                let old_total = line.total_price.unwrap();
                line.qty = Some(neg_qty);
                line.total_price = price.checked_mul(neg_qty);
                // keep A4 and A1 consistent with the new line total
                let delta = line.total_price.unwrap().checked_sub(old_total).unwrap();
                o.head.goods_value = o.head.goods_value.unwrap().checked_add(delta);
                o.head.actural_paid = o.head.actural_paid.unwrap().checked_add(delta);
            },
            &[(rule::NEGATIVE, "OrderList[2]/qty", None)],
        ),
    ];
    run(&shipment(3).order, order_body, cases);
}

/// A3 allows for rounding of `price × qty` to the fen: a total within tolerance passes.
#[test]
fn a3_accepts_rounding_and_rejects_a_real_difference() {
    let cases: &[Case<Inventory<'static>>] = &[
        (
            "price with 5 decimals, total rounded to the fen",
            |inv| {
                let line = &mut inv.items[0];
                line.qty = some_d("3");
                line.qty1 = some_d("3");
                line.price = some_d("33.33333");
                line.total_price = some_d("100");
            },
            &[],
        ),
        (
            "total off by two fen",
            |inv| plus(&mut inv.items[0].total_price, "0.02"),
            &[(rule::A3, "InventoryList[1]/totalPrice", None)],
        ),
    ];
    run(&shipment(1).inventory, inventory_body, cases);
}

/// `check.rs` documents the A3 tolerance as half a fen, but `LINE_TOLERANCE` is 1000 raw units
/// (10⁻⁵ each), i.e. a whole fen: a total off by 0.006 or 0.01 passes. Ignored until fixed.
#[test]
fn a3_tolerance_is_half_a_fen() {
    let cases: &[Case<Inventory<'static>>] = &[
        (
            "total off by 0.005 (half a fen) passes",
            |inv| plus(&mut inv.items[0].total_price, "0.005"),
            &[],
        ),
        (
            "total off by 0.006 is A3",
            |inv| plus(&mut inv.items[0].total_price, "0.006"),
            &[(rule::A3, "InventoryList[1]/totalPrice", None)],
        ),
        (
            "total off by one fen is A3",
            |inv| plus(&mut inv.items[0].total_price, "0.01"),
            &[(rule::A3, "InventoryList[1]/totalPrice", None)],
        ),
    ];
    run(&shipment(1).inventory, inventory_body, cases);
}

// ---------------------------------------------------------------------------------------------
// Inventory head and lines
// ---------------------------------------------------------------------------------------------

#[test]
fn inventory_lines_and_numbering() {
    let cases: &[Case<Inventory<'static>>] = &[
        (
            "A3: line 2 totalPrice ≠ price × qty",
            |inv| plus(&mut inv.items[1].total_price, "1"),
            &[(rule::A3, "InventoryList[2]/totalPrice", None)],
        ),
        (
            "GNUM gap: 1, 2, 4",
            |inv| inv.items[2].gnum = Some(4),
            &[(rule::GNUM, "InventoryList[3]/gnum", None)],
        ),
        (
            "GNUM duplicate: 1, 1, 3 (-621027)",
            |inv| inv.items[1].gnum = Some(1),
            &[(rule::GNUM, "InventoryList[2]/gnum", GNUM_DUP)],
        ),
        (
            "GNUM duplicate above 127: 1, 200, 200 (-621027 and the gap)",
            |inv| {
                inv.items[1].gnum = Some(200);
                inv.items[2].gnum = Some(200);
            },
            &[
                (rule::GNUM, "InventoryList[2]/gnum", None),
                (rule::GNUM, "InventoryList[3]/gnum", GNUM_DUP),
            ],
        ),
        (
            "NEGATIVE: qty1 below zero",
            |inv| inv.items[0].qty1 = some_d("-1"),
            &[(rule::NEGATIVE, "InventoryList[1]/qty1", None)],
        ),
        (
            "NEGATIVE: insuredFee below zero",
            |inv| inv.head.insured_fee = some_d("-0.5"),
            &[(rule::NEGATIVE, "InventoryHead/insuredFee", None)],
        ),
        (
            "WEIGHT: grossWeight below netWeight",
            |inv| inv.head.gross_weight = some_d("0.5"),
            &[(rule::WEIGHT, "InventoryHead/grossWeight", None)],
        ),
        (
            "PACK-NO: two parcels",
            |inv| inv.head.pack_no = Some(2),
            &[(rule::PACK_NO, "InventoryHead/packNo", None)],
        ),
        (
            "P1: assureCode is a registered enterprise not named in the inventory",
            |inv| inv.head.assure_code = Some(ent("1105910159")),
            &[(rule::P1, "InventoryHead/assureCode", None)],
        ),
        (
            "P1 holds: the logistics enterprise may guarantee",
            |inv| inv.head.assure_code = Some(ent(CARRIER)),
            &[],
        ),
        (
            "IE-FLAG: export flag on an import inventory",
            |inv| inv.head.ie_flag = Some(IeFlag::Export),
            &[(rule::IMPORT_FLAG, "InventoryHead/ieFlag", None)],
        ),
    ];
    run(&shipment(3).inventory, inventory_body, cases);
}

#[test]
fn trade_mode_fields() {
    let cases: &[Case<Inventory<'static>>] = &[
        (
            "MODE-9610: billNo missing",
            |inv| inv.head.bill_no = None,
            &[(rule::MODE_9610, "InventoryHead/billNo", None)],
        ),
        (
            "MODE-9610: trafNo blank",
            |inv| inv.head.traf_no = text("  "),
            &[(rule::MODE_9610, "InventoryHead/trafNo", None)],
        ),
        (
            "MODE-1210: bonded without the bonded-zone fields",
            |inv| inv.head.trade_mode = Some(TradeMode::Bonded),
            &[
                (rule::MODE_1210, "InventoryHead/emsNo", None),
                (rule::MODE_1210, "InventoryHead/areaCode", None),
                (rule::MODE_1210, "InventoryHead/areaName", None),
                (rule::MODE_1210, "InventoryList[1]/itemRecordNo", None),
                (rule::MODE_1210, "InventoryList[2]/itemRecordNo", None),
            ],
        ),
        (
            "MODE-1210: 1239 with everything but one line's itemRecordNo",
            |inv| {
                inv.head.trade_mode = Some(TradeMode::BondedA);
                inv.head.ems_no = text("T2928W000001");
                inv.head.area_code = text("3301960004");
                inv.head.area_name = text("Demo Bonded Warehouse");
                inv.items[0].item_record_no = text("ITEM-0001");
            },
            &[(rule::MODE_1210, "InventoryList[2]/itemRecordNo", None)],
        ),
        (
            "MODE-1210: a blank areaCode counts as missing",
            |inv| {
                inv.head.trade_mode = Some(TradeMode::Bonded);
                inv.head.ems_no = text("T2928W000001");
                inv.head.area_code = text("  ");
                inv.head.area_name = text("Demo Bonded Warehouse");
                for line in &mut inv.items {
                    line.item_record_no = text("ITEM-0001");
                }
            },
            &[(rule::MODE_1210, "InventoryHead/areaCode", None)],
        ),
        (
            "bonded with every field is clean",
            |inv| {
                inv.head.trade_mode = Some(TradeMode::Bonded);
                inv.head.ems_no = text("T2928W000001");
                inv.head.area_code = text("3301960004");
                inv.head.area_name = text("Demo Bonded Warehouse");
                for line in &mut inv.items {
                    line.item_record_no = text("ITEM-0001");
                }
            },
            &[],
        ),
    ];
    run(&shipment(2).inventory, inventory_body, cases);
}

// ---------------------------------------------------------------------------------------------
// Buyer and payer identity: ID-CHECK, ID-TYPE, BUYER-ID
// ---------------------------------------------------------------------------------------------

#[test]
fn buyer_identity() {
    let order: &[Case<Order<'static>>] = &[
        (
            "ID-CHECK: wrong check digit",
            |o| {
                let id = o.head.buyer_id_number.as_ref().unwrap();
                o.head.buyer_id_number = Some(bad_check_digit(id));
            },
            &[(rule::ID_CHECK, "OrderHead/buyerIdNumber", None)],
        ),
        (
            "ID-CHECK: 17 characters",
            |o| o.head.buyer_id_number = IdNumber::parse_str("33010619800101001").ok(),
            &[(rule::ID_CHECK, "OrderHead/buyerIdNumber", None)],
        ),
        (
            "ID-TYPE: type 2 (other document), number not checked",
            |o| {
                o.head.buyer_id_type = Some(IdType::Other);
                o.head.buyer_id_number = IdNumber::parse_str("E12345678").ok();
            },
            &[(rule::ID_TYPE, "OrderHead/buyerIdType", None)],
        ),
        (
            "BUYER-ID: blank buyer name",
            |o| o.head.buyer_name = text(" \t "),
            &[(rule::BUYER_ID, "OrderHead/buyerName", None)],
        ),
    ];
    run(&shipment(1).order, order_body, order);

    let inventory: &[Case<Inventory<'static>>] = &[
        (
            "ID-CHECK on the inventory",
            |inv| {
                let id = inv.head.buyer_id_number.as_ref().unwrap();
                inv.head.buyer_id_number = Some(bad_check_digit(id));
            },
            &[(rule::ID_CHECK, "InventoryHead/buyerIdNumber", None)],
        ),
        (
            "BUYER-ID on the inventory",
            |inv| inv.head.buyer_name = text(""),
            &[(rule::BUYER_ID, "InventoryHead/buyerName", None)],
        ),
    ];
    run(&shipment(1).inventory, inventory_body, inventory);

    let payment: &[Case<Payment<'static>>] = &[
        (
            "BUYER-ID: blank payer name",
            |p| p.head.payer_name = text("   "),
            &[(rule::BUYER_ID, "PaymentHead/payerName", None)],
        ),
        (
            "ID-TYPE: payer type 2",
            |p| p.head.payer_id_type = Some(IdType::Other),
            &[(rule::ID_TYPE, "PaymentHead/payerIdType", None)],
        ),
        (
            "NEGATIVE: amountPaid below zero",
            |p| p.head.amount_paid = some_d("-1"),
            &[(rule::NEGATIVE, "PaymentHead/amountPaid", None)],
        ),
    ];
    run(&shipment(1).payment, payment_body, payment);
}

#[test]
fn id_check_masks_the_number_in_the_report() {
    let mut order = shipment(1).order;
    let id = order.head.buyer_id_number.clone().unwrap();
    order.head.buyer_id_number = Some(bad_check_digit(&id));
    let report = check(order_body(order));
    assert_eq!(report.rules(), vec![rule::ID_CHECK]);
    let value = &report.violations[0].value;
    assert_eq!(value.chars().count(), 18);
    assert_eq!(&value[..3], &id.as_str()[..3]);
    assert!(value[3..16].chars().all(|c| c == '*'), "{value}");
}

// ---------------------------------------------------------------------------------------------
// Q1: the single-transaction limit
// ---------------------------------------------------------------------------------------------

/// Sets line `i` to `qty` × `price` consistently (qty1 follows qty).
fn set_line(inv: &mut Inventory<'static>, i: usize, qty: &str, price: &str) {
    let line = &mut inv.items[i];
    line.qty = some_d(qty);
    line.qty1 = some_d(qty);
    line.price = some_d(price);
    line.total_price = d(price).checked_mul(d(qty));
}

#[test]
fn q1_single_transaction_limit() {
    let several: &[Case<Inventory<'static>>] = &[
        (
            "Q1: three lines of 2000 (+10 freight) over 5000",
            |inv| {
                for i in 0..3 {
                    set_line(inv, i, "1", "2000");
                }
            },
            &[(rule::Q1, "InventoryHead/freight", Q1_CODE)],
        ),
        (
            "Q1: freight pushes 4995 of goods over the limit",
            |inv| {
                set_line(inv, 0, "1", "2000");
                set_line(inv, 1, "1", "2000");
                set_line(inv, 2, "1", "995");
            },
            &[(rule::Q1, "InventoryHead/freight", Q1_CODE)],
        ),
        (
            "no Q1: exactly 5000 with freight",
            |inv| {
                set_line(inv, 0, "1", "2000");
                set_line(inv, 1, "1", "2000");
                set_line(inv, 2, "1", "990");
            },
            &[],
        ),
    ];
    run(&shipment(3).inventory, inventory_body, several);

    let single: &[Case<Inventory<'static>>] = &[
        (
            "no Q1: one line, qty 1, over the limit (taxed in full instead)",
            |inv| set_line(inv, 0, "1", "6000"),
            &[],
        ),
        (
            "Q1: one line but qty 2 over the limit",
            |inv| set_line(inv, 0, "2", "3000"),
            &[(rule::Q1, "InventoryHead/freight", Q1_CODE)],
        ),
        (
            "Q1 -621018: one item over the buyer's whole annual limit",
            |inv| set_line(inv, 0, "1", "30000"),
            &[(
                rule::Q1,
                "InventoryHead/freight",
                Some(rule::Q1_ANNUAL_CODE),
            )],
        ),
    ];
    run(&shipment(1).inventory, inventory_body, single);
}

#[test]
fn q1_reports_the_dutiable_value() {
    let mut inv = shipment(3).inventory;
    for i in 0..3 {
        set_line(&mut inv, i, "1", "2000");
    }
    let report = check(inventory_body(inv));
    assert_eq!(report.violations.len(), 1, "{}", shown(&report));
    assert_eq!(report.violations[0].value, "6010");
    assert_eq!(report.violations[0].code, Some(-621_005));
}

// ---------------------------------------------------------------------------------------------
// Goods: negative list and HS table
// ---------------------------------------------------------------------------------------------

#[test]
fn goods_negative_list_and_hs_table() {
    let cases: &[Case<Inventory<'static>>] = &[
        (
            // 9302000000 is refused and, being refused, is not in the HS table either.
            "NEG-HS: pistols (9302000000)",
            |inv| inv.items[1].gcode = Some(hs("9302000000")),
            &[
                (rule::NEGATIVE_HS, "InventoryList[2]/gcode", None),
                (rule::CODE_HS, "InventoryList[2]/gcode", None),
            ],
        ),
        (
            "NEG-HS: tobacco by prefix 2402",
            |inv| inv.items[0].gcode = Some(hs("2402200000")),
            &[
                (rule::NEGATIVE_HS, "InventoryList[1]/gcode", None),
                (rule::CODE_HS, "InventoryList[1]/gcode", None),
            ],
        ),
        (
            "NEG-NAME: gname with 手枪",
            |inv| inv.items[2].gname = text("玩具 手枪 model"),
            &[(rule::NEGATIVE_NAME, "InventoryList[3]/gname", None)],
        ),
        (
            "NEG-NAME: itemName with an English keyword",
            |inv| inv.items[0].item_name = text("Electronic Cigarette kit"),
            &[(rule::NEGATIVE_NAME, "InventoryList[1]/itemName", None)],
        ),
        (
            "CODE-HS: unknown 10-digit code",
            |inv| inv.items[2].gcode = Some(hs("8888888888")),
            &[(rule::CODE_HS, "InventoryList[3]/gcode", None)],
        ),
    ];
    run(&shipment(3).inventory, inventory_body, cases);

    let order: &[Case<Order<'static>>] = &[(
        "NEG-NAME: order itemName with 手枪",
        |o| o.items[0].item_name = text("仿真手枪"),
        &[(rule::NEGATIVE_NAME, "OrderList[1]/itemName", None)],
    )];
    run(&shipment(2).order, order_body, order);
}

// ---------------------------------------------------------------------------------------------
// Code tables: CODE-COUNTRY, CODE-UNIT, CODE-CUSTOMS, CODE-CURRENCY, IE-FLAG
// ---------------------------------------------------------------------------------------------

fn country(s: &str) -> Option<CountryCode> {
    Some(CountryCode::parse_str(s).expect("3 digits"))
}

fn unit(s: &str) -> Option<UnitCode> {
    Some(UnitCode::parse_str(s).expect("3 digits"))
}

fn currency(s: &str) -> Option<CurrencyCode> {
    Some(CurrencyCode::parse_str(s).expect("3 digits"))
}

#[test]
fn code_tables() {
    let inventory: &[Case<Inventory<'static>>] = &[
        (
            "CODE-COUNTRY: head country 999",
            |inv| inv.head.country = country("999"),
            &[(rule::CODE_COUNTRY, "InventoryHead/country", None)],
        ),
        (
            "CODE-COUNTRY: line tradeCountry 999",
            |inv| inv.items[1].trade_country = country("999"),
            &[(rule::CODE_COUNTRY, "InventoryList[2]/tradeCountry", None)],
        ),
        (
            "CODE-UNIT: line unit1 999",
            |inv| inv.items[0].unit1 = unit("999"),
            &[(rule::CODE_UNIT, "InventoryList[1]/unit1", None)],
        ),
        (
            "CODE-CUSTOMS: customs 9999",
            |inv| inv.head.customs_code = CustomsCode::parse_str("9999").ok(),
            &[(rule::CODE_CUSTOMS, "InventoryHead/customsCode", None)],
        ),
        (
            "CODE-CUSTOMS: port 0000",
            |inv| inv.head.port_code = CustomsCode::parse_str("0000").ok(),
            &[(rule::CODE_CUSTOMS, "InventoryHead/portCode", None)],
        ),
        (
            "CODE-CURRENCY: USD (502) on an import inventory",
            |inv| inv.head.currency = currency("502"),
            &[(rule::CODE_CURRENCY, "InventoryHead/currency", None)],
        ),
        (
            "CODE-CURRENCY: unknown currency on a line",
            |inv| inv.items[1].currency = currency("999"),
            &[(rule::CODE_CURRENCY, "InventoryList[2]/currency", None)],
        ),
    ];
    run(&shipment(2).inventory, inventory_body, inventory);

    let order: &[Case<Order<'static>>] = &[
        (
            "CODE-CURRENCY: known currency that is not CNY",
            |o| o.head.currency = currency("502"),
            &[(rule::CODE_CURRENCY, "OrderHead/currency", None)],
        ),
        (
            "CODE-CURRENCY: unknown currency",
            |o| o.head.currency = currency("999"),
            &[(rule::CODE_CURRENCY, "OrderHead/currency", None)],
        ),
        (
            "CODE-COUNTRY: order line",
            |o| o.items[1].country = country("000"),
            &[(rule::CODE_COUNTRY, "OrderList[2]/country", None)],
        ),
        (
            "CODE-UNIT: order line",
            |o| o.items[0].unit = unit("999"),
            &[(rule::CODE_UNIT, "OrderList[1]/unit", None)],
        ),
        (
            "IE-FLAG: export order",
            |o| o.head.order_type = Some(IeFlag::Export),
            &[(rule::IMPORT_FLAG, "OrderHead/orderType", None)],
        ),
    ];
    run(&shipment(2).order, order_body, order);
}

#[test]
fn code_currency_messages_tell_the_two_cases_apart() {
    let mut known = shipment(1).order;
    known.head.currency = currency("502");
    let mut unknown = shipment(1).order;
    unknown.head.currency = currency("999");
    let known = check(order_body(known));
    let unknown = check(order_body(unknown));
    assert_eq!(known.violations[0].value, "502");
    assert!(known.violations[0].message.contains("CNY"));
    assert_eq!(unknown.violations[0].value, "999");
    assert!(unknown.violations[0].message.contains("code table"));
}

// ---------------------------------------------------------------------------------------------
// Enterprises: ENT-UNKNOWN, ENT-SUSPENDED, ENT-ROLE
// ---------------------------------------------------------------------------------------------

#[test]
fn enterprise_register() {
    let order: &[Case<Order<'static>>] = &[
        (
            "ENT-UNKNOWN: ebcCode not registered",
            |o| o.head.ebc_code = Some(ent("9999999999")),
            &[(rule::ENT_UNKNOWN, "OrderHead/ebcCode", None)],
        ),
        (
            "ENT-SUSPENDED: suspended trader as ebpCode",
            |o| o.head.ebp_code = Some(ent("3301960009")),
            &[(rule::ENT_SUSPENDED, "OrderHead/ebpCode", None)],
        ),
        (
            "ENT-ROLE: payCode is the logistics enterprise",
            |o| o.head.pay_code = Some(ent(CARRIER)),
            &[(rule::ENT_ROLE, "OrderHead/payCode", None)],
        ),
    ];
    run(&shipment(2).order, order_body, order);

    let inventory: &[Case<Inventory<'static>>] = &[
        (
            "ENT-SUSPENDED: suspended trader as ebcCode",
            |inv| inv.head.ebc_code = Some(ent("3301960009")),
            &[(rule::ENT_SUSPENDED, "InventoryHead/ebcCode", None)],
        ),
        (
            "ENT-ROLE: payment enterprise as logistics enterprise (P1 still holds via ebpCode)",
            |inv| inv.head.logistics_code = Some(ent(PAYER)),
            &[(rule::ENT_ROLE, "InventoryHead/logisticsCode", None)],
        ),
        (
            "ENT-UNKNOWN: unregistered agent",
            |inv| inv.head.agent_code = Some(ent("91330100MA2XXXXX1X")),
            &[(rule::ENT_UNKNOWN, "InventoryHead/agentCode", None)],
        ),
    ];
    run(&shipment(2).inventory, inventory_body, inventory);

    let logistics: &[Case<Logistics<'static>>] = &[
        (
            "ENT-ROLE: platform as logistics enterprise",
            |l| l.head.logistics_code = Some(ent(PLATFORM)),
            &[(rule::ENT_ROLE, "LogisticsHead/logisticsCode", None)],
        ),
        (
            "PACK-NO: waybill with packNo 3",
            |l| l.head.pack_no = Some(3),
            &[(rule::PACK_NO, "LogisticsHead/packNo", None)],
        ),
        (
            "NEGATIVE: waybill weight",
            |l| l.head.weight = some_d("-2"),
            &[(rule::NEGATIVE, "LogisticsHead/weight", None)],
        ),
        (
            "CODE-CURRENCY: waybill in USD",
            |l| l.head.currency = currency("502"),
            &[(rule::CODE_CURRENCY, "LogisticsHead/currency", None)],
        ),
    ];
    run(&shipment(2).logistics, logistics_body, logistics);
}

// ---------------------------------------------------------------------------------------------
// Agency declarations: TAX, TAX-RATE, Q1 on tax, INSPECTION, FX-AMOUNT, NO-LINES
// ---------------------------------------------------------------------------------------------

fn tax_line(gcode: &str, goods: &str, indivisible: bool) -> TaxLine {
    TaxLine {
        gnum: 1,
        gcode: hs(gcode),
        goods_value: d(goods),
        indivisible,
        customs_tax: Decimal::ZERO,
        value_added_tax: Decimal::ZERO,
        consumption_tax: Decimal::ZERO,
    }
}

/// One indivisible smartphone of 6000 (+10 freight): full tax, tariff 0, VAT 13 % of 6010.
fn full_tax_phone(t: &mut TaxDeclaration<'static>) {
    let mut line = tax_line("8517130000", "6000", true);
    line.value_added_tax = d("781.30");
    t.lines = vec![line];
    t.customs_tax = Decimal::ZERO;
    t.consumption_tax = Decimal::ZERO;
    t.value_added_tax = d("781.30");
}

fn bump(value: &mut Decimal, delta: &str) {
    *value = value.checked_add(d(delta)).expect("in range");
}

#[test]
fn tax_declarations() {
    let cases: &[Case<TaxDeclaration<'static>>] = &[
        (
            "TAX: line 2 VAT one fen too high",
            |t| bump(&mut t.lines[1].value_added_tax, "0.01"),
            &[(rule::TAX, "TaxLine[2]/valueAddedTax", None)],
        ),
        (
            "TAX: line 1 consumption tax one fen too low and the total with it",
            |t| {
                bump(&mut t.lines[0].consumption_tax, "-0.01");
                bump(&mut t.consumption_tax, "-0.01");
            },
            &[
                (rule::TAX, "TaxLine[1]/consumptionTax", None),
                (rule::TAX, "Tax/consumptionTax", None),
            ],
        ),
        (
            "TAX: head VAT total off",
            |t| bump(&mut t.value_added_tax, "0.01"),
            &[(rule::TAX, "Tax/valueAddedTax", None)],
        ),
        (
            "TAX: customs duty withheld within the limits",
            |t| bump(&mut t.lines[0].customs_tax, "1"),
            &[(rule::TAX, "TaxLine[1]/customsTax", None)],
        ),
        (
            "full tax path with a tariff rate is clean",
            full_tax_phone,
            &[],
        ),
        (
            "TAX on the full tax path",
            |t| {
                full_tax_phone(t);
                bump(&mut t.lines[0].value_added_tax, "0.01");
            },
            &[(rule::TAX, "TaxLine[1]/valueAddedTax", None)],
        ),
        (
            "TAX-RATE: one indivisible item over the limit, HS code without tariff",
            |t| t.lines = vec![tax_line("3304990099", "6000", true)],
            &[(rule::TAX_RATE, "Tax/lines", None)],
        ),
        (
            "Q1: two divisible lines over the limit",
            |t| {
                let mut second = tax_line("6109100021", "3000", false);
                second.gnum = 2;
                t.lines = vec![tax_line("9619001900", "3000", false), second];
            },
            &[(rule::Q1, "Tax/lines", Q1_CODE)],
        ),
        (
            "NO-LINES: tax declaration without lines",
            |t| t.lines.clear(),
            &[(rule::NO_LINES, "Tax/lines", None)],
        ),
        (
            "CODE-HS: unknown HS code on a tax line (no computation)",
            |t| t.lines[0].gcode = hs("8888888888"),
            &[(rule::CODE_HS, "TaxLine[1]/gcode", None)],
        ),
        (
            "GNUM duplicate on tax lines",
            |t| t.lines[1].gnum = 1,
            &[(rule::GNUM, "TaxLine[2]/gnum", GNUM_DUP)],
        ),
        (
            "ENT-ROLE: logistics enterprise as guarantor",
            |t| t.assure_code = ent(CARRIER),
            &[(rule::ENT_ROLE, "Tax/assureCode", None)],
        ),
    ];
    run(&shipment(2).tax, tax_body, cases);
}

#[test]
fn inspection_declarations() {
    let cases: &[Case<InspectionDeclaration<'static>>] = &[
        (
            "INSPECTION: cosmetics line not declared for inspection",
            |i| {
                i.lines[1].gcode = hs("3304990099");
                i.lines[1].inspection = false;
            },
            &[(rule::INSPECTION, "InspectionLine[2]/inspection", None)],
        ),
        (
            "declaring an unflagged line for inspection is allowed",
            |i| {
                i.lines[0].gcode = hs("6109100021");
                i.lines[0].inspection = true;
            },
            &[],
        ),
        (
            "NO-LINES: inspection without lines",
            |i| i.lines.clear(),
            &[(rule::NO_LINES, "Inspection/lines", None)],
        ),
        (
            "CODE-COUNTRY: unknown origin",
            |i| i.lines[0].origin = CountryCode::parse_str("999").unwrap(),
            &[(rule::CODE_COUNTRY, "InspectionLine[1]/origin", None)],
        ),
        (
            "GNUM gap on inspection lines",
            |i| i.lines[1].gnum = 5,
            &[(rule::GNUM, "InspectionLine[2]/gnum", None)],
        ),
        (
            "ENT-SUSPENDED: suspended declarant",
            |i| i.declarant = ent("3301960009"),
            &[(rule::ENT_SUSPENDED, "Inspection/declarant", None)],
        ),
    ];
    run(&shipment(2).inspection, inspection_body, cases);
}

#[test]
fn fx_settlements() {
    let cases: &[Case<FxSettlement<'static>>] = &[
        (
            "FX-AMOUNT: amountCny one fen off",
            |fx| bump(&mut fx.amount_cny, "0.01"),
            &[(rule::FX_AMOUNT, "FxSettlement/amountCny", None)],
        ),
        (
            "FX-AMOUNT: rate changed",
            |fx| fx.rate = d("7.2"),
            &[(rule::FX_AMOUNT, "FxSettlement/amountCny", None)],
        ),
        (
            "CODE-CURRENCY: unknown settlement currency",
            |fx| fx.settle_currency = CurrencyCode::parse_str("999").unwrap(),
            &[(rule::CODE_CURRENCY, "FxSettlement/settleCurrency", None)],
        ),
        (
            "ID-CHECK: payer number",
            |fx| fx.payer_id_number = bad_check_digit(&fx.payer_id_number),
            &[(rule::ID_CHECK, "FxSettlement/payerIdNumber", None)],
        ),
        (
            "BUYER-ID: blank payer name",
            |fx| fx.payer_name = Text(Cow::Borrowed(" ")),
            &[(rule::BUYER_ID, "FxSettlement/payerName", None)],
        ),
        (
            "ENT-ROLE: platform as payment enterprise",
            |fx| fx.pay_code = ent(PLATFORM),
            &[(rule::ENT_ROLE, "FxSettlement/payCode", None)],
        ),
    ];
    run(&shipment(2).fx, fx_body, cases);
}

// ---------------------------------------------------------------------------------------------
// Facets through XML: XSD-LENGTH, XSD-FORMAT, XSD-ENUM, XSD-DECIMAL, XSD-REQUIRED
// ---------------------------------------------------------------------------------------------

/// A change to the XML text: set the `nth` `element` to a text, or remove it.
enum Edit {
    Set(&'static str, usize, &'static str),
    Remove(&'static str, usize),
}

fn apply(xml: &str, edit: &Edit) -> String {
    match *edit {
        Edit::Set(name, nth, new_text) => set_element(xml, name, nth, new_text),
        Edit::Remove(name, nth) => remove_element(xml, name, nth),
    }
}

const LONG_ORDER_NO: &str = "SW0123456789012345678901234567890123456789012345678901234567890";
const LONG_NAME: &str = "张三张三张三张三张三张三张三张三张三张三张三张三张三张三张三张三张三张三张三张三张三张三张三张三张三张三张三张三张三张三张";

#[test]
fn xsd_facets_through_xml() {
    assert_eq!(LONG_ORDER_NO.chars().count(), 63);
    assert_eq!(LONG_NAME.chars().count(), 61);
    let s = shipment(2);
    let order_xml = xml_of(MessageKind::Ceb311, Document::Order(s.order));
    let inventory_xml = xml_of(MessageKind::Ceb621, Document::Inventory(s.inventory));
    let cases: &[(&str, &str, Edit, Exp)] = &[
        (
            "XSD-LENGTH: orderNo over 60 characters",
            &order_xml,
            Edit::Set("orderNo", 1, LONG_ORDER_NO),
            ("XSD-LENGTH", "OrderHead/orderNo", None),
        ),
        (
            "XSD-LENGTH: buyerName over 60 characters (counted in characters)",
            &order_xml,
            Edit::Set("buyerName", 1, LONG_NAME),
            ("XSD-LENGTH", "OrderHead/buyerName", None),
        ),
        (
            "XSD-FORMAT: appTime month 13",
            &order_xml,
            Edit::Set("appTime", 1, "20161308112701"),
            ("XSD-FORMAT", "OrderHead/appTime", None),
        ),
        (
            "XSD-ENUM: appType 4",
            &order_xml,
            Edit::Set("appType", 1, "4"),
            ("XSD-ENUM", "OrderHead/appType", None),
        ),
        (
            "XSD-DECIMAL: freight with 6 fraction digits",
            &order_xml,
            Edit::Set("freight", 1, "10.000001"),
            ("XSD-DECIMAL", "OrderHead/freight", None),
        ),
        (
            "XSD-DECIMAL: line price with 6 fraction digits",
            &order_xml,
            Edit::Set("price", 2, "1.123456"),
            ("XSD-DECIMAL", "OrderList[2]/price", None),
        ),
        (
            "XSD-REQUIRED: buyerRegNo removed",
            &order_xml,
            Edit::Remove("buyerRegNo", 1),
            ("XSD-REQUIRED", "OrderHead/buyerRegNo", None),
        ),
        (
            "XSD-REQUIRED: orderNo removed from the inventory",
            &inventory_xml,
            Edit::Remove("orderNo", 1),
            ("XSD-REQUIRED", "InventoryHead/orderNo", None),
        ),
        (
            "XSD-LENGTH: gcode of 5 digits",
            &inventory_xml,
            Edit::Set("gcode", 2, "85171"),
            ("XSD-LENGTH", "InventoryList[2]/gcode", None),
        ),
        (
            "XSD-FORMAT: gcode of 10 characters that are not all digits",
            &inventory_xml,
            Edit::Set("gcode", 2, "85171300AB"),
            ("XSD-FORMAT", "InventoryList[2]/gcode", None),
        ),
        (
            "XSD-FORMAT: packNo not an integer",
            &inventory_xml,
            Edit::Set("packNo", 1, "1.5"),
            ("XSD-FORMAT", "InventoryHead/packNo", None),
        ),
        (
            "XSD-ENUM: tradeMode 9710",
            &inventory_xml,
            Edit::Set("tradeMode", 1, "9710"),
            ("XSD-ENUM", "InventoryHead/tradeMode", None),
        ),
        (
            "XSD-DECIMAL: totalPrice with 20 digits",
            &inventory_xml,
            Edit::Set("totalPrice", 1, "12345678901234567890"),
            ("XSD-DECIMAL", "InventoryList[1]/totalPrice", None),
        ),
    ];
    for (name, xml, edit, expected) in cases {
        let edited = apply(xml, edit);
        assert_ne!(&edited, xml, "case {name:?} changed nothing");
        assert_report(name, &check_xml(&edited), &[*expected]);
    }
}

#[test]
fn facet_violations_carry_the_text_as_sent() {
    let xml = xml_of(MessageKind::Ceb311, Document::Order(shipment(1).order));
    let report = check_xml(&set_element(&xml, "appTime", 1, "20161308112701"));
    assert_eq!(report.violations.len(), 1, "{}", shown(&report));
    assert_eq!(report.violations[0].value, "20161308112701");
}

// ---------------------------------------------------------------------------------------------
// Every rule is reported, not only the first
// ---------------------------------------------------------------------------------------------

#[test]
fn many_broken_rules_are_all_reported() {
    let mut inv = shipment(3).inventory;
    let h = &mut inv.head;
    h.ie_flag = Some(IeFlag::Export);
    h.ebc_code = Some(ent("3301960009"));
    h.agent_code = Some(ent("9999999999"));
    h.assure_code = Some(ent("1105910159"));
    h.customs_code = CustomsCode::parse_str("9999").ok();
    h.currency = currency("502");
    h.buyer_id_type = Some(IdType::Other);
    h.buyer_name = text(" ");
    h.pack_no = Some(2);
    h.gross_weight = some_d("0.1");
    h.bill_no = None;
    inv.items[0].gcode = Some(hs("9302000000"));
    inv.items[0].gname = text("手枪");
    inv.items[1].unit = unit("999");
    inv.items[1].country = country("999");
    plus(&mut inv.items[1].total_price, "1");
    inv.items[2].gnum = Some(2);
    inv.items[2].qty2 = some_d("-1");
    for i in 0..3 {
        let line = &mut inv.items[i];
        let (price, qty) = (d("2000"), line.qty.unwrap());
        line.price = Some(price);
        line.total_price = price.checked_mul(qty).and_then(|t| {
            // keep line 2's A3 break
            if i == 1 {
                t.checked_add(d("1"))
            } else {
                Some(t)
            }
        });
    }
    let expected: &[Exp] = &[
        (rule::IMPORT_FLAG, "InventoryHead/ieFlag", None),
        (rule::ENT_SUSPENDED, "InventoryHead/ebcCode", None),
        (rule::ENT_UNKNOWN, "InventoryHead/agentCode", None),
        (rule::P1, "InventoryHead/assureCode", None),
        (rule::CODE_CUSTOMS, "InventoryHead/customsCode", None),
        (rule::CODE_CURRENCY, "InventoryHead/currency", None),
        (rule::ID_TYPE, "InventoryHead/buyerIdType", None),
        (rule::BUYER_ID, "InventoryHead/buyerName", None),
        (rule::PACK_NO, "InventoryHead/packNo", None),
        (rule::WEIGHT, "InventoryHead/grossWeight", None),
        (rule::MODE_9610, "InventoryHead/billNo", None),
        (rule::NEGATIVE_HS, "InventoryList[1]/gcode", None),
        (rule::CODE_HS, "InventoryList[1]/gcode", None),
        (rule::NEGATIVE_NAME, "InventoryList[1]/gname", None),
        (rule::CODE_COUNTRY, "InventoryList[2]/country", None),
        (rule::CODE_UNIT, "InventoryList[2]/unit", None),
        (rule::A3, "InventoryList[2]/totalPrice", None),
        (rule::NEGATIVE, "InventoryList[3]/qty2", None),
        (rule::GNUM, "InventoryList[3]/gnum", GNUM_DUP),
        (rule::Q1, "InventoryHead/freight", Q1_CODE),
    ];
    assert_report("many broken", &check(inventory_body(inv.clone())), expected);

    // The same through XML, with a facet violation on top: defects and rules together.
    let xml = xml_of(MessageKind::Ceb621, Document::Inventory(inv));
    let xml = set_element(&xml, "appTime", 1, "20161308112701");
    let mut with_defect = expected.to_vec();
    with_defect.push(("XSD-FORMAT", "InventoryHead/appTime", None));
    assert_report("many broken, via XML", &check_xml(&xml), &with_defect);
}

#[test]
fn order_with_every_order_rule_broken() {
    let mut o = shipment(2).order;
    o.head.order_type = Some(IeFlag::Export);
    o.head.pay_code = Some(ent(CARRIER));
    o.head.currency = currency("999");
    o.head.buyer_name = text("");
    plus(&mut o.head.actural_paid, "0.01");
    plus(&mut o.head.goods_value, "-5");
    plus(&mut o.items[0].total_price, "0.5");
    o.items[1].gnum = Some(1);
    o.items[1].country = country("999");
    let report = check(order_body(o));
    assert_report(
        "order, many broken",
        &report,
        &[
            (rule::IMPORT_FLAG, "OrderHead/orderType", None),
            (rule::ENT_ROLE, "OrderHead/payCode", None),
            (rule::CODE_CURRENCY, "OrderHead/currency", None),
            (rule::BUYER_ID, "OrderHead/buyerName", None),
            (rule::A1, "OrderHead/acturalPaid", None),
            (rule::A3, "OrderList[1]/totalPrice", None),
            (rule::CODE_COUNTRY, "OrderList[2]/country", None),
            (rule::GNUM, "OrderList[2]/gnum", GNUM_DUP),
            (rule::A4, "OrderHead/goodsValue", None),
        ],
    );
}
