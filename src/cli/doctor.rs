//! `hoist doctor`: is this setup right? One line per check, exit 0 only when every
//! required check passes.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::doctor::{self, Check, Report, Status};
use crate::forge::Forge;
use crate::messages::doctor as say;

/// Check a live setup: the environment and files the config names, the forge's
/// credentials and settings, each Argo CD application, each service's registry
/// repository, Hoist's IAM permissions, and with --repo the overlays Hoist will edit. Prints one line per check (✓, ! or ✗ with the
/// fix); exits 1 when a required check fails.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The config file.
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// A checkout of the GitOps repository, to check the overlays in.
    #[arg(long, value_name = "DIR")]
    repo: Option<PathBuf>,
    /// Print the checks as JSON.
    #[arg(long)]
    json: bool,
}

pub fn doctor(args: DoctorArgs) -> Result<()> {
    let config = crate::config::Config::load(&args.config).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut report = Report::default();
    report
        .checks
        .extend(doctor::environment(&config, |v| std::env::var(v).ok()));
    report.checks.extend(doctor::files(&config));
    report
        .checks
        .extend(doctor::github::required_checks(&config));
    if let Some(repo) = &args.repo {
        let repo = crate::repo::DirRepo::new(repo);
        report.checks.extend(doctor::overlays(&config, &repo));
    }
    let local_ok = report.passed();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let remote = if local_ok {
        rt.block_on(remote(config))
    } else {
        vec![Check {
            status: Status::Warn,
            what: say::not_checked(say::REMOTE, say::FIX_ABOVE_FIRST),
            fix: None,
        }]
    };
    report.checks.extend(remote);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("a report serializes")
        );
    } else {
        print!("{}", report.render());
    }
    if report.passed() {
        Ok(())
    } else {
        std::process::exit(1)
    }
}

/// The checks that call out: the forge first, then what its engine reaches.
/// The forge's settings: on GitHub the App's installation and the base branch's
/// protection; on either forge CODEOWNERS at the base head.
async fn settings(config: &crate::config::Config, engine: &crate::app::RealEngine) -> Vec<Check> {
    let forge = &engine.forge;
    let mut out = vec![];
    if let crate::forge::any::AnyForge::GitHub(g) = forge {
        match g.posture().await {
            Ok(p) => {
                out.extend(doctor::github::installation(&p));
                out.extend(doctor::github::protection(config, forge.base(), &p));
            }
            // What else doctor would read there fails the same way: said once.
            Err(e) => {
                out.push(Check::fail(
                    say::forge_unreachable(&e.to_string()),
                    say::FORGE_FIX.to_owned(),
                ));
                return out;
            }
        }
    }
    if let crate::forge::any::AnyForge::CodeCommit(c) = forge {
        let list = c.approval_templates().await.map_err(|e| e.to_string());
        out.push(doctor::approval_templates(list));
    }
    // CODEOWNERS, and the gated stages' overlays for what they render.
    let mut paths: Vec<String> = crate::policy::codeowners::LOCATIONS
        .iter()
        .map(|l| (*l).to_owned())
        .collect();
    for (stage, st) in config.stages.iter() {
        if st.gate.codeowners {
            paths.extend(config.stage_paths(stage));
        }
    }
    let read = async {
        let head = forge.base_head().await?;
        engine.read_at(paths, &head).await
    };
    match read.await {
        Ok(repo) => out.extend(doctor::codeowners(config, &repo)),
        Err(e) => out.push(Check::fail(
            say::forge_unreachable(&e.to_string()),
            forge_fix(config),
        )),
    }
    out
}

/// What to check when the forge cannot be used, in its own terms.
fn forge_fix(config: &crate::config::Config) -> String {
    match config.forge {
        crate::config::Forge::Github(_) => say::FORGE_FIX,
        crate::config::Forge::Codecommit(_) => say::CODECOMMIT_FIX,
    }
    .to_owned()
}

async fn remote(config: crate::config::Config) -> Vec<Check> {
    let mut out = vec![];
    let scratch = super::scratch::Scratch::new("doctor");
    let engine = match scratch {
        Ok(s) => s.connect(config.clone()).await.map(|e| (e, s)),
        Err(e) => Err(e.into()),
    };
    let ((engine, aws), _scratch) = match engine {
        Ok(e) => e,
        Err(e) => {
            out.push(Check::fail(
                say::forge_unreachable(&format!("{e:#}")),
                forge_fix(&config),
            ));
            return out;
        }
    };
    out.push(Check::pass(say::forge_ok(&engine.forge.me().login)));
    out.extend(settings(&config, &engine).await);
    out.extend(doctor::applications(&config, &engine.argocd).await);
    out.extend(doctor::registry(&config, &engine.registry).await);
    out.extend(permissions(&config, &engine, &aws).await);
    out
}

/// Whether Hoist's AWS identity may make each call Hoist makes on the CodeCommit
/// repository and the services' ECR repositories, asked of IAM's policy simulator. On
/// CodeCommit the identity is the forge's (STS, learned on connecting).
async fn permissions(
    config: &crate::config::Config,
    engine: &crate::app::RealEngine,
    aws: &aws_config::SdkConfig,
) -> Vec<Check> {
    // In the partition Hoist works in (an aws-cn or GovCloud region has its own STS and
    // IAM): the repository's region, else the first ECR image's. On GitHub without an ECR
    // image, Hoist calls nothing on AWS.
    let region = match &config.forge {
        crate::config::Forge::Codecommit(cc) => cc.region.clone(),
        crate::config::Forge::Github(_) => {
            let first = config.services.iter().find_map(|(_, s)| {
                crate::registry::ecr::parts(&s.image).map(|(_, region, _)| region.to_owned())
            });
            let Some(region) = first else {
                return vec![];
            };
            region
        }
    };
    let aws = &aws
        .to_builder()
        .region(aws_config::Region::new(region))
        .build();
    let caller = match &engine.forge {
        crate::forge::any::AnyForge::CodeCommit(_) => engine.forge.me().login.clone(),
        _ => {
            let sts = aws_sdk_sts::Client::new(aws);
            match sts.get_caller_identity().send().await {
                Ok(who) => who.arn().unwrap_or_default().to_owned(),
                Err(e) => {
                    return vec![Check::warn(
                        say::aws_identity_unknown(&crate::aws::said(e)),
                        say::AWS_IDENTITY_FIX.to_owned(),
                    )];
                }
            }
        }
    };
    let asks = doctor::iam::asks(config, &caller);
    let iam = aws_sdk_iam::Client::new(aws);
    doctor::iam::simulate(&iam, &caller, &asks).await
}
