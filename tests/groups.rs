//! Freight groups: services whose images ship together, one pull request per stage, on
//! the engine and through the real `hoist serve`.

mod support;

use hoist::config::Config;
use hoist::freight::Freight;
use hoist::image::{Digest, ImageName, Tag};
use hoist::plan::{Planner, Proposal};
use hoist::repo::DirRepo;
use support::tester::*;

fn config() -> Config {
    let text = example_config().replace(
        "\nmerge:",
        "\ngroups:\n  shop: { services: [my-app-service1, my-app-service2], source: commit }\n\nmerge:",
    );
    Config::parse(&text, "hoist.yaml").unwrap()
}

fn freight(service: &str, tag: &str, seed: &str) -> Freight {
    Freight {
        service: service.into(),
        image: ImageName::parse(&format!(
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/{service}"
        ))
        .unwrap(),
        tag: Tag::parse(tag).unwrap(),
        digest: Digest::parse(&digest(seed)).unwrap(),
        source: Some("3f9c2d1".into()),
        pushed_at: None,
    }
}

#[test]
fn groups_are_checked_where_they_are_written() {
    let text = example_config().replace(
        "\nmerge:",
        "\ngroups:\n  my-app-service1: { services: [my-app-service2] }\n  two: { services: [my-app-service2, my-app-servce1, my-app-service2] }\n\nmerge:",
    );
    let e = Config::parse(&text, "hoist.yaml").unwrap_err();
    let got: Vec<String> = e.0.iter().map(|e| e.message.clone()).collect();
    insta::assert_snapshot!(got.join("\n"), @r#"
    group "my-app-service1" has a service's name; name it apart, since its pull requests are named by it
    a group needs at least two services
    "my-app-service2" is in groups "my-app-service1" and "two"; a service ships with one group
    "my-app-servce1" is not a service (services: my-app-service1, my-app-service2, billing-api, nightly-report). Did you mean "my-app-service1"?
    "my-app-service2" is named twice in group "two"
    "#);
}

/// A group's freight moves in one pull request per stage: every member's targets in one
/// commit, the title and commit naming each member.
#[test]
fn a_groups_freight_is_one_pull_request() {
    let config = config();
    let repo = DirRepo::new(std::path::Path::new("examples/gitops"));
    let planner = Planner {
        config: &config,
        repo: &repo,
        ledger: &[],
    };
    let members = [
        freight("my-app-service1", "v1.4.0", "a1"),
        freight("my-app-service2", "2.4.0", "b2"),
    ];
    let Proposal::Promote(p) = planner
        .group_to_stage("dev", "shop", &members, "ecr-push")
        .unwrap()
    else {
        panic!("nothing planned")
    };
    let paths: Vec<&str> = p.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "apps/my-app-service1/env/dev/kustomization.yaml",
            "apps/my-app-service2/env/dev/kustomization.yaml"
        ]
    );
    insta::assert_snapshot!(format!("{}\n{}\n{}", p.branch, p.title, p.commit_message), @"
    hoist/dev/shop
    Promote shop (my-app-service1 v1.4.0, my-app-service2 2.4.0) to dev
    Promote shop (my-app-service1 v1.4.0, my-app-service2 2.4.0) to dev

    Hoist-Freight: my-app-service1@sha256:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1
    Hoist-Stage: dev
    Hoist-Requested-By: ecr-push

    Hoist-Freight: my-app-service2@sha256:b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2
    Hoist-Stage: dev
    Hoist-Requested-By: ecr-push
    ");
}

/// A member that would go back a version (dev runs my-app-service2 2.3.1) stops the
/// whole group, naming the member: the group moves as one or not at all.
#[test]
fn a_members_downgrade_stops_the_whole_group() {
    let config = config();
    let repo = DirRepo::new(std::path::Path::new("examples/gitops"));
    let planner = Planner {
        config: &config,
        repo: &repo,
        ledger: &[],
    };
    let members = [
        freight("my-app-service1", "v1.4.0", "a1"),
        freight("my-app-service2", "2.2.0", "b2"),
    ];
    let Proposal::Nothing(why) = planner
        .group_to_stage("dev", "shop", &members, "ecr-push")
        .unwrap()
    else {
        panic!("the group moved with a downgrade")
    };
    insta::assert_snapshot!(why, @"my-app-service2: runs 2.3.1, newer than 2.2.0; Hoist does not downgrade unless the service sets allow_downgrade: true");
}

/// `hoist plan` with the events of a group's pushes: a member alone waits for the
/// others; with every member's image under one tag, the group's one pull request.
#[test]
fn hoist_plan_shows_a_waiting_group_then_its_pull_request() {
    let dir = tempfile::tempdir().unwrap();
    let text = example_config()
        .replace(
            "\nmerge:",
            "\ngroups:\n  shop: { services: [my-app-service1, my-app-service2], source: tag }\n\nmerge:",
        )
        .replace("tags: { semver: \"^2.3\", ignore: [\"-debug$\"] }", "tags: { semver: \"*\" }")
        .replace("tags: { semver: \">=1.0.0 <2.0.0\" }", "tags: { semver: \"*\" }");
    let cfg = dir.path().join("hoist.yaml");
    std::fs::write(&cfg, text).unwrap();
    // Both members pushed as v2.4.0.
    let example =
        std::fs::read_to_string("examples/events/ecr-push-my-app-service1-v1.4.0.json").unwrap();
    let one = dir.path().join("one.json");
    std::fs::write(&one, example.replace("\"v1.4.0\"", "\"v2.4.0\"")).unwrap();
    let two = dir.path().join("two.json");
    std::fs::write(
        &two,
        example
            .replace("\"v1.4.0\"", "\"v2.4.0\"")
            .replace("\"my-app-service1\"", "\"my-app-service2\"")
            .replace("41cffb13", "52dffb13"),
    )
    .unwrap();
    let run = |events: &[&std::path::Path]| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_hoist"));
        c.args(["plan", "--config"])
            .arg(&cfg)
            .args(["--repo", "examples/gitops", "--event"]);
        c.args(events);
        let out = c.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with(' ') && !l.is_empty())
            .map(|l| l.replace(&dir.path().display().to_string(), "TMP"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    insta::assert_snapshot!(run(&[&one]), @"
    == TMP/one.json ==
    nothing to do: my-app-service1 v2.4.0 is in group shop: it moves with the group, never alone
    == group shop at v2.4.0 ==
    nothing to do: group shop: waiting for my-app-service2 at v2.4.0
    ");
    insta::assert_snapshot!(run(&[&one, &two]), @"
    == TMP/one.json ==
    nothing to do: my-app-service1 v2.4.0 is in group shop: it moves with the group, never alone
    == TMP/two.json ==
    nothing to do: my-app-service2 v2.4.0 is in group shop: it moves with the group, never alone
    == group shop at v2.4.0 ==
    dev  shop  v1.3.2 -> v2.4.0  branch hoist/dev/shop
    Promote shop (my-app-service1 v2.4.0, my-app-service2 v2.4.0) to dev
    Commit message:
    Pull request body:
    Gate (hoist/argocd on the new HEAD; Hoist merges once every line is met):
    --- a/apps/my-app-service1/env/dev/kustomization.yaml
    +++ b/apps/my-app-service1/env/dev/kustomization.yaml
    @@ -13,5 +13,5 @@
    -    newTag: v1.3.2   # promoted by Hoist
    -    digest: sha256:41828da5541005335d4bcc6a684e3fe302b8c73dc0cd2be954109f93d5b00a08
    +    newTag: v2.4.0   # promoted by Hoist
    +    digest: sha256:41cffb13e817b003b409b06efb5b6233482fe8c4da77440d74288d0723df3749
    --- a/apps/my-app-service2/env/dev/kustomization.yaml
    +++ b/apps/my-app-service2/env/dev/kustomization.yaml
    @@ -13,5 +13,5 @@
    -    newTag: 2.3.1   # promoted by Hoist
    -    digest: sha256:aeee7005e3d4345f895f35ea252af416cd15abfa1b996544533f866ae7feec40
    +    newTag: v2.4.0   # promoted by Hoist
    +    digest: sha256:52dffb13e817b003b409b06efb5b6233482fe8c4da77440d74288d0723df3749
    ");
}

/// A group's head is recorded with every member's freight, read back from the store, and
/// carried by the record Hoist publishes (from which a lost store is rebuilt).
#[tokio::test]
async fn a_groups_head_keeps_every_member() {
    let dir = tempfile::tempdir().unwrap();
    let store = hoist::store::Store::open(&dir.path().join("h.db")).unwrap();
    let members = [
        freight("my-app-service1", "v1.4.0", "a1"),
        freight("my-app-service2", "2.4.0", "b2"),
    ];
    store
        .record_group_head("abc123", "dev", "shop", &members, &quinn())
        .await
        .unwrap();
    store.attach_head("abc123", 7).await.unwrap();
    let head = store.hoist_head("abc123").await.unwrap().unwrap();
    assert_eq!(head.group.as_deref(), Some("shop"));
    let services: Vec<&str> = head
        .all_freight()
        .iter()
        .map(|f| f.service.as_str())
        .collect();
    assert_eq!(services, ["my-app-service1", "my-app-service2"]);
    assert_eq!(head.members[1].digest.as_str(), digest("b2"));
    let again =
        hoist::store::heads::HoistHead::from_record(&head.to_record(), 7, "abc123").unwrap();
    assert_eq!(again, head);
    // A service's own head has no group and promotes its one freight.
    store
        .record_head("def456", "dev", &members[0], &quinn())
        .await
        .unwrap();
    let one = store.hoist_head("def456").await.unwrap().unwrap();
    assert_eq!((one.group.as_deref(), one.all_freight().len()), (None, 1));
}

/// On the engine: a member's push waits (no pull request); the other member's push under
/// the same tag opens the group's one pull request, whose one commit changes both
/// members' files, and whose head Hoist records with both members.
#[tokio::test]
async fn the_second_members_push_opens_the_groups_pull_request() {
    let mut t = Tester::new();
    let text = example_config()
        .replace(
            "\nmerge:",
            "\ngroups:\n  shop: { services: [my-app-service1, my-app-service2], source: tag }\n\nmerge:",
        )
        .replace("tags: { semver: \"^2.3\", ignore: [\"-debug$\"] }", "tags: { semver: \"*\" }")
        .replace("tags: { semver: \">=1.0.0 <2.0.0\" }", "tags: { semver: \"*\" }");
    std::sync::Arc::get_mut(&mut t.engine).unwrap().config =
        std::sync::Arc::new(Config::parse(&text, "hoist.yaml").unwrap());
    let push = |service: &str, seed: &str| hoist::event::Event::ImagePushed {
        image: format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/{service}"),
        tag: "v2.4.0".into(),
        digest: digest(seed),
        time: "2026-11-26T09:58:00Z".into(),
    };
    t.deliver(push("my-app-service1", "a1")).await;
    assert_eq!(
        t.forge.state.lock().unwrap().prs.len(),
        0,
        "one member waits"
    );
    let waiting = t.engine.store.waiting().await.unwrap();
    assert_eq!(
        (waiting[0].group.as_str(), waiting[0].key.as_str()),
        ("shop", "v2.4.0")
    );
    t.deliver(push("my-app-service2", "b2")).await;
    let pr = t.forge.pr(1);
    assert_eq!(
        (pr.head_ref.as_str(), pr.title.as_str()),
        (
            "hoist/dev/shop",
            "Promote shop (my-app-service1 v2.4.0, my-app-service2 v2.4.0) to dev"
        )
    );
    assert_eq!(
        t.forge.changed_between(&pr.base_sha, &pr.head_sha),
        [
            "apps/my-app-service1/env/dev/kustomization.yaml",
            "apps/my-app-service2/env/dev/kustomization.yaml"
        ]
    );
    let head = t
        .engine
        .store
        .hoist_head(&pr.head_sha)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(head.members.len(), 2);
    assert!(t.engine.store.waiting().await.unwrap().is_empty());
    // The gate is every member's: each one's required check and application.
    let gate = {
        let s = t.forge.state.lock().unwrap();
        let c = s.checks[&pr.head_sha]
            .iter()
            .rev()
            .find(|c| c.name == "hoist/argocd")
            .unwrap();
        c.url.clone().unwrap()
    };
    insta::assert_snapshot!(gate, @r#"
    Waiting
    ⏳ render/my-app-service1-dev on 0000000 from the GitHub App acme-gitops-ci
    ⏳ render/my-app-service2-dev on 0000000 from the GitHub App acme-gitops-ci
    ✅ Argo CD renders my-app-service1-dev at 0000000 (2 manifests)
    ✅ Argo CD renders my-app-service2-dev at 0000000 (2 manifests)

    <details><summary>Rendered diff</summary>

    ```diff
    --- a/my-app-service1-dev manifests
    +++ b/my-app-service1-dev manifests
    @@ -1,2 +1,2 @@
    -{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"labels":{"app.kubernetes.io/name":"my-app-service1"},"name":"my-app-service1"},"spec":{"replicas":2,"selector":{"matchLabels":{"app.kubernetes.io/name":"my-app-service1"}},"template":{"metadata":{"labels":{"app.kubernetes.io/name":"my-app-service1"}},"spec":{"containers":[{"image":"123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app-service1@sha256:41828da5541005335d4bcc6a684e3fe302b8c73dc0cd2be954109f93d5b00a08","name":"app","ports":[{"containerPort":8080,"name":"http"}],"readinessProbe":{"httpGet":{"path":"/healthz","port":"http"}},"resources":{"limits":{"memory":"256Mi"},"requests":{"cpu":"100m","memory":"128Mi"}}}]}}}}
    +{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"labels":{"app.kubernetes.io/name":"my-app-service1"},"name":"my-app-service1"},"spec":{"replicas":2,"selector":{"matchLabels":{"app.kubernetes.io/name":"my-app-service1"}},"template":{"metadata":{"labels":{"app.kubernetes.io/name":"my-app-service1"}},"spec":{"containers":[{"image":"123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app-service1@sha256:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1","name":"app","ports":[{"containerPort":8080,"name":"http"}],"readinessProbe":{"httpGet":{"path":"/healthz","port":"http"}},"resources":{"limits":{"memory":"256Mi"},"requests":{"cpu":"100m","memory":"128Mi"}}}]}}}}
     {"apiVersion":"v1","kind":"Service","metadata":{"name":"my-app-service1"},"spec":{"ports":[{"name":"http","port":80,"targetPort":"http"}],"selector":{"app.kubernetes.io/name":"my-app-service1"}}}
    \ No newline at end of file
    --- a/my-app-service2-dev manifests
    +++ b/my-app-service2-dev manifests
    @@ -1,2 +1,2 @@
    -{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"labels":{"app.kubernetes.io/name":"my-app-service2"},"name":"my-app-service2"},"spec":{"replicas":2,"selector":{"matchLabels":{"app.kubernetes.io/name":"my-app-service2"}},"template":{"metadata":{"labels":{"app.kubernetes.io/name":"my-app-service2"}},"spec":{"containers":[{"image":"123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app-service2@sha256:aeee7005e3d4345f895f35ea252af416cd15abfa1b996544533f866ae7feec40","name":"app","ports":[{"containerPort":8080,"name":"http"}],"readinessProbe":{"httpGet":{"path":"/healthz","port":"http"}},"resources":{"limits":{"memory":"256Mi"},"requests":{"cpu":"100m","memory":"128Mi"}}}]}}}}
    +{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"labels":{"app.kubernetes.io/name":"my-app-service2"},"name":"my-app-service2"},"spec":{"replicas":2,"selector":{"matchLabels":{"app.kubernetes.io/name":"my-app-service2"}},"template":{"metadata":{"labels":{"app.kubernetes.io/name":"my-app-service2"}},"spec":{"containers":[{"image":"123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app-service2@sha256:b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2","name":"app","ports":[{"containerPort":8080,"name":"http"}],"readinessProbe":{"httpGet":{"path":"/healthz","port":"http"}},"resources":{"limits":{"memory":"256Mi"},"requests":{"cpu":"100m","memory":"128Mi"}}}]}}}}
     {"apiVersion":"v1","kind":"Service","metadata":{"name":"my-app-service2"},"spec":{"ports":[{"name":"http","port":80,"targetPort":"http"}],"selector":{"app.kubernetes.io/name":"my-app-service2"}}}
    \ No newline at end of file
    ```
    </details>
    "#);
    insta::assert_snapshot!(t.said(), @"
    check: hoist/argocd pending: Waiting
    check: hoist/dag success: No gated image values change
    ");
}

/// The group's dev pull request merges once every member's required check passed, and
/// is verified only when every member's application runs its image: while one does not,
/// Hoist waits on it by name. The same through the real `hoist serve`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_is_verified_only_when_every_member_runs() {
    for drive in [Drive::Engine, Drive::Serve] {
        verified_only_when_every_member_runs(drive).await;
    }
}

async fn verified_only_when_every_member_runs(drive: Drive) {
    let mut t = grouped(|c| c);
    if drive == Drive::Serve {
        t.served = Some(support::served::Served::start_edited(&t.forge, &t.argo, shop).await);
    }
    let image = |s: &str| format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/{s}");
    for (service, seed) in [("my-app-service1", "a1"), ("my-app-service2", "b2")] {
        t.deliver(hoist::event::Event::ImagePushed {
            image: image(service),
            tag: "v2.4.0".into(),
            digest: digest(seed),
            time: "2026-11-26T09:58:00Z".into(),
        })
        .await;
    }
    let head = t.forge.pr(1).head_sha;
    for (i, service) in ["my-app-service1", "my-app-service2"].iter().enumerate() {
        let name = format!("render/{service}-dev");
        t.forge
            .state
            .lock()
            .unwrap()
            .checks
            .entry(head.clone())
            .or_default()
            .push(support::memory_forge::ci_run(&name, Some("success"), None));
        t.deliver(hoist::event::Event::CheckCompleted {
            repo: Tester::repo(),
            source: hoist::event::CheckSource::CheckRun,
            name,
            conclusion: "success".into(),
            head_sha: head.clone(),
            prs: vec![1],
        })
        .await;
        let merged = t.forge.pr(1).state == hoist::forge::PrState::Merged;
        assert_eq!(merged, i == 1, "merged only once both checks passed");
    }
    let sha = t.forge.pr(1).merge_sha.unwrap();
    let closed = hoist::event::Event::PullRequestClosed {
        repo: Tester::repo(),
        pr: 1,
        head_ref: "hoist/dev/shop".into(),
        merged: true,
        merge_commit_sha: Some(sha.clone()),
        merged_pr: None,
    };
    t.argo.synced(
        "my-app-service1-dev",
        &sha,
        &format!("{}@{}", image("my-app-service1"), digest("a1")),
    );
    t.deliver(closed.clone()).await;
    t.expect_waits("Argo CD has no application my-app-service1-dev\nArgo CD has no application my-app-service2-dev");
    t.argo.synced(
        "my-app-service2-dev",
        &sha,
        &format!("{}@{}", image("my-app-service2"), digest("b2")),
    );
    t.deliver(closed).await;
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @"
    #1: ✅ Verified in **dev**: shop (my-app-service1 v2.4.0, my-app-service2 v2.4.0) is Synced and Healthy at 0000000 (Argo CD apps my-app-service1-dev, my-app-service2-dev). Next: comment /promote uat.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/argocd pending: Waiting
    check: hoist/argocd success: Ready to merge
    check: hoist/dag success: No gated image values change
    ") };
    for s in ["my-app-service1", "my-app-service2"] {
        let store = hoist::store::Store::open(&t.db()).unwrap();
        let ledger = store.ledger_for(s).await.unwrap();
        assert!(
            ledger
                .iter()
                .any(|p| p.stage == "dev" && p.verified_at.is_some()),
            "{s} verified in dev"
        );
    }
    // /promote uat on the group's pull request moves the whole group, in one pull request.
    t.comment(1, &quinn(), "/promote uat").await;
    let uat = t.forge.pr(2);
    assert_eq!(
        uat.title,
        "Promote shop (my-app-service1 v2.4.0, my-app-service2 v2.4.0) to uat"
    );
    assert_eq!(
        t.forge.changed_between(&uat.base_sha, &uat.head_sha),
        [
            "apps/my-app-service1/env/uat/kustomization.yaml",
            "apps/my-app-service2/env/uat/kustomization.yaml"
        ]
    );
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @r#"
    #1: 🚀 Opened #2 to promote shop (my-app-service1 v2.4.0, my-app-service2 v2.4.0) to **uat**.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/dag success: Every image came through the DAG
    #1 reaction: eyes to @quinn's "/promote uat"
    #1 reaction: rocket to @quinn's "/promote uat"
    "#) };
}

/// A tester whose config groups my-app-service1 and my-app-service2 as `shop`, matched by
/// tag, with `edit` applied to the config's text.
fn grouped(edit: impl Fn(String) -> String) -> Tester {
    let mut t = Tester::new();
    let text = shop(&example_config());
    std::sync::Arc::get_mut(&mut t.engine).unwrap().config =
        std::sync::Arc::new(Config::parse(&edit(text), "hoist.yaml").unwrap());
    t
}

/// `text` with my-app-service1 and my-app-service2 grouped as `shop`, matched by tag,
/// and any tag accepted.
fn shop(text: &str) -> String {
    text.replace(
        "\nmerge:",
        "\ngroups:\n  shop: { services: [my-app-service1, my-app-service2], source: tag }\n\nmerge:",
    )
    .replace("tags: { semver: \"^2.3\", ignore: [\"-debug$\"] }", "tags: { semver: \"*\" }")
    .replace("tags: { semver: \">=1.0.0 <2.0.0\" }", "tags: { semver: \"*\" }")
}

fn image(service: &str) -> String {
    format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/{service}")
}

fn push(service: &str, tag: &str, seed: &str) -> hoist::event::Event {
    hoist::event::Event::ImagePushed {
        image: image(service),
        tag: tag.into(),
        digest: digest(seed),
        time: "2026-11-26T09:58:00Z".into(),
    }
}

/// Every member's required check passes on pull request `pr`, which Hoist then merges.
async fn pass_checks(t: &mut Tester, pr: u64) {
    let head = t.forge.pr(pr).head_sha;
    let stage = t
        .forge
        .pr(pr)
        .head_ref
        .split('/')
        .nth(1)
        .unwrap()
        .to_owned();
    for service in ["my-app-service1", "my-app-service2"] {
        let name = format!("render/{service}-{stage}");
        t.forge
            .state
            .lock()
            .unwrap()
            .checks
            .entry(head.clone())
            .or_default()
            .push(support::memory_forge::ci_run(&name, Some("success"), None));
        t.deliver(hoist::event::Event::CheckCompleted {
            repo: Tester::repo(),
            source: hoist::event::CheckSource::CheckRun,
            name,
            conclusion: "success".into(),
            head_sha: head.clone(),
            prs: vec![pr],
        })
        .await;
    }
}

/// A member pushed twice under one key moves with its latest image; a key the group's
/// freight overtook stops waiting. After the merge, one member's application is
/// Degraded: the group is not verified and its automatic downstream stage does not
/// open, and the one deploy comment names that member. When it recovers, one line says
/// the group is verified, and the automatic stage opens for the whole group.
#[tokio::test]
async fn a_group_waits_on_a_failing_member_then_moves_on_together() {
    let mut t = grouped(|c| {
        c.replace(
            "upstream: [dev]\n    gate: { command: true, promoters: [\"@acme/qa\"] }",
            "upstream: [dev]\n    auto: true",
        )
    });
    t.deliver(push("my-app-service1", "v2.3.0", "c3")).await;
    t.advance(std::time::Duration::from_secs(60));
    t.deliver(push("my-app-service1", "v2.4.0", "a1")).await;
    t.deliver(push("my-app-service1", "v2.4.0", "a9")).await;
    let keys = |w: Vec<hoist::store::arrivals::Waiting>| -> Vec<String> {
        w.iter().map(|w| w.key.clone()).collect()
    };
    assert_eq!(
        keys(t.engine.store.waiting().await.unwrap()),
        ["v2.4.0", "v2.3.0"]
    );
    t.deliver(push("my-app-service2", "v2.4.0", "b2")).await;
    assert!(
        t.engine.store.waiting().await.unwrap().is_empty(),
        "v2.3.0 is overtaken"
    );
    let pr = t.forge.pr(1);
    assert_eq!(
        pr.title,
        "Promote shop (my-app-service1 v2.4.0, my-app-service2 v2.4.0) to dev"
    );
    let dev = t
        .forge
        .file_at(
            &pr.head_sha,
            "apps/my-app-service1/env/dev/kustomization.yaml",
        )
        .unwrap();
    assert!(
        dev.contains(&digest("a9")),
        "the latest image of the member: {dev}"
    );
    pass_checks(&mut t, 1).await;
    let merged = t
        .forge
        .pr(1)
        .merge_sha
        .expect("merged once both checks passed");
    assert_eq!(
        *t.argo.refreshed.lock().unwrap(),
        ["my-app-service1-dev", "my-app-service2-dev"],
        "every member's application is asked to look"
    );
    t.expect_wait_for_argo("dev");
    insta::assert_snapshot!(t.said(), @"
    #1: ⏳ Deploying to **dev**: merged as `0000000`; Argo CD app [my-app-service1-dev](ARGOCD/applications/my-app-service1-dev): Argo CD has no application my-app-service1-dev. Hoist looks again and updates this comment.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/argocd pending: Waiting
    check: hoist/argocd success: Ready to merge
    check: hoist/dag success: No gated image values change
    ");
    t.argo.synced(
        "my-app-service1-dev",
        &merged,
        &format!("{}@{}", image("my-app-service1"), digest("a9")),
    );
    t.argo.synced(
        "my-app-service2-dev",
        &merged,
        &format!("{}@{}", image("my-app-service2"), digest("b2")),
    );
    {
        let mut apps = t.argo.apps.lock().unwrap();
        let app = apps.get_mut("my-app-service2-dev").unwrap();
        app.health = "Degraded".into();
        app.message = Some("Deployment \"worker\" exceeded its progress deadline".into());
    }
    assert_eq!(t.engine.reconcile().await.unwrap().unverified, 1);
    insta::assert_snapshot!(t.said(), @r#"
    #1, edited: ❌ Deploying to **dev**: Argo CD app [my-app-service2-dev](ARGOCD/applications/my-app-service2-dev) is Degraded at `0000000`: Deployment "worker" exceeded its progress deadline

    Hoist keeps watching, and verifies it if it recovers. To put back what ran before, revert this merge in the GitOps repository (shop is a group, which `/rollback` does not take yet); `/hold` on an open promotion keeps Hoist from merging it meanwhile.
    "#);
    assert_eq!(
        t.forge.state.lock().unwrap().prs.len(),
        1,
        "uat waits for the group"
    );
    t.argo.synced(
        "my-app-service2-dev",
        &merged,
        &format!("{}@{}", image("my-app-service2"), digest("b2")),
    );
    assert_eq!(t.engine.reconcile().await.unwrap().unverified, 0);
    insta::assert_snapshot!(t.said(), @"#1, edited: ✅ Verified in **dev**: shop (my-app-service1 v2.4.0, my-app-service2 v2.4.0) is Synced and Healthy at 0000000 (Argo CD apps my-app-service1-dev, my-app-service2-dev).");
    let uat = t.forge.pr(2);
    assert_eq!(
        uat.title,
        "Promote shop (my-app-service1 v2.4.0, my-app-service2 v2.4.0) to uat"
    );
    assert_eq!(
        t.forge.changed_between(&uat.base_sha, &uat.head_sha),
        [
            "apps/my-app-service1/env/uat/kustomization.yaml",
            "apps/my-app-service2/env/uat/kustomization.yaml"
        ]
    );
}

/// A member's push alone shows in `hoist status` (and its JSON) and on the status page:
/// the group, its key, what arrived and who is missing.
#[tokio::test]
async fn a_waiting_group_is_shown_in_hoist_status_and_on_the_status_page() {
    let t = grouped(|c| c);
    t.deliver(push("my-app-service1", "v2.4.0", "a1")).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hoist.yaml");
    std::fs::write(
        &config,
        example_config().replace(
            "\nmerge:",
            "\ngroups:\n  shop: { services: [my-app-service1, my-app-service2], source: tag }\n\nmerge:",
        ),
    )
    .unwrap();
    let run = |extra: &[&str]| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_hoist"))
            .arg("status")
            .arg("--config")
            .arg(&config)
            .arg("--db")
            .arg(t.db())
            .args(extra)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    let text = ages(&run(&[]));
    let lines: Vec<&str> = text.lines().collect();
    let tail = &lines[lines.len() - 2..];
    insta::assert_snapshot!(tail.join("\n"), @"
    group shop: waiting for my-app-service2 at v2.4.0 (arrived: my-app-service1 v2.4.0, latest AGE ago)
    (what runs is from Hoist's ledger alone; give --repo with a checkout of the base branch, or --live, to read the overlays)
    ");
    let json: serde_json::Value = serde_json::from_str(&run(&["--json"])).unwrap();
    insta::assert_snapshot!(json["waiting_groups"].to_string(), @r#"[{"arrived":["my-app-service1 v2.4.0"],"group":"shop","key":"v2.4.0","missing":["my-app-service2"],"since_ms":1795687200000}]"#);
    let grid = hoist::status::grid(
        &t.engine.config,
        Some(&t.engine.store),
        None,
        t.engine.store.now_ms(),
    )
    .await
    .unwrap();
    let html = hoist::server::status_page::render(&grid, None, &[]);
    let list = &html[html.find("<ul id=\"groups\">").unwrap()..];
    insta::assert_snapshot!(&list[..list.find("</ul>").unwrap()], @r#"<ul id="groups"><li>group shop: waiting for my-app-service2 at v2.4.0 (arrived: my-app-service1 v2.4.0, latest 0s ago)</li>"#);
}

/// The store is lost after a group's dev merge and its uat pull request: `ledger
/// rebuild` restores from Hoist's own records the group's heads with every member, and
/// each member's ledger rows; reconcile re-verifies dev for both without a word, and the
/// uat pull request is still judged as the group's.
#[tokio::test]
async fn a_lost_store_is_rebuilt_with_its_groups() {
    let mut t = grouped(|c| c);
    t.deliver(push("my-app-service1", "v2.4.0", "a1")).await;
    t.deliver(push("my-app-service2", "v2.4.0", "b2")).await;
    pass_checks(&mut t, 1).await;
    let merged = t.forge.pr(1).merge_sha.unwrap();
    for (s, seed) in [("my-app-service1", "a1"), ("my-app-service2", "b2")] {
        let run = format!("{}@{}", image(s), digest(seed));
        t.argo.synced(&format!("{s}-dev"), &merged, &run);
    }
    t.expect_wait_for_argo("dev");
    assert_eq!(t.engine.reconcile().await.unwrap().unverified, 0);
    t.comment(1, &quinn(), "/promote uat").await;
    t.said();
    let dir = tempfile::tempdir().unwrap();
    std::sync::Arc::get_mut(&mut t.engine).unwrap().store =
        hoist::store::Store::open(&dir.path().join("new.db")).unwrap();
    assert_eq!(t.engine.rebuild_ledger().await.unwrap(), 2);
    let uat = t.forge.pr(2);
    let head = t
        .engine
        .store
        .hoist_head(&uat.head_sha)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (head.group.as_deref(), head.members.len(), head.pr),
        (Some("shop"), 2, Some(2))
    );
    for (s, seed) in [("my-app-service1", "a1"), ("my-app-service2", "b2")] {
        let dev = t
            .engine
            .store
            .ledger_get(s, "dev", &digest(seed))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (dev.pr, dev.merge_sha.as_deref()),
            (Some(1), Some(merged.as_str()))
        );
        let uat = t
            .engine
            .store
            .ledger_get(s, "uat", &digest(seed))
            .await
            .unwrap();
        assert_eq!(uat.map(|p| p.pr), Some(Some(2)), "{s} pending in uat");
    }
    assert_eq!(t.engine.reconcile().await.unwrap().unverified, 0);
    for s in ["my-app-service1", "my-app-service2"] {
        let store = hoist::store::Store::open(&t.db()).unwrap();
        let ledger = store.ledger_for(s).await.unwrap();
        assert!(
            ledger
                .iter()
                .any(|p| p.stage == "dev" && p.verified_at.is_some()),
            "{s} verified in dev again"
        );
    }
    // As for one service's: the new store has no record of uat's check, so it is
    // published again, the group's gate unchanged.
    insta::assert_snapshot!(t.said(), @"check: hoist/argocd pending: Waiting");
}

/// A redelivered push of a member whose group already moved is not a new arrival; the
/// group's newer freight takes over its open pull request, which says what it was.
#[tokio::test]
async fn a_groups_newer_freight_takes_over_its_open_pull_request() {
    let mut t = grouped(|c| c);
    t.deliver(push("my-app-service1", "v2.4.0", "a1")).await;
    t.deliver(push("my-app-service2", "v2.4.0", "b2")).await;
    t.deliver(push("my-app-service2", "v2.4.0", "b2")).await;
    assert!(
        t.engine.store.waiting().await.unwrap().is_empty(),
        "nothing waits"
    );
    t.said();
    t.deliver(push("my-app-service1", "v2.5.0", "a5")).await;
    t.deliver(push("my-app-service2", "v2.5.0", "b5")).await;
    let pr = t.forge.pr(1);
    assert_eq!(
        (pr.title.as_str(), t.forge.state.lock().unwrap().prs.len()),
        (
            "Promote shop (my-app-service1 v2.5.0, my-app-service2 v2.5.0) to dev",
            1
        )
    );
    let head = t
        .engine
        .store
        .hoist_head(&pr.head_sha)
        .await
        .unwrap()
        .unwrap();
    let digests: Vec<String> = head.members.iter().map(|m| m.digest.to_string()).collect();
    assert_eq!(digests, [digest("a5"), digest("b5")]);
    insta::assert_snapshot!(t.said(), @"#1: ♻️ Updated to my-app-service1 v2.5.0, my-app-service2 v2.5.0 (was my-app-service1 v2.4.0, my-app-service2 v2.4.0): a newer image arrived before this PR merged.");
}

/// A release tags every member: one member's image did not change (its new tag names the
/// digest that already went to dev). The group still completes under the new tag, and
/// its open pull request moves to it.
#[tokio::test]
async fn a_member_retagged_unchanged_still_completes_its_group() {
    let mut t = grouped(|c| c);
    t.deliver(push("my-app-service1", "v2.4.0", "a1")).await;
    t.deliver(push("my-app-service2", "v2.4.0", "b2")).await;
    t.deliver(push("my-app-service1", "v2.5.0", "a1")).await;
    t.deliver(push("my-app-service2", "v2.5.0", "b5")).await;
    assert!(
        t.engine.store.waiting().await.unwrap().is_empty(),
        "nothing waits"
    );
    assert_eq!(
        t.forge.pr(1).title,
        "Promote shop (my-app-service1 v2.5.0, my-app-service2 v2.5.0) to dev"
    );
    insta::assert_snapshot!(t.said(), @"
    #1: ♻️ Updated to my-app-service1 v2.5.0, my-app-service2 v2.5.0 (was my-app-service1 v2.4.0, my-app-service2 v2.4.0): a newer image arrived before this PR merged.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/dag success: No gated image values change
    ");
    // An older group's freight completing later does not take the newer one's place.
    t.deliver(push("my-app-service1", "v2.3.0", "c1")).await;
    t.deliver(push("my-app-service2", "v2.3.0", "c2")).await;
    assert_eq!(
        t.forge.pr(1).title,
        "Promote shop (my-app-service1 v2.5.0, my-app-service2 v2.5.0) to dev"
    );
    assert_eq!(t.forge.state.lock().unwrap().prs.len(), 1);
    insta::assert_snapshot!(t.said(), @"");
}

/// `source: commit` matches members by the whole revision label the registry reports,
/// whatever each image says its repository is; an image with none joins nothing.
#[tokio::test]
async fn members_are_matched_by_their_source_commit() {
    let mut t = grouped(|c| c.replace("source: tag", "source: commit"));
    let rev = "3f9c2d1e8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d";
    for (seed, source) in [
        ("a1", "https://github.com/acme/shop"),
        ("b2", "git@github.com:acme/shop.git"),
    ] {
        t.registry.labels.lock().unwrap().insert(
            digest(seed),
            [
                (
                    "org.opencontainers.image.revision".to_owned(),
                    rev.to_owned(),
                ),
                (
                    "org.opencontainers.image.source".to_owned(),
                    source.to_owned(),
                ),
            ]
            .into(),
        );
    }
    t.deliver(push("my-app-service1", "v2.4.0", "a1")).await;
    let waiting = t.engine.store.waiting().await.unwrap();
    assert_eq!(waiting[0].key, rev);
    t.deliver(push("my-app-service2", "2.4.0", "x9")).await;
    assert_eq!(
        t.engine.store.waiting().await.unwrap().len(),
        1,
        "no label, no group"
    );
    t.deliver(push("my-app-service2", "2.4.1", "b2")).await;
    assert_eq!(
        t.forge.pr(1).title,
        "Promote shop (my-app-service1 v2.4.0, my-app-service2 2.4.1) to dev"
    );
    insta::assert_snapshot!(t.said(), @"
    check: hoist/argocd pending: Waiting
    check: hoist/dag success: No gated image values change
    ");
}

/// A service's own pull request, opened before the config put it in a group, is not
/// merged when its checks pass: it would move a member alone.
#[tokio::test]
async fn a_members_own_pull_request_is_not_merged_once_grouped() {
    let mut t = Tester::new();
    t.push("v1.4.0", "a1").await;
    t.said();
    std::sync::Arc::get_mut(&mut t.engine).unwrap().config =
        std::sync::Arc::new(Config::parse(&shop(&example_config()), "hoist.yaml").unwrap());
    t.check(1, Some("success")).await;
    assert_eq!(t.forge.pr(1).state, hoist::forge::PrState::Open);
    insta::assert_snapshot!(t.said(), @"#1: ⛔ my-app-service1 ships with group shop: Hoist does not merge this pull request, which would move it alone. The group's pull request moves it; close this one.");
}

/// A two-member group through dev, uat and prod on the in-memory GitHub forge: one pull
/// request per stage, each merged once every member's check passed (and, for prod, a
/// code owner approved), each verified once both applications run their images.
#[tokio::test]
async fn a_group_moves_through_every_stage() {
    let mut t = grouped(|c| c);
    t.deliver(push("my-app-service1", "v2.4.0", "a1")).await;
    t.deliver(push("my-app-service2", "v2.4.0", "b2")).await;
    for (pr, stage) in [(1, "dev"), (2, "uat"), (3, "prod")] {
        pass_checks(&mut t, pr).await;
        if stage == "prod" {
            assert_eq!(
                t.forge.pr(3).state,
                hoist::forge::PrState::Open,
                "a code owner first"
            );
            t.review(3, &sam(), hoist::event::ReviewState::Approved, None)
                .await;
        }
        let merged = t.forge.pr(pr).merge_sha.expect("merged");
        for (s, seed) in [("my-app-service1", "a1"), ("my-app-service2", "b2")] {
            let run = format!("{}@{}", image(s), digest(seed));
            t.argo.synced(&format!("{s}-{stage}"), &merged, &run);
        }
        t.expect_wait_for_argo(stage);
        assert_eq!(t.engine.reconcile().await.unwrap().unverified, 0);
        if stage != "prod" {
            let next = if stage == "dev" { "uat" } else { "prod" };
            t.comment(pr, &quinn(), &format!("/promote {next}")).await;
        }
    }
    for s in ["my-app-service1", "my-app-service2"] {
        let prod = t
            .forge
            .base_file(&format!("apps/{s}/env/prod/kustomization.yaml"))
            .unwrap();
        assert!(prod.contains("v2.4.0"), "{s} runs v2.4.0 in prod: {prod}");
    }
    insta::assert_snapshot!(t.said(), @r#"
    #1: ✅ Verified in **dev**: shop (my-app-service1 v2.4.0, my-app-service2 v2.4.0) is Synced and Healthy at 0000000 (Argo CD apps my-app-service1-dev, my-app-service2-dev). Next: comment /promote uat.
    ---
    #1: 🚀 Opened #2 to promote shop (my-app-service1 v2.4.0, my-app-service2 v2.4.0) to **uat**.
    ---
    #2: ✅ Verified in **uat**: shop (my-app-service1 v2.4.0, my-app-service2 v2.4.0) is Synced and Healthy at 0000000 (Argo CD apps my-app-service1-uat, my-app-service2-uat). Next: comment /promote prod.
    ---
    #2: 🚀 Opened #3 to promote shop (my-app-service1 v2.4.0, my-app-service2 v2.4.0) to **prod**.
    ---
    #3: ⏳ Waiting for an approval from a code owner of apps/my-app-service1/env/prod/ (@acme/sre). @quinn requested this promotion, so their approval does not count.
    ---
    #3: ✅ Verified in **prod**: shop (my-app-service1 v2.4.0, my-app-service2 v2.4.0) is Synced and Healthy at 0000000 (Argo CD apps my-app-service1-prod, my-app-service2-prod).
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/argocd pending: Waiting
    check: hoist/argocd success: Ready to merge
    check: hoist/argocd pending: Waiting
    check: hoist/argocd pending: Waiting
    check: hoist/argocd success: Ready to merge
    check: hoist/argocd pending: Waiting
    check: hoist/argocd pending: Waiting
    check: hoist/argocd pending: Waiting
    check: hoist/argocd success: Ready to merge
    check: hoist/dag success: No gated image values change
    check: hoist/dag success: Every image came through the DAG
    check: hoist/dag success: Every image came through the DAG
    #1 reaction: eyes to @quinn's "/promote uat"
    #1 reaction: rocket to @quinn's "/promote uat"
    #2 reaction: eyes to @quinn's "/promote prod"
    #2 reaction: rocket to @quinn's "/promote prod"
    "#);
}
