//! The engine with its real HTTP ports (the GitHub adapter, the Argo CD client) pointed
//! at the GitHub fake, on the example config with Argo CD's health debounce off.

#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hoist::argocd::ArgoClient;
use hoist::config::Config;
use hoist::engine::Engine;
use hoist::forge::github::{Auth, GitHub};
use hoist::registry::NoRegistry;
use hoist::store::Store;

pub type HttpEngine = Engine<GitHub, ArgoClient, NoRegistry>;

pub fn example_config() -> Config {
    let text = std::fs::read_to_string("config/hoist.example.yaml")
        .unwrap()
        .replace(
            "token_env: ARGOCD_TOKEN",
            "token_env: ARGOCD_TOKEN\n  health_debounce_seconds: 0",
        );
    Config::parse(&text, "hoist.yaml").unwrap()
}

pub async fn http_engine(url: &str, db: &Path, write_interval: Duration, auth: Auth) -> HttpEngine {
    let github = GitHub::connect(
        url,
        "acme",
        "gitops",
        "main",
        "squash",
        write_interval,
        auth,
    )
    .await
    .unwrap();
    // As `hoist serve` runs it.
    github.as_sole_writer();
    Engine {
        config: Arc::new(example_config()),
        forge: github,
        argocd: ArgoClient::new(url, "argocd-token".into()).unwrap(),
        registry: NoRegistry,
        store: Store::open(db).unwrap(),
        repo_name: "acme/gitops".into(),
    }
}
