//! The four documents a shipment is built from, with the names and CEB business error codes
//! each one is reported under (domain.md §2).

use std::fmt;

/// A document of the shipment that is filed and correlated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DocKind {
    /// CEB311 order.
    Order,
    /// CEB411 payment voucher.
    Payment,
    /// CEB511 logistics waybill.
    Waybill,
    /// CEB621 customs inventory.
    Inventory,
}

/// The CEB codes of the appType rules for one kind of document (`None` where the standard
/// names no code; a second declared inventory is `-621004`, see `rule::DECLARED_CODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindCodes {
    /// A second new record with the same number.
    pub duplicate: Option<i32>,
    /// Change or delete of a record that is not on file.
    pub unknown: Option<i32>,
    /// Change or delete of a record a declared inventory uses.
    pub in_use: Option<i32>,
    /// Older `appTime` than the record on file.
    pub stale: Option<i32>,
}

impl DocKind {
    /// The word used in messages (`order`, `payment`, `waybill`, `inventory`).
    pub fn word(self) -> &'static str {
        match self {
            DocKind::Order => "order",
            DocKind::Payment => "payment",
            DocKind::Waybill => "waybill",
            DocKind::Inventory => "inventory",
        }
    }

    /// The head record's element name (`OrderHead`, …), the start of violation paths.
    pub fn head(self) -> &'static str {
        match self {
            DocKind::Order => "OrderHead",
            DocKind::Payment => "PaymentHead",
            DocKind::Waybill => "LogisticsHead",
            DocKind::Inventory => "InventoryHead",
        }
    }

    /// The CEB business error codes of this kind.
    pub fn codes(self) -> KindCodes {
        match self {
            DocKind::Order => KindCodes {
                duplicate: Some(-301_010),
                unknown: Some(-301_009),
                in_use: Some(-301_011),
                stale: Some(-301_014),
            },
            DocKind::Payment => KindCodes {
                duplicate: Some(-401_007),
                unknown: Some(-401_006),
                in_use: Some(-401_008),
                stale: Some(-401_012),
            },
            DocKind::Waybill => KindCodes {
                duplicate: Some(-504_015),
                unknown: Some(-504_014),
                in_use: Some(-504_016),
                stale: None,
            },
            DocKind::Inventory => KindCodes {
                duplicate: None,
                unknown: None,
                in_use: None,
                stale: None,
            },
        }
    }
}

impl fmt::Display for DocKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_domain_md() {
        let table = [
            (DocKind::Order, -301_010, -301_009, -301_011),
            (DocKind::Payment, -401_007, -401_006, -401_008),
            (DocKind::Waybill, -504_015, -504_014, -504_016),
        ];
        for (kind, duplicate, unknown, in_use) in table {
            let codes = kind.codes();
            assert_eq!(codes.duplicate, Some(duplicate), "{kind}");
            assert_eq!(codes.unknown, Some(unknown), "{kind}");
            assert_eq!(codes.in_use, Some(in_use), "{kind}");
        }
        assert_eq!(DocKind::Order.codes().stale, Some(-301_014));
        assert_eq!(DocKind::Payment.codes().stale, Some(-401_012));
        assert_eq!(DocKind::Inventory.codes().duplicate, None);
        assert_eq!(DocKind::Waybill.head(), "LogisticsHead");
    }
}
