//! The real `hoist serve` binary against the GitHub fake and the Argo CD fake over
//! HTTP: an ECR push arrives at /webhooks/eventbridge, signed GitHub webhooks at
//! /webhooks/github (every one delivered twice), and the promotion goes dev -> uat ->
//! prod with refusals on the way.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use hoist::event::ReviewState;
use hoist::forge::PrState;
use serde_json::json;
use support::memory_forge::{review, user};
use support::serve::{Server, digest, request, start};

#[test]
fn hoist_serve_promotes_through_github_over_http() {
    let (_rt, mut s, dir) = start();
    let event = std::fs::read_to_string("examples/events/ecr-push-my-app-service1-v1.4.0.json")
        .unwrap()
        .replace(
            &serde_json::from_str::<serde_json::Value>(
                &std::fs::read_to_string("examples/events/ecr-push-my-app-service1-v1.4.0.json")
                    .unwrap(),
            )
            .unwrap()["detail"]["image-digest"]
                .as_str()
                .unwrap()
                .to_owned(),
            &digest(),
        );
    for _ in 0..2 {
        let st = request(
            s.addr,
            "/webhooks/eventbridge",
            &[("x-hoist-token", "eb-token".into())],
            event.as_bytes(),
        );
        assert!(st == 202 || st == 200);
    }
    s.wait_for("the dev PR", |f| f.state.lock().unwrap().prs.len() == 1);
    let file = s
        .forge
        .file_at(
            &s.forge.pr(1).head_sha,
            "apps/my-app-service1/env/dev/kustomization.yaml",
        )
        .unwrap();
    assert!(file.contains("newTag: v1.4.0"));

    s.pass_check(1);
    s.merged_and_synced(1);

    // Refusals: a reader, and a skip of uat.
    s.comment(1, &user(12, "mallory"), "/promote uat");
    s.wait_for("the refusal", |_| {
        s.hoist_said(1, "⛔ @mallory, promoting to **uat** needs write access")
    });
    s.comment(1, &user(10, "quinn"), "/promote prod");
    s.wait_for("the DAG refusal", |_| {
        s.hoist_said(
            1,
            "⛔ /promote prod refused: prod takes freight from **uat**",
        )
    });

    s.comment(1, &user(10, "quinn"), "/promote uat");
    s.wait_for("the uat PR", |f| f.state.lock().unwrap().prs.len() == 2);
    s.pass_check(2);
    s.merged_and_synced(2);

    s.comment(2, &user(10, "quinn"), "/promote prod");
    s.wait_for("the prod PR", |f| f.state.lock().unwrap().prs.len() == 3);
    s.pass_check(3);
    s.wait_for("the waiting comment", |_| {
        s.hoist_said(3, "⏳ Waiting for an approval from a code owner")
    });
    let head = s.forge.pr(3).head_sha;
    for who in [user(10, "quinn"), user(11, "sam")] {
        s.forge
            .state
            .lock()
            .unwrap()
            .reviews
            .entry(3)
            .or_default()
            .push(review(&who, ReviewState::Approved, &head));
        s.github(
            "pull_request_review",
            json!({"action": "submitted", "review": {"state": "approved", "user": {"id": who.id, "login": who.login, "type": "User"}, "commit_id": head},
                   "pull_request": {"number": 3}, "repository": Server::repo()}),
        );
        if who.login == "quinn" {
            s.drained();
            assert_eq!(
                s.forge.pr(3).state,
                PrState::Open,
                "the requester's approval does not merge prod"
            );
        }
    }
    s.merged_and_synced(3);
    assert!(
        s.forge
            .base_file("apps/my-app-service1/env/prod/kustomization.yaml")
            .unwrap()
            .contains(&digest())
    );
    // Every webhook came twice; every effect happened once.
    let s2 = s.forge.state.lock().unwrap();
    assert_eq!(s2.prs.len(), 3);
    for pr in 1..=3 {
        let verified = s2
            .comments
            .iter()
            .filter(|(n, c)| *n == pr && c.body.contains("✅ Verified"))
            .count();
        assert_eq!(verified, 1, "one verified comment on #{pr}");
    }
    let merges = s2.merge_calls();
    assert_eq!(merges, 3);
    drop(s2);

    // The forge calls are counted in the metrics.
    let mut conn = TcpStream::connect(s.addr).unwrap();
    conn.write_all(
        format!(
            "GET /metrics HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            s.addr
        )
        .as_bytes(),
    )
    .unwrap();
    let mut metrics = String::new();
    conn.read_to_string(&mut metrics).unwrap();
    assert!(
        metrics.contains("hoist_forge_calls_total{operation=\"merge\",status=\"ok\"} 3"),
        "{metrics}"
    );

    // The store is lost: `hoist ledger rebuild` recovers every promotion from the PRs.
    let out = Command::new(env!("CARGO_BIN_EXE_hoist"))
        .args(["ledger", "rebuild", "--config"])
        .arg(dir.path().join("hoist.yaml"))
        .arg("--db")
        .arg(dir.path().join("rebuilt.db"))
        .env("TEST_GITHUB_TOKEN", "ghp_test")
        .env("ARGOCD_TOKEN", "argo-token")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.starts_with("recorded 3 promotions"), "{said}");
}

fn ecr_event(repository: &str, tag: &str, seed: &str, id: &str) -> String {
    support::serve::ecr_event(repository, tag, &format!("sha256:{}", seed.repeat(32)), id)
}

#[test]
fn two_services_at_once_and_a_newer_push_superseding() {
    let (_rt, s, _dir) = start();
    // Two services pushed together: each gets its own dev PR.
    for (repo, tag, seed, id) in [
        ("my-app-service1", "v1.4.0", "aa", "e1"),
        ("my-app-service2", "2.4.0", "bb", "e2"),
    ] {
        let body = ecr_event(repo, tag, seed, id);
        assert_eq!(
            request(
                s.addr,
                "/webhooks/eventbridge",
                &[("x-hoist-token", "eb-token".into())],
                body.as_bytes()
            ),
            202
        );
    }
    s.wait_for("two dev PRs", |f| f.state.lock().unwrap().prs.len() == 2);
    let titles: Vec<String> = s
        .forge
        .state
        .lock()
        .unwrap()
        .prs
        .iter()
        .map(|p| p.title.clone())
        .collect();
    assert!(
        titles.contains(&"Promote my-app-service1 v1.4.0 to dev".to_owned()),
        "{titles:?}"
    );
    assert!(
        titles.contains(&"Promote my-app-service2 2.4.0 to dev".to_owned()),
        "{titles:?}"
    );
    // A newer image before the PR merged updates that PR in place.
    let n = s
        .forge
        .state
        .lock()
        .unwrap()
        .prs
        .iter()
        .find(|p| p.title.contains("my-app-service1"))
        .unwrap()
        .number;
    let body = ecr_event("my-app-service1", "v1.4.1", "cc", "e3");
    assert_eq!(
        request(
            s.addr,
            "/webhooks/eventbridge",
            &[("x-hoist-token", "eb-token".into())],
            body.as_bytes()
        ),
        202
    );
    s.wait_for("the superseding update", |_| {
        s.hoist_said(n, "♻️ Updated to v1.4.1 (was v1.4.0)")
    });
    assert_eq!(
        s.forge.state.lock().unwrap().prs.len(),
        2,
        "updated in place, not a third PR"
    );
    assert_eq!(s.forge.pr(n).title, "Promote my-app-service1 v1.4.1 to dev");
}

/// GitHub (and Argo CD behind the same fake) cannot be reached when `hoist serve` starts:
/// it listens anyway, answers `/healthz`, says on `/readyz` (still 200, so a load balancer
/// keeps it) that it is not connected yet, and stores an ECR push. Once GitHub answers,
/// the stored push becomes the dev pull request, with nothing sent again.
#[test]
fn hoist_serve_stores_deliveries_while_github_is_unreachable_and_acts_once_it_answers() {
    use support::memory_forge::{MemoryArgo, MemoryForge};
    use support::serve::{ecr_event, get, healthy, spawn_until, write_config};
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // GitHub's address, with nothing listening on it yet.
    let down = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let github = down.local_addr().unwrap();
    drop(down);
    let url = format!("http://{github}");
    let forge = MemoryForge::from_dir(std::path::Path::new("examples/gitops"));
    forge.state.lock().unwrap().served_at = Some(url.clone());
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &url, &url, false);
    let (child, addr) = spawn_until(&cfg, &dir.path().join("hoist.db"), &forge, healthy);
    struct Stop(std::process::Child);
    impl Drop for Stop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _stop = Stop(child);
    let (status, body) = get(addr, "/readyz").unwrap();
    assert_eq!(status, 200);
    assert!(
        body.starts_with("accepting deliveries; not connected to the forge yet (")
            && body.ends_with("): they are handled once it answers"),
        "{body}"
    );
    let push = ecr_event("my-app-service1", "v1.4.0", &digest(), "push-while-down");
    let status = request(
        addr,
        "/webhooks/eventbridge",
        &[("x-hoist-token", "eb-token".into())],
        push.as_bytes(),
    );
    assert_eq!(status, 202, "stored while GitHub is down");
    assert!(forge.state.lock().unwrap().prs.is_empty());

    // GitHub comes back on its address. Hoist's first check on the new pull request is the
    // barrier: it is posted after the pull request is opened.
    let checked = forge.pause_before("POST check-run hoist/argocd");
    let listener = rt.block_on(tokio::net::TcpListener::bind(github)).unwrap();
    {
        let _guard = rt.enter();
        support::github_fake::serve_on(forge.clone(), MemoryArgo::default(), listener);
    }
    rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(60), checked.reached())
            .await
            .expect("the stored push never became a pull request")
    });
    assert_eq!(forge.pr(1).title, "Promote my-app-service1 v1.4.0 to dev");
    checked.release();
    assert_eq!(get(addr, "/readyz").unwrap(), (200, "ready".to_owned()));
}

/// A forge that refuses the config itself (here GitHub answering 401 to an App id it does
/// not know) will not be fixed by waiting: `hoist serve` stops with the reason and a
/// non-zero exit, so a bad rollout never turns ready.
#[test]
fn hoist_serve_stops_when_github_refuses_its_credentials() {
    use support::memory_forge::{MemoryArgo, MemoryForge};
    use support::serve::write_config;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let forge = MemoryForge::from_dir(std::path::Path::new("examples/gitops"));
    let url = rt.block_on(support::github_fake::serve(forge, MemoryArgo::default()));
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &url, &url, false);
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("app_id: 12345", "app_id: 999");
    std::fs::write(&cfg, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hoist"))
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&cfg)
        .arg("--db")
        .arg(dir.path().join("hoist.db"))
        .env("HOIST_WEBHOOK_SECRETS", "s")
        .env("ARGOCD_TOKEN", "argo-token")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot connect to GitHub at {url}"))
            && stderr.contains("401 Bad credentials")
            && stderr
                .contains("deliveries received until now are stored and handled on the next start"),
        "{stderr}"
    );
}

/// Merge → verified through `hoist serve`, with Argo CD answering at once and a health
/// debounce of 3 s: Hoist must not verify before the debounce ends (checked), and looks
/// again at the instant it ends, not after a doubling backoff (measured, and printed as a
/// table for `bench/verify-latency`; the target, the debounce plus 2 s, is reported, not
/// enforced).
#[test]
fn verification_comes_when_the_debounce_ends() {
    let debounce = 3;
    let (_rt, mut s, _dir) = support::serve::start_with_config(|c| {
        c.replace(
            "health_debounce_seconds: 0",
            &format!("health_debounce_seconds: {debounce}"),
        )
    });
    s.dev_merged();
    // From the merge's sync and its webhook to the verified comment.
    let start = std::time::Instant::now();
    s.merged_and_synced(1);
    let took = start.elapsed();
    assert!(
        took >= Duration::from_secs(debounce),
        "verified {took:?} after the merge, before the {debounce} s debounce ended"
    );
    println!("| health debounce | merge -> verified | target |\n|---|---|---|");
    println!(
        "| {debounce} s | {:.1} s | <= {} s |",
        took.as_secs_f64(),
        debounce + 2
    );
}

/// A command on a merged pull request whose verification waits out a two-minute health
/// debounce is answered at once: a wait steps out of its pull request's lane instead of
/// holding every later event of it back.
#[test]
fn a_command_does_not_queue_behind_a_verification_wait() {
    let (_rt, mut s, _dir) = support::serve::start_with_config(|c| {
        c.replace("health_debounce_seconds: 0", "health_debounce_seconds: 120")
    });
    s.dev_merged();
    s.synced(1);
    s.comment(1, &user(10, "quinn"), "/status");
    // wait_for gives up after 30 s, long before the debounce ends.
    s.wait_for("the /status reply", |_| {
        s.hoist_said(1, "| stage | my-app-service1 |")
    });
    assert!(
        !s.hoist_said(1, "✅ Verified"),
        "verified before the debounce ended"
    );
}
