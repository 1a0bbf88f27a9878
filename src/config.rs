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
}

/// `[server]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Server {
    /// Address to listen on (plaintext, so loopback only).
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
        } = self;
        let window = &mut server.stream_window;
        let counts = [
            ("SINGLE_WINDOW_SERVER_STREAM_WINDOW", window),
            ("SINGLE_WINDOW_STORE_QUEUE", &mut store.queue),
            ("SINGLE_WINDOW_STORE_MAX_BATCH", &mut store.max_batch),
            ("SINGLE_WINDOW_STORE_CHUNK_BYTES", &mut store.chunk_bytes),
        ];
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
        for section in ["server", "rules", "store"] {
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
