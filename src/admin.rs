//! The operators' HTTP port: `/metrics` (Prometheus text format) and `/` (the live dashboard,
//! one self-contained page that reads `/metrics`; no CDN, works offline). The gauges that
//! describe the state on file (shipments by state, outbox backlog) and time-to-release are
//! kept by [`observer`], which follows the store's status events.

pub mod observer;

use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;

/// The dashboard page.
const DASHBOARD: &str = include_str!("admin/dashboard.html");

/// The admin routes.
pub fn router() -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/", get(|| async { Html(DASHBOARD) }))
}

async fn metrics() -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        crate::telemetry::render(),
    )
}

/// Serves the admin routes on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    crate::telemetry::prometheus();
    axum::serve(listener, router())
        .with_graceful_shutdown(shutdown)
        .await
}
