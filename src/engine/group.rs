//! Freight groups on the engine: a member's push waits in the store until every member
//! has an image under the same key, then one pull request per automatic root stage moves
//! them all. (Work in progress: the gate, merge and verification of a group's pull
//! request still judge its first member only; see docs/design/freight-groups.md.)

use tracing::info;

use super::promote::Outcome;
use super::{Engine, Result};
use crate::argocd::ArgoCd;
use crate::config::GroupSource;
use crate::domain::Actor;
use crate::forge::{FileWrite, Forge};
use crate::freight::Freight;
use crate::plan::{Planner, Proposal};
use crate::registry::Registry;
use crate::store::heads::HoistHead;

impl<F: Forge, A: ArgoCd, R: Registry> Engine<F, A, R> {
    /// A push of `freight`, a member of `group`: recorded under its key (the source
    /// commit from the image's labels, which the registry asserts, or its tag); when every
    /// member has arrived under that key, the group's pull requests open. The number of
    /// pull requests opened or updated.
    pub(super) async fn on_member_push(&self, group: &str, freight: &Freight) -> Result<usize> {
        let Some(g) = self.config.groups.get(group) else {
            return Ok(0);
        };
        let key = match g.source {
            GroupSource::Tag => freight.tag.to_string(),
            GroupSource::Commit => match self.source_of(freight).await? {
                Some(commit) => commit,
                None => {
                    info!(service = %freight.service, group, "the image names no source commit: it cannot join its group");
                    return Ok(0);
                }
            },
        };
        self.store.record_arrival(group, &key, freight).await?;
        let arrived = self.store.arrived(group, &key).await?;
        let members: Vec<Freight> = g
            .services
            .iter()
            .filter_map(|s| arrived.iter().find(|f| &f.service == s).cloned())
            .collect();
        if members.len() < g.services.len() {
            info!(
                group,
                key,
                arrived = members.len(),
                "waiting for the group's other members"
            );
            return Ok(0);
        }
        let mut changed = 0;
        for (stage, st) in self.config.stages.iter() {
            if st.upstream.is_empty() && st.auto {
                let outcome = self
                    .promote_group_to(stage, group, &members, &Actor::system("ecr-push"))
                    .await?;
                info!(stage, group, ?outcome, "group push handled");
                changed += usize::from(matches!(outcome, Outcome::Opened(_) | Outcome::Updated(_)));
            }
        }
        self.store.clear_arrivals(group, &key).await?;
        Ok(changed)
    }

    /// Opens or updates the one pull request that moves `stage` to the group's freight,
    /// under the branch's turn: plan, stop on a person's commit, write, record the head
    /// with every member, open the pull request.
    ///
    /// Kept whole: as `promote_to`, one ordered sequence under the branch's turn.
    pub(super) async fn promote_group_to(
        &self,
        stage: &str,
        group: &str,
        members: &[Freight],
        requester: &Actor,
    ) -> Result<Outcome> {
        let branch = crate::marks::branch(stage, group);
        let _turn = self.branch_turn(&branch).await;
        let base = self.forge.base_head().await?;
        let mut repo = crate::repo::MapRepo(Default::default());
        for m in members {
            repo.0
                .extend(self.snapshot(&m.service, &base, Some(stage)).await?.0);
        }
        let planner = Planner {
            config: &self.config,
            repo: &repo,
            ledger: &[],
        };
        let p = match planner.group_to_stage(stage, group, members, &requester.login)? {
            Proposal::Promote(p) => *p,
            Proposal::Nothing(reason) => return Ok(Outcome::Nothing(reason)),
        };
        if let Some(commits) = self.forge.branch_commits(&branch).await? {
            for c in &commits {
                if !self.store.wrote(&c.sha).await? {
                    return Ok(Outcome::Blocked(crate::messages::person_commit(
                        &c.author.login,
                        &c.sha,
                        &branch,
                    )));
                }
            }
        }
        let existing = self
            .forge
            .open_pull_request_for(&branch)
            .await?
            .filter(|pr| pr.base_ref == self.forge.base());
        let files: Vec<FileWrite> = p
            .files
            .iter()
            .map(|f| FileWrite {
                path: f.path.clone(),
                content: f.content.clone(),
            })
            .collect();
        let head = self
            .forge
            .write_branch(&branch, &base, &files, &p.commit_message)
            .await?;
        self.store
            .record_group_head(&head, stage, group, members, requester)
            .await?;
        let n = match &existing {
            Some(pr) if self.forge.rewrites_in_place() => {
                self.forge
                    .update_pull_request(pr.number, &p.title, &p.body)
                    .await?;
                pr.number
            }
            _ => {
                self.forge
                    .create_pull_request(&branch, &p.title, &p.body)
                    .await?
                    .number
            }
        };
        self.store.attach_head(&head, n).await?;
        let record = HoistHead {
            sha: head.clone(),
            pr: Some(n),
            stage: stage.to_owned(),
            freight: members[0].clone(),
            requester: requester.clone(),
            group: Some(group.to_owned()),
            members: members.to_vec(),
        };
        self.forge
            .publish_record(
                n,
                &head,
                &crate::messages::head_record(&record),
                &record.to_record(),
            )
            .await?;
        for m in members {
            self.store
                .ledger_opened(m, stage, n, &requester.login)
                .await?;
        }
        Ok(if existing.is_some() && self.forge.rewrites_in_place() {
            Outcome::Updated(n)
        } else {
            Outcome::Opened(n)
        })
    }
}
