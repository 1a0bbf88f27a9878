//! The gateway's configuration: plain data, checked before anything binds (pure: no I/O but
//! reading the one file it is given).
//!
//! Layers, later ones winning: the defaults (the same as `config/default.toml`, which documents
//! every key), the config file, then environment variables `SINGLE_WINDOW_<SECTION>_<KEY>`.
//! The command line (`serve --listen …`) goes on top of that. Every section refuses unknown
//! keys, and counts that must not be zero are `NonZeroUsize`, so a loaded `Config` is valid.
//!
//! Map of `config/`:
//! - `serving`: `[server]`, `[rules]`, `[store]` and `[limits]`: where the gateway listens, its
//!   rules and store, what callers may ask;
//! - `agencies`: `[dispatch]` and `[agencies]`: deliveries to the agencies and where they are;
//! - `tls`: `[tls]`: the server's certificate, mutual TLS, the register of identities;
//! - `operations`: `[admin]`, `[log]` and `[audit]`: the operators' port, logs, the audit log;
//! - `load`: defaults, then a file (unknown keys named), then the environment; [`ConfigError`];
//! - `env`: the `SINGLE_WINDOW_<SECTION>_<KEY>` overrides, listed by hand.

mod agencies;
mod env;
mod load;
mod operations;
mod serving;
mod tls;

use std::num::NonZeroUsize;

use serde::{Deserialize, Serialize};

use crate::store::StoreConfig;
pub use agencies::{Agencies, Dispatch};
pub use load::ConfigError;
pub use operations::{Admin, Audit, Log, LogFormat};
pub use serving::{Limits, Rules, Server, Store};
pub use tls::{ClientAuth, Tls};

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

impl Config {
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
}
