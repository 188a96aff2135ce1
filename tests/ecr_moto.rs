//! The ECR registry client against moto's ECR (`moto_server`, from PyPI), through the
//! real `aws-sdk-ecr`: it lists what a repository holds, and reconcile turns a push
//! whose event never arrived into a dev pull request.
//!
//! moto computes digests wrongly, so the test passes `imageDigest` itself. Needs
//! `.venv/bin/moto_server` (the README's test command installs it).

mod support;

use std::sync::Arc;

use hoist::engine::Engine;
use hoist::forge::PrState;
use hoist::registry::Registry;
use hoist::registry::ecr::Ecr;
use hoist::store::Store;
use support::memory_forge::{MemoryArgo, MemoryForge};
use support::moto::{digest, moto, push};

const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app-service1";

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
            .0
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

/// moto has no `GetDownloadUrlForLayer` (it raises NotImplementedError). This proxy
/// passes every other call to moto and answers that one as ECR documents it: a URL,
/// here its own, from which the blob's bytes download.
async fn with_blob_urls(
    moto: &aws_config::SdkConfig,
    blobs: Arc<std::sync::Mutex<std::collections::HashMap<String, Vec<u8>>>>,
) -> aws_config::SdkConfig {
    use axum::body::{Body, Bytes};
    use axum::http::{HeaderMap, Method, Uri};
    use http_body_util::BodyExt;

    let upstream = moto.endpoint_url().unwrap().to_owned();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let me = format!("http://{}", listener.local_addr().unwrap());
    let me2 = me.clone();
    let client: hyper_util::client::legacy::Client<_, Body> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build_http();
    let app = axum::Router::new().fallback(
        move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let (client, upstream, blobs, me) =
                (client.clone(), upstream.clone(), blobs.clone(), me2.clone());
            async move {
                if let Some(d) = uri.path().strip_prefix("/blobs/") {
                    let b = blobs.lock().unwrap().get(d).cloned();
                    return match b {
                        Some(b) => axum::http::Response::new(Body::from(b)),
                        None => axum::http::Response::builder()
                            .status(404)
                            .body(Body::empty())
                            .unwrap(),
                    };
                }
                let target = headers
                    .get("x-amz-target")
                    .and_then(|t| t.to_str().ok())
                    .unwrap_or_default();
                if target.ends_with(".GetDownloadUrlForLayer") {
                    let req: serde_json::Value = serde_json::from_slice(&body).unwrap();
                    let d = req["layerDigest"].as_str().unwrap().to_owned();
                    return axum::http::Response::new(Body::from(
                        serde_json::json!({"downloadUrl": format!("{me}/blobs/{d}"), "layerDigest": d})
                            .to_string(),
                    ));
                }
                let mut req = axum::http::Request::builder()
                    .method(method)
                    .uri(format!("{upstream}{}", uri.path_and_query().unwrap()));
                for (k, v) in &headers {
                    req = req.header(k, v);
                }
                let resp = client.request(req.body(Body::from(body)).unwrap()).await.unwrap();
                let (parts, body) = resp.into_parts();
                let bytes = body.collect().await.unwrap().to_bytes();
                axum::http::Response::from_parts(parts, Body::from(bytes))
            }
        },
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    moto.to_builder().endpoint_url(me).build()
}

fn sha(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn labels_come_from_the_image_config_single_and_multi_platform() {
    let (_moto, moto_conf) = moto().await;
    let blobs = Arc::new(std::sync::Mutex::new(std::collections::HashMap::new()));
    let conf = with_blob_urls(&moto_conf, blobs.clone()).await;
    let ecr = aws_sdk_ecr::Client::new(&conf);
    ecr.create_repository()
        .repository_name("my-app-service1")
        .send()
        .await
        .unwrap();
    let config = serde_json::json!({"architecture": "amd64", "os": "linux", "config": {"Labels": {
        "org.opencontainers.image.revision": "3f9c2d1a7b8e9f00112233445566778899aabbcc",
        "org.opencontainers.image.source": "https://github.com/acme/my-app",
        "maintainer": "platform"}}})
    .to_string()
    .into_bytes();
    let config_digest = sha(&config);
    blobs
        .lock()
        .unwrap()
        .insert(config_digest.clone(), config.clone());
    let manifest = serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": config.len(), "digest": config_digest},
        "layers": []
    })
    .to_string();
    let single = sha(manifest.as_bytes());
    let put = |m: String, tag: Option<&str>, digest: String| {
        ecr.put_image()
            .repository_name("my-app-service1")
            .image_manifest(m)
            .set_image_tag(tag.map(str::to_owned))
            .image_digest(digest)
            .send()
    };
    put(manifest.clone(), Some("v1.4.0"), single.clone())
        .await
        .unwrap();
    // A multi-platform image: the tag names an index; the labels are its linux/amd64
    // image's.
    let index = serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest("ee"), "size": 1, "platform": {"os": "linux", "architecture": "arm64"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": single, "size": manifest.len(), "platform": {"os": "linux", "architecture": "amd64"}}
        ]
    })
    .to_string();
    put(index.clone(), Some("v1.5.0"), sha(index.as_bytes()))
        .await
        .unwrap();

    let registry = Ecr::new(conf.clone());
    for d in [single.clone(), sha(index.as_bytes())] {
        let labels = registry.labels(IMAGE, &d).await.unwrap();
        assert_eq!(
            hoist::registry::source(&labels).as_deref(),
            Some("acme/my-app@3f9c2d1"),
            "{d}"
        );
        assert_eq!(labels["maintainer"], "platform");
    }

    // A blob that is not what the manifest names is refused, not believed.
    blobs
        .lock()
        .unwrap()
        .insert(config_digest.clone(), b"{\"config\":{}}".to_vec());
    let err = registry.labels(IMAGE, &single).await.unwrap_err();
    assert!(err.0.contains("hashes to"), "{err}");
    // Outside ECR there are no labels to read, and no error.
    assert!(
        registry
            .labels("ghcr.io/acme/app", &single)
            .await
            .unwrap()
            .is_empty()
    );
}
