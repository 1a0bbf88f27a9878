//! The wall clock, as the gateway writes it: Unix milliseconds.

/// Now, Unix milliseconds (0 before the epoch; saturates far in the future).
pub fn unix_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
