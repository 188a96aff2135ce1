//! `POST /webhooks/github` and `POST /webhooks/eventbridge`: authenticate over the raw
//! bytes, decode, commit to the store, and only then answer.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use tracing::{Instrument, debug, error, info, warn};

use super::AppState;
use super::intake::Accepted;
use crate::event::{Event, eventbridge, github};
use crate::ingress::envelope::{GitHubDelivery, QueuedDelivery};
use crate::store::NewEvent;

type Reply = (StatusCode, String);

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

fn received(source: &'static str, kind: &str, outcome: &'static str) {
    metrics::counter!("hoist_events_received_total", "source" => source, "type" => kind.to_owned(), "outcome" => outcome)
        .increment(1);
}

pub async fn github(State(s): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Reply {
    if !s
        .github_secrets
        .verify_github(header(&headers, "x-hub-signature-256"), &body)
    {
        metrics::counter!("hoist_signature_failures_total", "source" => "github").increment(1);
        warn!("GitHub delivery with a missing or wrong signature");
        return (
            StatusCode::UNAUTHORIZED,
            "signature does not match\n".into(),
        );
    }
    let (Some(event), Some(delivery)) = (
        header(&headers, "x-github-event"),
        header(&headers, "x-github-delivery"),
    ) else {
        received("github", "unknown", "rejected");
        return (
            StatusCode::BAD_REQUEST,
            "X-GitHub-Event and X-GitHub-Delivery are required\n".into(),
        );
    };
    let span = tracing::info_span!("delivery", source = "github", delivery, event);
    match github::decode(event, &body) {
        Ok(ev) => {
            // A redelivery repeats the delivery id and the body. The verified signature is
            // already a hash of the body: beside the id it keeps two different events apart
            // even when a sender reuses an id, at no cost.
            let sig = header(&headers, "x-hub-signature-256").unwrap_or_default();
            let fingerprint = sig
                .trim_start_matches("sha256=")
                .get(..16)
                .unwrap_or_default();
            let key = format!("github:{delivery}:{fingerprint}");
            let message = serde_json::to_string(&QueuedDelivery::new(&GitHubDelivery {
                event: event.to_owned(),
                delivery: delivery.to_owned(),
                signature: Some(sig.to_owned()),
                body: body.to_vec(),
            }))
            .expect("deliveries serialize");
            store(&s, "github", key, ev, message).instrument(span).await
        }
        Err(e) => {
            received("github", event, "rejected");
            warn!(delivery, event, path = %e.path, error = %e.message, "malformed GitHub payload");
            (StatusCode::BAD_REQUEST, format!("malformed payload: {e}\n"))
        }
    }
}

pub async fn eventbridge(State(s): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Reply {
    if !s
        .eventbridge_tokens
        .verify_token(header(&headers, "x-hoist-token"))
    {
        metrics::counter!("hoist_signature_failures_total", "source" => "eventbridge").increment(1);
        warn!("EventBridge delivery with a missing or wrong x-hoist-token");
        return (
            StatusCode::UNAUTHORIZED,
            "x-hoist-token does not match\n".into(),
        );
    }
    match eventbridge::decode(&body) {
        Ok((id, ev)) => {
            let span = tracing::info_span!("delivery", source = "eventbridge", id = %id);
            let message = String::from_utf8_lossy(&body).into_owned();
            store(&s, "eventbridge", format!("eventbridge:{id}"), ev, message)
                .instrument(span)
                .await
        }
        Err(e) => {
            received("eventbridge", "unknown", "rejected");
            warn!(path = %e.path, error = %e.message, "malformed EventBridge event");
            (StatusCode::BAD_REQUEST, format!("malformed event: {e}\n"))
        }
    }
}

/// Commits an actionable event and answers once it is durable; `message` is the
/// delivery as it goes on SQS from the Lambda ingress function.
async fn store(
    s: &AppState,
    source: &'static str,
    dedupe_key: String,
    ev: Event,
    message: String,
) -> Reply {
    let kind = ev.kind();
    if !ev.is_actionable() {
        received(source, kind, "ignored");
        let why = match &ev {
            Event::Ignored { reason } => reason.clone(),
            _ => "ping".into(),
        };
        debug!(reason = %why, "ignored");
        return (StatusCode::OK, format!("ignored: {why}\n"));
    }
    let new = NewEvent {
        dedupe_key,
        serial_key: ev.serial_key(),
        kind: kind.to_owned(),
        payload: serde_json::to_string(&ev).expect("events serialize"),
    };
    match s.intake.accept(new, message).await {
        Ok(Accepted::New(id)) => {
            received(source, kind, "stored");
            info!(id, kind, "stored");
            (StatusCode::ACCEPTED, format!("stored as event {id}\n"))
        }
        Ok(Accepted::Duplicate(id)) => {
            received(source, kind, "duplicate");
            info!(id, "duplicate delivery");
            (StatusCode::OK, format!("duplicate of event {id}\n"))
        }
        Err(e) => {
            received(source, kind, "error");
            error!(error = %e, "cannot store the event");
            // 503: the sender retries, and nothing was acknowledged that is not stored.
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "cannot store the event right now\n".into(),
            )
        }
    }
}
