//! Personal data masked for logs (pure). Two tools:
//!
//! - field maskers, for code that has a personal field in hand and wants to show a trace of
//!   it: [`name`], [`address`];
//! - [`scrub`], the last line of defence run on every log line before it is written: it masks
//!   whatever looks like a resident identity number or a mainland mobile number, wherever it
//!   comes from (a status message, an agency's error text, a dependency's log).
//!
//! The rules (characters, not bytes; a masked value keeps its length, one `*` per hidden
//! character):
//!
//! | what | shown | example |
//! |---|---|---|
//! | name, 2 characters or more | first 1 | `张*` |
//! | name, 1 character | nothing | `*` |
//! | address | first 6, at most half of it | `浙江省杭州市********` |
//!
//! [`scrub`] finds, in any text, maximal runs of ASCII digits (a run ends at any character that
//! is not a digit, letters included) and masks a run of 18 digits, or of 17 digits followed by
//! `X`/`x`, as an identity number (first 3 and last 1 shown: `330**************X`), and a run
//! of 11 digits starting with `1` as a mobile number (last 4 shown: `*******8000`).
//! It leaves everything else as it is (it cannot recognise names and addresses: no log
//! statement may write those; see the audit in `telemetry::log`).

use std::borrow::Cow;

/// A person's name: its first character, when it has more than one.
pub fn name(value: &str) -> String {
    let count = value.chars().count();
    if count < 2 {
        return hide_all(count);
    }
    keep(value, 1, 0)
}

/// An address: its first 6 characters (province and city, typically), but never more than half
/// of it.
pub fn address(value: &str) -> String {
    let count = value.chars().count();
    keep(value, (count / 2).min(6), 0)
}

/// `line` with every identity number and mobile number in it masked (see the module's rules);
/// borrowed when there is nothing to mask. Only ASCII digits are replaced, so UTF-8 stays
/// valid.
pub fn scrub(line: &[u8]) -> Cow<'_, [u8]> {
    let mut masked: Option<Vec<u8>> = None;
    let mut at = 0;
    while at < line.len() {
        if !line[at].is_ascii_digit() {
            at += 1;
            continue;
        }
        let start = at;
        while at < line.len() && line[at].is_ascii_digit() {
            at += 1;
        }
        let digits = at - start;
        let hidden = if digits == 18 {
            Some((start + 3, at - 1))
        } else if digits == 17 && matches!(line.get(at), Some(b'X' | b'x')) {
            at += 1;
            Some((start + 3, at - 1))
        } else if digits == 11 && line[start] == b'1' {
            Some((start, at - 4))
        } else {
            None
        };
        if let Some((from, to)) = hidden {
            let out = masked.get_or_insert_with(|| line.to_vec());
            out[from..to].fill(b'*');
        }
    }
    masked.map_or(Cow::Borrowed(line), Cow::Owned)
}

/// `value` with all but its first `head` and last `tail` characters replaced by `*`.
fn keep(value: &str, head: usize, tail: usize) -> String {
    let count = value.chars().count();
    value
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i < head || i + tail >= count {
                c
            } else {
                '*'
            }
        })
        .collect()
}

fn hide_all(count: usize) -> String {
    "*".repeat(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_keep_only_their_documented_part() {
        type Mask = fn(&str) -> String;
        let cases: [(Mask, &str, &str); 7] = [
            (name, "张三", "张*"),
            (name, "欧阳娜娜", "欧***"),
            (name, "Zhang San", "Z********"),
            (name, "张", "*"),
            (
                address,
                "浙江省杭州市西湖区文三路1号",
                "浙江省杭州市********",
            ),
            (address, "北京市朝阳区", "北京市***"),
            (address, "", ""),
        ];
        for (mask, value, expected) in cases {
            assert_eq!(mask(value), expected, "{value}");
        }
    }

    #[test]
    fn scrub_masks_identity_and_mobile_numbers_anywhere() {
        let cases = [
            ("id 33010619900101123X done", "id 330**************X done"),
            ("id=33010619900101123x,", "id=330**************x,"),
            ("\"110105194912310021\"", "\"110**************1\""),
            ("tel:13800138000.", "tel:*******8000."),
            ("电话13800138000号", "电话*******8000号"),
            ("a13800138000b", "a*******8000b"),
            ("13800138000 and 13912345678", "*******8000 and *******5678"),
        ];
        for (line, expected) in cases {
            let scrubbed = scrub(line.as_bytes());
            assert_eq!(std::str::from_utf8(&scrubbed), Ok(expected), "{line}");
        }
    }

    #[test]
    fn scrub_leaves_other_numbers_and_borrows() {
        for line in [
            "",
            "no digits here",
            "order SW0001000000000012 at 1732435200000 ms",
            "1234567890123456789 is 19 digits, 12345678901234567 is 17",
            "23800138000 does not start with 1; 1380013800 has 10",
            "1234567890123456X7 has a letter inside",
            "SW00010000000000123",
        ] {
            assert!(matches!(scrub(line.as_bytes()), Cow::Borrowed(_)), "{line}");
        }
    }

    #[test]
    fn scrub_keeps_utf8_valid_and_length() {
        let line = "买家 张三 身份证 33010619900101123X 手机 13800138000";
        let scrubbed = scrub(line.as_bytes());
        let text = std::str::from_utf8(&scrubbed).expect("still UTF-8");
        assert_eq!(text.len(), line.len());
        assert!(!text.contains("33010619900101123X") && !text.contains("13800138000"));
    }
}
