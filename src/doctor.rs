//! `hoist doctor`: checks a live setup before the first pull request does, one line per
//! check with what to do when it fails.
//!
//! It checks what the config needs locally (its environment variables and files), the
//! GitOps checkout's overlays, the forge's credentials, each Argo CD application and each
//! service's registry repository; docs/troubleshooting.md lists what it does not check
//! yet. Checks read only; nothing is written anywhere. Each says what it found from the
//! source it names: the environment, the checkout, the forge, Argo CD's API, ECR.

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

/// With a checkout of the GitOps repository: every overlay the config names exists and
/// has the images entry Hoist will edit.
pub fn overlays(config: &Config, repo: &impl Repo) -> Vec<Check> {
    let mut out = vec![];
    for (service, svc) in config.services.iter() {
        let name = svc.kustomize_name(service);
        for stage in config.stage_names() {
            let path = svc.path_for(service, stage);
            let check = match repo.read(&path) {
                Ok(Some(text)) => match crate::manifest::read_images(&text) {
                    Ok(images) if images.iter().any(|e| e.name == name) => {
                        Check::pass(say::overlay_ok(&path, name))
                    }
                    Ok(_) => Check::fail(
                        say::overlay_no_entry(&path, name),
                        say::overlay_entry_fix(name),
                    ),
                    Err(e) => Check::fail(e.in_file(&path), say::OVERLAY_PARSE_FIX.to_owned()),
                },
                Ok(None) => Check::fail(
                    say::overlay_missing(&path, service, stage),
                    say::OVERLAY_MISSING_FIX.to_owned(),
                ),
                Err(e) => Check::fail(
                    say::file_unreadable(&path, &e.to_string()),
                    say::file_fix(&path),
                ),
            };
            out.push(check);
        }
    }
    out
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
            out.push(match argocd.application(&app).await {
                Ok(Some(status)) => Check::pass(say::app_ok(&app, &status.health)),
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
