//! my-app-service1 with three targets per stage: its kustomization, Helm values and a
//! plain-manifest Job, as a team moving from Kargo keeps them.

#![allow(dead_code)]

/// The example config with my-app-service1's `path` replaced by three targets.
pub fn config(text: &str) -> String {
    let old = "    path: apps/my-app-service1/env/{stage}/kustomization.yaml\n";
    assert!(
        text.contains(old),
        "the example names my-app-service1's overlay"
    );
    text.replacen(
        old,
        "    targets:
      - path: apps/my-app-service1/env/{stage}/kustomization.yaml
      - path: apps/my-app-service1/env/{stage}/values.yaml
        helm: { repository: app.image.repository, tag: app.image.tag, digest: app.image.digest }
      - path: apps/my-app-service1/env/{stage}/migrate.yaml
        yaml: { image: \"spec.template.spec.containers[name=migrate].image\" }
",
        1,
    )
}

/// The two files each stage gains, pinning what its kustomization pins today.
pub fn files() -> Vec<(String, String)> {
    let example = std::path::Path::new("examples/gitops/apps/my-app-service1/env");
    let mut out = vec![];
    for stage in ["dev", "uat", "prod"] {
        let k = std::fs::read_to_string(example.join(stage).join("kustomization.yaml")).unwrap();
        let field = |name: &str| {
            k.lines()
                .find_map(|l| l.trim().strip_prefix(name))
                .map(|v| v.split_whitespace().next().unwrap().to_owned())
                .unwrap()
        };
        let (repo, tag, digest) = (field("newName: "), field("newTag: "), field("digest: "));
        out.push((
            format!("apps/my-app-service1/env/{stage}/values.yaml"),
            format!(
                "# Values for the app's chart in {stage}.\napp:\n  replicas: 2\n  image:\n    repository: {repo}\n    tag: \"{tag}\"  # promoted by Hoist\n    digest: {digest}\n"
            ),
        ));
        out.push((
            format!("apps/my-app-service1/env/{stage}/migrate.yaml"),
            format!(
                "# The schema migration, run before each release.\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: migrate\ndata:\n  TARGET: latest\n---\napiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\nspec:\n  template:\n    spec:\n      containers:\n        - name: migrate\n          image: {repo}:{tag}@{digest}\n          args: [migrate, up]\n        - name: proxy\n          image: public.ecr.aws/cloudsql/proxy:2.1.0\n"
            ),
        ));
    }
    out
}

/// A copy of examples/gitops with the files each stage gains.
pub fn repo_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy(std::path::Path::new("examples/gitops"), dir.path());
    for (path, text) in files() {
        std::fs::write(dir.path().join(path), text).unwrap();
    }
    dir
}

fn copy(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}

/// The lines of `after` that differ from `before`, as `-old` / `+new`, for each file.
pub fn changed(before: &str, after: &str) -> String {
    let (b, a): (Vec<&str>, Vec<&str>) = (before.lines().collect(), after.lines().collect());
    assert_eq!(b.len(), a.len(), "an edit in place keeps the line count");
    b.iter()
        .zip(&a)
        .filter(|(x, y)| x != y)
        .map(|(x, y)| format!("-{x}\n+{y}"))
        .collect::<Vec<_>>()
        .join("\n")
}
