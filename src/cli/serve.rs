//! `single-window serve`: load and check the rules, open the store, serve until Ctrl-C.

use std::sync::Arc;

use super::ServeArgs;
use crate::api::{self, State};
use crate::rules::Rules;
use crate::store::{Store, StoreConfig};

/// Runs the gateway until interrupted.
pub async fn run(args: &ServeArgs) -> anyhow::Result<()> {
    let rules = match &args.rules {
        Some(dir) => Rules::load_dir(dir)?,
        None => Rules::embedded()?,
    };
    if !args.listen.ip().is_loopback() {
        anyhow::bail!(
            "listen: {} is not a loopback address; plaintext is allowed on loopback only",
            args.listen
        );
    }
    std::fs::create_dir_all(&args.data)?;
    let store = Store::open(&args.data, StoreConfig::default())?;
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    eprintln!(
        "single-window: serving on {} (store in {})",
        listener.local_addr()?,
        args.data.display()
    );
    let state = Arc::new(State {
        max_message_bytes: rules.limits.max_message_bytes,
        rules,
        store: store.clone(),
    });
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    api::run(listener, state, shutdown).await?;
    store.close()?;
    Ok(())
}
