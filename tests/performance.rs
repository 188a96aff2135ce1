//! Speed, measured side by side in one run (the machine is shared and noisy): the GitHub
//! adapter and engine through a proxy that adds 50 ms to every GitHub call, opening a
//! promotion PR in a 10-file and a 10,000-file repository, and deciding a merge. Prints a
//! table with `--nocapture` (bench/push-to-pr); the targets are reported, not asserted:
//! timings prove nothing on a shared machine, and the call counts are stated as they are.

mod support;

use std::time::{Duration, Instant};

use hoist::event::{CheckSource, Event, RepoRef};
use hoist::forge::PrState;
use hoist::forge::github::Auth;
use hoist::worker::Handler;
use support::memory_forge::{MemoryArgo, MemoryForge};
use support::proxy::{Mode, Proxy, round_trips};

const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app-service1";
const LATENCY: Duration = Duration::from_millis(50);

struct Run {
    open: Duration,
    open_calls: usize,
    open_trips: usize,
    merge_calls: usize,
    merge_trips: usize,
}

async fn run(extra_files: usize) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let forge = MemoryForge::from_dir(std::path::Path::new("examples/gitops"));
    forge.add_files(extra_files);
    let argo = MemoryArgo::default();
    let url = support::github_fake::serve(forge.clone(), argo.clone()).await;
    let proxy = Proxy::start(url, Mode::Latency(LATENCY)).await;
    let engine = support::http_engine::http_engine(
        &proxy.url,
        &dir.path().join("h.db"),
        Duration::ZERO,
        Auth::Token("t".into()),
    )
    .await;
    proxy.take();
    let digest = format!("sha256:{}", "ef".repeat(32));
    let t0 = Instant::now();
    engine
        .handle(Event::ImagePushed {
            image: IMAGE.into(),
            tag: "v1.4.0".into(),
            digest,
            time: "2026-11-26T10:00:00Z".into(),
        })
        .await
        .unwrap();
    let open = t0.elapsed();
    // Argo CD is reached through the same proxy: its calls are counted apart.
    let github = |log: Vec<support::proxy::Entry>| -> Vec<support::proxy::Entry> {
        log.into_iter()
            .filter(|e| !e.path.starts_with("/api/v1/"))
            .collect()
    };
    let opened = github(proxy.take());
    assert_eq!(forge.pr(1).state, PrState::Open);
    let (_, head) = forge.set_stage_check(1, Some("success"), None);
    let _ = engine
        .handle(Event::CheckCompleted {
            repo: RepoRef {
                full_name: "acme/gitops".into(),
                installation_id: None,
            },
            source: CheckSource::CheckRun,
            name: "render/my-app-service1-dev".into(),
            conclusion: "success".into(),
            head_sha: head,
            prs: vec![1],
        })
        .await;
    assert_eq!(forge.pr(1).state, PrState::Merged);
    let merged = github(proxy.take());
    // Reads that decide the merge; the merge itself, hoist/argocd's publication and what
    // follows the merge (the branch deletion) are effects, counted apart.
    let decision: Vec<_> = merged
        .iter()
        .take_while(|e| e.method == "GET")
        .cloned()
        .collect();
    Run {
        open,
        open_calls: opened.len(),
        open_trips: round_trips(&opened),
        merge_calls: decision.len(),
        merge_trips: round_trips(&decision),
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// P1, P2 and P3.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_to_pr_and_repository_size() {
    let rounds: usize = std::env::var("HOIST_BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let (mut small, mut large) = (vec![], vec![]);
    for _ in 0..rounds {
        // Interleaved, so both sizes see the same machine.
        small.push(run(0).await);
        large.push(run(10_000).await);
    }
    let (s, l) = (&small[0], &large[0]);
    let ms = |d: Duration| format!("{:.0} ms", d.as_secs_f64() * 1000.0);
    let ts = median(small.iter().map(|r| r.open).collect());
    let tl = median(large.iter().map(|r| r.open).collect());
    let ratio = tl.as_secs_f64() / ts.as_secs_f64();
    let met = |ok: bool| if ok { "met" } else { "missed" };
    println!(
        "| measure ({} ms per GitHub call, median of {rounds}) | 13-file repo | 10,013-file repo | target | |",
        LATENCY.as_millis()
    );
    println!("|---|---|---|---|---|");
    println!("| push -> PR opened | {} | {} | | |", ms(ts), ms(tl));
    println!(
        "| calls to open the PR | {} | {} | <= 5 | {} |",
        s.open_calls,
        l.open_calls,
        met(s.open_calls <= 5)
    );
    println!(
        "| sequential round trips to open it | {} | {} | <= 4 | {} |",
        s.open_trips,
        l.open_trips,
        met(s.open_trips <= 4)
    );
    println!(
        "| calls to decide a merge | {} | {} | <= 3 | {} |",
        s.merge_calls,
        l.merge_calls,
        met(s.merge_calls <= 3)
    );
    println!(
        "| round trips to decide it | {} | {} | | |",
        s.merge_trips, l.merge_trips
    );
    println!(
        "| P3: time ratio, large / small | {ratio:.2} | | <= 1.1 | {} |",
        met(ratio <= 1.1)
    );
    // Counts, unlike timings, must not depend on the repository's size.
    assert_eq!((s.open_calls, s.merge_calls), (l.open_calls, l.merge_calls));
}
