//! Synthetic, consistent shipments (order, payment, waybill, inventory, and the agency
//! declarations) for the load generator, the benchmarks and the tests. Deterministic: the same
//! index gives the same shipment. Every document is clean under the shipped rules.
//!
//! This file is the public face: a [`Shipment`] drawn from what its documents share (numbers,
//! time, buyer, goods and their tax), and the messages that carry it. Beside it:
//! - `documents`: the CEB documents: order, payment, waybill, inventory;
//! - `declarations`: the agency declarations: tax, inspection, FX settlement;
//! - `random`: SplitMix64 and the values drawn from it (guids, identity numbers).

mod declarations;
mod documents;
mod random;

use std::borrow::Cow;

use crate::domain::records::{BaseTransfer, Inventory, Logistics, Order, Payment};
use crate::domain::{
    Decimal, Document, EntCode, FxSettlement, HsCode, InspectionDeclaration, Message, MessageKind,
    ShipmentKey, TaxDeclaration, Text, Timestamp,
};
use crate::rules::Rules;
use crate::validate::tax::{compute, Rates, TaxAmounts, TaxInput};
use random::{id_card, mix, SplitMix};

/// The demo platform (also e-commerce enterprise, agent and guarantor).
pub const PLATFORM: &str = "3301960001";
/// The demo payment enterprise.
pub const PAYER: &str = "3301960002";
/// The demo logistics enterprise.
pub const CARRIER: &str = "3301960003";

/// Goods the generator sells: HS code, name, unit price.
const CATALOGUE: &[(&str, &str, &str)] = &[
    ("3304990099", "保湿面霜 moisturising cream 50ml", "199"),
    ("1901101000", "婴儿配方奶粉 infant formula 800g", "268"),
    ("8517130000", "智能手机 smartphone 128GB", "1499"),
    ("6109100021", "棉制针织T恤 cotton T-shirt", "99"),
    ("9619001900", "婴儿纸尿裤 baby diapers L 54", "129"),
    ("2106909090", "复合维生素片 multivitamin tablets 90", "168"),
];

/// One shipment's documents.
#[derive(Debug, Clone)]
pub struct Shipment {
    /// CEB311 order.
    pub order: Order<'static>,
    /// CEB411 payment.
    pub payment: Payment<'static>,
    /// CEB511 waybill.
    pub logistics: Logistics<'static>,
    /// CEB621 inventory.
    pub inventory: Inventory<'static>,
    /// Tax declaration (withholding as the gateway computes it).
    pub tax: TaxDeclaration<'static>,
    /// Inspection declaration (every line, flagged ones declared).
    pub inspection: InspectionDeclaration<'static>,
    /// FX settlement (USD at a fixed demo rate).
    pub fx: FxSettlement<'static>,
}

/// The `n`-th shipment of run `seed`.
pub fn shipment(seed: u64, n: u64, rules: &Rules) -> Shipment {
    // Seed and index hashed apart: runs of different seeds share no shipment.
    let mut rng = SplitMix(mix(seed) ^ mix(!n));
    let order_no = format!("SW{seed:04}{n:012}");
    let logistics_no = format!("LN{seed:04}{n:012}");
    let pay_tx = format!("PT{seed:04}{n:012}");
    let app_time = Timestamp::from_number(20_261_124_080_000 + (n % 50) * 100 + n % 60);
    let buyer_id = id_card(&mut rng);
    let freight = Decimal::from_units(10);
    let insured = Decimal::ZERO;

    let line_count = 1 + rng.below(3) as usize;
    let mut goods = Vec::with_capacity(line_count);
    for i in 0..line_count {
        let (hs, name, price) =
            CATALOGUE[(rng.below(CATALOGUE.len() as u64) as usize + i) % CATALOGUE.len()];
        let price: Decimal = price.parse().unwrap_or(Decimal::ZERO);
        let qty = if price > Decimal::from_units(1000) {
            1
        } else {
            1 + rng.below(2) as i64
        };
        goods.push((hs, name, price, Decimal::from_units(qty)));
    }
    let inputs: Vec<TaxInput> = goods
        .iter()
        .map(|(hs, _, price, qty)| {
            let entry = code_u64(hs).and_then(|c| rules.hs.get(&c));
            TaxInput {
                goods_value: price.checked_mul(*qty).unwrap_or(Decimal::ZERO),
                rates: Rates {
                    vat: entry.map_or(Decimal::ZERO, |e| e.vat),
                    consumption: entry.map_or(Decimal::ZERO, |e| e.consumption),
                    tariff: entry.and_then(|e| e.tariff),
                },
                indivisible: false,
            }
        })
        .collect();
    let goods_value = inputs.iter().fold(Decimal::ZERO, |s, l| {
        s.checked_add(l.goods_value).unwrap_or(s)
    });
    let (per_line, total) = compute(&inputs, freight, insured, &rules.tax).unwrap_or_default();
    let tax_total = total.total().unwrap_or(Decimal::ZERO);
    let paid = goods_value
        .checked_add(freight)
        .and_then(|s| s.checked_add(tax_total))
        .unwrap_or(Decimal::ZERO);

    let weight = Decimal::from_units(1 + line_count as i64);
    let key = ShipmentKey {
        ebp_code: EntCode::parse_str(PLATFORM).expect("synthetic values are well-formed"),
        order_no: Text(Cow::Owned(order_no.clone())),
    };
    let c = Common {
        n,
        order_no,
        logistics_no,
        pay_tx,
        app_time,
        buyer_id,
        freight,
        insured,
        goods,
        inputs,
        goods_value,
        per_line,
        total,
        tax_total,
        paid,
        weight,
        key,
    };
    // The documents draw their guids in this order.
    let order = documents::order(&c, &mut rng);
    let payment = documents::payment(&c, &mut rng);
    let logistics = documents::logistics(&c, &mut rng);
    let inventory = documents::inventory(&c, &mut rng);
    Shipment {
        order,
        payment,
        logistics,
        inventory,
        tax: declarations::tax(&c),
        inspection: declarations::inspection(&c, rules),
        fx: declarations::fx(&c),
    }
}

/// A CEB data message of `kind` carrying `blocks`, sent by `sender`.
pub fn message(
    kind: MessageKind,
    guid: &str,
    sender: &str,
    blocks: Vec<Document<'static>>,
) -> Message<'static> {
    let mut message = crate::ceb::encode::receipt_message(kind, guid, blocks);
    message.transfer = Some(BaseTransfer {
        cop_code: ent(sender),
        cop_name: text("Demo sender"),
        dxp_mode: text("DXP"),
        dxp_id: text("DXPENT0000000001"),
        ..Default::default()
    });
    message.signed = kind.signature_required();
    message
}

/// The root guid of a message sent for shipment `n` of `seed`: 36 characters, distinct per
/// seed, shipment and kind.
pub fn message_guid(seed: u64, n: u64, kind: MessageKind) -> String {
    format!(
        "{:08X}-0000-{:04X}-0000-{:012X}",
        seed & 0xFFFF_FFFF,
        kind as u64 & 0xFFFF,
        n & 0xFFFF_FFFF_FFFF
    )
}

/// The four messages of shipment `n` of `seed` as their senders send them: order (platform),
/// payment (payment enterprise), waybill (logistics enterprise), inventory (platform).
pub fn shipment_messages(
    seed: u64,
    n: u64,
    rules: &Rules,
) -> [(&'static str, Message<'static>); 4] {
    let s = shipment(seed, n, rules);
    [
        (MessageKind::Ceb311, PLATFORM, Document::Order(s.order)),
        (MessageKind::Ceb411, PAYER, Document::Payment(s.payment)),
        (
            MessageKind::Ceb511,
            CARRIER,
            Document::Logistics(s.logistics),
        ),
        (
            MessageKind::Ceb621,
            PLATFORM,
            Document::Inventory(s.inventory),
        ),
    ]
    .map(|(kind, sender, doc)| {
        let guid = message_guid(seed, n, kind);
        (sender, message(kind, &guid, sender, vec![doc]))
    })
}

/// A CEB621 message of `count` inventories (shipments `first..first+count` of `seed`).
pub fn inventory_message(seed: u64, first: u64, count: usize, rules: &Rules) -> Message<'static> {
    let blocks = (0..count as u64)
        .map(|i| Document::Inventory(shipment(seed, first + i, rules).inventory))
        .collect();
    message(
        MessageKind::Ceb621,
        &format!("{:036}", first),
        PLATFORM,
        blocks,
    )
}

/// What a shipment's documents share, drawn once by [`shipment`].
struct Common {
    /// The shipment's index in its run.
    n: u64,
    order_no: String,
    logistics_no: String,
    pay_tx: String,
    app_time: Timestamp,
    /// The buyer's (and payer's) resident identity number.
    buyer_id: String,
    freight: Decimal,
    insured: Decimal,
    /// The lines: HS code, name, unit price, quantity.
    goods: Vec<(&'static str, &'static str, Decimal, Decimal)>,
    /// The lines' tax inputs.
    inputs: Vec<TaxInput>,
    goods_value: Decimal,
    /// The tax of each line, and in total.
    per_line: Vec<TaxAmounts>,
    total: TaxAmounts,
    tax_total: Decimal,
    /// Goods, freight and tax: what the buyer paid.
    paid: Decimal,
    weight: Decimal,
    key: ShipmentKey<'static>,
}

fn text(s: &str) -> Option<Text<'static>> {
    Some(Text(Cow::Owned(s.to_owned())))
}

fn ent(s: &str) -> Option<EntCode<'static>> {
    EntCode::parse_str(s.to_owned()).ok()
}

fn code_u64(s: &str) -> Option<u64> {
    HsCode::parse_str(s).ok().map(HsCode::number)
}
