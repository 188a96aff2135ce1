//! API calls per operation, counted on the GitHub fake's side, through the real adapter.
//! `bench/github-calls` prints the table; this test keeps it runnable and checks the
//! operations still happen (it asserts what was done, not how many calls it took).

mod support;

use hoist::event::{CheckSource, Event, RepoRef, ReviewState};
use hoist::forge::github::Auth;
use hoist::forge::{Permission, PrState};
use hoist::worker::Handler;
use support::memory_forge::{MemoryArgo, MemoryForge, user};

const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app-service1";

fn repo() -> RepoRef {
    RepoRef {
        full_name: "acme/gitops".into(),
        installation_id: Some(7),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_per_operation() {
    let dir = tempfile::tempdir().unwrap();
    let forge = MemoryForge::from_dir(std::path::Path::new("examples/gitops"));
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
    let take = || std::mem::take(&mut forge.state.lock().unwrap().http);
    take();
    let digest = format!("sha256:{}", "ef".repeat(32));
    let _ = engine
        .handle(Event::ImagePushed {
            image: IMAGE.into(),
            tag: "v1.4.0".into(),
            digest: digest.clone(),
            time: "t".into(),
        })
        .await;
    let open_pr = take();
    assert_eq!(forge.pr(1).state, PrState::Open);

    let head = forge.pr(1).head_sha;
    forge
        .state
        .lock()
        .unwrap()
        .checks
        .entry(head.clone())
        .or_default()
        .push(support::memory_forge::ci_run(
            "render/my-app-service1-dev",
            None,
            None,
        ));
    let _ = engine
        .handle(Event::CheckCompleted {
            repo: repo(),
            source: CheckSource::CheckRun,
            name: "render/my-app-service1-dev".into(),
            conclusion: "pending".into(),
            head_sha: head.clone(),
            prs: vec![1],
        })
        .await;
    let wait_decision = take();
    forge.state.lock().unwrap().checks.insert(
        head.clone(),
        vec![support::memory_forge::ci_run(
            "render/my-app-service1-dev",
            Some("success"),
            None,
        )],
    );
    let _ = engine
        .handle(Event::CheckCompleted {
            repo: repo(),
            source: CheckSource::CheckRun,
            name: "render/my-app-service1-dev".into(),
            conclusion: "success".into(),
            head_sha: head,
            prs: vec![1],
        })
        .await;
    let merge_decision = take();
    assert_eq!(forge.pr(1).state, PrState::Merged);

    let sha = forge.pr(1).merge_sha.unwrap();
    argo.synced("my-app-service1-dev", &sha, &format!("{IMAGE}@{digest}"));
    let _ = engine
        .handle(Event::PullRequestClosed {
            repo: repo(),
            pr: 1,
            head_ref: "hoist/dev/my-app-service1".into(),
            merged: true,
            merge_commit_sha: Some(sha),
        })
        .await;
    let verify = take();
    support::memory_forge::post_as(&forge, 1, &user(10, "quinn"), "/promote uat");
    take();
    let _ = engine
        .handle(Event::CommentCreated {
            repo: repo(),
            comment_id: 1001,
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
    let step = |pr: u64, stage: &str| {
        let head = forge.pr(pr).head_sha;
        forge.state.lock().unwrap().checks.insert(
            head.clone(),
            vec![support::memory_forge::ci_run(
                &format!("render/my-app-service1-{stage}"),
                Some("success"),
                None,
            )],
        );
        Event::CheckCompleted {
            repo: repo(),
            source: CheckSource::CheckRun,
            name: format!("render/my-app-service1-{stage}"),
            conclusion: "success".into(),
            head_sha: head,
            prs: vec![pr],
        }
    };
    let merged = |pr: u64, stage: &str| {
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
        }
    };
    let _ = engine.handle(step(2, "uat")).await;
    let _ = engine.handle(merged(2, "uat")).await;
    let uat = take();
    support::memory_forge::post_as(&forge, 2, &user(10, "quinn"), "/promote prod");
    take();
    let _ = engine
        .handle(Event::CommentCreated {
            repo: repo(),
            comment_id: 1002,
            body: "/promote prod".into(),
            author: user(10, "quinn"),
            number: 2,
            is_pull_request: true,
        })
        .await;
    let _ = engine.handle(step(3, "prod")).await;
    let head = forge.pr(3).head_sha;
    forge
        .state
        .lock()
        .unwrap()
        .reviews
        .entry(3)
        .or_default()
        .push(support::memory_forge::review(
            &user(11, "sam"),
            ReviewState::Approved,
            &head,
        ));
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
    let _ = engine.handle(merged(3, "prod")).await;
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
    println!(
        "{:<44}{:>7}{:>8}{:>8}  GitHub calls",
        "operation", "github", "writes", "argocd"
    );
    for (op, calls) in rows {
        let (argo, github): (Vec<&String>, Vec<&String>) =
            calls.iter().partition(|c| c.contains("/api/v1/"));
        let writes = github.iter().filter(|c| !c.starts_with("GET")).count();
        let short: Vec<String> = github
            .iter()
            .map(|c| c.replace("/repos/acme/gitops", ""))
            .collect();
        println!(
            "{op:<44}{:>7}{writes:>8}{:>8}  {}",
            github.len(),
            argo.len(),
            short.join(", ")
        );
    }
    // The goals, side by side with what this run counted (GitHub calls only; a
    // 304 does not count against GitHub's rate limit, and the idle pass's are apart).
    let github = |calls: &[&Vec<String>]| {
        calls
            .iter()
            .flat_map(|c| c.iter())
            .filter(|c| !c.contains("/api/v1/"))
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
        (
            "idle reconcile pass (counted)",
            github(&[&idle]) - idle_304,
            3,
        ),
    ] {
        println!("{goal:<44}{n:>7}{:>9}", format!("<= {target}"));
    }
    println!("idle reconcile pass: 304s (not counted){idle_304:>11}");
}
