//! Which tags a service promotes, and whether a tag is newer than what a stage runs.

pub mod range;

use std::cmp::Ordering;

use regex::Regex;
use semver::Version;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use range::{Range, RangeError};

/// Tag filters. All that are set must accept a tag.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TagPolicy {
    /// A semver range in the syntax of Kargo, Flux and Argo CD Image Updater:
    /// `>=1.2.0 <2.0.0`, `^1.2`, `~1.2.3`, `1.x`, `>=1 <2 || >=3`. A `v` prefix on tags is
    /// accepted. Pre-releases match only when the range names one.
    #[serde(default)]
    pub semver: Option<String>,
    /// A regular expression the whole tag must match (it is anchored at both ends),
    /// e.g. `main-[0-9a-f]{7}`.
    #[serde(default)]
    pub regex: Option<String>,
    /// Regular expressions of tags never to promote: a tag in which any of them is
    /// found (unanchored, e.g. `-debug$`) is skipped.
    #[serde(default)]
    pub ignore: Vec<String>,
}

/// A service's tag policy, compiled once when the config loads.
#[derive(Debug, Clone)]
pub struct TagFilter {
    semver: Option<Range>,
    allow: Option<Regex>,
    ignore: Vec<Regex>,
}

/// Why a tag is not promoted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("tag {tag} is not a semantic version, and the policy is a semver range ({range})")]
    NotSemver { tag: String, range: String },
    #[error("tag {tag} is outside the semver range {range}")]
    OutOfRange { tag: String, range: String },
    #[error("tag {tag} does not match the allowed pattern {pattern}")]
    NotAllowed { tag: String, pattern: String },
    #[error("tag {tag} matches the ignore pattern {pattern}")]
    Ignored { tag: String, pattern: String },
}

impl TagFilter {
    /// Compiles a policy; the config's validation has already reported bad patterns,
    /// so errors here carry the field's name for callers that skip validation.
    pub fn new(p: &TagPolicy) -> Result<Self, String> {
        let compile = |r: &str| Regex::new(r).map_err(|e| format!("regex {r:?}: {e}"));
        // The allow pattern must match the whole tag, as the config documents.
        let whole = |r: &str| compile(&format!("^(?:{r})$"));
        Ok(Self {
            semver: p
                .semver
                .as_deref()
                .map(Range::parse)
                .transpose()
                .map_err(|e| e.to_string())?,
            allow: p.regex.as_deref().map(whole).transpose()?,
            ignore: p
                .ignore
                .iter()
                .map(|r| compile(r))
                .collect::<Result<_, _>>()?,
        })
    }

    pub fn check(&self, tag: &str) -> Result<(), Rejection> {
        for r in &self.ignore {
            if r.is_match(tag) {
                return Err(Rejection::Ignored {
                    tag: tag.into(),
                    pattern: r.as_str().into(),
                });
            }
        }
        if let Some(r) = &self.allow
            && !r.is_match(tag)
        {
            return Err(Rejection::NotAllowed {
                tag: tag.into(),
                pattern: r.as_str().into(),
            });
        }
        if let Some(range) = &self.semver {
            let Some(v) = version(tag) else {
                return Err(Rejection::NotSemver {
                    tag: tag.into(),
                    range: range.to_string(),
                });
            };
            if !range.matches(&v) {
                return Err(Rejection::OutOfRange {
                    tag: tag.into(),
                    range: range.to_string(),
                });
            }
        }
        Ok(())
    }
}

/// A tag read as a semantic version: an optional `v`, and a missing minor or patch
/// read as 0 (`v1.4` is 1.4.0), as Masterminds does.
pub fn version(tag: &str) -> Option<Version> {
    let t = tag.strip_prefix(['v', 'V']).unwrap_or(tag);
    if let Ok(v) = Version::parse(t) {
        return Some(v);
    }
    let (core, rest) = match t.find(['-', '+']) {
        Some(i) => t.split_at(i),
        None => (t, ""),
    };
    let dots = core.matches('.').count();
    if dots >= 2
        || core.is_empty()
        || !core
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let padded = format!("{core}{}{rest}", ".0".repeat(2 - dots));
    Version::parse(&padded).ok()
}

/// Orders two tags when both are versions; `None` when either is not (a regex policy
/// such as `main-3f9c2d1` has no order, and then the newest push wins).
pub fn compare(a: &str, b: &str) -> Option<Ordering> {
    Some(version(a)?.cmp_precedence(&version(b)?))
}

/// The downgrade rule: putting `new` where `current` runs goes back a version, and the
/// service (`allow_downgrade`, from the config) does not allow that. Tags without an
/// order are never a downgrade.
pub fn is_refused_downgrade(new: &str, current: &str, allow_downgrade: bool) -> bool {
    !allow_downgrade && compare(new, current) == Some(Ordering::Less)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_downgrade_is_refused_unless_allowed_and_unordered_tags_never_are() {
        assert!(is_refused_downgrade("v1.3.0", "v1.4.0", false));
        assert!(!is_refused_downgrade("v1.3.0", "v1.4.0", true));
        assert!(!is_refused_downgrade("v1.5.0", "v1.4.0", false));
        assert!(!is_refused_downgrade("v1.4.0", "v1.4.0", false));
        assert!(!is_refused_downgrade("main-3f9c2d1", "main-aaaaaaa", false));
    }

    fn policy(semver: Option<&str>, regex: Option<&str>, ignore: &[&str]) -> TagFilter {
        TagFilter::new(&TagPolicy {
            semver: semver.map(Into::into),
            regex: regex.map(Into::into),
            ignore: ignore.iter().map(|s| (*s).into()).collect(),
        })
        .unwrap()
    }

    #[test]
    fn v_prefix_and_short_versions() {
        assert_eq!(version("v1.4.0"), Version::parse("1.4.0").ok());
        assert_eq!(version("2.14"), Version::parse("2.14.0").ok());
        assert_eq!(version("v3"), Version::parse("3.0.0").ok());
        assert_eq!(version("1.2.3-rc.1"), Version::parse("1.2.3-rc.1").ok());
        assert_eq!(version("main-3f9c2d1"), None);
        assert_eq!(version("latest"), None);
    }

    #[test]
    fn semver_policy() {
        let p = policy(Some(">=1.0.0 <2.0.0"), None, &[]);
        assert!(p.check("v1.4.0").is_ok());
        assert!(matches!(
            p.check("v2.0.0"),
            Err(Rejection::OutOfRange { .. })
        ));
        assert!(matches!(
            p.check("latest"),
            Err(Rejection::NotSemver { .. })
        ));
        assert!(matches!(
            p.check("v1.5.0-rc.1"),
            Err(Rejection::OutOfRange { .. })
        ));
    }

    #[test]
    fn regex_and_ignore() {
        let p = policy(None, Some("^main-[0-9a-f]{7}$"), &["-dirty$"]);
        assert!(p.check("main-3f9c2d1").is_ok());
        let p = policy(None, Some("main-[0-9a-f]{7}"), &[]);
        assert!(p.check("main-3f9c2d1").is_ok());
        assert!(
            p.check("feature-main-3f9c2d1-dirty").is_err(),
            "the pattern matches the whole tag"
        );
        assert!(matches!(
            p.check("feature-3f9c2d1"),
            Err(Rejection::NotAllowed { .. })
        ));
        let p = policy(Some("^1"), None, &["^v1\\.4\\.0$"]);
        assert_eq!(
            p.check("v1.4.0").unwrap_err().to_string(),
            "tag v1.4.0 matches the ignore pattern ^v1\\.4\\.0$"
        );
    }

    #[test]
    fn comparing() {
        assert_eq!(compare("v1.10.0", "v1.9.0"), Some(Ordering::Greater));
        assert_eq!(compare("1.4.0", "v1.4.0"), Some(Ordering::Equal));
        assert_eq!(compare("main-abc", "v1"), None);
    }
}
