//! What `hoist doctor` reads of the repository's settings on GitHub: the App
//! installation's permissions and events, and how the base branch is protected. Read
//! only, and only by `hoist doctor`: nothing here decides a promotion.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::{GitHub, map};
use crate::forge::Result;

/// The repository's settings as GitHub reports them to Hoist's own credentials.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Posture {
    /// Hoist's App id: the poster Hoist's own required checks must be pinned to.
    pub app_id: Option<u64>,
    /// The installation's permissions (name to `read`/`write`) and events; `None` when
    /// Hoist runs on a personal token, which has no installation.
    pub installation: Option<(BTreeMap<String, String>, Vec<String>)>,
    pub protection: Protection,
}

/// How the base branch is protected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Protection {
    /// Neither a ruleset nor branch protection applies to it.
    #[default]
    None,
    Read(Rules),
    /// Protected, but GitHub would not show how to Hoist's credentials.
    Unreadable(String),
}

/// The rules that matter to Hoist, from the rulesets that apply to the base branch or
/// from its branch protection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules {
    /// `ruleset` or `branch protection`.
    pub source: &'static str,
    pub requires_pull_request: bool,
    pub code_owner_review: bool,
    pub dismiss_stale_reviews: bool,
    /// Each required check, with the App it is pinned to (`None`: any poster counts).
    pub required_checks: Vec<(String, Option<u64>)>,
    /// What lets Hoist's App merge past the rules: a ruleset's own word that Hoist may
    /// bypass it (`current_user_can_bypass`), or the App listed as allowed to bypass
    /// required pull requests.
    pub hoist_bypasses: Vec<String>,
    /// Rulesets that do not say whether Hoist may bypass them.
    pub bypass_unknown: Vec<String>,
    /// Branch protection that does not bind administrators (`enforce_admins` off).
    pub admins_exempt: bool,
}

impl Rules {
    /// Both sets of rules apply at once: GitHub enforces rulesets and branch protection
    /// together.
    fn and(mut self, other: Rules) -> Rules {
        self.source = "rulesets and branch protection";
        self.requires_pull_request |= other.requires_pull_request;
        self.code_owner_review |= other.code_owner_review;
        self.dismiss_stale_reviews |= other.dismiss_stale_reviews;
        self.required_checks.extend(other.required_checks);
        self.hoist_bypasses.extend(other.hoist_bypasses);
        self.bypass_unknown.extend(other.bypass_unknown);
        self.admins_exempt |= other.admins_exempt;
        self
    }
}

#[derive(Deserialize)]
struct Installation {
    #[serde(default)]
    permissions: BTreeMap<String, String>,
    #[serde(default)]
    events: Vec<String>,
}

#[derive(Deserialize)]
struct Rule {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    parameters: Value,
    ruleset_id: Option<u64>,
}

impl GitHub {
    /// Reads the installation (with the App's own credentials: the installation's token
    /// may not read it), the rules on the base branch, and each of their rulesets.
    pub async fn posture(&self) -> Result<Posture> {
        let installation = match &self.app_client {
            Some(app) => {
                let i: Installation = super::retry::retrying(|| async {
                    app.get(
                        format!("/repos/{}/{}/installation", self.owner, self.repo),
                        None::<&()>,
                    )
                    .await
                })
                .await
                .map_err(|e| {
                    super::app_error(self.app_id.unwrap_or_default(), &self.owner, &self.repo, e)
                })?;
                Some((i.permissions, i.events))
            }
            None => None,
        };
        let base = self.base.clone();
        let rules: Vec<Rule> = self.get_all(&format!("rules/branches/{base}")).await?;
        let from_rules = rules
            .iter()
            .any(|r| r.kind == "pull_request" || r.kind == "required_status_checks");
        let rules = if from_rules {
            Some(self.ruleset_rules(&rules).await?)
        } else {
            None
        };
        let protection = match (rules, self.classic().await?) {
            (Some(r), Protection::Read(c)) => Protection::Read(r.and(c)),
            // Rulesets stand on their own; branch protection Hoist may not read adds to
            // them, and takes nothing away.
            (Some(r), _) => Protection::Read(r),
            (None, classic) => classic,
        };
        Ok(Posture {
            app_id: self.app_id,
            installation,
            protection,
        })
    }

    async fn ruleset_rules(&self, rules: &[Rule]) -> Result<Rules> {
        let mut out = Rules {
            source: "ruleset",
            ..Rules::default()
        };
        for r in rules {
            let p = &r.parameters;
            match r.kind.as_str() {
                "pull_request" => {
                    out.requires_pull_request = true;
                    out.code_owner_review |= p["require_code_owner_review"] == true;
                    out.dismiss_stale_reviews |= p["dismiss_stale_reviews_on_push"] == true;
                }
                "required_status_checks" => {
                    if let Some(list) = p["required_status_checks"].as_array() {
                        out.required_checks.extend(list.iter().filter_map(|c| {
                            Some((
                                c["context"].as_str()?.to_owned(),
                                c["integration_id"].as_u64(),
                            ))
                        }));
                    }
                }
                _ => {}
            }
        }
        let mut ids: Vec<u64> = rules.iter().filter_map(|r| r.ruleset_id).collect();
        ids.sort_unstable();
        ids.dedup();
        for id in ids {
            let set: Value = self.get(&format!("rulesets/{id}")).await?;
            // GitHub says whether the caller may bypass it: anything but `never`.
            let name = format!("ruleset {}", set["name"].as_str().unwrap_or("?"));
            match set["current_user_can_bypass"].as_str() {
                Some("never") => {}
                Some(how) => out.hoist_bypasses.push(format!("{name} ({how})")),
                None => out.bypass_unknown.push(name),
            }
        }
        Ok(out)
    }

    /// Branch protection, read with the `administration: read` permission Hoist's App
    /// does not ask for: where GitHub refuses, doctor says so and what to check by hand.
    async fn classic(&self) -> Result<Protection> {
        let branch: Value = self.get(&format!("branches/{}", self.base)).await?;
        if branch["protected"] != true {
            return Ok(Protection::None);
        }
        // Decided on the status itself: GitHub's refusal carries rate-limit headers,
        // which would make it look like a transient failure.
        let url = self.path(&format!("branches/{}/protection", self.base));
        let res = super::retry::retrying(|| async { self.client._get(url.as_str()).await })
            .await
            .map_err(map)?;
        let status = res.status();
        let body = {
            use http_body_util::BodyExt;
            res.into_body().collect().await.map_err(map)?.to_bytes()
        };
        let p: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        // GitHub answers 404 both for "not protected" and to a caller it will not tell.
        if status == http::StatusCode::NOT_FOUND
            && p["message"].as_str() == Some("Branch not protected")
        {
            return Ok(Protection::None);
        }
        if !status.is_success() {
            let why = format!(
                "{} {}",
                status.as_u16(),
                p["message"].as_str().unwrap_or("")
            );
            return Ok(Protection::Unreadable(why.trim().to_owned()));
        }
        Ok(Protection::Read(classic_rules(&p, &self.me)))
    }
}

/// Branch protection's answer (`GET .../branches/{base}/protection`) as the rules that
/// matter to Hoist; `me` is Hoist, who must be on no bypass list.
fn classic_rules(p: &Value, me: &crate::domain::Actor) -> Rules {
    let reviews = &p["required_pull_request_reviews"];
    let slug = me.login.trim_end_matches("[bot]");
    let allowances = &reviews["bypass_pull_request_allowances"];
    let bypass = allowances["apps"]
        .as_array()
        .is_some_and(|apps| apps.iter().any(|a| a["slug"] == slug))
        || allowances["users"]
            .as_array()
            .is_some_and(|users| users.iter().any(|u| u["id"] == me.id));
    Rules {
        source: "branch protection",
        requires_pull_request: reviews.is_object(),
        code_owner_review: reviews["require_code_owner_reviews"] == true,
        dismiss_stale_reviews: reviews["dismiss_stale_reviews"] == true,
        required_checks: p["required_status_checks"]["checks"]
            .as_array()
            .map(|l| {
                l.iter()
                    .filter_map(|c| Some((c["context"].as_str()?.to_owned(), c["app_id"].as_u64())))
                    .collect()
            })
            .unwrap_or_default(),
        hoist_bypasses: if bypass {
            vec!["branch protection's bypass list".into()]
        } else {
            vec![]
        },
        bypass_unknown: vec![],
        admins_exempt: p["enforce_admins"]["enabled"] != true,
    }
}
