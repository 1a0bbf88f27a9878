//! `single-window receipt verify FILE --public-key HEX [--content SENT]`: checks one signed
//! acceptance receipt (as a `SubmitReply.signed_receipts` item, saved to a file) against the
//! gateway's public key and, with `--content`, that it names the file that was submitted;
//! prints what it acknowledges, or why it does not hold.

use std::io::Write;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::{ReceiptArgs, ReceiptCommand};
use crate::hex;
use crate::signing;

/// Exit code: the receipt is valid.
pub const EXIT_VALID: i32 = 0;
/// Exit code: it is not.
pub const EXIT_INVALID: i32 = 1;
/// Exit code: the file could not be read, or the public key is not one.
pub const EXIT_UNUSABLE: i32 = 2;

/// Runs the subcommand; the exit code.
pub fn run(args: &ReceiptArgs, out: &mut dyn Write) -> std::io::Result<i32> {
    match &args.command {
        ReceiptCommand::Verify {
            file,
            public_key,
            content,
        } => verify(file, public_key, content.as_deref(), out),
    }
}

/// Checks the signed receipt in `file` against `public_key` (hex) and, when `content` names
/// a file, that the receipt names that file's SHA-256 as the submission received.
pub fn verify(
    file: &Path,
    public_key: &str,
    content: Option<&Path>,
    out: &mut dyn Write,
) -> std::io::Result<i32> {
    let key = match signing::public_key(public_key) {
        Ok(key) => key,
        Err(why) => {
            writeln!(out, "--public-key: {why}")?;
            return Ok(EXIT_UNUSABLE);
        }
    };
    let signed = match std::fs::read(file) {
        Ok(signed) => signed,
        Err(error) => {
            writeln!(out, "{}: {error}", file.display())?;
            return Ok(EXIT_UNUSABLE);
        }
    };
    let sent = match content {
        None => None,
        Some(path) => match std::fs::read(path) {
            Ok(bytes) => Some((path, <[u8; 32]>::from(Sha256::digest(&bytes)))),
            Err(error) => {
                writeln!(out, "--content {}: {error}", path.display())?;
                return Ok(EXIT_UNUSABLE);
            }
        },
    };
    let receipt = match signing::verify(signed.trim_ascii(), &key) {
        Ok(receipt) => receipt,
        Err(why) => {
            writeln!(out, "invalid: {why}")?;
            return Ok(EXIT_INVALID);
        }
    };
    if let Some((path, digest)) = sent {
        let Some(named) = receipt.received_sha256 else {
            writeln!(
                out,
                "--content {}: the receipt ({}) predates submission hashes: it names no \
                 submission to compare with",
                path.display(),
                receipt.kind
            )?;
            return Ok(EXIT_UNUSABLE);
        };
        if digest != named {
            writeln!(
                out,
                "invalid: the signature is valid, but {} (sha256 {}) is not the submission the \
                 receipt names (sha256 {})",
                path.display(),
                hex::encode(&digest),
                hex::encode(&named)
            )?;
            return Ok(EXIT_INVALID);
        }
    }
    let submission = receipt
        .received_sha256
        .map_or_else(|| "not named (v1)".to_owned(), |h| hex::encode(&h));
    writeln!(
        out,
        "valid: {} of {} {} at {} (Unix ms), submission sha256 {}, content sha256 {}",
        receipt.message_id,
        receipt.sender,
        receipt.outcome,
        receipt.at_unix_ms,
        submission,
        hex::encode(&receipt.content_sha256)
    )?;
    if let Some((path, _)) = sent {
        writeln!(out, "{} is the submission it names", path.display())?;
    }
    Ok(EXIT_VALID)
}
