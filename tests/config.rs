//! The gateway's config: `config/default.toml` is the default and documents every key; files
//! refuse unknown keys; environment variables override the file and flags override both.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Parser;
use single_window::cli::{self, Cli};
use single_window::config::{Config, ConfigError, DEFAULT_TOML};
use single_window::store::StoreConfig;

const DEFAULT_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/config/default.toml");

fn no_env(_: &str) -> Option<String> {
    None
}

/// An environment of the given variables only.
fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(var, value)| (var.to_string(), value.to_string()))
        .collect();
    move |name| {
        vars.iter()
            .find(|(var, _)| var == name)
            .map(|(_, value)| value.clone())
    }
}

fn file_with(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = dir.path().join("gateway.toml");
    std::fs::write(&path, text).expect("write the config file");
    (dir, path)
}

/// `(section, key)` for every field of `Config`, optional ones included.
fn every_key() -> Vec<(String, String)> {
    let mut all_set = Config::default();
    all_set.rules.dir = Some(PathBuf::from("config/rules"));
    let table = toml::Table::try_from(all_set).expect("a config is a TOML table");
    let mut keys = Vec::new();
    for (section, value) in table {
        let fields = value.as_table().expect("every top-level key is a section");
        keys.extend(fields.keys().map(|key| (section.clone(), key.clone())));
    }
    keys
}

fn serve_args(argv: &[&str]) -> cli::ServeArgs {
    let argv = ["single-window", "serve"].iter().chain(argv);
    match Cli::try_parse_from(argv).expect("serve arguments").command {
        cli::Command::Serve(args) => args,
        other => panic!("not serve: {other:?}"),
    }
}

#[test]
fn default_toml_is_the_default() {
    let from_file = Config::load(Some(Path::new(DEFAULT_PATH)), no_env).expect("default.toml");
    assert_eq!(from_file, Config::default());
    let embedded = Config::parse(DEFAULT_TOML, Path::new("default.toml")).expect("embedded");
    assert_eq!(embedded, Config::default());
    assert_eq!(
        Config::load(None, no_env).expect("no file"),
        Config::default()
    );
    assert_eq!(Config::default().store(), StoreConfig::default());
}

#[test]
fn every_key_is_documented_in_default_toml() {
    let text = std::fs::read_to_string(DEFAULT_PATH).expect("default.toml");
    for (section, key) in every_key() {
        let header = format!("[{section}]");
        let start = text
            .lines()
            .position(|line| line == header)
            .unwrap_or_else(|| panic!("no {header} in default.toml"));
        let body: Vec<&str> = text
            .lines()
            .skip(start + 1)
            .take_while(|line| !line.starts_with('['))
            .collect();
        let set = format!("{key} = ");
        let commented = format!("# {key} = ");
        let at = body
            .iter()
            .position(|line| line.starts_with(&set) || line.starts_with(&commented))
            .unwrap_or_else(|| panic!("{section}.{key} is not in default.toml"));
        let var = format!("SINGLE_WINDOW_{section}_{key}").to_uppercase();
        let comment = body[..at]
            .iter()
            .rev()
            .take_while(|line| line.starts_with('#'));
        assert!(
            comment.clone().count() > 0 && comment.clone().any(|line| line.contains(&var)),
            "{section}.{key} has no comment naming {var}"
        );
    }
}

#[test]
fn every_key_has_an_environment_variable() {
    let asked = RefCell::new(Vec::new());
    Config::load(None, |name| {
        asked.borrow_mut().push(name.to_string());
        None
    })
    .expect("defaults");
    let asked = asked.into_inner();
    for (section, key) in every_key() {
        let var = format!("SINGLE_WINDOW_{section}_{key}").to_uppercase();
        assert!(asked.contains(&var), "{var} is not read");
    }
}

#[test]
fn to_toml_round_trips() {
    let mut config = Config::default();
    config.rules.dir = Some(PathBuf::from("/etc/single-window/rules"));
    config.server.blocking_above_bytes = 0;
    for config in [Config::default(), config] {
        let text = config.to_toml();
        let back = Config::parse(&text, Path::new("effective.toml")).expect("effective config");
        assert_eq!(back, config, "{text}");
    }
}

#[test]
fn unknown_key_in_a_file_is_refused_naming_it() {
    let cases = [
        (
            "[server]\nlisen = \"127.0.0.1:1\"\n",
            "unknown key `server.lisen`",
        ),
        ("[stroe]\nqueue = 1\n", "unknown key `stroe`"),
        (
            "[rules]\ndirectory = \"x\"\n",
            "unknown key `rules.directory`",
        ),
    ];
    for (text, expected) in cases {
        let (_dir, path) = file_with(text);
        let error = Config::load(Some(&path), no_env).expect_err(text);
        assert!(matches!(error, ConfigError::UnknownKey { .. }), "{error:?}");
        let message = error.to_string();
        assert!(message.contains(expected), "{message}");
        assert!(message.contains("gateway.toml"), "{message}");
    }
}

#[test]
fn bad_file_values_are_refused_with_their_line() {
    let cases = [
        "[store]\nqueue = 0\n",
        "[server]\nstream_window = -1\n",
        "[server]\nlisten = \"localhost\"\n",
        "[store]\nmax_batch = \"512\"\n",
        "[server\n",
    ];
    for text in cases {
        let (_dir, path) = file_with(text);
        let error = Config::load(Some(&path), no_env).expect_err(text);
        assert!(matches!(error, ConfigError::Parse { .. }), "{error:?}");
        assert!(error.to_string().contains("line "), "{error}");
    }
}

#[test]
fn missing_file_is_an_error_naming_it() {
    let error = Config::load(Some(Path::new("/nonexistent/gateway.toml")), no_env)
        .expect_err("missing file");
    assert!(
        error.to_string().starts_with("/nonexistent/gateway.toml: "),
        "{error}"
    );
}

#[test]
fn env_overrides_a_file_value() {
    let (_dir, path) = file_with("[store]\nmax_batch = 8\nqueue = 100\n[rules]\ndir = \"r\"\n");
    let from_file = Config::load(Some(&path), no_env).expect("file");
    assert_eq!(
        (from_file.store().max_batch, from_file.store().queue),
        (8, 100)
    );
    let env = env_of(&[
        ("SINGLE_WINDOW_STORE_MAX_BATCH", "32"),
        ("SINGLE_WINDOW_SERVER_LISTEN", "127.0.0.1:6000"),
        ("SINGLE_WINDOW_RULES_DIR", ""),
    ]);
    let config = Config::load(Some(&path), env).expect("file and env");
    assert_eq!(config.store().max_batch, 32);
    assert_eq!(
        config.store().queue,
        100,
        "a key the env leaves alone keeps the file's value"
    );
    assert_eq!(config.server.listen.port(), 6000);
    assert_eq!(
        config.rules.dir, None,
        "an empty SINGLE_WINDOW_RULES_DIR means built-in"
    );
}

#[test]
fn bad_env_value_names_the_variable() {
    let cases = [
        (
            "SINGLE_WINDOW_STORE_MAX_BATCH",
            "x",
            "SINGLE_WINDOW_STORE_MAX_BATCH: expected a positive integer, got \"x\"",
        ),
        (
            "SINGLE_WINDOW_STORE_QUEUE",
            "0",
            "SINGLE_WINDOW_STORE_QUEUE: expected a positive integer, got \"0\"",
        ),
        (
            "SINGLE_WINDOW_SERVER_STREAM_WINDOW",
            "-3",
            "SINGLE_WINDOW_SERVER_STREAM_WINDOW: expected a positive integer, got \"-3\"",
        ),
        (
            "SINGLE_WINDOW_SERVER_LISTEN",
            "localhost",
            "SINGLE_WINDOW_SERVER_LISTEN: expected a socket address such as 127.0.0.1:50051, \
             got \"localhost\"",
        ),
        (
            "SINGLE_WINDOW_SERVER_DATA",
            "",
            "SINGLE_WINDOW_SERVER_DATA: expected a folder path, got \"\"",
        ),
        (
            "SINGLE_WINDOW_SERVER_BLOCKING_ABOVE_BYTES",
            "64k",
            "SINGLE_WINDOW_SERVER_BLOCKING_ABOVE_BYTES: expected a number of bytes, got \"64k\"",
        ),
    ];
    for (var, value, expected) in cases {
        let vars = [(var, value)];
        let error = Config::load(None, env_of(&vars)).expect_err(var);
        assert_eq!(error.to_string(), expected);
    }
}

#[test]
fn precedence_is_flag_then_env_then_file_then_default() {
    let (_dir, path) = file_with(
        "[server]\nlisten = \"127.0.0.1:7001\"\ndata = \"file-data\"\n\
         [rules]\ndir = \"file-rules\"\n[store]\nqueue = 7\n",
    );
    let path = path.to_str().expect("UTF-8 temporary path");
    let vars = [
        ("SINGLE_WINDOW_SERVER_LISTEN", "127.0.0.1:7002"),
        ("SINGLE_WINDOW_SERVER_DATA", "env-data"),
    ];

    // File over default.
    let config = cli::serve::config(&serve_args(&["--config", path]), no_env).expect("file");
    assert_eq!(config.server.listen.port(), 7001);
    assert_eq!(config.store().queue, 7);
    assert_eq!(config.store().max_batch, StoreConfig::default().max_batch);

    // Env over file.
    let config = cli::serve::config(&serve_args(&["--config", path]), env_of(&vars)).expect("env");
    assert_eq!(config.server.listen.port(), 7002);
    assert_eq!(config.server.data, Path::new("env-data"));
    assert_eq!(config.rules.dir.as_deref(), Some(Path::new("file-rules")));

    // Flags over env.
    let flags = serve_args(&[
        "--config",
        path,
        "--listen",
        "127.0.0.1:7003",
        "--rules",
        "flag-rules",
    ]);
    let config = cli::serve::config(&flags, env_of(&vars)).expect("flags");
    assert_eq!(config.server.listen.port(), 7003);
    assert_eq!(
        config.server.data,
        Path::new("env-data"),
        "no --data: env still wins"
    );
    assert_eq!(config.rules.dir.as_deref(), Some(Path::new("flag-rules")));
    assert_eq!(config.store().queue, 7);

    // No file, no env: the defaults.
    let config = cli::serve::config(&serve_args(&["--data", "d"]), no_env).expect("defaults");
    assert_eq!(config.server.listen, Config::default().server.listen);
    assert_eq!(config.server.data, Path::new("d"));
}

#[test]
fn serve_refuses_a_config_file_with_an_unknown_key() {
    let (dir, path) = file_with("[server]\nlisen = \"127.0.0.1:0\"\n");
    let output = Command::new(env!("CARGO_BIN_EXE_single-window"))
        .args(["serve", "--config"])
        .arg(&path)
        .args(["--listen", "127.0.0.1:0", "--data"])
        .arg(dir.path().join("data"))
        .env_remove("SINGLE_WINDOW_CONFIG")
        .output()
        .expect("run single-window");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("unknown key `server.lisen`"), "{stderr}");
    assert!(
        !dir.path().join("data").exists(),
        "refused before opening the store"
    );
}
