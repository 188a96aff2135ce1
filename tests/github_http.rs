//! The engine through the real GitHub adapter (octocrab, App authentication) and the
//! real Argo CD client, over HTTP to the GitHub fake: the full path, and the API calls
//! each step makes, counted on the fake's side.

mod support;

use hoist::event::{Actor, CheckSource, Event, RepoRef, ReviewState};
use hoist::forge::github::Auth;
use hoist::forge::{Permission, PrState};
use hoist::worker::Handler;
use support::memory_forge::{MemoryArgo, MemoryForge, user};

const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app-service1";

fn digest() -> String {
    format!("sha256:{}", "ab".repeat(32))
}

struct Setup {
    engine: support::http_engine::HttpEngine,
    forge: MemoryForge,
    argo: MemoryArgo,
    _dir: tempfile::TempDir,
}

async fn setup() -> Setup {
    setup_at("").await
}

/// The fake with the engine connected at `root` below it (`/api/v3` for GitHub
/// Enterprise Server's layout).
async fn setup_at(root: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let forge = MemoryForge::from_dir(std::path::Path::new("examples/gitops"));
    // These are the REST transport's tests (retries, credentials, the exact calls, the
    // write that races a push): GraphQL off, as on GitHub Enterprise Server. The GraphQL
    // path has its own in tests/github_calls.rs, which checks it does what REST does.
    forge.state.lock().unwrap().graphql_off = true;
    forge.grant(&user(10, "quinn"), Permission::Write, &["acme/qa"]);
    forge.grant(&user(11, "sam"), Permission::Write, &["acme/sre"]);
    let argo = MemoryArgo::default();
    let url = support::github_fake::serve(forge.clone(), argo.clone()).await;
    let pem = std::fs::read_to_string(support::github_fake::app_key(dir.path())).unwrap();
    let engine = support::http_engine::http_engine(
        &format!("{url}{root}"),
        &dir.path().join("hoist.db"),
        std::time::Duration::ZERO,
        Auth::App {
            app_id: 12345,
            private_key_pem: pem,
            installation_id: None,
        },
    )
    .await;
    assert_eq!(
        hoist::forge::Forge::me(&engine.forge).login,
        "hoist[bot]",
        "Hoist knows its own bot identity"
    );
    forge.state.lock().unwrap().calls.clear();
    Setup {
        engine,
        forge,
        argo,
        _dir: dir,
    }
}

/// ECR's push of my-app-service1:v1.4.0.
fn push_v140() -> Event {
    Event::ImagePushed {
        image: IMAGE.into(),
        tag: "v1.4.0".into(),
        digest: digest(),
        time: "2026-11-26T09:58:00Z".into(),
    }
}

fn repo() -> RepoRef {
    RepoRef {
        full_name: "acme/gitops".into(),
        installation_id: Some(7),
    }
}

impl Setup {
    async fn deliver(&self, ev: Event) {
        if let Err(e) = self.engine.handle(ev).await {
            assert!(
                matches!(
                    e,
                    hoist::worker::HandlerError::Retryable(_)
                        | hoist::worker::HandlerError::Waiting(_)
                        | hoist::worker::HandlerError::WaitingUntil(..)
                ),
                "{e}"
            );
        }
    }
    /// The calls the fake saw since the last look.
    fn calls(&self) -> Vec<String> {
        std::mem::take(&mut self.forge.state.lock().unwrap().calls)
    }
    async fn pass_check(&self, pr: u64) {
        let (name, head_sha) = self.forge.set_stage_check(pr, Some("success"), None);
        self.deliver(Event::CheckCompleted {
            repo: repo(),
            source: CheckSource::CheckRun,
            name,
            conclusion: "success".into(),
            head_sha,
            prs: vec![pr],
        })
        .await;
    }
    async fn argo_syncs(&self, pr: u64) {
        let (head_ref, sha) =
            self.forge
                .sync_merged(&self.argo, pr, &format!("{IMAGE}@{}", digest()));
        self.deliver(Event::PullRequestClosed {
            repo: repo(),
            pr,
            head_ref,
            merged: true,
            merge_commit_sha: Some(sha),
            merged_pr: None,
        })
        .await;
    }
    async fn comment(&self, pr: u64, who: &Actor, body: &str, id: u64) {
        support::memory_forge::post_as(&self.forge, pr, who, body);
        self.deliver(Event::CommentCreated {
            repo: repo(),
            comment_id: id,
            body: body.into(),
            author: who.clone(),
            number: pr,
            is_pull_request: true,
        })
        .await;
    }
    fn last_comment(&self, pr: u64) -> String {
        let s = self.forge.state.lock().unwrap();
        s.comments
            .iter()
            .rev()
            .find(|(n, c)| *n == pr && c.author.login == "hoist[bot]")
            .map(|(_, c)| c.body.clone())
            .unwrap_or_default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_full_path_over_http() {
    let s = setup().await;
    s.deliver(push_v140()).await;
    let opened: Vec<String> = s
        .calls()
        .into_iter()
        .filter(|c| !c.starts_with("GET contents") || c.contains("kustomization"))
        .collect();
    let pr = s.forge.pr(1);
    assert_eq!(pr.title, "Promote my-app-service1 v1.4.0 to dev");
    let file = s
        .forge
        .file_at(
            &pr.head_sha,
            "apps/my-app-service1/env/dev/kustomization.yaml",
        )
        .unwrap();
    assert!(file.contains("newTag: v1.4.0   # promoted by Hoist") && file.contains(&digest()));
    let writes: Vec<&String> = opened.iter().filter(|c| !c.starts_with("GET")).collect();
    assert_eq!(
        writes,
        [
            "POST ref hoist/dev/my-app-service1",
            "PUT contents apps/my-app-service1/env/dev/kustomization.yaml",
            "POST pulls hoist/dev/my-app-service1",
            // Hoist's record of the head it wrote, for a store lost later.
            "POST check-run hoist/record"
        ]
    );

    s.pass_check(1).await;
    assert_eq!(s.forge.pr(1).state, PrState::Merged);
    s.argo_syncs(1).await;
    assert!(
        s.last_comment(1).starts_with("✅ Verified in **dev**"),
        "{}",
        s.last_comment(1)
    );

    s.comment(1, &user(10, "quinn"), "/promote uat", 900).await;
    assert!(
        s.last_comment(1).starts_with("🚀 Opened #2"),
        "{}",
        s.last_comment(1)
    );
    s.pass_check(2).await;
    s.argo_syncs(2).await;
    s.comment(2, &user(10, "quinn"), "/promote prod", 901).await;
    s.pass_check(3).await;
    assert_eq!(s.forge.pr(3).state, PrState::Open);
    assert!(
        s.last_comment(3)
            .starts_with("⏳ Waiting for an approval from a code owner")
    );
    let head = s.forge.approve(3, &user(10, "quinn"));
    s.deliver(Event::ReviewSubmitted {
        repo: repo(),
        pr: 3,
        state: ReviewState::Approved,
        reviewer: user(10, "quinn"),
        commit_id: Some(head.clone()),
    })
    .await;
    assert_eq!(
        s.forge.pr(3).state,
        PrState::Open,
        "the requester's approval does not count"
    );
    s.forge.approve(3, &user(11, "sam"));
    s.calls();
    s.deliver(Event::ReviewSubmitted {
        repo: repo(),
        pr: 3,
        state: ReviewState::Approved,
        reviewer: user(11, "sam"),
        commit_id: Some(head),
    })
    .await;
    assert_eq!(s.forge.pr(3).state, PrState::Merged);
    assert!(
        s.forge
            .base_file("apps/my-app-service1/env/prod/kustomization.yaml")
            .unwrap()
            .contains("newTag: v1.4.0")
    );
    let reactions = s.forge.state.lock().unwrap().reactions.len();
    assert_eq!(reactions, 4, "👀 and 🚀 on each /promote");
    assert_eq!(s.forge.state.lock().unwrap().unauthorized, 0);
}

/// On GitHub Enterprise Server the API lives at `https://HOST/api/v3`, and the fake, like
/// GitHub on a private repository, answers 401 to a call without credentials: every
/// read and write must carry the installation token (octocrab adds it only to paths it
/// routes itself, not to absolute URLs on another host than api.github.com).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enterprise_api_root_gets_credentials_on_every_call() {
    let s = setup_at("/api/v3").await;
    s.deliver(push_v140()).await;
    s.engine.reconcile().await.unwrap();
    s.engine.reconcile().await.unwrap();
    let st = s.forge.state.lock().unwrap();
    assert_eq!(st.unauthorized, 0, "{:?}", st.http);
    assert_eq!(st.prs.len(), 1, "the push opened the dev pull request");
    assert!(st.not_modified > 0, "conditional GETs still work");
}

/// The fake enforces authentication, so a test that passes cannot be passing only
/// because credentials were never looked at.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fake_refuses_calls_without_credentials() {
    let forge = MemoryForge::from_dir(std::path::Path::new("examples/gitops"));
    let url = support::github_fake::serve(forge.clone(), MemoryArgo::default()).await;
    let client = status_of(&format!("{url}/repos/acme/gitops/pulls"), None).await;
    assert_eq!(client, 401);
    let bad = status_of(
        &format!("{url}/repos/acme/gitops/pulls"),
        Some("Bearer nope"),
    )
    .await;
    assert_eq!(bad, 401);
    let good = status_of(
        &format!("{url}/repos/acme/gitops/pulls"),
        Some("Bearer ghs_fake"),
    )
    .await;
    assert_eq!(good, 200);
}

/// The status code of a GET, with `authorization` when given.
async fn status_of(url: &str, authorization: Option<&str>) -> u16 {
    use hyper_util::client::legacy::Client;
    let client: Client<_, axum::body::Body> =
        Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
    let mut req = axum::http::Request::get(url);
    if let Some(a) = authorization {
        req = req.header("authorization", a);
    }
    let res = client
        .request(req.body(axum::body::Body::empty()).unwrap())
        .await
        .unwrap();
    res.status().as_u16()
}

/// GitHub's secondary limits ask for spacing out content-creating requests: with a
/// write interval set, no two writes reach the server closer than it. (A lower bound
/// the adapter enforces, not a speed measurement.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_are_paced() {
    let dir = tempfile::tempdir().unwrap();
    let forge = MemoryForge::from_dir(std::path::Path::new("examples/gitops"));
    let argo = MemoryArgo::default();
    let url = support::github_fake::serve(forge.clone(), argo.clone()).await;
    let interval = std::time::Duration::from_millis(150);
    let engine = support::http_engine::http_engine(
        &url,
        &dir.path().join("h.db"),
        interval,
        Auth::Token("t".into()),
    )
    .await;
    let _ = engine.handle(push_v140()).await;
    let s = forge.state.lock().unwrap();
    let writes: Vec<std::time::Instant> = s
        .http
        .iter()
        .zip(&s.http_at)
        // GraphQL's reads are reads; its `Write` mutation is a write.
        .filter(|(c, _)| !c.starts_with("GET") && !c.ends_with(" Opening"))
        .map(|(_, at)| *at)
        .collect();
    assert_eq!(writes.len(), 3, "{:?}", s.http);
    for pair in writes.windows(2) {
        assert!(
            // Arrival times carry the machine's scheduling delays; unpaced writes
            // would arrive within a few milliseconds of each other.
            pair[1] - pair[0] >= interval - std::time::Duration::from_millis(50),
            "{:?}",
            pair[1] - pair[0]
        );
    }
}

/// Reconcile polls the same lists again and again: with ETags, an unchanged list is a
/// 304, which GitHub does not count against the rate limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_is_conditional() {
    let s = setup().await;
    s.deliver(push_v140()).await;
    s.engine.reconcile().await.unwrap();
    let before = s.forge.state.lock().unwrap().not_modified;
    s.engine.reconcile().await.unwrap();
    let after = s.forge.state.lock().unwrap().not_modified;
    assert!(
        after > before,
        "the second pass got 304s for what had not changed"
    );
    assert_eq!(
        s.forge.pr(1).state,
        PrState::Open,
        "and still saw the open PR"
    );
}

/// Two promotions of one service into one stage at once (say a `/promote uat` on each of
/// two pull requests) write the same branch: they take turns, and one pull request is
/// left, pinning the newer image.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_promotions_into_one_stage_at_once_leave_one_pull_request() {
    use hoist::freight::Freight;
    use hoist::image::{Digest, ImageName, Tag};
    let s = setup().await;
    let freight = |tag: &str, d: &str| Freight {
        service: "my-app-service1".into(),
        image: ImageName::parse(IMAGE).unwrap(),
        tag: Tag::parse(tag).unwrap(),
        digest: Digest::parse(&format!("sha256:{}", d.repeat(32))).unwrap(),
        source: None,
        pushed_at: None,
    };
    let (older, newer) = (freight("v1.4.0", "01"), freight("v1.4.1", "02"));
    let push = Actor::system("ecr-push");
    let (a, b) = tokio::join!(
        s.engine.promote_to("dev", &older, &push),
        s.engine.promote_to("dev", &newer, &push),
    );
    a.unwrap();
    b.unwrap();
    let prs = s.forge.state.lock().unwrap().prs.clone();
    let open: Vec<_> = prs.iter().filter(|p| p.state == PrState::Open).collect();
    assert_eq!(open.len(), 1, "{prs:#?}");
    assert!(open[0].body.contains("v1.4.1"), "{}", open[0].body);
    let head = s.forge.pr(open[0].number).head_sha;
    let kustomization = s
        .forge
        .file_at(&head, "apps/my-app-service1/env/dev/kustomization.yaml")
        .unwrap();
    assert!(kustomization.contains("newTag: v1.4.1"), "{kustomization}");
}

/// Between Hoist's reset of its branch and its file write (a window the write pacing
/// widens), someone pushes a commit to the branch, and GitHub writes Hoist's file on top
/// of it. GitHub's answer shows the new commit's parent is not the base Hoist read:
/// Hoist records nothing and opens nothing, and the retry finds the person's commit and
/// leaves it alone. The control: with the branch gone, the push opens the pull request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_pushed_while_hoist_writes_is_never_built_upon() {
    use hoist::forge::Forge;
    let s = setup().await;
    s.forge.state.lock().unwrap().push_before_write = Some((
        user(13, "alice"),
        "apps/my-app-service1/env/dev/extra.yaml".into(),
        "kind: ConfigMap\n".into(),
    ));
    let push = push_v140();
    let first = s.engine.handle(push.clone()).await;
    assert!(
        matches!(&first, Err(hoist::worker::HandlerError::Retryable(e)) if e.contains("moved while Hoist wrote it")),
        "{first:?}"
    );
    s.engine.handle(push.clone()).await.unwrap();
    assert!(
        s.forge.state.lock().unwrap().prs.is_empty(),
        "nothing opened"
    );

    s.forge
        .delete_branch("hoist/dev/my-app-service1")
        .await
        .unwrap();
    s.engine.handle(push).await.unwrap();
    let pr = s.forge.pr(1);
    assert_eq!(
        s.forge
            .file_at(&pr.head_sha, "apps/my-app-service1/env/dev/extra.yaml"),
        None,
        "the pull request carries Hoist's commit alone"
    );
}

/// A busy pull request collects more than 2,000 comments (20 pages): an SRE's `/hold`
/// among the last, whose webhook was lost, is still found by reconcile and applied. Lists
/// are read to their last page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_reads_every_page_of_a_long_list() {
    let s = setup().await;
    s.deliver(push_v140()).await;
    for i in 0..2_050 {
        support::memory_forge::post_as(&s.forge, 1, &user(10, "quinn"), &format!("note {i}"));
    }
    support::memory_forge::post_as(&s.forge, 1, &user(11, "sam"), "/hold");
    let r = s.engine.reconcile().await.unwrap();
    assert_eq!(r.answered, 1, "{r:?}");
    let held = s.forge.state.lock().unwrap().comments.iter().any(|(n, c)| {
        *n == 1 && c.author.login == "hoist[bot]" && c.body.contains("⏸️ Held by @sam.")
    });
    assert!(held);
}

/// GitHub answers 401 to an installation token that should be valid (revoked, or expired
/// early): the call is made again once with a freshly minted token, and the push goes
/// through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_is_retried_once_with_a_fresh_token() {
    let s = setup().await;
    s.forge.state.lock().unwrap().http.clear();
    s.forge.state.lock().unwrap().answer_next = Some((401, r#"{"message":"Bad credentials"}"#));
    s.engine.handle(push_v140()).await.unwrap();
    let http = s.forge.state.lock().unwrap().http.clone();
    let minted = http
        .iter()
        .filter(|c| c.ends_with("/access_tokens"))
        .count();
    assert_eq!(minted, 2, "{http:?}");
    assert_eq!(s.forge.state.lock().unwrap().prs.len(), 1);
}

/// GitHub answers a call 502 (a deploy, a load balancer hiccup): the adapter makes it
/// again after a jittered wait of about half a second, not at once, so many events failing
/// together do not all come back together; and the push goes through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_error_is_made_again_after_a_wait_not_at_once() {
    let s = setup().await;
    {
        let mut st = s.forge.state.lock().unwrap();
        st.http.clear();
        st.http_at.clear();
        st.answer_next = Some((502, r#"{"message":"Server Error"}"#));
    }
    s.engine.handle(push_v140()).await.unwrap();
    let st = s.forge.state.lock().unwrap();
    // The installation token is minted first, GraphQL found missing (404); the 502
    // answers the first REST call.
    let first = st
        .http
        .iter()
        .position(|c| c.starts_with("GET /repos/"))
        .unwrap();
    assert_eq!(
        st.http[first],
        st.http[first + 1],
        "the failed call is made again: {:?}",
        st.http
    );
    let waited = st.http_at[first + 1] - st.http_at[first];
    assert!(
        waited >= std::time::Duration::from_millis(400),
        "made again after {waited:?}"
    );
    assert_eq!(st.prs.len(), 1);
}

/// An answer that is not GitHub's JSON (a proxy's error page) may pass: the event is
/// retried, never dropped as failed for good, and the retry goes through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undecodable_answer_is_retried_not_dropped() {
    let s = setup().await;
    s.forge.state.lock().unwrap().answer_next = Some((200, "<html>upstream proxy error</html>"));
    let first = s.engine.handle(push_v140()).await;
    assert!(
        matches!(first, Err(hoist::worker::HandlerError::Retryable(_))),
        "{first:?}"
    );
    s.engine.handle(push_v140()).await.unwrap();
    assert_eq!(s.forge.state.lock().unwrap().prs.len(), 1);
}

/// JSON of the wrong shape will not pass on a retry: it fails the event for good, with
/// what was wrong, instead of holding the pull request's events back for minutes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_of_the_wrong_shape_fails_for_good() {
    let s = setup().await;
    s.forge.state.lock().unwrap().answer_next = Some((200, r#"{"unexpected": true}"#));
    let first = s.engine.handle(push_v140()).await;
    assert!(
        matches!(&first, Err(hoist::worker::HandlerError::Permanent(e)) if e.contains("unexpected response: missing field")),
        "{first:?}"
    );
}
