//! `/freeze STAGE [reason]`, `/unfreeze STAGE` and `/override freeze <reason>`: no pull
//! request merges into a frozen stage, except one a break-glass override let through at
//! its head. Each change is recorded in the store and, at the top of Hoist's reply, on
//! the forge, where a lost store finds it again.

use tracing::{info, warn};

use super::commands::Reply;
use super::{Engine, Result};
use crate::argocd::ArgoCd;
use crate::domain::Actor;
use crate::forge::{Comment, Forge, Permission, PullRequest};
use crate::marks::FreezeRecord;
use crate::messages;
use crate::registry::Registry;
use crate::store::freezes::Freeze;
use crate::store::heads::HoistHead;

/// What a freeze command did: the reply, the record for the reply's top (when the
/// freeze changed) and the open pull requests into the stage to judge again.
pub(super) struct Frozen {
    pub reply: Reply,
    pub record: Option<FreezeRecord>,
    pub evaluate: Vec<u64>,
}

impl Frozen {
    /// The reply; the record joins `records`, and the pull requests to judge again join
    /// `also`, except `number`, the one commented on, which sets `this`.
    pub fn take(
        self,
        number: u64,
        records: &mut Vec<String>,
        also: &mut Vec<u64>,
        this: &mut bool,
    ) -> Reply {
        records.extend(self.record.as_ref().map(crate::marks::freeze_record));
        for n in self.evaluate {
            if n == number {
                *this = true;
            } else if !also.contains(&n) {
                also.push(n);
            }
        }
        self.reply
    }

    fn refused(why: String) -> Self {
        Frozen {
            reply: Reply::Refused(why),
            record: None,
            evaluate: vec![],
        }
    }
}

impl<F: Forge, A: ArgoCd, R: Registry> Engine<F, A, R> {
    /// Who may freeze and unfreeze: write access (the forge) and a place in `freeze.by`
    /// or `dag.break_glass` (the config; teams by the forge's membership, people by
    /// login on GitHub and IAM principal on CodeCommit).
    async fn may_freeze(&self, who: &Actor) -> Result<bool> {
        let by = self.freezers();
        if by.is_empty() || self.forge.permission(who).await? < Permission::Write {
            return Ok(false);
        }
        self.is_one_of(who, &by).await
    }

    fn freezers(&self) -> Vec<String> {
        let mut by = self.config.freeze.by.clone();
        by.extend(self.config.dag.break_glass.iter().cloned());
        by
    }

    /// `/freeze STAGE [reason]` (`freeze: true`) or `/unfreeze STAGE`, by `author`
    /// (see `may_freeze`). The store records it under the stage's freeze lock, which
    /// the merge takes around its last look: a merge either saw the freeze or came
    /// before it.
    ///
    /// Kept whole: the refusals, the change under the lock and the pull requests to
    /// judge again after it are one step, in that order.
    pub(super) async fn freeze_command(
        &self,
        stage: &str,
        reason: Option<&str>,
        author: &Actor,
    ) -> Result<Frozen> {
        let command = if reason.is_some() {
            "/freeze"
        } else {
            "/unfreeze"
        };
        if self.config.stage(stage).is_none() {
            let names = self.config.stage_names();
            return Ok(Frozen::refused(messages::unknown_stage(
                command, stage, &names,
            )));
        }
        if !self.may_freeze(author).await? {
            return Ok(Frozen::refused(messages::freeze_refusal(
                &author.login,
                command,
                &self.freezers(),
            )));
        }
        let lock = self.freeze_lock(stage).await;
        let frozen = reason.is_some();
        let change = self
            .store
            .set_freeze(stage, frozen, &author.login, reason.unwrap_or_default())
            .await?;
        let reply = match (&change, reason) {
            (Some(_), Some(reason)) => {
                warn!(stage, by = %author.login, reason, "stage frozen");
                messages::frozen(stage, &author.login, reason)
            }
            (Some(_), None) => {
                info!(stage, by = %author.login, "stage unfrozen");
                messages::unfrozen(stage, &author.login)
            }
            (None, _) => messages::not_frozen(stage),
        };
        if let Some(f) = &change {
            let summary = if frozen {
                messages::notify_frozen(stage, &f.by, &f.reason)
            } else {
                messages::notify_unfrozen(stage, &f.by)
            };
            let mut n = self.notice(crate::config::NotifyEvent::Freeze, stage, summary);
            n.requested_by = Some(f.by.clone());
            self.notify(n, &format!("freeze:{stage}:{}", f.at)).await;
        }
        let record = change.map(|f| record_of(&f, frozen));
        drop(lock);
        let evaluate = if record.is_some() {
            self.open_into(stage).await?
        } else {
            vec![]
        };
        Ok(Frozen {
            reply: Reply::Done(reply),
            record,
            evaluate,
        })
    }

    /// `/override freeze <reason>` on pull request `pr`, whose head Hoist wrote (`meta`,
    /// the store's record: the stage never comes from the body): lets it merge into its
    /// frozen stage at the head it has now (the forge's), by a member of
    /// `dag.break_glass` with write access. Whether it may merge now.
    pub(super) async fn override_freeze_command(
        &self,
        pr: &PullRequest,
        meta: Option<&HoistHead>,
        reason: &str,
        author: &Actor,
    ) -> Result<(Reply, bool)> {
        let bg = &self.config.dag.break_glass;
        if bg.is_empty()
            || self.forge.permission(author).await? < Permission::Write
            || !self.is_one_of(author, bg).await?
        {
            return Ok((
                Reply::Refused(messages::override_freeze_refusal(&author.login, bg)),
                false,
            ));
        }
        let Some(h) = meta else {
            return Ok((
                Reply::Refused(messages::not_a_promotion_pr("/override freeze")),
                false,
            ));
        };
        // Under the freeze's lock: the override is for the freeze that stands now.
        let lock = self.freeze_lock(&h.stage).await;
        let Some(f) = self.store.frozen(&h.stage).await? else {
            return Ok((Reply::Done(messages::not_frozen(&h.stage)), false));
        };
        self.store
            .override_freeze(
                pr.number,
                &pr.head_sha,
                &h.stage,
                f.at,
                &author.login,
                reason,
            )
            .await?;
        drop(lock);
        warn!(pr = pr.number, by = %author.login, reason, "freeze overridden");
        Ok((
            Reply::Done(messages::freeze_overridden(
                &author.login,
                &h.stage,
                &pr.head_sha,
                reason,
            )),
            true,
        ))
    }

    /// The lock between recording a freeze of `stage` and a merge into it.
    pub(super) async fn freeze_lock(&self, stage: &str) -> tokio::sync::OwnedMutexGuard<()> {
        self.store
            .lock(&format!("freeze:{}@{stage}", self.repo_name))
            .await
    }

    /// Who froze `stage` and why, unless pull request `number` at `head` was let
    /// through (the store); with who let it through.
    pub(super) async fn frozen_for(
        &self,
        stage: &str,
        number: u64,
        head: &str,
    ) -> Result<Option<(Freeze, Option<String>)>> {
        let Some(f) = self.store.frozen(stage).await? else {
            return Ok(None);
        };
        let through = self
            .store
            .freeze_overridden(number, head, stage, f.at)
            .await?;
        Ok(Some((f, through)))
    }

    /// Hoist's open pull requests into `stage`, by their branch (`hoist/STAGE/…`) and
    /// base; whether each is Hoist's is judged when it is evaluated.
    async fn open_into(&self, stage: &str) -> Result<Vec<u64>> {
        let prefix = format!("{}{stage}/", crate::marks::BRANCH_PREFIX);
        Ok(self
            .forge
            .open_pull_requests(&prefix)
            .await?
            .into_iter()
            .filter(|p| p.base_ref == self.forge.base() && !p.from_fork)
            .map(|p| p.number)
            .collect())
    }

    /// The freezes recorded at the top of Hoist's own, unedited comments (the forge's
    /// author identity), the latest change to each stage winning: what a lost store
    /// takes back. Never a record in anyone else's comment, or in an edited one.
    pub(super) async fn rebuild_freezes(&self, comments: &[Comment]) -> Result<usize> {
        let me = self.forge.me();
        let mut records: Vec<FreezeRecord> = comments
            .iter()
            .filter(|c| c.author.is(me) && !c.edited)
            .flat_map(|c| crate::marks::read_freeze_records(&c.body))
            .collect();
        // Stable: records of one comment keep their order.
        records.sort_by_key(|r| r.at);
        let mut last: Vec<&FreezeRecord> = vec![];
        for r in &records {
            last.retain(|l| l.stage != r.stage);
            last.push(r);
        }
        let mut n = 0;
        for r in last {
            let f = Freeze {
                stage: r.stage.clone(),
                by: r.by.clone(),
                reason: r.reason.clone(),
                at: r.at,
            };
            self.store.restore_freeze(&f, r.frozen).await?;
            n += usize::from(r.frozen);
        }
        Ok(n)
    }
}

fn record_of(f: &Freeze, frozen: bool) -> FreezeRecord {
    FreezeRecord {
        stage: f.stage.clone(),
        frozen,
        by: f.by.clone(),
        reason: f.reason.clone(),
        at: f.at,
    }
}
