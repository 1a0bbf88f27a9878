//! Capped exponential backoff with jitter, pure: the delay before attempt `n + 1` after `n`
//! failed attempts is drawn from [d/2, d] where d = min(cap, base · 2^(n−1)) ("equal
//! jitter": never zero, never above the cap, and retries of many messages spread out).

use std::time::Duration;

/// Backoff settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Delay after the first failure (before jitter).
    pub base: Duration,
    /// Largest delay.
    pub cap: Duration,
}

impl Backoff {
    /// The delay after `failures` failed attempts (≥ 1); `unit` in [0, 1) picks the jitter.
    pub fn delay(&self, failures: u32, unit: f64) -> Duration {
        let exp = failures.saturating_sub(1).min(30);
        let full = self
            .base
            .saturating_mul(1u32 << exp)
            .min(self.cap)
            .max(Duration::from_millis(1));
        let half = full / 2;
        half + (full - half).mul_f64(unit.clamp(0.0, 1.0))
    }
}

/// A small fast PRNG (SplitMix64) for jitter: not for anything secret.
#[derive(Debug, Clone)]
pub struct Jitter(u64);

impl Jitter {
    /// Seeded.
    pub fn new(seed: u64) -> Jitter {
        Jitter(seed)
    }

    /// The next number in [0, 1).
    pub fn unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const B: Backoff = Backoff {
        base: Duration::from_millis(100),
        cap: Duration::from_secs(10),
    };

    #[test]
    fn doubles_then_caps() {
        let full: Vec<u128> = (1..=9).map(|n| B.delay(n, 1.0).as_millis()).collect();
        assert_eq!(full, [100, 200, 400, 800, 1600, 3200, 6400, 10000, 10000]);
        assert_eq!(B.delay(1, 0.0), Duration::from_millis(50));
        assert_eq!(B.delay(u32::MAX, 1.0), Duration::from_secs(10));
    }

    proptest! {
        #[test]
        fn always_within_half_and_full(n in 1u32..100, seed: u64) {
            let unit = Jitter::new(seed).unit();
            let d = B.delay(n, unit);
            let full = B.delay(n, 1.0);
            prop_assert!(d >= full / 2 && d <= full && d <= B.cap);
            prop_assert!((0.0..1.0).contains(&unit));
        }
    }
}
