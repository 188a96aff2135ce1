//! Merging a promotion PR once its gate, checks and holds allow, and verifying it after.

use std::collections::HashMap;

use tracing::{info, warn};

use super::{Engine, EngineError, Result};
use crate::argocd::{self, ArgoCd};
use crate::config::expand;
use crate::event::{Actor, ActorKind, ReviewState};
use crate::forge::{Conclusion, Forge, ForgeError, PrState, Review};
use crate::messages;
use crate::plan::PrMeta;
use crate::policy::codeowners::{self, CodeOwners};
use crate::policy::dag::{self, Entry};
use crate::registry::Registry;

pub const ARGOCD_CHECK: &str = "hoist/argocd";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum State {
    Ready,
    Waiting,
    Blocked,
}

/// What a merge waits for, one line per condition, as the check run shows them.
#[derive(Debug, Default)]
struct Conditions {
    lines: Vec<(State, String)>,
    diff: String,
}

impl Conditions {
    fn ok(&mut self, s: String) {
        self.lines.push((State::Ready, s));
    }
    fn wait(&mut self, s: String) {
        self.lines.push((State::Waiting, s));
    }
    fn blocked(&mut self, s: String) {
        self.lines.push((State::Blocked, s));
    }
    fn state(&self) -> State {
        self.lines
            .iter()
            .map(|(s, _)| *s)
            .max()
            .unwrap_or(State::Ready)
    }
    /// Everything but a code owner's approval is there: the moment to say who is awaited.
    fn only_approval_missing(&self) -> bool {
        self.lines
            .iter()
            .filter(|(s, _)| *s != State::Ready)
            .count()
            == 1
    }
}

/// Conclusions that let a merge go ahead.
const PASSING: &[&str] = &["success", "neutral", "skipped"];

/// The approvals that count on `head`: each reviewer's latest approving or
/// change-requesting review, approving, on `head`, by a person who is neither Hoist
/// nor (`excluded`) the requester.
pub fn approvals_on_head<'a>(
    reviews: &'a [Review],
    head: &str,
    me: &Actor,
    excluded: Option<&str>,
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
        .filter(|a| {
            a.kind != ActorKind::Bot
                && !a.is(me)
                && excluded.is_none_or(|x| !x.eq_ignore_ascii_case(&a.login))
        })
        .collect();
    out.sort_by_key(|a| a.key());
    out
}

impl<F: Forge, A: ArgoCd, R: Registry> Engine<F, A, R> {
    /// Merges PR `number` if everything allows it: the required checks on its head, what
    /// Argo CD says (it renders the stage at the head; the upstream still runs the freight,
    /// healthy), its stage's gate, no hold, and the forge's mergeability. The conditions
    /// are published as the `hoist/argocd` check run whenever they change.
    pub async fn evaluate(&self, number: u64) -> Result<()> {
        let pr = self.forge.pull_request(number).await?;
        let Some(meta) = PrMeta::parse(&pr.body) else {
            return Ok(());
        };
        if pr.state != PrState::Open
            || pr.head_ref != format!("hoist/{}/{}", meta.stage, meta.service)
        {
            return Ok(());
        }
        let (Some(st), Some(svc), Some(freight)) = (
            self.config.stage(&meta.stage),
            self.config.services.get(&meta.service),
            meta.freight(),
        ) else {
            return Ok(());
        };
        let head = pr.head_sha.clone();
        let short = argocd::short(&head).to_owned();
        // A body block and a branch name can be written by anyone; the head commit cannot
        // be faked. Hoist merges only a head it wrote for this very freight.
        let Some(requested_by) = self
            .store
            .hoist_head_requester(&head, &meta.service, &meta.stage, &meta.digest)
            .await?
        else {
            // While Hoist rewrites its branch (reset to base, then the new commit), the
            // forge reports heads in between: only a person's commit deserves a word.
            let commits = self.forge.branch_commits(&pr.head_ref).await?;
            if commits.is_some_and(|cs| cs.iter().all(|c| c.author.is(self.forge.me()))) {
                return Ok(());
            }
            let msg = messages::foreign_head(&head, &pr.head_ref);
            return self
                .comment_once(number, &msg, &format!("foreign:{head}"))
                .await;
        };
        let mut c = Conditions::default();

        let checks = self.forge.checks(&head).await?;
        for name in messages::required_checks(&self.config, &meta.service, &meta.stage) {
            match checks
                .iter()
                .rev()
                .find(|c| c.name == name)
                .map(|c| (c.conclusion.as_deref(), c.url.as_deref()))
            {
                Some((Some(ok), _)) if PASSING.contains(&ok) => {
                    c.ok(format!("{name} succeeded on {short}"))
                }
                Some((Some(_), url)) => {
                    c.blocked(format!("{name} failed on {short}"));
                    let msg = messages::check_failed(&name, &head, url, &meta.stage);
                    self.comment_once(number, &msg, &format!("failed:{name}:{head}"))
                        .await?;
                }
                _ => c.wait(format!("{name} on {short}")),
            }
        }
        if let Some(app) = st
            .argocd_app
            .as_deref()
            .map(|t| expand(t, &meta.service, &meta.stage))
        {
            match self.argocd.manifests(&app, &head).await {
                Ok(rendered) => {
                    c.ok(format!(
                        "Argo CD renders {app} at {short} ({} manifests)",
                        rendered.len()
                    ));
                    if let Ok(before) = self.argocd.manifests(&app, &pr.base_sha).await {
                        c.diff = crate::diff::unified(
                            &format!("{app} manifests"),
                            &before.join("\n"),
                            &rendered.join("\n"),
                        );
                    }
                }
                Err(e) => c.blocked(format!("Argo CD cannot render {app} at {short}: {e}")),
            }
        }
        for up in &st.upstream {
            let Some(t) = self.config.stage(up).and_then(|u| u.argocd_app.as_deref()) else {
                continue;
            };
            let app = expand(t, &meta.service, up);
            match self.argocd.application(&app).await {
                Ok(Some(a))
                    if a.health == "Healthy"
                        && a.images.iter().any(|i| i.contains(freight.digest.as_str())) =>
                {
                    c.ok(format!(
                        "upstream {up} runs {} and is Healthy",
                        freight.digest.short()
                    ))
                }
                Ok(Some(a)) => c.wait(format!(
                    "upstream {up} ({app}) to run {} healthy (it is {})",
                    freight.digest.short(),
                    a.health
                )),
                Ok(None) => c.wait(format!("Argo CD to know {app}")),
                Err(e) => c.wait(format!("Argo CD ({e})")),
            }
        }
        let mut approver = None;
        if st.gate.codeowners {
            let path = svc.path_for(&meta.service, &meta.stage);
            let base = self.forge.base_head().await?;
            let mut co = CodeOwners::default();
            for loc in codeowners::LOCATIONS {
                if let Some(t) = self.forge.read_file(loc, &base).await? {
                    co = CodeOwners::parse(&t);
                    break;
                }
            }
            let owners = co.owners(&path).to_vec();
            if owners.is_empty() {
                // Nobody's approval could count: say why instead of waiting for no one.
                let why = co
                    .skipped
                    .first()
                    .map(|(_, w)| format!(" (CODEOWNERS: {w})"))
                    .unwrap_or_default();
                c.blocked(format!("no code owner for {path}{why}"));
            }
            let requester = st.gate.separate_approver.then_some(requested_by.as_str());
            let reviews = self.forge.reviews(number).await?;
            for who in approvals_on_head(&reviews, &head, self.forge.me(), requester) {
                if self.is_one_of(who, &owners).await? {
                    approver = Some(who.login.clone());
                    break;
                }
            }
            let not = requester
                .map(|r| format!(" (not @{r})"))
                .unwrap_or_default();
            match &approver {
                Some(a) => c.ok(format!("approved by @{a} on {short}")),
                None => {
                    c.wait(format!("approval from {}{not}", owners.join(", ")));
                    if c.state() == State::Waiting && c.only_approval_missing() {
                        let dir = path
                            .rsplit_once('/')
                            .map_or(String::new(), |(d, _)| format!("{d}/"));
                        let msg = messages::waiting_for_owner(&dir, &owners, requester);
                        self.comment_once(number, &msg, &format!("waiting:{head}"))
                            .await?;
                    }
                }
            }
        }
        if let Some(by) = self.store.held_by(number).await? {
            c.wait(format!("/unhold (held by @{by})"));
        }
        self.publish_argocd_check(number, &head, &c).await?;
        if c.state() != State::Ready || pr.mergeable == Some(false) {
            return Ok(());
        }
        let title = messages::pr_title(&meta.service, &meta.tag, &meta.stage);
        let mut message = messages::commit_message(&title, &freight, &meta.stage, &requested_by);
        if let Some(a) = &approver {
            message.push_str(&format!("Hoist-Approved-By: {a}\n"));
        }
        // A promotion written between the merge and the deletion would be deleted with it.
        let turn = self.branch_turn(&pr.head_ref).await;
        match self.forge.merge(number, &head, &title, &message).await {
            Ok(sha) => {
                info!(pr = number, sha, "merged");
                self.store
                    .ledger_merged(&meta.service, &meta.stage, &meta.digest, &sha, approver)
                    .await?;
                if let Err(e) = self.forge.delete_branch(&pr.head_ref).await {
                    warn!(error = %e, "cannot delete the merged branch");
                }
                // Verifying may promote downstream, which takes that stage's branch.
                drop(turn);
                // Argo CD polls Git every few minutes: ask it to look now.
                if let Some(app) = st
                    .argocd_app
                    .as_deref()
                    .map(|t| expand(t, &meta.service, &meta.stage))
                    && let Err(e) = self.argocd.refresh(&app).await
                {
                    warn!(error = %e, app, "cannot ask Argo CD to refresh; it will notice on its own");
                }
                self.verify(number, &meta, &sha).await
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

    /// Publishes `hoist/argocd` on `head` when its content changed since last time.
    async fn publish_argocd_check(&self, number: u64, head: &str, c: &Conditions) -> Result<()> {
        let (conclusion, title) = match c.state() {
            State::Ready => (Conclusion::Success, "Ready to merge"),
            State::Waiting => (Conclusion::Pending, "Waiting"),
            State::Blocked => (Conclusion::Failure, "Blocked"),
        };
        let lines: Vec<(&str, &str)> = c
            .lines
            .iter()
            .map(|(s, l)| {
                let mark = match s {
                    State::Ready => "✅",
                    State::Waiting => "⏳",
                    State::Blocked => "❌",
                };
                (mark, l.as_str())
            })
            .collect();
        let summary = messages::argocd_check_summary(&lines, &c.diff);
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

    pub(super) async fn on_merged(&self, number: u64) -> Result<()> {
        let pr = self.forge.pull_request(number).await?;
        let (Some(meta), Some(sha)) = (PrMeta::parse(&pr.body), pr.merge_sha.clone()) else {
            return Ok(());
        };
        if pr.head_ref != format!("hoist/{}/{}", meta.stage, meta.service) {
            return Ok(());
        }
        self.store
            .ledger_merged(&meta.service, &meta.stage, &meta.digest, &sha, None)
            .await?;
        self.verify(number, &meta, &sha).await
    }

    /// The revision Argo CD runs that carries this promotion: the merge itself, or a later
    /// revision whose overlay still pins the same digest (the stage moved on, through other
    /// services' promotions, before this merge was verified: after a lost store, say).
    /// Otherwise the merge, which verification then waits for.
    async fn running_revision(
        &self,
        app: &crate::argocd::AppStatus,
        merge_sha: &str,
        meta: &PrMeta,
    ) -> Result<String> {
        if app.revisions.iter().any(|r| r == merge_sha) {
            return Ok(merge_sha.to_owned());
        }
        let Some(svc) = self.config.services.get(&meta.service) else {
            return Ok(merge_sha.to_owned());
        };
        let path = svc.path_for(&meta.service, &meta.stage);
        for r in &app.revisions {
            // Best effort: a revision the forge cannot show is simply not this one.
            if let Ok(Some(text)) = self.forge.read_file(&path, r).await
                && text.contains(meta.digest.as_str())
            {
                return Ok(r.clone());
            }
        }
        Ok(merge_sha.to_owned())
    }

    /// Records the freight verified in its stage once Argo CD runs the merge, says so on
    /// the PR, and opens the PRs of automatic stages downstream.
    async fn verify(&self, number: u64, meta: &PrMeta, merge_sha: &str) -> Result<()> {
        let Some(freight) = meta.freight() else {
            return Ok(());
        };
        let Some(st) = self.config.stage(&meta.stage) else {
            return Ok(());
        };
        let app = st
            .argocd_app
            .as_deref()
            .map(|t| expand(t, &meta.service, &meta.stage));
        // The ledger row exists before anything is recorded on it (a merge Hoist did not see).
        self.store
            .ledger_opened(&freight, &meta.stage, number, &meta.requested_by)
            .await?;
        if let Some(app) = &app {
            match self.argocd.application(app).await {
                Ok(Some(status)) => {
                    let at = self.running_revision(&status, merge_sha, meta).await?;
                    if let Err(why) = argocd::verify(&status, &at, &freight) {
                        self.store
                            .forget_healthy(&meta.service, &meta.stage, &meta.digest)
                            .await?;
                        return Err(EngineError::Waiting(format!("{app}: {why}")));
                    }
                    // Healthy must hold for the debounce: a rollout can look healthy a
                    // moment before its pods start failing.
                    let debounce = self
                        .config
                        .argocd
                        .as_ref()
                        .map_or(0, |a| a.health_debounce_seconds);
                    let since = self
                        .store
                        .healthy_since(&meta.service, &meta.stage, &meta.digest)
                        .await?;
                    let held = crate::store::now_ms() - since;
                    if held < debounce as i64 * 1000 {
                        return Err(EngineError::Waiting(format!(
                            "{app} is Healthy; waiting until it has been for {debounce}s"
                        )));
                    }
                }
                Ok(None) => {
                    return Err(EngineError::Waiting(format!(
                        "Argo CD has no application {app}"
                    )));
                }
                Err(e) => return Err(EngineError::Waiting(format!("Argo CD: {e}"))),
            }
        }
        self.store
            .ledger_opened(&freight, &meta.stage, number, &meta.requested_by)
            .await?;
        self.store
            .ledger_verified(&meta.service, &meta.stage, &meta.digest)
            .await?;
        let verified: Vec<String> = self
            .store
            .ledger_for(&meta.service)
            .await?
            .into_iter()
            .filter(|p| p.digest == meta.digest && p.verified_at.is_some())
            .map(|p| p.stage)
            .collect();
        let is_in = |s: &str| verified.iter().any(|v| v == s);
        let mut by_command = vec![];
        for down in self.config.downstream(&meta.stage) {
            let ds = self.config.stage(down).expect("downstream stages exist");
            if dag::may_enter(ds, is_in) != Entry::Allowed || is_in(down) {
                continue;
            }
            if ds.auto {
                self.promote_to(down, &freight, "hoist").await?;
            } else {
                by_command.push(down);
            }
        }
        let msg = messages::verified(
            &meta.stage,
            &meta.service,
            &meta.tag,
            merge_sha,
            app.as_deref(),
            &by_command,
        );
        self.comment_once(
            number,
            &msg,
            &format!("verified:{}:{}", meta.stage, meta.digest),
        )
        .await
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
        let got: Vec<&str> = approvals_on_head(&reviews, "head", &me, Some("quinn"))
            .iter()
            .map(|a| a.login.as_str())
            .collect();
        assert_eq!(got, ["sam"]);
    }
}
