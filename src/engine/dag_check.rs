//! `hoist/dag`: a check run on every pull request, Hoist's or a person's, that says
//! whether each image value it changes in a gated stage's overlay is freight verified
//! in that stage's upstreams. Required by branch protection, it closes the bypass of
//! hand-editing prod.

use super::{Engine, Result};
use crate::argocd::ArgoCd;
use crate::forge::{Conclusion, Forge, PrState};
use crate::manifest::{self, ImageEntry};
use crate::messages;
use crate::policy::dag::{self, Entry};
use crate::registry::Registry;

pub const CHECK_NAME: &str = "hoist/dag";

impl<F: Forge, A: ArgoCd, R: Registry> Engine<F, A, R> {
    /// The service's images entry in `path` at `at` (`None` when it has none); `Err`
    /// says why the file cannot be read.
    async fn entry_at(
        &self,
        path: &str,
        at: &str,
        name: &str,
    ) -> Result<std::result::Result<Option<ImageEntry>, String>> {
        Ok(match self.forge.read_file(path, at).await? {
            Some(text) => match manifest::read_images(&text) {
                Ok(entries) => Ok(entries.into_iter().find(|e| e.name == name)),
                Err(e) => Err(format!("it does not parse: {e}")),
            },
            None => Err("the file is gone".into()),
        })
    }

    pub(super) async fn dag_check(&self, number: u64) -> Result<()> {
        let pr = self.forge.pull_request(number).await?;
        if pr.state != PrState::Open {
            return Ok(());
        }
        let files = self.forge.pull_request_files(number).await?;
        let base = self.forge.base_head().await?;
        let mut lines = vec![];
        let mut failed = false;
        for (service, svc) in self.config.services.iter() {
            let name = svc.kustomize_name(service);
            for (stage, st) in self
                .config
                .stages
                .iter()
                .filter(|(_, s)| !s.upstream.is_empty())
            {
                let path = svc.path_for(service, stage);
                if !files.contains(&path) {
                    continue;
                }
                let new = self.entry_at(&path, &pr.head_sha, name).await?;
                let old = self.entry_at(&path, &base, name).await?;
                // A change that leaves the image unreadable or removed could deploy
                // anything: fail closed, and let `/override dag` pass a deliberate
                // restructuring.
                let e = match (new, old) {
                    (Err(why), _) => {
                        failed = true;
                        lines.push(messages::dag_check_unreadable(stage, service, &path, &why));
                        continue;
                    }
                    (Ok(None), Ok(None)) => continue,
                    (Ok(None), _) => {
                        failed = true;
                        let why = format!("its images entry named {name} is removed");
                        lines.push(messages::dag_check_unreadable(stage, service, &path, &why));
                        continue;
                    }
                    (Ok(Some(new)), Ok(Some(old)))
                        if (&new.new_name, &new.new_tag, &new.digest)
                            == (&old.new_name, &old.new_tag, &old.digest) =>
                    {
                        continue;
                    }
                    (Ok(Some(new)), _) => new,
                };
                let tag = e
                    .new_tag
                    .clone()
                    .filter(|t| crate::image::Tag::parse(t).is_ok())
                    .unwrap_or_default();
                let Some(digest) = e.digest.clone() else {
                    failed = true;
                    lines.push(messages::dag_check_no_digest(stage, service, &tag));
                    continue;
                };
                let verified: Vec<String> = self
                    .store
                    .ledger_for(service)
                    .await?
                    .into_iter()
                    .filter(|p| p.digest == digest && p.verified_at.is_some())
                    .map(|p| p.stage)
                    .collect();
                let standing: Vec<&str> = verified.iter().map(String::as_str).collect();
                let short = crate::image::Digest::parse(&digest)
                    .map(|d| d.short())
                    .unwrap_or(digest.clone());
                if dag::may_enter(st, |u| standing.contains(&u)) == Entry::Allowed {
                    lines.push(messages::dag_check_ok(
                        stage,
                        service,
                        &tag,
                        &short,
                        &st.upstream,
                    ));
                } else {
                    failed = true;
                    let label = format!("{tag} ({short})");
                    let next = dag::next_step(&self.config, stage, |s| standing.contains(&s));
                    lines.push(format!(
                        "❌ {}",
                        messages::dag_refusal(stage, st, &label, &standing, next, "is verified in")
                            .trim_start_matches("⛔ ")
                    ));
                }
            }
        }
        if failed && let Some(o) = self.store.dag_override(number, &pr.head_sha).await? {
            lines.push(format!("🔓 Overridden by @{}: {}", o.by, o.reason));
            let title = format!("Overridden by @{}", o.by);
            self.forge
                .create_check_run(
                    number,
                    &pr.head_sha,
                    CHECK_NAME,
                    Conclusion::Success,
                    &title,
                    &lines.join("\n"),
                )
                .await?;
            return Ok(());
        }
        let (conclusion, title) = match (failed, lines.is_empty()) {
            (true, _) => (Conclusion::Failure, "An image skips the promotion DAG"),
            (false, true) => (Conclusion::Success, "No gated image values change"),
            (false, false) => (Conclusion::Success, "Every image came through the DAG"),
        };
        self.forge
            .create_check_run(
                number,
                &pr.head_sha,
                CHECK_NAME,
                conclusion,
                title,
                &lines.join("\n"),
            )
            .await?;
        Ok(())
    }
}
