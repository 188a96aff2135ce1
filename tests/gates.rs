//! The red-team matrix (R5 of the proof harness, `bench/gates` prints it): every way
//! past a gate that someone short of the gate's authority could try, each followed by a
//! control, the legitimate way, that must work. One test per attack runs it on the
//! engine, so a regression names its attack; `the_matrix` runs every attack through the
//! real `hoist serve` against the GitHub HTTP fake and prints the table.

mod support;

use hoist::event::{Actor, ReviewState};
use hoist::forge::Forge;
use hoist::forge::PrState;
use support::memory_forge::{edit_comment, post_as, status_by, user};
use support::tester::*;

use support::matrix::Outcome;

/// An attack, run from scratch.
type Attack = fn(Drive) -> futures::future::BoxFuture<'static, Outcome>;

const ALL: &[(&str, Attack)] = &[
    ("promote without write access", |d| {
        Box::pin(promote_without_write_access(d))
    }),
    ("promote by a writer outside the promoters team", |d| {
        Box::pin(promote_outside_promoters(d))
    }),
    ("promote skipping uat (DAG)", |d| {
        Box::pin(promote_skipping_uat(d))
    }),
    ("approval by the requester, a code owner", |d| {
        Box::pin(approval_by(d, Who::Requester, None))
    }),
    ("approval by a bot in the owners team", |d| {
        Box::pin(approval_by(d, Who::Bot, None))
    }),
    ("approval by a writer who owns nothing", |d| {
        Box::pin(approval_by(d, Who::Writer, None))
    }),
    ("approval given on an older head", |d| {
        Box::pin(approval_by(d, Who::Owner, Some("0000000")))
    }),
    ("approval by Hoist itself", |d| {
        Box::pin(approval_by(d, Who::Hoist, None))
    }),
    ("merge while a required check fails", |d| {
        Box::pin(merge_while_check_fails(d))
    }),
    ("merge while on /hold", |d| Box::pin(merge_while_held(d))),
    ("a comment edited into a command by another writer", |d| {
        Box::pin(edited_comment_promotes(d))
    }),
    ("a forged reply marker hides a /hold from reconcile", |d| {
        Box::pin(forged_reply_marker(d))
    }),
    ("the requester renamed approves their own promotion", |d| {
        Box::pin(approval_by(d, Who::RenamedRequester, None))
    }),
    (
        "a look-alike PR (hoist/ branch, copied body) merged by hand",
        |d| Box::pin(look_alike_pr(d)),
    ),
    ("the freight edited in the body before /promote", |d| {
        Box::pin(body_freight_edited(d))
    }),
    (
        "a closed uat PR reopened and merged without a promoter",
        |d| Box::pin(closed_and_reopened(d)),
    ),
    ("a fork PR whose branch is named hoist/uat/<svc>", |d| {
        Box::pin(fork_pr(d))
    }),
    (
        "/hold lands while a check-triggered merge is under way",
        |d| Box::pin(hold_races_merge(d)),
    ),
    (
        "/override dag applied to a head pushed after the review",
        |d| Box::pin(override_after_push(d)),
    ),
    (
        "a writer posts the required check's name as a commit status",
        |d| Box::pin(status_by_a_writer(d)),
    ),
    (
        "a bot-authored commit with forged trailers, then a lost store",
        |d| Box::pin(forged_commit_after_lost_store(d)),
    ),
    ("a prod PR retargeted at another base branch", |d| {
        Box::pin(retargeted_base(d))
    }),
    (
        "a uat PR closed and reopened before Hoist sees the close",
        |d| Box::pin(closed_and_reopened_at_once(d)),
    ),
    (
        "a promotion branch forced back to an older head of its PR",
        |d| Box::pin(forced_back_to_an_older_head(d)),
    ),
    (
        "a sidecar with a new image added to the service's base",
        |d| Box::pin(sidecar_in_base(d)),
    ),
];

async fn promote_without_write_access(drive: Drive) -> Outcome {
    let mut t = Tester::start(drive).await;
    t.dev_verified().await;
    t.comment(1, &mallory(), "/promote uat").await;
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @r#"
    #1: ⛔ @mallory, promoting to **uat** needs write access to acme/gitops and membership in @acme/qa.
    ---
    #1 reaction: eyes to @mallory's "/promote uat"
    #1 reaction: confused to @mallory's "/promote uat"
    "#) };
    let refused = t.prs() == 1;
    control_promote(t, refused).await
}

async fn promote_outside_promoters(drive: Drive) -> Outcome {
    let mut t = Tester::start(drive).await;
    t.dev_verified().await;
    t.comment(1, &alice(), "/promote uat").await;
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @r#"
    #1: ⛔ @alice, promoting to **uat** needs write access to acme/gitops and membership in @acme/qa.
    ---
    #1 reaction: eyes to @alice's "/promote uat"
    #1 reaction: confused to @alice's "/promote uat"
    "#) };
    let refused = t.prs() == 1;
    control_promote(t, refused).await
}

async fn promote_skipping_uat(drive: Drive) -> Outcome {
    let mut t = Tester::start(drive).await;
    t.dev_verified().await;
    t.comment(1, &quinn(), "/promote prod").await;
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @r#"
    #1: ⛔ /promote prod refused: prod takes freight from **uat**, and v1.4.0 (sha256:a1a1a1…a1a1) is verified in **dev** only. Promote it to uat first with /promote uat.
    ---
    #1 reaction: eyes to @quinn's "/promote prod"
    #1 reaction: confused to @quinn's "/promote prod"
    "#) };
    let refused = t.prs() == 1;
    control_promote(t, refused).await
}

/// The control of an attack on dev's PR #1: a promoter's `/promote uat` opens the uat
/// pull request.
async fn control_promote(mut t: Tester, refused: bool) -> Outcome {
    let before = t.prs();
    t.comment(1, &quinn(), "/promote uat").await;
    // The number of the pull request it opens depends on the attack before it.
    let said = regex::Regex::new(r"#\d+")
        .unwrap()
        .replace_all(&t.said(), "#N")
        .into_owned();
    insta::allow_duplicates! { insta::assert_snapshot!(said, @r#"
    #N: 🚀 Opened #N to promote my-app-service1 v1.4.0 to **uat**.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/dag success: Every image came through the DAG
    #N reaction: eyes to @quinn's "/promote uat"
    #N reaction: rocket to @quinn's "/promote uat"
    "#) };
    Outcome {
        refused,
        control: t.prs() == before + 1,
    }
}

enum Who {
    Requester,
    /// The requester, renamed since the request: same numeric id, another login.
    RenamedRequester,
    Bot,
    Writer,
    Owner,
    Hoist,
}

async fn approval_by(drive: Drive, who: Who, on: Option<&str>) -> Outcome {
    let t = prod_pr_awaiting_approval_by(drive).await;
    let who: Actor = match who {
        Who::Requester => quinn(),
        Who::RenamedRequester => {
            t.forge.rename(quinn().id, "quinn-renamed");
            user(quinn().id, "quinn-renamed")
        }
        Who::Bot => renovate(),
        Who::Writer => alice(),
        Who::Owner => sam(),
        // As a user, not a bot: Hoist's own approval must fail by its id, not by its kind.
        Who::Hoist => Actor {
            kind: hoist::event::ActorKind::User,
            ..t.forge.me_actor()
        },
    };
    t.review(3, &who, ReviewState::Approved, on).await;
    let refused = t.forge.pr(3).state == PrState::Open;
    control_approve(t, refused).await
}

/// The control of an attack on prod's PR #3: a code owner's approval of the head merges.
async fn control_approve(mut t: Tester, refused: bool) -> Outcome {
    t.review(3, &sam(), ReviewState::Approved, None).await;
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @"
    #3: ⏳ Deploying to **prod**: merged as `0000000`; Argo CD app [my-app-service1-prod](ARGOCD/applications/my-app-service1-prod): Argo CD has no application my-app-service1-prod. Hoist looks again and updates this comment.
    ---
    check: hoist/argocd success: Ready to merge
    ") };
    t.expect_wait_for_argo("prod");
    Outcome {
        refused,
        control: t.forge.pr(3).state == PrState::Merged,
    }
}

async fn merge_while_check_fails(drive: Drive) -> Outcome {
    let mut t = prod_pr_awaiting_approval_by(drive).await;
    t.check(3, Some("failure")).await;
    t.review(3, &sam(), ReviewState::Approved, None).await;
    let refused = t.forge.pr(3).state == PrState::Open;
    t.check(3, Some("success")).await;
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @"
    #3: ❌ render/my-app-service1-prod failed on 0000000 (details: https://ci.example/1). Not merging. Once its cause is fixed, re-run the check: Hoist merges when it passes. To promote other freight instead, comment `/promote prod` on the uat pull request of the freight you want.
    ---
    #3: ⏳ Deploying to **prod**: merged as `0000000`; Argo CD app [my-app-service1-prod](ARGOCD/applications/my-app-service1-prod): Argo CD has no application my-app-service1-prod. Hoist looks again and updates this comment.
    ---
    check: hoist/argocd failure: Blocked
    check: hoist/argocd failure: Blocked
    check: hoist/argocd success: Ready to merge
    ") };
    t.expect_wait_for_argo("prod");
    Outcome {
        refused,
        control: t.forge.pr(3).state == PrState::Merged,
    }
}

async fn merge_while_held(drive: Drive) -> Outcome {
    let mut t = prod_pr_awaiting_approval_by(drive).await;
    t.comment(3, &sam(), "/hold").await;
    t.review(3, &sam(), ReviewState::Approved, None).await;
    let refused = t.forge.pr(3).state == PrState::Open;
    t.comment(3, &sam(), "/unhold").await;
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @r#"
    #3: ⏸️ Held by @sam. Hoist will not merge this PR until someone comments /unhold.
    ---
    #3: ▶️ Released by @sam. Hoist merges this PR once its gate and checks pass.
    ---
    #3: ⏳ Deploying to **prod**: merged as `0000000`; Argo CD app [my-app-service1-prod](ARGOCD/applications/my-app-service1-prod): Argo CD has no application my-app-service1-prod. Hoist looks again and updates this comment.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/argocd success: Ready to merge
    #3 reaction: eyes to @sam's "/hold"
    #3 reaction: rocket to @sam's "/hold"
    #3 reaction: eyes to @sam's "/unhold"
    #3 reaction: rocket to @sam's "/unhold"
    "#) };
    t.expect_wait_for_argo("prod");
    Outcome {
        refused,
        control: t.forge.pr(3).state == PrState::Merged,
    }
}

/// Anyone with write access can edit anyone's comment on GitHub. A comment edited into
/// a command after it was posted (here a promoter's remark made into `/hold` by another
/// writer) is found by reconcile as a command without an answer: it must run nothing,
/// because its author never wrote it. The control: the same command, posted, runs.
async fn edited_comment_promotes(drive: Drive) -> Outcome {
    let mut t = Tester::start(drive).await;
    t.push("v1.4.0", "a1").await;
    let c = t.comment(1, &quinn(), "Looks good to me").await;
    edit_comment(&t.forge, c, "/hold");
    let answered = t.reconcile().await;
    let refused = answered == 0 && t.hoist_comments().is_empty();
    // The control: the same command, posted (its webhook lost), is found and run.
    post_as(&t.forge, 1, &quinn(), "/hold");
    let answered = t.reconcile().await;
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @r#"
    #1: ⏸️ Held by @quinn. Hoist will not merge this PR until someone comments /unhold.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/argocd pending: Waiting
    check: hoist/dag success: No gated image values change
    #1 reaction: eyes to @quinn's "/hold"
    #1 reaction: rocket to @quinn's "/hold"
    "#) };
    t.check(1, Some("success")).await;
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @"check: hoist/argocd pending: Waiting") };
    Outcome {
        refused,
        control: answered == 1 && t.forge.pr(1).state == PrState::Open,
    }
}

/// A marker is a record only in Hoist's own comments. An SRE's `/hold` whose webhook
/// was lost, and a commenter's comment carrying `<!-- hoist:mark reply:N -->` for it:
/// reconcile must still apply the hold.
async fn forged_reply_marker(drive: Drive) -> Outcome {
    let mut t = Tester::start(drive).await;
    t.push("v1.4.0", "a1").await;
    let hold = post_as(&t.forge, 1, &sam(), "/hold");
    let forged = hoist::marks::comment_mark(&format!("reply:{hold}"));
    post_as(
        &t.forge,
        1,
        &mallory(),
        &format!("nothing to see\n\n{forged}"),
    );
    t.reconcile().await;
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @r#"
    #1: ⏸️ Held by @sam. Hoist will not merge this PR until someone comments /unhold.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/argocd pending: Waiting
    check: hoist/dag success: No gated image values change
    #1 reaction: eyes to @sam's "/hold"
    #1 reaction: rocket to @sam's "/hold"
    "#) };
    t.check(1, Some("success")).await;
    let refused = t.forge.pr(1).state == PrState::Open;
    t.comment(1, &sam(), "/unhold").await;
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @r#"
    #1: ▶️ Released by @sam. Hoist merges this PR once its gate and checks pass.
    ---
    #1: ⏳ Deploying to **dev**: merged as `0000000`; Argo CD app [my-app-service1-dev](ARGOCD/applications/my-app-service1-dev): Argo CD has no application my-app-service1-dev. Hoist looks again and updates this comment.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/argocd success: Ready to merge
    #1 reaction: eyes to @sam's "/unhold"
    #1 reaction: rocket to @sam's "/unhold"
    "#) };
    let control = t.forge.pr(1).state == PrState::Merged;
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @"") };
    t.expect_wait_for_argo("dev");
    Outcome { refused, control }
}

/// A writer who may not promote to uat opens a pull request from a branch named
/// `hoist/uat/my-app-service1` that pins a digest never verified anywhere, with the
/// body block of Hoist's own dev PR copied and edited to match, and it is merged by hand
/// (as branch protection allows for uat). Argo CD then runs it. Nothing about it is a
/// head Hoist wrote: the digest must not count as verified in uat, so `/promote prod`
/// from it is refused.
async fn look_alike_pr(drive: Drive) -> Outcome {
    let mut t = Tester::start(drive).await;
    t.dev_verified().await;
    let forged = digest("b2");
    let uat = t
        .forge
        .base_file(UAT)
        .unwrap()
        .replace("newTag: v1.3.2", "newTag: v1.3.5")
        .replace(
            "sha256:41828da5541005335d4bcc6a684e3fe302b8c73dc0cd2be954109f93d5b00a08",
            &forged,
        );
    let (n, head) = t
        .person_pr("hoist/uat/my-app-service1", &alice(), UAT, &uat)
        .await;
    {
        let mut st = t.forge.state.lock().unwrap();
        let body = st.prs[0]
            .body
            .replace("\"stage\":\"dev\"", "\"stage\":\"uat\"")
            .replace(&digest("a1"), &forged)
            .replace("v1.4.0", "v1.3.5");
        st.prs[n as usize - 1].body = body;
    }
    t.forge.merge(n, &head, "by hand", "by hand").await.unwrap();
    t.forge
        .delete_branch("hoist/uat/my-app-service1")
        .await
        .unwrap();
    t.argo_syncs(n, "b2").await;
    let in_uat = t.in_ledger("uat", "b2").await;
    t.comment(n, &quinn(), "/promote prod").await;
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @r#"
    #2: ⛔ /promote works on Hoist's promotion pull requests, whose image it promotes. This PR is not one.
    ---
    check: hoist/dag failure: An image skips the promotion DAG
    #2 reaction: eyes to @quinn's "/promote prod"
    #2 reaction: confused to @quinn's "/promote prod"
    "#) };
    let refused = !in_uat && t.prs() == n as usize;
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @"") };
    control_promote(t, refused).await
}

/// Anyone with write access edits the merged dev PR's body record to name another
/// digest (one Hoist never promoted); a promoter's `/promote uat` must still promote
/// the freight Hoist recorded for that pull request.
async fn body_freight_edited(drive: Drive) -> Outcome {
    let mut t = Tester::start(drive).await;
    t.dev_verified().await;
    {
        let mut st = t.forge.state.lock().unwrap();
        let pr = st.prs.iter_mut().find(|p| p.number == 1).unwrap();
        pr.body = pr.body.replace(&digest("a1"), &digest("c3"));
    }
    t.comment(1, &quinn(), "/promote uat").await;
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @r#"
    #1: 🚀 Opened #2 to promote my-app-service1 v1.4.0 to **uat**.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/dag success: Every image came through the DAG
    #1 reaction: eyes to @quinn's "/promote uat"
    #1 reaction: rocket to @quinn's "/promote uat"
    "#) };
    let file = t.forge.file_at(&t.forge.pr(2).head_sha, UAT).unwrap();
    Outcome {
        refused: file.contains(&digest("a1")) && !file.contains(&digest("c3")),
        control: t.prs() == 2,
    }
}

/// QA closes the uat PR unmerged; someone reopens it and its check passes. The decision
/// to promote went with the close: reopened, it needs a promoter's `/promote` again.
async fn closed_and_reopened(drive: Drive) -> Outcome {
    let mut t = Tester::start(drive).await;
    t.uat_pending().await;
    t.forge.set_state(2, PrState::Closed);
    t.deliver(hoist::event::Event::PullRequestClosed {
        repo: Tester::repo(),
        pr: 2,
        head_ref: "hoist/uat/my-app-service1".into(),
        merged: false,
        merge_commit_sha: None,
        merged_pr: None,
    })
    .await;
    t.forge.set_state(2, PrState::Open);
    t.opened(2, alice()).await;
    t.check(2, Some("success")).await;
    let refused = t.forge.pr(2).state == PrState::Open;
    // The control: a promoter promotes again, onto the reopened pull request.
    t.comment(1, &quinn(), "/promote uat").await;
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @r#"
    #1: 🚀 Opened #2 to promote my-app-service1 v1.4.0 to **uat**.
    ---
    #1 reaction: eyes to @quinn's "/promote uat"
    #1 reaction: rocket to @quinn's "/promote uat"
    "#) };
    t.check(2, Some("success")).await;
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @"
    #2: ⏳ Deploying to **uat**: merged as `0000000`; Argo CD app [my-app-service1-uat](ARGOCD/applications/my-app-service1-uat): Argo CD has no application my-app-service1-uat. Hoist looks again and updates this comment.
    ---
    check: hoist/argocd success: Ready to merge
    ") };
    t.expect_wait_for_argo("uat");
    Outcome {
        refused,
        control: t.forge.pr(2).state == PrState::Merged,
    }
}

/// A fork's pull request from a branch named like Hoist's, whose head is the very commit
/// Hoist wrote for the open uat PR (a fork shares the objects) and whose body copies
/// that PR's: it is not Hoist's, and its passing check merges nothing.
async fn fork_pr(drive: Drive) -> Outcome {
    let mut t = Tester::start(drive).await;
    t.uat_pending().await;
    let (head, body) = (t.forge.pr(2).head_sha, t.forge.pr(2).body);
    let n = t.forge.open_fork_pr("hoist/uat/my-app-service1", &head);
    t.forge.state.lock().unwrap().prs[n as usize - 1].body = body;
    t.opened(n, mallory()).await;
    t.check(n, Some("success")).await;
    let refused = t.forge.pr(n).state == PrState::Open;
    t.check(2, Some("success")).await;
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @"
    #2: ⏳ Deploying to **uat**: merged as `0000000`; Argo CD app [my-app-service1-uat](ARGOCD/applications/my-app-service1-uat): Argo CD has no application my-app-service1-uat. Hoist looks again and updates this comment.
    ---
    check: hoist/argocd success: Ready to merge
    ") };
    t.expect_wait_for_argo("uat");
    Outcome {
        refused,
        control: t.forge.pr(2).state == PrState::Merged,
    }
}

/// A check's success starts a merge (under the check's SHA, not the pull request's
/// key); an SRE's `/hold` is handled while that merge is being decided, after the
/// holds were first read. The hold must win: nothing merges until `/unhold`.
async fn hold_races_merge(drive: Drive) -> Outcome {
    let mut t = Tester::start(drive).await;
    t.push("v1.4.0", "a1").await;
    let paused = t.forge.pause_before("POST check-run hoist/argocd");
    let (name, head_sha) = t.forge.set_stage_check(1, Some("success"), None);
    let merging = t
        .send(&hoist::event::Event::CheckCompleted {
            repo: Tester::repo(),
            source: hoist::event::CheckSource::CheckRun,
            name,
            conclusion: "success".into(),
            head_sha,
            // GitHub leaves a status's or another App's check without linked pull
            // requests: Hoist finds the pull request at that head, under the SHA's
            // serial key, beside the pull request's own events.
            prs: vec![],
        })
        .await;
    paused.reached().await;
    t.comment(1, &sam(), "/hold").await;
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @r#"
    #1: ⏸️ Held by @sam. Hoist will not merge this PR until someone comments /unhold.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/dag success: No gated image values change
    #1 reaction: eyes to @sam's "/hold"
    #1 reaction: rocket to @sam's "/hold"
    "#) };
    paused.release();
    t.settle(merging).await;
    let refused = t.forge.pr(1).state == PrState::Open;
    t.comment(1, &sam(), "/unhold").await;
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @r#"
    #1: ▶️ Released by @sam. Hoist merges this PR once its gate and checks pass.
    ---
    #1: ⏳ Deploying to **dev**: merged as `0000000`; Argo CD app [my-app-service1-dev](ARGOCD/applications/my-app-service1-dev): Argo CD has no application my-app-service1-dev. Hoist looks again and updates this comment.
    ---
    check: hoist/argocd success: Ready to merge
    #1 reaction: eyes to @sam's "/unhold"
    #1 reaction: rocket to @sam's "/unhold"
    "#) };
    let control = t.forge.pr(1).state == PrState::Merged;
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @"") };
    t.expect_wait_for_argo("dev");
    Outcome { refused, control }
}

/// The last `hoist/dag` conclusion on `sha`.
fn dag_conclusion(t: &Tester, sha: &str) -> Option<String> {
    let st = t.forge.state.lock().unwrap();
    st.checks
        .get(sha)?
        .iter()
        .rev()
        .find(|c| c.name == "hoist/dag")?
        .conclusion
        .clone()
}

/// A break-glass SRE reviews a hand-edit of prod and overrides `hoist/dag` for it; the
/// author pushes another change before Hoist handles the comment. The override names
/// the head the SRE saw, so it must not pass the new one.
async fn override_after_push(drive: Drive) -> Outcome {
    let mut t = Tester::start(drive).await;
    t.dev_verified().await;
    let edited = t.prod_pinned_to("v1.4.0", "a1");
    let (n, reviewed) = t.person_pr("alice/hotfix", &alice(), PROD, &edited).await;
    let later = t.forge.push_as(
        "alice/hotfix",
        &alice(),
        PROD,
        &edited.replace("v1.4.0", "v1.4.0-later"),
    );
    t.comment(
        n,
        &sam(),
        // In full: the fake's SHAs share their first seven digits.
        &format!("/override dag {reviewed} INC-7 prod is down"),
    )
    .await;
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @r#"
    #2: ⛔ @sam, /override dag names 0000000000000000000000000000000278dde6e4, but the head is now 0000000: review it, then override naming it.
    ---
    check: hoist/dag failure: An image skips the promotion DAG
    #2 reaction: eyes to @sam's "/override dag 0000000000000000000000000000000278dde6e4 INC-7 prod is down"
    #2 reaction: confused to @sam's "/override dag 0000000000000000000000000000000278dde6e4 INC-7 prod is down"
    "#) };
    let refused = dag_conclusion(&t, &later).as_deref() != Some("success");
    t.comment(
        n,
        &sam(),
        &format!("/override dag {later} INC-7 reviewed again"),
    )
    .await;
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @r#"
    #2: 🔓 hoist/dag overridden by @sam on 0000000: INC-7 reviewed again. The override is recorded; a new push needs a new one.
    ---
    check: hoist/dag success: Overridden by @sam
    #2 reaction: eyes to @sam's "/override dag 000000000000000000000000000000031715609d INC-7 reviewed again"
    #2 reaction: rocket to @sam's "/override dag 000000000000000000000000000000031715609d INC-7 reviewed again"
    "#) };
    Outcome {
        refused,
        control: dag_conclusion(&t, &later).as_deref() == Some("success"),
    }
}

/// The required check `render/{service}-{stage}` is the CI App's (`app_slug:
/// acme-gitops-ci`). Before CI has reported on the prod PR's head, a writer posts a
/// commit status of that name, `success`; a code owner then approves. Nothing merges
/// until the CI App's own check run passes.
async fn status_by_a_writer(drive: Drive) -> Outcome {
    let mut t = Tester::start(drive).await;
    t.dev_verified().await;
    t.comment(1, &quinn(), "/promote uat").await;
    t.check(2, Some("success")).await;
    t.expect_wait_for_argo("uat");
    t.argo_syncs(2, "a1").await;
    t.comment(2, &quinn(), "/promote prod").await;
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @r#"
    #1: 🚀 Opened #2 to promote my-app-service1 v1.4.0 to **uat**.
    ---
    #2: ✅ Verified in **uat**: my-app-service1 v1.4.0 is Synced and Healthy at 0000000 (Argo CD app my-app-service1-uat). Next: comment /promote prod.
    ---
    #2: 🚀 Opened #3 to promote my-app-service1 v1.4.0 to **prod**.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/argocd success: Ready to merge
    check: hoist/argocd pending: Waiting
    check: hoist/dag success: Every image came through the DAG
    check: hoist/dag success: Every image came through the DAG
    #1 reaction: eyes to @quinn's "/promote uat"
    #1 reaction: rocket to @quinn's "/promote uat"
    #2 reaction: eyes to @quinn's "/promote prod"
    #2 reaction: rocket to @quinn's "/promote prod"
    "#) };
    let head = t.forge.pr(3).head_sha;
    let name = "render/my-app-service1-prod";
    t.forge
        .state
        .lock()
        .unwrap()
        .checks
        .entry(head.clone())
        .or_default()
        .push(status_by(&alice(), name, "success"));
    t.deliver(hoist::event::Event::CheckCompleted {
        repo: Tester::repo(),
        source: hoist::event::CheckSource::Status,
        name: name.into(),
        conclusion: "success".into(),
        head_sha: head,
        // A status names no pull request: Hoist finds it by the head.
        prs: vec![],
    })
    .await;
    t.review(3, &sam(), ReviewState::Approved, None).await;
    let refused = t.forge.pr(3).state == PrState::Open;
    t.check(3, Some("success")).await;
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @"
    #3: ⏳ Deploying to **prod**: merged as `0000000`; Argo CD app [my-app-service1-prod](ARGOCD/applications/my-app-service1-prod): Argo CD has no application my-app-service1-prod. Hoist looks again and updates this comment.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/argocd success: Ready to merge
    ") };
    t.expect_wait_for_argo("prod");
    Outcome {
        refused,
        control: t.forge.pr(3).state == PrState::Merged,
    }
}

/// The store is lost (a Lambda cold start loses it every time). Before that, a writer
/// pushed a commit onto the open prod branch authored as Hoist's bot, with the trailers
/// of Hoist's own commit but naming sam as the requester. Rebuilt only from records
/// Hoist's own identity published, the store does not take that head as Hoist's: quinn,
/// the real requester, cannot approve it through, and nothing of it merges. The
/// control: without the forged commit, the rebuilt store still knows quinn requested
/// the promotion, and sam's approval merges it.
async fn forged_commit_after_lost_store(drive: Drive) -> Outcome {
    let forge_and_lose = |forged: bool| async move {
        let mut t = prod_pr_awaiting_approval_by(drive).await;
        if forged {
            let head = t.forge.pr(3).head_sha;
            let text = t.forge.file_at(&head, PROD).unwrap();
            let freight = format!("my-app-service1@{}", digest("a1"));
            t.forge.push_commit(
                "hoist/prod/my-app-service1",
                &t.forge.me_actor(),
                PROD,
                &text.replace("newTag: v1.4.0", "newTag: v1.4.0 # and more"),
                &format!(
                    "Promote my-app-service1 v1.4.0 to prod\n\nHoist-Freight: {freight}\nHoist-Stage: prod\nHoist-Requested-By: sam\n"
                ),
            );
        }
        t.lose_store().await;
        t
    };
    let mut t = forge_and_lose(true).await;
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @"check: hoist/dag success: Every image came through the DAG") };
    t.review(3, &quinn(), ReviewState::Approved, None).await;
    t.review(3, &sam(), ReviewState::Approved, None).await;
    let refused = t.forge.pr(3).state == PrState::Open;
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @"") };
    let mut t = forge_and_lose(false).await;
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @"check: hoist/argocd pending: Waiting") };
    t.review(3, &quinn(), ReviewState::Approved, None).await;
    let quinn_refused = t.forge.pr(3).state == PrState::Open;
    t.review(3, &sam(), ReviewState::Approved, None).await;
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @"
    #3: ⏳ Deploying to **prod**: merged as `0000000`; Argo CD app [my-app-service1-prod](ARGOCD/applications/my-app-service1-prod): Argo CD has no application my-app-service1-prod. Hoist looks again and updates this comment.
    ---
    check: hoist/argocd success: Ready to merge
    ") };
    t.expect_wait_for_argo("prod");
    Outcome {
        refused,
        control: quinn_refused && t.forge.pr(3).state == PrState::Merged,
    }
}

/// A writer retargets Hoist's prod PR at another branch (`release`, say, which Argo CD
/// may deploy from): a promotion counts only into the configured base.
async fn retargeted_base(drive: Drive) -> Outcome {
    let t = prod_pr_awaiting_approval_by(drive).await;
    let set_base = |base: &str| {
        let mut st = t.forge.state.lock().unwrap();
        st.prs[2].base_ref = base.into();
    };
    set_base("release");
    t.review(3, &sam(), ReviewState::Approved, None).await;
    let refused = t.forge.pr(3).state == PrState::Open;
    set_base("main");
    control_approve(t, refused).await
}

/// QA closes the uat PR and reopens it at once, before Hoist handles the close: the
/// close still stands, and its passing check merges nothing until a promoter promotes
/// again.
async fn closed_and_reopened_at_once(drive: Drive) -> Outcome {
    let mut t = Tester::start(drive).await;
    t.uat_pending().await;
    t.forge.set_state(2, PrState::Closed);
    t.forge.set_state(2, PrState::Open);
    t.deliver(hoist::event::Event::PullRequestClosed {
        repo: Tester::repo(),
        pr: 2,
        head_ref: "hoist/uat/my-app-service1".into(),
        merged: false,
        merge_commit_sha: None,
        merged_pr: None,
    })
    .await;
    t.check(2, Some("success")).await;
    let refused = t.forge.pr(2).state == PrState::Open;
    t.comment(1, &quinn(), "/promote uat").await;
    t.check(2, Some("success")).await;
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @r#"
    #1: 🚀 Opened #2 to promote my-app-service1 v1.4.0 to **uat**.
    ---
    #2: ⏳ Deploying to **uat**: merged as `0000000`; Argo CD app [my-app-service1-uat](ARGOCD/applications/my-app-service1-uat): Argo CD has no application my-app-service1-uat. Hoist looks again and updates this comment.
    ---
    check: hoist/argocd success: Ready to merge
    #1 reaction: eyes to @quinn's "/promote uat"
    #1 reaction: rocket to @quinn's "/promote uat"
    "#) };
    t.expect_wait_for_argo("uat");
    Outcome {
        refused,
        control: t.forge.pr(2).state == PrState::Merged,
    }
}

/// Hoist's prod PR moved on to newer freight (a second head); a writer forces the branch
/// back to the PR's first head, whose freight it replaced. A head the pull request no
/// longer carries promotes nothing.
async fn forced_back_to_an_older_head(drive: Drive) -> Outcome {
    let mut t = prod_pr_awaiting_approval_by(drive).await;
    let first = t.forge.pr(3).head_sha;
    t.push("v1.5.0", "b2").await;
    t.check(4, Some("success")).await;
    t.expect_waits("my-app-service1-dev: the application is not at 0000000 yet");
    t.argo_syncs(4, "b2").await;
    t.comment(4, &quinn(), "/promote uat").await;
    t.check(5, Some("success")).await;
    t.expect_waits("my-app-service1-uat: the application is not at 0000000 yet");
    t.argo_syncs(5, "b2").await;
    t.comment(5, &quinn(), "/promote prod").await;
    assert_ne!(t.forge.pr(3).head_sha, first, "#3 moved on to v1.5.0");
    t.forge.reset_branch("hoist/prod/my-app-service1", &first);
    t.check(3, Some("success")).await;
    t.review(3, &sam(), ReviewState::Approved, None).await;
    let refused = t.forge.pr(3).state == PrState::Open;
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @r#"
    #4: ✅ Verified in **dev**: my-app-service1 v1.5.0 is Synced and Healthy at 0000000 (Argo CD app my-app-service1-dev). Next: comment /promote uat.
    ---
    #4: 🚀 Opened #5 to promote my-app-service1 v1.5.0 to **uat**.
    ---
    #5: ✅ Verified in **uat**: my-app-service1 v1.5.0 is Synced and Healthy at 0000000 (Argo CD app my-app-service1-uat). Next: comment /promote prod.
    ---
    #3: ♻️ Updated to v1.5.0 (was v1.4.0): a newer image arrived before this PR merged.
    ---
    #5: 🚀 Opened #3 to promote my-app-service1 v1.5.0 to **prod**.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/argocd success: Ready to merge
    check: hoist/argocd pending: Waiting
    check: hoist/argocd success: Ready to merge
    check: hoist/dag success: No gated image values change
    check: hoist/dag success: Every image came through the DAG
    #4 reaction: eyes to @quinn's "/promote uat"
    #4 reaction: rocket to @quinn's "/promote uat"
    #5 reaction: eyes to @quinn's "/promote prod"
    #5 reaction: rocket to @quinn's "/promote prod"
    "#) };
    // The control: a promoter's /promote prod writes the branch anew, and it merges.
    t.comment(5, &quinn(), "/promote prod").await;
    t.check(3, Some("success")).await;
    t.review(3, &sam(), ReviewState::Approved, None).await;
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @r#"
    #5: 🚀 Opened #3 to promote my-app-service1 v1.5.0 to **prod**.
    ---
    #3: ⏳ Waiting for an approval from a code owner of apps/my-app-service1/env/prod/ (@acme/sre). @quinn requested this promotion, so their approval does not count.
    ---
    #3: ⏳ Deploying to **prod**: merged as `0000000`; Argo CD app [my-app-service1-prod](ARGOCD/applications/my-app-service1-prod): Argo CD has no application my-app-service1-prod. Hoist looks again and updates this comment.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/argocd success: Ready to merge
    #5 reaction: eyes to @quinn's "/promote prod"
    #5 reaction: rocket to @quinn's "/promote prod"
    "#) };
    t.expect_wait_for_argo("prod");
    Outcome {
        refused,
        control: t.forge.pr(3).state == PrState::Merged,
    }
}

/// A writer adds a sidecar with an image never promoted anywhere to the service's base
/// deployment, which every stage renders; the overlays' images entries do not change.
/// `hoist/dag` judges every image the gated stages' Argo CD applications would run, so it
/// fails; the control, a change that renders no new image, passes.
async fn sidecar_in_base(drive: Drive) -> Outcome {
    let mut t = Tester::start(drive).await;
    t.dev_verified().await;
    let path = "apps/my-app-service1/base/deployment.yaml";
    let text = t.forge.base_file(path).unwrap();
    let sidecar = format!(
        "      containers:\n        - name: sidecar\n          image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/sidecar@{}\n",
        digest("c3")
    );
    let edited = text.replace("      containers:\n", &sidecar);
    assert_ne!(edited, text);
    let (_, head) = t.person_pr("alice/sidecar", &alice(), path, &edited).await;
    let refused = dag_conclusion(&t, &head).as_deref() == Some("failure");
    let (_, docs) = t
        .person_pr("alice/docs", &alice(), "README.md", "docs\n")
        .await;
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @"
    check: hoist/dag failure: An image skips the promotion DAG
    check: hoist/dag success: No gated image values change
    ") };
    Outcome {
        refused,
        control: dag_conclusion(&t, &docs).as_deref() == Some("success"),
    }
}

async fn run(name: &str, drive: Drive) -> Outcome {
    let (_, attack) = ALL.iter().find(|(n, _)| *n == name).unwrap();
    attack(drive).await
}

// Each attack on the engine, by name: fast, and a regression names its attack.
macro_rules! attack_tests {
    ($($test:ident => $name:literal),* $(,)?) => {$(
        #[tokio::test]
        async fn $test() {
            assert_eq!(run($name, Drive::Engine).await, Outcome { refused: true, control: true });
        }
    )*};
}

attack_tests! {
    promoting_needs_write_access => "promote without write access",
    promoting_needs_the_promoters_team => "promote by a writer outside the promoters team",
    promoting_cannot_skip_a_stage => "promote skipping uat (DAG)",
    the_requester_cannot_approve => "approval by the requester, a code owner",
    bots_cannot_approve => "approval by a bot in the owners team",
    only_code_owners_approve => "approval by a writer who owns nothing",
    approvals_count_only_on_the_head => "approval given on an older head",
    hoist_cannot_approve_itself => "approval by Hoist itself",
    a_failing_required_check_blocks_the_merge => "merge while a required check fails",
    a_hold_blocks_the_merge => "merge while on /hold",
    edited_comments_run_no_command => "a comment edited into a command by another writer",
    markers_count_only_in_hoists_own_comments => "a forged reply marker hides a /hold from reconcile",
    separation_of_duties_is_by_numeric_id => "the requester renamed approves their own promotion",
    look_alike_pull_requests_verify_nothing => "a look-alike PR (hoist/ branch, copied body) merged by hand",
    promote_takes_the_freight_from_the_store => "the freight edited in the body before /promote",
    a_reopened_pull_request_needs_its_gate_again => "a closed uat PR reopened and merged without a promoter",
    a_fork_is_never_hoists => "a fork PR whose branch is named hoist/uat/<svc>",
    a_hold_always_beats_a_merge_in_flight => "/hold lands while a check-triggered merge is under way",
    an_override_covers_only_the_head_it_names => "/override dag applied to a head pushed after the review",
    required_checks_count_only_from_their_poster => "a writer posts the required check's name as a commit status",
    a_lost_store_is_rebuilt_only_from_hoists_own_records => "a bot-authored commit with forged trailers, then a lost store",
    a_promotion_counts_only_into_the_configured_base => "a prod PR retargeted at another base branch",
    a_close_stands_even_when_reopened_at_once => "a uat PR closed and reopened before Hoist sees the close",
    superseded_heads_promote_nothing => "a promotion branch forced back to an older head of its PR",
    hoist_dag_judges_everything_a_gated_stage_renders => "a sidecar with a new image added to the service's base",
}

/// Every attack through the real `hoist serve`, as the table `bench/gates` prints: signed
/// webhooks in, the GitHub App's calls answered by the GitHub HTTP fake (which enforces
/// authentication), ECR and Argo CD fakes beside it. The target: every attack refused
/// with nothing merged, and every control through. Three attacks run at a time, each on
/// its own server and fakes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_matrix() {
    use futures::StreamExt;
    let mut rows: Vec<(&str, Outcome)> = futures::stream::iter(ALL)
        .map(|(name, attack)| async move { (*name, attack(Drive::Serve).await) })
        .buffer_unordered(3)
        .collect()
        .await;
    rows.sort_by_key(|(name, _)| ALL.iter().position(|(n, _)| n == name));
    support::matrix::report("GitHub (hoist serve)", &rows);
}

/// How many `hoist/dag` check runs `sha` carries.
fn dag_runs(t: &Tester, sha: &str) -> usize {
    let st = t.forge.state.lock().unwrap();
    st.checks
        .get(sha)
        .map_or(0, |c| c.iter().filter(|c| c.name == "hoist/dag").count())
}

/// alice hand-pins prod to dev's image and opens a pull request, and GitHub's `opened`
/// webhook is lost: the next reconcile publishes `hoist/dag` on its head (failing: the
/// image skipped uat), and the one after does not publish it again. On the engine and
/// through `hoist serve` (`hoist reconcile --once`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_publishes_hoist_dag_where_its_event_was_lost() {
    for drive in [Drive::Engine, Drive::Serve] {
        let mut t = Tester::start(drive).await;
        t.dev_verified().await;
        let base = t.forge.state.lock().unwrap().base.clone();
        t.forge.create_ref("alice/pin", &base);
        let edited = t.prod_pinned_to("v1.4.0", "a1");
        let head = t.forge.push_as("alice/pin", &alice(), PROD, &edited);
        t.forge.open_person_pr("alice/pin", "Pin prod");
        assert_eq!(dag_runs(&t, &head), 0);
        t.reconcile().await;
        assert_eq!(
            dag_conclusion(&t, &head).as_deref(),
            Some("failure"),
            "{drive:?}"
        );
        t.reconcile().await;
        assert_eq!(dag_runs(&t, &head), 1, "published once ({drive:?})");
        insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @"check: hoist/dag failure: An image skips the promotion DAG") };
    }
}

/// A break-glass override passed `hoist/dag` on a hand-edit of prod; then the store is
/// lost and rebuilt from the forge (a new Lambda environment, a lost volume). Reconcile
/// leaves standing the check Hoist's App already published on that head: a fresh store
/// must not turn it back to failing. On the engine and through `hoist serve`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_leaves_hoists_published_hoist_dag_standing_after_a_lost_store() {
    for drive in [Drive::Engine, Drive::Serve] {
        let mut t = Tester::start(drive).await;
        t.dev_verified().await;
        let edited = t.prod_pinned_to("v1.4.0", "a1");
        let (n, head) = t.person_pr("alice/hotfix", &alice(), PROD, &edited).await;
        t.comment(
            n,
            &sam(),
            &format!("/override dag {head} INC-7 prod is down"),
        )
        .await;
        insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @r#"
        #2: 🔓 hoist/dag overridden by @sam on 0000000: INC-7 prod is down. The override is recorded; a new push needs a new one.
        ---
        check: hoist/dag failure: An image skips the promotion DAG
        check: hoist/dag success: Overridden by @sam
        #2 reaction: eyes to @sam's "/override dag 0000000000000000000000000000000278dde6e4 INC-7 prod is down"
        #2 reaction: rocket to @sam's "/override dag 0000000000000000000000000000000278dde6e4 INC-7 prod is down"
        "#) };
        assert_eq!(dag_conclusion(&t, &head).as_deref(), Some("success"));
        let runs = dag_runs(&t, &head);
        t.lose_store().await;
        t.reconcile().await;
        assert_eq!(
            (dag_conclusion(&t, &head).as_deref(), dag_runs(&t, &head)),
            (Some("success"), runs),
            "{drive:?}"
        );
    }
}

/// GitHub merged dev's pull request (Hoist's merge call went through) and Hoist never
/// recorded it: the process died before its write, and the `closed` webhook was lost.
/// Reconcile records the merge and verifies it. On the engine and through `hoist serve`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_records_and_verifies_a_merge_that_was_never_recorded() {
    for drive in [Drive::Engine, Drive::Serve] {
        let mut t = Tester::start(drive).await;
        t.push("v1.4.0", "a1").await;
        let head = t.forge.pr(1).head_sha;
        t.forge.merge(1, &head, "Promote", "").await.unwrap();
        t.forge
            .sync_merged(&t.argo, 1, &format!("{IMAGE}@{}", digest("a1")));
        t.reconcile().await;
        insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @"
        #1: ✅ Verified in **dev**: my-app-service1 v1.4.0 is Synced and Healthy at 0000000 (Argo CD app my-app-service1-dev). Next: comment /promote uat.
        ---
        check: hoist/argocd pending: Waiting
        check: hoist/dag success: No gated image values change
        ") };
        t.reconcile().await;
        // Verified once: nothing more said.
        assert_eq!(t.said(), "", "{drive:?}");
    }
}

/// alice pushes her own commit onto Hoist's dev branch and merges the pull request by
/// hand; every event of it is lost. Reconcile's repair of lost merges must not take it
/// for Hoist's promotion: the head is not one Hoist wrote (its store's record, against
/// the forge's head SHA), so nothing is recorded as merged or verified. On the engine and
/// through `hoist serve`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_does_not_record_a_hand_merge_of_a_head_hoist_did_not_write() {
    for drive in [Drive::Engine, Drive::Serve] {
        let mut t = Tester::start(drive).await;
        t.push("v1.4.0", "a1").await;
        let p = t.forge.pr(1);
        let dev = "apps/my-app-service1/env/dev/kustomization.yaml";
        let theirs = t
            .forge
            .file_at(&p.head_sha, dev)
            .unwrap()
            .replace(&digest("a1"), &digest("zz"));
        let head = t.forge.push_as(&p.head_ref, &alice(), dev, &theirs);
        t.forge.merge(1, &head, "Promote", "").await.unwrap();
        t.forge
            .sync_merged(&t.argo, 1, &format!("{IMAGE}@{}", digest("zz")));
        t.reconcile().await;
        // Nothing verified, nothing said (the Tester fails on any comment not asserted).
        assert!(!t.in_ledger("dev", "zz").await, "{drive:?}");
        if drive == Drive::Engine {
            assert!(!t.in_ledger_merged("dev", "a1").await);
        }
        insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @"
        check: hoist/argocd pending: Waiting
        check: hoist/dag success: No gated image values change
        ") };
    }
}

/// Someone closed dev's pull request unmerged and the `closed` webhook was lost: reconcile
/// does what it would have done, retiring Hoist's head and deleting its branch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_records_a_close_that_was_never_recorded() {
    for drive in [Drive::Engine, Drive::Serve] {
        let mut t = Tester::start(drive).await;
        t.push("v1.4.0", "a1").await;
        let branch = t.forge.pr(1).head_ref;
        t.forge.close_pull_request(1).await.unwrap();
        assert!(t.forge.branch_head(&branch).is_some());
        t.reconcile().await;
        assert_eq!(t.forge.branch_head(&branch), None, "{drive:?}");
        insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @"
        check: hoist/argocd pending: Waiting
        check: hoist/dag success: No gated image values change
        ") };
    }
}

/// The normal flow's command, `/promote uat` on dev's merged pull request, whose webhook
/// was lost: reconcile finds it among the repository's recent comments and runs it, on
/// the engine and through `hoist serve` (`hoist reconcile --once`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_answers_a_lost_command_on_a_merged_pull_request() {
    for drive in [Drive::Engine, Drive::Serve] {
        let mut t = Tester::start(drive).await;
        t.dev_verified().await;
        post_as(&t.forge, 1, &quinn(), "/promote uat");
        assert_eq!(t.reconcile().await, 1, "{drive:?}");
        insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @r#"
        #1: 🚀 Opened #2 to promote my-app-service1 v1.4.0 to **uat**.
        ---
        #1 reaction: eyes to @quinn's "/promote uat"
        #1 reaction: rocket to @quinn's "/promote uat"
        "#) };
        assert_eq!(t.prs(), 2, "{drive:?}");
        // Answered once: the next pass finds nothing to do.
        assert_eq!(t.reconcile().await, 0, "{drive:?}");
        insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @"
        check: hoist/argocd pending: Waiting
        check: hoist/dag success: Every image came through the DAG
        ") };
    }
}
