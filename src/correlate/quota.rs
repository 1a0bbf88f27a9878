//! Q1, the buyer's annual quota (domain.md §3–4): what a shipment counts toward it, what a
//! cancellation or return gives back, and the check the store runs against its running total.

use super::rule;
use crate::domain::decimal::div_round;
use crate::domain::records::{Inventory, InvtRefund};
use crate::domain::Decimal;
use crate::report::Violation;
use crate::rules::Rules;
use crate::validate::tax::dutiable_value;

/// A Q1 violation (-621018) when `adding` to the buyer's `used_so_far` this year would pass the
/// annual limit of `rules`.
pub fn quota_check(used_so_far: Decimal, adding: Decimal, rules: &Rules) -> Option<Violation> {
    let limit = rules.tax.annual_limit;
    let total = used_so_far.checked_add(adding);
    if total.is_some_and(|t| t <= limit) {
        return None;
    }
    let shown = total.map_or_else(|| "out of range".to_owned(), |t| t.to_string());
    Some(
        Violation::new(
            rule::Q1,
            "InventoryHead/buyerIdNumber",
            shown.clone(),
            format!(
                "buyer's annual total {used_so_far} + inventory {adding} = {shown} is over the annual limit {limit}"
            ),
        )
        .with_code(rule::Q1_ANNUAL_CODE),
    )
}

/// The inventory's dutiable value (goods + freight + insurance), what release counts.
pub(super) fn counted(inventory: &Inventory<'_>) -> Option<Decimal> {
    dutiable_value(
        inventory.items.iter().map(|l| l.total_price),
        inventory.head.freight,
        inventory.head.insured_fee,
    )
}

/// What a return gives back of `counted`: all of it when every line comes back whole, else the
/// goods value of the returned quantities (each line's `totalPrice` × returned / declared qty).
pub(super) fn returned(
    inventory: &Inventory<'_>,
    refund: &InvtRefund<'_>,
    counted: Decimal,
) -> Decimal {
    let mut value = Decimal::ZERO;
    let mut whole = true;
    for line in &inventory.items {
        let back = refund.items.iter().find(|r| r.gnum == line.gnum);
        let Some(back) = back else {
            whole = false;
            continue;
        };
        let total = line.total_price.unwrap_or(Decimal::ZERO);
        let share = match (back.qty, line.qty) {
            (Some(back_qty), Some(qty)) if back_qty < qty && qty > Decimal::ZERO => {
                whole = false;
                prorate(total, back_qty, qty)
            }
            _ => total,
        };
        value = value.checked_add(share).unwrap_or(value);
    }
    if whole {
        counted
    } else {
        value.min(counted)
    }
}

/// `total × part / of`, rounded to the 10⁻⁵ unit.
fn prorate(total: Decimal, part: Decimal, of: Decimal) -> Decimal {
    total
        .raw()
        .checked_mul(part.raw())
        .and_then(|n| div_round(n, of.raw()))
        .map_or(Decimal::ZERO, Decimal::from_raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn the_annual_limit_is_inclusive() {
        let rules = Rules::embedded().unwrap();
        let limit = rules.tax.annual_limit;
        assert_eq!(quota_check(Decimal::ZERO, limit, &rules), None);
        let over = quota_check(limit, d("0.01"), &rules).unwrap();
        assert_eq!((over.rule, over.code), ("Q1", Some(-621_018)));
        assert!(
            over.message.contains(&limit.to_string()),
            "{}",
            over.message
        );
        assert!(quota_check(d("25000"), d("999"), &rules).is_none());
    }

    #[test]
    fn partial_quantities_are_prorated() {
        let table = [
            ("300", "1", "3", "100"),
            ("100", "1", "3", "33.33333"),
            ("199", "2", "2", "199"),
        ];
        for (total, part, of, expected) in table {
            assert_eq!(
                prorate(d(total), d(part), d(of)),
                d(expected),
                "{total}·{part}/{of}"
            );
        }
    }
}
