//! The arguments of each subcommand, as clap derives them: flags, defaults, environment
//! variables and help texts. What a command does with them is in its own module; the flags a
//! client of the gateway shares (`--server` and the `--tls-*` files) are [`GatewayArgs`], the
//! same in every such command.

use std::path::PathBuf;

use clap::{Subcommand, ValueEnum};
use tonic::transport::Endpoint;

use crate::client::ClientTls;

/// The gateway a client command talks to (`submit`, `status`, `watch`, `dead-letters`): its
/// URL and the TLS to reach it with. (`load` has its own `--server`, optional: without it, it
/// starts an embedded gateway; `agency-sim` its own `--gateway` and `--gateway-tls-*`.)
#[derive(Debug, Clone, clap::Args)]
pub struct GatewayArgs {
    /// The gateway: http:// (plaintext) or https:// (TLS, with --tls-ca).
    #[arg(
        long,
        env = "SINGLE_WINDOW_SERVER",
        default_value = "http://127.0.0.1:50051"
    )]
    pub server: String,
    /// TLS to the gateway (for an https:// --server).
    #[command(flatten)]
    pub tls: ClientTls,
}

impl GatewayArgs {
    /// The endpoint of `--server`, not yet connected: plaintext for `http://` (to a loopback
    /// host only), TLS with `--tls-ca` (and `--tls-cert`/`--tls-key`) for `https://`.
    pub fn endpoint(&self) -> anyhow::Result<Endpoint> {
        self.tls.endpoint(&self.server)
    }
}

/// Arguments of `audit`.
#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: AuditCommand,
}

/// `audit` subcommands.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the chain from the checkpoint through its head: OK with the count of records, or
    /// the first broken link (its seq, the hash expected and the hash found).
    Verify {
        /// Folder of the store.
        #[arg(long)]
        data: PathBuf,
    },
}

/// Arguments of `receipt`.
#[derive(Debug, clap::Args)]
pub struct ReceiptArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: ReceiptCommand,
}

/// `receipt` subcommands.
#[derive(Debug, Subcommand)]
pub enum ReceiptCommand {
    /// Check one signed receipt (a `SubmitReply.signed_receipts` item saved to FILE).
    Verify {
        /// The signed receipt.
        file: PathBuf,
        /// The gateway's public key, hex (64 digits).
        #[arg(long, value_name = "HEX")]
        public_key: String,
        /// The file that was submitted (the CEB XML message as sent): the receipt must name
        /// its SHA-256 as the submission received (CEB XML only: a typed declaration's
        /// receipt names the gateway's re-encoding of it).
        #[arg(long, value_name = "SENT")]
        content: Option<PathBuf>,
    },
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
    /// PEM file of the CA that signs the gateway's certificate (needed for an https://
    /// --gateway).
    #[arg(long, value_name = "PEM")]
    pub gateway_tls_ca: Option<PathBuf>,
    /// PEM file of the certificate the simulator presents to the gateway, for mutual TLS
    /// (with --gateway-tls-key).
    #[arg(long, value_name = "PEM")]
    pub gateway_tls_cert: Option<PathBuf>,
    /// PEM file of the private key of --gateway-tls-cert.
    #[arg(long, value_name = "PEM")]
    pub gateway_tls_key: Option<PathBuf>,
    /// PEM file of the certificate to serve TLS with (with --tls-key); the simulator's URL
    /// is then https://. Plaintext when absent.
    #[arg(long, value_name = "PEM")]
    pub tls_cert: Option<PathBuf>,
    /// PEM file of the private key of --tls-cert.
    #[arg(long, value_name = "PEM")]
    pub tls_key: Option<PathBuf>,
    /// PEM file of the CA the gateway's client certificate must be signed by: mutual TLS,
    /// a gateway without such a certificate is refused at the handshake (with --tls-cert).
    #[arg(long, value_name = "PEM")]
    pub tls_client_ca: Option<PathBuf>,
}

/// Arguments of `dead-letters`.
#[derive(Debug, clap::Args)]
pub struct DeadLettersArgs {
    /// The gateway (--server) and the TLS to reach it with.
    #[command(flatten)]
    pub gateway: GatewayArgs,
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
    /// A running gateway (http:// or https://); an embedded one when absent.
    #[arg(long)]
    pub server: Option<String>,
    /// TLS to the gateway (for an https:// --server).
    #[command(flatten)]
    pub tls: ClientTls,
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
    /// Address to listen on (loopback only, unless TLS is configured) [config: server.listen].
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
#[derive(Debug, Clone, clap::Args)]
pub struct SubmitArgs {
    /// The gateway (--server) and the TLS to reach it with.
    #[command(flatten)]
    pub gateway: GatewayArgs,
    /// Sending enterprise; the message's BaseTransfer/copCode when absent.
    #[arg(long, default_value = "")]
    pub sender: String,
    /// Journal of the files the gateway answered (path, SHA-256, outcome; JSON lines,
    /// appended as each answer comes); a file whose path and content are in it is skipped,
    /// so a re-run resumes where the last one stopped and submits nothing twice.
    #[arg(
        long,
        value_name = "PATH",
        default_value = ".single-window-submit.journal"
    )]
    pub journal: PathBuf,
    /// Keep no journal: submit every file, record nothing.
    #[arg(long, conflicts_with = "journal")]
    pub no_journal: bool,
    /// No progress bar (it is shown on stderr only when stderr is a terminal).
    #[arg(long, short)]
    pub quiet: bool,
    /// CEB XML files, or folders searched for *.xml.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// Arguments of `status`.
#[derive(Debug, Clone, clap::Args)]
pub struct StatusArgs {
    /// The gateway (--server) and the TLS to reach it with.
    #[command(flatten)]
    pub gateway: GatewayArgs,
    /// The shipment as EBPCODE/ORDERNO (the platform's code, a slash, the order number).
    #[arg(
        value_name = "EBPCODE/ORDERNO",
        required_unless_present_all = ["ebp", "order_no"],
        conflicts_with_all = ["ebp", "order_no"]
    )]
    pub shipment: Option<String>,
    /// The platform's enterprise code (ebpCode), with --order-no instead of EBPCODE/ORDERNO.
    #[arg(long, value_name = "CODE", requires = "order_no")]
    pub ebp: Option<String>,
    /// The order number (orderNo), with --ebp.
    #[arg(long, value_name = "ORDERNO", requires = "ebp")]
    pub order_no: Option<String>,
    /// Print the shipment as one JSON object (the ShipmentView, proto field names).
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `watch`.
#[derive(Debug, Clone, clap::Args)]
pub struct WatchArgs {
    /// The gateway (--server) and the TLS to reach it with.
    #[command(flatten)]
    pub gateway: GatewayArgs,
    /// Start after this sequence number (the last one seen, to resume); 0 from the first
    /// event on file.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub after: u64,
    /// Only shipments this enterprise takes part in.
    #[arg(long, value_name = "CODE", default_value = "")]
    pub enterprise: String,
    /// One JSON object per event, one per line.
    #[arg(long)]
    pub json: bool,
    /// Stop after this many events.
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
}

/// Arguments of `check-config`.
#[derive(Debug, Clone, clap::Args)]
pub struct CheckConfigArgs {
    /// Config file (TOML, see config/default.toml); the defaults when absent. The
    /// SINGLE_WINDOW_<SECTION>_<KEY> variables apply on top, as for `serve`.
    #[arg(long, env = "SINGLE_WINDOW_CONFIG")]
    pub config: Option<PathBuf>,
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
