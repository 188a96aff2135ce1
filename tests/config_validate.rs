//! One test per validation rule: each error names the line and column of what is wrong.

use hoist::config::Config;

const FORGE: &str = "forge:\n  github: { owner: acme, repo: gitops, token_env: GH_TOKEN }\n";
const SERVICES: &str =
    "services:\n  app:\n    image: reg.io/app\n    path: apps/app/{stage}/k.yaml\n";

/// Parses a config whose stages block is `stages` (starting on line 3) and asserts the
/// errors, as `LINE:COL: message` fragments, in order.
fn errors(text: &str) -> Vec<String> {
    match Config::parse(text, "hoist.yaml") {
        Ok(_) => vec![],
        Err(e) => e.0.iter().map(|e| e.to_string()).collect(),
    }
}

fn assert_errors(text: &str, expected: &[&str]) {
    let got = errors(text);
    assert_eq!(got.len(), expected.len(), "errors: {got:#?}");
    for (g, e) in got.iter().zip(expected) {
        assert!(
            g.starts_with("hoist.yaml:") && g.contains(e),
            "expected {e:?} in {g:?}"
        );
    }
}

fn with_stages(stages: &str) -> String {
    format!("{FORGE}stages:\n{stages}{SERVICES}")
}

#[test]
fn the_example_config_is_valid() {
    let c = Config::load(std::path::Path::new("config/hoist.example.yaml")).unwrap();
    assert_eq!(c.stage_names(), ["dev", "uat", "prod"]);
    assert_eq!(
        c.services.keys().collect::<Vec<_>>(),
        [
            "my-app-service1",
            "my-app-service2",
            "billing-api",
            "nightly-report"
        ]
    );
}

#[test]
fn unknown_upstream_with_suggestion() {
    let t = with_stages(
        "  dev: { auto: true }\n  uat:\n    upstream: [dve]\n    gate: { command: true }\n",
    );
    assert_errors(
        &t,
        &[
            "6:16: stage \"uat\" has upstream \"dve\", which is not a stage (stages: dev, uat). Did you mean \"dev\"?",
        ],
    );
}

#[test]
fn cycle_and_unreachable() {
    let t = with_stages(
        "  dev: { auto: true }\n  a: { upstream: [b], auto: true }\n  b: { upstream: [a], auto: true }\n",
    );
    assert_errors(
        &t,
        &[
            "5:3: stages form a cycle: a -> b -> a",
            "5:3: stage \"a\" cannot be reached from a root stage (dev)",
            "6:3: stage \"b\" cannot be reached",
        ],
    );
}

#[test]
fn no_root() {
    let t = with_stages("  a: { upstream: [a], auto: true }\n");
    assert_errors(
        &t,
        &[
            "4:3: no stage is a root",
            "4:3: stages form a cycle: a -> a",
        ],
    );
}

#[test]
fn stage_names() {
    let t = with_stages("  Dev_1: { auto: true }\n");
    assert_errors(
        &t,
        &["4:3: stage name \"Dev_1\" may hold only lowercase letters, digits and '-'"],
    );
}

#[test]
fn a_gated_stage_needs_a_way_in() {
    let t = with_stages("  dev: { auto: true }\n  uat: { upstream: [dev] }\n");
    assert_errors(
        &t,
        &[
            "5:3: stage \"uat\" has upstreams but neither `auto: true` nor `gate: { command: true }`",
        ],
    );
}

#[test]
fn promoters() {
    let t = with_stages(
        "  dev: { auto: true }\n  uat:\n    upstream: [dev]\n    gate:\n      command: true\n      promoters: [alice, \"@acme/qa\", \"@acme\", \"bob smith\"]\n",
    );
    assert_errors(
        &t,
        &[
            "9:38: promoter \"@acme\" is neither a GitHub login (alice) nor a team (@org/team)",
            "9:47: promoter \"bob smith\"",
        ],
    );
}

#[test]
fn path_templates() {
    let t = format!(
        "{FORGE}stages:\n  dev: {{ auto: true }}\nservices:\n  a:\n    image: reg.io/a\n    path: /apps/{{svc}}/{{stage}}/k.yaml\n  b:\n    image: reg.io/b\n    path: apps/../b/k.yaml\n"
    );
    assert_errors(
        &t,
        &[
            "8:11: path \"/apps/{svc}/{stage}/k.yaml\" uses {svc}; only {service} and {stage} are replaced",
            "8:11: path \"/apps/{svc}/{stage}/k.yaml\" must be relative to the repository root",
            "11:11: path \"apps/../b/k.yaml\" must not contain '.' or '..' segments",
            "11:11: path \"apps/../b/k.yaml\" has no {stage}",
        ],
    );
}

#[test]
fn image_references() {
    let t = format!(
        "{FORGE}stages:\n  dev: {{ auto: true }}\nservices:\n  a:\n    image: Reg.io/App:v1\n    path: a/{{stage}}.yaml\n"
    );
    assert_errors(
        &t,
        &["7:12: image name \"Reg.io/App:v1\" is not a valid reference"],
    );
}

#[test]
fn semver_and_regexes() {
    let t = format!(
        "{FORGE}stages:\n  dev: {{ auto: true }}\nservices:\n  a:\n    image: reg.io/a\n    path: a/{{stage}}.yaml\n    tags:\n      semver: \">=1.x.3\"\n      regex: \"^main-(\"\n      ignore: [ok, \"[z-a]\"]\n"
    );
    assert_errors(
        &t,
        &[
            "10:15: \"1.x.3\" has a number after a wildcard",
            "11:14: regex does not compile",
            "12:20: regex does not compile",
        ],
    );
}

#[test]
fn inline_secrets_are_refused() {
    let t = "forge:\n  github:\n    owner: acme\n    repo: gitops\n    token: ghp_abcdefghijklmnop\nstages:\n  dev: { auto: true }\nargocd: { url: \"https://a\", token_env: \"-----BEGIN RSA PRIVATE KEY-----\" }\n";
    let got = errors(t);
    assert!(
        got[0].starts_with("hoist.yaml:5:5: `token` would hold a secret in the config; secrets never go there: use `token_env` instead"),
        "{got:#?}"
    );
    assert!(
        got.iter()
            .any(|e| e.starts_with("hoist.yaml:8:40: this value looks like a secret")),
        "{got:#?}"
    );
}

#[test]
fn github_credentials() {
    let t = format!(
        "forge:\n  github: {{ owner: acme, repo: gitops, app_id: 1 }}\nstages:\n  dev: {{ auto: true }}\n{SERVICES}"
    );
    assert_errors(&t, &["2:48: app_id needs the App's private key"]);
    let t = format!(
        "forge:\n  github: {{ owner: acme, repo: gitops }}\nstages:\n  dev: {{ auto: true }}\n{SERVICES}"
    );
    assert_errors(
        &t,
        &["2:11: forge.github needs app_id with private_key_file or private_key_env"],
    );
}

#[test]
fn env_var_names_and_urls() {
    let t = format!(
        "{FORGE}webhook_secrets_env: my-secrets\nstages:\n  dev: {{ auto: true }}\n{SERVICES}argocd: {{ url: argocd.local, token_env: T }}\n"
    );
    assert_errors(
        &t,
        &[
            "3:22: \"my-secrets\" is not an environment variable name",
            "10:16: argocd.url \"argocd.local\" must start with https://",
        ],
    );
}

#[test]
fn unknown_fields_are_located() {
    let t = format!("{FORGE}stages:\n  dev: {{ auto: true, autoo: false }}\n{SERVICES}");
    assert_errors(
        &t,
        &["4:22: `autoo` is not a setting here (did you mean auto?)"],
    );
}

#[test]
fn hostile_yaml_is_refused_quickly() {
    // Alias amplification: one anchor referred to far more often than any config needs.
    let refs = vec!["*a"; 500].join(", ");
    let t = format!(
        "{FORGE}merge: {{ required_checks: [&a x] }}\nstages:\n  dev: {{ auto: true }}\n  uat: {{ auto: true, upstream: [{refs}] }}\n{SERVICES}"
    );
    let got = errors(&t);
    assert!(got.len() == 1 && got[0].contains("alias"), "{got:#?}");
    let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
    assert!(!errors(&deep).is_empty());
    let huge = format!("# {}\n", "x".repeat(hoist::config::MAX_CONFIG_BYTES));
    assert!(errors(&huge)[0].contains("the limit is"));
}

#[test]
fn the_schema_file_is_current() {
    let on_disk = std::fs::read_to_string("config/hoist.schema.json").unwrap();
    assert!(
        on_disk == hoist::cli::schema(),
        "config/hoist.schema.json is stale: run `cargo run -q -- config-schema > config/hoist.schema.json`"
    );
}

#[test]
fn check_config_exits_one_with_every_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("hoist.yaml");
    std::fs::write(&p, with_stages("  dev: { auto: true }\n  prod:\n    upstream: [qa]\n    gate: { command: true, promoters: [\"@x\"] }\n")).unwrap();
    let run = |f: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_hoist"))
            .arg("check-config")
            .arg(f)
            .output()
            .unwrap()
    };
    let o = run(&p);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    let f = p.display();
    assert!(
        err.contains(&format!("{f}:6:16: stage \"prod\" has upstream \"qa\"")),
        "{err}"
    );
    assert!(err.contains(&format!("{f}:7:40: promoter \"@x\"")), "{err}");
    assert!(err.contains("2 errors in"), "{err}");
    let o = run(std::path::Path::new("config/hoist.example.yaml"));
    assert!(o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("ok (3 stages: dev, uat, prod; 4 services)")
    );
}

#[test]
fn roots_need_auto_and_images_one_service() {
    let t = with_stages("  dev: { gate: { command: true } }\n");
    assert_errors(
        &t,
        &["4:3: stage \"dev\" is a root (no upstream) but not `auto: true`"],
    );
    let t = format!(
        "{FORGE}stages:\n  dev: {{ auto: true }}\nservices:\n  a: {{ image: reg.io/x, path: \"a/{{stage}}.yaml\" }}\n  b: {{ image: reg.io/x, path: \"b/{{stage}}.yaml\" }}\n"
    );
    assert_errors(&t, &["7:15: services \"a\" and \"b\" use the same image"]);
}

#[test]
fn argocd_apps_need_argocd_and_upstreams_are_listed_once() {
    let t = with_stages(
        "  dev: { auto: true, argocd_app: \"{service}-dev\" }\n  uat: { upstream: [dev, dev], auto: true }\n",
    );
    assert_errors(
        &t,
        &[
            "4:34: stage \"dev\" names an Argo CD app, but there is no `argocd:` section",
            "5:26: stage \"uat\" lists upstream \"dev\" twice",
        ],
    );
}

#[test]
fn names_the_user_chose_are_not_secrets() {
    let t = format!(
        "{FORGE}stages:\n  dev: {{ auto: true }}\nservices:\n  token:\n    image: reg.io/token\n    path: a/{{stage}}.yaml\n"
    );
    assert_errors(&t, &[]);
    let t = format!("{FORGE}webhook_secret: abc\nstages:\n  dev: {{ auto: true }}\n{SERVICES}");
    assert_errors(
        &t,
        &[
            "3:1: `webhook_secret` would hold a secret in the config; secrets never go there: use `webhook_secrets_env` instead",
        ],
    );
}

#[test]
fn a_typo_upstream_is_never_suggested_as_the_stage_itself() {
    let t = with_stages(
        "  dev: { auto: true }\n  uat: { upstream: [dev, uta], gate: { command: true } }\n",
    );
    let got = errors(&t);
    assert!(!got[0].contains("Did you mean \"uat\""), "{got:?}");
}

#[test]
fn a_dangling_or_matches_nothing_silently() {
    let t = format!(
        "{FORGE}stages:\n  dev: {{ auto: true }}\nservices:\n  a:\n    image: reg.io/a\n    path: a/{{stage}}.yaml\n    tags: {{ semver: \">=1.0.0 <2.0.0 ||\" }}\n"
    );
    assert_errors(&t, &["9:21: an alternative around || is empty"]);
}

#[test]
fn the_codecommit_example_config_is_valid() {
    let c = Config::load(std::path::Path::new("config/hoist.codecommit.example.yaml")).unwrap();
    assert!(matches!(c.forge, hoist::config::Forge::Codecommit(_)));
}

#[test]
fn codecommit_rules() {
    let cc = "forge:\n  codecommit:\n    repository: gitops\n    region: us-east-1\n    codeowners_iam:\n      \"@acme/qa\": [\"arn:aws:iam::123456789012:role/qa\", \"qa-role\"]\n      acme: [\"arn:aws:iam::123456789012:user/sam\"]\n";
    let t = format!(
        "{cc}stages:\n  dev: {{ auto: true }}\n  uat:\n    upstream: [dev]\n    gate: {{ command: true, promoters: [\"@acme/qa\", \"@acme/sre\"] }}\n{SERVICES}merge:\n  method: rebase\n  required_checks: [ci]\ndag:\n  break_glass: [alice]\n"
    );
    assert_errors(
        &t,
        &[
            "6:57: \"qa-role\" is not an IAM user or role ARN",
            "7:7: \"acme\" is neither a person (@alice) nor a team (@org/team)",
            "12:52: promoter \"@acme/sre\" has no entry in forge.codecommit.codeowners_iam",
            "18:11: CodeCommit cannot rebase: use squash, merge or fast_forward",
            "19:20: CodeCommit has no checks, so a required check could never pass",
            "21:17: break_glass entry \"alice\" has no entry in forge.codecommit.codeowners_iam",
        ],
    );
}

#[test]
fn github_cannot_fast_forward() {
    let t = format!(
        "{}merge: {{ method: fast_forward }}\n",
        with_stages("  dev: { auto: true }\n")
    );
    assert_errors(&t, &["GitHub cannot merge by fast-forward"]);
}

#[test]
fn the_config_reference_is_current() {
    let on_disk = std::fs::read_to_string("docs/config-reference.md").unwrap();
    assert!(
        on_disk == hoist::cli::config_reference(),
        "docs/config-reference.md is stale: run `cargo run -q -- config-schema --markdown > docs/config-reference.md`"
    );
}

/// A required check names exactly one poster; a plain name loads with a warning, since
/// any GitHub App installed on the repository could post a check run of that name.
#[test]
fn required_checks_name_who_may_post_them() {
    let t = format!(
        "{FORGE}merge:\n  required_checks:\n    - {{ name: ci, app_id: 1, creator: jenkins }}\n    - {{ name: lint }}\nstages:\n  dev: {{ auto: true }}\n{SERVICES}"
    );
    let got = errors(&t);
    assert_eq!(got.len(), 2, "{got:#?}");
    assert!(got[0].ends_with("required check \"ci\" must name exactly one of app_id, app_slug, creator_id, creator: who may post it"), "{got:#?}");
    assert!(
        got[1].contains("\"lint\" must name exactly one of"),
        "{got:#?}"
    );

    let plain = format!(
        "{FORGE}merge:\n  required_checks: [ci, {{ name: build, creator_id: 7 }}, {{ name: lint, app_slug: github-actions }}]\nstages:\n  dev: {{ auto: true }}\n{SERVICES}"
    );
    let c = Config::parse(&plain, "hoist.yaml").unwrap();
    insta::assert_snapshot!(hoist::messages::config_warnings(&c).join("\n"), @r#"
    merge.required_checks[0] "ci" names no poster: a check run of that name from any GitHub App installed on the repository counts, and no commit status does; name the App (app_id or app_slug) or the status's creator (creator_id or creator)
    merge.required_checks[2] "lint" is posted by GitHub Actions, whose App every workflow shares: anyone who can push a workflow to any branch can post it; name a GitHub App of your own
    "#);
}

/// `separate_approver` keeps the requester's own approval from counting; without a
/// code-owner approval to require there is none to keep apart, and the setting did
/// nothing without a word.
#[test]
fn separate_approver_needs_codeowners() {
    let t = with_stages(
        "  dev: { auto: true }\n  uat:\n    upstream: [dev]\n    gate: { command: true, separate_approver: true }\n",
    );
    insta::assert_snapshot!(errors(&t).join("\n"), @r#"hoist.yaml:7:47: stage "uat" sets `separate_approver: true` without `codeowners: true`: there is no approval for it to keep apart from the requester's; add `codeowners: true`, or remove it"#);
}

/// Booleans take YAML 1.2's spelling only: YAML 1.1's `off` and `yes`, and the quoted
/// string `"true"`, are refused at their place, with the spelling to use.
#[test]
fn booleans_take_yaml_1_2_spelling() {
    let errs = |v: &str| errors(&with_stages(&format!("  dev: {{ auto: {v} }}\n"))).join("\n");
    insta::assert_snapshot!(errs("off"), @r#"hoist.yaml:4:16: "off" is text, not a boolean: write true or false, unquoted (in YAML 1.2, which Hoist reads, yes, no, on and off are text too)"#);
    insta::assert_snapshot!(errs("yes"), @r#"hoist.yaml:4:16: "yes" is text, not a boolean: write true or false, unquoted (in YAML 1.2, which Hoist reads, yes, no, on and off are text too)"#);
    insta::assert_snapshot!(errs("\"true\""), @r#"hoist.yaml:4:16: "true" is text, not a boolean: write true or false, unquoted (in YAML 1.2, which Hoist reads, yes, no, on and off are text too)"#);
    assert_eq!(errs("true"), "", "true is a boolean");
}

/// A stage's depth is its distance from a root by its longest way back, whatever order
/// the config lists the stages in (reconcile verifies upstream stages first by it).
#[test]
fn depth_follows_the_dag_not_the_listing() {
    let t = with_stages(
        "  prod:\n    upstream: [uat, qa]\n    gate: { command: true }\n  qa:\n    upstream: [dev]\n    auto: true\n  uat:\n    upstream: [qa]\n    gate: { command: true }\n  dev: { auto: true }\n",
    );
    let c = Config::parse(&t, "hoist.yaml").unwrap_or_else(|e| panic!("{e}"));
    let depths: Vec<(&str, usize)> = c
        .stage_names()
        .into_iter()
        .map(|s| (s, c.depth(s)))
        .collect();
    assert_eq!(depths, [("prod", 3), ("qa", 1), ("uat", 2), ("dev", 0)]);
    assert_eq!(c.depth("gone"), 0);
}

/// What the YAML library says is put in Hoist's words, at the same `FILE:LINE:COL: `
/// prefix as every other error: a key given twice, a number that is not a whole number,
/// a file that ends inside a value.
#[test]
fn yaml_errors_are_said_in_hoists_words() {
    let twice = with_stages("  dev: { auto: true }\n  dev: { auto: true }\n");
    insta::assert_snapshot!(errors(&twice).join("\n"), @"hoist.yaml:5:3: `dev` is given twice in the same mapping: keep one");
    let negative = format!(
        "{}argocd:\n  url: https://argocd.example.com\n  token_env: T\n  health_debounce_seconds: -5\n",
        with_stages("  dev: { auto: true }\n")
    );
    insta::assert_snapshot!(errors(&negative).join("\n"), @r#"hoist.yaml:12:28: "-5" is not a whole number of 0 or more"#);
    let cut = format!("{FORGE}stages:\n  dev: {{ auto: true\n");
    insta::assert_snapshot!(errors(&cut).join("\n"), @"hoist.yaml:4:8: this `{` is never closed with `}`");
    insta::assert_snapshot!(errors("").join("\n"), @"hoist.yaml:1:1: the config is empty: it needs at least `forge`, `stages` and `services` (config/hoist.example.yaml is a start)");
    insta::assert_snapshot!(errors(&format!("{FORGE}stages:\n  dev:\n")).join("\n"), @"hoist.yaml:4:6: expected a mapping here (`key: value` lines, or `{ key: value }`)");
    let unquoted = format!("{FORGE}stages:\n  dev: {{ auto: \"true }}\n");
    insta::assert_snapshot!(errors(&unquoted).join("\n"), @"hoist.yaml:4:16: this quote is never closed");
    // Each of serde's and the YAML parser's own wordings, said in Hoist's.
    let merge = |m: &str| format!("{}merge:\n{m}", with_stages("  dev: { auto: true }\n"));
    let said: Vec<String> = [
        merge("  method: [squash]\n"),
        merge("  method: squish\n"),
        merge("  mehtod: squash\n"),
        merge("  required_checks: [{ nme: ci }]\n"),
        merge("  required_checks: [ci]\n  method: ~\n"),
        format!("forge: [\n{}", &with_stages("  dev: { auto: true }\n")[6..]),
        format!(
            "forge:\n  github: {{ owner: [acme], repo: gitops, token_env: GH_TOKEN }}\n{}",
            &with_stages("  dev: { auto: true }\n")[FORGE.len()..]
        ),
        with_stages("  dev: { auto: [true] }\n"),
        with_stages("  dev: { auto: true }\n\tuat: { auto: true }\n"),
        with_stages("  dev: { auto: true }\n  uat\n"),
        with_stages("  dev: *nothing\n"),
        with_stages("  dev: { auto: \"true\" x }\n"),
        with_stages("  dev: auto: true\n"),
    ]
    .iter()
    .map(|t| errors(t).join("; "))
    .collect();
    insta::assert_snapshot!(said.join("\n"), @"
    hoist.yaml:10:11: expected one word or one `key:` mapping here, not a list
    hoist.yaml:10:11: `squish` is not one of squash, merge, rebase, fast_forward: did you mean squash?
    hoist.yaml:10:3: `mehtod` is not a setting here (did you mean method?); the settings here are method, required_checks
    hoist.yaml:10:21: expected a check's name, or `{ name: NAME, app_slug: APP }` (or app_id, creator, creator_id)
    hoist.yaml:11:11: this needs a value, and has none
    hoist.yaml:1:8: this `[` is never closed with `]`
    hoist.yaml:2:20: expected a single value here (a word, a number or a quoted string), not a list
    hoist.yaml:4:10: expected true or false here, not a list
    hoist.yaml:5:1: a tab character: YAML indents with spaces only
    hoist.yaml:5:3: expected `key: value` on this line (a `:` after the key)
    hoist.yaml:4:8: this alias (*name) names no anchor (&name) before it
    hoist.yaml:4:23: text after the closing quote: put the whole value inside the quotes
    hoist.yaml:4:8: expected a mapping here (`key: value` lines, or `{ key: value }`)
    ");
}

/// Targets: `path` or `targets`, each of one kind, field paths that parse, a first
/// target that pins a whole freight, and no field written twice (by one service or two).
#[test]
fn targets_are_checked_where_they_are_written() {
    let services = r#"services:
  app:
    image: reg.io/app
    path: apps/app/{stage}/k.yaml
    targets:
      - path: apps/app/{stage}/values.yaml
        helm: { tag: image.tag }
  api:
    image: reg.io/api
    kustomize_name: api
    targets:
      - path: charts/api/{stage}/values.yaml
        helm: { tag: api.image.tag, digest: api.image.digest, image: api.image }
      - path: charts/api/{stage}/values.yaml
        helm: { tag: "api.image.tag", digest: "x[" }
        yaml: { image: a.b }
      - path: apps/api/values.yaml
        kustomize_name: api
        helm: { repository: api.image.repository, tag: api.image.repository.x }
  worker:
    image: reg.io/worker
    targets:
      - path: charts/api/{stage}/values.yaml
        yaml: { image: "api.image" }
  idle:
    image: reg.io/idle
"#;
    let t = format!("{FORGE}stages:\n  dev: {{ auto: true }}\n{services}");
    let got = errors(&t);
    insta::assert_snapshot!(got.join("\n"), @r#"
    hoist.yaml:9:5: give either path (one kustomization) or targets, not both
    hoist.yaml:11:15: the first target is where each stage's freight is read, so it needs both a tag and a digest path (or image)
    hoist.yaml:14:5: kustomize_name goes with path; with targets, set it on the kustomization target
    hoist.yaml:17:15: helm's image sets the whole reference; drop repository, tag and digest, or drop image
    hoist.yaml:17:15: helm's tag and image name overlapping values ("api.image"); each must be its own value
    hoist.yaml:18:9: targets 0 and 1 both write api.image.tag in charts/api/dev/values.yaml: remove the duplicate
    hoist.yaml:19:47: path "x[": has a '[' without ']'
    hoist.yaml:20:9: a target is helm or yaml, not both
    hoist.yaml:21:15: path "apps/api/values.yaml" has no {stage}: every stage needs its own overlay
    hoist.yaml:22:9: kustomize_name names a kustomization's images entry; this target is not a kustomization
    hoist.yaml:23:15: helm's repository and tag name overlapping values ("api.image.repository.x"); each must be its own value
    hoist.yaml:27:9: charts/api/dev/values.yaml is a target of "api" and of "worker", and both would write api.image.tag / api.image: one field, one service
    hoist.yaml:29:3: service "idle" has neither path nor targets: name the files that pin its image
    "#);
}

/// Two targets in one file (Helm values naming two images) are edited into one new
/// content: both edits land, in one file change.
#[test]
fn two_targets_in_one_file_are_one_change() {
    let t = format!(
        "{FORGE}stages:\n  dev: {{ auto: true }}\nservices:\n  app:\n    image: reg.io/app\n    targets:\n      - path: v/{{stage}}/values.yaml\n        helm: {{ tag: app.tag, digest: app.digest }}\n      - path: v/{{stage}}/values.yaml\n        helm: {{ image: jobs.migrate.image }}\n"
    );
    let config = Config::parse(&t, "hoist.yaml").unwrap();
    // The shared file is one path to read.
    assert_eq!(
        hoist::plan::Planner::paths(&config, "app", false),
        ["v/dev/values.yaml"]
    );
    let dir = tempfile::tempdir().unwrap();
    let values = "app:\n  tag: v1\n  digest: sha256:1111111111111111111111111111111111111111111111111111111111111111\njobs:\n  migrate:\n    image: reg.io/app:v1@sha256:1111111111111111111111111111111111111111111111111111111111111111\n";
    std::fs::create_dir_all(dir.path().join("v/dev")).unwrap();
    std::fs::write(dir.path().join("v/dev/values.yaml"), values).unwrap();
    let repo = hoist::repo::DirRepo::new(dir.path());
    let planner = hoist::plan::Planner {
        config: &config,
        repo: &repo,
        ledger: &[],
    };
    let digest = format!("sha256:{}", "2".repeat(64));
    let f = hoist::freight::for_push(&config, "reg.io/app", "v2", &digest, "t").unwrap();
    let plan = planner.push(&f, "ecr-push").unwrap();
    let files = &plan.promotions[0].files;
    assert_eq!(files.len(), 1);
    insta::assert_snapshot!(files[0].content, @"
    app:
      tag: v2
      digest: sha256:2222222222222222222222222222222222222222222222222222222222222222
    jobs:
      migrate:
        image: reg.io/app:v2@sha256:2222222222222222222222222222222222222222222222222222222222222222
    ");
}
