//! The AWS Lambda Runtime API (2018-06-01) as a test server: the handful of endpoints a
//! custom runtime talks to. `GET /runtime/invocation/next` long-polls for the next event
//! and hands it out with the documented headers; the function posts each result to
//! `/runtime/invocation/{id}/response` or `/error`, and a failed start to
//! `/runtime/init/error`.

#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::Value;

#[derive(Default)]
pub struct Runtime {
    pending: VecDeque<(String, Value)>,
    pub responses: HashMap<String, Value>,
    pub errors: HashMap<String, Value>,
    pub init_error: Option<Value>,
    /// Its `Lambda-Runtime-Function-Error-Type` header, which the runtime API documents as
    /// optional.
    pub init_error_type: Option<String>,
    /// How many times the function asked for work: one per invocation, plus the poll
    /// it waits in.
    pub polls: usize,
    next: u64,
}

#[derive(Clone)]
pub struct RuntimeApi {
    /// `host:port`, as `AWS_LAMBDA_RUNTIME_API` carries it.
    pub addr: String,
    pub state: Arc<Mutex<Runtime>>,
}

type S = Arc<Mutex<Runtime>>;

async fn next(State(s): State<S>) -> impl IntoResponse {
    s.lock().unwrap().polls += 1;
    loop {
        if let Some((id, payload)) = s.lock().unwrap().pending.pop_front() {
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis()
                + 30_000;
            return (
                [
                    ("lambda-runtime-aws-request-id", id),
                    ("lambda-runtime-deadline-ms", deadline.to_string()),
                    (
                        "lambda-runtime-invoked-function-arn",
                        "arn:aws:lambda:us-east-1:123456789012:function:hoist".to_owned(),
                    ),
                    (
                        "lambda-runtime-trace-id",
                        "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700".to_owned(),
                    ),
                    ("content-type", "application/json".to_owned()),
                ],
                payload.to_string(),
            );
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn json(b: &Bytes) -> Value {
    serde_json::from_slice(b).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(b).into()))
}

async fn response(State(s): State<S>, Path(id): Path<String>, b: Bytes) -> StatusCode {
    s.lock().unwrap().responses.insert(id, json(&b));
    StatusCode::ACCEPTED
}

async fn error(State(s): State<S>, Path(id): Path<String>, b: Bytes) -> StatusCode {
    s.lock().unwrap().errors.insert(id, json(&b));
    StatusCode::ACCEPTED
}

async fn init_error(State(s): State<S>, headers: HeaderMap, b: Bytes) -> StatusCode {
    let mut s = s.lock().unwrap();
    s.init_error = Some(json(&b));
    s.init_error_type = headers
        .get("Lambda-Runtime-Function-Error-Type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    StatusCode::ACCEPTED
}

impl RuntimeApi {
    pub async fn start() -> Self {
        let state: S = Arc::default();
        let app = axum::Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { addr, state }
    }

    /// Queues an invocation; its request id.
    pub fn invoke(&self, payload: Value) -> String {
        let mut s = self.state.lock().unwrap();
        s.next += 1;
        let id = format!("req-{}", s.next);
        s.pending.push_back((id.clone(), payload));
        id
    }

    /// The function's answer to invocation `id`: its response, or its error report.
    pub fn wait(&self, id: &str, timeout: Duration) -> Result<Value, Value> {
        let start = Instant::now();
        while start.elapsed() < timeout {
            {
                let s = self.state.lock().unwrap();
                if let Some(r) = s.responses.get(id) {
                    return Ok(r.clone());
                }
                if let Some(e) = s.errors.get(id) {
                    return Err(e.clone());
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("no answer to invocation {id} within {timeout:?}");
    }

    pub fn wait_init_error(&self, timeout: Duration) -> Value {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if let Some(e) = self.state.lock().unwrap().init_error.clone() {
                return e;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("no init error within {timeout:?}");
    }
}
