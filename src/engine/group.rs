//! Freight groups on the engine: a member's push waits in the store until every member
//! has an image under the same key, then one pull request per automatic root stage moves
//! them all. Its gate, merge and verification judge every member (`merge.rs`).

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
        // A redelivered push of a member whose group already moved (the ledger has it
        // in every automatic root stage) is not a new arrival: it would wait forever.
        let mut moved = true;
        for (stage, st) in self.config.stages.iter() {
            if st.upstream.is_empty() && st.auto {
                moved &= self
                    .store
                    .ledger_get(&freight.service, stage, freight.digest.as_str())
                    .await?
                    .is_some();
            }
        }
        if moved {
            return Ok(0);
        }
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
        let commits = self.forge.branch_commits(&branch).await?;
        if let Some(c) = self.person_commit(commits.iter().flatten()).await? {
            return Ok(Outcome::Blocked(crate::messages::person_commit(
                &c.author.login,
                &c.sha,
                &branch,
            )));
        }
        let existing = self
            .forge
            .open_pull_request_for(&branch)
            .await?
            .filter(|pr| pr.base_ref == self.forge.base());
        // What the open pull request promotes, from the store's record of its head.
        let previous = self.previous_head(existing.as_ref()).await?;
        if let (Some(pr), Some(h)) = (&existing, &previous) {
            let digests = |fs: Vec<&Freight>| -> Vec<String> {
                fs.iter().map(|f| f.digest.to_string()).collect()
            };
            if digests(h.all_freight()) == digests(members.iter().collect()) {
                return Ok(Outcome::AlreadyOpen(pr.number));
            }
        }
        let (existing, replaced) = self.make_way(existing, &branch).await?;
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
        // Only a head Hoist wrote, for this group's freight, may be merged.
        self.store
            .record_group_head(&head, stage, group, members, requester)
            .await?;
        let now = crate::messages::members_list(members);
        let key = members[0].digest.as_str();
        let was = previous.map(|h| {
            crate::messages::members_list(&h.all_freight().into_iter().cloned().collect::<Vec<_>>())
        });
        let outcome = self
            .open_or_update(&p, existing.as_ref(), was, &now, key)
            .await?;
        let (Outcome::Opened(n) | Outcome::Updated(n)) = outcome else {
            unreachable!("open_or_update opens or updates")
        };
        self.store.land_carried_hold(&branch, n).await?;
        if let Some(old) = &replaced {
            let msg = crate::messages::superseded_by(n, &now);
            self.comment_once(old.number, &msg, &format!("superseded-by:{n}"))
                .await?;
        }
        self.store.attach_head(&head, n).await?;
        self.publish_head(HoistHead {
            sha: head.clone(),
            pr: Some(n),
            stage: stage.to_owned(),
            freight: members[0].clone(),
            requester: requester.clone(),
            group: Some(group.to_owned()),
            members: members.to_vec(),
        })
        .await?;
        for m in members {
            self.store
                .ledger_opened(m, stage, n, &requester.login)
                .await?;
        }
        Ok(outcome)
    }
}
