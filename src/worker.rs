//! Workers take stored events and run the handler, one event per serial key at a time,
//! retrying failures with backoff. What a crash interrupts is taken again on start.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Notify, watch};
use tracing::{Instrument, error, info, info_span, warn};

use crate::event::Event;
use crate::store::{Claimed, Store};

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Worth another try later: a forge outage, a rate limit.
    #[error("{0}")]
    Retryable(String),
    /// Will fail the same way every time.
    #[error("{0}")]
    Permanent(String),
    /// Not failed: waiting for something outside (Argo CD to sync). Tried again later.
    #[error("{0}")]
    Waiting(String),
    /// Waiting for a known instant (milliseconds since the epoch), such as the end of
    /// Argo CD's health debounce: tried again then, not after a backoff.
    #[error("{0}")]
    WaitingUntil(String, i64),
}

/// How a stored event's `last_error` begins when it is not failed but waiting for
/// something outside (Argo CD to sync).
pub const WAITING: &str = "waiting: ";

/// What runs for each event.
pub trait Handler: Send + Sync + 'static {
    fn handle(&self, event: Event) -> impl Future<Output = Result<(), HandlerError>> + Send;

    /// Tells the people concerned that `event` failed for good (`why`), where there is a
    /// place to say it; it is logged and counted either way.
    fn failed_for_good(&self, event: &Event, why: &str) -> impl Future<Output = ()> + Send {
        let _ = (event, why);
        async {}
    }
}

/// Until the promotion engine handles events, they are recorded and logged. `delay`
/// holds each event in the running state, for fault tests of crash recovery.
pub struct Recorder {
    pub delay: Duration,
}

impl Handler for Recorder {
    async fn handle(&self, event: Event) -> Result<(), HandlerError> {
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        info!(kind = event.kind(), "event recorded");
        Ok(())
    }
}

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base: Duration,
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            base: Duration::from_secs(2),
            cap: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// Exponential backoff with ±20% jitter, so retries of many events spread out.
    pub fn delay(&self, attempt: u32) -> Duration {
        crate::backoff::jitter(crate::backoff::exponential(self.base, self.cap, attempt))
    }
}

/// The shared queue: the store and the bell rung when an event may be ready.
#[derive(Clone)]
pub struct Queue {
    pub store: Store,
    pub wake: Arc<Notify>,
}

/// Runs one worker until `shutdown` turns true; the event in hand is finished first.
pub async fn run<H: Handler>(
    queue: Queue,
    handler: Arc<H>,
    policy: RetryPolicy,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        if *shutdown.borrow() {
            return;
        }
        let notified = queue.wake.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        match queue.store.claim().await {
            Ok(Some(c)) => process(&queue, handler.as_ref(), &policy, c).await,
            Ok(None) => {
                let wait = match queue.store.next_ready_at().await {
                    Ok(Some(at)) => {
                        Duration::from_millis((at - queue.store.now_ms()).clamp(10, 1000) as u64)
                    }
                    _ => Duration::from_secs(1),
                };
                tokio::select! {
                    _ = &mut notified => {}
                    _ = tokio::time::sleep(wait) => {}
                    _ = shutdown.changed() => {}
                }
            }
            Err(e) => {
                error!(error = %e, "cannot take events from the store");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Runs the handler on one claimed event and records its outcome (done, retried later,
/// waiting, or failed for good).
pub async fn process<H: Handler>(queue: &Queue, handler: &H, policy: &RetryPolicy, c: Claimed) {
    let span =
        info_span!("event", id = c.id, key = %c.dedupe_key, kind = %c.kind, attempt = c.attempts);
    async {
        let started = Instant::now();
        let event = serde_json::from_str::<Event>(&c.payload);
        let result = match &event {
            Ok(event) => handler.handle(event.clone()).await,
            Err(e) => Err(HandlerError::Permanent(format!("stored event does not decode: {e}"))),
        };
        metrics::histogram!("hoist_handler_seconds", "type" => c.kind.clone()).record(started.elapsed().as_secs_f64());
        let now = queue.store.now_ms();
        let (outcome, retry_at, error) = match result {
            Ok(()) => ("done", None, None),
            // Bounded by itself: it comes only once Argo CD reports Healthy, for one debounce.
            Err(HandlerError::WaitingUntil(e, at)) => {
                let at = at.max(now);
                info!(waiting_for = %e, retry_in_ms = at - now, "waiting until a known instant");
                ("waiting", Some(at), Some(format!("{WAITING}{e}")))
            }
            Err(HandlerError::Waiting(e)) if c.attempts < policy.max_attempts => {
                let at = now + policy.delay(c.attempts).as_millis() as i64;
                info!(waiting_for = %e, retry_in_ms = at - now, "not done yet; will look again");
                // Marked, so `hoist status` tells a wait from a failure.
                ("waiting", Some(at), Some(format!("{WAITING}{e}")))
            }
            Err(HandlerError::Retryable(e)) if c.attempts < policy.max_attempts => {
                let at = now + policy.delay(c.attempts).as_millis() as i64;
                warn!(error = %e, retry_in_ms = at - now, "handler failed; will retry");
                ("retry", Some(at), Some(e))
            }
            Err(e) => {
                // Never silent: logged, counted by why, and kept in the store with its error.
                let reason = match e {
                    HandlerError::Permanent(_) => "permanent",
                    _ => "attempts",
                };
                error!(error = %e, reason, attempts = c.attempts, "handler failed for good");
                metrics::counter!("hoist_events_failed_total", "type" => c.kind.clone(), "reason" => reason).increment(1);
                if let Ok(event) = &event {
                    handler.failed_for_good(event, &e.to_string()).await;
                }
                ("failed", None, Some(e.to_string()))
            }
        };
        record(queue, policy, &c, retry_at, error, outcome == "waiting").await;
        metrics::counter!("hoist_events_handled_total", "type" => c.kind.clone(), "outcome" => outcome).increment(1);
        // The next event with the same serial key may be ready now.
        queue.wake.notify_waiters();
    }
    .instrument(span)
    .await
}

/// Records an event's outcome, trying again while the store refuses (a full disk, a lock
/// held too long). An outcome never recorded would leave its serial key busy and every
/// later event of that key waiting for a restart; if the store keeps refusing, the key is
/// released anyway and the event runs again later (handlers are idempotent, as after a
/// crash).
async fn record(
    queue: &Queue,
    policy: &RetryPolicy,
    c: &Claimed,
    retry_at: Option<i64>,
    error: Option<String>,
    waiting: bool,
) {
    let mut pause = Duration::from_millis(100);
    for attempt in 1..=RECORD_ATTEMPTS {
        let stored = match (&error, retry_at) {
            (None, _) => queue.store.complete(c.id).await,
            // A wait steps out of its lane: later events of its key do not queue behind it.
            (Some(e), Some(at)) if waiting => queue.store.wait(c.id, e.clone(), at).await,
            (Some(e), _) => queue.store.fail(c.id, e.clone(), retry_at).await,
        };
        match stored {
            Ok(()) => return,
            Err(e) if attempt < RECORD_ATTEMPTS => {
                warn!(error = %e, "cannot record the outcome; trying again");
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
            Err(e) => {
                let now = queue.store.now_ms();
                let at = now + policy.delay(c.attempts).as_millis() as i64;
                error!(error = %e, retry_in_ms = at - now, "cannot record the outcome; the event will run again");
                if let Err(e) = queue.store.release(&c.serial_key, c.id, at).await {
                    error!(error = %e, "cannot release the event's key; it runs again after a restart");
                }
            }
        }
    }
}

/// 100 ms doubling: the last try is about 3 s after the first.
const RECORD_ATTEMPTS: u32 = 6;
