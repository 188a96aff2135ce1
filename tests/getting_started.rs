//! docs/getting-started.md, walked against the project's fakes: the GitHub fake set up
//! as the page says (the App registered from Hoist's manifest, the page's CODEOWNERS, the
//! ruleset its `jq` edit makes, run as written, the Argo CD applications, images in ECR),
//! then `hoist check-config` and `hoist doctor` all green, then `hoist serve` takes a push
//! to a merged and verified dev pull request. The page's RBAC lines, `docker run` and
//! config without required checks are checked against the example they are for.

mod support;

use std::process::Command;

use support::tester::*;

const DOC: &str = include_str!("../docs/getting-started.md");

/// The indented blocks of the page's section `## N. …`, each without its indent.
fn blocks(section: &str) -> Vec<String> {
    let start = DOC
        .find(&format!("\n## {section}"))
        .unwrap_or_else(|| panic!("docs/getting-started.md has no section {section}"));
    let body = &DOC[start + 1..];
    let body = &body[..body[3..].find("\n## ").map_or(body.len(), |i| i + 3)];
    let mut out: Vec<String> = vec![];
    let mut current: Option<String> = None;
    for line in body.lines() {
        if let Some(code) = line.strip_prefix("    ") {
            let block = current.get_or_insert_with(String::new);
            block.push_str(code);
            block.push('\n');
        } else if let Some(block) = current.as_mut().filter(|_| line.trim().is_empty()) {
            block.push('\n');
        } else {
            out.extend(current.take().map(|b| b.trim_end().to_owned() + "\n"));
        }
    }
    out.extend(current.map(|b| b.trim_end().to_owned() + "\n"));
    out
}

/// Whether `name` matches an Argo CD RBAC object pattern (`*` for any run of characters).
fn glob(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, tail)) => {
            name.starts_with(head)
                && (0..=name.len() - head.len()).any(|i| glob(tail, &name[head.len() + i..]))
        }
    }
}

/// Step 5's RBAC lines let Hoist's account get every application the example config
/// names, and step 8's `docker run` mounts the config and key where the image and the
/// config look for them and passes each variable `hoist doctor` asks for.
#[test]
fn the_pages_rbac_and_docker_run_fit_the_example() {
    let config =
        hoist::config::Config::load(std::path::Path::new("config/hoist.example.yaml")).unwrap();
    let rbac = blocks("5.").join("");
    let patterns: Vec<&str> = rbac
        .split("\\n")
        .filter_map(|l| {
            const GET: &str = "p, role:hoist, applications, get, ";
            l.find(GET).map(|i| &l[i + GET.len()..])
        })
        .filter_map(|l| l.strip_suffix(", allow"))
        .collect();
    assert!(rbac.contains("g, hoist, role:hoist"), "{rbac}");
    for (service, _) in config.services.iter() {
        for (stage, st) in config.stages.iter() {
            let Some(app) = &st.argocd_app else { continue };
            let app = hoist::config::expand(app, service, stage);
            assert!(
                patterns.iter().any(|p| glob(p, &format!("default/{app}"))),
                "step 5 gives Hoist no `get` on {app}: {patterns:?}"
            );
        }
    }

    let run = blocks("8.")
        .into_iter()
        .find(|b| b.contains("docker run"))
        .expect("step 8 has a docker run");
    let mounts: Vec<(String, String)> = run
        .split("-v ")
        .skip(1)
        .map(|m| {
            let m = m.split_whitespace().next().unwrap().trim_matches('"');
            let parts: Vec<&str> = m.split(':').collect();
            (parts[0].to_owned(), parts[1].to_owned())
        })
        .collect();
    let mounted = |from: &str| {
        mounts
            .iter()
            .find(|(f, _)| f.ends_with(from))
            .map(|(_, to)| to.clone())
            .unwrap_or_else(|| panic!("docker run does not mount {from}: {mounts:?}"))
    };
    let dockerfile = std::fs::read_to_string("Dockerfile").unwrap();
    let cmd = dockerfile.lines().find(|l| l.starts_with("CMD")).unwrap();
    assert!(
        cmd.contains(&format!("\"{}\"", mounted("hoist.yaml"))),
        "{cmd}"
    );
    let hoist::config::Forge::Github(g) = &config.forge else {
        panic!("the example is on GitHub")
    };
    assert_eq!(
        g.private_key_file.as_deref(),
        Some(mounted("app.pem").as_str()),
        "the key is mounted where the config reads it"
    );
    assert!(
        cmd.contains(&format!("\"{}/hoist.db\"", mounted("hoist-data"))),
        "{cmd}"
    );
    let passed: Vec<&str> = run
        .split("-e ")
        .skip(1)
        .map(|e| e.split_whitespace().next().unwrap())
        .collect();
    let needed = hoist::doctor::environment(&config, |_| None);
    for check in needed {
        let var = check.what.split_whitespace().next().unwrap();
        assert!(passed.contains(&var), "docker run does not pass {var}");
    }
    for var in ["AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
        assert!(passed.contains(&var), "docker run does not pass {var}");
    }
}

/// Step 6's config with no required check yet is one `hoist check-config` takes.
#[test]
fn the_pages_config_without_required_checks_is_valid() {
    let merge = blocks("6.")
        .into_iter()
        .find(|b| b.starts_with("merge:"))
        .expect("step 6 shows a merge section");
    let example = std::fs::read_to_string("config/hoist.example.yaml").unwrap();
    let start = example.find("\nmerge:\n").unwrap() + 1;
    let end = start + example[start..].find("\n\n").unwrap() + 1;
    let text = format!("{}{merge}{}", &example[..start], &example[end..]);
    let config = hoist::config::Config::parse(&text, "hoist.yaml").unwrap();
    assert!(config.merge.required_checks.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_getting_started_page_reaches_a_verified_dev_promotion() {
    // The steps this test stands in for are the page's own commands.
    for step in [
        "hoist github-app-manifest --url https://hoist.example.com --form acme",
        "gh api -X POST /app-manifests/CODE/conversions",
        "deploy/github-ruleset.json |\n      gh api -X POST repos/acme/gitops/rulesets --input -",
        "argocd account generate-token --account hoist",
        "hoist check-config --config hoist.yaml",
        "hoist doctor --config hoist.yaml --repo",
        "hoist serve --config hoist.yaml",
    ] {
        assert!(
            DOC.contains(step),
            "docs/getting-started.md no longer says {step:?}"
        );
    }

    let mut t = Tester::start(Drive::Serve).await;
    let url = t.forge.state.lock().unwrap().served_at.clone().unwrap();
    // Step 3: the page's CODEOWNERS on the base branch.
    let codeowners = blocks("3.").remove(0);
    t.forge.commit_to_base("CODEOWNERS", &codeowners);
    // Step 4, as the repository's admin: the page's `jq` edit, run as written, with the
    // fake's App id; its output posted as `gh api` would.
    let step4 = blocks("4.").remove(0);
    let jq = &step4[step4.find("jq ").unwrap()..step4.find(" |\n").unwrap()];
    let edited = Command::new("bash")
        .args(["-c", jq])
        .env("APP_ID", support::github_fake::APP_ID.to_string())
        .output()
        .expect("jq runs (./scripts/test installs it)");
    assert!(
        edited.status.success(),
        "{}",
        String::from_utf8_lossy(&edited.stderr)
    );
    let ruleset: serde_json::Value = serde_json::from_slice(&edited.stdout).unwrap();
    let admin = octocrab::Octocrab::builder()
        .base_uri(url.as_str())
        .unwrap()
        .personal_token("ghp_test".to_owned())
        .build()
        .unwrap();
    let _: serde_json::Value = admin
        .post("/repos/acme/gitops/rulesets", Some(&ruleset))
        .await
        .unwrap();
    // The Argo CD applications exist, and ECR holds an image of each service.
    let base = t.forge.state.lock().unwrap().base.clone();
    for service in [
        "my-app-service1",
        "my-app-service2",
        "billing-api",
        "nightly-report",
    ] {
        for stage in ["dev", "uat", "prod"] {
            t.argo
                .synced(&format!("{service}-{stage}"), &base, "img@sha256:0");
        }
    }
    {
        // What dev already runs: `hoist serve`'s reconcile pass, which reads the registry,
        // finds nothing newer to promote.
        let mut st = t.forge.state.lock().unwrap();
        for (repo, tag, digest) in [
            (
                "my-app-service1",
                "v1.3.2",
                "sha256:41828da5541005335d4bcc6a684e3fe302b8c73dc0cd2be954109f93d5b00a08",
            ),
            (
                "my-app-service2",
                "2.3.1",
                "sha256:aeee7005e3d4345f895f35ea252af416cd15abfa1b996544533f866ae7feec40",
            ),
            (
                "billing-api",
                "2.7.1",
                "sha256:ab879b75f68413ee064235be750daf0ab2ed7c994cff769b1a93628de09d0ac6",
            ),
            (
                "nightly-report",
                "1.0.3",
                "sha256:2bf208aed5dfcf5d3b0341ae22a276c26d9a31a38d2cd3e72603acfcd11aa11e",
            ),
        ] {
            st.ecr_images.insert(
                repo.into(),
                vec![(tag.into(), digest.into(), 1_795_687_080)],
            );
        }
    }

    // Steps 6 and 7, with the environment `hoist serve` has.
    let cfg = t.served.as_ref().unwrap().cfg().to_owned();
    let hoist = |args: &[&str]| {
        let mut env: Vec<(&str, String)> = support::aws_env(&url).into();
        env.extend([
            ("HOIST_WEBHOOK_SECRETS", "s".to_owned()),
            ("ARGOCD_TOKEN", "argo-token".to_owned()),
            ("HOIST_EVENTBRIDGE_TOKEN", "eb-token".to_owned()),
        ]);
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let cfg = cfg.clone();
        std::thread::spawn(move || {
            Command::new(env!("CARGO_BIN_EXE_hoist"))
                .args(&args)
                .arg("--config")
                .arg(&cfg)
                .envs(env)
                .output()
                .unwrap()
        })
    };
    let checked = tokio::task::block_in_place(|| hoist(&["check-config"]).join().unwrap());
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    let doctor = tokio::task::block_in_place(|| {
        hoist(&["doctor", "--repo", "examples/gitops"])
            .join()
            .unwrap()
    });
    let said = String::from_utf8_lossy(&doctor.stdout);
    assert_eq!(doctor.status.code(), Some(0), "{said}");
    assert!(
        said.lines()
            .all(|l| !l.starts_with('✗') && !l.starts_with('!')),
        "doctor is not all green:\n{said}"
    );
    assert!(said.ends_with("checks passed.\n"), "{said}");

    // Steps 8 and 9: the push, through `hoist serve`, to a verified dev promotion.
    t.dev_verified().await;
}
