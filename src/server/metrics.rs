//! Prometheus metrics, every name prefixed `hoist_`.

use std::sync::{Arc, OnceLock};

use axum::extract::State;
pub use metrics_exporter_prometheus::PrometheusHandle;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};

use super::AppState;

/// Installs the process-wide recorder once; later calls share it.
pub fn install() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("hoist_handler_seconds".into()),
                    &[
                        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
                    ],
                )
                .expect("static buckets are valid")
                .install_recorder()
                .expect("the metrics recorder is installed once")
        })
        .clone()
}

pub async fn render(State(s): State<Arc<AppState>>) -> String {
    // On Lambda the queue is SQS, whose depth CloudWatch already has.
    if let super::Intake::Store(q) = &s.intake
        && let Ok(d) = q.store.depth().await
    {
        for (status, n) in [
            ("pending", d.pending),
            ("running", d.running),
            ("failed", d.failed),
        ] {
            metrics::gauge!("hoist_queue_depth", "status" => status).set(n as f64);
        }
    }
    s.metrics.render()
}
