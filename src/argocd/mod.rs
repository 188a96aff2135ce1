//! The Argo CD port and the rule that decides when an Application runs a promotion.

use std::future::Future;

use crate::freight::Freight;

/// What Hoist reads of `GET /api/v1/applications/{name}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppStatus {
    /// `status.sync.revision`, or each of `status.sync.revisions`.
    pub revisions: Vec<String>,
    /// `status.sync.status`: `Synced`, `OutOfSync`, `Unknown`.
    pub sync: String,
    /// `status.health.status`: `Healthy`, `Progressing`, `Degraded`, ...
    pub health: String,
    /// `status.reconciledAt` (RFC 3339).
    pub reconciled_at: Option<String>,
    /// `status.operationState.finishedAt` (RFC 3339).
    pub operation_finished_at: Option<String>,
    /// `status.operationState.phase`: `Running`, `Terminating`, `Succeeded`, `Failed`,
    /// `Error`; `None` when the application has never had an operation.
    pub operation_phase: Option<String>,
    /// `status.conditions[].type`.
    pub conditions: Vec<String>,
    /// `status.summary.images`.
    pub images: Vec<String>,
    /// What Argo CD says of it: `status.health.message`, else a failed sync's
    /// `status.operationState.message`.
    pub message: Option<String>,
    /// Where it deploys from: `spec.source`, or each of `spec.sources`.
    pub sources: Vec<AppSource>,
}

/// One source an application deploys from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppSource {
    pub repo_url: String,
    pub path: Option<String>,
    /// `targetRevision`; empty where unset (Argo CD then reads `HEAD`).
    pub target_revision: String,
}

/// Argo CD could not answer: unreachable, refused, or an answer Hoist cannot read. Never
/// taken as passed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ArgoError(pub String);

impl From<String> for ArgoError {
    fn from(why: String) -> Self {
        ArgoError(why)
    }
}

pub trait ArgoCd: Send + Sync + 'static {
    /// Asks Argo CD to compare the application with Git now, instead of at its next poll
    /// (`GET /api/v1/applications/{name}?refresh=normal`).
    fn refresh(&self, name: &str) -> impl Future<Output = Result<(), ArgoError>> + Send;
    /// The manifests Argo CD renders for `name` at `revision`
    /// (`GET /api/v1/applications/{name}/manifests?revision=`).
    fn manifests(
        &self,
        name: &str,
        revision: &str,
    ) -> impl Future<Output = Result<Vec<String>, ArgoError>> + Send;
    /// The application, `None` when Argo CD has none by that name. An unreachable Argo
    /// CD is an error, and never counts as passed.
    fn application(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<AppStatus>, ArgoError>> + Send;
}

/// Why an application does not run a promotion yet, from what Argo CD reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotYet {
    /// A sync under way (its phase, lowercased).
    Syncing(String),
    /// Synced, but not compared with Git since.
    NotReconciled,
    /// An error condition (`ComparisonError`, `InvalidSpecError`).
    Reports(String),
    /// Not at the merge commit yet (its short SHA).
    NotAt(String),
    /// Its sync status, when not `Synced`.
    Sync(String),
    /// Its health, when not `Healthy`.
    Health(String),
    /// Its images do not include the freight (its tag).
    ImageMissing(String),
}

impl std::fmt::Display for NotYet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::messages::not_yet(self))
    }
}

/// Whether `app` runs `freight` from `merge_sha`, healthy; otherwise what it waits for.
/// Every fact is Argo CD's.
pub fn verify(app: &AppStatus, merge_sha: &str, freight: &Freight) -> Result<(), NotYet> {
    // A sync in progress has no finishedAt yet, and its old pods may still look healthy.
    if let Some(phase) = &app.operation_phase
        && (phase == "Running" || phase == "Terminating" || app.operation_finished_at.is_none())
    {
        return Err(NotYet::Syncing(phase.to_lowercase()));
    }
    if let (Some(rec), Some(fin)) = (&app.reconciled_at, &app.operation_finished_at)
        && rec < fin
    {
        return Err(NotYet::NotReconciled);
    }
    if let Some(c) = app
        .conditions
        .iter()
        .find(|c| *c == "ComparisonError" || *c == "InvalidSpecError")
    {
        return Err(NotYet::Reports(c.clone()));
    }
    if !app.revisions.iter().any(|r| r == merge_sha) {
        return Err(NotYet::NotAt(crate::image::short_sha(merge_sha).to_owned()));
    }
    if app.sync != "Synced" {
        return Err(NotYet::Sync(app.sync.clone()));
    }
    if app.health != "Healthy" {
        return Err(NotYet::Health(app.health.clone()));
    }
    if !app.images.iter().any(|i| runs_freight(i, freight)) {
        return Err(NotYet::ImageMissing(freight.tag.to_string()));
    }
    Ok(())
}

/// Every image in manifests Argo CD rendered (each a JSON object, as
/// `GET /api/v1/applications/{name}/manifests` returns them): every string under a key
/// named `image`, at any depth, so pods, deployments, jobs, cron jobs and custom resources
/// that name an image their own way (`spec.image`, workflow steps) are all judged; a field
/// so named that is no image reference fails the check rather than pass unseen. A
/// manifest that is not JSON is an error: what cannot be read cannot be judged.
pub fn rendered_images(
    manifests: &[String],
) -> Result<std::collections::BTreeSet<String>, ArgoError> {
    fn walk(v: &serde_json::Value, out: &mut std::collections::BTreeSet<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    match (k.as_str(), v.as_str()) {
                        ("image", Some(image)) => {
                            out.insert(image.to_owned());
                        }
                        _ => walk(v, out),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    let mut out = std::collections::BTreeSet::new();
    for (i, m) in manifests.iter().enumerate() {
        let v: serde_json::Value = serde_json::from_str(m)
            .map_err(|e| format!("rendered manifest {} is not JSON: {e}", i + 1))?;
        walk(&v, &mut out);
    }
    Ok(out)
}

/// Whether the image reference Argo CD reports is this freight: the same image pinned
/// by exactly its digest, or, for an overlay that pins tags only (Argo CD then reports
/// no digest), the same image at exactly its tag. A digest appearing elsewhere in the
/// reference, or another digest under the same tag, is not this freight.
pub fn runs_freight(reported: &str, freight: &Freight) -> bool {
    let Ok(r) = crate::image::Reference::parse(reported) else {
        return false;
    };
    r.name == freight.image
        && match &r.digest {
            Some(d) => *d == freight.digest,
            None => r.tag.as_ref() == Some(&freight.tag),
        }
}

mod rest;

pub use rest::{Application, ArgoClient};
