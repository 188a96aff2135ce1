//! The level-triggered backstop. Webhooks give speed, this gives correctness: from the
//! forge, the ledger and the registry it re-derives what should have happened and does
//! what is missing. Everything it calls is idempotent, so running it often is safe.

use tracing::{info, warn};

use super::{Engine, EngineError, Result};
use crate::argocd::ArgoCd;
use crate::command;
use crate::event::{Actor, ActorKind};
use crate::forge::Forge;
use crate::messages;
use crate::plan::PrMeta;
use crate::registry::{self, Registry};
use crate::tags::TagFilter;

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
    /// What failed, one line each (`#12: …`); the pass carries on past each one.
    pub failed: Vec<String>,
}

impl<F: Forge, A: ArgoCd, R: Registry> Engine<F, A, R> {
    /// One pass. A failure on one pull request, promotion or service is logged and
    /// reported, and the pass goes on: one broken PR must not starve every other.
    pub async fn reconcile(&self) -> Result<Report> {
        let mut report = Report::default();
        for pr in self.forge.open_pull_requests("hoist/").await? {
            // Hoist's own pull requests, by the heads it recorded: not by branch or body.
            if !self.store.is_hoist_pr(pr.number).await? {
                continue;
            }
            let _key = self.store.lock(&self.pr_key(pr.number)).await;
            if let Err(e) = self.reconcile_pr(pr.number, &mut report).await {
                warn!(pr = pr.number, error = %e, "reconcile could not finish this pull request");
                report.failed.push(format!("#{}: {e}", pr.number));
            }
        }
        for (service, _) in self.config.services.iter() {
            for p in self.store.ledger_for(service).await? {
                let (Some(n), Some(_), None) = (p.pr, &p.merge_sha, p.verified_at) else {
                    continue;
                };
                let _key = self.store.lock(&self.pr_key(n)).await;
                match self.on_merged(n).await {
                    Ok(()) => {}
                    Err(EngineError::Waiting(why)) => {
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
        for (service, svc) in self.config.services.iter() {
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
        Ok(report)
    }

    /// The serial key events about pull request `n` carry.
    fn pr_key(&self, n: u64) -> String {
        format!("pr:{}#{n}", self.repo_name)
    }

    /// Answers the commands on one open Hoist PR that never got a reply, then evaluates it.
    async fn reconcile_pr(&self, number: u64, report: &mut Report) -> Result<()> {
        let me = self.forge.me().clone();
        let comments = self.forge.comments(number).await?;
        for c in &comments {
            // An edited comment may no longer say what its author wrote: anyone with
            // write access can edit it. Only its text as posted (its webhook) runs.
            let commands = c.author.kind != ActorKind::Bot
                && !c.author.is(&me)
                && !c.edited
                && !command::parse(&c.body).is_empty();
            if !commands {
                continue;
            }
            let marker = messages::marker(&format!("reply:{}", c.id));
            let answered = self.store.answered(c.id).await?
                || comments.iter().any(|r| r.is_own_with(&me, &marker));
            if !answered {
                info!(
                    pr = number,
                    comment = c.id,
                    "answering a command whose event never arrived"
                );
                self.on_comment(number, c.id, &c.body, &c.author).await?;
                report.answered += 1;
            }
        }
        self.evaluate(number).await?;
        report.evaluated += 1;
        Ok(())
    }
}

impl<F: Forge, A: ArgoCd, R: Registry> Engine<F, A, R> {
    /// Rebuilds the ledger from the forge when the store was lost: every Hoist pull
    /// request, open or merged, carries its freight in its body block. Verification is
    /// not in Git, so merged promotions are re-verified against Argo CD by the next
    /// reconcile. Returns how many promotions were recorded.
    pub async fn rebuild_ledger(&self) -> Result<usize> {
        let mut n = 0;
        let mut prs = self.forge.merged_pull_requests("hoist/").await?;
        prs.reverse();
        prs.extend(self.forge.open_pull_requests("hoist/").await?);
        for pr in prs {
            let Some(meta) = PrMeta::parse(&pr.body) else {
                continue;
            };
            let Some(freight) = meta.freight() else {
                continue;
            };
            if pr.from_fork {
                continue;
            }
            // An open PR's head is Hoist's when every commit on its branch is, and who asked
            // for it is in the head commit's trailers: anyone who can write may edit the
            // body, but not the commit without changing the head. (Known weakness, to be
            // replaced by records only Hoist's identity can post: commit authorship and
            // trailers can be forged by anyone who can push.)
            let mut requester = meta.requested_by.clone();
            let system = ["ecr-push", "hoist"].contains(&requester.as_str());
            let actor = |login: &str| {
                if system {
                    Actor::system(login)
                } else {
                    Actor {
                        id: 0,
                        login: login.to_owned(),
                        kind: ActorKind::User,
                    }
                }
            };
            if pr.state == crate::forge::PrState::Open {
                if let Some(commits) = self.forge.branch_commits(&pr.head_ref).await?
                    && let Some(head) = commits.last()
                    && commits.iter().all(|c| c.author.is(self.forge.me()))
                {
                    let t = |k| messages::trailer(&head.message, k);
                    match (
                        t("Hoist-Freight"),
                        t("Hoist-Stage"),
                        t("Hoist-Requested-By"),
                    ) {
                        (Some(f), Some(stage), Some(by))
                            if head.sha == pr.head_sha
                                && f == freight.id()
                                && stage == meta.stage =>
                        {
                            requester = by.to_owned();
                            self.store
                                .record_head(&pr.head_sha, &meta.stage, &freight, &actor(by))
                                .await?;
                            self.store.attach_head(&pr.head_sha, pr.number).await?;
                        }
                        _ => warn!(
                            pr = pr.number,
                            "the head commit's trailers do not match the pull request: its head is not taken as Hoist's"
                        ),
                    }
                }
            } else if pr.state == crate::forge::PrState::Merged {
                self.store
                    .record_head(&pr.head_sha, &meta.stage, &freight, &actor(&requester))
                    .await?;
                self.store.attach_head(&pr.head_sha, pr.number).await?;
            }
            self.store
                .ledger_opened(&freight, &meta.stage, pr.number, &requester)
                .await?;
            if let Some(sha) = &pr.merge_sha {
                self.store
                    .ledger_merged(&meta.service, &meta.stage, &meta.digest, sha, None)
                    .await?;
            }
            if pr.state == crate::forge::PrState::Open {
                self.rebuild_hold(pr.number).await?;
            }
            n += 1;
        }
        Ok(n)
    }

    /// A hold lives in the store only; the comments that set it are on the forge. The
    /// last `/hold` or `/unhold` by someone allowed to give it decides, as it did then.
    async fn rebuild_hold(&self, number: u64) -> Result<()> {
        let me = self.forge.me().clone();
        let mut held: Option<String> = None;
        for c in self.forge.comments(number).await? {
            if c.author.is(&me) || c.author.kind == crate::event::ActorKind::Bot || c.edited {
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
