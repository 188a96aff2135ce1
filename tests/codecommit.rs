//! The promotion engine on CodeCommit: the real `aws-sdk-codecommit` client against the
//! CodeCommit test server over a real git repository, fed the EventBridge events the
//! server emits, through the same decoder `hoist serve` uses. The same scenarios as
//! `tests/engine.rs` runs on the in-memory GitHub forge, plus what only CodeCommit has.

mod support;

use std::sync::Mutex;

use aws_sdk_codecommit::types::ApprovalState;
use hoist::config::Config;
use hoist::event::Event;
use hoist::forge::Forge;
use hoist::forge::codecommit::CodeCommit;
use hoist::worker::{Handler, HandlerError};
use support::codecommit_fake::CodeCommitFake;
use support::matrix::Outcome;
use support::memory_forge::MemoryArgo;
use support::tester::{IMAGE, Side, Tester, digest};

const DEV: &str = "apps/my-app-service1/env/dev/kustomization.yaml";
const PROD: &str = "apps/my-app-service1/env/prod/kustomization.yaml";

const HOIST: (&str, &str) = (
    "AKIDHOIST",
    "arn:aws:sts::123456789012:assumed-role/hoist/i-0abc",
);
const QUINN: (&str, &str) = (
    "AKIDQUINN",
    "arn:aws:sts::123456789012:assumed-role/qa/quinn@example.com",
);
const SAM: (&str, &str) = ("AKIDSAM", "arn:aws:iam::123456789012:user/sam");
const ALICE: (&str, &str) = ("AKIDALICE", "arn:aws:iam::123456789012:user/alice");
const MALLORY: (&str, &str) = ("AKIDMALLORY", "arn:aws:iam::123456789012:user/mallory");

/// The example config on CodeCommit: code owners and promoters mapped to IAM, no
/// required checks (CodeCommit has none), Argo CD's debounce off.
fn config() -> Config {
    Config::parse(&config_text(), "hoist.yaml").unwrap_or_else(|e| panic!("{e:?}"))
}

fn config_text() -> String {
    let text = std::fs::read_to_string("config/hoist.example.yaml").unwrap();
    let start = text.find("forge:\n").unwrap();
    let end = text.find("# Comma-separated").unwrap();
    let forge = r#"forge:
  codecommit:
    repository: gitops
    region: us-east-1
    codeowners_iam:
      "@acme/qa": ["arn:aws:iam::123456789012:role/qa"]
      # The requester is a code owner too: their approval still must not count.
      "@acme/sre": ["arn:aws:iam::123456789012:user/sam", "arn:aws:iam::123456789012:role/qa"]
      "@acme/sre-leads": ["arn:aws:iam::123456789012:user/sam"]

"#;
    format!("{}{forge}{}", &text[..start], &text[end..])
        .replace(
            "  required_checks:\n    - { name: \"render/{service}-{stage}\", app_slug: acme-gitops-ci }\n",
            "",
        )
        .replace(
            "token_env: ARGOCD_TOKEN",
            "token_env: ARGOCD_TOKEN\n  health_debounce_seconds: 0",
        )
}

/// The CodeCommit side of the tester: the CodeCommit test server, whose EventBridge
/// events reach Hoist through the decoder `hoist serve` uses.
struct Cc {
    fake: CodeCommitFake,
    /// Events Hoist answered "not yet" to, as the queue would hold them.
    waiting: Mutex<Vec<Event>>,
}

impl Side for Cc {
    type Forge = CodeCommit;

    /// Hoist's replies: not its check comments or its records of the heads it wrote.
    fn replies(&self) -> Vec<(u64, String)> {
        let s = self.fake.state.lock().unwrap();
        s.comments
            .iter()
            .filter(|c| c.author == HOIST.1)
            .filter(|c| {
                !c.content.contains("<!-- hoist:check ")
                    && !c.content.contains("<!-- hoist:record ")
            })
            .map(|c| (c.pr, c.content.clone()))
            .collect()
    }

    /// Hoist's check comments, by their first line (CodeCommit has no check runs).
    /// Reactions are not a stream here: CodeCommit keeps one per comment and caller,
    /// with no order, and the tests read them directly.
    fn checks(&self) -> Vec<(u64, String)> {
        let s = self.fake.state.lock().unwrap();
        s.comments
            .iter()
            .filter(|c| c.author == HOIST.1 && c.content.contains("<!-- hoist:check "))
            .map(|c| {
                (
                    c.pr,
                    c.content.lines().next().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }

    async fn handle(t: &Tester<Self>, ev: &Event) -> Option<String> {
        let why = match t.engine.handle(ev.clone()).await {
            Ok(()) => return None,
            Err(HandlerError::Waiting(why) | HandlerError::WaitingUntil(why, _)) => why,
            Err(HandlerError::Retryable(e)) => format!("retry: {e}"),
            Err(e) => panic!("handler failed: {e}"),
        };
        t.waiting.lock().unwrap().push(ev.clone());
        Some(why)
    }

    /// Every event CodeCommit emitted, through the EventBridge decoder, until there are
    /// none.
    async fn after(t: &Tester<Self>, _: usize) {
        loop {
            let events = t.fake.take_events();
            if events.is_empty() {
                return;
            }
            for e in events {
                let (_, ev) = hoist::event::eventbridge::decode(e.to_string().as_bytes()).unwrap();
                t.deliver(ev).await;
            }
        }
    }

    fn prs(&self) -> usize {
        self.fake.state.lock().unwrap().prs.len()
    }

    /// Commit ids: the test server's commits are real git commits, whose ids change
    /// with the time they are made.
    fn redact(&self, text: &str) -> String {
        let sha = regex::Regex::new(r"\b[0-9a-f]{7}\b").unwrap();
        sha.replace_all(text, "SHA").into_owned()
    }
}

impl Tester<Cc> {
    async fn cc() -> Self {
        Self::cc_with(std::path::Path::new("examples/gitops"), config()).await
    }

    /// `cc`, on a repository made from `dir` and with `config`.
    async fn cc_with(dir: &std::path::Path, config: Config) -> Self {
        let fake = CodeCommitFake::start("gitops", dir, &[HOIST, QUINN, SAM, ALICE, MALLORY]).await;
        let hoist::config::Forge::Codecommit(cc) = &config.forge else {
            unreachable!()
        };
        let forge = CodeCommit::connect(&fake.sdk_config(HOIST.0), cc, config.merge.method)
            .await
            .unwrap();
        assert_eq!(forge.me().login, HOIST.1, "Hoist learns who it is from STS");
        let side = Cc {
            fake,
            waiting: Mutex::default(),
        };
        Tester::with(side, forge, config, "gitops", MemoryArgo::default())
    }

    /// A merge into `stage` waits for Argo CD, which has not synced it yet: CodeCommit
    /// tells of a merge twice (its merge status, then the pull request's closing), and
    /// each waits.
    #[track_caller]
    fn expect_merge_waits(&self, stage: &str) {
        self.expect_merge_waits_for(&format!(
            "Argo CD has no application my-app-service1-{stage}"
        ));
    }

    /// A merge's two events each waited for `wait`.
    #[track_caller]
    fn expect_merge_waits_for(&self, wait: &str) {
        self.expect_waits(&format!("{wait}\n{wait}"));
    }

    /// Delivers what CodeCommit emitted since the last delivery.
    async fn pump(&self) {
        Cc::after(self, 0).await;
    }

    /// The queue's retry of everything that waited.
    async fn retry(&self) {
        let waiting = std::mem::take(&mut *self.waiting.lock().unwrap());
        for ev in waiting {
            self.deliver(ev).await;
        }
    }

    /// `who` comments on pull request `pr` through the CodeCommit API; the comment id.
    async fn comment(&self, pr: u64, who: (&str, &str), body: &str) -> String {
        let p = self.fake.pr(pr);
        let out = self
            .fake
            .client(who.0)
            .post_comment_for_pull_request()
            .pull_request_id(pr.to_string())
            .repository_name("gitops")
            .before_commit_id(&p.dest_commit)
            .after_commit_id(&p.source_commit)
            .content(body)
            .send()
            .await
            .unwrap();
        self.pump().await;
        out.comment.unwrap().comment_id.unwrap()
    }

    async fn approve(&self, pr: u64, who: (&str, &str)) {
        let c = self.fake.client(who.0);
        let p = c
            .get_pull_request()
            .pull_request_id(pr.to_string())
            .send()
            .await
            .unwrap()
            .pull_request
            .unwrap();
        c.update_pull_request_approval_state()
            .pull_request_id(pr.to_string())
            .revision_id(p.revision_id.unwrap())
            .approval_state(ApprovalState::Approve)
            .send()
            .await
            .unwrap();
        self.pump().await;
    }

    /// Argo CD syncs the stage's app to the merge; the waiting merge event is retried.
    async fn argo_syncs(&self, pr: u64, stage: &str, seed: &str) {
        let merge = self.fake.pr(pr).merge_commit.expect("merged");
        self.argo.synced(
            &format!("my-app-service1-{stage}"),
            &merge,
            &format!("{IMAGE}@{}", digest(seed)),
        );
        self.retry().await;
    }

    fn open(&self, pr: u64) -> bool {
        self.fake.pr(pr).open
    }

    /// Hoist's check comments on `pr`, each as it reads now.
    fn check_comments(&self, pr: u64) -> Vec<String> {
        self.fake
            .comments_by(pr, HOIST.1)
            .into_iter()
            .filter(|c| c.contains("<!-- hoist:check "))
            .collect()
    }

    /// dev verified at v1.4.0 (PR 1).
    async fn dev_verified(&mut self) {
        self.push("v1.4.0", "a1").await;
        assert!(!self.open(1), "dev merges without a human");
        self.expect_merge_waits("dev");
        self.argo_syncs(1, "dev", "a1").await;
        insta::allow_duplicates! {
            insta::assert_snapshot!(self.said(), @"
            #1: ✅ Verified in **dev**: my-app-service1 v1.4.0 is Synced and Healthy at SHA (Argo CD app my-app-service1-dev). Next: comment /promote uat.
            ---
            check: ✅ **hoist/argocd**: Ready to merge (at `SHA`)
            check: ✅ **hoist/dag**: No gated image values change (at `SHA`)
            ")
        };
    }
}

#[tokio::test]
async fn the_full_path_dev_uat_prod_on_codecommit() {
    let mut t = Tester::cc().await;
    t.push("v1.4.0", "a1").await;
    let pr = t.fake.pr(1);
    assert_eq!(
        (
            pr.source_ref.as_str(),
            pr.title.as_str(),
            pr.author.as_str()
        ),
        (
            "refs/heads/hoist/dev/my-app-service1",
            "Promote my-app-service1 v1.4.0 to dev",
            HOIST.1
        )
    );
    // Dev has no human gate: merged by squash once Argo CD renders the head.
    assert!(!t.open(1));
    let main = t.fake.file_at("main", DEV).unwrap();
    assert!(main.contains("newTag: v1.4.0   # promoted by Hoist") && main.contains(&digest("a1")));
    let log = t.fake.log("main");
    assert_eq!(log.len(), 2, "one squashed commit on main: {log:?}");
    assert_eq!(
        log[0],
        (
            "Promote my-app-service1 v1.4.0 to dev".to_owned(),
            "hoist".to_owned()
        )
    );
    // Both checks are comments on CodeCommit, one each, edited in place.
    let checks: Vec<String> = t
        .check_comments(1)
        .iter()
        .map(|c| t.redact(c.lines().next().unwrap()))
        .collect();
    insta::assert_snapshot!(checks.join("\n"), @"
    ✅ **hoist/dag**: No gated image values change (at `SHA`)
    ✅ **hoist/argocd**: Ready to merge (at `SHA`)
    ");
    // Merged, not verified yet: one comment says what Hoist waits for, and is edited
    // into the verification.
    t.expect_merge_waits("dev");
    insta::assert_snapshot!(t.said(), @"
    #1: ⏳ Deploying to **dev**: merged as `SHA`; Argo CD app [my-app-service1-dev](ARGOCD/applications/my-app-service1-dev): Argo CD has no application my-app-service1-dev. Hoist looks again and updates this comment.
    ---
    check: ✅ **hoist/argocd**: Ready to merge (at `SHA`)
    check: ✅ **hoist/dag**: No gated image values change (at `SHA`)
    ");
    t.argo_syncs(1, "dev", "a1").await;
    insta::assert_snapshot!(t.said(), @"#1, edited: ✅ Verified in **dev**: my-app-service1 v1.4.0 is Synced and Healthy at SHA (Argo CD app my-app-service1-dev). Next: comment /promote uat.");

    let c = t.comment(1, QUINN, "/promote uat").await;
    insta::assert_snapshot!(t.said(), @"
    #1: 🚀 Opened #2 to promote my-app-service1 v1.4.0 to **uat**.
    ---
    #2: ⏳ Deploying to **uat**: merged as `SHA`; Argo CD app [my-app-service1-uat](ARGOCD/applications/my-app-service1-uat): Argo CD has no application my-app-service1-uat. Hoist looks again and updates this comment.
    ---
    check: ✅ **hoist/argocd**: Ready to merge (at `SHA`)
    check: ✅ **hoist/dag**: No gated image values change (at `SHA`)
    ");
    let reactions = t.fake.state.lock().unwrap().reactions.clone();
    assert_eq!(
        reactions.get(&(c, HOIST.1.to_owned())).map(String::as_str),
        Some(":rocket:"),
        "one reaction per caller: done replaces received"
    );
    assert!(!t.open(2), "uat's gate was the /promote by @acme/qa");
    // CodeCommit renders no Mermaid: the pipeline is a table, dev's state from the ledger.
    let body = t.fake.pr(2).description;
    assert!(!body.contains("```mermaid"), "{body}");
    let table: Vec<&str> = body
        .lines()
        .skip_while(|l| !l.starts_with("| Stage |"))
        .take_while(|l| l.starts_with('|'))
        .collect();
    insta::assert_snapshot!(table.join("\n"), @"
    | Stage | Runs | State |
    |---|---|---|
    | dev | `v1.4.0` | verified |
    | uat | `v1.4.0 ⏳` | this pull request |
    | prod | `v1.3.0` | not merged by Hoist |
    ");
    t.expect_merge_waits("uat");
    t.argo_syncs(2, "uat", "a1").await;
    insta::assert_snapshot!(t.said(), @"#2, edited: ✅ Verified in **uat**: my-app-service1 v1.4.0 is Synced and Healthy at SHA (Argo CD app my-app-service1-uat). Next: comment /promote prod.");

    t.comment(2, QUINN, "/promote prod").await;
    assert!(t.open(3), "prod waits for a code owner");
    insta::assert_snapshot!(t.said(), @"
    #2: 🚀 Opened #3 to promote my-app-service1 v1.4.0 to **prod**.
    ---
    #3: ⏳ Waiting for an approval from a code owner of apps/my-app-service1/env/prod/ (@acme/sre). @arn:aws:sts::123456789012:assumed-role/qa/quinn@example.com requested this promotion, so their approval does not count.
    ---
    check: ⏳ **hoist/argocd**: Waiting (at `SHA`)
    check: ✅ **hoist/dag**: No gated image values change (at `SHA`)
    ");
    t.approve(3, ALICE).await;
    assert!(t.open(3), "alice is not a code owner");
    t.approve(3, QUINN).await;
    assert!(
        t.open(3),
        "the requester's approval does not count, owner or not"
    );
    insta::assert_snapshot!(t.said(), @"");
    t.approve(3, SAM).await;
    assert!(!t.open(3), "a code owner approved the head");
    assert!(
        t.fake
            .file_at("main", PROD)
            .unwrap()
            .contains(&digest("a1")),
        "the digest verified in uat reached prod"
    );
    t.expect_merge_waits("prod");
    t.argo_syncs(3, "prod", "a1").await;
    insta::assert_snapshot!(t.said(), @"
    #3: ✅ Verified in **prod**: my-app-service1 v1.4.0 is Synced and Healthy at SHA (Argo CD app my-app-service1-prod).
    ---
    check, edited: ✅ **hoist/argocd**: Ready to merge (at `SHA`)
    ");
    assert_eq!(
        t.fake.log("main").len(),
        4,
        "three promotions, three commits"
    );
}

#[tokio::test]
async fn refusals_on_codecommit() {
    let mut t = Tester::cc().await;
    t.dev_verified().await;

    // Not in @acme/qa, the only promoters of uat.
    let c = t.comment(1, MALLORY, "/promote uat").await;
    insta::assert_snapshot!(t.said(), @"#1: ⛔ @arn:aws:iam::123456789012:user/mallory, promoting to **uat** needs write access to gitops and membership in @acme/qa.");
    assert_eq!(
        t.fake
            .state
            .lock()
            .unwrap()
            .reactions
            .get(&(c, HOIST.1.to_owned()))
            .map(String::as_str),
        Some(":confused:")
    );
    // Skipping uat.
    t.comment(1, QUINN, "/promote prod").await;
    insta::assert_snapshot!(t.said(), @"#1: ⛔ /promote prod refused: prod takes freight from **uat**, and v1.4.0 (sha256:a1a1a1…a1a1) is verified in **dev** only. Promote it to uat first with /promote uat.");
    assert_eq!(t.fake.state.lock().unwrap().prs.len(), 1, "nothing opened");

    // Through uat to a prod pull request held for its approval.
    t.comment(1, QUINN, "/promote uat").await;
    t.expect_merge_waits("uat");
    t.argo_syncs(2, "uat", "a1").await;
    t.comment(2, QUINN, "/promote prod").await;
    assert!(t.open(3));
    insta::assert_snapshot!(t.said(), @"
    #1: 🚀 Opened #2 to promote my-app-service1 v1.4.0 to **uat**.
    ---
    #2: ✅ Verified in **uat**: my-app-service1 v1.4.0 is Synced and Healthy at SHA (Argo CD app my-app-service1-uat). Next: comment /promote prod.
    ---
    #2: 🚀 Opened #3 to promote my-app-service1 v1.4.0 to **prod**.
    ---
    #3: ⏳ Waiting for an approval from a code owner of apps/my-app-service1/env/prod/ (@acme/sre). @arn:aws:sts::123456789012:assumed-role/qa/quinn@example.com requested this promotion, so their approval does not count.
    ---
    check: ✅ **hoist/argocd**: Ready to merge (at `SHA`)
    check: ⏳ **hoist/argocd**: Waiting (at `SHA`)
    check: ✅ **hoist/dag**: No gated image values change (at `SHA`)
    check: ✅ **hoist/dag**: No gated image values change (at `SHA`)
    ");

    // A person's commit on Hoist's branch: CodeCommit resets approvals on a new
    // revision, Hoist says why once, and nothing merges even with an owner's approval.
    let file = t.fake.file_at("hoist/prod/my-app-service1", PROD).unwrap();
    t.commit_as(
        MALLORY,
        ("mallory", "mallory@example.com"),
        PROD,
        &format!("{file}# hi\n"),
    )
    .await;
    t.approve(3, SAM).await;
    assert!(t.open(3), "a head Hoist did not write is never merged");
    insta::assert_snapshot!(t.said(), @"
    #3: ✋ SHA on hoist/prod/my-app-service1 is not a commit Hoist made for this promotion, so Hoist will not merge it. Merge or close this PR yourself, or delete the branch to let Hoist recreate it.
    ---
    check, edited: ✅ **hoist/dag**: No gated image values change (at `SHA`)
    ");
}

#[tokio::test]
async fn codecommit_approval_rules_hold_the_merge() {
    let mut t = Tester::prod_pr().await;
    t.fake.require_approvals(3, 2);
    t.approve(3, SAM).await;
    assert!(t.open(3), "the repository's rule wants two approvals");
    insta::assert_snapshot!(t.said(), @"check, edited: ✅ **hoist/argocd**: Ready to merge (at `SHA`)");
    t.approve(3, ALICE).await;
    assert!(!t.open(3), "two approvals, one of them a code owner's");
    t.expect_merge_waits("prod");
    insta::assert_snapshot!(t.said(), @"#3: ⏳ Deploying to **prod**: merged as `SHA`; Argo CD app [my-app-service1-prod](ARGOCD/applications/my-app-service1-prod): Argo CD has no application my-app-service1-prod. Hoist looks again and updates this comment.");
}

/// A newer freight promoted to a stage with an open pull request: CodeCommit cannot force
/// a branch back, and deleting a branch closes its pull requests, so Hoist closes the
/// old one, starts the branch afresh at the base (never building on what was there),
/// and opens a new one, to which a hold on the old one passes.
#[tokio::test]
async fn a_newer_promotion_replaces_the_open_pull_request_and_keeps_its_hold() {
    let mut t = Tester::prod_pr().await;
    t.comment(3, SAM, "/hold").await;
    insta::assert_snapshot!(t.said(), @"#3: ⏸️ Held by @arn:aws:iam::123456789012:user/sam. Hoist will not merge this PR until someone comments /unhold.");
    // v1.5.0 verified in dev and uat, then promoted to prod.
    t.newer_freight_to_prod().await;
    assert!(!t.open(3), "the old prod PR is closed");
    insta::assert_snapshot!(t.said(), @"
    #4: ✅ Verified in **dev**: my-app-service1 v1.5.0 is Synced and Healthy at SHA (Argo CD app my-app-service1-dev). Next: comment /promote uat.
    ---
    #4: 🚀 Opened #5 to promote my-app-service1 v1.5.0 to **uat**.
    ---
    #5: ✅ Verified in **uat**: my-app-service1 v1.5.0 is Synced and Healthy at SHA (Argo CD app my-app-service1-uat). Next: comment /promote prod.
    ---
    #3: ♻️ Superseded by #6, which promotes v1.5.0: this pull request is closed, and a hold on it holds #6.
    ---
    #5: 🚀 Opened #6 to promote my-app-service1 v1.5.0 to **prod**.
    ---
    #6: ⏳ Waiting for an approval from a code owner of apps/my-app-service1/env/prod/ (@acme/sre). @arn:aws:sts::123456789012:assumed-role/qa/quinn@example.com requested this promotion, so their approval does not count.
    ---
    check: ✅ **hoist/argocd**: Ready to merge (at `SHA`)
    check: ✅ **hoist/argocd**: Ready to merge (at `SHA`)
    check: ⏳ **hoist/argocd**: Waiting (at `SHA`)
    check: ✅ **hoist/dag**: No gated image values change (at `SHA`)
    check: ✅ **hoist/dag**: No gated image values change (at `SHA`)
    check: ✅ **hoist/dag**: No gated image values change (at `SHA`)
    ");
    let pr = t.fake.pr(6);
    assert!(pr.open);
    assert_eq!(pr.title, "Promote my-app-service1 v1.5.0 to prod");
    assert_eq!(
        t.fake.log(&pr.source_commit)[1..],
        t.fake.log("main")[..],
        "the new head's one parent is the base"
    );
    assert!(
        t.fake
            .file_at(&pr.source_commit, PROD)
            .unwrap()
            .contains(&digest("b2"))
    );
    t.approve(6, SAM).await;
    assert!(t.open(6), "the hold passed to #6");
    t.comment(6, SAM, "/unhold").await;
    assert!(!t.open(6));
    t.expect_merge_waits("prod");
    insta::assert_snapshot!(t.said(), @"
    #6: ▶️ Released by @arn:aws:iam::123456789012:user/sam. Hoist merges this PR once its gate and checks pass.
    ---
    #6: ⏳ Deploying to **prod**: merged as `SHA`; Argo CD app [my-app-service1-prod](ARGOCD/applications/my-app-service1-prod): Argo CD has no application my-app-service1-prod. Hoist looks again and updates this comment.
    ---
    check, edited: ✅ **hoist/argocd**: Ready to merge (at `SHA`)
    ");
    assert!(
        t.fake
            .file_at("main", PROD)
            .unwrap()
            .contains(&digest("b2"))
    );
}

/// The published CodeCommit payloads decode: the EventBridge events through Hoist's
/// decoder (in `tests/conformance.rs`), the API answers through the SDK and Hoist's
/// reading of them here.
#[tokio::test]
async fn published_api_answers_decode() {
    let t = Tester::cc().await;
    let dir = std::path::Path::new("tests/fixtures/aws/codecommit");
    let load = |name: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join(name)).unwrap()).unwrap()
    };
    {
        let mut s = t.fake.state.lock().unwrap();
        for op in [
            "GetFile",
            "GetPullRequestApprovalStates",
            "MergePullRequestBySquash",
            "CreateCommit",
            "CreatePullRequest",
            "PostCommentForPullRequest",
        ] {
            s.canned.insert(op.into(), load(&format!("api.{op}.json")));
        }
        // The published GetFile answer shows its content as `IyBQaHVzEXAMPLE`, which is
        // not base64 (the SDK refuses it): only that placeholder is replaced.
        let get_file = s.canned.get_mut("GetFile").unwrap();
        assert_eq!(get_file["fileContent"], "IyBQaHVzEXAMPLE");
        get_file["fileContent"] = "IyBQaHVzIGEgUkVBRE1FCg==".into();
        // The published PostCommentForPullRequest answer gives `reactionCounts` as a
        // list; the API's shape (and the SDK) has a map of reaction to count.
        let posted = s.canned.get_mut("PostCommentForPullRequest").unwrap();
        assert_eq!(posted["comment"]["reactionCounts"], serde_json::json!([]));
        posted["comment"]["reactionCounts"] = serde_json::json!({});
        s.canned.insert(
            "GetPullRequest".into(),
            load("api.MergePullRequestBySquash.json"),
        );
    }
    let f = &t.engine.forge;
    let file = f.read_file("README.md", "main").await.unwrap().unwrap();
    assert_eq!(file, "# Phus a README\n");
    let merged = f.pull_request(47).await.unwrap();
    assert_eq!(
        (merged.state, merged.head_ref.as_str()),
        (hoist::forge::PrState::Merged, "variables-branch")
    );
    let reviews = f.reviews(47).await.unwrap();
    assert_eq!(
        reviews[0].reviewer.login,
        "arn:aws:iam::123456789012:user/Mary_Major"
    );
    let created = f.create_pull_request("b", "t", "d").await.unwrap();
    assert!(created.number > 0);
    let c = t.fake.client(HOIST.0);
    let commit = c
        .create_commit()
        .repository_name("gitops")
        .branch_name("main")
        .send()
        .await
        .unwrap();
    assert!(commit.commit_id.is_some());
    let posted = c
        .post_comment_for_pull_request()
        .pull_request_id("1")
        .repository_name("gitops")
        .before_commit_id("a")
        .after_commit_id("b")
        .content("x")
        .send()
        .await
        .unwrap();
    assert!(posted.comment.unwrap().comment_id.is_some());
}

#[tokio::test]
async fn an_edited_comment_runs_no_command_but_a_reply_does() {
    let mut t = Tester::cc().await;
    t.dev_verified().await;
    let id = t.comment(1, QUINN, "looks good").await;
    t.fake
        .client(QUINN.0)
        .update_comment()
        .comment_id(&id)
        .content("/promote uat")
        .send()
        .await
        .unwrap();
    t.pump().await;
    assert_eq!(
        t.fake.state.lock().unwrap().prs.len(),
        1,
        "an edit is not a command"
    );
    assert_eq!(t.said(), "", "an edit is answered by nothing");
    t.comment(1, QUINN, "/promote uat").await;
    insta::assert_snapshot!(t.said(), @"
    #1: 🚀 Opened #2 to promote my-app-service1 v1.4.0 to **uat**.
    ---
    #2: ⏳ Deploying to **uat**: merged as `SHA`; Argo CD app [my-app-service1-uat](ARGOCD/applications/my-app-service1-uat): Argo CD has no application my-app-service1-uat. Hoist looks again and updates this comment.
    ---
    check: ✅ **hoist/argocd**: Ready to merge (at `SHA`)
    check: ✅ **hoist/dag**: No gated image values change (at `SHA`)
    ");
    t.expect_merge_waits("uat");
}

#[tokio::test]
async fn a_merge_codecommit_refuses_is_explained_once() {
    let mut t = Tester::prod_pr().await;
    // Someone changes the same line of prod's overlay on main meanwhile.
    let main = t.fake.tip("main").unwrap();
    let file = t.fake.file_at("main", PROD).unwrap();
    let edited = file.replacen("newTag:", "newTag: v0.9.9 #", 1);
    assert_ne!(edited, file);
    t.fake
        .client(SAM.0)
        .create_commit()
        .repository_name("gitops")
        .branch_name("main")
        .parent_commit_id(main)
        .author_name("sam")
        .email("sam@example.com")
        .commit_message("pin prod")
        .put_files(
            aws_sdk_codecommit::types::PutFileEntry::builder()
                .file_path(PROD)
                .file_content(aws_smithy_types::Blob::new(edited))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    t.approve(3, SAM).await;
    assert!(t.open(3));
    insta::assert_snapshot!(t.said(), @"
    #3: ❌ Everything was ready, but the forge refused to merge SHA: ManualMergeRequiredException: the branches conflict (the branch conflicts with the base: resolve it, or close the pull request and let Hoist open a new one)
    ---
    check, edited: ✅ **hoist/argocd**: Ready to merge (at `SHA`)
    ");
    // Told once, however often it is evaluated again.
    t.approve(3, ALICE).await;
    assert_eq!(t.said(), "", "told once");
}

/// A writer pushes a commit onto Hoist's open prod branch, typing Hoist's own author
/// name and e-mail (anyone can). Hoist knows the commits it wrote from its store, not
/// from authorship: when the next promotion to prod comes, it does not build on that
/// commit, says so, and nothing of it is merged.
#[tokio::test]
async fn a_commit_authored_as_hoist_by_someone_else_is_never_built_upon() {
    let mut t = Tester::prod_pr().await;
    let branch = "hoist/prod/my-app-service1";
    let replicas = "apps/my-app-service1/env/prod/replicas.yaml";
    let theirs = t
        .commit_as(
            ALICE,
            ("hoist", "hoist@noreply.codecommit"),
            replicas,
            "replicas: 0\n",
        )
        .await;
    insta::assert_snapshot!(t.said(), @"
    #3: ✋ SHA on hoist/prod/my-app-service1 is not a commit Hoist made for this promotion, so Hoist will not merge it. Merge or close this PR yourself, or delete the branch to let Hoist recreate it.
    ---
    check, edited: ✅ **hoist/dag**: No gated image values change (at `SHA`)
    ");
    // v1.5.0 comes through dev and uat, and is promoted to prod.
    t.newer_freight_to_prod().await;
    assert_eq!(
        t.fake.tip(branch).unwrap(),
        theirs,
        "their commit is left alone"
    );
    // Authored as Hoist, and said so: never taken for Hoist's own push.
    insta::assert_snapshot!(t.said(), @"
    #4: ✅ Verified in **dev**: my-app-service1 v1.5.0 is Synced and Healthy at SHA (Argo CD app my-app-service1-dev). Next: comment /promote uat.
    ---
    #4: 🚀 Opened #5 to promote my-app-service1 v1.5.0 to **uat**.
    ---
    #5: ✅ Verified in **uat**: my-app-service1 v1.5.0 is Synced and Healthy at SHA (Argo CD app my-app-service1-uat). Next: comment /promote prod.
    ---
    #3: ✋ hoist/prod/my-app-service1 has a commit Hoist did not write: SHA (authored as hoist <hoist@noreply.codecommit>). Hoist will not overwrite it: merge or close this PR yourself, or delete the branch to let Hoist recreate it.
    ---
    #5: ✋ hoist/prod/my-app-service1 has a commit Hoist did not write: SHA (authored as hoist <hoist@noreply.codecommit>). Hoist will not overwrite it: merge or close this PR yourself, or delete the branch to let Hoist recreate it.
    ---
    check: ✅ **hoist/argocd**: Ready to merge (at `SHA`)
    check: ✅ **hoist/argocd**: Ready to merge (at `SHA`)
    check: ✅ **hoist/dag**: No gated image values change (at `SHA`)
    check: ✅ **hoist/dag**: No gated image values change (at `SHA`)
    ");
    t.approve(3, SAM).await;
    assert!(t.open(3), "a head Hoist did not write is never merged");
    assert_eq!(t.said(), "", "said once");
    assert_ne!(
        t.fake.file_at("main", replicas).as_deref(),
        Some("replicas: 0\n")
    );
}

impl Tester<Cc> {
    /// dev and uat verified, and quinn's `/promote prod` opened #3, held for a code
    /// owner's approval.
    async fn prod_pr() -> Self {
        Self::prod_pr_on(Self::cc().await).await
    }

    /// `prod_pr`, on tester `t`.
    async fn prod_pr_on(mut t: Self) -> Self {
        t.dev_verified().await;
        t.comment(1, QUINN, "/promote uat").await;
        t.expect_merge_waits("uat");
        t.argo_syncs(2, "uat", "a1").await;
        t.comment(2, QUINN, "/promote prod").await;
        assert!(t.open(3));
        insta::allow_duplicates! {
            insta::assert_snapshot!(t.said(), @"
            #1: 🚀 Opened #2 to promote my-app-service1 v1.4.0 to **uat**.
            ---
            #2: ✅ Verified in **uat**: my-app-service1 v1.4.0 is Synced and Healthy at SHA (Argo CD app my-app-service1-uat). Next: comment /promote prod.
            ---
            #2: 🚀 Opened #3 to promote my-app-service1 v1.4.0 to **prod**.
            ---
            #3: ⏳ Waiting for an approval from a code owner of apps/my-app-service1/env/prod/ (@acme/sre). @arn:aws:sts::123456789012:assumed-role/qa/quinn@example.com requested this promotion, so their approval does not count.
            ---
            check: ✅ **hoist/argocd**: Ready to merge (at `SHA`)
            check: ⏳ **hoist/argocd**: Waiting (at `SHA`)
            check: ✅ **hoist/dag**: No gated image values change (at `SHA`)
            check: ✅ **hoist/dag**: No gated image values change (at `SHA`)
            ")
        };
        t
    }

    /// v1.5.0 pushed, verified in dev (#4) and uat (#5), and promoted to prod; what
    /// Hoist said on the way is left for the test to assert.
    async fn newer_freight_to_prod(&mut self) {
        self.push("v1.5.0", "b2").await;
        self.expect_merge_waits_for("my-app-service1-dev: the application is not at SHA yet");
        self.argo_syncs(4, "dev", "b2").await;
        self.comment(4, QUINN, "/promote uat").await;
        self.expect_merge_waits_for("my-app-service1-uat: the application is not at SHA yet");
        self.argo_syncs(5, "uat", "b2").await;
        self.comment(5, QUINN, "/promote prod").await;
    }

    /// `who` commits `content` to `path` on Hoist's prod branch, as the author they type
    /// in: the commit's id.
    async fn commit_as(
        &self,
        who: (&str, &str),
        author: (&str, &str),
        path: &str,
        content: &str,
    ) -> String {
        let branch = "hoist/prod/my-app-service1";
        let id = self
            .fake
            .client(who.0)
            .create_commit()
            .repository_name("gitops")
            .branch_name(branch)
            .parent_commit_id(self.fake.tip(branch).unwrap())
            .author_name(author.0)
            .email(author.1)
            .commit_message("Promote my-app-service1 v1.4.0 to prod")
            .put_files(
                aws_sdk_codecommit::types::PutFileEntry::builder()
                    .file_path(path)
                    .file_content(aws_smithy_types::Blob::new(content))
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap()
            .commit_id
            .unwrap();
        self.pump().await;
        id
    }
}

/// my-app-service1 with three targets per stage (`support::targets`), on CodeCommit: every
/// promotion is one commit that changes exactly its stage's three files, the replies are
/// the ones a single overlay gets, and prod's merge leaves all three pinning the freight.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_targets_move_together_on_codecommit() {
    let dir = support::targets::repo_dir();
    let config = Config::parse(&support::targets::config(&config_text()), "hoist.yaml").unwrap();
    let mut t = Tester::prod_pr_on(Tester::cc_with(dir.path(), config).await).await;
    t.approve(3, SAM).await;
    t.expect_merged_into_prod();
    // Each promotion is one squashed commit on main, by Hoist.
    let log = t.fake.log("main");
    assert_eq!(
        log.len(),
        4,
        "three promotions on the initial commit: {log:?}"
    );
    let prod: Vec<String> = support::targets::files()
        .into_iter()
        .filter(|(p, _)| p.contains("/prod/"))
        .map(|(p, before)| {
            let after = t.fake.file_at("main", &p).unwrap();
            format!("{p}\n{}", support::targets::changed(&before, &after))
        })
        .collect();
    insta::assert_snapshot!(prod.join("\n\n"), @r#"
    apps/my-app-service1/env/prod/values.yaml
    -    tag: "v1.3.0"  # promoted by Hoist
    +    tag: "v1.4.0"  # promoted by Hoist
    -    digest: sha256:f356c12dc3880c107b17cb83e3a5a525cc55ab0b2a360f135a58b4365585d725
    +    digest: sha256:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1

    apps/my-app-service1/env/prod/migrate.yaml
    -          image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app-service1:v1.3.0@sha256:f356c12dc3880c107b17cb83e3a5a525cc55ab0b2a360f135a58b4365585d725
    +          image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app-service1:v1.4.0@sha256:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1
    "#);
}

/// The control of an attack on prod's #3: a code owner's approval of the head Hoist
/// wrote merges it.
async fn control_approve() -> bool {
    let mut t = Tester::prod_pr().await;
    t.approve(3, SAM).await;
    t.expect_merged_into_prod();
    !t.open(3)
}

impl Tester<Cc> {
    /// A code owner's approval merged prod's pull request: Hoist says it deploys, and
    /// waits for Argo CD.
    fn expect_merged_into_prod(&mut self) {
        self.expect_merge_waits("prod");
        insta::allow_duplicates! {
            insta::assert_snapshot!(self.said(), @"
            #3: ⏳ Deploying to **prod**: merged as `SHA`; Argo CD app [my-app-service1-prod](ARGOCD/applications/my-app-service1-prod): Argo CD has no application my-app-service1-prod. Hoist looks again and updates this comment.
            ---
            check, edited: ✅ **hoist/argocd**: Ready to merge (at `SHA`)
            ")
        };
    }
}

async fn cc_promote(who: (&str, &str), to: &str) -> Outcome {
    let mut t = Tester::cc().await;
    t.dev_verified().await;
    t.comment(1, who, &format!("/promote {to}")).await;
    let refused = t.prs() == 1 && t.said().starts_with("#1: ⛔");
    t.comment(1, QUINN, "/promote uat").await;
    t.expect_merge_waits("uat");
    insta::allow_duplicates! {
        insta::assert_snapshot!(t.said(), @"
        #1: 🚀 Opened #2 to promote my-app-service1 v1.4.0 to **uat**.
        ---
        #2: ⏳ Deploying to **uat**: merged as `SHA`; Argo CD app [my-app-service1-uat](ARGOCD/applications/my-app-service1-uat): Argo CD has no application my-app-service1-uat. Hoist looks again and updates this comment.
        ---
        check: ✅ **hoist/argocd**: Ready to merge (at `SHA`)
        check: ✅ **hoist/dag**: No gated image values change (at `SHA`)
        ")
    };
    Outcome {
        refused,
        control: t.prs() == 2,
    }
}

async fn cc_approval_by(who: (&str, &str)) -> Outcome {
    let mut t = Tester::prod_pr().await;
    t.approve(3, who).await;
    let refused = t.open(3);
    assert_eq!(
        t.said(),
        "",
        "an approval that does not count is not answered"
    );
    t.approve(3, SAM).await;
    t.expect_merged_into_prod();
    Outcome {
        refused,
        control: !t.open(3),
    }
}

async fn cc_edited_comment() -> Outcome {
    let mut t = Tester::cc().await;
    t.dev_verified().await;
    let id = t.comment(1, MALLORY, "looks good").await;
    t.fake
        .client(QUINN.0)
        .update_comment()
        .comment_id(&id)
        .content("/promote uat")
        .send()
        .await
        .unwrap_err();
    // CodeCommit lets only a comment's author edit it: a promoter edits their own.
    let id = t.comment(1, QUINN, "looks good").await;
    t.fake
        .client(QUINN.0)
        .update_comment()
        .comment_id(&id)
        .content("/promote uat")
        .send()
        .await
        .unwrap();
    t.pump().await;
    let refused = t.prs() == 1 && t.said().is_empty();
    t.comment(1, QUINN, "/promote uat").await;
    t.expect_merge_waits("uat");
    insta::assert_snapshot!(t.said(), @"
    #1: 🚀 Opened #2 to promote my-app-service1 v1.4.0 to **uat**.
    ---
    #2: ⏳ Deploying to **uat**: merged as `SHA`; Argo CD app [my-app-service1-uat](ARGOCD/applications/my-app-service1-uat): Argo CD has no application my-app-service1-uat. Hoist looks again and updates this comment.
    ---
    check: ✅ **hoist/argocd**: Ready to merge (at `SHA`)
    check: ✅ **hoist/dag**: No gated image values change (at `SHA`)
    ");
    Outcome {
        refused,
        control: t.prs() == 2,
    }
}

async fn cc_foreign_commit(author: (&str, &str)) -> Outcome {
    let mut t = Tester::prod_pr().await;
    let file = t.fake.file_at("hoist/prod/my-app-service1", PROD).unwrap();
    t.commit_as(ALICE, author, PROD, &format!("{file}# and more\n"))
        .await;
    t.approve(3, SAM).await;
    insta::allow_duplicates! {
        insta::assert_snapshot!(t.said(), @"
        #3: ✋ SHA on hoist/prod/my-app-service1 is not a commit Hoist made for this promotion, so Hoist will not merge it. Merge or close this PR yourself, or delete the branch to let Hoist recreate it.
        ---
        check, edited: ✅ **hoist/dag**: No gated image values change (at `SHA`)
        ")
    };
    Outcome {
        refused: t.open(3),
        control: control_approve().await,
    }
}

async fn cc_hold_across_replacement() -> Outcome {
    let mut t = Tester::prod_pr().await;
    t.comment(3, SAM, "/hold").await;
    insta::assert_snapshot!(t.said(), @"#3: ⏸️ Held by @arn:aws:iam::123456789012:user/sam. Hoist will not merge this PR until someone comments /unhold.");
    t.newer_freight_to_prod().await;
    insta::assert_snapshot!(t.said(), @"
    #4: ✅ Verified in **dev**: my-app-service1 v1.5.0 is Synced and Healthy at SHA (Argo CD app my-app-service1-dev). Next: comment /promote uat.
    ---
    #4: 🚀 Opened #5 to promote my-app-service1 v1.5.0 to **uat**.
    ---
    #5: ✅ Verified in **uat**: my-app-service1 v1.5.0 is Synced and Healthy at SHA (Argo CD app my-app-service1-uat). Next: comment /promote prod.
    ---
    #3: ♻️ Superseded by #6, which promotes v1.5.0: this pull request is closed, and a hold on it holds #6.
    ---
    #5: 🚀 Opened #6 to promote my-app-service1 v1.5.0 to **prod**.
    ---
    #6: ⏳ Waiting for an approval from a code owner of apps/my-app-service1/env/prod/ (@acme/sre). @arn:aws:sts::123456789012:assumed-role/qa/quinn@example.com requested this promotion, so their approval does not count.
    ---
    check: ✅ **hoist/argocd**: Ready to merge (at `SHA`)
    check: ✅ **hoist/argocd**: Ready to merge (at `SHA`)
    check: ⏳ **hoist/argocd**: Waiting (at `SHA`)
    check: ✅ **hoist/dag**: No gated image values change (at `SHA`)
    check: ✅ **hoist/dag**: No gated image values change (at `SHA`)
    check: ✅ **hoist/dag**: No gated image values change (at `SHA`)
    ");
    t.approve(6, SAM).await;
    let refused = t.open(6);
    t.comment(6, SAM, "/unhold").await;
    t.expect_merge_waits("prod");
    insta::assert_snapshot!(t.said(), @"
    #6: ▶️ Released by @arn:aws:iam::123456789012:user/sam. Hoist merges this PR once its gate and checks pass.
    ---
    #6: ⏳ Deploying to **prod**: merged as `SHA`; Argo CD app [my-app-service1-prod](ARGOCD/applications/my-app-service1-prod): Argo CD has no application my-app-service1-prod. Hoist looks again and updates this comment.
    ---
    check, edited: ✅ **hoist/argocd**: Ready to merge (at `SHA`)
    ");
    Outcome {
        refused,
        control: !t.open(6),
    }
}

/// The attacks of the red-team matrix that apply on CodeCommit, through the real
/// CodeCommit adapter (the AWS SDK) against the CodeCommit test server; `bench/gates`
/// prints this table after GitHub's. CodeCommit has no forks, no required checks and no
/// renames (identities are ARNs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_codecommit_matrix() {
    // Each scenario boxed: the whole engine's futures inline would outgrow a test
    // thread's stack in a debug build.
    let rows = [
        (
            "promote by a writer outside the promoters team",
            Box::pin(cc_promote(MALLORY, "uat")).await,
        ),
        (
            "promote skipping uat (DAG)",
            Box::pin(cc_promote(QUINN, "prod")).await,
        ),
        (
            "approval by the requester, a code owner",
            Box::pin(cc_approval_by(QUINN)).await,
        ),
        (
            "approval by a writer who owns nothing",
            Box::pin(cc_approval_by(ALICE)).await,
        ),
        (
            "a comment edited into a command after it was posted",
            Box::pin(cc_edited_comment()).await,
        ),
        (
            "a writer's commit pushed onto Hoist's branch",
            Box::pin(cc_foreign_commit(("alice", "alice@example.com"))).await,
        ),
        (
            "a commit authored as Hoist by someone else",
            Box::pin(cc_foreign_commit(("hoist", "hoist@noreply.codecommit"))).await,
        ),
        (
            "a held PR replaced by a newer promotion",
            Box::pin(cc_hold_across_replacement()).await,
        ),
    ];
    support::matrix::report("CodeCommit (SDK adapter)", &rows);
}

/// A two-member group through dev, uat and prod on CodeCommit: one pull request per
/// stage carries both members' files in one commit; each merge waits until both members'
/// applications run their images; prod's waits for a code owner.
#[tokio::test]
async fn a_group_moves_through_every_stage_on_codecommit() {
    let text = config_text()
        .replace(
            "\nmerge:",
            "\ngroups:\n  shop: { services: [my-app-service1, my-app-service2], source: tag }\n\nmerge:",
        )
        .replace("tags: { semver: \"^2.3\", ignore: [\"-debug$\"] }", "tags: { semver: \"*\" }")
        .replace("tags: { semver: \">=1.0.0 <2.0.0\" }", "tags: { semver: \"*\" }");
    let config = Config::parse(&text, "hoist.yaml").unwrap();
    let mut t = Tester::cc_with(std::path::Path::new("examples/gitops"), config).await;
    let image = |s: &str| format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/{s}");
    for (s, seed) in [("my-app-service1", "a1"), ("my-app-service2", "b2")] {
        t.deliver(Event::ImagePushed {
            image: image(s),
            tag: "v2.4.0".into(),
            digest: digest(seed),
            time: "2026-11-26T09:58:00Z".into(),
        })
        .await;
    }
    // Argo CD runs both members at pull request `pr`'s merge; the waiting events retried.
    let syncs = |t: &Tester<Cc>, pr: u64, stage: &str| {
        let merge = t.fake.pr(pr).merge_commit.expect("merged");
        for (s, seed) in [("my-app-service1", "a1"), ("my-app-service2", "b2")] {
            let run = format!("{}@{}", image(s), digest(seed));
            t.argo.synced(&format!("{s}-{stage}"), &merge, &run);
        }
    };
    for (pr, stage, next) in [(1, "dev", "uat"), (2, "uat", "prod")] {
        let p = t.fake.pr(pr);
        assert_eq!(
            (p.title.as_str(), p.open),
            (
                format!("Promote shop (my-app-service1 v2.4.0, my-app-service2 v2.4.0) to {stage}")
                    .as_str(),
                false
            )
        );
        t.expect_merge_waits(stage);
        syncs(&t, pr, stage);
        t.retry().await;
        t.comment(pr, QUINN, &format!("/promote {next}")).await;
    }
    // uat's merge changed both members' files, in one commit of Hoist's.
    let uat = t
        .fake
        .file_at("main", "apps/my-app-service2/env/uat/kustomization.yaml")
        .unwrap();
    assert!(uat.contains(&digest("b2")), "{uat}");
    assert!(t.open(3), "prod waits for a code owner");
    t.approve(3, SAM).await;
    t.expect_merge_waits("prod");
    syncs(&t, 3, "prod");
    t.retry().await;
    let prod = t
        .fake
        .file_at("main", "apps/my-app-service2/env/prod/kustomization.yaml")
        .unwrap();
    assert!(prod.contains(&digest("b2")), "{prod}");
    insta::assert_snapshot!(t.said(), @"
    #1: ✅ Verified in **dev**: shop (my-app-service1 v2.4.0, my-app-service2 v2.4.0) is Synced and Healthy at SHA (Argo CD apps my-app-service1-dev, my-app-service2-dev). Next: comment /promote uat.
    ---
    #1: 🚀 Opened #2 to promote shop (my-app-service1 v2.4.0, my-app-service2 v2.4.0) to **uat**.
    ---
    #2: ✅ Verified in **uat**: shop (my-app-service1 v2.4.0, my-app-service2 v2.4.0) is Synced and Healthy at SHA (Argo CD apps my-app-service1-uat, my-app-service2-uat). Next: comment /promote prod.
    ---
    #2: 🚀 Opened #3 to promote shop (my-app-service1 v2.4.0, my-app-service2 v2.4.0) to **prod**.
    ---
    #3: ⏳ Waiting for an approval from a code owner of apps/my-app-service1/env/prod/ (@acme/sre). @arn:aws:sts::123456789012:assumed-role/qa/quinn@example.com requested this promotion, so their approval does not count.
    ---
    #3: ✅ Verified in **prod**: shop (my-app-service1 v2.4.0, my-app-service2 v2.4.0) is Synced and Healthy at SHA (Argo CD apps my-app-service1-prod, my-app-service2-prod).
    ---
    check: ✅ **hoist/argocd**: Ready to merge (at `SHA`)
    check: ✅ **hoist/argocd**: Ready to merge (at `SHA`)
    check: ✅ **hoist/argocd**: Ready to merge (at `SHA`)
    check: ✅ **hoist/dag**: No gated image values change (at `SHA`)
    check: ✅ **hoist/dag**: No gated image values change (at `SHA`)
    check: ✅ **hoist/dag**: No gated image values change (at `SHA`)
    ");
}

/// `/rollback prod` on CodeCommit: the rollback passes prod's gate (a code owner's
/// approval), and once merged holds v1.5.0's next promotion into prod until `/unhold prod`.
#[tokio::test]
async fn a_rollback_holds_prod_until_unheld_on_codecommit() {
    let mut t = Tester::prod_pr().await;
    t.approve(3, SAM).await;
    t.expect_merged_into_prod();
    t.argo_syncs(3, "prod", "a1").await;
    t.newer_freight_to_prod().await;
    t.approve(6, SAM).await;
    t.expect_merge_waits_for("my-app-service1-prod: the application is not at SHA yet");
    t.argo_syncs(6, "prod", "b2").await;
    t.said();
    t.comment(6, QUINN, "/rollback prod").await;
    assert_eq!(
        t.fake.pr(7).title,
        "Roll back my-app-service1 in prod to v1.4.0 (from v1.5.0)"
    );
    assert!(t.open(7), "prod's code owner first");
    t.approve(7, SAM).await;
    t.expect_merge_waits_for("my-app-service1-prod: the application is not at SHA yet");
    t.argo_syncs(7, "prod", "a1").await;
    assert!(
        t.fake
            .file_at("main", PROD)
            .unwrap()
            .contains(&digest("a1"))
    );
    t.comment(5, QUINN, "/promote prod").await;
    t.approve(8, SAM).await;
    assert!(t.open(8), "prod is held");
    t.comment(8, SAM, "/unhold prod").await;
    assert!(!t.open(8), "merged once released");
    t.expect_merge_waits_for("my-app-service1-prod: the application is not at SHA yet");
    insta::assert_snapshot!(t.said(), @"
    #6: ⏪ Opened #7 to roll my-app-service1 in **prod** back to v1.4.0 (from v1.5.0). Once it merges, forward promotions into prod wait until `/unhold prod`.
    ---
    #7: ⏳ Waiting for an approval from a code owner of apps/my-app-service1/env/prod/ (@acme/sre). @arn:aws:sts::123456789012:assumed-role/qa/quinn@example.com requested this promotion, so their approval does not count.
    ---
    #7: ⏸️ Forward promotions of my-app-service1 into **prod** now wait until `/unhold prod`.
    ---
    #7: ✅ Verified in **prod**: my-app-service1 v1.4.0 is Synced and Healthy at SHA (Argo CD app my-app-service1-prod).
    ---
    #5: 🚀 Opened #8 to promote my-app-service1 v1.5.0 to **prod**.
    ---
    #8: ⏳ Waiting for an approval from a code owner of apps/my-app-service1/env/prod/ (@acme/sre). @arn:aws:sts::123456789012:assumed-role/qa/quinn@example.com requested this promotion, so their approval does not count.
    ---
    #8: ▶️ @arn:aws:iam::123456789012:user/sam released **prod** for my-app-service1: forward promotions into it merge again.
    ---
    #8: ⏳ Deploying to **prod**: merged as `SHA`; Argo CD app [my-app-service1-prod](ARGOCD/applications/my-app-service1-prod): the application is not at SHA yet. Hoist looks again and updates this comment.
    ---
    check: ✅ **hoist/argocd**: Ready to merge (at `SHA`)
    check: ✅ **hoist/argocd**: Ready to merge (at `SHA`)
    check: ✅ **hoist/dag**: No gated image values change (at `SHA`)
    check: ✅ **hoist/dag**: No gated image values change (at `SHA`)
    ");
}

/// prod frozen on CodeCommit by a break-glass principal: the code owner's approval does
/// not merge it; the freeze comes back after the store is lost (from Hoist's own reply,
/// by its IAM identity); `/unfreeze prod` merges it. A webhook hears the freeze, the
/// release and the merge.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_prod_waits_until_unfrozen_on_codecommit() {
    let text = format!(
        "{}notify:\n  - url_env: HOOK_CC\n    on: [freeze, merged]\n    stages: [prod]\n",
        config_text()
    );
    let config = Config::parse(&text, "hoist.yaml").unwrap();
    let r = support::receiver::receiver();
    let t = Tester::cc_with(std::path::Path::new("examples/gitops"), config).await;
    let mut t = Tester::prod_pr_on(t).await;
    let stop = support::receiver::workers(&t);
    t.comment(3, SAM, "/freeze prod INC-7").await;
    t.approve(3, SAM).await;
    assert!(t.open(3), "frozen");
    r.wait_for("HOOK_CC", 1).await;
    stop.stop().await;
    // The store is lost: the freeze comes back from the forge.
    let clock = t.engine.store.clock().clone();
    let dir = tempfile::tempdir().unwrap();
    let fresh = hoist::store::Store::open_with_clock(&dir.path().join("lost.db"), clock).unwrap();
    std::sync::Arc::get_mut(&mut t.engine).unwrap().store = fresh;
    t.engine.rebuild_ledger().await.unwrap();
    assert_eq!(
        t.engine
            .store
            .frozen("prod")
            .await
            .unwrap()
            .map(|f| (f.by, f.reason)),
        Some(("arn:aws:iam::123456789012:user/sam".into(), "INC-7".into()))
    );
    // The workers deliver what the fresh store queues from here on.
    let stop = support::receiver::workers(&t);
    t.comment(3, SAM, "/unfreeze prod").await;
    assert!(!t.open(3), "merged once unfrozen");
    t.expect_merge_waits("prod");
    insta::assert_snapshot!(t.said(), @"
    #3: ❄️ @arn:aws:iam::123456789012:user/sam froze **prod**: INC-7. Nothing merges into prod until `/unfreeze prod`; in an emergency, the break-glass team's `/override freeze <reason>` lets one pull request through.
    ---
    #3: ▶️ @arn:aws:iam::123456789012:user/sam unfroze **prod**: pull requests into it merge again.
    ---
    #3: ⏳ Deploying to **prod**: merged as `SHA`; Argo CD app [my-app-service1-prod](ARGOCD/applications/my-app-service1-prod): Argo CD has no application my-app-service1-prod. Hoist looks again and updates this comment.
    ---
    check, edited: ✅ **hoist/argocd**: Ready to merge (at `SHA`)
    ");
    r.wait_for("HOOK_CC", 3).await;
    insta::assert_snapshot!(r.summaries("HOOK_CC"), @r#"
    200 "freeze" "prod frozen by @arn:aws:iam::123456789012:user/sam: INC-7"
    200 "freeze" "prod unfrozen by @arn:aws:iam::123456789012:user/sam"
    200 "merged" "my-app-service1 v1.4.0 merged into prod"
    "#);
    stop.stop().await;
}
