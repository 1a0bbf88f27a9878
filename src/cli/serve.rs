//! `single-window serve`: load the config, load and check the rules, open the store, serve
//! (with the dispatcher, and the simulated agencies for those with no endpoint) until Ctrl-C.

use std::sync::Arc;

use super::ServeArgs;
use crate::api::State;
use crate::config::{Config, ConfigError};
use crate::node::Node;
use crate::rules::Rules;
use crate::store::Store;

/// Runs the gateway until interrupted.
pub async fn run(args: &ServeArgs) -> anyhow::Result<()> {
    let config = config(args, |name| std::env::var(name).ok())?;
    let rules = match &config.rules.dir {
        Some(dir) => Rules::load_dir(dir)?,
        None => Rules::embedded()?,
    };
    let server = &config.server;
    if !server.listen.ip().is_loopback() {
        anyhow::bail!(
            "listen: {} is not a loopback address; plaintext is allowed on loopback only",
            server.listen
        );
    }
    std::fs::create_dir_all(&server.data)?;
    let store = Store::open(&server.data, config.store())?;
    let listener = tokio::net::TcpListener::bind(server.listen).await?;
    eprintln!(
        "single-window: serving on {} (store in {})",
        listener.local_addr()?,
        server.data.display()
    );
    let state = Arc::new(State {
        stream_window: config.server.stream_window.get(),
        blocking_above_bytes: config.server.blocking_above_bytes,
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
    for (agency, url) in &node.endpoints {
        let how = if config.agencies.endpoint(*agency).is_some() {
            "configured"
        } else {
            "simulated in process"
        };
        eprintln!("single-window: {} at {url} ({how})", agency.name());
    }
    let interrupted = tokio::select! {
        _ = tokio::signal::ctrl_c() => true,
        ended = node.wait() => {
            ended?;
            false
        }
    };
    if interrupted {
        node.stop().await?;
    }
    store.close()?;
    Ok(())
}

/// The effective config of `serve`: defaults < `--config` file < environment (read through
/// `env`) < the flags `--listen`, `--data` and `--rules`.
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
