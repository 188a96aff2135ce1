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
    /// `status.conditions[].type`.
    pub conditions: Vec<String>,
    /// `status.summary.images`.
    pub images: Vec<String>,
}

pub trait ArgoCd: Send + Sync + 'static {
    /// The application, `None` when Argo CD has none by that name. An unreachable Argo
    /// CD is an error, and never counts as passed.
    fn application(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<AppStatus>, String>> + Send;
}

/// Whether `app` runs `freight` from `merge_sha`, healthy; otherwise what it waits for.
pub fn verify(app: &AppStatus, merge_sha: &str, freight: &Freight) -> Result<(), String> {
    if let (Some(rec), Some(fin)) = (&app.reconciled_at, &app.operation_finished_at)
        && rec < fin
    {
        return Err("Argo CD has not reconciled since its last sync".into());
    }
    if let Some(c) = app
        .conditions
        .iter()
        .find(|c| *c == "ComparisonError" || *c == "InvalidSpecError")
    {
        return Err(format!("the application reports {c}"));
    }
    if !app.revisions.iter().any(|r| r == merge_sha) {
        return Err(format!(
            "the application is not at {} yet",
            short(merge_sha)
        ));
    }
    if app.sync != "Synced" {
        return Err(format!("the application is {}", app.sync));
    }
    if app.health != "Healthy" {
        return Err(format!("the application is {}", app.health));
    }
    let tagged = format!("{}:{}", freight.image, freight.tag);
    let runs = app.images.iter().any(|i| {
        i.contains(freight.digest.as_str()) || i == &tagged || i.starts_with(&format!("{tagged}@"))
    });
    if !runs {
        return Err(format!(
            "the application's images do not include {}",
            freight.tag
        ));
    }
    Ok(())
}

pub fn short(sha: &str) -> &str {
    sha.get(..7).unwrap_or(sha)
}
