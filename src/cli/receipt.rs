//! `single-window receipt verify FILE --public-key HEX`: checks one signed acceptance
//! receipt (as a `SubmitReply.signed_receipts` item, saved to a file) against the gateway's
//! public key and prints what it acknowledges, or why it does not hold.

use std::io::Write;
use std::path::Path;

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
        ReceiptCommand::Verify { file, public_key } => verify(file, public_key, out),
    }
}

/// Checks the signed receipt in `file` against `public_key` (hex).
pub fn verify(file: &Path, public_key: &str, out: &mut dyn Write) -> std::io::Result<i32> {
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
    match signing::verify(signed.trim_ascii(), &key) {
        Ok(receipt) => {
            writeln!(
                out,
                "valid: {} of {} {} at {} (Unix ms), content sha256 {}",
                receipt.message_id,
                receipt.sender,
                receipt.outcome,
                receipt.at_unix_ms,
                hex::encode(&receipt.content_sha256)
            )?;
            Ok(EXIT_VALID)
        }
        Err(why) => {
            writeln!(out, "invalid: {why}")?;
            Ok(EXIT_INVALID)
        }
    }
}
