//! Retail import tax (domain.md §4), computed to the fen. Pure arithmetic on [`Decimal`]s;
//! rates and limits come from [`TaxPolicy`] and the HS table.
//!
//! Within the limits the tariff is 0 and VAT and consumption tax are charged at the retail
//! factor (70 %): consumption = f·P·c/(1−c), VAT = f·P·v/(1−c). One indivisible item above the
//! single-transaction limit is taxed in full: duty = P·t, consumption = (P+duty)·c/(1−c),
//! VAT = (P+duty+consumption)·v. Freight and insurance are shared over the lines in
//! proportion to their goods value. Every amount is rounded half away from zero to the fen.

use crate::domain::decimal::div_round;
use crate::domain::Decimal;
use crate::rules::TaxPolicy;

/// Tax rates of one line (from the HS table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rates {
    /// VAT rate.
    pub vat: Decimal,
    /// Ad-valorem consumption-tax rate.
    pub consumption: Decimal,
    /// MFN tariff, needed only on the full-tax path.
    pub tariff: Option<Decimal>,
}

/// One line to tax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaxInput {
    /// Goods value of the line, CNY.
    pub goods_value: Decimal,
    /// The line's rates.
    pub rates: Rates,
    /// One indivisible item.
    pub indivisible: bool,
}

/// The three taxes of a line (or a total).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TaxAmounts {
    /// Customs duty.
    pub customs: Decimal,
    /// VAT.
    pub vat: Decimal,
    /// Consumption tax.
    pub consumption: Decimal,
}

impl TaxAmounts {
    /// Sum of the three.
    pub fn total(self) -> Option<Decimal> {
        self.customs
            .checked_add(self.vat)?
            .checked_add(self.consumption)
    }

    fn add(self, other: TaxAmounts) -> Option<TaxAmounts> {
        Some(TaxAmounts {
            customs: self.customs.checked_add(other.customs)?,
            vat: self.vat.checked_add(other.vat)?,
            consumption: self.consumption.checked_add(other.consumption)?,
        })
    }
}

/// Why the tax could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaxError {
    /// Over the single-transaction limit and not one indivisible item.
    #[error("dutiable value {value} is over the single-transaction limit {limit}")]
    OverLimit { value: Decimal, limit: Decimal },
    /// Over the buyer's annual limit by itself.
    #[error("dutiable value {value} alone is over the annual limit {limit}")]
    OverAnnual { value: Decimal, limit: Decimal },
    /// Full-tax path without a tariff rate for the line's HS code.
    #[error("no tariff rate is configured for the full-tax path")]
    NoTariff,
    /// A rate of 100 % consumption tax or amounts out of range.
    #[error("amounts out of range")]
    Overflow,
}

/// Goods + freight + insurance; `None` when any part is missing.
pub fn dutiable_value(
    goods: impl Iterator<Item = Option<Decimal>>,
    freight: Option<Decimal>,
    insured: Option<Decimal>,
) -> Option<Decimal> {
    let mut sum = freight?.checked_add(insured?)?;
    for g in goods {
        sum = sum.checked_add(g?)?;
    }
    Some(sum)
}

/// The taxes of each line and their total.
pub fn compute(
    lines: &[TaxInput],
    freight: Decimal,
    insured: Decimal,
    policy: &TaxPolicy,
) -> Result<(Vec<TaxAmounts>, TaxAmounts), TaxError> {
    let goods = lines
        .iter()
        .try_fold(Decimal::ZERO, |s, l| s.checked_add(l.goods_value))
        .ok_or(TaxError::Overflow)?;
    let extra = freight.checked_add(insured).ok_or(TaxError::Overflow)?;
    let value = goods.checked_add(extra).ok_or(TaxError::Overflow)?;
    if value > policy.annual_limit {
        return Err(TaxError::OverAnnual {
            value,
            limit: policy.annual_limit,
        });
    }
    let full = value > policy.single_transaction_limit;
    if full && !(lines.len() == 1 && lines[0].indivisible) {
        return Err(TaxError::OverLimit {
            value,
            limit: policy.single_transaction_limit,
        });
    }
    let mut amounts = Vec::with_capacity(lines.len());
    let mut total = TaxAmounts::default();
    for line in lines {
        let share = share_of(line.goods_value, goods, extra).ok_or(TaxError::Overflow)?;
        let price = line
            .goods_value
            .checked_add(share)
            .ok_or(TaxError::Overflow)?;
        let taxes = if full {
            full_tax(price, line.rates)?
        } else {
            retail_tax(price, line.rates, policy.retail_factor)
        }
        .ok_or(TaxError::Overflow)?;
        total = total.add(taxes).ok_or(TaxError::Overflow)?;
        amounts.push(taxes);
    }
    Ok((amounts, total))
}

/// The line's share of freight and insurance, in proportion to goods value.
fn share_of(line: Decimal, goods: Decimal, extra: Decimal) -> Option<Decimal> {
    if goods == Decimal::ZERO {
        return Some(Decimal::ZERO);
    }
    Some(Decimal::from_raw(div_round(
        line.raw().checked_mul(extra.raw())?,
        goods.raw(),
    )?))
}

fn retail_tax(price: Decimal, rates: Rates, factor: Decimal) -> Option<TaxAmounts> {
    let keep = Decimal::from_units(1).checked_sub(rates.consumption)?;
    Some(TaxAmounts {
        customs: Decimal::ZERO,
        consumption: fen(price, &[factor, rates.consumption], keep)?,
        vat: fen(price, &[factor, rates.vat], keep)?,
    })
}

fn full_tax(price: Decimal, rates: Rates) -> Result<Option<TaxAmounts>, TaxError> {
    let tariff = rates.tariff.ok_or(TaxError::NoTariff)?;
    let one = Decimal::from_units(1);
    let compute = || {
        let customs = fen(price, &[tariff], one)?;
        let base = price.checked_add(customs)?;
        let consumption = fen(
            base,
            &[rates.consumption],
            one.checked_sub(rates.consumption)?,
        )?;
        let vat = fen(base.checked_add(consumption)?, &[rates.vat], one)?;
        Some(TaxAmounts {
            customs,
            vat,
            consumption,
        })
    };
    Ok(compute())
}

/// `base × factors… / divisor`, computed exactly and rounded once, to the fen.
fn fen(base: Decimal, factors: &[Decimal], divisor: Decimal) -> Option<Decimal> {
    const SCALE: i128 = 100_000;
    let mut numerator = base.raw();
    let mut denominator = divisor.raw();
    for f in factors {
        numerator = numerator.checked_mul(f.raw())?;
        denominator = denominator.checked_mul(SCALE)?;
    }
    // numerator / denominator is the value in yuan; a fen is 1/100 yuan and 1000 raw units.
    let fen = div_round(numerator.checked_mul(100)?, denominator)?;
    Some(Decimal::from_raw(fen.checked_mul(1_000)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn policy() -> TaxPolicy {
        TaxPolicy {
            single_transaction_limit: d("5000"),
            annual_limit: d("26000"),
            retail_factor: d("0.7"),
            tolerance: d("0"),
        }
    }

    fn line(value: &str, vat: &str, consumption: &str) -> TaxInput {
        TaxInput {
            goods_value: d(value),
            rates: Rates {
                vat: d(vat),
                consumption: d(consumption),
                tariff: None,
            },
            indivisible: false,
        }
    }

    #[test]
    fn the_examples_of_domain_md() {
        let (_, t) = compute(&[line("1000", "0.13", "0")], d("0"), d("0"), &policy()).unwrap();
        assert_eq!(t.total(), Some(d("91.00")));
        let (_, t) = compute(&[line("1000", "0.13", "0.15")], d("0"), d("0"), &policy()).unwrap();
        assert_eq!((t.consumption, t.vat), (d("123.53"), d("107.06")));
        assert_eq!(t.total(), Some(d("230.59")));
    }

    #[test]
    fn freight_and_insurance_are_shared_by_value() {
        let lines = [line("300", "0.13", "0"), line("100", "0.13", "0")];
        let (per_line, total) = compute(&lines, d("80"), d("20"), &policy()).unwrap();
        // P = 300 + 75 and 100 + 25.
        assert_eq!(per_line[0].vat, d("34.13"));
        assert_eq!(per_line[1].vat, d("11.38"));
        assert_eq!(total.vat, d("45.51"));
    }

    #[test]
    fn over_the_limit_only_one_indivisible_item_is_taxed_in_full() {
        let err = compute(&[line("6000", "0.13", "0")], d("0"), d("0"), &policy()).unwrap_err();
        assert!(matches!(err, TaxError::OverLimit { .. }));
        let mut item = line("6000", "0.13", "0.15");
        item.indivisible = true;
        assert_eq!(
            compute(&[item], d("0"), d("0"), &policy()).unwrap_err(),
            TaxError::NoTariff
        );
        item.rates.tariff = Some(d("0.1"));
        let (_, t) = compute(&[item], d("0"), d("0"), &policy()).unwrap();
        // duty 600; consumption (6600)·0.15/0.85 = 1164.71; VAT (6600+1164.71)·0.13 = 1009.41.
        assert_eq!(
            (t.customs, t.consumption, t.vat),
            (d("600"), d("1164.71"), d("1009.41"))
        );
    }
}
