//! moto's server (`moto_server`, from PyPI), started on a free loopback port for one test
//! and stopped with it, and an AWS configuration pointed at it.

#![allow(dead_code)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region};
use aws_sdk_ecr::config::Credentials;

pub struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub async fn moto() -> (Kill, aws_config::SdkConfig) {
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

/// A digest made of `seed`, repeated.
pub fn digest(seed: &str) -> String {
    format!("sha256:{}", seed.repeat(64).get(..64).unwrap())
}

/// Pushes an image tagged `tag` to moto's repository `repo`, with the digest `seed`
/// makes: moto computes digests wrongly, so it is passed as `imageDigest`.
pub async fn push(conf: &aws_config::SdkConfig, repo: &str, tag: &str, seed: &str) {
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
