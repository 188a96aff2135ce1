//! `hoist/dag`: a check run on every pull request, Hoist's or a person's, that says
//! whether every image a gated stage's Argo CD application would newly run at its head is
//! freight verified in that stage's upstreams, whatever file brought it in. Required by
//! branch protection, it closes the bypass of hand-editing what prod runs.

use super::{Engine, Result};
use crate::argocd::{self, ArgoCd};
use crate::config::expand;
use crate::forge::{Conclusion, Forge, PrState};
use crate::messages;
use crate::policy::dag;
use crate::registry::Registry;
use crate::target;

use crate::marks::DAG_CHECK;

impl<F: Forge, A: ArgoCd, R: Registry> Engine<F, A, R> {
    /// What target `t` pins at `at` (`None` when it pins nothing); `Err` says why the
    /// file cannot be read.
    async fn pin_at(
        &self,
        t: &target::StageTarget,
        at: &str,
    ) -> Result<std::result::Result<Option<target::Pin>, String>> {
        Ok(match self.forge.read_file(&t.path, at).await? {
            Some(text) => match target::read(&t.kind, &text) {
                Ok(pin) => Ok(pin),
                Err(e) => Err(messages::overlay_does_not_parse(&e.to_string())),
            },
            None => Err(messages::OVERLAY_GONE.into()),
        })
    }

    /// The overlay-file judgement of a gated stage without an Argo CD application: what
    /// each service's targets the pull request changes newly pin. True when a line failed.
    ///
    /// Kept whole: one loop over the targets the pull request touches; each case pushes
    /// one line, may mark a failure, and goes on.
    async fn overlay_lines(
        &self,
        stage: &str,
        st: &crate::config::Stage,
        head: &str,
        base: &str,
        files: &[String],
        lines: &mut Vec<String>,
    ) -> Result<bool> {
        let mut failed = false;
        let touched = self.config.services.iter().flat_map(|(service, svc)| {
            target::of(svc, service, stage)
                .into_iter()
                .filter(|t| files.contains(&t.path))
                .map(move |t| (service, t))
        });
        for (service, t) in touched {
            let path = &t.path;
            let new = self.pin_at(&t, head).await?;
            let old = self.pin_at(&t, base).await?;
            // A change that leaves the image unreadable or removed could deploy anything:
            // fail closed, and let `/override dag` pass a deliberate restructuring.
            let e = match (new, old) {
                (Err(why), _) => {
                    failed = true;
                    lines.push(messages::dag_check_unreadable(stage, service, path, &why));
                    continue;
                }
                (Ok(None), Ok(None)) => continue,
                (Ok(None), _) => {
                    failed = true;
                    let why = messages::images_entry_removed(&t.kind.fields().join(", "));
                    lines.push(messages::dag_check_unreadable(stage, service, path, &why));
                    continue;
                }
                (Ok(Some(new)), Ok(Some(old)))
                    if (&new.image, &new.tag, &new.digest)
                        == (&old.image, &old.tag, &old.digest) =>
                {
                    continue;
                }
                (Ok(Some(new)), _) => new,
            };
            let tag = e
                .tag
                .clone()
                .filter(|t| crate::image::Tag::parse(t).is_ok())
                .unwrap_or_default();
            let Some(digest) = e.digest.clone() else {
                failed = true;
                lines.push(messages::dag_check_no_digest(stage, service, &tag));
                continue;
            };
            // A Helm chart or a manifest may run the repository and tag it names, not
            // the digest beside them: the image must be the service's own, and the
            // freight verified upstream must carry the very tag the file now names.
            let own = self.config.services.get(service).map(|s| s.image.as_str());
            if !matches!(t.kind, target::Kind::Kustomize { .. })
                && let Some(image) = e.image.as_deref()
                && Some(image) != own
            {
                failed = true;
                let why = messages::dag_check_other_image(image, own.unwrap_or_default());
                lines.push(messages::dag_check_unreadable(stage, service, path, &why));
                continue;
            }
            let verified: Vec<String> = self
                .store
                .verified_in(service, &digest)
                .await?
                .into_iter()
                .filter(|p| e.tag.as_ref().is_none_or(|t| *t == p.tag))
                .map(|p| p.stage)
                .collect();
            let standing: Vec<&str> = verified.iter().map(String::as_str).collect();
            let short = crate::image::Digest::parse(&digest)
                .map(|d| d.short())
                .unwrap_or(digest.clone());
            // Only stages with upstreams are judged here, so `None` is `Allowed`.
            match dag::refused(&self.config, stage, st, &standing) {
                None => lines.push(messages::dag_check_ok(
                    stage,
                    service,
                    &tag,
                    &short,
                    &st.upstream,
                )),
                Some(r) => {
                    failed = true;
                    let label = format!("{tag} ({short})");
                    lines.push(messages::dag_check_refused(
                        stage, st, &label, &standing, r.next,
                    ));
                }
            }
        }
        Ok(failed)
    }

    /// One line of `hoist/dag` for a finding; the freight's tag from the ledger when the
    /// image names only its digest (kustomize drops the tag when it pins a digest).
    fn dag_line(
        &self,
        stage: &str,
        st: &crate::config::Stage,
        finding: &dag::Finding,
        verified: &std::collections::HashMap<String, (Vec<String>, String)>,
    ) -> String {
        let label = |image: &str| {
            let Ok(r) = crate::image::Reference::parse(image) else {
                return image.to_owned();
            };
            let name = r.name.as_str();
            let name = name.rsplit_once('/').map_or(name, |(_, n)| n);
            let known = r
                .digest
                .as_ref()
                .and_then(|d| verified.get(d.as_str()).map(|v| v.1.clone()));
            let tag = r.tag.map(|t| t.to_string()).or(known);
            match (tag, r.digest) {
                (Some(t), Some(d)) => format!("{name} {t} ({})", d.short()),
                (None, Some(d)) => format!("{name} ({})", d.short()),
                (Some(t), None) => format!("{name}:{t}"),
                (None, None) => name.to_owned(),
            }
        };
        match finding {
            dag::Finding::Verified { image } => {
                messages::dag_check_image_ok(stage, &label(image), &st.upstream)
            }
            dag::Finding::NotVerified { image, standing } => {
                let standing: Vec<&str> = standing.iter().map(String::as_str).collect();
                let next = dag::next_step(&self.config, stage, |s| standing.contains(&s));
                messages::dag_check_refused(stage, st, &label(image), &standing, next)
            }
            dag::Finding::TagOnly { image } => messages::dag_check_tag_only(stage, image),
            dag::Finding::Unreadable { image } => {
                messages::dag_check_unreadable_image(stage, image)
            }
        }
    }

    /// Publishes `hoist/dag` on pull request `number`'s head: for every gated stage, each
    /// image its Argo CD application would newly run at the head (Argo CD's rendering at
    /// the head and at the base) must be freight verified in the stage's upstreams
    /// (Hoist's store), judged by `policy::dag::judge`. A stage without an application
    /// falls back to its overlays' images entries, and the check says so. An override
    /// recorded for exactly this head (Hoist's store) passes it, on the record.
    ///
    /// Kept whole: one loop over the gated stages builds the lines and the failed flag,
    /// which the override and the check run's conclusion then both read.
    pub(super) async fn dag_check(&self, number: u64) -> Result<()> {
        let pr = self.forge.pull_request(number).await?;
        if pr.state != PrState::Open {
            return Ok(());
        }
        let base = self.forge.base_head().await?;
        let verified = self.store.verified_digests().await?;
        let mut lines = vec![];
        let mut failed = false;
        let mut files = None;
        for (stage, st) in self
            .config
            .stages
            .iter()
            .filter(|(_, s)| !s.upstream.is_empty())
        {
            let Some(template) = st.argocd_app.as_deref() else {
                lines.push(messages::dag_check_fallback(stage));
                if files.is_none() {
                    files = Some(self.forge.pull_request_files(number).await?);
                }
                let files = files.as_deref().unwrap_or_default();
                failed |= self
                    .overlay_lines(stage, st, &pr.head_sha, &base, files, &mut lines)
                    .await?;
                continue;
            };
            for (service, _) in self.config.services.iter() {
                let app = expand(template, service, stage);
                let (head, at_base) = futures::join!(
                    self.argocd.manifests(&app, &pr.head_sha),
                    self.argocd.manifests(&app, &base)
                );
                let at_head = match head.and_then(|m| argocd::rendered_images(&m)) {
                    Ok(images) => images,
                    Err(why) => {
                        failed = true;
                        lines.push(messages::dag_check_unrendered(
                            stage,
                            &app,
                            &pr.head_sha,
                            &why.0,
                        ));
                        continue;
                    }
                };
                // A base Argo CD cannot render runs nothing Hoist can vouch for: every
                // image at the head is then judged.
                let at_base = at_base
                    .and_then(|m| argocd::rendered_images(&m))
                    .unwrap_or_default();
                let standing = |d: &str| verified.get(d).map(|v| v.0.clone()).unwrap_or_default();
                for finding in dag::judge(st, &at_head, &at_base, standing) {
                    failed |= !finding.passes();
                    lines.push(self.dag_line(stage, st, &finding, &verified));
                }
            }
        }
        let (conclusion, title) = match (failed, lines.is_empty()) {
            _ if failed && let Some(o) = self.store.dag_override(number, &pr.head_sha).await? => {
                lines.push(messages::dag_overridden_line(&o.by, &o.reason));
                (Conclusion::Success, messages::dag_overridden_title(&o.by))
            }
            (true, _) => (
                Conclusion::Failure,
                "An image skips the promotion DAG".into(),
            ),
            (false, true) => (Conclusion::Success, "No gated image values change".into()),
            (false, false) => (
                Conclusion::Success,
                "Every image came through the DAG".into(),
            ),
        };
        let summary = lines.join("\n");
        self.publish_dag(number, &pr.head_sha, conclusion, &title, &summary)
            .await
    }

    /// Publishes `hoist/dag` on `head` unless the same result is already there: under the
    /// head's lock, so that an event and reconcile (or a redelivery) that judge the same
    /// head together publish it once. "There" is the store's record of what Hoist last
    /// published on the head and, before skipping, the forge's word that Hoist's check is
    /// on it for this pull request (CodeCommit keeps one check comment per pull request,
    /// which a later head may have taken over). Reconcile publishes the check on a head
    /// without one, whose event was lost.
    async fn publish_dag(
        &self,
        number: u64,
        head: &str,
        conclusion: Conclusion,
        title: &str,
        summary: &str,
    ) -> Result<()> {
        let _head = self.store.lock(&format!("dag:{head}")).await;
        let content = format!("{title}\n{summary}");
        if !self.store.check_changed(head, DAG_CHECK, &content).await?
            && self.forge.has_own_check(number, head, DAG_CHECK).await?
        {
            return Ok(());
        }
        self.forge
            .create_check_run(number, head, DAG_CHECK, conclusion, title, summary)
            .await?;
        self.store.record_check(head, DAG_CHECK, &content).await?;
        Ok(())
    }
}
