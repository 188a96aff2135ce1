//! The promotion engine: gathers facts through the ports, decides with the planner and
//! the policy functions, and acts through the ports. Every effect is idempotent, so an
//! event handled twice (a retry, a redelivery) changes nothing the second time.

mod commands;
mod dag_check;
mod freeze;
mod group;
mod merge;
mod notify;
mod promote;
pub mod reconcile;
mod rollback;

use std::sync::Arc;

use tracing::info;

use crate::argocd::ArgoCd;
use crate::config::Config;
use crate::domain::{Actor, ActorKind};
use crate::event::{CodeCommitChange, Event};
use crate::forge::{Forge, ForgeError};
use crate::plan::PlanError;
use crate::registry::Registry;
use crate::repo::MapRepo;
use crate::store::{Store, StoreError};
use crate::worker::{Handler, HandlerError};

pub use promote::Outcome;
pub use reconcile::Report;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Forge(#[from] ForgeError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Not done yet (Argo CD has not synced): the queue tries again later.
    #[error("waiting: {0}")]
    Waiting(String),
    /// Not done yet, and what comes after it on the same pull request must wait behind
    /// it (commands that must keep their order): retried in place.
    #[error("not yet: {0}")]
    InOrder(String),
    /// Not done before a known instant (milliseconds since the epoch): the queue tries
    /// again then.
    #[error("waiting: {0}")]
    WaitingUntil(String, i64),
    /// A pull request that cannot merge before the instant given (its freight soaks
    /// upstream, or no deploy window is open): the event that found it so is tried
    /// again then.
    #[error("not before: {0}")]
    NotBefore(String, i64),
}

/// A scheduled wait (a soak, a deploy window) taken as done where the caller has nothing
/// to retry: the pull request's own events come back when it ends (and reconcile
/// evaluates it on every pass).
fn not_before_is_done(e: EngineError) -> Result<()> {
    match e {
        EngineError::NotBefore(why, _) => {
            tracing::info!(why, "not before");
            Ok(())
        }
        e => Err(e),
    }
}

impl From<EngineError> for HandlerError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Forge(ForgeError::NotFound(_) | ForgeError::Other(_))
            | EngineError::Plan(_) => HandlerError::Permanent(e.to_string()),
            EngineError::Waiting(w) => HandlerError::Waiting(w),
            EngineError::WaitingUntil(w, at) | EngineError::NotBefore(w, at) => {
                HandlerError::WaitingUntil(w, at)
            }
            _ => HandlerError::Retryable(e.to_string()),
        }
    }
}

pub type Result<T> = std::result::Result<T, EngineError>;

pub struct Engine<F: Forge, A: ArgoCd, R: Registry> {
    pub config: Arc<Config>,
    pub forge: F,
    pub argocd: A,
    pub registry: R,
    pub store: Store,
    /// `owner/repo`, for messages.
    pub repo_name: String,
}

/// A merged pull request as its signed webhook describes it, kept for this event's
/// scope: merged, it never changes again (trusted: GitHub's word on its head, base and
/// head repository), so its handling reads nothing back.
fn seed_merged(event: &Event) {
    if let Event::PullRequestClosed {
        pr,
        head_ref,
        merge_commit_sha: Some(sha),
        merged_pr: Some(m),
        ..
    } = event
    {
        crate::forge::scope::known_pull_request(crate::forge::PullRequest {
            number: *pr,
            head_ref: head_ref.clone(),
            head_sha: m.head_sha.clone(),
            // Never read for a decision (anyone with write access edits them).
            title: String::new(),
            body: String::new(),
            state: crate::forge::PrState::Merged,
            merge_sha: Some(sha.clone()),
            base_sha: m.base_sha.clone(),
            base_ref: m.base_ref.clone(),
            mergeable: None,
            from_fork: m.from_fork,
        });
    }
}

impl<F: Forge, A: ArgoCd, R: Registry> Handler for Engine<F, A, R> {
    /// Handles one event: checks the repository, takes its serial key and sends it to its
    /// handler.
    ///
    /// Kept whole: one match over the event kinds, each arm sending to its handler, under a
    /// single repository check and serial-key lock.
    async fn handle(&self, event: Event) -> std::result::Result<(), HandlerError> {
        // A webhook shared by several repositories (an org or App hook) delivers events
        // about others too: acting on them would merge by another repository's numbers.
        if let Some(repo) = event.repo()
            && !repo.full_name.eq_ignore_ascii_case(&self.repo_name)
        {
            info!(repo = %repo.full_name, "ignoring an event about another repository");
            return Ok(());
        }
        if let Event::Notify {
            url_env,
            format,
            notice,
        } = &event
        {
            return self.deliver(url_env, *format, notice).await;
        }
        // The queue already runs one event per key at a time; this also keeps reconcile
        // off the pull request or image an event is working on.
        let _key = self.store.lock(&event.serial_key()).await;
        // One scope per event: what a batched read brought serves the rest of this
        // handling, and nothing after it.
        crate::forge::scope::within(Box::pin(async {
            seed_merged(&event);
            match event {
                Event::ImagePushed {
                    image,
                    tag,
                    digest,
                    time,
                } => self.on_push(&image, &tag, &digest, &time).await.map(drop),
                Event::CommentCreated {
                    comment_id,
                    body,
                    author,
                    number,
                    is_pull_request,
                    ..
                } => {
                    let own = author.kind == ActorKind::Bot || author.is(self.forge.me());
                    if is_pull_request && !own {
                        self.on_comment(number, comment_id, &body, &author, false)
                            .await
                    } else {
                        Ok(())
                    }
                }
                Event::PullRequestSynchronized { pr, .. } | Event::PullRequestOpened { pr, .. } => {
                    self.dag_check(pr).await?;
                    self.evaluate(pr).await
                }
                Event::ReviewSubmitted { pr, .. } => self.evaluate(pr).await,
                Event::CheckCompleted { prs, head_sha, .. } => {
                    // GitHub leaves `pull_requests` empty for some checks (other apps' runs,
                    // forks): find Hoist's pull requests at that head instead.
                    let prs = if prs.is_empty() {
                        match self
                            .forge
                            .open_pull_requests(crate::marks::BRANCH_PREFIX)
                            .await
                        {
                            Ok(open) => open
                                .into_iter()
                                .filter(|p| p.head_sha == head_sha)
                                .map(|p| p.number)
                                .collect(),
                            Err(e) => return Err(HandlerError::from(EngineError::from(e))),
                        }
                    } else {
                        prs
                    };
                    // Every pull request is evaluated; the earliest soak is waited for after.
                    let mut soak: Option<(String, i64)> = None;
                    for pr in prs {
                        match self.evaluate(pr).await {
                            Err(EngineError::NotBefore(why, at)) => {
                                if soak.as_ref().is_none_or(|(_, a)| at < *a) {
                                    soak = Some((why, at));
                                }
                            }
                            other => other?,
                        }
                    }
                    soak.map_or(Ok(()), |(why, at)| Err(EngineError::NotBefore(why, at)))
                }
                Event::PullRequestClosed {
                    pr, merged: true, ..
                } => self.on_merged(pr).await,
                Event::PullRequestClosed {
                    pr, merged: false, ..
                } => self.on_closed(pr).await,
                Event::CodeCommitPullRequest { pr, change, .. } => match pr.parse() {
                    Ok(n) => self.on_codecommit_pr(n, change).await,
                    Err(_) => {
                        info!(%pr, "ignoring a pull request id that is not a number");
                        Ok(())
                    }
                },
                Event::CodeCommitComment { pr, comment_id, .. } => match pr.parse() {
                    Ok(n) => self.on_codecommit_comment(n, &comment_id).await,
                    Err(_) => {
                        info!(%pr, "ignoring a pull request id that is not a number");
                        Ok(())
                    }
                },
                _ => Ok(()),
            }
            .map_err(HandlerError::from)
        }))
        .await
    }

    /// A comment on the event's pull request, so that whoever waits for it (the author
    /// of a `/promote`, the merge of a promotion) learns it will not come. Best effort:
    /// a pull request that is gone cannot be told.
    async fn failed_for_good(&self, event: &Event, why: &str) {
        // `handle` answers another repository's events with Ok: they never get here.
        let Some(n) = event.pull_request() else {
            return;
        };
        // Once per event, and only while the pull request's comments can be read: a
        // comment must never cause another event that fails the same way.
        let key = {
            // SHA-256: the same event gives the same key across Hoist's versions.
            use sha2::Digest;
            let json = serde_json::to_string(event).unwrap_or_default();
            let h = sha2::Sha256::digest(json.as_bytes());
            let hex: String = h[..8].iter().map(|b| format!("{b:02x}")).collect();
            format!("failed:{hex}")
        };
        if let Err(e) = self
            .comment_once(n, &crate::messages::event_failed(event, why), &key)
            .await
        {
            tracing::warn!(pr = n, error = %e, "cannot say on the pull request that its event failed");
        }
    }
}

impl<F: Forge, A: ArgoCd, R: Registry> Engine<F, A, R> {
    /// CodeCommit's pull request events, mapped onto the same steps as GitHub's.
    async fn on_codecommit_pr(&self, number: u64, change: CodeCommitChange) -> Result<()> {
        match change {
            CodeCommitChange::Created | CodeCommitChange::SourceUpdated => {
                self.dag_check(number).await?;
                self.evaluate(number).await
            }
            CodeCommitChange::ApprovalChanged { .. } => self.evaluate(number).await,
            CodeCommitChange::Merged { .. } => self.on_merged(number).await,
            CodeCommitChange::Closed => self.on_closed(number).await,
        }
    }

    /// A CodeCommit comment event names the comment only: its text and author are read
    /// from the forge, which is also the authority on who wrote it.
    async fn on_codecommit_comment(&self, number: u64, comment_id: &str) -> Result<()> {
        let id = crate::domain::codecommit_comment_id(comment_id);
        let comments = self.forge.comments(number).await?;
        let Some(c) = comments.into_iter().find(|c| c.id == id) else {
            info!(
                pr = number,
                comment_id, "the comment is gone; nothing to do"
            );
            return Ok(());
        };
        if c.author.kind == ActorKind::Bot || c.author.is(self.forge.me()) {
            return Ok(());
        }
        // CodeCommit's event names the comment, not its text: an edit since it was
        // posted (by anyone) means the text is no longer what its author wrote.
        if c.edited {
            info!(
                pr = number,
                comment_id, "the comment was edited; its commands do not run"
            );
            return Ok(());
        }
        self.on_comment(number, c.id, &c.body, &c.author, false)
            .await
    }

    /// The files the planner needs for `service`, read from the forge at `base`, all at
    /// once; CODEOWNERS only when `stage` is gated by code owners.
    async fn snapshot(&self, service: &str, base: &str, stage: Option<&str>) -> Result<MapRepo> {
        self.read_at(self.snapshot_paths(service, stage), base)
            .await
    }

    /// The paths a snapshot reads (see `snapshot`).
    fn snapshot_paths(&self, service: &str, stage: Option<&str>) -> Vec<String> {
        let codeowners = stage
            .and_then(|s| self.config.stage(s))
            .is_some_and(|s| s.gate.codeowners);
        crate::plan::Planner::paths(&self.config, service, codeowners)
    }

    /// The files at `paths` on commit `base` that exist (see `forge::read_files`).
    pub async fn read_at(&self, paths: Vec<String>, base: &str) -> Result<MapRepo> {
        let reads = crate::forge::read_files(&self.forge, &paths, base).await?;
        Ok(MapRepo::of_present(reads))
    }

    /// Whether `who` is one of `names`: logins (`alice` or `@alice`) or teams (`@org/team`).
    async fn is_one_of(&self, who: &Actor, names: &[String]) -> Result<bool> {
        for n in names {
            let name = n.strip_prefix('@').unwrap_or(n);
            if let Some((org, team)) = name.split_once('/') {
                if self.forge.is_team_member(org, team, who).await? {
                    return Ok(true);
                }
            } else if self.forge.is_principal(n, who) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Waits for the turn to write or merge-and-delete a promotion branch. Its writers come
    /// under different serial keys (a push, a `/promote`, an automatic downstream
    /// promotion, a merge), so the event's own key does not keep them apart. Taken last and
    /// alone, so it cannot deadlock with that key.
    async fn branch_turn(&self, branch: &str) -> tokio::sync::OwnedMutexGuard<()> {
        self.store.lock(&format!("branch:{branch}")).await
    }

    /// The lock between recording a hold on PR `number` and merging it.
    async fn merge_gate(&self, number: u64) -> tokio::sync::OwnedMutexGuard<()> {
        self.store
            .lock(&format!("merge:{}#{number}", self.repo_name))
            .await
    }

    /// Posts `body` on PR `number` unless a comment with the same marker is there.
    async fn comment_once(&self, number: u64, body: &str, key: &str) -> Result<()> {
        self.reply_once(number, body, key, None).await
    }

    /// `comment_once`, reacting to comment `to` as well (in the same request where the
    /// forge can); the reaction goes out even when the comment was there already.
    async fn reply_once(
        &self,
        number: u64,
        body: &str,
        key: &str,
        to: Option<(u64, crate::forge::Reaction)>,
    ) -> Result<()> {
        let marker = crate::marks::comment_mark(key);
        let comments = self.forge.comments(number).await?;
        // Only to post a message once: a marker someone edited into Hoist's comment can
        // at most silence a message, never decide anything, and GitHub may stamp Hoist's
        // own unedited comment as updated (see `forge::github::edited`).
        let me = self.forge.me();
        if comments
            .iter()
            .any(|c| c.author.is(me) && c.body.ends_with(&marker))
        {
            if let Some((id, r)) = to {
                self.react(id, r).await;
            }
            return Ok(());
        }
        info!(pr = number, key, "commenting");
        let body = crate::marks::with_comment_mark(body, key);
        match to {
            Some((id, r)) => self.forge.comment_and_react(number, &body, id, r).await?,
            None => self.forge.comment(number, &body).await?,
        }
        Ok(())
    }
}
