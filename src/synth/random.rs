//! Reproducible randomness: SplitMix64, and the values a shipment draws from it (guids,
//! resident identity numbers).

use crate::domain::Guid;

/// The SplitMix64 finalizer: a good 64-bit hash of one word.
pub(super) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// SplitMix64: small, fast, reproducible.
pub(super) struct SplitMix(pub(super) u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    pub(super) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// A guid drawn from `rng` (upper-case hex, 8-4-4-4-12).
pub(super) fn guid(rng: &mut SplitMix) -> Option<Guid<'static>> {
    let (a, b) = (rng.next(), rng.next());
    let s = format!(
        "{:08X}-{:04X}-{:04X}-{:04X}-{:012X}",
        a >> 32,
        (a >> 16) & 0xFFFF,
        a & 0xFFFF,
        b >> 48,
        b & 0xFFFF_FFFF_FFFF
    );
    Guid::parse_str(s).ok()
}

/// A resident identity number that passes GB 11643.
pub(super) fn id_card(rng: &mut SplitMix) -> String {
    let mut id = format!(
        "330106{}{:02}{:02}{:03}",
        1960 + rng.below(45),
        1 + rng.below(12),
        1 + rng.below(28),
        rng.below(1000)
    );
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = id
        .bytes()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    id.push(char::from(b"10X98765432"[(sum % 11) as usize]));
    id
}
