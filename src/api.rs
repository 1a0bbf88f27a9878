//! The gRPC shell: `run(listener, state, shutdown)` serves the gateway, the agencies'
//! receipts, the operators' admin calls, health and reflection on one port. Handlers are thin:
//! the work is in `ingest` (pure) and `store`. Every call goes through [`observe`] (span,
//! metrics, the drain gate).
//!
//! Admission, per call, before any handler: [`limits`] sheds calls beyond the per-connection
//! and server-wide limits at once (RESOURCE_EXHAUSTED); a unary call is cut at
//! `request_timeout_ms` (or the client's shorter `grpc-timeout`), answered CANCELLED — tonic's
//! timeout runs to the response headers only, so an open stream is never cut by it; each
//! enterprise's submissions are rate-limited in the `Submit` handlers, where the sender is known.
//! HTTP/2: streams per connection and header list size from `[limits]`, keepalive pings, and
//! hyper's guards against reset floods.
//!
//! Shutdown, when `shutdown` completes: at once, health turns NOT_SERVING and calls that still
//! arrive are answered UNAVAILABLE (health checks excepted), and the streams that would run
//! forever (watchers) end; the listener closes (new connections are refused) and open
//! connections are told to go away; `run` returns once the calls in flight are answered.

mod agency;
mod calls;
mod gateway;
mod identify;
mod limits;
mod observe;
mod shipments;
mod status;
mod tls;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::Server;

use crate::config::Limits;
use crate::pb::v1::admin_server::AdminServer;
use crate::pb::v1::gateway_server::GatewayServer;
use crate::pb::v1::receipts_server::ReceiptsServer;
use crate::rules::Rules;
use crate::store::Store;

pub use agency::AgencySide;
pub use calls::CallNote;
pub use gateway::Gateway;
pub use tls::Security;

/// The metadata key of the secret a TLS node's in-process agencies send on its internal port.
pub const INTERNAL_TOKEN: &str = "x-single-window-internal";

/// What the handlers share.
pub struct State {
    /// Rules, loaded and checked once.
    pub rules: Arc<Rules>,
    /// The store.
    pub store: Store,
    /// Largest request message, bytes.
    pub max_message_bytes: usize,
    /// Replies a `SubmitStream` keeps ready before it stops reading requests.
    pub stream_window: usize,
    /// Messages larger than this many bytes are decoded off the async threads.
    pub blocking_above_bytes: usize,
    /// Audit retention and the receipts' signing key (`[audit]`).
    pub audit: crate::config::Audit,
    /// Admission: load shedding, rate per enterprise, deadlines, HTTP/2 settings.
    pub limits: Limits,
    /// TLS, mutual TLS and the register of identities (`[tls]`).
    pub tls: crate::config::Tls,
}

impl State {
    /// The handlers' state over `rules` and `store`, with the defaults of `config/default.toml`.
    pub fn new(rules: Arc<Rules>, store: Store) -> State {
        let defaults = crate::config::Config::default();
        let server = defaults.server;
        State {
            max_message_bytes: rules.limits.max_message_bytes,
            rules,
            store,
            stream_window: server.stream_window.get(),
            blocking_above_bytes: server.blocking_above_bytes,
            limits: defaults.limits,
            audit: defaults.audit,
            tls: defaults.tls,
        }
    }
}

/// Accepted connections with Nagle's algorithm off: replies are small and must not wait for
/// the peer's delayed ACK (40 ms).
pub fn incoming(
    listener: TcpListener,
) -> impl tokio_stream::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    use tokio_stream::StreamExt;
    TcpListenerStream::new(listener).map(|conn| {
        let conn = conn?;
        conn.set_nodelay(true)?;
        Ok(conn)
    })
}

/// Interval of the HTTP/2 keepalive pings the server sends on a connection.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(30);
/// How long a keepalive ping may go unanswered before its connection is closed.
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(20);
/// Streams a client may reset before the server has accepted them (rapid-reset guard).
const MAX_PENDING_RESETS: usize = 20;
/// Streams the server may reset on a connection for the client's errors before closing it.
const MAX_ERROR_RESETS: usize = 1024;

/// Serves on `listener` until `shutdown` completes, with `security`'s TLS (or plaintext) and
/// its register of identities.
pub async fn run(
    listener: TcpListener,
    state: Arc<State>,
    security: Security,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    let (health_reporter, health) = tonic_health::server::health_reporter();
    health_reporter
        .set_serving::<GatewayServer<Gateway>>()
        .await;
    let draining = observe::Draining::default();
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(crate::pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .expect("the built-in descriptor sets are valid");
    let max = state.max_message_bytes;
    // Streams that would run forever (watchers) end when shutdown begins, so that the graceful
    // shutdown does not wait on them.
    let (closing, closed) = tokio::sync::watch::channel(false);
    let gate = draining.clone();
    let shutdown = async move {
        shutdown.await;
        // Health first, so that a health `Watch` stream sends NOT_SERVING before the gate
        // ends it.
        health_reporter
            .set_not_serving::<GatewayServer<Gateway>>()
            .await;
        health_reporter
            .set_service_status("", tonic_health::ServingStatus::NotServing)
            .await;
        gate.begin();
        let _ = closing.send(true);
        tracing::info!(
            "shutdown: health NOT_SERVING, new calls refused, waiting for the calls in flight"
        );
    };
    let limits = state.limits.clone();
    let audit_store = state.store.clone();
    let agency_side = AgencySide::new(state.clone());
    let timeout_ms = u64::try_from(limits.request_timeout_ms.get()).unwrap_or(u64::MAX);
    let mut builder = Server::builder();
    if let Some(tls) = security.tls {
        builder = builder.tls_config(tls)?;
    }
    let internal = security.internal_token.is_some();
    let observe = observe::ObserveLayer::new(draining).identifying(
        security.registry,
        audit_store,
        security.internal_token,
    );
    let mut router = builder
        .timeout(Duration::from_millis(timeout_ms))
        .max_concurrent_streams(u32_of(limits.h2_max_concurrent_streams))
        .http2_max_header_list_size(u32_of(limits.h2_max_header_list_bytes))
        .http2_keepalive_interval(Some(KEEPALIVE_INTERVAL))
        .http2_keepalive_timeout(Some(KEEPALIVE_TIMEOUT))
        .http2_max_pending_accept_reset_streams(Some(MAX_PENDING_RESETS))
        .http2_max_local_error_reset_streams(Some(MAX_ERROR_RESETS))
        .layer(observe)
        .layer(limits::ShedLayer::new(&limits))
        .add_service(health)
        .add_service(ReceiptsServer::new(agency_side.clone()));
    // The internal port of in-process agencies serves their receipts only.
    if !internal {
        let gateway = GatewayServer::new(Gateway::new(state, closed))
            .max_decoding_message_size(max)
            .max_encoding_message_size(max);
        router = router
            .add_service(reflection)
            .add_service(gateway)
            .add_service(AdminServer::new(agency_side));
    }
    router
        .serve_with_incoming_shutdown(incoming(listener), shutdown)
        .await
}

fn u32_of(value: std::num::NonZeroUsize) -> u32 {
    u32::try_from(value.get()).unwrap_or(u32::MAX)
}
