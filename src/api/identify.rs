//! Who is calling, from the connection: the peer's address, its TLS certificate (SHA-256
//! fingerprint and subject), and the register's entry for that certificate.
//!
//! A plaintext connection from a loopback address is [`Caller::Local`]; a TLS connection
//! without a certificate is [`Caller::Anonymous`]; a certificate the register does not name,
//! or names as revoked, is refused (UNAUTHENTICATED) before any handler runs. The register
//! file is read again when its content changes ([`Registry::watch`]); a file that no longer
//! parses leaves the last good register in force and is logged.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};
use tonic::transport::CertificateDer;

use crate::auth::{Caller, Denied, Lookup, Register};

/// How often the register file's modification time is checked.
const REGISTER_POLL: Duration = Duration::from_secs(1);

/// What the connection says about the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Peer {
    /// The peer's address.
    pub addr: Option<SocketAddr>,
    /// Whether the connection is TLS.
    pub tls: bool,
    /// SHA-256 of the peer's certificate (DER), when it presented one.
    pub fingerprint: Option<[u8; 32]>,
    /// The certificates it presented (the connection's, shared), for the subject when it is
    /// needed.
    certs: Option<Arc<Vec<CertificateDer<'static>>>>,
}

impl Peer {
    /// The peer as the connection info in `request`'s extensions describes it.
    pub fn of<B>(request: &http::Request<B>) -> Peer {
        let extensions = request.extensions();
        if let Some(tls) = extensions.get::<TlsConnectInfo<TcpConnectInfo>>() {
            let certs = tls.peer_certs();
            let leaf = certs.as_ref().and_then(|certs| certs.first());
            return Peer {
                addr: tls.get_ref().remote_addr(),
                tls: true,
                fingerprint: leaf.map(|der| Sha256::digest(der).into()),
                certs,
            };
        }
        Peer {
            addr: remote_addr(request),
            ..Peer::default()
        }
    }

    /// The caller, by the register.
    pub fn caller(&self, register: &Register) -> Result<Caller, Denied> {
        let Some(fingerprint) = &self.fingerprint else {
            return Ok(
                if !self.tls && self.addr.is_some_and(|a| a.ip().is_loopback()) {
                    Caller::Local
                } else {
                    Caller::Anonymous
                },
            );
        };
        let named = || {
            format!(
                "client certificate {} (subject {:?})",
                crate::hex::encode(fingerprint),
                self.subject().unwrap_or_default()
            )
        };
        // The certificate is parsed only when the register names some by subject.
        let subject = register.has_subjects().then(|| self.subject()).flatten();
        match register.lookup(fingerprint, subject.as_deref()) {
            Lookup::Known(identity) => Ok(Caller::Known(identity)),
            // The entry's name stays out of the answer: it may say why the key was revoked.
            Lookup::Revoked(_) => Err(Denied {
                unauthenticated: true,
                reason: format!("{} is revoked in the register", named()),
            }),
            Lookup::Unknown => Err(Denied {
                unauthenticated: true,
                reason: format!("{} is not in the register of identities", named()),
            }),
        }
    }
}

/// The peer's address, over TLS or not.
pub fn remote_addr<B>(request: &http::Request<B>) -> Option<SocketAddr> {
    let extensions = request.extensions();
    match extensions.get::<TlsConnectInfo<TcpConnectInfo>>() {
        Some(tls) => tls.get_ref().remote_addr(),
        None => extensions
            .get::<TcpConnectInfo>()
            .and_then(TcpConnectInfo::remote_addr),
    }
}

impl Peer {
    /// The subject of the certificate it presented, as [`subject`] renders it.
    pub fn subject(&self) -> Option<String> {
        self.certs
            .as_ref()
            .and_then(|certs| certs.first())
            .and_then(|der| subject(der))
    }
}

/// The subject of a DER certificate, as `CN=…, O=…`: attributes in the certificate's order,
/// `,` `+` `\` (and `=`) inside a value escaped with `\` (RFC 4514), so that a value cannot
/// pass for more attributes (`CN=customs\, O=GACC` is one common name).
fn subject(der: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let rdns: Vec<String> = cert
        .subject()
        .iter_rdn()
        .map(|rdn| {
            rdn.iter()
                .map(|attr| {
                    let oid = attr.attr_type().to_id_string();
                    let name = match oid.as_str() {
                        "2.5.4.3" => "CN",
                        "2.5.4.10" => "O",
                        "2.5.4.11" => "OU",
                        "2.5.4.6" => "C",
                        "2.5.4.7" => "L",
                        "2.5.4.8" => "ST",
                        "2.5.4.5" => "SERIALNUMBER",
                        other => other,
                    };
                    let value = attr.as_str().map_or_else(
                        |_| format!("#{}", crate::hex::encode(attr.attr_value().data)),
                        crate::auth::register::escape,
                    );
                    format!("{name}={value}")
                })
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect();
    Some(rdns.join(", "))
}

/// The register in force, shared by the calls; replaced when its file changes.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    current: Arc<RwLock<Arc<Register>>>,
}

impl Registry {
    /// The register of `path` (an empty register when there is no path).
    pub fn load(path: Option<&Path>) -> anyhow::Result<Registry> {
        let register = match path {
            Some(path) => read(path)?,
            None => Register::default(),
        };
        Ok(Registry {
            current: Arc::new(RwLock::new(Arc::new(register))),
        })
    }

    /// The register in force.
    pub fn current(&self) -> Arc<Register> {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Reads `path` again whenever its content changes (compared byte for byte once a second,
    /// so that two writes within one tick of the file system's clock are both seen), until
    /// `closed` is true. Replace the file in one step (write a new one, rename it over) so that
    /// a half-written file is never read.
    pub async fn watch(self, path: PathBuf, mut closed: tokio::sync::watch::Receiver<bool>) {
        let mut seen: Option<Vec<u8>> = std::fs::read(&path).ok();
        loop {
            tokio::select! {
                () = tokio::time::sleep(REGISTER_POLL) => {}
                _ = closed.wait_for(|closed| *closed) => return,
            }
            let now = std::fs::read(&path).ok();
            if now == seen {
                continue;
            }
            seen = now;
            match read(&path) {
                Ok(register) => {
                    tracing::info!(
                        path = %path.display(),
                        entries = register.len(),
                        "register of identities reloaded"
                    );
                    *self
                        .current
                        .write()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(register);
                }
                Err(error) => tracing::error!(
                    path = %path.display(),
                    %error,
                    "register of identities not reloaded; the last good one stays in force"
                ),
            }
        }
    }
}

fn read(path: &Path) -> anyhow::Result<Register> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("tls.register: {}: {e}", path.display()))?;
    Register::parse(&text).map_err(|e| anyhow::anyhow!("tls.register: {}: {e}", path.display()))
}

/// The caller the server found for `request`; anonymous (allowed nothing but health) when
/// no layer found one, so that a server built without identification fails closed.
pub fn caller_of<T>(request: &tonic::Request<T>) -> Caller {
    request
        .extensions()
        .get::<Caller>()
        .cloned()
        .unwrap_or(Caller::Anonymous)
}

/// The note of `request`'s audit record (a detached one when the call is not audited).
pub fn note_of<T>(request: &tonic::Request<T>) -> super::CallNote {
    request
        .extensions()
        .get::<super::CallNote>()
        .cloned()
        .unwrap_or_default()
}

/// A refusal by the policy, noted in the call's audit record and logged.
pub fn refuse(note: &super::CallNote, denied: &Denied) -> tonic::Status {
    note.reason(&denied.reason);
    tracing::warn!(reason = %denied.reason, "refused");
    denied.status()
}

/// A TLS caller's credential, kept for the life of its call: a stream checks it again as it
/// goes, so that a certificate revoked (or named otherwise) in the register while the stream is
/// open stops there.
#[derive(Debug, Clone)]
pub struct Credential {
    peer: Peer,
    caller: Caller,
    registry: Registry,
    /// The register the caller was found by: while it is in force, nothing needs checking.
    seen: Arc<Register>,
}

impl Credential {
    /// The credential of `caller`, found for `peer` by the register in force in `registry`.
    pub fn new(peer: Peer, caller: Caller, registry: Registry) -> Credential {
        let seen = registry.current();
        Credential {
            peer,
            caller,
            registry,
            seen,
        }
    }

    /// Whether the register in force still names the certificate as it did.
    pub fn still_valid(&self) -> Result<(), Denied> {
        let current = self.registry.current();
        if Arc::ptr_eq(&current, &self.seen) {
            return Ok(());
        }
        match self.peer.caller(&current)? {
            now if now == self.caller => Ok(()),
            _ => Err(Denied {
                unauthenticated: true,
                reason: "the register no longer names this certificate as it did when the \
                         call began"
                    .to_owned(),
            }),
        }
    }
}

/// The credential of `request`, when its caller came over TLS with a certificate.
pub fn credential_of<T>(request: &tonic::Request<T>) -> Option<Credential> {
    request.extensions().get::<Credential>().cloned()
}
