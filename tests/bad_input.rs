//! R4 of the proof harness: hostile and malformed input, by class. Each attempt must be
//! refused and change nothing: no stored event, no pull request, no config accepted.
//! `bench/bad-input` prints the table.

mod support;

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use hoist::config::Config;
use hoist::engine::Engine;
use hoist::event::{Event, RepoRef};
use hoist::forge::Permission;
use hoist::ingress::signature::Secrets;
use hoist::server::{self, AppState, Intake};
use hoist::store::Store;
use hoist::worker::{Handler, Queue};
use support::memory_forge::{MemoryArgo, MemoryForge, MemoryRegistry, post_as, user};
use tower::ServiceExt;

const SECRET: &str = "bad-input-secret";

struct Row {
    class: &'static str,
    attempts: usize,
    refused: usize,
    unchanged: bool,
}

async fn send(app: &axum::Router, req: Request<Body>) -> StatusCode {
    app.clone().oneshot(req).await.unwrap().status()
}

fn github(sig: Option<String>, body: Vec<u8>) -> Request<Body> {
    let mut r = Request::post("/webhooks/github")
        .header("x-github-event", "issue_comment")
        .header("x-github-delivery", "d-1");
    if let Some(s) = sig {
        r = r.header("x-hub-signature-256", s);
    }
    r.body(Body::from(body)).unwrap()
}

fn signed(body: &[u8]) -> Option<String> {
    Secrets::from_list(SECRET).sign_github(body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r4_bad_input_is_refused_and_changes_nothing() {
    let mut rows = vec![];

    // --- HTTP: the real router over a real store.
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("hoist.db")).unwrap();
    let app = server::router(Arc::new(AppState {
        intake: Intake::Store(Queue {
            store: store.clone(),
            wake: Arc::new(tokio::sync::Notify::new()),
        }),
        github_secrets: Secrets::from_list(SECRET),
        eventbridge_tokens: Secrets::from_list("eb-token"),
        metrics: server::install_metrics(),
        ready: true.into(),
        forge: Default::default(),
        admission: Default::default(),
        page: None,
    }));
    let comment = br#"{"action":"created","issue":{"number":1,"pull_request":{"url":"x"}},"comment":{"id":1,"body":"/promote uat","user":{"id":10,"login":"quinn","type":"User"}},"repository":{"full_name":"acme/gitops"}}"#.to_vec();
    let forged = [
        Some("sha256=".to_owned() + &"00".repeat(32)),
        Some(
            Secrets::from_list("another-secret")
                .sign_github(&comment)
                .unwrap(),
        ),
        Some("sha1=0123".to_owned()),
        Some("sha256=not-hex".to_owned()),
    ];
    let mut refused = 0;
    for sig in &forged {
        refused += usize::from(send(&app, github(sig.clone(), comment.clone())).await == 401);
    }
    rows.push(("forged signatures", forged.len(), refused));
    let st = send(&app, github(None, comment.clone())).await;
    rows.push(("missing signature", 1, usize::from(st == 401)));
    let big = vec![b' '; 30 * 1024 * 1024];
    let st = send(&app, github(signed(&big), big)).await;
    rows.push(("30 MB body", 1, usize::from(st == 413)));
    let malformed: [&[u8]; 4] = [b"{", b"[]", b"{\"action\": 12}", b"\xff\xfe"];
    let mut refused = 0;
    for m in malformed {
        refused += usize::from(send(&app, github(signed(m), m.to_vec())).await == 400);
    }
    rows.push(("malformed JSON", malformed.len(), refused));
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes();
    let st = send(&app, github(signed(&deep), deep)).await;
    rows.push(("JSON nested 100,000 deep", 1, usize::from(st == 400)));
    let eb = Request::post("/webhooks/eventbridge")
        .header("x-hoist-token", "wrong")
        .body(Body::from("{}"))
        .unwrap();
    rows.push((
        "wrong EventBridge token",
        1,
        usize::from(send(&app, eb).await == 401),
    ));
    let http_unchanged = store.rows().await.unwrap().is_empty();
    let mut out: Vec<Row> = rows
        .into_iter()
        .map(|(class, attempts, refused)| Row {
            class,
            attempts,
            refused,
            unchanged: http_unchanged,
        })
        .collect();

    // --- Events and commands: the engine over the in-memory forge.
    let dir2 = tempfile::tempdir().unwrap();
    let forge = MemoryForge::from_dir(std::path::Path::new("examples/gitops"));
    forge.grant(&user(10, "quinn"), Permission::Write, &["acme/qa"]);
    let engine = Engine {
        config: Arc::new(support::http_engine::example_config()),
        forge: forge.clone(),
        argocd: MemoryArgo::default(),
        registry: MemoryRegistry::default(),
        store: Store::open(&dir2.path().join("e.db")).unwrap(),
        repo_name: "acme/gitops".into(),
    };
    let image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app-service1";
    let tags = [
        "v1.4.0\nimages: []",
        "v1.4.0: {newTag: x}",
        "v1.4.0 # comment",
        "../../v1.4.0",
        "v1.4.0\"",
    ];
    let mut refused = 0;
    for tag in tags {
        let _ = engine
            .handle(Event::ImagePushed {
                image: image.into(),
                tag: tag.into(),
                digest: format!("sha256:{}", "ab".repeat(32)),
                time: "t".into(),
            })
            .await;
        refused += usize::from(forge.state.lock().unwrap().prs.is_empty());
    }
    out.push(Row {
        class: "tags carrying a newline, YAML or a path",
        attempts: tags.len(),
        refused,
        unchanged: forge.state.lock().unwrap().prs.is_empty(),
    });
    // A real dev promotion to comment on.
    engine
        .handle(Event::ImagePushed {
            image: image.into(),
            tag: "v1.4.0".into(),
            digest: format!("sha256:{}", "ab".repeat(32)),
            time: "t".into(),
        })
        .await
        .unwrap();
    let commands = [
        (
            "unknown stages in /promote",
            vec!["/promote qa", "/promote PROD", "/promote uat-2"],
        ),
        (
            "service names with ../ in /promote",
            vec![
                "/promote uat ../my-app-service1",
                "/promote uat ../../etc/passwd",
            ],
        ),
    ];
    for (class, bodies) in commands {
        let mut refused = 0;
        for body in &bodies {
            let id = post_as(&forge, 1, &user(10, "quinn"), body);
            let _ = engine
                .handle(Event::CommentCreated {
                    repo: RepoRef {
                        full_name: "acme/gitops".into(),
                        installation_id: None,
                    },
                    comment_id: id,
                    body: (*body).into(),
                    author: user(10, "quinn"),
                    number: 1,
                    is_pull_request: true,
                })
                .await;
            let said = forge
                .state
                .lock()
                .unwrap()
                .comments
                .iter()
                .any(|(_, c)| c.body.contains(&format!("reply:{id}")) && c.body.contains('⛔'));
            refused += usize::from(said);
        }
        out.push(Row {
            class,
            attempts: bodies.len(),
            refused,
            unchanged: forge.state.lock().unwrap().prs.len() == 1,
        });
    }

    // --- Files Hoist reads: the config, CODEOWNERS.
    let bomb = "a: &a [\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\nh: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\ni: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
    let t0 = Instant::now();
    let r = Config::parse(bomb, "hoist.yaml");
    println!("(the YAML bomb was refused in {:?})", t0.elapsed());
    out.push(Row {
        class: "YAML bomb (billion laughs) as the config",
        attempts: 1,
        refused: usize::from(r.is_err()),
        unchanged: true,
    });
    let bad_name = std::fs::read_to_string("config/hoist.example.yaml")
        .unwrap()
        .replace("  my-app-service2:", "  ../my-app-service2:");
    out.push(Row {
        class: "service names with ../ in the config",
        attempts: 1,
        refused: usize::from(Config::parse(&bad_name, "hoist.yaml").is_err()),
        unchanged: true,
    });
    let mut huge = String::from("apps/*/env/prod/ @acme/sre\n");
    while huge.len() < hoist::policy::codeowners::MAX_BYTES {
        huge.push_str("# padding padding padding padding padding padding padding padding\n");
    }
    let co = hoist::policy::codeowners::CodeOwners::parse(&huge);
    out.push(Row {
        class: "CODEOWNERS of 3 MB (GitHub does not load it: no owner counts)",
        attempts: 1,
        refused: usize::from(
            co.owners("apps/my-app-service1/env/prod/kustomization.yaml")
                .is_empty(),
        ),
        unchanged: true,
    });

    println!("| class | attempts | refused | changed nothing |\n|---|---|---|---|");
    for r in &out {
        println!(
            "| {} | {} | {} | {} |",
            r.class,
            r.attempts,
            r.refused,
            if r.unchanged { "yes" } else { "**NO**" }
        );
    }
    for r in &out {
        assert_eq!(
            r.refused, r.attempts,
            "{}: not every attempt was refused",
            r.class
        );
        assert!(r.unchanged, "{}: something changed", r.class);
    }
}
