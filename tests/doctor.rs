//! `hoist doctor` against a setup as a new user would have it: first with nothing set,
//! then against the GitHub fake (which serves ECR, STS and IAM's policy simulator too),
//! the Argo CD fake, the CodeCommit test server and moto, all right and with each thing
//! wrong in turn.

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
    ✓ required check render/{service}-{stage}: only the GitHub App acme-gitops-ci can post it
    ✓ apps/my-app-service1/env/dev/kustomization.yaml has the images entry my-app-service1
    ✓ apps/my-app-service1/env/uat/kustomization.yaml has the images entry my-app-service1
    ✓ apps/my-app-service1/env/prod/kustomization.yaml has the images entry my-app-service1
    ✓ apps/my-app-service2/env/dev/kustomization.yaml has the images entry my-app-service2
    ✓ apps/my-app-service2/env/uat/kustomization.yaml has the images entry my-app-service2
    ✓ apps/my-app-service2/env/prod/kustomization.yaml has the images entry my-app-service2
    ✓ charts/billing-api/env/dev/values.yaml has the image at image.tag, image.digest (helm)
    ✓ charts/billing-api/env/uat/values.yaml has the image at image.tag, image.digest (helm)
    ✓ charts/billing-api/env/prod/values.yaml has the image at image.tag, image.digest (helm)
    ✓ apps/nightly-report/env/dev/cronjob.yaml has the image at spec.jobTemplate.spec.template.spec.containers[name=report].image (yaml)
    ✓ apps/nightly-report/env/uat/cronjob.yaml has the image at spec.jobTemplate.spec.template.spec.containers[name=report].image (yaml)
    ✓ apps/nightly-report/env/prod/cronjob.yaml has the image at spec.jobTemplate.spec.template.spec.containers[name=report].image (yaml)
    ! the forge, Argo CD and the registry: not checked (fix the failures above first)
    3 of 18 checks failed.
    ");
}

/// The fakes, set up right, and the environment `hoist serve` would have.
struct Setup {
    forge: MemoryForge,
    argo: MemoryArgo,
    url: String,
    dir: tempfile::TempDir,
    /// Hoist runs on a personal token instead of its App.
    token: bool,
}

impl Setup {
    async fn new() -> Self {
        let forge = MemoryForge::from_dir(std::path::Path::new("examples/gitops"));
        let argo = MemoryArgo::default();
        argo.render_from(&forge);
        let base = forge.state.lock().unwrap().base.clone();
        for service in [
            "my-app-service1",
            "my-app-service2",
            "billing-api",
            "nightly-report",
        ] {
            for stage in ["dev", "uat", "prod"] {
                argo.synced(&format!("{service}-{stage}"), &base, "img@sha256:0");
            }
        }
        {
            // Each repository holds an image whose tag the example's policy accepts.
            let mut st = forge.state.lock().unwrap();
            for (repo, tag) in [
                ("my-app-service1", "v1.4.0"),
                ("my-app-service2", "2.3.1"),
                ("billing-api", "2.8.0"),
                ("nightly-report", "1.1.0"),
            ] {
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
        let s = Self {
            forge,
            argo,
            url,
            dir,
            token: false,
        };
        s.apply_ruleset(&support::github_fake::pinned_ruleset())
            .await;
        s
    }

    /// Creates a ruleset on the fake as docs/getting-started.md does with `gh api`: the
    /// JSON posted to `repos/OWNER/REPO/rulesets` by someone who may.
    async fn apply_ruleset(&self, body: &serde_json::Value) {
        let admin = octocrab::Octocrab::builder()
            .base_uri(self.url.as_str())
            .unwrap()
            .personal_token("ghp_test".to_owned())
            .build()
            .unwrap();
        let _: serde_json::Value = admin
            .post("/repos/acme/gitops/rulesets", Some(body))
            .await
            .unwrap();
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
        self.run_edited(env, |c| c).await
    }

    /// Runs doctor with `env` on the config as `edit` changes it.
    async fn run_edited(
        &self,
        env: Vec<(&'static str, String)>,
        edit: impl FnOnce(String) -> String,
    ) -> Output {
        let cfg = support::serve::write_config(self.dir.path(), &self.url, &self.url, self.token);
        std::fs::write(&cfg, edit(std::fs::read_to_string(&cfg).unwrap())).unwrap();
        let cfg = cfg.to_str().unwrap().to_owned();
        tokio::task::spawn_blocking(move || {
            doctor(&["--config", &cfg, "--repo", "examples/gitops"], &env)
        })
        .await
        .unwrap()
    }

    fn shown(&self, o: &Output) -> String {
        stdout(o)
            .replace(&self.url, "FAKE")
            .replace(self.dir.path().to_str().unwrap(), "DIR")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_right_setup_passes_every_check() {
    let s = Setup::new().await;
    let o = s.run(s.env()).await;
    insta::assert_snapshot!(s.shown(&o), @"
    ✓ HOIST_WEBHOOK_SECRETS is set (the GitHub webhook secret)
    ✓ HOIST_EVENTBRIDGE_TOKEN is set (the token EventBridge sends as x-hoist-token)
    ✓ ARGOCD_TOKEN is set (the Argo CD token)
    ✓ DIR/app.pem is readable (the GitHub App's private key)
    ✓ required check render/{service}-{stage}: only the GitHub App acme-gitops-ci can post it
    ✓ apps/my-app-service1/env/dev/kustomization.yaml has the images entry my-app-service1
    ✓ apps/my-app-service1/env/uat/kustomization.yaml has the images entry my-app-service1
    ✓ apps/my-app-service1/env/prod/kustomization.yaml has the images entry my-app-service1
    ✓ apps/my-app-service2/env/dev/kustomization.yaml has the images entry my-app-service2
    ✓ apps/my-app-service2/env/uat/kustomization.yaml has the images entry my-app-service2
    ✓ apps/my-app-service2/env/prod/kustomization.yaml has the images entry my-app-service2
    ✓ charts/billing-api/env/dev/values.yaml has the image at image.tag, image.digest (helm)
    ✓ charts/billing-api/env/uat/values.yaml has the image at image.tag, image.digest (helm)
    ✓ charts/billing-api/env/prod/values.yaml has the image at image.tag, image.digest (helm)
    ✓ apps/nightly-report/env/dev/cronjob.yaml has the image at spec.jobTemplate.spec.template.spec.containers[name=report].image (yaml)
    ✓ apps/nightly-report/env/uat/cronjob.yaml has the image at spec.jobTemplate.spec.template.spec.containers[name=report].image (yaml)
    ✓ apps/nightly-report/env/prod/cronjob.yaml has the image at spec.jobTemplate.spec.template.spec.containers[name=report].image (yaml)
    ✓ the forge answers: Hoist is hoist[bot]
    ✓ the App's installation grants every permission Hoist needs
    ✓ the App is subscribed to every event Hoist handles
    ✓ a pull request is required to change it
    ✓ a code owner's review is required
    ✓ a new push dismisses earlier approvals
    ✓ the check hoist/argocd is required, from Hoist's App only
    ✓ the check hoist/dag is required, from Hoist's App only
    ✓ Hoist's App cannot bypass the rules
    ✓ CODEOWNERS names an owner for every prod overlay and what it renders
    ✓ CODEOWNERS names an owner for itself
    ✓ Argo CD application my-app-service1-dev reads (Healthy)
    ✓ Argo CD application my-app-service1-dev deploys apps/my-app-service1/env/dev from main
    ✓ Argo CD application my-app-service1-uat reads (Healthy)
    ✓ Argo CD application my-app-service1-uat deploys apps/my-app-service1/env/uat from main
    ✓ Argo CD application my-app-service1-prod reads (Healthy)
    ✓ Argo CD application my-app-service1-prod deploys apps/my-app-service1/env/prod from main
    ✓ Argo CD application my-app-service2-dev reads (Healthy)
    ✓ Argo CD application my-app-service2-dev deploys apps/my-app-service2/env/dev from main
    ✓ Argo CD application my-app-service2-uat reads (Healthy)
    ✓ Argo CD application my-app-service2-uat deploys apps/my-app-service2/env/uat from main
    ✓ Argo CD application my-app-service2-prod reads (Healthy)
    ✓ Argo CD application my-app-service2-prod deploys apps/my-app-service2/env/prod from main
    ✓ Argo CD application billing-api-dev reads (Healthy)
    ✓ Argo CD application billing-api-dev deploys charts/billing-api/env/dev from main
    ✓ Argo CD application billing-api-uat reads (Healthy)
    ✓ Argo CD application billing-api-uat deploys charts/billing-api/env/uat from main
    ✓ Argo CD application billing-api-prod reads (Healthy)
    ✓ Argo CD application billing-api-prod deploys charts/billing-api/env/prod from main
    ✓ Argo CD application nightly-report-dev reads (Healthy)
    ✓ Argo CD application nightly-report-dev deploys apps/nightly-report/env/dev from main
    ✓ Argo CD application nightly-report-uat reads (Healthy)
    ✓ Argo CD application nightly-report-uat deploys apps/nightly-report/env/uat from main
    ✓ Argo CD application nightly-report-prod reads (Healthy)
    ✓ Argo CD application nightly-report-prod deploys apps/nightly-report/env/prod from main
    ✓ 123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app-service1: 1 image, 1 with a tag the policy accepts
    ✓ 123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app-service2: 1 image, 1 with a tag the policy accepts
    ✓ 123456789012.dkr.ecr.us-east-1.amazonaws.com/billing-api: 1 image, 1 with a tag the policy accepts
    ✓ 123456789012.dkr.ecr.us-east-1.amazonaws.com/nightly-report: 1 image, 1 with a tag the policy accepts
    ✓ IAM allows arn:aws:iam::123456789012:role/hoist the 3 actions Hoist calls on arn:aws:ecr:us-east-1:123456789012:repository/my-app-service1
    ✓ IAM allows arn:aws:iam::123456789012:role/hoist the 3 actions Hoist calls on arn:aws:ecr:us-east-1:123456789012:repository/my-app-service2
    ✓ IAM allows arn:aws:iam::123456789012:role/hoist the 3 actions Hoist calls on arn:aws:ecr:us-east-1:123456789012:repository/billing-api
    ✓ IAM allows arn:aws:iam::123456789012:role/hoist the 3 actions Hoist calls on arn:aws:ecr:us-east-1:123456789012:repository/nightly-report
    60 checks passed.
    ");
    assert_eq!(o.status.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_github_token_fails_the_forge_check() {
    let mut s = Setup::new().await;
    s.token = true;
    let mut env = s.env();
    env.retain(|(k, _)| *k != "TEST_GITHUB_TOKEN");
    env.push(("TEST_GITHUB_TOKEN", "ghp_wrong".to_owned()));
    let o = s.run(env).await;
    insta::assert_snapshot!(s.shown(&o), @"
    ✓ TEST_GITHUB_TOKEN is set (the GitHub token)
    ✓ HOIST_WEBHOOK_SECRETS is set (the GitHub webhook secret)
    ✓ HOIST_EVENTBRIDGE_TOKEN is set (the token EventBridge sends as x-hoist-token)
    ✓ ARGOCD_TOKEN is set (the Argo CD token)
    ✓ required check render/{service}-{stage}: only the GitHub App acme-gitops-ci can post it
    ✓ apps/my-app-service1/env/dev/kustomization.yaml has the images entry my-app-service1
    ✓ apps/my-app-service1/env/uat/kustomization.yaml has the images entry my-app-service1
    ✓ apps/my-app-service1/env/prod/kustomization.yaml has the images entry my-app-service1
    ✓ apps/my-app-service2/env/dev/kustomization.yaml has the images entry my-app-service2
    ✓ apps/my-app-service2/env/uat/kustomization.yaml has the images entry my-app-service2
    ✓ apps/my-app-service2/env/prod/kustomization.yaml has the images entry my-app-service2
    ✓ charts/billing-api/env/dev/values.yaml has the image at image.tag, image.digest (helm)
    ✓ charts/billing-api/env/uat/values.yaml has the image at image.tag, image.digest (helm)
    ✓ charts/billing-api/env/prod/values.yaml has the image at image.tag, image.digest (helm)
    ✓ apps/nightly-report/env/dev/cronjob.yaml has the image at spec.jobTemplate.spec.template.spec.containers[name=report].image (yaml)
    ✓ apps/nightly-report/env/uat/cronjob.yaml has the image at spec.jobTemplate.spec.template.spec.containers[name=report].image (yaml)
    ✓ apps/nightly-report/env/prod/cronjob.yaml has the image at spec.jobTemplate.spec.template.spec.containers[name=report].image (yaml)
    ✗ cannot use the forge: cannot connect to GitHub at FAKE: 401 Bad credentials
        check the forge section's credentials, and that the App is installed on the repository
    1 of 18 checks failed.
    ");
    assert_eq!(o.status.code(), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_application_argo_cd_does_not_have_fails_naming_the_rbac_line() {
    let s = Setup::new().await;
    s.argo.apps.lock().unwrap().remove("my-app-service2-prod");
    let o = s.run(s.env()).await;
    let shown = s.shown(&o);
    let said: Vec<&str> = shown.lines().filter(|l| !l.starts_with('✓')).collect();
    insta::assert_snapshot!(said.join("\n"), @"
    ✗ Argo CD has no application my-app-service2-prod that Hoist's token may read
        create my-app-service2-prod, or grant Hoist's account `p, role:hoist, applications, get, */my-app-service2-prod, allow` in argocd-rbac-cm
    1 of 59 checks failed.
    ");
    let o = s.run(s.env()).await;
    insta::assert_snapshot!(s.shown(&o), @"
    ✓ HOIST_WEBHOOK_SECRETS is set (the GitHub webhook secret)
    ✓ HOIST_EVENTBRIDGE_TOKEN is set (the token EventBridge sends as x-hoist-token)
    ✓ ARGOCD_TOKEN is set (the Argo CD token)
    ✓ DIR/app.pem is readable (the GitHub App's private key)
    ✓ required check render/{service}-{stage}: only the GitHub App acme-gitops-ci can post it
    ✓ apps/my-app-service1/env/dev/kustomization.yaml has the images entry my-app-service1
    ✓ apps/my-app-service1/env/uat/kustomization.yaml has the images entry my-app-service1
    ✓ apps/my-app-service1/env/prod/kustomization.yaml has the images entry my-app-service1
    ✓ apps/my-app-service2/env/dev/kustomization.yaml has the images entry my-app-service2
    ✓ apps/my-app-service2/env/uat/kustomization.yaml has the images entry my-app-service2
    ✓ apps/my-app-service2/env/prod/kustomization.yaml has the images entry my-app-service2
    ✓ charts/billing-api/env/dev/values.yaml has the image at image.tag, image.digest (helm)
    ✓ charts/billing-api/env/uat/values.yaml has the image at image.tag, image.digest (helm)
    ✓ charts/billing-api/env/prod/values.yaml has the image at image.tag, image.digest (helm)
    ✓ apps/nightly-report/env/dev/cronjob.yaml has the image at spec.jobTemplate.spec.template.spec.containers[name=report].image (yaml)
    ✓ apps/nightly-report/env/uat/cronjob.yaml has the image at spec.jobTemplate.spec.template.spec.containers[name=report].image (yaml)
    ✓ apps/nightly-report/env/prod/cronjob.yaml has the image at spec.jobTemplate.spec.template.spec.containers[name=report].image (yaml)
    ✓ the forge answers: Hoist is hoist[bot]
    ✓ the App's installation grants every permission Hoist needs
    ✓ the App is subscribed to every event Hoist handles
    ✓ a pull request is required to change it
    ✓ a code owner's review is required
    ✓ a new push dismisses earlier approvals
    ✓ the check hoist/argocd is required, from Hoist's App only
    ✓ the check hoist/dag is required, from Hoist's App only
    ✓ Hoist's App cannot bypass the rules
    ✓ CODEOWNERS names an owner for every prod overlay and what it renders
    ✓ CODEOWNERS names an owner for itself
    ✓ Argo CD application my-app-service1-dev reads (Healthy)
    ✓ Argo CD application my-app-service1-dev deploys apps/my-app-service1/env/dev from main
    ✓ Argo CD application my-app-service1-uat reads (Healthy)
    ✓ Argo CD application my-app-service1-uat deploys apps/my-app-service1/env/uat from main
    ✓ Argo CD application my-app-service1-prod reads (Healthy)
    ✓ Argo CD application my-app-service1-prod deploys apps/my-app-service1/env/prod from main
    ✓ Argo CD application my-app-service2-dev reads (Healthy)
    ✓ Argo CD application my-app-service2-dev deploys apps/my-app-service2/env/dev from main
    ✓ Argo CD application my-app-service2-uat reads (Healthy)
    ✓ Argo CD application my-app-service2-uat deploys apps/my-app-service2/env/uat from main
    ✗ Argo CD has no application my-app-service2-prod that Hoist's token may read
        create my-app-service2-prod, or grant Hoist's account `p, role:hoist, applications, get, */my-app-service2-prod, allow` in argocd-rbac-cm
    ✓ Argo CD application billing-api-dev reads (Healthy)
    ✓ Argo CD application billing-api-dev deploys charts/billing-api/env/dev from main
    ✓ Argo CD application billing-api-uat reads (Healthy)
    ✓ Argo CD application billing-api-uat deploys charts/billing-api/env/uat from main
    ✓ Argo CD application billing-api-prod reads (Healthy)
    ✓ Argo CD application billing-api-prod deploys charts/billing-api/env/prod from main
    ✓ Argo CD application nightly-report-dev reads (Healthy)
    ✓ Argo CD application nightly-report-dev deploys apps/nightly-report/env/dev from main
    ✓ Argo CD application nightly-report-uat reads (Healthy)
    ✓ Argo CD application nightly-report-uat deploys apps/nightly-report/env/uat from main
    ✓ Argo CD application nightly-report-prod reads (Healthy)
    ✓ Argo CD application nightly-report-prod deploys apps/nightly-report/env/prod from main
    ✓ 123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app-service1: 1 image, 1 with a tag the policy accepts
    ✓ 123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app-service2: 1 image, 1 with a tag the policy accepts
    ✓ 123456789012.dkr.ecr.us-east-1.amazonaws.com/billing-api: 1 image, 1 with a tag the policy accepts
    ✓ 123456789012.dkr.ecr.us-east-1.amazonaws.com/nightly-report: 1 image, 1 with a tag the policy accepts
    ✓ IAM allows arn:aws:iam::123456789012:role/hoist the 3 actions Hoist calls on arn:aws:ecr:us-east-1:123456789012:repository/my-app-service1
    ✓ IAM allows arn:aws:iam::123456789012:role/hoist the 3 actions Hoist calls on arn:aws:ecr:us-east-1:123456789012:repository/my-app-service2
    ✓ IAM allows arn:aws:iam::123456789012:role/hoist the 3 actions Hoist calls on arn:aws:ecr:us-east-1:123456789012:repository/billing-api
    ✓ IAM allows arn:aws:iam::123456789012:role/hoist the 3 actions Hoist calls on arn:aws:ecr:us-east-1:123456789012:repository/nightly-report
    1 of 59 checks failed.
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
    60 checks passed, 1 with a warning.
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

/// Each repository setting doctor reads, set wrong on the fake GitHub: the installation
/// lacks a permission and an event, the ruleset lets Hoist's App bypass it, keeps stale
/// approvals and requires only one of Hoist's checks, and CODEOWNERS names no owner for
/// prod's overlays of one service nor for itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_wrong_github_setting_fails_naming_the_fix() {
    let s = Setup::new().await;
    {
        let mut st = s.forge.state.lock().unwrap();
        st.rulesets.clear();
        st.installation = serde_json::json!({
            "permissions": {"contents": "write", "pull_requests": "write", "issues": "write",
                "checks": "read", "statuses": "read", "members": "read", "metadata": "read"},
            "events": ["issue_comment", "pull_request", "check_run", "check_suite", "status"],
        });
    }
    // Hoist's App may bypass it, a push keeps approvals, hoist/argocd counts from any
    // poster, and hoist/dag is not required.
    let mut lax = support::github_fake::pinned_ruleset();
    lax["bypass_actors"] = serde_json::json!([{"actor_id": support::github_fake::APP_ID,
        "actor_type": "Integration", "bypass_mode": "always"}]);
    for rule in lax["rules"].as_array_mut().unwrap() {
        match rule["type"].as_str() {
            Some("pull_request") => {
                rule["parameters"]["dismiss_stale_reviews_on_push"] = false.into()
            }
            Some("required_status_checks") => {
                rule["parameters"]["required_status_checks"] =
                    serde_json::json!([{"context": "hoist/argocd"}]);
            }
            _ => {}
        }
    }
    s.apply_ruleset(&lax).await;
    s.forge
        .commit_to_base("CODEOWNERS", "apps/my-app-service1/env/prod/ @acme/sre\n");
    let o = s.run(s.env()).await;
    let out = stdout(&o);
    let failed: Vec<&str> = out.lines().filter(|l| !l.starts_with('✓')).collect();
    let shown = failed.join("\n").replace(&s.url, "FAKE");
    insta::assert_snapshot!(shown, @"
    ✗ the App's installation lacks checks: write
        grant them in the App's settings (Permissions & events), then accept the new permissions on the installation (its settings page shows a request)
    ✗ the App is not subscribed to pull_request_review: Hoist never hears of them
        subscribe to them in the App's settings (Permissions & events, Subscribe to events)
    ✗ main's ruleset does not say: a new push dismisses earlier approvals
        apply the ruleset in docs/getting-started.md (step 4) with `gh api`, or set the same in Settings, Rules
    ✗ main requires hoist/argocd from any poster: anyone who may push can post a status of that name and merge past Hoist
        pin the check to Hoist's App: `integration_id` in the ruleset (docs/getting-started.md, step 4), or the App under the check in branch protection
    ✗ main's ruleset does not say: the check hoist/dag is required
        apply the ruleset in docs/getting-started.md (step 4) with `gh api`, or set the same in Settings, Rules
    ✗ Hoist's App may bypass the rules (ruleset Hoist: promotions by pull request (always)): it could merge past every gate
        remove the App from the ruleset's bypass list (or branch protection's allowances)
    ✗ CODEOWNERS names no owner for apps/my-app-service1/base/kustomization.yaml, apps/my-app-service2/env/prod/kustomization.yaml, apps/my-app-service2/base/kustomization.yaml, apps/my-app-service2/env/prod/replicas.yaml, charts/billing-api/env/prod/values.yaml, apps/nightly-report/env/prod/cronjob.yaml, which prod renders: a change there needs no approval, or a promotion can never get one
        add a line for those paths naming their owners (the last matching line wins)
    ✗ CODEOWNERS names no owner for itself: anyone who may open a pull request can change who approves
        add a line `/CODEOWNERS @your-org/platform` (last, so nothing below overrides it)
    8 of 60 checks failed.
    ");
    assert_eq!(o.status.code(), Some(1));
}

/// Each line that is not a pass, with its fix, the fake's URL hidden.
fn not_passed(s: &Setup, o: &Output) -> String {
    said_where(o, |l| !l.starts_with('✓')).replace(&s.url, "FAKE")
}

/// The App as GitHub knows it: not installed on the repository, or an `app_id` whose
/// JWT GitHub refuses, each named as such rather than as bad credentials.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_not_installed_or_not_ours_is_named() {
    let s = Setup::new().await;
    s.forge.state.lock().unwrap().not_installed = true;
    let o = s
        .run_edited(s.env(), |c| c.replace("    installation_id: 7\n", ""))
        .await;
    insta::assert_snapshot!(not_passed(&s, &o), @"
    ✗ cannot use the forge: cannot connect to GitHub at FAKE: the GitHub App 12345 is not installed on acme/gitops, or there is no such repository: check forge.github's owner and repo, and install the App from its page (Install App), choosing gitops
        check the forge section's credentials, and that the App is installed on the repository
    1 of 18 checks failed.
    ");
    // With the installation's id in the config, GitHub refuses its token instead.
    let o = s.run(s.env()).await;
    insta::assert_snapshot!(not_passed(&s, &o), @"
    ✗ cannot use the forge: the GitHub App 12345 is not installed on acme/gitops, or there is no such repository: check forge.github's owner and repo, and install the App from its page (Install App), choosing gitops
        check the forge section's credentials, and that the App is installed on the repository
    1 of 51 checks failed.
    ");
    s.forge.state.lock().unwrap().not_installed = false;
    let o = s
        .run_edited(s.env(), |c| c.replace("app_id: 12345", "app_id: 54321"))
        .await;
    insta::assert_snapshot!(not_passed(&s, &o), @"
    ✗ cannot use the forge: cannot connect to GitHub at FAKE: GitHub refuses the App's credentials (401 Bad credentials): check that app_id 54321 is the App's id and the private key is the one downloaded from that App
        check the forge section's credentials, and that the App is installed on the repository
    1 of 18 checks failed.
    ");
    assert_eq!(o.status.code(), Some(1));
}

/// The rest of what doctor reads of the repository, each wrong in turn: a ruleset whose
/// pull request rule lets a code owner's review go, then one with no pull request rule
/// at all; Hoist's check pinned to another App; an App that may change its own rules;
/// CODEOWNERS with a line GitHub ignores, then none at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_wrong_github_settings_fail_naming_the_fix() {
    let s = Setup::new().await;
    let ruleset = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut set = support::github_fake::pinned_ruleset();
        for rule in set["rules"].as_array_mut().unwrap() {
            edit(rule);
        }
        set
    };
    let no_code_owners = ruleset(&|rule| {
        if rule["type"] == "pull_request" {
            rule["parameters"]["require_code_owner_review"] = false.into();
        }
        if rule["type"] == "required_status_checks" {
            rule["parameters"]["required_status_checks"][1]["integration_id"] = 999.into();
        }
    });
    {
        let mut st = s.forge.state.lock().unwrap();
        st.rulesets.clear();
        let mut installation = hoist::forge::github::manifest::manifest("hoist", "https://h.test");
        installation["default_permissions"]["administration"] = "write".into();
        st.installation = serde_json::json!({
            "permissions": installation["default_permissions"],
            "events": installation["default_events"],
        });
    }
    s.apply_ruleset(&no_code_owners).await;
    s.forge.commit_to_base(
        "CODEOWNERS",
        &format!(
            "{}[z-a]/ @acme/sre\n",
            std::fs::read_to_string("examples/gitops/CODEOWNERS").unwrap()
        ),
    );
    let o = s.run(s.env()).await;
    insta::assert_snapshot!(not_passed(&s, &o), @r#"
    ! the App's installation also has administration: write, which Hoist does not use: with it the App could change the rules that bind it
        remove the permission in the App's settings (Permissions & events)
    ✗ main's ruleset does not say: a code owner's review is required
        apply the ruleset in docs/getting-started.md (step 4) with `gh api`, or set the same in Settings, Rules
    ✗ main requires hoist/dag from the App with id 999, which is not Hoist's: no pull request would ever merge
        pin the check to Hoist's App: `integration_id` in the ruleset (docs/getting-started.md, step 4), or the App under the check in branch protection
    ! CODEOWNERS: GitHub ignores line 11 ("[z-a]/": GitHub does not support '!' or '[ ]' in CODEOWNERS)
        fix those lines: an ignored line protects nothing
    2 of 62 checks failed.
    "#);
    assert_eq!(o.status.code(), Some(1));

    s.forge.state.lock().unwrap().rulesets.clear();
    let no_pull_request = ruleset(&|_| {});
    let mut no_pull_request = no_pull_request;
    no_pull_request["rules"]
        .as_array_mut()
        .unwrap()
        .retain(|r| r["type"] != "pull_request");
    s.apply_ruleset(&no_pull_request).await;
    s.forge.remove_from_base("CODEOWNERS");
    let o = s.run(s.env()).await;
    insta::assert_snapshot!(not_passed(&s, &o), @"
    ! the App's installation also has administration: write, which Hoist does not use: with it the App could change the rules that bind it
        remove the permission in the App's settings (Permissions & events)
    ✗ main's ruleset does not say: a pull request is required to change it
        apply the ruleset in docs/getting-started.md (step 4) with `gh api`, or set the same in Settings, Rules
    ✗ main's ruleset does not say: a code owner's review is required
        apply the ruleset in docs/getting-started.md (step 4) with `gh api`, or set the same in Settings, Rules
    ✗ main's ruleset does not say: a new push dismisses earlier approvals
        apply the ruleset in docs/getting-started.md (step 4) with `gh api`, or set the same in Settings, Rules
    ✗ no CODEOWNERS on the base branch, and prod needs a code owner's approval: nobody can approve
        add .github/CODEOWNERS naming an owner for each gated stage's overlays and for itself
    4 of 60 checks failed.
    ");
    assert_eq!(o.status.code(), Some(1));
}

/// Required checks nothing can post before the merge, or anyone's App can: Argo CD's
/// own check appears only after Hoist merges (a pull request requiring it waits
/// forever), and a name with no poster is satisfied by any App.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn required_checks_no_one_posts_in_time_or_anyone_may_post_warn() {
    let s = Setup::new().await;
    let o = s
        .run_edited(s.env(), |c| {
            c.replace(
                "  required_checks:\n",
                "  required_checks:\n    - \"argocd/{service}-{stage}\"\n    - lint\n",
            )
        })
        .await;
    insta::assert_snapshot!(not_passed(&s, &o), @"
    ! required check argocd/{service}-{stage}: Argo CD posts nothing on an unmerged head, so nothing posts it before merge and every promotion waits forever
        require a check your CI posts on the pull request (a job that builds the overlay), named with the App that posts it (`app_slug`)
    ! required check lint: any GitHub App's check run of that name counts
        name the App that posts it: `{ name: ..., app_slug: <your CI's App> }`
    62 checks passed, 2 with a warning.
    ");
    assert_eq!(o.status.code(), Some(0), "warnings pass");
}

/// Against moto, a peer we did not write, for AWS: Hoist's identity from moto's STS (a
/// session of the role `hoist`, assumed there), and each service's repository from moto's
/// ECR: one missing (a failure), one whose tags the policy refuses (a warning). moto has
/// no policy simulator, so IAM alone is the GitHub fake's (`AWS_ENDPOINT_URL_IAM`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_is_checked_against_moto() {
    let (_moto, conf) = support::moto::moto().await;
    let iam = aws_sdk_iam::Client::new(&conf);
    iam.create_role()
        .role_name("hoist")
        .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[]}"#)
        .send()
        .await
        .unwrap();
    let session = aws_sdk_sts::Client::new(&conf)
        .assume_role()
        .role_arn("arn:aws:iam::123456789012:role/hoist")
        .role_session_name("doctor")
        .send()
        .await
        .unwrap();
    let creds = session.credentials().unwrap();
    let ecr = aws_sdk_ecr::Client::new(&conf);
    for repo in ["my-app-service1", "my-app-service2", "nightly-report"] {
        ecr.create_repository()
            .repository_name(repo)
            .send()
            .await
            .unwrap();
    }
    support::moto::push(&conf, "my-app-service1", "v1.4.0", "a1").await;
    support::moto::push(&conf, "my-app-service2", "2.3.1", "b2").await;
    support::moto::push(&conf, "nightly-report", "latest", "c3").await;

    let s = Setup::new().await;
    let moto_url = conf.endpoint_url().unwrap().to_owned();
    let mut env: Vec<(&str, String)> = s
        .env()
        .into_iter()
        .filter(|(k, _)| !k.starts_with("AWS_"))
        .collect();
    env.extend([
        ("AWS_ENDPOINT_URL", moto_url.clone()),
        ("AWS_ENDPOINT_URL_IAM", s.url.clone()),
        ("AWS_ACCESS_KEY_ID", creds.access_key_id().to_owned()),
        (
            "AWS_SECRET_ACCESS_KEY",
            creds.secret_access_key().to_owned(),
        ),
        ("AWS_SESSION_TOKEN", creds.session_token().to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
    ]);
    let o = s.run(env).await;
    let out = not_passed(&s, &o);
    insta::assert_snapshot!(out, @"
    ✗ cannot list the images of 123456789012.dkr.ecr.us-east-1.amazonaws.com/billing-api: ECR DescribeImages billing-api: RepositoryNotFoundException: The repository with name 'billing-api' does not exist in the registry with id '123456789012'
        grant Hoist's role ecr:DescribeImages on the repository, and check its region
    ! 123456789012.dkr.ecr.us-east-1.amazonaws.com/nightly-report: 1 image, none with a tag nightly-report's tag policy accepts: nothing would be promoted
        check the service's `tags` policy against the tags you push
    1 of 60 checks failed.
    ");
    let shown = stdout(&o);
    let iam_lines: Vec<&str> = shown.lines().filter(|l| l.contains("IAM allows")).collect();
    insta::assert_snapshot!(iam_lines.join("\n"), @"
    ✓ IAM allows arn:aws:iam::123456789012:role/hoist the 3 actions Hoist calls on arn:aws:ecr:us-east-1:123456789012:repository/my-app-service1
    ✓ IAM allows arn:aws:iam::123456789012:role/hoist the 3 actions Hoist calls on arn:aws:ecr:us-east-1:123456789012:repository/my-app-service2
    ✓ IAM allows arn:aws:iam::123456789012:role/hoist the 3 actions Hoist calls on arn:aws:ecr:us-east-1:123456789012:repository/billing-api
    ✓ IAM allows arn:aws:iam::123456789012:role/hoist the 3 actions Hoist calls on arn:aws:ecr:us-east-1:123456789012:repository/nightly-report
    ");
    assert_eq!(o.status.code(), Some(1));
}

/// Argo CD refusing Hoist's token is said once, with how to make a new one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_argo_cd_refuses_is_said_once() {
    let s = Setup::new().await;
    let mut env = s.env();
    env.retain(|(k, _)| *k != "ARGOCD_TOKEN");
    env.push(("ARGOCD_TOKEN", "expired".to_owned()));
    let o = s.run(env).await;
    insta::assert_snapshot!(not_passed(&s, &o), @"
    ✗ Argo CD refuses Hoist's token (401 invalid session: token signature is invalid): no application can be read
        make a new token for Hoist's account (argocd account generate-token --account hoist) and set it in the variable argocd.token_env names
    1 of 37 checks failed.
    ");
    assert_eq!(o.status.code(), Some(1));
}

/// A base branch with no protection fails; one with classic branch protection that the
/// App may not read (it asks for no `administration` permission) warns with what to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unprotected_or_unreadable_base_is_said() {
    let s = Setup::new().await;
    s.forge.state.lock().unwrap().rulesets.clear();
    let o = s.run(s.env()).await;
    let said = |o: &Output| -> String {
        stdout(o)
            .lines()
            .filter(|l| !l.starts_with('✓'))
            .collect::<Vec<_>>()
            .join("\n")
    };
    insta::assert_snapshot!(said(&o), @"
    ✗ main has no ruleset or branch protection: anyone who may push can merge past Hoist's gates
        apply the ruleset in docs/getting-started.md (step 4) with `gh api`, or set the same in Settings, Rules
    1 of 55 checks failed.
    ");
    assert_eq!(o.status.code(), Some(1));
    s.forge.state.lock().unwrap().branch_protection = Some((
        403,
        serde_json::json!({"message": "Resource not accessible by integration"}),
    ));
    let o = s.run(s.env()).await;
    insta::assert_snapshot!(said(&o), @"
    ! main has branch protection that Hoist's App may not read (403 Resource not accessible by integration): its rules are not checked
        use a ruleset instead (anyone may read those; docs/getting-started.md, step 4), or check by hand what that step lists
    55 checks passed, 1 with a warning.
    ");
    assert_eq!(o.status.code(), Some(0), "a warning passes");
}

/// An Argo CD application that deploys another path, another branch, or a mirror on
/// another host than the repository Hoist edits fails; one that deploys the default
/// branch (HEAD) warns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_application_deploying_elsewhere_fails() {
    let s = Setup::new().await;
    let on = |host: &str, app: &str, path: &str, rev: &str| {
        let mut apps = s.argo.apps.lock().unwrap();
        apps.get_mut(app).unwrap().sources = vec![hoist::argocd::AppSource {
            repo_url: format!("{host}/acme/gitops.git"),
            path: Some(path.into()),
            target_revision: rev.into(),
        }];
    };
    let aim = |app: &str, path: &str, rev: &str| on(&s.url, app, path, rev);
    // The right path and branch, of a mirror on another host: not what Hoist edits.
    on(
        "https://mirror.example.com",
        "my-app-service2-dev",
        "apps/my-app-service2/env/dev",
        "main",
    );
    // `.`-prefixed, still the overlay's directory.
    aim(
        "my-app-service2-uat",
        "./apps/my-app-service2/env/uat",
        "main",
    );
    aim(
        "my-app-service1-dev",
        "apps/my-app-service1/env/uat",
        "main",
    );
    aim(
        "my-app-service1-uat",
        "apps/my-app-service1/env/uat",
        "release",
    );
    aim(
        "my-app-service1-prod",
        "apps/my-app-service1/env/prod/",
        "HEAD",
    );
    let o = s.run(s.env()).await;
    let out = stdout(&o);
    let said: Vec<&str> = out.lines().filter(|l| !l.starts_with('✓')).collect();
    insta::assert_snapshot!(said.join("\n").replace(&s.url, "FAKE"), @"
    ✗ Argo CD application my-app-service1-dev deploys FAKE/acme/gitops.git apps/my-app-service1/env/uat, not apps/my-app-service1/env/dev of acme/gitops: Hoist's promotions would never reach it
        point my-app-service1-dev's source at acme/gitops with path apps/my-app-service1/env/dev, or correct the service's `path` or the stage's `argocd_app` in the config
    ✗ Argo CD application my-app-service1-uat deploys release, but Hoist merges into main: promotions would never reach it
        set the application's targetRevision to main
    ! Argo CD application my-app-service1-prod deploys the default branch (HEAD): right only while that is main
        set the application's targetRevision to main
    ✗ Argo CD application my-app-service2-dev deploys https://mirror.example.com/acme/gitops.git apps/my-app-service2/env/dev, not apps/my-app-service2/env/dev of acme/gitops: Hoist's promotions would never reach it
        point my-app-service2-dev's source at acme/gitops with path apps/my-app-service2/env/dev, or correct the service's `path` or the stage's `argocd_app` in the config
    3 of 60 checks failed.
    ");
    assert_eq!(o.status.code(), Some(1));
}

/// Hoist's role's session on the CodeCommit test server.
const CC_HOIST: (&str, &str) = (
    "AKIDHOIST",
    "arn:aws:sts::123456789012:assumed-role/hoist/i-0abc",
);

/// `hoist doctor` on the CodeCommit example config against its test server (set up by
/// `set`), signing with `key`; the Argo CD fake deploys every overlay from the
/// repository's main. `@acme/sre` is taken out of `codeowners_iam`.
async fn codecommit_doctor(
    key: &'static str,
    set: impl FnOnce(&mut support::codecommit_fake::State),
) -> Output {
    let repo = std::path::Path::new("examples/gitops");
    let fake = support::codecommit_fake::CodeCommitFake::start("gitops", repo, &[CC_HOIST]).await;
    set(&mut fake.state.lock().unwrap());
    let argo = MemoryArgo::default();
    for service in ["my-app-service1", "my-app-service2"] {
        for stage in ["dev", "uat", "prod"] {
            let app = format!("{service}-{stage}");
            argo.synced(&app, "main", "img@sha256:0");
            argo.apps.lock().unwrap().get_mut(&app).unwrap().sources =
                vec![hoist::argocd::AppSource {
                    repo_url: "https://git-codecommit.us-east-1.amazonaws.com/v1/repos/gitops"
                        .into(),
                    path: Some(format!("apps/{service}/env/{stage}")),
                    target_revision: "main".into(),
                }];
        }
    }
    let argo_url = support::github_fake::serve(MemoryForge::from_dir(repo), argo).await;
    let dir = tempfile::tempdir().unwrap();
    let config = std::fs::read_to_string("config/hoist.codecommit.example.yaml")
        .unwrap()
        .replace(
            "url: https://argocd.example.com",
            &format!("url: {argo_url}"),
        )
        .replace(
            "      \"@acme/sre\": [\"arn:aws:iam::123456789012:role/sre\"]\n",
            "",
        );
    let cfg = dir.path().join("hoist.yaml");
    std::fs::write(&cfg, config).unwrap();
    let env: Vec<(&str, String)> = vec![
        ("AWS_ENDPOINT_URL", fake.url.clone()),
        ("AWS_ACCESS_KEY_ID", key.into()),
        ("AWS_SECRET_ACCESS_KEY", "secret".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        (
            "AWS_CONFIG_FILE",
            dir.path().join("none").display().to_string(),
        ),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            dir.path().join("none").display().to_string(),
        ),
        ("HOIST_EVENTBRIDGE_TOKEN", "eb-token".into()),
        ("ARGOCD_TOKEN", "argo-token".into()),
    ];
    let cfg = cfg.to_str().unwrap().to_owned();
    tokio::task::spawn_blocking(move || doctor(&["--config", &cfg], &env))
        .await
        .unwrap()
}

/// On CodeCommit, against its test server: every code owner of prod's overlays must map
/// to IAM principals (here `@acme/sre` does not), and an approval rule template on the
/// repository, which would hold dev's promotions too, is a warning.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_codecommit_setup_is_checked_for_owners_and_approval_templates() {
    let o = codecommit_doctor(CC_HOIST.0, |s| s.templates = vec!["gitops-owners".into()]).await;
    let out = stdout(&o);
    let said: Vec<&str> = out.lines().filter(|l| !l.starts_with('✓')).collect();
    insta::assert_snapshot!(said.join("\n"), @"
    ! approval rule templates gitops-owners hold every pull request on the repository: promotions, dev's included, wait for their approvers
        disassociate it (aws codecommit disassociate-approval-rule-template-from-repository), and keep hand merges out with IAM instead (docs/aws.md, Who may merge)
    ✗ CODEOWNERS names @acme/sre, whom codeowners_iam maps to no IAM principal: on CodeCommit nobody can approve as them
        add each to `forge.codecommit.codeowners_iam` with the role or user ARNs that act as them
    ! 123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app-service1: 0 images, none with a tag my-app-service1's tag policy accepts: nothing would be promoted
        check the service's `tags` policy against the tags you push
    ! 123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app-service2: 0 images, none with a tag my-app-service2's tag policy accepts: nothing would be promoted
        check the service's `tags` policy against the tags you push
    1 of 24 checks failed.
    ");
    assert!(
        out.contains(
            "✓ the forge answers: Hoist is arn:aws:sts::123456789012:assumed-role/hoist/i-0abc"
        ),
        "{out}"
    );
    assert_eq!(o.status.code(), Some(1));
}

/// The lines of doctor's output that `keep` takes, each with its fix lines.
fn said_where(o: &Output, keep: impl Fn(&str) -> bool) -> String {
    let mut kept = false;
    let mut said = vec![];
    for l in stdout(o).lines() {
        if !l.starts_with("    ") {
            kept = keep(l);
        }
        if kept {
            said.push(l.to_owned());
        }
    }
    said.join("\n")
}

/// The lines of doctor's output that contain `needle`, each with its fix.
fn lines_about(o: &Output, needle: &str) -> String {
    said_where(o, |l| l.contains(needle))
}

/// Hoist's IAM permissions, asked of IAM's policy simulator for Hoist's role (its
/// session's ARN from STS): every action Hoist calls on the repository and on each
/// registry. A denied one fails, naming it; a simulator Hoist's role may not call is a
/// warning (doctor cannot tell); an access key STS does not know fails at the start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iam_is_asked_whether_hoist_may_make_each_call() {
    let o = codecommit_doctor(CC_HOIST.0, |_| {}).await;
    insta::assert_snapshot!(lines_about(&o, "IAM allows"), @"
    ✓ IAM allows arn:aws:iam::123456789012:role/hoist the 21 actions Hoist calls on arn:aws:codecommit:us-east-1:123456789012:gitops
    ✓ IAM allows arn:aws:iam::123456789012:role/hoist the 3 actions Hoist calls on arn:aws:ecr:us-east-1:123456789012:repository/my-app-service1
    ✓ IAM allows arn:aws:iam::123456789012:role/hoist the 3 actions Hoist calls on arn:aws:ecr:us-east-1:123456789012:repository/my-app-service2
    ");

    let o = codecommit_doctor(CC_HOIST.0, |s| {
        s.iam.denied = vec![
            "codecommit:MergePullRequestBySquash".into(),
            "codecommit:PutCommentReaction".into(),
            "ecr:BatchGetImage".into(),
        ]
    })
    .await;
    insta::assert_snapshot!(lines_about(&o, "IAM does not allow"), @"
    ✗ IAM does not allow arn:aws:iam::123456789012:role/hoist codecommit:PutCommentReaction, codecommit:MergePullRequestBySquash on arn:aws:codecommit:us-east-1:123456789012:gitops: Hoist's calls there would fail
        allow them in the policy of Hoist's role (docs/aws.md lists the policy Hoist needs)
    ✗ IAM does not allow arn:aws:iam::123456789012:role/hoist ecr:BatchGetImage on arn:aws:ecr:us-east-1:123456789012:repository/my-app-service1: Hoist's calls there would fail
        allow them in the policy of Hoist's role (docs/aws.md lists the policy Hoist needs)
    ✗ IAM does not allow arn:aws:iam::123456789012:role/hoist ecr:BatchGetImage on arn:aws:ecr:us-east-1:123456789012:repository/my-app-service2: Hoist's calls there would fail
        allow them in the policy of Hoist's role (docs/aws.md lists the policy Hoist needs)
    ");
    assert_eq!(o.status.code(), Some(1));

    let o = codecommit_doctor(CC_HOIST.0, |s| s.iam.simulator_refused = true).await;
    insta::assert_snapshot!(lines_about(&o, "IAM permissions"), @"
    ! Hoist's IAM permissions are not checked: IAM's policy simulator did not answer for arn:aws:iam::123456789012:role/hoist: AccessDenied: User: arn:aws:sts::123456789012:assumed-role/hoist/i-0abc is not authorized to perform: iam:SimulatePrincipalPolicy on resource: arn:aws:iam::123456789012:role/hoist
        allow Hoist's role iam:SimulatePrincipalPolicy on itself for doctor to check, or compare its policy with the one docs/aws.md lists
    ");

    let o = codecommit_doctor(CC_HOIST.0, |s| s.iam.principals.clear()).await;
    insta::assert_snapshot!(lines_about(&o, "IAM permissions"), @"
    ! Hoist's IAM permissions are not checked: IAM's policy simulator did not answer for arn:aws:iam::123456789012:role/hoist: NoSuchEntity: The entity arn:aws:iam::123456789012:role/hoist cannot be found.
        a role with a path (role/team/hoist) is not named whole in its session's ARN: compare its policy with the one docs/aws.md lists by hand
    ");

    let o = codecommit_doctor("AKIDNOBODY", |_| {}).await;
    insta::assert_snapshot!(lines_about(&o, "forge"), @"
    ✗ cannot use the forge: cannot connect to CodeCommit in us-east-1: cannot learn Hoist's IAM identity (sts:GetCallerIdentity): InvalidClientTokenId: The security token included in the request is invalid.
        check Hoist's AWS credentials (its role, or the AWS_* environment variables), and the region and repository in forge.codecommit
    ");
    assert_eq!(o.status.code(), Some(1));
}

/// Rules and branch protection together, as GitHub enforces them: the ruleset pins
/// Hoist's checks to its App, so protection naming them from any poster takes nothing
/// away; protection that exempts administrators is a warning.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn branch_protection_is_read_beside_the_ruleset() {
    let s = Setup::new().await;
    s.forge.state.lock().unwrap().branch_protection = Some((
        200,
        serde_json::json!({
            "required_status_checks": {"strict": false, "contexts": ["hoist/argocd"],
                "checks": [{"context": "hoist/argocd", "app_id": null}]},
            "required_pull_request_reviews": {"dismiss_stale_reviews": true,
                "require_code_owner_reviews": true, "required_approving_review_count": 0},
            "enforce_admins": {"enabled": false},
        }),
    ));
    let o = s.run(s.env()).await;
    let out = stdout(&o);
    let said: Vec<&str> = out.lines().filter(|l| !l.starts_with('✓')).collect();
    insta::assert_snapshot!(said.join("\n"), @r#"
    ! branch protection does not bind administrators: an admin can merge past Hoist's gates
        turn on "Do not allow bypassing the above settings" (enforce_admins), or use the ruleset
    61 checks passed, 1 with a warning.
    "#);
    assert!(
        out.contains("✓ the check hoist/argocd is required, from Hoist's App only"),
        "{out}"
    );
    assert_eq!(o.status.code(), Some(0));
}
