//! The baseline for `bench/ingest`: an axum handler that answers 200 to any POST and
//! does nothing else, so Hoist's durable ingest is measured against the bare stack.

use axum::Router;
use axum::routing::post;

#[tokio::main]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18081".into());
    let app = Router::new().route(
        "/webhooks/github",
        post(|_body: axum::body::Bytes| async { "ok" }),
    );
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
    axum::serve(listener, app).await.expect("serve");
}
