//! The real `hoist serve` process: killed while a handler runs, it finishes the event
//! after a restart; stopped with SIGTERM, it finishes the running handler first.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hoist::ingress::signature::Secrets;

const SECRET: &str = "process-test-secret";

fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

fn serve(addr: SocketAddr, db: &Path, delay_ms: u64) -> Child {
    Command::new(env!("CARGO_BIN_EXE_hoist"))
        .args([
            "serve",
            "--config",
            "config/hoist.example.yaml",
            "--listen",
            &addr.to_string(),
        ])
        .arg("--db")
        .arg(db)
        .args([
            // These tests are about the queue, not about acting on GitHub.
            "--record-only",
            "--handler-delay-ms",
            &delay_ms.to_string(),
            "--shutdown-grace",
            "20",
        ])
        .env("HOIST_WEBHOOK_SECRETS", SECRET)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

/// A minimal HTTP/1.1 request over a fresh connection: status code and body.
fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> Option<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).ok()?;
    s.write_all(body).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let status = out.split(' ').nth(1)?.parse().ok()?;
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Some((status, body))
}

fn wait_ready(addr: SocketAddr) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        if request(addr, "GET", "/readyz", &[], b"").is_some_and(|(s, _)| s == 200) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("hoist serve did not become ready");
}

fn post_comment(addr: SocketAddr, delivery: &str) -> u16 {
    let body =
        std::fs::read("tests/fixtures/github/webhooks/issue_comment.created.pr.json").unwrap();
    let sig = Secrets::from_list(SECRET).sign_github(&body).unwrap();
    let headers = [
        ("X-GitHub-Event", "issue_comment".to_owned()),
        ("X-GitHub-Delivery", delivery.to_owned()),
        ("X-Hub-Signature-256", sig),
        ("Content-Type", "application/json".to_owned()),
    ];
    request(addr, "POST", "/webhooks/github", &headers, &body)
        .unwrap()
        .0
}

/// The event's status and attempts, read from the database file as it is on disk.
fn status(db: &Path) -> Option<(String, u32)> {
    let c = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .ok()?;
    c.query_row(
        "SELECT status, attempts FROM events ORDER BY id LIMIT 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .ok()
}

fn wait_status(db: &Path, want: &str) -> (String, u32) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        if let Some(s) = status(db).filter(|(s, _)| s == want) {
            return s;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the event never reached {want}: {:?}", status(db));
}

#[test]
fn a_killed_server_finishes_the_event_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hoist.db");
    let addr = free_addr();
    let mut first = serve(addr, &db, 60_000);
    wait_ready(addr);
    assert_eq!(post_comment(addr, "crash-1"), 202);
    assert_eq!(wait_status(&db, "running"), ("running".into(), 1));
    first.kill().unwrap(); // SIGKILL, mid-handler
    first.wait().unwrap();
    assert_eq!(
        status(&db).unwrap().0,
        "running",
        "the crash left the event unfinished"
    );

    let addr = free_addr();
    let mut second = serve(addr, &db, 0);
    wait_ready(addr);
    assert_eq!(wait_status(&db, "done"), ("done".into(), 2));
    assert_eq!(
        post_comment(addr, "crash-1"),
        200,
        "a redelivery after the restart is a duplicate"
    );
    second.kill().unwrap();
    second.wait().unwrap();
}

#[test]
fn sigterm_lets_the_running_handler_finish() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hoist.db");
    let addr = free_addr();
    let mut child = serve(addr, &db, 1_500);
    wait_ready(addr);
    assert_eq!(post_comment(addr, "term-1"), 202);
    wait_status(&db, "running");
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let exit = child.wait().unwrap();
    assert!(
        exit.success(),
        "hoist serve exits cleanly on SIGTERM: {exit:?}"
    );
    assert_eq!(status(&db).unwrap(), ("done".into(), 1));
}

#[test]
fn serve_refuses_to_start_without_a_webhook_secret() {
    let out = Command::new(env!("CARGO_BIN_EXE_hoist"))
        .args([
            "serve",
            "--config",
            "config/hoist.example.yaml",
            "--listen",
            &free_addr().to_string(),
        ])
        .env_remove("HOIST_WEBHOOK_SECRETS")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("HOIST_WEBHOOK_SECRETS is not set"));
}

#[test]
fn json_logs_are_one_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let addr = free_addr();
    let child = Command::new(env!("CARGO_BIN_EXE_hoist"))
        .args([
            "serve",
            "--record-only",
            "--log-format",
            "json",
            "--config",
            "config/hoist.example.yaml",
            "--listen",
            &addr.to_string(),
        ])
        .arg("--db")
        .arg(dir.path().join("hoist.db"))
        .env("HOIST_WEBHOOK_SECRETS", SECRET)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_ready(addr);
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = text.lines().collect();
    assert!(!lines.is_empty());
    for line in &lines {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(
            v.get("level").is_some() && v.get("fields").is_some(),
            "{line}"
        );
    }
    assert!(text.contains("hoist serve listening"), "{text}");
}

/// A store Hoist cannot write (here another process holds it locked past the 5 s busy
/// timeout; a read-only file or a full disk fail the same write) stops `hoist serve` at
/// start, naming the file and why, instead of listening and failing every delivery.
#[test]
fn a_store_that_takes_no_writes_stops_serve_at_start_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hoist.db");
    drop(hoist::store::Store::open(&db).unwrap());
    let lock = rusqlite::Connection::open(&db).unwrap();
    lock.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hoist"))
        .args([
            "serve",
            "--config",
            "config/hoist.example.yaml",
            "--record-only",
        ])
        .args(["--listen", &free_addr().to_string()])
        .arg("--db")
        .arg(&db)
        .env("HOIST_WEBHOOK_SECRETS", SECRET)
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    drop(lock);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr).replace(&db.display().to_string(), "DB");
    insta::assert_snapshot!(stderr, @"error: cannot open the store DB: it takes no writes (database is locked): a read-only file or filesystem, a full disk, or another process holding it locked");
}
