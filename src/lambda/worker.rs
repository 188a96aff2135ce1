//! The worker function: SQS batches to the engine, partial batch failures back, and a
//! reconcile pass on each scheduled event.
//!
//! It starts whatever the state of GitHub, CodeCommit, Argo CD or ECR: until the forge
//! answers (and the scratch store is rebuilt from it), every message comes back later,
//! put off a little longer each time it is received (see [`visibility`]), so that an
//! outage of hours dead-letters nothing. Only a message that can never be handled
//! (malformed, or a GitHub delivery whose signature does not match) goes to the
//! dead-letter queue, at once, without holding back the messages behind it.

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
use crate::ingress::envelope::{Inbound, SqsBatch, SqsRecord, classify};
use crate::ingress::signature::Secrets;
use crate::registry::Registry;
use crate::worker::{Handler, HandlerError};

pub struct Worker<F: Forge, A: ArgoCd, R: Registry> {
    pub engine: Engine<F, A, R>,
    /// GitHub deliveries are verified again: anyone who may send to the queue could
    /// otherwise speak for GitHub.
    pub github_secrets: Secrets,
    /// The queue, to put off messages that must come again and to dead-letter those
    /// that never can; without it they fail and come back at the queue's own pace.
    pub queue: Option<SqsQueue>,
}

/// The queue the worker consumes (`HOIST_QUEUE_URL`) and its dead-letter queue
/// (`HOIST_DEAD_LETTER_QUEUE_URL`).
#[derive(Clone)]
pub struct SqsQueue {
    pub client: aws_sdk_sqs::Client,
    pub url: String,
    pub dead_letter_url: Option<String>,
}

/// How long a message that must come again stays out of sight after its `receives`-th
/// receive: a minute, doubling, at most 15 minutes, give or take a fifth. With the
/// template's `maxReceiveCount` of 50, a message survives at least
/// [`survives`]`(50)`, about 9 hours, of failing receives before it is dead-lettered.
pub fn visibility(receives: u32) -> std::time::Duration {
    crate::backoff::jitter(visibility_before_jitter(receives))
}

fn visibility_before_jitter(receives: u32) -> std::time::Duration {
    use std::time::Duration;
    crate::backoff::exponential(Duration::from_secs(60), Duration::from_secs(900), receives)
}

/// The shortest time a message that fails on every receive stays in the queue before
/// SQS dead-letters it, with `max_receive_count` as the redrive policy's: the sum of
/// its put-offs at the low end of their jitter.
pub fn survives(max_receive_count: u32) -> std::time::Duration {
    (1..=max_receive_count)
        .map(|n| visibility_before_jitter(n).mul_f64(0.8))
        .sum()
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
        match Invocation::of(payload)? {
            Invocation::Batch(batch) => {
                let response = self.batch(&batch).await;
                self.notify_queued().await;
                Ok(serde_json::to_value(response).expect("serializes"))
            }
            Invocation::Scheduled => {
                let report = self
                    .engine
                    .reconcile()
                    .await
                    .map_err(|e| format!("reconcile failed: {e}"))?;
                self.notify_queued().await;
                Ok(json!({"reconciled": true, "failed": report.failed}))
            }
        }
    }

    /// Sends the notifications the invocation queued in the scratch store (the only
    /// events it holds: SQS holds the rest), for at most [`NOTIFY_BUDGET`]. One that
    /// fails in a way worth retrying is tried again by a later invocation of this
    /// execution environment, after its backoff; a cold start loses what was left.
    async fn notify_queued(&self) {
        let queue = crate::worker::Queue {
            store: self.engine.store.clone(),
            wake: Arc::new(tokio::sync::Notify::new()),
        };
        let policy = crate::worker::RetryPolicy::default();
        let started = std::time::Instant::now();
        while started.elapsed() < NOTIFY_BUDGET {
            match self.engine.store.claim().await {
                Ok(Some(c)) => crate::worker::process(&queue, &self.engine, &policy, c).await,
                Ok(None) => return,
                Err(e) => {
                    warn!(error = %e, "cannot take queued notifications from the scratch store");
                    return;
                }
            }
        }
    }

    /// Handles a batch in order. The queue is FIFO: after the first message that must be
    /// tried again, the rest are returned unhandled too, so none overtakes it.
    pub async fn batch(&self, batch: &SqsBatch) -> SqsBatchResponse {
        let mut again = Vec::new();
        for r in &batch.records {
            if again.is_empty() && self.message(r).await {
                continue;
            }
            again.push(r);
        }
        come_again(self.queue.as_ref(), &again).await
    }

    /// Whether the message is done with (handled, dead-lettered, or never to be handled).
    async fn message(&self, r: &SqsRecord) -> bool {
        let id = &r.message_id;
        let inbound = r
            .body
            .as_deref()
            .ok_or_else(|| "SQS record without a body".to_owned())
            .and_then(classify);
        let event = match inbound.and_then(|i| self.decode(i)) {
            Ok(ev) => ev,
            Err(e) => {
                error!(message_id = id, error = %e, "a message that cannot be handled");
                return self.dead_letter(r, &e).await;
            }
        };
        if !event.is_actionable() {
            return true;
        }
        match self.engine.handle(event.clone()).await {
            Ok(()) => true,
            Err(HandlerError::Permanent(e)) => {
                error!(message_id = id, error = %e, "the event failed for good; dropping it");
                self.engine.failed_for_good(&event, &e).await;
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

    /// Moves a message that can never be handled to the dead-letter queue, whose alarm
    /// tells someone, so that it does not hold back the repository's messages behind it
    /// for its every receive. Without a dead-letter queue to send to, or when sending
    /// fails, it fails instead, and SQS's redrive policy moves it there in the end.
    async fn dead_letter(&self, r: &SqsRecord, why: &str) -> bool {
        let Some((q, dlq)) = self
            .queue
            .as_ref()
            .and_then(|q| q.dead_letter_url.as_ref().map(|d| (q, d)))
        else {
            return false;
        };
        let sent = q
            .client
            .send_message()
            .queue_url(dlq)
            .message_body(r.body.clone().unwrap_or_default())
            .message_group_id("hoist-dead-letters")
            .message_deduplication_id(&r.message_id)
            .message_attributes(
                "hoist-error",
                aws_sdk_sqs::types::MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value(why)
                    .build()
                    .expect("data type and value are set"),
            )
            .send()
            .await;
        match sent {
            Ok(_) => {
                warn!(
                    message_id = r.message_id,
                    error = why,
                    "moved to the dead-letter queue"
                );
                true
            }
            Err(e) => {
                warn!(message_id = r.message_id, error = %aws_sdk_sqs::error::DisplayErrorContext(&e),
                    "cannot send to the dead-letter queue; the redrive policy will");
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

/// Reports `records` as failed so that SQS hands them out again, each put off for its
/// [`visibility`] first: a message that keeps failing (a forge outage) comes back less
/// and less often instead of running through its receives in an hour.
pub async fn come_again(queue: Option<&SqsQueue>, records: &[&SqsRecord]) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for r in records {
        if let (Some(q), Some(handle)) = (queue, &r.receipt_handle) {
            let after = visibility(r.receives());
            let put_off = q
                .client
                .change_message_visibility()
                .queue_url(&q.url)
                .receipt_handle(handle)
                .visibility_timeout(after.as_secs() as i32)
                .send()
                .await;
            match put_off {
                Ok(_) => info!(
                    message_id = r.message_id,
                    receives = r.receives(),
                    retry_in_s = after.as_secs(),
                    "the message comes again later"
                ),
                Err(e) => {
                    warn!(message_id = r.message_id, error = %aws_sdk_sqs::error::DisplayErrorContext(&e),
                    "cannot put the message off; it comes again after the queue's visibility timeout")
                }
            }
        }
        let mut f = BatchItemFailure::default();
        f.item_identifier = r.message_id.clone();
        response.batch_item_failures.push(f);
    }
    response
}

/// The most an invocation spends sending the notifications it queued.
const NOTIFY_BUDGET: std::time::Duration = std::time::Duration::from_secs(20);

/// How long an invocation may spend connecting and rebuilding the scratch store; the
/// template gives the function 60 seconds.
const CONNECT_DEADLINE: std::time::Duration = std::time::Duration::from_secs(40);

type RealWorker = Worker<crate::forge::any::AnyForge, crate::app::Argo, crate::registry::ecr::Ecr>;

/// The function as Lambda runs it: prepared at init (a mistake in the config or its
/// secrets fails init, as it should), connected to the forge, and its scratch store
/// rebuilt, by the first invocation that finds the forge reachable.
struct Function {
    prepared: crate::app::Prepared,
    store: crate::store::Store,
    github_secrets: Secrets,
    queue: Option<SqsQueue>,
    worker: tokio::sync::OnceCell<RealWorker>,
}

impl Function {
    async fn invoke(&self, payload: Value) -> Result<Value, String> {
        // Well inside the function's timeout: a forge that hangs must leave time to put
        // the batch off, or it comes back at the queue's pace.
        let connect = async {
            tokio::time::timeout(CONNECT_DEADLINE, self.connect())
                .await
                .unwrap_or_else(|_| Err("the forge did not answer in time".to_owned()))
        };
        match self.worker.get_or_try_init(|| connect).await {
            Ok(w) => w.invoke(payload).await,
            Err(why) => self.unreachable(payload, &why).await,
        }
    }

    /// Connects and rebuilds the scratch store; on failure the next invocation tries
    /// again from the start.
    async fn connect(&self) -> Result<RealWorker, String> {
        let engine = self
            .prepared
            .connect(self.store.clone())
            .await
            .map_err(|e| e.message)?;
        let worker = Worker {
            engine,
            github_secrets: self.github_secrets.clone(),
            queue: self.queue.clone(),
        };
        worker.cold_start().await.map_err(|e| format!("{e:#}"))?;
        Ok(worker)
    }

    /// Until the forge answers: every message comes again later, and a scheduled
    /// reconcile says it did not run (it is not an error of the function's).
    async fn unreachable(&self, payload: Value, why: &str) -> Result<Value, String> {
        warn!(
            error = why,
            "cannot reach the forge yet; messages come again later"
        );
        match Invocation::of(payload)? {
            Invocation::Batch(batch) => {
                let all: Vec<_> = batch.records.iter().collect();
                let response = come_again(self.queue.as_ref(), &all).await;
                Ok(serde_json::to_value(response).expect("serializes"))
            }
            Invocation::Scheduled => Ok(json!({"reconciled": false, "waiting": why})),
        }
    }
}

/// What the worker is invoked with.
enum Invocation {
    Batch(SqsBatch),
    /// An EventBridge schedule: a reconcile pass.
    Scheduled,
}

impl Invocation {
    fn of(payload: Value) -> Result<Self, String> {
        if payload.get("Records").is_some() {
            return serde_json::from_value(payload)
                .map(Invocation::Batch)
                .map_err(|e| format!("not an SQS batch: {e}"));
        }
        if payload["detail-type"] == "Scheduled Event" {
            return Ok(Invocation::Scheduled);
        }
        Err("the worker takes SQS batches and scheduled events only".into())
    }
}

pub async fn run(config: Config) -> Result<()> {
    let db = crate::env::var("HOIST_DB").unwrap_or_else(|| "/tmp/hoist.db".into());
    let store = crate::store::Store::open(std::path::Path::new(&db))
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("cannot open the scratch store {db}"))?;
    let github_secrets =
        Secrets::from_list(&crate::env::var(&config.webhook_secrets_env).unwrap_or_default());
    let prepared = crate::app::prepare(config).await?;
    let queue = match crate::env::var("HOIST_QUEUE_URL") {
        Some(url) => Some(SqsQueue {
            client: aws_sdk_sqs::Client::new(prepared.aws()),
            url,
            dead_letter_url: crate::env::var("HOIST_DEAD_LETTER_QUEUE_URL"),
        }),
        None => {
            warn!("HOIST_QUEUE_URL is not set: failed messages come again at the queue's own pace");
            None
        }
    };
    let function = Arc::new(Function {
        prepared,
        store,
        github_secrets,
        queue,
        worker: tokio::sync::OnceCell::new(),
    });
    // The forge is first reached by the first invocation, not at init: Lambda gives
    // init 10 seconds, and an unreachable forge must not keep the function from starting.
    super::started();
    lambda_runtime::run(lambda_runtime::service_fn(
        move |ev: lambda_runtime::LambdaEvent<Value>| {
            let f = function.clone();
            async move { f.invoke(ev.payload).await }
        },
    ))
    .await
    .map_err(|e| anyhow::anyhow!("the Lambda runtime stopped: {e}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_failing_message_survives_a_six_hour_outage() {
        let s = std::time::Duration::from_secs;
        assert_eq!(super::survives(4), s(720));
        assert_eq!(super::survives(50), s(720 + 46 * 720));
        assert!(super::survives(50) > s(6 * 3600));
    }
}
