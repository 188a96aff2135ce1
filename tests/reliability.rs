//! Reliability guarantees of the proof harness, on the real `hoist serve` process against
//! the GitHub fake over HTTP. Each test prints its table with `--nocapture`; the scripts in
//! `bench/` run them, and CI runs them as they are (the smoke size).

mod support;

use std::time::Duration;

use hoist::event::ReviewState;
use hoist::forge::PrState;
use serde_json::json;
use support::memory_forge::{review, user};
use support::serve::{Server, digest, request};

fn push(s: &Server, id: &str) {
    let event = json!({
        "version": "0", "id": id, "detail-type": "ECR Image Action", "source": "aws.ecr",
        "account": "123456789012", "time": "2026-11-26T10:00:00Z", "region": "us-east-1",
        "resources": [],
        "detail": {"result": "SUCCESS", "repository-name": "my-app-service1",
            "image-digest": digest(), "action-type": "PUSH", "image-tag": "v1.4.0"}
    })
    .to_string();
    for _ in 0..3 {
        let st = request(
            s.addr,
            "/webhooks/eventbridge",
            &[("x-hoist-token", "eb-token".into())],
            event.as_bytes(),
        );
        assert!(st == 202 || st == 200);
    }
}

/// dev -> uat -> prod, with quinn promoting and sam approving prod.
fn full_path(s: &mut Server) {
    push(s, "push-1");
    s.wait_for("the dev PR", |f| f.state.lock().unwrap().prs.len() == 1);
    s.pass_check(1);
    s.merged_and_synced(1);
    s.comment(1, &user(10, "quinn"), "/promote uat");
    s.wait_for("the uat PR", |f| f.state.lock().unwrap().prs.len() == 2);
    s.pass_check(2);
    s.merged_and_synced(2);
    s.comment(2, &user(10, "quinn"), "/promote prod");
    s.wait_for("the prod PR", |f| f.state.lock().unwrap().prs.len() == 3);
    s.pass_check(3);
    let head = s.forge.pr(3).head_sha;
    let sam = user(11, "sam");
    s.forge
        .state
        .lock()
        .unwrap()
        .reviews
        .entry(3)
        .or_default()
        .push(review(&sam, ReviewState::Approved, &head));
    s.github(
        "pull_request_review",
        json!({"action": "submitted", "review": {"state": "approved", "user": {"id": 11, "login": "sam", "type": "User"}, "commit_id": head},
               "pull_request": {"number": 3}, "repository": Server::repo()}),
    );
    s.merged_and_synced(3);
}

/// R1: every webhook three times, interleaved with its neighbours; every effect once.
#[test]
fn r1_every_webhook_three_times_interleaved() {
    let (_rt, mut s, _dir) = support::serve::start();
    s.copies = 3;
    full_path(&mut s);
    s.flush();
    // Give late duplicates time to do harm, if they could.
    std::thread::sleep(Duration::from_millis(500));
    let st = s.forge.state.lock().unwrap();
    let hoist_said = |pr: u64, text: &str| {
        st.comments
            .iter()
            .filter(|(n, c)| *n == pr && c.author.login == "hoist[bot]" && c.body.contains(text))
            .count()
    };
    let rows = [
        ("pull requests opened", 3, st.prs.len()),
        (
            "merges",
            3,
            st.calls
                .iter()
                .filter(|c| c.starts_with("PUT merge"))
                .count(),
        ),
        (
            "verified comments",
            3,
            (1..=3).map(|n| hoist_said(n, "✅ Verified")).sum::<usize>(),
        ),
        (
            "replies to /promote",
            2,
            hoist_said(1, "🚀 Opened #2") + hoist_said(2, "🚀 Opened #3"),
        ),
        (
            "rocket reactions",
            2,
            st.reactions
                .iter()
                .filter(|(_, r)| *r == hoist::forge::Reaction::Rocket)
                .count(),
        ),
    ];
    let states: Vec<PrState> = st.prs.iter().map(|p| p.state).collect();
    drop(st);
    println!("| effect | expected | counted |\n|---|---|---|");
    for (name, want, got) in &rows {
        println!("| {name} | {want} | {got} |");
    }
    println!(
        "deliveries: {} GitHub webhooks, each sent 3 times",
        s.deliveries
    );
    assert_eq!(states, [PrState::Merged; 3]);
    for (name, want, got) in rows {
        assert_eq!(got, want, "{name}: duplicated or lost");
    }
}
