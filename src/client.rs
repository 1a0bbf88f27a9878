//! How this binary connects to a gRPC server: the gateway (the command line, the simulator's
//! receipts) or an agency (the dispatcher). An `http://` URL is plaintext, to a loopback host
//! only; an `https://` URL is TLS, checked against the CA file given (there is no system trust store: a customs network
//! has its own CA), and, for mutual TLS, with the client's own certificate and key.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

/// The TLS material a client presents. All empty: plaintext only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct ClientTls {
    /// PEM file of the CA that signs the server's certificate (needed for https:// URLs).
    #[arg(long = "tls-ca", env = "SINGLE_WINDOW_CLIENT_CA", value_name = "PEM")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca: Option<PathBuf>,
    /// PEM file of this client's certificate, for mutual TLS (with --tls-key).
    #[arg(
        long = "tls-cert",
        env = "SINGLE_WINDOW_CLIENT_CERT",
        value_name = "PEM"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert: Option<PathBuf>,
    /// PEM file of this client's private key, for mutual TLS (with --tls-cert).
    #[arg(long = "tls-key", env = "SINGLE_WINDOW_CLIENT_KEY", value_name = "PEM")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<PathBuf>,
}

impl ClientTls {
    /// The endpoint of `url`: TLS with this material for `https://`; plaintext for `http://`
    /// to a loopback host only (as the gateway serves plaintext on loopback only), so that
    /// declarations never cross a network in the clear.
    pub fn endpoint(&self, url: &str) -> anyhow::Result<Endpoint> {
        if !url.starts_with("http://") && !url.starts_with("https://") {
            anyhow::bail!("{url:?} is not an http:// or https:// URL");
        }
        let endpoint = Endpoint::from_shared(url.to_owned())
            .with_context(|| format!("{url:?} is not a gRPC URL"))?;
        if url.starts_with("https://") {
            return Ok(endpoint.tls_config(self.config()?)?);
        }
        let host = endpoint.uri().host().unwrap_or_default();
        let loopback = host.eq_ignore_ascii_case("localhost")
            || host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if !loopback {
            anyhow::bail!(
                "{url:?}: plaintext is allowed to a loopback host only; use https:// (with \
                 --tls-ca)"
            );
        }
        Ok(endpoint)
    }

    /// The TLS settings: the CA to trust and, when both files are given, the identity.
    pub fn config(&self) -> anyhow::Result<ClientTlsConfig> {
        let ca = self
            .ca
            .as_deref()
            .context("an https:// URL needs the CA of the server's certificate (--tls-ca)")?;
        let mut config = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(read(ca)?));
        match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => {
                config = config.identity(Identity::from_pem(read(cert)?, read(key)?));
            }
            (None, None) => {}
            _ => anyhow::bail!("--tls-cert and --tls-key go together (mutual TLS needs both)"),
        }
        Ok(config)
    }
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("{}: cannot be read", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plaintext_goes_to_loopback_hosts_only() {
        let none = ClientTls::default();
        for url in ["http://127.0.0.1:1", "http://localhost:1", "http://[::1]:1"] {
            assert!(none.endpoint(url).is_ok(), "{url}");
        }
        for url in ["http://10.0.0.1:50051", "http://gateway.example:50051"] {
            let error = none.endpoint(url).unwrap_err().to_string();
            assert!(error.contains("loopback host only"), "{url}: {error}");
        }
        let error = none.endpoint("ftp://127.0.0.1:1").unwrap_err();
        assert!(
            error.to_string().contains("not an http:// or https:// URL"),
            "{error}"
        );
        let error = none.endpoint("https://gateway.example:1").unwrap_err();
        assert!(error.to_string().contains("--tls-ca"), "{error}");
    }
}
