//! `singlewindow.v1` agency declarations → domain declarations. Every field is parsed with
//! the same newtypes as CEB XML; all failures are reported at once.

use std::borrow::Cow;

use super::v1;
use crate::domain::record::{FieldError, Value};
use crate::domain::{
    CountryCode, CurrencyCode, Decimal, EntCode, FxSettlement, HsCode, IdNumber, IdType,
    InspectionDeclaration, InspectionLine, ShipmentKey, TaxDeclaration, TaxLine, Text, Timestamp,
    UnitCode,
};
use crate::report::{At, Report, Violation};

/// Longest enterprise code, as CEB's `copCode`, `ebpCode`, `payCode`, … (schema facet).
const ENT_CODE: usize = 18;
/// Longest `assureCode` (the schema allows 30).
const ASSURE_CODE: usize = 30;

/// An inspection declaration, or every field that does not parse.
pub fn inspection(pb: &v1::InspectionDeclaration) -> Result<InspectionDeclaration<'_>, Report> {
    let mut f = Fields::default();
    let at = At::head("Inspection");
    let shipment = f.shipment(at, pb.shipment.as_ref());
    let declarant = f.ent(at, "declarant", &pb.declarant, ENT_CODE);
    let app_time = f.parse(at, "appTime", &pb.app_time, Timestamp::parse_str);
    let lines: Vec<Option<InspectionLine<'_>>> = pb
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let at = At::item("InspectionLine", i + 1);
            Some(InspectionLine {
                gnum: l.gnum,
                gcode: f.parse(at, "gcode", &l.gcode, HsCode::parse_str)?,
                gname: f.text(at, "gname", &l.gname, 250)?,
                origin: f.parse(at, "origin", &l.origin, CountryCode::parse_str)?,
                qty: f.parse(at, "qty", &l.qty, Decimal::parse_str)?,
                unit: f.parse(at, "unit", &l.unit, UnitCode::parse_str)?,
                inspection: l.inspection,
            })
        })
        .collect();
    f.finish(|| {
        Some(InspectionDeclaration {
            shipment: shipment?,
            declarant: declarant?,
            app_time: app_time?,
            lines: lines.into_iter().collect::<Option<_>>()?,
        })
    })
}

/// An FX settlement, or every field that does not parse.
pub fn fx_settlement(pb: &v1::FxSettlement) -> Result<FxSettlement<'_>, Report> {
    let mut f = Fields::default();
    let at = At::head("FxSettlement");
    let built = (
        f.shipment(at, pb.shipment.as_ref()),
        f.ent(at, "payCode", &pb.pay_code, ENT_CODE),
        f.text(at, "payTransactionId", &pb.pay_transaction_id, 60),
        f.parse(at, "payerIdType", &pb.payer_id_type, IdType::parse_str),
        f.parse(
            at,
            "payerIdNumber",
            &pb.payer_id_number,
            IdNumber::parse_str,
        ),
        f.text(at, "payerName", &pb.payer_name, 60),
        f.parse(at, "amountCny", &pb.amount_cny, Decimal::parse_str),
        f.parse(
            at,
            "settleCurrency",
            &pb.settle_currency,
            CurrencyCode::parse_str,
        ),
        f.parse(at, "settleAmount", &pb.settle_amount, Decimal::parse_str),
        f.parse(at, "rate", &pb.rate, Decimal::parse_str),
        f.parse(at, "settleTime", &pb.settle_time, Timestamp::parse_str),
    );
    f.finish(|| {
        Some(FxSettlement {
            shipment: built.0?,
            pay_code: built.1?,
            pay_transaction_id: built.2?,
            payer_id_type: built.3?,
            payer_id_number: built.4?,
            payer_name: built.5?,
            amount_cny: built.6?,
            settle_currency: built.7?,
            settle_amount: built.8?,
            rate: built.9?,
            settle_time: built.10?,
        })
    })
}

/// A tax declaration, or every field that does not parse.
pub fn tax(pb: &v1::TaxDeclaration) -> Result<TaxDeclaration<'_>, Report> {
    let mut f = Fields::default();
    let at = At::head("Tax");
    let shipment = f.shipment(at, pb.shipment.as_ref());
    let assure_code = f.ent(at, "assureCode", &pb.assure_code, ASSURE_CODE);
    let buyer = f.parse(
        at,
        "buyerIdNumber",
        &pb.buyer_id_number,
        IdNumber::parse_str,
    );
    let money = |f: &mut Fields, at: At, field: &'static str, raw: &str| {
        f.parse(at, field, raw, Decimal::parse_str)
    };
    let freight = money(&mut f, at, "freight", &pb.freight);
    let insured_fee = money(&mut f, at, "insuredFee", &pb.insured_fee);
    let totals = (
        money(&mut f, at, "customsTax", &pb.customs_tax),
        money(&mut f, at, "valueAddedTax", &pb.value_added_tax),
        money(&mut f, at, "consumptionTax", &pb.consumption_tax),
    );
    let lines: Vec<Option<TaxLine>> = pb
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let at = At::item("TaxLine", i + 1);
            let gcode = f.parse(at, "gcode", &l.gcode, HsCode::parse_str);
            let goods_value = money(&mut f, at, "goodsValue", &l.goods_value);
            let customs_tax = money(&mut f, at, "customsTax", &l.customs_tax);
            let value_added_tax = money(&mut f, at, "valueAddedTax", &l.value_added_tax);
            let consumption_tax = money(&mut f, at, "consumptionTax", &l.consumption_tax);
            Some(TaxLine {
                gnum: l.gnum,
                gcode: gcode?,
                goods_value: goods_value?,
                indivisible: l.indivisible,
                customs_tax: customs_tax?,
                value_added_tax: value_added_tax?,
                consumption_tax: consumption_tax?,
            })
        })
        .collect();
    f.finish(|| {
        Some(TaxDeclaration {
            shipment: shipment?,
            assure_code: assure_code?,
            buyer_id_number: buyer?,
            freight: freight?,
            insured_fee: insured_fee?,
            lines: lines.into_iter().collect::<Option<_>>()?,
            customs_tax: totals.0?,
            value_added_tax: totals.1?,
            consumption_tax: totals.2?,
        })
    })
}

/// A violation as protobuf.
pub fn violation(v: &Violation) -> v1::Violation {
    v1::Violation {
        rule: v.rule.to_owned(),
        code: v.code,
        path: v.path.clone(),
        value: v.value.clone(),
        message: v.message.to_string(),
    }
}

/// Collects the fields that do not parse.
#[derive(Default)]
struct Fields {
    report: Report,
}

impl Fields {
    fn parse<'a, T>(
        &mut self,
        at: At,
        field: &'static str,
        raw: &'a str,
        parse: impl FnOnce(&'a str) -> Result<T, FieldError>,
    ) -> Option<T> {
        if raw.is_empty() {
            self.report.push(Violation::new(
                "XSD-REQUIRED",
                at.field(field),
                "",
                format!("required field {field} is missing"),
            ));
            return None;
        }
        match parse(raw) {
            Ok(value) => Some(value),
            Err(err) => {
                self.report.push(Violation::new(
                    err.rule(),
                    at.field(field),
                    raw,
                    format!("{field}: {err}"),
                ));
                None
            }
        }
    }

    /// Text of at most `max` characters (the CEB facet of the same field).
    fn text<'a>(
        &mut self,
        at: At,
        field: &'static str,
        raw: &'a str,
        max: usize,
    ) -> Option<Text<'a>> {
        if !self.fits(at, field, raw, max) {
            return None;
        }
        self.parse(at, field, raw, |s| Text::parse(Cow::Borrowed(s)))
    }

    /// An enterprise code of at most `max` characters ([`ENT_CODE`], or [`ASSURE_CODE`]).
    fn ent<'a>(
        &mut self,
        at: At,
        field: &'static str,
        raw: &'a str,
        max: usize,
    ) -> Option<EntCode<'a>> {
        if !self.fits(at, field, raw, max) {
            return None;
        }
        self.parse(at, field, raw, EntCode::parse_str)
    }

    /// Whether `raw` has at most `max` characters; a violation (value clipped) when not.
    fn fits(&mut self, at: At, field: &'static str, raw: &str, max: usize) -> bool {
        let count = raw.chars().count();
        if count <= max {
            return true;
        }
        let shown = crate::text::first_chars(raw, 32);
        self.report.push(Violation::new(
            "XSD-LENGTH",
            at.field(field),
            format!("{shown}…"),
            format!("{field} has {count} characters, more than {max}"),
        ));
        false
    }

    fn shipment<'a>(
        &mut self,
        at: At,
        key: Option<&'a v1::ShipmentKey>,
    ) -> Option<ShipmentKey<'a>> {
        let (ebp, order) = key.map_or(("", ""), |k| (k.ebp_code.as_str(), k.order_no.as_str()));
        let ebp_code = self.ent(at, "shipment.ebpCode", ebp, ENT_CODE);
        let order_no = self.text(at, "shipment.orderNo", order, 60);
        Some(ShipmentKey {
            ebp_code: ebp_code?,
            order_no: order_no?,
        })
    }

    fn finish<T>(self, build: impl FnOnce() -> Option<T>) -> Result<T, Report> {
        if !self.report.is_clean() {
            return Err(self.report);
        }
        build().ok_or(self.report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tax_pb() -> v1::TaxDeclaration {
        v1::TaxDeclaration {
            shipment: Some(v1::ShipmentKey {
                ebp_code: "3301960001".into(),
                order_no: "SW0001".into(),
            }),
            assure_code: "3301960001".into(),
            buyer_id_number: "11010519491231002X".into(),
            freight: "10".into(),
            insured_fee: "0".into(),
            lines: vec![v1::TaxLine {
                gnum: 1,
                gcode: "3304990099".into(),
                goods_value: "199".into(),
                indivisible: false,
                customs_tax: "0".into(),
                value_added_tax: "22.38".into(),
                consumption_tax: "25.82".into(),
            }],
            customs_tax: "0".into(),
            value_added_tax: "22.38".into(),
            consumption_tax: "25.82".into(),
        }
    }

    #[test]
    fn a_well_formed_tax_declaration_converts() {
        let pb = tax_pb();
        let tax = tax(&pb).unwrap();
        assert_eq!(tax.lines[0].gcode.to_string(), "3304990099");
        // 199 of cream + 10 freight at VAT 13 % and consumption tax 15 %, 70 % within limits.
        let rules = crate::rules::Rules::embedded().unwrap();
        let declaration = crate::domain::Declaration::new(crate::domain::Body::Tax(tax));
        let report = crate::validate::validate(&declaration, &rules);
        assert!(report.is_clean(), "{:?}", report.violations);
    }

    #[test]
    fn every_bad_field_is_named_at_once() {
        let mut pb = tax_pb();
        pb.freight = "ten".into();
        pb.lines[0].gcode = "33049900".into();
        pb.lines[0].goods_value = "1.000001".into();
        pb.shipment = None;
        let report = tax(&pb).unwrap_err();
        let found: Vec<(&str, &str)> = report
            .violations
            .iter()
            .map(|v| (v.rule, v.path.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                ("XSD-REQUIRED", "Tax/shipment.ebpCode"),
                ("XSD-REQUIRED", "Tax/shipment.orderNo"),
                ("XSD-FORMAT", "Tax/freight"),
                ("XSD-FORMAT", "TaxLine[1]/gcode"),
                ("XSD-DECIMAL", "TaxLine[1]/goodsValue"),
            ]
        );
    }

    #[test]
    fn fx_and_inspection_convert_and_report() {
        let fx = v1::FxSettlement {
            shipment: Some(v1::ShipmentKey {
                ebp_code: "3301960001".into(),
                order_no: "SW0001".into(),
            }),
            pay_code: "3301960002".into(),
            pay_transaction_id: "PT1".into(),
            payer_id_type: "1".into(),
            payer_id_number: "11010519491231002X".into(),
            payer_name: "张三".into(),
            amount_cny: "71".into(),
            settle_currency: "502".into(),
            settle_amount: "10".into(),
            rate: "7.1".into(),
            settle_time: "20261124080000".into(),
        };
        assert!(fx_settlement(&fx).is_ok());
        let bad = v1::FxSettlement {
            payer_id_type: "3".into(),
            settle_time: "2026-11-24".into(),
            ..fx
        };
        let rules: Vec<&str> = fx_settlement(&bad)
            .unwrap_err()
            .violations
            .iter()
            .map(|v| v.rule)
            .collect();
        assert_eq!(rules, ["XSD-ENUM", "XSD-FORMAT"]);

        let inspection_pb = v1::InspectionDeclaration {
            shipment: fx_key(),
            declarant: "3301960001".into(),
            app_time: "20261124080000".into(),
            lines: vec![v1::InspectionLine {
                gnum: 1,
                gcode: "1901101000".into(),
                gname: "婴儿配方奶粉".into(),
                origin: "502".into(),
                qty: "2".into(),
                unit: "07".into(),
                inspection: true,
            }],
        };
        let report = inspection(&inspection_pb).unwrap_err();
        assert_eq!(report.violations[0].path, "InspectionLine[1]/unit");
    }

    fn fx_key() -> Option<v1::ShipmentKey> {
        Some(v1::ShipmentKey {
            ebp_code: "3301960001".into(),
            order_no: "SW0001".into(),
        })
    }
}
