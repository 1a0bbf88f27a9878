//! `single-window agency-sim`: resolve the settings (defaults < `--config` file < flags), bind,
//! print the listening line, serve the simulated agencies until SIGINT or SIGTERM.

use super::AgencySimArgs;
use crate::sim::settings::{OneOrMany, Resolved, Settings};
use crate::sim::{self, ConfigError};

/// Runs the simulator until interrupted; the exit code.
pub async fn run(args: &AgencySimArgs) -> anyhow::Result<i32> {
    let Resolved { listen, config } = resolve(args)?;
    // The TLS files are read before anything binds: a missing one names its flag.
    sim::check(&config)?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|err| anyhow::anyhow!("--listen: cannot bind {listen}: {err}"))?;
    let names: Vec<&str> = config.agencies.iter().map(|a| a.name()).collect();
    let addr = listener.local_addr()?;
    // With TLS the line names the https:// URL too (after the address, which stays first).
    let tls = match (&config.tls_cert, &config.tls_client_ca) {
        (None, _) => String::new(),
        (Some(_), None) => format!("https://{addr}, TLS, "),
        (Some(_), Some(_)) => format!("https://{addr}, mutual TLS, "),
    };
    eprintln!(
        "single-window agency-sim: serving {} on {addr} ({tls}gateway {})",
        names.join(","),
        config.gateway.as_deref().unwrap_or("not set")
    );
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let shutdown = async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
    };
    sim::serve(config, listener, shutdown).await?;
    Ok(0)
}

/// The effective settings of `agency-sim`: the defaults, then the `[agency_sim]` section of
/// `--config`, then the flags given.
pub fn resolve(args: &AgencySimArgs) -> Result<Resolved, ConfigError> {
    let file = match &args.config {
        Some(path) => Settings::load(path)?,
        None => Settings::default(),
    };
    file.overlay(flags(args)).resolve()
}

/// The flags given, as settings.
fn flags(args: &AgencySimArgs) -> Settings {
    let many = |items: &[String]| (!items.is_empty()).then(|| OneOrMany::Many(items.to_vec()));
    Settings {
        listen: args.listen,
        agency: many(&args.agency),
        gateway: args.gateway.clone(),
        seed: args.seed,
        latency: args.latency.clone(),
        unavailable: args.unavailable,
        timeout: args.timeout,
        refuse: args.refuse,
        release: args.release,
        inspect: args.inspect,
        detain: args.detain,
        reject: args.reject,
        hold_ms: args.hold_ms,
        credit_factor: args.credit_factor.clone(),
        rule: many(&args.rule),
        ledger: args.ledger.clone(),
        report_in_flight: args.report_in_flight,
        queue: args.queue,
        gateway_tls_ca: args.gateway_tls_ca.clone(),
        gateway_tls_cert: args.gateway_tls_cert.clone(),
        gateway_tls_key: args.gateway_tls_key.clone(),
        tls_cert: args.tls_cert.clone(),
        tls_key: args.tls_key.clone(),
        tls_client_ca: args.tls_client_ca.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Agency;

    #[test]
    fn flags_win_over_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sim.toml");
        std::fs::write(
            &path,
            "[agency_sim]\nseed = 3\nagency = \"tax\"\nhold_ms = 7\n",
        )
        .unwrap();
        let args = AgencySimArgs {
            config: Some(path),
            seed: Some(5),
            ..AgencySimArgs::default()
        };
        let Resolved { config, .. } = resolve(&args).unwrap();
        assert_eq!(config.seed, 5);
        assert_eq!(config.hold_ms, 7);
        assert_eq!(config.agencies, [Agency::Tax]);
    }
}
