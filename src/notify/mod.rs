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
    /// The service, or the group, the pull request moves; absent for a freeze.
    pub service: Option<String>,
    /// The images it moves (a group's: one per member).
    pub freight: Vec<Item>,
    pub pull_request: Option<PullRequest>,
    /// Who asked (a login, as the forge named them; `ecr-push` for a push).
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
    serde_json::json!({
        "text": text,
        "blocks": [
            { "type": "section", "text": { "type": "mrkdwn", "text": text } },
            { "type": "context", "elements": [
                { "type": "mrkdwn", "text": context.join(" · ") }
            ] }
        ]
    })
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

/// POSTs `body` to `url` (JSON). No retry here: the queue retries, with backoff, and a
/// POST is never repeated within one attempt.
pub async fn post(url: &str, body: &serde_json::Value) -> Result<(), Failure> {
    let uri: http::Uri = url
        .parse()
        .map_err(|e| Failure::Never(format!("not a URL: {e}")))?;
    let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        return Err(Failure::Never("not an absolute URL".into()));
    };
    if scheme != "https" && scheme != "http" {
        return Err(Failure::Never(format!("{scheme}: is not http(s)")));
    }
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    let client = octocrab::Octocrab::builder()
        .base_uri(format!("{scheme}://{authority}"))
        .map_err(|e| Failure::Never(e.to_string()))?
        .add_retry_config(octocrab::service::middleware::retry::RetryConfig::None)
        .set_connect_timeout(Some(std::time::Duration::from_secs(5)))
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .build()
        .map_err(|e| Failure::Never(e.to_string()))?;
    let res = client
        ._post(path, Some(body))
        .await
        .map_err(|e| Failure::Retry(crate::messages::notify_unanswered(&e.to_string())))?;
    let status = res.status();
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
        insta::assert_snapshot!(b["text"].as_str().unwrap(), @"");
        insta::assert_snapshot!(b["blocks"][1]["elements"][0]["text"].as_str().unwrap(), @"");
    }
}
