//! Reliability guarantees of the proof harness, on the real `hoist serve` process against
//! the GitHub fake over HTTP. Each test prints its table with `--nocapture`; the scripts in
//! `bench/` run them, and CI runs them as they are (the smoke size).

mod support;

use std::time::Duration;

use hoist::event::ReviewState;
use hoist::forge::PrState;
use serde_json::json;
use support::memory_forge::{review, user};
use support::serve::{Server, digest, request};

fn push(s: &Server, id: &str) {
    let event = support::serve::ecr_event("my-app-service1", "v1.4.0", &digest(), id);
    for _ in 0..3 {
        let st = request(
            s.addr,
            "/webhooks/eventbridge",
            &[("x-hoist-token", "eb-token".into())],
            event.as_bytes(),
        );
        assert!(st == 202 || st == 200);
    }
}

/// dev -> uat -> prod, with quinn promoting and sam approving prod.
fn full_path(s: &mut Server) {
    push(s, "push-1");
    s.wait_for("the dev PR", |f| f.state.lock().unwrap().prs.len() == 1);
    s.pass_check(1);
    s.merged_and_synced(1);
    s.comment(1, &user(10, "quinn"), "/promote uat");
    s.wait_for("the uat PR", |f| f.state.lock().unwrap().prs.len() == 2);
    s.pass_check(2);
    s.merged_and_synced(2);
    s.comment(2, &user(10, "quinn"), "/promote prod");
    s.wait_for("the prod PR", |f| f.state.lock().unwrap().prs.len() == 3);
    s.pass_check(3);
    let head = s.forge.pr(3).head_sha;
    let sam = user(11, "sam");
    s.forge
        .state
        .lock()
        .unwrap()
        .reviews
        .entry(3)
        .or_default()
        .push(review(&sam, ReviewState::Approved, &head));
    s.github(
        "pull_request_review",
        json!({"action": "submitted", "review": {"state": "approved", "user": {"id": 11, "login": "sam", "type": "User"}, "commit_id": head},
               "pull_request": {"number": 3}, "repository": Server::repo()}),
    );
    s.merged_and_synced(3);
}

/// R1: every webhook three times, interleaved with its neighbours; every effect once.
#[test]
fn r1_every_webhook_three_times_interleaved() {
    let (_rt, mut s, _dir) = support::serve::start();
    s.copies = 3;
    full_path(&mut s);
    s.flush();
    // Every copy is handled before anything is counted: late duplicates have had their
    // chance to do harm, if they could.
    s.drained();
    let st = s.forge.state.lock().unwrap();
    let hoist_said = |pr: u64, text: &str| {
        st.comments
            .iter()
            .filter(|(n, c)| *n == pr && c.author.login == "hoist[bot]" && c.body.contains(text))
            .count()
    };
    let rows = [
        ("pull requests opened", 3, st.prs.len()),
        ("merges", 3, st.merge_calls()),
        (
            "verified comments",
            3,
            (1..=3).map(|n| hoist_said(n, "✅ Verified")).sum::<usize>(),
        ),
        (
            "replies to /promote",
            2,
            hoist_said(1, "🚀 Opened #2") + hoist_said(2, "🚀 Opened #3"),
        ),
        (
            "rocket reactions",
            2,
            st.reactions
                .iter()
                .filter(|(_, r)| *r == hoist::forge::Reaction::Rocket)
                .count(),
        ),
    ];
    let states: Vec<PrState> = st.prs.iter().map(|p| p.state).collect();
    drop(st);
    println!("| effect | expected | counted |\n|---|---|---|");
    for (name, want, got) in &rows {
        println!("| {name} | {want} | {got} |");
    }
    println!(
        "deliveries: {} GitHub webhooks, each sent 3 times",
        s.deliveries
    );
    assert_eq!(states, [PrState::Merged; 3]);
    for (name, want, got) in rows {
        assert_eq!(got, want, "{name}: duplicated or lost");
    }
}

/// R3: a fault proxy between hoist serve and GitHub fails 20% of the calls (500, 502, 429
/// and the secondary-rate-limit 403 with `Retry-After`). Every promotion completes, none is
/// duplicated, and every retry after a `Retry-After` waited for it. CI runs the dev
/// promotion; `HOIST_BENCH_FULL=1` (bench/faults) runs dev -> uat -> prod.
#[test]
fn r3_api_faults_are_survived_and_retry_after_is_honoured() {
    use support::proxy::{Mode, Proxy};
    let full = std::env::var_os("HOIST_BENCH_FULL").is_some();
    let seed: u64 = std::env::var("HOIST_BENCH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7);
    let holder = std::sync::Arc::new(std::sync::Mutex::new(None));
    let h = holder.clone();
    let (_rt, mut s, _dir) = support::serve::start_with_token(move |url| {
        let p = tokio::runtime::Handle::current()
            .block_on(Proxy::start(url, Mode::Faults { percent: 20, seed }));
        let u = p.url.clone();
        *h.lock().unwrap() = Some(p);
        u
    });
    let proxy: Proxy = holder.lock().unwrap().clone().unwrap();
    if full {
        full_path(&mut s);
    } else {
        push(&s, "push-1");
        s.wait_for("the dev PR", |f| f.state.lock().unwrap().prs.len() == 1);
        s.pass_check(1);
        s.merged_and_synced(1);
    }
    let log = proxy.take();
    let st = s.forge.state.lock().unwrap();
    let promotions = if full { 3 } else { 1 };
    let (merged, merges) = (st.merged(), st.merge_calls());
    drop(st);
    let count = |code: u16| log.iter().filter(|e| e.status == code).count();
    // Every call answered with Retry-After: the same call again, no sooner. A call is
    // known by its method and path, which names one call for a read or an update; POSTs
    // to one path are different calls (two check runs, two comments) that handlers for
    // other events may send meanwhile, so they are not paired.
    let mut honoured = 0;
    let mut shortest: Option<Duration> = None;
    for (i, e) in log.iter().enumerate() {
        let Some(secs) = e.retry_after else { continue };
        if e.method == "POST" {
            continue;
        }
        let Some(next) = log[i + 1..]
            .iter()
            .find(|n| n.method == e.method && n.path == e.path)
        else {
            continue;
        };
        let gap = next.start.duration_since(e.end);
        shortest = Some(shortest.map_or(gap, |s: Duration| s.min(gap)));
        assert!(
            gap + Duration::from_millis(50) >= Duration::from_secs(secs),
            "{} {} retried after {gap:?}, Retry-After was {secs}s",
            e.method,
            e.path
        );
        honoured += 1;
    }
    println!("| measure | value |\n|---|---|");
    println!("| seed | {seed} |");
    println!("| calls through the proxy | {} |", log.len());
    for code in [500, 502, 429, 403] {
        println!("| injected {code} | {} |", count(code));
    }
    println!("| promotions completed | {merged} of {promotions} |");
    println!("| merge calls that reached GitHub | {merges} |");
    println!("| retries after Retry-After, all waited | {honoured} |");
    if let Some(d) = shortest {
        println!(
            "| shortest wait after Retry-After: 1 | {:.2} s |",
            d.as_secs_f64()
        );
    }
    assert!(
        count(500) + count(502) + count(429) + count(403) > 0,
        "no fault was injected"
    );
    assert_eq!(merged, promotions, "a promotion did not complete");
    assert_eq!(merges, promotions, "a merge was repeated");
}

/// R2: sequential dev promotions while `hoist serve` is killed with SIGKILL at random
/// points: right after an event was accepted, before its handler can have finished. After
/// each restart the store's events are taken again. Every promotion must complete
/// (merged, verified) and none may be done twice. CI runs 5 promotions and 3 kills;
/// bench/crashes runs 50 and 20.
#[test]
fn r2_kill_9_at_random_points() {
    let full = std::env::var_os("HOIST_BENCH_FULL").is_some();
    let (promotions, kills) = if full { (50, 20) } else { (5, 3) };
    let mut rng: u64 = std::env::var("HOIST_BENCH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(11);
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    // Three accepted events per promotion (push, check, merge); kill after `kills` of them.
    let points = promotions * 3;
    let mut kill_at = std::collections::BTreeSet::new();
    while kill_at.len() < kills {
        kill_at.insert((next() % points as u64) as usize);
    }
    let (_rt, mut s, _dir) = support::serve::start();
    let mut step = 0;
    let mut killed = 0;
    let mut after_event = |s: &mut Server| {
        if kill_at.contains(&step) {
            s.crash_and_restart();
            killed += 1;
        }
        step += 1;
    };
    for k in 0..promotions {
        let tag = format!("v1.4.{k}");
        let digest = format!("sha256:{:064x}", k + 1);
        let event =
            support::serve::ecr_event("my-app-service1", &tag, &digest, &format!("push-{k}"));
        let st = request(
            s.addr,
            "/webhooks/eventbridge",
            &[("x-hoist-token", "eb-token".into())],
            event.as_bytes(),
        );
        assert_eq!(st, 202);
        after_event(&mut s);
        let n = (k + 1) as u64;
        s.wait_for(&format!("PR #{n}"), |f| {
            f.state.lock().unwrap().prs.len() == n as usize
        });
        s.pass_check(n);
        after_event(&mut s);
        s.wait_for(&format!("the merge of #{n}"), |f| {
            f.pr(n).state == PrState::Merged
        });
        let p = s.forge.pr(n);
        let sha = p.merge_sha.clone().unwrap();
        s.argo.synced(
            "my-app-service1-dev",
            &sha,
            &format!("{}@{digest}", support::serve::IMAGE),
        );
        s.github(
            "pull_request",
            json!({"action": "closed", "number": n, "pull_request": {"number": n, "merged": true, "merge_commit_sha": sha,
                   "head": {"ref": p.head_ref, "sha": p.head_sha}, "base": {"ref": "main", "sha": "x"},
                   "user": {"id": 1, "login": "hoist[bot]", "type": "Bot"}}, "repository": Server::repo()}),
        );
        after_event(&mut s);
        s.wait_for(&format!("#{n} verified"), |f| {
            f.state
                .lock()
                .unwrap()
                .comments
                .iter()
                .any(|(m, c)| *m == n && c.body.contains("✅ Verified in **dev**"))
        });
    }
    s.drained();
    let st = s.forge.state.lock().unwrap();
    let (merged, merges) = (st.merged(), st.merge_calls());
    let verified = st
        .comments
        .iter()
        .filter(|(_, c)| c.body.contains("✅ Verified in **dev**"))
        .count();
    let prs = st.prs.len();
    drop(st);
    println!("| measure | value |\n|---|---|");
    println!("| promotions | {promotions} |");
    println!("| kill -9 and restart | {killed} |");
    println!("| pull requests | {prs} |");
    println!("| merged | {merged} |");
    println!("| merge calls | {merges} |");
    println!("| verified comments | {verified} |");
    assert_eq!(killed, kills);
    assert_eq!(
        (prs, merged, merges, verified),
        (promotions, promotions, promotions, promotions)
    );
}

/// R7: deliveries sent while the server is down find its port closed, as GitHub and
/// EventBridge would: a push of a new image to ECR, and quinn's `/promote uat` on dev's
/// merged pull request (the normal flow). Neither is redelivered; after the restart,
/// reconcile finds both (the registry, the repository's recent comments) and each
/// promotion happens once.
#[test]
fn r7_deliveries_while_the_server_is_down_are_not_lost() {
    let (_rt, mut s, _dir) = support::serve::start();
    push(&s, "push-1");
    s.wait_for("the dev PR", |f| f.state.lock().unwrap().prs.len() == 1);
    s.pass_check(1);
    s.merged_and_synced(1);

    s.kill();
    let newer = format!("sha256:{}", "ef".repeat(32));
    s.forge.state.lock().unwrap().ecr_images.insert(
        "my-app-service1".into(),
        vec![
            ("v1.4.0".into(), digest(), 1_796_500_000),
            ("v1.4.1".into(), newer.clone(), 1_796_600_000),
        ],
    );
    let refused = |s: &Server| std::net::TcpStream::connect(s.addr).is_err();
    let push_refused = refused(&s);
    support::memory_forge::post_as(&s.forge, 1, &user(10, "quinn"), "/promote uat");
    let comment_refused = refused(&s);
    s.restart();

    s.wait_for("the uat PR and the new dev PR", |f| {
        f.state.lock().unwrap().prs.len() == 3
    });
    s.wait_for("the answer to /promote uat", |f| {
        f.state
            .lock()
            .unwrap()
            .comments
            .iter()
            .any(|(n, c)| *n == 1 && c.body.contains("🚀 Opened #"))
    });
    let titles: std::collections::BTreeSet<String> = (2..=3).map(|n| s.forge.pr(n).title).collect();
    let answers = s
        .forge
        .state
        .lock()
        .unwrap()
        .comments
        .iter()
        .filter(|(n, c)| *n == 1 && c.body.contains("🚀 Opened #"))
        .count();
    // A line of its own: the test harness's name line does not end before a test's output.
    println!(
        "\n| delivery while down | connection refused | promotion after restart |\n|---|---|---|"
    );
    println!(
        "| ECR push of v1.4.1 | {push_refused} | {} |",
        titles.contains("Promote my-app-service1 v1.4.1 to dev")
    );
    println!(
        "| `/promote uat` on merged #1 | {comment_refused} | {} |",
        titles.contains("Promote my-app-service1 v1.4.0 to uat")
    );
    assert!(push_refused && comment_refused);
    assert_eq!(
        titles,
        [
            "Promote my-app-service1 v1.4.0 to uat".to_owned(),
            "Promote my-app-service1 v1.4.1 to dev".to_owned()
        ]
        .into()
    );
    assert_eq!(answers, 1, "answered once");
    assert_eq!(
        s.forge.state.lock().unwrap().prs.len(),
        3,
        "and nothing else"
    );
}

/// One row of the fault matrix.
struct FaultRow {
    fault: &'static str,
    deliveries: usize,
    answered: usize,
    completed: usize,
    prs: usize,
    merges: usize,
    verified: usize,
}

/// A dev promotion (push, check, merge, Argo CD's sync) through `s`, with `during` called
/// before step `at` (0: the push, 1: the check, 2: the merge's webhook) to break something,
/// and `after` once that step's delivery is sent, to mend it. A delivery counts as
/// answered when it was stored (2xx).
fn promotion_under(
    s: &mut Server,
    fault: &'static str,
    at: usize,
    during: &mut dyn FnMut(&mut Server),
    after: &mut dyn FnMut(&mut Server),
    within: Duration,
) -> FaultRow {
    let mut answered = 0;
    for step in 0..3 {
        if step == at {
            during(s);
        }
        let sent = s.deliveries;
        answered += match step {
            0 => {
                let event =
                    support::serve::ecr_event("my-app-service1", "v1.4.0", &digest(), "push-1");
                let st = request(
                    s.addr,
                    "/webhooks/eventbridge",
                    &[("x-hoist-token", "eb-token".into())],
                    event.as_bytes(),
                );
                usize::from((200..300).contains(&st))
            }
            1 => {
                s.pass_check(1);
                usize::from(s.deliveries > sent)
            }
            _ => {
                s.synced(1);
                usize::from(s.deliveries > sent)
            }
        };
        if step == at {
            after(s);
        }
        match step {
            0 => s.wait_for_within("the dev PR", within, |f| {
                f.state.lock().unwrap().prs.len() == 1
            }),
            1 => s.wait_for_within("the merge", within, |f| f.pr(1).state == PrState::Merged),
            _ => {}
        }
    }
    let verified = |f: &support::memory_forge::MemoryForge| {
        f.state
            .lock()
            .unwrap()
            .comments
            .iter()
            .filter(|(n, c)| *n == 1 && c.body.starts_with("✅ Verified in **dev**"))
            .count()
    };
    s.wait_for_within("the verification", within, |f| verified(f) == 1);
    let verified = verified(&s.forge);
    let st = s.forge.state.lock().unwrap();
    FaultRow {
        fault,
        deliveries: 3,
        answered,
        completed: usize::from(st.merged() == 1),
        prs: st.prs.len(),
        merges: st.merge_calls(),
        verified,
    }
}

/// An outage of what `proxy` stands in front of: one closure that starts it, one that
/// ends it once Hoist has been refused at least twice, `outage` apart or more (so it
/// tried, waited and tried again), and not before.
fn outage_of(
    down: &std::sync::Arc<std::sync::atomic::AtomicBool>,
    proxy: &support::proxy::Proxy,
    outage: Duration,
    within: Duration,
) -> (impl FnMut(&mut Server), impl FnMut(&mut Server)) {
    use std::sync::atomic::Ordering;
    let began = std::sync::Arc::new(std::sync::Mutex::new(std::time::Instant::now()));
    let (d1, d2, b1, b2, proxy) = (
        down.clone(),
        down.clone(),
        began.clone(),
        began,
        proxy.clone(),
    );
    (
        move |_: &mut Server| {
            *b1.lock().unwrap() = std::time::Instant::now();
            d1.store(true, Ordering::SeqCst)
        },
        move |_: &mut Server| {
            let began = *b2.lock().unwrap();
            proxy.wait_until("Hoist refused through the outage", within, |log| {
                let refused: Vec<_> = log
                    .iter()
                    .filter(|e| e.status == 502 && e.start >= began)
                    .collect();
                refused.len() >= 2
                    && refused
                        .last()
                        .is_some_and(|e| e.start.duration_since(began) >= outage)
            });
            d2.store(false, Ordering::SeqCst)
        },
    )
}

/// A dev promotion while the store refuses writes, from what `refuse` does to the server
/// (given its store's path) until what it returns mends it: the push sent meanwhile is
/// answered 503, never 2xx for what is not stored, and `/readyz` turns 503; the sender's
/// redelivery once the store takes writes again goes through.
fn refused_then_redelivered(
    fault: &'static str,
    within: Duration,
    refuse: impl FnOnce(&Server, &std::path::Path) -> Box<dyn FnOnce()>,
) -> FaultRow {
    let (_rt, mut s, dir) = support::serve::start();
    let mend = refuse(&s, &dir.path().join("hoist.db"));
    let event = support::serve::ecr_event("my-app-service1", "v1.4.0", &digest(), "push-1");
    let st = request(
        s.addr,
        "/webhooks/eventbridge",
        &[("x-hoist-token", "eb-token".into())],
        event.as_bytes(),
    );
    assert_eq!(
        st, 503,
        "{fault}: a delivery not stored is never answered 2xx"
    );
    // `/readyz` probes at most once a second: the answer turns within one.
    let addr = s.addr;
    s.wait_for_within("/readyz answers 503", Duration::from_secs(10), |_| {
        support::serve::get(addr, "/readyz").is_some_and(|(status, _)| status == 503)
    });
    mend();
    let mut row = promotion_under(&mut s, fault, 0, &mut |_| {}, &mut |_| {}, within);
    row.deliveries += 1;
    row
}

/// Sets the file-size limit of process `pid` (`soft:hard`, in bytes).
fn fsize(pid: u32, limit: &str) {
    let st = std::process::Command::new("prlimit")
        .args(["--pid", &pid.to_string(), &format!("--fsize={limit}")])
        .status()
        .unwrap();
    assert!(st.success(), "prlimit --fsize={limit}");
}

/// R8, the fault matrix: a dev promotion through the real `hoist serve` while one thing
/// is broken, and mended. For each: deliveries answered (stored), promotions completed,
/// duplicates (0) and lost (0). Outages last 3 s in CI and 60 s in `bench/faults`.
#[test]
fn r8_fault_matrix() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use support::proxy::{Mode, Proxy};
    let full = std::env::var_os("HOIST_BENCH_FULL").is_some();
    let outage = Duration::from_secs(if full { 60 } else { 3 });
    let within = outage + Duration::from_secs(if full { 120 } else { 60 });
    let mut rows = vec![];

    // GitHub (behind the proxy) answers 502 from the start, and for `outage` mid-run.
    for (fault, at) in [
        ("GitHub unreachable at start", 0),
        ("GitHub unreachable mid-run", 1),
    ] {
        let down = Arc::new(AtomicBool::new(false));
        let holder = Arc::new(std::sync::Mutex::new(None));
        let (d, h) = (down.clone(), holder.clone());
        let (_rt, mut s, _dir) = support::serve::start_with(move |url| {
            let p = tokio::runtime::Handle::current().block_on(Proxy::start(url, Mode::Down(d)));
            let u = p.url.clone();
            *h.lock().unwrap() = Some(p);
            u
        });
        let proxy: Proxy = holder.lock().unwrap().clone().unwrap();
        if at == 0 {
            // Down before the server starts: it must listen and store all the same.
            s.kill();
            down.store(true, Ordering::SeqCst);
            s.restart_unconnected();
        }
        let (mut fail, mut mend) = outage_of(&down, &proxy, outage, within);
        rows.push(promotion_under(
            &mut s, fault, at, &mut fail, &mut mend, within,
        ));
    }

    // Argo CD answers 502 while the merge's verification begins.
    {
        let down = Arc::new(AtomicBool::new(false));
        let holder = Arc::new(std::sync::Mutex::new(None));
        let (d, h, h2) = (down.clone(), holder.clone(), holder.clone());
        let (_rt, mut s, _dir) = support::serve::start_custom(
            move |url| {
                let p = tokio::runtime::Handle::current()
                    .block_on(Proxy::start(url.clone(), Mode::Down(d)));
                *h.lock().unwrap() = Some((url.clone(), p));
                url
            },
            move |cfg| {
                let (fake, proxy) = h2.lock().unwrap().clone().unwrap();
                cfg.replacen(
                    &format!("\n  url: {fake}\n"),
                    &format!("\n  url: {}\n", proxy.url),
                    1,
                )
            },
        );
        let proxy = holder.lock().unwrap().clone().unwrap().1;
        let (mut fail, mut mend) = outage_of(&down, &proxy, outage, within);
        rows.push(promotion_under(
            &mut s,
            "Argo CD unreachable",
            2,
            &mut fail,
            &mut mend,
            within,
        ));
    }

    // ECR cannot be reached at all: only reconcile reads it; the push's event carries
    // what it needs.
    {
        let (_rt, mut s, _dir) = support::serve::start();
        s.kill();
        s.forge.state.lock().unwrap().served_at = Some("http://127.0.0.1:9".into());
        s.restart();
        rows.push(promotion_under(
            &mut s,
            "ECR unreachable",
            0,
            &mut |_| {},
            &mut |_| {},
            within,
        ));
    }

    // The installation token stops working mid-run: the next call is answered 401.
    {
        let (_rt, mut s, _dir) = support::serve::start();
        rows.push(promotion_under(
            &mut s,
            "installation token expires mid-run",
            1,
            &mut |s| {
                s.forge.state.lock().unwrap().answer_next =
                    Some((401, r#"{"message":"Bad credentials"}"#))
            },
            &mut |_| {},
            within,
        ));
    }

    // The SQLite store refuses writes: another process holds it locked past Hoist's busy
    // timeout.
    rows.push(refused_then_redelivered(
        "SQLite store refuses writes (locked), then redelivered",
        within,
        |_, db| {
            let lock = rusqlite::Connection::open(db).unwrap();
            lock.execute_batch("BEGIN EXCLUSIVE").unwrap();
            Box::new(move || lock.execute_batch("ROLLBACK").unwrap())
        },
    ));

    // The disk fills: no file of Hoist's may grow (its file-size limit lowered to one
    // byte, so every write fails as on a full disk, its log included).
    rows.push(refused_then_redelivered(
        "disk full (no file may grow), then redelivered",
        within,
        |s, _| {
            let pid = s.child.id();
            fsize(pid, "1:unlimited");
            Box::new(move || fsize(pid, "unlimited:unlimited"))
        },
    ));

    println!(
        "\n| fault ({} s outages) | deliveries answered | promotions completed | duplicates | lost |\n|---|---|---|---|---|",
        outage.as_secs()
    );
    for r in &rows {
        let duplicates = (r.prs - 1) + (r.merges - 1) + (r.verified - 1);
        println!(
            "| {} | {} of {} | {} of 1 | {} | {} |",
            r.fault,
            r.answered,
            r.deliveries,
            r.completed,
            duplicates,
            1 - r.completed
        );
    }
    for r in &rows {
        // Every delivery stored, but the one the locked store refused (answered 503).
        let refused = usize::from(r.fault.starts_with("SQLite") || r.fault.starts_with("disk"));
        assert_eq!(
            (
                r.answered + refused,
                r.completed,
                r.prs,
                r.merges,
                r.verified
            ),
            (r.deliveries, 1, 1, 1, 1),
            "{}",
            r.fault
        );
    }
}
