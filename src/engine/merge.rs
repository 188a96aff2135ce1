//! Merging a promotion PR once its gate, checks and holds allow, and verifying it after.

use std::collections::HashMap;

use tracing::{info, warn};

use super::{Engine, EngineError, Result};
use crate::argocd::{self, ArgoCd};
use crate::config::expand;
use crate::config::{NotifyEvent, Stage};
use crate::domain::{Actor, ActorKind, ReviewState};
use crate::forge::PullRequest;
use crate::forge::{Conclusion, Forge, ForgeError, PrState, Review};
use crate::freight::Freight;
use crate::messages;
use crate::policy::checks::{self, Verdict};
use crate::policy::codeowners::{self, CodeOwners};
use crate::policy::dag::{self, Entry};
use crate::policy::gate::{self, State};
use crate::registry::Registry;
use crate::store::heads::HoistHead;

use crate::marks::ARGOCD_CHECK;

/// The names a promotion is filed under, from the store's record of its head.
struct Meta {
    service: String,
    stage: String,
    tag: String,
    digest: String,
    requested_by: String,
}

impl Meta {
    fn of(h: &HoistHead) -> Self {
        Self {
            service: h.freight.service.clone(),
            stage: h.stage.clone(),
            tag: h.freight.tag.to_string(),
            digest: h.freight.digest.to_string(),
            requested_by: h.requester.login.clone(),
        }
    }
}

/// The approvals that count on `head`: each reviewer's latest approving or
/// change-requesting review, approving, on `head`, by a person who is neither Hoist
/// nor (`excluded`) the requester.
pub fn approvals_on_head<'a>(
    reviews: &'a [Review],
    head: &str,
    me: &Actor,
    excluded: Option<&Actor>,
) -> Vec<&'a Actor> {
    let mut latest: HashMap<(u64, String), &Review> = HashMap::new();
    for r in reviews {
        // A comment does not change a reviewer's approval state on GitHub.
        if r.state != ReviewState::Commented {
            latest.insert(r.reviewer.key(), r);
        }
    }
    let mut out: Vec<&Actor> = latest
        .values()
        .filter(|r| r.state == ReviewState::Approved && r.commit_id.as_deref() == Some(head))
        .map(|r| &r.reviewer)
        .filter(|a| a.kind != ActorKind::Bot && !a.is(me) && excluded.is_none_or(|x| !x.is(a)))
        .collect();
    out.sort_by_key(|a| a.key());
    out
}

impl<F: Forge, A: ArgoCd, R: Registry> Engine<F, A, R> {
    /// Merges PR `number` if everything allows it: the required checks on its head, what
    /// Argo CD says (it renders the stage at the head; the upstream still runs the freight,
    /// healthy), its stage's gate, no hold, and the forge's mergeability. The conditions
    /// are published as the `hoist/argocd` check run whenever they change.
    ///
    /// Kept whole: the branch's turn and the merge gate are taken and dropped at exact
    /// points around the hold check, the merge and the branch's deletion; split, those
    /// scopes would hide.
    pub async fn evaluate(&self, number: u64) -> Result<()> {
        // A gate decides on what the forge says now: not on what this event read before
        // (`dag_check` waits on Argo CD's renders meanwhile).
        crate::forge::scope::read_afresh();
        let pr = self.forge.pull_request(number).await?;
        if pr.state != PrState::Open {
            return Ok(());
        }
        let Some(h) = self.promotion_at_head(&pr).await? else {
            return Ok(());
        };
        let (meta, freight) = (Meta::of(&h), &h.freight);
        let (Some(st), Some(_)) = (
            self.config.stage(&meta.stage),
            self.config.services.get(&meta.service),
        ) else {
            return Ok(());
        };
        // A service's own promotion, opened before the config put it in a group, would
        // move a member alone: it is not merged (the config and the store's record).
        if h.group.is_none()
            && let Some((group, _)) = self.config.group_of(&meta.service)
        {
            let msg = messages::member_pr_not_merged(&meta.service, group);
            return self
                .comment_once(number, &msg, &format!("grouped:{}", pr.head_sha))
                .await;
        }
        let head = pr.head_sha.clone();
        let requested_by = h.requester.login.clone();
        // A rollback (the store's record of the head) passes the stage's rollback gate.
        let rolling_back = h.rollback_of.as_ref().map(|_| st.for_rollback());
        let (facts, approver, diff) = self
            .gather(&pr, &h, rolling_back.as_ref().unwrap_or(st))
            .await?;
        let decision = gate::decide(&facts);
        for notice in &decision.notices {
            let (msg, key) = match notice {
                gate::Notice::CheckFailed { name, url } => {
                    let summary = messages::notify_check_failed(
                        &messages::notify_what(&h),
                        &meta.stage,
                        name,
                    );
                    let n = self.notice_of(NotifyEvent::Refused, &h, number, summary);
                    self.notify(n, &format!("failed:{number}:{name}:{head}"))
                        .await;
                    (
                        messages::check_failed(
                            name,
                            &head,
                            url.as_deref(),
                            &meta.stage,
                            &st.upstream,
                        ),
                        format!("failed:{name}:{head}"),
                    )
                }
                gate::Notice::WaitingForOwner {
                    dir,
                    owners,
                    excluded,
                } => (
                    messages::waiting_for_owner(dir, owners, excluded.as_deref()),
                    format!("waiting:{head}"),
                ),
            };
            self.comment_once(number, &msg, &key).await?;
        }
        self.publish_argocd_check(number, &head, &decision, &diff)
            .await?;
        if !decision.merge {
            // Soaking ends at a known instant: the queue brings this back then, and it
            // merges if everything else still passes.
            let now = self.store.now_ms();
            // A soak with no known end (not verified upstream yet) is not scheduled: an
            // event or reconcile brings the pull request back.
            let soak_end = facts
                .soaking
                .iter()
                .filter_map(|(_, left, _)| *left)
                .map(|left| now.saturating_add(left))
                .max();
            let window = facts.outside_window.as_ref().and_then(|(_, next)| *next);
            // Whichever comes last; then the gate is judged again (a window may have
            // closed by the soak's end, and is waited for anew).
            match (soak_end, window) {
                (Some(s), Some(w)) if w > s => {
                    return Err(EngineError::NotBefore(messages::window_until(w), w));
                }
                (Some(s), _) => return Err(EngineError::NotBefore(messages::soaking_until(s), s)),
                (None, Some(w)) => {
                    return Err(EngineError::NotBefore(messages::window_until(w), w));
                }
                (None, None) => {}
            }
            return Ok(());
        }
        // The squash commit names what the store's record of the head promotes: every
        // member of a group's.
        let (title, mut message) = match &h.group {
            Some(group) => {
                let members: Vec<_> = h.all_freight().into_iter().cloned().collect();
                let title = messages::group_pr_title(group, &members, &meta.stage);
                let message =
                    messages::group_commit_message(&title, &members, &meta.stage, &requested_by);
                (title, message)
            }
            None => {
                let title = match &h.rollback_of {
                    Some(from) => {
                        messages::rollback_title(&meta.service, &meta.stage, &meta.tag, from)
                    }
                    None => messages::pr_title(&meta.service, &meta.tag, &meta.stage),
                };
                let message = messages::commit_message(&title, freight, &meta.stage, &requested_by);
                (title, message)
            }
        };
        if let Some(a) = &approver {
            message.push_str(&crate::marks::approved_by_trailer(a));
        }
        // A promotion written between the merge and the deletion would be deleted with it.
        let turn = self.branch_turn(&pr.head_ref).await;
        // `/hold` records under the same lock, so a hold is either seen here or comes
        // after the merge: it can never be recorded and then merged past. Whatever key
        // this evaluation runs under (a pull request, a check's SHA), holds are read now.
        let gate = self.merge_gate(number).await;
        if let Some(by) = self.store.held_by(number).await? {
            info!(pr = number, by, "held while the merge was being decided");
            return Ok(());
        }
        if let Some(by) = self.stage_held(&h).await? {
            info!(
                pr = number,
                by, "the stage was held while the merge was being decided"
            );
            return Ok(());
        }
        // A freeze is recorded under this lock: it is either seen here or comes after
        // the merge.
        let freeze = self.freeze_lock(&meta.stage).await;
        if let Some((f, None)) = self.frozen_for(&meta.stage, number, &head).await? {
            info!(
                pr = number,
                by = f.by,
                "the stage was frozen while the merge was being decided"
            );
            return Ok(());
        }
        // The window is judged again now, by the clock of the merge itself: time passed
        // since the gate was decided (forge calls, the locks).
        let stage_now = rolling_back.as_ref().unwrap_or(st);
        if let Err(next) = crate::policy::window::check(&stage_now.windows(), self.store.now_ms()) {
            info!(
                pr = number,
                "a deploy window closed while the merge was being decided"
            );
            return match next {
                Some(at) => Err(EngineError::NotBefore(messages::window_until(at), at)),
                None => Ok(()),
            };
        }
        let merged = self.forge.merge(number, &head, &title, &message).await;
        drop((gate, freeze));
        match merged {
            Ok(sha) => {
                info!(pr = number, sha, "merged");
                let summary = messages::notify_merged(&messages::notify_what(&h), &meta.stage);
                let n = self.notice_of(NotifyEvent::Merged, &h, number, summary);
                self.notify(n, &format!("merged:{number}:{sha}")).await;
                for f in h.all_freight() {
                    if h.rollback_of.is_some() {
                        // A rollback re-points the freight's row only now it merged.
                        self.store
                            .ledger_opened(f, &meta.stage, number, &requested_by)
                            .await?;
                    }
                    self.store
                        .ledger_merged(
                            &f.service,
                            &meta.stage,
                            f.digest.as_str(),
                            &sha,
                            approver.clone(),
                            number,
                        )
                        .await?;
                }
                Box::pin(self.hold_after_rollback(&h, &sha)).await?;
                if let Err(e) = self.forge.delete_branch(&pr.head_ref).await {
                    warn!(error = %e, "cannot delete the merged branch");
                }
                // Verifying may promote downstream, which takes that stage's branch.
                drop(turn);
                // Argo CD polls Git every few minutes: ask it to look now, for every
                // member of a group.
                for f in h.all_freight() {
                    if let Some(app) = st
                        .argocd_app
                        .as_deref()
                        .map(|t| expand(t, &f.service, &meta.stage))
                        && let Err(e) = self.argocd.refresh(&app).await
                    {
                        warn!(error = %e, app, "cannot ask Argo CD to refresh; it will notice on its own");
                    }
                }
                self.verify(number, &h, &sha).await
            }
            // The head moved since we looked: the event for the new head decides.
            Err(ForgeError::Conflict(why)) => {
                info!(pr = number, why, "not merged: the pull request changed");
                Ok(())
            }
            // Refused for good at this head (a conflict that needs a person, a branch
            // rule): say so once, or nobody learns why nothing happens.
            Err(ForgeError::Other(why)) => {
                warn!(pr = number, why, "the forge refused the merge");
                let msg = messages::merge_refused(&head, &why);
                self.comment_once(number, &msg, &format!("merge-refused:{head}"))
                    .await
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The merge gate's facts for Hoist's pull request `pr`, whose head `h` Hoist wrote,
    /// each from its trusted source (see `policy::gate`); with the approver, for the
    /// merge commit's record, and the rendered diff the check shows.
    ///
    /// Kept whole: it builds the one `Facts` value `decide` reads, each field from its own
    /// trusted source (check runs, Argo CD, CODEOWNERS and reviews, the store) in turn.
    async fn gather(
        &self,
        pr: &PullRequest,
        h: &HoistHead,
        st: &Stage,
    ) -> Result<(gate::Facts, Option<String>, String)> {
        let (stage, head) = (&h.stage, &pr.head_sha);
        let all = self.forge.checks(head).await?;
        // A group's pull request is judged for every member: its required checks, its
        // application's rendering, its upstreams running its freight, its files' owners.
        let members = h.all_freight();
        let mut checks: Vec<(String, String, gate::CheckState)> = vec![];
        for m in &members {
            for (name, poster) in messages::required_checks_posted(&self.config, &m.service, stage)
            {
                // One line per check and poster: members sharing a check need it once,
                // and each poster a config names is still required.
                let shown = messages::poster(&poster);
                if checks.iter().any(|(n, p, _)| *n == name && *p == shown) {
                    continue;
                }
                let state = match checks::judge(&name, &poster, &all) {
                    Verdict::Passed => gate::CheckState::Passed,
                    Verdict::Failed(c) => gate::CheckState::Failed { url: c.url.clone() },
                    Verdict::Waiting => gate::CheckState::Waiting,
                };
                checks.push((name, shown, state));
            }
        }
        let mut diff = String::new();
        let mut render = vec![];
        for m in &members {
            let Some(app) = st
                .argocd_app
                .as_deref()
                .map(|t| expand(t, &m.service, stage))
            else {
                continue;
            };
            let rendered = self.argocd.manifests(&app, head).await;
            if let Ok(after) = &rendered
                && let Ok(before) = self.argocd.manifests(&app, &pr.base_sha).await
            {
                diff.push_str(&crate::diff::unified(
                    &format!("{app} manifests"),
                    &before.join("\n"),
                    &after.join("\n"),
                ));
            }
            let rendered = match rendered {
                Ok(m) => gate::Render::Manifests(m.len()),
                Err(why) => gate::Render::Failed(why.0),
            };
            render.push((app, rendered));
        }
        let mut upstreams = vec![];
        for up in &st.upstream {
            let Some(t) = self.config.stage(up).and_then(|u| u.argocd_app.as_deref()) else {
                continue;
            };
            for m in &members {
                let app = expand(t, &m.service, up);
                let state = match self.argocd.application(&app).await {
                    // Exactly the member's digest, as Argo CD reports the image.
                    Ok(Some(a))
                        if a.health == "Healthy"
                            && a.images.iter().any(|i| argocd::runs_freight(i, m)) =>
                    {
                        gate::UpstreamState::RunsHealthy
                    }
                    Ok(Some(a)) => gate::UpstreamState::Not { health: a.health },
                    Ok(None) => gate::UpstreamState::Unknown,
                    Err(e) => gate::UpstreamState::Unreachable(e.0),
                };
                upstreams.push((up.clone(), app, state, m.digest.short()));
            }
        }
        let soaking = self.soaking(st, &members).await?;
        let mut approvers: Vec<String> = vec![];
        let mut owners = vec![];
        if st.gate.codeowners {
            // Every file the stage's targets name (the config's, never the pull
            // request's list), each owned per CODEOWNERS on the base head.
            let paths: Vec<String> = members
                .iter()
                .filter_map(|m| {
                    let s = self.config.services.get(&m.service)?;
                    Some(s.paths_for(&m.service, stage))
                })
                .flatten()
                .collect();
            let base = self.forge.base_head().await?;
            let mut co = CodeOwners::default();
            for loc in codeowners::LOCATIONS {
                if let Some(t) = self.forge.read_file(loc, &base).await? {
                    co = CodeOwners::parse(&t);
                    break;
                }
            }
            // Separation of duties by the forge's numeric id (a login can be renamed);
            // a promotion Hoist started on its own has no person to keep apart.
            let excluded = (st.gate.separate_approver && h.requester.kind == ActorKind::User)
                .then_some(&h.requester);
            let reviews = self.forge.reviews(pr.number).await?;
            for (path, who_owns) in co.requirements(&paths) {
                let mut approver = None;
                for who in approvals_on_head(&reviews, head, self.forge.me(), excluded) {
                    if self.is_one_of(who, &who_owns).await? {
                        approver = Some(who.login.clone());
                        break;
                    }
                }
                if let Some(a) = &approver
                    && !approvers.contains(a)
                {
                    approvers.push(a.clone());
                }
                owners.push(gate::Owners {
                    path,
                    problem: co.skipped.first().map(|(_, w)| w.clone()),
                    owners: who_owns,
                    approver,
                    excluded: excluded.map(|r| r.login.clone()),
                });
            }
        }
        // Recorded only when every requirement has its approver.
        let approver = (!owners.is_empty() && owners.iter().all(|o| o.approver.is_some()))
            .then(|| approvers.join(", "));
        let facts = gate::Facts {
            head: head.clone(),
            stage: stage.clone(),
            checks,
            render,
            upstreams,
            owners,
            held_by: self.store.held_by(pr.number).await?,
            soaking,
            outside_window: {
                let windows = st.windows();
                crate::policy::window::check(&windows, self.store.now_ms())
                    .err()
                    .map(|next| {
                        let text: Vec<&str> = windows.iter().map(|w| w.text.as_str()).collect();
                        (text.join("; "), next)
                    })
            },
            stage_held: self.stage_held(h).await?,
            frozen: self
                .frozen_for(stage, pr.number, head)
                .await?
                .map(|(f, through)| (f.by, f.reason, through)),
            mergeable: pr.mergeable,
        };
        Ok((facts, approver, diff))
    }

    /// A merged rollback (`h`, the store's record of the head) holds forward promotions
    /// of its service into the stage, once per merge: an `/unhold` since is not undone by
    /// a redelivered event. Argo CD's health is judged afresh for the freight.
    async fn hold_after_rollback(&self, h: &HoistHead, merge_sha: &str) -> Result<()> {
        let Some(from) = &h.rollback_of else {
            return Ok(());
        };
        let why = messages::rollback_hold_reason(h.freight.tag.as_str(), from);
        let service = &h.freight.service;
        let Some(number) = h.pr else {
            return Ok(());
        };
        let held = self
            .store
            .hold_after_rollback(
                service,
                &h.stage,
                &h.requester.login,
                &why,
                merge_sha,
                number,
            )
            .await?;
        if held.is_some() {
            self.store
                .forget_healthy(service, &h.stage, h.freight.digest.as_str())
                .await?;
        }
        // Announced on the rollback; said again by a retry after a failed post while the
        // hold stands. A lost store needs no record of it: see `rebuild_stage_holds`.
        if held.is_some() || self.store.stage_hold(service, &h.stage).await?.is_some() {
            let text = messages::stage_held_after_rollback(service, &h.stage);
            self.comment_once(number, &text, &format!("hold:{merge_sha}"))
                .await?;
        }
        Ok(())
    }

    /// Where `members` have not soaked long enough before `st` (its `soak`): each
    /// upstream with the longest time left of any member, or `None` where one has no
    /// verified time there (a ledger rebuilt from the forge has none until reconcile
    /// verifies it again: the soak starts over, never counts as done). When each was
    /// verified there is the store's ledger.
    async fn soaking(
        &self,
        st: &Stage,
        members: &[&Freight],
    ) -> Result<Vec<(String, Option<i64>, i64)>> {
        let Some(soak) = st.soak_ms() else {
            return Ok(vec![]);
        };
        let now = self.store.now_ms();
        // Each upstream: whether a member still soaks there, whether one's end is
        // unknown, the longest time left.
        let mut per: Vec<(&String, bool, bool, i64)> = vec![];
        for up in &st.upstream {
            let (mut soaks, mut unknown, mut longest) = (false, false, 0i64);
            for m in members {
                let verified = self
                    .store
                    .ledger_get(&m.service, up, m.digest.as_str())
                    .await?
                    .and_then(|p| p.verified_at);
                match verified {
                    Some(v) if v.saturating_add(soak) <= now => {}
                    Some(v) => {
                        soaks = true;
                        longest = longest.max(v.saturating_add(soak) - now);
                    }
                    None => (soaks, unknown) = (true, true),
                }
            }
            per.push((up, soaks, unknown, longest));
        }
        let line = |(up, _, unknown, left): &(&String, bool, bool, i64)| {
            ((*up).clone(), (!unknown).then_some(*left), soak)
        };
        if st.availability == crate::config::Availability::Any {
            // One upstream where the freight soaked is enough; else the one that ends
            // first is waited for.
            if per.iter().any(|(_, soaks, _, _)| !soaks) {
                return Ok(vec![]);
            }
            if let Some(first) = per
                .iter()
                .filter(|(_, _, unknown, _)| !unknown)
                .min_by_key(|(_, _, _, left)| *left)
            {
                return Ok(vec![line(first)]);
            }
        }
        Ok(per
            .iter()
            .filter(|(_, soaks, _, _)| *soaks)
            .map(line)
            .collect())
    }

    /// Who holds the stage `h` promotes into for its service (a merged rollback, the
    /// store's record); a rollback itself is never held by one.
    async fn stage_held(&self, h: &HoistHead) -> Result<Option<String>> {
        if h.rollback_of.is_some() {
            return Ok(None);
        }
        for f in h.all_freight() {
            if let Some(hold) = self.store.stage_hold(&f.service, &h.stage).await? {
                return Ok(Some(hold.by));
            }
        }
        Ok(None)
    }

    /// Publishes `hoist/argocd` on `head` when its content changed since last time.
    async fn publish_argocd_check(
        &self,
        number: u64,
        head: &str,
        d: &gate::Decision,
        diff: &str,
    ) -> Result<()> {
        let (conclusion, title) = match d.state() {
            State::Ready => (Conclusion::Success, "Ready to merge"),
            State::Waiting => (Conclusion::Pending, "Waiting"),
            State::Blocked => (Conclusion::Failure, "Blocked"),
        };
        let lines: Vec<(&str, &str)> = d
            .lines
            .iter()
            .map(|(s, l)| (messages::gate_mark(*s), l.as_str()))
            .collect();
        let summary = messages::argocd_check_summary(&lines, diff);
        let content = format!("{title}\n{summary}");
        if self
            .store
            .check_changed(head, ARGOCD_CHECK, &content)
            .await?
        {
            self.forge
                .create_check_run(number, head, ARGOCD_CHECK, conclusion, title, &summary)
                .await?;
            self.store
                .record_check(head, ARGOCD_CHECK, &content)
                .await?;
        }
        Ok(())
    }

    /// A merged pull request records its freight as merged into its stage only when its
    /// head is one Hoist wrote for it (the store's record, not the branch name or body):
    /// a look-alike pull request merged by hand promotes nothing.
    pub(super) async fn on_merged(&self, number: u64) -> Result<()> {
        let pr = self.forge.pull_request(number).await?;
        let Some(sha) = pr.merge_sha.clone() else {
            return Ok(());
        };
        let Some(h) = self.promotion_at_head(&pr).await? else {
            return Ok(());
        };
        for f in h.all_freight() {
            if h.rollback_of.is_some() {
                self.store
                    .ledger_opened(f, &h.stage, number, &h.requester.login)
                    .await?;
            }
            self.store
                .ledger_merged(&f.service, &h.stage, f.digest.as_str(), &sha, None, number)
                .await?;
        }
        // A merge Hoist did not see itself (a lost write, a merge by hand) still holds,
        // and is told of (once: the key is the merge's, as when Hoist merges it).
        let summary = messages::notify_merged(&messages::notify_what(&h), &h.stage);
        let n = self.notice_of(NotifyEvent::Merged, &h, number, summary);
        self.notify(n, &format!("merged:{number}:{sha}")).await;
        Box::pin(self.hold_after_rollback(&h, &sha)).await?;
        // Boxed: verification's future is large, and it runs under every event's.
        Box::pin(self.verify(number, &h, &sha)).await
    }

    /// A promotion pull request closed without merging decided nothing: its heads are
    /// retired, so that reopened it needs its gate again (a `/promote` writes a new
    /// head), and its branch is deleted while Hoist's head is still on it.
    pub(super) async fn on_closed(&self, number: u64) -> Result<()> {
        let pr = self.forge.pull_request(number).await?;
        // A fork's or another base's pull request never carries Hoist's heads: closing it
        // must not retire the head it shares with Hoist's own.
        if pr.state == PrState::Merged || pr.from_fork || pr.base_ref != self.forge.base() {
            return Ok(());
        }
        // Reopened since, or not: the close was a decision, and it stands. A reopened
        // pull request needs its gate again.
        let ours = pr.state == PrState::Closed
            && match self.promotion_at_head(&pr).await {
                Ok(h) => h.is_some(),
                Err(EngineError::Waiting(_)) => false,
                Err(e) => return Err(e),
            };
        let retired = self.store.retire_heads(number, &pr.head_sha).await?;
        if ours {
            let _turn = self.branch_turn(&pr.head_ref).await;
            // Only while the branch still holds the head Hoist wrote: a newer promotion,
            // or someone's commits, may have taken the branch since (reconcile can come
            // long after the close).
            let still_ours = self
                .forge
                .branch_commits(&pr.head_ref)
                .await?
                .and_then(|c| c.last().map(|c| c.sha == pr.head_sha))
                .unwrap_or(false);
            if still_ours
                && self
                    .forge
                    .open_pull_request_for(&pr.head_ref)
                    .await?
                    .is_none()
            {
                self.forge.delete_branch(&pr.head_ref).await?;
            }
        }
        info!(
            pr = number,
            retired, "closed unmerged: its heads decide nothing now"
        );
        Ok(())
    }

    /// The promotion pull request `pr` carries, from the store's record of the heads
    /// Hoist wrote (trusted: Hoist's own store, and the forge's head SHA and head
    /// repository): its head must be a commit Hoist wrote for this very pull request,
    /// on a branch of this repository. `None` for any other pull request. On Hoist's own
    /// pull request, a head Hoist did not write is said once, and decides nothing.
    pub(super) async fn promotion_at_head(&self, pr: &PullRequest) -> Result<Option<HoistHead>> {
        // A fork's, or one retargeted at another branch than the configured base.
        if pr.from_fork || pr.base_ref != self.forge.base() {
            return Ok(None);
        }
        match self.store.hoist_head(&pr.head_sha).await? {
            Some(h) if h.pr == Some(pr.number) => Ok(Some(h)),
            // Written, and its pull request opened before Hoist noted its number (the
            // event came first, or Hoist stopped in between): the pull request from the
            // very branch Hoist wrote it to, in this repository, is it.
            Some(mut h)
                if h.pr.is_none()
                    && pr.state == PrState::Open
                    && pr.head_ref
                        == crate::marks::branch(
                            &h.stage,
                            h.group.as_deref().unwrap_or(&h.freight.service),
                        ) =>
            {
                self.store.attach_head(&h.sha, pr.number).await?;
                self.store
                    .land_carried_hold(&pr.head_ref, pr.number)
                    .await?;
                h.pr = Some(pr.number);
                Ok(Some(h))
            }
            Some(_) => Ok(None),
            None => {
                if pr.state == PrState::Open && self.store.is_hoist_pr(pr.number).await? {
                    // While Hoist rewrites its branch it briefly points at the base: a
                    // head with nothing on it deserves no word.
                    let commits = self.forge.branch_commits(&pr.head_ref).await?;
                    if commits.is_some_and(|cs| !cs.is_empty()) {
                        let msg = messages::foreign_head(&pr.head_sha, &pr.head_ref);
                        self.comment_once(pr.number, &msg, &format!("foreign:{}", pr.head_sha))
                            .await?;
                    }
                }
                Ok(None)
            }
        }
    }

    /// The revision Argo CD runs that carries this promotion: the merge itself, or a later
    /// revision whose overlay still pins the same digest (the stage moved on, through other
    /// services' promotions, before this merge was verified: after a lost store, say).
    /// Otherwise the merge, which verification then waits for.
    async fn running_revision(
        &self,
        app: &crate::argocd::AppStatus,
        merge_sha: &str,
        h: &HoistHead,
    ) -> Result<String> {
        if app.revisions.iter().any(|r| r == merge_sha) {
            return Ok(merge_sha.to_owned());
        }
        let service = &h.freight.service;
        let Some(svc) = self.config.services.get(service) else {
            return Ok(merge_sha.to_owned());
        };
        let targets = crate::target::of(svc, service, &h.stage);
        'revisions: for r in &app.revisions {
            // Best effort: a revision the forge cannot show is simply not this one. Every
            // target, parsed, must pin the freight: the first by its digest, the others by
            // their digest where they pin one, else their tag. The digest written anywhere
            // else (a comment) proves nothing.
            for (i, t) in targets.iter().enumerate() {
                let pinned = match self.forge.read_file(&t.path, r).await {
                    Ok(Some(text)) => crate::target::read(&t.kind, &text).ok().flatten(),
                    _ => None,
                };
                let runs = pinned.is_some_and(|p| match p.digest.as_deref() {
                    Some(d) => d == h.freight.digest.as_str(),
                    None => i > 0 && p.tag.as_deref() == Some(h.freight.tag.as_str()),
                });
                if !runs {
                    continue 'revisions;
                }
            }
            return Ok(r.clone());
        }
        Ok(merge_sha.to_owned())
    }

    /// Records the freight verified in its stage once Argo CD runs the merge, says so on
    /// the PR, and opens the PRs of automatic stages downstream.
    async fn verify(&self, number: u64, h: &HoistHead, merge_sha: &str) -> Result<()> {
        if h.group.is_some() {
            return self.verify_group(number, h, merge_sha).await;
        }
        let meta = Meta::of(h);
        let Some(st) = self.config.stage(&meta.stage) else {
            return Ok(());
        };
        let app = st
            .argocd_app
            .as_deref()
            .map(|t| expand(t, &meta.service, &meta.stage));
        // The ledger row exists before anything is recorded on it (a merge Hoist did not see).
        self.store
            .ledger_opened(&h.freight, &meta.stage, number, &meta.requested_by)
            .await?;
        if let Some(app) = &app
            && let Some((text, e)) = self.not_verified_yet(h, &meta, app, merge_sha).await?
        {
            let key = messages::deploy_key(&meta.stage, &meta.digest);
            return self.wait_on(number, &meta, &key, text, e).await;
        }
        self.record_verified(number, h, &meta, app.as_deref(), merge_sha)
            .await
    }

    /// A group's merge is verified when every member's application runs its freight
    /// (Argo CD), judged member by member as one service's; until then it waits on the
    /// first member that does not, and says which, in the group's one status comment.
    /// Once verified: the ledger (the store) records every member verified, the group's
    /// automatic downstream stages open when the DAG lets every member in, and one line
    /// says so.
    ///
    /// Kept whole: as `verify` and `record_verified` together, one ordered step.
    async fn verify_group(&self, number: u64, h: &HoistHead, merge_sha: &str) -> Result<()> {
        let (Some(st), Some(group)) = (self.config.stage(&h.stage), h.group.as_deref()) else {
            return Ok(());
        };
        let freight: Vec<Freight> = h.all_freight().into_iter().cloned().collect();
        let key = messages::deploy_key(&h.stage, freight[0].digest.as_str());
        let mut apps = vec![];
        for f in &freight {
            let m = HoistHead {
                freight: f.clone(),
                group: None,
                members: vec![],
                ..h.clone()
            };
            let meta = Meta::of(&m);
            let app = st
                .argocd_app
                .as_deref()
                .map(|t| expand(t, &meta.service, &meta.stage));
            self.store
                .ledger_opened(f, &meta.stage, number, &meta.requested_by)
                .await?;
            if let Some(app) = &app
                && let Some((text, e)) = self.not_verified_yet(&m, &meta, app, merge_sha).await?
            {
                return self.wait_on(number, &meta, &key, text, e).await;
            }
            apps.extend(app);
        }
        let mut entered: Vec<Vec<String>> = vec![];
        for f in &freight {
            self.store
                .ledger_verified(&f.service, &h.stage, f.digest.as_str())
                .await?;
            let verified = self
                .store
                .verified_in(&f.service, f.digest.as_str())
                .await?;
            entered.push(verified.into_iter().map(|p| p.stage).collect());
        }
        let mut by_command = vec![];
        for down in self.config.downstream(&h.stage) {
            let ds = self.config.stage(down).expect("downstream stages exist");
            // Every member may enter, and not every member is there already.
            let open = entered
                .iter()
                .all(|v| dag::may_enter(ds, |s: &str| v.iter().any(|x| x == s)) == Entry::Allowed)
                && !entered.iter().all(|v| v.iter().any(|x| x == down));
            if !open {
                continue;
            }
            if ds.auto {
                let requester = match h.requester.kind {
                    ActorKind::User => h.requester.clone(),
                    ActorKind::Bot => Actor::system("hoist"),
                };
                self.promote_group_to(down, group, &freight, &requester)
                    .await?;
            } else {
                by_command.push(down);
            }
        }
        let msg =
            messages::group_verified(&h.stage, group, &freight, merge_sha, &apps, &by_command);
        self.say_verified(number, h, &key, &msg, merge_sha).await;
        Ok(())
    }

    /// Edits the pull request's deploy status comment (`key`) to say it is verified. Best
    /// effort: the verification is recorded, and a retry would find the app moved on.
    /// Tells the webhooks too, unless the comment said it already: verified again after
    /// a lost store, or by a redelivered event, it is no news.
    async fn say_verified(&self, number: u64, h: &HoistHead, key: &str, msg: &str, merge: &str) {
        let said = self
            .forge
            .upsert_comment(
                number,
                &crate::marks::comment_mark(key),
                &crate::marks::with_comment_mark(msg, key),
            )
            .await;
        if let Err(e) = &said {
            warn!(pr = number, error = %e, "cannot say on the pull request that it is verified");
        }
        if !matches!(said, Ok(false)) {
            let summary = messages::notify_verified(&messages::notify_what(h), &h.stage);
            let n = self.notice_of(NotifyEvent::Verified, h, number, summary);
            self.notify(n, &format!("verified:{number}:{merge}")).await;
        }
    }

    /// Why Argo CD's application `app` does not yet count as running the merge, as the
    /// pull request's words and the queue's wait; `None` once it does. Argo CD is the
    /// source for what runs and how healthy it is; the store, for how long it has been.
    ///
    /// Kept whole: Argo CD's answers are checked in order (no answer, no app, not running
    /// it, failing, not yet healthy long enough), each returning its wait early.
    async fn not_verified_yet(
        &self,
        h: &HoistHead,
        meta: &Meta,
        app: &str,
        merge_sha: &str,
    ) -> Result<Option<(String, EngineError)>> {
        let url = self.config.argocd.as_ref().map_or("", |a| a.url.as_str());
        let link = messages::app_link(url, app);
        let status = match self.argocd.application(app).await {
            Ok(Some(status)) => status,
            Ok(None) => {
                let why = messages::argo_has_no_app(app);
                let text = messages::deploy_waiting(&meta.stage, &link, merge_sha, &why);
                return Ok(Some((text, EngineError::Waiting(why))));
            }
            Err(e) => {
                let why = messages::argo_unanswered(&e.to_string());
                let text = messages::deploy_waiting(&meta.stage, &link, merge_sha, &why);
                return Ok(Some((text, EngineError::Waiting(why))));
            }
        };
        let at = self.running_revision(&status, merge_sha, h).await?;
        if let Err(why) = argocd::verify(&status, &at, &h.freight) {
            self.store
                .forget_healthy(&meta.service, &meta.stage, &meta.digest)
                .await?;
            let failed_sync = matches!(status.operation_phase.as_deref(), Some("Failed" | "Error"));
            // Failing is said only of the revision being verified.
            let ours = status.revisions.contains(&at);
            let text = if ours && (failed_sync || status.health == "Degraded") {
                let state = if failed_sync {
                    messages::FAILED_TO_SYNC.to_owned()
                } else {
                    messages::app_is(&status.health)
                };
                if let Some(number) = h.pr {
                    let summary =
                        messages::notify_degraded(&messages::notify_what(h), &meta.stage, &state);
                    let n = self.notice_of(NotifyEvent::Degraded, h, number, summary);
                    self.notify(n, &format!("degraded:{number}:{merge_sha}:{app}"))
                        .await;
                }
                messages::deploy_failing(
                    &meta.stage,
                    &link,
                    merge_sha,
                    &state,
                    status.message.as_deref(),
                    h.group
                        .as_deref()
                        .or_else(|| self.config.group_of(&meta.service).map(|(g, _)| g)),
                )
            } else {
                messages::deploy_waiting(&meta.stage, &link, merge_sha, &why.to_string())
            };
            let why = messages::app_waiting(app, &why.to_string());
            return Ok(Some((text, EngineError::Waiting(why))));
        }
        // Healthy must hold for the debounce: a rollout can look healthy a moment before
        // its pods start failing.
        let debounce = self
            .config
            .argocd
            .as_ref()
            .map_or(0, |a| a.health_debounce_seconds);
        let since = self
            .store
            .healthy_since(&meta.service, &meta.stage, &meta.digest)
            .await?;
        if self.store.now_ms() - since >= debounce as i64 * 1000 {
            return Ok(None);
        }
        // The instant it will have held long enough is known: look then.
        let when = since + debounce as i64 * 1000;
        let hms = &crate::clock::rfc3339((when + 999) / 1000)[11..19];
        let text = messages::deploy_healthy(&meta.stage, &link, merge_sha, hms, debounce);
        let e = EngineError::WaitingUntil(messages::app_debouncing(app, debounce), when);
        Ok(Some((text, e)))
    }

    /// Says `text` in the pull request's deploy status comment and returns the wait `e`.
    /// A promotion a newer one into the same stage has overtaken (the store's ledger) may
    /// never run: its pull request is not told of waits that are the newer one's to tell.
    async fn wait_on(
        &self,
        number: u64,
        meta: &Meta,
        key: &str,
        text: String,
        e: EngineError,
    ) -> Result<()> {
        let overtaken = self
            .store
            .ledger_for(&meta.service)
            .await?
            .iter()
            .any(|p| p.stage == meta.stage && p.merge_sha.is_some() && p.pr > Some(number));
        if overtaken {
            return Err(e);
        }
        // Best effort: the wait stands whether or not the PR could be told.
        if let Err(err) = self
            .forge
            .upsert_comment(
                number,
                &crate::marks::comment_mark(key),
                &crate::marks::with_comment_mark(&text, key),
            )
            .await
        {
            warn!(pr = number, error = %err, "cannot update the deploy status comment");
        }
        Err(e)
    }

    /// Records the promotion verified, opens the pull requests of automatic stages the
    /// freight may now enter (the DAG over the store's ledger), and says so on the pull
    /// request.
    ///
    /// Kept whole: the ledger's record, the automatic promotions it allows and the comment
    /// that names what is next are one step, in that order.
    async fn record_verified(
        &self,
        number: u64,
        h: &HoistHead,
        meta: &Meta,
        app: Option<&str>,
        merge_sha: &str,
    ) -> Result<()> {
        self.store
            .ledger_verified(&meta.service, &meta.stage, &meta.digest)
            .await?;
        let verified: Vec<String> = self
            .store
            .verified_in(&meta.service, &meta.digest)
            .await?
            .into_iter()
            .map(|p| p.stage)
            .collect();
        let is_in = |s: &str| verified.iter().any(|v| v == s);
        let mut by_command = vec![];
        for down in self.config.downstream(&meta.stage) {
            let ds = self.config.stage(down).expect("downstream stages exist");
            if dag::may_enter(ds, is_in) != Entry::Allowed || is_in(down) {
                continue;
            }
            if ds.auto && self.config.group_of(&meta.service).is_some() {
                // A member never moves alone: its group's automatic downstream stages
                // open from `verify_group`.
                continue;
            }
            if ds.auto {
                // An automatic stage's promotion still answers to the person who set the
                // freight moving: their approval must not count for it either.
                let requester = match h.requester.kind {
                    ActorKind::User => h.requester.clone(),
                    ActorKind::Bot => Actor::system("hoist"),
                };
                self.promote_to(down, &h.freight, &requester).await?;
            } else {
                by_command.push(down);
            }
        }
        let msg = messages::verified(
            &meta.stage,
            &meta.service,
            &meta.tag,
            merge_sha,
            app,
            &by_command,
        );
        // The deploy status comment, if a wait posted one, now says it is verified.
        let key = messages::deploy_key(&meta.stage, &meta.digest);
        self.say_verified(number, h, &key, &msg, merge_sha).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(id: u64, login: &str, kind: ActorKind) -> Actor {
        Actor {
            id,
            login: login.into(),
            kind,
        }
    }

    fn review(who: &Actor, state: ReviewState, on: &str) -> Review {
        Review {
            reviewer: who.clone(),
            state,
            commit_id: Some(on.into()),
        }
    }

    #[test]
    fn only_current_independent_human_approvals_count() {
        let me = actor(1, "hoist[bot]", ActorKind::Bot);
        let sre = actor(2, "sam", ActorKind::User);
        let quinn = actor(3, "quinn", ActorKind::User);
        let bot = actor(4, "renovate[bot]", ActorKind::Bot);
        let stale = actor(5, "stale", ActorKind::User);
        let flip = actor(6, "flip", ActorKind::User);
        let reviews = vec![
            review(&sre, ReviewState::Approved, "head"),
            review(&sre, ReviewState::Commented, "head"),
            review(&quinn, ReviewState::Approved, "head"),
            review(&bot, ReviewState::Approved, "head"),
            review(&me, ReviewState::Approved, "head"),
            review(&stale, ReviewState::Approved, "old"),
            review(&flip, ReviewState::Approved, "head"),
            review(&flip, ReviewState::ChangesRequested, "head"),
        ];
        // quinn renamed since the request: the numeric id still says who it is.
        let renamed = actor(3, "quinn-renamed", ActorKind::User);
        let got: Vec<&str> = approvals_on_head(&reviews, "head", &me, Some(&renamed))
            .iter()
            .map(|a| a.login.as_str())
            .collect();
        assert_eq!(got, ["sam"]);
    }
}
