//! Freight groups on the engine: a member's push waits in the store until every member
//! has an image under the same key, then one pull request per automatic root stage moves
//! them all. Its gate, merge and verification judge every member (`merge.rs`).

use tracing::{info, warn};

use super::promote::Outcome;
use super::{Engine, EngineError, Result};
use crate::argocd::ArgoCd;
use crate::config::GroupSource;
use crate::domain::Actor;
use crate::forge::{FileWrite, Forge};
use crate::freight::Freight;
use crate::messages;
use crate::plan::{Planner, Proposal};
use crate::registry::Registry;
use crate::store::heads::HoistHead;

impl<F: Forge, A: ArgoCd, R: Registry> Engine<F, A, R> {
    /// A push of `freight`, a member of `group`: recorded under its key (the source
    /// commit the registry reports in the image's `org.opencontainers.image.revision`
    /// label, or its tag); when every member has arrived under that key, the group's pull
    /// requests open. The same image again under a key that already moved (a redelivered
    /// push, a reconcile pass) opens nothing. The number of pull requests opened or
    /// updated.
    pub(super) async fn on_member_push(&self, group: &str, freight: &Freight) -> Result<usize> {
        let Some(g) = self.config.groups.get(group) else {
            return Ok(0);
        };
        let key = match g.source {
            GroupSource::Tag => freight.tag.to_string(),
            GroupSource::Commit => {
                let labels = self
                    .registry
                    .labels(freight.image.as_str(), freight.digest.as_str())
                    .await
                    .map_err(|e| {
                        EngineError::Waiting(messages::labels_unreadable(&e.to_string()))
                    })?;
                match crate::registry::revision(&labels) {
                    Some(commit) => commit,
                    None => {
                        warn!(service = %freight.service, group, "the image names no source commit (org.opencontainers.image.revision): it cannot join its group");
                        return Ok(0);
                    }
                }
            }
        };
        let fresh = self.store.record_arrival(group, &key, freight).await?;
        if !fresh && self.store.group_moved(group, &key).await? {
            return Ok(0);
        }
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
        let (mut changed, mut blocked) = (0, false);
        for (stage, st) in self.config.stages.iter() {
            if st.upstream.is_empty() && st.auto {
                let outcome = self
                    .promote_group_to(stage, group, &members, &Actor::system("ecr-push"))
                    .await?;
                info!(stage, group, ?outcome, "group push handled");
                changed += usize::from(matches!(outcome, Outcome::Opened(_) | Outcome::Updated(_)));
                blocked |= matches!(outcome, Outcome::Blocked(_));
            }
        }
        // Blocked by a person's commit: the key keeps waiting, and the next push or
        // reconcile pass tries again.
        if !blocked {
            self.store.mark_moved(group, &key).await?;
        }
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
        // Every member's files at the base head, with the branch and its pull request,
        // in one request where the forge can (see `promote`).
        let mut paths: Vec<String> = Vec::new();
        for m in members {
            for p in self.snapshot_paths(&m.service, Some(stage)) {
                if !paths.contains(&p) {
                    paths.push(p);
                }
            }
        }
        let reads = self.forge.promotion_reads(&branch, &paths).await?;
        let base = reads.base;
        let repo = crate::repo::MapRepo::of_present(reads.files);
        let planner = Planner {
            config: &self.config,
            repo: &repo,
            ledger: &[],
        };
        let p = match planner.group_to_stage(stage, group, members, &requester.login)? {
            Proposal::Promote(p) => *p,
            Proposal::Nothing(reason) => return Ok(Outcome::Nothing(reason)),
        };
        let existing = reads.open.filter(|pr| pr.base_ref == self.forge.base());
        let commits = reads.commits;
        if let Some(stop) = self
            .person_blocks(&branch, commits.as_deref(), existing.as_ref())
            .await?
        {
            return Ok(stop);
        }
        // What the open pull request promotes, from the store's record of its head.
        let previous = self.previous_head(existing.as_ref()).await?;
        if let (Some(pr), Some(h)) = (&existing, &previous)
            && let Some(stop) = self.group_already_there(stage, members, pr, h).await?
        {
            return Ok(stop);
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
        let now = messages::members_list(members);
        let key: Vec<String> = members.iter().map(|m| m.digest.short()).collect();
        let key = key.join(",");
        let was = previous.map(|h| {
            messages::members_list(&h.all_freight().into_iter().cloned().collect::<Vec<_>>())
        });
        let outcome = self
            .open_or_update(&p, existing.as_ref(), was, &now, &key)
            .await?;
        let (Outcome::Opened(n) | Outcome::Updated(n)) = outcome else {
            unreachable!("open_or_update opens or updates")
        };
        self.store.land_carried_hold(&branch, n).await?;
        if let Some(old) = &replaced {
            let msg = messages::superseded_by(n, &now);
            self.comment_once(old.number, &msg, &format!("superseded-by:{n}"))
                .await?;
        }
        self.store.attach_head(&head, n).await?;
        let record = HoistHead {
            sha: head.clone(),
            pr: Some(n),
            stage: stage.to_owned(),
            freight: members[0].clone(),
            requester: requester.clone(),
            group: Some(group.to_owned()),
            members: members.to_vec(),
            rollback_of: None,
        };
        if matches!(outcome, Outcome::Opened(_)) {
            self.notify_opened(&record, n).await;
        }
        self.publish_head(record).await?;
        for m in members {
            self.store
                .ledger_opened(m, stage, n, &requester.login)
                .await?;
        }
        Ok(outcome)
    }

    /// Whether the open group pull request `pr`, whose head Hoist wrote for `h` (its
    /// store's record), makes a new head needless: it already promotes these images, or
    /// a member's newer tag that member may not go back from (`allow_downgrade`).
    async fn group_already_there(
        &self,
        stage: &str,
        members: &[Freight],
        pr: &crate::forge::PullRequest,
        h: &HoistHead,
    ) -> Result<Option<Outcome>> {
        let open = h.all_freight();
        let same = open.len() == members.len()
            && open.iter().zip(members).all(|(a, b)| a.digest == b.digest);
        if same {
            for m in members {
                self.store
                    .ledger_opened(m, stage, pr.number, &h.requester.login)
                    .await?;
            }
            return Ok(Some(Outcome::AlreadyOpen(pr.number)));
        }
        for m in members {
            let Some(o) = open.iter().find(|o| o.service == m.service) else {
                continue;
            };
            let allow = self
                .config
                .services
                .get(&m.service)
                .is_some_and(|s| s.allow_downgrade);
            if crate::tags::is_refused_downgrade(m.tag.as_str(), o.tag.as_str(), allow) {
                return Ok(Some(Outcome::Nothing(messages::already_promotes_newer(
                    pr.number,
                    &format!("{} {}", o.service, o.tag),
                ))));
            }
        }
        Ok(None)
    }
}
