//! What a `/rollback` puts back: decided from the ledger alone (Hoist's store of what it
//! merged into each stage and Argo CD verified), the same for the engine and `hoist plan`.

use crate::store::ledger::Promotion;

/// What rolling `stage` back can do.
#[derive(Debug, PartialEq, Eq)]
pub enum Choice<'a> {
    /// Hoist merged nothing into the stage.
    NothingMerged,
    /// No earlier freight ran verified there (or not the tag asked): the tags that did.
    NoTarget { verified: Vec<&'a str> },
    /// Put `target` back in place of `current`.
    Back {
        current: &'a Promotion,
        target: &'a Promotion,
    },
}

/// The freight `stage` ran before its current one: among the service's promotions in
/// `ledger`, merged into `stage` latest first, the first older than the current one that
/// was verified there; with `to`, the one tagged `to`. Older: a lower version where both
/// tags are versions, else first opened earlier. Never newer: a rollback must not carry
/// forward what its hold keeps out.
pub fn choose<'a>(ledger: &'a [Promotion], stage: &str, to: Option<&str>) -> Choice<'a> {
    let mut merged: Vec<&Promotion> = ledger
        .iter()
        .filter(|p| p.stage == stage && p.merge_sha.is_some())
        .collect();
    merged.sort_by_key(|p| std::cmp::Reverse(p.merged_at));
    let Some(current) = merged.first().copied() else {
        return Choice::NothingMerged;
    };
    let earlier: Vec<&Promotion> = merged
        .iter()
        .skip(1)
        .filter(|p| p.verified_at.is_some() && p.digest != current.digest && older(p, current))
        .copied()
        .collect();
    let target = match to {
        Some(tag) => earlier.iter().find(|p| p.tag == tag),
        None => earlier.first(),
    };
    match target {
        Some(target) => Choice::Back { current, target },
        None => Choice::NoTarget {
            verified: earlier.iter().map(|p| p.tag.as_str()).collect(),
        },
    }
}

/// Whether `p` came before `current`: by version where both tags are versions, else by
/// when Hoist first opened each (kept when a pull request is re-pointed).
fn older(p: &Promotion, current: &Promotion) -> bool {
    match crate::tags::compare(&p.tag, &current.tag) {
        Some(o) => o == std::cmp::Ordering::Less,
        None => p.opened_at < current.opened_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(tag: &str, digest: &str, merged_at: Option<i64>, verified: bool) -> Promotion {
        Promotion {
            service: "svc".into(),
            stage: "prod".into(),
            tag: tag.into(),
            digest: digest.into(),
            pr: Some(1),
            requested_by: "quinn".into(),
            approved_by: None,
            merge_sha: merged_at.map(|t| format!("m{t}")),
            merged_at,
            verified_at: verified.then_some(1),
            opened_at: 0,
        }
    }

    /// The latest merge is what runs; the one before that ran verified is put back; one
    /// that never ran verified, or never merged, is never chosen.
    #[test]
    fn the_freight_verified_before_the_current_one_is_put_back() {
        let ledger = [
            row("v1.3.0", "c", Some(1), true),
            row("v1.4.0", "a", Some(2), true),
            row("v1.4.1", "f", Some(3), false),
            row("v1.6.0", "x", None, false),
            row("v1.5.0", "b", Some(4), true),
        ];
        let tags = |c: Choice| match c {
            Choice::Back { current, target } => format!("{} -> {}", current.tag, target.tag),
            other => format!("{other:?}"),
        };
        assert_eq!(tags(choose(&ledger, "prod", None)), "v1.5.0 -> v1.4.0");
        assert_eq!(
            tags(choose(&ledger, "prod", Some("v1.3.0"))),
            "v1.5.0 -> v1.3.0"
        );
        assert_eq!(
            tags(choose(&ledger, "prod", Some("v1.4.1"))),
            r#"NoTarget { verified: ["v1.4.0", "v1.3.0"] }"#
        );
        assert_eq!(choose(&ledger, "uat", None), Choice::NothingMerged);
        // Rolled back to v1.4.0 (merged again last): v1.5.0 is newer, never a rollback.
        let back = [
            row("v1.4.0", "a", Some(5), true),
            row("v1.5.0", "b", Some(4), true),
            row("v1.3.0", "c", Some(1), true),
        ];
        assert_eq!(tags(choose(&back, "prod", None)), "v1.4.0 -> v1.3.0");
        assert_eq!(
            tags(choose(&back, "prod", Some("v1.5.0"))),
            r#"NoTarget { verified: ["v1.3.0"] }"#
        );
    }
}
