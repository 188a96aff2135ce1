//! Write-back targets: a service's image pinned in a kustomization, in Helm values and in a
//! plain manifest, edited together in one commit of one pull request at every stage.

mod support;

use hoist::config::Config;
use hoist::event::ReviewState;
use hoist::forge::PrState;
use hoist::plan::Planner;
use hoist::repo::DirRepo;
use support::targets;
use support::tester::*;

/// The README's first command plans a push of each example service: its diffs edit a
/// kustomization, Helm values and a plain manifest, each in place.
#[test]
fn the_readme_plans_a_push_of_every_kind_of_target() {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let cmd = readme
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("cargo run -q -- plan"))
        .expect("the README's first command plans");
    let args = cmd.strip_prefix("cargo run -q -- ").unwrap();
    // Through a shell, as a newcomer runs it: the events are a glob.
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{} {args}", env!("CARGO_BIN_EXE_hoist")))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let diff: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("+++ ") || l.starts_with("-  ") || l.starts_with("+  "))
        .collect();
    insta::assert_snapshot!(diff.join("\n"), @r#"
    +++ b/charts/billing-api/env/dev/values.yaml
    -  tag: "2.7.1"   # promoted by Hoist
    -  digest: sha256:ab879b75f68413ee064235be750daf0ab2ed7c994cff769b1a93628de09d0ac6
    +  tag: "2.8.0"   # promoted by Hoist
    +  digest: sha256:1c1f779aef33cd26099ed031ecb5a7c1abbe39cc510e9372e45f8182944b5ef5
    +++ b/apps/my-app-service1/env/dev/kustomization.yaml
    -    newTag: v1.3.2   # promoted by Hoist
    -    digest: sha256:41828da5541005335d4bcc6a684e3fe302b8c73dc0cd2be954109f93d5b00a08
    +    newTag: v1.4.0   # promoted by Hoist
    +    digest: sha256:41cffb13e817b003b409b06efb5b6233482fe8c4da77440d74288d0723df3749
    +++ b/apps/nightly-report/env/dev/cronjob.yaml
    -              image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/nightly-report:1.0.3@sha256:2bf208aed5dfcf5d3b0341ae22a276c26d9a31a38d2cd3e72603acfcd11aa11e
    +              image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/nightly-report:1.1.0@sha256:d27131eff861a8b078ab7454e93776e6c017b979ad105d486bce2deea20498a8
    "#);
}

fn planner_parts(dir: &std::path::Path) -> (Config, DirRepo) {
    let config = Config::parse(&targets::config(&example_config()), "hoist.yaml").unwrap();
    (config, DirRepo::new(dir))
}

fn pushed(config: &Config) -> hoist::freight::Freight {
    hoist::freight::for_push(
        config,
        IMAGE,
        "v1.4.0",
        &digest("a1"),
        "2026-11-26T09:58:00Z",
    )
    .unwrap()
}

/// A push plans one pull request whose one commit edits every target of dev, each the
/// way it pins the image, and nothing else of any file.
#[test]
fn every_target_of_a_stage_is_edited_in_one_promotion() {
    let dir = targets::repo_dir();
    let (config, repo) = planner_parts(dir.path());
    let planner = Planner {
        config: &config,
        repo: &repo,
        ledger: &[],
    };
    let plan = planner.push(&pushed(&config), "ecr-push").unwrap();
    assert_eq!(plan.promotions.len(), 1);
    let p = &plan.promotions[0];
    let shown: Vec<String> = p
        .files
        .iter()
        .map(|f| {
            let before = std::fs::read_to_string(dir.path().join(&f.path)).unwrap();
            format!("{}\n{}", f.path, targets::changed(&before, &f.content))
        })
        .collect();
    insta::assert_snapshot!(shown.join("\n\n"), @r#"
    apps/my-app-service1/env/dev/kustomization.yaml
    -    newTag: v1.3.2   # promoted by Hoist
    +    newTag: v1.4.0   # promoted by Hoist
    -    digest: sha256:41828da5541005335d4bcc6a684e3fe302b8c73dc0cd2be954109f93d5b00a08
    +    digest: sha256:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1

    apps/my-app-service1/env/dev/values.yaml
    -    tag: "v1.3.2"  # promoted by Hoist
    +    tag: "v1.4.0"  # promoted by Hoist
    -    digest: sha256:41828da5541005335d4bcc6a684e3fe302b8c73dc0cd2be954109f93d5b00a08
    +    digest: sha256:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1

    apps/my-app-service1/env/dev/migrate.yaml
    -          image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app-service1:v1.3.2@sha256:41828da5541005335d4bcc6a684e3fe302b8c73dc0cd2be954109f93d5b00a08
    +          image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app-service1:v1.4.0@sha256:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1
    "#);
}

/// When one target cannot be edited safely, no promotion is planned at all, and the
/// refusal names the file, the line and why.
#[test]
fn one_target_that_cannot_be_edited_stops_the_promotion() {
    let cases = [
        (
            "values.yaml",
            "    tag: \"v1.3.2\"  # promoted by Hoist",
            "    tag: \"{{ .Values.global.tag }}\"",
        ),
        (
            "migrate.yaml",
            "        - name: proxy",
            "        - name: migrate",
        ),
        (
            "migrate.yaml",
            "kind: ConfigMap",
            "kind: ConfigMap\nspec: {template: {spec: {containers: [{name: migrate, image: x}]}}}",
        ),
    ];
    let mut said = vec![];
    for (file, from, to) in cases {
        let dir = targets::repo_dir();
        let path = dir.path().join("apps/my-app-service1/env/dev").join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{file} has {from:?}");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
        let (config, repo) = planner_parts(dir.path());
        let planner = Planner {
            config: &config,
            repo: &repo,
            ledger: &[],
        };
        match planner.push(&pushed(&config), "ecr-push") {
            Ok(plan) => panic!("planned {} promotions", plan.promotions.len()),
            Err(e) => said.push(e.to_string()),
        }
    }
    insta::assert_snapshot!(said.join("\n"), @r#"
    apps/my-app-service1/env/dev/values.yaml:6:10: app.image.tag is templated ("{{ .Values.global.tag }}"); Hoist does not edit values that another tool renders
    apps/my-app-service1/env/dev/migrate.yaml:9:1: a list has several items with name: migrate; Hoist edits exactly one
    apps/my-app-service1/env/dev/migrate.yaml:1:1: documents 1 and 2 of the file both have spec.template.spec.containers[name=migrate].image; Hoist edits exactly one, so make the path select one (a [key=value] selector)
    "#);
}

/// A stage whose targets were hand-edited apart runs no one freight: promoting from it is
/// refused, naming the file that disagrees, and promoting into it brings them together.
#[test]
fn targets_that_disagree_are_not_promoted_from() {
    let dir = targets::repo_dir();
    let values = dir.path().join("apps/my-app-service1/env/uat/values.yaml");
    let text = std::fs::read_to_string(&values).unwrap();
    let tag = text
        .lines()
        .find(|l| l.contains("tag:"))
        .unwrap()
        .to_owned();
    std::fs::write(&values, text.replace(&tag, "    tag: \"v1.2.9\"")).unwrap();
    let (config, repo) = planner_parts(dir.path());
    let planner = Planner {
        config: &config,
        repo: &repo,
        ledger: &[],
    };
    let refused = planner
        .promote("prod", "my-app-service1", None, "quinn")
        .unwrap_err();
    insta::assert_snapshot!(refused.to_string(), @"apps/my-app-service1/env/uat/kustomization.yaml:14: the targets of uat disagree: the first pins v1.3.2, but apps/my-app-service1/env/uat/values.yaml:5 (v1.2.9) pins something else; promote to uat again to bring them together");
    // dev runs what uat's kustomization runs: promoting it into uat edits the lagging
    // file alone.
    let plan = planner
        .promote("uat", "my-app-service1", None, "quinn")
        .unwrap();
    let paths: Vec<&str> = plan.promotions[0]
        .files
        .iter()
        .map(|f| f.path.as_str())
        .collect();
    assert_eq!(paths, ["apps/my-app-service1/env/uat/values.yaml"]);
}

/// dev, uat and prod with three targets each: every pull request is one commit of Hoist's
/// that changes exactly the stage's three files; the gates, checks and replies are the
/// ones a single overlay gets; each merge leaves the base pinning the freight in all three.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_targets_move_together_through_dev_uat_prod() {
    for drive in [Drive::Engine, Drive::Serve] {
        through_every_stage(drive).await;
    }
}

async fn through_every_stage(drive: Drive) {
    let mut t = Tester::three_targets(drive).await;
    let original: Vec<(String, String)> = targets::files()
        .into_iter()
        .chain(["dev", "uat", "prod"].map(|s| {
            let p = format!("apps/my-app-service1/env/{s}/kustomization.yaml");
            let text = t.forge.base_file(&p).unwrap();
            (p, text)
        }))
        .collect();
    prod_waiting_for_owner(&mut t).await;
    for (n, stage) in [(1, "dev"), (2, "uat"), (3, "prod")] {
        let pr = t.forge.pr(n);
        assert_eq!(
            t.forge.changed_between(&pr.base_sha, &pr.head_sha),
            [
                format!("apps/my-app-service1/env/{stage}/kustomization.yaml"),
                format!("apps/my-app-service1/env/{stage}/migrate.yaml"),
                format!("apps/my-app-service1/env/{stage}/values.yaml"),
            ],
            "#{n} changes exactly {stage}'s three targets"
        );
    }
    if drive == Drive::Serve {
        // Several files are one commit: GraphQL's createCommitOnBranch on a new branch
        // (the fake's "PUT branch"), or GitHub's Git data API.
        let calls = t.forge.state.lock().unwrap().calls.clone();
        let commits = calls
            .iter()
            .filter(|c| *c == "POST commit" || c.starts_with("PUT branch"))
            .count();
        assert_eq!(commits, 3, "{calls:?}");
    }
    t.review(3, &sam(), ReviewState::Approved, None).await;
    assert_eq!(t.forge.pr(3).state, PrState::Merged);
    t.expect_wait_for_argo("prod");
    t.argo_syncs(3, "a1").await;
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @"
    #3: ✅ Verified in **prod**: my-app-service1 v1.4.0 is Synced and Healthy at 0000000 (Argo CD app my-app-service1-prod).
    ---
    check: hoist/argocd success: Ready to merge
    ") };
    let now: Vec<String> = original
        .iter()
        .filter(|(p, _)| p.contains("/prod/"))
        .map(|(p, before)| {
            format!(
                "{p}\n{}",
                targets::changed(before, &t.forge.base_file(p).unwrap())
            )
        })
        .collect();
    insta::allow_duplicates! { insta::assert_snapshot!(now.join("\n\n"), @r#"
    apps/my-app-service1/env/prod/values.yaml
    -    tag: "v1.3.0"  # promoted by Hoist
    +    tag: "v1.4.0"  # promoted by Hoist
    -    digest: sha256:f356c12dc3880c107b17cb83e3a5a525cc55ab0b2a360f135a58b4365585d725
    +    digest: sha256:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1

    apps/my-app-service1/env/prod/migrate.yaml
    -          image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app-service1:v1.3.0@sha256:f356c12dc3880c107b17cb83e3a5a525cc55ab0b2a360f135a58b4365585d725
    +          image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app-service1:v1.4.0@sha256:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1

    apps/my-app-service1/env/prod/kustomization.yaml
    -    newTag: v1.3.0   # promoted by Hoist
    +    newTag: v1.4.0   # promoted by Hoist
    -    digest: sha256:f356c12dc3880c107b17cb83e3a5a525cc55ab0b2a360f135a58b4365585d725
    +    digest: sha256:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1
    "#) };
}

/// Where prod has no Argo CD application, hoist/dag falls back to the files: a person's
/// pull request that pins prod's Helm values to the digest uat verified, but under
/// another tag (which the chart may render instead of the digest), or pins another image,
/// fails; the same digest under the verified tag passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hoist_dag_judges_a_helm_targets_tag_and_image_beside_its_digest() {
    let mut t = Tester::three_targets(Drive::Engine).await;
    let text =
        targets::config(&example_config()).replace("    argocd_app: \"{service}-prod\"\n", "");
    std::sync::Arc::get_mut(&mut t.engine).unwrap().config =
        std::sync::Arc::new(Config::parse(&text, "hoist.yaml").unwrap());
    t.push("v1.4.0", "a1").await;
    t.check(1, Some("success")).await;
    t.expect_wait_for_argo("dev");
    t.argo_syncs(1, "a1").await;
    t.comment(1, &quinn(), "/promote uat").await;
    t.check(2, Some("success")).await;
    t.expect_wait_for_argo("uat");
    t.argo_syncs(2, "a1").await;
    insta::assert_snapshot!(t.said(), @r#"
    #1: ✅ Verified in **dev**: my-app-service1 v1.4.0 is Synced and Healthy at 0000000 (Argo CD app my-app-service1-dev). Next: comment /promote uat.
    ---
    #1: 🚀 Opened #2 to promote my-app-service1 v1.4.0 to **uat**.
    ---
    #2: ✅ Verified in **uat**: my-app-service1 v1.4.0 is Synced and Healthy at 0000000 (Argo CD app my-app-service1-uat). Next: comment /promote prod.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/argocd success: Ready to merge
    check: hoist/argocd pending: Waiting
    check: hoist/argocd success: Ready to merge
    check: hoist/dag success: Every image came through the DAG
    check: hoist/dag success: Every image came through the DAG
    #1 reaction: eyes to @quinn's "/promote uat"
    #1 reaction: rocket to @quinn's "/promote uat"
    "#);
    let path = "apps/my-app-service1/env/prod/values.yaml";
    let prod = t.forge.base_file(path).unwrap();
    let pinned = |tag: &str, repo: &str| {
        prod.replace("\"v1.3.0\"", &format!("\"{tag}\""))
            .replace(
                "sha256:f356c12dc3880c107b17cb83e3a5a525cc55ab0b2a360f135a58b4365585d725",
                &digest("a1"),
            )
            .replace(
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app-service1",
                repo,
            )
    };
    let mut said = vec![];
    for (branch, tag, repo) in [
        ("alice/other-tag", "v9.9.9", IMAGE),
        (
            "alice/other-image",
            "v1.4.0",
            "registry.example.com/my-app-service1",
        ),
        ("alice/as-verified", "v1.4.0", IMAGE),
    ] {
        let (_, head) = t
            .person_pr(branch, &alice(), path, &pinned(tag, repo))
            .await;
        let s = t.forge.state.lock().unwrap();
        let c = s.checks[&head]
            .iter()
            .rev()
            .find(|c| c.name == "hoist/dag")
            .unwrap();
        said.push(format!(
            "{branch}: {}\n{}",
            c.conclusion.clone().unwrap(),
            c.url.clone().unwrap()
        ));
    }
    insta::assert_snapshot!(said.join("\n"), @"
    alice/other-tag: failure
    An image skips the promotion DAG
    ℹ️ prod: no Argo CD application is configured, so hoist/dag judges only each service's images entry in its overlay, not everything the stage renders
    ❌ /promote prod refused: prod takes freight from **uat**, and v9.9.9 (sha256:a1a1a1…a1a1) is verified in no stage yet.
    alice/other-image: failure
    An image skips the promotion DAG
    ℹ️ prod: no Argo CD application is configured, so hoist/dag judges only each service's images entry in its overlay, not everything the stage renders
    ❌ prod: hoist/dag cannot tell what apps/my-app-service1/env/prod/values.yaml deploys for my-app-service1: it names the image registry.example.com/my-app-service1, not the service's 123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app-service1
    alice/as-verified: success
    Every image came through the DAG
    ℹ️ prod: no Argo CD application is configured, so hoist/dag judges only each service's images entry in its overlay, not everything the stage renders
    ✅ prod: my-app-service1 v1.4.0 (sha256:a1a1a1…a1a1) is verified in uat
    ");
    t.said();
}
