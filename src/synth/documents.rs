//! The four CEB documents of a synthetic shipment, as the platform, the payment enterprise
//! and the logistics enterprise declare them: order (CEB311), payment (CEB411), waybill
//! (CEB511) and inventory (CEB621). Each draws its guid from the shipment's generator.

use super::random::{guid, SplitMix};
use super::{ent, text, Common, CARRIER, PAYER, PLATFORM};
use crate::domain::records::{
    Inventory, InventoryHead, InventoryList, Logistics, LogisticsHead, Order, OrderHead, OrderList,
    Payment, PaymentHead,
};
use crate::domain::{
    AppStatus, AppType, CountryCode, CurrencyCode, CustomsCode, Date, Decimal, HsCode, IdNumber,
    IdType, IeFlag, TradeMode, UnitCode,
};

/// The order.
pub(super) fn order(c: &Common, rng: &mut SplitMix) -> Order<'static> {
    let n = c.n;
    Order {
        head: OrderHead {
            guid: guid(rng),
            app_type: Some(AppType::New),
            app_time: Some(c.app_time),
            app_status: Some(AppStatus::Declare),
            order_type: Some(IeFlag::Import),
            order_no: text(&c.order_no),
            ebp_code: ent(PLATFORM),
            ebp_name: text("Demo Platform (Hangzhou)"),
            ebc_code: ent(PLATFORM),
            ebc_name: text("Demo Platform (Hangzhou)"),
            goods_value: Some(c.goods_value),
            freight: Some(c.freight),
            discount: Some(Decimal::ZERO),
            tax_total: Some(c.tax_total),
            actural_paid: Some(c.paid),
            currency: Some(CurrencyCode::CNY),
            buyer_reg_no: text(&format!("U{n:010}")),
            buyer_name: text("张三"),
            buyer_telephone: text("13800138000"),
            buyer_id_type: Some(IdType::ResidentCard),
            buyer_id_number: IdNumber::parse_str(c.buyer_id.clone()).ok(),
            pay_code: ent(PAYER),
            pay_name: text("Demo Pay"),
            pay_transaction_id: text(&c.pay_tx),
            consignee: text("张三"),
            consignee_telephone: text("13800138000"),
            consignee_address: text("浙江省杭州市西湖区文三路1号"),
            ..Default::default()
        },
        items: c
            .goods
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
    }
}

/// The payment.
pub(super) fn payment(c: &Common, rng: &mut SplitMix) -> Payment<'static> {
    Payment {
        head: PaymentHead {
            guid: guid(rng),
            app_type: Some(AppType::New),
            app_time: Some(c.app_time),
            app_status: Some(AppStatus::Declare),
            pay_code: ent(PAYER),
            pay_name: text("Demo Pay"),
            pay_transaction_id: text(&c.pay_tx),
            order_no: text(&c.order_no),
            ebp_code: ent(PLATFORM),
            ebp_name: text("Demo Platform (Hangzhou)"),
            payer_id_type: Some(IdType::ResidentCard),
            payer_id_number: IdNumber::parse_str(c.buyer_id.clone()).ok(),
            payer_name: text("张三"),
            telephone: text("13800138000"),
            amount_paid: Some(c.paid),
            currency: Some(CurrencyCode::CNY),
            pay_time: Some(c.app_time),
            ..Default::default()
        },
        items: Vec::new(),
    }
}

/// The waybill.
pub(super) fn logistics(c: &Common, rng: &mut SplitMix) -> Logistics<'static> {
    Logistics {
        head: LogisticsHead {
            guid: guid(rng),
            app_type: Some(AppType::New),
            app_time: Some(c.app_time),
            app_status: Some(AppStatus::Declare),
            logistics_code: ent(CARRIER),
            logistics_name: text("Demo Logistics"),
            logistics_no: text(&c.logistics_no),
            order_no: text(&c.order_no),
            freight: Some(c.freight),
            insured_fee: Some(c.insured),
            currency: Some(CurrencyCode::CNY),
            weight: Some(c.weight),
            pack_no: Some(1),
            consignee: text("张三"),
            consignee_address: text("浙江省杭州市西湖区文三路1号"),
            consignee_telephone: text("13800138000"),
            ..Default::default()
        },
        items: Vec::new(),
    }
}

/// The inventory.
pub(super) fn inventory(c: &Common, rng: &mut SplitMix) -> Inventory<'static> {
    let n = c.n;
    Inventory {
        head: InventoryHead {
            guid: guid(rng),
            app_type: Some(AppType::New),
            app_time: Some(c.app_time),
            app_status: Some(AppStatus::Declare),
            order_no: text(&c.order_no),
            ebp_code: ent(PLATFORM),
            ebp_name: text("Demo Platform (Hangzhou)"),
            ebc_code: ent(PLATFORM),
            ebc_name: text("Demo Platform (Hangzhou)"),
            logistics_no: text(&c.logistics_no),
            logistics_code: ent(CARRIER),
            logistics_name: text("Demo Logistics"),
            cop_no: text(&format!("C{n:012}")),
            assure_code: ent(PLATFORM),
            ie_flag: Some(IeFlag::Import),
            decl_time: Some(Date::from_number(20_261_124)),
            customs_code: CustomsCode::parse_str("2928").ok(),
            port_code: CustomsCode::parse_str("2928").ok(),
            buyer_id_type: Some(IdType::ResidentCard),
            buyer_id_number: IdNumber::parse_str(c.buyer_id.clone()).ok(),
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
            freight: Some(c.freight),
            insured_fee: Some(c.insured),
            currency: Some(CurrencyCode::CNY),
            pack_no: Some(1),
            gross_weight: Some(c.weight),
            net_weight: Some(c.weight),
            ..Default::default()
        },
        items: c
            .goods
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
    }
}
