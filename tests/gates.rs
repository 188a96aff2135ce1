//! The red-team matrix (R5 of the proof harness, `bench/gates` prints it): every way
//! past a gate that someone short of the gate's authority could try, each attempted
//! against the engine and followed by a control, the legitimate way, that must work.
//! One test per attack, so a regression names its attack; `the_matrix` runs them all
//! and prints the table.

mod support;

use hoist::event::{Actor, ReviewState};
use hoist::forge::PrState;
use support::memory_forge::{edit_comment, post_as};
use support::tester::*;

/// What one attack came to: whether it was refused (nothing merged, opened or held that
/// the attacker could not do alone), and whether the control that follows it, the
/// legitimate way, did what was asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Outcome {
    refused: bool,
    control: bool,
}

/// An attack, run from scratch.
type Attack = fn() -> futures::future::BoxFuture<'static, Outcome>;

const ALL: &[(&str, &str, Attack)] = &[
    ("promote without write access", "GitHub (memory)", || {
        Box::pin(promote_without_write_access())
    }),
    (
        "promote by a writer outside the promoters team",
        "GitHub (memory)",
        || Box::pin(promote_outside_promoters()),
    ),
    ("promote skipping uat (DAG)", "GitHub (memory)", || {
        Box::pin(promote_skipping_uat())
    }),
    (
        "approval by the requester, a code owner",
        "GitHub (memory)",
        || Box::pin(approval_by(Who::Requester, None)),
    ),
    (
        "approval by a bot in the owners team",
        "GitHub (memory)",
        || Box::pin(approval_by(Who::Bot, None)),
    ),
    (
        "approval by a writer who owns nothing",
        "GitHub (memory)",
        || Box::pin(approval_by(Who::Writer, None)),
    ),
    ("approval given on an older head", "GitHub (memory)", || {
        Box::pin(approval_by(Who::Owner, Some("0000000")))
    }),
    ("approval by Hoist itself", "GitHub (memory)", || {
        Box::pin(approval_by(Who::Hoist, None))
    }),
    (
        "merge while a required check fails",
        "GitHub (memory)",
        || Box::pin(merge_while_check_fails()),
    ),
    ("merge while on /hold", "GitHub (memory)", || {
        Box::pin(merge_while_held())
    }),
    (
        "a comment edited into a command by another writer",
        "GitHub (memory)",
        || Box::pin(edited_comment_promotes()),
    ),
    (
        "a forged reply marker hides a /hold from reconcile",
        "GitHub (memory)",
        || Box::pin(forged_reply_marker()),
    ),
];

async fn promote_without_write_access() -> Outcome {
    let mut t = Tester::new();
    t.dev_verified().await;
    t.comment(1, &mallory(), "/promote uat").await;
    t.expect_comment(1, "⛔ @mallory, promoting to **uat** needs write access");
    let refused = t.prs() == 1;
    control_promote(t, refused).await
}

async fn promote_outside_promoters() -> Outcome {
    let mut t = Tester::new();
    t.dev_verified().await;
    t.comment(1, &alice(), "/promote uat").await;
    t.expect_comment(1, "⛔ @alice, promoting to **uat** needs write access");
    let refused = t.prs() == 1;
    control_promote(t, refused).await
}

async fn promote_skipping_uat() -> Outcome {
    let mut t = Tester::new();
    t.dev_verified().await;
    t.comment(1, &quinn(), "/promote prod").await;
    t.expect_comment(1, "⛔");
    let refused = t.prs() == 1;
    control_promote(t, refused).await
}

/// The control of an attack on dev's PR #1: a promoter's `/promote uat` opens #2.
async fn control_promote(mut t: Tester, refused: bool) -> Outcome {
    t.comment(1, &quinn(), "/promote uat").await;
    t.expect_comment(1, "🚀 Opened #2");
    Outcome {
        refused,
        control: t.prs() == 2,
    }
}

enum Who {
    Requester,
    Bot,
    Writer,
    Owner,
    Hoist,
}

async fn approval_by(who: Who, on: Option<&str>) -> Outcome {
    let t = prod_pr_awaiting_approval().await;
    let who: Actor = match who {
        Who::Requester => quinn(),
        Who::Bot => renovate(),
        Who::Writer => alice(),
        Who::Owner => sam(),
        Who::Hoist => t.forge.me_actor(),
    };
    t.review(3, &who, ReviewState::Approved, on).await;
    let refused = t.forge.pr(3).state == PrState::Open;
    control_approve(t, refused).await
}

/// The control of an attack on prod's PR #3: a code owner's approval of the head merges.
async fn control_approve(mut t: Tester, refused: bool) -> Outcome {
    t.review(3, &sam(), ReviewState::Approved, None).await;
    t.asserted = usize::MAX;
    Outcome {
        refused,
        control: t.forge.pr(3).state == PrState::Merged,
    }
}

async fn merge_while_check_fails() -> Outcome {
    let mut t = prod_pr_awaiting_approval().await;
    t.check(3, Some("failure")).await;
    t.review(3, &sam(), ReviewState::Approved, None).await;
    let refused = t.forge.pr(3).state == PrState::Open;
    t.check(3, Some("success")).await;
    t.asserted = usize::MAX;
    Outcome {
        refused,
        control: t.forge.pr(3).state == PrState::Merged,
    }
}

async fn merge_while_held() -> Outcome {
    let mut t = prod_pr_awaiting_approval().await;
    t.comment(3, &sam(), "/hold").await;
    t.review(3, &sam(), ReviewState::Approved, None).await;
    let refused = t.forge.pr(3).state == PrState::Open;
    t.comment(3, &sam(), "/unhold").await;
    t.asserted = usize::MAX;
    Outcome {
        refused,
        control: t.forge.pr(3).state == PrState::Merged,
    }
}

/// Anyone with write access can edit anyone's comment on GitHub. A comment edited into
/// a command after it was posted (here a promoter's remark made into `/hold` by another
/// writer) is found by reconcile as a command without an answer: it must run nothing,
/// because its author never wrote it. The control: the same command, posted, runs.
async fn edited_comment_promotes() -> Outcome {
    let mut t = Tester::new();
    t.push("v1.4.0", "a1").await;
    let c = t.comment(1, &quinn(), "Looks good to me").await;
    edit_comment(&t.forge, c, "/hold");
    let report = t.engine.reconcile().await.unwrap();
    let refused = report.answered == 0 && t.hoist_comments().is_empty();
    t.comment(1, &quinn(), "/hold").await;
    t.expect_comment(1, "⏸️ Held by @quinn.");
    t.check(1, Some("success")).await;
    Outcome {
        refused,
        control: t.forge.pr(1).state == PrState::Open,
    }
}

/// A marker is a record only in Hoist's own comments. An SRE's `/hold` whose webhook
/// was lost, and a commenter's comment carrying `<!-- hoist:mark reply:N -->` for it:
/// reconcile must still apply the hold.
async fn forged_reply_marker() -> Outcome {
    let mut t = Tester::new();
    t.push("v1.4.0", "a1").await;
    let hold = post_as(&t.forge, 1, &sam(), "/hold");
    let forged = hoist::messages::marker(&format!("reply:{hold}"));
    post_as(
        &t.forge,
        1,
        &mallory(),
        &format!("nothing to see\n\n{forged}"),
    );
    t.engine.reconcile().await.unwrap();
    t.expect_comment(1, "⏸️ Held by @sam.");
    t.check(1, Some("success")).await;
    let refused = t.forge.pr(1).state == PrState::Open;
    t.comment(1, &sam(), "/unhold").await;
    t.expect_comment(1, "▶️ Released by @sam.");
    Outcome {
        refused,
        control: t.forge.pr(1).state == PrState::Merged,
    }
}

async fn run(name: &str) -> Outcome {
    let (_, _, attack) = ALL.iter().find(|(n, _, _)| *n == name).unwrap();
    attack().await
}

macro_rules! attack_tests {
    ($($test:ident => $name:literal),* $(,)?) => {$(
        #[tokio::test]
        async fn $test() {
            assert_eq!(run($name).await, Outcome { refused: true, control: true });
        }
    )*};
}

attack_tests! {
    edited_comments_run_no_command => "a comment edited into a command by another writer",
    markers_count_only_in_hoists_own_comments => "a forged reply marker hides a /hold from reconcile",
}

/// Every attack, as the table `bench/gates` prints. The target: every attack refused
/// with nothing merged, and every control through.
#[tokio::test]
async fn the_matrix() {
    let mut rows = vec![];
    for (name, forge, attack) in ALL {
        rows.push((name, forge, attack().await));
    }
    println!("| attack | forge | refused? | control through? |\n|---|---|---|---|");
    let yes = |b: bool| if b { "yes" } else { "**NO**" };
    for (name, forge, o) in &rows {
        println!(
            "| {name} | {forge} | {} | {} |",
            yes(o.refused),
            yes(o.control)
        );
    }
    let refused = rows.iter().filter(|(_, _, o)| o.refused).count();
    let controls = rows.iter().filter(|(_, _, o)| o.control).count();
    println!(
        "refused {refused} of {n}; controls through {controls} of {n}",
        n = rows.len()
    );
    assert_eq!(refused, rows.len(), "a gate let an attack through");
    assert_eq!(controls, rows.len(), "a legitimate request was refused");
}
