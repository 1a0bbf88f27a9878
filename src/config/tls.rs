//! `[tls]`: the server's certificate and key, mutual TLS (the clients' CA, whether a client
//! certificate is required) and the register of client identities.

use serde::{Deserialize, Serialize};

/// `[tls]`. With no certificate the server speaks plaintext, which it does on a loopback
/// address only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Tls {
    /// PEM file of the server's certificate chain; empty: plaintext (loopback only).
    pub cert: String,
    /// PEM file of the server's private key.
    pub key: String,
    /// PEM file of the CA(s) that sign the clients' certificates (mutual TLS); empty: no
    /// client certificate is asked for, and every caller is anonymous.
    pub client_ca: String,
    /// `required` (the handshake fails without a client certificate) or `optional` (a caller
    /// without one is anonymous: health checks only).
    pub client_auth: ClientAuth,
    /// TOML file of the register of identities: which certificate (by SHA-256 fingerprint or
    /// subject) is which enterprise, agency or operator, and which are revoked. Re-read when
    /// it changes.
    pub register: String,
}

impl Tls {
    /// Whether the server speaks TLS.
    pub fn enabled(&self) -> bool {
        !self.cert.is_empty()
    }
}

/// Whether a client certificate is required.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientAuth {
    /// The handshake fails without one.
    #[default]
    Required,
    /// A caller without one is anonymous.
    Optional,
}
