//! The ingress function: the axum router `hoist serve` uses, at a Function URL, with SQS
//! as its intake.

use std::sync::Arc;

use anyhow::{Context, Result};

use crate::config::{Config, Forge};
use crate::ingress::signature::Secrets;
use crate::server::intake::{Intake, SqsIntake};
use crate::server::{self, AppState};

/// The repository a config promotes in: every message about it shares one SQS group.
pub fn group(config: &Config) -> String {
    match &config.forge {
        Forge::Github(g) => format!("{}/{}", g.owner, g.repo),
        Forge::Codecommit(c) => c.repository.clone(),
    }
}

/// The router with an SQS intake, as the function serves it.
pub fn app(config: &Config, sqs: aws_sdk_sqs::Client, queue_url: String) -> axum::Router {
    let var = |name: &str| Secrets::from_list(&crate::env::var(name).unwrap_or_default());
    let state = Arc::new(AppState {
        intake: Intake::Sqs(SqsIntake {
            client: sqs,
            queue_url,
            group: group(config),
        }),
        github_secrets: var(&config.webhook_secrets_env),
        eventbridge_tokens: var(&config.eventbridge_token_env),
        metrics: server::install_metrics(),
        ready: true.into(),
        forge: Default::default(),
        admission: Default::default(),
        page: None,
    });
    server::router(state)
}

pub async fn run(config: Config) -> Result<()> {
    let queue_url = crate::env::var("HOIST_QUEUE_URL").context(
        "HOIST_QUEUE_URL is not set: the ingress function needs the SQS FIFO queue's URL",
    )?;
    if crate::env::var(&config.webhook_secrets_env).is_none_or(|s| s.is_empty()) {
        tracing::warn!(
            "{} is not set: every GitHub delivery is refused",
            config.webhook_secrets_env
        );
    }
    let shared = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let app = app(&config, aws_sdk_sqs::Client::new(&shared), queue_url);
    super::started();
    lambda_http::run(app)
        .await
        .map_err(|e| anyhow::anyhow!("the Lambda runtime stopped: {e}"))
}
