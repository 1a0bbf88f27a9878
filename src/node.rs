//! One gateway process: the gRPC server, the dispatcher that delivers the outbox to the
//! agencies, and, for each agency with no endpoint configured, the agency simulator inside
//! the process (the embedded default). The simulated agencies are reached over loopback gRPC
//! and report their receipts to the gateway's own port, like real ones; when the gateway
//! serves TLS they report through a plaintext port of their own on 127.0.0.1 instead (they hold
//! no certificate), which serves `Receipts` only, to callers that send the node's secret.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use crate::api::{self, Security, State};
use crate::config::Agencies;
use crate::dispatch::{DispatchConfig, Dispatcher};
use crate::domain::Agency;
use crate::sim::{self, SimConfig};

/// The ledger file of the in-process simulator, in the store's folder.
pub const SIM_LEDGER: &str = "agency-sim.ledger.jsonl";

/// The simulator settings of the embedded default: the simulator's defaults, with more
/// receipts reported at once (they share the gateway's store writer with the submissions).
pub fn embedded_sim() -> SimConfig {
    SimConfig {
        report_in_flight: 256,
        ..SimConfig::default()
    }
}

/// A running gateway.
pub struct Node {
    /// Where it serves: `http://IP:PORT`, or `https://` with TLS.
    pub url: String,
    /// With TLS and simulated agencies: the plaintext loopback port where they report (only
    /// `Receipts`, only with the node's secret).
    pub internal_url: Option<String>,
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
    /// Serves on `listener`, delivering to `agencies`; those left empty are simulated in
    /// process with `sim` (its agencies, gateway and ledger are set here: the ledger lives
    /// beside the store, so receipts decided before a crash are reported after it).
    pub async fn start(
        listener: TcpListener,
        state: Arc<State>,
        agencies: &Agencies,
        dispatch: DispatchConfig,
        sim: SimConfig,
    ) -> anyhow::Result<Node> {
        let security = Security::load(&state.tls)?;
        let addr = listener.local_addr()?;
        security.check_address("server.listen", addr)?;
        let scheme = if security.tls.is_some() {
            "https"
        } else {
            "http"
        };
        let url = format!("{scheme}://{addr}");
        let simulated: Vec<Agency> = Agency::ALL
            .into_iter()
            .filter(|a| agencies.endpoint(*a).is_none())
            .collect();
        // Where the simulated agencies report their receipts.
        let internal = if security.tls.is_some() && !simulated.is_empty() {
            let internal = TcpListener::bind(("127.0.0.1", 0)).await?;
            tracing::warn!(
                port = internal.local_addr()?.port(),
                "simulated agencies report through a plaintext loopback port (configure the \
                 agencies' endpoints in production)"
            );
            Some(internal)
        } else {
            None
        };
        let reports_to = match &internal {
            Some(internal) => format!("http://{}", internal.local_addr()?),
            None => url.clone(),
        };
        // The secret the in-process agencies show on the internal port.
        let token = internal.as_ref().map(|_| new_token()).transpose()?;
        let sims = if simulated.is_empty() {
            None
        } else {
            Some(
                sim::spawn(SimConfig {
                    agencies: simulated,
                    gateway: Some(reports_to.clone()),
                    gateway_token: token.clone(),
                    ledger: Some(state.store.path().join(SIM_LEDGER)),
                    ..sim
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
        let dispatcher = Dispatcher::start(
            &state.store,
            &endpoints,
            dispatch,
            closed.clone(),
            &agencies.client_tls(),
        )?;
        tokio::spawn(crate::audit::run_purge(
            state.store.clone(),
            crate::audit::Policy::from(&state.audit),
            closed.clone(),
        ));
        tokio::spawn(crate::admin::observer::run(
            state.store.clone(),
            closed.clone(),
        ));
        if let Some(path) = security.register_file.clone() {
            tokio::spawn(security.registry.clone().watch(path, closed.clone()));
        }
        let (stop, stopped) = oneshot::channel::<()>();
        let stopped = async move {
            let _ = stopped.await;
        };
        // The simulated agencies' port stops with the rest of the node.
        let mut side_closed = closed.clone();
        let side_stopped = async move {
            let _ = side_closed.wait_for(|closing| *closing).await;
        };
        let plain = Security {
            tls: None,
            registry: security.registry.clone(),
            register_file: None,
            internal_token: token,
        };
        let internal_url = internal.is_some().then_some(reports_to);
        let main = api::run(listener, state.clone(), security, stopped);
        let server = match internal {
            None => tokio::spawn(main),
            Some(internal) => {
                let side = api::run(internal, state.clone(), plain, side_stopped);
                tokio::spawn(async move {
                    let (main, side) = tokio::join!(main, side);
                    main.and(side)
                })
            }
        };
        Ok(Node {
            url,
            internal_url,
            state,
            dispatcher,
            endpoints,
            sims,
            closing,
            stop: Some(stop),
            server,
        })
    }

    /// Stops, logging each step. At once: the server begins its drain (health NOT_SERVING,
    /// new calls refused, no new connections) and the dispatcher stops taking rows. Then, side
    /// by side, the calls in flight are answered and the deliveries in flight finish (and what
    /// they delivered is written); last, the simulated agencies stop.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = self.closing.send(true);
        let (server, dispatcher) = (&mut self.server, &self.dispatcher);
        let drained = async {
            let served = server.await;
            tracing::info!("shutdown: calls in flight answered, server stopped");
            served
        };
        let delivered = async {
            dispatcher.stopped().await;
            tracing::info!("shutdown: deliveries in flight finished, dispatcher stopped");
        };
        let (served, ()) = tokio::join!(drained, delivered);
        served??;
        if let Some(sims) = self.sims.take() {
            sims.stop().await?;
            tracing::info!("shutdown: simulated agencies stopped");
        }
        Ok(())
    }

    /// Serves the operators' HTTP port (`/metrics`, the dashboard) on `listener` until the
    /// node stops.
    pub fn serve_admin(&self, listener: TcpListener) {
        let mut closed = self.closing.subscribe();
        tokio::spawn(crate::admin::serve(listener, async move {
            let _ = closed.wait_for(|closing| *closing).await;
        }));
    }

    /// Waits until the server ends by itself (it does not, unless it fails).
    pub async fn wait(&mut self) -> anyhow::Result<()> {
        (&mut self.server).await??;
        Ok(())
    }
}

/// 32 random bytes, hex: the internal port's secret.
fn new_token() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness for a token: {e}"))?;
    Ok(crate::hex::encode(&bytes))
}
