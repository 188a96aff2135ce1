//! The promotion engine driven through events against the in-memory forge, in the
//! style of bors's tester: every comment Hoist posts must be asserted, or the test
//! fails when the tester is dropped.

mod support;

use std::sync::Arc;

use hoist::config::Config;
use hoist::event::{CheckSource, Event, RepoRef, ReviewState};
use hoist::forge::{ForgeError, PrState, Reaction};
use hoist::store::Store;
use support::memory_forge::post_as;
use support::tester::*;

/// (Multi-threaded: with `Drive::Serve` the fakes answer the server while the test waits.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_full_path_dev_uat_prod() {
    for drive in [Drive::Engine, Drive::Serve] {
        the_full_path_by(drive).await;
    }
}

/// The main scenario, on the engine or through `hoist serve`'s signed webhook router.
async fn the_full_path_by(drive: Drive) {
    let mut t = Tester::start(drive).await;
    t.push("v1.4.0", "a1").await;
    let pr = t.forge.pr(1);
    assert_eq!(
        (pr.head_ref.as_str(), pr.title.as_str()),
        (
            "hoist/dev/my-app-service1",
            "Promote my-app-service1 v1.4.0 to dev"
        )
    );
    let file = t.forge.file_at(&pr.head_sha, DEV).unwrap();
    assert!(file.contains("newTag: v1.4.0   # promoted by Hoist") && file.contains(&digest("a1")));

    t.check(1, Some("success")).await;
    t.expect_wait_for_argo("dev");
    assert_eq!(
        t.forge.pr(1).state,
        PrState::Merged,
        "dev has no human gate"
    );
    assert_eq!(
        *t.argo.refreshed.lock().unwrap(),
        ["my-app-service1-dev"],
        "Argo CD is asked to look now"
    );
    assert!(t.forge.base_file(DEV).unwrap().contains("newTag: v1.4.0"));
    // Merged is not verified: nothing is said until Argo CD runs it.
    t.argo_syncs(1, "a1").await;
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @"
    #1: ✅ Verified in **dev**: my-app-service1 v1.4.0 is Synced and Healthy at 0000000 (Argo CD app my-app-service1-dev). Next: comment /promote uat.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/argocd success: Ready to merge
    check: hoist/dag success: No gated image values change
    ") };

    let c = t.comment(1, &quinn(), "/promote uat").await;
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @r#"
    #1: 🚀 Opened #2 to promote my-app-service1 v1.4.0 to **uat**.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/dag success: Every image came through the DAG
    #1 reaction: eyes to @quinn's "/promote uat"
    #1 reaction: rocket to @quinn's "/promote uat"
    "#) };
    assert_eq!(t.reactions(c), [Reaction::Eyes, Reaction::Rocket]);
    let uat = t.forge.pr(2);
    assert!(
        t.forge
            .file_at(&uat.head_sha, UAT)
            .unwrap()
            .contains(&digest("a1")),
        "the same digest, copied"
    );
    t.check(2, Some("success")).await;
    t.expect_wait_for_argo("uat");
    assert_eq!(
        t.forge.pr(2).state,
        PrState::Merged,
        "uat's gate was the /promote"
    );
    t.argo_syncs(2, "a1").await;
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @"
    #2: ✅ Verified in **uat**: my-app-service1 v1.4.0 is Synced and Healthy at 0000000 (Argo CD app my-app-service1-uat). Next: comment /promote prod.
    ---
    check: hoist/argocd success: Ready to merge
    ") };

    t.comment(2, &quinn(), "/promote prod").await;
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @r#"
    #2: 🚀 Opened #3 to promote my-app-service1 v1.4.0 to **prod**.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/dag success: Every image came through the DAG
    #2 reaction: eyes to @quinn's "/promote prod"
    #2 reaction: rocket to @quinn's "/promote prod"
    "#) };
    t.check(3, Some("success")).await;
    assert_eq!(
        t.forge.pr(3).state,
        PrState::Open,
        "prod waits for a code owner"
    );
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @"
    #3: ⏳ Waiting for an approval from a code owner of apps/my-app-service1/env/prod/ (@acme/sre). @quinn requested this promotion, so their approval does not count.
    ---
    check: hoist/argocd pending: Waiting
    ") };
    t.review(3, &alice(), ReviewState::Approved, None).await;
    assert_eq!(
        t.forge.pr(3).state,
        PrState::Open,
        "alice is not a code owner"
    );
    // The body's record of the requester is editable; Hoist goes by its own store.
    {
        let mut s = t.forge.state.lock().unwrap();
        let pr = s.prs.iter_mut().find(|p| p.number == 3).unwrap();
        let edited = pr
            .body
            .replace("\"requested_by\":\"quinn\"", "\"requested_by\":\"sam\"");
        assert_ne!(edited, pr.body, "the body names the requester");
        pr.body = edited;
    }
    t.review(3, &quinn(), ReviewState::Approved, None).await;
    assert_eq!(
        t.forge.pr(3).state,
        PrState::Open,
        "the requester's approval does not count, owner or not"
    );
    t.review(3, &renovate(), ReviewState::Approved, None).await;
    assert_eq!(
        t.forge.pr(3).state,
        PrState::Open,
        "a bot's approval does not count"
    );
    t.review(
        3,
        &sam(),
        ReviewState::Approved,
        Some("0000000000000000000000000000000000000000"),
    )
    .await;
    assert_eq!(
        t.forge.pr(3).state,
        PrState::Open,
        "an approval of another head does not count"
    );
    t.review(3, &sam(), ReviewState::Approved, None).await;
    t.expect_wait_for_argo("prod");
    assert_eq!(t.forge.pr(3).state, PrState::Merged);
    assert!(t.forge.base_file(PROD).unwrap().contains("newTag: v1.4.0"));
    t.argo_syncs(3, "a1").await;
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @"
    #3: ✅ Verified in **prod**: my-app-service1 v1.4.0 is Synced and Healthy at 0000000 (Argo CD app my-app-service1-prod).
    ---
    check: hoist/argocd success: Ready to merge
    ") };
    let ledger = t.ledger("prod", "a1").await.unwrap();
    assert_eq!(
        (ledger.requested_by.as_str(), ledger.approved_by.as_deref()),
        ("quinn", Some("sam"))
    );
    assert!(ledger.verified_at.is_some());

    // `hoist status` reads the same ledger.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hoist"))
        .args(["status", "--config", "config/hoist.example.yaml", "--db"])
        .arg(t.db())
        .output()
        .unwrap();
    // The store runs on the test's clock, `hoist status` on the system's.
    let text = ages(&String::from_utf8_lossy(&out.stdout));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    insta::allow_duplicates! { insta::assert_snapshot!(text, @"
    service  dev  uat  prod
    my-app-service1  v1.4.0 a1a1a1a  v1.4.0 a1a1a1a  v1.4.0 a1a1a1a
      verified AGE ago  verified AGE ago  verified AGE ago
    my-app-service2  -  -  -
    billing-api  -  -  -
    nightly-report  -  -  -
    (what runs is from Hoist's ledger alone; give --repo with a checkout of the base branch, or --live, to read the overlays)
    ") };
}

#[tokio::test]
async fn a_dag_skip_is_refused_with_where_the_freight_stands() {
    let mut t = Tester::new();
    t.dev_verified().await;
    let c = t.comment(1, &quinn(), "/promote prod").await;
    insta::assert_snapshot!(t.said(), @r#"
    #1: ⛔ /promote prod refused: prod takes freight from **uat**, and v1.4.0 (sha256:a1a1a1…a1a1) is verified in **dev** only. Promote it to uat first with /promote uat.
    ---
    #1 reaction: eyes to @quinn's "/promote prod"
    #1 reaction: confused to @quinn's "/promote prod"
    "#);
    assert_eq!(t.reactions(c), [Reaction::Eyes, Reaction::Confused]);
    assert_eq!(t.prs(), 1);
}

#[tokio::test]
async fn unauthorized_promoters_are_refused() {
    let mut t = Tester::new();
    t.dev_verified().await;
    t.comment(1, &mallory(), "/promote uat").await;
    insta::assert_snapshot!(t.said(), @r#"
    #1: ⛔ @mallory, promoting to **uat** needs write access to acme/gitops and membership in @acme/qa.
    ---
    #1 reaction: eyes to @mallory's "/promote uat"
    #1 reaction: confused to @mallory's "/promote uat"
    "#);
    t.comment(1, &alice(), "/promote uat").await;
    insta::assert_snapshot!(t.said(), @r#"
    #1: ⛔ @alice, promoting to **uat** needs write access to acme/gitops and membership in @acme/qa.
    ---
    #1 reaction: eyes to @alice's "/promote uat"
    #1 reaction: confused to @alice's "/promote uat"
    "#);
    t.comment(1, &quinn(), "/promote qa").await;
    insta::assert_snapshot!(t.said(), @r#"
    #1: ⛔ /promote qa: there is no stage "qa". Did you mean "uat"? Stages: dev, uat, prod. See /help.
    ---
    #1 reaction: eyes to @quinn's "/promote qa"
    #1 reaction: confused to @quinn's "/promote qa"
    "#);
    assert_eq!(t.prs(), 1);
}

#[tokio::test]
async fn events_about_another_repository_are_ignored() {
    let mut t = Tester::new();
    t.dev_verified().await;
    let comments = t.hoist_comments().len();
    // An org-wide hook delivers acme/other's PR #1: it is not the GitOps repository's.
    t.deliver(Event::CommentCreated {
        repo: RepoRef {
            full_name: "acme/other".into(),
            installation_id: None,
        },
        comment_id: 900,
        body: "/promote uat".into(),
        author: quinn(),
        number: 1,
        is_pull_request: true,
    })
    .await;
    assert_eq!(t.prs(), 1, "a command from another repository opened a PR");
    assert_eq!(t.hoist_comments().len(), comments);
    // The repository name is matched as GitHub does, ignoring case.
    t.deliver(Event::CommentCreated {
        repo: RepoRef {
            full_name: "Acme/GitOps".into(),
            installation_id: None,
        },
        comment_id: 901,
        body: "/promote uat".into(),
        author: quinn(),
        number: 1,
        is_pull_request: true,
    })
    .await;
    insta::assert_snapshot!(t.said(), @"
    #1: 🚀 Opened #2 to promote my-app-service1 v1.4.0 to **uat**.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/dag success: Every image came through the DAG
    #0 reaction: eyes to comment 901
    #0 reaction: rocket to comment 901
    ");
    insta::assert_snapshot!(t.said(), @"");
}

#[tokio::test]
async fn a_newer_push_supersedes_the_open_pr() {
    let mut t = Tester::new();
    t.push("v1.4.0", "a1").await;
    t.push("v1.4.1", "b2").await;
    assert_eq!(t.prs(), 1, "one open PR per service and stage");
    insta::assert_snapshot!(t.said(), @"
    #1: ♻️ Updated to v1.4.1 (was v1.4.0): a newer image arrived before this PR merged.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/dag success: No gated image values change
    ");
    let pr = t.forge.pr(1);
    assert_eq!(pr.title, "Promote my-app-service1 v1.4.1 to dev");
    assert!(
        t.forge
            .file_at(&pr.head_sha, DEV)
            .unwrap()
            .contains(&digest("b2"))
    );
    // Older freight after newer changes nothing.
    t.push("v1.4.0", "a1").await;
    assert!(
        t.forge
            .file_at(&t.forge.pr(1).head_sha, DEV)
            .unwrap()
            .contains("v1.4.1")
    );
}

#[tokio::test]
async fn a_persons_commit_is_never_overwritten() {
    let mut t = Tester::new();
    t.push("v1.4.0", "a1").await;
    let sha = t
        .forge
        .push_as("hoist/dev/my-app-service1", &alice(), DEV, "images: []\n");
    t.push("v1.4.1", "b2").await;
    // The commit's author is whatever alice typed: named as such, not as who pushed.
    insta::assert_snapshot!(t.said(), @"
    #1: ✋ hoist/dev/my-app-service1 has a commit Hoist did not write: 0000000 (authored as alice). Hoist will not overwrite it: merge or close this PR yourself, or delete the branch to let Hoist recreate it.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/dag success: No gated image values change
    ");
    assert_eq!(t.forge.pr(1).head_sha, sha);
}

#[tokio::test]
async fn equal_and_filtered_pushes_do_nothing() {
    let mut t = Tester::new();
    t.push("v1.3.2", "zz").await;
    t.push("v2.0.0", "cc").await;
    assert_eq!(
        t.prs(),
        0,
        "a same-version push of other bytes still opens nothing older; v2 is filtered"
    );
    t.push("v1.4.0", "a1").await;
    t.push("v1.4.0", "a1").await;
    assert_eq!(t.prs(), 1);
    insta::assert_snapshot!(t.said(), @"
    check: hoist/argocd pending: Waiting
    check: hoist/dag success: No gated image values change
    ");
}

#[tokio::test]
async fn failed_pending_checks_and_holds() {
    let mut t = Tester::new();
    t.push("v1.4.0", "a1").await;
    t.check(1, None).await;
    assert_eq!(t.forge.pr(1).state, PrState::Open, "a pending check waits");
    t.check(1, Some("failure")).await;
    t.check(1, Some("failure")).await;
    insta::assert_snapshot!(t.said(), @"
    #1: ❌ render/my-app-service1-dev failed on 0000000 (details: https://ci.example/1). Not merging. Once its cause is fixed, re-run the check: Hoist merges when it passes. To promote other freight instead, push a newer image, and Hoist moves this pull request to it.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/argocd failure: Blocked
    check: hoist/dag success: No gated image values change
    ");
    assert_eq!(t.forge.pr(1).state, PrState::Open);

    t.comment(1, &quinn(), "/hold").await;
    insta::assert_snapshot!(t.said(), @r#"
    #1: ⏸️ Held by @quinn. Hoist will not merge this PR until someone comments /unhold.
    ---
    #1 reaction: eyes to @quinn's "/hold"
    #1 reaction: rocket to @quinn's "/hold"
    "#);
    t.check(1, Some("success")).await;
    assert_eq!(t.forge.pr(1).state, PrState::Open, "held");
    t.comment(1, &mallory(), "/unhold").await;
    insta::assert_snapshot!(t.said(), @r#"
    #1: ⛔ @mallory, /hold and /unhold need write access to acme/gitops.
    ---
    check: hoist/argocd pending: Waiting
    #1 reaction: eyes to @mallory's "/unhold"
    #1 reaction: confused to @mallory's "/unhold"
    "#);
    t.comment(1, &quinn(), "/unhold").await;
    insta::assert_snapshot!(t.said(), @r#"
    #1: ▶️ Released by @quinn. Hoist merges this PR once its gate and checks pass.
    ---
    #1: ⏳ Deploying to **dev**: merged as `0000000`; Argo CD app [my-app-service1-dev](ARGOCD/applications/my-app-service1-dev): Argo CD has no application my-app-service1-dev. Hoist looks again and updates this comment.
    ---
    check: hoist/argocd success: Ready to merge
    #1 reaction: eyes to @quinn's "/unhold"
    #1 reaction: rocket to @quinn's "/unhold"
    "#);
    assert_eq!(
        t.forge.pr(1).state,
        PrState::Merged,
        "released, and the check had passed"
    );
    // Argo CD has no application yet: the pull request says what Hoist waits for.
    insta::assert_snapshot!(t.said(), @"");
    t.expect_wait_for_argo("dev");
}

#[tokio::test]
async fn duplicate_events_have_one_effect() {
    let mut t = Tester::new();
    for _ in 0..2 {
        t.push("v1.4.0", "a1").await;
    }
    for _ in 0..2 {
        t.check(1, Some("success")).await;
    }
    t.expect_wait_for_argo("dev");
    for _ in 0..2 {
        t.argo_syncs(1, "a1").await;
    }
    insta::assert_snapshot!(t.said(), @"
    #1: ✅ Verified in **dev**: my-app-service1 v1.4.0 is Synced and Healthy at 0000000 (Argo CD app my-app-service1-dev). Next: comment /promote uat.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/argocd success: Ready to merge
    check: hoist/dag success: No gated image values change
    ");
    let c = t.comment(1, &quinn(), "/promote uat").await;
    // The same comment delivered again (a redelivery) answers nothing new.
    t.deliver(Event::CommentCreated {
        repo: Tester::repo(),
        comment_id: c,
        body: "/promote uat".into(),
        author: quinn(),
        number: 1,
        is_pull_request: true,
    })
    .await;
    insta::assert_snapshot!(t.said(), @r#"
    #1: 🚀 Opened #2 to promote my-app-service1 v1.4.0 to **uat**.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/dag success: Every image came through the DAG
    #1 reaction: eyes to @quinn's "/promote uat"
    #1 reaction: rocket to @quinn's "/promote uat"
    "#);
    assert_eq!(t.prs(), 2);
    let merges = t.forge.state.lock().unwrap().merge_calls();
    assert_eq!(
        merges, 1,
        "one merge for the dev PR, whatever was delivered twice"
    );
}

#[tokio::test]
async fn help_status_and_bad_commands_in_one_reply() {
    let mut t = Tester::new();
    t.dev_verified().await;
    t.comment(1, &alice(), "/help\n/status\n/promte uat\n/promote")
        .await;
    insta::assert_snapshot!(t.said(), @r#"
    #1: ```
    Hoist commands (one per line, at the start of a line):
      /promote <stage> [service ...]      promote this PR's image to <stage> (stages: uat, prod)
      /rollback <stage> [to <tag>]        put back what <stage> ran before (or <tag>, verified there)
      /hold                               keep Hoist from merging this PR
      /unhold                             let Hoist merge it again
      /unhold <stage>                     let forward promotions into <stage> merge again after a rollback
      /freeze <stage> [reason]            no merges into <stage> until /unfreeze (freeze team only)
      /unfreeze <stage>                   let merges into <stage> resume
      /status                             where this service's images stand in every stage
      /help                               this text
      /override dag <head SHA> <reason>   pass hoist/dag on the head you reviewed, in an emergency (break-glass team only)
      /override freeze <reason>           let this PR merge into its frozen stage, in an emergency (break-glass team only)
    ```

    | stage | my-app-service1 | | PR |
    |---|---|---|---|
    | dev | v1.4.0 | ✅ verified |  |
    | uat | v1.3.2 |  |  |
    | prod | v1.3.0 |  |  |


    ⛔ /promte is not a command. Did you mean /promote? See /help.

    ⛔ /promote needs a stage: `/promote <stage> [service ...]`. See /help.
    ---
    #1 reaction: eyes to @alice's "/help"
    #1 reaction: confused to @alice's "/help"
    "#);
    // Quoted commands, and comments by bots, do nothing.
    t.comment(1, &alice(), "> /promote uat").await;
    t.comment(1, &renovate(), "/promote uat").await;
    assert_eq!(t.prs(), 1);
}

#[tokio::test]
async fn reconcile_answers_a_comment_whose_event_was_lost() {
    let mut t = Tester::new();
    t.push("v1.4.0", "a1").await;
    // The comment is on the forge, but its webhook never reached Hoist.
    let hold = post_as(&t.forge, 1, &quinn(), "/hold");
    let report = t.engine.reconcile().await.unwrap();
    assert_eq!((report.evaluated, report.answered), (1, 1));
    insta::assert_snapshot!(t.said(), @r#"
    #1: ⏸️ Held by @quinn. Hoist will not merge this PR until someone comments /unhold.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/argocd pending: Waiting
    check: hoist/dag success: No gated image values change
    #1 reaction: eyes to @quinn's "/hold"
    #1 reaction: rocket to @quinn's "/hold"
    "#);
    assert_eq!(t.reactions(hold), [Reaction::Eyes, Reaction::Rocket]);
    assert_eq!(
        t.engine.reconcile().await.unwrap().answered,
        0,
        "an answered command is not answered twice"
    );
    // And the hold holds: a passing check does not merge.
    t.check(1, Some("success")).await;
    assert_eq!(t.forge.pr(1).state, PrState::Open);
    insta::assert_snapshot!(t.said(), @"check: hoist/argocd pending: Waiting");
}

#[tokio::test]
async fn reconcile_finds_a_push_whose_event_was_lost() {
    let mut t = Tester::new();
    t.registry.images.lock().unwrap().insert(
        IMAGE.into(),
        vec![
            hoist::registry::ImageVersion {
                tag: "v1.3.2".into(),
                digest: digest("00"),
                pushed_at: "2026-11-20T00:00:00Z".into(),
            },
            hoist::registry::ImageVersion {
                tag: "v1.4.0".into(),
                digest: digest("a1"),
                pushed_at: "2026-11-26T09:58:00Z".into(),
            },
            hoist::registry::ImageVersion {
                tag: "v2.0.0".into(),
                digest: digest("cc"),
                pushed_at: "2026-11-26T10:00:00Z".into(),
            },
        ],
    );
    let report = t.engine.reconcile().await.unwrap();
    assert_eq!(report.pushes, 1);
    let pr = t.forge.pr(1);
    assert_eq!(
        pr.title, "Promote my-app-service1 v1.4.0 to dev",
        "the newest image the policy accepts"
    );
    assert_eq!(
        t.engine.reconcile().await.unwrap().pushes,
        0,
        "and only once"
    );
    insta::assert_snapshot!(t.said(), @"
    check: hoist/argocd pending: Waiting
    check: hoist/dag success: No gated image values change
    ");
}

#[tokio::test]
async fn reconcile_carries_on_past_a_pull_request_it_cannot_read() {
    let mut t = Tester::new();
    t.push("v1.4.0", "a1").await;
    t.registry.images.lock().unwrap().insert(
        IMAGE.into(),
        vec![hoist::registry::ImageVersion {
            tag: "v1.5.0".into(),
            digest: digest("b2"),
            pushed_at: "2026-11-26T10:00:00Z".into(),
        }],
    );
    t.forge.state.lock().unwrap().fail_call = Some((
        "GET comments 1".into(),
        ForgeError::Other("500 Internal Server Error".into()),
    ));
    let report = t.engine.reconcile().await.unwrap();
    assert_eq!(report.failed, ["#1: 500 Internal Server Error"]);
    assert_eq!(report.pushes, 1, "the registry pass still ran");
    assert_eq!(t.forge.pr(1).title, "Promote my-app-service1 v1.5.0 to dev");
    insta::assert_snapshot!(t.said(), @"
    #1: ♻️ Updated to v1.5.0 (was v1.4.0): a newer image arrived before this PR merged.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/dag success: No gated image values change
    ");
}

#[tokio::test]
async fn reconcile_verifies_a_merge_once_argo_cd_catches_up() {
    let mut t = Tester::new();
    t.push("v1.4.0", "a1").await;
    t.check(1, Some("success")).await;
    t.expect_wait_for_argo("dev");
    assert_eq!(t.forge.pr(1).state, PrState::Merged);
    assert_eq!(
        t.engine.reconcile().await.unwrap().unverified,
        1,
        "Argo CD has not synced"
    );
    let sha = t.forge.pr(1).merge_sha.unwrap();
    t.argo.synced(
        "my-app-service1-dev",
        &sha,
        &format!("{IMAGE}@{}", digest("a1")),
    );
    assert_eq!(t.engine.reconcile().await.unwrap().unverified, 0);
    insta::assert_snapshot!(t.said(), @"
    #1: ✅ Verified in **dev**: my-app-service1 v1.4.0 is Synced and Healthy at 0000000 (Argo CD app my-app-service1-dev). Next: comment /promote uat.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/argocd success: Ready to merge
    check: hoist/dag success: No gated image values change
    ");
}

#[tokio::test]
async fn the_ledger_is_rebuilt_from_the_forge() {
    let mut t = Tester::new();
    t.dev_verified().await;
    t.comment(1, &quinn(), "/promote uat").await;
    insta::assert_snapshot!(t.said(), @r#"
    #1: 🚀 Opened #2 to promote my-app-service1 v1.4.0 to **uat**.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/dag success: Every image came through the DAG
    #1 reaction: eyes to @quinn's "/promote uat"
    #1 reaction: rocket to @quinn's "/promote uat"
    "#);
    // The store is lost: a new, empty one.
    let dir = tempfile::tempdir().unwrap();
    std::sync::Arc::get_mut(&mut t.engine).unwrap().store =
        Store::open(&dir.path().join("new.db")).unwrap();
    assert_eq!(t.engine.rebuild_ledger().await.unwrap(), 2);
    let dev = t
        .engine
        .store
        .ledger_get("my-app-service1", "dev", &digest("a1"))
        .await
        .unwrap()
        .unwrap();
    assert!(
        dev.merge_sha.is_some() && dev.verified_at.is_none(),
        "merged; verification is re-derived"
    );
    let uat = t
        .engine
        .store
        .ledger_get("my-app-service1", "uat", &digest("a1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((uat.pr, uat.requested_by.as_str()), (Some(2), "quinn"));
    // Reconcile re-verifies dev against Argo CD, which still runs it; the verified
    // comment was already posted, so nothing new is said.
    assert_eq!(t.engine.reconcile().await.unwrap().unverified, 0);
    let dev = t
        .engine
        .store
        .ledger_get("my-app-service1", "dev", &digest("a1"))
        .await
        .unwrap()
        .unwrap();
    assert!(dev.verified_at.is_some());
    insta::assert_snapshot!(t.said(), @"check: hoist/argocd pending: Waiting");
}

#[tokio::test]
async fn an_automatic_stage_downstream_opens_once_verified_upstream() {
    let text = example_config().replace(
        "gate: { command: true, promoters: [\"@acme/qa\"] }",
        "auto: true",
    );
    let mut t = Tester::new();
    std::sync::Arc::get_mut(&mut t.engine).unwrap().config =
        Arc::new(Config::parse(&text, "hoist.yaml").unwrap());
    t.push("v1.4.0", "a1").await;
    t.check(1, Some("success")).await;
    t.expect_wait_for_argo("dev");
    t.argo_syncs(1, "a1").await;
    insta::assert_snapshot!(t.said(), @"
    #1: ✅ Verified in **dev**: my-app-service1 v1.4.0 is Synced and Healthy at 0000000 (Argo CD app my-app-service1-dev).
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/argocd success: Ready to merge
    check: hoist/argocd pending: Waiting
    check: hoist/dag success: No gated image values change
    check: hoist/dag success: Every image came through the DAG
    ");
    let uat = t.forge.pr(2);
    assert_eq!(
        uat.title, "Promote my-app-service1 v1.4.0 to uat",
        "uat follows dev by itself"
    );
}

#[tokio::test]
async fn a_failed_reaction_never_blocks_a_command() {
    let mut t = Tester::new();
    t.push("v1.4.0", "a1").await;
    t.forge.state.lock().unwrap().fail_reactions = true;
    let id = t.comment(1, &quinn(), "/hold").await;
    insta::assert_snapshot!(t.said(), @"
    #1: ⏸️ Held by @quinn. Hoist will not merge this PR until someone comments /unhold.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/dag success: No gated image values change
    ");
    assert!(t.reactions(id).is_empty());
    t.check(1, Some("success")).await;
    assert_eq!(t.forge.pr(1).state, PrState::Open, "the hold took effect");
    insta::assert_snapshot!(t.said(), @"check: hoist/argocd pending: Waiting");
}

/// The last `hoist/dag` check run on a commit: (conclusion, title and summary).
fn dag_check(t: &Tester, sha: &str) -> (String, String) {
    let s = t.forge.state.lock().unwrap();
    let c = s
        .checks
        .get(sha)
        .and_then(|cs| cs.iter().rev().find(|c| c.name == "hoist/dag"))
        .expect("a hoist/dag check run");
    (c.conclusion.clone().unwrap(), c.url.clone().unwrap())
}

#[tokio::test]
async fn hoist_dag_checks_every_pull_request_hand_edits_included() {
    let mut t = Tester::new();
    t.dev_verified().await;
    // Someone hand-edits prod to the freight that is verified in dev only.
    let edited = t.prod_pinned_to("v1.4.0", "a1");
    let (n, head) = t.person_pr("alice/hotfix", &alice(), PROD, &edited).await;
    let (conclusion, text) = dag_check(&t, &head);
    assert_eq!(conclusion, "failure");
    insta::assert_snapshot!(text, @"
    An image skips the promotion DAG
    ❌ /promote prod refused: prod takes freight from **uat**, and my-app-service1 v1.4.0 (sha256:a1a1a1…a1a1) is verified in **dev** only. Promote it to uat first with /promote uat.
    ");

    // Break glass: not for alice; sam, a break-glass member, passes it on the record.
    t.comment(
        n,
        &alice(),
        &format!("/override dag {head} INC-7 prod is down"),
    )
    .await;
    insta::assert_snapshot!(t.said(), @r#"
    #2: ⛔ @alice, /override dag needs write access and membership in @acme/sre-leads.
    ---
    check: hoist/dag failure: An image skips the promotion DAG
    #2 reaction: eyes to @alice's "/override dag 0000000000000000000000000000000278dde6e4 INC-7 prod is down"
    #2 reaction: confused to @alice's "/override dag 0000000000000000000000000000000278dde6e4 INC-7 prod is down"
    "#);
    t.comment(
        n,
        &sam(),
        &format!("/override dag {head} INC-7 prod is down"),
    )
    .await;
    insta::assert_snapshot!(t.said(), @r#"
    #2: 🔓 hoist/dag overridden by @sam on 0000000: INC-7 prod is down. The override is recorded; a new push needs a new one.
    ---
    check: hoist/dag success: Overridden by @sam
    #2 reaction: eyes to @sam's "/override dag 0000000000000000000000000000000278dde6e4 INC-7 prod is down"
    #2 reaction: rocket to @sam's "/override dag 0000000000000000000000000000000278dde6e4 INC-7 prod is down"
    "#);
    let (conclusion, text) = dag_check(&t, &head);
    assert_eq!(conclusion, "success");
    insta::assert_snapshot!(text, @"
    Overridden by @sam
    ❌ /promote prod refused: prod takes freight from **uat**, and my-app-service1 v1.4.0 (sha256:a1a1a1…a1a1) is verified in **dev** only. Promote it to uat first with /promote uat.
    🔓 Overridden by @sam: INC-7 prod is down
    ");

    // A change that touches no gated image value passes.
    let (_, head) = t
        .person_pr("alice/docs", &alice(), "README.md", "docs\n")
        .await;
    assert_eq!(
        dag_check(&t, &head),
        ("success".into(), "No gated image values change\n".into())
    );

    // An edit that Argo CD cannot render could deploy anything: it fails.
    let prod = t.forge.base_file(PROD).unwrap();
    let broken = prod.replace("images:", "images: [oops");
    let (_, head) = t.person_pr("alice/tidy", &alice(), PROD, &broken).await;
    let (conclusion, text) = dag_check(&t, &head);
    assert_eq!(conclusion, "failure", "{text}");
    insta::assert_snapshot!(text, @"
    An image skips the promotion DAG
    ❌ prod: Argo CD cannot render my-app-service1-prod at 0000000, so hoist/dag cannot tell what it would run: apps/my-app-service1/env/prod/kustomization.yaml: error: line 14 column 9: illegal placement of ':' indicator
      --> <input>:14:9
       |
    12 |
    13 | images: [oops
    14 |   - name: my-app-service1
       |         ^ illegal placement of ':' indicator
    15 |     newName: 123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app-service1
    16 |     newTag: v1.3.0   # promoted by Hoist
       |
    ");

    // Hoist's own uat PR carries freight verified in dev: it passes.
    t.comment(1, &quinn(), "/promote uat").await;
    insta::assert_snapshot!(t.said(), @r#"
    #1: 🚀 Opened #5 to promote my-app-service1 v1.4.0 to **uat**.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/dag success: No gated image values change
    check: hoist/dag failure: An image skips the promotion DAG
    check: hoist/dag success: Every image came through the DAG
    #1 reaction: eyes to @quinn's "/promote uat"
    #1 reaction: rocket to @quinn's "/promote uat"
    "#);
    let (conclusion, text) = dag_check(&t, &t.forge.pr(5).head_sha);
    assert_eq!(conclusion, "success");
    insta::assert_snapshot!(text, @"
    Every image came through the DAG
    ✅ uat: my-app-service1 v1.4.0 (sha256:a1a1a1…a1a1) is verified in dev
    ");
}

/// The last `hoist/argocd` check run on a commit: (conclusion, title and summary).
fn argocd_check(t: &Tester, sha: &str) -> (Option<String>, String) {
    let s = t.forge.state.lock().unwrap();
    let c = s
        .checks
        .get(sha)
        .and_then(|cs| cs.iter().rev().find(|c| c.name == "hoist/argocd"))
        .expect("a hoist/argocd check run");
    (c.conclusion.clone(), c.url.clone().unwrap())
}

#[tokio::test]
async fn the_argocd_check_shows_every_condition_and_blocks_what_cannot_render() {
    let mut t = Tester::new();
    prod_waiting_for_owner(&mut t).await;
    let head = t.forge.pr(3).head_sha;
    let (conclusion, text) = argocd_check(&t, &head);
    assert_eq!(conclusion, None, "in progress");
    insta::assert_snapshot!(text, @r#"
    Waiting
    ✅ render/my-app-service1-prod succeeded on 0000000
    ✅ Argo CD renders my-app-service1-prod at 0000000 (2 manifests)
    ✅ upstream uat runs sha256:a1a1a1…a1a1 and is Healthy
    ⏳ approval from @acme/sre (not @quinn)

    <details><summary>Rendered diff</summary>

    ```diff
    --- a/my-app-service1-prod manifests
    +++ b/my-app-service1-prod manifests
    @@ -1,2 +1,2 @@
    -{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"labels":{"app.kubernetes.io/name":"my-app-service1"},"name":"my-app-service1"},"spec":{"replicas":2,"selector":{"matchLabels":{"app.kubernetes.io/name":"my-app-service1"}},"template":{"metadata":{"labels":{"app.kubernetes.io/name":"my-app-service1"}},"spec":{"containers":[{"image":"123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app-service1@sha256:f356c12dc3880c107b17cb83e3a5a525cc55ab0b2a360f135a58b4365585d725","name":"app","ports":[{"containerPort":8080,"name":"http"}],"readinessProbe":{"httpGet":{"path":"/healthz","port":"http"}},"resources":{"limits":{"memory":"256Mi"},"requests":{"cpu":"100m","memory":"128Mi"}}}]}}}}
    +{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"labels":{"app.kubernetes.io/name":"my-app-service1"},"name":"my-app-service1"},"spec":{"replicas":2,"selector":{"matchLabels":{"app.kubernetes.io/name":"my-app-service1"}},"template":{"metadata":{"labels":{"app.kubernetes.io/name":"my-app-service1"}},"spec":{"containers":[{"image":"123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app-service1@sha256:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1","name":"app","ports":[{"containerPort":8080,"name":"http"}],"readinessProbe":{"httpGet":{"path":"/healthz","port":"http"}},"resources":{"limits":{"memory":"256Mi"},"requests":{"cpu":"100m","memory":"128Mi"}}}]}}}}
     {"apiVersion":"v1","kind":"Service","metadata":{"name":"my-app-service1"},"spec":{"ports":[{"name":"http","port":80,"targetPort":"http"}],"selector":{"app.kubernetes.io/name":"my-app-service1"}}}
    \ No newline at end of file
    ```
    </details>
    "#);

    // An app Argo CD cannot render blocks the merge, whatever else passed.
    insta::assert_snapshot!(t.said(), @"");
    let mut t = Tester::new();
    t.argo
        .render_fails
        .lock()
        .unwrap()
        .push("my-app-service1-dev".into());
    t.push("v1.4.0", "a1").await;
    t.check(1, Some("success")).await;
    assert_eq!(t.forge.pr(1).state, PrState::Open);
    let (conclusion, text) = argocd_check(&t, &t.forge.pr(1).head_sha);
    assert_eq!(conclusion.as_deref(), Some("failure"));
    insta::assert_snapshot!(text, @"
    Blocked
    ✅ render/my-app-service1-dev succeeded on 0000000
    ❌ Argo CD cannot render my-app-service1-dev at 0000000: ComparisonError: kustomize build failed
    ");
    insta::assert_snapshot!(t.said(), @"
    check: hoist/argocd failure: Blocked
    check: hoist/argocd failure: Blocked
    check: hoist/dag success: No gated image values change
    ");
}

#[tokio::test]
async fn a_check_run_github_refused_is_published_on_the_retry() {
    let mut t = Tester::new();
    t.forge.state.lock().unwrap().fail_call = Some((
        "POST check-run hoist/argocd".into(),
        ForgeError::Transient("502 Bad Gateway".into()),
    ));
    t.push("v1.4.0", "a1").await;
    t.expect_waits("retry: transient: 502 Bad Gateway");
    let head = t.forge.pr(1).head_sha;
    assert!(
        t.forge
            .state
            .lock()
            .unwrap()
            .checks
            .get(&head)
            .is_none_or(|cs| cs.iter().all(|c| c.name != "hoist/argocd")),
        "the refused check run was published"
    );
    // The worker retries the event: the same content must not be skipped as unchanged.
    t.opened(1, t.forge.me_actor()).await;
    let (conclusion, text) = argocd_check(&t, &head);
    assert_eq!(conclusion, None, "{text}");
    insta::assert_snapshot!(text, @r#"
    Waiting
    ⏳ render/my-app-service1-dev on 0000000 from the GitHub App acme-gitops-ci
    ✅ Argo CD renders my-app-service1-dev at 0000000 (2 manifests)

    <details><summary>Rendered diff</summary>

    ```diff
    --- a/my-app-service1-dev manifests
    +++ b/my-app-service1-dev manifests
    @@ -1,2 +1,2 @@
    -{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"labels":{"app.kubernetes.io/name":"my-app-service1"},"name":"my-app-service1"},"spec":{"replicas":2,"selector":{"matchLabels":{"app.kubernetes.io/name":"my-app-service1"}},"template":{"metadata":{"labels":{"app.kubernetes.io/name":"my-app-service1"}},"spec":{"containers":[{"image":"123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app-service1@sha256:41828da5541005335d4bcc6a684e3fe302b8c73dc0cd2be954109f93d5b00a08","name":"app","ports":[{"containerPort":8080,"name":"http"}],"readinessProbe":{"httpGet":{"path":"/healthz","port":"http"}},"resources":{"limits":{"memory":"256Mi"},"requests":{"cpu":"100m","memory":"128Mi"}}}]}}}}
    +{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"labels":{"app.kubernetes.io/name":"my-app-service1"},"name":"my-app-service1"},"spec":{"replicas":2,"selector":{"matchLabels":{"app.kubernetes.io/name":"my-app-service1"}},"template":{"metadata":{"labels":{"app.kubernetes.io/name":"my-app-service1"}},"spec":{"containers":[{"image":"123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app-service1@sha256:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1","name":"app","ports":[{"containerPort":8080,"name":"http"}],"readinessProbe":{"httpGet":{"path":"/healthz","port":"http"}},"resources":{"limits":{"memory":"256Mi"},"requests":{"cpu":"100m","memory":"128Mi"}}}]}}}}
     {"apiVersion":"v1","kind":"Service","metadata":{"name":"my-app-service1"},"spec":{"ports":[{"name":"http","port":80,"targetPort":"http"}],"selector":{"app.kubernetes.io/name":"my-app-service1"}}}
    \ No newline at end of file
    ```
    </details>
    "#);
    insta::assert_snapshot!(t.said(), @"
    check: hoist/argocd pending: Waiting
    check: hoist/dag success: No gated image values change
    ");
}

#[tokio::test]
async fn a_check_without_linked_pull_requests_still_merges_its_pr() {
    let mut t = Tester::new();
    t.push("v1.4.0", "a1").await;
    let p = t.forge.pr(1);
    t.forge
        .state
        .lock()
        .unwrap()
        .checks
        .entry(p.head_sha.clone())
        .or_default()
        .push(support::memory_forge::ci_run(
            "render/my-app-service1-dev",
            Some("success"),
            None,
        ));
    t.deliver(Event::CheckCompleted {
        repo: Tester::repo(),
        source: CheckSource::CheckRun,
        name: "render/my-app-service1-dev".into(),
        conclusion: "success".into(),
        head_sha: p.head_sha,
        prs: vec![],
    })
    .await;
    assert_eq!(t.forge.pr(1).state, PrState::Merged);
    insta::assert_snapshot!(t.said(), @"
    #1: ⏳ Deploying to **dev**: merged as `0000000`; Argo CD app [my-app-service1-dev](ARGOCD/applications/my-app-service1-dev): Argo CD has no application my-app-service1-dev. Hoist looks again and updates this comment.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/argocd success: Ready to merge
    check: hoist/dag success: No gated image values change
    ");
    t.expect_wait_for_argo("dev");
}

#[tokio::test]
async fn healthy_must_hold_for_the_debounce() {
    let mut t = Tester::new();
    let text = example_config().replace("health_debounce_seconds: 0", "health_debounce_seconds: 1");
    std::sync::Arc::get_mut(&mut t.engine).unwrap().config =
        Arc::new(Config::parse(&text, "hoist.yaml").unwrap());
    t.push("v1.4.0", "a1").await;
    t.check(1, Some("success")).await;
    t.expect_wait_for_argo("dev");
    t.argo_syncs(1, "a1").await;
    t.expect_waits("my-app-service1-dev is Healthy; waiting until it has been for 1s");
    let ledger = t
        .engine
        .store
        .ledger_get("my-app-service1", "dev", &digest("a1"))
        .await
        .unwrap()
        .unwrap();
    assert!(
        ledger.verified_at.is_none(),
        "Healthy a moment ago is not verified yet"
    );
    // Not a millisecond early: 999 ms on, reconcile still waits.
    t.advance(std::time::Duration::from_millis(999));
    t.engine.reconcile().await.unwrap();
    insta::assert_snapshot!(t.said(), @"
    #1: ⏳ Deploying to **dev**: Argo CD app [my-app-service1-dev](ARGOCD/applications/my-app-service1-dev) runs `0000000` and is Healthy; Hoist verifies it at 10:00:01 UTC, once it has been Healthy for 1 s.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/argocd success: Ready to merge
    check: hoist/dag success: No gated image values change
    ");
    // The debounce passes.
    t.advance(std::time::Duration::from_millis(1));
    t.engine.reconcile().await.unwrap();
    insta::assert_snapshot!(t.said(), @"#1, edited: ✅ Verified in **dev**: my-app-service1 v1.4.0 is Synced and Healthy at 0000000 (Argo CD app my-app-service1-dev). Next: comment /promote uat.");
}

/// While Healthy has not yet held for the debounce, the verification waits for the
/// instant it will have: the handler names that instant (when Argo CD first reported the
/// freight Healthy, plus the debounce), so the queue looks again exactly then.
#[tokio::test]
async fn the_debounce_wait_names_the_instant_it_ends() {
    let mut t = Tester::new();
    let text =
        example_config().replace("health_debounce_seconds: 0", "health_debounce_seconds: 30");
    std::sync::Arc::get_mut(&mut t.engine).unwrap().config =
        Arc::new(Config::parse(&text, "hoist.yaml").unwrap());
    t.push("v1.4.0", "a1").await;
    t.check(1, Some("success")).await;
    t.expect_wait_for_argo("dev");
    let (head_ref, sha) = t
        .forge
        .sync_merged(&t.argo, 1, &format!("{IMAGE}@{}", digest("a1")));
    let closed = Event::PullRequestClosed {
        repo: Tester::repo(),
        pr: 1,
        head_ref,
        merged: true,
        merge_commit_sha: Some(sha),
        merged_pr: None,
    };
    let Err(hoist::worker::HandlerError::WaitingUntil(why, at)) =
        hoist::worker::Handler::handle(t.engine.as_ref(), closed).await
    else {
        panic!("expected a wait until the debounce ends");
    };
    let since = t
        .engine
        .store
        .healthy_since("my-app-service1", "dev", &digest("a1"))
        .await
        .unwrap();
    assert_eq!(at, since + 30_000);
    assert_eq!(
        why,
        "my-app-service1-dev is Healthy; waiting until it has been for 30s"
    );
    assert_eq!(since, support::tester::T0_MS, "Healthy first seen now");
    // The pull request says so too, naming the instant (UTC).
    insta::assert_snapshot!(t.said(), @"
    #1: ⏳ Deploying to **dev**: Argo CD app [my-app-service1-dev](ARGOCD/applications/my-app-service1-dev) runs `0000000` and is Healthy; Hoist verifies it at 10:00:30 UTC, once it has been Healthy for 30 s.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/argocd success: Ready to merge
    check: hoist/dag success: No gated image values change
    ");
}

/// A command that must wait for Hoist's rewrite of its branch keeps its place: it is
/// retried in place (later events of the pull request wait behind it), not set aside as
/// a wait, so a `/hold` in the same comment is never overtaken.
#[tokio::test]
async fn a_command_during_a_rewrite_keeps_its_place() {
    let mut t = Tester::new();
    t.push("v1.4.0", "a1").await;
    let base = t.forge.state.lock().unwrap().base.clone();
    t.forge.reset_branch("hoist/dev/my-app-service1", &base);
    let id = post_as(&t.forge, 1, &quinn(), "/hold\n/status");
    let r = hoist::worker::Handler::handle(
        t.engine.as_ref(),
        Event::CommentCreated {
            repo: Tester::repo(),
            comment_id: id,
            body: "/hold\n/status".into(),
            author: quinn(),
            number: 1,
            is_pull_request: true,
        },
    )
    .await;
    assert!(
        matches!(&r, Err(hoist::worker::HandlerError::Retryable(e)) if e == "not yet: Hoist is rewriting this pull request's branch"),
        "{r:?}"
    );
    insta::assert_snapshot!(t.said(), @r#"
    check: hoist/argocd pending: Waiting
    check: hoist/dag success: No gated image values change
    #1 reaction: eyes to @quinn's "/hold"
    "#);
}

#[tokio::test]
async fn only_heads_hoist_wrote_are_merged() {
    let mut t = Tester::new();
    t.push("v1.4.0", "a1").await;
    // Someone pushes onto Hoist's branch: the check passing must not merge their commit.
    t.forge
        .push_as("hoist/dev/my-app-service1", &alice(), DEV, "images: []\n");
    t.check(1, Some("success")).await;
    assert_eq!(t.forge.pr(1).state, PrState::Open);
    insta::assert_snapshot!(t.said(), @"
    #1: ✋ 0000000 on hoist/dev/my-app-service1 is not a commit Hoist made for this promotion, so Hoist will not merge it. Merge or close this PR yourself, or delete the branch to let Hoist recreate it.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/dag success: No gated image values change
    ");

    // Halfway through Hoist's own rewrite the branch sits at the base: no merge, and no
    // complaint about a commit nobody else made.
    insta::assert_snapshot!(t.said(), @"");
    let mut t = Tester::new();
    t.push("v1.4.0", "a1").await;
    let base = t.forge.state.lock().unwrap().base.clone();
    t.forge.reset_branch("hoist/dev/my-app-service1", &base);
    t.deliver(Event::PullRequestSynchronized {
        repo: Tester::repo(),
        pr: 1,
        head_ref: "hoist/dev/my-app-service1".into(),
        head_sha: base.clone(),
        sender: t.forge.me_actor(),
    })
    .await;
    t.check(1, Some("success")).await;
    assert_eq!(t.forge.pr(1).state, PrState::Open);
    assert!(t.hoist_comments().is_empty(), "{:?}", t.hoist_comments());

    // A pull request that only looks like Hoist's (branch name and body block copied) is
    // not Hoist's either.
    insta::assert_snapshot!(t.said(), @"
    check: hoist/argocd pending: Waiting
    check: hoist/dag success: No gated image values change
    check: hoist/dag success: No gated image values change
    ");
    let mut t = Tester::new();
    t.dev_verified().await;
    let base = t.forge.state.lock().unwrap().base.clone();
    t.forge.create_ref("hoist/uat/my-app-service1", &base);
    let uat = t.forge.base_file(UAT).unwrap();
    let spec = hoist::image::ImageSpec::parse(&format!("my-app-service1:v1.4.0@{}", digest("a1")))
        .unwrap();
    t.forge.push_as(
        "hoist/uat/my-app-service1",
        &alice(),
        UAT,
        &hoist::manifest::set_image(&uat, &spec).unwrap().text,
    );
    let n = t.forge.open_person_pr(
        "hoist/uat/my-app-service1",
        "Promote my-app-service1 v1.4.0 to uat",
    );
    let body = t
        .forge
        .pr(1)
        .body
        .replace("\"stage\":\"dev\"", "\"stage\":\"uat\"");
    t.forge
        .state
        .lock()
        .unwrap()
        .prs
        .iter_mut()
        .find(|p| p.number == n)
        .unwrap()
        .body = body;
    t.check(n, Some("success")).await;
    assert_eq!(
        t.forge.pr(n).state,
        PrState::Open,
        "a forged promotion is never merged"
    );
    // Hoist never wrote a head for it: it is someone else's pull request, not one of
    // Hoist's gone astray, and Hoist says nothing on it (hoist/dag speaks for the DAG).
    insta::assert_snapshot!(t.said(), @"");
    insta::assert_snapshot!(t.said(), @"");
}

#[tokio::test]
async fn the_body_names_the_commit_the_image_was_built_from() {
    let mut t = Tester::new();
    t.registry.labels.lock().unwrap().insert(
        digest("a1"),
        [
            (
                "org.opencontainers.image.revision",
                "3f9c2d1a7b8e9f00112233445566778899aabbcc",
            ),
            (
                "org.opencontainers.image.source",
                "https://github.com/acme/my-app",
            ),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .into(),
    );
    t.dev_verified().await;
    insta::assert_snapshot!(t.forge.pr(1).body, @r#"
    ### my-app-service1 → dev

    | | |
    |---|---|
    | Image | `123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app-service1` |
    | Tag | `v1.4.0` (dev runs `v1.3.2`) |
    | Digest | `sha256:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1` |
    | Source | `acme/my-app@3f9c2d1` (image label `org.opencontainers.image.revision`) |
    | Pushed | 2026-11-26 09:58 UTC |

    ```mermaid
    flowchart LR
      s_dev["dev · v1.4.0 ⏳"]
      s_uat["uat · v1.3.2"]
      s_prod["prod · v1.3.0"]
      s_dev --> s_uat
      s_uat --> s_prod
      classDef pending fill:#dbeafe,stroke:#1d4ed8
      class s_dev pending
    ```

    **Gate:** none (dev promotes automatically). Hoist merges when `render/my-app-service1-dev` passes.

    <!-- hoist:v1 {"service":"my-app-service1","stage":"dev","image":"123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app-service1","tag":"v1.4.0","digest":"sha256:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1","requested_by":"ecr-push"} -->
    "#);
    t.comment(1, &quinn(), "/promote uat").await;
    insta::assert_snapshot!(t.said(), @r#"
    #1: 🚀 Opened #2 to promote my-app-service1 v1.4.0 to **uat**.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/dag success: Every image came through the DAG
    #1 reaction: eyes to @quinn's "/promote uat"
    #1 reaction: rocket to @quinn's "/promote uat"
    "#);
    // Every stage's pull request shows it.
    insta::assert_snapshot!(t.forge.pr(2).body, @r#"
    ### my-app-service1 → uat

    | | |
    |---|---|
    | Image | `123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app-service1` |
    | Tag | `v1.4.0` (uat runs `v1.3.2`) |
    | Digest | `sha256:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1` |
    | Source | `acme/my-app@3f9c2d1` (image label `org.opencontainers.image.revision`) |

    ```mermaid
    flowchart LR
      s_dev["dev · v1.4.0"]
      s_uat["uat · v1.4.0 ⏳"]
      s_prod["prod · v1.3.0"]
      s_dev --> s_uat
      s_uat --> s_prod
      classDef verified fill:#d4edda,stroke:#2e7d32
      class s_dev verified
      classDef pending fill:#dbeafe,stroke:#1d4ed8
      class s_uat pending
    ```

    **Gate:** `/promote uat` by @acme/qa. Hoist merges when `render/my-app-service1-uat` passes.

    <!-- hoist:v1 {"service":"my-app-service1","stage":"uat","image":"123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app-service1","tag":"v1.4.0","digest":"sha256:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1","requested_by":"quinn"} -->
    "#);
    // An image without labels: no Source line, nothing else changes.
    t.push("v1.5.0", "b2").await;
    insta::assert_snapshot!(t.forge.pr(3).body, @r#"
    ### my-app-service1 → dev

    | | |
    |---|---|
    | Image | `123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app-service1` |
    | Tag | `v1.5.0` (dev runs `v1.4.0`) |
    | Digest | `sha256:b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2` |
    | Pushed | 2026-11-26 09:58 UTC |

    ```mermaid
    flowchart LR
      s_dev["dev · v1.5.0 ⏳"]
      s_uat["uat · v1.3.2"]
      s_prod["prod · v1.3.0"]
      s_dev --> s_uat
      s_uat --> s_prod
      classDef pending fill:#dbeafe,stroke:#1d4ed8
      class s_dev pending
    ```

    **Gate:** none (dev promotes automatically). Hoist merges when `render/my-app-service1-dev` passes.

    <!-- hoist:v1 {"service":"my-app-service1","stage":"dev","image":"123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app-service1","tag":"v1.5.0","digest":"sha256:b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2","requested_by":"ecr-push"} -->
    "#);
    insta::assert_snapshot!(t.said(), @"
    check: hoist/argocd pending: Waiting
    check: hoist/dag success: No gated image values change
    ");
}

#[tokio::test]
async fn a_hold_survives_a_lost_store() {
    let mut t = Tester::new();
    t.push("v1.4.0", "a1").await;
    t.comment(1, &mallory(), "/hold").await;
    insta::assert_snapshot!(t.said(), @r#"
    #1: ⛔ @mallory, /hold and /unhold need write access to acme/gitops.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/dag success: No gated image values change
    #1 reaction: eyes to @mallory's "/hold"
    #1 reaction: confused to @mallory's "/hold"
    "#);
    t.comment(1, &sam(), "/hold").await;
    insta::assert_snapshot!(t.said(), @r#"
    #1: ⏸️ Held by @sam. Hoist will not merge this PR until someone comments /unhold.
    ---
    #1 reaction: eyes to @sam's "/hold"
    #1 reaction: rocket to @sam's "/hold"
    "#);
    // The store is lost (a new Lambda environment, a lost volume).
    let dir = tempfile::tempdir().unwrap();
    std::sync::Arc::get_mut(&mut t.engine).unwrap().store =
        Store::open(&dir.path().join("new.db")).unwrap();
    t.engine.rebuild_ledger().await.unwrap();
    t.check(1, Some("success")).await;
    assert_eq!(
        t.forge.pr(1).state,
        PrState::Open,
        "the hold came back from the comments"
    );
    t.comment(1, &sam(), "/unhold").await;
    insta::assert_snapshot!(t.said(), @r#"
    #1: ▶️ Released by @sam. Hoist merges this PR once its gate and checks pass.
    ---
    #1: ⏳ Deploying to **dev**: merged as `0000000`; Argo CD app [my-app-service1-dev](ARGOCD/applications/my-app-service1-dev): Argo CD has no application my-app-service1-dev. Hoist looks again and updates this comment.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/argocd success: Ready to merge
    #1 reaction: eyes to @sam's "/unhold"
    #1 reaction: rocket to @sam's "/unhold"
    "#);
    assert_eq!(t.forge.pr(1).state, PrState::Merged);
    insta::assert_snapshot!(t.said(), @"");
    t.expect_wait_for_argo("dev");
    // Rebuilt again, the last word (/unhold) wins.
    std::sync::Arc::get_mut(&mut t.engine).unwrap().store =
        Store::open(&dir.path().join("again.db")).unwrap();
    t.engine.rebuild_ledger().await.unwrap();
    assert_eq!(t.engine.store.held_by(1).await.unwrap(), None);
}

#[tokio::test]
async fn a_rebuilt_store_takes_the_requester_from_the_commit_not_the_body() {
    let mut t = Tester::new();
    prod_waiting_for_owner(&mut t).await;
    // quinn rewrites the body's record of the requester, then the store is lost.
    {
        let mut s = t.forge.state.lock().unwrap();
        let pr = s.prs.iter_mut().find(|p| p.number == 3).unwrap();
        pr.body = pr
            .body
            .replace("\"requested_by\":\"quinn\"", "\"requested_by\":\"sam\"");
    }
    let dir = tempfile::tempdir().unwrap();
    std::sync::Arc::get_mut(&mut t.engine).unwrap().store =
        Store::open(&dir.path().join("new.db")).unwrap();
    t.engine.rebuild_ledger().await.unwrap();
    t.review(3, &quinn(), ReviewState::Approved, None).await;
    assert_eq!(
        t.forge.pr(3).state,
        PrState::Open,
        "the commit's Hoist-Requested-By trailer still names quinn"
    );
    t.review(3, &sam(), ReviewState::Approved, None).await;
    assert_eq!(t.forge.pr(3).state, PrState::Merged);
    insta::assert_snapshot!(t.said(), @"
    #3: ⏳ Deploying to **prod**: merged as `0000000`; Argo CD app [my-app-service1-prod](ARGOCD/applications/my-app-service1-prod): Argo CD has no application my-app-service1-prod. Hoist looks again and updates this comment.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/argocd success: Ready to merge
    ");
    t.expect_wait_for_argo("prod");
}

#[tokio::test]
async fn a_merge_counts_as_verified_at_a_later_revision_that_still_runs_it() {
    let mut t = Tester::new();
    t.push("v1.4.0", "a1").await;
    t.check(1, Some("success")).await;
    t.expect_wait_for_argo("dev");
    assert_eq!(t.forge.pr(1).state, PrState::Merged);
    // Before Argo CD syncs, someone changes another file on main: by the time Argo CD
    // runs dev, its revision is the later commit, which still pins v1.4.0's digest.
    t.forge.commit_to_base("README.md", "# changed\n");
    let later = t.forge.state.lock().unwrap().base.clone();
    assert_ne!(Some(later.clone()), t.forge.pr(1).merge_sha);
    let image = format!("{IMAGE}@{}", digest("a1"));
    t.argo.synced("my-app-service1-dev", &later, &image);
    assert_eq!(t.engine.reconcile().await.unwrap().unverified, 0);
    insta::assert_snapshot!(t.said(), @"
    #1: ✅ Verified in **dev**: my-app-service1 v1.4.0 is Synced and Healthy at 0000000 (Argo CD app my-app-service1-dev). Next: comment /promote uat.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/argocd success: Ready to merge
    check: hoist/dag success: No gated image values change
    ");
    // A later revision whose overlay no longer pins the freight does not verify it, even
    // when the app still reports the image running.
    t.push("v1.5.0", "b2").await;
    t.check(2, Some("success")).await;
    t.expect_waits("my-app-service1-dev: the application is not at 0000000 yet");
    t.forge.commit_to_base(DEV, "images: []\n");
    let other = t.forge.state.lock().unwrap().base.clone();
    t.argo.synced(
        "my-app-service1-dev",
        &other,
        &format!("{IMAGE}@{}", digest("b2")),
    );
    assert_eq!(t.engine.reconcile().await.unwrap().unverified, 1);
    insta::assert_snapshot!(t.said(), @"
    #2: ⏳ Deploying to **dev**: merged as `0000000`; Argo CD app [my-app-service1-dev](ARGOCD/applications/my-app-service1-dev): the application is not at 0000000 yet. Hoist looks again and updates this comment.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/argocd success: Ready to merge
    check: hoist/dag success: No gated image values change
    ");
}

#[tokio::test]
async fn promote_takes_the_tag_from_the_ledger_not_the_editable_body() {
    let mut t = Tester::new();
    t.dev_verified().await;
    // Someone with write access edits the tag in the body's record; the digest stays.
    {
        let mut s = t.forge.state.lock().unwrap();
        let pr = s.prs.iter_mut().find(|p| p.number == 1).unwrap();
        let edited = pr.body.replace("\"tag\":\"v1.4.0\"", "\"tag\":\"v9.9.9\"");
        assert_ne!(edited, pr.body, "the body records the tag");
        pr.body = edited;
    }
    t.comment(1, &quinn(), "/promote uat").await;
    insta::assert_snapshot!(t.said(), @r#"
    #1: 🚀 Opened #2 to promote my-app-service1 v1.4.0 to **uat**.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/dag success: Every image came through the DAG
    #1 reaction: eyes to @quinn's "/promote uat"
    #1 reaction: rocket to @quinn's "/promote uat"
    "#);
    let uat = t.forge.pr(2);
    let file = t.forge.file_at(&uat.head_sha, UAT).unwrap();
    assert!(
        file.contains("newTag: v1.4.0") && !file.contains("v9.9.9"),
        "{file}"
    );
    assert!(!uat.title.contains("v9.9.9"), "{}", uat.title);
}

/// A gated stage without an Argo CD application cannot be rendered: `hoist/dag` judges its
/// overlays' images entries instead, and says so.
#[tokio::test]
async fn hoist_dag_falls_back_to_the_overlay_without_an_application() {
    let mut t = Tester::new();
    let text = example_config().replace("    argocd_app: \"{service}-prod\"\n", "");
    assert_ne!(
        text,
        example_config(),
        "the example names prod's application"
    );
    std::sync::Arc::get_mut(&mut t.engine).unwrap().config =
        Arc::new(Config::parse(&text, "hoist.yaml").unwrap());
    // dev verified, as `dev_verified` does; dev's hoist/dag reads differently here.
    t.push("v1.4.0", "a1").await;
    t.check(1, Some("success")).await;
    t.expect_wait_for_argo("dev");
    t.argo_syncs(1, "a1").await;
    insta::assert_snapshot!(t.said(), @"
    #1: ✅ Verified in **dev**: my-app-service1 v1.4.0 is Synced and Healthy at 0000000 (Argo CD app my-app-service1-dev). Next: comment /promote uat.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/argocd success: Ready to merge
    check: hoist/dag success: Every image came through the DAG
    ");
    let edited = t.prod_pinned_to("v1.4.0", "a1");
    let (_, head) = t.person_pr("alice/hotfix", &alice(), PROD, &edited).await;
    let (conclusion, text) = dag_check(&t, &head);
    assert_eq!(conclusion, "failure");
    insta::assert_snapshot!(text, @"
    An image skips the promotion DAG
    ℹ️ prod: no Argo CD application is configured, so hoist/dag judges only each service's images entry in its overlay, not everything the stage renders
    ❌ /promote prod refused: prod takes freight from **uat**, and v1.4.0 (sha256:a1a1a1…a1a1) is verified in **dev** only. Promote it to uat first with /promote uat.
    ");
    insta::assert_snapshot!(t.said(), @"check: hoist/dag failure: An image skips the promotion DAG");
}

/// `/promote uat` on dev's merged pull request meets an answer that will not change
/// (GitHub refuses to write the uat branch): the worker gives up at once, and says so on
/// the pull request the command was given on, not only in its log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_that_fails_for_good_is_said_on_its_pull_request() {
    use hoist::worker::{self, Queue, RetryPolicy};
    let mut t = Tester::new();
    t.dev_verified().await;
    t.forge.state.lock().unwrap().fail_call = Some((
        "PUT branch hoist/uat/my-app-service1".into(),
        ForgeError::Other("405 Reference cannot be updated".into()),
    ));
    let id = post_as(&t.forge, 1, &quinn(), "/promote uat");
    let ev = Event::CommentCreated {
        repo: Tester::repo(),
        comment_id: id,
        body: "/promote uat".into(),
        author: quinn(),
        number: 1,
        is_pull_request: true,
    };
    let store = Store::open(&t._dir.path().join("queue.db")).unwrap();
    store
        .insert(hoist::store::NewEvent {
            dedupe_key: format!("comment:{id}"),
            serial_key: ev.serial_key(),
            kind: ev.kind().into(),
            payload: serde_json::to_string(&ev).unwrap(),
        })
        .await
        .unwrap();
    let queue = Queue {
        store: store.clone(),
        wake: Arc::new(tokio::sync::Notify::new()),
    };
    let (stop, rx) = tokio::sync::watch::channel(false);
    let w = tokio::spawn(worker::run(
        queue,
        t.engine.clone(),
        RetryPolicy::default(),
        rx,
    ));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while store.rows().await.unwrap()[0].status != "failed" {
        assert!(std::time::Instant::now() < deadline, "never failed");
        tokio::task::yield_now().await;
    }
    stop.send(true).unwrap();
    w.await.unwrap();
    let rows = store.rows().await.unwrap();
    assert_eq!(rows[0].attempts, 1, "given up at once");
    let (_, raw) = t.hoist_comments().pop().unwrap();
    // Marked as the answer to this one event, so that it is said once.
    let mark = raw.split_once("\n\n<!-- hoist:mark failed:").unwrap().1;
    assert!(mark.ends_with(" -->"), "{mark}");
    insta::assert_snapshot!(t.said(), @r#"
    #1: ⚠️ Hoist gave up on @quinn's comment: 405 Reference cannot be updated

    What it would have done has not happened. Once the cause is fixed, repeat the command or comment `/status`; Hoist's reconcile pass also repairs what it can.
    ---
    #1 reaction: eyes to @quinn's "/promote uat"
    "#);
}

/// After a merge, one comment on the pull request follows the deployment, edited in
/// place: what Argo CD has not done yet; Degraded, with what Argo CD says, its link and
/// what to do; then verified.
#[tokio::test]
async fn one_comment_follows_the_deployment_after_the_merge() {
    let mut t = Tester::new();
    t.push("v1.4.0", "a1").await;
    t.check(1, Some("success")).await;
    assert_eq!(t.forge.pr(1).state, PrState::Merged);
    t.expect_wait_for_argo("dev");
    insta::assert_snapshot!(t.said(), @"
    #1: ⏳ Deploying to **dev**: merged as `0000000`; Argo CD app [my-app-service1-dev](ARGOCD/applications/my-app-service1-dev): Argo CD has no application my-app-service1-dev. Hoist looks again and updates this comment.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/argocd success: Ready to merge
    check: hoist/dag success: No gated image values change
    ");

    // Argo CD runs the merge, and the rollout fails: the same comment, edited.
    let (_, sha) = t
        .forge
        .sync_merged(&t.argo, 1, &format!("{IMAGE}@{}", digest("a1")));
    {
        let mut apps = t.argo.apps.lock().unwrap();
        let app = apps.get_mut("my-app-service1-dev").unwrap();
        app.health = "Degraded".into();
        app.message = Some("Deployment \"web\" exceeded its progress deadline".into());
    }
    assert_eq!(t.engine.reconcile().await.unwrap().unverified, 1);
    insta::assert_snapshot!(t.said(), @r#"
    #1, edited: ❌ Deploying to **dev**: Argo CD app [my-app-service1-dev](ARGOCD/applications/my-app-service1-dev) is Degraded at `0000000`: Deployment "web" exceeded its progress deadline

    Hoist keeps watching, and verifies it if it recovers. To put back what ran before, comment `/rollback dev` on this pull request; `/hold` on an open promotion keeps Hoist from merging it meanwhile.
    "#);

    // It recovers: edited again.
    t.argo.synced(
        "my-app-service1-dev",
        &sha,
        &format!("{IMAGE}@{}", digest("a1")),
    );
    assert_eq!(t.engine.reconcile().await.unwrap().unverified, 0);
    insta::assert_snapshot!(t.said(), @"#1, edited: ✅ Verified in **dev**: my-app-service1 v1.4.0 is Synced and Healthy at 0000000 (Argo CD app my-app-service1-dev). Next: comment /promote uat.");
}

/// dev's pull request first carried v1.4.0, then v1.5.0 took it over, and it merged with
/// v1.5.0 while Hoist missed the merge. Reconcile records and verifies v1.5.0, and
/// v1.4.0's promotion, which never merged, is not looked at again on every pass.
#[tokio::test]
async fn reconcile_repairs_a_lost_merge_once_when_newer_freight_took_the_pull_request() {
    let mut t = Tester::new();
    t.push("v1.4.0", "a1").await;
    t.push("v1.5.0", "b2").await;
    insta::assert_snapshot!(t.said(), @"
    #1: ♻️ Updated to v1.5.0 (was v1.4.0): a newer image arrived before this PR merged.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/dag success: No gated image values change
    ");
    let head = t.forge.pr(1).head_sha;
    hoist::forge::Forge::merge(&t.forge, 1, &head, "Promote", "")
        .await
        .unwrap();
    t.forge
        .sync_merged(&t.argo, 1, &format!("{IMAGE}@{}", digest("b2")));
    let first = t.engine.reconcile().await.unwrap();
    assert_eq!((first.closes, first.unverified), (1, 0));
    insta::assert_snapshot!(t.said(), @"#1: ✅ Verified in **dev**: my-app-service1 v1.5.0 is Synced and Healthy at 0000000 (Argo CD app my-app-service1-dev). Next: comment /promote uat.");
    let second = t.engine.reconcile().await.unwrap();
    assert_eq!(second.closes, 0, "nothing left to repair");
    assert!(!t.in_ledger_merged("dev", "a1").await);
}

/// dev's pull request was closed, its event lost, and someone has pushed to its branch
/// since: reconcile retires Hoist's head but leaves the branch, which is no longer the
/// one Hoist wrote.
#[tokio::test]
async fn a_close_repaired_late_keeps_a_branch_that_moved() {
    let mut t = Tester::new();
    t.push("v1.4.0", "a1").await;
    let branch = t.forge.pr(1).head_ref;
    hoist::forge::Forge::close_pull_request(&t.forge, 1)
        .await
        .unwrap();
    let theirs = t.forge.push_as(&branch, &alice(), "notes.md", "mine\n");
    assert_eq!(t.engine.reconcile().await.unwrap().closes, 1);
    assert_eq!(t.forge.branch_head(&branch), Some(theirs));
    assert!(!t.engine.store.is_hoist_pr(1).await.unwrap());
    insta::assert_snapshot!(t.said(), @"
    check: hoist/argocd pending: Waiting
    check: hoist/dag success: No gated image values change
    ");
}

/// With more services than one pass reads, reconcile's registry pass reads a bounded
/// number per pass, paced, and the next pass goes on where the last one stopped: a push
/// whose event was lost is found within a few passes, whatever the number of services.
/// (Time is paused: the pacing's sleeps pass at once.)
#[tokio::test(start_paused = true)]
async fn reconcile_reads_the_registry_in_turns_when_there_are_many_services() {
    use hoist::engine::reconcile::REGISTRY_PER_PASS;
    let mut t = Tester::new();
    // 147 more services around the example's four; my-app-service1 comes 121st.
    let extra = |range: std::ops::Range<usize>| -> String {
        range
            .map(|i| {
                format!(
                    "  svc-{i:03}:\n    image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/svc-{i:03}\n    tags: {{ semver: \"^1\" }}\n    path: apps/svc-{i:03}/env/{{stage}}/kustomization.yaml\n"
                )
            })
            .collect()
    };
    let text = example_config().replace(
        "services:\n  my-app-service1:",
        &format!("services:\n{}  my-app-service1:", extra(0..120)),
    );
    let text = text.replace("\nmerge:", &format!("{}\nmerge:", extra(120..147)));
    let config = Config::parse(&text, "hoist.yaml").unwrap();
    assert_eq!(config.services.len(), 151);
    Arc::get_mut(&mut t.engine).unwrap().config = Arc::new(config);
    t.registry.images.lock().unwrap().insert(
        IMAGE.into(),
        vec![hoist::registry::ImageVersion {
            tag: "v1.4.0".into(),
            digest: digest("a1"),
            pushed_at: "2026-11-26T10:00:00Z".into(),
        }],
    );
    let started = tokio::time::Instant::now();
    let first = t.engine.reconcile().await.unwrap();
    let paced = started.elapsed();
    assert_eq!((first.registry_reads, first.pushes), (REGISTRY_PER_PASS, 0));
    assert!(paced >= std::time::Duration::from_millis(100) * (REGISTRY_PER_PASS as u32 - 1));
    let second = t.engine.reconcile().await.unwrap();
    assert_eq!(
        (second.registry_reads, second.pushes),
        (REGISTRY_PER_PASS, 1)
    );
    assert_eq!(t.forge.pr(1).title, "Promote my-app-service1 v1.4.0 to dev");
}

/// v1.4.0 merged into dev, then v1.5.0 merged over it before Argo CD ran either; Argo CD
/// then runs v1.5.0, Degraded. Only v1.5.0's pull request is told: v1.4.0's, overtaken,
/// keeps what it said, and is never told that a rollout it is not part of failed.
#[tokio::test]
async fn an_overtaken_promotion_is_not_told_of_the_newer_ones_rollout() {
    let mut t = Tester::new();
    t.push("v1.4.0", "a1").await;
    t.check(1, Some("success")).await;
    t.expect_wait_for_argo("dev");
    insta::assert_snapshot!(t.said(), @"
    #1: ⏳ Deploying to **dev**: merged as `0000000`; Argo CD app [my-app-service1-dev](ARGOCD/applications/my-app-service1-dev): Argo CD has no application my-app-service1-dev. Hoist looks again and updates this comment.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/argocd success: Ready to merge
    check: hoist/dag success: No gated image values change
    ");
    t.push("v1.5.0", "b2").await;
    t.check(2, Some("success")).await;
    t.expect_wait_for_argo("dev");
    insta::assert_snapshot!(t.said(), @"
    #2: ⏳ Deploying to **dev**: merged as `0000000`; Argo CD app [my-app-service1-dev](ARGOCD/applications/my-app-service1-dev): Argo CD has no application my-app-service1-dev. Hoist looks again and updates this comment.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/argocd success: Ready to merge
    check: hoist/dag success: No gated image values change
    ");
    t.forge
        .sync_merged(&t.argo, 2, &format!("{IMAGE}@{}", digest("b2")));
    {
        let mut apps = t.argo.apps.lock().unwrap();
        let app = apps.get_mut("my-app-service1-dev").unwrap();
        app.health = "Degraded".into();
        app.message = Some("CrashLoopBackOff".into());
    }
    assert_eq!(t.engine.reconcile().await.unwrap().unverified, 2);
    // v1.4.0's pull request keeps what it said; v1.5.0's tells of the rollout.
    insta::assert_snapshot!(t.said(), @"
    #2, edited: ❌ Deploying to **dev**: Argo CD app [my-app-service1-dev](ARGOCD/applications/my-app-service1-dev) is Degraded at `0000000`: CrashLoopBackOff

    Hoist keeps watching, and verifies it if it recovers. To put back what ran before, comment `/rollback dev` on this pull request; `/hold` on an open promotion keeps Hoist from merging it meanwhile.
    ");
}

/// hoist/dag is published once per head and result: an event delivered again for the
/// same head (GitHub redelivers; reconcile and an event can meet) publishes nothing new,
/// unless the forge no longer shows Hoist's check there (CodeCommit's one check comment
/// per pull request, taken over by a later head).
#[tokio::test]
async fn hoist_dag_is_published_once_per_head_and_result() {
    let mut t = Tester::new();
    t.push("v1.4.0", "a1").await;
    insta::assert_snapshot!(t.said(), @"
    check: hoist/argocd pending: Waiting
    check: hoist/dag success: No gated image values change
    ");
    let pr = t.forge.pr(1);
    let me = t.forge.me_actor();
    let again = || Event::PullRequestSynchronized {
        repo: Tester::repo(),
        pr: 1,
        head_ref: pr.head_ref.clone(),
        head_sha: pr.head_sha.clone(),
        sender: me.clone(),
    };
    for _ in 0..2 {
        t.deliver(again()).await;
    }
    insta::assert_snapshot!(t.said(), @"");
    t.forge
        .state
        .lock()
        .unwrap()
        .checks
        .get_mut(&pr.head_sha)
        .unwrap()
        .retain(|c| c.name != "hoist/dag");
    t.deliver(again()).await;
    let on_head = t.forge.state.lock().unwrap().checks[&pr.head_sha]
        .iter()
        .filter(|c| c.name == "hoist/dag")
        .count();
    assert_eq!(on_head, 1, "published again where the forge lost it");
    insta::assert_snapshot!(t.said(), @"check: hoist/dag success: No gated image values change");
}
