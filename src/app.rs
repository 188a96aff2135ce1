//! Wiring: the engine's real ports built from the config (the forge, Argo CD, the
//! registry), for every entry point (`hoist serve`, the CLI commands, the Lambda worker).

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use tracing::warn;

use crate::argocd::{AppStatus, ArgoCd, ArgoClient};
use crate::config::{Config, Forge as ForgeConfig, MergeMethod};
use crate::engine::Engine;
use crate::forge::any::AnyForge;
use crate::forge::codecommit::CodeCommit;
use crate::forge::github::{Auth, GitHub};
use crate::registry::ecr::Ecr;
use crate::store::Store;

/// Argo CD when the config has it; without it no stage names an app.
pub enum Argo {
    Client(ArgoClient),
    Absent,
}

impl ArgoCd for Argo {
    async fn refresh(&self, name: &str) -> Result<(), crate::argocd::ArgoError> {
        match self {
            Argo::Client(c) => c.refresh(name).await,
            Argo::Absent => Ok(()),
        }
    }

    async fn manifests(
        &self,
        name: &str,
        revision: &str,
    ) -> Result<Vec<String>, crate::argocd::ArgoError> {
        match self {
            Argo::Client(c) => c.manifests(name, revision).await,
            Argo::Absent => {
                Err(format!("no argocd: section in the config, but {name} was asked for").into())
            }
        }
    }

    async fn application(&self, name: &str) -> Result<Option<AppStatus>, crate::argocd::ArgoError> {
        match self {
            Argo::Client(c) => c.application(name).await,
            Argo::Absent => {
                Err(format!("no argocd: section in the config, but {name} was asked for").into())
            }
        }
    }
}

pub type RealEngine = Engine<AnyForge, Argo, Ecr>;

fn env(name: &str) -> Result<String> {
    crate::env::var(name).with_context(|| format!("environment variable {name} is not set"))
}

/// Everything the engine's ports need that is read locally (environment variables, the
/// App's key, the config), checked before anything goes over the network: a mistake here
/// is the operator's to fix, and fails at once.
pub struct Prepared {
    config: Config,
    aws: aws_config::SdkConfig,
    github: Option<(Auth, &'static str)>,
    argocd: Option<(String, String)>,
    /// Whether this process is the only one writing to the forge (`hoist serve`), so
    /// that what it wrote is what the forge holds (see `GitHub::as_sole_writer`).
    sole_writer: bool,
}

/// Reads and checks what the ports need locally; see [`Prepared`].
pub async fn prepare(config: Config) -> Result<Prepared> {
    // One AWS configuration (default chain, AWS_ENDPOINT_URL honoured) for ECR and
    // CodeCommit; the region comes from each client's own setting.
    let aws = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .load()
        .await;
    let github = match &config.forge {
        ForgeConfig::Github(g) => Some((github_auth(g)?, github_method(config.merge.method)?)),
        ForgeConfig::Codecommit(_) => None,
    };
    let argocd = match &config.argocd {
        Some(a) => {
            let token = env(&a.token_env)?;
            // The client is built again on each connection attempt; check it builds now.
            ArgoClient::new(&a.url, token.clone()).map_err(|e| anyhow::anyhow!(e))?;
            Some((a.url.clone(), token))
        }
        None => None,
    };
    Ok(Prepared {
        config,
        aws,
        github,
        argocd,
        sole_writer: false,
    })
}

/// Why the forge could not be reached: `transient` when trying again may help (the
/// network, a 5xx, a rate limit), not when the forge refused what the config says (bad
/// credentials, an App not installed, a repository that does not exist).
#[derive(Debug)]
pub struct ConnectError {
    pub transient: bool,
    pub message: String,
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConnectError {}

impl Prepared {
    /// For `hoist serve`, the one process that writes to the forge.
    pub fn sole_writer(mut self) -> Self {
        self.sole_writer = true;
        self
    }

    /// The AWS configuration the ports use, for other AWS clients to share.
    pub fn aws(&self) -> &aws_config::SdkConfig {
        &self.aws
    }

    /// Connects to the forge (resolving Hoist's own identity there) and builds the
    /// engine.
    pub async fn connect(&self, store: Store) -> Result<RealEngine, ConnectError> {
        let failed = |what: String, e: crate::forge::ForgeError| ConnectError {
            transient: matches!(e, crate::forge::ForgeError::Transient(_)),
            message: format!("{what}: {e}"),
        };
        let config = self.config.clone();
        let repo_name = config.repo_name();
        let forge = match (&config.forge, &self.github) {
            (ForgeConfig::Github(g), Some((auth, method))) => {
                let pacing = std::time::Duration::from_millis(g.write_interval_ms);
                let gh = GitHub::connect(
                    &g.api_url,
                    &g.owner,
                    &g.repo,
                    &g.base,
                    method,
                    pacing,
                    auth.clone(),
                )
                .await
                .map_err(|e| failed(format!("cannot connect to GitHub at {}", g.api_url), e))?;
                if self.sole_writer {
                    gh.as_sole_writer();
                }
                AnyForge::GitHub(Box::new(gh))
            }
            (ForgeConfig::Codecommit(cc), _) => AnyForge::CodeCommit(
                CodeCommit::connect(&self.aws, cc, config.merge.method)
                    .await
                    .map_err(|e| {
                        failed(format!("cannot connect to CodeCommit in {}", cc.region), e)
                    })?,
            ),
            (ForgeConfig::Github(_), None) => unreachable!("prepare reads GitHub's credentials"),
        };
        let argocd = match &self.argocd {
            Some((url, token)) => Argo::Client(ArgoClient::new(url, token.clone()).map_err(
                |e| ConnectError {
                    transient: false,
                    message: e,
                },
            )?),
            None => Argo::Absent,
        };
        // ECR, for reconcile to find pushes whose events never arrived.
        let registry = Ecr::new(self.aws.clone());
        Ok(Engine {
            config: Arc::new(config),
            forge,
            argocd,
            registry,
            store,
            repo_name,
        })
    }
}

/// The engine for a one-shot command: prepared and connected, once.
pub async fn engine(config: Config, store: Store) -> Result<RealEngine> {
    Ok(prepare(config).await?.connect(store).await?)
}

fn github_auth(g: &crate::config::GitHub) -> Result<Auth> {
    Ok(
        match (
            g.app_id,
            &g.private_key_file,
            &g.private_key_env,
            &g.token_env,
        ) {
            (Some(app_id), Some(file), _, _) => Auth::App {
                app_id,
                private_key_pem: rsa_key(
                    std::fs::read_to_string(file)
                        .with_context(|| format!("cannot read the GitHub App key {file}"))?,
                    file,
                )?,
                installation_id: g.installation_id,
            },
            (Some(app_id), None, Some(var), _) => Auth::App {
                app_id,
                private_key_pem: rsa_key(env(var)?, var)?,
                installation_id: g.installation_id,
            },
            (_, _, _, Some(var)) => {
                warn!(
                    "authenticating to GitHub with a personal token from {var}: fine for a trial; run Hoist as a GitHub App in production"
                );
                Auth::Token(env(var)?)
            }
            _ => bail!(
                "forge.github needs app_id with private_key_file or private_key_env, or token_env"
            ),
        },
    )
}

/// `pem`, checked to be the RSA key GitHub Apps sign with (named by `from`).
fn rsa_key(pem: String, from: &str) -> Result<String> {
    octocrab::EncodingKey::from_rsa_pem(pem.as_bytes())
        .with_context(|| format!("the GitHub App key in {from} is not an RSA PEM key"))?;
    Ok(pem)
}

fn github_method(method: MergeMethod) -> Result<&'static str> {
    Ok(match method {
        MergeMethod::Squash => "squash",
        MergeMethod::Merge => "merge",
        MergeMethod::Rebase => "rebase",
        MergeMethod::FastForward => bail!("GitHub cannot merge by fast-forward"),
    })
}
