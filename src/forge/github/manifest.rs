//! The GitHub App manifest Hoist is registered from: exactly the permissions and events
//! it uses, as GitHub's manifest flow takes it (JSON).

use serde_json::{Value, json};

/// The permissions Hoist uses, each at the level it needs (docs/github.md says why).
pub const PERMISSIONS: &[(&str, &str)] = &[
    ("contents", "write"),
    ("pull_requests", "write"),
    ("issues", "write"),
    ("checks", "write"),
    ("statuses", "read"),
    ("members", "read"),
    ("metadata", "read"),
];

/// The webhook events Hoist handles.
pub const EVENTS: &[&str] = &[
    "issue_comment",
    "pull_request",
    "pull_request_review",
    "check_run",
    "check_suite",
    "status",
];

/// The manifest for an App named `name` whose webhooks reach Hoist at `base` (its
/// address, such as `https://hoist.example.com`).
pub fn manifest(name: &str, base: &str) -> Value {
    let base = base.trim_end_matches('/');
    let permissions: serde_json::Map<String, Value> = PERMISSIONS
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect();
    json!({
        "name": name,
        "url": base,
        "hook_attributes": { "url": format!("{base}/webhooks/github"), "active": true },
        "redirect_url": format!("{base}/"),
        "public": false,
        "default_permissions": permissions,
        "default_events": EVENTS,
    })
}

/// An HTML page whose button posts `manifest` to GitHub's manifest flow for the
/// organization `org`; GitHub then shows the App to create.
pub fn form(org: &str, manifest: &Value) -> String {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('"', "&quot;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('\'', "&#39;")
    };
    format!(
        "<!doctype html>\n<form action=\"https://github.com/organizations/{}/settings/apps/new\" method=\"post\">\n  <input type=\"hidden\" name=\"manifest\" value=\"{}\">\n  <button type=\"submit\">{}</button>\n</form>\n",
        escape(org),
        escape(&manifest.to_string()),
        escape(crate::messages::CREATE_THE_APP),
    )
}
