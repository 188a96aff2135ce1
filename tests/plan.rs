//! `hoist plan` on the bundled example: the decision code and the editor against a
//! real checkout, through the library and through the binary.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use hoist::config::Config;
use hoist::event::ecr;
use hoist::freight::NoFreight;
use hoist::plan::{Plan, Planner};
use hoist::repo::DirRepo;
use similar::{ChangeTag, TextDiff};

const EVENT: &str = "examples/events/ecr-push-my-app-service1-v1.4.0.json";
const S1_DEV: &str = "apps/my-app-service1/env/dev/kustomization.yaml";

fn config() -> Config {
    Config::load(Path::new("config/hoist.example.yaml")).unwrap()
}

/// A private copy of the example repository, so a test can move it forward.
fn checkout() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(Path::new("examples/gitops"), dir.path());
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            fs::create_dir_all(&target).unwrap();
            copy_dir(&e.path(), &target);
        } else {
            fs::copy(e.path(), target).unwrap();
        }
    }
}

fn event_with(tag: &str, digest_seed: &str) -> ecr::EcrEvent {
    let mut v: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(EVENT).unwrap()).unwrap();
    v["detail"]["image-tag"] = tag.into();
    v["detail"]["image-digest"] =
        format!("sha256:{}", digest_seed.repeat(64).get(..64).unwrap()).into();
    ecr::decode(v.to_string().as_bytes()).unwrap()
}

fn skips(plan: &Plan) -> Vec<String> {
    plan.nothing_to_do
        .iter()
        .map(|s| hoist::messages::nothing_to_do(&s.stages, &s.reason))
        .collect()
}

fn push(repo: &Path, event: &ecr::EcrEvent) -> Result<Plan, NoFreight> {
    let c = config();
    let f = event.freight(&c)?;
    Ok(Planner {
        config: &c,
        repo: &DirRepo::new(repo),
        ledger: &[],
    }
    .push(&f, "ecr-push")
    .unwrap())
}

/// Lines removed and added by a change, without the unchanged ones.
fn changed_lines(old: &str, new: &str) -> Vec<String> {
    TextDiff::from_lines(old, new)
        .iter_all_changes()
        .filter(|c| c.tag() != ChangeTag::Equal)
        .map(|c| {
            format!(
                "{}{}",
                if c.tag() == ChangeTag::Delete {
                    "-"
                } else {
                    "+"
                },
                c.value().trim_end()
            )
        })
        .collect()
}

#[test]
fn a_push_plans_one_dev_pr_that_changes_only_the_image_values() {
    let plan = push(
        Path::new("examples/gitops"),
        &ecr::decode(&fs::read(EVENT).unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(plan.promotions.len(), 1);
    let p = &plan.promotions[0];
    assert_eq!(
        (p.stage.as_str(), p.service.as_str()),
        ("dev", "my-app-service1")
    );
    assert_eq!(p.branch, "hoist/dev/my-app-service1");
    assert_eq!(p.title, "Promote my-app-service1 v1.4.0 to dev");
    assert_eq!(p.files[0].path, S1_DEV);
    let before = fs::read_to_string(Path::new("examples/gitops").join(S1_DEV)).unwrap();
    let digest = p.freight.digest.as_str();
    let old_digest = before
        .lines()
        .find_map(|l| l.trim().strip_prefix("digest: "))
        .unwrap();
    assert_eq!(
        changed_lines(&before, &p.files[0].content),
        [
            "-    newTag: v1.3.2   # promoted by Hoist".to_owned(),
            format!("-    digest: {old_digest}"),
            "+    newTag: v1.4.0   # promoted by Hoist".to_owned(),
            format!("+    digest: {digest}"),
        ]
    );
    assert!(p.commit_message.contains(&format!(
        "Hoist-Freight: my-app-service1@{digest}\nHoist-Stage: dev\nHoist-Requested-By: ecr-push"
    )));
    assert!(
        p.body.contains("| Tag | `v1.4.0` (dev runs `v1.3.2`) |"),
        "{}",
        p.body
    );
    assert!(
        p.body
            .contains("<!-- hoist:v1 {\"service\":\"my-app-service1\",\"stage\":\"dev\"")
    );
    assert_eq!(
        skips(&plan),
        ["uat, prod: nothing to do (gated by /promote)"]
    );
}

#[test]
fn a_tag_only_overlay_gets_a_one_line_diff() {
    let repo = checkout();
    let path = repo.path().join(S1_DEV);
    let text = fs::read_to_string(&path).unwrap();
    let tag_only: String = text
        .lines()
        .filter(|l| !l.contains("digest:"))
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(&path, &tag_only).unwrap();
    let plan = push(repo.path(), &event_with("v1.4.0", "ab")).unwrap();
    assert_eq!(
        changed_lines(&tag_only, &plan.promotions[0].files[0].content),
        [
            "-    newTag: v1.3.2   # promoted by Hoist",
            "+    newTag: v1.4.0   # promoted by Hoist"
        ]
    );
}

#[test]
fn a_filtered_tag_plans_nothing() {
    let why = push(Path::new("examples/gitops"), &event_with("v2.0.0", "cd")).unwrap_err();
    assert_eq!(
        why.to_string(),
        "my-app-service1: tag v2.0.0 is outside the semver range >=1.0.0 <2.0.0"
    );
    let why = push(Path::new("examples/gitops"), &event_with("latest", "cd")).unwrap_err();
    assert!(why.to_string().contains("not a semantic version"));
}

#[test]
fn a_downgrade_plans_nothing() {
    let plan = push(Path::new("examples/gitops"), &event_with("v1.2.9", "ef")).unwrap();
    assert!(plan.promotions.is_empty());
    assert_eq!(
        skips(&plan)[0],
        "dev: nothing to do (runs v1.3.2, newer than v1.2.9; Hoist does not downgrade unless the service sets allow_downgrade: true)"
    );
}

#[test]
fn the_same_image_again_plans_nothing() {
    let repo = checkout();
    let first = push(repo.path(), &event_with("v1.4.0", "12")).unwrap();
    let p = &first.promotions[0];
    fs::write(repo.path().join(&p.files[0].path), &p.files[0].content).unwrap();
    let again = push(repo.path(), &event_with("v1.4.0", "12")).unwrap();
    assert!(again.promotions.is_empty());
    assert!(
        skips(&again)[0].starts_with("dev: nothing to do (already runs v1.4.0 (sha256:1212"),
        "{:?}",
        skips(&again)
    );
    // The same digest pushed under another tag is the same freight.
    let retag = push(repo.path(), &event_with("1.4.0", "12")).unwrap();
    assert!(retag.promotions.is_empty());
    assert!(skips(&retag)[0].starts_with("dev: nothing to do (already runs v1.4.0"));
}

/// The example with dev moved to v1.4.0, as after a merged push.
fn repo_with_dev_at_v140() -> (tempfile::TempDir, String) {
    let repo = checkout();
    let plan = push(repo.path(), &event_with("v1.4.0", "9a")).unwrap();
    let p = &plan.promotions[0];
    fs::write(repo.path().join(&p.files[0].path), &p.files[0].content).unwrap();
    (repo, p.freight.digest.to_string())
}

#[test]
fn promote_copies_the_upstream_digest() {
    let (repo, digest) = repo_with_dev_at_v140();
    let c = config();
    let plan = Planner {
        config: &c,
        repo: &DirRepo::new(repo.path()),
        ledger: &[],
    }
    .promote("uat", "my-app-service1", None, "quinn")
    .unwrap();
    let p = &plan.promotions[0];
    assert_eq!(
        (p.stage.as_str(), p.freight.tag.as_str()),
        ("uat", "v1.4.0")
    );
    assert_eq!(p.freight.digest.as_str(), digest);
    assert!(p.files[0].content.contains(&format!("digest: {digest}")));
    assert!(p.commit_message.contains("Hoist-Requested-By: quinn"));
    assert!(
        p.body.contains("**Gate:** `/promote uat` by @acme/qa."),
        "{}",
        p.body
    );
}

#[test]
fn prod_gate_names_the_code_owners_and_the_requester() {
    let c = config();
    let plan = Planner {
        config: &c,
        repo: &DirRepo::new("examples/gitops"),
        ledger: &[],
    }
    .promote("prod", "my-app-service1", None, "quinn")
    .unwrap();
    let p = &plan.promotions[0];
    assert_eq!(
        (p.previous_tag.as_deref(), p.freight.tag.as_str()),
        (Some("v1.3.0"), "v1.3.2")
    );
    assert!(
        p.body.contains("**Gate:** an approval from a code owner of apps/my-app-service1/env/prod/ (@acme/sre), other than @quinn who requested it, and `render/my-app-service1-prod`."),
        "{}",
        p.body
    );
}

#[test]
fn a_dag_skip_is_refused_with_where_the_freight_stands() {
    let (repo, digest) = repo_with_dev_at_v140();
    let c = config();
    let plan = Planner {
        config: &c,
        repo: &DirRepo::new(repo.path()),
        ledger: &[],
    }
    .promote("prod", "my-app-service1", Some("v1.4.0"), "mallory")
    .unwrap();
    assert!(plan.promotions.is_empty());
    let short = hoist::image::Digest::parse(&digest).unwrap().short();
    assert_eq!(
        plan.refused.unwrap(),
        format!(
            "⛔ /promote prod refused: prod takes freight from **uat**, and v1.4.0 ({short}) is in **dev** only. Promote it to uat first with /promote uat."
        )
    );
}

#[test]
fn unknown_and_root_stages_are_refused() {
    let c = config();
    let planner = Planner {
        config: &c,
        repo: &DirRepo::new("examples/gitops"),
        ledger: &[],
    };
    let r = planner
        .promote("qa", "my-app-service1", None, "x")
        .unwrap()
        .refused
        .unwrap();
    assert_eq!(
        r,
        "⛔ /promote qa: there is no stage \"qa\". Did you mean \"uat\"? Stages: dev, uat, prod. See /help."
    );
    let r = planner
        .promote("dev", "my-app-service1", Some("v1.3.2"), "x")
        .unwrap()
        .refused
        .unwrap();
    assert!(r.contains("dev is a root stage"), "{r}");
}

#[test]
fn every_published_ecr_fixture_decodes() {
    let dir = PathBuf::from("tests/fixtures/aws/ecr");
    let event = ecr::decode(&fs::read(dir.join("ecr_image_action.push.json")).unwrap()).unwrap();
    assert_eq!(event.id, "13cde686-328b-6117-af20-0e5566167482");
    assert_eq!(
        event.image(),
        "123456789012.dkr.ecr.us-west-2.amazonaws.com/my-repository-name"
    );
    assert_eq!(event.detail.image_tag.as_deref(), Some("latest"));
    // No service in the example uses that repository.
    assert_eq!(
        event.freight(&config()).unwrap_err(),
        NoFreight::UnknownImage(event.image())
    );
    // The documentation's example digest is 60 hex digits, not 64: a service that did use
    // the repository is told so rather than given malformed freight.
    let cfg = Config::parse(
        "forge: { github: { owner: a, repo: b, token_env: T } }\nstages: { dev: { auto: true } }\nservices:\n  svc: { image: 123456789012.dkr.ecr.us-west-2.amazonaws.com/my-repository-name, path: \"a/{stage}.yaml\" }\n",
        "t.yaml",
    )
    .unwrap();
    assert!(event.freight(&cfg).unwrap_err().to_string().contains("digest \"sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234\" is not valid"));

    let headers: std::collections::BTreeMap<String, String> =
        serde_json::from_slice(&fs::read(dir.join("ecr_image_action.push.headers.json")).unwrap())
            .unwrap();
    assert_eq!(headers["User-Agent"], "Amazon/EventBridge/ApiDestinations");
    assert!(headers["Content-Type"].starts_with("application/json"));

    // API responses: every digest they carry is one Hoist accepts.
    for (file, pointer) in [
        ("api.DescribeImages.json", "/imageDetails"),
        ("api.BatchGetImage.json", "/images"),
    ] {
        let v: serde_json::Value =
            serde_json::from_slice(&fs::read(dir.join(file)).unwrap()).unwrap();
        let items = v.pointer(pointer).and_then(|x| x.as_array()).unwrap();
        assert!(!items.is_empty(), "{file}");
        for item in items {
            let d = item
                .get("imageDigest")
                .or_else(|| item.pointer("/imageId/imageDigest"))
                .and_then(|d| d.as_str())
                .unwrap();
            hoist::image::Digest::parse(d).unwrap();
        }
    }
}

#[test]
fn pushes_that_are_not_new_images_carry_no_freight() {
    let c = config();
    let base: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(EVENT).unwrap()).unwrap();
    let with = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v = base.clone();
        f(&mut v);
        ecr::decode(v.to_string().as_bytes())
            .unwrap()
            .freight(&c)
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        with(&|v| v["detail"]["action-type"] = "DELETE".into()),
        "the ECR action is DELETE, not a push"
    );
    assert_eq!(
        with(&|v| v["detail"]["result"] = "FAILURE".into()),
        "the push did not succeed (result FAILURE)"
    );
    assert_eq!(
        with(&|v| {
            v["detail"].as_object_mut().unwrap().remove("image-tag");
        }),
        "the image was pushed without a tag"
    );
    assert!(ecr::decode(b"{\"id\": 1}").unwrap_err().contains("at id"));
}

fn hoist(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hoist"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn the_plan_command_prints_a_patchable_diff_and_json() {
    let o = hoist(&[
        "plan",
        "--config",
        "config/hoist.example.yaml",
        "--repo",
        "examples/gitops",
        "--event",
        EVENT,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(out.starts_with("dev  my-app-service1  v1.3.2 -> v1.4.0  branch hoist/dev/my-app-service1\nPromote my-app-service1 v1.4.0 to dev\n"), "{out}");
    assert!(out.contains(&format!("--- a/{S1_DEV}\n+++ b/{S1_DEV}\n")));
    assert!(out.ends_with("uat, prod: nothing to do (gated by /promote)\n"));
    // A push is requested by `ecr-push`, which no person is: never mentioned.
    assert!(out.contains("Hoist-Requested-By: ecr-push"), "{out}");
    assert!(!out.contains("@ecr-push"), "{out}");

    let o = hoist(&[
        "plan",
        "--json",
        "--config",
        "config/hoist.example.yaml",
        "--repo",
        "examples/gitops",
        "--event",
        EVENT,
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["promotions"][0]["branch"], "hoist/dev/my-app-service1");
    assert_eq!(v["promotions"][0]["freight"]["tag"], "v1.4.0");

    let o = hoist(&[
        "plan",
        "--config",
        "config/hoist.example.yaml",
        "--repo",
        "examples/gitops",
        "--promote",
        "dev",
        "--service",
        "my-app-service1",
        "--tag",
        "v1.3.2",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("dev is a root stage"));
}

#[test]
fn a_refusal_suggests_only_a_step_that_works() {
    let c = config();
    let planner = Planner {
        config: &c,
        repo: &DirRepo::new("examples/gitops"),
        ledger: &[],
    };
    // v1.3.0 runs in prod only: uat cannot take it from dev, and no step helps.
    let r = planner
        .promote("uat", "my-app-service1", Some("v1.3.0"), "x")
        .unwrap()
        .refused
        .unwrap();
    assert!(r.ends_with("is in **prod** only."), "{r}");
    // A stage that already runs the freight has nothing to do; it is not a DAG skip.
    let plan = planner
        .promote("prod", "my-app-service1", Some("v1.3.0"), "x")
        .unwrap();
    assert!(plan.refused.is_none());
    assert!(
        skips(&plan)[0].starts_with("prod: nothing to do (already runs v1.3.0"),
        "{:?}",
        skips(&plan)
    );
    // Without --tag, a root stage is refused as a plan, not as an error.
    assert!(
        planner
            .promote("dev", "my-app-service1", None, "x")
            .unwrap()
            .refused
            .unwrap()
            .contains("root stage")
    );
}

#[test]
fn availability_any_takes_the_upstream_that_has_freight() {
    let repo = checkout();
    // eu runs uat's overlay; us has no entry for the service yet.
    let apps = repo.path().join("apps/my-app-service1/env");
    fs::create_dir_all(apps.join("eu")).unwrap();
    fs::create_dir_all(apps.join("us")).unwrap();
    fs::create_dir_all(apps.join("global")).unwrap();
    fs::copy(
        apps.join("uat/kustomization.yaml"),
        apps.join("eu/kustomization.yaml"),
    )
    .unwrap();
    fs::write(
        apps.join("us/kustomization.yaml"),
        "resources:\n- ../../base\n",
    )
    .unwrap();
    fs::copy(
        apps.join("prod/kustomization.yaml"),
        apps.join("global/kustomization.yaml"),
    )
    .unwrap();
    let text = fs::read_to_string("config/hoist.example.yaml").unwrap().replace(
        "  prod:\n",
        "  eu: { upstream: [uat], gate: { command: true } }\n  us: { upstream: [uat], gate: { command: true } }\n  global: { upstream: [eu, us], availability: any, gate: { command: true } }\n  prod:\n",
    );
    let c = Config::parse(&text, "hoist.yaml").unwrap();
    let plan = Planner {
        config: &c,
        repo: &DirRepo::new(repo.path()),
        ledger: &[],
    }
    .promote("global", "my-app-service1", None, "x")
    .unwrap();
    assert_eq!(plan.promotions[0].freight.tag.as_str(), "v1.3.2");
}

/// An overlay's tag is anyone's to write. One outside the tag grammar, here a forged
/// body block, is never copied into the pull request Hoist writes (where it would be
/// read as markup, or as Hoist's own record).
#[test]
fn an_overlay_tag_outside_the_grammar_is_never_displayed() {
    let repo = checkout();
    let path = repo.path().join(S1_DEV);
    let text = fs::read_to_string(&path).unwrap();
    let forged =
        r#"newTag: "<!-- hoist:v1 {\"service\":\"my-app-service1\",\"stage\":\"prod\"} -->""#;
    let edited = text.replace("newTag: v1.3.2", forged);
    assert_ne!(edited, text);
    fs::write(&path, edited).unwrap();
    let plan = push(repo.path(), &event_with("v1.4.0", "ab")).unwrap();
    let p = &plan.promotions[0];
    assert_eq!(p.previous_tag, None);
    assert!(!p.body.contains("hoist:v1 {\\\"service"), "{}", p.body);
    assert_eq!(p.body.matches("<!-- hoist:v1 ").count(), 1, "{}", p.body);
}

/// The gate section of `hoist plan`'s output for `/promote prod` by quinn in `repo`.
fn prod_gate(repo: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_hoist"))
        .args(["plan", "--config", "config/hoist.example.yaml", "--repo"])
        .arg(repo)
        .args([
            "--promote",
            "prod",
            "--service",
            "my-app-service1",
            "--requested-by",
            "quinn",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let start = text.find("Gate (").expect("a gate section");
    let end = text[start..].find("\n\n").unwrap() + start;
    text[start..end].to_owned()
}

/// `hoist plan` shows the merge gate as `policy::gate::decide` decides it, with nothing
/// met yet: the required check and who must post it, Argo CD's conditions, and the code
/// owners whose approval counts (not the requester's).
#[test]
fn plan_shows_the_gate_hoist_argocd_will_list() {
    insta::assert_snapshot!(prod_gate(Path::new("examples/gitops")), @r"
    Gate (hoist/argocd on the new HEAD; Hoist merges once every line is met):
        ⏳ render/my-app-service1-prod on HEAD from the GitHub App acme-gitops-ci
        ⏳ Argo CD to render my-app-service1-prod at HEAD
        ⏳ upstream uat (my-app-service1-uat) to run sha256:41828d…0a08 healthy
        ⏳ approval from @acme/sre (not @quinn)
    ");
}

/// A checkout whose CODEOWNERS names no owner for prod's overlay: the plan shows the
/// gate blocked, saying why, before anyone waits for an approval no one can give.
#[test]
fn plan_shows_a_gate_no_one_can_pass() {
    let repo = checkout();
    fs::write(
        repo.path().join("CODEOWNERS"),
        "apps/*/base/ @acme/sre\n/CODEOWNERS @acme/sre\n",
    )
    .unwrap();
    insta::assert_snapshot!(prod_gate(repo.path()), @r"
    Gate (hoist/argocd on the new HEAD; Hoist merges once every line is met):
        ⏳ render/my-app-service1-prod on HEAD from the GitHub App acme-gitops-ci
        ⏳ Argo CD to render my-app-service1-prod at HEAD
        ⏳ upstream uat (my-app-service1-uat) to run sha256:41828d…0a08 healthy
        ❌ no code owner for apps/my-app-service1/env/prod/kustomization.yaml
    ");
}

/// A push event whose digest is malformed is a broken event: `plan` says what is wrong
/// with it and where, and fails, rather than printing "nothing to do".
#[test]
fn an_event_with_a_malformed_digest_fails_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let event = std::fs::read_to_string(EVENT)
        .unwrap()
        .replace("sha256:", "sha256:zz");
    let path = dir.path().join("event.json");
    std::fs::write(&path, event).unwrap();
    let o = hoist(&[
        "plan",
        "--config",
        "config/hoist.example.yaml",
        "--repo",
        "examples/gitops",
        "--event",
        path.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    let err = String::from_utf8_lossy(&o.stderr).replace(path.to_str().unwrap(), "EVENT");
    insta::assert_snapshot!(err.trim(), @r#"error: EVENT: digest "sha256:zz41cffb13e817b003b409b06efb5b6233482fe8c4da77440d74288d0723df3749" is not valid: expected sha256: followed by 64 lowercase hex digits"#);
}

/// `hoist status` on a fresh setup, before `hoist serve` has written a store: every
/// stage shown, exit 0, and no store created by looking.
#[test]
fn status_before_any_store_shows_every_stage_and_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hoist.db");
    let status = || {
        hoist(&[
            "status",
            "--config",
            "config/hoist.example.yaml",
            "--db",
            db.to_str().unwrap(),
        ])
    };
    let o = status();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    insta::assert_snapshot!(String::from_utf8_lossy(&o.stdout), @"
    service          dev  uat  prod
    my-app-service1  -    -    -
    my-app-service2  -    -    -
    billing-api      -    -    -
    nightly-report   -    -    -
    (what runs is from Hoist's ledger alone; give --repo with a checkout of the base branch, or --live, to read the overlays)
    ");
    let err = String::from_utf8_lossy(&o.stderr).replace(db.to_str().unwrap(), "DB");
    insta::assert_snapshot!(err.trim(), @"DB holds no store yet: no promotions recorded (hoist serve creates it)");
    assert!(!db.exists(), "looking created the store");
    // An empty file where the store will be is no store either, and stays empty.
    std::fs::write(&db, "").unwrap();
    let again = status();
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(again.stdout, o.stdout);
    assert_eq!(
        std::fs::metadata(&db).unwrap().len(),
        0,
        "looking wrote the store"
    );
}

/// `check-config` takes `--config` as every other command does, and `reconcile` runs its
/// one pass without `--once`.
#[test]
fn check_config_takes_config_and_reconcile_needs_no_once() {
    let o = hoist(&["check-config", "--config", "config/hoist.example.yaml"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    insta::assert_snapshot!(String::from_utf8_lossy(&o.stderr).trim(), @"config/hoist.example.yaml: ok (3 stages: dev, uat, prod; 4 services)");
    let o = hoist(&["reconcile", "--help"]);
    let help = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success());
    let o = hoist(&["config-schema", "--help"]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains(
            "--markdown  Print the configuration reference (docs/config-reference.md) instead"
        ),
        "config-schema --markdown has its help"
    );
    // With --once required, clap's usage line named it.
    assert!(
        help.contains("Usage: hoist reconcile [OPTIONS] --config <FILE>\n"),
        "{help}"
    );
    // Run without it, reconcile gets past its arguments to the setup it needs.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hoist.db");
    let o = hoist(&[
        "reconcile",
        "--config",
        "config/hoist.example.yaml",
        "--db",
        db.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "not a usage error (2)");
    insta::assert_snapshot!(String::from_utf8_lossy(&o.stderr).trim(), @"error: cannot read the GitHub App key /var/run/secrets/hoist/app.pem: No such file or directory (os error 2)");
}

/// `plan` with a `--repo` that is not the checkout names `--repo` and the path it
/// resolved, not the config.
#[test]
fn a_wrong_repo_is_named_as_such() {
    let promote = |repo: &str| {
        hoist(&[
            "plan",
            "--config",
            "config/hoist.example.yaml",
            "--repo",
            repo,
            "--promote",
            "uat",
            "--service",
            "my-app-service1",
        ])
    };
    let o = promote("no/such/checkout");
    assert_eq!(o.status.code(), Some(1));
    insta::assert_snapshot!(String::from_utf8_lossy(&o.stderr).trim(), @"error: --repo no/such/checkout: No such file or directory (os error 2)");
    let empty = tempfile::tempdir().unwrap();
    let o = promote(empty.path().to_str().unwrap());
    assert_eq!(o.status.code(), Some(1));
    let resolved = std::fs::canonicalize(empty.path()).unwrap();
    let err = String::from_utf8_lossy(&o.stderr).replace(resolved.to_str().unwrap(), "DIR");
    insta::assert_snapshot!(err.trim(), @"error: apps/my-app-service1/env/dev/kustomization.yaml has no images entry for my-app-service1 (in the checkout DIR, from --repo)");
}

/// A promotion no person asked for (here `plan`'s default requester, `cli`) names its
/// requester without an @: a mention would reach whoever holds that login on GitHub.
#[test]
fn a_requester_no_person_is_is_not_mentioned() {
    let o = hoist(&[
        "plan",
        "--config",
        "config/hoist.example.yaml",
        "--repo",
        "examples/gitops",
        "--promote",
        "prod",
        "--service",
        "my-app-service1",
        "--tag",
        "v1.3.2",
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("cli"))
        .map(str::trim)
        .collect();
    insta::assert_snapshot!(lines.join("\n"), @r#"
    Hoist-Requested-By: cli
    **Gate:** an approval from a code owner of apps/my-app-service1/env/prod/ (@acme/sre), other than `cli` who requested it, and `render/my-app-service1-prod`.
    <!-- hoist:v1 {"service":"my-app-service1","stage":"prod","image":"123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app-service1","tag":"v1.3.2","digest":"sha256:41828da5541005335d4bcc6a684e3fe302b8c73dc0cd2be954109f93d5b00a08","requested_by":"cli"} -->
    ⏳ approval from @acme/sre (not `cli`)
    "#);
    // A push's promotion, requested by `ecr-push`, which no person is either, is in
    // the_plan_command_prints_a_patchable_diff_and_json.
}

/// A refusal is printed for a terminal: no emoji, no Markdown emphasis, and the command
/// line's `--promote` and `--help` instead of the comment's `/promote` and `/help`.
#[test]
fn refusals_are_printed_for_a_terminal() {
    let args = |stage: &'static str| {
        hoist(&[
            "plan",
            "--config",
            "config/hoist.example.yaml",
            "--repo",
            "examples/gitops",
            "--promote",
            stage,
            "--service",
            "my-app-service1",
        ])
    };
    let root = args("dev");
    assert_eq!(root.status.code(), Some(1));
    let unknown = args("qa");
    assert_eq!(unknown.status.code(), Some(1));
    insta::assert_snapshot!(
        String::from_utf8([root.stdout, unknown.stdout].concat()).unwrap(),
        @r#"
    --promote dev refused: dev is a root stage; it takes freight from the registry, not from another stage.
    --promote qa: there is no stage "qa". Did you mean "uat"? Stages: dev, uat, prod. See hoist plan --help.
    "#
    );
}

/// A gate no one can pass (CODEOWNERS names no owner for prod's overlay) is a warning,
/// and with --strict an exit code of 2.
#[test]
fn a_gate_no_one_can_pass_warns_and_fails_under_strict() {
    let dir = checkout();
    let repo = dir.path();
    std::fs::write(repo.join("CODEOWNERS"), "/apps/*/base/ @acme/sre\n").unwrap();
    let run = |strict: bool| {
        let mut a = vec![
            "plan",
            "--config",
            "config/hoist.example.yaml",
            "--repo",
            repo.to_str().unwrap(),
            "--promote",
            "prod",
            "--service",
            "my-app-service1",
        ];
        if strict {
            a.push("--strict");
        }
        hoist(&a)
    };
    let lax = run(false);
    assert_eq!(lax.status.code(), Some(0));
    insta::assert_snapshot!(String::from_utf8_lossy(&lax.stderr).trim(), @"warning: my-app-service1 to prod can never merge as planned: no code owner for apps/my-app-service1/env/prod/kustomization.yaml");
    assert_eq!(run(true).status.code(), Some(2));
}
