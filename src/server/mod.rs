//! The HTTP server: webhook ingress, health, readiness and metrics, as one axum
//! `Router` that `hoist serve` and the Lambda ingress function both serve.

pub mod intake;
mod metrics;
pub mod status_page;
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
    /// The workers' connection to the forge, for `/readyz`'s body: `None` where this
    /// process has none (the Lambda ingress function, `--record-only`).
    pub forge: ForgeLink,
    pub admission: Admission,
    /// The status page at `/`; `None` where this process shows none (the Lambda ingress
    /// function, `--no-status-page`).
    pub page: Option<Arc<status_page::StatusPage>>,
}

/// How many webhook deliveries are read and stored at once, and how long one may wait
/// for its turn and take: bodies are buffered (up to 5 MiB) only with a turn, so memory
/// stays bounded however many senders connect.
pub struct Admission {
    turns: Arc<tokio::sync::Semaphore>,
    timeout: std::time::Duration,
}

impl Admission {
    pub fn new(at_once: usize, timeout: std::time::Duration) -> Self {
        Self {
            turns: Arc::new(tokio::sync::Semaphore::new(at_once)),
            timeout,
        }
    }
}

impl Default for Admission {
    /// 32 at once (160 MiB of bodies at most), 10 s each: GitHub itself gives up on a
    /// delivery after 10 s.
    fn default() -> Self {
        Self::new(32, std::time::Duration::from_secs(10))
    }
}

/// A delivery without a turn in time, or not stored in time, is answered 503: the sender
/// shows it failed and can deliver it again (a duplicate of one stored after all is
/// recognised), never a 2xx for something not stored.
async fn admit(
    State(s): State<Arc<AppState>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let deadline = tokio::time::Instant::now() + s.admission.timeout;
    let turn = tokio::time::timeout_at(deadline, s.admission.turns.clone().acquire_owned()).await;
    let Ok(Ok(_turn)) = turn else {
        ::metrics::counter!("hoist_deliveries_refused_total", "why" => "busy").increment(1);
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            crate::messages::delivery_busy(),
        )
            .into_response();
    };
    match tokio::time::timeout_at(deadline, next.run(req)).await {
        Ok(res) => res,
        Err(_) => {
            ::metrics::counter!("hoist_deliveries_refused_total", "why" => "timeout").increment(1);
            (
                StatusCode::SERVICE_UNAVAILABLE,
                crate::messages::delivery_timeout(),
            )
                .into_response()
        }
    }
}

/// Whether the workers reached the forge: `Ok(login)` once connected, `Err(why)` while
/// still trying. Deliveries are stored either way.
#[derive(Default)]
pub struct ForgeLink(std::sync::Mutex<Option<Result<String, String>>>);

impl ForgeLink {
    pub fn set(&self, link: Result<String, String>) {
        ::metrics::gauge!("hoist_forge_connected").set(if link.is_ok() { 1.0 } else { 0.0 });
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(link);
    }

    fn get(&self) -> Option<Result<String, String>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

pub fn router(state: Arc<AppState>) -> Router {
    let webhooks = Router::new()
        .route("/webhooks/github", post(webhooks::github))
        .route("/webhooks/eventbridge", post(webhooks::eventbridge))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), admit));
    Router::new()
        .merge(webhooks)
        .route("/", get(status_page::page))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics::render))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn readyz(State(s): State<Arc<AppState>>) -> impl IntoResponse {
    if !s.ready.load(Ordering::Relaxed) {
        return (StatusCode::SERVICE_UNAVAILABLE, "not ready".to_owned());
    }
    if !s.intake.ready().await {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            crate::messages::READYZ_STORE_REFUSES.to_owned(),
        );
    }
    // Ready while deliveries can be stored: a load balancer must not take the listener
    // away because GitHub is down.
    match s.forge.get() {
        Some(Err(why)) => (StatusCode::OK, crate::messages::readyz_connecting(&why)),
        _ => (StatusCode::OK, "ready".to_owned()),
    }
}
