//! The durable queue with test handlers: retries with backoff, permanent failures, one
//! event at a time per serial key, recovery of interrupted events, pruning, migrations.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use hoist::clock::Clock;
use hoist::event::Event;
use hoist::store::{Inserted, NewEvent, Store};
use hoist::worker::{self, Handler, HandlerError, Queue, RetryPolicy};
use tokio::sync::{Notify, watch};

fn event(n: u32, key: &str) -> NewEvent {
    let ev = Event::ImagePushed {
        image: format!("reg/{key}"),
        tag: format!("v{n}"),
        digest: format!("sha256:{n:064}"),
        time: "2026-11-26T10:00:00Z".into(),
    };
    NewEvent {
        dedupe_key: format!("test:{key}:{n}"),
        serial_key: key.into(),
        kind: ev.kind().into(),
        payload: serde_json::to_string(&ev).unwrap(),
    }
}

/// Records what it handled; fails each event its first `fail_times` attempts.
struct Flaky {
    fail_times: u32,
    permanent: bool,
    seen: Mutex<Vec<String>>,
    running: Mutex<Vec<String>>,
    overlap: Mutex<bool>,
    hold: Duration,
}

impl Flaky {
    fn new(fail_times: u32) -> Arc<Self> {
        Arc::new(Self {
            fail_times,
            permanent: false,
            seen: Mutex::new(vec![]),
            running: Mutex::new(vec![]),
            overlap: Mutex::new(false),
            hold: Duration::ZERO,
        })
    }
}

impl Handler for Flaky {
    async fn handle(&self, event: Event) -> Result<(), HandlerError> {
        let Event::ImagePushed { image, tag, .. } = event else {
            panic!("test events are pushes")
        };
        let id = format!("{image}:{tag}");
        {
            let mut running = self.running.lock().unwrap();
            if running.iter().any(|r| r.starts_with(&format!("{image}:"))) {
                *self.overlap.lock().unwrap() = true;
            }
            running.push(id.clone());
        }
        tokio::time::sleep(self.hold).await;
        self.running.lock().unwrap().retain(|r| r != &id);
        let mut seen = self.seen.lock().unwrap();
        let tries = seen.iter().filter(|s| **s == id).count() as u32;
        seen.push(id.clone());
        match (tries < self.fail_times, self.permanent) {
            (true, false) => Err(HandlerError::Retryable(format!("try {}", tries + 1))),
            (true, true) => Err(HandlerError::Permanent("broken for good".into())),
            _ => Ok(()),
        }
    }
}

struct Running {
    queue: Queue,
    stop: watch::Sender<bool>,
    tasks: tokio::task::JoinSet<()>,
    _dir: Option<tempfile::TempDir>,
}

fn fast_policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base: Duration::from_millis(20),
        cap: Duration::from_millis(100),
    }
}

fn start<H: Handler>(
    store: Store,
    handler: Arc<H>,
    workers: usize,
    policy: RetryPolicy,
) -> Running {
    let queue = Queue {
        store,
        wake: Arc::new(Notify::new()),
    };
    let (stop, rx) = watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers {
        tasks.spawn(worker::run(
            queue.clone(),
            handler.clone(),
            policy,
            rx.clone(),
        ));
    }
    Running {
        queue,
        stop,
        tasks,
        _dir: None,
    }
}

async fn wait_until_settled(store: &Store) {
    for _ in 0..500 {
        let d = store.depth().await.unwrap();
        if d.pending == 0 && d.running == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "the queue did not settle: {:?}",
        store.rows().await.unwrap()
    );
}

fn temp_store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    (Store::open(&dir.path().join("q.db")).unwrap(), dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retryable_failures_are_retried_with_backoff_until_done() {
    let (store, dir) = temp_store();
    store.insert(event(1, "a")).await.unwrap();
    let h = Flaky::new(2);
    let mut r = start(store.clone(), h.clone(), 2, fast_policy());
    r._dir = Some(dir);
    r.queue.wake.notify_waiters();
    wait_until_settled(&store).await;
    let rows = store.rows().await.unwrap();
    assert_eq!((rows[0].status.as_str(), rows[0].attempts), ("done", 3));
    assert_eq!(h.seen.lock().unwrap().len(), 3);
    r.stop.send(true).unwrap();
    while r.tasks.join_next().await.is_some() {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_stop_at_the_limit_and_permanent_errors_at_once() {
    let (store, _dir) = temp_store();
    store.insert(event(1, "a")).await.unwrap();
    let h = Flaky::new(10);
    let r = start(store.clone(), h.clone(), 1, fast_policy());
    r.queue.wake.notify_waiters();
    wait_until_settled(&store).await;
    let row = &store.rows().await.unwrap()[0];
    assert_eq!((row.status.as_str(), row.attempts), ("failed", 4));
    assert_eq!(row.last_error.as_deref(), Some("try 4"));

    let (store, _dir2) = temp_store();
    store.insert(event(1, "b")).await.unwrap();
    let h = Arc::new(Flaky {
        permanent: true,
        ..Arc::into_inner(Flaky::new(1)).unwrap()
    });
    let r2 = start(store.clone(), h, 1, fast_policy());
    r2.queue.wake.notify_waiters();
    wait_until_settled(&store).await;
    let row = &store.rows().await.unwrap()[0];
    assert_eq!((row.status.as_str(), row.attempts), ("failed", 1));
    drop((r, r2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_event_at_a_time_per_key_in_order() {
    let (store, _dir) = temp_store();
    for n in 0..6 {
        store.insert(event(n, "same")).await.unwrap();
        store.insert(event(n, &format!("other{n}"))).await.unwrap();
    }
    let h = Arc::new(Flaky {
        hold: Duration::from_millis(15),
        ..Arc::into_inner(Flaky::new(0)).unwrap()
    });
    let r = start(store.clone(), h.clone(), 4, fast_policy());
    r.queue.wake.notify_waiters();
    wait_until_settled(&store).await;
    assert!(
        !*h.overlap.lock().unwrap(),
        "two events of one key ran at once"
    );
    let order: Vec<String> = h
        .seen
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.starts_with("reg/same:"))
        .cloned()
        .collect();
    assert_eq!(
        order,
        (0..6).map(|n| format!("reg/same:v{n}")).collect::<Vec<_>>()
    );
    assert_eq!(h.seen.lock().unwrap().len(), 12);
}

#[tokio::test]
async fn interrupted_events_are_taken_again_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.db");
    {
        let store = Store::open(&path).unwrap();
        store.insert(event(1, "a")).await.unwrap();
        let claimed = store.claim().await.unwrap().unwrap();
        assert_eq!(claimed.attempts, 1);
        assert_eq!(store.depth().await.unwrap().running, 1);
        // The process dies here: the event stays `running`.
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(store.recover().await.unwrap(), 1);
    let again = store.claim().await.unwrap().unwrap();
    assert_eq!((again.dedupe_key.as_str(), again.attempts), ("test:a:1", 2));
}

#[tokio::test]
async fn duplicates_pruning_and_depth() {
    let (store, _dir) = temp_store();
    let first = store.insert(event(1, "a")).await.unwrap();
    let again = store.insert(event(1, "a")).await.unwrap();
    assert!(matches!(first, Inserted::New(id) if again == Inserted::Duplicate(id)));
    let c = store.claim().await.unwrap().unwrap();
    store.complete(c.id).await.unwrap();
    assert_eq!(
        store.prune(store.now_ms() - 60_000).await.unwrap(),
        0,
        "recent events are kept"
    );
    assert_eq!(store.prune(store.now_ms() + 1).await.unwrap(), 1);
    assert_eq!(store.depth().await.unwrap(), Default::default());
}

#[tokio::test]
async fn concurrent_inserts_are_all_committed() {
    let (store, _dir) = temp_store();
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..500 {
        let s = store.clone();
        tasks.spawn(async move { s.insert(event(n, "k")).await.unwrap() });
    }
    let mut ids = vec![];
    while let Some(r) = tasks.join_next().await {
        match r.unwrap() {
            Inserted::New(id) => ids.push(id),
            d => panic!("unexpected {d:?}"),
        }
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 500);
    assert_eq!(store.depth().await.unwrap().pending, 500);
}

/// `/readyz` answers anyone, and each probe of the store is a commit with an fsync: a
/// burst of probes writes at most once a second, so a flood of `/readyz` cannot load the
/// disk that deliveries are stored on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_readiness_probes_writes_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.db");
    let store = Store::open(&path).unwrap();
    store.probe_write().await.unwrap();
    // Counts the probe's writes, from inside the database.
    let other = rusqlite::Connection::open(&path).unwrap();
    other
        .execute_batch(
            "CREATE TABLE probes (n INTEGER NOT NULL); INSERT INTO probes VALUES (0);
             CREATE TRIGGER probed AFTER UPDATE ON write_probe
             BEGIN UPDATE probes SET n = n + 1; END;",
        )
        .unwrap();
    let probes: Vec<_> = (0..100)
        .map(|_| {
            let s = store.clone();
            tokio::spawn(async move { s.probe_write().await })
        })
        .collect();
    for p in probes {
        p.await.unwrap().unwrap();
    }
    let written: i64 = other
        .query_row("SELECT n FROM probes", [], |r| r.get(0))
        .unwrap();
    assert!(written <= 1, "{written} writes for 100 probes");
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.db");
    drop(Store::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let err = Store::open(&path).err().unwrap().to_string();
    assert!(
        err.contains("schema version 99, newer than this Hoist"),
        "{err}"
    );
}

/// Hides the events table for a moment, after the first event is handled and before its
/// outcome is written, as a store refusing writes would.
struct Sabotage {
    db: std::path::PathBuf,
    seen: Mutex<Vec<String>>,
}

impl Handler for Sabotage {
    async fn handle(&self, event: Event) -> Result<(), HandlerError> {
        let Event::ImagePushed { tag, .. } = event else {
            panic!("test events are pushes")
        };
        let first = self.seen.lock().unwrap().is_empty();
        self.seen.lock().unwrap().push(tag);
        if first {
            let c = rusqlite::Connection::open(&self.db).unwrap();
            c.execute_batch("ALTER TABLE events RENAME TO events_away")
                .unwrap();
            let db = self.db.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(400));
                rusqlite::Connection::open(db)
                    .unwrap()
                    .execute_batch("ALTER TABLE events_away RENAME TO events")
                    .unwrap();
            });
        }
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outcome_the_store_refuses_is_written_later_and_the_key_moves_on() {
    let (store, dir) = temp_store();
    store.insert(event(1, "a")).await.unwrap();
    store.insert(event(2, "a")).await.unwrap();
    let h = Arc::new(Sabotage {
        db: dir.path().join("q.db"),
        seen: Mutex::new(vec![]),
    });
    let r = start(store.clone(), h.clone(), 1, fast_policy());
    r.queue.wake.notify_waiters();
    let mut rows = vec![];
    for _ in 0..500 {
        // Reads fail too while the table is away.
        if let Ok(now) = store.rows().await {
            rows = now;
            if rows.iter().all(|r| r.status == "done") {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let got: Vec<_> = rows
        .iter()
        .map(|r| (r.status.as_str(), r.attempts))
        .collect();
    assert_eq!(
        got,
        [("done", 1), ("done", 1)],
        "the refused outcome was written later, without running the event again, and the \
         next event of the key ran without a restart"
    );
    assert_eq!(*h.seen.lock().unwrap(), ["v1", "v2"]);
    drop(r);
}

/// Waits once until a known instant, then succeeds. Its first try stops at a barrier
/// (`entered`, then `go`), so the test can watch for what the worker does after it.
struct WaitsUntil {
    at: i64,
    seen: Mutex<Vec<i64>>,
    entered: Notify,
    go: Notify,
}

impl Handler for WaitsUntil {
    async fn handle(&self, _: Event) -> Result<(), HandlerError> {
        let first = {
            let mut seen = self.seen.lock().unwrap();
            seen.push(Clock::System.now_ms());
            seen.len() == 1
        };
        if !first {
            return Ok(());
        }
        self.entered.notify_one();
        self.go.notified().await;
        Err(HandlerError::WaitingUntil("debounce".into(), self.at))
    }
}

/// A handler waiting for a known instant (the end of Argo CD's health debounce) is tried
/// again at that instant, not after a backoff: the event is due exactly then, and marked
/// as a wait, not a failure. The backoff here would be ten minutes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wait_for_a_known_instant_is_scheduled_for_it() {
    let (store, _dir) = temp_store();
    store.insert(event(1, "a")).await.unwrap();
    let at = store.now_ms() + 300;
    let h = Arc::new(WaitsUntil {
        at,
        seen: Mutex::new(vec![]),
        entered: Notify::new(),
        go: Notify::new(),
    });
    // One attempt only: a wait for a known instant is not a failure, and does not spend
    // the attempts a failure would.
    let slow = RetryPolicy {
        max_attempts: 1,
        base: Duration::from_secs(600),
        cap: Duration::from_secs(600),
    };
    let r = start(store.clone(), h.clone(), 1, slow);
    r.queue.wake.notify_waiters();
    // After the first try is recorded the worker wakes the queue: that is the barrier.
    h.entered.notified().await;
    let recorded = r.queue.wake.notified();
    tokio::pin!(recorded);
    recorded.as_mut().enable();
    h.go.notify_one();
    recorded.await;
    // Due at the instant, marked as a wait.
    assert_eq!(store.next_ready_at().await.unwrap(), Some(at));
    let row = &store.rows().await.unwrap()[0];
    assert_eq!(row.last_error.as_deref(), Some("waiting: debounce"));
    wait_until_settled(&store).await;
    let seen = h.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    assert!(
        seen[1] >= at,
        "tried again before the instant it waited for"
    );
    r.stop.send(true).unwrap();
}

/// A wait stays out of its lane across a restart: the next event of its pull request runs
/// before it, as it did before the restart.
#[tokio::test]
async fn a_wait_stays_out_of_its_lane_after_a_restart() {
    let (store, dir) = temp_store();
    store.insert(event(1, "pr")).await.unwrap();
    let c = store.claim().await.unwrap().unwrap();
    store
        .wait(
            c.id,
            format!("{}debounce", worker::WAITING),
            store.now_ms() + 60_000,
        )
        .await
        .unwrap();
    store.insert(event(2, "pr")).await.unwrap();
    drop(store);
    let store = Store::open(&dir.path().join("q.db")).unwrap();
    store.recover().await.unwrap();
    let next = store.claim().await.unwrap().unwrap();
    assert_eq!(next.dedupe_key, "test:pr:2");
}
