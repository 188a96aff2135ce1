//! `hoist doctor`: checks a live setup before the first pull request does, one line per
//! check with what to do when it fails.
//!
//! It checks what the config needs locally (its environment variables and files), the
//! GitOps checkout's overlays, the forge's credentials, each Argo CD application and each
//! service's registry repository; docs/troubleshooting.md lists what it does not check
//! yet. Checks read only; nothing is written anywhere. Each says what it found from the
//! source it names: the environment, the checkout, the forge, Argo CD's API, ECR.

pub mod github;
pub mod iam;

use serde::Serialize;

use crate::argocd::ArgoCd;
use crate::config::{Config, Forge as ForgeConfig, expand};
use crate::messages::doctor as say;
use crate::registry::Registry;
use crate::repo::Repo;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    /// Works, but something will not behave as a user expects.
    Warn,
    Fail,
}

/// One check: what was checked, how it came out, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub status: Status,
    pub what: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    pub fn pass(what: String) -> Self {
        Self {
            status: Status::Pass,
            what,
            fix: None,
        }
    }
    pub fn fail(what: String, fix: String) -> Self {
        Self {
            status: Status::Fail,
            what,
            fix: Some(fix),
        }
    }
    pub fn warn(what: String, fix: String) -> Self {
        Self {
            status: Status::Warn,
            what,
            fix: Some(fix),
        }
    }
}

/// Every check, in the order run.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    /// True when no required check failed (warnings pass).
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.status != Status::Fail)
    }

    /// One line per check, `✓`, `!` or `✗`, with the fix indented under what failed.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for c in &self.checks {
            let mark = match c.status {
                Status::Pass => "✓",
                Status::Warn => "!",
                Status::Fail => "✗",
            };
            out.push_str(&format!("{mark} {}\n", c.what));
            if let Some(fix) = &c.fix {
                out.push_str(&format!("    {fix}\n"));
            }
        }
        out.push_str(&say::summary(
            self.checks.len(),
            self.count(Status::Fail),
            self.count(Status::Warn),
        ));
        out.push('\n');
        out
    }

    fn count(&self, s: Status) -> usize {
        self.checks.iter().filter(|c| c.status == s).count()
    }
}

/// The environment variables the config names, each with whether a missing one stops
/// Hoist (the forge's and Argo CD's credentials, the token of the forge's own events) or
/// only one way of receiving events (EventBridge's token on GitHub).
pub fn environment(config: &Config, get: impl Fn(&str) -> Option<String>) -> Vec<Check> {
    let mut vars: Vec<(&str, &str, bool)> = vec![];
    if let ForgeConfig::Github(g) = &config.forge {
        if let Some(v) = &g.private_key_env {
            vars.push((v, say::WHAT_APP_KEY, true));
        }
        if let Some(v) = &g.token_env {
            vars.push((v, say::WHAT_GITHUB_TOKEN, true));
        }
        vars.push((&config.webhook_secrets_env, say::WHAT_WEBHOOK_SECRET, true));
    }
    // On CodeCommit every event comes through EventBridge: `hoist serve` will not start
    // without its token.
    let on_codecommit = matches!(config.forge, ForgeConfig::Codecommit(_));
    vars.push((
        &config.eventbridge_token_env,
        say::WHAT_EVENTBRIDGE_TOKEN,
        on_codecommit,
    ));
    if let Some(a) = &config.argocd {
        vars.push((&a.token_env, say::WHAT_ARGOCD_TOKEN, true));
    }
    // Judged as `hoist serve` reads them: a comma-separated list, empty items dropped.
    let usable = |v: &String| v.split(',').any(|s| !s.trim().is_empty());
    vars.into_iter()
        .map(|(var, what, required)| match get(var).filter(usable) {
            Some(_) => Check::pass(say::env_set(var, what)),
            None if required => Check::fail(say::env_missing(var, what), say::env_fix(var)),
            None => Check::warn(say::env_missing(var, what), say::env_fix(var)),
        })
        .collect()
}

/// The files the config names: present and readable.
pub fn files(config: &Config) -> Vec<Check> {
    let ForgeConfig::Github(g) = &config.forge else {
        return vec![];
    };
    let Some(path) = &g.private_key_file else {
        return vec![];
    };
    match std::fs::read_to_string(path) {
        Ok(text) if text.contains("PRIVATE KEY-----") => {
            vec![Check::pass(say::file_ok(path, say::WHAT_APP_KEY))]
        }
        Ok(_) => vec![Check::fail(
            say::file_not_a_key(path),
            say::FILE_KEY_FIX.to_owned(),
        )],
        Err(e) => vec![Check::fail(
            say::file_unreadable(path, &e.to_string()),
            say::file_fix(path),
        )],
    }
}

/// With a checkout of the GitOps repository: every target file the config names exists
/// and has the image where Hoist will edit it.
pub fn overlays(config: &Config, repo: &impl Repo) -> Vec<Check> {
    let mut out = vec![];
    for (service, svc) in config.services.iter() {
        for stage in config.stage_names() {
            for t in crate::target::of(svc, service, stage) {
                out.push(target(repo, service, stage, &t));
            }
        }
    }
    out
}

fn target(repo: &impl Repo, service: &str, stage: &str, t: &crate::target::StageTarget) -> Check {
    use crate::target::Kind;
    let path = &t.path;
    let fields = t.kind.fields().join(", ");
    match repo.read(path) {
        Ok(Some(text)) => match (crate::target::read(&t.kind, &text), &t.kind) {
            (Ok(Some(_)), Kind::Kustomize { name }) => Check::pass(say::overlay_ok(path, name)),
            (Ok(Some(_)), k) => Check::pass(say::target_ok(path, k.label(), &fields)),
            (Ok(None), Kind::Kustomize { name }) => Check::fail(
                say::overlay_no_entry(path, name),
                say::overlay_entry_fix(name),
            ),
            (Ok(None), _) => Check::fail(
                say::target_no_value(path, &fields),
                say::target_value_fix(&fields),
            ),
            (Err(e), _) => Check::fail(e.in_file(path), say::OVERLAY_PARSE_FIX.to_owned()),
        },
        Ok(None) => Check::fail(
            say::overlay_missing(path, service, stage),
            say::OVERLAY_MISSING_FIX.to_owned(),
        ),
        Err(e) => Check::fail(
            say::file_unreadable(path, &e.to_string()),
            say::file_fix(path),
        ),
    }
}

/// Each Argo CD application the config names (per service and stage) reads with Hoist's
/// token. A missing one and one the token may not read look the same to Argo CD's API,
/// so the fix names both.
pub async fn applications(config: &Config, argocd: &impl ArgoCd) -> Vec<Check> {
    let mut out = vec![];
    for (service, _) in config.services.iter() {
        for (stage, st) in config.stages.iter() {
            let Some(template) = &st.argocd_app else {
                continue;
            };
            let app = expand(template, service, stage);
            let found = argocd.application(&app).await;
            // A token Argo CD refuses is refused for every application: said once.
            if let Err(e) = &found
                && e.to_string().starts_with("401")
            {
                out.push(Check::fail(
                    say::argocd_token_refused(&e.to_string()),
                    say::ARGOCD_TOKEN_FIX.to_owned(),
                ));
                return out;
            }
            if let Ok(Some(status)) = &found {
                out.push(Check::pass(say::app_ok(&app, &status.health)));
            }
            out.push(match found {
                Ok(Some(status)) => source(config, service, stage, &app, &status.sources),
                Ok(None) => Check::fail(say::app_missing(&app), say::app_fix(&app)),
                Err(e) => Check::fail(
                    say::app_unanswered(&app, &e.to_string()),
                    say::APP_UNANSWERED_FIX.to_owned(),
                ),
            });
        }
    }
    out
}

/// Whether `app` deploys the overlay Hoist edits for `service` in `stage`: one of its
/// sources is the config's repository (by its URL's ending), at the overlay's directory,
/// at the base branch. From Argo CD's answer and the config.
fn source(
    config: &Config,
    service: &str,
    stage: &str,
    app: &str,
    sources: &[crate::argocd::AppSource],
) -> Check {
    let Some(svc) = config.services.get(service) else {
        return Check::pass(say::app_source_ok(app, "", ""));
    };
    let overlay = svc.path_for(service, stage);
    let dir = overlay.rsplit_once('/').map_or("", |(d, _)| d);
    let (repo, base) = (config.repo_name(), config.base());
    let same_dir = |p: &Option<String>| {
        let p = p.as_deref().unwrap_or("").trim_matches('/');
        let p = p.strip_prefix("./").unwrap_or(p);
        (if p == "." { "" } else { p }) == dir
    };
    let Some(found) = sources
        .iter()
        .find(|s| same_repo(config, &s.repo_url) && same_dir(&s.path))
    else {
        let shown: Vec<String> = sources
            .iter()
            .map(|s| format!("{} {}", s.repo_url, s.path.as_deref().unwrap_or("/")))
            .collect();
        return Check::fail(
            say::app_source_elsewhere(app, &shown.join(", "), &repo, dir),
            say::app_source_fix(app, &repo, dir),
        );
    };
    let rev = found.target_revision.trim_start_matches("refs/heads/");
    match rev {
        r if r == base => Check::pass(say::app_source_ok(app, dir, base)),
        "" | "HEAD" => Check::warn(
            say::app_revision_head(app, base),
            say::app_revision_fix(base),
        ),
        other => Check::fail(
            say::app_revision_other(app, other, base),
            say::app_revision_fix(base),
        ),
    }
}

/// Whether `url` (an Argo CD source's `repoURL`) is the config's repository, by host and
/// name: a mirror elsewhere is not the repository Hoist's gates protect. GitHub's host
/// comes from `api_url`; CodeCommit's from its region, in HTTPS, SSH and GRC forms.
fn same_repo(config: &Config, url: &str) -> bool {
    let url = url
        .trim_end_matches('/')
        .trim_end_matches(".git")
        .to_ascii_lowercase();
    let repo = config.repo_name().to_ascii_lowercase();
    let port = |h: &str| h.split(':').next().unwrap_or(h).to_owned();
    let at = host_and_path(&url).map(|(h, p)| (port(h), p.trim_matches('/').to_owned()));
    match &config.forge {
        ForgeConfig::Github(g) => {
            let web = crate::status::web_url(&g.api_url).to_ascii_lowercase();
            let host = web.split_once("://").map_or(web.as_str(), |(_, h)| h);
            at == Some((port(host), repo))
        }
        ForgeConfig::Codecommit(c) => {
            let region = c.region.to_ascii_lowercase();
            url == format!("codecommit::{region}://{repo}")
                || ["git-codecommit", "git-codecommit-fips"].iter().any(|h| {
                    at == Some((
                        format!("{h}.{region}.amazonaws.com"),
                        format!("v1/repos/{repo}"),
                    ))
                })
        }
    }
}

/// A git URL's host (without user) and path: `https://user@host/path`, `ssh://…`, or the
/// scp-like `user@host:path`.
fn host_and_path(url: &str) -> Option<(&str, &str)> {
    let (authority, path) = match url.split_once("://") {
        Some((_, rest)) => rest.split_once('/')?,
        None => url.split_once(':')?,
    };
    Some((
        authority.rsplit_once('@').map_or(authority, |(_, h)| h),
        path,
    ))
}

/// Each service's registry repository lists its images, and at least one tag there
/// passes the service's tag policy (a warning otherwise: nothing would ever be promoted).
pub async fn registry(config: &Config, registry: &impl Registry) -> Vec<Check> {
    let mut out = vec![];
    for (service, svc) in config.services.iter() {
        out.push(match registry.images(&svc.image).await {
            Ok(images) => {
                // The config's validation already reported a bad policy.
                let passing = match crate::tags::TagFilter::new(&svc.tags) {
                    Ok(filter) => images
                        .iter()
                        .filter(|i| filter.check(&i.tag).is_ok())
                        .count(),
                    Err(_) => 0,
                };
                if passing > 0 {
                    Check::pass(say::registry_ok(&svc.image, images.len(), passing))
                } else {
                    Check::warn(
                        say::registry_nothing_passes(&svc.image, images.len(), service),
                        say::REGISTRY_POLICY_FIX.to_owned(),
                    )
                }
            }
            Err(e) => Check::fail(
                say::registry_unreadable(&svc.image, &e.to_string()),
                say::REGISTRY_FIX.to_owned(),
            ),
        });
    }
    out
}

/// CODEOWNERS on the base branch (read from `repo`, the forge at the base head): it
/// names an owner for each overlay of every stage gated by code owners, and for itself,
/// and GitHub ignores none of its lines.
pub fn codeowners(config: &Config, repo: &(dyn Repo + Sync)) -> Vec<Check> {
    use crate::policy::codeowners::{CodeOwners, LOCATIONS};
    let gated: Vec<&str> = config
        .stages
        .iter()
        .filter(|(_, s)| s.gate.codeowners)
        .map(|(n, _)| n)
        .collect();
    if gated.is_empty() {
        return vec![];
    }
    let found = LOCATIONS
        .iter()
        .find_map(|l| repo.read(l).ok().flatten().map(|t| (*l, t)));
    let Some((file, text)) = found else {
        return vec![Check::fail(
            say::codeowners_missing(&gated),
            say::CODEOWNERS_FIX.to_owned(),
        )];
    };
    let owners = CodeOwners::parse(&text);
    let mut out = vec![];
    if !owners.skipped.is_empty() {
        let lines: Vec<String> = owners
            .skipped
            .iter()
            .map(|(n, why)| format!("line {n} ({why})"))
            .collect();
        out.push(Check::warn(
            say::codeowners_skipped(file, &lines.join(", ")),
            say::CODEOWNERS_SKIPPED_FIX.to_owned(),
        ));
    }
    for stage in gated {
        let uncovered: Vec<String> = config
            .stage_paths(stage)
            .iter()
            .flat_map(|p| rendered(repo, p))
            .filter(|p| owners.owners(p).is_empty())
            .collect();
        out.push(if uncovered.is_empty() {
            Check::pass(say::codeowners_covers(file, stage))
        } else {
            Check::fail(
                say::codeowners_uncovered(file, stage, &uncovered.join(", ")),
                say::CODEOWNERS_COVER_FIX.to_owned(),
            )
        });
    }
    out.extend(codeowners_iam(config, &owners));
    out.push(if owners.owners(file).is_empty() {
        Check::fail(
            say::codeowners_not_self(file),
            say::codeowners_self_fix(file),
        )
    } else {
        Check::pass(say::codeowners_self(file))
    });
    out
}

/// What a stage's overlay renders, as files CODEOWNERS must cover: the overlay, the
/// patches beside it, and each local resource or component it pulls in (a directory by
/// its kustomization). One level deep: a base's own bases are its owners' business.
fn rendered(repo: &(dyn Repo + Sync), overlay: &str) -> Vec<String> {
    #[derive(serde::Deserialize, Default)]
    struct Patch {
        #[serde(default)]
        path: Option<String>,
    }
    #[derive(serde::Deserialize, Default)]
    struct Kustomization {
        #[serde(default)]
        resources: Vec<String>,
        #[serde(default)]
        components: Vec<String>,
        #[serde(default)]
        patches: Vec<Patch>,
    }
    let mut out = vec![overlay.to_owned()];
    let dir = overlay.rsplit_once('/').map_or("", |(d, _)| d);
    let Some(k) = repo
        .read(overlay)
        .ok()
        .flatten()
        .and_then(|t| serde_saphyr::from_str::<Kustomization>(&t).ok())
    else {
        return out;
    };
    let patches = k.patches.into_iter().filter_map(|p| p.path);
    for entry in k.resources.into_iter().chain(k.components).chain(patches) {
        // Remote bases (URLs) are not in this repository.
        if entry.contains("://") || entry.starts_with("github.com/") {
            continue;
        }
        if let Some(path) = join(dir, &entry) {
            let is_file =
                path.ends_with(".yaml") || path.ends_with(".yml") || path.ends_with(".json");
            out.push(if is_file {
                path
            } else {
                format!("{path}/kustomization.yaml")
            });
        }
    }
    out
}

/// `rel` taken from `dir`, `..` resolved; `None` when it leaves the repository.
fn join(dir: &str, rel: &str) -> Option<String> {
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for seg in rel.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

/// On CodeCommit, which knows IAM principals only: every owner CODEOWNERS names for a
/// gated overlay is mapped to principals in `codeowners_iam`, or no one can approve as
/// them.
fn codeowners_iam(
    config: &Config,
    owners: &crate::policy::codeowners::CodeOwners,
) -> Option<Check> {
    let ForgeConfig::Codecommit(cc) = &config.forge else {
        return None;
    };
    let mut unmapped: Vec<String> = config
        .stages
        .iter()
        .filter(|(_, s)| s.gate.codeowners)
        .flat_map(|(stage, _)| {
            config
                .stage_paths(stage)
                .iter()
                .flat_map(|p| owners.owners(p).to_vec())
                .collect::<Vec<_>>()
        })
        .filter(|o| !cc.codeowners_iam.contains_key(o))
        .collect();
    unmapped.sort_unstable();
    unmapped.dedup();
    Some(if unmapped.is_empty() {
        Check::pass(say::CODEOWNERS_IAM_OK.to_owned())
    } else {
        Check::fail(
            say::codeowners_iam_missing(&unmapped.join(", ")),
            say::CODEOWNERS_IAM_FIX.to_owned(),
        )
    })
}

/// CodeCommit's approval rule templates on the repository, as `list` returned them: a
/// template on the base holds every promotion until its approvers approve, dev's
/// included, which an automatic stage never gets.
pub fn approval_templates(list: Result<Vec<String>, String>) -> Check {
    match list {
        Ok(names) if names.is_empty() => Check::pass(say::NO_APPROVAL_TEMPLATE.to_owned()),
        Ok(names) => Check::warn(
            say::approval_templates(&names.join(", ")),
            say::APPROVAL_TEMPLATE_FIX.to_owned(),
        ),
        Err(why) => Check::warn(
            say::approval_templates_unread(&why),
            say::APPROVAL_TEMPLATE_READ_FIX.to_owned(),
        ),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn relative_paths_resolve_inside_the_repository_only() {
        assert_eq!(
            super::join("apps/a/env/prod", "../../base").as_deref(),
            Some("apps/a/base")
        );
        assert_eq!(
            super::join("apps/a/env/prod", "./replicas.yaml").as_deref(),
            Some("apps/a/env/prod/replicas.yaml")
        );
        assert_eq!(super::join("apps", "../../etc"), None);
    }

    #[test]
    fn git_urls_split_into_host_and_path() {
        for (url, host, path) in [
            (
                "https://github.com/acme/gitops",
                "github.com",
                "acme/gitops",
            ),
            (
                "https://x@ghe.example.com:8443/acme/gitops",
                "ghe.example.com:8443",
                "acme/gitops",
            ),
            (
                "ssh://git@github.com/acme/gitops",
                "github.com",
                "acme/gitops",
            ),
            ("git@github.com:acme/gitops", "github.com", "acme/gitops"),
            (
                "https://evil.example//github.com/acme/gitops",
                "evil.example",
                "/github.com/acme/gitops",
            ),
        ] {
            assert_eq!(super::host_and_path(url), Some((host, path)), "{url}");
        }
    }
}
