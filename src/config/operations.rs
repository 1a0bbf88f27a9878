//! `[admin]`, `[log]` and `[audit]`: the operators' HTTP port, the log level and format, how
//! long the audit log is kept and the key receipts are signed with.

use std::net::SocketAddr;
use std::num::NonZeroUsize;

use serde::{Deserialize, Serialize};

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
