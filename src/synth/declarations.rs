//! The agency declarations of a synthetic shipment: the tax declaration (withholding as the
//! gateway computes it), the inspection declaration (every line, flagged ones declared) and
//! the FX settlement (USD at a fixed demo rate).

use std::borrow::Cow;

use super::{Common, PAYER, PLATFORM};
use crate::domain::{
    CountryCode, CurrencyCode, Decimal, EntCode, FxSettlement, HsCode, IdNumber, IdType,
    InspectionDeclaration, InspectionLine, TaxDeclaration, TaxLine, Text, UnitCode,
};
use crate::rules::Rules;

/// The tax declaration.
pub(super) fn tax(c: &Common) -> TaxDeclaration<'static> {
    TaxDeclaration {
        shipment: c.key.clone(),
        assure_code: EntCode::parse_str(PLATFORM).expect("synthetic values are well-formed"),
        buyer_id_number: IdNumber::parse_str(c.buyer_id.clone())
            .expect("synthetic values are well-formed"),
        freight: c.freight,
        insured_fee: c.insured,
        lines: c
            .goods
            .iter()
            .zip(&c.inputs)
            .enumerate()
            .map(|(i, ((hs, ..), input))| {
                let t = c.per_line.get(i).copied().unwrap_or_default();
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
        customs_tax: c.total.customs,
        value_added_tax: c.total.vat,
        consumption_tax: c.total.consumption,
    }
}

/// The inspection declaration.
pub(super) fn inspection(c: &Common, rules: &Rules) -> InspectionDeclaration<'static> {
    InspectionDeclaration {
        shipment: c.key.clone(),
        declarant: EntCode::parse_str(PLATFORM).expect("synthetic values are well-formed"),
        app_time: c.app_time,
        lines: c
            .goods
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
    }
}

/// The FX settlement.
pub(super) fn fx(c: &Common) -> FxSettlement<'static> {
    // USD at 7.1 CNY: settle the CNY amount exactly in 10⁻⁵ USD.
    let rate: Decimal = "7.1".parse().unwrap_or(Decimal::ZERO);
    let settle = settle_amount(c.paid, rate);
    FxSettlement {
        shipment: c.key.clone(),
        pay_code: EntCode::parse_str(PAYER).expect("synthetic values are well-formed"),
        pay_transaction_id: Text(Cow::Owned(c.pay_tx.clone())),
        payer_id_type: IdType::ResidentCard,
        payer_id_number: IdNumber::parse_str(c.buyer_id.clone())
            .expect("synthetic values are well-formed"),
        payer_name: Text(Cow::Borrowed("张三")),
        amount_cny: settle.checked_mul(rate).map_or(c.paid, |v| v.round_to(2)),
        settle_currency: CurrencyCode::parse_str("502").unwrap_or(CurrencyCode::CNY),
        settle_amount: settle,
        rate,
        settle_time: c.app_time,
    }
}

fn settle_amount(cny: Decimal, rate: Decimal) -> Decimal {
    if rate == Decimal::ZERO {
        return Decimal::ZERO;
    }
    let raw = crate::domain::decimal::div_round(cny.raw() * 100_000, rate.raw()).unwrap_or(0);
    Decimal::from_raw(raw)
}
