//! One gateway process: the gRPC server, the dispatcher that delivers the outbox to the
//! agencies, and, for each agency with no endpoint configured, the agency simulator inside
//! the process (the embedded default). The simulated agencies are reached over loopback gRPC
//! and report their receipts to the gateway's own port, like real ones.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use crate::api::{self, State};
use crate::config::Agencies;
use crate::dispatch::{DispatchConfig, Dispatcher};
use crate::domain::Agency;
use crate::sim::{self, SimConfig};

/// A running gateway.
pub struct Node {
    /// Where it serves: `http://IP:PORT`.
    pub url: String,
    /// Its handlers' state (store, rules, counters).
    pub state: Arc<State>,
    /// The dispatcher.
    pub dispatcher: Dispatcher,
    /// Where each agency is reached.
    pub endpoints: BTreeMap<Agency, String>,
    sims: Option<sim::Embedded>,
    closing: watch::Sender<bool>,
    stop: Option<oneshot::Sender<()>>,
    server: JoinHandle<Result<(), tonic::transport::Error>>,
}

impl Node {
    /// Serves on `listener`, delivering to `agencies` (the simulator for those left empty).
    pub async fn start(
        listener: TcpListener,
        state: Arc<State>,
        agencies: &Agencies,
        dispatch: DispatchConfig,
    ) -> anyhow::Result<Node> {
        let url = format!("http://{}", listener.local_addr()?);
        let simulated: Vec<Agency> = Agency::ALL
            .into_iter()
            .filter(|a| agencies.endpoint(*a).is_none())
            .collect();
        let sims = if simulated.is_empty() {
            None
        } else {
            Some(
                sim::spawn(SimConfig {
                    agencies: simulated,
                    gateway: Some(url.clone()),
                    ..SimConfig::default()
                })
                .await?,
            )
        };
        let endpoints: BTreeMap<Agency, String> = Agency::ALL
            .into_iter()
            .filter_map(|a| {
                let url = agencies
                    .endpoint(a)
                    .map(str::to_owned)
                    .or_else(|| sims.as_ref().map(|s| s.url.clone()))?;
                Some((a, url))
            })
            .collect();
        let (closing, closed) = watch::channel(false);
        let dispatcher = Dispatcher::start(&state.store, &endpoints, dispatch, closed)?;
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(api::run(listener, state.clone(), async move {
            let _ = stopped.await;
        }));
        Ok(Node {
            url,
            state,
            dispatcher,
            endpoints,
            sims,
            closing,
            stop: Some(stop),
            server,
        })
    }

    /// Stops: the dispatcher, then the server (calls in flight finish), then the simulated
    /// agencies.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let _ = self.closing.send(true);
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.server).await??;
        if let Some(sims) = self.sims.take() {
            sims.stop().await?;
        }
        Ok(())
    }

    /// Waits until the server ends by itself (it does not, unless it fails).
    pub async fn wait(&mut self) -> anyhow::Result<()> {
        (&mut self.server).await??;
        Ok(())
    }
}
