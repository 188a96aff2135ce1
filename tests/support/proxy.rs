//! An HTTP proxy in front of the GitHub fake for the proof harness: it adds latency to
//! every call, or fails a seeded share of them the way GitHub fails (500, 502, 429 and the
//! secondary-rate-limit 403, the last two with `Retry-After`), and logs every request with
//! its timing.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Response, Uri};
use http_body_util::BodyExt;

#[derive(Debug, Clone)]
pub enum Mode {
    Latency(Duration),
    /// Passes calls through while the switch is off; while it is on, answers every call
    /// 502, as a load balancer in front of a service that cannot be reached does.
    Down(Arc<std::sync::atomic::AtomicBool>),
    /// Fails `percent` of calls, cycling through the four kinds, from `seed`.
    Faults {
        percent: u64,
        seed: u64,
    },
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub method: String,
    pub path: String,
    pub start: Instant,
    pub end: Instant,
    pub status: u16,
    pub retry_after: Option<u64>,
}

#[derive(Clone)]
pub struct Proxy {
    pub url: String,
    pub log: Arc<Mutex<Vec<Entry>>>,
    /// Rung after each logged call: what tests wait on.
    logged: Arc<std::sync::Condvar>,
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64: deterministic, so a failing run can be replayed with its seed.
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn fault(kind: u64) -> Response<Body> {
    let (status, retry_after, body) = match kind % 4 {
        0 => (500, None, r#"{"message":"Server Error"}"#),
        1 => (502, None, r#"{"message":"Bad Gateway"}"#),
        2 => (429, Some(1), r#"{"message":"API rate limit exceeded"}"#),
        _ => (
            403,
            Some(1),
            r#"{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}"#,
        ),
    };
    let mut r = Response::builder()
        .status(status)
        .header("content-type", "application/json");
    if let Some(s) = retry_after {
        r = r.header("retry-after", s.to_string());
    }
    r.body(Body::from(body)).unwrap()
}

impl Proxy {
    pub async fn start(upstream: String, mode: Mode) -> Self {
        let log: Arc<Mutex<Vec<Entry>>> = Arc::default();
        let rng = Arc::new(Mutex::new(Rng(match mode {
            Mode::Faults { seed, .. } => seed.max(1),
            Mode::Latency(_) | Mode::Down(_) => 1,
        })));
        let client: hyper_util::client::legacy::Client<_, Body> =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http();
        let shared = log.clone();
        let logged: Arc<std::sync::Condvar> = Arc::default();
        let ring = logged.clone();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let (client, upstream, log, rng, mode, ring) = (
                    client.clone(),
                    upstream.clone(),
                    shared.clone(),
                    rng.clone(),
                    mode.clone(),
                    ring.clone(),
                );
                async move {
                    let start = Instant::now();
                    // A clone (of an Arc at most) per call: each call owns its mode.
                    let injected = match mode.clone() {
                        Mode::Latency(d) => {
                            tokio::time::sleep(d).await;
                            None
                        }
                        Mode::Faults { percent, .. } => {
                            let mut r = rng.lock().unwrap();
                            (r.next() % 100 < percent).then(|| r.next())
                        }
                        Mode::Down(down) => {
                            down.load(std::sync::atomic::Ordering::SeqCst).then_some(1)
                        }
                    };
                    let resp = match injected {
                        Some(kind) => fault(kind),
                        None => {
                            let mut req = axum::http::Request::builder()
                                .method(method.clone())
                                .uri(format!("{upstream}{}", uri.path_and_query().unwrap()));
                            for (k, v) in &headers {
                                if k != "host" {
                                    req = req.header(k, v);
                                }
                            }
                            let resp = client
                                .request(req.body(Body::from(body)).unwrap())
                                .await
                                .unwrap();
                            let (parts, body) = resp.into_parts();
                            let bytes = body.collect().await.unwrap().to_bytes();
                            Response::from_parts(parts, Body::from(bytes))
                        }
                    };
                    log.lock().unwrap().push(Entry {
                        method: method.to_string(),
                        path: uri.path().to_owned(),
                        start,
                        end: Instant::now(),
                        status: resp.status().as_u16(),
                        retry_after: resp
                            .headers()
                            .get("retry-after")
                            .and_then(|v| v.to_str().ok()?.parse().ok()),
                    });
                    ring.notify_all();
                    resp
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, log, logged }
    }

    /// Waits until `cond` holds of the log, woken by each call; fails the test after
    /// `within`.
    pub fn wait_until(&self, what: &str, within: Duration, cond: impl Fn(&[Entry]) -> bool) {
        let guard = self.log.lock().unwrap();
        let (log, _) = self
            .logged
            .wait_timeout_while(guard, within, |l| !cond(l))
            .unwrap();
        assert!(cond(&log), "timed out waiting for {what}");
    }

    pub fn take(&self) -> Vec<Entry> {
        std::mem::take(&mut self.log.lock().unwrap())
    }
}

/// Sequential round trips in a log: a call that starts after every call before it has
/// ended begins a new round trip; calls that overlap share one.
pub fn round_trips(entries: &[Entry]) -> usize {
    let mut sorted: Vec<&Entry> = entries.iter().collect();
    sorted.sort_by_key(|e| e.start);
    let mut trips = 0;
    let mut phase_end: Option<Instant> = None;
    for e in sorted {
        match phase_end {
            Some(end) if e.start < end => phase_end = Some(end.max(e.end)),
            _ => {
                trips += 1;
                phase_end = Some(e.end);
            }
        }
    }
    trips
}
