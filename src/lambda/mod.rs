//! Hoist on AWS Lambda, with no server to run:
//! - the **ingress** function serves the same axum router at a Function URL; a verified
//!   GitHub delivery goes onto an SQS FIFO queue (one message group per repository, the
//!   delivery id as deduplication id) before it is answered;
//! - the **worker** function consumes SQS batches (queued GitHub deliveries, and the ECR
//!   and CodeCommit events an EventBridge rule sends there), hands each to the engine,
//!   and reports partial batch failures; an EventBridge schedule runs reconcile on it.
//!
//! There is no SQLite file to keep on Lambda: the queue is SQS and the truth is the forge
//! and Git. The worker keeps a scratch store in `/tmp`, rebuilt from the forge at each
//! cold start (see [`worker::Worker::cold_start`]).

pub mod ingress;
pub mod secrets;
pub mod worker;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// Which function this process is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    Ingress,
    Worker,
}

impl Role {
    /// From the function's handler setting (`_HANDLER`), as custom runtimes receive it.
    pub fn from_handler() -> Result<Self> {
        match std::env::var("_HANDLER").as_deref() {
            Ok("ingress") => Ok(Role::Ingress),
            Ok("worker") => Ok(Role::Worker),
            Ok(other) => bail!("the function's handler is {other:?}: set it to ingress or worker"),
            Err(_) => {
                bail!("no --role and no _HANDLER: say which function this is (ingress or worker)")
            }
        }
    }
}

/// Where the config is: `--config`, else `HOIST_CONFIG`, else `hoist.yaml` beside the
/// binary (`/var/task` on Lambda).
pub fn config_path(given: Option<PathBuf>) -> PathBuf {
    given
        .or_else(|| std::env::var_os("HOIST_CONFIG").map(PathBuf::from))
        .unwrap_or_else(|| Path::new("/var/task/hoist.yaml").to_owned())
}

/// Set once the runtime loop starts: from then on a failure is not an init error.
static STARTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub(crate) fn started() {
    STARTED.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Runs the function until the Lambda runtime stops it.
pub fn run(role: Role, config: &Path) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async {
        let result = async {
            secrets::load().await?;
            let config = crate::config::Config::load(config)
                .map_err(|e| anyhow::anyhow!("{e}"))
                .with_context(|| format!("cannot load {}", config.display()))?;
            for w in crate::messages::config_warnings(&config) {
                tracing::warn!("{w}");
            }
            match role {
                Role::Ingress => ingress::run(config).await,
                Role::Worker => worker::run(config).await,
            }
        }
        .await;
        if let Err(e) = &result
            && !STARTED.load(std::sync::atomic::Ordering::Relaxed)
        {
            init_error(&format!("{e:#}")).await;
        }
        result
    })
}

/// Tells the Lambda service why the function could not start (a bad config, an
/// unreadable secret, a forge that cannot be reached), so the console and CloudWatch say
/// so instead of a bare exit. Best effort: the process exits with the error anyway.
pub async fn init_error(message: &str) {
    let Ok(api) = std::env::var("AWS_LAMBDA_RUNTIME_API") else {
        return;
    };
    tracing::error!(error = message, "the function cannot start");
    let Ok(http) = octocrab::Octocrab::builder().build() else {
        return;
    };
    let body = serde_json::json!({"errorMessage": message, "errorType": "Hoist.InitError"});
    let url = format!("http://{api}/2018-06-01/runtime/init/error");
    // The header is what the Lambda console and CloudWatch show as the error's type.
    let request =
        http::Request::post(url).header("Lambda-Runtime-Function-Error-Type", "Hoist.InitError");
    let _ = async {
        http.execute(http.build_request(request, Some(&body))?)
            .await
    }
    .await
    .map(|_| ())
    .inspect_err(|e| tracing::warn!(error = %e, "cannot report the init error"));
}
