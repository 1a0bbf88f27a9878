//! One field of one document against one field of another: the shape of every cross-document
//! violation. The violation names both documents and both values; its path is the field of
//! the document that just arrived (the one refused).

use super::kind::DocKind;
use crate::report::{mask, At, Violation};

/// One side of a comparison: which document, where, and the value (canonical text).
#[derive(Debug, Clone)]
pub(super) struct Side {
    doc: &'static str,
    path: String,
    field: &'static str,
    value: Option<String>,
}

/// A head field of `kind`.
pub(super) fn head<V: ToString + ?Sized>(
    kind: DocKind,
    field: &'static str,
    value: Option<&V>,
) -> Side {
    Side {
        doc: kind.word(),
        path: At::head(kind.head()).field(field),
        field,
        value: value.map(ToString::to_string),
    }
}

/// An item field of `kind`, in record `record` at 1-based `index`.
pub(super) fn item<V: ToString + ?Sized>(
    kind: DocKind,
    record: &'static str,
    index: usize,
    field: &'static str,
    value: Option<&V>,
) -> Side {
    Side {
        doc: kind.word(),
        path: At::item(record, index).field(field),
        field,
        value: value.map(ToString::to_string),
    }
}

/// The shipment key standing in for the order while no order is on file.
pub(super) fn key(field: &'static str, value: &str) -> Side {
    Side {
        doc: "shipment",
        path: String::new(),
        field,
        value: Some(value.to_owned()),
    }
}

/// Whether values of this comparison are personal data, shown masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Show {
    /// As sent.
    Plain,
    /// Masked (identity numbers, telephones).
    Masked,
    /// A person's name: only its first character shown.
    Name,
    /// An address: only its first characters (the region) shown.
    Address,
}

/// A violation of `rule` when both values are present and differ; `arriving` picks the path.
pub(super) fn differ(
    rule: &'static str,
    arriving: DocKind,
    a: Side,
    b: Side,
    show: Show,
) -> Option<Violation> {
    let (Some(va), Some(vb)) = (&a.value, &b.value) else {
        return None;
    };
    if va == vb {
        return None;
    }
    let shown = |v: &str| match show {
        Show::Plain => v.to_owned(),
        Show::Masked => mask(v),
        Show::Name => crate::telemetry::mask::name(v),
        Show::Address => crate::telemetry::mask::address(v),
    };
    let (va, vb) = (shown(va), shown(vb));
    let message = format!("{} {} {va} ≠ {} {} {vb}", a.doc, a.field, b.doc, b.field);
    let (path, value) = if b.doc == arriving.word() {
        (b.path, vb)
    } else {
        (a.path, va)
    };
    Some(Violation::new(rule, path, value, message))
}

/// `1, 2, 3` for messages.
pub(super) fn list(numbers: impl Iterator<Item = i32>) -> String {
    numbers
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Decimal;

    #[test]
    fn a_difference_names_both_sides_and_takes_the_arriving_path() {
        let paid: Decimal = "19050".parse().unwrap();
        let amount: Decimal = "19000.00".parse().unwrap();
        let make = |arriving| {
            differ(
                "A2",
                arriving,
                head(DocKind::Order, "acturalPaid", Some(&paid)),
                head(DocKind::Payment, "amountPaid", Some(&amount)),
                Show::Plain,
            )
            .unwrap()
        };
        let v = make(DocKind::Payment);
        assert_eq!(v.path, "PaymentHead/amountPaid");
        assert_eq!(v.value, "19000");
        assert_eq!(
            v.message,
            "order acturalPaid 19050 ≠ payment amountPaid 19000"
        );
        assert_eq!(make(DocKind::Order).path, "OrderHead/acturalPaid");
    }

    #[test]
    fn equal_or_absent_values_agree() {
        let table = [(Some("a"), Some("a")), (None, Some("a")), (Some("a"), None)];
        for (x, y) in table {
            let v = differ(
                "C1",
                DocKind::Order,
                head(DocKind::Order, "consignee", x),
                head(DocKind::Waybill, "consignee", y),
                Show::Plain,
            );
            assert!(v.is_none(), "{x:?} {y:?}");
        }
    }

    #[test]
    fn personal_values_are_masked() {
        let v = differ(
            "C1",
            DocKind::Waybill,
            head(DocKind::Order, "consigneeTelephone", Some("13800138000")),
            head(DocKind::Waybill, "consigneeTelephone", Some("13900139000")),
            Show::Masked,
        )
        .unwrap();
        assert_eq!(v.value, "139******00");
        assert!(v.message.contains("138******00"));
        assert_eq!(list([1, 2, 3].into_iter()), "1, 2, 3");
    }
}
