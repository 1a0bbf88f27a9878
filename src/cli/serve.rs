//! `single-window serve`: load the config, start logging and metrics, load and check the
//! rules, open the store, serve (with the dispatcher, and the simulated agencies for those with
//! no endpoint) until SIGTERM or SIGINT (Ctrl-C), then shut down gracefully.
//!
//! Shutdown, each step logged: health turns NOT_SERVING and new calls are refused with
//! UNAVAILABLE at once; the calls and deliveries in flight finish; the dispatcher and the
//! simulated agencies stop; the store flushes and closes; the process exits 0. All of it
//! within [`SHUTDOWN_DEADLINE`], or the process exits 1 at the deadline. A second SIGTERM or
//! SIGINT during the shutdown exits at once, with the shell's code for that signal: 143 for
//! SIGTERM, 130 for SIGINT. (Every acknowledged declaration is already on disk: an early exit
//! loses no acknowledged work.)

use std::sync::Arc;
use std::time::Duration;

use super::ServeArgs;
use crate::api::State;
use crate::config::{Config, ConfigError};
use crate::node::Node;
use crate::rules::Rules;
use crate::store::Store;

/// How long a graceful shutdown may take, from the signal to the exit.
pub const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(10);

/// Runs the gateway until interrupted.
pub async fn run(args: &ServeArgs) -> anyhow::Result<()> {
    let config = config(args, |name| std::env::var(name).ok())?;
    crate::telemetry::log::init(&config.log)?;
    crate::telemetry::prometheus();
    // Listened to from the start: a signal during startup or a second one is never the
    // default action (an abrupt exit).
    let mut signals = Signals::new()?;
    let rules = match &config.rules.dir {
        Some(dir) => Rules::load_dir(dir)?,
        None => Rules::embedded()?,
    };
    let server = &config.server;
    // Checked before the store opens; the node checks it again on the bound listener.
    crate::api::Security::load(&config.tls)?.check_address("server.listen", server.listen)?;
    if !config.admin.listen.ip().is_loopback() {
        anyhow::bail!(
            "admin.listen: {} is not a loopback address; plaintext is allowed on loopback only",
            config.admin.listen
        );
    }
    std::fs::create_dir_all(&server.data)?;
    let store = Store::open(&server.data, config.store())?;
    let listener = tokio::net::TcpListener::bind(server.listen).await?;
    eprintln!(
        "single-window: serving on {} (store in {}, {})",
        listener.local_addr()?,
        server.data.display(),
        if config.tls.enabled() {
            "TLS"
        } else {
            "plaintext"
        },
    );
    let state = Arc::new(State {
        stream_window: config.server.stream_window.get(),
        blocking_above_bytes: config.server.blocking_above_bytes,
        audit: config.audit.clone(),
        limits: config.limits.clone(),
        tls: config.tls.clone(),
        ..State::new(Arc::new(rules), store.clone())
    });
    let mut node = Node::start(
        listener,
        state,
        &config.agencies,
        config.dispatch(),
        crate::node::embedded_sim(),
    )
    .await?;
    let admin = tokio::net::TcpListener::bind(config.admin.listen).await?;
    eprintln!(
        "single-window: admin on {} (metrics /metrics, dashboard /)",
        admin.local_addr()?
    );
    node.serve_admin(admin);
    for (agency, url) in &node.endpoints {
        let how = if config.agencies.endpoint(*agency).is_some() {
            "configured"
        } else {
            "simulated in process"
        };
        tracing::info!(agency = agency.name(), url, how, "agency endpoint");
    }
    let signal = tokio::select! {
        signal = signals.next() => signal,
        ended = node.wait() => {
            ended?;
            store.close()?;
            return Ok(());
        }
    };
    tracing::info!(
        signal = signal.name,
        deadline_s = SHUTDOWN_DEADLINE.as_secs(),
        "shutdown: begins (a second signal exits at once)"
    );
    tokio::spawn(async move {
        let again = signals.next().await;
        tracing::error!(
            signal = again.name,
            "shutdown: second signal, exiting at once"
        );
        std::process::exit(again.exit_code);
    });
    match tokio::time::timeout(SHUTDOWN_DEADLINE, shut_down(node, store)).await {
        Ok(done) => done?,
        Err(_) => {
            tracing::error!(
                deadline_s = SHUTDOWN_DEADLINE.as_secs(),
                "shutdown: deadline passed, exiting with work unfinished"
            );
            std::process::exit(1);
        }
    }
    tracing::info!("shutdown: done");
    Ok(())
}

/// Stops the node (drain, dispatcher, simulated agencies), then flushes and closes the store.
async fn shut_down(node: Node, store: Store) -> anyhow::Result<()> {
    node.stop().await?;
    tokio::task::spawn_blocking(move || store.close()).await??;
    tracing::info!("shutdown: store flushed and closed");
    Ok(())
}

/// A signal that stops the gateway.
#[derive(Debug, Clone, Copy)]
struct Signal {
    name: &'static str,
    /// What the process exits with when it ends at once on this signal (128 + its number).
    exit_code: i32,
}

const SIGTERM: Signal = Signal {
    name: "SIGTERM",
    exit_code: 143,
};
const SIGINT: Signal = Signal {
    name: "SIGINT",
    exit_code: 130,
};

/// SIGTERM and SIGINT, each as many times as they come.
struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> std::io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Signals {
                term: signal(SignalKind::terminate())?,
                int: signal(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    /// The next one.
    async fn next(&mut self) -> Signal {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.term.recv() => SIGTERM,
                _ = self.int.recv() => SIGINT,
            }
        }
        #[cfg(not(unix))]
        {
            let _ = SIGTERM;
            match tokio::signal::ctrl_c().await {
                Ok(()) => SIGINT,
                Err(_) => std::future::pending().await,
            }
        }
    }
}

/// The effective config of `serve`: defaults < `--config` file < environment (read through
/// `env`) < the flags `--listen`, `--data`, `--rules` and `--admin-listen`.
pub fn config(
    args: &ServeArgs,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let mut config = Config::load(args.config.as_deref(), env)?;
    if let Some(listen) = args.listen {
        config.server.listen = listen;
    }
    if let Some(data) = &args.data {
        config.server.data.clone_from(data);
    }
    if let Some(dir) = &args.rules {
        config.rules.dir = Some(dir.clone());
    }
    if let Some(admin) = args.admin_listen {
        config.admin.listen = admin;
    }
    Ok(config)
}
