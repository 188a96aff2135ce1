//! The real `hoist serve` binary on CodeCommit: the AWS SDK finds the CodeCommit test
//! server through `AWS_ENDPOINT_URL` and its key through the environment, as on EKS it
//! would find the real service and IRSA; every event (the ECR push, CodeCommit's pull
//! request and comment events) arrives at /webhooks/eventbridge, as an EventBridge API
//! destination sends it.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::codecommit_fake::CodeCommitFake;
use support::memory_forge::{MemoryArgo, MemoryForge};

const TOKEN: &str = "eb-token";
const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app-service1";
const HOIST: (&str, &str) = (
    "AKIDHOIST",
    "arn:aws:sts::123456789012:assumed-role/hoist/i-0abc",
);
const QUINN: (&str, &str) = (
    "AKIDQUINN",
    "arn:aws:sts::123456789012:assumed-role/qa/quinn@example.com",
);

fn post(addr: SocketAddr, body: &[u8]) -> u16 {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let head = format!(
        "POST /webhooks/eventbridge HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\nx-hoist-token: {TOKEN}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out.split(' ').nth(1).unwrap().parse().unwrap()
}

struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Forwards CodeCommit's events to hoist serve until `cond` holds.
fn until(s: &Server, fake: &CodeCommitFake, what: &str, cond: impl Fn(&CodeCommitFake) -> bool) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        for e in fake.take_events() {
            assert_eq!(post(s.addr, e.to_string().as_bytes()), 202);
        }
        if cond(fake) {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!(
        "timed out waiting for {what}; calls: {:#?}",
        fake.state.lock().unwrap().calls
    );
}

fn hoist_said(fake: &CodeCommitFake, pr: u64, text: &str) -> bool {
    fake.comments_by(pr, HOIST.1)
        .iter()
        .any(|c| c.contains(text))
}

#[test]
fn hoist_serve_promotes_through_codecommit_over_http() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let fake = rt.block_on(CodeCommitFake::start(
        "gitops",
        std::path::Path::new("examples/gitops"),
        &[HOIST, QUINN],
    ));
    // Argo CD over HTTP, from the GitHub fake (its forge half is unused here).
    let argo = MemoryArgo::default();
    let argo_url = rt.block_on(support::github_fake::serve(
        MemoryForge::from_dir(std::path::Path::new("examples/gitops")),
        argo.clone(),
    ));
    let dir = tempfile::tempdir().unwrap();
    let config = std::fs::read_to_string("config/hoist.codecommit.example.yaml")
        .unwrap()
        .replace(
            "url: https://argocd.example.com",
            &format!("url: {argo_url}"),
        )
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
        // No GitHub webhook secret: on CodeCommit only the EventBridge token is needed.
        .env_remove("HOIST_WEBHOOK_SECRETS")
        .env("HOIST_EVENTBRIDGE_TOKEN", TOKEN)
        .env("AWS_ENDPOINT_URL", &fake.url)
        .env("AWS_ACCESS_KEY_ID", HOIST.0)
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", dir.path().join("none"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.path().join("none"))
        .env("ARGOCD_TOKEN", "argo-token")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut s = Server { child, addr };
    let start = Instant::now();
    while !support::serve::ready(addr) {
        if let Some(status) = s.child.try_wait().unwrap() {
            panic!("hoist serve exited at start: {status}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "hoist serve did not become ready"
        );
        std::thread::sleep(Duration::from_millis(25));
    }

    // The ECR push, as EventBridge delivers it.
    let digest = format!("sha256:{}", "cd".repeat(32));
    let mut push: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string("examples/events/ecr-push-my-app-service1-v1.4.0.json").unwrap(),
    )
    .unwrap();
    push["detail"]["image-digest"] = digest.clone().into();
    assert_eq!(post(addr, push.to_string().as_bytes()), 202);

    let merged = |stage: &str, pr: u64| {
        until(&s, &fake, &format!("the {stage} merge"), |f| {
            f.state
                .lock()
                .unwrap()
                .prs
                .get(&pr)
                .is_some_and(|p| p.merge_commit.is_some())
        });
        let merge = fake.pr(pr).merge_commit.unwrap();
        argo.synced(
            &format!("my-app-service1-{stage}"),
            &merge,
            &format!("{IMAGE}@{digest}"),
        );
        // CodeCommit's merge event again, under a new id: the first one found Argo CD
        // not synced yet and waits in the queue's backoff.
        let again = fake.pr(pr);
        let mut st = fake.state.lock().unwrap();
        let ev = serde_json::json!({
            "version": "0", "id": format!("again-{pr}"), "detail-type": "CodeCommit Pull Request State Change",
            "source": "aws.codecommit", "account": "123456789012", "time": "2026-11-26T10:00:00Z",
            "region": "us-east-1", "resources": [],
            "detail": {"event": "pullRequestMergeStatusUpdated", "pullRequestId": pr.to_string(),
                "repositoryNames": ["gitops"], "sourceReference": again.source_ref,
                "sourceCommit": again.source_commit, "destinationReference": again.dest_ref,
                "callerUserArn": HOIST.1, "isMerged": "True", "pullRequestStatus": "Closed"}
        });
        st.events.push(ev);
        drop(st);
        until(&s, &fake, &format!("verified in {stage}"), |f| {
            hoist_said(f, pr, &format!("✅ Verified in **{stage}**"))
        });
    };
    merged("dev", 1);
    assert_eq!(
        fake.pr(1).title,
        "Promote my-app-service1 v1.4.0 to dev",
        "opened by hoist serve as Hoist's IAM role"
    );
    assert_eq!(fake.pr(1).author, HOIST.1);

    // quinn, of @acme/qa through the qa role, promotes to uat.
    let p = fake.pr(1);
    rt.block_on(
        fake.client(QUINN.0)
            .post_comment_for_pull_request()
            .pull_request_id("1")
            .repository_name("gitops")
            .before_commit_id(&p.dest_commit)
            .after_commit_id(&p.source_commit)
            .content("/promote uat")
            .send(),
    )
    .unwrap();
    until(&s, &fake, "the uat pull request", |f| {
        hoist_said(f, 1, "🚀 Opened #2")
    });
    merged("uat", 2);
    assert!(
        fake.file_at("main", "apps/my-app-service1/env/uat/kustomization.yaml")
            .unwrap()
            .contains(&digest)
    );
}
