//! A webhook receiver on loopback for notification tests, and the queue's workers to
//! deliver to it.

#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use hoist::worker::{Queue, RetryPolicy};

use super::tester::{Side, Tester};

/// A webhook receiver on loopback, one for the test binary (the URLs reach Hoist through
/// its environment overlay, set once): each test posts to its own path, which answers
/// the statuses scripted for it, then 200.
pub struct Receiver {
    pub got: Mutex<Vec<(String, u16, serde_json::Value)>>,
    pub script: Mutex<HashMap<String, VecDeque<u16>>>,
    pub arrived: tokio::sync::Notify,
}

static ADDR: OnceLock<std::net::SocketAddr> = OnceLock::new();

/// Where `hook` receives.
pub fn url(hook: &str) -> String {
    receiver();
    format!("http://{}/{hook}", ADDR.get().unwrap())
}

pub fn receiver() -> &'static Arc<Receiver> {
    static R: OnceLock<Arc<Receiver>> = OnceLock::new();
    R.get_or_init(|| {
        let r = Arc::new(Receiver {
            got: Mutex::default(),
            script: Mutex::default(),
            arrived: tokio::sync::Notify::new(),
        });
        let (tx, rx) = std::sync::mpsc::channel();
        let served = r.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(async move {
                let app = axum::Router::new().route(
                    "/{hook}",
                    axum::routing::post(
                        move |axum::extract::Path(hook): axum::extract::Path<String>,
                              axum::Json(body): axum::Json<serde_json::Value>| {
                            let r = served.clone();
                            async move {
                                let status = r
                                    .script
                                    .lock()
                                    .unwrap()
                                    .get_mut(&hook)
                                    .and_then(VecDeque::pop_front)
                                    .unwrap_or(200);
                                r.got.lock().unwrap().push((hook, status, body));
                                r.arrived.notify_waiters();
                                axum::http::StatusCode::from_u16(status).unwrap()
                            }
                        },
                    ),
                );
                let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(l.local_addr().unwrap()).unwrap();
                axum::serve(l, app).await.unwrap();
            });
        });
        let addr = rx.recv().unwrap();
        ADDR.set(addr).unwrap();
        hoist::env::overlay(
            ["HOOK_JSON", "HOOK_SLACK", "HOOK_CC"]
                .iter()
                .map(|v| (v.to_string(), format!("http://{addr}/{v}")))
                .collect(),
        );
        r
    })
}

impl Receiver {
    /// What `hook` received, in order: the status it answered and the body.
    pub fn got(&self, hook: &str) -> Vec<(u16, serde_json::Value)> {
        let got = self.got.lock().unwrap();
        got.iter()
            .filter(|(h, _, _)| h == hook)
            .map(|(_, s, b)| (*s, b.clone()))
            .collect()
    }

    /// What `hook` received, a line each: the status it answered, the event and the
    /// summary of a JSON notice.
    pub fn summaries(&self, hook: &str) -> String {
        self.got(hook)
            .iter()
            .map(|(s, b)| format!("{s} {} {}", b["event"], b["summary"]))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Waits until `hook` has received `n` requests.
    pub async fn wait_for(&self, hook: &str, n: usize) {
        tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                let arrived = self.arrived.notified();
                if self.got(hook).len() >= n {
                    return;
                }
                arrived.await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{hook} got {:?}", self.got(hook)));
    }
}

/// The queue's workers on the tester's store, until stopped.
pub fn workers<S: Side>(t: &Tester<S>) -> Workers {
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let queue = Queue {
        store: t.engine.store.clone(),
        wake: Arc::new(tokio::sync::Notify::new()),
    };
    let policy = RetryPolicy {
        max_attempts: 4,
        base: Duration::from_secs(2),
        cap: Duration::from_secs(10),
    };
    let task = tokio::spawn(hoist::worker::run(
        queue,
        t.engine.clone(),
        policy,
        shutdown,
    ));
    Workers { stop, task }
}

/// The workers `workers` started.
pub struct Workers {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Workers {
    /// Stops them once the event in hand is done, and waits until they have.
    pub async fn stop(self) {
        self.stop.send(true).unwrap();
        self.task.await.unwrap();
    }
}

/// The queue's notification rows: key and status, with the error of a failed one.
pub async fn notify_rows<S: Side>(t: &Tester<S>) -> String {
    let rows = t.engine.store.rows().await.unwrap();
    rows.iter()
        .filter(|r| r.kind == "notify")
        .map(|r| format!("{} {} {:?}", r.dedupe_key, r.status, r.last_error))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The notification rows once none is pending or running: the workers recorded what the
/// receiver answered.
pub async fn settled_rows<S: Side>(t: &Tester<S>) -> String {
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let rows = notify_rows(t).await;
            if !rows.contains(" running ") && !rows.contains(" pending ") {
                return rows;
            }
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the notifications settle")
}
