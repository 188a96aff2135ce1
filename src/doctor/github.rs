//! `hoist doctor` on GitHub: the App's permissions and events, the base branch's
//! protection, and who posts each required check. Facts come from GitHub's answers to
//! Hoist's own credentials (the installation, the rules on the branch, each ruleset's
//! word on whether Hoist may bypass it) and from the config.

use super::Check;
use crate::config::{Config, Poster};
use crate::forge::github::manifest::{EVENTS, PERMISSIONS};
use crate::forge::github::posture::{Posture, Protection, Rules};
use crate::marks::{ARGOCD_CHECK, DAG_CHECK};
use crate::messages::doctor as say;

/// Whether level `has` covers level `needs` (`write` covers `read`).
fn covers(has: &str, needs: &str) -> bool {
    has == needs || has == "admin" || (has == "write" && needs == "read")
}

/// The installation's permissions and events against what Hoist uses.
pub fn installation(posture: &Posture) -> Vec<Check> {
    let Some((permissions, events)) = &posture.installation else {
        return vec![Check::warn(
            say::TOKEN_NOT_CHECKED.to_owned(),
            say::TOKEN_FIX.to_owned(),
        )];
    };
    let missing: Vec<String> = PERMISSIONS
        .iter()
        .filter(|(name, level)| !permissions.get(*name).is_some_and(|has| covers(has, level)))
        .map(|(name, level)| format!("{name}: {level}"))
        .collect();
    let unsubscribed: Vec<&str> = EVENTS
        .iter()
        .filter(|e| !events.iter().any(|has| has == *e))
        .copied()
        .collect();
    // More than Hoist needs: with `administration: write` the App could change the very
    // rules that bind it.
    let extra: Vec<String> = permissions
        .iter()
        .filter(|(name, level)| *name == "administration" && covers(level, "write"))
        .map(|(name, level)| format!("{name}: {level}"))
        .collect();
    let mut out = vec![
        if missing.is_empty() {
            Check::pass(say::PERMISSIONS_OK.to_owned())
        } else {
            Check::fail(
                say::permissions_missing(&missing),
                say::PERMISSIONS_FIX.to_owned(),
            )
        },
        if unsubscribed.is_empty() {
            Check::pass(say::EVENTS_OK.to_owned())
        } else {
            Check::fail(
                say::events_missing(&unsubscribed),
                say::EVENTS_FIX.to_owned(),
            )
        },
    ];
    if !extra.is_empty() {
        out.push(Check::warn(
            say::permissions_extra(&extra),
            say::PERMISSIONS_EXTRA_FIX.to_owned(),
        ));
    }
    out
}

/// The base branch's protection: a pull request, code-owner review where a stage is
/// gated by code owners, stale approvals dismissed, Hoist's two checks required, and no
/// way for Hoist's App around any of it.
pub fn protection(config: &Config, base: &str, posture: &Posture) -> Vec<Check> {
    let rules = match &posture.protection {
        Protection::None => {
            return vec![Check::fail(
                say::unprotected(base),
                say::PROTECTION_FIX.to_owned(),
            )];
        }
        Protection::Unreadable(why) => {
            return vec![Check::warn(
                say::protection_unreadable(base, why),
                say::PROTECTION_UNREADABLE_FIX.to_owned(),
            )];
        }
        Protection::Read(r) => r,
    };
    let mut out = required(config, base, rules, posture.app_id);
    if rules.admins_exempt {
        out.push(Check::warn(
            say::ADMINS_EXEMPT.to_owned(),
            say::ADMINS_EXEMPT_FIX.to_owned(),
        ));
    }
    if !rules.bypass_unknown.is_empty() {
        out.push(Check::warn(
            say::bypass_unknown(&rules.bypass_unknown.join(", ")),
            say::BYPASS_UNKNOWN_FIX.to_owned(),
        ));
    }
    out.push(if rules.hoist_bypasses.is_empty() {
        Check::pass(say::NO_BYPASS.to_owned())
    } else {
        Check::fail(
            say::hoist_bypasses(&rules.hoist_bypasses.join(", ")),
            say::BYPASS_FIX.to_owned(),
        )
    });
    out
}

/// The rules each a line: a pull request, code-owner review where a stage is gated by
/// code owners, stale approvals dismissed, and Hoist's two checks from Hoist's App.
fn required(config: &Config, base: &str, rules: &Rules, app_id: Option<u64>) -> Vec<Check> {
    let src = rules.source;
    let yes_no = |ok: bool, what: String| {
        if ok {
            Check::pass(what)
        } else {
            Check::fail(
                say::protection_lacks(base, src, &what),
                say::PROTECTION_FIX.to_owned(),
            )
        }
    };
    let mut out = vec![yes_no(
        rules.requires_pull_request,
        say::REQUIRES_PR.to_owned(),
    )];
    if config.stages.iter().any(|(_, s)| s.gate.codeowners) {
        out.push(yes_no(
            rules.code_owner_review,
            say::REQUIRES_CODEOWNERS.to_owned(),
        ));
    }
    out.push(yes_no(
        rules.dismiss_stale_reviews,
        say::DISMISSES_STALE.to_owned(),
    ));
    for check in [ARGOCD_CHECK, DAG_CHECK] {
        out.push(hoist_check(base, check, rules, app_id));
    }
    out
}

/// Whether the rules require Hoist's check `check`, from Hoist's App (`app_id`) alone:
/// a check any poster satisfies is one anyone who may push can post.
fn hoist_check(base: &str, check: &str, rules: &Rules, app_id: Option<u64>) -> Check {
    let pins: Vec<Option<u64>> = rules
        .required_checks
        .iter()
        .filter(|(name, _)| name == check)
        .map(|(_, app)| *app)
        .collect();
    match (pins.as_slice(), app_id) {
        ([], _) => Check::fail(
            say::protection_lacks(base, rules.source, &say::requires_check(check)),
            say::PROTECTION_FIX.to_owned(),
        ),
        // GitHub enforces every rule that names it: one pinned to Hoist's App is enough.
        (pins, Some(hoist)) if pins.contains(&Some(hoist)) => {
            Check::pass(say::requires_check_from_hoist(check))
        }
        (pins, _) if pins.contains(&None) => Check::fail(
            say::check_from_anyone(base, check),
            say::PIN_CHECK_FIX.to_owned(),
        ),
        (pins, hoist) => {
            let other = pins
                .iter()
                .flatten()
                .copied()
                .find(|p| Some(*p) != hoist)
                .unwrap_or_default();
            Check::fail(
                say::check_from_other_app(base, check, other),
                say::PIN_CHECK_FIX.to_owned(),
            )
        }
    }
}

/// Who posts each of the config's required checks, from the config: a named App or
/// user passes; any App at all, or a name only Argo CD's own checks carry (posted after
/// merge, never on the unmerged head), is a warning.
pub fn required_checks(config: &Config) -> Vec<Check> {
    config
        .merge
        .required_checks
        .iter()
        .map(|c| {
            let name = c.name();
            if name.starts_with("argocd/") {
                return Check::warn(
                    say::check_after_merge(name),
                    say::CHECK_AFTER_MERGE_FIX.to_owned(),
                );
            }
            match c.poster() {
                Some(Poster::AnyApp) => {
                    Check::warn(say::check_any_app(name), say::CHECK_ANY_APP_FIX.to_owned())
                }
                Some(p) => Check::pass(say::check_posted_by(name, &crate::messages::poster(&p))),
                // The config's validation refuses this; said again rather than passed.
                None => Check::fail(say::check_any_app(name), say::CHECK_ANY_APP_FIX.to_owned()),
            }
        })
        .collect()
}
