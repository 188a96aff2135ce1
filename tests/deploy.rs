//! The deployment files: the SAM template passes cfn-lint, the Kubernetes overlay builds
//! with `kubectl kustomize` and its output and the Dockerfile pass checkov, and each says
//! what the docs promise (one replica that owns the SQLite file, probes, non-root, partial
//! batch responses, a dead-letter alarm). The README's test command installs the tools.

use std::path::{Path, PathBuf};
use std::process::Command;

fn tool(name: &str) -> PathBuf {
    let local = Path::new(".venv-deploy/bin").join(name);
    if local.exists() {
        return local;
    }
    // kubectl may be the machine's own.
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(name))
        .find(|p| p.exists());
    found.unwrap_or_else(|| {
        panic!("{name} is not installed: run ./scripts/test (it installs the deployment checkers)")
    })
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?} failed:\n{text}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn checkov(file: &Path, framework: &str) -> String {
    run(Command::new(tool("checkov"))
        .args([
            "--quiet",
            "--compact",
            "--skip-download",
            "--framework",
            framework,
            "-f",
        ])
        .arg(file)
        // Offline: no guideline download, no telemetry.
        .env("BC_SKIP_MAPPING", "TRUE")
        .env("CHECKOV_RUN_SCA_PACKAGE_SCAN_V2", "false"))
}

#[test]
fn the_sam_template_passes_cfn_lint_and_wires_the_queue() {
    let t = "deploy/aws/template.yaml";
    run(Command::new(tool("cfn-lint")).arg(t));
    let text = std::fs::read_to_string(t).unwrap();
    for must in [
        "FifoQueue: true",
        // EventBridge cannot send to a FIFO queue without it.
        "ContentBasedDeduplication: true",
        "VisibilityTimeout: 360",
        "FunctionResponseTypes: [ReportBatchItemFailures]",
        "ReservedConcurrentExecutions: 1",
        "deadLetterTargetArn",
        "MetricName: ApproximateNumberOfMessagesVisible",
        "detail-type: [ECR Image Action]",
        "CodeCommit Comment on Pull Request",
        "AuthType: NONE",
        "ecr:GetDownloadUrlForLayer",
        "codecommit:MergePullRequestBySquash",
        "AWSSecretsManagerGetSecretValuePolicy",
        "Schedule: rate(5 minutes)",
    ] {
        assert!(text.contains(must), "the template lacks {must}");
    }
}

/// The queue's redrive policy and the worker's put-offs together keep a message that fails
/// on every receive (the forge is down) for longer than a 6-hour outage, and the worker
/// can put messages off and dead-letter the ones that never can be handled.
#[test]
fn a_six_hour_forge_outage_dead_letters_nothing() {
    let text = std::fs::read_to_string("deploy/aws/template.yaml").unwrap();
    let max: u32 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("maxReceiveCount: "))
        .expect("the queue has a redrive policy")
        .parse()
        .unwrap();
    let survives = hoist::lambda::worker::survives(max);
    assert!(
        survives > std::time::Duration::from_secs(6 * 3600),
        "maxReceiveCount {max} keeps a failing message {survives:?} only"
    );
    assert_eq!(
        text.matches("MessageRetentionPeriod: 1209600").count(),
        2,
        "the queue keeps messages as long as its dead-letter queue"
    );
    for must in [
        "HOIST_QUEUE_URL: !Ref Queue",
        "HOIST_DEAD_LETTER_QUEUE_URL: !Ref DeadLetterQueue",
        "Action: sqs:ChangeMessageVisibility",
        "QueueName: !GetAtt DeadLetterQueue.QueueName",
    ] {
        assert!(text.contains(must), "the template lacks {must}");
    }
}

#[test]
fn the_kubernetes_overlay_builds_and_passes_checkov() {
    let rendered = run(
        Command::new(tool("kubectl")).args(["kustomize", "deploy/kubernetes/overlays/example"])
    );
    for must in [
        "kind: Deployment",
        "replicas: 1",
        "type: Recreate",
        "path: /healthz",
        "path: /readyz",
        "runAsNonRoot: true",
        "readOnlyRootFilesystem: true",
        "kind: PersistentVolumeClaim",
        "kind: PodDisruptionBudget",
        "kubernetes.io/metadata.name: argocd",
        "kind: NetworkPolicy",
        "kind: ConfigMap",
        "eks.amazonaws.com/role-arn: arn:aws:iam::123456789012:role/hoist-example",
    ] {
        assert!(rendered.contains(must), "the rendered overlay lacks {must}");
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rendered.yaml");
    std::fs::write(&file, &rendered).unwrap();
    // The budget selects Hoist's pod (a budget without a selector covers nothing).
    let pdb = rendered
        .split("---")
        .find(|d| d.contains("kind: PodDisruptionBudget"))
        .unwrap();
    assert!(
        pdb.contains("matchLabels:") && pdb.contains("app.kubernetes.io/name: hoist"),
        "{pdb}"
    );
    let report = checkov(&file, "kubernetes");
    assert!(report.contains("Failed checks: 0"), "{report}");
    // The overlay's config is a valid Hoist config.
    hoist::config::Config::load(Path::new("deploy/kubernetes/overlays/example/hoist.yaml"))
        .unwrap();
    // Argo CD's Application points at the overlay.
    let app = std::fs::read_to_string("deploy/kubernetes/argocd/application.yaml").unwrap();
    assert!(app.contains("path: deploy/kubernetes/overlays/example"));
}

#[test]
fn the_dockerfile_passes_checkov() {
    let report = checkov(Path::new("Dockerfile"), "dockerfile");
    assert!(report.contains("Failed checks: 0"), "{report}");
    let text = std::fs::read_to_string("Dockerfile").unwrap();
    assert!(text.contains("distroless/static") && text.contains("USER 65532"));
    // The store's directory exists in the image, owned by that user: a volume mounted
    // there (as docs/kubernetes.md's `docker run` does) is then writable by the server.
    assert!(
        text.contains("COPY --from=build --chown=65532:65532 /out/var/lib/hoist /var/lib/hoist"),
        "{text}"
    );
}
