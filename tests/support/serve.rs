//! The real `hoist serve` process against the GitHub fake and the Argo CD fake over HTTP:
//! started with the example config on free loopback ports, fed signed webhooks and
//! EventBridge events, and stopped with the test.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hoist::forge::{Permission, PrState};
use hoist::ingress::signature::Secrets;
use serde_json::json;

use super::memory_forge::{MemoryArgo, MemoryForge, user};

pub const SECRET: &str = "serve-github-secret";
pub const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app-service1";

pub fn digest() -> String {
    format!("sha256:{}", "cd".repeat(32))
}

pub fn request(addr: SocketAddr, path: &str, headers: &[(&str, String)], body: &[u8]) -> u16 {
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

pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    cfg: std::path::PathBuf,
    db: std::path::PathBuf,
    pub forge: MemoryForge,
    pub argo: MemoryArgo,
    pub deliveries: u64,
    /// How many times each GitHub webhook is sent: 2 back to back, or 3 interleaved with
    /// the deliveries around it (each new delivery also resends the two before it).
    pub copies: usize,
    sent: Vec<(String, String, Vec<u8>, String)>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(log_path(&self.db)).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!("hoist serve's last log lines:");
            for line in tail.into_iter().rev() {
                eprintln!("  {line}");
            }
        }
    }
}

/// Where `hoist serve` logs, beside its store: a regular file, as on a VM, so that a full
/// disk reaches its logging too.
fn log_path(db: &std::path::Path) -> std::path::PathBuf {
    db.with_extension("log")
}

impl Server {
    /// Sends a GitHub webhook twice, as a redelivery would; both are accepted.
    pub fn github(&mut self, event: &str, payload: serde_json::Value) {
        self.deliveries += 1;
        let body = payload.to_string().into_bytes();
        let sig = Secrets::from_list(SECRET).sign_github(&body).unwrap();
        let d = (
            event.to_owned(),
            format!("d-{}", self.deliveries),
            body,
            sig,
        );
        self.sent.push(d.clone());
        let resend: Vec<_> = if self.copies >= 3 {
            // This one, then the two before it again: every delivery goes out three
            // times in all, interleaved with its neighbours.
            let n = self.sent.len();
            let mut v = vec![d];
            v.extend(self.sent[n.saturating_sub(3)..n - 1].iter().cloned());
            v
        } else {
            vec![d.clone(), d]
        };
        for (event, delivery, body, sig) in resend {
            let status = request(
                self.addr,
                "/webhooks/github",
                &[
                    ("X-GitHub-Event", event),
                    ("X-GitHub-Delivery", delivery),
                    ("X-Hub-Signature-256", sig),
                ],
                &body,
            );
            assert!(status == 202 || status == 200, "delivery answered {status}");
        }
    }

    /// `kill -9`, then the same process again on the same store and port.
    pub fn crash_and_restart(&mut self) {
        self.kill();
        self.restart();
    }

    /// The server dies (SIGKILL): a delivery now finds its port closed.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Starts the server again on the same store, not waiting for it to reach the forge:
    /// only until it answers `/healthz`.
    pub fn restart_unconnected(&mut self) {
        let (child, addr) = spawn_until(&self.cfg, &self.db, &self.forge, healthy);
        self.child = child;
        self.addr = addr;
    }

    /// Starts the server again on the same store.
    pub fn restart(&mut self) {
        let (child, addr) = spawn(&self.cfg, &self.db, &self.forge);
        self.child = child;
        self.addr = addr;
    }

    /// In interleaved mode the last deliveries have gone out fewer than three times: this
    /// sends them the rest.
    pub fn flush(&mut self) {
        if self.copies < 3 {
            return;
        }
        let n = self.sent.len();
        let tail: Vec<_> = self.sent[n.saturating_sub(2)..].to_vec();
        for (i, (event, delivery, body, sig)) in tail.into_iter().enumerate() {
            // The last went out once, the one before it twice.
            let missing = if i + 1 == n.min(2) { 2 } else { 1 };
            for _ in 0..missing {
                request(
                    self.addr,
                    "/webhooks/github",
                    &[
                        ("X-GitHub-Event", event.clone()),
                        ("X-GitHub-Delivery", delivery.clone()),
                        ("X-Hub-Signature-256", sig.clone()),
                    ],
                    &body,
                );
            }
        }
    }

    /// Waits until `hoist serve` has handled every event it stored (done, failed for good,
    /// or waiting for Argo CD), read from its store: the barrier before asserting that
    /// something did not happen. A delivery is stored before it is answered, so every
    /// delivery sent so far is counted.
    pub fn drained(&self) {
        let conn = rusqlite::Connection::open(&self.db).unwrap();
        conn.busy_timeout(Duration::from_secs(5)).unwrap();
        let waiting = format!("{}%", hoist::worker::WAITING);
        self.wait_for_within(
            "hoist serve to handle every stored event",
            Duration::from_secs(60),
            |_| {
                conn.query_row(
                    "SELECT COUNT(*) FROM events WHERE status = 'running'
                 OR (status = 'pending' AND (last_error IS NULL OR last_error NOT LIKE ?1))",
                    [&waiting],
                    |r| r.get::<_, i64>(0),
                )
                .unwrap()
                    == 0
            },
        );
    }

    pub fn wait_for(&self, what: &str, cond: impl Fn(&MemoryForge) -> bool) {
        self.wait_for_within(what, Duration::from_secs(30), cond)
    }

    pub fn wait_for_within(
        &self,
        what: &str,
        within: Duration,
        cond: impl Fn(&MemoryForge) -> bool,
    ) {
        let start = Instant::now();
        while start.elapsed() < within {
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

    pub fn repo() -> serde_json::Value {
        json!({"full_name": "acme/gitops", "name": "gitops", "owner": {"login": "acme"}})
    }

    pub fn pass_check(&mut self, pr: u64) {
        let (name, head_sha) = self.forge.set_stage_check(pr, Some("success"), None);
        self.github(
            "check_run",
            json!({"action": "completed", "check_run": {"name": name, "head_sha": head_sha, "conclusion": "success", "pull_requests": [{"number": pr}]}, "repository": Self::repo(), "installation": {"id": 7}}),
        );
    }

    /// ECR pushes my-app-service1 v1.4.0, and its dev pull request, #1, passes its check
    /// and is merged.
    pub fn dev_merged(&mut self) {
        let event = ecr_event("my-app-service1", "v1.4.0", &digest(), "p1");
        let st = request(
            self.addr,
            "/webhooks/eventbridge",
            &[("x-hoist-token", "eb-token".into())],
            event.as_bytes(),
        );
        assert_eq!(st, 202);
        self.wait_for("the dev PR", |f| f.state.lock().unwrap().prs.len() == 1);
        self.pass_check(1);
        self.wait_for("the merge", |f| f.pr(1).state == PrState::Merged);
    }

    /// Once `pr` is merged, Argo CD syncs its stage to the merge, and GitHub's webhook of
    /// the merge is delivered.
    pub fn synced(&mut self, pr: u64) -> String {
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
        stage
    }

    /// `synced`, then Hoist's verified comment on `pr`.
    pub fn merged_and_synced(&mut self, pr: u64) {
        let stage = self.synced(pr);
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

    pub fn comment(&mut self, pr: u64, who: &hoist::event::Actor, body: &str) {
        let id = super::memory_forge::post_as(&self.forge, pr, who, body);
        self.github(
            "issue_comment",
            json!({"action": "created", "issue": {"number": pr, "pull_request": {"url": "x"}}, "comment": {"id": id, "body": body, "user": {"id": who.id, "login": who.login, "type": "User"}}, "repository": Self::repo()}),
        );
    }

    pub fn hoist_said(&self, pr: u64, text: &str) -> bool {
        self.forge
            .state
            .lock()
            .unwrap()
            .comments
            .iter()
            .any(|(n, c)| *n == pr && c.author.login == "hoist[bot]" && c.body.contains(text))
    }
}

pub fn start() -> (tokio::runtime::Runtime, Server, tempfile::TempDir) {
    start_with(|url| url)
}

/// An ECR push as EventBridge delivers it.
pub fn ecr_event(repository: &str, tag: &str, digest: &str, id: &str) -> String {
    json!({
        "version": "0", "id": id, "detail-type": "ECR Image Action", "source": "aws.ecr",
        "account": "123456789012", "time": "2026-11-26T10:00:00Z", "region": "us-east-1", "resources": [],
        "detail": {"result": "SUCCESS", "repository-name": repository, "image-digest": digest,
                   "action-type": "PUSH", "image-tag": tag}
    })
    .to_string()
}

/// Starts `hoist serve` on a free loopback port and waits until its `/readyz` answers.
///
/// A new port each time: while a killed server is down, a test running beside this one
/// may be handed its old port. If the port is taken between choosing and binding, the
/// process exits and another port is tried. The fake's webhooks follow the new address.
pub fn spawn(
    cfg: &std::path::Path,
    db: &std::path::Path,
    forge: &MemoryForge,
) -> (Child, SocketAddr) {
    spawn_until(cfg, db, forge, ready)
}

/// `spawn` with the queue's retries put an hour off: what waits stays parked until the
/// test delivers what it waits for, so nothing the test has not caused happens meanwhile.
pub fn spawn_without_retries(
    cfg: &std::path::Path,
    db: &std::path::Path,
    forge: &MemoryForge,
) -> (Child, SocketAddr) {
    spawn_args(cfg, db, forge, ready, &["--retry-after", "3600"], &[])
}

/// `spawn_without_retries`, with `envs` set for the process too.
pub fn spawn_with_env(
    cfg: &std::path::Path,
    db: &std::path::Path,
    forge: &MemoryForge,
    envs: &[(String, String)],
) -> (Child, SocketAddr) {
    spawn_args(cfg, db, forge, ready, &["--retry-after", "3600"], envs)
}

/// `spawn`, waiting until `up` says the process on its address is up.
pub fn spawn_until(
    cfg: &std::path::Path,
    db: &std::path::Path,
    forge: &MemoryForge,
    up: fn(SocketAddr) -> bool,
) -> (Child, SocketAddr) {
    spawn_args(cfg, db, forge, up, &[], &[])
}

fn spawn_args(
    cfg: &std::path::Path,
    db: &std::path::Path,
    forge: &MemoryForge,
    up: fn(SocketAddr) -> bool,
    extra: &[&str],
    envs: &[(String, String)],
) -> (Child, SocketAddr) {
    let mut exits = vec![];
    for _ in 0..5 {
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        // The fake delivers GitHub's own pull_request events (opened, closed) to hoist serve.
        let served_at = {
            let mut st = forge.state.lock().unwrap();
            st.webhook = Some((format!("http://{addr}/webhooks/github"), SECRET.into()));
            st.served_at
                .clone()
                .expect("the GitHub fake serves this forge")
        };
        // Through `sh` only to ignore SIGXFSZ, which `exec` keeps (and the PID with it):
        // a store whose file may not grow (`prlimit --fsize`) then fails its writes, as
        // on a full disk, instead of the signal killing the process.
        let mut child = Command::new("sh")
            .args(["-c", "trap '' XFSZ; exec \"$0\" \"$@\""])
            .arg(env!("CARGO_BIN_EXE_hoist"))
            .args([
                "serve",
                "--listen",
                &addr.to_string(),
                "--reconcile-interval",
                "3600",
                "--reconcile-lookback-days",
                "7",
            ])
            .args(extra)
            .arg("--config")
            .arg(cfg)
            .arg("--db")
            .arg(db)
            .env("HOIST_WEBHOOK_SECRETS", SECRET)
            // ECR is the GitHub fake too.
            .envs(super::aws_env(&served_at))
            .env("HOIST_EVENTBRIDGE_TOKEN", "eb-token")
            .env("TEST_GITHUB_TOKEN", "ghp_test")
            .env("ARGOCD_TOKEN", "argo-token")
            .envs(envs.iter().map(|(k, v)| (k, v)))
            .env(
                "RUST_LOG",
                std::env::var("HOIST_TEST_LOG").unwrap_or_else(|_| "error".into()),
            )
            .stdout(Stdio::null())
            .stderr(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(log_path(db))
                    .unwrap(),
            )
            .spawn()
            .unwrap();
        let start = Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                exits.push(status);
                break;
            }
            if up(addr) {
                return (child, addr);
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "hoist serve did not become ready on {addr}"
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }
    panic!("hoist serve exited at start, five times: {exits:?}");
}

/// Whether `addr` is a Hoist that answers `GET /readyz` with 200 and is connected to the
/// forge, not merely an open port (which may belong to another test's listener).
pub fn ready(addr: SocketAddr) -> bool {
    get(addr, "/readyz").is_some_and(|(status, body)| status == 200 && body == "ready")
}

/// Whether `addr` is a Hoist answering `GET /healthz`.
pub fn healthy(addr: SocketAddr) -> bool {
    get(addr, "/healthz").is_some_and(|(status, body)| status == 200 && body == "ok")
}

/// `GET path` on `addr`: the status and body, or `None` if nothing answers.
pub fn get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let head = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(head.as_bytes()).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let status = out.split(' ').nth(1)?.parse().ok()?;
    let body = out.split_once("\r\n\r\n")?.1.to_owned();
    Some((status, body))
}

/// `hoist serve` with `api` choosing its GitHub API URL from the fake's (a proxy's, say),
/// as Hoist's GitHub App.
pub fn start_with(
    api: impl FnOnce(String) -> String,
) -> (tokio::runtime::Runtime, Server, tempfile::TempDir) {
    start_as(api, false)
}

/// The same with a personal token instead of the App: one credential, no installation
/// token to mint, for tests that count every call.
pub fn start_with_token(
    api: impl FnOnce(String) -> String,
) -> (tokio::runtime::Runtime, Server, tempfile::TempDir) {
    start_as(api, true)
}

/// Writes the example config into `dir` for `hoist serve` against the fakes: the GitHub
/// API at `api_url`, Argo CD at `fake_url`, as Hoist's App (a key made in `dir`) or with a
/// personal token; Argo CD's health debounce off. Returns its path.
pub fn write_config(
    dir: &std::path::Path,
    api_url: &str,
    fake_url: &str,
    token: bool,
) -> std::path::PathBuf {
    let config = std::fs::read_to_string("config/hoist.example.yaml")
        .unwrap()
        .replace(
            "api_url: https://api.github.com",
            &format!("api_url: {api_url}"),
        )
        .replace(
            "    app_id: 12345\n    private_key_file: /var/run/secrets/hoist/app.pem\n",
            &if token {
                "    token_env: TEST_GITHUB_TOKEN\n    write_interval_ms: 0\n".to_owned()
            } else {
                super::github_fake::app_auth(dir)
            },
        )
        .replace(
            "url: https://argocd.example.com",
            &format!("url: {fake_url}"),
        )
        .replace(
            "token_env: ARGOCD_TOKEN",
            "token_env: ARGOCD_TOKEN\n  health_debounce_seconds: 0",
        );
    let cfg = dir.join("hoist.yaml");
    std::fs::write(&cfg, config).unwrap();
    cfg
}

fn start_as(
    api: impl FnOnce(String) -> String,
    token: bool,
) -> (tokio::runtime::Runtime, Server, tempfile::TempDir) {
    start_edited(api, token, |c| c)
}

/// `hoist serve` as Hoist's App, with `edit` applied to the config first.
pub fn start_with_config(
    edit: impl FnOnce(String) -> String,
) -> (tokio::runtime::Runtime, Server, tempfile::TempDir) {
    start_edited(|url| url, false, edit)
}

/// `hoist serve` as Hoist's App, its GitHub API at what `api` makes of the fake's address
/// and `edit` applied to the config (where Argo CD's address can be changed too).
pub fn start_custom(
    api: impl FnOnce(String) -> String,
    edit: impl FnOnce(String) -> String,
) -> (tokio::runtime::Runtime, Server, tempfile::TempDir) {
    start_edited(api, false, edit)
}

fn start_edited(
    api: impl FnOnce(String) -> String,
    token: bool,
    edit: impl FnOnce(String) -> String,
) -> (tokio::runtime::Runtime, Server, tempfile::TempDir) {
    let rt = super::runtime();
    let forge = MemoryForge::from_dir(std::path::Path::new("examples/gitops"));
    forge.grant(&user(10, "quinn"), Permission::Write, &["acme/qa"]);
    forge.grant(&user(11, "sam"), Permission::Write, &["acme/sre"]);
    forge.grant(&user(12, "mallory"), Permission::Read, &[]);
    let argo = MemoryArgo::default();
    let url = rt.block_on(super::github_fake::serve(forge.clone(), argo.clone()));
    let api_url = {
        let _guard = rt.enter();
        api(url.clone())
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &api_url, &url, token);
    std::fs::write(&cfg, edit(std::fs::read_to_string(&cfg).unwrap())).unwrap();
    let db = dir.path().join("hoist.db");
    let (child, addr) = spawn(&cfg, &db, &forge);
    (
        rt,
        Server {
            child,
            addr,
            cfg,
            db,
            forge,
            argo,
            deliveries: 0,
            copies: 2,
            sent: vec![],
        },
        dir,
    )
}
