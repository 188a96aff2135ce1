//! The worker function: SQS batches to the engine, partial batch failures back, and a
//! reconcile pass on each scheduled event.

use std::sync::Arc;

use anyhow::{Context, Result};
use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse};
use serde_json::{Value, json};
use tracing::{error, info, warn};

use crate::argocd::ArgoCd;
use crate::config::Config;
use crate::engine::Engine;
use crate::event::{Event, eventbridge, github};
use crate::forge::Forge;
use crate::ingress::envelope::{Inbound, SqsBatch, sqs_records};
use crate::ingress::signature::Secrets;
use crate::registry::Registry;
use crate::worker::{Handler, HandlerError};

pub struct Worker<F: Forge, A: ArgoCd, R: Registry> {
    pub engine: Engine<F, A, R>,
    /// GitHub deliveries are verified again: anyone who may send to the queue could
    /// otherwise speak for GitHub.
    pub github_secrets: Secrets,
}

impl<F: Forge, A: ArgoCd, R: Registry> Worker<F, A, R> {
    /// A fresh execution environment has an empty scratch store: the ledger, Hoist's
    /// heads and the holds come back from the forge, and reconcile re-verifies merged
    /// promotions with Argo CD (verification is not in Git).
    pub async fn cold_start(&self) -> Result<()> {
        let n = self
            .engine
            .rebuild_ledger()
            .await
            .map_err(|e| anyhow::anyhow!("cannot rebuild the ledger from the forge: {e}"))?;
        let report = self
            .engine
            .reconcile()
            .await
            .map_err(|e| anyhow::anyhow!("reconcile failed: {e}"))?;
        info!(
            promotions = n,
            failed = report.failed.len(),
            "cold start: state rebuilt from the forge"
        );
        Ok(())
    }

    /// One invocation: an SQS batch, or a scheduled event that runs reconcile.
    pub async fn invoke(&self, payload: Value) -> Result<Value, String> {
        if payload.get("Records").is_some() {
            let batch: SqsBatch =
                serde_json::from_value(payload).map_err(|e| format!("not an SQS batch: {e}"))?;
            return Ok(serde_json::to_value(self.batch(&batch).await).expect("serializes"));
        }
        if payload["detail-type"] == "Scheduled Event" {
            let report = self
                .engine
                .reconcile()
                .await
                .map_err(|e| format!("reconcile failed: {e}"))?;
            return Ok(json!({"reconciled": true, "failed": report.failed}));
        }
        Err("the worker takes SQS batches and scheduled events only".into())
    }

    /// Handles a batch in order. The queue is FIFO: after the first message that must be
    /// tried again, the rest are returned unhandled too, so none overtakes it.
    pub async fn batch(&self, batch: &SqsBatch) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        let mut blocked = false;
        for (id, inbound) in sqs_records(batch) {
            if !blocked {
                blocked = !self.message(&id, inbound).await;
            }
            if blocked {
                let mut f = BatchItemFailure::default();
                f.item_identifier = id;
                response.batch_item_failures.push(f);
            }
        }
        response
    }

    /// Whether the message is done with (handled, or never to be handled).
    async fn message(&self, id: &str, inbound: Result<Inbound, String>) -> bool {
        let event = match inbound.and_then(|i| self.decode(i)) {
            Ok(ev) => ev,
            Err(e) => {
                // Tried again it fails the same way: after maxReceiveCount it reaches the
                // dead-letter queue, whose alarm tells someone.
                error!(message_id = id, error = %e, "a message that cannot be handled");
                return false;
            }
        };
        if !event.is_actionable() {
            return true;
        }
        match self.engine.handle(event).await {
            Ok(()) => true,
            Err(HandlerError::Permanent(e)) => {
                error!(message_id = id, error = %e, "the event failed for good; dropping it");
                true
            }
            // Waiting (for Argo CD to sync, for the health debounce) would hold back every
            // later event of the repository's message group: the scheduled reconcile
            // re-checks merged promotions instead.
            Err(HandlerError::Waiting(e) | HandlerError::WaitingUntil(e, _)) => {
                info!(message_id = id, waiting = %e, "waiting; the next reconcile checks again");
                true
            }
            Err(e) => {
                info!(message_id = id, error = %e, "not done yet; SQS delivers it again");
                false
            }
        }
    }

    fn decode(&self, inbound: Inbound) -> Result<Event, String> {
        match inbound {
            Inbound::EventBridge(body) => eventbridge::decode(&body)
                .map(|(_, ev)| ev)
                .map_err(|e| format!("malformed EventBridge event: {e}")),
            Inbound::GitHub(d) => {
                if !self
                    .github_secrets
                    .verify_github(d.signature.as_deref(), &d.body)
                {
                    warn!(delivery = %d.delivery, "queued GitHub delivery with a wrong signature");
                    return Err("the queued GitHub delivery's signature does not match".into());
                }
                github::decode(&d.event, &d.body)
                    .map_err(|e| format!("malformed GitHub payload: {e}"))
            }
        }
    }
}

pub async fn run(config: Config) -> Result<()> {
    let db = crate::env::var("HOIST_DB").unwrap_or_else(|| "/tmp/hoist.db".into());
    let store = crate::store::Store::open(std::path::Path::new(&db))
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("cannot open the scratch store {db}"))?;
    let github_secrets =
        Secrets::from_list(&crate::env::var(&config.webhook_secrets_env).unwrap_or_default());
    let engine = crate::cli::connect::engine(config, store).await?;
    let worker = Arc::new(Worker {
        engine,
        github_secrets,
    });
    worker.cold_start().await?;
    super::started();
    lambda_runtime::run(lambda_runtime::service_fn(
        move |ev: lambda_runtime::LambdaEvent<Value>| {
            let w = worker.clone();
            async move { w.invoke(ev.payload).await }
        },
    ))
    .await
    .map_err(|e| anyhow::anyhow!("the Lambda runtime stopped: {e}"))
}
