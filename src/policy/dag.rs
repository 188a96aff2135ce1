//! The promotion DAG: freight enters a stage only from its upstreams.

use crate::config::{Availability, Config, Stage};

/// Whether freight may enter `stage`, given where it stands (`is_in(upstream)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    Allowed,
    /// A root stage takes freight from the registry only.
    Root,
    /// The freight is not in the upstreams the stage requires.
    Skips,
}

pub fn may_enter(stage: &Stage, is_in: impl Fn(&str) -> bool) -> Entry {
    if stage.upstream.is_empty() {
        return Entry::Root;
    }
    let ok = match stage.availability {
        Availability::All => stage.upstream.iter().all(|u| is_in(u)),
        Availability::Any => stage.upstream.iter().any(|u| is_in(u)),
    };
    if ok { Entry::Allowed } else { Entry::Skips }
}

/// The stage freight should enter next on its way to `target`: an ancestor of `target`
/// that does not have it yet but may take it now, the closest to `target` first.
pub fn next_step<'a>(
    config: &'a Config,
    target: &str,
    is_in: impl Fn(&str) -> bool,
) -> Option<&'a str> {
    let mut frontier: Vec<&str> = vec![target];
    let mut seen: Vec<&str> = vec![];
    while !frontier.is_empty() {
        let mut next = vec![];
        for s in frontier {
            let ups = config
                .stage(s)
                .map(|st| st.upstream.as_slice())
                .unwrap_or_default();
            for up in ups {
                let up = up.as_str();
                if seen.contains(&up) {
                    continue;
                }
                seen.push(up);
                let st = config.stage(up)?;
                if !is_in(up) && may_enter(st, &is_in) == Entry::Allowed {
                    return config.stages.keys().find(|k| *k == up);
                }
                next.push(up);
            }
        }
        frontier = next;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(up: &[&str], availability: Availability) -> Stage {
        Stage {
            upstream: up.iter().map(|s| (*s).into()).collect(),
            availability,
            ..Stage::default()
        }
    }

    #[test]
    fn all_and_any() {
        let all = stage(&["eu", "us"], Availability::All);
        assert_eq!(may_enter(&all, |s| s == "eu"), Entry::Skips);
        assert_eq!(may_enter(&all, |_| true), Entry::Allowed);
        let any = stage(&["eu", "us"], Availability::Any);
        assert_eq!(may_enter(&any, |s| s == "eu"), Entry::Allowed);
        assert_eq!(may_enter(&any, |_| false), Entry::Skips);
        assert_eq!(
            may_enter(&stage(&[], Availability::All), |_| true),
            Entry::Root
        );
    }
}
