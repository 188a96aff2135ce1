//! Notifications: what happened to a promotion or a stage, sent to the webhooks the
//! config lists (`notify:`). Each is an event in the durable queue, so a notification is
//! retried with backoff, never sent twice for one occurrence, and never holds up a
//! promotion. The JSON payload is versioned (docs/notifications.md).

use serde::{Deserialize, Serialize};

use crate::config::{NotifyEvent, NotifyFormat};

/// The version of [`Notice`]'s shape; a change that could break a reader bumps it.
pub const VERSION: u32 = 1;

/// What happened, as the `json` format sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub version: u32,
    pub event: NotifyEvent,
    /// The GitOps repository (`owner/name`, or the CodeCommit repository's name).
    pub repository: String,
    pub stage: String,
    /// The service, or the group, the pull request moves; absent for a freeze or a
    /// refused command. Optional fields default when absent: a notice queued by an
    /// older Hoist still decodes.
    #[serde(default)]
    pub service: Option<String>,
    /// The images it moves (a group's: one per member).
    #[serde(default)]
    pub freight: Vec<Item>,
    #[serde(default)]
    pub pull_request: Option<PullRequest>,
    /// Who asked (a login, as the forge named them; `ecr-push` for a push).
    #[serde(default)]
    pub requested_by: Option<String>,
    /// One line, as a person reads it.
    pub summary: String,
    /// When it happened (RFC 3339, UTC).
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub service: String,
    pub tag: String,
    pub digest: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRequest {
    pub number: u64,
    pub url: Option<String>,
}

/// The event's name, as the config and the payload spell it.
pub fn event_name(e: NotifyEvent) -> &'static str {
    match e {
        NotifyEvent::Opened => "opened",
        NotifyEvent::Refused => "refused",
        NotifyEvent::Merged => "merged",
        NotifyEvent::Verified => "verified",
        NotifyEvent::Degraded => "degraded",
        NotifyEvent::Rollback => "rollback",
        NotifyEvent::Freeze => "freeze",
    }
}

/// The request body for `format`.
pub fn body(n: &Notice, format: NotifyFormat) -> serde_json::Value {
    match format {
        NotifyFormat::Json => serde_json::to_value(n).expect("a notice serializes"),
        NotifyFormat::Slack => slack(n),
    }
}

/// A Slack incoming webhook's message: the summary, linked to the pull request, and
/// what it moves. Text from people (a reason, a tag) is escaped as Slack asks (`&`,
/// `<`, `>`), so it can neither mention `@channel` nor make a link.
fn slack(n: &Notice) -> serde_json::Value {
    let mut text = esc(&n.summary);
    if let Some(pr) = &n.pull_request {
        text = match &pr.url {
            Some(url) => format!("{text} (<{}|#{}>)", esc(url), pr.number),
            None => format!("{text} (#{})", pr.number),
        };
    }
    let mut context = vec![format!("*{}*", esc(&n.stage))];
    context.extend(
        n.freight
            .iter()
            .map(|i| esc(&format!("{} {} {}", i.service, i.tag, short(&i.digest)))),
    );
    if let Some(who) = &n.requested_by {
        context.push(esc(&crate::messages::notify_asked_by(who)));
    }
    // Verbatim: Slack turns no bare URL, channel or name into a link or a mention.
    let (text, context) = (cut(&text), cut(&context.join(" · ")));
    serde_json::json!({
        "text": text,
        "blocks": [
            { "type": "section", "text": { "type": "mrkdwn", "text": text, "verbatim": true } },
            { "type": "context", "elements": [
                { "type": "mrkdwn", "text": context, "verbatim": true }
            ] }
        ]
    })
}

/// At most what Slack takes in one text object (3,000 characters), marked when cut.
fn cut(s: &str) -> String {
    const MAX: usize = 2_990;
    if s.chars().count() <= MAX {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(MAX).collect();
    out.push_str(" …");
    out
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn short(digest: &str) -> &str {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    &hex[..hex.len().min(12)]
}

/// Why a delivery did not go through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Worth another try: no answer, a timeout, 408, 429 or 5xx.
    Retry(String),
    /// Will fail the same way every time: another 4xx, a bad URL.
    Never(String),
}

/// The most one delivery may take, connecting and answering included: a webhook that
/// drips its answer must not keep a worker.
const DELIVERY_BUDGET: std::time::Duration = std::time::Duration::from_secs(15);

/// POSTs `body` to `url` (JSON), once: the queue retries, with backoff. Redirects are not
/// followed (a receiver must not send Hoist elsewhere), and the URL is never logged.
pub async fn post(url: &str, body: &serde_json::Value) -> Result<(), Failure> {
    use http_body_util::{BodyExt, Full};
    let uri = url
        .parse::<http::Uri>()
        .map_err(|e| Failure::Never(crate::messages::notify_bad_url(&e.to_string())))?;
    if !matches!(uri.scheme_str(), Some("https" | "http")) || uri.authority().is_none() {
        return Err(Failure::Never(crate::messages::notify_bad_url(
            "not an absolute http(s) URL",
        )));
    }
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(rustls::crypto::ring::default_provider())
        .map_err(|e| Failure::Retry(e.to_string()))?
        .https_or_http()
        .enable_http1()
        .build();
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build::<_, Full<bytes::Bytes>>(https);
    let req = http::Request::post(uri)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::USER_AGENT, "hoist")
        .body(Full::new(bytes::Bytes::from(body.to_string())))
        .map_err(|e| Failure::Never(e.to_string()))?;
    let answered = tokio::time::timeout(DELIVERY_BUDGET, async {
        let res = client.request(req).await?;
        let status = res.status();
        // Read to the end, so the connection is done with; what it says is not needed.
        let _ = res.into_body().collect().await;
        Ok::<_, hyper_util::client::legacy::Error>(status)
    })
    .await;
    let status = match answered {
        Ok(Ok(status)) => status,
        Ok(Err(e)) => {
            return Err(Failure::Retry(crate::messages::notify_unanswered(
                &e.to_string(),
            )));
        }
        Err(_) => {
            return Err(Failure::Retry(crate::messages::notify_unanswered(
                "no answer within 15 s",
            )));
        }
    };
    if status.is_success() {
        return Ok(());
    }
    let why = crate::messages::notify_status(status.as_u16());
    if status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429 {
        Err(Failure::Retry(why))
    } else {
        Err(Failure::Never(why))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice() -> Notice {
        Notice {
            version: VERSION,
            event: NotifyEvent::Merged,
            repository: "acme/gitops".into(),
            stage: "prod".into(),
            service: Some("my-app-service1".into()),
            freight: vec![Item {
                service: "my-app-service1".into(),
                tag: "v1.4.0".into(),
                digest: format!("sha256:{}", "a1".repeat(32)),
            }],
            pull_request: Some(PullRequest {
                number: 3,
                url: Some("https://github.com/acme/gitops/pull/3".into()),
            }),
            requested_by: Some("quinn".into()),
            summary: "Merged my-app-service1 v1.4.0 into prod <!channel> & co".into(),
            at: "2026-11-26T10:00:00Z".into(),
        }
    }

    #[test]
    fn slack_text_is_escaped_and_linked() {
        let b = body(&notice(), NotifyFormat::Slack);
        insta::assert_snapshot!(b["text"].as_str().unwrap(), @"Merged my-app-service1 v1.4.0 into prod &lt;!channel&gt; &amp; co (<https://github.com/acme/gitops/pull/3|#3>)");
        insta::assert_snapshot!(b["blocks"][1]["elements"][0]["text"].as_str().unwrap(), @"*prod* · my-app-service1 v1.4.0 a1a1a1a1a1a1 · asked by quinn");
    }
}
