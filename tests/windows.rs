//! `stages.<name>.windows`: merges into the stage happen only inside a deploy window;
//! outside one, a ready pull request waits, its check says until when, and Hoist merges
//! it when the next window opens.

mod support;

use hoist::config::Config;
use hoist::forge::PrState;
use support::tester::*;

/// uat merges only on weekend mornings in Berlin. On Thursday 10:00 UTC the ready pull
/// request waits until Saturday 09:00 UTC (10:00 in Berlin), and merges then.
#[tokio::test]
async fn a_ready_promotion_waits_for_the_next_window() {
    let mut t = Tester::new();
    let text = example_config().replace(
        "    upstream: [dev]\n",
        "    upstream: [dev]\n    windows: [{ days: sat-sun, hours: \"10:00-12:00\", tz: Europe/Berlin }]\n",
    );
    std::sync::Arc::get_mut(&mut t.engine).unwrap().config =
        std::sync::Arc::new(Config::parse(&text, "hoist.yaml").unwrap());
    t.dev_verified().await;
    t.comment(1, &quinn(), "/promote uat").await;
    t.said();
    t.expect_waits("outside every deploy window until 2026-11-28T09:00:00Z");
    t.check(2, Some("success")).await;
    assert_eq!(t.forge.pr(2).state, PrState::Open);
    t.expect_waits("outside every deploy window until 2026-11-28T09:00:00Z");
    insta::assert_snapshot!(t.gate_lines(2, "window"), @"⏳ deploy window (sat-sun 10:00-12:00 Europe/Berlin): the next opens at 2026-11-28T09:00:00Z");
    // The queue brings the event back at Saturday 09:00 UTC.
    t.advance(std::time::Duration::from_secs(47 * 3600));
    t.check(2, Some("success")).await;
    assert_eq!(t.forge.pr(2).state, PrState::Merged);
    t.expect_wait_for_argo("uat");
    insta::assert_snapshot!(t.said(), @"
    #2: ⏳ Deploying to **uat**: merged as `0000000`; Argo CD app [my-app-service1-uat](ARGOCD/applications/my-app-service1-uat): Argo CD has no application my-app-service1-uat. Hoist looks again and updates this comment.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/argocd success: Ready to merge
    ");
}

/// A window with a bad day, hour range or zone is refused where it is written.
#[test]
fn a_window_is_checked_where_it_is_written() {
    let bad = example_config().replace(
        "    upstream: [dev]\n",
        "    upstream: [dev]\n    windows: [{ days: mon-fry, hours: \"09:00-16:00\" }, { days: sat, hours: \"18:00-02:00\", tz: Mars/Olympus }]\n",
    );
    let err = Config::parse(&bad, "hoist.yaml").unwrap_err();
    insta::assert_snapshot!(format!("{err:?}"), @r#"ConfigErrors([ConfigError { file: "hoist.yaml", line: 27, col: 15, message: "stage \"uat\": deploy window: \"fry\" is not a day: write mon, tue, wed, thu, fri, sat or sun" }, ConfigError { file: "hoist.yaml", line: 27, col: 56, message: "stage \"uat\": deploy window: \"18:00-02:00\" ends before it starts: a window is within one day (use two for one across midnight)" }])"#);
}
