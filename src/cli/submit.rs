//! `single-window submit`: send CEB XML files to a gateway, one at a time and in order, and
//! print what became of each: a line per file, each rejected block's violations, a summary
//! table. A journal makes a run resumable: a file is recorded (path, SHA-256, outcome) once
//! the gateway has answered it, and a re-run skips the files whose content it already answered,
//! so nothing is sent twice. A refusal that could go otherwise next time (the gateway
//! unreachable, overloaded, out of disk) is not recorded; once the gateway is unreachable the
//! remaining files are left for the next run.

mod journal;
mod tally;

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tonic::transport::Channel;

use self::journal::{Entry, Journal};
use self::tally::{Blocks, Summary};
use super::validate::expand;
use super::SubmitArgs;
use crate::pb::v1;
use crate::pb::v1::gateway_client::GatewayClient;

/// Exit codes, as `validate`'s: every block accepted or a repeat; some block rejected, in
/// conflict or ignored; a file unreadable or undecodable, or the gateway unreachable.
pub use super::validate::{EXIT_CLEAN, EXIT_REJECTED, EXIT_UNREADABLE};

/// Largest message sent or received.
const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// Submits every file not answered before; returns the exit code.
pub async fn run(args: &SubmitArgs, out: &mut dyn Write) -> anyhow::Result<i32> {
    // Plaintext for http://, TLS with --tls-ca (and --tls-cert/--tls-key) for https://.
    let endpoint = match args.gateway.endpoint() {
        Ok(endpoint) => endpoint.connect_timeout(Duration::from_secs(5)),
        Err(err) => {
            writeln!(out, "error: --server {:?}: {err:#}", args.gateway.server)?;
            return Ok(EXIT_UNREADABLE);
        }
    };
    // Connected on first use: a run whose files are all in the journal needs no gateway.
    let client = GatewayClient::new(endpoint.connect_lazy())
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    let journal = if args.no_journal {
        None
    } else {
        match Journal::open(&args.journal) {
            Ok(journal) => Some(journal),
            Err(err) => {
                writeln!(out, "error: {err}")?;
                return Ok(EXIT_UNREADABLE);
            }
        }
    };
    if let Some(torn) = journal
        .as_ref()
        .map(|j| j.unreadable_lines)
        .filter(|n| *n > 0)
    {
        writeln!(
            out,
            "note: {}: {torn} line(s) that do not parse ignored",
            args.journal.display()
        )?;
    }
    let files = expand(&args.files);
    let bar = progress_bar(files.len(), args.quiet);
    let mut run = Run {
        client,
        journal,
        sender: args.sender.clone(),
        summary: Summary::default(),
    };
    let mut files = files.iter();
    let mut stopped = None;
    for file in files.by_ref() {
        bar.set_message(file.display().to_string());
        let (text, step) = run.one(file).await;
        bar.suspend(|| out.write_all(text.as_bytes()))?;
        bar.inc(1);
        if step != Step::Next {
            stopped = Some(step);
            break;
        }
    }
    bar.finish_and_clear();
    let left = files.len();
    if let Some(step) = stopped.filter(|_| left > 0) {
        for _ in 0..left {
            run.summary.failed();
        }
        let why = match step {
            Step::JournalFailed => "the journal cannot be written",
            _ => "the gateway is unavailable",
        };
        writeln!(
            out,
            "{left} more file(s) not sent: {why}; run again to resume"
        )?;
    }
    write!(out, "{}", run.summary.table())?;
    Ok(run.summary.code)
}

/// What a run carries from file to file.
struct Run {
    client: GatewayClient<Channel>,
    journal: Option<Journal>,
    sender: String,
    summary: Summary,
}

/// How one file went, for the loop.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// On to the next file.
    Next,
    /// The gateway cannot be reached (or says it is unavailable): stop.
    Unreachable,
    /// The journal cannot be written: stop, or the next run would send again.
    JournalFailed,
}

impl Run {
    /// Reads, skips or submits `file`; its lines and what to do next.
    async fn one(&mut self, file: &Path) -> (String, Step) {
        let name = file.display();
        let bytes = match std::fs::read(file) {
            Ok(bytes) => bytes,
            Err(err) => {
                self.summary.failed();
                return (format!("{name}: unreadable: {err}\n"), Step::Next);
            }
        };
        let path = journal::key_of(file);
        let sha256 = journal::sha256_hex(&bytes);
        if let Some(entry) = self
            .journal
            .as_ref()
            .and_then(|j| j.answered(&path, &sha256))
        {
            let text = format!("{name}: skipped (already submitted): {}\n", earlier(entry));
            if entry.refused.is_empty() {
                self.summary.skipped.answered(&entry.blocks);
                self.summary.worst(entry.blocks.exit_code());
            } else {
                self.summary.skipped.failed();
                self.summary.worst(EXIT_UNREADABLE);
            }
            return (text, Step::Next);
        }
        let request = v1::SubmitRequest {
            sender: self.sender.clone(),
            idempotency_key: String::new(),
            payload: Some(v1::submit_request::Payload::CebXml(bytes)),
        };
        let mut entry = Entry {
            path,
            sha256,
            id: String::new(),
            blocks: Blocks::default(),
            refused: String::new(),
            at_unix_ms: 0,
        };
        let text = match self.client.submit(request).await {
            Ok(reply) => {
                let reply = reply.into_inner();
                entry.id.clone_from(&reply.id);
                entry.blocks = Blocks::of(&reply);
                self.summary.submitted.answered(&entry.blocks);
                self.summary.worst(entry.blocks.exit_code());
                answered(&name.to_string(), &reply, &entry.blocks)
            }
            // Undecodable: the same bytes will not decode next time either.
            Err(status) if status.code() == tonic::Code::InvalidArgument => {
                self.summary.failed();
                entry.refused = status.message().to_owned();
                format!("{name}: undecodable: {}\n", status.message())
            }
            Err(status) => {
                self.summary.failed();
                let text = format!("{name}: not answered: {}\n", describe(&status));
                let step = match status.code() {
                    tonic::Code::Unavailable => Step::Unreachable,
                    _ => Step::Next,
                };
                return (text, step);
            }
        };
        let Some(journal) = &mut self.journal else {
            return (text, Step::Next);
        };
        entry.at_unix_ms = crate::clock::unix_millis();
        match journal.record(entry) {
            Ok(()) => (text, Step::Next),
            Err(err) => {
                self.summary.worst(EXIT_UNREADABLE);
                (format!("{text}error: {err}\n"), Step::JournalFailed)
            }
        }
    }
}

/// The line of a file the gateway answered, and its rejected blocks' violations.
fn answered(name: &str, reply: &v1::SubmitReply, blocks: &Blocks) -> String {
    use std::fmt::Write as _;
    let mut text = format!("{name}: {blocks}\n");
    for block in &reply.blocks {
        for v in &block.violations {
            let _ = writeln!(
                text,
                "  block {} [{}] {}: {}",
                block.index, v.rule, v.path, v.message
            );
        }
    }
    text
}

/// What the journal says the gateway answered.
fn earlier(entry: &Entry) -> String {
    if entry.refused.is_empty() {
        entry.blocks.to_string()
    } else {
        format!("undecodable: {}", entry.refused)
    }
}

/// A status for people: its code, its message, and the transport error beneath if any.
fn describe(status: &tonic::Status) -> String {
    use std::error::Error as _;
    let mut text = format!("{:?}: {}", status.code(), status.message());
    let mut source = status.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

/// A bar of `files` on stderr; hidden with `--quiet` or when stderr is not a terminal.
fn progress_bar(files: usize, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(
        Some(u64::try_from(files).unwrap_or(u64::MAX)),
        ProgressDrawTarget::stderr(),
    );
    if let Ok(style) =
        ProgressStyle::with_template("{bar:30} {pos}/{len} files, {elapsed} {wide_msg}")
    {
        bar.set_style(style);
    }
    bar
}
