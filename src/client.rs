//! How this binary connects to a gRPC server: the gateway (the command line, the simulator's
//! receipts) or an agency (the dispatcher). An `http://` URL is plaintext; an `https://` URL is
//! TLS, checked against the CA file given (there is no system trust store: a customs network
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
    /// The endpoint of `url`: plaintext for `http://`, TLS with this material for `https://`.
    pub fn endpoint(&self, url: &str) -> anyhow::Result<Endpoint> {
        let endpoint = Endpoint::from_shared(url.to_owned())
            .with_context(|| format!("{url:?} is not a gRPC URL"))?;
        if !url.starts_with("https://") {
            return Ok(endpoint);
        }
        Ok(endpoint.tls_config(self.config()?)?)
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
