//! The real `hoist serve` binary against the GitHub fake and the Argo CD fake over
//! HTTP: an ECR push arrives at /webhooks/eventbridge, signed GitHub webhooks at
//! /webhooks/github (every one delivered twice), and the promotion goes dev -> uat ->
//! prod with refusals on the way.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hoist::event::ReviewState;
use hoist::forge::{Permission, PrState};
use hoist::ingress::signature::Secrets;
use serde_json::json;
use support::memory_forge::{MemoryArgo, MemoryForge, review, user};

const SECRET: &str = "serve-github-secret";
const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app-service1";

fn digest() -> String {
    format!("sha256:{}", "cd".repeat(32))
}

fn request(addr: SocketAddr, path: &str, headers: &[(&str, String)], body: &[u8]) -> u16 {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out.split(' ').nth(1).unwrap().parse().unwrap()
}

struct Server {
    child: Child,
    addr: SocketAddr,
    forge: MemoryForge,
    argo: MemoryArgo,
    deliveries: u64,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Sends a GitHub webhook twice, as a redelivery would; both are accepted.
    fn github(&mut self, event: &str, payload: serde_json::Value) {
        self.deliveries += 1;
        let body = payload.to_string().into_bytes();
        let sig = Secrets::from_list(SECRET).sign_github(&body).unwrap();
        for _ in 0..2 {
            let status = request(
                self.addr,
                "/webhooks/github",
                &[
                    ("X-GitHub-Event", event.into()),
                    ("X-GitHub-Delivery", format!("d-{}", self.deliveries)),
                    ("X-Hub-Signature-256", sig.clone()),
                ],
                &body,
            );
            assert!(status == 202 || status == 200, "delivery answered {status}");
        }
    }

    fn wait_for(&self, what: &str, cond: impl Fn(&MemoryForge) -> bool) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            if cond(&self.forge) {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!(
            "timed out waiting for {what}; comments: {:#?}",
            self.forge.state.lock().unwrap().comments
        );
    }

    fn repo() -> serde_json::Value {
        json!({"full_name": "acme/gitops", "name": "gitops", "owner": {"login": "acme"}})
    }

    fn pass_check(&mut self, pr: u64) {
        let (name, head_sha) = self.forge.set_stage_check(pr, Some("success"), None);
        self.github(
            "check_run",
            json!({"action": "completed", "check_run": {"name": name, "head_sha": head_sha, "conclusion": "success", "pull_requests": [{"number": pr}]}, "repository": Self::repo(), "installation": {"id": 7}}),
        );
    }

    fn merged_and_synced(&mut self, pr: u64) {
        self.wait_for("the merge", |f| f.pr(pr).state == PrState::Merged);
        let p = self.forge.pr(pr);
        let stage = p.head_ref.split('/').nth(1).unwrap().to_owned();
        let sha = p.merge_sha.clone().unwrap();
        self.argo.synced(
            &format!("my-app-service1-{stage}"),
            &sha,
            &format!("{IMAGE}@{}", digest()),
        );
        self.github(
            "pull_request",
            json!({"action": "closed", "number": pr, "pull_request": {"number": pr, "merged": true, "merge_commit_sha": sha,
                   "head": {"ref": p.head_ref, "sha": p.head_sha}, "base": {"ref": "main", "sha": "x"}, "user": {"id": 1, "login": "hoist[bot]", "type": "Bot"}},
                   "repository": Self::repo()}),
        );
        let marker = format!("✅ Verified in **{stage}**");
        self.wait_for("the verified comment", |f| {
            f.state
                .lock()
                .unwrap()
                .comments
                .iter()
                .any(|(n, c)| *n == pr && c.body.contains(&marker))
        });
    }

    fn comment(&mut self, pr: u64, who: &hoist::event::Actor, body: &str) {
        let id = support::memory_forge::post_as(&self.forge, pr, who, body);
        self.github(
            "issue_comment",
            json!({"action": "created", "issue": {"number": pr, "pull_request": {"url": "x"}}, "comment": {"id": id, "body": body, "user": {"id": who.id, "login": who.login, "type": "User"}}, "repository": Self::repo()}),
        );
    }

    fn hoist_said(&self, pr: u64, text: &str) -> bool {
        self.forge
            .state
            .lock()
            .unwrap()
            .comments
            .iter()
            .any(|(n, c)| *n == pr && c.author.login == "hoist[bot]" && c.body.contains(text))
    }
}

fn start() -> (tokio::runtime::Runtime, Server, tempfile::TempDir) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let forge = MemoryForge::from_dir(std::path::Path::new("examples/gitops"));
    for (who, p) in [
        (user(10, "quinn"), Permission::Write),
        (user(11, "sam"), Permission::Write),
        (user(12, "mallory"), Permission::Read),
    ] {
        forge.add_user(&who);
        forge.state.lock().unwrap().permissions.insert(who.id, p);
    }
    forge
        .state
        .lock()
        .unwrap()
        .teams
        .insert("acme/qa".into(), vec![10]);
    forge
        .state
        .lock()
        .unwrap()
        .teams
        .insert("acme/sre".into(), vec![11]);
    let argo = MemoryArgo::default();
    let url = rt.block_on(support::github_fake::serve(forge.clone(), argo.clone()));
    let dir = tempfile::tempdir().unwrap();
    let config = std::fs::read_to_string("config/hoist.example.yaml")
        .unwrap()
        .replace(
            "api_url: https://api.github.com",
            &format!("api_url: {url}"),
        )
        .replace(
            "    app_id: 12345\n    private_key_file: /var/run/secrets/hoist/app.pem\n",
            "    token_env: TEST_GITHUB_TOKEN\n    write_interval_ms: 0\n",
        )
        .replace("url: https://argocd.example.com", &format!("url: {url}"))
        .replace(
            "token_env: ARGOCD_TOKEN",
            "token_env: ARGOCD_TOKEN\n  health_debounce_seconds: 0",
        );
    let cfg = dir.path().join("hoist.yaml");
    std::fs::write(&cfg, config).unwrap();
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    // The fake delivers GitHub's own pull_request events (opened, closed) to hoist serve.
    forge.state.lock().unwrap().webhook =
        Some((format!("http://{addr}/webhooks/github"), SECRET.into()));
    let child = Command::new(env!("CARGO_BIN_EXE_hoist"))
        .args([
            "serve",
            "--listen",
            &addr.to_string(),
            "--reconcile-interval",
            "3600",
            "--config",
        ])
        .arg(&cfg)
        .arg("--db")
        .arg(dir.path().join("hoist.db"))
        .env("HOIST_WEBHOOK_SECRETS", SECRET)
        // Tests never reach past loopback: no EC2 metadata lookups for AWS credentials.
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("HOIST_EVENTBRIDGE_TOKEN", "eb-token")
        .env("TEST_GITHUB_TOKEN", "ghp_test")
        .env("ARGOCD_TOKEN", "argo-token")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while TcpStream::connect(addr).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "hoist serve did not start"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
    (
        rt,
        Server {
            child,
            addr,
            forge,
            argo,
            deliveries: 0,
        },
        dir,
    )
}

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
            std::thread::sleep(Duration::from_millis(300));
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
    let merges = s2
        .calls
        .iter()
        .filter(|c| c.starts_with("PUT merge"))
        .count();
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
    json!({
        "version": "0", "id": id, "detail-type": "ECR Image Action", "source": "aws.ecr",
        "account": "123456789012", "time": "2026-11-26T10:00:00Z", "region": "us-east-1", "resources": [],
        "detail": {"result": "SUCCESS", "repository-name": repository, "image-digest": format!("sha256:{}", seed.repeat(32)),
                   "action-type": "PUSH", "image-tag": tag}
    })
    .to_string()
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
