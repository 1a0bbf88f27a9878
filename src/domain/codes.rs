//! Codes and identifiers as newtypes built by parsing: a value of one of these types has the
//! lexical form the standard requires. Whether a code is *known* (in a code table) is a
//! validation question, answered against `Rules`.

use std::borrow::Cow;
use std::fmt;

use super::record::{FieldError, Value};

macro_rules! digit_code {
    ($(#[$doc:meta])* $name:ident, $digits:literal, $repr:ty, $expected:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name($repr);

        impl $name {
            /// Number of digits in the code.
            pub const DIGITS: usize = $digits;

            /// Parses exactly `DIGITS` ASCII digits.
            pub fn parse_str(text: &str) -> Result<Self, FieldError> {
                let bytes = text.as_bytes();
                if bytes.len() != $digits || !bytes.iter().all(u8::is_ascii_digit) {
                    return Err(FieldError::Format { expected: $expected });
                }
                Ok(Self(bytes.iter().fold(0, |n, b| n * 10 + <$repr>::from(b - b'0'))))
            }

            /// The code as a number (leading zeros dropped).
            pub fn number(self) -> $repr {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:0width$}", self.0, width = $digits)
            }
        }

        impl Value<'_> for $name {
            type Owned = $name;
            fn parse(raw: Cow<'_, str>) -> Result<Self, FieldError> {
                Self::parse_str(&raw)
            }
            fn text(&self) -> Cow<'_, str> {
                Cow::Owned(self.to_string())
            }
            fn into_owned(self) -> $name {
                self
            }
        }

        impl std::str::FromStr for $name {
            type Err = FieldError;
            fn from_str(s: &str) -> Result<Self, FieldError> {
                Self::parse_str(s)
            }
        }
    };
}

digit_code!(
    /// Country or region code (JGS-20 国别(地区)代码), 3 digits, e.g. `142` China.
    CountryCode, 3, u16, "a 3-digit country code"
);
digit_code!(
    /// Currency code (JGS-20 货币代码), 3 digits; import declarations use `142` (CNY).
    CurrencyCode, 3, u16, "a 3-digit currency code"
);
digit_code!(
    /// Unit of measure (JGS-20 计量单位代码), 3 digits, e.g. `007` piece, `035` kilogram.
    UnitCode, 3, u16, "a 3-digit unit code"
);
digit_code!(
    /// Customs district or port code (关区代码), 4 digits.
    CustomsCode, 4, u16, "a 4-digit customs code"
);
digit_code!(
    /// Commodity code of the China tariff (HS + national subdivision), 10 digits.
    HsCode, 10, u64, "a 10-digit HS code"
);

impl CurrencyCode {
    /// Renminbi, the only currency of import declarations.
    pub const CNY: CurrencyCode = CurrencyCode(142);
}

macro_rules! text_id {
    ($(#[$doc:meta])* $name:ident, $check:expr, $expected:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name<'a>(Cow<'a, str>);

        impl<'a> $name<'a> {
            /// Parses the identifier.
            pub fn parse_str(text: impl Into<Cow<'a, str>>) -> Result<Self, FieldError> {
                let text = text.into();
                let check: fn(&str) -> bool = $check;
                if !check(&text) {
                    return Err(FieldError::Format { expected: $expected });
                }
                Ok(Self(text))
            }

            /// The identifier as written.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<'a> Value<'a> for $name<'a> {
            type Owned = $name<'static>;
            fn parse(raw: Cow<'a, str>) -> Result<Self, FieldError> {
                Self::parse_str(raw)
            }
            fn text(&self) -> Cow<'_, str> {
                Cow::Borrowed(&self.0)
            }
            fn into_owned(self) -> $name<'static> {
                $name(Cow::Owned(self.0.into_owned()))
            }
        }
    };
}

text_id!(
    /// A message or document guid: 36 characters. The standard asks for upper-case; the
    /// official samples carry lower-case and non-hexadecimal ones, so any printable
    /// non-space characters are taken.
    Guid,
    |s| !s.is_empty() && s.chars().all(|c| !c.is_whitespace() && !c.is_control()),
    "printable characters without spaces"
);
text_id!(
    /// An enterprise code: 10-character customs registration code or 18-character unified
    /// social credit code (letters and digits).
    EntCode,
    |s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric()),
    "letters and digits"
);
text_id!(
    /// An identity document number (the GB 11643 check applies when the type is 1).
    IdNumber,
    |s| !s.is_empty() && s.chars().all(|c| !c.is_whitespace() && !c.is_control()),
    "printable characters without spaces"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digit_codes_keep_leading_zeros() {
        let unit = UnitCode::parse_str("007").unwrap();
        assert_eq!(unit.number(), 7);
        assert_eq!(unit.to_string(), "007");
        assert_eq!(
            HsCode::parse_str("0101210010").unwrap().to_string(),
            "0101210010"
        );
        for bad in ["07", "0070", "0a7", " 07", ""] {
            assert!(UnitCode::parse_str(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn identifiers_refuse_blanks_and_odd_characters() {
        assert!(EntCode::parse_str("1105910159").is_ok());
        assert!(EntCode::parse_str("91330100MA2XXXXX1X").is_ok());
        assert!(EntCode::parse_str("1105 910159").is_err());
        assert!(EntCode::parse_str("").is_err());
        assert!(Guid::parse_str("4cde1cfd-eded-46b1-946c-b8022e42fc94").is_ok());
        assert!(Guid::parse_str("4CDE1CFD EDED").is_err());
    }
}
