//! `single-window submit`: send CEB XML files to a gateway and print what became of each block.

use std::io::Write;

use super::validate::expand;
use super::SubmitArgs;
use crate::pb::v1;
use crate::pb::v1::gateway_client::GatewayClient;

/// Exit codes, as `validate`'s.
use super::validate::{EXIT_CLEAN, EXIT_REJECTED, EXIT_UNREADABLE};

/// Submits every file; returns the exit code.
pub async fn run(args: &SubmitArgs, out: &mut dyn Write) -> anyhow::Result<i32> {
    let mut client = GatewayClient::connect(args.server.clone())
        .await?
        .max_decoding_message_size(64 * 1024 * 1024)
        .max_encoding_message_size(64 * 1024 * 1024);
    let mut code = EXIT_CLEAN;
    let (mut accepted, mut repeats, mut rejected) = (0usize, 0usize, 0usize);
    for file in expand(&args.files) {
        let bytes = match std::fs::read(&file) {
            Ok(bytes) => bytes,
            Err(err) => {
                writeln!(out, "{}: unreadable: {err}", file.display())?;
                code = code.max(EXIT_UNREADABLE);
                continue;
            }
        };
        let request = v1::SubmitRequest {
            sender: args.sender.clone(),
            idempotency_key: String::new(),
            payload: Some(v1::submit_request::Payload::CebXml(bytes)),
        };
        let reply = match client.submit(request).await {
            Ok(reply) => reply.into_inner(),
            Err(status) => {
                writeln!(out, "{}: refused: {}", file.display(), status.message())?;
                code = code.max(EXIT_UNREADABLE);
                continue;
            }
        };
        let count = |o: v1::Outcome| {
            reply
                .blocks
                .iter()
                .filter(|b| b.outcome == o as i32)
                .count()
        };
        let (a, r, x, c) = (
            count(v1::Outcome::Accepted),
            count(v1::Outcome::Repeat),
            count(v1::Outcome::Rejected),
            count(v1::Outcome::Conflict),
        );
        writeln!(
            out,
            "{}: {} blocks: {a} accepted, {r} repeats, {x} rejected, {c} conflicts",
            file.display(),
            reply.blocks.len()
        )?;
        for block in &reply.blocks {
            for v in &block.violations {
                writeln!(
                    out,
                    "  block {} [{}] {}: {}",
                    block.index, v.rule, v.path, v.message
                )?;
            }
        }
        accepted += a;
        repeats += r;
        rejected += x + c;
        if x + c > 0 {
            code = code.max(EXIT_REJECTED);
        }
    }
    writeln!(
        out,
        "total: {accepted} accepted, {repeats} repeats, {rejected} rejected or conflicting"
    )?;
    Ok(code)
}
