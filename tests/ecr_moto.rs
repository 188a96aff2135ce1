//! The ECR registry client against moto's ECR (`moto_server`, from PyPI), through the
//! real `aws-sdk-ecr`: it lists what a repository holds, and reconcile turns a push
//! whose event never arrived into a dev pull request.
//!
//! moto computes digests wrongly, so the test passes `imageDigest` itself. Needs
//! `.venv/bin/moto_server` (the README's test command installs it).

mod support;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_ecr::config::{BehaviorVersion, Credentials, Region};
use hoist::engine::Engine;
use hoist::forge::PrState;
use hoist::registry::Registry;
use hoist::registry::ecr::Ecr;
use hoist::store::Store;
use support::memory_forge::{MemoryArgo, MemoryForge};

const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app-service1";

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn digest(seed: &str) -> String {
    format!("sha256:{}", seed.repeat(64).get(..64).unwrap())
}

async fn moto() -> (Kill, aws_config::SdkConfig) {
    let bin = std::path::Path::new(".venv/bin/moto_server");
    assert!(
        bin.exists(),
        "moto is not installed: run ./scripts/test (it installs moto[server] into .venv)"
    );
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Kill(
        Command::new(bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "moto_server did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let conf = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1))
        .load()
        .await;
    (child, conf)
}

async fn push(conf: &aws_config::SdkConfig, repo: &str, tag: &str, seed: &str) {
    let ecr = aws_sdk_ecr::Client::new(conf);
    let manifest = serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 7023, "digest": digest(seed)},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 32654, "digest": digest(&format!("{seed}0"))}]
    });
    ecr.put_image()
        .repository_name(repo)
        .image_manifest(manifest.to_string())
        .image_tag(tag)
        .image_digest(digest(seed))
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_registry_lists_tags_and_reconcile_catches_a_lost_push() {
    let (_moto, conf) = moto().await;
    let ecr = aws_sdk_ecr::Client::new(&conf);
    ecr.create_repository()
        .repository_name("my-app-service1")
        .send()
        .await
        .unwrap();
    push(&conf, "my-app-service1", "v1.3.2", "01").await;
    push(&conf, "my-app-service1", "v1.4.0", "a1").await;
    push(&conf, "my-app-service1", "v2.0.0", "cc").await;

    let registry = Ecr::new(conf.clone());
    let mut images = registry.images(IMAGE).await.unwrap();
    images.sort_by(|a, b| a.tag.cmp(&b.tag));
    let got: Vec<(&str, &str)> = images
        .iter()
        .map(|i| (i.tag.as_str(), i.digest.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("v1.3.2", digest("01").as_str()),
            ("v1.4.0", digest("a1").as_str()),
            ("v2.0.0", digest("cc").as_str())
        ]
    );
    assert!(images.iter().all(|i| !i.pushed_at.is_empty()));
    assert!(
        registry
            .images("123456789012.dkr.ecr.us-east-1.amazonaws.com/nope")
            .await
            .unwrap_err()
            .contains("RepositoryNotFound")
    );

    // No event ever came for these pushes: reconcile finds the newest the policy accepts.
    let dir = tempfile::tempdir().unwrap();
    let forge = MemoryForge::from_dir(std::path::Path::new("examples/gitops"));
    let engine = Engine {
        config: Arc::new(support::http_engine::example_config()),
        forge: forge.clone(),
        argocd: MemoryArgo::default(),
        registry,
        store: Store::open(&dir.path().join("h.db")).unwrap(),
        repo_name: "acme/gitops".into(),
    };
    let report = engine.reconcile().await.unwrap();
    assert_eq!(report.pushes, 1);
    let pr = forge.pr(1);
    assert_eq!(
        (pr.title.as_str(), pr.state),
        ("Promote my-app-service1 v1.4.0 to dev", PrState::Open)
    );
    assert!(
        forge
            .file_at(
                &pr.head_sha,
                "apps/my-app-service1/env/dev/kustomization.yaml"
            )
            .unwrap()
            .contains(&digest("a1"))
    );
}
