//! Enumerated CEB codes. The schema types them as short strings; the standard's documentation
//! lists the values, and those lists are enforced here.

use std::borrow::Cow;
use std::fmt;

use super::record::{FieldError, Value};

macro_rules! code_enum {
    ($(#[$doc:meta])* $name:ident, $allowed:literal { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// The code as written in CEB messages.
            pub fn code(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }

            /// Parses the code.
            pub fn parse_str(text: &str) -> Result<Self, FieldError> {
                match text {
                    $($text => Ok(Self::$variant),)+
                    _ => Err(FieldError::Enumeration { allowed: $allowed }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.code())
            }
        }

        impl Value<'_> for $name {
            type Owned = $name;
            fn parse(raw: Cow<'_, str>) -> Result<Self, FieldError> {
                Self::parse_str(&raw)
            }
            fn text(&self) -> Cow<'_, str> {
                Cow::Borrowed(self.code())
            }
            fn into_owned(self) -> $name {
                self
            }
        }
    };
}

code_enum!(
    /// `appType`: what the message does to the record.
    AppType, "1 (new), 2 (change), 3 (delete)" {
        /// 1: new record.
        New = "1",
        /// 2: change of a record on file.
        Change = "2",
        /// 3: delete of a record on file.
        Delete = "3",
    }
);

code_enum!(
    /// `appStatus`: draft or declared.
    AppStatus, "1 (draft), 2 (declare)" {
        /// 1: kept as a draft (暂存).
        Draft = "1",
        /// 2: declared (申报).
        Declare = "2",
    }
);

code_enum!(
    /// `ieFlag` / `orderType`: import or export.
    IeFlag, "I (import), E (export)" {
        /// I: import.
        Import = "I",
        /// E: export.
        Export = "E",
    }
);

code_enum!(
    /// `buyerIdType` / `payerIdType`.
    IdType, "1 (resident identity card), 2 (other)" {
        /// 1: PRC resident identity card (GB 11643 number).
        ResidentCard = "1",
        /// 2: other document.
        Other = "2",
    }
);

code_enum!(
    /// `tradeMode` of a retail import inventory (监管方式).
    TradeMode, "9610 (direct purchase), 1210 (bonded), 1239 (bonded, non-pilot city)" {
        /// 9610: cross-border retail, direct purchase (parcel from abroad).
        DirectPurchase = "9610",
        /// 1210: bonded cross-border retail (goods in a bonded zone).
        Bonded = "1210",
        /// 1239: bonded cross-border retail A, in cities outside the pilot list.
        BondedA = "1239",
    }
);

/// `returnStatus` of a receipt: 2, 3, 4, 100, 120, …, 800 released; negative codes are errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReturnStatus(pub i32);

impl ReturnStatus {
    /// 800: released.
    pub const RELEASED: ReturnStatus = ReturnStatus(800);

    /// Whether the status reports an error.
    pub fn is_error(self) -> bool {
        self.0 < 0
    }
}

impl fmt::Display for ReturnStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Value<'_> for ReturnStatus {
    type Owned = ReturnStatus;
    fn parse(raw: Cow<'_, str>) -> Result<Self, FieldError> {
        raw.parse()
            .map(ReturnStatus)
            .map_err(|_| FieldError::Format {
                expected: "a status code (an integer)",
            })
    }
    fn text(&self) -> Cow<'_, str> {
        Cow::Owned(self.0.to_string())
    }
    fn into_owned(self) -> ReturnStatus {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enumerations_accept_only_listed_codes() {
        assert_eq!(AppType::parse_str("2"), Ok(AppType::Change));
        assert_eq!(TradeMode::parse_str("1210"), Ok(TradeMode::Bonded));
        for bad in ["0", "4", " 1", "", "01"] {
            assert!(AppType::parse_str(bad).is_err(), "{bad:?}");
        }
        assert!(TradeMode::parse_str("9710").is_err());
        assert_eq!(IeFlag::Import.to_string(), "I");
    }
}
