//! Signed acceptance receipts: for each block it accepts (or recognises as a repeat), the
//! gateway signs what it took (message id, sender, SHA-256 of the submission as received and
//! of the block as kept, time, outcome) with its Ed25519 key, so that a sender can later prove
//! what it submitted and what the gateway acknowledged.
//!
//! A signed receipt is a JSON object `{"receipt": R, "key_id": K, "signature": S}`: `R` is a
//! string holding the receipt's own JSON ([`Receipt`]; the exact bytes that are signed, so
//! nothing needs canonicalising to check it), `K` names the key (the first 8 bytes of the
//! SHA-256 of the public key, hex) and `S` is the Ed25519 signature of `R`'s UTF-8 bytes, hex.
//! The key is a 32-byte seed kept as 64 hex digits in a file (`signing.key` in the store's
//! folder unless the config names one), created with mode 0600 when missing. Signing and
//! checking are pure; only [`Signer::open`] touches the disk.

use std::io::Write;
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::hex;

/// The key file's name in the store's folder.
pub const KEY_FILE: &str = "signing.key";

/// The `kind` of an acceptance receipt (and the version of its format): v2 names the
/// submission as received (`received_sha256`).
pub const RECEIPT_KIND: &str = "singlewindow.acceptance-receipt.v2";

/// The first format, without `received_sha256`: receipts signed before v2 still check.
pub const RECEIPT_KIND_V1: &str = "singlewindow.acceptance-receipt.v1";

/// Signing-key failures.
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    /// The key file could not be read or written.
    #[error("signing key {path}: {source}")]
    Io {
        /// The key file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The key file holds something else than a key.
    #[error("signing key {0}: not a key (64 hex digits expected)")]
    Malformed(PathBuf),
    /// The system gave no randomness for a new key.
    #[error("signing key: no randomness: {0}")]
    Random(String),
}

/// Why a signed receipt does not check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    /// It does not read as a signed receipt.
    #[error("not a signed receipt: {0}")]
    Malformed(String),
    /// The public key is not one.
    #[error("not an Ed25519 public key (64 hex digits expected)")]
    PublicKey,
    /// It names another key than the one given.
    #[error("signed with key {signed_with}, not with the key given ({given})")]
    OtherKey {
        /// The receipt's key id.
        signed_with: String,
        /// The given key's id.
        given: String,
    },
    /// The signature does not match the receipt (it was changed, or forged).
    #[error("the signature does not match the receipt")]
    Signature,
}

/// What the gateway acknowledges for one block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// Always [`RECEIPT_KIND`].
    pub kind: String,
    /// The block's message id (its CEB guid, or the typed declaration's idempotency key).
    pub message_id: String,
    /// The sending enterprise.
    pub sender: String,
    /// SHA-256 of the submission (hex): for CEB XML, the `ceb_xml` bytes exactly as received
    /// (the whole message, every block of it), which a sender checks against the file it
    /// sent; for a typed declaration, the declaration as decoded and re-encoded by the
    /// gateway (equal to `content_sha256`). Absent in [`RECEIPT_KIND_V1`] receipts.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "hex::serde32_option"
    )]
    pub received_sha256: Option<[u8; 32]>,
    /// SHA-256 of the block's content as the gateway keeps it (hex): a typed declaration's
    /// protobuf bytes, or a CEB block's canonical XML.
    #[serde(with = "hex::serde32")]
    pub content_sha256: [u8; 32],
    /// When the gateway acknowledged it, Unix ms.
    pub at_unix_ms: u64,
    /// `accepted` (on disk), or `repeat` (the same content was accepted before under the
    /// same id).
    pub outcome: String,
}

impl Receipt {
    /// A receipt of `outcome` for the block `message_id` of `sender`, now: `received` is the
    /// hash of the submission as received, `content` that of the block as kept.
    pub fn new(
        message_id: &str,
        sender: &str,
        received: [u8; 32],
        content: [u8; 32],
        outcome: &str,
    ) -> Receipt {
        let at_unix_ms = crate::clock::unix_millis();
        Receipt {
            kind: RECEIPT_KIND.to_owned(),
            message_id: message_id.to_owned(),
            sender: sender.to_owned(),
            received_sha256: Some(received),
            content_sha256: content,
            at_unix_ms,
            outcome: outcome.to_owned(),
        }
    }
}

/// The signed form: the receipt's JSON as a string, the key's id, the signature.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    receipt: String,
    key_id: String,
    signature: String,
}

/// The gateway's signing key.
pub struct Signer {
    key: SigningKey,
    key_id: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("key_id", &self.key_id)
            .finish()
    }
}

impl Signer {
    /// The key of `seed`.
    pub fn from_seed(seed: [u8; 32]) -> Signer {
        let key = SigningKey::from_bytes(&seed);
        let key_id = key_id(&key.verifying_key());
        Signer { key, key_id }
    }

    /// A new random key.
    pub fn generate() -> Result<Signer, SigningError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| SigningError::Random(e.to_string()))?;
        Ok(Signer::from_seed(seed))
    }

    /// The key in file `path`; a new one, saved there with mode 0600, when there is none.
    pub fn open(path: &Path) -> Result<Signer, SigningError> {
        let io = |source| SigningError::Io {
            path: path.to_owned(),
            source,
        };
        match std::fs::read(path) {
            Ok(bytes) => {
                warn_if_readable_by_others(path);
                let text = String::from_utf8_lossy(&bytes);
                hex::decode32(text.trim())
                    .map(Signer::from_seed)
                    .ok_or_else(|| SigningError::Malformed(path.to_owned()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let signer = Signer::generate()?;
                save(path, &signer.key.to_bytes()).map_err(io)?;
                tracing::info!(path = %path.display(), key_id = %signer.key_id, "signing key created");
                Ok(signer)
            }
            Err(e) => Err(io(e)),
        }
    }

    /// The key named by the config (`configured`), or `signing.key` in the store's folder
    /// `store_dir` when it names none; created when missing.
    pub fn open_for_store(store_dir: &Path, configured: &str) -> Result<Signer, SigningError> {
        let path = if configured.is_empty() {
            store_dir.join(KEY_FILE)
        } else {
            PathBuf::from(configured)
        };
        Signer::open(&path)
    }

    /// The public key, hex (64 digits): what senders check receipts with.
    pub fn public_key_hex(&self) -> String {
        hex::encode(self.key.verifying_key().as_bytes())
    }

    /// The key's id, as receipts name it.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// `receipt`, signed.
    pub fn sign(&self, receipt: &Receipt) -> Vec<u8> {
        let body = serde_json::to_string(receipt).unwrap_or_default();
        let signature = self.key.sign(body.as_bytes());
        let envelope = Envelope {
            receipt: body,
            key_id: self.key_id.clone(),
            signature: hex::encode(&signature.to_bytes()),
        };
        serde_json::to_vec(&envelope).unwrap_or_default()
    }
}

/// The public key of hex `text` (64 digits).
pub fn public_key(text: &str) -> Result<VerifyingKey, Invalid> {
    let bytes = hex::decode32(text.trim()).ok_or(Invalid::PublicKey)?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| Invalid::PublicKey)
}

/// Checks the signed receipt `signed` against `public_key`; the receipt when it holds.
pub fn verify(signed: &[u8], public_key: &VerifyingKey) -> Result<Receipt, Invalid> {
    let malformed = |e: &dyn std::fmt::Display| Invalid::Malformed(e.to_string());
    let envelope: Envelope = serde_json::from_slice(signed).map_err(|e| malformed(&e))?;
    let given = key_id(public_key);
    if envelope.key_id != given {
        return Err(Invalid::OtherKey {
            signed_with: envelope.key_id,
            given,
        });
    }
    let signature = hex::decode(&envelope.signature)
        .and_then(|bytes| <[u8; 64]>::try_from(bytes).ok())
        .ok_or_else(|| malformed(&"signature: 128 hex digits expected"))?;
    public_key
        .verify(
            envelope.receipt.as_bytes(),
            &Signature::from_bytes(&signature),
        )
        .map_err(|_| Invalid::Signature)?;
    let receipt: Receipt =
        serde_json::from_str(&envelope.receipt).map_err(|e| malformed(&format!("receipt: {e}")))?;
    let known = match receipt.kind.as_str() {
        RECEIPT_KIND => receipt.received_sha256.is_some(),
        RECEIPT_KIND_V1 => receipt.received_sha256.is_none(),
        _ => false,
    };
    if !known {
        return Err(malformed(&format!(
            "kind {:?} with{} received_sha256",
            receipt.kind,
            if receipt.received_sha256.is_some() {
                ""
            } else {
                "out"
            }
        )));
    }
    Ok(receipt)
}

fn key_id(public_key: &VerifyingKey) -> String {
    let digest = Sha256::digest(public_key.as_bytes());
    hex::encode(&digest[..8])
}

/// Writes `seed` as hex to `path` (mode 0600), through a temporary file renamed into place.
fn save(path: &Path, seed: &[u8; 32]) -> std::io::Result<()> {
    let temporary = path.with_extension("key.new");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&temporary)?;
    writeln!(file, "{}", hex::encode(seed))?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            if meta.permissions().mode() & 0o077 != 0 {
                tracing::warn!(path = %path.display(), "signing key is readable by others than its owner");
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_receipt_checks_and_any_change_breaks_it() {
        let signer = Signer::from_seed([7; 32]);
        let key = public_key(&signer.public_key_hex()).unwrap();
        let receipt = Receipt::new("guid-1", "E1", [2; 32], [1; 32], "accepted");
        let signed = signer.sign(&receipt);
        assert_eq!(verify(&signed, &key), Ok(receipt));

        let text = String::from_utf8(signed.clone()).unwrap();
        let forged = text.replace("accepted", "acceptee").into_bytes();
        assert_eq!(verify(&forged, &key), Err(Invalid::Signature));

        let other = Signer::from_seed([8; 32]);
        let other_key = public_key(&other.public_key_hex()).unwrap();
        assert!(matches!(
            verify(&signed, &other_key),
            Err(Invalid::OtherKey { .. })
        ));
        assert!(matches!(verify(b"{}", &key), Err(Invalid::Malformed(_))));
        assert_eq!(public_key("abc").err(), Some(Invalid::PublicKey));
    }

    #[test]
    fn a_first_format_receipt_still_checks_and_formats_are_not_mixed() {
        let signer = Signer::from_seed([5; 32]);
        let key = public_key(&signer.public_key_hex()).unwrap();
        let v1 = Receipt {
            kind: RECEIPT_KIND_V1.to_owned(),
            received_sha256: None,
            ..Receipt::new("g", "E", [1; 32], [2; 32], "accepted")
        };
        let signed = signer.sign(&v1);
        assert!(!String::from_utf8_lossy(&signed).contains("received_sha256"));
        assert_eq!(verify(&signed, &key), Ok(v1.clone()));

        let v2_without = Receipt {
            kind: RECEIPT_KIND.to_owned(),
            ..v1.clone()
        };
        let v1_with = Receipt {
            received_sha256: Some([1; 32]),
            ..v1
        };
        for wrong in [v2_without, v1_with] {
            let checked = verify(&signer.sign(&wrong), &key);
            assert!(matches!(checked, Err(Invalid::Malformed(_))), "{checked:?}");
        }
    }

    #[test]
    fn every_byte_of_the_signature_counts() {
        let signer = Signer::from_seed([9; 32]);
        let key = public_key(&signer.public_key_hex()).unwrap();
        let signed = signer.sign(&Receipt::new("k", "E", [0; 32], [0; 32], "repeat"));
        let text = String::from_utf8(signed).unwrap();
        let at = text.find("\"signature\":\"").unwrap() + 13;
        let flipped = if &text[at..=at] == "0" { "1" } else { "0" };
        let forged = format!("{}{flipped}{}", &text[..at], &text[at + 1..]);
        assert_eq!(verify(forged.as_bytes(), &key), Err(Invalid::Signature));
    }
}
