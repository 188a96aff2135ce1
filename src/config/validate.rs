//! Rules that span fields: the stage DAG, names, templates, references, patterns and
//! credentials. Each rule adds errors; none stops the others.

use std::collections::{BTreeSet, HashMap};
use std::sync::LazyLock;

use regex::Regex;

use super::source::{I, K, Source, Step};
use super::{Config, ConfigError, Forge, MergeMethod, bad_placeholders};
use crate::image::ImageName;
use crate::suggest::suggest;
use crate::tags::Range;

fn re(s: &str) -> Regex {
    Regex::new(s).expect("validation regex")
}

static STAGE_NAME: LazyLock<Regex> = LazyLock::new(|| re(r"^[a-z0-9-]+$"));
static SERVICE_NAME: LazyLock<Regex> = LazyLock::new(|| re(r"^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$"));
static USER: LazyLock<Regex> =
    LazyLock::new(|| re(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,37}[A-Za-z0-9])?$"));
static TEAM: LazyLock<Regex> =
    LazyLock::new(|| re(r"^@[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9][A-Za-z0-9._-]*$"));
static ENV_VAR: LazyLock<Regex> = LazyLock::new(|| re(r"^[A-Za-z_][A-Za-z0-9_]*$"));
static REPO_PART: LazyLock<Regex> = LazyLock::new(|| re(r"^[A-Za-z0-9._-]+$"));
static IAM_ARN: LazyLock<Regex> =
    LazyLock::new(|| re(r"^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/[\w+=,.@/-]+$"));

pub fn validate(c: &Config, src: &Source) -> Vec<ConfigError> {
    let mut v = Validator {
        src,
        errors: vec![],
    };
    v.stages(c);
    v.services(c);
    v.groups(c);
    v.templates(c);
    v.forge(c);
    v.env_vars(c);
    for (i, p) in c.dag.break_glass.iter().enumerate() {
        if !USER.is_match(p) && !TEAM.is_match(p) {
            v.at(&[K("dag"), K("break_glass"), I(i)], format!("break_glass entry {p:?} is neither a GitHub login (alice) nor a team (@org/team)"));
        }
    }
    for (i, p) in c.freeze.by.iter().enumerate() {
        if !USER.is_match(p) && !TEAM.is_match(p) {
            v.at(
                &[K("freeze"), K("by"), I(i)],
                format!(
                    "freeze.by entry {p:?} is neither a GitHub login (alice) nor a team (@org/team)"
                ),
            );
        }
    }
    v.notify(c);
    v.errors
}

struct Validator<'a> {
    src: &'a Source<'a>,
    errors: Vec<ConfigError>,
}

impl Validator<'_> {
    fn at(&mut self, path: &[Step], msg: impl Into<String>) {
        self.errors.push(self.src.at(path, msg));
    }
    fn at_key(&mut self, path: &[Step], msg: impl Into<String>) {
        self.errors.push(self.src.at_key(path, msg));
    }

    /// Checks the stages: each stage's fields, then the graph they make (one root, no
    /// cycles, every stage reachable).
    ///
    /// Kept whole: the per-stage checks collect the names the graph checks then use; both
    /// are flat lists of independent checks.
    fn stages(&mut self, c: &Config) {
        let names = c.stage_names();
        let list = names.join(", ");
        if names.is_empty() {
            self.at(
                &[K("stages")],
                "no stages are defined; define at least one, e.g. `dev: { auto: true }`",
            );
            return;
        }
        for (name, stage) in c.stages.iter() {
            if !STAGE_NAME.is_match(name) {
                self.at_key(
                    &[K("stages"), K(name)],
                    format!("stage name {name:?} may hold only lowercase letters, digits and '-'"),
                );
            }
            for (i, up) in stage.upstream.iter().enumerate() {
                if stage.upstream[..i].contains(up) {
                    self.at(
                        &[K("stages"), K(name), K("upstream"), I(i)],
                        format!("stage {name:?} lists upstream {up:?} twice"),
                    );
                }
                if c.stage(up).is_none() {
                    let others: Vec<&str> = names.iter().copied().filter(|n| *n != name).collect();
                    let hint = suggest(up, &others)
                        .map(|s| format!(" Did you mean {s:?}?"))
                        .unwrap_or_default();
                    self.at(&[K("stages"), K(name), K("upstream"), I(i)], format!(
                        "stage {name:?} has upstream {up:?}, which is not a stage (stages: {list}).{hint}"
                    ));
                }
            }
            if stage.upstream.is_empty() && !stage.auto {
                self.at_key(&[K("stages"), K(name)], format!(
                    "stage {name:?} is a root (no upstream) but not `auto: true`, so pushes would never be promoted into it"
                ));
            }
            if stage.argocd_app.is_some() && c.argocd.is_none() {
                self.at(&[K("stages"), K(name), K("argocd_app")], format!(
                    "stage {name:?} names an Argo CD app, but there is no `argocd:` section to reach Argo CD"
                ));
            }
            if stage.gate.separate_approver && !stage.gate.codeowners {
                self.at(&[K("stages"), K(name), K("gate"), K("separate_approver")], format!(
                    "stage {name:?} sets `separate_approver: true` without `codeowners: true`: there is no approval for it to keep apart from the requester's; add `codeowners: true`, or remove it"
                ));
            }
            if !stage.upstream.is_empty() && !stage.auto && !stage.gate.command {
                self.at_key(&[K("stages"), K(name)], format!(
                    "stage {name:?} has upstreams but neither `auto: true` nor `gate: {{ command: true }}`, so nothing would ever promote into it"
                ));
            }
            for (i, w) in stage.windows.iter().enumerate() {
                if let Err(why) = crate::policy::window::Window::parse(&w.days, &w.hours, &w.tz) {
                    self.at(
                        &[K("stages"), K(name), K("windows"), I(i)],
                        format!("stage {name:?}: deploy window: {why}"),
                    );
                }
            }
            if let Some(soak) = &stage.soak {
                if crate::clock::parse_duration_ms(soak).is_none() {
                    self.at(&[K("stages"), K(name), K("soak")], format!(
                        "stage {name:?}: soak {soak:?} is not a duration of a year or less: write it as 90m, 2h, 1d or 1h30m (lowercase units, more than zero)"
                    ));
                } else if stage.upstream.is_empty() {
                    self.at(&[K("stages"), K(name), K("soak")], format!(
                        "stage {name:?} is a root (no upstream): there is nowhere for freight to soak before it; remove `soak`"
                    ));
                }
            }
            for (i, p) in stage.gate.promoters.iter().enumerate() {
                if !USER.is_match(p) && !TEAM.is_match(p) {
                    self.at(&[K("stages"), K(name), K("gate"), K("promoters"), I(i)], format!(
                        "promoter {p:?} is neither a GitHub login (alice) nor a team (@org/team)"
                    ));
                }
            }
        }
        let roots: Vec<&str> = c
            .stages
            .iter()
            .filter(|(_, s)| s.upstream.is_empty())
            .map(|(n, _)| n)
            .collect();
        if roots.is_empty() {
            self.at(&[K("stages")], "no stage is a root (every stage has an upstream); at least one stage must take freight from the registry");
        }
        for cycle in cycles(c) {
            let first = cycle[0].clone();
            self.at_key(
                &[K("stages"), K(&first)],
                format!("stages form a cycle: {} -> {first}", cycle.join(" -> ")),
            );
        }
        // Reachable: downstream of a root, through known stages only.
        let mut reached: BTreeSet<&str> = roots.iter().copied().collect();
        let mut frontier = roots.clone();
        while let Some(s) = frontier.pop() {
            for d in c.downstream(s) {
                if reached.insert(d) {
                    frontier.push(d);
                }
            }
        }
        if !roots.is_empty() {
            for name in &names {
                // A stage with an unknown upstream is reported as that already.
                let known = c
                    .stage(name)
                    .is_some_and(|s| s.upstream.iter().all(|u| c.stage(u).is_some()));
                if known && !reached.contains(name) {
                    self.at_key(
                        &[K("stages"), K(name)],
                        format!(
                            "stage {name:?} cannot be reached from a root stage ({})",
                            roots.join(", ")
                        ),
                    );
                }
            }
        }
    }

    /// Checks every service: its image, tag policy, overlay path and application template.
    ///
    /// Kept whole: one loop over the services, each field's check a few independent lines
    /// that push an error; a flat list reads best in one place.
    fn services(&mut self, c: &Config) {
        if c.services.is_empty() {
            self.at(&[K("services")], "no services are defined");
        }
        for (name, s) in c.services.iter() {
            let at = |k| [K("services"), K(name), K(k)];
            if !SERVICE_NAME.is_match(name) {
                self.at_key(&[K("services"), K(name)], format!(
                    "service name {name:?} may hold only lowercase letters, digits, '.', '_' and '-', starting and ending with a letter or digit"
                ));
            }
            if let Err(e) = ImageName::parse(&s.image) {
                self.at(&at("image"), e.to_string());
            }
            if let Some((other, _)) = c
                .services
                .iter()
                .take_while(|(n, _)| *n != name)
                .find(|(_, o)| o.image == s.image)
            {
                self.at(&at("image"), format!(
                    "services {other:?} and {name:?} use the same image; each image belongs to one service"
                ));
            }
            if let Some(r) = &s.tags.semver
                && let Err(e) = Range::parse(r)
            {
                self.at(&[K("services"), K(name), K("tags"), K("semver")], e.why);
            }
            if let Some(r) = &s.tags.regex
                && let Err(e) = Regex::new(r)
            {
                self.at(
                    &[K("services"), K(name), K("tags"), K("regex")],
                    format!("regex does not compile: {}", last_line(&e.to_string())),
                );
            }
            for (i, r) in s.tags.ignore.iter().enumerate() {
                if let Err(e) = Regex::new(r) {
                    self.at(
                        &[K("services"), K(name), K("tags"), K("ignore"), I(i)],
                        format!("regex does not compile: {}", last_line(&e.to_string())),
                    );
                }
            }
            if s.kustomize_name.as_deref().is_some_and(str::is_empty) {
                self.at(&at("kustomize_name"), "kustomize_name is empty");
            }
        }
        self.targets(c);
    }

    /// Checks where each service pins its image: `path` or `targets`, each target's file
    /// and fields, and that no two targets (of one service or two) write the same field.
    ///
    /// Kept whole: one pass over every target collects what it writes, for the overlap
    /// check at the end; each field's check is a few independent lines.
    fn targets(&mut self, c: &Config) {
        // (service, index, stage, file, field) for every target of every stage.
        let mut written: Vec<(String, usize, String, String, String)> = vec![];
        for (name, s) in c.services.iter() {
            let svc = |k| [K("services"), K(name), K(k)];
            match (&s.path, s.targets.is_empty()) {
                (Some(_), false) => self.at_key(
                    &svc("targets"),
                    "give either path (one kustomization) or targets, not both",
                ),
                (None, true) => self.at_key(
                    &[K("services"), K(name)],
                    format!("service {name:?} has neither path nor targets: name the files that pin its image"),
                ),
                _ => {}
            }
            if !s.targets.is_empty() && s.kustomize_name.is_some() {
                self.at_key(
                    &svc("kustomize_name"),
                    "kustomize_name goes with path; with targets, set it on the kustomization target",
                );
            }
            if let Some(p) = &s.path {
                self.target_path(&svc("path"), p);
            }
            for (i, t) in s.targets.iter().enumerate() {
                let at = |k| [K("services"), K(name), K("targets"), I(i), K(k)];
                self.target_path(&at("path"), &t.path);
                if t.helm.is_some() && t.yaml.is_some() {
                    self.at_key(&at("yaml"), "a target is helm or yaml, not both");
                }
                if t.kustomize_name.is_some() && (t.helm.is_some() || t.yaml.is_some()) {
                    self.at_key(
                        &at("kustomize_name"),
                        "kustomize_name names a kustomization's images entry; this target is not a kustomization",
                    );
                }
                if t.kustomize_name.as_deref().is_some_and(str::is_empty) {
                    self.at(&at("kustomize_name"), "kustomize_name is empty");
                }
                if let Some(h) = &t.helm {
                    let fields = [
                        ("repository", &h.repository),
                        ("tag", &h.tag),
                        ("digest", &h.digest),
                        ("image", &h.image),
                    ];
                    if h.tag.is_none() && h.digest.is_none() && h.image.is_none() {
                        self.at(
                            &at("helm"),
                            "helm names no tag, digest or image path, so it would pin no version",
                        );
                    }
                    if h.image.is_some()
                        && (h.repository.is_some() || h.tag.is_some() || h.digest.is_some())
                    {
                        self.at(&at("helm"), "helm's image sets the whole reference; drop repository, tag and digest, or drop image");
                    }
                    if i == 0 && h.image.is_none() && (h.tag.is_none() || h.digest.is_none()) {
                        self.at(&at("helm"), "the first target is where each stage's freight is read, so it needs both a tag and a digest path (or image)");
                    }
                    let named: Vec<(&str, &String)> = fields
                        .iter()
                        .filter_map(|(k, v)| Some((*k, (*v).as_ref()?)))
                        .collect();
                    for (n, (k, v)) in named.iter().enumerate() {
                        if let Some((other, _)) = named[..n].iter().find(|(_, o)| overlaps(o, v)) {
                            self.at(&at("helm"), format!("helm's {other} and {k} name overlapping values ({v:?}); each must be its own value"));
                        }
                    }
                    for (k, v) in fields {
                        if let Some(v) = v {
                            self.field_path(
                                &[K("services"), K(name), K("targets"), I(i), K("helm"), K(k)],
                                v,
                            );
                        }
                    }
                }
                if let Some(y) = &t.yaml {
                    self.field_path(
                        &[
                            K("services"),
                            K(name),
                            K("targets"),
                            I(i),
                            K("yaml"),
                            K("image"),
                        ],
                        &y.image,
                    );
                }
            }
            for stage in c.stage_names() {
                for (i, t) in crate::target::of(s, name, stage).into_iter().enumerate() {
                    for field in t.kind.fields() {
                        written.push((name.to_owned(), i, stage.to_owned(), t.path.clone(), field));
                    }
                }
            }
        }
        let mut said = BTreeSet::new();
        for (n, (svc, i, stage, file, field)) in written.iter().enumerate() {
            let Some((other, j, _, _, other_field)) =
                written[..n].iter().find(|(o, j, st, f, of)| {
                    st == stage && f == file && (o != svc || j != i) && overlaps(of, field)
                })
            else {
                continue;
            };
            if !said.insert((svc.clone(), *i)) {
                continue;
            }
            let step = if c.services.get(svc).is_some_and(|s| s.targets.is_empty()) {
                vec![K("services"), K(svc), K("path")]
            } else {
                vec![K("services"), K(svc), K("targets"), I(*i)]
            };
            let msg = if other == svc {
                format!("targets {j} and {i} both write {field} in {file}: remove the duplicate")
            } else {
                format!(
                    "{file} is a target of {other:?} and of {svc:?}, and both would write {other_field} / {field}: one field, one service"
                )
            };
            self.at(&step, msg);
        }
    }

    /// Checks every group: its name, at least two known members, each in one group.
    fn groups(&mut self, c: &Config) {
        let services: Vec<&str> = c.services.keys().collect();
        let mut claimed: HashMap<&str, &str> = HashMap::new();
        for (name, g) in c.groups.iter() {
            if !SERVICE_NAME.is_match(name) {
                self.at_key(&[K("groups"), K(name)], format!(
                    "group name {name:?} may hold only lowercase letters, digits, '.', '_' and '-', starting and ending with a letter or digit"
                ));
            }
            if c.services.get(name).is_some() {
                self.at_key(&[K("groups"), K(name)], format!(
                    "group {name:?} has a service's name; name it apart, since its pull requests are named by it"
                ));
            }
            if g.services.len() < 2 {
                self.at(
                    &[K("groups"), K(name), K("services")],
                    "a group needs at least two services",
                );
            }
            for (i, m) in g.services.iter().enumerate() {
                let at = [K("groups"), K(name), K("services"), I(i)];
                if c.services.get(m).is_none() {
                    let hint = suggest(m, &services)
                        .map(|s| format!(" Did you mean {s:?}?"))
                        .unwrap_or_default();
                    self.at(
                        &at,
                        format!(
                            "{m:?} is not a service (services: {}).{hint}",
                            services.join(", ")
                        ),
                    );
                } else if let Some(other) = claimed.insert(m, name) {
                    let msg = if other == name {
                        format!("{m:?} is named twice in group {name:?}")
                    } else {
                        format!(
                            "{m:?} is in groups {other:?} and {name:?}; a service ships with one group"
                        )
                    };
                    self.at(&at, msg);
                }
            }
        }
    }

    /// A target's file template: only the known placeholders, relative, no dot segments,
    /// a file per stage.
    fn target_path(&mut self, at: &[Step], path: &str) {
        for bad in bad_placeholders(path) {
            self.at(
                at,
                format!("path {path:?} uses {bad}; only {{service}} and {{stage}} are replaced"),
            );
        }
        if path.starts_with('/') || path.contains('\\') {
            self.at(
                at,
                format!(
                    "path {path:?} must be relative to the repository root, with '/' separators"
                ),
            );
        }
        if path.split('/').any(|seg| seg == ".." || seg == ".") {
            self.at(
                at,
                format!("path {path:?} must not contain '.' or '..' segments"),
            );
        }
        if !path.contains("{stage}") {
            self.at(
                at,
                format!("path {path:?} has no {{stage}}: every stage needs its own overlay"),
            );
        }
    }

    /// A dotted path into a YAML file.
    fn field_path(&mut self, at: &[Step], path: &str) {
        if let Err(e) = crate::manifest::Path::parse(path) {
            self.at(at, e.to_string());
        }
    }

    fn templates(&mut self, c: &Config) {
        for (name, stage) in c.stages.iter() {
            if let Some(t) = &stage.argocd_app {
                for bad in bad_placeholders(t) {
                    self.at(&[K("stages"), K(name), K("argocd_app")], format!(
                        "argocd_app {t:?} uses {bad}; only {{service}} and {{stage}} are replaced"
                    ));
                }
            }
        }
        for (i, r) in c.merge.required_checks.iter().enumerate() {
            let t = r.name();
            if r.poster().is_none() {
                self.at(&[K("merge"), K("required_checks"), I(i)], format!(
                    "required check {t:?} must name exactly one of app_id, app_slug, creator_id, creator: who may post it"
                ));
            }
            for bad in bad_placeholders(t) {
                self.at(&[K("merge"), K("required_checks"), I(i)], format!(
                    "required check {t:?} uses {bad}; only {{service}} and {{stage}} are replaced"
                ));
            }
        }
        if let Some(a) = &c.argocd
            && !(a.url.starts_with("https://") || a.url.starts_with("http://"))
        {
            self.at(
                &[K("argocd"), K("url")],
                format!(
                    "argocd.url {:?} must start with https:// (or http://)",
                    a.url
                ),
            );
        }
    }

    /// Checks the forge section: the GitHub App or token settings, or CodeCommit's
    /// repository, region and IAM mappings.
    ///
    /// Kept whole: one match over the two forges, each arm a flat list of independent field
    /// checks that push an error and go on.
    fn forge(&mut self, c: &Config) {
        match &c.forge {
            Forge::Github(g) => {
                if c.merge.method == MergeMethod::FastForward {
                    self.at(
                        &[K("merge"), K("method")],
                        "GitHub cannot merge by fast-forward: use squash, merge or rebase",
                    );
                }
                let at = |k| [K("forge"), K("github"), K(k)];
                for (k, v) in [("owner", &g.owner), ("repo", &g.repo)] {
                    if !REPO_PART.is_match(v) {
                        self.at(
                            &at(k),
                            format!(
                                "forge.github.{k} {v:?} is not a GitHub owner or repository name"
                            ),
                        );
                    }
                }
                if !(g.api_url.starts_with("https://") || g.api_url.starts_with("http://")) {
                    self.at(&at("api_url"), format!("api_url {:?} must start with https:// (or http:// for a local test server)", g.api_url));
                }
                let key = g.private_key_file.is_some() as u8 + g.private_key_env.is_some() as u8;
                if key == 2 {
                    self.at(
                        &at("private_key_env"),
                        "set one of private_key_file and private_key_env, not both",
                    );
                }
                match (g.app_id, key > 0, &g.token_env) {
                    (Some(_), false, _) => self.at(&at("app_id"), "app_id needs the App's private key: set private_key_file or private_key_env"),
                    (None, true, _) => self.at(&at(if g.private_key_file.is_some() { "private_key_file" } else { "private_key_env" }), "a private key needs the App's app_id"),
                    (None, false, None) => self.at(&[K("forge"), K("github")], "forge.github needs app_id with private_key_file or private_key_env (or token_env, for a first trial)"),
                    _ => {}
                }
            }
            Forge::Codecommit(cc) => {
                static REGION: LazyLock<Regex> =
                    LazyLock::new(|| re(r"^[a-z]{2}(-[a-z]+)+-[0-9]+$"));
                if !REGION.is_match(&cc.region) {
                    self.at(
                        &[K("forge"), K("codecommit"), K("region")],
                        format!(
                            "region {:?} is not an AWS region (e.g. us-east-1)",
                            cc.region
                        ),
                    );
                }
                for (name, arns) in &cc.codeowners_iam {
                    if !(TEAM.is_match(name)
                        || name.strip_prefix('@').is_some_and(|u| USER.is_match(u)))
                    {
                        self.at_key(&[K("forge"), K("codecommit"), K("codeowners_iam"), K(name)], format!(
                            "{name:?} is neither a person (@alice) nor a team (@org/team) as CODEOWNERS names them"
                        ));
                    }
                    for (i, arn) in arns.iter().enumerate() {
                        if !IAM_ARN.is_match(arn) {
                            self.at(&[K("forge"), K("codecommit"), K("codeowners_iam"), K(name), I(i)], format!(
                                "{arn:?} is not an IAM user or role ARN (arn:aws:iam::123456789012:role/NAME)"
                            ));
                        }
                    }
                }
                let mapped = |p: &str| {
                    let at = format!("@{}", p.trim_start_matches('@'));
                    cc.codeowners_iam
                        .keys()
                        .any(|k| k.eq_ignore_ascii_case(&at))
                };
                for (name, stage) in c.stages.iter() {
                    for (i, p) in stage.gate.promoters.iter().enumerate() {
                        if !mapped(p) {
                            self.at(&[K("stages"), K(name), K("gate"), K("promoters"), I(i)], format!(
                                "promoter {p:?} has no entry in forge.codecommit.codeowners_iam, so no IAM principal could act as it"
                            ));
                        }
                    }
                }
                for (i, p) in c.freeze.by.iter().enumerate() {
                    if !mapped(p) {
                        self.at(&[K("freeze"), K("by"), I(i)], format!(
                            "freeze.by entry {p:?} has no entry in forge.codecommit.codeowners_iam, so no IAM principal could act as it"
                        ));
                    }
                }
                for (i, p) in c.dag.break_glass.iter().enumerate() {
                    if !mapped(p) {
                        self.at(&[K("dag"), K("break_glass"), I(i)], format!(
                            "break_glass entry {p:?} has no entry in forge.codecommit.codeowners_iam, so no IAM principal could act as it"
                        ));
                    }
                }
                if !c.merge.required_checks.is_empty() {
                    self.at(&[K("merge"), K("required_checks")],
                        "CodeCommit has no checks, so a required check could never pass: remove merge.required_checks (hoist/argocd checks Argo CD itself)");
                }
                if c.merge.method == MergeMethod::Rebase {
                    self.at(
                        &[K("merge"), K("method")],
                        "CodeCommit cannot rebase: use squash, merge or fast_forward",
                    );
                }
                if !REPO_PART.is_match(&cc.repository) {
                    self.at(
                        &[K("forge"), K("codecommit"), K("repository")],
                        format!(
                            "repository {:?} is not a CodeCommit repository name",
                            cc.repository
                        ),
                    );
                }
            }
        }
    }

    fn env_vars(&mut self, c: &Config) {
        let mut check = |path: &[Step], v: &str| {
            if !ENV_VAR.is_match(v) {
                self.errors.push(
                    self.src
                        .at(path, format!("{v:?} is not an environment variable name")),
                );
            }
        };
        check(&[K("webhook_secrets_env")], &c.webhook_secrets_env);
        check(&[K("eventbridge_token_env")], &c.eventbridge_token_env);
        if let Forge::Github(g) = &c.forge {
            for (k, v) in [
                ("private_key_env", &g.private_key_env),
                ("token_env", &g.token_env),
            ] {
                if let Some(v) = v {
                    check(&[K("forge"), K("github"), K(k)], v);
                }
            }
        }
        if let Some(a) = &c.argocd {
            check(&[K("argocd"), K("token_env")], &a.token_env);
        }
        for (i, n) in c.notify.iter().enumerate() {
            check(&[K("notify"), I(i), K("url_env")], &n.url_env);
        }
    }

    /// Each webhook's stages exist, and no event or stage is listed twice.
    fn notify(&mut self, c: &Config) {
        let names = c.stage_names();
        for (i, n) in c.notify.iter().enumerate() {
            if c.notify[..i].iter().any(|o| o.url_env == n.url_env) {
                self.at(
                    &[K("notify"), I(i), K("url_env")],
                    format!(
                        "{:?} names the webhook of an earlier entry: one entry per webhook",
                        n.url_env
                    ),
                );
            }
            for (j, s) in n.stages.iter().enumerate() {
                if c.stage(s).is_none() {
                    let hint = suggest(s, &names)
                        .map(|h| format!(" (did you mean {h}?)"))
                        .unwrap_or_default();
                    self.at(
                        &[K("notify"), I(i), K("stages"), I(j)],
                        format!(
                            "notify stage {s:?} is not a stage{hint}; stages: {}",
                            names.join(", ")
                        ),
                    );
                } else if n.stages[..j].contains(s) {
                    self.at(
                        &[K("notify"), I(i), K("stages"), I(j)],
                        format!("stage {s:?} is listed twice"),
                    );
                }
            }
            for (j, e) in n.on.iter().enumerate() {
                if n.on[..j].contains(e) {
                    self.at(
                        &[K("notify"), I(i), K("on"), I(j)],
                        format!("event {:?} is listed twice", crate::notify::event_name(*e)),
                    );
                }
            }
        }
    }
}

fn last_line(s: &str) -> String {
    s.lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or(s)
        .trim()
        .to_owned()
}

/// Each cycle once, as the stage names along it, starting from the first in file order.
fn cycles(c: &Config) -> Vec<Vec<String>> {
    let names = c.stage_names();
    let index: HashMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    // 0 unvisited, 1 on the stack, 2 done.
    let mut state = vec![0u8; names.len()];
    let mut found = vec![];
    fn dfs(
        c: &Config,
        names: &[&str],
        index: &HashMap<&str, usize>,
        n: usize,
        state: &mut [u8],
        stack: &mut Vec<usize>,
        found: &mut Vec<Vec<String>>,
    ) {
        state[n] = 1;
        stack.push(n);
        let ups = &c.stage(names[n]).expect("named stage exists").upstream;
        for up in ups {
            let Some(&u) = index.get(up.as_str()) else {
                continue;
            };
            match state[u] {
                0 => dfs(c, names, index, u, state, stack, found),
                1 => {
                    let from = stack.iter().position(|&s| s == u).expect("on the stack");
                    let mut cyc: Vec<usize> = stack[from..].to_vec();
                    // Report it downstream-first as written: a -> b means b is a's upstream.
                    let start = cyc
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, s)| **s)
                        .map(|(i, _)| i)
                        .unwrap_or(0);
                    cyc.rotate_left(start);
                    found.push(cyc.into_iter().map(|s| names[s].to_owned()).collect());
                }
                _ => {}
            }
        }
        stack.pop();
        state[n] = 2;
    }
    for n in 0..names.len() {
        if state[n] == 0 {
            dfs(c, &names, &index, n, &mut state, &mut vec![], &mut found);
        }
    }
    found
}

/// Whether two fields of one file are the same value or one holds the other
/// (`image` holds `image.tag`).
fn overlaps(a: &str, b: &str) -> bool {
    let holds = |outer: &str, inner: &str| {
        inner
            .strip_prefix(outer)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
    };
    holds(a, b) || holds(b, a)
}
