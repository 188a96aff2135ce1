//! Scale (`bench/scale` prints the table, at 50 and 500 services; CI runs it at 10 and
//! 100): a generated config of N services × 3 stages in a repository of 10,000 files.
//! For each size, side by side: `hoist check-config` and `hoist plan` time, `hoist serve`'s
//! memory once connected and after its first reconcile pass, and what one
//! `hoist reconcile --once` costs against the GitHub fake (which answers ECR too): GitHub
//! calls, ECR calls, time. GitHub calls must not grow with the number of services.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use support::memory_forge::{MemoryArgo, MemoryForge};

const FILES: usize = 10_000;
const REGISTRY: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

/// `n` services' overlays (3 stages each), filled up to 10,000 files.
fn repository(dir: &Path, n: usize) {
    let mut files = 0;
    for i in 0..n {
        for stage in ["dev", "uat", "prod"] {
            let d = dir.join(format!("apps/svc-{i:03}/env/{stage}"));
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(
                d.join("kustomization.yaml"),
                format!(
                    "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../base\nimages:\n  - name: svc-{i:03}\n    newName: {REGISTRY}/svc-{i:03}\n    newTag: v1.0.0   # promoted by Hoist\n    digest: sha256:{}\n",
                    "0a".repeat(32)
                ),
            )
            .unwrap();
            files += 1;
        }
    }
    let docs = dir.join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    for i in files..FILES {
        std::fs::write(
            docs.join(format!("page-{i:05}.md")),
            format!("# Page {i}\n"),
        )
        .unwrap();
    }
}

/// The example config with the fakes' addresses and `n` generated services.
fn config(dir: &Path, fake: &str, n: usize) -> std::path::PathBuf {
    let cfg = support::serve::write_config(dir, fake, fake, false);
    let text = std::fs::read_to_string(&cfg).unwrap();
    let (head, rest) = text.split_once("\nservices:\n").unwrap();
    let (_, tail) = rest.split_once("\nmerge:").unwrap();
    let services: String = (0..n)
        .map(|i| {
            format!(
                "  svc-{i:03}:\n    image: {REGISTRY}/svc-{i:03}\n    tags: {{ semver: \"^1\" }}\n    path: apps/svc-{i:03}/env/{{stage}}/kustomization.yaml\n"
            )
        })
        .collect();
    std::fs::write(&cfg, format!("{head}\nservices:\n{services}\nmerge:{tail}")).unwrap();
    cfg
}

fn timed(cmd: &mut Command) -> Duration {
    let start = Instant::now();
    let out = cmd.output().unwrap();
    let took = start.elapsed();
    assert!(
        out.status.success(),
        "{cmd:?}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

fn kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap()
}

struct Row {
    services: usize,
    check_config: Duration,
    plan: Duration,
    rss_connected: u64,
    rss_peak: u64,
    github_calls: usize,
    not_modified: usize,
    ecr_calls: usize,
    reconcile: Duration,
}

fn measure(rt: &tokio::runtime::Runtime, n: usize) -> Row {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    repository(&repo, n);
    let forge = MemoryForge::from_dir(&repo);
    let fake = rt.block_on(async {
        support::github_fake::serve(forge.clone(), MemoryArgo::default()).await
    });
    let cfg = config(dir.path(), &fake, n);
    let bin = env!("CARGO_BIN_EXE_hoist");
    let check_config = timed(Command::new(bin).arg("check-config").arg(&cfg));
    let event = dir.path().join("push.json");
    std::fs::write(
        &event,
        std::fs::read_to_string("examples/events/ecr-push-my-app-service1-v1.4.0.json")
            .unwrap()
            .replace("my-app-service1", "svc-000")
            .replace("v1.4.0", "v1.1.0"),
    )
    .unwrap();
    let plan = timed(
        Command::new(bin)
            .args(["plan", "--config"])
            .arg(&cfg)
            .arg("--repo")
            .arg(&repo)
            .arg("--event")
            .arg(&event),
    );

    // hoist serve: connected, then after its first reconcile pass (at start).
    let db = dir.path().join("hoist.db");
    let (mut child, _) = support::serve::spawn(&cfg, &db, &forge);
    // Connected once it has looked up its own identity; its first reconcile pass is
    // through once it has read the registry of every service it reads in a pass.
    forge.wait_until("the connection", Duration::from_secs(60), |s| {
        s.http.iter().any(|c| c == "GET /users/hoist[bot]")
    });
    let rss_connected = kib(child.id(), "VmRSS:");
    let reads = n.min(hoist::engine::reconcile::REGISTRY_PER_PASS);
    forge.wait_until("the first reconcile pass", Duration::from_secs(300), |s| {
        s.ecr_calls >= reads
    });
    let rss_peak = kib(child.id(), "VmHWM:");
    child.kill().unwrap();
    child.wait().unwrap();

    // One reconcile pass on its own, counted at the fake.
    let (calls, not_modified, ecr) = {
        let s = forge.state.lock().unwrap();
        (s.http.len(), s.not_modified, s.ecr_calls)
    };
    let served_at = forge.state.lock().unwrap().served_at.clone().unwrap();
    let reconcile = timed(
        Command::new(bin)
            .args(["reconcile", "--once", "--config"])
            .arg(&cfg)
            .arg("--db")
            .arg(&db)
            .envs(support::aws_env(&served_at))
            .envs([("ARGOCD_TOKEN", "argo-token"), ("RUST_LOG", "error")]),
    );
    let s = forge.state.lock().unwrap();
    Row {
        services: n,
        check_config,
        plan,
        rss_connected,
        rss_peak,
        github_calls: s.http.len() - calls,
        not_modified: s.not_modified - not_modified,
        ecr_calls: s.ecr_calls - ecr,
        reconcile,
    }
}

#[test]
fn scale_with_services() {
    let full = std::env::var_os("HOIST_BENCH_FULL").is_some();
    let sizes = if full { [50, 500] } else { [10, 100] };
    let rt = support::runtime();
    let rows: Vec<Row> = sizes.iter().map(|&n| measure(&rt, n)).collect();
    let ms = |d: Duration| format!("{} ms", d.as_millis());
    let mb = |k: u64| format!("{:.1} MB", k as f64 / 1024.0);
    println!(
        "\n| services (× 3 stages, {FILES} files) | check-config | plan (one push) | serve RSS connected | serve RSS peak after a reconcile pass | reconcile pass: GitHub calls (304s) | ECR calls | time |\n|---|---|---|---|---|---|---|---|"
    );
    for r in &rows {
        println!(
            "| {} | {} | {} | {} | {} | {} ({}) | {} | {} |",
            r.services,
            ms(r.check_config),
            ms(r.plan),
            mb(r.rss_connected),
            mb(r.rss_peak),
            r.github_calls,
            r.not_modified,
            r.ecr_calls,
            ms(r.reconcile)
        );
    }
    let (small, large) = (&rows[0], &rows[1]);
    assert_eq!(
        small.github_calls, large.github_calls,
        "a reconcile pass's GitHub calls do not grow with services"
    );
    let bound = |n: usize| n.min(hoist::engine::reconcile::REGISTRY_PER_PASS);
    assert_eq!(
        (small.ecr_calls, large.ecr_calls),
        (bound(small.services), bound(large.services)),
        "one DescribeImages per service read, at most REGISTRY_PER_PASS a pass"
    );
}
