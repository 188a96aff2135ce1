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

/// Freight may not enter a stage: `next` is the nearest stage it could be promoted to
/// instead, if any.
#[derive(Debug, PartialEq, Eq)]
pub struct Refused<'a> {
    pub next: Option<&'a str>,
}

/// The DAG's rule with what to do instead: `Some` when `stage` requires upstreams the
/// freight does not stand in. `standing` is where it stands, from Hoist's ledger (verified
/// by Argo CD); a root stage takes freight from the registry and is never refused here.
pub fn refused<'a>(
    config: &'a Config,
    stage: &str,
    st: &Stage,
    standing: &[&str],
) -> Option<Refused<'a>> {
    (may_enter(st, |u| standing.contains(&u)) == Entry::Skips).then(|| Refused {
        next: next_step(config, stage, |s| standing.contains(&s)),
    })
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

/// What `hoist/dag` finds of one image a gated stage would run at a pull request's head
/// that it does not run at the base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// Freight verified in the stage's upstreams.
    Verified { image: String },
    /// Pinned by a digest that is not verified where the stage takes freight from;
    /// `standing` is where it is verified.
    NotVerified {
        image: String,
        standing: Vec<String>,
    },
    /// Pinned by tag alone: which freight it is cannot be told, so it cannot pass.
    TagOnly { image: String },
    /// Not an image reference Hoist can read.
    Unreadable { image: String },
}

impl Finding {
    pub fn passes(&self) -> bool {
        matches!(self, Finding::Verified { .. })
    }
}

/// `hoist/dag`'s judgement of a gated stage: every image it would run at the head and
/// not at the base must be freight (by digest) verified in the stage's upstreams. The
/// facts: the images from Argo CD's rendering of the stage's application at the head and
/// at the base (Argo CD), and where each digest is verified (Hoist's store).
pub fn judge(
    stage: &Stage,
    at_head: &std::collections::BTreeSet<String>,
    at_base: &std::collections::BTreeSet<String>,
    verified_in: impl Fn(&str) -> Vec<String>,
) -> Vec<Finding> {
    at_head
        .difference(at_base)
        .map(|image| {
            let image = image.clone();
            match crate::image::Reference::parse(&image) {
                Err(_) => Finding::Unreadable { image },
                Ok(r) => match r.digest {
                    None => Finding::TagOnly { image },
                    Some(d) => {
                        let standing = verified_in(d.as_str());
                        if may_enter(stage, |u| standing.iter().any(|s| s == u)) == Entry::Allowed {
                            Finding::Verified { image }
                        } else {
                            Finding::NotVerified { image, standing }
                        }
                    }
                },
            }
        })
        .collect()
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

    #[test]
    fn judge_takes_every_new_image_at_its_digest() {
        let prod = stage(&["uat"], Availability::All);
        let d = |c: char| format!("sha256:{}", c.to_string().repeat(64));
        let set = |xs: &[String]| {
            xs.iter()
                .cloned()
                .collect::<std::collections::BTreeSet<_>>()
        };
        let base = set(&[format!("reg/app:v1@{}", d('a')), "reg/proxy:1.0".into()]);
        let head = set(&[
            format!("reg/app:v2@{}", d('b')),
            format!("reg/sidecar:v1@{}", d('c')),
            "reg/proxy:1.0".into(),
            "reg/debug:latest".into(),
            "not a reference".into(),
        ]);
        let verified_in = |digest: &str| -> Vec<String> {
            if digest == d('b') {
                vec!["dev".into(), "uat".into()]
            } else if digest == d('c') {
                vec!["dev".into()]
            } else {
                vec![]
            }
        };
        let got = judge(&prod, &head, &base, verified_in);
        assert_eq!(
            got,
            [
                Finding::Unreadable {
                    image: "not a reference".into()
                },
                Finding::Verified {
                    image: format!("reg/app:v2@{}", d('b'))
                },
                Finding::TagOnly {
                    image: "reg/debug:latest".into()
                },
                Finding::NotVerified {
                    image: format!("reg/sidecar:v1@{}", d('c')),
                    standing: vec!["dev".into()]
                },
            ],
            "the unchanged proxy is not judged; the rest are, each by its digest"
        );
    }
}
