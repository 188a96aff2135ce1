//! Loading and validating `hoist.yaml`. Every error is reported at once, each as
//! `FILE:LINE:COL: message`.

pub mod model;
mod ordered;
mod secrets;
mod source;
mod validate;

use std::fmt;
use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

pub use model::*;
pub use ordered::OrderedMap;
use source::Source;

/// Larger configs are refused before parsing: hostile input must not cost memory.
pub const MAX_CONFIG_BYTES: usize = 1024 * 1024;

/// One problem in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.col, self.message
        )
    }
}

/// Every problem found in a config file, in file order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl Config {
    /// The GitOps repository as the forge names it in events: `owner/repo` on GitHub,
    /// the repository's name on CodeCommit.
    pub fn repo_name(&self) -> String {
        match &self.forge {
            Forge::Github(g) => format!("{}/{}", g.owner, g.repo),
            Forge::Codecommit(c) => c.repository.clone(),
        }
    }

    /// The branch promotions merge into.
    pub fn base(&self) -> &str {
        match &self.forge {
            Forge::Github(g) => &g.base,
            Forge::Codecommit(c) => &c.base,
        }
    }

    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Self, ConfigErrors> {
        let file = path.display().to_string();
        let one = |message: String| {
            ConfigErrors(vec![ConfigError {
                file: file.clone(),
                line: 1,
                col: 1,
                message,
            }])
        };
        let len = std::fs::metadata(path)
            .map_err(|e| one(format!("cannot read the config: {e}")))?
            .len();
        if len > MAX_CONFIG_BYTES as u64 {
            return Err(one(format!(
                "the config is {len} bytes; the limit is {MAX_CONFIG_BYTES}"
            )));
        }
        let bytes = std::fs::read(path).map_err(|e| one(format!("cannot read the config: {e}")))?;
        let text =
            String::from_utf8(bytes).map_err(|_| one("the config is not UTF-8 text".into()))?;
        Self::parse(&text, &file)
    }

    /// Parses and validates config text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Self, ConfigErrors> {
        if text.len() > MAX_CONFIG_BYTES {
            return Err(ConfigErrors(vec![ConfigError {
                file: file.to_owned(),
                line: 1,
                col: 1,
                message: format!(
                    "the config is {} bytes; the limit is {MAX_CONFIG_BYTES}",
                    text.len()
                ),
            }]));
        }
        let src = Source::new(text, file);

        let mut errors = secrets::scan(&src);
        let config = match serde_saphyr::from_str_with_options::<Config>(text, options()) {
            Ok(c) => Some(c),
            Err(e) => {
                let located = src.serde_error(&e);
                // An inline secret is also an unknown field; say it once, as a secret.
                if !errors.iter().any(|s| s.line == located.line) {
                    errors.push(located);
                }
                None
            }
        };
        if let Some(c) = &config {
            errors.extend(validate::validate(c, &src));
        }
        errors.sort_by_key(|e| (e.line, e.col));
        match config {
            Some(c) if errors.is_empty() => Ok(c),
            _ => Err(ConfigErrors(errors)),
        }
    }

    pub fn stage(&self, name: &str) -> Option<&Stage> {
        self.stages.get(name)
    }

    pub fn stage_names(&self) -> Vec<&str> {
        self.stages.keys().collect()
    }

    /// The stages `/promote` can move freight into: every stage but the roots, which
    /// take theirs from the registry.
    pub fn promotable_stages(&self) -> Vec<&str> {
        self.stages
            .iter()
            .filter(|(_, s)| !s.upstream.is_empty())
            .map(|(n, _)| n)
            .collect()
    }

    /// How many stages lie between `name` and a root, by its longest way back (a root
    /// is 0); a stage the config does not name is 0. The config's validation refuses
    /// cycles; a stage met again on the way is not followed.
    pub fn depth(&self, name: &str) -> usize {
        fn walk<'a>(c: &'a Config, name: &'a str, seen: &mut Vec<&'a str>) -> usize {
            if seen.contains(&name) {
                return 0;
            }
            seen.push(name);
            let d = c.stage(name).map_or(0, |s| {
                s.upstream
                    .iter()
                    .map(|u| 1 + walk(c, u, seen))
                    .max()
                    .unwrap_or(0)
            });
            seen.pop();
            d
        }
        walk(self, name, &mut vec![])
    }

    /// Stages whose upstreams include `name`.
    pub fn downstream(&self, name: &str) -> Vec<&str> {
        self.stages
            .iter()
            .filter(|(_, s)| s.upstream.iter().any(|u| u == name))
            .map(|(n, _)| n)
            .collect()
    }

    /// The group `service` ships with, if any.
    pub fn group_of(&self, service: &str) -> Option<(&str, &Group)> {
        self.groups
            .iter()
            .find(|(_, g)| g.services.iter().any(|s| s == service))
    }

    /// Every file a service pins its image in for `stage` (each service's targets).
    pub fn stage_paths(&self, stage: &str) -> Vec<String> {
        self.services
            .iter()
            .flat_map(|(name, svc)| svc.paths_for(name, stage))
            .collect()
    }

    /// The branch, base and forge-independent settings.
    pub fn base_branch(&self) -> &str {
        match &self.forge {
            Forge::Github(g) => &g.base,
            Forge::Codecommit(c) => &c.base,
        }
    }
}

impl Service {
    /// The service's targets as written: `targets`, or the one kustomization `path`
    /// names (with `kustomize_name`).
    pub fn target_list(&self) -> Vec<Target> {
        match &self.path {
            Some(path) if self.targets.is_empty() => vec![Target {
                path: path.clone(),
                kustomize_name: self.kustomize_name.clone(),
                helm: None,
                yaml: None,
            }],
            _ => self.targets.clone(),
        }
    }

    /// The files `service` pins its image in for `stage`, each once, first the one its
    /// freight is read from.
    pub fn paths_for(&self, service: &str, stage: &str) -> Vec<String> {
        let mut paths: Vec<String> = vec![];
        for t in self.target_list() {
            // Targets that share a file name it once: it is read (an API call) once.
            let path = expand(&t.path, service, stage);
            if !paths.contains(&path) {
                paths.push(path);
            }
        }
        paths
    }

    /// The file a stage's freight is read from: the first target's.
    pub fn path_for(&self, service: &str, stage: &str) -> String {
        self.paths_for(service, stage)
            .into_iter()
            .next()
            .unwrap_or_default()
    }
}

/// Replaces `{service}` and `{stage}` in a template.
pub fn expand(template: &str, service: &str, stage: &str) -> String {
    template
        .replace("{service}", service)
        .replace("{stage}", stage)
}

/// Limits against hostile YAML: alias bombs, deep nesting, huge node counts.
fn options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = 32;
    budget.max_aliases = 64;
    budget.max_anchors = 64;
    budget.max_nodes = 100_000;
    budget.max_documents = 1;
    budget.max_events = 200_000;
    let mut o = serde_saphyr::Options::default();
    o.budget = Some(budget);
    o.with_snippet = false;
    // YAML 1.2: `off`, `yes` and the like are not booleans (YAML 1.1 made `country: no`
    // a false).
    o.strict_booleans = true;
    o
}

static PLACEHOLDER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{([^{}]*)\}").expect("placeholder regex"));

/// The placeholders of a template that are not `{service}` or `{stage}`, and whether
/// its braces are unbalanced.
fn bad_placeholders(template: &str) -> Vec<String> {
    let mut bad: Vec<String> = PLACEHOLDER
        .captures_iter(template)
        .filter(|c| !matches!(&c[1], "service" | "stage"))
        .map(|c| c[0].to_owned())
        .collect();
    let stripped = PLACEHOLDER.replace_all(template, "");
    if stripped.contains(['{', '}']) {
        bad.push("an unmatched brace".into());
    }
    bad
}
