//! Test support shared by the integration tests.

pub mod aws_query;
pub mod codecommit_fake;
pub mod github_fake;
pub mod http_engine;
pub mod lambda_runtime;
pub mod matrix;
pub mod memory_forge;
pub mod moto;
pub mod proxy;
pub mod receiver;
pub mod serve;
pub mod served;
pub mod targets;
pub mod tester;

/// The runtime a synchronous test drives its fakes on: two workers, as the machine has.
#[allow(dead_code)]
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// The environment a `hoist` process needs for AWS against the GitHub fake at
/// `served_at` (which answers ECR too), with credentials it can check are present.
#[allow(dead_code)]
pub fn aws_env(served_at: &str) -> [(&'static str, String); 5] {
    [
        ("AWS_ENDPOINT_URL", served_at.to_owned()),
        ("AWS_ACCESS_KEY_ID", "AKIAFAKE".into()),
        ("AWS_SECRET_ACCESS_KEY", "fake".into()),
        ("AWS_REGION", "us-east-1".into()),
        // Tests never reach past loopback: no EC2 metadata lookups for credentials.
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
    ]
}
