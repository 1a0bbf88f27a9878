//! The command line: `single-window <subcommand>`. Parsing is clap's; each subcommand is a
//! function from its arguments and an output stream to an exit code, so tests can drive it.
//! Here: the tree of subcommands with their help texts (and exit codes, for `--help`); in
//! `args`, the arguments of each (re-exported here, the one public path); in the module named
//! after each subcommand, what it does.

mod args;

pub mod agency_sim;
pub mod audit;
pub mod check_config;
pub mod dead_letters;
pub mod load;
pub mod receipt;
pub mod serve;
pub mod status;
pub mod submit;
pub mod validate;
pub mod watch;

use clap::{Parser, Subcommand};

pub use self::args::{
    AgencySimArgs, AuditArgs, AuditCommand, CheckConfigArgs, DeadLettersArgs, DeadLettersCommand,
    Format, GatewayArgs, LoadArgs, ReceiptArgs, ReceiptCommand, ServeArgs, StatusArgs, SubmitArgs,
    ValidateArgs, WatchArgs,
};

/// single-window: the cross-border e-commerce single-window gateway (China Customs CEB).
#[derive(Debug, Parser)]
#[command(name = "single-window", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Decode and validate CEB XML files offline, without a server: every violation of every
    /// block. Exit code 0 when all are clean, 1 when any block is rejected, 2 when a file
    /// cannot be read or decoded.
    Validate(ValidateArgs),
    /// Run the gateway: gRPC on LISTEN (gateway, health, reflection), the store in DATA.
    Serve(ServeArgs),
    /// Submit CEB XML files (or folders of them) to a running gateway: a line per file, each
    /// block's violations, a summary table. Resumable: files already answered (same path,
    /// same SHA-256 in the journal) are skipped.
    #[command(after_help = SUBMIT_EXIT_CODES)]
    Submit(SubmitArgs),
    /// One shipment as the gateway sees it: its state, each agency's phase and last receipt,
    /// the history of its states with times and causes, the documents on file.
    #[command(after_help = STATUS_EXIT_CODES)]
    Status(StatusArgs),
    /// Status events as they are written, one line each (sequence, time, shipment,
    /// from → to, cause), from after --after, then live; until Ctrl-C, --limit events, or the
    /// gateway ends the stream.
    #[command(after_help = WATCH_EXIT_CODES)]
    Watch(WatchArgs),
    /// Check a configuration as `serve` would load it (defaults < file < environment) and the
    /// rule tables it names; print the effective configuration as TOML (secrets redacted)
    /// and a summary of the rules.
    #[command(after_help = CHECK_CONFIG_EXIT_CODES)]
    CheckConfig(CheckConfigArgs),
    /// Load generator: valid, consistent shipments submitted with a fixed number in flight;
    /// reports durable accepts/s, latency percentiles and commits per fsync. Without
    /// --server it starts an embedded gateway on a temporary store.
    Load(LoadArgs),
    /// Agency simulator: customs, inspection, FX and tax behind one AgencyEndpoint gRPC
    /// server; decides each delivered message (seeded), injects faults, keeps a ledger and
    /// reports receipts to the gateway's Receipts service. Runs until SIGINT or SIGTERM.
    AgencySim(Box<AgencySimArgs>),
    /// The deliveries the gateway gave up on (after the last attempt, or refused for good by
    /// an agency) and receipts for messages it never routed: list, show one, replay one.
    /// Exit code 0 when done, 1 when the gateway refuses (unknown id, replay not possible).
    DeadLetters(DeadLettersArgs),
    /// The audit log of a store: `verify` walks its hash chain (the gateway must not be
    /// running on the store). Exit code 0 when it verifies, 1 at a broken link, 2 when the
    /// store cannot be opened.
    Audit(AuditArgs),
    /// Signed acceptance receipts: `verify` checks one against the gateway's public key.
    /// Exit code 0 when valid, 1 when not, 2 when the file or the key cannot be read.
    Receipt(ReceiptArgs),
}

/// The exit codes of `submit`, for its `--help`.
const SUBMIT_EXIT_CODES: &str = "Exit codes:
  0  every block accepted or a repeat (files skipped count with the outcome in the journal)
  1  some block rejected, in conflict or ignored
  2  a file unreadable or undecodable, the gateway unreachable, or the journal unusable";

/// The exit codes of `status`, for its `--help`.
const STATUS_EXIT_CODES: &str = "Exit codes:
  0  the shipment was found
  2  the gateway unreachable, or it refused the request (a malformed key)
  3  no document of the shipment is on file";

/// The exit codes of `watch`, for its `--help`.
const WATCH_EXIT_CODES: &str = "Exit codes:
  0  stopped by Ctrl-C or --limit, or the gateway closed the stream
  2  the gateway unreachable, or the stream broke (resume with --after, as printed on stderr)";

/// The exit codes of `check-config`, for its `--help`.
const CHECK_CONFIG_EXIT_CODES: &str = "Exit codes:
  0  the configuration and the rules are valid
  2  they are not: the message names the file (or variable) and the key";
