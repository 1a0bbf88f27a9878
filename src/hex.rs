//! Lowercase hex (pure): hashes and keys in audit records and receipts, dead-letter bodies,
//! page tokens, the command line.

/// `bytes` as lowercase hex.
pub fn encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        text.push(char::from(DIGITS[usize::from(b >> 4)]));
        text.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    text
}

/// The bytes of hex `text` (either case); `None` when odd-length or not hex.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    let text = text.as_bytes();
    if text.len() % 2 != 0 {
        return None;
    }
    text.chunks(2)
        .map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?))
        .collect()
}

/// The 32 bytes of hex `text`; `None` unless it is 64 hex digits.
pub fn decode32(text: &str) -> Option<[u8; 32]> {
    decode(text).and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
}

fn nibble(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

/// Serde of a 32-byte hash as hex.
pub mod serde32 {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serializes as hex.
    pub fn serialize<S: Serializer>(bytes: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::encode(bytes))
    }

    /// Deserializes from 64 hex digits.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        super::decode32(&text).ok_or_else(|| serde::de::Error::custom("not 64 hex digits"))
    }
}

/// Serde of an optional 32-byte hash as hex (with `skip_serializing_if = "Option::is_none"`
/// and `default`: absent when `None`).
pub mod serde32_option {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serializes `Some` as hex.
    pub fn serialize<S: Serializer>(bytes: &Option<[u8; 32]>, s: S) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(bytes) => s.serialize_some(&super::encode(bytes)),
            None => s.serialize_none(),
        }
    }

    /// Deserializes from 64 hex digits.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<[u8; 32]>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| {
                super::decode32(&text).ok_or_else(|| serde::de::Error::custom("not 64 hex digits"))
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_refuses_junk() {
        let cases: [(&[u8], &str); 3] = [(b"", ""), (&[0, 255, 16], "00ff10"), (b"\xab", "ab")];
        for (bytes, text) in cases {
            assert_eq!(encode(bytes), text);
            assert_eq!(decode(text).as_deref(), Some(bytes));
        }
        assert_eq!(decode("ABcd"), Some(vec![0xab, 0xcd]));
        for junk in ["a", "zz", "0g", "é1"] {
            assert_eq!(decode(junk), None, "{junk}");
        }
        assert_eq!(decode32("00"), None);
        assert_eq!(decode32(&"1".repeat(64)), Some([0x11; 32]));
    }
}
