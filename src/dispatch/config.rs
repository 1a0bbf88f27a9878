//! The dispatcher's settings: what [`crate::config`] reads from `[dispatch]` and hands to
//! every worker (each agency gets the same).

use std::time::Duration;

use super::Backoff;

/// Dispatch settings (config `[dispatch]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DispatchConfig {
    /// Deliveries in flight per agency.
    pub max_in_flight: usize,
    /// Deadline of one delivery.
    pub timeout: Duration,
    /// Retry delays.
    pub backoff: Backoff,
    /// Attempts before a message goes to the dead letters.
    pub max_attempts: u32,
    /// Transient failures in a row that open an agency's circuit.
    pub breaker_failures: u32,
    /// How long an open circuit stays open before one probe.
    pub breaker_open: Duration,
}

impl Default for DispatchConfig {
    fn default() -> Self {
        DispatchConfig {
            max_in_flight: 64,
            timeout: Duration::from_secs(5),
            backoff: Backoff {
                base: Duration::from_millis(100),
                cap: Duration::from_secs(30),
            },
            max_attempts: 20,
            breaker_failures: 5,
            breaker_open: Duration::from_secs(2),
        }
    }
}
