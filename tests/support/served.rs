//! The tester's second driver: the real `hoist serve` process, with the example config,
//! against the GitHub HTTP fake on the tester's own forge state (and ECR and Argo CD
//! fakes beside it). Each event goes out as the signed webhook GitHub (or the EventBridge
//! event ECR) would send, and a delivery returns once the server has settled the event it
//! stored: handled, failed, or put back to try again later.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Child;
use std::time::{Duration, Instant};

use hoist::event::{CheckSource, Event, ReviewState};
use hoist::ingress::signature::Secrets;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::memory_forge::{MemoryArgo, MemoryForge};
use super::serve::{SECRET, ecr_event, spawn_with_env, spawn_without_retries, write_config};

pub struct Served {
    child: Child,
    addr: SocketAddr,
    cfg: PathBuf,
    db: PathBuf,
    forge: MemoryForge,
    sent: std::sync::atomic::AtomicU64,
    _dir: tempfile::TempDir,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            return;
        }
        // Every decision came over HTTP, and every call carried valid credentials.
        let st = self.forge.state.lock().unwrap();
        assert!(
            !st.http.is_empty(),
            "hoist serve never called the GitHub fake"
        );
        assert_eq!(st.unauthorized, 0, "hoist serve made unauthenticated calls");
    }
}

/// An event the server stored: its row in the store.
#[derive(Debug, Clone, Copy)]
pub struct Stored(Option<i64>);

impl Served {
    /// Serves the fakes on `forge` and `argo`, and starts `hoist serve` as Hoist's App.
    pub async fn start(forge: &MemoryForge, argo: &MemoryArgo) -> Self {
        Self::start_edited(forge, argo, |c| c.to_owned()).await
    }

    /// `start`, with `edit` applied to the config `hoist serve` reads.
    pub async fn start_edited(
        forge: &MemoryForge,
        argo: &MemoryArgo,
        edit: fn(&str) -> String,
    ) -> Self {
        Self::start_with_env(forge, argo, edit, &[]).await
    }

    /// `start_edited`, with `envs` in the process's environment.
    pub async fn start_with_env(
        forge: &MemoryForge,
        argo: &MemoryArgo,
        edit: fn(&str) -> String,
        envs: &[(String, String)],
    ) -> Self {
        let url = super::github_fake::serve(forge.clone(), argo.clone()).await;
        let dir = tempfile::tempdir().unwrap();
        let cfg = write_config(dir.path(), &url, &url, false);
        std::fs::write(&cfg, edit(&std::fs::read_to_string(&cfg).unwrap())).unwrap();
        let db = dir.path().join("hoist.db");
        // In place, not on a blocking task: a test that panics meanwhile must not leave
        // the process behind with nobody to stop it.
        let (child, addr) = tokio::task::block_in_place(|| spawn_with_env(&cfg, &db, forge, envs));
        // The tester delivers GitHub's own events (opened, closed) itself, as in the
        // engine driver, so both drivers see the same events in the same order.
        forge.state.lock().unwrap().webhook = None;
        Self {
            child,
            addr,
            cfg,
            db,
            forge: forge.clone(),
            sent: 0.into(),
            _dir: dir,
        }
    }

    /// Sends `ev` as the forge or the registry would, and returns once it is stored.
    pub async fn send(&self, ev: &Event) -> Stored {
        let n = 1 + self.sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (path, headers, body) = match ev {
            Event::ImagePushed {
                image, tag, digest, ..
            } => {
                let repository = image.split_once('/').unwrap().1;
                let id = format!("ecr-{n}");
                (
                    "/webhooks/eventbridge",
                    vec![("x-hoist-token", "eb-token".to_owned())],
                    ecr_event(repository, tag, digest, &id).into_bytes(),
                )
            }
            ev => {
                let (event, payload) = self.github_payload(ev);
                let body = payload.to_string().into_bytes();
                let sig = Secrets::from_list(SECRET).sign_github(&body).unwrap();
                (
                    "/webhooks/github",
                    vec![
                        ("x-github-event", event.to_owned()),
                        ("x-github-delivery", format!("d-{n}")),
                        ("x-hub-signature-256", sig),
                    ],
                    body,
                )
            }
        };
        let (status, reply) = post(self.addr, path, &headers, &body).await;
        match status {
            202 => Stored(Some(
                reply
                    .trim()
                    .strip_prefix("stored as event ")
                    .and_then(|id| id.parse().ok())
                    .unwrap_or_else(|| panic!("202 without an event id: {reply}")),
            )),
            // Ignored by design (a pending status, say): nothing to wait for.
            200 if reply.starts_with("ignored") => Stored(None),
            _ => panic!("{path} answered {status}: {reply}"),
        }
    }

    /// Waits until the server has handled `stored`. An event that failed, or was put back
    /// to run again for anything but a wait (for Argo CD), fails the test with the handler's
    /// error: an attack must be refused by a decision, never merely not handled yet.
    pub async fn settle(&self, stored: Stored) {
        let Stored(Some(id)) = stored else { return };
        let start = Instant::now();
        loop {
            let (status, error) = self.row(id);
            match status.as_str() {
                "done" => return,
                "failed" => panic!("event {id} failed for good: {}", error.unwrap_or_default()),
                // Waiting for Argo CD to sync a merge, as the engine driver allows.
                "pending"
                    if error
                        .as_deref()
                        .is_some_and(|e| e.starts_with(hoist::worker::WAITING)) =>
                {
                    return;
                }
                "pending" if error.is_some() => {
                    panic!(
                        "event {id} was put back to retry: {}",
                        error.unwrap_or_default()
                    )
                }
                _ => {}
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "event {id} still {status} after 60 s"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    fn open(&self) -> rusqlite::Connection {
        let c = rusqlite::Connection::open_with_flags(
            &self.db,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        c.busy_timeout(Duration::from_secs(5)).unwrap();
        c
    }

    fn row(&self, id: i64) -> (String, Option<String>) {
        self.open()
            .query_row(
                "SELECT status, last_error FROM events WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap()
    }

    /// The config `hoist serve` runs with.
    pub fn cfg(&self) -> &std::path::Path {
        &self.cfg
    }

    /// Where `hoist serve` listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's store.
    pub fn db(&self) -> &std::path::Path {
        &self.db
    }

    /// Whether the server's ledger records `digest` in `stage` of `service`.
    pub fn in_ledger(&self, service: &str, stage: &str, digest: &str) -> bool {
        self.open()
            .query_row(
                "SELECT COUNT(*) FROM promotions WHERE service = ?1 AND stage = ?2 AND digest = ?3",
                [service, stage, digest],
                |r| r.get::<_, i64>(0),
            )
            .unwrap()
            > 0
    }

    /// `hoist reconcile --once` beside the server, on its store: how many commands it
    /// answered.
    pub async fn reconcile(&self) -> usize {
        let out = self
            .hoist(&["reconcile", "--once", "--lookback-days", "7"])
            .await;
        let line = out.lines().find(|l| l.contains("answered")).unwrap();
        line.split("answered ")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no count of answered commands in {line:?}"))
    }

    /// The store is lost with the server: the operator runs `hoist ledger rebuild` and a
    /// reconcile pass on a new one, then starts the server again.
    pub async fn lose_store(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for suffix in ["", "-wal", "-shm"] {
            let mut p = self.db.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
        self.hoist(&["ledger", "rebuild"]).await;
        // The pass a start runs repairs what the lost store knew (it publishes hoist/dag
        // again, say). Run here to its end, before the server starts, so its effects are
        // not mistaken for the next event's; the server's own start pass then finds
        // nothing left to do.
        self.hoist(&["reconcile"]).await;
        let (child, addr) =
            tokio::task::block_in_place(|| spawn_without_retries(&self.cfg, &self.db, &self.forge));
        self.forge.state.lock().unwrap().webhook = None;
        (self.child, self.addr) = (child, addr);
    }

    /// Runs `hoist ARGS --config --db` to success; its standard output.
    async fn hoist(&self, args: &[&str]) -> String {
        let served_at = self.forge.state.lock().unwrap().served_at.clone().unwrap();
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_hoist"))
            .args(args)
            .arg("--config")
            .arg(&self.cfg)
            .arg("--db")
            .arg(&self.db)
            .envs(super::aws_env(&served_at))
            .envs([("ARGOCD_TOKEN", "argo-token"), ("RUST_LOG", "error")])
            .output()
            .await
            .unwrap();
        assert!(
            out.status.success(),
            "hoist {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// The webhook GitHub sends for `ev`: its `X-GitHub-Event` and payload.
    fn github_payload(&self, ev: &Event) -> (&'static str, Value) {
        let full = ev
            .repo()
            .map_or_else(|| "acme/gitops".to_owned(), |r| r.full_name.clone());
        let (owner, name) = full.split_once('/').unwrap_or(("acme", full.as_str()));
        let repo = json!({"full_name": full, "name": name, "owner": {"login": owner}});
        let installation = json!({"id": 7});
        let user = |a: &hoist::event::Actor| {
            let kind = if a.kind == hoist::event::ActorKind::Bot {
                "Bot"
            } else {
                "User"
            };
            json!({"id": a.id, "login": a.login, "type": kind})
        };
        match ev {
            Event::CommentCreated {
                comment_id,
                body,
                author,
                number,
                is_pull_request,
                ..
            } => {
                let mut issue = json!({"number": number});
                if *is_pull_request {
                    issue["pull_request"] = json!({"url": "https://api.github.com/x"});
                }
                (
                    "issue_comment",
                    json!({"action": "created", "issue": issue,
                           "comment": {"id": comment_id, "body": body, "user": user(author)},
                           "repository": repo, "installation": installation}),
                )
            }
            Event::ReviewSubmitted {
                pr,
                state,
                reviewer,
                commit_id,
                ..
            } => {
                let (action, state) = match state {
                    ReviewState::Approved => ("submitted", "approved"),
                    ReviewState::ChangesRequested => ("submitted", "changes_requested"),
                    ReviewState::Commented => ("submitted", "commented"),
                    ReviewState::Dismissed => ("dismissed", "dismissed"),
                };
                (
                    "pull_request_review",
                    json!({"action": action, "pull_request": {"number": pr},
                           "review": {"state": state, "user": user(reviewer), "commit_id": commit_id},
                           "repository": repo, "installation": installation}),
                )
            }
            Event::CheckCompleted {
                source: CheckSource::Status,
                name,
                conclusion,
                head_sha,
                ..
            } => (
                "status",
                json!({"sha": head_sha, "context": name, "state": conclusion,
                       "repository": repo, "installation": installation}),
            ),
            Event::CheckCompleted {
                name,
                conclusion,
                head_sha,
                prs,
                ..
            } => (
                "check_run",
                json!({"action": "completed",
                       "check_run": {"name": name, "head_sha": head_sha, "conclusion": conclusion,
                                     "pull_requests": prs.iter().map(|n| json!({"number": n})).collect::<Vec<_>>()},
                       "repository": repo, "installation": installation}),
            ),
            Event::PullRequestOpened {
                pr,
                head_ref,
                head_sha,
                base_ref,
                author,
                ..
            } => (
                "pull_request",
                json!({"action": "opened", "number": pr,
                       "pull_request": {"number": pr, "head": {"ref": head_ref, "sha": head_sha},
                                        "base": {"ref": base_ref, "sha": self.forge.pr(*pr).base_sha},
                                        "user": user(author)},
                       "repository": repo, "installation": installation}),
            ),
            Event::PullRequestSynchronized {
                pr,
                head_ref,
                head_sha,
                sender,
                ..
            } => {
                let p = self.forge.pr(*pr);
                (
                    "pull_request",
                    json!({"action": "synchronize", "number": pr,
                           "pull_request": {"number": pr, "head": {"ref": head_ref, "sha": head_sha},
                                            "base": {"ref": p.base_ref, "sha": p.base_sha},
                                            "user": user(sender)},
                           "sender": user(sender),
                           "repository": repo, "installation": installation}),
                )
            }
            Event::PullRequestClosed {
                pr,
                head_ref,
                merged,
                merge_commit_sha,
                ..
            } => {
                let p = self.forge.pr(*pr);
                (
                    "pull_request",
                    json!({"action": "closed", "number": pr,
                           "pull_request": {"number": pr, "merged": merged, "merge_commit_sha": merge_commit_sha,
                                            "head": {"ref": head_ref, "sha": p.head_sha,
                                                     "repo": {"id": if p.from_fork { 99 } else { 42 }}},
                                            "base": {"ref": p.base_ref, "sha": p.base_sha, "repo": {"id": 42}},
                                            "user": user(&self.forge.me_actor())},
                           "repository": repo, "installation": installation}),
                )
            }
            other => panic!("the served driver does not send {other:?}"),
        }
    }
}

/// One HTTP/1.1 POST over loopback: the status and the body.
async fn post(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let status = out.split(' ').nth(1).unwrap().parse().unwrap();
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    // axum may answer chunked for a String body; take the chunk's text.
    (status, dechunk(body))
}

fn dechunk(body: &str) -> String {
    match body.split_once("\r\n") {
        Some((size, rest))
            if usize::from_str_radix(size.trim(), 16).is_ok() && rest.contains("\r\n0\r\n") =>
        {
            rest.split("\r\n").next().unwrap_or_default().to_owned()
        }
        _ => body.to_owned(),
    }
}
