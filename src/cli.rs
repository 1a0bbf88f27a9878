//! The command line: `single-window <subcommand>`. Parsing is clap's; each subcommand is a
//! function from its arguments and an output stream to an exit code, so tests can drive it.

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
