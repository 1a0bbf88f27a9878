//! The gateway's configuration: plain data, checked before anything binds (pure: no I/O but
//! reading the one file it is given).
//!
//! Layers, later ones winning: the defaults (the same as `config/default.toml`, which documents
//! every key), the config file, then environment variables `SINGLE_WINDOW_<SECTION>_<KEY>`.
//! The command line (`serve --listen …`) goes on top of that. Every section refuses unknown
//! keys, and counts that must not be zero are `NonZeroUsize`, so a loaded `Config` is valid.

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::store::StoreConfig;

/// The text of `config/default.toml`: every key with its default, unit and variable.
pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");

/// The whole configuration. `Config::default()` is what `config/default.toml` says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `[server]`: where to listen, where the store lives, flow control.
    pub server: Server,
    /// `[rules]`: which copy of the rule files.
    pub rules: Rules,
    /// `[store]`: the store's queue, group commit and chunking.
    pub store: Store,
    /// `[dispatch]`: deliveries to the agencies: concurrency, deadline, retries, breaker.
    pub dispatch: Dispatch,
    /// `[agencies]`: where each agency's endpoint is (empty: simulated inside the gateway).
    pub agencies: Agencies,
    /// `[admin]`: the operators' HTTP port (metrics, dashboard).
    pub admin: Admin,
    /// `[log]`: log level and format.
    pub log: Log,
    /// `[limits]`: what one connection and one enterprise may ask, and how long a call may
    /// take.
    pub limits: Limits,
    /// `[audit]`: how long the audit log is kept, and the key receipts are signed with.
    pub audit: Audit,
    /// `[tls]`: the server's certificate, mutual TLS and the register of client identities.
    pub tls: Tls,
}

/// `[tls]`. With no certificate the server speaks plaintext, which it does on a loopback
/// address only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Tls {
    /// PEM file of the server's certificate chain; empty: plaintext (loopback only).
    pub cert: String,
    /// PEM file of the server's private key.
    pub key: String,
    /// PEM file of the CA(s) that sign the clients' certificates (mutual TLS); empty: no
    /// client certificate is asked for, and every caller is anonymous.
    pub client_ca: String,
    /// `required` (the handshake fails without a client certificate) or `optional` (a caller
    /// without one is anonymous: health checks only).
    pub client_auth: ClientAuth,
    /// TOML file of the register of identities: which certificate (by SHA-256 fingerprint or
    /// subject) is which enterprise, agency or operator, and which are revoked. Re-read when
    /// it changes.
    pub register: String,
}

impl Tls {
    /// Whether the server speaks TLS.
    pub fn enabled(&self) -> bool {
        !self.cert.is_empty()
    }
}

/// Whether a client certificate is required.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientAuth {
    /// The handshake fails without one.
    #[default]
    Required,
    /// A caller without one is anonymous.
    Optional,
}

/// `[limits]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Calls one connection may have in flight; more are refused at once with
    /// RESOURCE_EXHAUSTED (load shedding, not a queue).
    pub max_concurrent_per_connection: NonZeroUsize,
    /// Calls in flight on the whole server before new ones are shed.
    pub max_concurrent: NonZeroUsize,
    /// Submissions per second one enterprise may make (token bucket).
    pub rate_per_enterprise: NonZeroUsize,
    /// Submissions one enterprise may make at once above its rate (the bucket's size).
    pub burst_per_enterprise: NonZeroUsize,
    /// Deadline of a unary call, ms (a client's shorter grpc-timeout wins).
    pub request_timeout_ms: NonZeroUsize,
    /// HTTP/2 streams one connection may open at once.
    pub h2_max_concurrent_streams: NonZeroUsize,
    /// Largest HTTP/2 header list, bytes.
    pub h2_max_header_list_bytes: NonZeroUsize,
}

impl Default for Limits {
    fn default() -> Self {
        let n = |v: usize| NonZeroUsize::new(v).unwrap_or(NonZeroUsize::MIN);
        Limits {
            max_concurrent_per_connection: n(256),
            max_concurrent: n(2048),
            rate_per_enterprise: n(2000),
            burst_per_enterprise: n(4000),
            request_timeout_ms: n(30_000),
            h2_max_concurrent_streams: n(256),
            h2_max_header_list_bytes: n(16 * 1024),
        }
    }
}

/// `[audit]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Audit {
    /// Days an audit entry is kept before the purge job removes it (the policy papers ask for
    /// six months).
    pub retention_days: NonZeroUsize,
    /// How often the purge job runs, seconds.
    pub purge_every_s: NonZeroUsize,
    /// File of the gateway's signing key (created in the store's folder when empty).
    pub signing_key: String,
}

impl Default for Audit {
    fn default() -> Self {
        let n = |v: usize| NonZeroUsize::new(v).unwrap_or(NonZeroUsize::MIN);
        Audit {
            retention_days: n(180),
            purge_every_s: n(3600),
            signing_key: String::new(),
        }
    }
}

/// `[admin]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Admin {
    /// Address of the HTTP server with `/metrics` (Prometheus) and `/` (the live dashboard);
    /// loopback only while there is no TLS.
    pub listen: SocketAddr,
}

impl Default for Admin {
    fn default() -> Self {
        Admin {
            listen: SocketAddr::from(([127, 0, 0, 1], 9090)),
        }
    }
}

/// `[log]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Log {
    /// A `tracing` filter: a level (`error`, `warn`, `info`, `debug`, `trace`) or directives
    /// such as `info,single_window::dispatch=debug`.
    pub level: String,
    /// `text` (for people) or `json` (one object per line).
    pub format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// For people.
    Text,
    /// One JSON object per line.
    Json,
}

impl Default for Log {
    fn default() -> Self {
        Log {
            level: "info".to_owned(),
            format: LogFormat::Text,
        }
    }
}

/// `[dispatch]`: see [`crate::dispatch::DispatchConfig`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Dispatch {
    /// Deliveries in flight per agency.
    pub max_in_flight: NonZeroUsize,
    /// Deadline of one delivery, ms.
    pub timeout_ms: NonZeroUsize,
    /// Delay after the first failure, ms (doubles per failure, with jitter).
    pub backoff_base_ms: NonZeroUsize,
    /// Largest delay between attempts, ms.
    pub backoff_cap_ms: NonZeroUsize,
    /// Attempts before a message goes to the dead letters.
    pub max_attempts: NonZeroUsize,
    /// Failures in a row that open an agency's circuit.
    pub breaker_failures: NonZeroUsize,
    /// How long an open circuit waits before one probe, ms.
    pub breaker_open_ms: NonZeroUsize,
}

/// `[agencies]`: each agency's gRPC endpoint URL; "" runs that agency's simulator inside the
/// gateway.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Agencies {
    /// Customs.
    pub customs: String,
    /// Inspection and quarantine.
    pub inspection: String,
    /// FX.
    pub fx: String,
    /// Tax.
    pub tax: String,
    /// PEM file of the CA of the agencies' certificates (for https:// endpoints).
    pub ca: String,
    /// PEM file of the certificate the gateway presents to the agencies (mutual TLS).
    pub cert: String,
    /// PEM file of that certificate's private key.
    pub key: String,
}

impl Agencies {
    /// The configured endpoint of `agency` (None: simulate it in process).
    pub fn endpoint(&self, agency: crate::domain::Agency) -> Option<&str> {
        use crate::domain::Agency;
        let url = match agency {
            Agency::Customs => &self.customs,
            Agency::Inspection => &self.inspection,
            Agency::Fx => &self.fx,
            Agency::Tax => &self.tax,
        };
        (!url.is_empty()).then_some(url.as_str())
    }

    /// What the gateway presents when it connects to an agency.
    pub fn client_tls(&self) -> crate::client::ClientTls {
        crate::client::ClientTls {
            ca: folder(&self.ca),
            cert: folder(&self.cert),
            key: folder(&self.key),
        }
    }
}

/// `[server]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Server {
    /// Address to listen on (loopback only, unless `[tls]` is set).
    pub listen: SocketAddr,
    /// Folder of the store.
    pub data: PathBuf,
    /// Replies a `SubmitStream` keeps ready before it stops reading requests.
    pub stream_window: NonZeroUsize,
    /// Messages larger than this many bytes are decoded off the async threads.
    pub blocking_above_bytes: usize,
}

/// `[rules]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Rules {
    /// Folder of rule files (like `config/rules/`); the built-in copy when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
}

/// `[store]`: see [`StoreConfig`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Store {
    /// Commits waiting for the writer before `commit` waits (backpressure).
    pub queue: NonZeroUsize,
    /// Most events applied before one fsync.
    pub max_batch: NonZeroUsize,
    /// Size of a payload chunk, bytes.
    pub chunk_bytes: NonZeroUsize,
}

/// Why a configuration cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The file has a key (or section) that no field takes.
    #[error("{path}: unknown key `{key}`")]
    UnknownKey {
        /// The file.
        path: PathBuf,
        /// The key, dotted: `server.lisen`.
        key: String,
        /// toml's report: the line and the keys it expected.
        #[source]
        detail: Box<toml::de::Error>,
    },
    /// The file is not TOML, or a value does not fit its key.
    #[error("{path}: {error}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// toml's report, with line, column and rule.
        error: Box<toml::de::Error>,
    },
    /// An environment variable does not parse as its key's type.
    #[error("{var}: expected {expected}, got {value:?}")]
    Env {
        /// The variable.
        var: &'static str,
        /// The rule its value breaks.
        expected: &'static str,
        /// The value.
        value: String,
    },
}

impl Config {
    /// Defaults, then the file at `path` if any, then the `SINGLE_WINDOW_<SECTION>_<KEY>`
    /// variables that `env` knows (pass `|name| std::env::var(name).ok()` in production).
    pub fn load(
        path: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let mut config = match path {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        config.apply_env(&env)?;
        Ok(config)
    }

    /// Parses TOML text; `path` only names it in errors. Absent keys take their defaults.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|error| match unknown_key(text) {
            Some(key) => ConfigError::UnknownKey {
                path: path.to_owned(),
                key,
                detail: Box::new(error),
            },
            None => ConfigError::Parse {
                path: path.to_owned(),
                error: Box::new(error),
            },
        })
    }

    /// The store's knobs.
    pub fn store(&self) -> StoreConfig {
        StoreConfig {
            queue: self.store.queue.get(),
            max_batch: self.store.max_batch.get(),
            chunk_bytes: self.store.chunk_bytes.get(),
        }
    }

    /// The dispatcher's knobs.
    pub fn dispatch(&self) -> crate::dispatch::DispatchConfig {
        use std::time::Duration;
        let d = &self.dispatch;
        let ms = |n: NonZeroUsize| Duration::from_millis(n.get() as u64);
        crate::dispatch::DispatchConfig {
            max_in_flight: d.max_in_flight.get(),
            timeout: ms(d.timeout_ms),
            backoff: crate::dispatch::Backoff {
                base: ms(d.backoff_base_ms),
                cap: ms(d.backoff_cap_ms),
            },
            max_attempts: u32::try_from(d.max_attempts.get()).unwrap_or(u32::MAX),
            breaker_failures: u32::try_from(d.breaker_failures.get()).unwrap_or(u32::MAX),
            breaker_open: ms(d.breaker_open_ms),
        }
    }

    /// The effective configuration as TOML (an absent `rules.dir` is left out).
    pub fn to_toml(&self) -> String {
        toml::to_string(self)
            .unwrap_or_else(|error| format!("# the config cannot be shown as TOML: {error}\n"))
    }

    fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Config::parse(&text, path)
    }

    fn apply_env(&mut self, env: &impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        let Config {
            server,
            rules,
            store,
            dispatch: d,
            agencies,
            admin,
            log,
            limits,
            audit,
            tls,
        } = self;
        let window = &mut server.stream_window;
        let counts = [
            ("SINGLE_WINDOW_SERVER_STREAM_WINDOW", window),
            ("SINGLE_WINDOW_STORE_QUEUE", &mut store.queue),
            ("SINGLE_WINDOW_STORE_MAX_BATCH", &mut store.max_batch),
            ("SINGLE_WINDOW_STORE_CHUNK_BYTES", &mut store.chunk_bytes),
            ("SINGLE_WINDOW_DISPATCH_MAX_IN_FLIGHT", &mut d.max_in_flight),
            ("SINGLE_WINDOW_DISPATCH_TIMEOUT_MS", &mut d.timeout_ms),
            (
                "SINGLE_WINDOW_DISPATCH_BACKOFF_BASE_MS",
                &mut d.backoff_base_ms,
            ),
            (
                "SINGLE_WINDOW_DISPATCH_BACKOFF_CAP_MS",
                &mut d.backoff_cap_ms,
            ),
            ("SINGLE_WINDOW_DISPATCH_MAX_ATTEMPTS", &mut d.max_attempts),
            (
                "SINGLE_WINDOW_DISPATCH_BREAKER_FAILURES",
                &mut d.breaker_failures,
            ),
            (
                "SINGLE_WINDOW_DISPATCH_BREAKER_OPEN_MS",
                &mut d.breaker_open_ms,
            ),
            (
                "SINGLE_WINDOW_LIMITS_MAX_CONCURRENT_PER_CONNECTION",
                &mut limits.max_concurrent_per_connection,
            ),
            (
                "SINGLE_WINDOW_LIMITS_MAX_CONCURRENT",
                &mut limits.max_concurrent,
            ),
            (
                "SINGLE_WINDOW_LIMITS_RATE_PER_ENTERPRISE",
                &mut limits.rate_per_enterprise,
            ),
            (
                "SINGLE_WINDOW_LIMITS_BURST_PER_ENTERPRISE",
                &mut limits.burst_per_enterprise,
            ),
            (
                "SINGLE_WINDOW_LIMITS_REQUEST_TIMEOUT_MS",
                &mut limits.request_timeout_ms,
            ),
            (
                "SINGLE_WINDOW_LIMITS_H2_MAX_CONCURRENT_STREAMS",
                &mut limits.h2_max_concurrent_streams,
            ),
            (
                "SINGLE_WINDOW_LIMITS_H2_MAX_HEADER_LIST_BYTES",
                &mut limits.h2_max_header_list_bytes,
            ),
            (
                "SINGLE_WINDOW_AUDIT_RETENTION_DAYS",
                &mut audit.retention_days,
            ),
            (
                "SINGLE_WINDOW_AUDIT_PURGE_EVERY_S",
                &mut audit.purge_every_s,
            ),
        ];
        let urls = [
            ("SINGLE_WINDOW_AGENCIES_CUSTOMS", &mut agencies.customs),
            (
                "SINGLE_WINDOW_AGENCIES_INSPECTION",
                &mut agencies.inspection,
            ),
            ("SINGLE_WINDOW_AGENCIES_FX", &mut agencies.fx),
            ("SINGLE_WINDOW_AGENCIES_TAX", &mut agencies.tax),
        ];
        for (var, url) in urls {
            set(env, var, URL, |v| Some(v.to_owned()), url)?;
        }
        let files = [
            ("SINGLE_WINDOW_AGENCIES_CA", &mut agencies.ca),
            ("SINGLE_WINDOW_AGENCIES_CERT", &mut agencies.cert),
            ("SINGLE_WINDOW_AGENCIES_KEY", &mut agencies.key),
            ("SINGLE_WINDOW_TLS_CERT", &mut tls.cert),
            ("SINGLE_WINDOW_TLS_KEY", &mut tls.key),
            ("SINGLE_WINDOW_TLS_CLIENT_CA", &mut tls.client_ca),
            ("SINGLE_WINDOW_TLS_REGISTER", &mut tls.register),
        ];
        for (var, file) in files {
            set(env, var, FILE, |v| Some(v.to_owned()), file)?;
        }
        let client_auth = |v: &str| match v {
            "required" => Some(ClientAuth::Required),
            "optional" => Some(ClientAuth::Optional),
            _ => None,
        };
        set(
            env,
            "SINGLE_WINDOW_TLS_CLIENT_AUTH",
            "required or optional",
            client_auth,
            &mut tls.client_auth,
        )?;
        set(
            env,
            "SINGLE_WINDOW_ADMIN_LISTEN",
            ADDRESS,
            parse,
            &mut admin.listen,
        )?;
        let key = &mut audit.signing_key;
        set(
            env,
            "SINGLE_WINDOW_AUDIT_SIGNING_KEY",
            FILE,
            |v| Some(v.to_owned()),
            key,
        )?;
        let level = &mut log.level;
        set(
            env,
            "SINGLE_WINDOW_LOG_LEVEL",
            LEVEL,
            |v| Some(v.to_owned()),
            level,
        )?;
        let format = |v: &str| match v {
            "text" => Some(LogFormat::Text),
            "json" => Some(LogFormat::Json),
            _ => None,
        };
        set(
            env,
            "SINGLE_WINDOW_LOG_FORMAT",
            FORMAT,
            format,
            &mut log.format,
        )?;
        for (var, count) in counts {
            set(env, var, POSITIVE, parse, count)?;
        }
        let listen = &mut server.listen;
        set(env, "SINGLE_WINDOW_SERVER_LISTEN", ADDRESS, parse, listen)?;
        let data = &mut server.data;
        set(env, "SINGLE_WINDOW_SERVER_DATA", FOLDER, folder, data)?;
        let var = "SINGLE_WINDOW_SERVER_BLOCKING_ABOVE_BYTES";
        set(env, var, BYTES, parse, &mut server.blocking_above_bytes)?;
        // Empty means the built-in copy, so that a variable can undo a file's `dir`.
        let built_in_or = |value: &str| Some(folder(value));
        let dir = &mut rules.dir;
        set(env, "SINGLE_WINDOW_RULES_DIR", FOLDER, built_in_or, dir)?;
        Ok(())
    }
}

// What an environment variable's value must be, for its error.
const ADDRESS: &str = "a socket address such as 127.0.0.1:50051";
const BYTES: &str = "a number of bytes";
const FOLDER: &str = "a folder path";
const POSITIVE: &str = "a positive integer";
const URL: &str = "a URL such as http://127.0.0.1:50061";
const LEVEL: &str = "a tracing filter such as info or info,single_window::dispatch=debug";
const FORMAT: &str = "text or json";
const FILE: &str = "a file path";

// Checked at compile time.
const STREAM_WINDOW: NonZeroUsize = NonZeroUsize::new(16).unwrap();
const QUEUE: NonZeroUsize = NonZeroUsize::new(4096).unwrap();
const MAX_BATCH: NonZeroUsize = NonZeroUsize::new(512).unwrap();
const CHUNK_BYTES: NonZeroUsize = NonZeroUsize::new(16 * 1024).unwrap();

impl Default for Server {
    fn default() -> Self {
        Server {
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            data: PathBuf::from("data"),
            stream_window: STREAM_WINDOW,
            blocking_above_bytes: 64 * 1024,
        }
    }
}

impl Default for Dispatch {
    fn default() -> Self {
        let n = |v: usize| NonZeroUsize::new(v).unwrap_or(NonZeroUsize::MIN);
        Dispatch {
            max_in_flight: n(64),
            timeout_ms: n(5000),
            backoff_base_ms: n(100),
            backoff_cap_ms: n(30_000),
            max_attempts: n(20),
            breaker_failures: n(5),
            breaker_open_ms: n(2000),
        }
    }
}

impl Default for Store {
    fn default() -> Self {
        Store {
            queue: QUEUE,
            max_batch: MAX_BATCH,
            chunk_bytes: CHUNK_BYTES,
        }
    }
}

/// Sets `slot` from variable `var` when it is set, or says which rule its value breaks.
fn set<T>(
    env: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    expected: &'static str,
    parse: impl Fn(&str) -> Option<T>,
    slot: &mut T,
) -> Result<(), ConfigError> {
    let Some(value) = env(var) else {
        return Ok(());
    };
    *slot = parse(&value).ok_or(ConfigError::Env {
        var,
        expected,
        value,
    })?;
    Ok(())
}

fn parse<T: std::str::FromStr>(value: &str) -> Option<T> {
    value.parse().ok()
}

fn folder(value: &str) -> Option<PathBuf> {
    (!value.is_empty()).then(|| PathBuf::from(value))
}

/// The first key of `text` that no field takes, dotted (`server.lisen`, or `serer` for a
/// section); `None` when there is none or the text is not TOML.
fn unknown_key(text: &str) -> Option<String> {
    let table: toml::Table = toml::from_str(text).ok()?;
    let known = every_key();
    for (section, value) in &table {
        let Some(known_keys) = known.get(section).and_then(toml::Value::as_table) else {
            return Some(section.clone());
        };
        let Some(keys) = value.as_table() else {
            continue;
        };
        if let Some(key) = keys.keys().find(|key| !known_keys.contains_key(*key)) {
            return Some(format!("{section}.{key}"));
        }
    }
    None
}

/// Every section and key of [`Config`], optional ones included, as a TOML table.
fn every_key() -> toml::Table {
    let all_set = Config {
        rules: Rules {
            dir: Some(PathBuf::from("config/rules")),
        },
        ..Config::default()
    };
    toml::Table::try_from(all_set).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_named_with_their_section() {
        let cases = [
            ("[server]\nlisen = \"127.0.0.1:1\"\n", Some("server.lisen")),
            ("[serer]\n", Some("serer")),
            ("top = 1\n", Some("top")),
            ("[store]\nqueue = 1\n", None),
            ("[store\n", None),
        ];
        for (text, key) in cases {
            assert_eq!(unknown_key(text).as_deref(), key, "{text}");
        }
    }

    #[test]
    fn every_key_has_every_section() {
        let keys = every_key();
        for section in [
            "server", "rules", "store", "dispatch", "agencies", "admin", "log", "limits", "audit",
            "tls",
        ] {
            assert!(
                keys.get(section).is_some_and(toml::Value::is_table),
                "{section}"
            );
        }
        assert!(keys["rules"]
            .as_table()
            .is_some_and(|t| t.contains_key("dir")));
    }
}
