//! `hoist plan`: what Hoist would do, from a local checkout, without touching anything.

use std::fmt::Write;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;

use crate::config::Config;
use crate::event::{Event, eventbridge};
use crate::plan::{Plan, Planner};
use crate::repo::DirRepo;

/// Show the promotions an ECR push event, or a /promote command, would cause: the
/// branch, pull request title and body, commit message and the diff of each file.
///
/// Offline, a stage "has" freight when its overlay in DIR pins it. Exit 0 when the
/// plan is printed (including "nothing to do"), 1 when the promotion is refused or
/// the input is bad.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("what").required(true).args(["event", "promote", "rollback"]))]
pub struct PlanArgs {
    /// The config file.
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// A checkout of the GitOps repository.
    #[arg(long, value_name = "DIR")]
    repo: PathBuf,
    /// EventBridge events as EventBridge delivers them (JSON), planned in turn: an
    /// `ECR Image Action` push plans promotions; anything else plans nothing, saying why.
    #[arg(long, value_name = "FILE", num_args = 1..)]
    event: Vec<PathBuf>,
    /// Plan `/promote STAGE` instead of a push.
    #[arg(long, value_name = "STAGE", requires = "service")]
    promote: Option<String>,
    /// Plan `/rollback STAGE` instead of a push.
    #[arg(
        long,
        value_name = "STAGE",
        requires = "service",
        conflicts_with = "promote"
    )]
    rollback: Option<String>,
    /// The service to promote or roll back, with --promote or --rollback.
    #[arg(long, value_name = "SERVICE")]
    service: Option<String>,
    /// With --promote: the freight to promote, by the tag it runs under somewhere
    /// (as /promote on that freight's pull request). Default: what the upstreams run.
    /// With --rollback: the tag to go back to (`/rollback STAGE to TAG`).
    #[arg(long, value_name = "TAG")]
    tag: Option<String>,
    /// With --rollback: Hoist's store, whose ledger says what the stage ran before.
    /// Without it, --tag names the freight, by the tag an overlay pins it under.
    #[arg(long, value_name = "PATH", requires = "rollback")]
    db: Option<PathBuf>,
    /// Who asks, for the commit trailer and the PR body.
    #[arg(long, value_name = "NAME")]
    requested_by: Option<String>,
    /// Print the plan as JSON.
    #[arg(long)]
    json: bool,
    /// Exit 2 when a planned pull request's gate can never pass (no code owner listed
    /// for its overlay, say); without it, that is a warning.
    #[arg(long)]
    strict: bool,
}

/// `service`'s ledger in the store at `db`, which must exist (it is never created here).
fn read_ledger(
    db: &std::path::Path,
    service: &str,
) -> Result<Vec<crate::store::ledger::Promotion>> {
    if !db.is_file() {
        bail!(crate::messages::plan_no_store(db));
    }
    let store =
        crate::store::Store::open(db).map_err(|e| anyhow::anyhow!("{}: {e}", db.display()))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    Ok(rt.block_on(store.ledger_for(service))?)
}

/// Events larger than this are not ECR events.
const MAX_EVENT_BYTES: u64 = 256 * 1024;

/// Runs `hoist plan`: the plan for an event file or a `--promote`, printed, exiting 1 on a
/// refusal.
///
/// Kept whole: one if/else builds the plan from an event file or from `--promote`; both
/// then share the printing and the refusal's exit code.
pub fn plan(args: PlanArgs) -> Result<()> {
    if args.tag.is_some() && args.promote.is_none() && args.rollback.is_none() {
        bail!(crate::messages::plan_tag_alone());
    }
    let config = Config::load(&args.config).map_err(|e| anyhow::anyhow!("{e}"))?;
    // Paths in the plan's errors are the checkout's: say which checkout, as resolved.
    let resolved = std::fs::canonicalize(&args.repo)
        .map_err(|e| anyhow::anyhow!(crate::messages::repo_unusable(&args.repo, &e.to_string())))?;
    if !resolved.is_dir() {
        bail!(crate::messages::repo_unusable(
            &args.repo,
            "not a directory"
        ));
    }
    let in_repo = |e: crate::plan::PlanError| {
        anyhow::anyhow!(crate::messages::in_checkout(&e.to_string(), &resolved))
    };
    let repo = DirRepo::new(&args.repo);
    let planner = Planner {
        config: &config,
        repo: &repo,
        ledger: &[],
    };
    let mut headings: Vec<String> = args
        .event
        .iter()
        .map(|p| crate::messages::plan_event_heading(p))
        .collect();
    let plans = if !args.event.is_empty() {
        let mut plans = args
            .event
            .iter()
            .map(|path| {
                plan_event(&config, &planner, path, args.requested_by.as_deref())
                    .and_then(|r| r.map_err(in_repo))
            })
            .collect::<Result<Vec<Plan>>>()?;
        for (heading, plan) in groups(&config, &planner, &args.event, args.requested_by.as_deref())?
        {
            headings.push(heading);
            plans.push(plan.map_err(in_repo)?);
        }
        plans
    } else if let Some(stage) = args.rollback.as_deref() {
        let service = args
            .service
            .as_deref()
            .expect("clap requires --service with --rollback");
        let ledger = match &args.db {
            Some(db) => read_ledger(db, service)?,
            None => vec![],
        };
        let planner = Planner {
            ledger: &ledger,
            ..planner
        };
        vec![
            planner
                .rollback(
                    stage,
                    service,
                    args.tag.as_deref(),
                    args.requested_by.as_deref().unwrap_or("cli"),
                )
                .map_err(in_repo)?,
        ]
    } else {
        let stage = args
            .promote
            .as_deref()
            .expect("clap requires --event, --promote or --rollback");
        let service = args
            .service
            .as_deref()
            .expect("clap requires --service with --promote");
        vec![
            planner
                .promote(
                    stage,
                    service,
                    args.tag.as_deref(),
                    args.requested_by.as_deref().unwrap_or("cli"),
                )
                .map_err(in_repo)?,
        ]
    };
    if args.json {
        // One plan as an object; several (one per event) as a list of them.
        let json = match plans.as_slice() {
            [one] => serde_json::to_string_pretty(one),
            all => serde_json::to_string_pretty(all),
        };
        println!("{}", json.expect("a plan serializes"));
    } else {
        for (i, plan) in plans.iter().enumerate() {
            if plans.len() > 1 {
                println!("{}", headings[i]);
            }
            print!("{}", render(plan));
        }
    }
    let plan = Plan {
        refused: plans.iter().find_map(|p| p.refused.clone()),
        promotions: plans.into_iter().flat_map(|p| p.promotions).collect(),
        nothing_to_do: vec![],
    };
    if plan.refused.is_some() {
        std::process::exit(1);
    }
    // A gate that no one can pass: said on stderr, and an error under --strict.
    let stuck: Vec<String> = plan
        .promotions
        .iter()
        .flat_map(|p| {
            p.gate
                .iter()
                .filter(|g| g.state == crate::policy::gate::State::Blocked)
                .map(|g| crate::messages::plan_gate_never_passes(&p.stage, &p.service, &g.line))
        })
        .collect();
    for w in &stuck {
        eprintln!("{w}");
    }
    if args.strict && !stuck.is_empty() {
        std::process::exit(2);
    }
    Ok(())
}

/// The plan for one event file; the outer error is a bad file, the inner one a
/// repository that does not fit the config.
fn plan_event(
    config: &Config,
    planner: &Planner,
    path: &std::path::Path,
    requested_by: Option<&str>,
) -> Result<std::result::Result<Plan, crate::plan::PlanError>> {
    let shown = path.display();
    let len = std::fs::metadata(path)
        .with_context(|| format!("cannot read {shown}"))?
        .len();
    if len > MAX_EVENT_BYTES {
        bail!("{shown}: {len} bytes is too large for an ECR event");
    }
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {shown}"))?;
    let (_, event) = eventbridge::decode(&bytes)
        .map_err(|e| anyhow::anyhow!("{shown}: not an EventBridge event: {e}"))?;
    let nothing = |reason: String| {
        Ok(Plan {
            nothing_to_do: vec![crate::plan::Skip {
                stages: vec![],
                reason,
            }],
            ..Plan::default()
        })
    };
    Ok(match event {
        Event::ImagePushed {
            image,
            tag,
            digest,
            time,
        } => match crate::freight::for_push(config, &image, &tag, &digest, &time) {
            Ok(f) => match config.group_of(&f.service) {
                Some((group, _)) => nothing(crate::messages::plan_group_member(
                    &f.service,
                    f.tag.as_str(),
                    group,
                )),
                None => planner.push(&f, requested_by.unwrap_or("ecr-push")),
            },
            // A malformed reference is a broken event, not a push to skip.
            Err(why @ crate::freight::NoFreight::BadReference(_)) => {
                bail!("{shown}: {why}")
            }
            Err(why) => nothing(why.to_string()),
        },
        Event::Ignored { reason } => nothing(reason),
        other => nothing(format!("a {} event is not an image push", other.kind())),
    })
}

/// The groups the events' pushes belong to, each with its plan: the group's pull
/// requests once every member has an image under one key, else what it waits for. Offline
/// there are no image labels, so members are matched by tag (as `source: tag` does).
///
/// Kept whole: one pass gathers the events' members by group and tag, the next plans
/// each group from what the first gathered.
fn groups(
    config: &Config,
    planner: &Planner,
    events: &[PathBuf],
    requested_by: Option<&str>,
) -> Result<Vec<(String, std::result::Result<Plan, crate::plan::PlanError>)>> {
    let mut arrived: Vec<(String, String, crate::freight::Freight)> = vec![];
    for path in events {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let Ok((
            _,
            Event::ImagePushed {
                image,
                tag,
                digest,
                time,
            },
        )) = eventbridge::decode(&bytes)
        else {
            continue;
        };
        let Ok(f) = crate::freight::for_push(config, &image, &tag, &digest, &time) else {
            continue;
        };
        if let Some((group, _)) = config.group_of(&f.service) {
            arrived.retain(|(g, k, m)| !(g == group && *k == tag && m.service == f.service));
            arrived.push((group.to_owned(), tag, f));
        }
    }
    // Each group and key once, in the order first seen.
    let mut keys: Vec<(String, String)> = vec![];
    for (g, k, _) in &arrived {
        if !keys.iter().any(|(kg, kk)| kg == g && kk == k) {
            keys.push((g.clone(), k.clone()));
        }
    }
    let mut out = vec![];
    for (group, key) in keys {
        let g = config.groups.get(&group).expect("a configured group");
        let members: Vec<crate::freight::Freight> = g
            .services
            .iter()
            .filter_map(|s| {
                arrived
                    .iter()
                    .find(|(gg, k, f)| *gg == group && *k == key && &f.service == s)
                    .map(|(_, _, f)| f.clone())
            })
            .collect();
        let missing: Vec<&str> = g
            .services
            .iter()
            .filter(|s| !members.iter().any(|m| &&m.service == s))
            .map(String::as_str)
            .collect();
        let plan = if missing.is_empty() {
            planner.push_group(&group, &members, requested_by.unwrap_or("ecr-push"))
        } else {
            Ok(Plan {
                nothing_to_do: vec![crate::plan::Skip {
                    stages: vec![],
                    reason: crate::messages::plan_group_waiting(&group, &missing, &key),
                }],
                ..Plan::default()
            })
        };
        out.push((crate::messages::plan_group_heading(&group, &key), plan));
    }
    Ok(out)
}

/// The plan as a reviewer reads it; each diff is plain, ready for `patch`.
pub fn render(plan: &Plan) -> String {
    let mut s = String::new();
    if let Some(r) = &plan.refused {
        let _ = writeln!(s, "{}", crate::messages::for_terminal(r));
    }
    for p in &plan.promotions {
        let from = p.previous_tag.as_deref().unwrap_or("(none)");
        let _ = writeln!(
            s,
            "{}  {}  {from} -> {}  branch {}",
            p.stage, p.service, p.freight.tag, p.branch
        );
        let _ = writeln!(s, "{}\n", p.title);
        let _ = writeln!(s, "Commit message:\n{}", indent(&p.commit_message));
        let _ = writeln!(s, "Pull request body:\n{}", indent(&p.body));
        let _ = writeln!(s, "{}", crate::messages::plan_gate_heading());
        for g in &p.gate {
            let _ = writeln!(s, "    {} {}", crate::messages::gate_mark(g.state), g.line);
        }
        s.push('\n');
        for f in &p.files {
            s.push_str(&f.diff);
        }
    }
    for skip in &plan.nothing_to_do {
        let _ = writeln!(
            s,
            "{}",
            crate::messages::nothing_to_do(&skip.stages, &skip.reason)
        );
    }
    s
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| {
            if l.is_empty() {
                String::new()
            } else {
                format!("    {l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}
