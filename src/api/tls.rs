//! The server's side of TLS, from `[tls]`: its certificate, mutual TLS (the CA the clients'
//! certificates must chain to; rustls checks the chain and the validity dates at the
//! handshake), and the register that says who each certificate is. Without a certificate the
//! server speaks plaintext, which [`Security::check_address`] allows on loopback only.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use tonic::transport::{Certificate, Identity, ServerTlsConfig};

use super::identify::Registry;
use crate::config::{ClientAuth, Tls};

/// How long a TLS handshake may take before its connection is dropped.
const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The server's TLS settings and its register of identities.
#[derive(Debug, Clone, Default)]
pub struct Security {
    /// `None`: plaintext.
    pub tls: Option<ServerTlsConfig>,
    /// Who the certificates are.
    pub registry: Registry,
    /// The register's file, watched for changes.
    pub register_file: Option<PathBuf>,
    /// Set on the internal port of a TLS node's in-process agencies: only `Receipts` (and
    /// health) is served, and only a caller that sends this secret as
    /// [`super::INTERNAL_TOKEN`] is trusted; any other is anonymous.
    pub internal_token: Option<String>,
}

impl Security {
    /// Reads the files `[tls]` names; an unreadable or unparsable one is an error naming its
    /// key.
    pub fn load(config: &Tls) -> anyhow::Result<Security> {
        let register_file = (!config.register.is_empty()).then(|| PathBuf::from(&config.register));
        let registry = Registry::load(register_file.as_deref())?;
        if !config.enabled() {
            if !config.key.is_empty() || !config.client_ca.is_empty() {
                anyhow::bail!("tls.cert: required when tls.key or tls.client_ca is set");
            }
            return Ok(Security {
                tls: None,
                registry,
                register_file,
                internal_token: None,
            });
        }
        if config.key.is_empty() {
            anyhow::bail!("tls.key: required with tls.cert (the server's private key, PEM)");
        }
        let identity = Identity::from_pem(
            read("tls.cert", &config.cert)?,
            read("tls.key", &config.key)?,
        );
        let mut tls = ServerTlsConfig::new()
            .identity(identity)
            .timeout(HANDSHAKE_TIMEOUT);
        if !config.client_ca.is_empty() {
            let ca = Certificate::from_pem(read("tls.client_ca", &config.client_ca)?);
            tls = tls
                .client_ca_root(ca)
                .client_auth_optional(config.client_auth == ClientAuth::Optional);
        }
        // Built once here, so that a certificate or key rustls cannot use is refused at start.
        tonic::transport::Server::builder()
            .tls_config(tls.clone())
            .context("tls.cert / tls.key / tls.client_ca: not usable by rustls")?;
        Ok(Security {
            tls: Some(tls),
            registry,
            register_file,
            internal_token: None,
        })
    }

    /// Whether the server may listen on `addr`: anywhere with TLS, on loopback only without.
    pub fn check_address(&self, key: &str, addr: SocketAddr) -> anyhow::Result<()> {
        if self.tls.is_none() && !addr.ip().is_loopback() {
            anyhow::bail!(
                "{key}: {addr} is not a loopback address; plaintext is allowed on loopback \
                 only (set tls.cert and tls.key to serve TLS)"
            );
        }
        Ok(())
    }
}

fn read(key: &str, path: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(Path::new(path)).with_context(|| format!("{key}: {path}: cannot be read"))
}
