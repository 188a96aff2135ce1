//! Comment commands on promotion PRs: `/promote`, `/hold`, `/unhold`, `/status`,
//! `/help`. All replies to one comment go into one comment; reactions say received
//! (👀), done (🚀) or refused (😕), and never block the command.

use tracing::warn;

use super::{Engine, Outcome, Result};
use crate::argocd::ArgoCd;
use crate::command::{self, Command};
use crate::config::Stage;
use crate::domain::Actor;
use crate::forge::{Forge, Permission, Reaction};
use crate::image::Tag;
use crate::messages;
use crate::plan::Planner;
use crate::policy::dag;
use crate::registry::Registry;
use crate::store::heads::HoistHead;

/// What Hoist answers one command with: done (or nothing to do), or refused; each with
/// its text. A refusal makes the comment's reaction 😕.
pub(super) enum Reply {
    Done(String),
    Refused(String),
}

impl<F: Forge, A: ArgoCd, R: Registry> Engine<F, A, R> {
    pub(super) async fn react(&self, comment_id: u64, r: Reaction) {
        if let Err(e) = self.forge.react(comment_id, r).await {
            warn!(error = %e, "reaction failed; the command goes on");
        }
    }

    /// Write access to the repository, and a promoter of the stage when it names any.
    pub(super) async fn may_promote(&self, who: &Actor, st: &Stage) -> Result<bool> {
        if self.forge.permission(who).await? < Permission::Write {
            return Ok(false);
        }
        if st.gate.promoters.is_empty() {
            return Ok(true);
        }
        self.is_one_of(who, &st.gate.promoters).await
    }

    /// Kept whole: the dedupe and rewrite-wait guards come before one match over the parsed
    /// commands, whose outcomes make the single reply, the reaction and the follow-ups.
    /// `replayed`: reconcile found the comment unanswered (its event never came, or
    /// the store that knew it was answered was lost, or Hoist's reply was edited or
    /// deleted); a command about a stage's freeze or hold, or a rollback, is not run
    /// then: an old `/unfreeze` or `/unhold` must never lift a newer freeze or hold.
    pub(super) async fn on_comment(
        &self,
        number: u64,
        comment_id: u64,
        body: &str,
        author: &Actor,
        replayed: bool,
    ) -> Result<()> {
        let cmds = command::parse(body);
        if cmds.is_empty() {
            return Ok(());
        }
        let key = format!("reply:{comment_id}");
        if self.store.answered(comment_id).await? {
            return Ok(());
        }
        // After a lost store, Hoist's own reply (never a marker in anyone else's comment).
        let me = self.forge.me();
        if self
            .forge
            .comments(number)
            .await?
            .iter()
            .any(|c| c.is_own_with(me, &crate::marks::comment_mark(&key)))
        {
            self.store.record_answered(comment_id, number).await?;
            return Ok(());
        }
        self.react(comment_id, Reaction::Eyes).await;
        let pr = self.forge.pull_request(number).await?;
        // What this pull request promotes, from the store by its number and head: never
        // from its body, which anyone with write access can edit.
        let head = self.promotion_at_head(&pr).await?;
        // Halfway through Hoist's rewrite of its branch, the head is the base itself: a
        // command about the freight waits for the new head rather than being answered for
        // none. `/hold` and the rest do not wait: they are about the pull request.
        let about_freight = cmds.iter().any(|c| {
            matches!(
                c,
                Ok(Command::Promote { .. }
                    | Command::Rollback { .. }
                    | Command::UnholdStage { .. }
                    | Command::OverrideFreeze { .. }
                    | Command::Status)
            )
        });
        if about_freight
            && head.is_none()
            && pr.head_sha == pr.base_sha
            && self.store.is_hoist_pr(number).await?
        {
            // In order, not parked: a /hold or /unhold in the same comment must not be
            // overtaken by what comes after it on this pull request.
            return Err(super::EngineError::InOrder(
                "Hoist is rewriting this pull request's branch".into(),
            ));
        }
        let meta = head.as_ref();
        let mut replies = vec![];
        let mut refused = false;
        let mut released = false;
        let mut overridden = false;
        // Other pull requests a command lets merge now (`/unhold STAGE`), or whose check
        // must say what changed (`/freeze`).
        let mut also: Vec<u64> = vec![];
        // The first refusal about a stage, for the webhooks.
        let mut first_refusal: Option<(String, String)> = None;
        // Freeze and hold changes, recorded at the top of the reply.
        let mut records = vec![];
        for cmd in cmds {
            // The stage a refusal is about, for who is told of it: one of the config's.
            let about = cmd
                .as_ref()
                .ok()
                .and_then(Command::stage)
                .or(meta.map(|h| h.stage.as_str()))
                .filter(|s| self.config.stage(s).is_some())
                .map(str::to_owned);
            let reply = match cmd {
                Err(e) => Reply::Refused(messages::command_refused(&e.to_string())),
                Ok(
                    Command::Freeze { .. }
                    | Command::Unfreeze { .. }
                    | Command::OverrideFreeze { .. }
                    | Command::UnholdStage { .. }
                    | Command::Rollback { .. },
                ) if replayed => Reply::Refused(messages::not_replayed()),
                Ok(Command::Help) => Reply::Done(format!(
                    "```\n{}```",
                    command::help(&self.config.promotable_stages())
                )),
                Ok(Command::Status) => Reply::Done(self.status(meta).await?),
                Ok(Command::Hold | Command::Unhold)
                    if self.forge.permission(author).await? < Permission::Write =>
                {
                    Reply::Refused(messages::hold_refusal(&author.login, &self.repo_name))
                }
                Ok(Command::Hold) => {
                    let _gate = self.merge_gate(number).await;
                    self.store.hold(number, &author.login).await?;
                    Reply::Done(messages::held(&author.login))
                }
                Ok(Command::Unhold) => {
                    if self.store.unhold(number).await? {
                        released = true;
                        Reply::Done(messages::unheld(&author.login))
                    } else {
                        Reply::Done(messages::not_held())
                    }
                }
                Ok(Command::OverrideDag { head, reason }) => {
                    let bg = &self.config.dag.break_glass;
                    if bg.is_empty()
                        || self.forge.permission(author).await? < Permission::Write
                        || !self.is_one_of(author, bg).await?
                    {
                        Reply::Refused(messages::override_refusal(&author.login, bg))
                    } else if pr.head_sha.to_ascii_lowercase() != head {
                        // Bound to the head the commenter reviewed: a push after it (or
                        // before Hoist got to the comment) needs its own override.
                        Reply::Refused(messages::override_stale(&author.login, &head, &pr.head_sha))
                    } else {
                        self.store
                            .record_override(number, &pr.head_sha, &author.login, &reason)
                            .await?;
                        tracing::warn!(pr = number, by = %author.login, %reason, "hoist/dag overridden");
                        overridden = true;
                        Reply::Done(messages::overridden(&author.login, &pr.head_sha, &reason))
                    }
                }
                Ok(Command::Rollback { stage, to }) => {
                    // Boxed: a promotion's future is large, and commands run under events'.
                    Box::pin(self.rollback_command(meta, &stage, to.as_deref(), author)).await?
                }
                Ok(Command::UnholdStage { stage }) => {
                    let (reply, open, record) =
                        Box::pin(self.unhold_stage_command(meta, &stage, author)).await?;
                    records.extend(record);
                    match open {
                        // This very pull request: evaluated below, under the lock held.
                        Some(n) if n == number => released = true,
                        other => also.extend(other),
                    }
                    reply
                }
                // Recorded where a lost store looks again: Hoist's own pull requests.
                Ok(Command::Freeze { .. } | Command::Unfreeze { .. })
                    if meta.is_none() && !self.store.is_hoist_pr(number).await? =>
                {
                    Reply::Refused(messages::not_a_promotion_pr("/freeze"))
                }
                Ok(Command::Freeze { stage, reason }) => {
                    let done = Box::pin(self.freeze_command(&stage, Some(&reason), author)).await?;
                    done.take(number, &mut records, &mut also, &mut released)
                }
                Ok(Command::Unfreeze { stage }) => {
                    let done = Box::pin(self.freeze_command(&stage, None, author)).await?;
                    done.take(number, &mut records, &mut also, &mut released)
                }
                Ok(Command::OverrideFreeze { reason }) => {
                    let (reply, through) =
                        Box::pin(self.override_freeze_command(&pr, meta, &reason, author)).await?;
                    released |= through;
                    reply
                }
                Ok(Command::Promote { stage, services }) => {
                    self.promote_command(meta, &stage, &services, author)
                        .await?
                }
            };
            match reply {
                Reply::Done(r) => replies.push(r),
                Reply::Refused(r) => {
                    refused = true;
                    if let (None, Some(stage)) = (&first_refusal, about) {
                        first_refusal = Some((stage, r.clone()));
                    }
                    replies.push(r);
                }
            }
        }
        let mut body = records;
        body.push(replies.join("\n\n"));
        let reaction = if refused {
            Reaction::Confused
        } else {
            Reaction::Rocket
        };
        // The reply and its reaction together, unless an override's check must be
        // published first: before the comment counts as answered, so that if publishing
        // fails, the retried event runs the override again rather than leave the failing
        // check standing.
        self.reply_once(
            number,
            &body.join("\n"),
            &key,
            (!overridden).then_some((comment_id, reaction)),
        )
        .await?;
        if overridden {
            self.dag_check(number).await?;
        }
        self.store.record_answered(comment_id, number).await?;
        if let Some((stage, reply)) = first_refusal
            && let Err(e) =
                Box::pin(self.notify_refused(number, comment_id, &stage, &reply, author)).await
        {
            warn!(pr = number, error = %e, "cannot tell the webhooks of a refusal");
        }
        if overridden {
            self.react(comment_id, reaction).await;
        }
        // A soak is the pull request's own events' to schedule: the comment is answered,
        // and its event must not come back for it.
        if released {
            self.evaluate(number)
                .await
                .or_else(super::not_before_is_done)?;
        }
        // Only those no one is handling now: this comment's own key is held, and two
        // comments each waiting for the other's pull request would wait forever. One
        // being handled sees the change itself; the merge looks at freezes and holds
        // again under their locks. One failing does not keep the others from it.
        for n in also {
            let Some(_key) = self.store.try_lock(&self.pr_key(n)) else {
                continue;
            };
            if let Err(e) = Box::pin(self.evaluate(n))
                .await
                .or_else(super::not_before_is_done)
            {
                warn!(pr = n, error = %e, "cannot judge the pull request again; its next event or reconcile will");
            }
        }
        Ok(())
    }

    /// `/promote STAGE` on a group's pull request: every member's freight (the head's
    /// record, Hoist's store) must be verified where the DAG asks (the ledger), then the
    /// group's one pull request into `stage` opens.
    async fn promote_group_command(
        &self,
        h: &HoistHead,
        stage: &str,
        st: &crate::config::Stage,
        author: &Actor,
    ) -> Result<Reply> {
        let group = h.group.clone().unwrap_or_default();
        let mut members = vec![];
        for m in h.all_freight() {
            let rows = self
                .store
                .verified_in(&m.service, m.digest.as_str())
                .await?;
            let verified: Vec<String> = rows.iter().map(|p| p.stage.clone()).collect();
            let standing: Vec<&str> = verified.iter().map(String::as_str).collect();
            if let Some(r) = dag::refused(&self.config, stage, st, &standing) {
                return Ok(Reply::Refused(messages::dag_refusal(
                    stage,
                    st,
                    &format!("{} {}", m.service, m.label()),
                    &standing,
                    r.next,
                    "is verified in",
                )));
            }
            let mut m = m.clone();
            if let Some(tag) = rows.first().and_then(|p| Tag::parse(&p.tag).ok()) {
                m.tag = tag;
            }
            members.push(m);
        }
        let tags = format!("({})", messages::members_list(&members));
        Ok(
            match self
                .promote_group_to(stage, &group, &members, author)
                .await?
            {
                Outcome::Opened(n) | Outcome::Updated(n) | Outcome::AlreadyOpen(n) => {
                    Reply::Done(messages::opened(stage, &group, &tags, n))
                }
                Outcome::Nothing(why) => Reply::Done(messages::nothing_to_do_in(stage, &why)),
                Outcome::Blocked(why) => Reply::Refused(why),
            },
        )
    }

    /// `/promote STAGE` on a promotion's pull request: the freight of the head's record.
    ///
    /// Kept whole: it refuses in order (unknown stage, no promotion here, another service,
    /// a group member alone, a root stage, no permission, the DAG) before promoting;
    /// split, that order would hide.
    async fn promote_command(
        &self,
        meta: Option<&HoistHead>,
        stage: &str,
        services: &[String],
        author: &Actor,
    ) -> Result<Reply> {
        let names = self.config.stage_names();
        let Some(st) = self.config.stage(stage) else {
            return Ok(Reply::Refused(messages::unknown_stage(
                "/promote", stage, &names,
            )));
        };
        let Some(freight) = meta.map(|h| h.freight.clone()) else {
            return Ok(Reply::Refused(messages::not_a_promotion_pr("/promote")));
        };
        // On a group's pull request, the group's name or any member's names it.
        let names_it = |s: &String| match meta.and_then(|h| h.group.as_ref()) {
            Some(g) => {
                s == g || meta.is_some_and(|h| h.all_freight().iter().any(|f| &f.service == s))
            }
            None => *s == freight.service,
        };
        if !services.is_empty() && !services.iter().any(names_it) {
            return Ok(Reply::Refused(messages::not_this_service(
                &freight.service,
                services,
            )));
        }
        if st.upstream.is_empty() {
            return Ok(Reply::Refused(messages::root_stage_refusal(stage)));
        }
        if !self.may_promote(author, st).await? {
            return Ok(Reply::Refused(messages::permission_refusal(
                &author.login,
                stage,
                &self.repo_name,
                &st.gate.promoters,
            )));
        }
        if let Some(h) = meta.filter(|h| h.group.is_some()) {
            return self.promote_group_command(h, stage, st, author).await;
        }
        if let Some((group, _)) = self.config.group_of(&freight.service) {
            return Ok(Reply::Refused(messages::member_moves_with_group(
                &freight.service,
                group,
            )));
        }
        let verified_rows = self
            .store
            .verified_in(&freight.service, freight.digest.as_str())
            .await?;
        // The tag, like the digest, comes from the ledger: anyone with write access can
        // edit the body, and a stage pinned by tag alone would deploy the edited tag.
        let mut freight = freight;
        if let Some(tag) = verified_rows.first().and_then(|p| Tag::parse(&p.tag).ok()) {
            freight.tag = tag;
        }
        let verified: Vec<String> = verified_rows.into_iter().map(|p| p.stage).collect();
        let standing: Vec<&str> = verified.iter().map(String::as_str).collect();
        if let Some(r) = dag::refused(&self.config, stage, st, &standing) {
            return Ok(Reply::Refused(messages::dag_refusal(
                stage,
                st,
                &freight.label(),
                &standing,
                r.next,
                "is verified in",
            )));
        }
        Ok(match self.promote_to(stage, &freight, author).await? {
            Outcome::Opened(n) | Outcome::Updated(n) => Reply::Done(messages::opened(
                stage,
                &freight.service,
                freight.tag.as_str(),
                n,
            )),
            Outcome::AlreadyOpen(n) => Reply::Done(messages::already_open(
                stage,
                &freight.service,
                freight.tag.as_str(),
                n,
            )),
            Outcome::Nothing(why) => Reply::Done(messages::nothing_to_do_in(stage, &why)),
            Outcome::Blocked(why) => Reply::Refused(why),
        })
    }

    /// `/status`: what each stage runs, from the overlays on the base branch.
    async fn status(&self, meta: Option<&HoistHead>) -> Result<String> {
        let services: Vec<String> = match meta {
            Some(h) => vec![h.freight.service.clone()],
            None => self.config.services.keys().map(str::to_owned).collect(),
        };
        let base = self.forge.base_head().await?;
        let mut out = vec![];
        for service in services {
            let repo = self.snapshot(&service, &base, None).await?;
            let running = Planner {
                config: &self.config,
                repo: &repo,
                ledger: &[],
            }
            .running(&service)?;
            let ledger = self.store.ledger_for(&service).await?;
            let rows: Vec<_> = running
                .into_iter()
                .map(|(stage, tag)| {
                    let here = ledger
                        .iter()
                        .find(|p| p.stage == stage && Some(&p.tag) == tag.as_ref());
                    let open = ledger
                        .iter()
                        .find(|p| p.stage == stage && p.merged_at.is_none())
                        .and_then(|p| p.pr);
                    let state = if here.is_some_and(|p| p.verified_at.is_some()) {
                        messages::STATUS_VERIFIED
                    } else {
                        ""
                    };
                    (stage, tag, state, open)
                })
                .collect();
            out.push(messages::status_table(&service, &rows));
        }
        for f in self.store.freezes().await? {
            out.push(messages::status_frozen(&f.stage, &f.by, &f.reason));
        }
        Ok(out.join("\n"))
    }
}
