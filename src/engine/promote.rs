//! Opening and updating promotion pull requests: on a push, on `/promote`, and when
//! freight verified upstream reaches an automatic stage.

use tracing::{info, warn};

use super::{Engine, Result};
use crate::argocd::ArgoCd;
use crate::domain::Actor;
use crate::forge::{Commit, FileWrite, Forge, PullRequest};
use crate::freight::Freight;
use crate::messages;
use crate::plan::{Planner, Promotion, Proposal};
use crate::registry::Registry;
use crate::store::heads::HoistHead;
use crate::tags;

/// What promoting freight to a stage did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Opened(u64),
    Updated(u64),
    AlreadyOpen(u64),
    /// Nothing to change, and why.
    Nothing(String),
    /// A person's commit is on the branch: Hoist leaves it alone.
    Blocked(String),
}

impl<F: Forge, A: ArgoCd, R: Registry> Engine<F, A, R> {
    /// Returns how many pull requests the push opened or updated.
    pub(super) async fn on_push(
        &self,
        image: &str,
        tag: &str,
        digest: &str,
        time: &str,
    ) -> Result<usize> {
        let freight = match crate::freight::for_push(&self.config, image, tag, digest, time) {
            Ok(f) => f,
            Err(why) => {
                info!(%why, "push carries no freight");
                return Ok(0);
            }
        };
        // A member of a group never moves alone.
        if let Some((group, _)) = self.config.group_of(&freight.service) {
            return self.on_member_push(group, &freight).await;
        }
        let roots: Vec<String> = self
            .config
            .stages
            .iter()
            .filter(|(_, s)| s.auto && s.upstream.is_empty())
            .map(|(n, _)| n.to_owned())
            .collect();
        let mut changed = 0;
        for stage in roots {
            let outcome = self
                .promote_to(&stage, &freight, &Actor::system("ecr-push"))
                .await?;
            info!(stage, ?outcome, "push handled");
            changed += usize::from(matches!(outcome, Outcome::Opened(_) | Outcome::Updated(_)));
        }
        Ok(changed)
    }

    /// The commit the image was built from, from its labels; the pull request simply
    /// goes without it when the registry cannot say.
    pub(super) async fn source_of(&self, freight: &Freight) -> Result<Option<String>> {
        if freight.source.is_some() {
            return Ok(freight.source.clone());
        }
        match self
            .registry
            .labels(freight.image.as_str(), freight.digest.as_str())
            .await
        {
            Ok(labels) => Ok(crate::registry::source(&labels)),
            Err(e) => {
                warn!(error = %e, "cannot read the image's labels; the pull request shows no source");
                Ok(None)
            }
        }
    }

    /// Opens or updates the PR that moves `stage` to `freight`.
    pub async fn promote_to(
        &self,
        stage: &str,
        freight: &Freight,
        requester: &Actor,
    ) -> Result<Outcome> {
        self.promote(stage, freight, requester, None).await
    }

    /// Opens or updates the PR that moves `stage` to `freight`; with `rollback_of` (the
    /// tag the stage runs), the rollback that puts `freight` back, whatever
    /// `allow_downgrade` says.
    ///
    /// Kept whole: one ordered sequence under the branch's turn (plan, stop on a person's
    /// commit or nothing new, write, record the head, open the pull request); each step is
    /// a named method.
    pub(super) async fn promote(
        &self,
        stage: &str,
        freight: &Freight,
        requester: &Actor,
        rollback_of: Option<&str>,
    ) -> Result<Outcome> {
        let requested_by = requester.login.as_str();
        let branch = crate::marks::branch(stage, &freight.service);
        let _turn = self.branch_turn(&branch).await;
        // The forge's reads in one request where it can, beside the store's.
        let paths = self.snapshot_paths(&freight.service, Some(stage));
        let (reads, ledger) = futures::try_join!(
            async {
                Ok::<_, super::EngineError>(self.forge.promotion_reads(&branch, &paths).await?)
            },
            async {
                Ok::<Vec<_>, super::EngineError>(self.store.ledger_for(&freight.service).await?)
            },
        )?;
        let base = reads.base;
        let repo = crate::repo::MapRepo::of_present(reads.files);
        // Only one into the configured base: one retargeted elsewhere is not it.
        let existing = reads.open.filter(|p| p.base_ref == self.forge.base());
        let commits = reads.commits;
        let planner = Planner {
            config: &self.config,
            repo: &repo,
            ledger: &ledger,
        };
        let plan = |f: &Freight| match rollback_of {
            Some(from) => planner.rollback_to_stage(stage, f, requested_by, from),
            None => planner.to_stage(stage, f, requested_by),
        };
        let p = match plan(freight)? {
            Proposal::Promote(p) => *p,
            Proposal::Nothing(reason) => return Ok(Outcome::Nothing(reason)),
        };
        if let Some(stop) = self
            .person_blocks(&p.branch, commits.as_deref(), existing.as_ref())
            .await?
        {
            return Ok(stop);
        }
        let previous = self.previous_head(existing.as_ref()).await?;
        if let (Some(pr), Some(h)) = (&existing, &previous)
            && let Some(stop) = self
                .already_there(stage, freight, pr, h, rollback_of.is_some())
                .await?
        {
            return Ok(stop);
        }
        // Only now, with a write ahead, is the image's source worth the registry's calls
        // (a redelivered push or a reconcile pass stops above); it goes into the body.
        let source = self.source_of(freight).await?;
        let freight = &Freight {
            source,
            ..freight.clone()
        };
        let plan = |f: &Freight| match rollback_of {
            Some(from) => planner.rollback_to_stage(stage, f, requested_by, from),
            None => planner.to_stage(stage, f, requested_by),
        };
        let p = match plan(freight)? {
            Proposal::Promote(p) => *p,
            Proposal::Nothing(reason) => return Ok(Outcome::Nothing(reason)),
        };
        let (existing, replaced) = self.make_way(existing, &branch).await?;
        let head = self
            .forge
            .write_branch(
                &p.branch,
                &base,
                &p.files
                    .iter()
                    .map(|f| FileWrite {
                        path: f.path.clone(),
                        content: f.content.clone(),
                    })
                    .collect::<Vec<_>>(),
                &p.commit_message,
            )
            .await?;
        // Only a head Hoist wrote, for this freight, may be merged.
        self.store
            .record_head_as(&head, stage, freight, requester, rollback_of)
            .await?;
        let outcome = self
            .open_or_update(
                &p,
                existing.as_ref(),
                previous.map(|h| h.freight.tag.to_string()),
                freight.tag.as_str(),
                freight.digest.as_str(),
            )
            .await?;
        let (Outcome::Opened(n) | Outcome::Updated(n)) = outcome else {
            unreachable!("open_or_update opens or updates")
        };
        self.store.land_carried_hold(&branch, n).await?;
        if let Some(old) = &replaced {
            let msg = messages::superseded_by(n, freight.tag.as_str());
            self.comment_once(old.number, &msg, &format!("superseded-by:{n}"))
                .await?;
        }
        self.store.attach_head(&head, n).await?;
        let record = HoistHead {
            sha: head.clone(),
            pr: Some(n),
            stage: stage.to_owned(),
            freight: freight.clone(),
            requester: requester.clone(),
            group: None,
            members: vec![],
            rollback_of: rollback_of.map(str::to_owned),
        };
        // A rollback written over a forward promotion's open pull request is news too.
        if matches!(outcome, Outcome::Opened(_)) || rollback_of.is_some() {
            self.notify_opened(&record, n).await;
        }
        self.publish_head(record).await?;
        // A rollback's row (freight that ran here) is re-pointed only once it merges.
        if rollback_of.is_none() {
            self.store
                .ledger_opened(freight, stage, n, requested_by)
                .await?;
        }
        // Merging is decided on the forge's events for the PR (opened, checks, reviews).
        Ok(outcome)
    }

    /// The first commit on the branch that Hoist did not write: a person's, never
    /// overwritten and never built upon. Which commits Hoist wrote comes from its store;
    /// a commit's author is whatever the pusher typed, and decides nothing.
    async fn person_commit<'a>(
        &self,
        commits: impl Iterator<Item = &'a Commit>,
    ) -> Result<Option<&'a Commit>> {
        for c in commits {
            if !self.store.wrote(&c.sha).await? {
                return Ok(Some(c));
            }
        }
        Ok(None)
    }

    /// Stops a promotion on `branch` when one of its `commits` is a person's (see
    /// `person_commit`), saying so once on the open pull request `existing`.
    pub(super) async fn person_blocks(
        &self,
        branch: &str,
        commits: Option<&[Commit]>,
        existing: Option<&PullRequest>,
    ) -> Result<Option<Outcome>> {
        let Some(c) = self.person_commit(commits.into_iter().flatten()).await? else {
            return Ok(None);
        };
        let msg = messages::person_commit(&c.author.login, &c.sha, branch);
        if let Some(pr) = existing {
            self.comment_once(pr.number, &msg, &format!("person:{}", c.sha))
                .await?;
        }
        Ok(Some(Outcome::Blocked(msg)))
    }

    /// What the open pull request promotes, from the store's record of its head (its
    /// body is anyone's to edit; the forge says whether it comes from a fork). A head
    /// Hoist did not write, or wrote for another pull request, promotes nothing: it is
    /// simply rewritten.
    pub(super) async fn previous_head(
        &self,
        existing: Option<&PullRequest>,
    ) -> Result<Option<HoistHead>> {
        Ok(match existing {
            Some(pr) if !pr.from_fork => self
                .store
                .hoist_head(&pr.head_sha)
                .await?
                .filter(|h| h.pr == Some(pr.number)),
            _ => None,
        })
    }

    /// Whether the open pull request `pr`, whose head Hoist wrote for `h` (its store's
    /// record), makes a new head needless: it already promotes this digest (as a rollback
    /// when `rollback` says so), or a newer tag the service may not go back from (the
    /// config's `allow_downgrade`; a rollback goes back on purpose).
    async fn already_there(
        &self,
        stage: &str,
        freight: &Freight,
        pr: &PullRequest,
        h: &HoistHead,
        rollback: bool,
    ) -> Result<Option<Outcome>> {
        if rollback {
            return Ok(
                (h.freight.digest == freight.digest && h.rollback_of.is_some())
                    .then_some(Outcome::AlreadyOpen(pr.number)),
            );
        }
        // An open rollback is not taken over by a forward promotion: it merges or is
        // closed first.
        if h.rollback_of.is_some() {
            return Ok(Some(Outcome::Nothing(messages::rollback_open(pr.number))));
        }
        if h.freight.digest == freight.digest {
            self.store
                .ledger_opened(freight, stage, pr.number, &h.requester.login)
                .await?;
            return Ok(Some(Outcome::AlreadyOpen(pr.number)));
        }
        let svc = self.config.services.get(&freight.service);
        if tags::is_refused_downgrade(
            freight.tag.as_str(),
            h.freight.tag.as_str(),
            svc.is_some_and(|s| s.allow_downgrade),
        ) {
            return Ok(Some(Outcome::Nothing(messages::already_promotes_newer(
                pr.number,
                h.freight.tag.as_str(),
            ))));
        }
        Ok(None)
    }

    /// Where a new head cannot keep the open pull request (CodeCommit), the old one is
    /// closed first, its heads retired, and its hold kept for the branch's next pull
    /// request: (the pull request to update, if any; the one replaced, if any).
    pub(super) async fn make_way(
        &self,
        existing: Option<PullRequest>,
        branch: &str,
    ) -> Result<(Option<PullRequest>, Option<PullRequest>)> {
        match existing {
            Some(pr) if !self.forge.rewrites_in_place() => {
                // Kept by branch before anything changes, so a failure from here on (or
                // the new pull request's events arriving first) cannot drop it.
                if let Some(by) = self.store.held_by(pr.number).await? {
                    self.store.carry_hold(branch, &by).await?;
                }
                self.forge.close_pull_request(pr.number).await?;
                self.store.retire_heads(pr.number, &pr.head_sha).await?;
                Ok((None, Some(pr)))
            }
            other => Ok((other, None)),
        }
    }

    /// Updates the open pull request to the new head's text, telling it what it
    /// superseded (only when Hoist's own record shows what came before: a reopened pull
    /// request's retired head superseded nothing), or opens a new one.
    /// `was` and `now` name what the old and the new head promote; `key`, the new one's
    /// digest, keeps the comment from repeating.
    pub(super) async fn open_or_update(
        &self,
        p: &Promotion,
        existing: Option<&PullRequest>,
        was: Option<String>,
        now: &str,
        key: &str,
    ) -> Result<Outcome> {
        let Some(pr) = existing else {
            let opened = self
                .forge
                .create_pull_request(&p.branch, &p.title, &p.body)
                .await?;
            return Ok(Outcome::Opened(opened.number));
        };
        self.forge
            .update_pull_request(pr.number, &p.title, &p.body)
            .await?;
        if let Some(old) = was {
            let msg = messages::superseded(now, &old);
            self.comment_once(pr.number, &msg, &format!("superseded:{key}"))
                .await?;
        }
        Ok(Outcome::Updated(pr.number))
    }

    /// Publishes the record of a head Hoist wrote: evidence only Hoist's identity can
    /// post, so that a lost store is rebuilt from it and from nothing anyone else can
    /// write.
    pub(super) async fn publish_head(&self, record: HoistHead) -> Result<()> {
        let n = record.pr.unwrap_or_default();
        self.forge
            .publish_record(
                n,
                &record.sha,
                &messages::head_record(&record),
                &record.to_record(),
            )
            .await?;
        Ok(())
    }
}
