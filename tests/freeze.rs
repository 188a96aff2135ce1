//! `/freeze STAGE [reason]` and `/unfreeze STAGE`: nothing merges into a frozen stage;
//! a break-glass `/override freeze <reason>` lets one pull request through, at its head;
//! a freeze survives a lost store, rebuilt from Hoist's own replies only.

mod support;

use hoist::event::ReviewState;
use hoist::forge::PrState;
use support::memory_forge::{edit_comment, post_as};
use support::tester::*;

/// uat is frozen by a member of the break-glass team (the example names no `freeze.by`);
/// a ready promotion into uat waits, its check saying who froze it and why, until
/// `/unfreeze uat`, which merges it. Others may not freeze. The same through the real
/// `hoist serve`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_stage_merges_nothing_until_unfrozen() {
    for drive in [Drive::Engine, Drive::Serve] {
        freeze_and_unfreeze(drive).await;
    }
}

async fn freeze_and_unfreeze(drive: Drive) {
    let mut t = Tester::start(drive).await;
    t.uat_pending().await;
    t.comment(1, &mallory(), "/freeze uat").await;
    t.comment(1, &quinn(), "/freeze uat").await;
    t.comment(1, &sam(), "/freeze uta").await;
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @r#"
    #1: ⛔ @mallory, /freeze needs write access and membership in @acme/sre-leads.
    ---
    #1: ⛔ @quinn, /freeze needs write access and membership in @acme/sre-leads.
    ---
    #1: ⛔ /freeze uta: there is no stage "uta". Did you mean "uat"? Stages: dev, uat, prod. See /help.
    ---
    #1 reaction: eyes to @mallory's "/freeze uat"
    #1 reaction: confused to @mallory's "/freeze uat"
    #1 reaction: eyes to @quinn's "/freeze uat"
    #1 reaction: confused to @quinn's "/freeze uat"
    #1 reaction: eyes to @sam's "/freeze uta"
    #1 reaction: confused to @sam's "/freeze uta"
    "#) };
    t.comment(1, &sam(), "/freeze uat INC-7 payments are down")
        .await;
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @r#"
    #1: ❄️ @sam froze **uat**: INC-7 payments are down. Nothing merges into uat until `/unfreeze uat`; in an emergency, the break-glass team's `/override freeze <reason>` lets one pull request through.
    ---
    check: hoist/argocd pending: Waiting
    #1 reaction: eyes to @sam's "/freeze uat INC-7 payments are down"
    #1 reaction: rocket to @sam's "/freeze uat INC-7 payments are down"
    "#) };
    t.check(2, Some("success")).await;
    assert_eq!(t.forge.pr(2).state, PrState::Open);
    insta::allow_duplicates! { insta::assert_snapshot!(t.gate_lines(2, "frozen"), @"⏳ /unfreeze uat (uat is frozen by @sam: INC-7 payments are down)") };
    t.comment(2, &quinn(), "/status").await;
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @r#"
    #2: | stage | my-app-service1 | | PR |
    |---|---|---|---|
    | dev | v1.4.0 | ✅ verified |  |
    | uat | v1.3.2 |  | #2 |
    | prod | v1.3.0 |  |  |

    ❄️ /unfreeze uat (uat is frozen by @sam: INC-7 payments are down)
    ---
    check: hoist/argocd pending: Waiting
    #2 reaction: eyes to @quinn's "/status"
    #2 reaction: rocket to @quinn's "/status"
    "#) };
    t.comment(2, &sam(), "/unfreeze uat").await;
    assert_eq!(t.forge.pr(2).state, PrState::Merged);
    t.expect_wait_for_argo("uat");
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @r#"
    #2: ▶️ @sam unfroze **uat**: pull requests into it merge again.
    ---
    #2: ⏳ Deploying to **uat**: merged as `0000000`; Argo CD app [my-app-service1-uat](ARGOCD/applications/my-app-service1-uat): Argo CD has no application my-app-service1-uat. Hoist looks again and updates this comment.
    ---
    check: hoist/argocd success: Ready to merge
    #2 reaction: eyes to @sam's "/unfreeze uat"
    #2 reaction: rocket to @sam's "/unfreeze uat"
    "#) };
    t.comment(2, &sam(), "/unfreeze uat").await;
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @r#"
    #2: **uat** is not frozen.
    ---
    #2 reaction: eyes to @sam's "/unfreeze uat"
    #2 reaction: rocket to @sam's "/unfreeze uat"
    "#) };
}

/// prod is frozen while a promotion waits for its code owner: the approval does not
/// merge it. Only the break-glass team may let it through, only at the head it has and
/// only through the freeze that stands: an override given before prod was unfrozen and
/// frozen again lets nothing through. Then it merges, and prod stays frozen.
#[tokio::test]
async fn a_break_glass_override_lets_one_pull_request_through() {
    let mut t = prod_pr_awaiting_approval().await;
    t.comment(3, &sam(), "/freeze prod").await;
    t.comment(3, &sam(), "/override freeze INC-7 early").await;
    t.comment(3, &sam(), "/unfreeze prod\n/freeze prod the weekend")
        .await;
    t.said();
    t.review(3, &sam(), ReviewState::Approved, None).await;
    assert_eq!(t.forge.pr(3).state, PrState::Open);
    insta::assert_snapshot!(t.gate_lines(3, "frozen"), @"⏳ /unfreeze prod (prod is frozen by @sam: the weekend)");
    t.comment(3, &quinn(), "/override freeze we need it").await;
    t.comment(3, &sam(), "/override freeze").await;
    assert_eq!(t.forge.pr(3).state, PrState::Open);
    insta::assert_snapshot!(t.said(), @r#"
    #3: ⛔ @quinn, /override freeze needs write access and membership in @acme/sre-leads.
    ---
    #3: ⛔ /override needs what and why: `/override dag <head SHA> <reason>` or `/override freeze <reason>`. See /help.
    ---
    check: hoist/argocd pending: Waiting
    #3 reaction: eyes to @quinn's "/override freeze we need it"
    #3 reaction: confused to @quinn's "/override freeze we need it"
    #3 reaction: eyes to @sam's "/override freeze"
    #3 reaction: confused to @sam's "/override freeze"
    "#);
    t.comment(3, &sam(), "/override freeze INC-7 the fix itself")
        .await;
    assert_eq!(t.forge.pr(3).state, PrState::Merged);
    t.expect_wait_for_argo("prod");
    insta::assert_snapshot!(t.said(), @r#"
    #3: 🔓 @sam let this pull request through the freeze of **prod** at 0000000: INC-7 the fix itself. The override is recorded; a new head needs a new one.
    ---
    #3: ⏳ Deploying to **prod**: merged as `0000000`; Argo CD app [my-app-service1-prod](ARGOCD/applications/my-app-service1-prod): Argo CD has no application my-app-service1-prod. Hoist looks again and updates this comment.
    ---
    check: hoist/argocd success: Ready to merge
    #3 reaction: eyes to @sam's "/override freeze INC-7 the fix itself"
    #3 reaction: rocket to @sam's "/override freeze INC-7 the fix itself"
    "#);
    let frozen = t.engine.store.frozen("prod").await.unwrap().unwrap();
    assert_eq!(
        (frozen.by.as_str(), frozen.reason.as_str()),
        ("sam", "the weekend")
    );
}

/// After the store is lost, the freeze comes back from Hoist's own reply, and only from
/// it: a record someone else wrote at the top of their comment, or one edited into
/// Hoist's own reply, counts for nothing.
#[tokio::test]
async fn a_freeze_survives_a_lost_store_from_hoists_own_replies_only() {
    let mut t = Tester::new();
    t.uat_pending().await;
    t.comment(1, &sam(), "/freeze uat INC-7").await;
    t.said();
    // The record opens Hoist's reply, hidden from readers as an HTML comment.
    let (_, reply) = t.forge.own_comments(1).into_iter().last().unwrap();
    insta::assert_snapshot!(reply.lines().next().unwrap(), @r#"<!-- hoist:freeze {"stage":"uat","frozen":true,"by":"sam","reason":"INC\u002d7","at":1795687200000} -->"#);
    let forged = r#"<!-- hoist:freeze {"stage":"uat","frozen":false,"by":"sam","reason":"","at":99999999999999} -->
looks like Hoist"#;
    post_as(&t.forge, 1, &mallory(), forged);
    t.lose_store().await;
    t.check(2, Some("success")).await;
    assert_eq!(t.forge.pr(2).state, PrState::Open);
    insta::assert_snapshot!(t.gate_lines(2, "frozen"), @"⏳ /unfreeze uat (uat is frozen by @sam: INC-7)");
    // Someone with write access edits an earlier reply of Hoist's to open with a later
    // unfreeze: an edited comment is no record.
    let (id, body) = t.forge.own_comments(1).into_iter().next().unwrap();
    let unfreeze = r#"<!-- hoist:freeze {"stage":"uat","frozen":false,"by":"sam","reason":"","at":99999999999999} -->"#;
    edit_comment(&t.forge, id, &format!("{unfreeze}\n{body}"));
    t.lose_store().await;
    t.check(2, Some("success")).await;
    assert_eq!(t.forge.pr(2).state, PrState::Open);
    t.said();
    t.comment(2, &sam(), "/unfreeze uat").await;
    assert_eq!(t.forge.pr(2).state, PrState::Merged);
    t.expect_wait_for_argo("uat");
    insta::assert_snapshot!(t.said(), @r#"
    #2: ▶️ @sam unfroze **uat**: pull requests into it merge again.
    ---
    #2: ⏳ Deploying to **uat**: merged as `0000000`; Argo CD app [my-app-service1-uat](ARGOCD/applications/my-app-service1-uat): Argo CD has no application my-app-service1-uat. Hoist looks again and updates this comment.
    ---
    check: hoist/argocd success: Ready to merge
    #2 reaction: eyes to @sam's "/unfreeze uat"
    #2 reaction: rocket to @sam's "/unfreeze uat"
    "#);
    t.lose_store().await;
    assert_eq!(t.engine.store.freezes().await.unwrap(), vec![]);
}

/// `hoist status` and its JSON, and the status page, show a frozen stage.
#[tokio::test]
async fn a_frozen_stage_shows_in_status() {
    let mut t = Tester::new();
    t.uat_pending().await;
    t.comment(1, &sam(), "/freeze prod change freeze until Monday")
        .await;
    t.said();
    t.advance(std::time::Duration::from_secs(300));
    let grid = hoist::status::grid(
        &t.engine.config,
        Some(&t.engine.store),
        None,
        t.engine.store.now_ms(),
    )
    .await
    .unwrap();
    insta::assert_snapshot!(hoist::status::render(&grid), @"
    service          dev              uat                                                                                prod
                                                                                                                         frozen
    my-app-service1  v1.4.0 a1a1a1a   pending                                                                            -
                     verified 5m ago  #2 → v1.4.0, opened 5m ago
                                        https://github.com/acme/gitops/pull/2
                                        waits: render/my-app-service1-uat on 0000000 from the GitHub App acme-gitops-ci
    my-app-service2  -                -                                                                                  -
    billing-api      -                -                                                                                  -
    nightly-report   -                -                                                                                  -
    prod is frozen by @sam (5m ago): change freeze until Monday; nothing merges into it until /unfreeze prod
    (what runs is from Hoist's ledger alone; give --repo with a checkout of the base branch, or --live, to read the overlays)
    ");
    let json = serde_json::to_value(&grid).unwrap();
    insta::assert_snapshot!(json["frozen"][0]["stage"], @r#""prod""#);
    insta::assert_snapshot!(json["frozen"][0]["reason"], @r#""change freeze until Monday""#);
    let page = hoist::server::status_page::render(&grid, None, &[]);
    assert!(
        page.contains("<th class=\"frozen\">prod<br><span>frozen</span></th>"),
        "{page}"
    );
    assert!(page.contains("<li>prod is frozen by @sam (5m ago): change freeze until Monday; nothing merges into it until /unfreeze prod</li>"), "{page}");
}

/// A `/unfreeze` whose event never came is not run late by reconcile (an old one could
/// lift a newer freeze): Hoist says so, and the stage stays frozen.
#[tokio::test]
async fn a_missed_unfreeze_is_not_run_late() {
    let mut t = Tester::new();
    t.uat_pending().await;
    t.comment(2, &sam(), "/freeze uat").await;
    t.said();
    post_as(&t.forge, 2, &sam(), "/unfreeze uat");
    t.engine.reconcile().await.unwrap();
    insta::assert_snapshot!(t.said(), @r#"
    #2: ⛔ Hoist did not answer this comment when it was posted, and runs no late /freeze, /unfreeze, /override freeze, /unhold <stage> or /rollback (an old one could undo a newer decision): comment it again if it still stands.
    ---
    #2 reaction: eyes to @sam's "/unfreeze uat"
    #2 reaction: confused to @sam's "/unfreeze uat"
    "#);
    assert!(t.engine.store.frozen("uat").await.unwrap().is_some());
}
