//! Synthetic, consistent shipments (order, payment, waybill, inventory, and the agency
//! declarations) for the load generator, the benchmarks and the tests. Deterministic: the same
//! index gives the same shipment. Every document is clean under the shipped rules.

use std::borrow::Cow;

use crate::domain::records::{
    BaseTransfer, Inventory, InventoryHead, InventoryList, Logistics, LogisticsHead, Order,
    OrderHead, OrderList, Payment, PaymentHead,
};
use crate::domain::{
    AppStatus, AppType, CountryCode, CurrencyCode, CustomsCode, Date, Decimal, Document, EntCode,
    FxSettlement, Guid, HsCode, IdNumber, IdType, IeFlag, InspectionDeclaration, InspectionLine,
    Message, MessageKind, ShipmentKey, TaxDeclaration, TaxLine, Text, Timestamp, TradeMode,
    UnitCode,
};
use crate::rules::Rules;
use crate::validate::tax::{compute, Rates, TaxInput};

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

    let order = Order {
        head: OrderHead {
            guid: guid(&mut rng),
            app_type: Some(AppType::New),
            app_time: Some(app_time),
            app_status: Some(AppStatus::Declare),
            order_type: Some(IeFlag::Import),
            order_no: text(&order_no),
            ebp_code: ent(PLATFORM),
            ebp_name: text("Demo Platform (Hangzhou)"),
            ebc_code: ent(PLATFORM),
            ebc_name: text("Demo Platform (Hangzhou)"),
            goods_value: Some(goods_value),
            freight: Some(freight),
            discount: Some(Decimal::ZERO),
            tax_total: Some(tax_total),
            actural_paid: Some(paid),
            currency: Some(CurrencyCode::CNY),
            buyer_reg_no: text(&format!("U{n:010}")),
            buyer_name: text("张三"),
            buyer_telephone: text("13800138000"),
            buyer_id_type: Some(IdType::ResidentCard),
            buyer_id_number: IdNumber::parse_str(buyer_id.clone()).ok(),
            pay_code: ent(PAYER),
            pay_name: text("Demo Pay"),
            pay_transaction_id: text(&pay_tx),
            consignee: text("张三"),
            consignee_telephone: text("13800138000"),
            consignee_address: text("浙江省杭州市西湖区文三路1号"),
            ..Default::default()
        },
        items: goods
            .iter()
            .enumerate()
            .map(|(i, (_, name, price, qty))| OrderList {
                gnum: Some(i as i32 + 1),
                item_no: text(&format!("SKU{i:04}")),
                item_name: text(name),
                gmodel: text(name),
                unit: UnitCode::parse_str("007").ok(),
                qty: Some(*qty),
                price: Some(*price),
                total_price: price.checked_mul(*qty),
                currency: Some(CurrencyCode::CNY),
                country: CountryCode::parse_str("502").ok(),
                ..Default::default()
            })
            .collect(),
    };
    let payment = Payment {
        head: PaymentHead {
            guid: guid(&mut rng),
            app_type: Some(AppType::New),
            app_time: Some(app_time),
            app_status: Some(AppStatus::Declare),
            pay_code: ent(PAYER),
            pay_name: text("Demo Pay"),
            pay_transaction_id: text(&pay_tx),
            order_no: text(&order_no),
            ebp_code: ent(PLATFORM),
            ebp_name: text("Demo Platform (Hangzhou)"),
            payer_id_type: Some(IdType::ResidentCard),
            payer_id_number: IdNumber::parse_str(buyer_id.clone()).ok(),
            payer_name: text("张三"),
            telephone: text("13800138000"),
            amount_paid: Some(paid),
            currency: Some(CurrencyCode::CNY),
            pay_time: Some(app_time),
            ..Default::default()
        },
        items: Vec::new(),
    };
    let weight = Decimal::from_units(1 + line_count as i64);
    let logistics = Logistics {
        head: LogisticsHead {
            guid: guid(&mut rng),
            app_type: Some(AppType::New),
            app_time: Some(app_time),
            app_status: Some(AppStatus::Declare),
            logistics_code: ent(CARRIER),
            logistics_name: text("Demo Logistics"),
            logistics_no: text(&logistics_no),
            order_no: text(&order_no),
            freight: Some(freight),
            insured_fee: Some(insured),
            currency: Some(CurrencyCode::CNY),
            weight: Some(weight),
            pack_no: Some(1),
            consignee: text("张三"),
            consignee_address: text("浙江省杭州市西湖区文三路1号"),
            consignee_telephone: text("13800138000"),
            ..Default::default()
        },
        items: Vec::new(),
    };
    let inventory = Inventory {
        head: InventoryHead {
            guid: guid(&mut rng),
            app_type: Some(AppType::New),
            app_time: Some(app_time),
            app_status: Some(AppStatus::Declare),
            order_no: text(&order_no),
            ebp_code: ent(PLATFORM),
            ebp_name: text("Demo Platform (Hangzhou)"),
            ebc_code: ent(PLATFORM),
            ebc_name: text("Demo Platform (Hangzhou)"),
            logistics_no: text(&logistics_no),
            logistics_code: ent(CARRIER),
            logistics_name: text("Demo Logistics"),
            cop_no: text(&format!("C{n:012}")),
            assure_code: ent(PLATFORM),
            ie_flag: Some(IeFlag::Import),
            decl_time: Some(Date::from_number(20_261_124)),
            customs_code: CustomsCode::parse_str("2928").ok(),
            port_code: CustomsCode::parse_str("2928").ok(),
            buyer_id_type: Some(IdType::ResidentCard),
            buyer_id_number: IdNumber::parse_str(buyer_id.clone()).ok(),
            buyer_name: text("张三"),
            buyer_telephone: text("13800138000"),
            consignee_address: text("浙江省杭州市西湖区文三路1号"),
            agent_code: ent(PLATFORM),
            agent_name: text("Demo Platform (Hangzhou)"),
            trade_mode: Some(TradeMode::DirectPurchase),
            traf_mode: text("5"),
            traf_no: text("CA988"),
            voyage_no: text("CA988-20261124"),
            bill_no: text(&format!("784{n:09}")),
            country: CountryCode::parse_str("502").ok(),
            freight: Some(freight),
            insured_fee: Some(insured),
            currency: Some(CurrencyCode::CNY),
            pack_no: Some(1),
            gross_weight: Some(weight),
            net_weight: Some(weight),
            ..Default::default()
        },
        items: goods
            .iter()
            .enumerate()
            .map(|(i, (hs, name, price, qty))| InventoryList {
                gnum: Some(i as i32 + 1),
                item_no: text(&format!("SKU{i:04}")),
                item_name: text(name),
                gcode: HsCode::parse_str(hs).ok(),
                gname: text(name),
                gmodel: text(name),
                country: CountryCode::parse_str("502").ok(),
                currency: Some(CurrencyCode::CNY),
                qty: Some(*qty),
                unit: UnitCode::parse_str("007").ok(),
                qty1: Some(*qty),
                unit1: UnitCode::parse_str("007").ok(),
                price: Some(*price),
                total_price: price.checked_mul(*qty),
                ..Default::default()
            })
            .collect(),
    };
    let key = ShipmentKey {
        ebp_code: EntCode::parse_str(PLATFORM).expect("synthetic values are well-formed"),
        order_no: Text(Cow::Owned(order_no.clone())),
    };
    let tax = TaxDeclaration {
        shipment: key.clone(),
        assure_code: EntCode::parse_str(PLATFORM).expect("synthetic values are well-formed"),
        buyer_id_number: IdNumber::parse_str(buyer_id.clone())
            .expect("synthetic values are well-formed"),
        freight,
        insured_fee: insured,
        lines: goods
            .iter()
            .zip(&inputs)
            .enumerate()
            .map(|(i, ((hs, ..), input))| {
                let t = per_line.get(i).copied().unwrap_or_default();
                TaxLine {
                    gnum: i as i32 + 1,
                    gcode: HsCode::parse_str(hs).expect("synthetic values are well-formed"),
                    goods_value: input.goods_value,
                    indivisible: false,
                    customs_tax: t.customs,
                    value_added_tax: t.vat,
                    consumption_tax: t.consumption,
                }
            })
            .collect(),
        customs_tax: total.customs,
        value_added_tax: total.vat,
        consumption_tax: total.consumption,
    };
    let inspection = InspectionDeclaration {
        shipment: key.clone(),
        declarant: EntCode::parse_str(PLATFORM).expect("synthetic values are well-formed"),
        app_time,
        lines: goods
            .iter()
            .enumerate()
            .map(|(i, (hs, name, _, qty))| {
                let code = HsCode::parse_str(hs).expect("synthetic values are well-formed");
                InspectionLine {
                    gnum: i as i32 + 1,
                    gcode: code,
                    gname: Text(Cow::Owned((*name).to_owned())),
                    origin: CountryCode::parse_str("502")
                        .expect("synthetic values are well-formed"),
                    qty: *qty,
                    unit: UnitCode::parse_str("007").expect("synthetic values are well-formed"),
                    inspection: rules.hs.get(&code.number()).is_some_and(|e| e.inspection),
                }
            })
            .collect(),
    };
    // USD at 7.1 CNY: settle the CNY amount exactly in 10⁻⁵ USD.
    let rate: Decimal = "7.1".parse().unwrap_or(Decimal::ZERO);
    let settle = settle_amount(paid, rate);
    let fx = FxSettlement {
        shipment: key,
        pay_code: EntCode::parse_str(PAYER).expect("synthetic values are well-formed"),
        pay_transaction_id: Text(Cow::Owned(pay_tx)),
        payer_id_type: IdType::ResidentCard,
        payer_id_number: IdNumber::parse_str(buyer_id).expect("synthetic values are well-formed"),
        payer_name: Text(Cow::Borrowed("张三")),
        amount_cny: settle.checked_mul(rate).map_or(paid, |v| v.round_to(2)),
        settle_currency: CurrencyCode::parse_str("502").unwrap_or(CurrencyCode::CNY),
        settle_amount: settle,
        rate,
        settle_time: app_time,
    };
    Shipment {
        order,
        payment,
        logistics,
        inventory,
        tax,
        inspection,
        fx,
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

fn settle_amount(cny: Decimal, rate: Decimal) -> Decimal {
    if rate == Decimal::ZERO {
        return Decimal::ZERO;
    }
    let raw = crate::domain::decimal::div_round(cny.raw() * 100_000, rate.raw()).unwrap_or(0);
    Decimal::from_raw(raw)
}

fn text(s: &str) -> Option<Text<'static>> {
    Some(Text(Cow::Owned(s.to_owned())))
}

fn ent(s: &str) -> Option<EntCode<'static>> {
    EntCode::parse_str(s.to_owned()).ok()
}

fn guid(rng: &mut SplitMix) -> Option<Guid<'static>> {
    let (a, b) = (rng.next(), rng.next());
    let s = format!(
        "{:08X}-{:04X}-{:04X}-{:04X}-{:012X}",
        a >> 32,
        (a >> 16) & 0xFFFF,
        a & 0xFFFF,
        b >> 48,
        b & 0xFFFF_FFFF_FFFF
    );
    Guid::parse_str(s).ok()
}

/// A resident identity number that passes GB 11643.
fn id_card(rng: &mut SplitMix) -> String {
    let mut id = format!(
        "330106{}{:02}{:02}{:03}",
        1960 + rng.below(45),
        1 + rng.below(12),
        1 + rng.below(28),
        rng.below(1000)
    );
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = id
        .bytes()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    id.push(char::from(b"10X98765432"[(sum % 11) as usize]));
    id
}

fn code_u64(s: &str) -> Option<u64> {
    HsCode::parse_str(s).ok().map(HsCode::number)
}

/// The SplitMix64 finalizer: a good 64-bit hash of one word.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// SplitMix64: small, fast, reproducible.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}
