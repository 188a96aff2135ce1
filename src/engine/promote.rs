//! Opening and updating promotion pull requests: on a push, on `/promote`, and when
//! freight verified upstream reaches an automatic stage.

use std::cmp::Ordering;

use tracing::{info, warn};

use super::{Engine, Result};
use crate::argocd::ArgoCd;
use crate::event::ecr;
use crate::forge::Forge;
use crate::freight::Freight;
use crate::messages;
use crate::plan::{Planner, PrMeta};
use crate::registry::Registry;
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
        let freight = match ecr::freight_for_push(&self.config, image, tag, digest, time) {
            Ok(f) => f,
            Err(why) => {
                info!(%why, "push carries no freight");
                return Ok(0);
            }
        };
        let roots: Vec<String> = self
            .config
            .stages
            .iter()
            .filter(|(_, s)| s.auto && s.upstream.is_empty())
            .map(|(n, _)| n.to_owned())
            .collect();
        let mut changed = 0;
        for stage in roots {
            let outcome = self.promote_to(&stage, &freight, "ecr-push").await?;
            info!(stage, ?outcome, "push handled");
            changed += usize::from(matches!(outcome, Outcome::Opened(_) | Outcome::Updated(_)));
        }
        Ok(changed)
    }

    /// The commit the image was built from, from its labels; the pull request simply
    /// goes without it when the registry cannot say.
    async fn source_of(&self, freight: &Freight) -> Result<Option<String>> {
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
        requested_by: &str,
    ) -> Result<Outcome> {
        let branch = format!("hoist/{stage}/{}", freight.service);
        let _turn = self.branch_turn(&branch).await;
        let base = self.forge.base_head().await?;
        // Independent reads go out together: one round trip instead of several.
        let (repo, existing, commits) = futures::try_join!(
            self.snapshot(&freight.service, &base, Some(stage)),
            async { Ok(self.forge.open_pull_request_for(&branch).await?) },
            async { Ok(self.forge.branch_commits(&branch).await?) },
        )?;
        let planner = Planner {
            config: &self.config,
            repo: &repo,
        };
        let p = match planner.to_stage(stage, freight, requested_by)? {
            Ok(p) => p,
            Err(reason) => return Ok(Outcome::Nothing(reason)),
        };
        if let Some(commits) = commits
            && let Some(c) = commits.iter().find(|c| !c.author.is(self.forge.me()))
        {
            let msg = messages::person_commit(&c.author.login, &c.sha, &p.branch);
            if let Some(pr) = &existing {
                self.comment_once(pr.number, &msg, &format!("person:{}", c.sha))
                    .await?;
            }
            return Ok(Outcome::Blocked(msg));
        }
        let previous = existing.as_ref().and_then(|pr| PrMeta::parse(&pr.body));
        if let (Some(pr), Some(meta)) = (&existing, &previous) {
            if meta.digest == freight.digest.as_str() {
                self.store
                    .ledger_opened(freight, stage, pr.number, &meta.requested_by)
                    .await?;
                return Ok(Outcome::AlreadyOpen(pr.number));
            }
            let svc = self.config.services.get(&freight.service);
            if tags::compare(freight.tag.as_str(), &meta.tag) == Some(Ordering::Less)
                && !svc.is_some_and(|s| s.allow_downgrade)
            {
                return Ok(Outcome::Nothing(format!(
                    "#{} already promotes the newer {}",
                    pr.number, meta.tag
                )));
            }
        }
        // Only now, with a write ahead, is the image's source worth the registry's calls
        // (a redelivered push or a reconcile pass stops above); it goes into the body.
        let source = self.source_of(freight).await?;
        let freight = &Freight {
            source,
            ..freight.clone()
        };
        let p = match planner.to_stage(stage, freight, requested_by)? {
            Ok(p) => p,
            Err(reason) => return Ok(Outcome::Nothing(reason)),
        };
        let head = self
            .forge
            .write_branch(
                &p.branch,
                &base,
                &p.file.path,
                &p.file.content,
                &p.commit_message,
            )
            .await?;
        // Only a head Hoist wrote, for this freight, may be merged.
        self.store
            .record_head(
                &head,
                &freight.service,
                stage,
                freight.digest.as_str(),
                requested_by,
            )
            .await?;
        let outcome = match &existing {
            Some(pr) => {
                self.forge
                    .update_pull_request(pr.number, &p.title, &p.body)
                    .await?;
                let old = previous
                    .map(|m| m.tag)
                    .unwrap_or_else(|| "an older image".into());
                let msg = messages::superseded(freight.tag.as_str(), &old);
                self.comment_once(pr.number, &msg, &format!("superseded:{}", freight.digest))
                    .await?;
                Outcome::Updated(pr.number)
            }
            None => Outcome::Opened(
                self.forge
                    .create_pull_request(&p.branch, &p.title, &p.body)
                    .await?
                    .number,
            ),
        };
        let (Outcome::Opened(n) | Outcome::Updated(n)) = outcome else {
            unreachable!("both arms above open or update")
        };
        self.store
            .ledger_opened(freight, stage, n, requested_by)
            .await?;
        // Merging is decided on the forge's events for the PR (opened, checks, reviews).
        Ok(outcome)
    }
}
