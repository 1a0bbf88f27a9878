//! `single-window audit verify --data DIR`: walks the store's audit log from its checkpoint
//! (or its first record) through its head and reports OK with the count of records, or the
//! first broken link. It opens the store itself, so the gateway must not be running on it.

use std::io::Write;
use std::path::Path;

use super::{AuditArgs, AuditCommand};
use crate::audit;
use crate::hex;
use crate::store::{Store, StoreConfig};

/// Exit code: the log verifies.
pub const EXIT_OK: i32 = 0;
/// Exit code: a link is broken.
pub const EXIT_BROKEN: i32 = 1;
/// Exit code: the store could not be opened or read.
pub const EXIT_UNUSABLE: i32 = 2;

/// Runs the subcommand; the exit code.
pub fn run(args: &AuditArgs, out: &mut dyn Write) -> std::io::Result<i32> {
    match &args.command {
        AuditCommand::Verify { data } => verify(data, out),
    }
}

/// Verifies the audit log of the store in `data`.
pub fn verify(data: &Path, out: &mut dyn Write) -> std::io::Result<i32> {
    // sled keeps its data in `db`: without it there is no store (and none is made).
    if !data.join("db").is_file() {
        writeln!(out, "{}: no store there", data.display())?;
        return Ok(EXIT_UNUSABLE);
    }
    let store = match Store::open(data, StoreConfig::default()) {
        Ok(store) => store,
        Err(error) => {
            writeln!(
                out,
                "{}: {error} (is the gateway running on it?)",
                data.display()
            )?;
            return Ok(EXIT_UNUSABLE);
        }
    };
    let verified = audit::verify_store(&store);
    let closed = store.close();
    let verified = match verified.and_then(|v| closed.map(|()| v)) {
        Ok(verified) => verified,
        Err(error) => {
            writeln!(out, "{}: {error}", data.display())?;
            return Ok(EXIT_UNUSABLE);
        }
    };
    let from = verified.checkpoint.map_or_else(
        || "the first record".to_owned(),
        |c| {
            format!(
                "the checkpoint at seq {} ({} records purged, hash {})",
                c.seq,
                c.purged,
                hex::encode(&c.hash)
            )
        },
    );
    match &verified.broken {
        None => {
            let last = verified
                .tip
                .seq
                .map_or_else(|| "none".to_owned(), |s| s.to_string());
            let head = match verified.head {
                Some(head) => format!("it passes through its head at seq {}", head.seq),
                None => "no head on file (a store from before heads were kept: records cut \
                         from the end are not detectable)"
                    .to_owned(),
            };
            writeln!(
                out,
                "audit log OK: {} records verified from {from}; last seq {last}, hash {}; {head}",
                verified.entries,
                hex::encode(&verified.tip.hash)
            )?;
            Ok(EXIT_OK)
        }
        Some(broken) => {
            writeln!(
                out,
                "audit log BROKEN: {broken} ({} records verified before it, from {from})",
                verified.entries
            )?;
            Ok(EXIT_BROKEN)
        }
    }
}
