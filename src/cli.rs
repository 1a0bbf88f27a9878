//! The command line: `single-window <subcommand>`. Parsing is clap's; each subcommand is a
//! function from its arguments and an output stream to an exit code, so tests can drive it.

pub mod agency_sim;
pub mod dead_letters;
pub mod load;
pub mod serve;
pub mod submit;
pub mod validate;

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

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
    /// Submit CEB XML files (or folders of them) to a running gateway; prints each block's
    /// outcome. Exit code 0 when every block is accepted (or a repeat), 1 when any is
    /// rejected or conflicts, 2 when a file cannot be read or the gateway refuses it.
    Submit(SubmitArgs),
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
}

/// Arguments of `agency-sim`. Each flag given wins over the config file's `[agency_sim]`
/// key of the same name (in snake case).
#[derive(Debug, Default, clap::Args)]
pub struct AgencySimArgs {
    /// Config file (TOML) with an [agency_sim] section; the defaults when absent.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Address to listen on, loopback only [default: 127.0.0.1:50061].
    #[arg(long)]
    pub listen: Option<std::net::SocketAddr>,
    /// Agencies to simulate: customs, inspection, fx, tax or all; repeatable or a comma
    /// list [default: all].
    #[arg(long, value_name = "AGENCY", value_delimiter = ',')]
    pub agency: Vec<String>,
    /// URL of the gateway receiving the receipts (Receipts.Report)
    /// [default: http://127.0.0.1:50051].
    #[arg(long, env = "SINGLE_WINDOW_SERVER")]
    pub gateway: Option<String>,
    /// Seed of the decisions and of the injected faults [default: 1].
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Latency of a delivery, ms: 0, fixed:MS, uniform:MIN..MAX or exp:MEAN [default: fixed:0].
    #[arg(long, value_name = "DIST")]
    pub latency: Option<String>,
    /// Rate (0..1) of deliveries answered UNAVAILABLE, nothing recorded [default: 0].
    #[arg(long, value_name = "RATE")]
    pub unavailable: Option<f64>,
    /// Rate (0..1) of deliveries answered only after the caller's deadline, nothing
    /// recorded [default: 0].
    #[arg(long, value_name = "RATE")]
    pub timeout: Option<f64>,
    /// Rate (0..1) of deliveries refused with FAILED_PRECONDITION, nothing recorded
    /// [default: 0].
    #[arg(long, value_name = "RATE")]
    pub refuse: Option<f64>,
    /// Weight of "release" decisions [default: 0.90].
    #[arg(long, value_name = "W")]
    pub release: Option<f64>,
    /// Weight of "inspect" decisions (customs: times the credit factor) [default: 0.05].
    #[arg(long, value_name = "W")]
    pub inspect: Option<f64>,
    /// Weight of "detain" decisions [default: 0].
    #[arg(long, value_name = "W")]
    pub detain: Option<f64>,
    /// Weight of "reject" decisions [default: 0.05].
    #[arg(long, value_name = "W")]
    pub reject: Option<f64>,
    /// Time from an inspection or quarantine hold to its release, ms [default: 200].
    #[arg(long, value_name = "MS")]
    pub hold_ms: Option<u64>,
    /// Factors on the customs inspect weight per credit class
    /// [default: advanced=0.5,general=1,untrusted=3].
    #[arg(long, value_name = "CLASS=F,...")]
    pub credit_factor: Option<String>,
    /// Override for shipments whose order number starts with PREFIX (longest prefix wins):
    /// release, inspect, detain, reject, or refuse (every delivery refused with
    /// FAILED_PRECONDITION); repeatable.
    #[arg(long, value_name = "PREFIX=DECISION")]
    pub rule: Vec<String>,
    /// Ledger file (JSON lines) of deliveries taken and receipts reported, kept across
    /// restarts; in memory only when absent.
    #[arg(long, value_name = "PATH")]
    pub ledger: Option<PathBuf>,
    /// Receipt reports in flight at once [default: 32].
    #[arg(long, value_name = "N")]
    pub report_in_flight: Option<usize>,
    /// Messages' receipts queued for the reporter before deliveries wait [default: 4096].
    #[arg(long, value_name = "N")]
    pub queue: Option<usize>,
}

/// Arguments of `dead-letters`.
#[derive(Debug, clap::Args)]
pub struct DeadLettersArgs {
    /// The gateway.
    #[arg(
        long,
        env = "SINGLE_WINDOW_SERVER",
        default_value = "http://127.0.0.1:50051"
    )]
    pub server: String,
    /// What to do.
    #[command(subcommand)]
    pub command: DeadLettersCommand,
}

/// `dead-letters` subcommands.
#[derive(Debug, Subcommand)]
pub enum DeadLettersCommand {
    /// One line per dead letter: id, agency, kind, attempts, reason.
    List {
        /// Only this agency's (customs, inspection, fx, tax).
        #[arg(long, default_value = "")]
        agency: String,
    },
    /// One dead letter with every attempt's error.
    Show {
        /// Its id (as `list` prints it).
        id: String,
    },
    /// A delivery goes back to its agency's outbox under the same message id; an orphan
    /// receipt is applied if its message is now known.
    Replay {
        /// Its id (as `list` prints it).
        id: String,
    },
}

/// Arguments of `load`.
#[derive(Debug, clap::Args)]
pub struct LoadArgs {
    /// A running gateway; an embedded one when absent.
    #[arg(long)]
    pub server: Option<String>,
    /// Shipments to send (4 messages each).
    #[arg(long, default_value_t = 2500)]
    pub shipments: usize,
    /// Requests in flight.
    #[arg(long, default_value_t = 10)]
    pub in_flight: usize,
    /// Seed of the generated shipments (a new seed gives new keys).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// How long to wait, after the last submission, for the shipments to be released
    /// (seconds).
    #[arg(long, default_value_t = 60)]
    pub release_wait: u64,
}

/// Arguments of `serve`. Each flag given wins over the config file and the environment.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Config file (TOML, see config/default.toml); the defaults when absent.
    #[arg(long, env = "SINGLE_WINDOW_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on (plaintext is for loopback only) [config: server.listen].
    #[arg(long)]
    pub listen: Option<std::net::SocketAddr>,
    /// Folder of the store [config: server.data].
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Folder of rule files (config/rules) [config: rules.dir; the built-in copy when absent].
    #[arg(long)]
    pub rules: Option<PathBuf>,
    /// Address of the operators' HTTP server: /metrics and the dashboard [config: admin.listen].
    #[arg(long)]
    pub admin_listen: Option<std::net::SocketAddr>,
}

/// Arguments of `submit`.
#[derive(Debug, clap::Args)]
pub struct SubmitArgs {
    /// The gateway.
    #[arg(
        long,
        env = "SINGLE_WINDOW_SERVER",
        default_value = "http://127.0.0.1:50051"
    )]
    pub server: String,
    /// Sending enterprise; the message's BaseTransfer/copCode when absent.
    #[arg(long, default_value = "")]
    pub sender: String,
    /// CEB XML files, or folders searched for *.xml.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// Arguments of `validate`.
#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Folder of rule files (config/rules); the built-in copy when absent.
    #[arg(long, env = "SINGLE_WINDOW_RULES")]
    pub rules: Option<PathBuf>,
    /// CEB XML files, or folders searched for *.xml.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people.
    Text,
    /// One JSON object per block, one per line.
    Json,
}
