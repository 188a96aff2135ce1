//! The merge gate of one promotion pull request, as a plain decision: the engine gathers
//! the facts below from trusted sources only, `decide` says whether the pull request may
//! merge and what the `hoist/argocd` check shows, and the engine acts on it.
//!
//! Where each fact comes from:
//! - the head, the requester, the freight: Hoist's store, for a head it wrote;
//! - required checks: check runs by the App, statuses by the user, the config names
//!   (the forge), judged by `policy::checks::judge`;
//! - the stage's rendering and the upstreams' state: Argo CD;
//! - the code owners: `CODEOWNERS` on the base branch (the forge), with approvals judged
//!   by numeric id on the head's `commit_id` (the forge) against the requester's id (the
//!   store);
//! - holds, freezes and the overrides that let one head through a freeze: Hoist's store;
//! - mergeability: the forge.

use crate::messages;

/// How far one condition is from letting the merge go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Ready,
    Waiting,
    Blocked,
}

/// A required check's state on the head, from the check runs and statuses of the poster
/// the config names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckState {
    Passed,
    Failed { url: Option<String> },
    Waiting,
}

/// What Argo CD says of one upstream stage's application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpstreamState {
    /// It runs the freight (exactly its digest), Healthy.
    RunsHealthy,
    /// It runs something else, or is not Healthy; `health` as Argo CD says it.
    Not {
        health: String,
    },
    Unknown,
    Unreachable(String),
    /// Not asked: `hoist plan` works offline.
    NotAsked,
}

/// Whether Argo CD renders the stage's application at the head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Render {
    Manifests(usize),
    Failed(String),
    /// Not asked: `hoist plan` works offline.
    NotAsked,
}

/// The code-owner gate of a stage that has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owners {
    /// A file the promotion changes whose owners must approve (the first of those with
    /// these owners).
    pub path: String,
    /// Its owners by `CODEOWNERS` on the base; empty when none (or `CODEOWNERS` could not
    /// be read: `problem` says why).
    pub owners: Vec<String>,
    pub problem: Option<String>,
    /// A code owner who approved the head and is neither a bot, Hoist, nor (when the
    /// stage separates duties) the requester.
    pub approver: Option<String>,
    /// The requester, when their approval does not count.
    pub excluded: Option<String>,
}

/// Everything the gate decides on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub head: String,
    pub stage: String,
    /// Each required check, by name, with who may post it (as the check shows it).
    pub checks: Vec<(String, String, CheckState)>,
    /// The stage's application and whether Argo CD renders it at the head (how many
    /// manifests), when the stage has one.
    pub render: Vec<(String, Render)>,
    /// Each upstream stage with an application, for each freight (a group's members):
    /// the stage's name, the application, its state, and the freight's digest, shortened,
    /// as the line shows it.
    pub upstreams: Vec<(String, String, UpstreamState, String)>,
    /// Upstreams where the freight has not soaked long enough yet (the store's ledger
    /// says when it was verified there; the config, how long it must soak): the
    /// upstream, the time left (`None`: not verified there yet) and the soak, in
    /// milliseconds.
    pub soaking: Vec<(String, Option<i64>, i64)>,
    /// Outside every deploy window of the stage (the config's, by the store's clock):
    /// the windows as written, and when the next opens.
    pub outside_window: Option<(String, Option<i64>)>,
    /// One requirement per distinct owner list among the files the promotion changes
    /// (files with the same owners need one approval); empty without a code-owner gate.
    pub owners: Vec<Owners>,
    pub held_by: Option<String>,
    /// Who rolled the stage back (for this service), holding forward promotions into it
    /// until `/unhold STAGE` (the store).
    pub stage_held: Option<String>,
    /// The stage is frozen (the store): who froze it, why, and who let this head
    /// through with `/override freeze`, if anyone.
    pub frozen: Option<(String, String, Option<String>)>,
    /// `None` while the forge computes it.
    pub mergeable: Option<bool>,
}

/// Something to say on the pull request, once per head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    CheckFailed {
        name: String,
        url: Option<String>,
    },
    /// Everything but a code owner's approval is there: who is awaited.
    WaitingForOwner {
        dir: String,
        owners: Vec<String>,
        excluded: Option<String>,
    },
}

/// The gate's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// One line per condition, as `hoist/argocd` shows them.
    pub lines: Vec<(State, String)>,
    pub notices: Vec<Notice>,
    /// Every condition is met and the forge can merge it.
    pub merge: bool,
}

impl Decision {
    pub fn state(&self) -> State {
        self.lines
            .iter()
            .map(|(s, _)| *s)
            .max()
            .unwrap_or(State::Ready)
    }
}

/// Decides what the merge gate says of a pull request from its facts: mergeable, waiting or
/// blocked, with one line per fact.
///
/// Kept whole: one pass over the facts in the order their lines appear; the owner notice
/// depends on every line before it.
pub fn decide(f: &Facts) -> Decision {
    let short = crate::image::short_sha(&f.head);
    let mut lines = vec![];
    let mut notices = vec![];
    for (name, from, state) in &f.checks {
        match state {
            CheckState::Passed => {
                lines.push((State::Ready, messages::gate_check_passed(name, short)))
            }
            CheckState::Failed { url } => {
                lines.push((State::Blocked, messages::gate_check_failed(name, short)));
                notices.push(Notice::CheckFailed {
                    name: name.clone(),
                    url: url.clone(),
                });
            }
            CheckState::Waiting => lines.push((
                State::Waiting,
                messages::gate_check_waiting(name, short, from),
            )),
        }
    }
    for (app, render) in &f.render {
        lines.push(match render {
            Render::Manifests(n) => (State::Ready, messages::gate_renders(app, short, *n)),
            Render::Failed(why) => (
                State::Blocked,
                messages::gate_cannot_render(app, short, why),
            ),
            Render::NotAsked => (State::Waiting, messages::gate_to_render(app, short)),
        });
    }
    if let Some((windows, next)) = &f.outside_window {
        lines.push((
            State::Waiting,
            messages::gate_outside_window(windows, *next),
        ));
    }
    for (up, left, soak) in &f.soaking {
        lines.push((State::Waiting, messages::gate_soaking(up, *left, *soak)));
    }
    for (up, app, state, d) in &f.upstreams {
        lines.push(match state {
            UpstreamState::RunsHealthy => (State::Ready, messages::gate_upstream_runs(up, d)),
            UpstreamState::Not { health } => (
                State::Waiting,
                messages::gate_upstream_waiting(up, app, d, health),
            ),
            UpstreamState::Unknown => (State::Waiting, messages::gate_argocd_unknown(app)),
            UpstreamState::Unreachable(why) => {
                (State::Waiting, messages::gate_argocd_unreachable(why))
            }
            UpstreamState::NotAsked => (State::Waiting, messages::gate_upstream_to_run(up, app, d)),
        });
    }
    for o in &f.owners {
        if o.owners.is_empty() {
            // Nobody's approval could count: say why instead of waiting for no one.
            lines.push((
                State::Blocked,
                messages::gate_no_owner(&o.path, o.problem.as_deref()),
            ));
        }
        match &o.approver {
            Some(a) => lines.push((State::Ready, messages::gate_approved(a, short))),
            // Said above: no one to wait for.
            None if o.owners.is_empty() => {}
            None => {
                let others_ready = lines.iter().all(|(s, _)| *s == State::Ready);
                lines.push((
                    State::Waiting,
                    messages::gate_awaiting_owner(&o.owners, o.excluded.as_deref()),
                ));
                if others_ready {
                    let dir = crate::status::dir_of(&o.path);
                    notices.push(Notice::WaitingForOwner {
                        dir,
                        owners: o.owners.clone(),
                        excluded: o.excluded.clone(),
                    });
                }
            }
        }
    }
    if let Some(by) = &f.held_by {
        lines.push((State::Waiting, messages::gate_held(by)));
    }
    if let Some(by) = &f.stage_held {
        lines.push((State::Waiting, messages::gate_stage_held(&f.stage, by)));
    }
    match &f.frozen {
        Some((_, _, Some(through))) => lines.push((
            State::Ready,
            messages::gate_frozen_through(&f.stage, through),
        )),
        Some((by, reason, None)) => {
            lines.push((State::Waiting, messages::gate_frozen(&f.stage, by, reason)))
        }
        None => {}
    }
    let mut d = Decision {
        lines,
        notices,
        merge: false,
    };
    d.merge = d.state() == State::Ready && f.mergeable != Some(false);
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready() -> Facts {
        Facts {
            head: "7e1d2c4aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".into(),
            stage: "prod".into(),
            checks: vec![(
                "argocd/svc-prod".into(),
                "the GitHub App ci".into(),
                CheckState::Passed,
            )],
            render: vec![("svc-prod".into(), Render::Manifests(2))],
            upstreams: vec![(
                "uat".into(),
                "svc-uat".into(),
                UpstreamState::RunsHealthy,
                "sha256:a1a1a1…a1a1".into(),
            )],
            owners: vec![Owners {
                path: "apps/svc/env/prod/kustomization.yaml".into(),
                owners: vec!["@acme/sre".into()],
                problem: None,
                approver: Some("sam".into()),
                excluded: Some("quinn".into()),
            }],
            held_by: None,
            stage_held: None,
            frozen: None,
            soaking: vec![],
            outside_window: None,
            mergeable: Some(true),
        }
    }

    fn text(d: &Decision) -> String {
        d.lines
            .iter()
            .map(|(s, l)| format!("{s:?}: {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn everything_met_merges() {
        let d = decide(&ready());
        assert!(d.merge);
        insta::assert_snapshot!(text(&d), @r"
        Ready: argocd/svc-prod succeeded on 7e1d2c4
        Ready: Argo CD renders svc-prod at 7e1d2c4 (2 manifests)
        Ready: upstream uat runs sha256:a1a1a1…a1a1 and is Healthy
        Ready: approved by @sam on 7e1d2c4
        ");
        assert!(d.notices.is_empty());
    }

    /// Kept whole: one table of single-fact changes to a ready gate, each with its expected
    /// state, checked in one loop.
    #[test]
    fn each_missing_fact_stops_the_merge() {
        type Change = fn(&mut Facts);
        let table: [(&str, Change, State); 10] = [
            (
                "check pending",
                |f| f.checks[0].2 = CheckState::Waiting,
                State::Waiting,
            ),
            (
                "check failed",
                |f| f.checks[0].2 = CheckState::Failed { url: None },
                State::Blocked,
            ),
            (
                "no rendering",
                |f| f.render = vec![("svc-prod".into(), Render::Failed("ComparisonError".into()))],
                State::Blocked,
            ),
            (
                "upstream unhealthy",
                |f| {
                    f.upstreams[0].2 = UpstreamState::Not {
                        health: "Degraded".into(),
                    }
                },
                State::Waiting,
            ),
            (
                "upstream unknown",
                |f| f.upstreams[0].2 = UpstreamState::Unknown,
                State::Waiting,
            ),
            (
                "Argo CD down",
                |f| f.upstreams[0].2 = UpstreamState::Unreachable("timeout".into()),
                State::Waiting,
            ),
            (
                "no approval",
                |f| f.owners[0].approver = None,
                State::Waiting,
            ),
            (
                "no owner at all",
                |f| {
                    let o = &mut f.owners[0];
                    o.owners.clear();
                    o.approver = None;
                },
                State::Blocked,
            ),
            (
                "another target's owners have not approved",
                |f| {
                    f.owners.push(Owners {
                        path: "charts/svc/env/prod/values.yaml".into(),
                        owners: vec!["@acme/platform".into()],
                        problem: None,
                        approver: None,
                        excluded: None,
                    })
                },
                State::Waiting,
            ),
            ("held", |f| f.held_by = Some("sam".into()), State::Waiting),
        ];
        for (name, change, state) in table {
            let mut f = ready();
            change(&mut f);
            let d = decide(&f);
            assert_eq!((d.merge, d.state()), (false, state), "{name}: {}", text(&d));
        }
        let mut f = ready();
        f.mergeable = Some(false);
        assert!(!decide(&f).merge, "the forge cannot merge it");
        f.mergeable = None;
        assert!(
            decide(&f).merge,
            "mergeability still being computed does not block"
        );
    }

    #[test]
    fn the_owner_is_asked_for_only_when_nothing_else_is_missing() {
        let mut f = ready();
        f.owners[0].approver = None;
        assert_eq!(
            decide(&f).notices,
            [Notice::WaitingForOwner {
                dir: "apps/svc/env/prod/".into(),
                owners: vec!["@acme/sre".into()],
                excluded: Some("quinn".into()),
            }]
        );
        f.checks[0].2 = CheckState::Waiting;
        assert!(decide(&f).notices.is_empty());
        f.checks[0].2 = CheckState::Failed {
            url: Some("https://ci/1".into()),
        };
        assert_eq!(
            decide(&f).notices,
            [Notice::CheckFailed {
                name: "argocd/svc-prod".into(),
                url: Some("https://ci/1".into())
            }]
        );
    }
}
