//! The level-triggered backstop. Webhooks give speed, this gives correctness: from the
//! forge, the ledger and the registry it re-derives what should have happened and does
//! what is missing. Everything it calls is idempotent, so running it often is safe.

use tracing::{info, warn};

use super::{Engine, EngineError, Result};
use crate::argocd::ArgoCd;
use crate::command;
use crate::domain::ActorKind;
use crate::forge::{Comment, Forge};
use crate::registry::{self, Registry};
use crate::store::heads::HoistHead;
use crate::tags::TagFilter;

/// How far back reconcile looks, by default, for commands on pull requests that are no
/// longer open.
pub const LOOKBACK: std::time::Duration = std::time::Duration::from_secs(7 * 86_400);

/// At most this many services' registries are read in one pass; more take turns across
/// passes. With the example's 5-minute interval, 500 services are each read every 25
/// minutes; their pushes' own events are what make promotions fast.
pub const REGISTRY_PER_PASS: usize = 100;

/// At least this long between two registry reads in a pass: 10 a second at most, well
/// within ECR's request rates, and 100 reads fit a Lambda invocation.
const REGISTRY_PACE: std::time::Duration = std::time::Duration::from_millis(100);

/// What one pass found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Open Hoist pull requests evaluated for merging.
    pub evaluated: usize,
    /// Command comments that had no answer, answered now.
    pub answered: usize,
    /// Merged promotions still waiting for Argo CD.
    pub unverified: usize,
    /// Registry images newer than what dev runs, pushed through as if their event came.
    pub pushes: usize,
    /// Services whose registry was read (at most [`REGISTRY_PER_PASS`]).
    pub registry_reads: usize,
    /// Open pull requests whose head had no `hoist/dag` of Hoist's, checked now.
    pub dag_checks: usize,
    /// Hoist pull requests merged or closed with no record of it (their event, or the
    /// write after Hoist's own merge, was lost), recorded now.
    pub closes: usize,
    /// What failed, one line each (`#12: …`); the pass carries on past each one.
    pub failed: Vec<String>,
}

impl<F: Forge, A: ArgoCd, R: Registry> Engine<F, A, R> {
    /// One pass. A failure on one pull request, promotion or service is logged and
    /// reported, and the pass goes on: one broken PR must not starve every other.
    pub async fn reconcile(&self) -> Result<Report> {
        self.reconcile_within(LOOKBACK).await
    }

    /// One pass, looking back `lookback` for commands on pull requests that are no
    /// longer open.
    ///
    /// Kept whole: the phases (open pull requests, lost commands, the ledger, the registry,
    /// hoist/dag) must run in this order, and each one's failures go into the one report.
    pub async fn reconcile_within(&self, lookback: std::time::Duration) -> Result<Report> {
        let mut report = Report::default();
        let mut open = std::collections::HashSet::new();
        // Every open pull request, in one list: `hoist/dag` is on people's too.
        let all_open = self.forge.open_pull_requests("").await?;
        for pr in &all_open {
            open.insert(pr.number);
            let _key = self.store.lock(&self.pr_key(pr.number)).await;
            if let Err(e) = self.reconcile_pr(pr.number, &mut report).await {
                warn!(pr = pr.number, error = %e, "reconcile could not finish this pull request");
                report.failed.push(format!("#{}: {e}", pr.number));
            }
        }
        self.reconcile_comments(&open, lookback, &mut report).await;
        // A group's pull request has a ledger row per member: it is looked at once.
        let mut looked = std::collections::HashSet::new();
        for (service, _) in self.config.services.iter() {
            // Upstream stages first (by their distance from a root, whatever order the
            // config lists them in): verifying dev before uat gives dev's comment the
            // words it had when dev was verified first, so a rebuilt store edits nothing.
            let mut rows = self.store.ledger_for(service).await?;
            rows.sort_by_key(|p| self.config.depth(&p.stage));
            for p in rows {
                let n = match (p.pr, &p.merge_sha, p.verified_at) {
                    (Some(n), Some(_), None) => n,
                    (Some(n), None, _) if !open.contains(&n) => {
                        let _key = self.store.lock(&self.pr_key(n)).await;
                        if let Err(e) = self.reconcile_closed(n, &p, &mut report).await {
                            warn!(pr = n, error = %e, "reconcile could not record how this pull request ended");
                            report.failed.push(format!("#{n}: {e}"));
                        }
                        continue;
                    }
                    _ => continue,
                };
                if !looked.insert(n) {
                    continue;
                }
                let _key = self.store.lock(&self.pr_key(n)).await;
                match self.on_merged(n).await {
                    Ok(()) => {}
                    Err(EngineError::Waiting(why) | EngineError::WaitingUntil(why, _)) => {
                        report.unverified += 1;
                        info!(pr = n, why, "still waiting for verification");
                    }
                    Err(e) => {
                        warn!(pr = n, error = %e, "reconcile could not verify this promotion");
                        report.failed.push(format!("#{n}: {e}"));
                    }
                }
            }
        }
        // After verification is re-derived, so that a store rebuilt from the forge judges
        // as the lost one did.
        for pr in &all_open {
            let _key = self.store.lock(&self.pr_key(pr.number)).await;
            if let Err(e) = self.reconcile_dag(pr, &mut report).await {
                warn!(pr = pr.number, error = %e, "reconcile could not publish hoist/dag on this pull request");
                report.failed.push(format!("#{}: {e}", pr.number));
            }
        }
        // The registry, for pushes whose events never came: a bounded number of
        // services per pass, paced, in turn from where the last pass stopped.
        let services: Vec<_> = self.config.services.iter().collect();
        let start = self.store.registry_cursor().await? % services.len().max(1);
        let take = services.len().min(REGISTRY_PER_PASS);
        for i in 0..take {
            if i > 0 {
                tokio::time::sleep(REGISTRY_PACE).await;
            }
            let (service, svc) = services[(start + i) % services.len()];
            report.registry_reads += 1;
            let images = match self.registry.images(&svc.image).await {
                Ok(i) => i,
                Err(e) => {
                    warn!(service, error = %e, "cannot list the registry; skipping it this pass");
                    report.failed.push(format!("{service}: {e}"));
                    continue;
                }
            };
            let Ok(filter) = TagFilter::new(&svc.tags) else {
                continue;
            };
            if let Some(newest) = registry::newest(&images, |t| filter.check(t).is_ok()) {
                let _key = self.store.lock(&format!("image:{}", svc.image)).await;
                match self
                    .on_push(&svc.image, &newest.tag, &newest.digest, &newest.pushed_at)
                    .await
                {
                    Ok(n) => report.pushes += n,
                    Err(e) => {
                        warn!(service, error = %e, "reconcile could not push the newest image through");
                        report.failed.push(format!("{service}: {e}"));
                    }
                }
            }
        }
        if !services.is_empty() {
            self.store
                .set_registry_cursor((start + take) % services.len())
                .await?;
        }
        Ok(report)
    }

    /// The serial key events about pull request `n` carry.
    pub(super) fn pr_key(&self, n: u64) -> String {
        format!("pr:{}#{n}", self.repo_name)
    }

    /// A promotion the ledger has as opened, whose pull request is no longer open: its
    /// merge or close event was lost, or Hoist's own write after merging it was. Does
    /// what that event would have done, once: a merge is recorded (and verified), a
    /// close retires the pull request's heads. Trusted: the store's record of Hoist's
    /// heads (a pull request whose heads are retired was dealt with already), and the
    /// forge's state and merge SHA of the pull request.
    async fn reconcile_closed(
        &self,
        n: u64,
        row: &crate::store::ledger::Promotion,
        report: &mut Report,
    ) -> Result<()> {
        if !self.store.is_hoist_pr(n).await? {
            return Ok(());
        }
        let pr = self.forge.pull_request(n).await?;
        match pr.state {
            crate::forge::PrState::Open => return Ok(()),
            crate::forge::PrState::Merged => {
                // The pull request carried other freight in the end (a newer image took
                // it over): this row's promotion never merged, and is not asked again.
                let merged = self.promotion_at_head(&pr).await?;
                let carried = |h: &HoistHead| {
                    h.all_freight()
                        .iter()
                        .any(|f| f.service == row.service && f.digest.as_str() == row.digest)
                };
                if !merged.as_ref().is_some_and(carried) {
                    self.store
                        .ledger_detach(&row.service, &row.stage, &row.digest, n)
                        .await?;
                    return Ok(());
                }
                info!(
                    pr = n,
                    "recording a merge that was never recorded; verifying it"
                );
                report.closes += 1;
                match self.on_merged(n).await {
                    Ok(()) => {}
                    Err(EngineError::Waiting(why) | EngineError::WaitingUntil(why, _)) => {
                        report.unverified += 1;
                        info!(pr = n, why, "still waiting for verification");
                    }
                    Err(e) => return Err(e),
                }
            }
            crate::forge::PrState::Closed => {
                info!(pr = n, "recording a close that was never recorded");
                report.closes += 1;
                self.on_closed(n).await?;
            }
        }
        Ok(())
    }

    /// Answers the commands whose events were lost on Hoist's pull requests that are no
    /// longer open (a `/promote` on a merged one is the normal flow), posted within
    /// `lookback`: one query for the repository's recent comments, filtered here by the
    /// store's record of which pull requests are Hoist's.
    async fn reconcile_comments(
        &self,
        open: &std::collections::HashSet<u64>,
        lookback: std::time::Duration,
        report: &mut Report,
    ) {
        let since = crate::clock::rfc3339(self.store.now_ms() / 1000 - lookback.as_secs() as i64);
        let recent = match self.forge.recent_comments(&since).await {
            Ok(r) => r,
            Err(e) => {
                warn!(error = %e, "cannot list recent comments; skipping closed pull requests this pass");
                report.failed.push(format!("recent comments: {e}"));
                return;
            }
        };
        let mut by_pr: std::collections::BTreeMap<u64, Vec<crate::forge::Comment>> =
            Default::default();
        for (n, c) in recent {
            by_pr.entry(n).or_default().push(c);
        }
        for (n, comments) in by_pr {
            if open.contains(&n) || !matches!(self.store.is_hoist_pr(n).await, Ok(true)) {
                continue;
            }
            let _key = self.store.lock(&self.pr_key(n)).await;
            if let Err(e) = self.answer_missed(n, &comments, report).await {
                warn!(pr = n, error = %e, "reconcile could not answer a command on this pull request");
                report.failed.push(format!("#{n}: {e}"));
            }
        }
    }

    /// `hoist/dag` on an open pull request's head where Hoist never published it (its
    /// `opened` or `synchronize` event was lost). Trusted: the store's record of what
    /// Hoist published, else the forge's word that Hoist's own identity published it
    /// (a store rebuilt from the forge leaves standing what the lost one published,
    /// overrides included), and the forge's head SHA.
    async fn reconcile_dag(
        &self,
        pr: &crate::forge::PullRequest,
        report: &mut Report,
    ) -> Result<()> {
        use crate::marks::DAG_CHECK;
        if self.store.published(&pr.head_sha, DAG_CHECK).await? {
            return Ok(());
        }
        if self
            .forge
            .has_own_check(pr.number, &pr.head_sha, DAG_CHECK)
            .await?
        {
            self.store.record_check(&pr.head_sha, DAG_CHECK, "").await?;
            return Ok(());
        }
        info!(pr = pr.number, head = %pr.head_sha, "publishing hoist/dag on a head that has none of Hoist's");
        self.dag_check(pr.number).await?;
        report.dag_checks += 1;
        Ok(())
    }

    /// On one of Hoist's own open pull requests (by the heads it recorded: not by branch
    /// or body), the commands that never got a reply, and whether it can merge.
    async fn reconcile_pr(&self, number: u64, report: &mut Report) -> Result<()> {
        if !self.store.is_hoist_pr(number).await? {
            return Ok(());
        }
        let comments = self.forge.comments(number).await?;
        self.answer_missed(number, &comments, report).await?;
        // A soak ends at its instant, scheduled by the pull request's own events.
        self.evaluate(number)
            .await
            .or_else(super::not_before_is_done)?;
        report.evaluated += 1;
        Ok(())
    }

    /// Runs each command among `comments` (all of pull request `number`'s that may hold
    /// its answer) that was never answered. Trusted: the store's record of answered
    /// comment ids, the forge's author identity and edit state, and replies only when
    /// Hoist's own comment ends with the marker.
    async fn answer_missed(
        &self,
        number: u64,
        comments: &[crate::forge::Comment],
        report: &mut Report,
    ) -> Result<()> {
        let me = self.forge.me().clone();
        for c in comments {
            // An edited comment may no longer say what its author wrote: anyone with
            // write access can edit it. Only its text as posted (its webhook) runs.
            let commands = c.author.kind != ActorKind::Bot
                && !c.author.is(&me)
                && !c.edited
                && !command::parse(&c.body).is_empty();
            if !commands {
                continue;
            }
            let marker = crate::marks::comment_mark(&format!("reply:{}", c.id));
            let answered = self.store.answered(c.id).await?
                || comments.iter().any(|r| r.is_own_with(&me, &marker));
            if !answered {
                info!(
                    pr = number,
                    comment = c.id,
                    "answering a command whose event never arrived"
                );
                self.on_comment(number, c.id, &c.body, &c.author, true)
                    .await?;
                report.answered += 1;
            }
        }
        Ok(())
    }
}

impl<F: Forge, A: ArgoCd, R: Registry> Engine<F, A, R> {
    /// Rebuilds the store's record of Hoist's pull requests after it was lost, from
    /// evidence only Hoist's own identity can post: the record it published when it
    /// wrote each head (a check run of its App on GitHub, its IAM identity's comment on
    /// CodeCommit), naming the pull request, the head, the freight and the requester's
    /// id. Never from a pull request's body, branch name, commit authorship or trailers,
    /// which anyone with write access can forge. Verification is not in Git, so merged
    /// promotions are re-verified against Argo CD by the next reconcile. Frozen stages
    /// come back from the records at the top of Hoist's own unedited replies (see
    /// `rebuild_freezes`): those on Hoist's open and merged pull requests, and those the
    /// forge lists as recent (every comment on GitHub; the last 20 closed pull
    /// requests' on CodeCommit). Returns how many promotions were recorded.
    pub async fn rebuild_ledger(&self) -> Result<usize> {
        let mut n = 0;
        let mut comments = vec![];
        // Merged rollbacks, oldest first, for the holds they left.
        let mut rollbacks = vec![];
        let mut prs = self
            .forge
            .merged_pull_requests(crate::marks::BRANCH_PREFIX)
            .await?;
        prs.reverse();
        prs.extend(
            self.forge
                .open_pull_requests(crate::marks::BRANCH_PREFIX)
                .await?,
        );
        for pr in prs {
            if pr.from_fork {
                continue;
            }
            let Some(h) = self
                .forge
                .records(pr.number, &pr.head_sha)
                .await?
                .iter()
                .rev()
                .find_map(|r| HoistHead::from_record(r, pr.number, &pr.head_sha))
            else {
                warn!(
                    pr = pr.number,
                    head = %pr.head_sha,
                    "no record by Hoist's own identity of this head: not taken as Hoist's"
                );
                continue;
            };
            self.restore(&h, &pr).await?;
            if h.rollback_of.is_some() && pr.state == crate::forge::PrState::Merged {
                rollbacks.push((h.clone(), pr.number));
            }
            // An open pull request's comments: its hold, and the freezes recorded there;
            // a merged one's only where the forge does not list every comment below.
            if pr.state == crate::forge::PrState::Open {
                let on_it = self.forge.comments(pr.number).await?;
                self.rebuild_hold(pr.number, &on_it).await?;
                comments.extend(on_it);
            } else if !self.forge.lists_every_comment() {
                comments.extend(self.forge.comments(pr.number).await?);
            }
            n += 1;
        }
        comments.extend(self.listed_comments().await);
        let frozen = self.rebuild_freezes(&comments).await?;
        let held = self.rebuild_stage_holds(&rollbacks, &comments).await?;
        info!(promotions = n, frozen, held, "rebuilt from the forge");
        Ok(n)
    }

    /// The comments the forge lists (every one on GitHub; the last closed pull
    /// requests' on CodeCommit). Not reading them does not keep the ledger from coming
    /// back: said loudly instead.
    async fn listed_comments(&self) -> Vec<Comment> {
        match self.forge.recent_comments("1970-01-01T00:00:00Z").await {
            Ok(recent) => recent.into_iter().map(|(_, c)| c).collect(),
            Err(e) => {
                tracing::error!(error = %e, "cannot read the comments of closed pull requests: a freeze recorded only there is not rebuilt");
                vec![]
            }
        }
    }

    /// Records a head Hoist published, with its pull request `pr` and each freight's
    /// ledger rows (a group's: every member's).
    async fn restore(&self, h: &HoistHead, pr: &crate::forge::PullRequest) -> Result<()> {
        match &h.group {
            Some(group) => {
                self.store
                    .record_group_head(&h.sha, &h.stage, group, &h.members, &h.requester)
                    .await?
            }
            None => {
                self.store
                    .record_head_as(
                        &h.sha,
                        &h.stage,
                        &h.freight,
                        &h.requester,
                        h.rollback_of.as_deref(),
                    )
                    .await?
            }
        }
        self.store.attach_head(&h.sha, pr.number).await?;
        // A merged rollback's hold comes back from `rebuild_stage_holds`, never again
        // from its merge: an `/unhold` recorded since stands.
        if let (Some(_), Some(sha)) = (&h.rollback_of, &pr.merge_sha) {
            self.store.rollback_merge_seen(sha).await?;
        }
        // A group's pull request promotes every member: each has its ledger row.
        for f in h.all_freight() {
            self.store
                .ledger_opened(f, &h.stage, pr.number, &h.requester.login)
                .await?;
            if let Some(sha) = &pr.merge_sha {
                self.store
                    .ledger_merged(
                        &f.service,
                        &h.stage,
                        f.digest.as_str(),
                        sha,
                        None,
                        pr.number,
                    )
                    .await?;
            }
        }
        Ok(())
    }

    /// The holds merged rollbacks left, failing closed: for each service and stage, the
    /// last rollback that merged (`rollbacks`, oldest first: Hoist's own record of each
    /// head, and the forge's merge) holds, unless a release of that rollback's hold is
    /// recorded at the top of Hoist's own, unedited reply to `/unhold STAGE` (the forge's
    /// author identity). A release lost or edited holds again; never the other way. How
    /// many stand.
    async fn rebuild_stage_holds(
        &self,
        rollbacks: &[(HoistHead, u64)],
        comments: &[Comment],
    ) -> Result<usize> {
        let me = self.forge.me();
        let released: Vec<crate::marks::ReleaseRecord> = comments
            .iter()
            .filter(|c| c.author.is(me) && !c.edited)
            .flat_map(|c| crate::marks::read_release_records(&c.body))
            .collect();
        let mut last: Vec<&(HoistHead, u64)> = vec![];
        for r in rollbacks {
            last.retain(|(l, _)| {
                (&l.freight.service, &l.stage) != (&r.0.freight.service, &r.0.stage)
            });
            last.push(r);
        }
        let mut n = 0;
        for (h, pr) in last {
            let service = &h.freight.service;
            let lifted = released
                .iter()
                .any(|r| &r.service == service && r.stage == h.stage && r.pr == Some(*pr));
            if lifted {
                continue;
            }
            let from = h.rollback_of.as_deref().unwrap_or_default();
            self.store
                .restore_hold(&crate::store::holds::StageHold {
                    service: service.clone(),
                    stage: h.stage.clone(),
                    by: h.requester.login.clone(),
                    reason: crate::messages::rollback_hold_reason(h.freight.tag.as_str(), from),
                    at: self.store.now_ms(),
                    pr: Some(*pr),
                })
                .await?;
            n += 1;
        }
        Ok(n)
    }

    /// A hold lives in the store only; the comments that set it are on the forge. The
    /// last `/hold` or `/unhold` by someone allowed to give it decides, as it did then.
    async fn rebuild_hold(&self, number: u64, comments: &[Comment]) -> Result<()> {
        let me = self.forge.me().clone();
        let mut held: Option<String> = None;
        for c in comments {
            if c.author.is(&me) || c.author.kind == ActorKind::Bot || c.edited {
                continue;
            }
            for cmd in crate::command::parse(&c.body).into_iter().flatten() {
                let hold = match cmd {
                    crate::command::Command::Hold => true,
                    crate::command::Command::Unhold => false,
                    _ => continue,
                };
                if self.forge.permission(&c.author).await? >= crate::forge::Permission::Write {
                    held = hold.then(|| c.author.login.clone());
                }
            }
        }
        match held {
            Some(by) => self.store.hold(number, &by).await?,
            None => {
                self.store.unhold(number).await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_in_utc() {
        assert_eq!(crate::clock::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(crate::clock::rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(crate::clock::rfc3339(1_796_583_661), "2026-12-06T19:01:01Z");
    }
}
