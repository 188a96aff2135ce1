//! Every sentence Hoist shows people, one function per message. Wording changes never
//! touch logic.

use std::fmt::Write;

use crate::config::{Availability, Config, Stage, expand};
use crate::freight::Freight;

/// `Roll back my-app-service1 in prod to v1.3.0 (from v1.4.0)`
pub fn rollback_title(service: &str, stage: &str, tag: &str, from: &str) -> String {
    format!("Roll back {service} in {stage} to {tag} (from {from})")
}

/// The first lines of a rollback's pull request body.
pub fn rollback_banner(
    stage: &str,
    from: &str,
    to: &str,
    gate: crate::config::RollbackGate,
) -> String {
    let gate = match gate {
        crate::config::RollbackGate::Same => {
            format!("It passes {stage}'s gate like any promotion.")
        }
        crate::config::RollbackGate::None => format!(
            "{stage}'s rollbacks need no code owner's approval (`rollback: {{ gate: none }}`); required checks and Argo CD still apply."
        ),
    };
    format!(
        "> [!WARNING]\n> **Rollback**: puts back {to} in **{stage}**, which runs {from} now. {gate} Once it merges, forward promotions into {stage} wait until `/unhold {stage}`."
    )
}

/// `Promote my-app-service1 v1.4.0 to dev`
pub fn pr_title(service: &str, tag: &str, stage: &str) -> String {
    format!("Promote {service} {tag} to {stage}")
}

/// A group's freight: `checkout-api v3.1.0, checkout-worker v3.1.0`.
pub fn members_list(members: &[Freight]) -> String {
    members
        .iter()
        .map(|m| format!("{} {}", m.service, m.tag))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A group's pull request: `Promote checkout (checkout-api v3.1.0, checkout-worker v3.1.0) to dev`.
pub fn group_pr_title(group: &str, members: &[Freight], stage: &str) -> String {
    format!("Promote {group} ({}) to {stage}", members_list(members))
}

/// A group verified in `stage`: every member's application runs its image.
pub fn group_verified(
    stage: &str,
    group: &str,
    members: &[Freight],
    merge_sha: &str,
    apps: &[String],
    next: &[&str],
) -> String {
    let what = format!("{group} ({})", members_list(members));
    let at = crate::image::short_sha(merge_sha);
    let how = match apps {
        [] => format!("is merged at {at}"),
        apps => format!(
            "is Synced and Healthy at {at} (Argo CD apps {})",
            apps.join(", ")
        ),
    };
    verified_line(stage, &what, &how, next)
}

/// The registry could not say which commit a group member's image was built from.
pub fn labels_unreadable(why: &str) -> String {
    format!("cannot read the image's labels to match it with its group: {why}")
}

/// A member's own promotion, opened before its group was configured.
pub fn member_pr_not_merged(service: &str, group: &str) -> String {
    format!(
        "⛔ {service} ships with group {group}: Hoist does not merge this pull request, which would move it alone. The group's pull request moves it; close this one."
    )
}

/// `/promote` on a member's own pull request: it moves only with its group.
pub fn member_moves_with_group(service: &str, group: &str) -> String {
    format!(
        "⛔ {service} ships with group {group}: it moves only with the group, by /promote on the group's pull request"
    )
}

/// `hoist plan`: a push of a group member, which moves only with its group.
pub fn plan_group_member(service: &str, tag: &str, group: &str) -> String {
    format!("{service} {tag} is in group {group}: it moves with the group, never alone")
}

/// `hoist plan`: a group still missing members under `key`.
pub fn plan_group_waiting(group: &str, missing: &[&str], key: &str) -> String {
    format!("group {group}: waiting for {} at {key}", missing.join(", "))
}

/// `hoist plan`: the heading of a group's plan, once its members are all there.
pub fn plan_group_heading(group: &str, key: &str) -> String {
    format!("== group {group} at {key} ==\n")
}

/// A group's squash commit message: one trailer per member.
pub fn group_commit_message(
    title: &str,
    members: &[Freight],
    stage: &str,
    requested_by: &str,
) -> String {
    let trailers: Vec<String> = members
        .iter()
        .map(|m| crate::marks::trailers(&m.id(), stage, requested_by))
        .collect();
    format!("{title}\n\n{}", trailers.join("\n"))
}

/// A group's pull request body: what moves together, then each member's own body.
pub fn group_pr_body(group: &str, stage: &str, bodies: &[&str], unchanged: &[String]) -> String {
    let mut s = format!(
        "Group **{group}** ships together: its members move to **{stage}** in this one pull request, and the group counts as verified there only when every member's application is.\n\n"
    );
    for u in unchanged {
        let _ = writeln!(s, "- {u}");
    }
    if !unchanged.is_empty() {
        s.push('\n');
    }
    s.push_str(&bodies.join("\n---\n\n"));
    s
}

/// The squash commit message, with Hoist's trailers (for people; never read back).
pub fn commit_message(title: &str, freight: &Freight, stage: &str, requested_by: &str) -> String {
    format!(
        "{title}\n\n{}",
        crate::marks::trailers(&freight.id(), stage, requested_by)
    )
}

/// What one stage runs, for the pipeline picture.
pub struct StageView<'a> {
    pub stage: &'a str,
    pub tag: Option<&'a str>,
    pub state: crate::status::State,
}

pub struct BodyArgs<'a> {
    pub config: &'a Config,
    pub freight: &'a Freight,
    pub stage: &'a str,
    pub previous_tag: Option<&'a str>,
    pub pipeline: &'a [StageView<'a>],
    pub gate: String,
    pub requested_by: &'a str,
}

pub fn pr_body(a: &BodyArgs) -> String {
    let f = a.freight;
    let mut s = String::new();
    let _ = writeln!(s, "### {} → {}\n", f.service, a.stage);
    s.push_str("| | |\n|---|---|\n");
    let _ = writeln!(s, "| Image | `{}` |", f.image);
    let runs = a
        .previous_tag
        .map(|t| format!(" ({} runs `{t}`)", a.stage))
        .unwrap_or_default();
    let _ = writeln!(s, "| Tag | `{}`{runs} |", f.tag);
    let _ = writeln!(s, "| Digest | `{}` |", f.digest);
    if let Some(src) = &f.source {
        let _ = writeln!(
            s,
            "| Source | `{src}` (image label `org.opencontainers.image.revision`) |"
        );
    }
    if let Some(at) = &f.pushed_at {
        let _ = writeln!(s, "| Pushed | {} |", pushed(at));
    }
    s.push('\n');
    s.push_str(&pipeline(a.config, a.stage, f.tag.as_str(), a.pipeline));
    let _ = writeln!(s, "\n**Gate:** {}\n", a.gate);
    let meta = crate::marks::BodyMeta {
        service: &f.service,
        stage: a.stage,
        image: f.image.as_str(),
        tag: f.tag.as_str(),
        digest: f.digest.as_str(),
        requested_by: a.requested_by,
    };
    let _ = writeln!(s, "{}", crate::marks::body_block(&meta));
    s
}

/// `2019-11-16T01:54:34Z` as `2019-11-16 01:54 UTC`; other forms as given.
fn pushed(at: &str) -> String {
    match (at.get(..10), at.get(11..16)) {
        (Some(d), Some(t)) if at.ends_with('Z') && at.as_bytes().get(10) == Some(&b'T') => {
            format!("{d} {t} UTC")
        }
        _ => at.to_owned(),
    }
}

/// The DAG as a picture: each stage with what it runs, coloured by state, the target
/// marked ⏳. A Mermaid flowchart on GitHub; a table on CodeCommit, which does not render
/// Mermaid.
fn pipeline(config: &Config, target: &str, new_tag: &str, views: &[StageView]) -> String {
    use crate::status::State;
    let label = |v: &StageView| {
        if v.stage == target {
            format!("{new_tag} ⏳")
        } else {
            v.tag.unwrap_or("none").to_owned()
        }
    };
    if matches!(config.forge, crate::config::Forge::Codecommit(_)) {
        let mut s = String::from("| Stage | Runs | State |\n|---|---|---|\n");
        for v in views {
            let state = if v.stage == target {
                "this pull request".to_owned()
            } else {
                status::state_word(v.state).to_owned()
            };
            let _ = writeln!(s, "| {} | `{}` | {state} |", v.stage, label(v));
        }
        return s;
    }
    let id = |s: &str| format!("s_{}", s.replace('-', "_"));
    let mut s = String::from("```mermaid\nflowchart LR\n");
    for v in views {
        let _ = writeln!(s, "  {}[\"{} · {}\"]", id(v.stage), v.stage, label(v));
    }
    for (name, stage) in config.stages.iter() {
        for up in &stage.upstream {
            let _ = writeln!(s, "  {} --> {}", id(up), id(name));
        }
    }
    // Colours a reader tells apart: green verified, amber merged, blue pending.
    let classes = [
        (State::Verified, "verified", "fill:#d4edda,stroke:#2e7d32"),
        (State::Merged, "merged", "fill:#fff3cd,stroke:#b7791f"),
        (State::Pending, "pending", "fill:#dbeafe,stroke:#1d4ed8"),
    ];
    for (state, class, style) in classes {
        let members: Vec<String> = views
            .iter()
            .filter(|v| v.state == state)
            .map(|v| id(v.stage))
            .collect();
        if !members.is_empty() {
            let _ = writeln!(s, "  classDef {class} {style}");
            let _ = writeln!(s, "  class {} {class}", members.join(","));
        }
    }
    s.push_str("```\n");
    s
}

/// Who or what must act before Hoist merges, in one sentence.
pub fn gate_line(
    stage_name: &str,
    stage: &Stage,
    checks: &[String],
    owners: &[(String, Vec<String>)],
    requested_by: &str,
) -> String {
    let checks_text = if checks.is_empty() {
        String::new()
    } else {
        checks
            .iter()
            .map(|c| format!("`{c}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let merges_when = if checks.is_empty() {
        "Hoist merges it right away.".to_owned()
    } else {
        format!(
            "Hoist merges when {checks_text} pass{}.",
            if checks.len() == 1 { "es" } else { "" }
        )
    };
    if stage.gate.codeowners {
        let of = owners
            .iter()
            .map(|(dir, who)| {
                let who = if who.is_empty() {
                    "no owner listed in CODEOWNERS".to_owned()
                } else {
                    who.join(", ")
                };
                format!("{dir} ({who})")
            })
            .collect::<Vec<_>>()
            .join(" and one of ");
        let other = if stage.gate.separate_approver {
            format!(", other than {} who requested it", requester(requested_by))
        } else {
            String::new()
        };
        let and_checks = if checks.is_empty() {
            String::new()
        } else {
            format!(", and {checks_text}")
        };
        return format!("an approval from a code owner of {of}{other}{and_checks}.");
    }
    if stage.gate.command {
        let by = if stage.gate.promoters.is_empty() {
            "anyone with write access".to_owned()
        } else {
            stage.gate.promoters.join(", ")
        };
        return format!("`/promote {stage_name}` by {by}. {merges_when}");
    }
    format!("none ({stage_name} promotes automatically). {merges_when}")
}

/// The required check names for a service in a stage.
pub fn required_checks(config: &Config, service: &str, stage: &str) -> Vec<String> {
    required_checks_posted(config, service, stage)
        .into_iter()
        .map(|(name, _)| name)
        .collect()
}

/// The required checks of a stage, named for it, with who may post each (entries that
/// name no poster are refused when the config loads).
pub fn required_checks_posted(
    config: &Config,
    service: &str,
    stage: &str,
) -> Vec<(String, crate::config::Poster)> {
    config
        .merge
        .required_checks
        .iter()
        .filter_map(|r| Some((expand(r.name(), service, stage), r.poster()?)))
        .collect()
}

/// What Hoist's record of a head it wrote says to people (the record itself is for
/// Hoist: its check run on GitHub, a hidden block on CodeCommit).
pub fn head_record(h: &crate::store::heads::HoistHead) -> String {
    let by = match h.requester.kind {
        crate::domain::ActorKind::User => format!("@{}", h.requester.login),
        crate::domain::ActorKind::Bot => h.requester.login.clone(),
    };
    format!(
        "📝 Hoist wrote {} for #{}: {} {} ({}) to **{}**, requested by {by}.",
        crate::image::short_sha(&h.sha),
        h.pr.unwrap_or_default(),
        h.freight.service,
        h.freight.tag,
        h.freight.digest.short(),
        h.stage,
    )
}

// The merge gate's conditions, one line each in the `hoist/argocd` check run (the mark,
// ✅ ⏳ or ❌, is added with the line).

pub fn gate_check_passed(name: &str, short: &str) -> String {
    format!("{name} succeeded on {short}")
}

pub fn gate_check_failed(name: &str, short: &str) -> String {
    format!("{name} failed on {short}")
}

/// A required check not yet passed on the head by whom the config names.
pub fn gate_check_waiting(name: &str, short: &str, from: &str) -> String {
    format!("{name} on {short} from {from}")
}

pub fn gate_renders(app: &str, short: &str, manifests: usize) -> String {
    format!("Argo CD renders {app} at {short} ({manifests} manifests)")
}

pub fn gate_cannot_render(app: &str, short: &str, why: &str) -> String {
    format!("Argo CD cannot render {app} at {short}: {why}")
}

pub fn gate_upstream_runs(up: &str, digest_short: &str) -> String {
    format!("upstream {up} runs {digest_short} and is Healthy")
}

pub fn gate_upstream_waiting(up: &str, app: &str, digest_short: &str, health: &str) -> String {
    format!("upstream {up} ({app}) to run {digest_short} healthy (it is {health})")
}

/// What `hoist plan` shows for the rendering it does not ask Argo CD for.
pub fn gate_to_render(app: &str, short: &str) -> String {
    format!("Argo CD to render {app} at {short}")
}

/// What `hoist plan` shows for an upstream it does not ask Argo CD about.
pub fn gate_upstream_to_run(up: &str, app: &str, digest_short: &str) -> String {
    format!("upstream {up} ({app}) to run {digest_short} healthy")
}

/// A webhook delivery that found no turn in time (too many at once).
pub fn delivery_busy() -> &'static str {
    "too many deliveries at once; not stored: deliver it again\n"
}

/// A webhook delivery not read and stored in time.
pub fn delivery_timeout() -> &'static str {
    "the delivery was not stored in time; deliver it again\n"
}

/// `hoist serve` (or any command that writes the store) on a store it cannot write.
pub fn store_unwritable(why: &str) -> String {
    format!(
        "it takes no writes ({why}): a read-only file or filesystem, a full disk, or another process holding it locked"
    )
}

/// `/readyz` while the store cannot take a write (disk full, read-only, locked).
pub const READYZ_STORE_REFUSES: &str =
    "store refuses writes: deliveries are answered 503 until it takes them again";

/// `/readyz` while the workers cannot reach the forge yet: deliveries are still stored.
pub fn readyz_connecting(why: &str) -> String {
    format!(
        "accepting deliveries; not connected to the forge yet ({why}): they are handled once it answers"
    )
}

/// Above the gate `hoist plan` shows for each pull request.
pub fn plan_gate_heading() -> &'static str {
    "Gate (hoist/argocd on the new HEAD; Hoist merges once every line is met):"
}

/// The mark of a gate condition, in `hoist/argocd` and `hoist plan`.
pub fn gate_mark(state: crate::policy::gate::State) -> &'static str {
    use crate::policy::gate::State;
    match state {
        State::Ready => "✅",
        State::Waiting => "⏳",
        State::Blocked => "❌",
    }
}

pub fn gate_argocd_unknown(app: &str) -> String {
    format!("Argo CD to know {app}")
}

pub fn gate_argocd_unreachable(why: &str) -> String {
    format!("Argo CD ({why})")
}

/// No code owner could approve: why, instead of waiting for no one.
pub fn gate_no_owner(path: &str, problem: Option<&str>) -> String {
    let why = problem
        .map(|w| format!(" (CODEOWNERS: {w})"))
        .unwrap_or_default();
    format!("no code owner for {path}{why}")
}

pub fn gate_approved(approver: &str, short: &str) -> String {
    format!("approved by @{approver} on {short}")
}

pub fn gate_awaiting_owner(owners: &[String], excluded: Option<&str>) -> String {
    let not = excluded
        .map(|r| format!(" (not {})", requester(r)))
        .unwrap_or_default();
    format!("approval from {}{not}", owners.join(", "))
}

pub fn gate_held(by: &str) -> String {
    format!("/unhold (held by @{by})")
}

/// The `hoist/argocd` line of freight still soaking in an upstream.
pub fn gate_soaking(up: &str, left_ms: Option<i64>, soak_ms: i64) -> String {
    let soak = crate::clock::duration_text(soak_ms);
    match left_ms {
        Some(left) => format!(
            "soak in {up}: {} left (it must run verified there for {soak} first)",
            crate::clock::duration_text(left)
        ),
        None => format!(
            "soak in {up}: not verified there yet (it must run verified there for {soak} first)"
        ),
    }
}

/// The `hoist/argocd` line of a merge outside every deploy window.
pub fn gate_outside_window(windows: &str, next: Option<i64>) -> String {
    match next {
        Some(at) => format!(
            "deploy window ({windows}): the next opens at {}",
            crate::clock::rfc3339(at / 1000)
        ),
        None => format!("deploy window ({windows}): none opens in the next fortnight"),
    }
}

/// The queue's wait for a window to open.
pub fn window_until(at_ms: i64) -> String {
    format!(
        "outside every deploy window until {}",
        crate::clock::rfc3339(at_ms / 1000)
    )
}

/// The queue's wait for a soak to end.
pub fn soaking_until(at_ms: i64) -> String {
    format!("soaking until {}", crate::clock::rfc3339(at_ms / 1000))
}

/// The `hoist/argocd` line of a forward promotion into a stage held after a rollback.
pub fn gate_stage_held(stage: &str, by: &str) -> String {
    format!("/unhold {stage} ({stage} is held since @{by}'s rollback)")
}

/// Why a stage is held: a rollback to `to` from `from`.
pub fn rollback_hold_reason(to: &str, from: &str) -> String {
    format!("rolled back to {to} from {from}")
}

/// `/rollback` on a group's pull request.
pub fn rollback_of_group(group: &str) -> String {
    format!(
        "⛔ {group} is a group: rolling a group back is not supported yet; /promote the group's earlier pull request's freight instead"
    )
}

/// `/rollback` where Hoist never merged anything into the stage.
pub fn nothing_to_roll_back(service: &str, stage: &str) -> String {
    format!("⛔ Hoist has merged no {service} into **{stage}**: nothing to roll back")
}

/// `/rollback` with no earlier verified freight to go back to (or not the tag asked).
pub fn no_rollback_target(
    service: &str,
    stage: &str,
    to: Option<&str>,
    verified: &[&str],
) -> String {
    let had = match verified {
        [] => format!("no earlier {service} was verified in {stage}"),
        tags => format!("earlier {service} verified in {stage}: {}", tags.join(", ")),
    };
    match to {
        Some(tag) => format!(
            "⛔ {service} {tag} never ran verified in **{stage}** before its current freight ({had})"
        ),
        None => format!("⛔ Nothing to roll **{stage}** back to: {had}"),
    }
}

/// `hoist plan --tag` without --promote or --rollback.
pub fn plan_tag_alone() -> String {
    "--tag goes with --promote or --rollback".into()
}

/// `hoist plan --rollback --db` naming no store.
pub fn plan_no_store(db: &std::path::Path) -> String {
    format!(
        "{}: no such store (give the file `hoist serve` writes, or leave out --db and name the tag with --tag)",
        db.display()
    )
}

/// `hoist plan --rollback` with neither a store nor a tag.
pub fn plan_rollback_needs(stage: &str) -> String {
    format!(
        "offline, Hoist does not know what {stage} ran before: name it with --tag, or give the store with --db"
    )
}

/// A forward promotion while a rollback's pull request is open on the branch.
pub fn rollback_open(pr: u64) -> String {
    format!("the rollback in #{pr} is open: it merges or is closed first")
}

/// `hoist plan --rollback --tag` naming freight no older than what runs.
pub fn rollback_not_older(service: &str, stage: &str, tag: &str, from: &str) -> String {
    format!(
        "⛔ {service} {tag} is not older than {from}, which **{stage}** runs: a rollback only goes back"
    )
}

/// `/rollback` answered.
pub fn rollback_opened(stage: &str, service: &str, to: &str, from: &str, pr: u64) -> String {
    format!(
        "⏪ Opened #{pr} to roll {service} in **{stage}** back to {to} (from {from}). Once it merges, forward promotions into {stage} wait until `/unhold {stage}`."
    )
}

/// `/unhold STAGE` answered.
pub fn stage_unheld(service: &str, stage: &str, by: &str) -> String {
    format!("▶️ @{by} released **{stage}** for {service}: forward promotions into it merge again.")
}

/// `/freeze` or `/unfreeze` by someone who may not.
pub fn freeze_refusal(who: &str, command: &str, by: &[String]) -> String {
    if by.is_empty() {
        format!(
            "⛔ @{who}, {command} is not enabled: the config names no freeze.by (or dag.break_glass) team."
        )
    } else {
        format!(
            "⛔ @{who}, {command} needs write access and membership in {}.",
            by.join(" or ")
        )
    }
}

/// A stage was frozen.
pub fn frozen(stage: &str, by: &str, reason: &str) -> String {
    let why = if reason.is_empty() {
        String::new()
    } else {
        format!(": {reason}")
    };
    format!(
        "❄️ @{by} froze **{stage}**{why}. Nothing merges into {stage} until `/unfreeze {stage}`; in an emergency, the break-glass team's `/override freeze <reason>` lets one pull request through."
    )
}

/// What a notice says a pull request moves: `service tag`, or a group's members.
pub fn notify_what(h: &crate::store::heads::HoistHead) -> String {
    match &h.group {
        Some(g) => {
            let members: Vec<_> = h.all_freight().into_iter().cloned().collect();
            format!("{g} ({})", members_list(&members))
        }
        None => format!("{} {}", h.freight.service, h.freight.tag),
    }
}

pub fn notify_opened(what: &str, stage: &str) -> String {
    format!("{what} → {stage}: pull request opened")
}

pub fn notify_rollback(what: &str, stage: &str, from: &str) -> String {
    format!("{stage} rolling back to {what} (from {from}): pull request opened")
}

pub fn notify_merged(what: &str, stage: &str) -> String {
    format!("{what} merged into {stage}")
}

pub fn notify_verified(what: &str, stage: &str) -> String {
    format!("{what} verified in {stage}: Argo CD runs it, Synced and Healthy")
}

pub fn notify_degraded(what: &str, stage: &str, state: &str) -> String {
    format!("{what} in {stage}: {state}")
}

pub fn notify_check_failed(what: &str, stage: &str, check: &str) -> String {
    format!("{what} → {stage}: required check {check} failed")
}

/// A refusal as a notice says it: the reply's words, in plain text.
pub fn notify_refused(reply: &str) -> String {
    reply.trim_start_matches("⛔ ").replace("**", "")
}

pub fn notify_frozen(stage: &str, by: &str, reason: &str) -> String {
    if reason.is_empty() {
        format!("{stage} frozen by @{by}")
    } else {
        format!("{stage} frozen by @{by}: {reason}")
    }
}

pub fn notify_unfrozen(stage: &str, by: &str) -> String {
    format!("{stage} unfrozen by @{by}")
}

/// Who asked, in a notification.
pub fn notify_asked_by(who: &str) -> String {
    format!("asked by {who}")
}

/// A webhook URL that cannot be posted to (the URL itself is a secret: never said).
pub fn notify_bad_url(why: &str) -> String {
    format!("the webhook URL cannot be used: {why}")
}

/// A webhook that did not answer.
pub fn notify_unanswered(why: &str) -> String {
    format!("the webhook did not answer: {why}")
}

/// A webhook that answered with an error status.
pub fn notify_status(status: u16) -> String {
    format!("the webhook answered HTTP {status}")
}

/// A notification's webhook URL is not in the environment.
pub fn notify_no_url(var: &str) -> String {
    format!("notify: the environment variable {var} (notify.url_env) is not set")
}

/// A queued notification for a webhook the config no longer lists.
pub fn notify_not_configured(var: &str) -> String {
    format!("notify: no webhook with url_env {var} in the config; not sent")
}

/// A frozen stage, below `/status`'s tables.
pub fn status_frozen(stage: &str, by: &str, reason: &str) -> String {
    format!("❄️ {}", gate_frozen(stage, by, reason))
}

/// A command about a stage's freeze or hold, or a rollback, that reconcile found
/// unanswered: not run late.
pub fn not_replayed() -> String {
    "⛔ Hoist did not answer this comment when it was posted, and runs no late /freeze, /unfreeze, /override freeze, /unhold <stage> or /rollback (an old one could undo a newer decision): comment it again if it still stands.".into()
}

/// A stage was unfrozen.
pub fn unfrozen(stage: &str, by: &str) -> String {
    format!("▶️ @{by} unfroze **{stage}**: pull requests into it merge again.")
}

/// `/unfreeze`, or `/override freeze`, where the stage is not frozen.
pub fn not_frozen(stage: &str) -> String {
    format!("**{stage}** is not frozen.")
}

pub fn override_freeze_refusal(who: &str, break_glass: &[String]) -> String {
    if break_glass.is_empty() {
        format!(
            "⛔ @{who}, /override freeze is not enabled: the config names no dag.break_glass team."
        )
    } else {
        format!(
            "⛔ @{who}, /override freeze needs write access and membership in {}.",
            break_glass.join(" or ")
        )
    }
}

pub fn freeze_overridden(by: &str, stage: &str, sha: &str, reason: &str) -> String {
    format!(
        "🔓 @{by} let this pull request through the freeze of **{stage}** at {}: {reason}. The override is recorded; a new head needs a new one.",
        crate::image::short_sha(sha)
    )
}

/// The gate's line for a frozen stage.
pub fn gate_frozen(stage: &str, by: &str, reason: &str) -> String {
    let why = if reason.is_empty() {
        String::new()
    } else {
        format!(": {reason}")
    };
    format!("/unfreeze {stage} ({stage} is frozen by @{by}{why})")
}

/// The gate's line for a frozen stage a break-glass override let this head through.
pub fn gate_frozen_through(stage: &str, by: &str) -> String {
    format!("{stage} is frozen; @{by} let this head through")
}

/// Said on a rollback once it merged.
pub fn stage_held_after_rollback(service: &str, stage: &str) -> String {
    format!("⏸️ Forward promotions of {service} into **{stage}** now wait until `/unhold {stage}`.")
}

/// `/unhold STAGE` where nothing held it.
pub fn stage_not_held(service: &str, stage: &str) -> String {
    format!("**{stage}** is not held for {service}.")
}

/// Who may post a required check, as the `hoist/argocd` check says it.
pub fn poster(p: &crate::config::Poster) -> String {
    use crate::config::Poster;
    match p {
        Poster::AnyApp => "a GitHub App".into(),
        Poster::AppId(id) => format!("the GitHub App {id}"),
        Poster::AppSlug(slug) => format!("the GitHub App {slug}"),
        Poster::CreatorId(id) => format!("user {id}"),
        Poster::Creator(login) => format!("@{login}"),
    }
}

/// A config's warnings: what loads but is weaker than it looks.
pub fn config_warnings(config: &Config) -> Vec<String> {
    use crate::config::Poster;
    config
        .merge
        .required_checks
        .iter()
        .enumerate()
        .filter_map(|(i, r)| match r.poster()? {
            Poster::AnyApp => Some(format!(
                "merge.required_checks[{i}] {:?} names no poster: a check run of that name from any GitHub App installed on the repository counts, and no commit status does; name the App (app_id or app_slug) or the status's creator (creator_id or creator)",
                r.name()
            )),
            Poster::AppSlug(s) if s == "github-actions" => Some(shared_actions(i, r.name())),
            Poster::AppId(GITHUB_ACTIONS_APP_ID) => Some(shared_actions(i, r.name())),
            _ => None,
        })
        .collect()
}

/// GitHub Actions' App id: every workflow of the repository posts as it.
const GITHUB_ACTIONS_APP_ID: u64 = 15368;

fn shared_actions(i: usize, name: &str) -> String {
    format!(
        "merge.required_checks[{i}] {name:?} is posted by GitHub Actions, whose App every workflow shares: anyone who can push a workflow to any branch can post it; name a GitHub App of your own"
    )
}

// Reasons a stage has nothing to do; shown as `STAGES: nothing to do (REASON)`.

pub fn nothing_already_runs(tag: &str, digest_short: &str) -> String {
    format!("already runs {tag} ({digest_short})")
}

pub fn nothing_downgrade(current: &str, new: &str) -> String {
    format!(
        "runs {current}, newer than {new}; Hoist does not downgrade unless the service sets allow_downgrade: true"
    )
}

pub fn nothing_identical(path: &str) -> String {
    format!("{path} already pins this image byte for byte")
}

pub fn nothing_gated() -> String {
    "gated by /promote".into()
}

pub fn nothing_auto_downstream() -> String {
    "promoted automatically once verified upstream".into()
}

/// `dev: nothing to do (already runs v1.4.0 (sha256:…))`, or the event's own reason.
pub fn nothing_to_do(stages: &[String], reason: &str) -> String {
    if stages.is_empty() {
        format!("nothing to do: {reason}")
    } else {
        format!("{}: nothing to do ({reason})", stages.join(", "))
    }
}

/// Refusing a promotion that would skip a stage: where the freight stands, and what
/// to do instead.
/// `verb` says how the freight stands where it is: `is in` (an overlay pins it, offline)
/// or `is verified in` (Argo CD runs it).
pub fn dag_refusal(
    stage: &str,
    st: &Stage,
    freight_label: &str,
    standing: &[&str],
    next: Option<&str>,
    verb: &str,
) -> String {
    format!(
        "⛔ {}",
        dag_refusal_text(stage, st, freight_label, standing, next, verb)
    )
}

/// `hoist/dag`'s line for an image that has not come through the DAG.
pub fn dag_check_refused(
    stage: &str,
    st: &Stage,
    label: &str,
    standing: &[&str],
    next: Option<&str>,
) -> String {
    format!(
        "❌ {}",
        dag_refusal_text(stage, st, label, standing, next, "is verified in")
    )
}

/// An image a gated stage would newly run, verified in its upstreams.
pub fn dag_check_image_ok(stage: &str, label: &str, upstreams: &[String]) -> String {
    format!(
        "✅ {stage}: {label} is verified in {}",
        upstreams.join(", ")
    )
}

/// An image new to a gated stage, pinned by tag alone.
pub fn dag_check_tag_only(stage: &str, image: &str) -> String {
    format!(
        "❌ {stage}: {image} is new to {stage} and pinned by tag alone; hoist/dag checks freight by its digest, so pin one"
    )
}

pub fn dag_check_unreadable_image(stage: &str, image: &str) -> String {
    format!("❌ {stage}: {image:?} is not an image reference hoist/dag can read")
}

/// Argo CD cannot render a gated stage's application at the head.
pub fn dag_check_unrendered(stage: &str, app: &str, sha: &str, why: &str) -> String {
    format!(
        "❌ {stage}: Argo CD cannot render {app} at {}, so hoist/dag cannot tell what it would run: {why}",
        crate::image::short_sha(sha)
    )
}

/// A gated stage without an Argo CD application: judged by its overlays' images entries.
pub fn dag_check_fallback(stage: &str) -> String {
    format!(
        "ℹ️ {stage}: no Argo CD application is configured, so hoist/dag judges only each service's images entry in its overlay, not everything the stage renders"
    )
}

fn dag_refusal_text(
    stage: &str,
    st: &Stage,
    freight_label: &str,
    standing: &[&str],
    next: Option<&str>,
    verb: &str,
) -> String {
    let from = match (st.upstream.len(), st.availability) {
        (1, _) => format!("**{}**", st.upstream[0]),
        (_, Availability::All) => format!("all of {}", bold_list(&st.upstream)),
        (_, Availability::Any) => format!("any of {}", bold_list(&st.upstream)),
    };
    let where_ = if standing.is_empty() {
        format!("{verb} no stage yet")
    } else {
        format!("{verb} {} only", bold_list(standing))
    };
    let next = next
        .map(|u| format!(" Promote it to {u} first with /promote {u}."))
        .unwrap_or_default();
    format!(
        "/promote {stage} refused: {stage} takes freight from {from}, and {freight_label} {where_}.{next}"
    )
}

pub fn root_stage_refusal(stage: &str) -> String {
    format!(
        "⛔ /promote {stage} refused: {stage} is a root stage; it takes freight from the registry, not from another stage."
    )
}

/// `command` (`/promote`, `/rollback`, …) named a stage the config does not have.
pub fn unknown_stage(command: &str, stage: &str, stages: &[&str]) -> String {
    let hint = crate::suggest::suggest(stage, stages)
        .map(|s| format!(" Did you mean \"{s}\"?"))
        .unwrap_or_default();
    format!(
        "⛔ {command} {stage}: there is no stage \"{stage}\".{hint} Stages: {}. See /help.",
        stages.join(", ")
    )
}

fn bold_list(items: &[impl AsRef<str>]) -> String {
    items
        .iter()
        .map(|i| format!("**{}**", i.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

// Comments on pull requests. Each gets a hidden mark naming what it answers
// (`marks::with_comment_mark`), so a retried event finds its comment instead of posting
// it twice.

pub fn verified(
    stage: &str,
    service: &str,
    tag: &str,
    merge_sha: &str,
    app: Option<&str>,
    next: &[&str],
) -> String {
    let how = match app {
        Some(a) => format!(
            "is Synced and Healthy at {} (Argo CD app {a})",
            crate::image::short_sha(merge_sha)
        ),
        None => format!("is merged at {}", crate::image::short_sha(merge_sha)),
    };
    verified_line(stage, &format!("{service} {tag}"), &how, next)
}

/// `✅ Verified in **STAGE**: WHAT HOW. Next: ...`
fn verified_line(stage: &str, what: &str, how: &str, next: &[&str]) -> String {
    let next = match next {
        [] => String::new(),
        stages => format!(
            " Next: {}.",
            stages
                .iter()
                .map(|s| format!("comment /promote {s}"))
                .collect::<Vec<_>>()
                .join(" or ")
        ),
    };
    format!("✅ Verified in **{stage}**: {what} {how}.{next}")
}

/// The key of the one comment that follows a merged promotion into `stage` until it is
/// verified.
pub fn deploy_key(stage: &str, digest: &str) -> String {
    format!("deploy:{stage}:{digest}")
}

/// The application, linked to its page in Argo CD.
pub fn app_link(argocd_url: &str, app: &str) -> String {
    format!(
        "[{app}]({}/applications/{app})",
        argocd_url.trim_end_matches('/')
    )
}

/// The status comment while Argo CD has not run the merge yet.
pub fn deploy_waiting(stage: &str, app: &str, merge_sha: &str, why: &str) -> String {
    format!(
        "⏳ Deploying to **{stage}**: merged as `{}`; Argo CD app {app}: {why}. Hoist looks again and updates this comment.",
        crate::image::short_sha(merge_sha)
    )
}

/// The status comment while the application is Healthy but not yet for the debounce.
pub fn deploy_healthy(
    stage: &str,
    app: &str,
    merge_sha: &str,
    at_utc: &str,
    debounce: u64,
) -> String {
    format!(
        "⏳ Deploying to **{stage}**: Argo CD app {app} runs `{}` and is Healthy; Hoist verifies it at {at_utc} UTC, once it has been Healthy for {debounce} s.",
        crate::image::short_sha(merge_sha)
    )
}

/// The status comment while the application is Degraded, or its sync failed: what
/// Argo CD says, and what to do.
/// The advice is one Hoist takes: `/rollback` on one service's pull request (any
/// stage, dev included); a group, which `/rollback` refuses, is reverted by hand.
pub fn deploy_failing(
    stage: &str,
    app: &str,
    merge_sha: &str,
    state: &str,
    message: Option<&str>,
    group: Option<&str>,
) -> String {
    let says = message.map_or(String::new(), |m| format!(": {}", cut_short(m)));
    let back = match group {
        None => format!("comment `/rollback {stage}` on this pull request"),
        Some(g) => format!(
            "revert this merge in the GitOps repository ({g} is a group, which `/rollback` does not take yet)"
        ),
    };
    format!(
        "❌ Deploying to **{stage}**: Argo CD app {app} {state} at `{}`{says}\n\nHoist keeps watching, and verifies it if it recovers. To put back what ran before, {back}; `/hold` on an open promotion keeps Hoist from merging it meanwhile.",
        crate::image::short_sha(merge_sha)
    )
}

pub fn superseded(new_tag: &str, old_tag: &str) -> String {
    format!("♻️ Updated to {new_tag} (was {old_tag}): a newer image arrived before this PR merged.")
}

/// On a forge where a new head comes with a new pull request (CodeCommit).
pub fn superseded_by(n: u64, new_tag: &str) -> String {
    format!(
        "♻️ Superseded by #{n}, which promotes {new_tag}: this pull request is closed, and a hold on it holds #{n}."
    )
}

/// `author` is the commit's author as its pusher typed it (anyone can type anyone's
/// name): said as such, never as who pushed.
pub fn person_commit(author: &str, sha: &str, branch: &str) -> String {
    format!(
        "✋ {branch} has a commit Hoist did not write: {} (authored as {author}). Hoist will not overwrite it: merge or close this PR yourself, or delete the branch to let Hoist recreate it.",
        crate::image::short_sha(sha)
    )
}

pub fn held(by: &str) -> String {
    format!("⏸️ Held by @{by}. Hoist will not merge this PR until someone comments /unhold.")
}

pub fn unheld(by: &str) -> String {
    format!("▶️ Released by @{by}. Hoist merges this PR once its gate and checks pass.")
}

pub fn not_held() -> String {
    "This PR is not held.".into()
}

pub fn permission_refusal(who: &str, stage: &str, repo: &str, promoters: &[String]) -> String {
    if promoters.is_empty() {
        format!("⛔ @{who}, promoting to **{stage}** needs write access to {repo}.")
    } else {
        format!(
            "⛔ @{who}, promoting to **{stage}** needs write access to {repo} and membership in {}.",
            promoters.join(" or ")
        )
    }
}

pub fn hold_refusal(who: &str, repo: &str) -> String {
    format!("⛔ @{who}, /hold and /unhold need write access to {repo}.")
}

pub fn opened(stage: &str, service: &str, tag: &str, pr: u64) -> String {
    format!("🚀 Opened #{pr} to promote {service} {tag} to **{stage}**.")
}

pub fn already_open(stage: &str, service: &str, tag: &str, pr: u64) -> String {
    format!("#{pr} already promotes {service} {tag} to **{stage}**.")
}

pub fn not_a_promotion_pr(command: &str) -> String {
    format!(
        "⛔ {command} works on Hoist's promotion pull requests, whose image it promotes. This PR is not one."
    )
}

/// A required check failed on Hoist's head. Hoist merges only heads it wrote, so the way
/// on is to re-run the check once its cause is fixed, or to promote other freight: from
/// the registry for a root stage (`upstreams` empty), else from an upstream's pull request.
pub fn check_failed(
    check: &str,
    sha: &str,
    url: Option<&str>,
    stage: &str,
    upstreams: &[String],
) -> String {
    let details = url.map(|u| format!(" (details: {u})")).unwrap_or_default();
    let other = if upstreams.is_empty() {
        "push a newer image, and Hoist moves this pull request to it".to_owned()
    } else {
        format!(
            "comment `/promote {stage}` on the {} pull request of the freight you want",
            upstreams.join(" or ")
        )
    };
    format!(
        "❌ {check} failed on {}{details}. Not merging. Once its cause is fixed, re-run the check: Hoist merges when it passes. To promote other freight instead, {other}.",
        crate::image::short_sha(sha)
    )
}

pub fn waiting_for_owner(dir: &str, owners: &[String], requester: Option<&str>) -> String {
    let who = if owners.is_empty() {
        "no owner listed in CODEOWNERS".to_owned()
    } else {
        owners.join(", ")
    };
    let not = requester
        .map(|r| {
            format!(
                " {} requested this promotion, so their approval does not count.",
                self::requester(r)
            )
        })
        .unwrap_or_default();
    format!("⏳ Waiting for an approval from a code owner of {dir} ({who}).{not}")
}

pub fn internal_error(reference: &str) -> String {
    format!(
        "😕 Hoist hit an internal error on this event (ref {reference}). It will retry; operators can find the details in the logs under that ref."
    )
}

/// `/status`: what each stage runs for a service.
pub fn status_table(
    service: &str,
    rows: &[(String, Option<String>, &'static str, Option<u64>)],
) -> String {
    let mut s = format!("| stage | {service} | | PR |\n|---|---|---|---|\n");
    for (stage, tag, state, pr) in rows {
        let _ = writeln!(
            s,
            "| {stage} | {} | {state} | {} |",
            tag.as_deref().unwrap_or("none"),
            pr.map(|n| format!("#{n}")).unwrap_or_default()
        );
    }
    s
}

// The hoist/dag check run, one line per gated image value a pull request changes.

pub fn dag_check_ok(
    stage: &str,
    service: &str,
    tag: &str,
    digest_short: &str,
    upstreams: &[String],
) -> String {
    format!(
        "✅ {stage}: {service} {tag} ({digest_short}) is verified in {}",
        upstreams.join(", ")
    )
}

pub fn dag_check_no_digest(stage: &str, service: &str, tag: &str) -> String {
    format!(
        "❌ {stage}: {service} is set to {tag} without a digest; hoist/dag checks freight by its digest, so pin one"
    )
}

/// A gated overlay the pull request changes, whose image Hoist cannot read at its head.
pub fn dag_check_unreadable(stage: &str, service: &str, path: &str, why: &str) -> String {
    format!("❌ {stage}: hoist/dag cannot tell what {path} deploys for {service}: {why}")
}

/// The `hoist/argocd` check run's summary: one line per condition (✅, ⏳ or ❌), then
/// the rendered diff in a collapsed block (the forge cuts it to fit, and says so).
pub fn argocd_check_summary(lines: &[(&str, &str)], diff: &str) -> String {
    let mut s = String::new();
    for (mark, line) in lines {
        let _ = writeln!(s, "{mark} {line}");
    }
    if !diff.is_empty() {
        let _ = write!(
            s,
            "\n<details><summary>Rendered diff</summary>\n\n```diff\n{diff}```\n</details>\n"
        );
    }
    s
}

pub fn overridden(by: &str, sha: &str, reason: &str) -> String {
    format!(
        "🔓 hoist/dag overridden by @{by} on {}: {reason}. The override is recorded; a new push needs a new one.",
        crate::image::short_sha(sha)
    )
}

/// `/override dag` named another head than the pull request has now.
pub fn override_stale(who: &str, named: &str, head: &str) -> String {
    format!(
        "⛔ @{who}, /override dag names {named}, but the head is now {}: review it, then override naming it.",
        crate::image::short_sha(head)
    )
}

pub fn override_refusal(who: &str, break_glass: &[String]) -> String {
    if break_glass.is_empty() {
        format!(
            "⛔ @{who}, /override dag is not enabled: the config names no dag.break_glass team."
        )
    } else {
        format!(
            "⛔ @{who}, /override dag needs write access and membership in {}.",
            break_glass.join(" or ")
        )
    }
}

pub fn merge_refused(sha: &str, why: &str) -> String {
    format!(
        "❌ Everything was ready, but the forge refused to merge {}: {why}",
        crate::image::short_sha(sha)
    )
}

pub fn foreign_head(sha: &str, branch: &str) -> String {
    format!(
        "✋ {} on {branch} is not a commit Hoist made for this promotion, so Hoist will not merge it. Merge or close this PR yourself, or delete the branch to let Hoist recreate it.",
        crate::image::short_sha(sha)
    )
}

/// What one reconcile pass did, as `hoist reconcile --once` prints it.
pub fn reconcile_summary(r: &crate::engine::reconcile::Report) -> String {
    format!(
        "evaluated {} open pull requests; answered {} commands; published hoist/dag on {} heads that had none; recorded {} merges or closes that were never recorded; {} merged promotions await verification; {} pushes found in the registry",
        r.evaluated, r.answered, r.dag_checks, r.closes, r.unverified, r.pushes
    )
}

/// Said on a pull request when one of its events failed for good: what it was, why, and
/// what to do.
pub fn event_failed(event: &crate::event::Event, why: &str) -> String {
    use crate::event::Event;
    let what = match event {
        Event::CommentCreated { author, .. } => format!("@{}'s comment", author.login),
        Event::CodeCommitComment { .. } => "a comment".to_owned(),
        Event::ReviewSubmitted { reviewer, .. } => format!("@{}'s review", reviewer.login),
        // Anyone's CI names its checks: kept in a code span, backticks out.
        Event::CheckCompleted { name, .. } => {
            format!("the `{}` check's result", name.replace('`', "'"))
        }
        Event::PullRequestClosed { merged: true, .. } => "this merge".to_owned(),
        Event::PullRequestClosed { .. } => "this close".to_owned(),
        _ => "a change to this pull request".to_owned(),
    };
    // The error as the log has it, cut short: the log keeps the whole of it.
    let why = cut_short(why);
    format!(
        "⚠️ Hoist gave up on {what}: {why}\n\nWhat it would have done has not happened. Once the cause is fixed, repeat the command or comment `/status`; Hoist's reconcile pass also repairs what it can."
    )
}

/// Text from elsewhere (an error, Argo CD's message) cut to 300 characters, so that what
/// Hoist adds after it (its marker) always fits in a comment.
fn cut_short(text: &str) -> String {
    match text.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

// Refusals of comment commands and of events that carry no freight.

/// Why a comment's command line is not understood.
pub fn parse_error(e: &crate::command::ParseError) -> String {
    use crate::command::ParseError;
    match e {
        ParseError::Unknown {
            name,
            suggestion: Some(s),
        } => format!("/{name} is not a command. Did you mean /{s}? See /help."),
        ParseError::Unknown {
            name,
            suggestion: None,
        } => format!("/{name} is not a command. See /help."),
        // In code spans: GitHub drops `<stage>` elsewhere as an HTML tag.
        ParseError::BadFreeze { command: "freeze" } => {
            "/freeze needs a stage, and optionally why: `/freeze <stage> [reason]`. See /help.".into()
        }
        ParseError::BadFreeze { command } => {
            format!("/{command} needs exactly one stage: `/{command} <stage>`. See /help.")
        }
        ParseError::BadRollback => {
            "/rollback needs a stage, and optionally `to <tag>`: `/rollback <stage> [to <tag>]`. See /help.".into()
        }
        ParseError::MissingStage => {
            "/promote needs a stage: `/promote <stage> [service ...]`. See /help.".into()
        }
        ParseError::UnexpectedArguments { command } => {
            format!("/{command} takes no arguments. See /help.")
        }
        ParseError::BadOverride => "/override needs what and why: `/override dag <head SHA> <reason>` or `/override freeze <reason>`. See /help.".into(),
    }
}

/// Why an event became no freight.
pub fn no_freight(n: &crate::freight::NoFreight) -> String {
    use crate::freight::NoFreight;
    match n {
        NoFreight::NotEcrPush {
            source,
            detail_type,
        } => format!("the event is {detail_type:?} from {source}, not an ECR image push"),
        NoFreight::NotPush(a) => format!("the ECR action is {a}, not a push"),
        NoFreight::Failed(r) => format!("the push did not succeed (result {r})"),
        NoFreight::Untagged => "the image was pushed without a tag".into(),
        NoFreight::BadReference(e) => e.to_string(),
        NoFreight::UnknownImage(i) => format!("no service in the config uses the image {i}"),
        NoFreight::Filtered { service, why } => format!("{service}: {why}"),
    }
}

/// A command Hoist refuses, with why.
pub fn command_refused(why: &str) -> String {
    format!("⛔ {why}")
}

/// `/promote <stage> <service>` on a pull request promoting another service.
pub fn not_this_service(promotes: &str, asked: &[String]) -> String {
    format!("⛔ This PR promotes {promotes}, not {}.", asked.join(", "))
}

/// `/promote` that changes nothing, with why.
pub fn nothing_to_do_in(stage: &str, why: &str) -> String {
    format!("Nothing to do for **{stage}**: {why}.")
}

/// Why a promotion is not opened: an open pull request already promotes newer freight.
pub fn already_promotes_newer(pr: u64, tag: &str) -> String {
    format!("#{pr} already promotes the newer {tag}")
}

/// `/status`'s mark for a stage whose freight Argo CD verified.
pub const STATUS_VERIFIED: &str = "✅ verified";

/// `hoist/dag`'s line when a person with the right overrode it for this head.
pub fn dag_overridden_line(by: &str, reason: &str) -> String {
    format!("🔓 Overridden by @{by}: {reason}")
}

/// `hoist/dag`'s title when overridden.
pub fn dag_overridden_title(by: &str) -> String {
    format!("Overridden by @{by}")
}

/// Why an overlay's images entry cannot be judged: the file does not parse.
pub fn overlay_does_not_parse(e: &str) -> String {
    format!("it does not parse: {e}")
}

/// Why an overlay's images entry cannot be judged: the file is gone.
pub const OVERLAY_GONE: &str = "the file is gone";

/// Why an overlay's images entry cannot be judged: the entry is removed.
/// hoist/dag's fallback: a target that names an image other than the service's.
pub fn dag_check_other_image(image: &str, own: &str) -> String {
    format!("it names the image {image}, not the service's {own}")
}

/// `fields` is what the target writes: `images[name=x]` for a kustomization, else its paths.
pub fn images_entry_removed(fields: &str) -> String {
    format!("its image ({fields}) is removed")
}

// What the adapters write for Hoist where the forge has no place of its own.

/// The first line of the comment standing for a check on CodeCommit, which has no check
/// runs. Hoist's own `has_own_check` finds the head by its "(at `…`)".
pub fn check_comment_head(
    conclusion: crate::forge::Conclusion,
    name: &str,
    title: &str,
    short_sha: &str,
) -> String {
    let icon = match conclusion {
        crate::forge::Conclusion::Success => "✅",
        crate::forge::Conclusion::Failure => "❌",
        crate::forge::Conclusion::Pending => "⏳",
    };
    format!(
        "{icon} **{name}**: {title} {}\n\n",
        check_comment_at(short_sha)
    )
}

/// Which head a CodeCommit check comment speaks of.
pub fn check_comment_at(short_sha: &str) -> String {
    format!("(at `{short_sha}`)")
}

/// Ends a text cut to fit CodeCommit's comment limit.
pub const CUT_FOR_CODECOMMIT: &str = "\n\n… cut to fit CodeCommit's comment limit.";

/// Ends a check run summary cut to fit GitHub's limit.
pub const CUT_FOR_GITHUB: &str = "\n\n… cut to fit GitHub's limit.";

// What verification waits for, as Argo CD reports it.

/// Why an application does not run a promotion yet.
pub fn not_yet(n: &crate::argocd::NotYet) -> String {
    use crate::argocd::NotYet;
    match n {
        NotYet::Syncing(phase) => format!("Argo CD's sync is still {phase}"),
        NotYet::NotReconciled => "Argo CD has not reconciled since its last sync".into(),
        NotYet::Reports(c) => format!("the application reports {c}"),
        NotYet::NotAt(sha) => format!("the application is not at {sha} yet"),
        NotYet::Sync(s) | NotYet::Health(s) => format!("the application is {s}"),
        NotYet::ImageMissing(tag) => format!("the application's images do not include {tag}"),
    }
}

/// How a failing application stands, for the deploy comment.
pub const FAILED_TO_SYNC: &str = "failed to sync";

/// A failing application's health, for the deploy comment.
pub fn app_is(health: &str) -> String {
    format!("is {health}")
}

/// Why verification waits, for the queue and the log: the application and what it waits for.
pub fn app_waiting(app: &str, why: &str) -> String {
    format!("{app}: {why}")
}

/// Verification waits for Healthy to hold for the debounce.
pub fn app_debouncing(app: &str, debounce: u64) -> String {
    format!("{app} is Healthy; waiting until it has been for {debounce}s")
}

/// Verification waits: Argo CD has no application by the configured name.
pub fn argo_has_no_app(app: &str) -> String {
    format!("Argo CD has no application {app}")
}

/// Verification waits: Argo CD did not answer.
pub fn argo_unanswered(e: &str) -> String {
    format!("Argo CD: {e}")
}

/// The planner: a service the config does not name.
pub fn plan_no_service(name: &str, known: &str) -> String {
    format!("there is no service {name:?} in the config (services: {known})")
}

/// The planner: a file it could not read.
pub fn plan_cannot_read(path: &str, e: &str) -> String {
    format!("cannot read {path}: {e}")
}

/// The planner: no stage runs the tag asked for.
pub fn plan_no_stage_runs(service: &str, tag: &str) -> String {
    format!("no stage runs {service} {tag}")
}

/// The planner: an overlay without the service's images entry.
/// `hoist plan` with several events: the line before each event's plan.
pub fn plan_event_heading(path: &std::path::Path) -> String {
    format!("== {} ==\n", path.display())
}

pub fn plan_targets_disagree(stage: &str, tag: &str, others: &[String]) -> String {
    format!(
        "the targets of {stage} disagree: the first pins {tag}, but {} pin{} something else; promote to {stage} again to bring them together",
        others.join(", "),
        if others.len() == 1 { "s" } else { "" }
    )
}

pub fn plan_no_images_entry(path: &str, service: &str) -> String {
    format!("{path} has no images entry for {service}")
}

/// The planner: an images entry without `newTag`.
pub const PLAN_ENTRY_NO_NEW_TAG: &str = "the entry has no newTag";

/// The planner: a stage that pins the service by tag only.
pub fn plan_tag_only(stage: &str, service: &str, tag: &str) -> String {
    format!(
        "{stage} pins {service} by tag only ({tag}); Hoist promotes pinned digests, so let Hoist update {stage} or add the digest"
    )
}

/// The planner: nothing upstream to promote from.
pub fn plan_no_upstream_runs(stage: &str, service: &str) -> String {
    format!("no upstream of {stage} runs {service} yet")
}

/// The planner: upstreams that run different freight, as (stage, tag).
pub fn plan_upstreams_differ(stage: &str, runs: &[(&str, &str)]) -> String {
    let runs: Vec<String> = runs.iter().map(|(u, t)| format!("{u}: {t}")).collect();
    format!(
        "{stage}'s upstreams run different freight ({}); promote them to the same image first",
        runs.join(", ")
    )
}

/// The planner: a configured overlay that does not exist.
pub fn plan_overlay_missing(path: &str, service: &str, stage: &str) -> String {
    format!(
        "{path} does not exist: the config's path for {service} in {stage} must name an existing kustomization"
    )
}

/// `hoist status` before any store exists.
pub fn no_store_yet(db: &std::path::Path) -> String {
    format!(
        "{} holds no store yet: no promotions recorded (hoist serve creates it)",
        db.display()
    )
}

/// Connecting as a GitHub App whose installation GitHub does not find on the repository.
pub fn app_not_installed(app_id: u64, owner: &str, repo: &str) -> String {
    format!(
        "the GitHub App {app_id} is not installed on {owner}/{repo}, or there is no such repository: check forge.github's owner and repo, and install the App from its page (Install App), choosing {repo}"
    )
}

/// Connecting as a GitHub App whose JWT GitHub refuses.
pub fn app_refused(app_id: u64, why: &str) -> String {
    format!(
        "GitHub refuses the App's credentials ({why}): check that app_id {app_id} is the App's id and the private key is the one downloaded from that App"
    )
}

/// `hoist doctor`'s lines: what each check found, and what to do when it failed.
pub mod doctor {
    pub fn iam_allows(principal: &str, n: usize, resource: &str) -> String {
        format!("IAM allows {principal} the {n} actions Hoist calls on {resource}")
    }

    pub fn iam_denies(principal: &str, actions: &str, resource: &str) -> String {
        format!(
            "IAM does not allow {principal} {actions} on {resource}: Hoist's calls there would fail"
        )
    }

    pub const IAM_DENIED_FIX: &str =
        "allow them in the policy of Hoist's role (docs/aws.md lists the policy Hoist needs)";

    pub fn iam_not_simulated(who: &str, why: &str) -> String {
        format!(
            "Hoist's IAM permissions are not checked: IAM's policy simulator did not answer for {who}: {why}"
        )
    }

    pub const IAM_NOT_A_PRINCIPAL: &str = "it simulates only IAM users and roles";

    pub const IAM_NO_SUCH_PRINCIPAL_FIX: &str = "a role with a path (role/team/hoist) is not named whole in its session's ARN: compare its policy with the one docs/aws.md lists by hand";

    pub const IAM_SIMULATE_FIX: &str = "allow Hoist's role iam:SimulatePrincipalPolicy on itself for doctor to check, or compare its policy with the one docs/aws.md lists";

    pub fn aws_identity_unknown(why: &str) -> String {
        format!("cannot learn Hoist's AWS identity (sts:GetCallerIdentity): {why}")
    }

    pub const AWS_IDENTITY_FIX: &str =
        "give Hoist AWS credentials: its role on EKS or Lambda, or the AWS_* environment variables";

    pub const WHAT_APP_KEY: &str = "the GitHub App's private key";
    pub const WHAT_GITHUB_TOKEN: &str = "the GitHub token";
    pub const WHAT_WEBHOOK_SECRET: &str = "the GitHub webhook secret";
    pub const WHAT_EVENTBRIDGE_TOKEN: &str = "the token EventBridge sends as x-hoist-token";
    pub const WHAT_ARGOCD_TOKEN: &str = "the Argo CD token";

    pub fn env_set(var: &str, what: &str) -> String {
        format!("{var} is set ({what})")
    }

    pub fn env_missing(var: &str, what: &str) -> String {
        format!("{var} is not set ({what})")
    }

    pub fn env_fix(var: &str) -> String {
        format!("set {var} in Hoist's environment (docs/configuration.md says what it holds)")
    }

    pub fn file_ok(path: &str, what: &str) -> String {
        format!("{path} is readable ({what})")
    }

    pub fn file_unreadable(path: &str, e: &str) -> String {
        format!("cannot read {path}: {e}")
    }

    pub fn file_fix(path: &str) -> String {
        format!("mount or create {path}, readable by the user Hoist runs as")
    }

    pub fn file_not_a_key(path: &str) -> String {
        format!("{path} holds no PEM private key")
    }

    pub const FILE_KEY_FIX: &str =
        "download the App's private key (.pem) from its settings page on GitHub";

    pub fn overlay_ok(path: &str, name: &str) -> String {
        format!("{path} has the images entry {name}")
    }

    pub fn overlay_no_entry(path: &str, name: &str) -> String {
        format!("{path} has no images entry named {name}")
    }

    pub fn overlay_entry_fix(name: &str) -> String {
        format!(
            "add `images: [{{name: {name}, newTag: <tag>}}]` to it, or set the service's `kustomize_name` to the name it uses"
        )
    }

    pub fn target_ok(path: &str, kind: &str, fields: &str) -> String {
        format!("{path} has the image at {fields} ({kind})")
    }

    pub fn target_no_value(path: &str, fields: &str) -> String {
        format!("{path} has no image at {fields}")
    }

    pub fn target_value_fix(fields: &str) -> String {
        format!(
            "write the image there (the first promotion edits the value in place), or point the target at the paths the file uses: {fields}"
        )
    }

    pub const OVERLAY_PARSE_FIX: &str = "fix the YAML at the position named";

    pub fn overlay_missing(path: &str, service: &str, stage: &str) -> String {
        format!("{path} does not exist (the overlay of {service} in {stage})")
    }

    pub const OVERLAY_MISSING_FIX: &str =
        "create the overlay, or correct the service's `path` in the config";

    pub fn app_ok(app: &str, health: &str) -> String {
        format!("Argo CD application {app} reads ({health})")
    }

    pub fn app_source_ok(app: &str, dir: &str, base: &str) -> String {
        format!("Argo CD application {app} deploys {dir} from {base}")
    }

    pub fn app_source_elsewhere(app: &str, sources: &str, repo: &str, dir: &str) -> String {
        format!(
            "Argo CD application {app} deploys {sources}, not {dir} of {repo}: Hoist's promotions would never reach it"
        )
    }

    pub fn app_source_fix(app: &str, repo: &str, dir: &str) -> String {
        format!(
            "point {app}'s source at {repo} with path {dir}, or correct the service's `path` or the stage's `argocd_app` in the config"
        )
    }

    pub fn app_revision_head(app: &str, base: &str) -> String {
        format!(
            "Argo CD application {app} deploys the default branch (HEAD): right only while that is {base}"
        )
    }

    pub fn app_revision_other(app: &str, rev: &str, base: &str) -> String {
        format!(
            "Argo CD application {app} deploys {rev}, but Hoist merges into {base}: promotions would never reach it"
        )
    }

    pub fn app_revision_fix(base: &str) -> String {
        format!("set the application's targetRevision to {base}")
    }

    pub fn app_missing(app: &str) -> String {
        format!("Argo CD has no application {app} that Hoist's token may read")
    }

    pub fn app_fix(app: &str) -> String {
        format!(
            "create {app}, or grant Hoist's account `p, role:hoist, applications, get, */{app}, allow` in argocd-rbac-cm"
        )
    }

    pub fn app_unanswered(app: &str, e: &str) -> String {
        format!("Argo CD did not answer for {app}: {e}")
    }

    pub fn argocd_token_refused(e: &str) -> String {
        format!("Argo CD refuses Hoist's token ({e}): no application can be read")
    }

    pub const ARGOCD_TOKEN_FIX: &str = "make a new token for Hoist's account (argocd account generate-token --account hoist) and set it in the variable argocd.token_env names";

    pub const APP_UNANSWERED_FIX: &str =
        "check argocd.url and that Hoist's token is valid (argocd account generate-token)";

    fn images(n: usize) -> String {
        format!("{n} image{}", if n == 1 { "" } else { "s" })
    }

    pub fn registry_ok(image: &str, images: usize, passing: usize) -> String {
        format!(
            "{image}: {}, {passing} with a tag the policy accepts",
            self::images(images)
        )
    }

    pub fn registry_nothing_passes(image: &str, images: usize, service: &str) -> String {
        format!(
            "{image}: {}, none with a tag {service}'s tag policy accepts: nothing would be promoted",
            self::images(images)
        )
    }

    pub const REGISTRY_POLICY_FIX: &str =
        "check the service's `tags` policy against the tags you push";

    pub fn registry_unreadable(image: &str, e: &str) -> String {
        format!("cannot list the images of {image}: {e}")
    }

    pub const REGISTRY_FIX: &str =
        "grant Hoist's role ecr:DescribeImages on the repository, and check its region";

    pub fn forge_ok(who: &str) -> String {
        format!("the forge answers: Hoist is {who}")
    }

    pub fn forge_unreachable(e: &str) -> String {
        format!("cannot use the forge: {e}")
    }

    pub const FORGE_FIX: &str =
        "check the forge section's credentials, and that the App is installed on the repository";

    pub const CODECOMMIT_FIX: &str = "check Hoist's AWS credentials (its role, or the AWS_* environment variables), and the region and repository in forge.codecommit";

    pub const REMOTE: &str = "the forge, Argo CD and the registry";
    pub const FIX_ABOVE_FIRST: &str = "fix the failures above first";

    pub fn not_checked(what: &str, why: &str) -> String {
        format!("{what}: not checked ({why})")
    }

    pub const TOKEN_NOT_CHECKED: &str =
        "Hoist runs on a personal token: the App's permissions and events are not checked";
    pub const TOKEN_FIX: &str =
        "run Hoist as a GitHub App in production (docs/getting-started.md registers one)";
    pub const PERMISSIONS_OK: &str = "the App's installation grants every permission Hoist needs";

    pub fn permissions_missing(missing: &[String]) -> String {
        format!("the App's installation lacks {}", missing.join(", "))
    }

    pub const PERMISSIONS_FIX: &str = "grant them in the App's settings (Permissions & events), then accept the new permissions on the installation (its settings page shows a request)";
    pub const EVENTS_OK: &str = "the App is subscribed to every event Hoist handles";

    pub fn events_missing(missing: &[&str]) -> String {
        format!(
            "the App is not subscribed to {}: Hoist never hears of them",
            missing.join(", ")
        )
    }

    pub const EVENTS_FIX: &str =
        "subscribe to them in the App's settings (Permissions & events, Subscribe to events)";

    pub fn unprotected(base: &str) -> String {
        format!(
            "{base} has no ruleset or branch protection: anyone who may push can merge past Hoist's gates"
        )
    }

    pub const PROTECTION_FIX: &str = "apply the ruleset in docs/getting-started.md (step 4) with `gh api`, or set the same in Settings, Rules";

    pub fn protection_unreadable(base: &str, why: &str) -> String {
        format!(
            "{base} has branch protection that Hoist's App may not read ({why}): its rules are not checked"
        )
    }

    pub const PROTECTION_UNREADABLE_FIX: &str = "use a ruleset instead (anyone may read those; docs/getting-started.md, step 4), or check by hand what that step lists";
    pub const REQUIRES_PR: &str = "a pull request is required to change it";
    pub const REQUIRES_CODEOWNERS: &str = "a code owner's review is required";
    pub const DISMISSES_STALE: &str = "a new push dismisses earlier approvals";

    pub fn requires_check(check: &str) -> String {
        format!("the check {check} is required")
    }

    pub fn requires_check_from_hoist(check: &str) -> String {
        format!("the check {check} is required, from Hoist's App only")
    }

    pub fn check_from_anyone(base: &str, check: &str) -> String {
        format!(
            "{base} requires {check} from any poster: anyone who may push can post a status of that name and merge past Hoist"
        )
    }

    pub fn check_from_other_app(base: &str, check: &str, app: u64) -> String {
        format!(
            "{base} requires {check} from the App with id {app}, which is not Hoist's: no pull request would ever merge"
        )
    }

    pub const PIN_CHECK_FIX: &str = "pin the check to Hoist's App: `integration_id` in the ruleset (docs/getting-started.md, step 4), or the App under the check in branch protection";

    pub const ADMINS_EXEMPT: &str =
        "branch protection does not bind administrators: an admin can merge past Hoist's gates";
    pub const ADMINS_EXEMPT_FIX: &str = "turn on \"Do not allow bypassing the above settings\" (enforce_admins), or use the ruleset";

    pub fn bypass_unknown(sets: &str) -> String {
        format!("GitHub does not say whether Hoist's App may bypass {sets}")
    }

    pub const BYPASS_UNKNOWN_FIX: &str =
        "check by hand that the App is on no bypass list of those rulesets";

    pub fn permissions_extra(extra: &[String]) -> String {
        format!(
            "the App's installation also has {}, which Hoist does not use: with it the App could change the rules that bind it",
            extra.join(", ")
        )
    }

    pub const PERMISSIONS_EXTRA_FIX: &str =
        "remove the permission in the App's settings (Permissions & events)";

    pub fn protection_lacks(base: &str, source: &str, what: &str) -> String {
        format!("{base}'s {source} does not say: {what}")
    }

    pub const NO_BYPASS: &str = "Hoist's App cannot bypass the rules";

    pub fn hoist_bypasses(how: &str) -> String {
        format!("Hoist's App may bypass the rules ({how}): it could merge past every gate")
    }

    pub const BYPASS_FIX: &str =
        "remove the App from the ruleset's bypass list (or branch protection's allowances)";

    pub fn check_after_merge(name: &str) -> String {
        format!(
            "required check {name}: Argo CD posts nothing on an unmerged head, so nothing posts it before merge and every promotion waits forever"
        )
    }

    pub const CHECK_AFTER_MERGE_FIX: &str = "require a check your CI posts on the pull request (a job that builds the overlay), named with the App that posts it (`app_slug`)";

    pub fn check_any_app(name: &str) -> String {
        format!("required check {name}: any GitHub App's check run of that name counts")
    }

    pub const CHECK_ANY_APP_FIX: &str =
        "name the App that posts it: `{ name: ..., app_slug: <your CI's App> }`";

    pub fn check_posted_by(name: &str, who: &str) -> String {
        format!("required check {name}: only {who} can post it")
    }

    pub fn codeowners_missing(stages: &[&str]) -> String {
        let need = if stages.len() == 1 { "needs" } else { "need" };
        format!(
            "no CODEOWNERS on the base branch, and {} {need} a code owner's approval: nobody can approve",
            stages.join(", ")
        )
    }

    pub const CODEOWNERS_FIX: &str =
        "add .github/CODEOWNERS naming an owner for each gated stage's overlays and for itself";

    pub fn codeowners_covers(file: &str, stage: &str) -> String {
        format!("{file} names an owner for every {stage} overlay and what it renders")
    }

    pub fn codeowners_uncovered(file: &str, stage: &str, paths: &str) -> String {
        format!(
            "{file} names no owner for {paths}, which {stage} renders: a change there needs no approval, or a promotion can never get one"
        )
    }

    pub fn codeowners_self(file: &str) -> String {
        format!("{file} names an owner for itself")
    }

    pub fn codeowners_not_self(file: &str) -> String {
        format!(
            "{file} names no owner for itself: anyone who may open a pull request can change who approves"
        )
    }

    pub fn codeowners_self_fix(file: &str) -> String {
        format!("add a line `/{file} @your-org/platform` (last, so nothing below overrides it)")
    }

    pub const CODEOWNERS_COVER_FIX: &str =
        "add a line for those paths naming their owners (the last matching line wins)";

    pub fn codeowners_skipped(file: &str, lines: &str) -> String {
        format!("{file}: GitHub ignores {lines}")
    }

    pub const CODEOWNERS_IAM_OK: &str =
        "every code owner of a gated overlay is mapped to IAM principals (codeowners_iam)";

    pub fn codeowners_iam_missing(owners: &str) -> String {
        format!(
            "CODEOWNERS names {owners}, whom codeowners_iam maps to no IAM principal: on CodeCommit nobody can approve as them"
        )
    }

    pub const CODEOWNERS_IAM_FIX: &str =
        "add each to `forge.codecommit.codeowners_iam` with the role or user ARNs that act as them";
    pub const NO_APPROVAL_TEMPLATE: &str =
        "no approval rule template holds the repository's pull requests: Hoist's gates decide";
    pub const APPROVAL_TEMPLATE_FIX: &str = "disassociate it (aws codecommit disassociate-approval-rule-template-from-repository), and keep hand merges out with IAM instead (docs/aws.md, Who may merge)";

    pub fn approval_templates(names: &str) -> String {
        format!(
            "approval rule templates {names} hold every pull request on the repository: promotions, dev's included, wait for their approvers"
        )
    }

    pub fn approval_templates_unread(why: &str) -> String {
        format!("cannot list the repository's approval rule templates: {why}")
    }

    pub const APPROVAL_TEMPLATE_READ_FIX: &str = "grant Hoist's role codecommit:ListAssociatedApprovalRuleTemplatesForRepository (read only), or check the templates by hand";
    pub const CODEOWNERS_SKIPPED_FIX: &str = "fix those lines: an ignored line protects nothing";

    pub fn summary(checks: usize, failed: usize, warned: usize) -> String {
        match (failed, warned) {
            (0, 0) => format!("{checks} checks passed."),
            (0, w) => format!("{checks} checks passed, {w} with a warning."),
            (f, _) => format!("{f} of {checks} checks failed."),
        }
    }
}

/// The button of `hoist github-app-manifest --form`.
pub const CREATE_THE_APP: &str = "Create the Hoist GitHub App";

/// `hoist github-app-manifest --url` given something GitHub cannot deliver webhooks to.
pub fn app_url_not_https(url: &str) -> String {
    format!(
        "--url {url:?}: give Hoist's address as https://HOST (or https://HOST:PORT), such as https://hoist.example.com: GitHub sends webhooks only over HTTPS, and Hoist adds the paths it answers on"
    )
}

/// `hoist plan --repo` given something that is not a checkout.
pub fn repo_unusable(repo: &std::path::Path, why: &str) -> String {
    format!("--repo {}: {why}", repo.display())
}

/// A planner error about a file, with the checkout it was read in.
pub fn in_checkout(error: &str, repo: &std::path::Path) -> String {
    format!("{error} (in the checkout {}, from --repo)", repo.display())
}

/// A config value where a boolean belongs that YAML 1.2 does not spell as one.
pub const CONFIG_EMPTY: &str = "the config is empty: it needs at least `forge`, `stages` and `services` (config/hoist.example.yaml is a start)";

/// The YAML library's message for what it refused at `token`, in Hoist's words where
/// the library speaks to programmers (`set DuplicateKeyPolicy in Options`, `invalid u64`).
pub fn yaml_error(message: &str, token: &str) -> String {
    if let Some(rest) = message.strip_prefix("duplicate mapping key: ") {
        let key = rest.split([',', ';']).next().unwrap_or(rest).trim();
        return format!("`{key}` is given twice in the same mapping: keep one");
    }
    if message.starts_with("invalid boolean") {
        return not_a_boolean(token);
    }
    if let Some(kind) = message.strip_prefix("invalid ")
        && ["u8", "u16", "u32", "u64", "usize"].contains(&kind.trim())
    {
        return format!("{token:?} is not a whole number of 0 or more");
    }
    if message.starts_with("expected mapping start") {
        return "expected a mapping here (`key: value` lines, or `{ key: value }`)".to_owned();
    }
    if message.starts_with("expected sequence start") {
        return "expected a list here (`- item` lines, or `[item, ...]`)".to_owned();
    }
    if message.contains("unexpected end of input") || message.contains("end of stream") {
        return "the file ends inside a value: close each bracket and quote".to_owned();
    }
    serde_words(message, token).unwrap_or_else(|| yaml_syntax(message))
}

/// serde's own wordings (a wrong kind of value, an unknown value or setting) in Hoist's.
fn serde_words(message: &str, token: &str) -> Option<String> {
    if message.starts_with("externally tagged enum expected") {
        return Some(format!(
            "expected one word or one `key:` mapping here, not {}",
            shape_of(token)
        ));
    }
    if let Some((word, options)) = enum_words(message, "unknown variant `") {
        if matches!(word, "~" | "null" | "") {
            return Some(NEEDS_A_VALUE.to_owned());
        }
        return Some(match crate::suggest::suggest(word, &options) {
            Some(s) => format!(
                "`{word}` is not one of {}: did you mean {s}?",
                options.join(", ")
            ),
            None => format!("`{word}` is not one of {}", options.join(", ")),
        });
    }
    if let Some((word, options)) = enum_words(message, "unknown field `") {
        return Some(match crate::suggest::suggest(word, &options) {
            Some(s) => format!(
                "`{word}` is not a setting here (did you mean {s}?); the settings here are {}",
                options.join(", ")
            ),
            None => format!(
                "`{word}` is not a setting here; the settings here are {}",
                options.join(", ")
            ),
        });
    }
    if message.starts_with("expected string scalar") {
        return Some(format!(
            "expected a single value here (a word, a number or a quoted string), not {}",
            shape_of(token)
        ));
    }
    if message.starts_with("cannot deserialize null") {
        return Some(NEEDS_A_VALUE.to_owned());
    }
    if message.contains("did not match any variant of untagged enum RequiredCheck") {
        return Some("expected a check's name, or `{ name: NAME, app_slug: APP }` (or app_id, creator, creator_id)".to_owned());
    }
    if let Some(rest) = message.strip_prefix("invalid type: ")
        && let Some((found, expected)) = rest.split_once(", expected ")
    {
        return Some(format!(
            "expected {} here, not {}",
            kind(expected),
            kind(found)
        ));
    }
    None
}

const NEEDS_A_VALUE: &str = "this needs a value, and has none";

/// `X`, and the options after `expected one of`, from serde's "unknown variant" and
/// "unknown field" messages.
fn enum_words<'a>(message: &'a str, prefix: &str) -> Option<(&'a str, Vec<&'a str>)> {
    let rest = message.strip_prefix(prefix)?;
    let (word, rest) = rest.split_once('`')?;
    let options: Vec<&str> = rest
        .split_once("expected one of ")
        .map_or(vec![], |(_, o)| {
            o.split(", ").map(|w| w.trim_matches('`')).collect()
        });
    // Without the list there is nothing better to say than serde's own words.
    (!options.is_empty()).then_some((word, options))
}

/// What a value written as `token` is, by its first character.
fn shape_of(token: &str) -> &'static str {
    match token.chars().next() {
        Some('[') => "a list",
        Some('{') => "a mapping",
        _ => "a list or a mapping",
    }
}

/// serde's name of a kind of value, in the words of a YAML file.
fn kind(what: &str) -> String {
    let what = what.trim();
    match what {
        "sequence" | "a sequence" => "a list".to_owned(),
        "map" | "a map" => "a mapping".to_owned(),
        "unit value" => "nothing (null)".to_owned(),
        "a string" => "text".to_owned(),
        "a boolean" | "true or false" => "true or false".to_owned(),
        "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number of 0 or more".to_owned(),
        w if w.starts_with("struct ") => "a mapping".to_owned(),
        w => {
            for (serde, ours) in [
                ("string ", "the text "),
                ("integer ", "the number "),
                ("floating point ", "the number "),
                ("boolean ", ""),
            ] {
                if let Some(v) = w.strip_prefix(serde) {
                    return format!("{ours}{}", v.trim_matches('`'));
                }
            }
            w.to_owned()
        }
    }
}

/// A flow list or mapping opened with `open` and never closed.
pub fn never_closed(open: char) -> String {
    let close = if open == '[' { ']' } else { '}' };
    format!("this `{open}` is never closed with `{close}`")
}

/// A YAML parser's syntax error in plain words: what is wrong at the position named.
pub fn yaml_syntax(message: &str) -> String {
    if let Some(rest) = message.strip_prefix("unclosed bracket '")
        && let Some(open) = rest.chars().next()
    {
        return never_closed(open);
    }
    let said = [
        (
            "found a tab",
            "a tab character: YAML indents with spaces only",
        ),
        (
            "tabs disallowed",
            "a tab character: YAML indents with spaces only",
        ),
        (
            "mapping values are not allowed",
            "a `key: value` where a plain value was expected: quote the value, or start the mapping on a line of its own",
        ),
        ("unclosed quote", "this quote is never closed"),
        (
            "invalid trailing content after",
            "text after the closing quote: put the whole value inside the quotes",
        ),
        (
            "simple key expected ':'",
            "expected `key: value` on this line (a `:` after the key)",
        ),
        (
            "alias references unknown anchor",
            "this alias (*name) names no anchor (&name) before it",
        ),
        (
            "did not find expected ',' or ']'",
            "expected `,` or `]` here: a list's items are separated by `,` and it ends with `]`",
        ),
        (
            "did not find expected ',' or '}'",
            "expected `,` or `}` here: a mapping's entries are separated by `,` and it ends with `}`",
        ),
    ];
    said.iter()
        .find(|(lib, _)| message.contains(lib))
        .map_or_else(|| message.to_owned(), |(_, ours)| (*ours).to_owned())
}

/// A reply written for a pull request, as a terminal shows it: no leading emoji, no
/// Markdown emphasis, and the command line's words for the comment's.
pub fn for_terminal(text: &str) -> String {
    let text = text
        .trim_start_matches(|c: char| !c.is_ascii() && !c.is_alphanumeric())
        .trim_start();
    let text = match text.strip_prefix("/promote ") {
        Some(rest) => format!("--promote {rest}"),
        None => text.to_owned(),
    };
    text.replace("**", "")
        .replace(" See /help.", " See hoist plan --help.")
}

/// `hoist plan` found a gate that no one can pass.
pub fn plan_gate_never_passes(stage: &str, service: &str, line: &str) -> String {
    format!("warning: {service} to {stage} can never merge as planned: {line}")
}

/// `set-image` named an image no entry has, so a new entry was added.
pub fn image_entry_added(name: &str, closest: Option<&str>) -> String {
    match closest {
        Some(c) => format!("no images entry was named {name}, so one was added; did you mean {c}?"),
        None => format!("no images entry was named {name}, so one was added"),
    }
}

/// `set-value` wrote text where the file held a number, a boolean or null.
pub fn value_type_changed(what: &str, was: &str) -> String {
    format!("{what} (was {was}, now text)")
}

pub fn not_a_boolean(token: &str) -> String {
    format!(
        "{token:?} is text, not a boolean: write true or false, unquoted (in YAML 1.2, which Hoist reads, yes, no, on and off are text too)"
    )
}

/// Who requested a promotion, as a mention when a person did; a name Hoist records when
/// no person asked (`ecr-push`, `hoist`, `cli`) is shown as such, so that nobody who
/// happens to hold that login on the forge is mentioned.
fn requester(who: &str) -> String {
    if crate::domain::Actor::is_system_name(who) {
        format!("`{who}`")
    } else {
        format!("@{who}")
    }
}

/// `hoist status` and the status page.
pub mod status {
    use crate::status::State;

    pub const SERVICE: &str = "service";
    pub const FROM_LEDGER_ONLY: &str = "(what runs is from Hoist's ledger alone; give --repo with a checkout of the base branch, or --live, to read the overlays)";
    pub const PAGE_TITLE: &str = "Hoist: where every image stands";
    pub const PAGE_NOT_CONNECTED: &str =
        "Not connected to the forge yet: what runs is from Hoist's ledger alone.";
    pub const NOT_A_DIRECTORY: &str = "not a directory (give a checkout of the base branch)";
    pub const PAGE_EVENTS: &str = "Last events";
    pub const PAGE_GROUPS: &str = "Groups waiting for members";
    pub const PAGE_NO_EVENTS: &str = "No events received yet.";
    pub const PAGE_READ_TIMEOUT: &str = "the forge took more than 20 s to answer";
    pub const PAGE_STORE_UNREADABLE: &str =
        "The status page cannot read Hoist's store right now; the log says why.";

    pub const PAGE_UNREAD: &str = "Cannot read the overlays from the forge right now (Hoist's log says why): what runs is from Hoist's ledger alone.";

    /// An event's progress in the queue.
    pub fn event_status(status: &str, attempts: u32) -> String {
        match (status, attempts) {
            ("pending", 0) => "waiting".to_owned(),
            ("pending", n) => format!("waiting to try again (tried {n})"),
            (s, n) if n > 1 => format!("{s} after {n} tries"),
            (s, _) => s.to_owned(),
        }
    }

    /// `2026-12-07T05:31:55Z` as `2026-12-07 05:31:55 UTC`.
    pub fn when(rfc3339: &str) -> String {
        format!(
            "{} UTC",
            rfc3339.trim_end_matches('Z').replacen('T', " ", 1)
        )
    }

    /// A group still missing members, with what arrived and when the last one did.
    pub fn group_waiting(w: &crate::status::GroupWait, age: &str) -> String {
        format!(
            "{} (arrived: {}, latest {age} ago)",
            super::plan_group_waiting(
                &w.group,
                &w.missing.iter().map(String::as_str).collect::<Vec<_>>(),
                &w.key
            ),
            w.arrived.join(", ")
        )
    }

    /// A stage held after a rollback, in a status cell.
    pub fn held(stage: &str, by: &str) -> String {
        format!("held since @{by}'s rollback: /unhold {stage}")
    }

    /// The word under a frozen stage's name.
    pub const FROZEN: &str = "frozen";
    pub const PAGE_FROZEN: &str = "Frozen stages";

    /// A frozen stage, below the grid.
    pub fn frozen(f: &crate::store::freezes::Freeze, age: &str) -> String {
        let why = if f.reason.is_empty() {
            String::new()
        } else {
            format!(": {}", f.reason)
        };
        format!(
            "{} is frozen by @{} ({age} ago){why}; nothing merges into it until /unfreeze {}",
            f.stage, f.by, f.stage
        )
    }

    /// How long a pull request has been open, and for whom.
    pub fn pending_since(age: &str, by: &str) -> String {
        format!("opened {age} ago by {by}")
    }

    /// A state as a word, with how long it has held.
    pub fn state(s: State, since: Option<&str>) -> String {
        let word = state_word(s);
        match since {
            Some(age) => format!("{word} {age} ago"),
            None => word.to_owned(),
        }
    }

    pub fn state_word(s: State) -> &'static str {
        match s {
            State::Verified => "verified",
            State::Merged => "merged, not verified yet",
            State::Pending => "pending",
            State::Unrecorded => "not merged by Hoist",
            State::None => "-",
        }
    }

    /// An open pull request into the stage.
    pub fn pending(pr: &str, tag: &str, age: &str) -> String {
        format!("{pr} → {tag}, opened {age} ago")
    }

    pub fn waits(what: &str) -> String {
        format!("  waits: {what}")
    }

    /// Under an open pull request: where it is, for a terminal to open.
    pub fn link(url: &str) -> String {
        format!("  {url}")
    }

    /// Under an open rollback's pull request.
    pub fn rolling_back(from: &str) -> String {
        format!("  rolls back from {from}")
    }

    pub fn problem(why: &str) -> String {
        format!("cannot read: {why}")
    }

    pub fn overlay_missing(path: &str) -> String {
        format!("{path} does not exist")
    }
}

#[cfg(test)]
mod tests {
    use super::{StageView, pipeline};
    use crate::config::Config;
    use crate::status::State;

    /// Each stage of a pull request's pipeline in its state's colour (verified, merged,
    /// pending), the target marked; on CodeCommit, which renders no Mermaid, a table.
    #[test]
    fn the_pipeline_is_coloured_by_state() {
        let views = [
            StageView {
                stage: "dev",
                tag: Some("v1.5.0"),
                state: State::Verified,
            },
            StageView {
                stage: "uat",
                tag: Some("v1.4.0"),
                state: State::Merged,
            },
            StageView {
                stage: "prod",
                tag: Some("v1.3.0"),
                state: State::Pending,
            },
        ];
        let github = Config::parse(
            include_str!("../config/hoist.example.yaml"),
            "hoist.example.yaml",
        )
        .unwrap();
        insta::assert_snapshot!(pipeline(&github, "prod", "v1.4.0", &views), @r#"
        ```mermaid
        flowchart LR
          s_dev["dev · v1.5.0"]
          s_uat["uat · v1.4.0"]
          s_prod["prod · v1.4.0 ⏳"]
          s_dev --> s_uat
          s_uat --> s_prod
          classDef verified fill:#d4edda,stroke:#2e7d32
          class s_dev verified
          classDef merged fill:#fff3cd,stroke:#b7791f
          class s_uat merged
          classDef pending fill:#dbeafe,stroke:#1d4ed8
          class s_prod pending
        ```
        "#);
        let codecommit = Config::parse(
            include_str!("../config/hoist.codecommit.example.yaml"),
            "hoist.codecommit.example.yaml",
        )
        .unwrap();
        insta::assert_snapshot!(pipeline(&codecommit, "prod", "v1.4.0", &views), @"
        | Stage | Runs | State |
        |---|---|---|
        | dev | `v1.5.0` | verified |
        | uat | `v1.4.0` | merged, not verified yet |
        | prod | `v1.4.0 ⏳` | this pull request |
        ");
    }
}
