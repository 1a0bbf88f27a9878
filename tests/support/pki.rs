//! Certificates made in the test (rcgen): a CA, the gateway's server certificate (127.0.0.1 and
//! localhost), and client certificates signed by the CA — or expired, or signed by another CA
//! — written as PEM files in a temporary folder.

#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use sha2::{Digest, Sha256};
use single_window::client::ClientTls;

/// The folder of PEM files and the CAs that sign.
pub struct Pki {
    dir: tempfile::TempDir,
    ca: Issuer<'static, KeyPair>,
    other: Issuer<'static, KeyPair>,
}

/// A client certificate written by [`Pki::client`].
#[derive(Debug, Clone)]
pub struct Client {
    /// What a client presents with it (the CA, the certificate, the key).
    pub tls: ClientTls,
    /// SHA-256 of its DER, hex.
    pub fingerprint: String,
    /// Its subject as the gateway reads it: `CN=<name>, O=<org>`.
    pub subject: String,
}

/// How a client certificate is made.
#[derive(Debug, Clone, Copy, Default)]
pub struct Made {
    /// Valid from 2020 to 2021 only.
    pub expired: bool,
    /// Signed by a CA the gateway does not trust.
    pub foreign: bool,
}

impl Pki {
    /// A CA, another CA, and the server's certificate (`ca.pem`, `server.pem`, `server.key`).
    pub fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let (ca_pem, ca) = authority("single-window test CA");
        let (_, other) = authority("an untrusted CA");
        std::fs::write(dir.path().join("ca.pem"), ca_pem).unwrap();
        let mut params = leaf_params("gateway", "single-window");
        params.subject_alt_names = vec![
            SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            SanType::DnsName("localhost".try_into().unwrap()),
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &ca).unwrap();
        std::fs::write(dir.path().join("server.pem"), cert.pem()).unwrap();
        std::fs::write(dir.path().join("server.key"), key.serialize_pem()).unwrap();
        Pki { dir, ca, other }
    }

    /// A file of the folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A client certificate with common name `name` (also its file names).
    pub fn client(&self, name: &str, made: Made) -> Client {
        let mut params = leaf_params(name, "test enterprises");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        if made.expired {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let issuer = if made.foreign { &self.other } else { &self.ca };
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, issuer).unwrap();
        let (cert_path, key_path) = (
            self.path(&format!("{name}.pem")),
            self.path(&format!("{name}.key")),
        );
        std::fs::write(&cert_path, cert.pem()).unwrap();
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        let fingerprint = Sha256::digest(cert.der())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Client {
            tls: ClientTls {
                ca: Some(self.path("ca.pem")),
                cert: Some(cert_path),
                key: Some(key_path),
            },
            fingerprint,
            subject: format!("CN={name}, O=test enterprises"),
        }
    }

    /// A client that trusts the CA and presents no certificate.
    pub fn anonymous(&self) -> ClientTls {
        ClientTls {
            ca: Some(self.path("ca.pem")),
            ..ClientTls::default()
        }
    }

    /// The server's `[tls]` with mutual TLS and the register `register.toml` (written by the
    /// test).
    pub fn server(&self) -> single_window::config::Tls {
        let file = |name: &str| self.path(name).display().to_string();
        single_window::config::Tls {
            cert: file("server.pem"),
            key: file("server.key"),
            client_ca: file("ca.pem"),
            register: file("register.toml"),
            ..Default::default()
        }
    }

    /// Writes the register of identities.
    pub fn write_register(&self, text: &str) {
        std::fs::write(self.path("register.toml"), text).unwrap();
    }
}

fn authority(name: &str) -> (String, Issuer<'static, KeyPair>) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), Issuer::new(params, key))
}

fn leaf_params(name: &str, org: &str) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params
        .distinguished_name
        .push(DnType::OrganizationName, org);
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params
}
