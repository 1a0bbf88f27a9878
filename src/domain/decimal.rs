//! Fixed-point decimal for money and quantities: the CEB `xs:decimal` with 19 total digits and
//! 5 after the point, held exactly as an integer count of 10⁻⁵ units. Never floating point.

use std::borrow::Cow;
use std::fmt;

use super::record::{FieldError, Value};

/// A decimal with at most 19 digits, 5 of them after the point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Decimal(i128);

const SCALE: i128 = 100_000;
const FRACTION_DIGITS: u32 = 5;
const TOTAL_DIGITS: u32 = 19;

impl Decimal {
    /// Zero.
    pub const ZERO: Decimal = Decimal(0);

    /// `units` whole units (e.g. yuan).
    pub const fn from_units(units: i64) -> Decimal {
        Decimal(units as i128 * SCALE)
    }

    /// The raw count of 10⁻⁵ units.
    pub const fn raw(self) -> i128 {
        self.0
    }

    /// From a raw count of 10⁻⁵ units.
    pub const fn from_raw(raw: i128) -> Decimal {
        Decimal(raw)
    }

    /// Parses `[+-]digits[.digits]` (surrounding XML whitespace allowed) under the CEB facets.
    pub fn parse_str(text: &str) -> Result<Decimal, FieldError> {
        const FORMAT: FieldError = FieldError::Format {
            expected: "a decimal number like 123.45",
        };
        const PRECISION: FieldError = FieldError::Precision {
            total: TOTAL_DIGITS as u8,
            fraction: FRACTION_DIGITS as u8,
        };
        let bytes = text
            .trim_matches(|c: char| c.is_ascii_whitespace())
            .as_bytes();
        let (negative, body) = match bytes.first() {
            Some(b'-') => (true, &bytes[1..]),
            Some(b'+') => (false, &bytes[1..]),
            _ => (false, bytes),
        };
        // One pass. Leading zeros of the integer part and trailing zeros of the fraction carry
        // no precision; they are counted in neither facet and never make `raw` grow.
        let mut raw: i128 = 0;
        let (mut int_digits, mut fraction, mut pending_zeros) = (0u32, 0u32, 0u32);
        let (mut seen_point, mut seen_digit) = (false, false);
        for &b in body {
            match b {
                b'0'..=b'9' if !seen_point => {
                    seen_digit = true;
                    if raw == 0 && b == b'0' {
                        continue;
                    }
                    int_digits += 1;
                    if int_digits > TOTAL_DIGITS {
                        return Err(PRECISION);
                    }
                    raw = raw * 10 + i128::from(b - b'0');
                }
                b'0' => {
                    seen_digit = true;
                    pending_zeros += 1;
                }
                b'1'..=b'9' => {
                    seen_digit = true;
                    fraction += pending_zeros + 1;
                    if fraction > FRACTION_DIGITS || int_digits + fraction > TOTAL_DIGITS {
                        return Err(PRECISION);
                    }
                    raw = raw * 10i128.pow(pending_zeros + 1) + i128::from(b - b'0');
                    pending_zeros = 0;
                }
                b'.' if !seen_point => seen_point = true,
                _ => return Err(FORMAT),
            }
        }
        if !seen_digit {
            return Err(FORMAT);
        }
        raw *= 10i128.pow(FRACTION_DIGITS - fraction);
        Ok(Decimal(if negative { -raw } else { raw }))
    }

    /// `self + other`, `None` past the 19-digit range.
    pub fn checked_add(self, other: Decimal) -> Option<Decimal> {
        Self::in_range(self.0.checked_add(other.0)?)
    }

    /// `self - other`, `None` past the 19-digit range.
    pub fn checked_sub(self, other: Decimal) -> Option<Decimal> {
        Self::in_range(self.0.checked_sub(other.0)?)
    }

    /// `self × other`, rounded half away from zero to 5 places; `None` past the range.
    pub fn checked_mul(self, other: Decimal) -> Option<Decimal> {
        let wide = self.0.checked_mul(other.0)?;
        Self::in_range(div_round(wide, SCALE)?)
    }

    /// Rounds half away from zero to `places` (0..=5) decimal places.
    pub fn round_to(self, places: u32) -> Decimal {
        let unit = 10i128.pow(FRACTION_DIGITS - places.min(FRACTION_DIGITS));
        Decimal(div_round(self.0, unit).unwrap_or(0) * unit)
    }

    /// Whether the value is below zero.
    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    fn in_range(raw: i128) -> Option<Decimal> {
        // At most 19 digits before the point (when none follow it).
        (raw.unsigned_abs() < 10u128.pow(TOTAL_DIGITS + FRACTION_DIGITS)).then_some(Decimal(raw))
    }
}

/// `n / d` rounded half away from zero; `None` when `d` is zero.
pub(crate) fn div_round(n: i128, d: i128) -> Option<i128> {
    if d == 0 {
        return None;
    }
    let q = n / d;
    let r = n % d;
    if r.unsigned_abs() * 2 >= d.unsigned_abs() {
        Some(if (n < 0) != (d < 0) { q - 1 } else { q + 1 })
    } else {
        Some(q)
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 48];
        f.write_str(self.render(&mut buf))
    }
}

impl Decimal {
    /// Canonical text (no trailing zeros in the fraction, no point for whole numbers) written
    /// right-aligned into `buf`; violations print many amounts, so this avoids `fmt` per digit.
    fn render(self, buf: &mut [u8; 48]) -> &str {
        let mut at = buf.len();
        let mut push = |b: u8| {
            at -= 1;
            buf[at] = b;
        };
        let abs = self.0.unsigned_abs();
        let mut frac = u32::try_from(abs % SCALE as u128).unwrap_or(0);
        let mut int = abs / SCALE as u128;
        if frac != 0 {
            let mut places = FRACTION_DIGITS;
            while frac % 10 == 0 {
                frac /= 10;
                places -= 1;
            }
            for _ in 0..places {
                push(b'0' + (frac % 10) as u8);
                frac /= 10;
            }
            push(b'.');
        }
        loop {
            push(b'0' + (int % 10) as u8);
            int /= 10;
            if int == 0 {
                break;
            }
        }
        if self.0 < 0 {
            push(b'-');
        }
        std::str::from_utf8(&buf[at..]).unwrap_or("0")
    }
}

impl std::str::FromStr for Decimal {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Decimal::parse_str(s)
    }
}

impl Value<'_> for Decimal {
    type Owned = Decimal;
    fn parse(raw: Cow<'_, str>) -> Result<Self, FieldError> {
        Decimal::parse_str(&raw)
    }
    fn text(&self) -> Cow<'_, str> {
        Cow::Owned(self.to_string())
    }
    fn into_owned(self) -> Decimal {
        self
    }
}

impl serde::Serialize for Decimal {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Decimal {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Decimal::parse_str(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::parse_str(s).unwrap()
    }

    #[test]
    fn parses_and_prints_canonically() {
        for (input, shown) in [
            ("19050", "19050"),
            ("12.50", "12.5"),
            ("-0.00001", "-0.00001"),
            (" 007.10000 ", "7.1"),
            (".5", "0.5"),
            ("5.", "5"),
            ("99999999999999.99999", "99999999999999.99999"),
            ("1000000000000000000", "1000000000000000000"),
            ("1.000000000000000000000000000000000000000000", "1"),
            ("0.05", "0.05"),
            ("-000120.01000", "-120.01"),
        ] {
            assert_eq!(d(input).to_string(), shown, "{input}");
        }
    }

    #[test]
    fn refuses_what_the_schema_refuses() {
        for bad in [
            "", ".", "1e5", "1,5", "--1", "NaN", "12.3.4", "1 000", "-", "+.",
        ] {
            assert!(Decimal::parse_str(bad).is_err(), "{bad:?}");
        }
        assert!(matches!(
            Decimal::parse_str("0.000001"),
            Err(FieldError::Precision { .. })
        ));
        assert!(matches!(
            Decimal::parse_str("10000000000000000000"),
            Err(FieldError::Precision { .. })
        ));
    }

    #[test]
    fn arithmetic_is_exact_and_checked() {
        assert_eq!(d("0.1").checked_add(d("0.2")), Some(d("0.3")));
        assert_eq!(d("10").checked_mul(d("200")), Some(d("2000")));
        assert_eq!(d("0.00001").checked_mul(d("0.5")), Some(d("0.00001")));
        assert_eq!(d("9999999999999999999").checked_mul(d("10")), None);
        assert!(d("999999999999999999").checked_mul(d("10")).is_some());
        assert_eq!(d("230.585").round_to(2), d("230.59"));
        assert_eq!(d("-230.585").round_to(2), d("-230.59"));
        assert_eq!(d("230.584").round_to(2), d("230.58"));
    }

    // Every value the schema can carry (19 significant digits, 5 after the point) prints and
    // parses back to itself.
    proptest::proptest! {
        #[test]
        fn display_and_parse_round_trip(raw in -(10i128.pow(19) - 1)..10i128.pow(19)) {
            let value = Decimal::from_raw(raw);
            let text = value.to_string();
            proptest::prop_assert_eq!(Decimal::parse_str(&text), Ok(value), "{}", text);
        }
    }
}
