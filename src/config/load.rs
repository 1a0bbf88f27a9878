//! Loading: the defaults, then a TOML file (a key no field takes is named, dotted, in the
//! error), then the environment (`env`); and [`ConfigError`], why a configuration
//! cannot be loaded.

use std::path::{Path, PathBuf};

use super::{Config, Rules};

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

    fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Config::parse(&text, path)
    }
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
