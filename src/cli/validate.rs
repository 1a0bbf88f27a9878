//! `single-window validate`: the offline check a seller runs before sending. Reads each file,
//! decodes it, validates every block and prints what is wrong, in text or JSON lines.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{Format, ValidateArgs};
use crate::ceb::{self, DecodeError};
use crate::domain::{Body, Document, Message};
use crate::report::{Report, Violation};
use crate::rules::Rules;
use crate::validate::validate;

/// Exit code: everything clean.
pub const EXIT_CLEAN: i32 = 0;
/// Exit code: at least one block rejected.
pub const EXIT_REJECTED: i32 = 1;
/// Exit code: a file could not be read or decoded (or the rules could not be loaded).
pub const EXIT_UNREADABLE: i32 = 2;

/// Runs the subcommand, writing to `out`; returns the exit code.
pub fn run(args: &ValidateArgs, out: &mut dyn Write) -> std::io::Result<i32> {
    let rules = match &args.rules {
        Some(dir) => Rules::load_dir(dir),
        None => Rules::embedded(),
    };
    let rules = match rules {
        Ok(rules) => rules,
        Err(err) => {
            writeln!(out, "error: rules: {err}")?;
            return Ok(EXIT_UNREADABLE);
        }
    };
    let mut code = EXIT_CLEAN;
    for file in expand(&args.files) {
        let outcome = check_file(&file, &rules);
        code = code.max(match &outcome {
            FileOutcome::Unreadable(_) => EXIT_UNREADABLE,
            FileOutcome::Decoded { blocks, .. } if blocks.iter().any(|b| !b.report.is_clean()) => {
                EXIT_REJECTED
            }
            FileOutcome::Decoded { .. } => EXIT_CLEAN,
        });
        match args.format {
            Format::Text => print_text(out, &file, &outcome)?,
            Format::Json => print_json(out, &file, &outcome)?,
        }
    }
    Ok(code)
}

/// What one file came to.
enum FileOutcome {
    Unreadable(String),
    Decoded {
        root: &'static str,
        guid: String,
        blocks: Vec<BlockOutcome>,
    },
}

struct BlockOutcome {
    /// 1-based; 0 for the envelope.
    index: usize,
    label: String,
    report: Report,
}

fn check_file(path: &Path, rules: &Rules) -> FileOutcome {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) => return FileOutcome::Unreadable(format!("cannot read: {err}")),
    };
    let text = match ceb::to_utf8(&bytes, &rules.limits) {
        Ok(text) => text,
        Err(err) => return FileOutcome::Unreadable(decode_error(&err)),
    };
    let message = match ceb::decode_str(&text, &rules.limits) {
        Ok(message) => message,
        Err(err) => return FileOutcome::Unreadable(decode_error(&err)),
    };
    FileOutcome::Decoded {
        root: message.kind.root(),
        guid: message.guid.to_string(),
        blocks: block_outcomes(&message, rules),
    }
}

fn block_outcomes(message: &Message<'_>, rules: &Rules) -> Vec<BlockOutcome> {
    let mut blocks = Vec::with_capacity(message.blocks.len() + 1);
    if !message.envelope_defects.is_empty() {
        blocks.push(BlockOutcome {
            index: 0,
            label: "envelope".into(),
            report: Report {
                violations: message.envelope_defects.clone(),
            },
        });
    }
    for (i, block) in message.blocks.iter().enumerate() {
        blocks.push(BlockOutcome {
            index: i + 1,
            label: label(&block.body),
            report: validate(block, rules),
        });
    }
    blocks
}

/// A few words naming the block: its kind and business number.
fn label(body: &Body<'_>) -> String {
    let Body::Ceb(document) = body else {
        return "agency declaration".into();
    };
    let number = match document {
        Document::Order(o) => o.head.order_no.as_ref().map(|n| format!("order {n}")),
        Document::Payment(p) => p
            .head
            .pay_transaction_id
            .as_ref()
            .map(|n| format!("payment {n}")),
        Document::Logistics(l) => l.head.logistics_no.as_ref().map(|n| format!("waybill {n}")),
        Document::LogisticsStatus(s) => s.logistics_no.as_ref().map(|n| format!("waybill {n}")),
        Document::Inventory(i) => i
            .head
            .order_no
            .as_ref()
            .map(|n| format!("inventory of order {n}")),
        Document::InvtCancel(c) => c.invt_no.as_ref().map(|n| format!("cancellation of {n}")),
        Document::InvtRefund(r) => r.head.invt_no.as_ref().map(|n| format!("return of {n}")),
        _ => None,
    };
    number.unwrap_or_else(|| format!("{:?}", document.kind()))
}

fn decode_error(err: &DecodeError) -> String {
    err.to_string()
}

fn print_text(out: &mut dyn Write, file: &Path, outcome: &FileOutcome) -> std::io::Result<()> {
    match outcome {
        FileOutcome::Unreadable(err) => writeln!(out, "{}: unreadable: {err}", file.display()),
        FileOutcome::Decoded { root, guid, blocks } => {
            let rejected = blocks.iter().filter(|b| !b.report.is_clean()).count();
            writeln!(
                out,
                "{}: {root} guid {guid}: {} block(s), {rejected} rejected",
                file.display(),
                blocks.iter().filter(|b| b.index > 0).count()
            )?;
            for block in blocks.iter().filter(|b| !b.report.is_clean()) {
                writeln!(out, "  block {} ({}): rejected", block.index, block.label)?;
                for v in &block.report.violations {
                    writeln!(out, "    {v}")?;
                }
            }
            Ok(())
        }
    }
}

#[derive(Serialize)]
struct JsonBlock<'a> {
    file: String,
    message: Option<&'a str>,
    guid: Option<&'a str>,
    block: Option<usize>,
    label: Option<&'a str>,
    status: &'static str,
    violations: &'a [Violation],
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

fn print_json(out: &mut dyn Write, file: &Path, outcome: &FileOutcome) -> std::io::Result<()> {
    let file_name = file.display().to_string();
    let lines: Vec<JsonBlock<'_>> = match outcome {
        FileOutcome::Unreadable(err) => vec![JsonBlock {
            file: file_name,
            message: None,
            guid: None,
            block: None,
            label: None,
            status: "unreadable",
            violations: &[],
            error: Some(err),
        }],
        FileOutcome::Decoded { root, guid, blocks } => blocks
            .iter()
            .map(|b| JsonBlock {
                file: file_name.clone(),
                message: Some(root),
                guid: Some(guid),
                block: Some(b.index),
                label: Some(&b.label),
                status: if b.report.is_clean() {
                    "clean"
                } else {
                    "rejected"
                },
                violations: &b.report.violations,
                error: None,
            })
            .collect(),
    };
    for line in lines {
        serde_json::to_writer(&mut *out, &line)?;
        writeln!(out)?;
    }
    Ok(())
}

/// Files as given, folders expanded to their `*.xml` files (sorted, recursively).
pub(super) fn expand(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found = Vec::new();
            collect_xml(path, &mut found);
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    files
}

fn collect_xml(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_xml(&path, found);
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("xml"))
        {
            found.push(path);
        }
    }
}
