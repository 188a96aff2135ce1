//! The configuration file's shape. Every field is documented here; the JSON Schema in
//! `config/hoist.schema.json` and the docs are generated from these comments.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ordered::OrderedMap;
// Tag policies are the tags module's own vocabulary; the config only carries them.
pub use crate::tags::TagPolicy;

/// Hoist's configuration: where the GitOps repository lives, the promotion DAG, and the
/// services whose images move through it.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The forge that holds the GitOps repository.
    pub forge: Forge,
    /// Environment variable holding the GitHub webhook secrets, comma-separated so a
    /// new secret can be added before the old one is removed.
    #[serde(default = "default_webhook_secrets_env")]
    pub webhook_secrets_env: String,
    /// Environment variable holding the shared token that EventBridge API destinations
    /// send in the `x-hoist-token` header.
    #[serde(default = "default_eventbridge_token_env")]
    pub eventbridge_token_env: String,
    /// The promotion DAG: stage name to stage. Order is kept for display.
    pub stages: OrderedMap<Stage>,
    /// The services to promote: service name to service.
    pub services: OrderedMap<Service>,
    /// Services whose images ship together: group name to group. A group's freight is
    /// one image of each member, and it moves through the stages as one.
    #[serde(default)]
    pub groups: OrderedMap<Group>,
    /// How Hoist merges promotion pull requests.
    #[serde(default)]
    pub merge: Merge,
    /// The Argo CD server that checks and verifies promotions.
    #[serde(default)]
    pub argocd: Option<ArgoCd>,
    /// The `hoist/dag` check.
    #[serde(default)]
    pub dag: DagCheck,
    /// Who may freeze a stage (`/freeze <stage> [reason]`, `/unfreeze <stage>`).
    #[serde(default)]
    pub freeze: FreezeSettings,
    /// Where Hoist tells people what happened: webhooks, each with the events and stages
    /// it wants. Delivered from the durable queue, retried, never twice for one event.
    #[serde(default)]
    pub notify: Vec<Notify>,
}

/// Settings of stage freezes.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FreezeSettings {
    /// Who may comment `/freeze <stage> [reason]` and `/unfreeze <stage>`, besides
    /// `dag.break_glass`: logins or `@org/team`, each also needing write access.
    #[serde(default)]
    pub by: Vec<String>,
}

/// One webhook Hoist notifies.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Notify {
    /// Environment variable holding the webhook's URL (a Slack incoming webhook's URL is
    /// a secret: it never goes in the config).
    pub url_env: String,
    /// `slack` (a Slack incoming webhook's `text` and `blocks`) or `json` (Hoist's own
    /// versioned payload, documented in docs/notifications.md).
    #[serde(default)]
    pub format: NotifyFormat,
    /// The events to send. Empty or absent: every event.
    #[serde(default)]
    pub on: Vec<NotifyEvent>,
    /// The stages whose events to send. Empty or absent: every stage.
    #[serde(default)]
    pub stages: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum NotifyFormat {
    #[default]
    Json,
    Slack,
}

/// Something that happened to a promotion or a stage.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum NotifyEvent {
    /// A promotion pull request opened.
    Opened,
    /// A command by someone with write access was refused, or a required check failed
    /// on Hoist's head.
    Refused,
    /// A promotion merged.
    Merged,
    /// Argo CD runs the promotion's image, healthy.
    Verified,
    /// Argo CD reports the application of a merge being verified Degraded, or its sync
    /// failed.
    Degraded,
    /// A rollback's pull request opened (its merge is `merged`).
    Rollback,
    /// A stage was frozen or unfrozen.
    Freeze,
}

/// Settings of the `hoist/dag` check.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DagCheck {
    /// Who may comment `/override dag <head SHA> <reason>` to pass the check for an emergency:
    /// logins or `@org/team`. Empty: nobody. Every override is recorded and announced.
    #[serde(default)]
    pub break_glass: Vec<String>,
}

fn default_webhook_secrets_env() -> String {
    "HOIST_WEBHOOK_SECRETS".into()
}
fn default_eventbridge_token_env() -> String {
    "HOIST_EVENTBRIDGE_TOKEN".into()
}

/// Exactly one forge.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "lowercase")]
pub enum Forge {
    /// A GitHub (or GitHub Enterprise) repository, reached as a GitHub App.
    Github(GitHub),
    /// An AWS CodeCommit repository.
    Codecommit(CodeCommit),
}

/// A GitHub repository and the App Hoist authenticates as.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GitHub {
    /// Owner (user or organization) of the GitOps repository.
    pub owner: String,
    /// Name of the GitOps repository.
    pub repo: String,
    /// Branch that promotions merge into.
    #[serde(default = "default_base")]
    pub base: String,
    /// REST API root; GitHub Enterprise Server uses `https://HOST/api/v3`.
    #[serde(default = "default_api_url")]
    pub api_url: String,
    /// The GitHub App's id.
    #[serde(default)]
    pub app_id: Option<u64>,
    /// File holding the App's private key (PEM).
    #[serde(default)]
    pub private_key_file: Option<String>,
    /// Environment variable holding the App's private key (PEM).
    #[serde(default)]
    pub private_key_env: Option<String>,
    /// The App's installation id on the repository; looked up when absent.
    #[serde(default)]
    pub installation_id: Option<u64>,
    /// Environment variable holding a personal access token, for a first trial only:
    /// run Hoist as a GitHub App in production.
    #[serde(default)]
    pub token_env: Option<String>,
    /// Least milliseconds between two content-creating requests (POST, PUT, PATCH,
    /// DELETE), which GitHub's secondary rate limits ask for.
    #[serde(default = "default_write_interval_ms")]
    pub write_interval_ms: u64,
}

fn default_write_interval_ms() -> u64 {
    1000
}

fn default_base() -> String {
    "main".into()
}
fn default_api_url() -> String {
    "https://api.github.com".into()
}

/// An AWS CodeCommit repository.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeCommit {
    /// Repository name.
    pub repository: String,
    /// AWS region of the repository.
    pub region: String,
    /// Branch that promotions merge into.
    #[serde(default = "default_base")]
    pub base: String,
    /// People and teams as CODEOWNERS, `promoters` and `break_glass` name them
    /// (`@alice`, `@acme/sre`), mapped to the IAM principals (ARNs) that act as them,
    /// since CodeCommit knows IAM principals only. A role ARN covers every session
    /// of that role.
    #[serde(default)]
    pub codeowners_iam: BTreeMap<String, Vec<String>>,
}

/// A node of the promotion DAG.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    /// Stages whose verified freight this stage takes. A stage without upstreams is a
    /// root: it takes freight straight from the registry.
    #[serde(default)]
    pub upstream: Vec<String>,
    /// Whether freight must be verified in all upstreams (`all`) or in any one (`any`).
    #[serde(default)]
    pub availability: Availability,
    /// Open the promotion pull request without a command: on a push for a root stage,
    /// once verified upstream otherwise.
    #[serde(default, deserialize_with = "strict_bool")]
    pub auto: bool,
    /// What must happen before Hoist merges a promotion into this stage.
    #[serde(default)]
    pub gate: Gate,
    /// Argo CD Application that deploys this stage; `{service}` and `{stage}` are
    /// replaced. Without it, the merge itself verifies the freight.
    #[serde(default)]
    pub argocd_app: Option<String>,
    /// How a `/rollback` into this stage is gated.
    #[serde(default)]
    pub rollback: Rollback,
    /// How long freight must have been verified in each upstream before it may merge
    /// here: `90m`, `2h`, `1d`, `1h30m`. A `/promote` before then is accepted, and the
    /// pull request merges when the soak ends.
    #[serde(default)]
    pub soak: Option<String>,
    /// When merges into this stage may happen: outside every window a pull request that
    /// is otherwise ready waits, and Hoist merges it when the next window opens. None:
    /// any time. Rollbacks are not held to them.
    #[serde(default)]
    pub windows: Vec<WindowSpec>,
}

/// A deploy window: `{ days: mon-fri, hours: "09:00-16:00", tz: Europe/Berlin }`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WindowSpec {
    /// Days of the week: `mon-fri`, `sat,sun`, `mon-wed,fri`.
    pub days: String,
    /// The hours, start to end, within one day: `09:00-16:00`.
    pub hours: String,
    /// An IANA time zone: `Europe/Berlin`, `UTC` (the default).
    #[serde(default = "utc")]
    pub tz: String,
}

fn utc() -> String {
    "UTC".into()
}

impl Stage {
    /// The stage's deploy windows (checked when the config is loaded).
    pub fn windows(&self) -> Vec<crate::policy::window::Window> {
        self.windows
            .iter()
            .filter_map(|w| crate::policy::window::Window::parse(&w.days, &w.hours, &w.tz).ok())
            .collect()
    }

    /// The stage's soak in milliseconds (`soak`, checked when the config is loaded).
    pub fn soak_ms(&self) -> Option<i64> {
        self.soak
            .as_deref()
            .and_then(crate::clock::parse_duration_ms)
    }

    /// The gate a rollback into this stage passes: its freight ran verified here before,
    /// so no upstream is asked to run it again; with `rollback.gate: none`, no code
    /// owner's approval either. Required checks and Argo CD's rendering still apply.
    pub fn for_rollback(&self) -> Stage {
        let mut st = self.clone();
        st.upstream.clear();
        // Putting back what ran does not wait for a window.
        st.windows.clear();
        if st.rollback.gate == RollbackGate::None {
            st.gate.codeowners = false;
            st.gate.separate_approver = false;
        }
        st
    }
}

/// A stage's rollback policy.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rollback {
    /// `same`: a rollback passes the stage's gate (its code owners' approval included),
    /// except that no upstream is asked to run its freight again (it ran verified here).
    /// `none`: no code-owner approval either (required checks and Argo CD still apply),
    /// for stages where putting back what ran must not wait for a person.
    #[serde(default)]
    pub gate: RollbackGate,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RollbackGate {
    #[default]
    Same,
    None,
}

/// How many upstreams must have verified the freight.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Availability {
    /// Every upstream.
    #[default]
    All,
    /// Any one upstream.
    Any,
}

/// A stage's gate. Required checks (see `merge`) apply to every stage.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Gate {
    /// A `/promote <stage>` comment opens the promotion.
    #[serde(default, deserialize_with = "strict_bool")]
    pub command: bool,
    /// Who may promote: GitHub logins (`alice`) or teams (`@org/team`). Empty: anyone
    /// with write access to the repository.
    #[serde(default)]
    pub promoters: Vec<String>,
    /// An approval from a code owner of every changed path (CODEOWNERS on the base
    /// branch) on the pull request's current head.
    #[serde(default, deserialize_with = "strict_bool")]
    pub codeowners: bool,
    /// The approver must not be the person who asked for the promotion.
    #[serde(default, deserialize_with = "strict_bool")]
    pub separate_approver: bool,
}

/// One deployable image and the overlay files that pin it.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// The image repository, e.g. `123456789012.dkr.ecr.us-east-1.amazonaws.com/app`.
    pub image: String,
    /// Which tags are promoted.
    #[serde(default)]
    pub tags: TagPolicy,
    /// One kustomization to edit in each stage, relative to the repository root;
    /// `{service}` and `{stage}` are replaced. Shorthand for one kustomization target:
    /// give `path` or `targets`, not both.
    #[serde(default)]
    pub path: Option<String>,
    /// With `path`: the `images[].name` to edit in the kustomization; defaults to the
    /// service name.
    #[serde(default)]
    pub kustomize_name: Option<String>,
    /// The files that pin the image in each stage, all edited in one commit of one pull
    /// request. The first is the one the stage's freight is read from; the others must
    /// agree with it.
    #[serde(default)]
    pub targets: Vec<Target>,
    /// Promote an older version over a newer one. Off: a stage never goes back.
    #[serde(default, deserialize_with = "strict_bool")]
    pub allow_downgrade: bool,
}

/// Services that ship together (an API and its worker built from one commit).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// The member services, at least two; a service is in one group at most.
    pub services: Vec<String>,
    /// How the members' images are matched into one freight.
    #[serde(default)]
    pub source: GroupSource,
}

/// How a group's members' images are matched.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum GroupSource {
    /// By the commit they were built from: the `org.opencontainers.image.revision` label.
    #[default]
    Commit,
    /// By an equal tag.
    Tag,
}

/// A file that pins a service's image in each stage, and how: a kustomization's
/// `images:` entry (neither `helm` nor `yaml`), Helm values (`helm`), or any YAML by path
/// (`yaml`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// The file, relative to the repository root; `{service}` and `{stage}` are replaced.
    pub path: String,
    /// A kustomization target: the `images[].name` to edit; defaults to the service name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kustomize_name: Option<String>,
    /// Helm values: the dotted paths to set (`api.image.tag`); any may be omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helm: Option<HelmPaths>,
    /// Any YAML file (several documents allowed): the path whose value is a full image
    /// reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub yaml: Option<YamlPaths>,
}

/// Where Helm values hold the image. Paths are dotted keys; `[n]` picks a list item by
/// index and `[key=value]` by a key's value.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HelmPaths {
    /// The image repository (`123456789012.dkr.ecr.eu-west-1.amazonaws.com/app`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// The tag (`v1.4.0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// The digest (`sha256:…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// One combined `repository:tag@digest` value, instead of the three above.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}

/// Where a YAML file holds the image.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct YamlPaths {
    /// The path whose value is the full image reference, e.g.
    /// `spec.template.spec.containers[name=app].image`. With several documents in the
    /// file, exactly one must have it.
    pub image: String,
}

/// Merging promotion pull requests.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Merge {
    /// Merge method.
    #[serde(default)]
    pub method: MergeMethod,
    /// Check runs or commit statuses that must succeed on the head commit, each with
    /// who may post it: `{name, app_id}` or `{name, app_slug}` for a check run from that
    /// GitHub App, `{name, creator_id}` or `{name, creator}` for a commit status from that
    /// user. A plain name means a check run from any GitHub App (`check-config` warns:
    /// any App installed on the repository could post it); a status never counts without
    /// a named creator. `{service}` and `{stage}` are replaced in names.
    #[serde(default)]
    pub required_checks: Vec<RequiredCheck>,
}

/// A check that must succeed on the head commit before Hoist merges.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum RequiredCheck {
    /// A check run of this name from any GitHub App.
    Name(String),
    /// A check run or commit status of this name from the App or user it names.
    Posted(PostedCheck),
}

/// A required check and who may post it: exactly one of `app_id`, `app_slug`,
/// `creator_id`, `creator`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PostedCheck {
    /// The check run's name or the status's context; `{service}` and `{stage}` are replaced.
    pub name: String,
    /// Only a check run created by the GitHub App with this id counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<u64>,
    /// Only a check run created by the GitHub App with this slug counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_slug: Option<String>,
    /// Only a commit status posted by the user with this numeric id counts (a rename
    /// does not change it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creator_id: Option<u64>,
    /// Only a commit status posted by the user with this login counts (prefer
    /// `creator_id`: a login can be renamed and then taken by someone else).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creator: Option<String>,
}

/// Who may post a required check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Poster {
    AnyApp,
    AppId(u64),
    AppSlug(String),
    CreatorId(u64),
    Creator(String),
}

impl RequiredCheck {
    pub fn name(&self) -> &str {
        match self {
            RequiredCheck::Name(n) => n,
            RequiredCheck::Posted(p) => &p.name,
        }
    }

    /// Who may post it; `None` when the entry names none or several (a config error).
    pub fn poster(&self) -> Option<Poster> {
        let p = match self {
            RequiredCheck::Name(_) => return Some(Poster::AnyApp),
            RequiredCheck::Posted(p) => p,
        };
        let all = [
            p.app_id.map(Poster::AppId),
            p.app_slug.clone().map(Poster::AppSlug),
            p.creator_id.map(Poster::CreatorId),
            p.creator.clone().map(Poster::Creator),
        ];
        let mut named = all.into_iter().flatten();
        match (named.next(), named.next()) {
            (Some(one), None) => Some(one),
            _ => None,
        }
    }
}

impl Default for Merge {
    fn default() -> Self {
        Self {
            method: MergeMethod::Squash,
            required_checks: vec![],
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MergeMethod {
    #[default]
    Squash,
    /// A merge commit (a three-way merge on CodeCommit).
    Merge,
    /// GitHub only.
    Rebase,
    /// CodeCommit only: the base moves to the pull request's head.
    #[serde(rename = "fast_forward")]
    FastForward,
}

/// The Argo CD API.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArgoCd {
    /// Server URL, e.g. `https://argocd.example.com`.
    pub url: String,
    /// Environment variable holding an Argo CD API token.
    pub token_env: String,
    /// Seconds an application must stay Healthy at the merged revision before the
    /// promotion counts as verified.
    #[serde(default = "default_health_debounce")]
    pub health_debounce_seconds: u64,
}

fn default_health_debounce() -> u64 {
    30
}

/// A boolean written as YAML 1.2 writes one: the plain scalars `true` and `false`. The
/// string `"true"` is text, and so are YAML 1.1's `yes`, `no`, `on` and `off`.
fn strict_bool<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    struct Plain;
    impl serde::de::Visitor<'_> for Plain {
        type Value = bool;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("true or false")
        }
        fn visit_bool<E>(self, v: bool) -> Result<bool, E> {
            Ok(v)
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<bool, E> {
            Err(E::custom(crate::messages::not_a_boolean(v)))
        }
    }
    d.deserialize_any(Plain)
}
