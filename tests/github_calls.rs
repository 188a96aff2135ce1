//! API calls per operation, counted on the GitHub fake's side, through the real adapter.
//! `bench/github-calls` prints the table; this test keeps it runnable and checks the
//! operations still happen (it asserts what was done, not how many calls it took).

mod support;

use hoist::event::{CheckSource, Event, RepoRef, ReviewState};
use hoist::forge::github::Auth;
use hoist::forge::{Permission, PrState, Reaction};
use hoist::worker::Handler;
use support::memory_forge::{MemoryArgo, MemoryForge, user};

const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app-service1";

fn repo() -> RepoRef {
    RepoRef {
        full_name: "acme/gitops".into(),
        installation_id: Some(7),
    }
}

/// What GitHub's `pull_request` `closed` webhook says of merged pull request `n`.
fn merged_pr(forge: &MemoryForge, n: u64) -> Option<hoist::event::MergedPr> {
    let pr = forge.pr(n);
    Some(hoist::event::MergedPr {
        head_sha: pr.head_sha,
        base_ref: pr.base_ref,
        base_sha: pr.base_sha,
        from_fork: pr.from_fork,
    })
}

/// The GitHub fake with quinn (acme/qa) and sam (acme/sre) as writers, GraphQL on or
/// off, and the engine on it through the real adapter.
struct Setup {
    _dir: tempfile::TempDir,
    forge: MemoryForge,
    argo: MemoryArgo,
    engine: support::http_engine::HttpEngine,
}

async fn setup(graphql: bool) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let forge = MemoryForge::from_dir(std::path::Path::new("examples/gitops"));
    forge.state.lock().unwrap().graphql_off = !graphql;
    forge.grant(&user(10, "quinn"), Permission::Write, &["acme/qa"]);
    forge.grant(&user(11, "sam"), Permission::Write, &["acme/sre"]);
    let argo = MemoryArgo::default();
    let url = support::github_fake::serve(forge.clone(), argo.clone()).await;
    let engine = support::http_engine::http_engine(
        &url,
        &dir.path().join("h.db"),
        std::time::Duration::ZERO,
        Auth::Token("t".into()),
    )
    .await;
    Setup {
        _dir: dir,
        forge,
        argo,
        engine,
    }
}

/// ECR's push of `v1.4.0` at `digest`.
fn pushed(digest: &str) -> Event {
    Event::ImagePushed {
        image: IMAGE.into(),
        tag: "v1.4.0".into(),
        digest: digest.into(),
        time: "t".into(),
    }
}

/// The stage's CI check on pull request `pr`'s head, done with `conclusion` (`None`:
/// still running), and GitHub's event for it.
fn ci(forge: &MemoryForge, pr: u64, stage: &str, conclusion: Option<&str>) -> Event {
    let head = forge.pr(pr).head_sha;
    let name = format!("render/my-app-service1-{stage}");
    let run = support::memory_forge::ci_run(&name, conclusion, None);
    forge
        .state
        .lock()
        .unwrap()
        .checks
        .insert(head.clone(), vec![run]);
    Event::CheckCompleted {
        repo: repo(),
        source: CheckSource::CheckRun,
        name,
        conclusion: conclusion.unwrap_or("pending").into(),
        head_sha: head,
        prs: vec![pr],
    }
}

/// Argo CD runs merged pull request `pr`'s merge with the image at `digest`, and
/// GitHub's webhook says it merged.
fn merged(forge: &MemoryForge, argo: &MemoryArgo, pr: u64, stage: &str, digest: &str) -> Event {
    let sha = forge.pr(pr).merge_sha.expect("merged");
    argo.synced(
        &format!("my-app-service1-{stage}"),
        &sha,
        &format!("{IMAGE}@{digest}"),
    );
    Event::PullRequestClosed {
        repo: repo(),
        pr,
        head_ref: format!("hoist/{stage}/my-app-service1"),
        merged: true,
        merge_commit_sha: Some(sha),
        merged_pr: merged_pr(forge, pr),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_per_operation() {
    let Setup {
        _dir,
        forge,
        argo,
        engine,
    } = setup(true).await;
    let take = || std::mem::take(&mut forge.state.lock().unwrap().http);
    take();
    let digest = format!("sha256:{}", "ef".repeat(32));
    let _ = engine.handle(pushed(&digest)).await;
    let open_pr = take();
    assert_eq!(forge.pr(1).state, PrState::Open);

    let _ = engine.handle(ci(&forge, 1, "dev", None)).await;
    let wait_decision = take();
    let _ = engine.handle(ci(&forge, 1, "dev", Some("success"))).await;
    let merge_decision = take();
    assert_eq!(forge.pr(1).state, PrState::Merged);
    assert_eq!(
        forge.branch_head("hoist/dev/my-app-service1"),
        None,
        "the merged branch is deleted"
    );

    let _ = engine
        .handle(merged(&forge, &argo, 1, "dev", &digest))
        .await;
    let verify = take();
    let comment_id = support::memory_forge::post_as(&forge, 1, &user(10, "quinn"), "/promote uat");
    take();
    let _ = engine
        .handle(Event::CommentCreated {
            repo: repo(),
            comment_id,
            body: "/promote uat".into(),
            author: user(10, "quinn"),
            number: 1,
            is_pull_request: true,
        })
        .await;
    let promote = take();
    assert_eq!(forge.pr(2).state, PrState::Open);

    // On through uat and prod: a passing check, a merge and Argo CD's sync each, one
    // `/promote prod`, and a code owner's approval for prod.
    let _ = engine.handle(ci(&forge, 2, "uat", Some("success"))).await;
    let _ = engine
        .handle(merged(&forge, &argo, 2, "uat", &digest))
        .await;
    let uat = take();
    let comment_id = support::memory_forge::post_as(&forge, 2, &user(10, "quinn"), "/promote prod");
    take();
    let _ = engine
        .handle(Event::CommentCreated {
            repo: repo(),
            comment_id,
            body: "/promote prod".into(),
            author: user(10, "quinn"),
            number: 2,
            is_pull_request: true,
        })
        .await;
    let _ = engine.handle(ci(&forge, 3, "prod", Some("success"))).await;
    let head = forge.approve(3, &user(11, "sam"));
    let _ = engine
        .handle(Event::ReviewSubmitted {
            repo: repo(),
            pr: 3,
            state: ReviewState::Approved,
            reviewer: user(11, "sam"),
            commit_id: Some(head),
        })
        .await;
    assert_eq!(forge.pr(3).state, PrState::Merged);
    let _ = engine
        .handle(merged(&forge, &argo, 3, "prod", &digest))
        .await;
    let prod = take();
    // A reconcile pass with nothing to do, after one that warmed the conditional reads.
    engine.reconcile().await.unwrap();
    take();
    let before = forge.state.lock().unwrap().not_modified;
    engine.reconcile().await.unwrap();
    let idle = take();
    let idle_304 = forge.state.lock().unwrap().not_modified - before;

    let rows = [
        ("push -> open the dev PR", &open_pr),
        ("check pending -> merge decision (wait)", &wait_decision),
        ("check success -> merge decision and merge", &merge_decision),
        ("merged -> verify and comment", &verify),
        ("/promote uat -> open the uat PR and reply", &promote),
        ("uat: check, merge, verify", &uat),
        ("/promote prod, check, approval, merge, verify", &prod),
    ];
    // Counted: what GitHub charges to the installation's budget. A 304 is not charged;
    // a GraphQL request is counted as one call (it is charged to GraphQL's own budget,
    // at one point for these documents). Writes: what creates or changes something.
    let charged = |c: &String| !c.contains("/api/v1/") && !c.ends_with(" 304");
    let is_write =
        |c: &String| !c.starts_with("GET") && !c.ends_with(" Bundle") && !c.ends_with(" Opening");
    println!(
        "{:<44}{:>7}{:>8}{:>6}{:>8}  GitHub calls",
        "operation", "github", "writes", "304s", "argocd"
    );
    for (op, calls) in rows {
        let (argo, github): (Vec<&String>, Vec<&String>) =
            calls.iter().partition(|c| c.contains("/api/v1/"));
        let counted = github.iter().filter(|c| charged(c)).count();
        let writes = github.iter().filter(|c| is_write(c)).count();
        let short: Vec<String> = github
            .iter()
            .map(|c| c.replace("/repos/acme/gitops", ""))
            .collect();
        println!(
            "{op:<44}{counted:>7}{writes:>8}{:>6}{:>8}  {}",
            github.len() - counted,
            argo.len(),
            short.join(", ")
        );
    }
    // The goals, side by side with what this run counted.
    let github = |calls: &[&Vec<String>]| {
        calls
            .iter()
            .flat_map(|c| c.iter())
            .filter(|c| charged(c))
            .count()
    };
    println!();
    println!("{:<44}{:>7}{:>9}", "goal", "calls", "target");
    for (goal, n, target) in [
        ("push -> dev PR opened", github(&[&open_pr]), 5),
        (
            "push -> dev verified",
            github(&[&open_pr, &wait_decision, &merge_decision, &verify]),
            12,
        ),
        (
            "one image through dev, uat and prod",
            github(&[
                &open_pr,
                &wait_decision,
                &merge_decision,
                &verify,
                &promote,
                &uat,
                &prod,
            ]),
            45,
        ),
        ("idle reconcile pass (counted)", github(&[&idle]), 3),
    ] {
        println!("{goal:<44}{n:>7}{:>9}", format!("<= {target}"));
    }
    println!("idle reconcile pass: 304s (not counted){idle_304:>11}");
}

/// What a person sees of a dev promotion taken from push to verified.
/// With `delete`, someone deletes Hoist's deploy status comment between the merge and
/// the verification.
async fn dev_promotion(graphql: bool, delete: bool) -> (Vec<String>, usize) {
    let Setup {
        _dir,
        forge,
        argo,
        engine,
    } = setup(graphql).await;
    forge.state.lock().unwrap().http.clear();
    let digest = format!("sha256:{}", "ab".repeat(32));
    engine.handle(pushed(&digest)).await.unwrap();
    engine
        .handle(ci(&forge, 1, "dev", Some("success")))
        .await
        // Merged, then waiting for Argo CD to run the merge: retried by the queue.
        .unwrap_err();
    let closed = merged(&forge, &argo, 1, "dev", &digest);
    let sha = forge.pr(1).merge_sha.expect("merged");
    if delete {
        let me = forge.me_actor();
        let mut st = forge.state.lock().unwrap();
        let before = st.comments.len();
        st.comments.retain(|(_, c)| !c.author.is(&me));
        assert_eq!(
            st.comments.len(),
            before - 1,
            "the deploy status comment is deleted"
        );
    }
    engine.handle(closed).await.unwrap();
    let overlay = forge
        .file_at(&sha, "apps/my-app-service1/env/dev/kustomization.yaml")
        .unwrap();
    let st = forge.state.lock().unwrap();
    let pr = &st.prs[0];
    let mut seen = vec![
        format!("{} {:?}", pr.title, pr.state),
        pr.body.clone(),
        overlay,
    ];
    seen.extend(st.published.iter().map(|p| format!("{p:?}")));
    seen.extend(st.comments.iter().map(|(n, c)| format!("#{n} {}", c.body)));
    (seen, st.http.len())
}

/// GraphQL changes how many calls a promotion takes, never what it does: without it
/// (GitHub Enterprise Server, an outage of it), REST takes the same promotion to the
/// same pull request, files, checks and comments.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_graphql_rest_takes_the_same_promotion() {
    let (with, calls_with) = dev_promotion(true, false).await;
    let (without, calls_without) = dev_promotion(false, false).await;
    assert_eq!(with, without);
    assert!(
        with.iter().any(|l| l.contains("Verified in **dev**")),
        "{with:#?}"
    );
    assert!(
        calls_with < calls_without,
        "{calls_with} calls with GraphQL, {calls_without} without"
    );
}

/// Hoist edits its deploy status comment by the id it remembers; deleted meanwhile, the
/// verification says so in a new one, and nothing is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_deploy_status_comment_is_written_again() {
    let (seen, _) = dev_promotion(true, true).await;
    let comments: Vec<&String> = seen.iter().filter(|l| l.starts_with("#1 ")).collect();
    assert_eq!(comments.len(), 1, "{comments:#?}");
    assert!(
        comments[0].starts_with("#1 ✅ Verified in **dev**"),
        "{comments:#?}"
    );
}

/// A reply GitHub made but whose answer was lost (a 502 after the work): Hoist looks
/// before posting again, so the command is answered once, with its reaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_whose_answer_was_lost_is_not_posted_twice() {
    let Setup {
        _dir,
        forge,
        engine,
        ..
    } = setup(true).await;
    let _ = engine
        .handle(pushed(&format!("sha256:{}", "cd".repeat(32))))
        .await;
    let id = support::memory_forge::post_as(&forge, 1, &user(10, "quinn"), "/hold");
    let replied = |forge: &MemoryForge| {
        let st = forge.state.lock().unwrap();
        let mark = format!("hoist:mark reply:{id} ");
        st.comments
            .iter()
            .filter(|(_, c)| c.body.contains(&mark))
            .count()
    };
    // The command's read goes through; its reply and reaction are done, and the answer
    // to them lost.
    let comment = Event::CommentCreated {
        repo: repo(),
        comment_id: id,
        body: "/hold".into(),
        author: user(10, "quinn"),
        number: 1,
        is_pull_request: true,
    };
    {
        let mut st = forge.state.lock().unwrap();
        st.http.clear();
        st.graphql_lost_answer = Some("Reply");
    }
    engine.handle(comment).await.unwrap();
    let http = forge.state.lock().unwrap().http.clone();
    assert!(http.iter().any(|c| c.ends_with(" Reply")), "{http:?}");
    assert_eq!(replied(&forge), 1, "{http:?}");
    let reactions: Vec<Reaction> = forge
        .state
        .lock()
        .unwrap()
        .reactions
        .iter()
        .filter(|(c, _)| *c == id)
        .map(|(_, r)| *r)
        .collect();
    assert_eq!(reactions, [Reaction::Eyes, Reaction::Rocket]);
}
