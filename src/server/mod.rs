//! The HTTP server: webhook ingress, health, readiness and metrics, as one axum
//! `Router` that `hoist serve` and the Lambda ingress function both serve.

pub mod intake;
mod metrics;
mod webhooks;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use tower_http::trace::TraceLayer;

pub use self::intake::Intake;
pub use self::metrics::{PrometheusHandle, install as install_metrics};
use crate::ingress::signature::Secrets;

/// Webhook bodies larger than this are refused with 413 before anything else.
pub const MAX_BODY_BYTES: usize = 5 * 1024 * 1024;

pub struct AppState {
    pub intake: Intake,
    pub github_secrets: Secrets,
    pub eventbridge_tokens: Secrets,
    pub metrics: PrometheusHandle,
    /// False until the config is loaded and the store opened, and again while stopping.
    pub ready: AtomicBool,
}

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/webhooks/github", post(webhooks::github))
        .route("/webhooks/eventbridge", post(webhooks::eventbridge))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics::render))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn readyz(State(s): State<Arc<AppState>>) -> impl IntoResponse {
    if !s.ready.load(Ordering::Relaxed) {
        return (StatusCode::SERVICE_UNAVAILABLE, "not ready");
    }
    if s.intake.ready().await {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "store not answering")
    }
}
