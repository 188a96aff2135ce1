//! Any YAML file (Helm values included) by a dotted path such as `image.tag` or
//! `containers[0].image`: Kargo's `yaml-update`, byte-preserving.

use std::fmt;

use super::tree::{Kind, Node, Value};
use super::{EditError, Edited, Plan, Reason, scalar};
use granit_parser::ScalarStyle;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Key(String),
    Index(usize),
}

/// A parsed path: keys separated by `.`, list indices as `[n]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path(pub Vec<Segment>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("path {path:?}: {why}")]
pub struct PathError {
    pub path: String,
    pub why: &'static str,
}

impl Path {
    pub fn parse(s: &str) -> Result<Self, PathError> {
        let bad = |why| PathError {
            path: s.to_owned(),
            why,
        };
        let mut segs = vec![];
        for (n, part) in s.split('.').enumerate() {
            let (key, mut rest) = part.split_at(part.find('[').unwrap_or(part.len()));
            // Only a path into a top-level list may start with `[n]`.
            if part.is_empty() || key.is_empty() && n > 0 {
                return Err(bad("has an empty key (write `a.b`, `a[0].b`)"));
            }
            if key.contains(']') {
                return Err(bad("has a ']' without '['"));
            }
            if !key.is_empty() {
                segs.push(Segment::Key(key.to_owned()));
            }
            while !rest.is_empty() {
                let close = rest.find(']').ok_or_else(|| bad("has a '[' without ']'"))?;
                let digits = &rest[1..close];
                let i = (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
                    .then_some(digits)
                    .ok_or_else(|| bad("has an index that is not a whole number"))?
                    .parse::<usize>()
                    .map_err(|_| bad("has an index that is not a whole number"))?;
                segs.push(Segment::Index(i));
                rest = &rest[close + 1..];
                if !rest.is_empty() && !rest.starts_with('[') {
                    return Err(bad("has text after ']' (write `a[0].b`)"));
                }
            }
        }
        Ok(Self(segs))
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            match s {
                Segment::Key(k) if i == 0 => write!(f, "{k}")?,
                Segment::Key(k) => write!(f, ".{k}")?,
                Segment::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// Sets the string at `path`. A missing last key is added to its (block) mapping;
/// anything else missing is refused.
pub fn set_value(text: &str, path: &Path, value: &str) -> Result<Edited, EditError> {
    let (mut plan, root) = Plan::new(text)?;
    if value.chars().any(char::is_control) {
        return Err(EditError::at(
            text,
            0,
            Reason::InvalidValue("the value contains a line break or control character".into()),
        ));
    }
    let Some((last, parents)) = path.0.split_last() else {
        return Err(EditError::at(
            text,
            0,
            Reason::NotFound {
                what: "the path is empty".into(),
            },
        ));
    };
    let mut node = &root;
    let mut walked = Path(vec![]);
    for seg in parents {
        plan.check_not_shared(node, &name(&walked))?;
        plan.check_no_merge(node, &name(&walked))?;
        node = child(&plan, node, &walked, seg)?;
        walked.0.push(seg.clone());
    }
    plan.check_not_shared(node, &name(&walked))?;
    plan.check_no_merge(node, &name(&walked))?;
    let what = path.to_string();
    let mut typed = false;
    match (last, child(&plan, node, &walked, last)) {
        (_, Ok(target)) => {
            let note;
            (typed, note) = keep_type(target, &what, value);
            plan.replace_scalar_as(target, note.as_deref().unwrap_or(&what), value, typed)?;
        }
        (Segment::Key(k), Err(_)) if matches!(node.kind, Kind::Map { .. }) => {
            let rendered = scalar::render(value, ScalarStyle::Plain);
            plan.insert_keys(node, &name(&walked), &[(k.clone(), rendered)], None)?;
            plan.changes.push(super::Change {
                what: what.clone(),
                old: None,
                new: Some(value.into()),
            });
        }
        (_, Err(e)) => return Err(e),
    }
    let written = if typed {
        Value::Other(value.to_owned())
    } else {
        Value::str(value)
    };
    expect(&mut plan.expected, path, written);
    plan.finish()
}

/// The document the edit must produce: `written` at `path`, replaced or added.
fn expect(expected: &mut Value, path: &Path, written: Value) {
    let Some((last, parents)) = path.0.split_last() else {
        return;
    };
    if let Some(v) = value_at(expected, &path.0) {
        *v = written;
    } else if let (Some(parent), Segment::Key(k)) = (value_at(expected, parents), last) {
        parent.set(k, written);
    }
}

/// Whether `value` replaces `target` as the same type. Only what every YAML reader
/// (YAML 1.1 and 1.2, Helm's, JSON's) reads alike stays unquoted: a canonical integer
/// for an integer, `true` or `false` for one of them. Anything else is written as text,
/// and when the old value was not text the change's name says so.
fn keep_type(target: &Node, what: &str, value: &str) -> (bool, Option<String>) {
    let Value::Other(old) = target.value() else {
        return (false, None);
    };
    let old_kind = plain_kind(&old);
    let was = match (old_kind, old.as_str()) {
        (Some((name, _)), _) => name,
        (None, "" | "~" | "null" | "Null" | "NULL") => "null",
        (None, o) if o.parse::<f64>().is_ok() || o.starts_with("0x") || o.contains('_') => {
            "a number"
        }
        _ => "not text",
    };
    let typed = old_kind.is_some() && old_kind == plain_kind(value);
    let note = (!typed).then(|| crate::messages::value_type_changed(what, was));
    (typed, note)
}

/// The portable kind of a plain scalar: a canonical integer (no sign but `-`, no leading
/// zero, within i64) or the boolean `true`/`false`, with how a person names it.
fn plain_kind(s: &str) -> Option<(&'static str, u8)> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let canonical = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'))
        && s.parse::<i64>().is_ok();
    match s {
        "true" | "false" => Some(("a boolean", 1)),
        _ if canonical => Some(("a number", 2)),
        _ => None,
    }
}

fn name(p: &Path) -> String {
    if p.0.is_empty() {
        "the document".into()
    } else {
        p.to_string()
    }
}

fn child<'n>(plan: &Plan, node: &'n Node, at: &Path, seg: &Segment) -> Result<&'n Node, EditError> {
    let here = name(at);
    let found = match &node.kind {
        Kind::Seq { .. } => "a list",
        Kind::Map { .. } => "a mapping",
        Kind::Alias(_) => "an alias",
        Kind::Scalar { .. } => "a single value",
    };
    match (seg, &node.kind) {
        (Segment::Key(k), Kind::Map { .. }) => node.get(k).ok_or_else(|| {
            plan.err(
                node,
                Reason::NotFound {
                    what: format!("{here} has no key {k:?}"),
                },
            )
        }),
        (Segment::Index(i), Kind::Seq { items, .. }) => items.get(*i).ok_or_else(|| {
            plan.err(
                node,
                Reason::NotFound {
                    what: format!("{here} has {} items, so there is no [{i}]", items.len()),
                },
            )
        }),
        (Segment::Key(k), _) => Err(plan.err(
            node,
            Reason::NotFound {
                what: format!("{here} is {}, so it has no key {k:?}", found),
            },
        )),
        (Segment::Index(i), _) => Err(plan.err(
            node,
            Reason::NotFound {
                what: format!("{here} is {}, so it has no item [{i}]", found),
            },
        )),
    }
}

fn value_at<'v>(v: &'v mut Value, path: &[Segment]) -> Option<&'v mut Value> {
    let mut cur = v;
    for seg in path {
        cur = match (seg, cur) {
            (Segment::Key(k), v @ Value::Map(_)) => v.get_mut(k)?,
            (Segment::Index(i), Value::Seq(items)) => items.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(cur)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse() {
        assert_eq!(
            Path::parse("image.tag").unwrap().0,
            [Segment::Key("image".into()), Segment::Key("tag".into())]
        );
        assert_eq!(
            Path::parse("spec.containers[1].image").unwrap().to_string(),
            "spec.containers[1].image"
        );
        assert_eq!(Path::parse("a[0][2]").unwrap().0.len(), 3);
        for bad in [
            "", "a..b", "a[x]", "a[0", "a]", "a[0]b", ".", "a[+1]", "a[]",
        ] {
            assert!(Path::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
