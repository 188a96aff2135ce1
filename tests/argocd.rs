//! Argo CD's Application as its API returns it (the published fixture), and the rule that
//! decides when a promotion counts as running.

use hoist::argocd::{AppStatus, Application, verify};
use hoist::freight::Freight;
use hoist::image::{Digest, ImageName, Tag};

const MERGE: &str = "ea8759964626a583667a2bfd08f334ec2070040a";

fn fixture() -> AppStatus {
    let text = std::fs::read_to_string(
        "tests/fixtures/argocd/application.velero-test.synced-healthy.yaml",
    )
    .unwrap();
    let app: Application = serde_saphyr::from_str(&text).unwrap();
    app.into()
}

fn freight() -> Freight {
    Freight {
        service: "web".into(),
        image: ImageName::parse("nginx").unwrap(),
        tag: Tag::parse("latest").unwrap(),
        digest: Digest::parse(&format!("sha256:{}", "ab".repeat(32))).unwrap(),
        source: None,
        pushed_at: None,
    }
}

#[test]
fn the_published_application_decodes() {
    let app = fixture();
    assert_eq!(
        (app.sync.as_str(), app.health.as_str()),
        ("Synced", "Healthy")
    );
    assert_eq!(app.revisions, ["rev1"]);
    assert_eq!(app.operation_phase.as_deref(), Some("Succeeded"));
    assert_eq!(
        app.operation_finished_at.as_deref(),
        Some("2024-03-05T07:33:04Z")
    );
    assert_eq!(app.reconciled_at.as_deref(), Some("2024-03-05T07:33:04Z"));
    assert_eq!(app.images, ["nginx:latest"]);
}

#[test]
fn a_finished_sync_at_the_merge_counts_and_one_still_running_does_not() {
    let mut app = fixture();
    app.revisions = vec![MERGE.into()];
    assert_eq!(
        verify(&app, MERGE, &freight()).map_err(|e| e.to_string()),
        Ok(())
    );

    // A new sync under way: no finishedAt yet, while the old pods still report healthy.
    app.operation_phase = Some("Running".into());
    app.operation_finished_at = None;
    assert_eq!(
        verify(&app, MERGE, &freight()).map_err(|e| e.to_string()),
        Err("Argo CD's sync is still running".into())
    );
    app.operation_phase = Some("Terminating".into());
    assert!(
        verify(&app, MERGE, &freight())
            .map_err(|e| e.to_string())
            .is_err()
    );

    // An application that never had an operation (synced before Hoist watched it).
    app.operation_phase = None;
    assert_eq!(
        verify(&app, MERGE, &freight()).map_err(|e| e.to_string()),
        Ok(())
    );

    // Synced since the last reconcile: Argo CD has not compared again yet.
    app.operation_phase = Some("Succeeded".into());
    app.operation_finished_at = Some("2024-03-05T07:33:09Z".into());
    assert_eq!(
        verify(&app, MERGE, &freight()).map_err(|e| e.to_string()),
        Err("Argo CD has not reconciled since its last sync".into())
    );
}

/// The application runs the freight only when it reports that image pinned by exactly
/// its digest, or, with no digest reported (a tag-only overlay), by exactly its tag:
/// the same tag at another digest, or the digest on another image, is not the freight.
#[test]
fn only_the_exact_digest_counts_as_running_the_freight() {
    let mut app = fixture();
    app.revisions = vec![MERGE.into()];
    let ours = format!("sha256:{}", "ab".repeat(32));
    let other = format!("sha256:{}", "cd".repeat(32));
    let not = Err("the application's images do not include latest".to_owned());
    for (images, expected) in [
        (vec![format!("nginx:latest@{ours}")], Ok(())),
        (vec![format!("nginx@{ours}")], Ok(())),
        (vec!["nginx:latest".to_owned()], Ok(())),
        (vec![format!("nginx:latest@{other}")], not.clone()),
        (vec![format!("sidecar:latest@{ours}")], not.clone()),
        (vec![format!("nginx:{ours}")], not.clone()),
        (vec!["nginx:other".to_owned()], not.clone()),
    ] {
        app.images = images.clone();
        assert_eq!(
            verify(&app, MERGE, &freight()).map_err(|e| e.to_string()),
            expected,
            "{images:?}"
        );
    }
}

/// Every image in what Argo CD renders, at any depth: a Deployment's containers and init
/// containers, a CronJob's job template, ephemeral containers, and a custom resource that
/// names its image its own way.
#[test]
fn rendered_images_are_every_container_image() {
    let manifests = vec![
        r#"{"kind":"Deployment","spec":{"template":{"spec":{"initContainers":[{"name":"migrate","image":"reg/migrate:1@sha256:aa"}],"containers":[{"name":"app","image":"reg/app@sha256:bb"},{"name":"proxy","image":"reg/proxy:2"}]}}}}"#.to_owned(),
        r#"{"kind":"CronJob","spec":{"jobTemplate":{"spec":{"template":{"spec":{"containers":[{"name":"job","image":"reg/job:3"}]}}}}}}"#.to_owned(),
        r#"{"kind":"Pod","spec":{"ephemeralContainers":[{"name":"debug","image":"busybox"}],"containers":[]}}"#.to_owned(),
        r#"{"kind":"Service","spec":{"ports":[{"port":80}]}}"#.to_owned(),
        r#"{"kind":"Kafka","spec":{"kafka":{"image":"reg/kafka:3"}}}"#.to_owned(),
    ];
    let images = hoist::argocd::rendered_images(&manifests).unwrap();
    assert_eq!(
        images.into_iter().collect::<Vec<_>>(),
        [
            "busybox",
            "reg/app@sha256:bb",
            "reg/job:3",
            "reg/kafka:3",
            "reg/migrate:1@sha256:aa",
            "reg/proxy:2"
        ]
    );
    assert_eq!(
        hoist::argocd::rendered_images(&["not json".to_owned()]),
        Err(hoist::argocd::ArgoError(
            "rendered manifest 1 is not JSON: expected ident at line 1 column 2".to_owned()
        ))
    );
}
