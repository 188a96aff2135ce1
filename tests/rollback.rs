//! `/rollback STAGE [to TAG]`: the pull request that puts back what a stage ran before,
//! gated as the stage's config says, and the hold it leaves on forward promotions into
//! the stage until `/unhold STAGE`.

mod support;

use hoist::config::Config;
use hoist::event::ReviewState;
use hoist::forge::PrState;
use support::tester::*;

/// v1.4.0 (PRs #1 to #3), then v1.5.0 (#4 to #6) promoted through dev, uat and prod,
/// each verified; what Hoist said on the way is drained.
async fn two_releases_in_prod(t: &mut Tester) {
    prod_waiting_for_owner(t).await;
    t.review(3, &sam(), ReviewState::Approved, None).await;
    t.argo_syncs(3, "a1").await;
    t.push("v1.5.0", "b2").await;
    t.check(4, Some("success")).await;
    t.argo_syncs(4, "b2").await;
    for (pr, stage) in [(4, "uat"), (5, "prod")] {
        t.comment(pr, &quinn(), &format!("/promote {stage}")).await;
        t.check(pr + 1, Some("success")).await;
        if stage == "prod" {
            t.review(pr + 1, &sam(), ReviewState::Approved, None).await;
        }
        assert_eq!(
            t.forge.pr(pr + 1).state,
            PrState::Merged,
            "#{} merged",
            pr + 1
        );
        t.argo_syncs(pr + 1, "b2").await;
    }
    t.waits();
    t.said();
    assert!(t.in_ledger("prod", "b2").await);
}

fn with_prod_rollback_gate(gate: &str) -> Tester {
    let mut t = Tester::new();
    let text = example_config().replace(
        "    argocd_app: \"{service}-prod\"\n",
        &format!("    argocd_app: \"{{service}}-prod\"\n    rollback: {{ gate: {gate} }}\n"),
    );
    std::sync::Arc::get_mut(&mut t.engine).unwrap().config =
        std::sync::Arc::new(Config::parse(&text, "hoist.yaml").unwrap());
    t
}

/// `/rollback prod` on v1.5.0's pull request opens the one that puts v1.4.0 back, which
/// passes prod's gate like any promotion (a code owner's approval); once verified, prod
/// is held: v1.5.0's next promotion into prod passes its gate and still waits, until
/// `/unhold prod`. The same through the real `hoist serve`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_puts_back_what_ran_before_and_holds_the_stage() {
    for drive in [Drive::Engine, Drive::Serve] {
        rollback_and_hold(drive).await;
    }
}

async fn rollback_and_hold(drive: Drive) {
    let mut t = Tester::start(drive).await;
    two_releases_in_prod(&mut t).await;
    t.comment(6, &mallory(), "/rollback prod").await;
    t.comment(6, &quinn(), "/rollback prod to v9.9.9").await;
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @r#"
    #6: ⛔ @mallory, promoting to **prod** needs write access to acme/gitops.
    ---
    #6: ⛔ my-app-service1 v9.9.9 never ran verified in **prod** before its current freight (earlier my-app-service1 verified in prod: v1.4.0)
    ---
    #6 reaction: eyes to @mallory's "/rollback prod"
    #6 reaction: confused to @mallory's "/rollback prod"
    #6 reaction: eyes to @quinn's "/rollback prod to v9.9.9"
    #6 reaction: confused to @quinn's "/rollback prod to v9.9.9"
    "#) };
    t.comment(6, &quinn(), "/rollback prod").await;
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @r#"
    #6: ⏪ Opened #7 to roll my-app-service1 in **prod** back to v1.4.0 (from v1.5.0). Once it merges, forward promotions into prod wait until `/unhold prod`.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/dag success: Every image came through the DAG
    #6 reaction: eyes to @quinn's "/rollback prod"
    #6 reaction: rocket to @quinn's "/rollback prod"
    "#) };
    let pr = t.forge.pr(7);
    assert_eq!(
        pr.title,
        "Roll back my-app-service1 in prod to v1.4.0 (from v1.5.0)"
    );
    // `hoist status` shows it pending in prod.
    let store = hoist::store::Store::open(&t.db()).unwrap();
    let grid = hoist::status::grid(&t.engine.config, Some(&store), None, 0)
        .await
        .unwrap();
    let prod = &grid.services[0].cells[2];
    insta::allow_duplicates! { insta::assert_snapshot!(
    format!("{:?}", prod.pending.iter().map(|p| (p.number, &p.tag, &p.rollback_of)).collect::<Vec<_>>()),
    @r#"[(7, "v1.4.0", Some("v1.5.0"))]"#) };
    drop(store);
    insta::allow_duplicates! { insta::assert_snapshot!(pr.body.lines().take(2).collect::<Vec<_>>().join("\n"), @"
    > [!WARNING]
    > **Rollback**: puts back v1.4.0 in **prod**, which runs v1.5.0 now. It passes prod's gate like any promotion. Once it merges, forward promotions into prod wait until `/unhold prod`.
    ") };
    let prod = t
        .forge
        .file_at(
            &pr.head_sha,
            "apps/my-app-service1/env/prod/kustomization.yaml",
        )
        .unwrap();
    assert!(
        prod.contains("newTag: v1.4.0") && prod.contains(&digest("a1")),
        "{prod}"
    );
    t.check(7, Some("success")).await;
    assert_eq!(
        t.forge.pr(7).state,
        PrState::Open,
        "prod's gate: a code owner"
    );
    t.review(7, &sam(), ReviewState::Approved, None).await;
    assert_eq!(t.forge.pr(7).state, PrState::Merged);
    t.expect_waits("my-app-service1-prod: the application is not at 0000000 yet");
    t.argo_syncs(7, "a1").await;
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @"
    #7: ⏳ Waiting for an approval from a code owner of apps/my-app-service1/env/prod/ (@acme/sre). @quinn requested this promotion, so their approval does not count.
    ---
    #7: ⏸️ Forward promotions of my-app-service1 into **prod** now wait until `/unhold prod`.
    ---
    #7: ✅ Verified in **prod**: my-app-service1 v1.4.0 is Synced and Healthy at 0000000 (Argo CD app my-app-service1-prod).
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/argocd success: Ready to merge
    ") };
    let verified = t.ledger("prod", "a1").await.unwrap();
    assert!(
        verified.verified_at.is_some(),
        "v1.4.0 verified in prod again"
    );

    // prod is held: v1.5.0 promoted again passes its gate and waits.
    t.comment(5, &quinn(), "/promote prod").await;
    t.check(8, Some("success")).await;
    t.review(8, &sam(), ReviewState::Approved, None).await;
    assert_eq!(t.forge.pr(8).state, PrState::Open, "held");
    let gate = {
        let head = t.forge.pr(8).head_sha;
        let s = t.forge.state.lock().unwrap();
        let c = s.checks[&head]
            .iter()
            .rev()
            .find(|c| c.name == "hoist/argocd")
            .unwrap();
        c.url.clone().unwrap()
    };
    let held: Vec<&str> = gate.lines().filter(|l| l.contains("/unhold")).collect();
    insta::allow_duplicates! { insta::assert_snapshot!(held.join("\n"), @"⏳ /unhold prod (prod is held since @quinn's rollback)") };
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @r#"
    #5: 🚀 Opened #8 to promote my-app-service1 v1.5.0 to **prod**.
    ---
    #8: ⏳ Waiting for an approval from a code owner of apps/my-app-service1/env/prod/ (@acme/sre). @quinn requested this promotion, so their approval does not count.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/argocd pending: Waiting
    check: hoist/argocd pending: Waiting
    check: hoist/dag success: Every image came through the DAG
    #5 reaction: eyes to @quinn's "/promote prod"
    #5 reaction: rocket to @quinn's "/promote prod"
    "#) };
    let store = hoist::store::Store::open(&t.db()).unwrap();
    let grid = hoist::status::grid(&t.engine.config, Some(&store), None, 0)
        .await
        .unwrap();
    let text = hoist::status::render(&grid);
    assert!(
        text.contains("held since @quinn's rollback: /unhold prod"),
        "{text}"
    );
    t.comment(8, &mallory(), "/unhold prod").await;
    assert_eq!(
        t.forge.pr(8).state,
        PrState::Open,
        "a reader cannot release it"
    );
    t.comment(8, &sam(), "/unhold prod").await;
    assert_eq!(t.forge.pr(8).state, PrState::Merged);
    t.expect_waits("my-app-service1-prod: the application is not at 0000000 yet");
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @r#"
    #8: ⛔ @mallory, promoting to **prod** needs write access to acme/gitops.
    ---
    #8: ▶️ @sam released **prod** for my-app-service1: forward promotions into it merge again.
    ---
    #8: ⏳ Deploying to **prod**: merged as `0000000`; Argo CD app [my-app-service1-prod](ARGOCD/applications/my-app-service1-prod): the application is not at 0000000 yet. Hoist looks again and updates this comment.
    ---
    check: hoist/argocd success: Ready to merge
    #8 reaction: eyes to @mallory's "/unhold prod"
    #8 reaction: confused to @mallory's "/unhold prod"
    #8 reaction: eyes to @sam's "/unhold prod"
    #8 reaction: rocket to @sam's "/unhold prod"
    "#) };
}

/// With `rollback: { gate: none }`, prod's rollback merges once its required check
/// passes, with no code owner's approval.
#[tokio::test]
async fn a_stage_may_let_rollbacks_through_without_its_code_owners() {
    let mut t = with_prod_rollback_gate("none");
    two_releases_in_prod(&mut t).await;
    t.comment(6, &quinn(), "/rollback prod to v1.4.0").await;
    t.check(7, Some("success")).await;
    assert_eq!(t.forge.pr(7).state, PrState::Merged);
    t.expect_waits("my-app-service1-prod: the application is not at 0000000 yet");
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @r#"
    #6: ⏪ Opened #7 to roll my-app-service1 in **prod** back to v1.4.0 (from v1.5.0). Once it merges, forward promotions into prod wait until `/unhold prod`.
    ---
    #7: ⏸️ Forward promotions of my-app-service1 into **prod** now wait until `/unhold prod`.
    ---
    #7: ⏳ Deploying to **prod**: merged as `0000000`; Argo CD app [my-app-service1-prod](ARGOCD/applications/my-app-service1-prod): the application is not at 0000000 yet. Hoist looks again and updates this comment.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/argocd success: Ready to merge
    check: hoist/dag success: Every image came through the DAG
    #6 reaction: eyes to @quinn's "/rollback prod to v1.4.0"
    #6 reaction: rocket to @quinn's "/rollback prod to v1.4.0"
    "#) };
}

/// A push while dev's rollback is open does not take its place: the rollback merges or
/// is closed first.
#[tokio::test]
async fn a_push_does_not_take_over_an_open_rollback() {
    let mut t = Tester::new();
    two_releases_in_prod(&mut t).await;
    t.comment(4, &quinn(), "/rollback dev").await;
    t.push("v1.6.0", "c3").await;
    let prs = t.forge.state.lock().unwrap().prs.len();
    assert_eq!(
        (t.forge.pr(7).title, prs),
        (
            "Roll back my-app-service1 in dev to v1.4.0 (from v1.5.0)".to_owned(),
            7
        )
    );
    insta::assert_snapshot!(t.said(), @r#"
    #4: ⏪ Opened #7 to roll my-app-service1 in **dev** back to v1.4.0 (from v1.5.0). Once it merges, forward promotions into dev wait until `/unhold dev`.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/dag success: No gated image values change
    #4 reaction: eyes to @quinn's "/rollback dev"
    #4 reaction: rocket to @quinn's "/rollback dev"
    "#);
}

fn hoist_plan(args: &[&str]) -> (bool, String) {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_hoist"))
        .args([
            "plan",
            "--config",
            "config/hoist.example.yaml",
            "--repo",
            "examples/gitops",
        ])
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.success(), text)
}

/// `hoist plan --rollback`, offline: with --tag, the freight an overlay pins under that
/// tag, only if older than what the stage runs; without a tag or a store, it says what
/// to give.
#[test]
fn hoist_plan_shows_a_rollback() {
    let (ok, text) = hoist_plan(&[
        "--rollback",
        "uat",
        "--service",
        "my-app-service1",
        "--tag",
        "v1.3.0",
    ]);
    assert!(ok, "{text}");
    let head: Vec<&str> = text.lines().take(3).collect();
    insta::assert_snapshot!(head.join("\n"), @"
    uat  my-app-service1  v1.3.2 -> v1.3.0  branch hoist/uat/my-app-service1
    Roll back my-app-service1 in uat to v1.3.0 (from v1.3.2)
    ");
    let (ok, text) = hoist_plan(&[
        "--rollback",
        "prod",
        "--service",
        "my-app-service1",
        "--tag",
        "v1.3.2",
    ]);
    assert!(!ok);
    insta::assert_snapshot!(text, @"my-app-service1 v1.3.2 is not older than v1.3.0, which prod runs: a rollback only goes back");
    let (ok, text) = hoist_plan(&["--rollback", "prod", "--service", "my-app-service1"]);
    assert!(!ok);
    insta::assert_snapshot!(text, @"offline, Hoist does not know what prod ran before: name it with --tag, or give the store with --db");
    let (ok, text) = hoist_plan(&[
        "--event",
        "examples/events/ecr-push-my-app-service1-v1.4.0.json",
        "--tag",
        "v1",
    ]);
    assert!(!ok);
    insta::assert_snapshot!(text, @"error: --tag goes with --promote or --rollback");
}

/// `/rollback` and `/unhold STAGE` on a pull request whose head Hoist did not write (a
/// person's branch, whatever its title or body says) are refused: what to roll back and
/// whose hold to release come from the store's record of Hoist's heads only.
#[tokio::test]
async fn rollback_on_someone_elses_pull_request_is_refused() {
    let mut t = Tester::new();
    two_releases_in_prod(&mut t).await;
    let (n, _) = t
        .person_pr(
            "hoist/prod/my-app-service1",
            &quinn(),
            "apps/my-app-service1/env/prod/kustomization.yaml",
            "images: []\n",
        )
        .await;
    t.said();
    t.comment(n, &quinn(), "/rollback prod\n/unhold prod").await;
    assert_eq!(
        t.forge.state.lock().unwrap().prs.len() as u64,
        n,
        "nothing opened"
    );
    insta::assert_snapshot!(t.said(), @r#"
    #7: ⛔ /rollback works on Hoist's promotion pull requests, whose image it promotes. This PR is not one.

    ⛔ /unhold STAGE works on Hoist's promotion pull requests, whose image it promotes. This PR is not one.
    ---
    #7 reaction: eyes to @quinn's "/rollback prod"
    #7 reaction: confused to @quinn's "/rollback prod"
    "#);
}

/// The hold a merged rollback leaves comes back after the store is lost, from the
/// rollback's merge (Hoist's record of its head) whatever its comments say, until a
/// release of that rollback's hold is on record at the top of Hoist's own, unedited reply
/// to `/unhold`. Edited, the reply counts for nothing: the hold is back (failing closed),
/// and the old `/unhold` is not run again.
#[tokio::test]
async fn a_rollbacks_hold_survives_a_lost_store() {
    let mut t = Tester::new();
    two_releases_in_prod(&mut t).await;
    t.comment(6, &quinn(), "/rollback prod").await;
    t.check(7, Some("success")).await;
    t.review(7, &sam(), ReviewState::Approved, None).await;
    assert_eq!(t.forge.pr(7).state, PrState::Merged);
    t.expect_waits("my-app-service1-prod: the application is not at 0000000 yet");
    t.argo_syncs(7, "a1").await;
    t.said();
    // Even with the announcement gone (deleted by a writer), the merge holds.
    t.forge
        .state
        .lock()
        .unwrap()
        .comments
        .retain(|(_, c)| !c.body.contains("now wait until"));
    t.lose_store().await;
    t.said();
    t.comment(5, &quinn(), "/promote prod").await;
    t.check(8, Some("success")).await;
    t.review(8, &sam(), ReviewState::Approved, None).await;
    assert_eq!(t.forge.pr(8).state, PrState::Open, "still held");
    insta::assert_snapshot!(t.gate_lines(8, "/unhold"), @"⏳ /unhold prod (prod is held since @quinn's rollback)");
    t.said();
    let unhold = t.comment(8, &sam(), "/unhold prod").await;
    assert_eq!(t.forge.pr(8).state, PrState::Merged);
    t.expect_waits("my-app-service1-prod: the application is not at 0000000 yet");
    t.said();
    t.lose_store().await;
    t.said();
    assert_eq!(held(&t).await, None);
    // A writer edits Hoist's reply: its release no longer counts, and sam's old
    // `/unhold` is answered, not run.
    let (id, body) = t
        .forge
        .own_comments(8)
        .into_iter()
        .find(|(_, b)| b.contains(&format!("reply:{unhold}")))
        .unwrap();
    support::memory_forge::edit_comment(&t.forge, id, &format!("{body} "));
    t.lose_store().await;
    assert_eq!(held(&t).await, Some(("quinn".into(), Some(7))));
    insta::assert_snapshot!(t.said(), @r#"
    #8, edited: ▶️ @sam released **prod** for my-app-service1: forward promotions into it merge again.
    ---
    #8: ⛔ Hoist did not answer this comment when it was posted, and runs no late /freeze, /unfreeze, /override freeze, /unhold <stage> or /rollback (an old one could undo a newer decision): comment it again if it still stands.
    ---
    #8 reaction: eyes to @sam's "/unhold prod"
    #8 reaction: confused to @sam's "/unhold prod"
    "#);
}

/// Who holds prod for my-app-service1, and by which rollback.
async fn held(t: &Tester) -> Option<(String, Option<u64>)> {
    t.engine
        .store
        .stage_hold("my-app-service1", "prod")
        .await
        .unwrap()
        .map(|h| (h.by, h.pr))
}

/// The advice after a failed deploy is one Hoist takes: v1.5.0 goes Degraded in dev, the
/// comment says `/rollback dev` on its pull request, and that opens the pull request that
/// puts v1.4.0 back (a root stage included).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_advice_after_a_failed_deploy_works() {
    let mut t = Tester::new();
    t.push("v1.4.0", "a1").await;
    t.check(1, Some("success")).await;
    t.argo_syncs(1, "a1").await;
    t.push("v1.5.0", "b2").await;
    t.check(2, Some("success")).await;
    t.said();
    // #1 waited for its application to appear, and #2, merged, for Argo CD to run it.
    insta::assert_snapshot!(t.waits(), @"
    Argo CD has no application my-app-service1-dev
    my-app-service1-dev: the application is not at 0000000 yet
    ");
    t.forge
        .sync_merged(&t.argo, 2, &format!("{IMAGE}@{}", digest("b2")));
    t.argo
        .apps
        .lock()
        .unwrap()
        .get_mut("my-app-service1-dev")
        .unwrap()
        .health = "Degraded".into();
    assert_eq!(t.engine.reconcile().await.unwrap().unverified, 1);
    let said = t.said();
    assert!(
        said.contains("To put back what ran before, comment `/rollback dev` on this pull request"),
        "{said}"
    );
    t.comment(2, &quinn(), "/rollback dev").await;
    insta::assert_snapshot!(t.said(), @r#"
    #2: ⏪ Opened #3 to roll my-app-service1 in **dev** back to v1.4.0 (from v1.5.0). Once it merges, forward promotions into dev wait until `/unhold dev`.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/dag success: No gated image values change
    #2 reaction: eyes to @quinn's "/rollback dev"
    #2 reaction: rocket to @quinn's "/rollback dev"
    "#);
}
