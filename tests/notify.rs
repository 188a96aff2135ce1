//! `notify:` webhooks: what happened, delivered from the durable queue to a local HTTP
//! receiver: retried through its failures, never twice for one occurrence, filtered by
//! event and stage, in Hoist's versioned JSON or as a Slack message.

mod support;

use std::collections::VecDeque;
use std::time::Duration;

use support::receiver::{notify_rows, receiver, settled_rows, url, workers};
use support::served::Served;
use support::tester::*;

/// dev's promotion, told to a JSON webhook whose first answer is a 500: each event is
/// delivered once, in order, the failed one again after its backoff, and a redelivered
/// merge event tells nothing twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_occurrence_reaches_the_webhook_once_through_its_failures() {
    let r = receiver();
    r.script
        .lock()
        .unwrap()
        .insert("HOOK_JSON".into(), VecDeque::from([500]));
    let mut t = Tester::new();
    t.edit_config(|c| format!("{c}notify:\n  - url_env: HOOK_JSON\n"));
    let stop = workers(&t);
    t.dev_verified().await;
    // GitHub redelivers the merge: nothing new is told.
    t.argo_syncs(1, "a1").await;
    t.said();
    r.wait_for("HOOK_JSON", 1).await;
    // Once the 500 is recorded, its retry is due after its backoff, by the store's clock.
    tokio::time::timeout(Duration::from_secs(30), async {
        while !notify_rows(&t).await.contains("HTTP 500") {
            tokio::task::yield_now().await;
        }
    })
    .await
    .unwrap();
    t.advance(Duration::from_secs(10));
    r.wait_for("HOOK_JSON", 4).await;
    let got = r.got("HOOK_JSON");
    insta::assert_snapshot!(r.summaries("HOOK_JSON"), @r#"
    500 "opened" "my-app-service1 v1.4.0 → dev: pull request opened"
    200 "opened" "my-app-service1 v1.4.0 → dev: pull request opened"
    200 "merged" "my-app-service1 v1.4.0 merged into dev"
    200 "verified" "my-app-service1 v1.4.0 verified in dev: Argo CD runs it, Synced and Healthy"
    "#);
    insta::assert_json_snapshot!(got[3].1, @r#"
    {
      "at": "2026-11-26T10:00:00Z",
      "event": "verified",
      "freight": [
        {
          "digest": "sha256:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1",
          "service": "my-app-service1",
          "tag": "v1.4.0"
        }
      ],
      "pull_request": {
        "number": 1,
        "url": "https://github.com/acme/gitops/pull/1"
      },
      "repository": "acme/gitops",
      "requested_by": "ecr-push",
      "service": "my-app-service1",
      "stage": "dev",
      "summary": "my-app-service1 v1.4.0 verified in dev: Argo CD runs it, Synced and Healthy",
      "version": 1
    }
    "#);
    stop.stop().await;
    insta::assert_snapshot!(settled_rows(&t).await, @"
    notify:HOOK_JSON:opened:1:000000000000000000000000000000013c6ef372 done None
    notify:HOOK_JSON:merged:1:00000000000000000000000000000001daa66d2b done None
    notify:HOOK_JSON:verified:1:00000000000000000000000000000001daa66d2b done None
    ");
}

/// A Slack webhook for uat's openings, refusals and freezes only: dev tells it nothing; a 404
/// fails that notification for good (logged, kept in the store with why) without
/// holding up the next, which is a Slack message with mentions escaped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slack_webhook_gets_only_its_stages_and_events() {
    let r = receiver();
    r.script
        .lock()
        .unwrap()
        .insert("HOOK_SLACK".into(), VecDeque::from([404]));
    let mut t = Tester::new();
    t.edit_config(|c| {
        format!(
            "{c}notify:\n  - url_env: HOOK_SLACK\n    format: slack\n    on: [opened, refused, freeze]\n    stages: [uat]\n"
        )
    });
    let stop = workers(&t);
    t.uat_pending().await;
    r.wait_for("HOOK_SLACK", 1).await;
    t.comment(2, &sam(), "/freeze uat <!channel> INC-7").await;
    // A reader's refusals tell nobody; a writer's comment tells its first one.
    t.comment(2, &mallory(), "/freeze uat\n/promote uat").await;
    t.comment(2, &quinn(), "/freeze uat\n/unfreeze uat").await;
    t.said();
    r.wait_for("HOOK_SLACK", 3).await;
    let got = r.got("HOOK_SLACK");
    let lines: Vec<String> = got
        .iter()
        .map(|(s, b)| format!("{s} {}", b["text"]))
        .collect();
    insta::assert_snapshot!(lines.join("\n"), @r#"
    404 "my-app-service1 v1.4.0 → uat: pull request opened (<https://github.com/acme/gitops/pull/2|#2>)"
    200 "uat frozen by @sam: &lt;!channel&gt; INC-7"
    200 "@quinn, /freeze needs write access and membership in @acme/sre-leads. (<https://github.com/acme/gitops/pull/2|#2>)"
    "#);
    insta::assert_json_snapshot!(got[1].1, @r#"
    {
      "blocks": [
        {
          "text": {
            "text": "uat frozen by @sam: &lt;!channel&gt; INC-7",
            "type": "mrkdwn",
            "verbatim": true
          },
          "type": "section"
        },
        {
          "elements": [
            {
              "text": "*uat* · asked by sam",
              "type": "mrkdwn",
              "verbatim": true
            }
          ],
          "type": "context"
        }
      ],
      "text": "uat frozen by @sam: &lt;!channel&gt; INC-7"
    }
    "#);
    stop.stop().await;
    insta::assert_snapshot!(settled_rows(&t).await, @r#"
    notify:HOOK_SLACK:opened:2:0000000000000000000000000000000278dde6e4 failed Some("the webhook answered HTTP 404")
    notify:HOOK_SLACK:freeze:uat:1795687200000 done None
    notify:HOOK_SLACK:refused:1008 done None
    "#);
}

/// The same through the real `hoist serve`: its workers deliver what it queued, the URL
/// read from its environment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hoist_serve_delivers_what_it_queued() {
    let r = receiver();
    let mut t = Tester::new();
    t.side.served = Some(
        Served::start_with_env(
            &t.forge,
            &t.argo,
            |c| {
                format!(
                    "{c}notify:\n  - url_env: HOOK_SERVED\n    on: [opened, merged, verified]\n"
                )
            },
            &[("HOOK_SERVED".into(), url("HOOK_SERVED"))],
        )
        .await,
    );
    t.dev_verified().await;
    r.wait_for("HOOK_SERVED", 3).await;
    let lines: Vec<String> = r
        .got("HOOK_SERVED")
        .iter()
        .map(|(s, b)| format!("{s} {} #{}", b["summary"], b["pull_request"]["number"]))
        .collect();
    insta::assert_snapshot!(lines.join("\n"), @r#"
    200 "my-app-service1 v1.4.0 → dev: pull request opened" #1
    200 "my-app-service1 v1.4.0 merged into dev" #1
    200 "my-app-service1 v1.4.0 verified in dev: Argo CD runs it, Synced and Healthy" #1
    "#);
}

/// A webhook's bad variable name, unknown stage or inline Slack URL is refused where it
/// is written.
#[test]
fn a_webhook_is_checked_where_it_is_written() {
    let bad = format!(
        "{}notify:\n  - url_env: 9HOOK\n    stages: [prd]\n  - url_env: HOOK\n    url: https://hooks.slack.com/services/T0/B0/x\n",
        example_config()
    );
    let err = hoist::config::Config::parse(&bad, "hoist.yaml").unwrap_err();
    insta::assert_snapshot!(err.to_string(), @"hoist.yaml:88:10: this value looks like a secret (a key or token); secrets never go in the config: name an environment variable or a file");
    let bad = format!(
        "{}notify:\n  - url_env: 9HOOK\n    stages: [prd]\n    on: [merged, merged]\n",
        example_config()
    );
    let err = hoist::config::Config::parse(&bad, "hoist.yaml").unwrap_err();
    insta::assert_snapshot!(err.to_string(), @r#"
    hoist.yaml:85:14: "9HOOK" is not an environment variable name
    hoist.yaml:86:14: notify stage "prd" is not a stage (did you mean prod?); stages: dev, uat, prod
    hoist.yaml:87:18: event "merged" is listed twice
    "#);
}
