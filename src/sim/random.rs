//! Seeded randomness without a dependency (pure): a stable hash of (seed, text) for the
//! decisions, and a shared SplitMix64 stream for the injected faults and the latencies.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::config::Latency;

const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's output function: a bijective mix of 64 bits.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A hash of `text` under `seed`, the same on every platform and in every run (FNV-1a, then
/// mixed).
pub fn hash(seed: u64, text: &str) -> u64 {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325 ^ mix(seed);
    for byte in text.bytes() {
        h ^= u64::from(byte);
        h = h.wrapping_mul(0x0000_0100_0000_01B3);
    }
    mix(h)
}

/// `bits` as a number in 0..1 (its top 53 bits).
pub fn unit(bits: u64) -> f64 {
    // 53 bits fit an f64 exactly.
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// A SplitMix64 stream shared by concurrent deliveries (lock-free).
#[derive(Debug)]
pub struct Stream {
    state: AtomicU64,
}

impl Stream {
    /// A stream from `seed`.
    pub fn new(seed: u64) -> Stream {
        Stream {
            state: AtomicU64::new(mix(seed ^ 0x5EED_FA17_0000_0001)),
        }
    }

    /// The next number in 0..1.
    pub fn next_unit(&self) -> f64 {
        let state = self
            .state
            .fetch_add(GAMMA, Ordering::Relaxed)
            .wrapping_add(GAMMA);
        unit(mix(state))
    }

    /// True with probability `rate` (no draw when the rate is 0).
    pub fn chance(&self, rate: f64) -> bool {
        rate > 0.0 && self.next_unit() < rate
    }

    /// A latency drawn from `latency` (no draw for [`Latency::None`] and `Fixed`).
    pub fn latency(&self, latency: Latency) -> Duration {
        match latency {
            Latency::None => Duration::ZERO,
            Latency::Fixed(d) => d,
            Latency::Uniform(min, max) => min + (max - min).mul_f64(self.next_unit()),
            Latency::Exp(mean) => {
                // 1 - u is in (0, 1], so the logarithm is finite: at most ~37 means.
                let factor = -(1.0 - self.next_unit()).ln();
                mean.mul_f64(factor)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_stable() {
        // Pinned: a change here changes every simulator's decisions.
        assert_eq!(hash(1, "m-1"), hash(1, "m-1"));
        assert_ne!(hash(1, "m-1"), hash(2, "m-1"));
        assert_ne!(hash(1, "m-1"), hash(1, "m-2"));
        assert_eq!(hash(0, ""), 0xF52A_15E9_A9B5_E89B);
    }

    #[test]
    fn units_are_in_range() {
        assert_eq!(unit(0), 0.0);
        assert!(unit(u64::MAX) < 1.0);
        let stream = Stream::new(7);
        let mean = (0..10_000).map(|_| stream.next_unit()).sum::<f64>() / 10_000.0;
        assert!((mean - 0.5).abs() < 0.02, "{mean}");
        assert!(!stream.chance(0.0));
        assert!(stream.chance(1.0));
    }

    #[test]
    fn latencies_stay_in_their_range() {
        let stream = Stream::new(3);
        let ms = Duration::from_millis;
        assert_eq!(stream.latency(Latency::None), Duration::ZERO);
        assert_eq!(stream.latency(Latency::Fixed(ms(4))), ms(4));
        for _ in 0..1_000 {
            let d = stream.latency(Latency::Uniform(ms(2), ms(5)));
            assert!((ms(2)..=ms(5)).contains(&d), "{d:?}");
        }
        let n = 20_000u32;
        let total: Duration = (0..n).map(|_| stream.latency(Latency::Exp(ms(10)))).sum();
        let mean = total / n;
        assert!((ms(9)..=ms(11)).contains(&mean), "{mean:?}");
    }
}
