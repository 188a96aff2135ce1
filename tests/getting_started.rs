//! docs/getting-started.md, walked against the project's fakes: the GitHub fake set up
//! as the page says (the App registered from Hoist's manifest, the ruleset applied with
//! the page's `jq` edit, CODEOWNERS, the Argo CD applications, images in ECR), then
//! `hoist check-config` and `hoist doctor` all green, then `hoist serve` takes a push to a
//! merged and verified dev pull request.

mod support;

use std::process::Command;

use support::tester::*;

const DOC: &str = include_str!("../docs/getting-started.md");

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
    // Step 4, as the repository's admin: the ruleset as its `jq` filter makes it.
    assert!(DOC.contains("+= {integration_id: $app}"));
    let admin = octocrab::Octocrab::builder()
        .base_uri(url.as_str())
        .unwrap()
        .personal_token("ghp_test".to_owned())
        .build()
        .unwrap();
    let _: serde_json::Value = admin
        .post(
            "/repos/acme/gitops/rulesets",
            Some(&support::github_fake::pinned_ruleset()),
        )
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
