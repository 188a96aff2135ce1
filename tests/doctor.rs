//! `hoist doctor` against a setup as a new user would have it: first with nothing set,
//! then against the GitHub fake (which serves ECR too) and the Argo CD fake, all right
//! and with each thing wrong in turn.

mod support;

use std::process::{Command, Output};

use support::memory_forge::{MemoryArgo, MemoryForge};

/// `hoist doctor ARGS` with exactly `env` (and nothing else from this process).
fn doctor(args: &[&str], env: &[(&str, String)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hoist"))
        .arg("doctor")
        .args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The example config, nothing in the environment, no key file: every missing piece is
/// named with what to do, the checkout's overlays pass, and nothing calls out.
#[test]
fn a_fresh_setup_is_told_what_is_missing() {
    let o = doctor(
        &[
            "--config",
            "config/hoist.example.yaml",
            "--repo",
            "examples/gitops",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(1));
    insta::assert_snapshot!(stdout(&o), @"
    ✗ HOIST_WEBHOOK_SECRETS is not set (the GitHub webhook secret)
        set HOIST_WEBHOOK_SECRETS in Hoist's environment (docs/configuration.md says what it holds)
    ! HOIST_EVENTBRIDGE_TOKEN is not set (the token EventBridge sends as x-hoist-token)
        set HOIST_EVENTBRIDGE_TOKEN in Hoist's environment (docs/configuration.md says what it holds)
    ✗ ARGOCD_TOKEN is not set (the Argo CD token)
        set ARGOCD_TOKEN in Hoist's environment (docs/configuration.md says what it holds)
    ✗ cannot read /var/run/secrets/hoist/app.pem: No such file or directory (os error 2)
        mount or create /var/run/secrets/hoist/app.pem, readable by the user Hoist runs as
    ✓ apps/my-app-service1/env/dev/kustomization.yaml has the images entry my-app-service1
    ✓ apps/my-app-service1/env/uat/kustomization.yaml has the images entry my-app-service1
    ✓ apps/my-app-service1/env/prod/kustomization.yaml has the images entry my-app-service1
    ✓ apps/my-app-service2/env/dev/kustomization.yaml has the images entry my-app-service2
    ✓ apps/my-app-service2/env/uat/kustomization.yaml has the images entry my-app-service2
    ✓ apps/my-app-service2/env/prod/kustomization.yaml has the images entry my-app-service2
    ! the forge, Argo CD and the registry: not checked (fix the failures above first)
    3 of 11 checks failed.
    ");
}

/// The fakes, set up right, and the environment `hoist serve` would have.
struct Setup {
    forge: MemoryForge,
    argo: MemoryArgo,
    url: String,
    dir: tempfile::TempDir,
}

impl Setup {
    async fn new() -> Self {
        let forge = MemoryForge::from_dir(std::path::Path::new("examples/gitops"));
        let argo = MemoryArgo::default();
        argo.render_from(&forge);
        let base = forge.state.lock().unwrap().base.clone();
        for service in ["my-app-service1", "my-app-service2"] {
            for stage in ["dev", "uat", "prod"] {
                argo.synced(&format!("{service}-{stage}"), &base, "img@sha256:0");
            }
        }
        {
            // Each repository holds an image whose tag the example's policy accepts.
            let mut st = forge.state.lock().unwrap();
            for (repo, tag) in [("my-app-service1", "v1.4.0"), ("my-app-service2", "2.3.1")] {
                st.ecr_images.insert(
                    repo.into(),
                    vec![(
                        tag.into(),
                        format!("sha256:{}", "a".repeat(64)),
                        1_795_687_080,
                    )],
                );
            }
        }
        let url = support::github_fake::serve(forge.clone(), argo.clone()).await;
        let dir = tempfile::tempdir().unwrap();
        Self {
            forge,
            argo,
            url,
            dir,
        }
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        let served_at = self.forge.state.lock().unwrap().served_at.clone().unwrap();
        let mut env: Vec<(&str, String)> = support::aws_env(&served_at).into();
        env.extend([
            ("TEST_GITHUB_TOKEN", "ghp_test".to_owned()),
            ("ARGOCD_TOKEN", "argo-token".to_owned()),
            ("HOIST_WEBHOOK_SECRETS", "s".to_owned()),
            ("HOIST_EVENTBRIDGE_TOKEN", "eb-token".to_owned()),
        ]);
        env
    }

    /// Runs doctor with `env`, off the runtime's threads (the fakes answer on them).
    async fn run(&self, env: Vec<(&'static str, String)>) -> Output {
        let cfg = support::serve::write_config(self.dir.path(), &self.url, &self.url, true);
        let cfg = cfg.to_str().unwrap().to_owned();
        tokio::task::spawn_blocking(move || {
            doctor(&["--config", &cfg, "--repo", "examples/gitops"], &env)
        })
        .await
        .unwrap()
    }

    fn shown(&self, o: &Output) -> String {
        stdout(o).replace(&self.url, "FAKE")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_right_setup_passes_every_check() {
    let s = Setup::new().await;
    let o = s.run(s.env()).await;
    insta::assert_snapshot!(s.shown(&o), @"
    ✓ TEST_GITHUB_TOKEN is set (the GitHub token)
    ✓ HOIST_WEBHOOK_SECRETS is set (the GitHub webhook secret)
    ✓ HOIST_EVENTBRIDGE_TOKEN is set (the token EventBridge sends as x-hoist-token)
    ✓ ARGOCD_TOKEN is set (the Argo CD token)
    ✓ apps/my-app-service1/env/dev/kustomization.yaml has the images entry my-app-service1
    ✓ apps/my-app-service1/env/uat/kustomization.yaml has the images entry my-app-service1
    ✓ apps/my-app-service1/env/prod/kustomization.yaml has the images entry my-app-service1
    ✓ apps/my-app-service2/env/dev/kustomization.yaml has the images entry my-app-service2
    ✓ apps/my-app-service2/env/uat/kustomization.yaml has the images entry my-app-service2
    ✓ apps/my-app-service2/env/prod/kustomization.yaml has the images entry my-app-service2
    ✓ the forge answers: Hoist is hoist[bot]
    ✓ Argo CD application my-app-service1-dev reads (Healthy)
    ✓ Argo CD application my-app-service1-uat reads (Healthy)
    ✓ Argo CD application my-app-service1-prod reads (Healthy)
    ✓ Argo CD application my-app-service2-dev reads (Healthy)
    ✓ Argo CD application my-app-service2-uat reads (Healthy)
    ✓ Argo CD application my-app-service2-prod reads (Healthy)
    ✓ 123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app-service1: 1 image, 1 with a tag the policy accepts
    ✓ 123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app-service2: 1 image, 1 with a tag the policy accepts
    19 checks passed.
    ");
    assert_eq!(o.status.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_github_token_fails_the_forge_check() {
    let s = Setup::new().await;
    let mut env = s.env();
    env.retain(|(k, _)| *k != "TEST_GITHUB_TOKEN");
    env.push(("TEST_GITHUB_TOKEN", "ghp_wrong".to_owned()));
    let o = s.run(env).await;
    insta::assert_snapshot!(s.shown(&o), @"
    ✓ TEST_GITHUB_TOKEN is set (the GitHub token)
    ✓ HOIST_WEBHOOK_SECRETS is set (the GitHub webhook secret)
    ✓ HOIST_EVENTBRIDGE_TOKEN is set (the token EventBridge sends as x-hoist-token)
    ✓ ARGOCD_TOKEN is set (the Argo CD token)
    ✓ apps/my-app-service1/env/dev/kustomization.yaml has the images entry my-app-service1
    ✓ apps/my-app-service1/env/uat/kustomization.yaml has the images entry my-app-service1
    ✓ apps/my-app-service1/env/prod/kustomization.yaml has the images entry my-app-service1
    ✓ apps/my-app-service2/env/dev/kustomization.yaml has the images entry my-app-service2
    ✓ apps/my-app-service2/env/uat/kustomization.yaml has the images entry my-app-service2
    ✓ apps/my-app-service2/env/prod/kustomization.yaml has the images entry my-app-service2
    ✗ cannot use the forge: cannot connect to GitHub at FAKE: 401 Bad credentials
        check the forge section's credentials, and that the App is installed on the repository
    1 of 11 checks failed.
    ");
    assert_eq!(o.status.code(), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_application_argo_cd_does_not_have_fails_naming_the_rbac_line() {
    let s = Setup::new().await;
    s.argo.apps.lock().unwrap().remove("my-app-service2-prod");
    let o = s.run(s.env()).await;
    insta::assert_snapshot!(s.shown(&o), @"
    ✓ TEST_GITHUB_TOKEN is set (the GitHub token)
    ✓ HOIST_WEBHOOK_SECRETS is set (the GitHub webhook secret)
    ✓ HOIST_EVENTBRIDGE_TOKEN is set (the token EventBridge sends as x-hoist-token)
    ✓ ARGOCD_TOKEN is set (the Argo CD token)
    ✓ apps/my-app-service1/env/dev/kustomization.yaml has the images entry my-app-service1
    ✓ apps/my-app-service1/env/uat/kustomization.yaml has the images entry my-app-service1
    ✓ apps/my-app-service1/env/prod/kustomization.yaml has the images entry my-app-service1
    ✓ apps/my-app-service2/env/dev/kustomization.yaml has the images entry my-app-service2
    ✓ apps/my-app-service2/env/uat/kustomization.yaml has the images entry my-app-service2
    ✓ apps/my-app-service2/env/prod/kustomization.yaml has the images entry my-app-service2
    ✓ the forge answers: Hoist is hoist[bot]
    ✓ Argo CD application my-app-service1-dev reads (Healthy)
    ✓ Argo CD application my-app-service1-uat reads (Healthy)
    ✓ Argo CD application my-app-service1-prod reads (Healthy)
    ✓ Argo CD application my-app-service2-dev reads (Healthy)
    ✓ Argo CD application my-app-service2-uat reads (Healthy)
    ✗ Argo CD has no application my-app-service2-prod that Hoist's token may read
        create my-app-service2-prod, or grant Hoist's account `p, role:hoist, applications, get, */my-app-service2-prod, allow` in argocd-rbac-cm
    ✓ 123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app-service1: 1 image, 1 with a tag the policy accepts
    ✓ 123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app-service2: 1 image, 1 with a tag the policy accepts
    1 of 19 checks failed.
    ");
    assert_eq!(o.status.code(), Some(1));
}

/// A checkout whose prod overlay lost its images entry, and one whose uat overlay is gone.
#[test]
fn overlays_without_the_entry_or_missing_fail() {
    let dir = tempfile::tempdir().unwrap();
    let copy = |from: &std::path::Path, to: &std::path::Path| {
        let status = Command::new("cp")
            .arg("-r")
            .arg(from)
            .arg(to)
            .status()
            .unwrap();
        assert!(status.success());
    };
    let repo = dir.path().join("gitops");
    copy(std::path::Path::new("examples/gitops"), &repo);
    std::fs::write(
        repo.join("apps/my-app-service1/env/prod/kustomization.yaml"),
        "resources: [../../base]\n",
    )
    .unwrap();
    std::fs::remove_file(repo.join("apps/my-app-service2/env/uat/kustomization.yaml")).unwrap();
    let o = doctor(
        &[
            "--config",
            "config/hoist.example.yaml",
            "--repo",
            repo.to_str().unwrap(),
            "--json",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let failed: Vec<String> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail" && c["what"].as_str().unwrap().starts_with("apps/"))
        .map(|c| format!("{} -> {}", c["what"], c["fix"]))
        .collect();
    insta::assert_snapshot!(failed.join("\n"), @r#"
    "apps/my-app-service1/env/prod/kustomization.yaml has no images entry named my-app-service1" -> "add `images: [{name: my-app-service1, newTag: <tag>}]` to it, or set the service's `kustomize_name` to the name it uses"
    "apps/my-app-service2/env/uat/kustomization.yaml does not exist (the overlay of my-app-service2 in uat)" -> "create the overlay, or correct the service's `path` in the config"
    "#);
}

/// A repository with no image the service's tag policy accepts: a warning (nothing would
/// ever be promoted), not a failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_with_no_acceptable_tag_warns() {
    let s = Setup::new().await;
    s.forge
        .state
        .lock()
        .unwrap()
        .ecr_images
        .get_mut("my-app-service2")
        .unwrap()[0]
        .0 = "latest".into();
    let o = s.run(s.env()).await;
    let warned: Vec<String> = s
        .shown(&o)
        .lines()
        .filter(|l| l.starts_with('!') || l.starts_with("    ") || l.contains("checks"))
        .map(str::to_owned)
        .collect();
    insta::assert_snapshot!(warned.join("\n"), @"
    ! 123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app-service2: 1 image, none with a tag my-app-service2's tag policy accepts: nothing would be promoted
        check the service's `tags` policy against the tags you push
    19 checks passed, 1 with a warning.
    ");
    assert_eq!(o.status.code(), Some(0), "a warning passes");
}

/// `hoist github-app-manifest` prints the manifest GitHub's manifest flow takes (JSON),
/// the same one the repository ships in deploy/github-app.json; `--form` wraps it in a
/// page that registers it, escaped; an address GitHub cannot deliver to is refused.
#[test]
fn the_app_manifest_is_printed_as_github_takes_it() {
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_hoist"))
            .arg("github-app-manifest")
            .args(args)
            .output()
            .unwrap()
    };
    let o = run(&["--url", "https://hoist.example.com"]);
    assert!(o.status.success());
    assert_eq!(
        stdout(&o),
        std::fs::read_to_string("deploy/github-app.json").unwrap(),
        "deploy/github-app.json is the command's output for the example address"
    );
    let m: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        m["hook_attributes"]["url"],
        "https://hoist.example.com/webhooks/github"
    );
    let o = run(&[
        "--url",
        "https://hoist.example.com/",
        "--name",
        "Hoist <prod> & co",
        "--form",
        "acme",
    ]);
    assert!(o.status.success());
    insta::assert_snapshot!(stdout(&o), @r#"
    <!doctype html>
    <form action="https://github.com/organizations/acme/settings/apps/new" method="post">
      <input type="hidden" name="manifest" value="{&quot;default_events&quot;:[&quot;issue_comment&quot;,&quot;pull_request&quot;,&quot;pull_request_review&quot;,&quot;check_run&quot;,&quot;check_suite&quot;,&quot;status&quot;],&quot;default_permissions&quot;:{&quot;checks&quot;:&quot;write&quot;,&quot;contents&quot;:&quot;write&quot;,&quot;issues&quot;:&quot;write&quot;,&quot;members&quot;:&quot;read&quot;,&quot;metadata&quot;:&quot;read&quot;,&quot;pull_requests&quot;:&quot;write&quot;,&quot;statuses&quot;:&quot;read&quot;},&quot;hook_attributes&quot;:{&quot;active&quot;:true,&quot;url&quot;:&quot;https://hoist.example.com/webhooks/github&quot;},&quot;name&quot;:&quot;Hoist &lt;prod&gt; &amp; co&quot;,&quot;public&quot;:false,&quot;redirect_url&quot;:&quot;https://hoist.example.com/&quot;,&quot;url&quot;:&quot;https://hoist.example.com&quot;}">
      <button type="submit">Create the Hoist GitHub App</button>
    </form>
    "#);
    for bad in [
        "http://hoist.internal",
        "https://hoist.example.com/hooks?x=1",
        "https://",
    ] {
        let o = run(&["--url", bad]);
        assert_eq!(o.status.code(), Some(1), "{bad}");
    }
    let o = run(&["--url", "http://hoist.internal"]);
    insta::assert_snapshot!(String::from_utf8_lossy(&o.stderr).trim(), @r#"error: --url "http://hoist.internal": give Hoist's address as https://HOST (or https://HOST:PORT), such as https://hoist.example.com: GitHub sends webhooks only over HTTPS, and Hoist adds the paths it answers on"#);
}

/// On CodeCommit every event comes through EventBridge: without its token `hoist serve`
/// will not start, so doctor fails it, and a value that holds no token (`,`) counts as
/// none, as the server reads it.
#[test]
fn a_codecommit_setup_needs_the_eventbridge_token() {
    let o = doctor(
        &["--config", "config/hoist.codecommit.example.yaml"],
        &[("HOIST_EVENTBRIDGE_TOKEN", ",".to_owned())],
    );
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    let lines: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("HOIST_EVENTBRIDGE_TOKEN"))
        .collect::<Vec<_>>();
    insta::assert_snapshot!(lines.join("\n"), @"
    ✗ HOIST_EVENTBRIDGE_TOKEN is not set (the token EventBridge sends as x-hoist-token)
        set HOIST_EVENTBRIDGE_TOKEN in Hoist's environment (docs/configuration.md says what it holds)
    ");
}
