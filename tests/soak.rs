//! `stages.<name>.soak`: freight enters the stage only after it has run verified in each
//! upstream for that long. A `/promote` before then is accepted, the pull request waits
//! with the time left in its check, and merges at the instant the soak ends.

mod support;

use hoist::config::Config;
use hoist::forge::PrState;
use support::tester::*;

/// uat takes freight only after it ran verified in dev for two hours.
fn uat_soaks_2h(text: String) -> String {
    text.replace(
        "    upstream: [dev]\n",
        "    upstream: [dev]\n    soak: 2h\n",
    )
}

#[tokio::test]
async fn a_promotion_waits_out_the_soak_then_merges() {
    let mut t = Tester::new();
    t.edit_config(uat_soaks_2h);
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
    // Its opened event waits: verified in dev at 10:00:00, uat may take it from 12:00:00.
    t.expect_waits("soaking until 2026-11-26T12:00:00Z");
    t.check(2, Some("success")).await;
    assert_eq!(t.forge.pr(2).state, PrState::Open);
    t.expect_waits("soaking until 2026-11-26T12:00:00Z");
    insta::assert_snapshot!(t.gate_lines(2, "soak"), @"⏳ soak in dev: 2h left (it must run verified there for 2h first)");
    t.advance(std::time::Duration::from_secs(5400));
    t.check(2, Some("success")).await;
    t.expect_waits("soaking until 2026-11-26T12:00:00Z");
    insta::assert_snapshot!(t.gate_lines(2, "soak"), @"⏳ soak in dev: 30m left (it must run verified there for 2h first)");
    assert_eq!(t.forge.pr(2).state, PrState::Open);
    // The queue brings the event back at 12:00:00.
    t.advance(std::time::Duration::from_secs(1800));
    t.check(2, Some("success")).await;
    assert_eq!(t.forge.pr(2).state, PrState::Merged);
    t.expect_wait_for_argo("uat");
    insta::assert_snapshot!(t.said(), @"
    #2: ⏳ Deploying to **uat**: merged as `0000000`; Argo CD app [my-app-service1-uat](ARGOCD/applications/my-app-service1-uat): Argo CD has no application my-app-service1-uat. Hoist looks again and updates this comment.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/argocd pending: Waiting
    check: hoist/argocd success: Ready to merge
    ");
}

/// The store is lost mid-soak: the ledger rebuilt from the forge has no verified times,
/// so the soak starts over from reconcile's new verification; it never counts as done.
#[tokio::test]
async fn a_lost_store_starts_the_soak_over() {
    let mut t = Tester::new();
    t.edit_config(uat_soaks_2h);
    t.dev_verified().await;
    t.comment(1, &quinn(), "/promote uat").await;
    t.check(2, Some("success")).await;
    t.waits();
    t.said();
    t.advance(std::time::Duration::from_secs(5400));
    t.lose_store().await;
    assert_eq!(t.forge.pr(2).state, PrState::Open);
    t.advance(std::time::Duration::from_secs(1800));
    t.check(2, Some("success")).await;
    assert_eq!(
        t.forge.pr(2).state,
        PrState::Open,
        "not at the old soak's end"
    );
    t.expect_waits("soaking until 2026-11-26T13:30:00Z");
    insta::assert_snapshot!(t.gate_lines(2, "soak"), @"⏳ soak in dev: 1h30m left (it must run verified there for 2h first)");
    insta::assert_snapshot!(t.said(), @"
    check: hoist/argocd pending: Waiting
    check: hoist/argocd pending: Waiting
    ");
}

/// A soak that is not a duration, or on a root stage, is refused where it is written.
#[test]
fn a_soak_is_checked_where_it_is_written() {
    let bad = example_config()
        .replace(
            "    upstream: [dev]\n",
            "    upstream: [dev]\n    soak: 2 hours\n",
        )
        .replace("    auto: true\n", "    auto: true\n    soak: 1h\n");
    let err = Config::parse(&bad, "hoist.yaml").unwrap_err();
    insta::assert_snapshot!(format!("{err:?}"), @r#"ConfigErrors([ConfigError { file: "hoist.yaml", line: 24, col: 11, message: "stage \"dev\" is a root (no upstream): there is nowhere for freight to soak before it; remove `soak`" }, ConfigError { file: "hoist.yaml", line: 28, col: 11, message: "stage \"uat\": soak \"2 hours\" is not a duration of a year or less: write it as 90m, 2h, 1d or 1h30m (lowercase units, more than zero)" }])"#);
}
