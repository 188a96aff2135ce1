//! The promotion decision, as data: which pull requests an event opens, with their
//! titles, bodies, commits and diffs. `hoist plan` prints it; the engine carries it out.

use serde::Serialize;

use crate::config::{Config, Service, expand};
use crate::freight::Freight;
use crate::image::{Digest, ImageName, Tag};
use crate::messages::{self, BodyArgs, StageView};
use crate::policy::codeowners::{self, CodeOwners};
use crate::policy::dag;
use crate::policy::gate;
use crate::repo::Repo;
use crate::target::{self, Pin, StageTarget};
use crate::{diff, tags};

/// One promotion pull request to open or update.
#[derive(Debug, Clone, Serialize)]
pub struct Promotion {
    pub stage: String,
    pub service: String,
    pub branch: String,
    pub title: String,
    pub body: String,
    pub commit_message: String,
    pub freight: Freight,
    /// The tag the stage runs now, if any.
    pub previous_tag: Option<String>,
    /// For a group's promotion, every member's freight (`freight` is the first one's);
    /// empty for one service's.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<Freight>,
    pub requested_by: String,
    /// Each target file the promotion changes, in the service's target order; all are
    /// written in one commit.
    pub files: Vec<FileChange>,
    /// What stands between the pull request and its merge, as `hoist/argocd` will list
    /// it on the new head before anything is met.
    pub gate: Vec<GateLine>,
}

/// What the planner proposes for one stage: a promotion, or nothing, saying why (it runs
/// that freight already, it would go back a version, the edit changes nothing).
#[derive(Debug)]
pub enum Proposal {
    Promote(Box<Promotion>),
    Nothing(String),
}

/// One condition of the merge gate.
#[derive(Debug, Clone, Serialize)]
pub struct GateLine {
    pub state: gate::State,
    pub line: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileChange {
    pub path: String,
    pub diff: String,
    /// The file's new content.
    pub content: String,
}

/// A stage (or the whole event) where nothing happens, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Skip {
    pub stages: Vec<String>,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Plan {
    pub promotions: Vec<Promotion>,
    pub nothing_to_do: Vec<Skip>,
    /// Set when the request breaks a rule (a DAG skip): the reply explains it.
    pub refused: Option<String>,
}

/// An overlay's tag is anyone's to write: one outside the tag grammar is never shown in
/// a pull request or compared with (a `<!-- … -->` there would be read as markup).
fn valid_tag_only(mut p: Pin) -> Pin {
    p.tag = p.tag.filter(|t| Tag::parse(t).is_ok());
    p
}

/// What stops a plan from being made at all: the repository does not fit the config.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct PlanError(pub String);

/// What a stage's targets pin for a service.
#[derive(Debug, Clone)]
struct StageState {
    stage: String,
    /// The first target's file, which the stage's freight is read from.
    path: String,
    /// What the first target pins.
    entry: Option<Pin>,
    targets: Vec<TargetState>,
}

#[derive(Debug, Clone)]
struct TargetState {
    target: StageTarget,
    text: Option<String>,
    pin: Option<Pin>,
}

impl StageState {
    /// The targets that pin something other than the first one does, or nothing, as
    /// `path:line (what)`: a stage whose targets disagree runs no one freight. Pins are
    /// compared as written (a tag outside the grammar differs from a valid one).
    fn disagreeing(&self) -> Vec<String> {
        let Some(first) = &self.targets[0].pin else {
            return vec![];
        };
        self.targets
            .iter()
            .skip(1)
            .filter_map(|t| {
                let at = |line: usize, what: &str| format!("{}:{line} ({what})", t.target.path);
                match &t.pin {
                    None => Some(format!("{} (nothing)", t.target.path)),
                    Some(p) if p.tag.is_none() && p.digest.is_none() => Some(at(p.line, "nothing")),
                    Some(p) if !p.agrees(first) => Some(at(
                        p.line,
                        p.tag.as_deref().or(p.digest.as_deref()).unwrap_or("?"),
                    )),
                    Some(_) => None,
                }
            })
            .collect()
    }
}

pub struct Planner<'a> {
    pub config: &'a Config,
    pub repo: &'a (dyn Repo + Sync),
    /// The service's promotions in Hoist's store, to colour the pipeline in a pull
    /// request's body by state; empty where there is no store (`hoist plan`).
    pub ledger: &'a [crate::store::ledger::Promotion],
}

impl Planner<'_> {
    fn service(&self, name: &str) -> Result<&Service, PlanError> {
        self.config.services.get(name).ok_or_else(|| {
            PlanError(messages::plan_no_service(
                name,
                &self.config.services.keys().collect::<Vec<_>>().join(", "),
            ))
        })
    }

    fn states(&self, service: &str) -> Result<Vec<StageState>, PlanError> {
        let svc = self.service(service)?;
        self.config
            .stage_names()
            .into_iter()
            .map(|stage| {
                let targets = target::of(svc, service, stage)
                    .into_iter()
                    .map(|t| {
                        let text = self.repo.read(&t.path).map_err(|e| {
                            PlanError(messages::plan_cannot_read(&t.path, &e.to_string()))
                        })?;
                        let pin = match &text {
                            Some(x) => target::read(&t.kind, x)
                                .map_err(|e| PlanError(e.in_file(&t.path)))?,
                            None => None,
                        };
                        Ok(TargetState {
                            target: t,
                            text,
                            pin,
                        })
                    })
                    .collect::<Result<Vec<_>, PlanError>>()?;
                Ok(StageState {
                    stage: stage.to_owned(),
                    path: targets[0].target.path.clone(),
                    entry: targets[0].pin.clone().map(valid_tag_only),
                    targets,
                })
            })
            .collect()
    }

    /// What a push of `freight` does: open or update the PR of every automatic root stage.
    pub fn push(&self, freight: &Freight, requested_by: &str) -> Result<Plan, PlanError> {
        let states = self.states(&freight.service)?;
        let mut plan = Plan::default();
        let (mut gated, mut later) = (vec![], vec![]);
        for (name, stage) in self.config.stages.iter() {
            match (stage.upstream.is_empty(), stage.auto) {
                (true, true) => {
                    match self.promotion(name, freight, &states, requested_by, false)? {
                        Proposal::Promote(p) => plan.promotions.push(*p),
                        Proposal::Nothing(reason) => plan.nothing_to_do.push(Skip {
                            stages: vec![name.into()],
                            reason,
                        }),
                    }
                }
                (false, true) => later.push(name),
                _ => gated.push(name),
            }
        }
        if !later.is_empty() {
            plan.nothing_to_do.push(Skip {
                stages: later.iter().map(|s| (*s).into()).collect(),
                reason: messages::nothing_auto_downstream(),
            });
        }
        if !gated.is_empty() {
            plan.nothing_to_do.push(Skip {
                stages: gated.iter().map(|s| (*s).into()).collect(),
                reason: messages::nothing_gated(),
            });
        }
        Ok(plan)
    }

    /// What `/promote STAGE` does for `service`: copy the freight its upstreams run.
    /// With `tag`, the freight is the one that tag names wherever it runs (as a
    /// `/promote` on that freight's PR would), and the DAG decides.
    ///
    /// Kept whole: it returns early in order (unknown stage, root stage, freight already
    /// there, DAG refusal) before planning the one promotion; split, the order would hide.
    pub fn promote(
        &self,
        stage: &str,
        service: &str,
        tag: Option<&str>,
        requested_by: &str,
    ) -> Result<Plan, PlanError> {
        let names = self.config.stage_names();
        let Some(st) = self.config.stage(stage) else {
            return Ok(refused(messages::unknown_stage("/promote", stage, &names)));
        };
        if st.upstream.is_empty() {
            return Ok(refused(messages::root_stage_refusal(stage)));
        }
        let states = self.states(service)?;
        let freight = match tag {
            Some(t) => states
                .iter()
                .find(|s| s.entry.as_ref().and_then(|e| e.tag.as_deref()) == Some(t))
                .map(|s| self.freight_of(service, s))
                .transpose()?
                .ok_or_else(|| PlanError(messages::plan_no_stage_runs(service, t)))?,
            None => self.upstream_freight(service, stage, &states)?,
        };
        let standing: Vec<&str> = states
            .iter()
            .filter(|s| {
                s.entry.as_ref().and_then(|e| e.digest.as_deref()) == Some(freight.digest.as_str())
                    && s.disagreeing().is_empty()
            })
            .map(|s| s.stage.as_str())
            .collect();
        if standing.contains(&stage) {
            let reason =
                messages::nothing_already_runs(freight.tag.as_str(), &freight.digest.short());
            return Ok(Plan {
                nothing_to_do: vec![Skip {
                    stages: vec![stage.into()],
                    reason,
                }],
                ..Plan::default()
            });
        }
        if let Some(r) = dag::refused(self.config, stage, st, &standing) {
            return Ok(refused(messages::dag_refusal(
                stage,
                st,
                &freight.label(),
                &standing,
                r.next,
                "is in",
            )));
        }
        let mut plan = Plan::default();
        match self.promotion(stage, &freight, &states, requested_by, false)? {
            Proposal::Promote(p) => plan.promotions.push(*p),
            Proposal::Nothing(reason) => plan.nothing_to_do.push(Skip {
                stages: vec![stage.into()],
                reason,
            }),
        }
        Ok(plan)
    }

    /// The PR that moves `stage` to `freight` (copied from wherever it was verified), or
    /// why there is none. The caller has checked the DAG.
    pub fn to_stage(
        &self,
        stage: &str,
        freight: &Freight,
        requested_by: &str,
    ) -> Result<Proposal, PlanError> {
        let states = self.states(&freight.service)?;
        self.promotion(stage, freight, &states, requested_by, false)
    }

    /// The pull request that rolls `stage` back to `freight` from `from` (the tag it runs):
    /// a promotion whatever `allow_downgrade` says, whose title, commit and body say it
    /// is a rollback and of what.
    pub fn rollback_to_stage(
        &self,
        stage: &str,
        freight: &Freight,
        requested_by: &str,
        from: &str,
    ) -> Result<Proposal, PlanError> {
        let states = self.states(&freight.service)?;
        let Proposal::Promote(mut p) =
            self.promotion(stage, freight, &states, requested_by, true)?
        else {
            return self.promotion(stage, freight, &states, requested_by, true);
        };
        let st = self.config.stage(stage).expect("stage exists");
        p.title = messages::rollback_title(&freight.service, stage, freight.tag.as_str(), from);
        p.commit_message = messages::commit_message(&p.title, freight, stage, requested_by);
        p.body = format!(
            "{}\n\n{}",
            messages::rollback_banner(stage, from, freight.tag.as_str(), st.rollback.gate),
            p.body
        );
        Ok(Proposal::Promote(p))
    }

    /// What a group's complete freight does: one pull request per automatic root stage.
    pub fn push_group(
        &self,
        group: &str,
        members: &[Freight],
        requested_by: &str,
    ) -> Result<Plan, PlanError> {
        let mut plan = Plan::default();
        for (name, stage) in self.config.stages.iter() {
            if !(stage.upstream.is_empty() && stage.auto) {
                continue;
            }
            match self.group_to_stage(name, group, members, requested_by)? {
                Proposal::Promote(p) => plan.promotions.push(*p),
                Proposal::Nothing(reason) => plan.nothing_to_do.push(Skip {
                    stages: vec![name.into()],
                    reason,
                }),
            }
        }
        Ok(plan)
    }

    /// The one pull request that moves `stage` to a group's freight (`members`, one image
    /// of each member service, in the group's order): every member's targets edited in one
    /// commit, each as its own promotion would edit them; the gate is every member's.
    /// `Nothing` when every member runs its image already.
    pub fn group_to_stage(
        &self,
        stage: &str,
        group: &str,
        members: &[Freight],
        requested_by: &str,
    ) -> Result<Proposal, PlanError> {
        let mut parts = vec![];
        let mut nothing = vec![];
        // A member that would go back a version stops the whole group: the group moves
        // as one or not at all.
        for m in members {
            let states = self.states(&m.service)?;
            let state = states.iter().find(|s| s.stage == stage);
            if let Some(state) = state
                && state.entry.as_ref().is_some_and(|e| !pins(e, m))
                && let Some(why) =
                    refused_downgrade(state, m, self.service(&m.service)?.allow_downgrade)
            {
                return Ok(Proposal::Nothing(format!("{}: {why}", m.service)));
            }
        }
        for m in members {
            let states = self.states(&m.service)?;
            match self.promotion(stage, m, &states, requested_by, false)? {
                Proposal::Promote(p) => parts.push(*p),
                Proposal::Nothing(why) => nothing.push(format!("{}: {why}", m.service)),
            }
        }
        let Some(first) = parts.first() else {
            return Ok(Proposal::Nothing(nothing.join("; ")));
        };
        let title = messages::group_pr_title(group, members, stage);
        let mut gate: Vec<GateLine> = vec![];
        for g in parts.iter().flat_map(|p| p.gate.iter()) {
            if !gate.iter().any(|x| x.line == g.line) {
                gate.push(g.clone());
            }
        }
        Ok(Proposal::Promote(Box::new(Promotion {
            stage: stage.into(),
            service: group.into(),
            branch: crate::marks::branch(stage, group),
            commit_message: messages::group_commit_message(&title, members, stage, requested_by),
            body: messages::group_pr_body(
                group,
                stage,
                &parts.iter().map(|p| p.body.as_str()).collect::<Vec<_>>(),
                &nothing,
            ),
            title,
            freight: first.freight.clone(),
            previous_tag: first.previous_tag.clone(),
            members: members.to_vec(),
            requested_by: requested_by.into(),
            files: parts.iter().flat_map(|p| p.files.clone()).collect(),
            gate,
        })))
    }

    /// `/rollback STAGE [to TAG]` for `service`, offline. With the store's ledger (what
    /// Hoist merged and Argo CD verified), chosen as the engine chooses; without it, `to`
    /// names the freight by the tag an overlay pins it under, and the stage's overlay
    /// says what it runs now.
    ///
    /// Kept whole: the two ways of knowing what to put back (the ledger, or a tag) each
    /// end in the same one freight and tag it replaces, planned once below.
    pub fn rollback(
        &self,
        stage: &str,
        service: &str,
        to: Option<&str>,
        requested_by: &str,
    ) -> Result<Plan, PlanError> {
        use crate::policy::rollback::{Choice, choose};
        let names = self.config.stage_names();
        if self.config.stage(stage).is_none() {
            return Ok(refused(messages::unknown_stage("/rollback", stage, &names)));
        }
        let states = self.states(service)?;
        let here = states
            .iter()
            .find(|s| s.stage == stage)
            .expect("every stage has a state");
        let (freight, from) = if self.ledger.is_empty() {
            let Some(tag) = to else {
                return Ok(refused(messages::plan_rollback_needs(stage)));
            };
            let freight = states
                .iter()
                .find(|s| s.entry.as_ref().and_then(|e| e.tag.as_deref()) == Some(tag))
                .map(|s| self.freight_of(service, s))
                .transpose()?
                .ok_or_else(|| PlanError(messages::plan_no_stage_runs(service, tag)))?;
            let from = self.freight_of(service, here)?.tag.to_string();
            // Never forward: what a rollback's hold keeps out must not come in by it.
            if crate::tags::compare(tag, &from).is_some_and(|o| o != std::cmp::Ordering::Less) {
                return Ok(refused(messages::rollback_not_older(
                    service, stage, tag, &from,
                )));
            }
            (freight, from)
        } else {
            let (current, target) = match choose(self.ledger, stage, to) {
                Choice::Back { current, target } => (current, target),
                Choice::NothingMerged => {
                    return Ok(refused(messages::nothing_to_roll_back(service, stage)));
                }
                Choice::NoTarget { verified } => {
                    return Ok(refused(messages::no_rollback_target(
                        service, stage, to, &verified,
                    )));
                }
            };
            (
                ledger_freight(self.config, service, target)?,
                current.tag.clone(),
            )
        };
        let mut plan = Plan::default();
        match self.rollback_to_stage(stage, &freight, requested_by, &from)? {
            Proposal::Promote(p) => plan.promotions.push(*p),
            Proposal::Nothing(reason) => plan.nothing_to_do.push(Skip {
                stages: vec![stage.into()],
                reason,
            }),
        }
        Ok(plan)
    }

    /// What each stage's overlay pins for `service`: (stage, tag), for `/status`.
    pub fn running(&self, service: &str) -> Result<Vec<(String, Option<String>)>, PlanError> {
        Ok(self
            .states(service)?
            .into_iter()
            .map(|s| (s.stage, s.entry.and_then(|e| e.tag)))
            .collect())
    }

    /// Every file the planner reads for `service`: each stage's targets.
    /// With `codeowners`, CODEOWNERS too (a codeowners-gated stage names its owners).
    pub fn paths(config: &Config, service: &str, codeowners: bool) -> Vec<String> {
        let mut paths: Vec<String> = match config.services.get(service) {
            Some(svc) => config
                .stage_names()
                .iter()
                .flat_map(|st| svc.paths_for(service, st))
                .collect(),
            None => vec![],
        };
        if codeowners {
            paths.extend(codeowners::LOCATIONS.iter().map(|s| (*s).to_owned()));
        }
        paths
    }

    /// The freight a stage's overlay pins, copied as it is (never re-resolved).
    fn freight_of(&self, service: &str, s: &StageState) -> Result<Freight, PlanError> {
        let e = s
            .entry
            .as_ref()
            .ok_or_else(|| PlanError(messages::plan_no_images_entry(&s.path, service)))?;
        let bad = |why: String| PlanError(format!("{}:{}: {why}", s.path, e.line));
        let disagreeing = s.disagreeing();
        if !disagreeing.is_empty() {
            return Err(bad(messages::plan_targets_disagree(
                &s.stage,
                e.tag.as_deref().unwrap_or("?"),
                &disagreeing,
            )));
        }
        let tag = e
            .tag
            .as_deref()
            .ok_or_else(|| bad(messages::PLAN_ENTRY_NO_NEW_TAG.into()))?;
        let digest = e
            .digest
            .as_deref()
            .ok_or_else(|| bad(messages::plan_tag_only(&s.stage, service, tag)))?;
        let image = e.image.as_deref().unwrap_or(&self.service(service)?.image);
        Ok(Freight {
            service: service.to_owned(),
            image: ImageName::parse(image).map_err(|x| bad(x.to_string()))?,
            tag: Tag::parse(tag).map_err(|x| bad(x.to_string()))?,
            digest: Digest::parse(digest).map_err(|x| bad(x.to_string()))?,
            source: None,
            pushed_at: None,
        })
    }

    /// The freight a stage's upstreams offer: the one they agree on (`all`), or the
    /// newest among them (`any`).
    fn upstream_freight(
        &self,
        service: &str,
        stage: &str,
        states: &[StageState],
    ) -> Result<Freight, PlanError> {
        let st = self.config.stage(stage).expect("caller checked the stage");
        if st.upstream.is_empty() {
            return Err(PlanError(messages::root_stage_refusal(stage)));
        }
        let any = st.availability == crate::config::Availability::Any;
        let mut offered = vec![];
        for u in &st.upstream {
            let state = states
                .iter()
                .find(|s| &s.stage == u)
                .expect("every stage has a state");
            match self.freight_of(service, state) {
                Ok(f) => offered.push((u.as_str(), f)),
                // With `any`, an upstream that has nothing yet does not matter.
                Err(_) if any && state.entry.is_none() => {}
                Err(e) => return Err(e),
            }
        }
        let Some((_, first)) = offered.first().cloned() else {
            return Err(PlanError(messages::plan_no_upstream_runs(stage, service)));
        };
        if offered.iter().all(|(_, f)| f.digest == first.digest) {
            return Ok(first);
        }
        if !any {
            let runs: Vec<(&str, &str)> =
                offered.iter().map(|(u, f)| (*u, f.tag.as_str())).collect();
            return Err(PlanError(messages::plan_upstreams_differ(stage, &runs)));
        }
        Ok(offered
            .into_iter()
            .map(|(_, f)| f)
            .max_by(|a, b| {
                tags::compare(a.tag.as_str(), b.tag.as_str()).unwrap_or(std::cmp::Ordering::Equal)
            })
            .expect("at least one upstream offers freight"))
    }

    /// The PR that moves `stage` to `freight`, or why there is none.
    ///
    /// Kept whole: the same-freight and downgrade stops, the overlay edit and the pull
    /// request's text all read one stage's state and images entry, in that order.
    fn promotion(
        &self,
        stage: &str,
        freight: &Freight,
        states: &[StageState],
        requested_by: &str,
        rollback: bool,
    ) -> Result<Proposal, PlanError> {
        let service = &freight.service;
        let svc = self.service(service)?;
        let state = states
            .iter()
            .find(|s| s.stage == stage)
            .expect("every stage has a state");
        if let Some(t) = state.targets.iter().find(|t| t.text.is_none()) {
            return Err(PlanError(messages::plan_overlay_missing(
                &t.target.path,
                service,
                stage,
            )));
        }
        let current = state.entry.as_ref();
        if let Some(e) = current {
            let same = pins(e, freight);
            // A target that lags behind the first is brought along, not reported as done.
            let everywhere =
                state.targets.iter().all(|t| t.pin.is_some()) && state.disagreeing().is_empty();
            if same && everywhere {
                let tag = e.tag.as_deref().unwrap_or(freight.tag.as_str());
                return Ok(Proposal::Nothing(messages::nothing_already_runs(
                    tag,
                    &freight.digest.short(),
                )));
            }
            // A rollback goes back on purpose.
            if !same
                && let Some(why) =
                    refused_downgrade(state, freight, svc.allow_downgrade || rollback)
            {
                return Ok(Proposal::Nothing(why));
            }
        }
        // Every target is edited before anything is proposed: one that cannot be edited
        // safely stops the whole promotion, so no stage is ever half-promoted.
        // Targets in one file are edited one after the other into one new content.
        let mut texts: Vec<(&str, &str, String)> = vec![];
        for t in &state.targets {
            let path = t.target.path.as_str();
            let original = t.text.as_deref().expect("checked above");
            let i = match texts.iter().position(|(p, _, _)| *p == path) {
                Some(i) => i,
                None => {
                    texts.push((path, original, original.to_owned()));
                    texts.len() - 1
                }
            };
            let edited = target::write(&t.target.kind, &texts[i].2, freight, t.pin.as_ref())
                .map_err(|e| PlanError(e.in_file(path)))?;
            texts[i].2 = edited.text;
        }
        let files: Vec<FileChange> = texts
            .into_iter()
            .filter(|(_, before, after)| before != after)
            .map(|(path, before, after)| FileChange {
                path: path.to_owned(),
                diff: diff::unified(path, before, &after),
                content: after,
            })
            .collect();
        if files.is_empty() {
            return Ok(Proposal::Nothing(messages::nothing_identical(&state.path)));
        }
        let title = messages::pr_title(service, freight.tag.as_str(), stage);
        let previous_tag = current.and_then(|e| e.tag.clone());
        let views: Vec<StageView> = states
            .iter()
            .map(|s| StageView {
                stage: &s.stage,
                tag: s.entry.as_ref().and_then(|e| e.tag.as_deref()),
                state: if s.stage == stage {
                    crate::status::State::Pending
                } else {
                    crate::status::state_of(
                        self.ledger,
                        &s.stage,
                        s.entry.as_ref().and_then(|e| e.digest.as_deref()),
                    )
                },
            })
            .collect();
        let st = self.config.stage(stage).expect("stage exists");
        let owners = if st.gate.codeowners {
            Some(self.codeowners()?)
        } else {
            None
        };
        let paths: Vec<String> = state
            .targets
            .iter()
            .map(|t| t.target.path.clone())
            .collect();
        let required = owners
            .as_ref()
            .map(|o| o.requirements(&paths))
            .unwrap_or_default();
        let gate_lines = self.gate(stage, freight, &required, owners.as_ref(), requested_by);
        let by_dir: Vec<(String, Vec<String>)> = required
            .iter()
            .map(|(p, o)| (crate::status::dir_of(p), o.clone()))
            .collect();
        let gate = messages::gate_line(
            stage,
            st,
            &messages::required_checks(self.config, service, stage),
            &by_dir,
            requested_by,
        );
        let body = messages::pr_body(&BodyArgs {
            config: self.config,
            freight,
            stage,
            previous_tag: previous_tag.as_deref(),
            pipeline: &views,
            gate,
            requested_by,
        });
        Ok(Proposal::Promote(Box::new(Promotion {
            stage: stage.into(),
            service: service.clone(),
            branch: crate::marks::branch(stage, service),
            commit_message: messages::commit_message(&title, freight, stage, requested_by),
            title,
            body,
            freight: freight.clone(),
            previous_tag,
            members: vec![],
            requested_by: requested_by.into(),
            files,
            gate: gate_lines,
        })))
    }

    /// The merge gate of the pull request that moves `stage` to `freight`, decided by
    /// `policy::gate::decide` as the engine decides it, before anything is met: the
    /// required checks and their posters come from the config, the code owners from
    /// `CODEOWNERS` in the checkout, and Argo CD is not asked (its conditions wait).
    ///
    /// Kept whole: it fills the one `Facts` value `decide` reads, field by field, as the
    /// engine's `gather` does.
    fn gate(
        &self,
        stage: &str,
        freight: &Freight,
        required: &[(String, Vec<String>)],
        owners: Option<&CodeOwners>,
        requested_by: &str,
    ) -> Vec<GateLine> {
        let service = &freight.service;
        let st = self.config.stage(stage).expect("stage exists");
        let checks = messages::required_checks_posted(self.config, service, stage)
            .into_iter()
            .map(|(name, poster)| (name, messages::poster(&poster), gate::CheckState::Waiting))
            .collect();
        let render = st
            .argocd_app
            .as_deref()
            .map(|t| (expand(t, service, stage), gate::Render::NotAsked))
            .into_iter()
            .collect();
        let upstreams = st
            .upstream
            .iter()
            .filter_map(|up| {
                let t = self.config.stage(up)?.argocd_app.as_deref()?;
                Some((
                    up.clone(),
                    expand(t, service, up),
                    gate::UpstreamState::NotAsked,
                    freight.digest.short(),
                ))
            })
            .collect();
        let problem = owners.and_then(|co| co.skipped.first().map(|(_, w)| w.clone()));
        let owners = required
            .iter()
            .map(|(path, who)| gate::Owners {
                path: path.clone(),
                owners: who.clone(),
                problem: problem.clone(),
                approver: None,
                excluded: st.gate.separate_approver.then(|| requested_by.to_owned()),
            })
            .collect();
        let facts = gate::Facts {
            head: "HEAD".into(),
            stage: stage.into(),
            checks,
            render,
            upstreams,
            owners,
            held_by: None,
            stage_held: None,
            frozen: None,
            soaking: vec![],
            outside_window: None,
            mergeable: None,
        };
        gate::decide(&facts)
            .lines
            .into_iter()
            .map(|(state, line)| GateLine { state, line })
            .collect()
    }

    fn codeowners(&self) -> Result<CodeOwners, PlanError> {
        for path in codeowners::LOCATIONS {
            if let Some(t) = self
                .repo
                .read(path)
                .map_err(|e| PlanError(messages::plan_cannot_read(path, &e.to_string())))?
            {
                return Ok(CodeOwners::parse(&t));
            }
        }
        Ok(CodeOwners::default())
    }
}

fn refused(reason: String) -> Plan {
    Plan {
        refused: Some(reason),
        ..Plan::default()
    }
}

/// Why moving `state`'s stage to `freight` is refused as a downgrade: some target pins a
/// newer version (a hand edit, say), and the service does not allow going back.
fn refused_downgrade(state: &StageState, freight: &Freight, allow: bool) -> Option<String> {
    let cur = state
        .targets
        .iter()
        .filter_map(|t| t.pin.as_ref()?.tag.as_deref())
        .filter(|t| Tag::parse(t).is_ok())
        .find(|cur| tags::is_refused_downgrade(freight.tag.as_str(), cur, allow))?;
    Some(messages::nothing_downgrade(cur, freight.tag.as_str()))
}

/// Whether `pin` is `freight`: freight is its digest, so the same image under another
/// tag is no news.
fn pins(pin: &Pin, freight: &Freight) -> bool {
    match pin.digest.as_deref() {
        Some(d) => d == freight.digest.as_str(),
        None => pin.tag.as_deref() == Some(freight.tag.as_str()),
    }
}

/// The freight of a ledger row (the store): its tag and digest, the service's image.
pub fn ledger_freight(
    config: &Config,
    service: &str,
    p: &crate::store::ledger::Promotion,
) -> Result<Freight, PlanError> {
    let svc = config.services.get(service).ok_or_else(|| {
        PlanError(messages::plan_no_service(
            service,
            &config.services.keys().collect::<Vec<_>>().join(", "),
        ))
    })?;
    let bad = |e: String| PlanError(format!("{service} {}: {e}", p.tag));
    Ok(Freight {
        service: service.to_owned(),
        image: crate::image::ImageName::parse(&svc.image).map_err(|e| bad(e.to_string()))?,
        tag: Tag::parse(&p.tag).map_err(|e| bad(e.to_string()))?,
        digest: crate::image::Digest::parse(&p.digest).map_err(|e| bad(e.to_string()))?,
        source: None,
        pushed_at: None,
    })
}
