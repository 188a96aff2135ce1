//! Where every image stands: `hoist status`'s grid and the status page `hoist serve`
//! shows at `/`, looked at in headless Chromium. (The pipeline in a pull request's body,
//! coloured by state, is asserted whole in tests/engine.rs and tests/codecommit.rs.)

mod support;

use std::process::Command;

use support::tester::*;

/// The target files on the fake forge's base branch, as a checkout would hold them.
fn base_overlays(t: &Tester) -> hoist::repo::MapRepo {
    let mut files = std::collections::HashMap::new();
    for st in t.engine.config.stage_names() {
        for path in t.engine.config.stage_paths(st) {
            if let Some(text) = t.forge.base_file(&path) {
                files.insert(path, text);
            }
        }
    }
    hoist::repo::MapRepo(files)
}

/// dev verified, then `/promote uat` opened #2, which waits for its check.
async fn uat_pending(drive: Drive) -> Tester {
    let mut t = Tester::start(drive).await;
    t.uat_pending().await;
    t
}

#[tokio::test]
async fn the_grid_shows_each_stage_its_state_age_and_what_waits() {
    let t = uat_pending(Drive::Engine).await;
    t.advance(std::time::Duration::from_secs(150));
    let store = &t.engine.store;
    let overlays = base_overlays(&t);
    let grid = hoist::status::grid(
        &t.engine.config,
        Some(store),
        Some(&overlays),
        store.now_ms(),
    )
    .await
    .unwrap();
    insta::assert_snapshot!(hoist::status::render(&grid), @"
    service          dev                  uat                                                                                prod
    my-app-service1  v1.4.0 a1a1a1a       v1.3.2 41828da                                                                     v1.3.0 f356c12
                     verified 2m ago      not merged by Hoist                                                                not merged by Hoist
                                          #2 → v1.4.0, opened 2m ago
                                            https://github.com/acme/gitops/pull/2
                                            waits: render/my-app-service1-uat on 0000000 from the GitHub App acme-gitops-ci
    my-app-service2  2.3.1 aeee700        2.3.1 aeee700                                                                      2.3.0 4e82623
                     not merged by Hoist  not merged by Hoist                                                                not merged by Hoist
    billing-api      2.7.1 ab879b7        2.7.0 ccc6546                                                                      2.6.4 5ec36bb
                     not merged by Hoist  not merged by Hoist                                                                not merged by Hoist
    nightly-report   1.0.3 2bf208a        1.0.2 79f4277                                                                      1.0.2 79f4277
                     not merged by Hoist  not merged by Hoist                                                                not merged by Hoist
    ");
    let json = serde_json::to_value(&grid).unwrap();
    let uat = &json["services"][0]["cells"][1];
    assert_eq!(
        uat["pending"][0]["pr"]["url"],
        "https://github.com/acme/gitops/pull/2"
    );
    assert_eq!(uat["state"], "unrecorded");
    assert_eq!(json["services"][0]["cells"][0]["state"], "verified");
}

/// `hoist status` reads the overlays from a checkout with --repo, and prints JSON with
/// --json; ages are in the store's time, so they are put as AGE here.
#[tokio::test]
async fn hoist_status_reads_the_checkout_and_the_ledger() {
    let t = uat_pending(Drive::Engine).await;
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in base_overlays(&t).0 {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let run = |extra: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_hoist"))
            .args(["status", "--config", "config/hoist.example.yaml", "--db"])
            .arg(t.db())
            .arg("--repo")
            .arg(dir.path())
            .args(extra)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    insta::assert_snapshot!(ages(&run(&[])), @"
    service  dev  uat  prod
    my-app-service1  v1.4.0 a1a1a1a  v1.3.2 41828da  v1.3.0 f356c12
      verified AGE ago  not merged by Hoist  not merged by Hoist
      #2 → v1.4.0, opened AGE ago
      https://github.com/acme/gitops/pull/2
      waits: render/my-app-service1-uat on 0000000 from the GitHub App acme-gitops-ci
    my-app-service2  2.3.1 aeee700  2.3.1 aeee700  2.3.0 4e82623
      not merged by Hoist  not merged by Hoist  not merged by Hoist
    billing-api  2.7.1 ab879b7  2.7.0 ccc6546  2.6.4 5ec36bb
      not merged by Hoist  not merged by Hoist  not merged by Hoist
    nightly-report  1.0.3 2bf208a  1.0.2 79f4277  1.0.2 79f4277
      not merged by Hoist  not merged by Hoist  not merged by Hoist
    ");
    let json: serde_json::Value = serde_json::from_str(&run(&["--json"])).unwrap();
    assert_eq!(json["services"][0]["cells"][0]["tag"], "v1.4.0");
    assert_eq!(json["overlays_read"], true);
}

/// `--repo` that is not a directory names the flag and the path.
#[test]
fn hoist_status_refuses_a_repo_that_is_not_a_directory() {
    let o = Command::new(env!("CARGO_BIN_EXE_hoist"))
        .args([
            "status",
            "--config",
            "config/hoist.example.yaml",
            "--db",
            "/nonexistent/hoist.db",
            "--repo",
            "README.md",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    insta::assert_snapshot!(String::from_utf8_lossy(&o.stderr).trim(), @"error: --repo README.md: not a directory (give a checkout of the base branch)");
}

/// What a person sees in a table of the page: one line per row, cells split by `|`,
/// each cell's lines by `/`.
fn table_text(html: &str, id: &str) -> String {
    let start = html.find(&format!("<table id=\"{id}\"")).unwrap();
    let end = start + html[start..].find("</table>").unwrap();
    let table = &html[start..end];
    let mut out = String::new();
    for row in table.split("<tr").skip(1) {
        // Cells start with `<td` or `<th`; `<tbody>` splits off an empty one.
        let cells: Vec<String> = row
            .split("<t")
            .skip(1)
            .map(|cell| {
                let cell = cell.replace("</div>", " / ");
                let mut text = String::new();
                let mut in_tag = true;
                for c in cell.chars() {
                    match c {
                        '<' => in_tag = true,
                        '>' => in_tag = false,
                        c if !in_tag => text.push(c),
                        _ => {}
                    }
                }
                let text = text.replace("&gt;", ">").replace("&amp;", "&");
                text.trim().trim_end_matches('/').trim().to_owned()
            })
            .filter(|c| !c.is_empty())
            .collect();
        out.push_str(cells.join(" | ").trim());
        out.push('\n');
    }
    out
}

fn chromium(args: &[&str]) -> std::process::Output {
    let o = Command::new("chromium-headless-shell")
        .args(["--no-sandbox", "--disable-gpu", "--hide-scrollbars"])
        .args(args)
        .output()
        .expect("chromium-headless-shell runs (./scripts/test installs it)");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    o
}

/// The page `hoist serve` shows at `/`, loaded in headless Chromium as a person would:
/// the grid as rendered, and a screenshot whose cells show each state's colour.
#[tokio::test(flavor = "multi_thread")]
async fn the_status_page_shows_the_grid_in_a_browser() {
    let t = uat_pending(Drive::Serve).await;
    // A webhook shared with another repository delivers its events too: stored, and
    // never shown on this repository's page.
    t.deliver(hoist::event::Event::CommentCreated {
        repo: hoist::event::RepoRef {
            full_name: "acme/other".into(),
            installation_id: None,
        },
        comment_id: 991,
        body: "/promote uat".into(),
        author: quinn(),
        number: 7,
        is_pull_request: true,
    })
    .await;
    let url = format!("http://{}/", t.served.as_ref().unwrap().addr());
    let dom = tokio::task::block_in_place(|| chromium(&["--dump-dom", &url]));
    let dom = String::from_utf8(dom.stdout).unwrap();
    // Each cell links to its pull request and its Argo CD application.
    let forge_url = t.forge.state.lock().unwrap().served_at.clone().unwrap();
    let links: Vec<String> = dom
        .split("<a href=\"")
        .skip(1)
        .map(|a| {
            let (href, rest) = a.split_once('"').unwrap();
            let text = rest
                .split_once('>')
                .unwrap()
                .1
                .split("</a>")
                .next()
                .unwrap();
            format!("{text} → {}", href.replace(&forge_url, "FAKE"))
        })
        .collect();
    insta::assert_snapshot!(links.join("\n"), @"
    #1 → FAKE/acme/gitops/pull/1
    my-app-service1-dev → FAKE/applications/my-app-service1-dev
    my-app-service1-uat → FAKE/applications/my-app-service1-uat
    #2 → FAKE/acme/gitops/pull/2
    my-app-service1-prod → FAKE/applications/my-app-service1-prod
    my-app-service2-dev → FAKE/applications/my-app-service2-dev
    my-app-service2-uat → FAKE/applications/my-app-service2-uat
    my-app-service2-prod → FAKE/applications/my-app-service2-prod
    billing-api-dev → FAKE/applications/billing-api-dev
    billing-api-uat → FAKE/applications/billing-api-uat
    billing-api-prod → FAKE/applications/billing-api-prod
    nightly-report-dev → FAKE/applications/nightly-report-dev
    nightly-report-uat → FAKE/applications/nightly-report-uat
    nightly-report-prod → FAKE/applications/nightly-report-prod
    ");
    // The last events, newest first, as kind and key; the other repository's is stored
    // (the webhook was taken) and not shown.
    let events: Vec<String> = table_text(&dom, "events")
        .lines()
        .map(|l| {
            l.split(" | ")
                .skip(1)
                .take(2)
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .collect();
    insta::assert_snapshot!(events.join("\n"), @"
    pull_request_opened | pr:acme/gitops#2
    comment_created | pr:acme/gitops#1
    pull_request_closed | pr:acme/gitops#1
    check_completed | pr:acme/gitops#1
    pull_request_opened | pr:acme/gitops#1
    image_pushed | image:123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app-service1
    ");
    assert!(!dom.contains("acme/other"), "{dom}");
    // No secret Hoist holds is on the page.
    for secret in [
        support::serve::SECRET,
        "argo-token",
        support::github_fake::INSTALLATION_TOKEN,
        "PRIVATE KEY",
    ] {
        assert!(!dom.contains(secret), "the page shows {secret}");
    }
    let store = hoist::store::Store::open(t.served.as_ref().unwrap().db()).unwrap();
    let stored = store.recent_events(50).await.unwrap();
    assert!(
        stored.iter().any(|e| e.key == "pr:acme/other#7"),
        "{stored:?}"
    );
    insta::assert_snapshot!(ages(&table_text(&dom, "grid")), @"
    service | dev | uat | prod
    my-app-service1 | v1.4.0 / a1a1a1a / verified AGE ago · #1 / Argo CD: my-app-service1-dev | v1.3.2 / 41828da / not merged by Hoist / Argo CD: my-app-service1-uat / #2 → v1.4.0 opened AGE ago by quinn /  waits: render/my-app-service1-uat on 0000000 from the GitHub App acme-gitops-ci | v1.3.0 / f356c12 / not merged by Hoist / Argo CD: my-app-service1-prod
    my-app-service2 | 2.3.1 / aeee700 / not merged by Hoist / Argo CD: my-app-service2-dev | 2.3.1 / aeee700 / not merged by Hoist / Argo CD: my-app-service2-uat | 2.3.0 / 4e82623 / not merged by Hoist / Argo CD: my-app-service2-prod
    billing-api | 2.7.1 / ab879b7 / not merged by Hoist / Argo CD: billing-api-dev | 2.7.0 / ccc6546 / not merged by Hoist / Argo CD: billing-api-uat | 2.6.4 / 5ec36bb / not merged by Hoist / Argo CD: billing-api-prod
    nightly-report | 1.0.3 / 2bf208a / not merged by Hoist / Argo CD: nightly-report-dev | 1.0.2 / 79f4277 / not merged by Hoist / Argo CD: nightly-report-uat | 1.0.2 / 79f4277 / not merged by Hoist / Argo CD: nightly-report-prod
    ");
    assert!(dom.contains("<meta http-equiv=\"refresh\" content=\"30\">"));

    // `hoist status --live` reads the same overlays from the forge, beside the server.
    let served = t.served.as_ref().unwrap();
    let url_at = t.forge.state.lock().unwrap().served_at.clone().unwrap();
    let live = Command::new(env!("CARGO_BIN_EXE_hoist"))
        .args(["status", "--live", "--json", "--config"])
        .arg(served.cfg())
        .arg("--db")
        .arg(served.db())
        .envs(support::aws_env(&url_at))
        .env("ARGOCD_TOKEN", "argo-token")
        .output()
        .unwrap();
    assert!(
        live.status.success(),
        "{}",
        String::from_utf8_lossy(&live.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&live.stdout).unwrap();
    let cells = &json["services"][0]["cells"];
    assert_eq!(
        (
            &cells[0]["state"],
            &cells[1]["state"],
            &cells[1]["tag"],
            &cells[1]["pending"][0]["pr"]["name"]
        ),
        (
            &"verified".into(),
            &"unrecorded".into(),
            &"v1.3.2".into(),
            &"#2".into()
        ),
    );
    assert_eq!(json["overlays_read"], true);

    let shot = tempfile::tempdir().unwrap();
    let png = shot.path().join("status.png");
    tokio::task::block_in_place(|| {
        chromium(&[
            &format!("--screenshot={}", png.display()),
            "--window-size=1400,700",
            &url,
        ])
    });
    // Kept where a person can look at it after the run.
    let kept = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("status-page.png");
    std::fs::copy(&png, &kept).unwrap();
    let pixels = colours(&png);
    let count = |rgb: [u8; 3]| pixels.iter().filter(|p| **p == rgb).count();
    // Each cell is thousands of pixels: dev verified (green), uat's open pull request
    // (blue), and the cells running what Hoist did not merge (grey).
    let (green, blue, grey) = (
        count([0xd4, 0xed, 0xda]),
        count([0xdb, 0xea, 0xfe]),
        count([0xee, 0xee, 0xee]),
    );
    let seen = format!(
        "green {green}, blue {blue}, grey {grey} in {}",
        kept.display()
    );
    assert!(green > 2000 && blue > 1000 && grey > 2000 * 4, "{seen}");
}

/// Every pixel of a PNG as RGB.
fn colours(path: &std::path::Path) -> Vec<[u8; 3]> {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let step = info.color_type.samples();
    buf[..info.buffer_size()]
        .chunks(step)
        .map(|p| [p[0], p[1], p[2]])
        .collect()
}
