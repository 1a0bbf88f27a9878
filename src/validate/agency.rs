//! Rules of the agency declarations: inspection coverage, FX amounts, tax withholding.

use super::check::Check;
use super::rule;
use super::tax::{compute, Rates, TaxAmounts, TaxError, TaxInput};
use crate::domain::{Decimal, FxSettlement, IdType, InspectionDeclaration, TaxDeclaration};
use crate::report::{At, Violation};
use crate::rules::Role;

/// An inspection declaration declares every line whose HS code is flagged for inspection.
pub(super) fn inspection(c: &mut Check<'_>, decl: &InspectionDeclaration<'_>) {
    let at = At::head("Inspection");
    c.enterprise(at, "ebpCode", Some(&decl.shipment.ebp_code), Role::Ebp);
    c.enterprise(at, "declarant", Some(&decl.declarant), Role::Agent);
    if decl.lines.is_empty() {
        c.push(Violation::new(
            rule::NO_LINES,
            at.field("lines"),
            "",
            "no goods lines",
        ));
    }
    for (i, line) in decl.lines.iter().enumerate() {
        let at = At::item("InspectionLine", i + 1);
        let entry = c.hs(at, "gcode", Some(line.gcode));
        c.goods_name(at, "gname", Some(&line.gname));
        c.country(at, "origin", Some(line.origin));
        c.unit(at, "unit", Some(line.unit));
        c.not_negative(at, "qty", Some(line.qty));
        if entry.is_some_and(|e| e.inspection) && !line.inspection {
            c.push(Violation::new(
                rule::INSPECTION,
                at.field("inspection"),
                "false",
                format!("HS code {} is subject to inspection and quarantine: the line must be declared for it", line.gcode),
            ));
        }
    }
    c.gnums(
        "InspectionLine",
        decl.lines.iter().map(|l| Some(l.gnum)),
        false,
    );
}

/// An FX settlement: the settled amount at the rate is the amount collected (to the fen).
pub(super) fn fx_settlement(c: &mut Check<'_>, fx: &FxSettlement<'_>) {
    let at = At::head("FxSettlement");
    c.enterprise(at, "ebpCode", Some(&fx.shipment.ebp_code), Role::Ebp);
    c.enterprise(at, "payCode", Some(&fx.pay_code), Role::Pay);
    c.identity(
        at,
        ("payerIdType", Some(fx.payer_id_type)),
        ("payerIdNumber", Some(&fx.payer_id_number)),
    );
    c.not_blank(at, "payerName", Some(&fx.payer_name));
    c.currency(at, "settleCurrency", fx.settle_currency);
    for (field, value) in [
        ("amountCny", fx.amount_cny),
        ("settleAmount", fx.settle_amount),
        ("rate", fx.rate),
    ] {
        c.not_negative(at, field, Some(value));
    }
    let converted = fx.settle_amount.checked_mul(fx.rate).map(|v| v.round_to(2));
    if converted != Some(fx.amount_cny.round_to(2)) {
        let shown = converted.map_or_else(|| "out of range".to_owned(), |v| v.to_string());
        c.push(Violation::new(
            rule::FX_AMOUNT,
            at.field("amountCny"),
            fx.amount_cny.to_string(),
            format!(
                "amountCny {} ≠ settleAmount {} × rate {} = {shown}",
                fx.amount_cny, fx.settle_amount, fx.rate
            ),
        ));
    }
}

/// A tax declaration withholds what the gateway computes, line by line and in total.
pub(super) fn tax(c: &mut Check<'_>, decl: &TaxDeclaration<'_>) {
    let at = At::head("Tax");
    c.enterprise(at, "ebpCode", Some(&decl.shipment.ebp_code), Role::Ebp);
    c.enterprise(at, "assureCode", Some(&decl.assure_code), Role::Guarantor);
    c.identity(
        at,
        ("buyerIdType", Some(IdType::ResidentCard)),
        ("buyerIdNumber", Some(&decl.buyer_id_number)),
    );
    if decl.lines.is_empty() {
        c.push(Violation::new(
            rule::NO_LINES,
            at.field("lines"),
            "",
            "no tax lines",
        ));
        return;
    }
    c.gnums("TaxLine", decl.lines.iter().map(|l| Some(l.gnum)), false);
    let mut inputs = Vec::with_capacity(decl.lines.len());
    for (i, line) in decl.lines.iter().enumerate() {
        let at = At::item("TaxLine", i + 1);
        c.not_negative(at, "goodsValue", Some(line.goods_value));
        let Some(entry) = c.hs(at, "gcode", Some(line.gcode)) else {
            continue;
        };
        inputs.push(TaxInput {
            goods_value: line.goods_value,
            rates: Rates {
                vat: entry.vat,
                consumption: entry.consumption,
                tariff: entry.tariff,
            },
            indivisible: line.indivisible,
        });
    }
    if inputs.len() != decl.lines.len() {
        return; // an unknown HS code was reported; there is no rate to compute with
    }
    let policy = c.rules.tax;
    let (per_line, total) = match compute(&inputs, decl.freight, decl.insured_fee, &policy) {
        Ok(computed) => computed,
        Err(err) => {
            let v = Violation::new(rule::TAX_RATE, at.field("lines"), "", err.to_string());
            c.push(match err {
                TaxError::OverLimit { .. } => Violation {
                    rule: rule::Q1,
                    ..v
                }
                .with_code(rule::Q1_SINGLE_CODE),
                TaxError::OverAnnual { .. } => Violation {
                    rule: rule::Q1,
                    ..v
                }
                .with_code(rule::Q1_ANNUAL_CODE),
                TaxError::NoTariff | TaxError::Overflow => v,
            });
            return;
        }
    };
    for (i, (line, computed)) in decl.lines.iter().zip(&per_line).enumerate() {
        let declared = TaxAmounts {
            customs: line.customs_tax,
            vat: line.value_added_tax,
            consumption: line.consumption_tax,
        };
        compare(
            c,
            At::item("TaxLine", i + 1),
            declared,
            *computed,
            policy.tolerance,
        );
    }
    let declared = TaxAmounts {
        customs: decl.customs_tax,
        vat: decl.value_added_tax,
        consumption: decl.consumption_tax,
    };
    compare(c, at, declared, total, policy.tolerance);
}

fn compare(
    c: &mut Check<'_>,
    at: At,
    declared: TaxAmounts,
    computed: TaxAmounts,
    tolerance: Decimal,
) {
    for (field, d, w) in [
        ("customsTax", declared.customs, computed.customs),
        ("valueAddedTax", declared.vat, computed.vat),
        ("consumptionTax", declared.consumption, computed.consumption),
    ] {
        let off = d
            .checked_sub(w)
            .is_none_or(|diff| diff.raw().abs() > tolerance.raw());
        if off {
            c.push(Violation::new(
                rule::TAX,
                at.field(field),
                d.to_string(),
                format!("{field} withheld {d} ≠ {w} computed by the gateway"),
            ));
        }
    }
}
