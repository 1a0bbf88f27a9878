//! `[dispatch]` and `[agencies]`: how the outbox is delivered (concurrency, deadline, retries,
//! breaker) and where each agency is (empty: simulated inside the gateway), with the TLS the
//! gateway presents to them.

use std::num::NonZeroUsize;

use serde::{Deserialize, Serialize};

use super::env::folder;

/// `[dispatch]`: see [`crate::dispatch::DispatchConfig`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Dispatch {
    /// Deliveries in flight per agency.
    pub max_in_flight: NonZeroUsize,
    /// Deadline of one delivery, ms.
    pub timeout_ms: NonZeroUsize,
    /// Delay after the first failure, ms (doubles per failure, with jitter).
    pub backoff_base_ms: NonZeroUsize,
    /// Largest delay between attempts, ms.
    pub backoff_cap_ms: NonZeroUsize,
    /// Attempts before a message goes to the dead letters.
    pub max_attempts: NonZeroUsize,
    /// Failures in a row that open an agency's circuit.
    pub breaker_failures: NonZeroUsize,
    /// How long an open circuit waits before one probe, ms.
    pub breaker_open_ms: NonZeroUsize,
}

impl Default for Dispatch {
    fn default() -> Self {
        let n = |v: usize| NonZeroUsize::new(v).unwrap_or(NonZeroUsize::MIN);
        Dispatch {
            max_in_flight: n(64),
            timeout_ms: n(5000),
            backoff_base_ms: n(100),
            backoff_cap_ms: n(30_000),
            max_attempts: n(20),
            breaker_failures: n(5),
            breaker_open_ms: n(2000),
        }
    }
}

/// `[agencies]`: each agency's gRPC endpoint URL; "" runs that agency's simulator inside the
/// gateway.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Agencies {
    /// Customs.
    pub customs: String,
    /// Inspection and quarantine.
    pub inspection: String,
    /// FX.
    pub fx: String,
    /// Tax.
    pub tax: String,
    /// PEM file of the CA of the agencies' certificates (for https:// endpoints).
    pub ca: String,
    /// PEM file of the certificate the gateway presents to the agencies (mutual TLS).
    pub cert: String,
    /// PEM file of that certificate's private key.
    pub key: String,
}

impl Agencies {
    /// The configured endpoint of `agency` (None: simulate it in process).
    pub fn endpoint(&self, agency: crate::domain::Agency) -> Option<&str> {
        use crate::domain::Agency;
        let url = match agency {
            Agency::Customs => &self.customs,
            Agency::Inspection => &self.inspection,
            Agency::Fx => &self.fx,
            Agency::Tax => &self.tax,
        };
        (!url.is_empty()).then_some(url.as_str())
    }

    /// What the gateway presents when it connects to an agency.
    pub fn client_tls(&self) -> crate::client::ClientTls {
        crate::client::ClientTls {
            ca: folder(&self.ca),
            cert: folder(&self.cert),
            key: folder(&self.key),
        }
    }
}
