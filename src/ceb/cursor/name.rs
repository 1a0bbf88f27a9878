//! Element names compared: byte equality of short names, on the hot path of every element
//! matched against its field or namespace prefix.

/// Byte equality of short names (element names are 3 to 20 bytes) with a few word loads
/// instead of a call into libc's `memcmp`.
#[inline]
pub(super) fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    match n {
        8..=16 => word8(a, 0) == word8(b, 0) && word8(a, n - 8) == word8(b, n - 8),
        4..=7 => word4(a, 0) == word4(b, 0) && word4(a, n - 4) == word4(b, n - 4),
        _ => a == b,
    }
}

#[inline]
fn word8(s: &[u8], at: usize) -> u64 {
    s.get(at..at + 8)
        .and_then(|w| <[u8; 8]>::try_from(w).ok())
        .map_or(0, u64::from_ne_bytes)
}

#[inline]
fn word4(s: &[u8], at: usize) -> u32 {
    s.get(at..at + 4)
        .and_then(|w| <[u8; 4]>::try_from(w).ok())
        .map_or(0, u32::from_ne_bytes)
}

#[cfg(test)]
mod tests {
    use super::same;

    #[test]
    fn same_compares_every_length() {
        let names = [
            "",
            "a",
            "ab",
            "abc",
            "gnum",
            "appType",
            "appTimes",
            "consigneeAddress",
            "consigneeTelephone",
        ];
        for a in names {
            for b in names {
                assert_eq!(same(a.as_bytes(), b.as_bytes()), a == b, "{a} {b}");
            }
            // One byte changed anywhere is seen.
            for i in 0..a.len() {
                let mut changed = a.as_bytes().to_vec();
                changed[i] ^= 1;
                assert!(!same(a.as_bytes(), &changed), "{a} at {i}");
            }
        }
    }
}
