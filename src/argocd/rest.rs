//! Argo CD's REST API: the wire types Hoist reads and the client implementing the port.

use super::{AppSource, AppStatus, ArgoCd, ArgoError};

/// `GET /api/v1/applications/{name}`, read for the fields verification needs.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct Application {
    #[serde(default)]
    pub spec: SpecJson,
    #[serde(default)]
    pub status: AppStatusJson,
}

/// `spec.source`, or each of `spec.sources`: where the application deploys from.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct SpecJson {
    #[serde(default)]
    pub source: Option<SourceJson>,
    #[serde(default)]
    pub sources: Vec<SourceJson>,
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceJson {
    #[serde(default, rename = "repoURL")]
    pub repo_url: String,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub target_revision: Option<String>,
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppStatusJson {
    #[serde(default)]
    pub sync: SyncJson,
    #[serde(default)]
    pub health: HealthJson,
    #[serde(default)]
    pub reconciled_at: Option<String>,
    #[serde(default)]
    pub operation_state: Option<OperationStateJson>,
    #[serde(default)]
    pub conditions: Vec<ConditionJson>,
    #[serde(default)]
    pub summary: SummaryJson,
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct SyncJson {
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub revision: Option<String>,
    #[serde(default)]
    pub revisions: Vec<String>,
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct HealthJson {
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationStateJson {
    #[serde(default)]
    pub finished_at: Option<String>,
    #[serde(default)]
    pub phase: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct ConditionJson {
    #[serde(rename = "type", default)]
    pub kind: String,
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct SummaryJson {
    #[serde(default)]
    pub images: Vec<String>,
}

impl From<Application> for AppStatus {
    fn from(a: Application) -> Self {
        let sources = a
            .spec
            .source
            .into_iter()
            .chain(a.spec.sources)
            .map(|s| AppSource {
                repo_url: s.repo_url,
                path: s.path,
                target_revision: s.target_revision.unwrap_or_default(),
            })
            .collect();
        let s = a.status;
        let (operation_finished_at, operation_phase, operation_message) = s
            .operation_state
            .map(|o| (o.finished_at, o.phase, o.message))
            .unwrap_or_default();
        let failed = matches!(operation_phase.as_deref(), Some("Failed" | "Error"));
        let message = s
            .health
            .message
            .filter(|m| !m.is_empty())
            .or(operation_message.filter(|_| failed));
        let mut revisions = s.sync.revisions;
        revisions.extend(s.sync.revision);
        AppStatus {
            revisions,
            sync: s.sync.status,
            health: s.health.status,
            reconciled_at: s.reconciled_at,
            operation_finished_at,
            operation_phase,
            conditions: s.conditions.into_iter().map(|c| c.kind).collect(),
            images: s.summary.images,
            message,
            sources,
        }
    }
}

/// Argo CD's REST API with a bearer token. The HTTP stack is octocrab's (hyper with
/// rustls, timeouts): one client stack for every API Hoist calls.
pub struct ArgoClient {
    http: octocrab::Octocrab,
}

impl ArgoClient {
    pub fn new(url: &str, token: String) -> Result<Self, String> {
        let http = octocrab::Octocrab::builder()
            .base_uri(url)
            .map_err(|e| format!("argocd.url {url:?}: {e}"))?
            .personal_token(token)
            .set_connect_timeout(Some(std::time::Duration::from_secs(5)))
            .set_read_timeout(Some(std::time::Duration::from_secs(15)))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self { http })
    }
}

#[derive(serde::Deserialize)]
struct Manifests {
    #[serde(default)]
    manifests: Vec<String>,
}

impl ArgoCd for ArgoClient {
    async fn refresh(&self, name: &str) -> Result<(), ArgoError> {
        self.http
            .get::<serde_json::Value, _, ()>(
                format!("/api/v1/applications/{name}?refresh=normal"),
                None,
            )
            .await
            .map(drop)
            .map_err(|e| ArgoError(e.to_string()))
    }

    async fn manifests(&self, name: &str, revision: &str) -> Result<Vec<String>, ArgoError> {
        self.http
            .get::<Manifests, _, ()>(
                format!("/api/v1/applications/{name}/manifests?revision={revision}"),
                None,
            )
            .await
            .map(|m| m.manifests)
            .map_err(|e| {
                ArgoError(match e {
                    octocrab::Error::GitHub { source, .. } => {
                        format!("{} {}", source.status_code, source.message)
                    }
                    e => e.to_string(),
                })
            })
    }

    async fn application(&self, name: &str) -> Result<Option<AppStatus>, ArgoError> {
        match self
            .http
            .get::<Application, _, ()>(format!("/api/v1/applications/{name}"), None)
            .await
        {
            Ok(app) => Ok(Some(app.into())),
            Err(octocrab::Error::GitHub { source, .. }) if source.status_code.as_u16() == 404 => {
                Ok(None)
            }
            Err(octocrab::Error::GitHub { source, .. }) => Err(ArgoError(format!(
                "{} {}",
                source.status_code.as_u16(),
                source.message
            ))),
            Err(e) => Err(ArgoError(e.to_string())),
        }
    }
}
