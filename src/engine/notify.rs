//! Notifications as effects: what happened is queued in the store, one event per
//! webhook that wants it, under a key naming the occurrence, so a redelivered event
//! queues nothing new; the queue's workers deliver them (see `deliver`), retrying with
//! backoff, on their own serial key, so a slow or failing webhook never holds up a
//! promotion.

use tracing::{info, warn};

use super::Engine;
use crate::argocd::ArgoCd;
use crate::config::NotifyEvent;
use crate::event::Event;
use crate::forge::Forge;
use crate::notify::{self, Failure, Item, Notice};
use crate::registry::Registry;
use crate::store::NewEvent;
use crate::store::heads::HoistHead;
use crate::worker::HandlerError;

impl<F: Forge, A: ArgoCd, R: Registry> Engine<F, A, R> {
    /// A notice of `event` in `stage`, saying `summary`; the rest is filled in by the
    /// caller where it applies.
    pub(super) fn notice(&self, event: NotifyEvent, stage: &str, summary: String) -> Notice {
        Notice {
            version: notify::VERSION,
            event,
            repository: self.repo_name.clone(),
            stage: stage.to_owned(),
            service: None,
            freight: vec![],
            pull_request: None,
            requested_by: None,
            summary,
            at: crate::clock::rfc3339(self.store.now_ms() / 1000),
        }
    }

    /// A notice of `event` about pull request `number`, whose head Hoist wrote for `h`
    /// (the store's record: the freight and who asked never come from the body).
    pub(super) fn notice_of(
        &self,
        event: NotifyEvent,
        h: &HoistHead,
        number: u64,
        summary: String,
    ) -> Notice {
        let mut n = self.notice(event, &h.stage, summary);
        n.service = Some(h.group.clone().unwrap_or_else(|| h.freight.service.clone()));
        n.freight = h
            .all_freight()
            .into_iter()
            .map(|f| Item {
                service: f.service.clone(),
                tag: f.tag.to_string(),
                digest: f.digest.as_str().to_owned(),
            })
            .collect();
        n.pull_request = Some(notify::PullRequest {
            number,
            url: crate::status::pr_link(&self.config, number).url,
        });
        n.requested_by = Some(h.requester.login.clone());
        n
    }

    /// A pull request Hoist opened for `h` (a rollback's says so).
    pub(super) async fn notify_opened(&self, h: &HoistHead, number: u64) {
        let what = crate::messages::notify_what(h);
        let (event, summary) = match &h.rollback_of {
            Some(from) => (
                NotifyEvent::Rollback,
                crate::messages::notify_rollback(&what, &h.stage, from),
            ),
            None => (
                NotifyEvent::Opened,
                crate::messages::notify_opened(&what, &h.stage),
            ),
        };
        let n = self.notice_of(event, h, number, summary);
        self.notify(n, &format!("opened:{number}:{}", h.sha)).await;
    }

    /// A command by `author` on pull request `number` refused about `stage`, told once
    /// per comment and only of people with write access (the forge's permission): a
    /// reader's comments must not be able to flood the channel.
    pub(super) async fn notify_refused(
        &self,
        number: u64,
        comment_id: u64,
        stage: &str,
        reply: &str,
        author: &crate::domain::Actor,
    ) -> super::Result<()> {
        if self.config.notify.is_empty()
            || self.forge.permission(author).await? < crate::forge::Permission::Write
        {
            return Ok(());
        }
        let summary = crate::messages::notify_refused(reply);
        let mut n = self.notice(NotifyEvent::Refused, stage, summary);
        n.pull_request = Some(notify::PullRequest {
            number,
            url: crate::status::pr_link(&self.config, number).url,
        });
        n.requested_by = Some(author.login.clone());
        self.notify(n, &format!("refused:{comment_id}")).await;
        Ok(())
    }

    /// Queues `notice` for each webhook that wants its event and stage, under `key`
    /// (the occurrence: a second queueing of one key adds nothing). Never fails what
    /// called it: a notice that cannot be queued is logged.
    pub(super) async fn notify(&self, notice: Notice, key: &str) {
        for hook in &self.config.notify {
            let wants_event = hook.on.is_empty() || hook.on.contains(&notice.event);
            let wants_stage = hook.stages.is_empty() || hook.stages.contains(&notice.stage);
            if !wants_event || !wants_stage {
                continue;
            }
            let event = Event::Notify {
                url_env: hook.url_env.clone(),
                format: hook.format,
                notice: Box::new(notice.clone()),
            };
            let queued = self
                .store
                .insert(NewEvent {
                    dedupe_key: format!("notify:{}:{key}", hook.url_env),
                    serial_key: event.serial_key(),
                    kind: event.kind().into(),
                    payload: serde_json::to_string(&event).expect("an event serializes"),
                })
                .await;
            if let Err(e) = queued {
                warn!(error = %e, key, "cannot queue a notification");
            }
        }
    }

    /// Delivers a queued notice to the webhook `url_env` names, if the config still
    /// lists it (a queued event is the store's, but the config decides where Hoist
    /// sends). A failure the webhook may get over is retried by the queue.
    pub(super) async fn deliver(
        &self,
        url_env: &str,
        format: crate::config::NotifyFormat,
        notice: &Notice,
    ) -> Result<(), HandlerError> {
        if !self.config.notify.iter().any(|h| h.url_env == url_env) {
            warn!(
                url_env,
                "a notification for a webhook the config no longer lists"
            );
            return Err(HandlerError::Permanent(
                crate::messages::notify_not_configured(url_env),
            ));
        }
        let Some(url) = crate::env::var(url_env) else {
            return Err(HandlerError::Permanent(crate::messages::notify_no_url(
                url_env,
            )));
        };
        match notify::post(&url, &notify::body(notice, format)).await {
            Ok(()) => {
                info!(
                    url_env,
                    event = notify::event_name(notice.event),
                    "notified"
                );
                Ok(())
            }
            Err(Failure::Retry(why)) => Err(HandlerError::Retryable(why)),
            Err(Failure::Never(why)) => Err(HandlerError::Permanent(why)),
        }
    }
}
