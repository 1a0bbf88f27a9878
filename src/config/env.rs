//! The environment layer: every `SINGLE_WINDOW_<SECTION>_<KEY>` variable, listed by hand, set
//! over the defaults and the file; a value that does not parse is refused with the rule it
//! breaks ([`ConfigError::Env`]).

use std::path::PathBuf;

use super::{ClientAuth, Config, ConfigError, LogFormat};

impl Config {
    /// Sets each key whose variable `env` knows, or names the variable whose value breaks its rule.
    pub(super) fn apply_env(
        &mut self,
        env: &impl Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
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

pub(super) fn folder(value: &str) -> Option<PathBuf> {
    (!value.is_empty()).then(|| PathBuf::from(value))
}
