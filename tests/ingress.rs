//! Webhook ingress through the real router and a real SQLite store: authentication,
//! limits, malformed input, duplicates, and what gets stored.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use hoist::ingress::signature::Secrets;
use hoist::server::{self, AppState, Intake};
use hoist::store::Store;
use hoist::worker::Queue;
use tokio::sync::Notify;
use tower::ServiceExt;

const FIXTURES: &str = "tests/fixtures";

struct Harness {
    app: axum::Router,
    store: Store,
    _dir: tempfile::TempDir,
}

fn harness() -> Harness {
    harness_with(Default::default())
}

fn harness_with(admission: server::Admission) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("hoist.db")).unwrap();
    let state = Arc::new(AppState {
        intake: Intake::Store(Queue {
            store: store.clone(),
            wake: Arc::new(Notify::new()),
        }),
        github_secrets: Secrets::from_list("new-secret,old-secret"),
        eventbridge_tokens: Secrets::from_list("eb-token"),
        metrics: server::install_metrics(),
        ready: true.into(),
        forge: Default::default(),
        admission,
        page: None,
    });
    Harness {
        app: server::router(state),
        store,
        _dir: dir,
    }
}

fn sign(secret: &str, body: &[u8]) -> String {
    Secrets::from_list(secret).sign_github(body).unwrap()
}

fn github(event: &str, delivery: &str, sig: Option<&str>, body: Vec<u8>) -> Request<Body> {
    let mut r = Request::post("/webhooks/github")
        .header("x-github-event", event)
        .header("x-github-delivery", delivery);
    if let Some(s) = sig {
        r = r.header("x-hub-signature-256", s);
    }
    r.body(Body::from(body)).unwrap()
}

impl Harness {
    async fn send(&self, req: Request<Body>) -> (StatusCode, String) {
        let res = self.app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let body = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, String::from_utf8_lossy(&body).into_owned())
    }
    async fn stored(&self) -> usize {
        self.store.rows().await.unwrap().len()
    }
}

fn comment_fixture() -> Vec<u8> {
    std::fs::read(format!(
        "{FIXTURES}/github/webhooks/issue_comment.created.pr.json"
    ))
    .unwrap()
}

#[tokio::test]
async fn signatures() {
    let h = harness();
    let body = comment_fixture();
    let (s, _) = h
        .send(github(
            "issue_comment",
            "a",
            Some(&sign("new-secret", &body)),
            body.clone(),
        ))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "the current secret");
    let (s, _) = h
        .send(github(
            "issue_comment",
            "b",
            Some(&sign("old-secret", &body)),
            body.clone(),
        ))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "the old secret, during rotation");
    let (s, _) = h
        .send(github(
            "issue_comment",
            "c",
            Some(&sign("wrong", &body)),
            body.clone(),
        ))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "a wrong secret");
    let (s, _) = h
        .send(github("issue_comment", "d", None, body.clone()))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "no signature header");
    let mut tampered = body.clone();
    let at = tampered.len() / 2;
    tampered[at] ^= 1;
    let (s, _) = h
        .send(github(
            "issue_comment",
            "e",
            Some(&sign("new-secret", &body)),
            tampered,
        ))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "a tampered body");
    assert_eq!(
        h.stored().await,
        2,
        "only the authenticated deliveries are stored"
    );
}

#[test]
fn the_published_signature_test_vector_verifies() {
    let v: serde_json::Value = serde_json::from_slice(
        &std::fs::read(format!(
            "{FIXTURES}/github/webhooks/signature-test-vector.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let secrets = Secrets::from_list(v["secret"].as_str().unwrap());
    let payload = v["payload"].as_str().unwrap().as_bytes();
    assert!(secrets.verify_github(v["X-Hub-Signature-256"].as_str(), payload));
    assert_eq!(
        secrets.sign_github(payload).unwrap(),
        v["X-Hub-Signature-256"].as_str().unwrap()
    );
}

#[tokio::test]
async fn an_oversize_body_is_413_and_stores_nothing() {
    let h = harness();
    let body = vec![b' '; server::MAX_BODY_BYTES + 1];
    let sig = sign("new-secret", &body);
    let (s, _) = h
        .send(github("issue_comment", "big", Some(&sig), body))
        .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(h.stored().await, 0);
}

#[tokio::test]
async fn malformed_json_is_400_names_the_path_and_stores_nothing() {
    let h = harness();
    for body in [
        &b"{not json"[..],
        br#"{"action":"created","issue":{"number":"seven"}}"#,
    ] {
        let (s, text) = h
            .send(github(
                "issue_comment",
                "m",
                Some(&sign("new-secret", body)),
                body.to_vec(),
            ))
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{text}");
        assert!(
            text.starts_with("malformed payload: issue_comment payload:"),
            "{text}"
        );
    }
    let (_, text) = h
        .send(github(
            "issue_comment",
            "m",
            Some(&sign(
                "new-secret",
                br#"{"action":"created","issue":{"number":"seven"}}"#,
            )),
            br#"{"action":"created","issue":{"number":"seven"}}"#.to_vec(),
        ))
        .await;
    assert!(text.contains("(at issue.number)"), "{text}");
    assert_eq!(h.stored().await, 0);
}

#[tokio::test]
async fn required_headers() {
    let h = harness();
    let body = comment_fixture();
    let req = Request::post("/webhooks/github")
        .header("x-hub-signature-256", sign("new-secret", &body))
        .body(Body::from(body))
        .unwrap();
    let (s, text) = h.send(req).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(text.contains("X-GitHub-Event and X-GitHub-Delivery are required"));
}

#[tokio::test]
async fn a_duplicate_delivery_is_stored_once() {
    let h = harness();
    let body = comment_fixture();
    let sig = sign("new-secret", &body);
    let (s1, t1) = h
        .send(github("issue_comment", "same", Some(&sig), body.clone()))
        .await;
    let (s2, t2) = h
        .send(github("issue_comment", "same", Some(&sig), body.clone()))
        .await;
    assert_eq!((s1, s2), (StatusCode::ACCEPTED, StatusCode::OK));
    assert_eq!(t1, "stored as event 1\n");
    assert_eq!(t2, "duplicate of event 1\n");
    assert_eq!(h.stored().await, 1);
}

#[tokio::test]
async fn ping_and_unhandled_events_are_200_and_not_stored() {
    let h = harness();
    let ping = std::fs::read(format!("{FIXTURES}/github/webhooks/ping.json")).unwrap();
    let (s, t) = h
        .send(github("ping", "p", Some(&sign("new-secret", &ping)), ping))
        .await;
    assert_eq!((s, t.as_str()), (StatusCode::OK, "ignored: ping\n"));
    let other = br#"{"action":"created"}"#.to_vec();
    let (s, t) = h
        .send(github(
            "star",
            "s",
            Some(&sign("new-secret", &other)),
            other,
        ))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(t.contains("\"star\" is not one Hoist handles"), "{t}");
    let issue = std::fs::read(format!(
        "{FIXTURES}/github/webhooks/issue_comment.created.issue.json"
    ))
    .unwrap();
    let (s, _) = h
        .send(github(
            "issue_comment",
            "i",
            Some(&sign("new-secret", &issue)),
            issue,
        ))
        .await;
    assert_eq!(
        s,
        StatusCode::ACCEPTED,
        "a comment on an issue is stored; the engine ignores it"
    );
    assert_eq!(h.stored().await, 1);
}

#[tokio::test]
async fn eventbridge_token_and_dedupe() {
    let h = harness();
    let body = std::fs::read("examples/events/ecr-push-my-app-service1-v1.4.0.json").unwrap();
    let req = |token: Option<&str>| {
        let mut r = Request::post("/webhooks/eventbridge")
            .header("content-type", "application/json; charset=utf-8");
        if let Some(t) = token {
            r = r.header("x-hoist-token", t);
        }
        r.body(Body::from(body.clone())).unwrap()
    };
    assert_eq!(h.send(req(None)).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(h.send(req(Some("nope"))).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(h.send(req(Some("eb-token"))).await.0, StatusCode::ACCEPTED);
    assert_eq!(
        h.send(req(Some("eb-token"))).await.0,
        StatusCode::OK,
        "the same EventBridge id again"
    );
    let rows = h.store.rows().await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0].dedupe_key,
        "eventbridge:5f1b3a0e-8c2d-4e6f-9a1b-3c5d7e9f0a2b"
    );
    assert_eq!(rows[0].kind, "image_pushed");
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let h = harness();
    let get = |p: &str| Request::get(p).body(Body::empty()).unwrap();
    assert_eq!(h.send(get("/healthz")).await, (StatusCode::OK, "ok".into()));
    assert_eq!(
        h.send(get("/readyz")).await,
        (StatusCode::OK, "ready".into())
    );
    let body = comment_fixture();
    h.send(github(
        "issue_comment",
        "x",
        Some(&sign("wrong", &body)),
        body,
    ))
    .await;
    let (_, m) = h.send(get("/metrics")).await;
    assert!(
        m.contains("hoist_signature_failures_total{source=\"github\"}"),
        "{m}"
    );
    assert!(m.contains("hoist_queue_depth{status=\"pending\"}"), "{m}");
    assert!(
        m.lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .all(|l| l.starts_with("hoist_")),
        "{m}"
    );
}

#[tokio::test]
async fn a_reused_delivery_id_with_another_body_is_another_event() {
    let h = harness();
    let a = comment_fixture();
    let b = String::from_utf8(a.clone())
        .unwrap()
        .replace("/build", "/status")
        .into_bytes();
    let (s1, _) = h
        .send(github(
            "issue_comment",
            "1732614000000",
            Some(&sign("new-secret", &a)),
            a,
        ))
        .await;
    let (s2, _) = h
        .send(github(
            "issue_comment",
            "1732614000000",
            Some(&sign("new-secret", &b)),
            b,
        ))
        .await;
    assert_eq!(
        (s1, s2),
        (StatusCode::ACCEPTED, StatusCode::ACCEPTED),
        "senders that reuse ids (millisecond timestamps) lose nothing"
    );
    assert_eq!(h.stored().await, 2);
}

/// With every turn taken (none here), a delivery waits its time and is answered 503,
/// saying it was not stored, and nothing is; one that never finishes sending its body is
/// answered 503 when its time is up, holding nothing.
#[tokio::test]
async fn deliveries_are_admitted_in_turns_and_in_time() {
    let ms = std::time::Duration::from_millis(50);
    let h = harness_with(server::Admission::new(0, ms));
    let body = comment_fixture();
    let sig = sign("new-secret", &body);
    let (status, text) = h
        .send(github("issue_comment", "busy-1", Some(&sig), body.clone()))
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        text,
        "too many deliveries at once; not stored: deliver it again\n"
    );
    assert_eq!(h.stored().await, 0);

    let h = harness_with(server::Admission::new(1, ms));
    let endless = Body::from_stream(futures::stream::pending::<Result<Vec<u8>, std::io::Error>>());
    let slow = Request::post("/webhooks/github")
        .header("x-github-event", "issue_comment")
        .header("x-github-delivery", "slow-1")
        .header("x-hub-signature-256", sig.clone())
        .body(endless)
        .unwrap();
    let (status, text) = h.send(slow).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        text,
        "the delivery was not stored in time; deliver it again\n"
    );
    // Its turn was given back: the next delivery is stored.
    let (status, _) = h
        .send(github("issue_comment", "next-1", Some(&sig), body))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(h.stored().await, 1);
}
