//! CEB times: `YYYYMMDDhhmmss` (appTime), `YYYYMMDDhhmmssSSS` (receipts) and `YYYYMMDD`, held as
//! the number they spell so that comparing two times is comparing two integers.

use std::borrow::Cow;
use std::fmt;

use super::record::{FieldError, Value};

macro_rules! digit_time {
    ($(#[$doc:meta])* $name:ident, $digits:literal, $expected:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(u64);

        impl $name {
            /// Parses the digits and checks that they name a real calendar time.
            pub fn parse_str(text: &str) -> Result<Self, FieldError> {
                const ERR: FieldError = FieldError::Format { expected: $expected };
                let b = text.as_bytes();
                if b.len() != $digits || !b.iter().all(u8::is_ascii_digit) {
                    return Err(ERR);
                }
                let n = |from: usize, to: usize| {
                    b[from..to].iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0'))
                };
                if !valid_date(n(0, 4), n(4, 6), n(6, 8)) {
                    return Err(ERR);
                }
                if $digits >= 14 && (n(8, 10) > 23 || n(10, 12) > 59 || n(12, 14) > 59) {
                    return Err(ERR);
                }
                Ok(Self(b.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0'))))
            }

            /// From the number the digits spell (no calendar check).
            pub const fn from_number(n: u64) -> Self {
                Self(n)
            }

            /// The number the digits spell, e.g. `20160308112701`.
            pub fn number(self) -> u64 {
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
    };
}

digit_time!(
    /// `YYYYMMDDhhmmss`, e.g. `appTime`.
    Timestamp, 14, "a time formatted YYYYMMDDhhmmss"
);
digit_time!(
    /// `YYYYMMDDhhmmssSSS`, the `returnTime` of receipts.
    ReceiptTime, 17, "a time formatted YYYYMMDDhhmmssSSS"
);
digit_time!(
    /// `YYYYMMDD`.
    Date, 8, "a date formatted YYYYMMDD"
);

fn valid_date(year: u32, month: u32, day: u32) -> bool {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    year >= 1900 && (1..=days).contains(&day)
}

impl Timestamp {
    /// The calendar year.
    pub fn year(self) -> u32 {
        (self.0 / 10_000_000_000) as u32
    }
}

impl ReceiptTime {
    /// From Unix milliseconds (UTC+8, the time zone of the standard).
    pub fn from_unix_millis(millis: u64) -> ReceiptTime {
        let local = millis + 8 * 3_600_000;
        let (days, ms_of_day) = (local / 86_400_000, local % 86_400_000);
        let (y, m, d) = civil_from_days(days as i64);
        let secs = ms_of_day / 1000;
        let n = ((((y as u64 * 100 + m as u64) * 100 + d as u64) * 100 + secs / 3600) * 100
            + secs % 3600 / 60)
            * 100
            + secs % 60;
        ReceiptTime(n * 1000 + ms_of_day % 1000)
    }

    /// Now, on the wall clock.
    pub fn now() -> ReceiptTime {
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        ReceiptTime::from_unix_millis(millis)
    }
}

/// Days since 1970-01-01 to (year, month, day), after H. Hinnant's `civil_from_days`.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_must_be_real_calendar_times() {
        assert_eq!(Timestamp::parse_str("20160308112701").unwrap().year(), 2016);
        assert!(Timestamp::parse_str("20160229000000").is_ok());
        for bad in [
            "20150229000000",
            "20161308112701",
            "20160308246000",
            "2016030811270",
            "2016-03-08 11:27",
        ] {
            assert!(Timestamp::parse_str(bad).is_err(), "{bad}");
        }
        assert!(Date::parse_str("20160308").is_ok());
        assert!(ReceiptTime::parse_str("20160512102646001").is_ok());
    }

    #[test]
    fn receipt_time_from_unix_millis_is_beijing_time() {
        // 2026-11-24T00:00:00.123Z is 08:00:00.123 in Beijing.
        assert_eq!(
            ReceiptTime::from_unix_millis(1_795_478_400_123).to_string(),
            "20261124080000123"
        );
    }
}
