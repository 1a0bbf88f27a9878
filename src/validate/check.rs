//! The checks that many documents share (code tables, enterprises, identity numbers, line
//! arithmetic), writing violations into one report.

use super::idcard::id_card_valid;
use super::rule;
use crate::domain::{
    CountryCode, CurrencyCode, CustomsCode, Decimal, EntCode, HsCode, IdNumber, IdType, IeFlag,
    Text, UnitCode,
};
use crate::report::{mask, At, Report, Violation};
use crate::rules::{EntStatus, HsEntry, Role, Rules};

/// Half a fen: the rounding a line total may carry against `price × qty`.
const LINE_TOLERANCE: Decimal = Decimal::from_raw(500);

pub(super) struct Check<'r> {
    pub rules: &'r Rules,
    report: Report,
}

impl<'r> Check<'r> {
    pub fn new(rules: &'r Rules, defects: &[Violation]) -> Check<'r> {
        Check {
            rules,
            report: Report {
                violations: defects.to_vec(),
            },
        }
    }

    pub fn into_report(self) -> Report {
        self.report
    }

    pub fn push(&mut self, violation: Violation) {
        self.report.push(violation);
    }

    pub fn country(&mut self, at: At, field: &str, code: Option<CountryCode>) {
        if let Some(code) = code.filter(|c| !self.rules.countries.contains(c.number())) {
            self.unknown(rule::CODE_COUNTRY, at, field, code, "country code");
        }
    }

    pub fn unit(&mut self, at: At, field: &str, code: Option<UnitCode>) {
        if let Some(code) = code.filter(|c| !self.rules.units.contains(c.number())) {
            self.unknown(rule::CODE_UNIT, at, field, code, "unit of measure");
        }
    }

    pub fn customs(&mut self, at: At, field: &str, code: Option<CustomsCode>) {
        if let Some(code) = code.filter(|c| !self.rules.customs.contains(c.number())) {
            self.unknown(rule::CODE_CUSTOMS, at, field, code, "customs code");
        }
    }

    /// Import declarations are in CNY (142) only.
    pub fn import_currency(&mut self, at: At, field: &str, code: Option<CurrencyCode>) {
        let Some(code) = code else { return };
        if !self.rules.currencies.contains(code.number()) {
            self.unknown(rule::CODE_CURRENCY, at, field, code, "currency code");
        } else if code != self.rules.checks.import_currency {
            self.push(Violation::new(
                rule::CODE_CURRENCY,
                at.field(field),
                code.to_string(),
                format!(
                    "import declarations are in CNY ({})",
                    self.rules.checks.import_currency
                ),
            ));
        }
    }

    pub fn currency(&mut self, at: At, field: &str, code: CurrencyCode) {
        if !self.rules.currencies.contains(code.number()) {
            self.unknown(rule::CODE_CURRENCY, at, field, code, "currency code");
        }
    }

    /// The HS line of `code`, reporting codes that are unknown or refused on this channel.
    pub fn hs(&mut self, at: At, field: &str, code: Option<HsCode>) -> Option<&'r HsEntry> {
        let code = code?;
        if let Some(entry) = self.rules.negative.refuses_code(code) {
            self.push(Violation::new(
                rule::NEGATIVE_HS,
                at.field(field),
                code.to_string(),
                format!("goods under {entry} may not be imported through cross-border retail"),
            ));
        }
        let entry = self.rules.hs.get(&code.number());
        if entry.is_none() {
            self.unknown(rule::CODE_HS, at, field, code, "HS code");
        }
        entry
    }

    /// Goods names must not carry a negative-list keyword.
    pub fn goods_name(&mut self, at: At, field: &str, name: Option<&Text<'_>>) {
        let Some(name) = name else { return };
        if let Some(keyword) = self.rules.negative.refuses_name(name.as_str()) {
            self.push(Violation::new(
                rule::NEGATIVE_NAME,
                at.field(field),
                name.as_str(),
                format!(
                    "goods named with {keyword:?} may not be imported through cross-border retail"
                ),
            ));
        }
    }

    fn unknown(
        &mut self,
        rule: &'static str,
        at: At,
        field: &str,
        code: impl ToString,
        what: &str,
    ) {
        self.push(Violation::new(
            rule,
            at.field(field),
            code.to_string(),
            format!("{what} is not in the code table"),
        ));
    }

    /// The enterprise is registered, active, and registered for `role`.
    pub fn enterprise(&mut self, at: At, field: &str, code: Option<&EntCode<'_>>, role: Role) {
        let Some(code) = code else { return };
        let Some(ent) = self.rules.enterprise(code.as_str()) else {
            self.push(Violation::new(
                rule::ENT_UNKNOWN,
                at.field(field),
                code.as_str(),
                "enterprise is not in the register",
            ));
            return;
        };
        if ent.status == EntStatus::Suspended {
            self.push(Violation::new(
                rule::ENT_SUSPENDED,
                at.field(field),
                code.as_str(),
                "enterprise is suspended and may not declare",
            ));
        }
        if !ent.roles.contains(&role) {
            self.push(Violation::new(
                rule::ENT_ROLE,
                at.field(field),
                code.as_str(),
                format!("enterprise is not registered for {}", role.element()),
            ));
        }
    }

    pub fn import_flag(&mut self, at: At, field: &str, flag: Option<IeFlag>) {
        if flag == Some(IeFlag::Export) {
            self.push(Violation::new(
                rule::IMPORT_FLAG,
                at.field(field),
                "E",
                "this is an import message: the flag must be I",
            ));
        }
    }

    /// Identity document: type 1 when required, and a type-1 number passes GB 11643.
    pub fn identity(
        &mut self,
        at: At,
        (type_field, id_type): (&str, Option<IdType>),
        (number_field, number): (&str, Option<&IdNumber<'_>>),
    ) {
        if id_type == Some(IdType::Other) && self.rules.checks.require_buyer_id_card {
            self.push(Violation::new(
                rule::ID_TYPE,
                at.field(type_field),
                "2",
                "cross-border retail buyers identify with a resident identity card (type 1)",
            ));
        }
        let Some(number) = number else { return };
        if id_type == Some(IdType::ResidentCard) && !id_card_valid(number.as_str()) {
            self.push(Violation::new(
                rule::ID_CHECK,
                at.field(number_field),
                mask(number.as_str()),
                "identity number fails the GB 11643 check (17 digits and a check character)",
            ));
        }
    }

    /// Names and numbers that identify a buyer or payer must not be blank.
    pub fn not_blank(&mut self, at: At, field: &str, text: Option<&Text<'_>>) {
        if text.is_some_and(|t| t.as_str().trim().is_empty()) {
            self.push(Violation::new(
                rule::BUYER_ID,
                at.field(field),
                "",
                "identity fields of the buyer or payer must not be blank",
            ));
        }
    }

    /// A3: `totalPrice` = `price` × `qty` (to half a fen).
    pub fn line_total(
        &mut self,
        at: At,
        price: Option<Decimal>,
        qty: Option<Decimal>,
        total: Option<Decimal>,
    ) {
        let (Some(price), Some(qty), Some(total)) = (price, qty, total) else {
            return;
        };
        let product = price.checked_mul(qty);
        let agrees = product
            .and_then(|p| p.checked_sub(total))
            .is_some_and(|diff| diff.raw().abs() <= LINE_TOLERANCE.raw());
        if !agrees {
            let shown = product.map_or_else(|| "out of range".to_owned(), |p| p.to_string());
            self.push(Violation::new(
                rule::A3,
                at.field("totalPrice"),
                total.to_string(),
                format!("totalPrice {total} ≠ price {price} × qty {qty} = {shown}"),
            ));
        }
    }

    pub fn not_negative(&mut self, at: At, field: &str, value: Option<Decimal>) {
        if let Some(v) = value.filter(|v| v.is_negative()) {
            self.push(Violation::new(
                rule::NEGATIVE,
                at.field(field),
                v.to_string(),
                "must not be negative",
            ));
        }
    }

    pub fn pack_no(&mut self, at: At, pack_no: Option<i32>) {
        let fixed = self.rules.checks.pack_no;
        if let Some(n) = pack_no.filter(|&n| n != fixed) {
            self.push(Violation::new(
                rule::PACK_NO,
                at.field("packNo"),
                n.to_string(),
                format!("packNo is fixed to {fixed} (one parcel per waybill)"),
            ));
        }
    }

    /// `gnum` of the lines runs 1..n in order; duplicates are -621027. With `subset`, the
    /// numbers refer to another document's lines (a return), so only duplicates are wrong.
    pub fn gnums(
        &mut self,
        record: &'static str,
        gnums: impl Iterator<Item = Option<i32>>,
        subset: bool,
    ) {
        // Line numbers up to 127 in a bitmap; larger ones (rare, and wrong for 99-line
        // records) in a list that is only allocated when one appears.
        let mut seen: u128 = 0;
        let mut seen_large: Vec<i32> = Vec::new();
        for (i, gnum) in gnums.enumerate() {
            let Some(gnum) = gnum else { continue };
            let at = At::item(record, i + 1);
            let bit = u32::try_from(gnum).ok().filter(|g| (1..128).contains(g));
            let duplicate = match bit {
                Some(b) => seen & (1 << b) != 0,
                None => seen_large.contains(&gnum),
            };
            if duplicate {
                self.push(
                    Violation::new(
                        rule::GNUM,
                        at.field("gnum"),
                        gnum.to_string(),
                        "duplicate gnum",
                    )
                    .with_code(rule::GNUM_DUPLICATE_CODE),
                );
                continue;
            }
            match bit {
                Some(b) => seen |= 1 << b,
                None => seen_large.push(gnum),
            }
            let expected = i32::try_from(i + 1).unwrap_or(i32::MAX);
            if (!subset && gnum != expected) || (subset && gnum < 1) {
                let want = if subset {
                    "a line number from 1".to_owned()
                } else {
                    expected.to_string()
                };
                self.push(Violation::new(
                    rule::GNUM,
                    at.field("gnum"),
                    gnum.to_string(),
                    format!("gnum must run 1..n without gaps: expected {want}"),
                ));
            }
        }
    }
}
