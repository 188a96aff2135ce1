//! Semver ranges as Kargo, Flux and Argo CD Image Updater users write them
//! (Masterminds and npm syntax): `>=1.2.0 <2.0.0`, `>=1.2, <2`, `^1.2`, `~1.2.3`,
//! `1.2.x`, `*`, `1.2 - 1.4`, `!=1.2`, and `a || b`. The `semver` crate's own ranges are
//! Cargo-flavoured, so each comparator is mapped onto `semver::Version` bounds here.

use std::fmt;

use semver::{Prerelease, Version};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Op {
    Lt(Version),
    Le(Version),
    Gt(Version),
    Ge(Version),
    Eq(Version),
    Ne(Version),
    /// Outside `[lo, hi)`: `!=1.2` excludes every 1.2.x.
    Outside(Version, Version),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Comparator {
    op: Op,
    /// The user wrote a pre-release here (`>=2.0.0-rc.1`, `>=1.0.0-0`), which lets
    /// pre-releases into this alternative. Bounds Hoist derives never do.
    names_prerelease: bool,
}

/// A parsed range: alternatives (`||`) of comparator sets that must all hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    source: String,
    alternatives: Vec<Vec<Comparator>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("semver range {range:?}: {why}")]
pub struct RangeError {
    pub range: String,
    pub why: String,
}

/// Version parts above this are refused, so bounds never overflow.
const MAX_PART: u64 = 1 << 53;

/// A version as written in a range: missing or wildcard parts are `None`.
struct Partial {
    major: Option<u64>,
    minor: Option<u64>,
    patch: Option<u64>,
    pre: Prerelease,
}

impl Partial {
    fn floor(&self) -> Version {
        let mut v = Version::new(
            self.major.unwrap_or(0),
            self.minor.unwrap_or(0),
            self.patch.unwrap_or(0),
        );
        v.pre = self.pre.clone();
        v
    }

    /// The first version past everything this partial names (`1.2` -> `1.3.0-0`), so
    /// pre-releases of the next version stay outside. `None` for `*`.
    fn ceiling(&self) -> Option<Version> {
        let next = match (self.major, self.minor, self.patch) {
            (None, _, _) => return None,
            (Some(m), None, _) => Version::new(m + 1, 0, 0),
            (Some(m), Some(n), None) => Version::new(m, n + 1, 0),
            (Some(m), Some(n), Some(p)) => Version::new(m, n, p + 1),
        };
        Some(lowest(next))
    }

    fn is_complete(&self) -> bool {
        self.patch.is_some()
    }
}

/// The lowest version with this number: its `-0` pre-release.
fn lowest(mut v: Version) -> Version {
    v.pre = Prerelease::new("0").expect("0 is a valid pre-release");
    v
}

impl Range {
    pub fn parse(s: &str) -> Result<Self, RangeError> {
        let err = |why: String| RangeError {
            range: s.to_owned(),
            why,
        };
        let parts: Vec<&str> = s.split("||").map(str::trim).collect();
        if parts.len() > 1 && parts.iter().any(|p| p.is_empty()) {
            return Err(err(
                "an alternative around || is empty (it would match every version)".into(),
            ));
        }
        let alternatives = parts
            .into_iter()
            .map(parse_set)
            .collect::<Result<_, _>>()
            .map_err(err)?;
        Ok(Self {
            source: s.to_owned(),
            alternatives,
        })
    }

    /// True when `v` is in the range. A pre-release matches only an alternative in
    /// which the user named a pre-release, so `>=1.0.0` never promotes `2.0.0-rc.1`.
    pub fn matches(&self, v: &Version) -> bool {
        let mut v = v.clone();
        v.build = semver::BuildMetadata::EMPTY;
        self.alternatives.iter().any(|set| {
            set.iter().all(|c| c.op.holds(&v))
                && (v.pre.is_empty() || set.iter().any(|c| c.names_prerelease))
        })
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl Op {
    fn holds(&self, v: &Version) -> bool {
        match self {
            Op::Lt(x) => v < x,
            Op::Le(x) => v <= x,
            Op::Gt(x) => v > x,
            Op::Ge(x) => v >= x,
            Op::Eq(x) => v == x,
            Op::Ne(x) => v != x,
            Op::Outside(lo, hi) => v < lo || v >= hi,
        }
    }
}

fn parse_set(s: &str) -> Result<Vec<Comparator>, String> {
    if s.is_empty() || s == "*" || s == "x" || s == "X" {
        return Ok(vec![]);
    }
    // Hyphen range: `1.2 - 1.4.5`; a wildcard upper end leaves it open.
    if let Some((lo, hi)) = s.split_once(" - ") {
        let lo = parse_partial(lo.trim())?;
        let hi = parse_partial(hi.trim())?;
        let named = !lo.pre.is_empty() || !hi.pre.is_empty();
        let c = |op| Comparator {
            op,
            names_prerelease: named,
        };
        let mut set = vec![c(Op::Ge(lo.floor()))];
        if hi.is_complete() {
            set.push(c(Op::Le(hi.floor())));
        } else if let Some(ceil) = hi.ceiling() {
            set.push(c(Op::Lt(ceil)));
        }
        return Ok(set);
    }
    let mut set = vec![];
    for t in tokenize(s)? {
        set.extend(parse_comparator(&t)?);
    }
    Ok(set)
}

/// Splits on spaces and commas, joining an operator to the version after it (`>= 1.2`).
fn tokenize(s: &str) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = vec![];
    let mut pending_op = String::new();
    for word in s.split([' ', ',', '\t']).filter(|w| !w.is_empty()) {
        if word.chars().all(|c| "<>=!~^".contains(c)) {
            if !pending_op.is_empty() {
                return Err(format!("operator {pending_op:?} has no version"));
            }
            pending_op = word.to_owned();
        } else {
            out.push(format!("{pending_op}{word}"));
            pending_op.clear();
        }
    }
    if !pending_op.is_empty() {
        return Err(format!("operator {pending_op:?} has no version"));
    }
    Ok(out)
}

/// Kept whole: one match over the operators, each arm a few lines turning a partial version
/// into comparators; it reads best as one table.
fn parse_comparator(t: &str) -> Result<Vec<Comparator>, String> {
    let split = t
        .find(|c: char| !"<>=!~^".contains(c))
        .ok_or_else(|| format!("{t:?} has no version"))?;
    let (op, ver) = t.split_at(split);
    let p = parse_partial(ver)?;
    let named = !p.pre.is_empty();
    let c = |op| Comparator {
        op,
        names_prerelease: named,
    };
    let floor = p.floor();
    let ceiling = p.ceiling();
    let complete = p.is_complete();
    Ok(match op {
        "" | "=" | "==" => match ceiling {
            _ if complete => vec![c(Op::Eq(floor))],
            Some(ceil) => vec![c(Op::Ge(floor)), c(Op::Lt(ceil))],
            None => vec![],
        },
        "!=" => match ceiling {
            _ if complete => vec![c(Op::Ne(floor))],
            Some(ceil) => vec![c(Op::Outside(floor, ceil))],
            None => vec![c(Op::Lt(Version::new(0, 0, 0)))],
        },
        ">=" => vec![c(Op::Ge(floor))],
        "<" => vec![c(Op::Lt(floor))],
        ">" => match ceiling {
            _ if complete => vec![c(Op::Gt(floor))],
            Some(ceil) => vec![c(Op::Ge(ceil))],
            None => vec![c(Op::Lt(Version::new(0, 0, 0)))],
        },
        "<=" => match ceiling {
            _ if complete => vec![c(Op::Le(floor))],
            Some(ceil) => vec![c(Op::Lt(ceil))],
            None => vec![],
        },
        "~" | "~>" => {
            // ~1.2.3 and ~1.2 allow patch updates; ~1 allows minor updates.
            let upper = match (p.major, p.minor) {
                (Some(m), Some(n)) => Some(lowest(Version::new(m, n + 1, 0))),
                (Some(m), None) => Some(lowest(Version::new(m + 1, 0, 0))),
                _ => None,
            };
            let mut v = vec![c(Op::Ge(floor))];
            v.extend(upper.map(|u| c(Op::Lt(u))));
            v
        }
        "^" => {
            // Allow changes that keep the left-most non-zero part.
            let upper = match (p.major, p.minor, p.patch) {
                (None, _, _) => None,
                (Some(m), _, _) if m > 0 => Some(Version::new(m + 1, 0, 0)),
                (Some(0), None, _) => Some(Version::new(1, 0, 0)),
                (Some(0), Some(n), _) if n > 0 => Some(Version::new(0, n + 1, 0)),
                (Some(0), Some(0), None) => Some(Version::new(0, 1, 0)),
                (Some(0), Some(0), Some(pt)) => Some(Version::new(0, 0, pt + 1)),
                _ => None,
            };
            let mut v = vec![c(Op::Ge(floor))];
            v.extend(upper.map(|u| c(Op::Lt(lowest(u)))));
            v
        }
        other => return Err(format!("unknown operator {other:?}")),
    })
}

fn parse_partial(s: &str) -> Result<Partial, String> {
    let s = s.strip_prefix(['v', 'V']).unwrap_or(s);
    // Build metadata never takes part in matching.
    let s = s.split('+').next().unwrap_or(s);
    let (core, pre) = match s.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (s, None),
    };
    let mut parts = core.split('.');
    let mut next = |name: &str| -> Result<Option<u64>, String> {
        match parts.next() {
            None | Some("x" | "X" | "*") => Ok(None),
            Some(n) => match n.parse::<u64>() {
                Ok(v) if v <= MAX_PART => Ok(Some(v)),
                Ok(_) => Err(format!("{name} version {n} is too large")),
                Err(_) => Err(format!("{name} version {n:?} is not a number or x")),
            },
        }
    };
    let major = next("major")?;
    let minor = next("minor")?;
    let patch = next("patch")?;
    if parts.next().is_some() {
        return Err(format!("{s:?} has more than three version parts"));
    }
    if major.is_none() && (minor.is_some() || patch.is_some()) || minor.is_none() && patch.is_some()
    {
        return Err(format!("{s:?} has a number after a wildcard"));
    }
    let pre = match pre {
        Some(p) => Prerelease::new(p).map_err(|e| format!("pre-release {p:?}: {e}"))?,
        None => Prerelease::EMPTY,
    };
    Ok(Partial {
        major,
        minor,
        patch,
        pre,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(range: &str, v: &str) -> bool {
        Range::parse(range)
            .unwrap()
            .matches(&Version::parse(v).unwrap())
    }

    #[test]
    fn space_and_comma_separated_and() {
        assert!(m(">=1.0.0 <2.0.0", "1.4.0"));
        assert!(!m(">=1.0.0 <2.0.0", "2.0.0"));
        assert!(m(">= 1.2, < 2", "1.9.9"));
        assert!(!m(">= 1.2, < 2", "1.1.0"));
    }

    #[test]
    fn or() {
        assert!(m("<1.0.0 || >=3.0.0", "3.1.0"));
        assert!(!m("<1.0.0 || >=3.0.0", "2.0.0"));
    }

    #[test]
    fn caret_tilde_wildcards() {
        assert!(m("^1.2.3", "1.9.0") && !m("^1.2.3", "2.0.0") && !m("^1.2.3", "1.2.2"));
        assert!(m("^0.2.3", "0.2.9") && !m("^0.2.3", "0.3.0"));
        assert!(m("^0.0.3", "0.0.3") && !m("^0.0.3", "0.0.4"));
        assert!(m("~1.2.3", "1.2.9") && !m("~1.2.3", "1.3.0"));
        assert!(m("~1", "1.9.0") && !m("~1", "2.0.0"));
        assert!(m("1.2.x", "1.2.7") && !m("1.2.x", "1.3.0"));
        assert!(m("^1.x", "1.5.0") && !m("^1.x", "2.0.0"));
        assert!(m("1.2", "1.2.7") && !m("1.2", "1.3.0"));
        assert!(m("*", "7.0.0"));
        assert!(m(">1.2", "1.3.0") && !m(">1.2", "1.2.9"));
        assert!(m("<=1.2", "1.2.9") && !m("<=1.2", "1.3.0"));
        assert!(m("1.2 - 1.4", "1.4.9") && !m("1.2 - 1.4", "1.5.0"));
        assert!(m("1.2.0 - 1.4.5", "1.4.5") && !m("1.2.0 - 1.4.5", "1.4.6"));
    }

    #[test]
    fn review_cases_against_masterminds_and_npm() {
        assert!(
            m(">=1.0.0-0", "1.0.0-rc.1"),
            "a written -0 admits pre-releases"
        );
        assert!(m(">=0.0.0-0", "1.5.0-rc.1"));
        assert!(m(">=2.0.0-rc.1 <2.0.0", "2.0.0-rc.2"));
        assert!(!m("!=1.2", "1.2.5") && m("!=1.2", "1.3.0"));
        assert!(!m(">=1.0.0, !=1.2.x", "1.2.5") && m(">=1.0.0, !=1.2.x", "1.1.0"));
        assert!(!m("!=1.2.3", "1.2.3") && m("!=1.2.3", "1.2.4"));
        assert!(m("1.2.3 - *", "1.5.0") && m("1.2.3 - x", "9.0.0"));
        assert!(m(">=1.2.3-rc.1+build", "1.2.3-rc.2"));
        assert!(m("=1.2.3+build-1", "1.2.3"));
        assert!(Range::parse(">=1.2.18446744073709551615").is_err());
        assert!(Range::parse("^18446744073709551615").is_err());
        assert!(Range::parse(">=1.0.0 <2.0.0 ||").is_err());
    }

    #[test]
    fn prereleases_only_when_named() {
        assert!(!m(">=1.0.0", "2.0.0-rc.1"));
        assert!(!m("<2.0.0", "2.0.0-rc.1"));
        assert!(!m("^1.2.3", "2.0.0-0"));
        assert!(m(">=2.0.0-rc.1 <3", "2.0.0-rc.2"));
        assert!(
            m(">=2.0.0-rc.1 <3", "2.1.0-rc.1"),
            "Masterminds: the alternative names a pre-release"
        );
    }

    #[test]
    fn errors_name_the_problem() {
        for bad in [">=", "1.2.3.4", ">=abc", "1.x.3", "=>1", "^"] {
            assert!(Range::parse(bad).is_err(), "{bad:?} should not parse");
        }
        assert_eq!(
            Range::parse(">=1.y").unwrap_err().to_string(),
            "semver range \">=1.y\": minor version \"y\" is not a number or x"
        );
    }
}
