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
    /// `[key=value]`: the one list item that is a mapping whose `key` is `value`.
    Select {
        key: String,
        value: String,
    },
}

/// A parsed path: keys separated by `.`, list items as `[n]` or `[key=value]`.
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
                let inner = &rest[1..close];
                if let Some((k, v)) = inner.split_once('=') {
                    if k.is_empty() || v.is_empty() || inner.contains('[') {
                        return Err(bad(
                            "has a selector without a key or value (write `a[name=x]`)",
                        ));
                    }
                    segs.push(Segment::Select {
                        key: k.to_owned(),
                        value: v.to_owned(),
                    });
                    rest = &rest[close + 1..];
                    if !rest.is_empty() && !rest.starts_with('[') {
                        return Err(bad("has text after ']' (write `a[0].b`)"));
                    }
                    continue;
                }
                let digits = inner;
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
                Segment::Select { key, value } => write!(f, "[{key}={value}]")?,
            }
        }
        Ok(())
    }
}

/// Sets the string at `path`. A missing last key is added to its (block) mapping;
/// anything else missing is refused. In a file of several documents, the one document
/// that has the path (or, to add a key, its parent) is edited.
///
/// Kept whole: the walk to the parent checks each step for aliases and merge keys and
/// records the items selectors chose; the last step replaces or inserts with that record.
pub fn set_value(text: &str, path: &Path, value: &str) -> Result<Edited, EditError> {
    let (mut plan, docs) = Plan::stream(text)?;
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
    let (doc, root) = document_for(&plan, &docs, path, true)?;
    let mut node = root;
    let mut walked = Path(vec![]);
    // The path into `plan.expected`, which lists the documents: selectors resolved.
    let mut resolved = Path(vec![Segment::Index(doc)]);
    for seg in parents {
        plan.check_not_shared(node, &name(&walked))?;
        plan.check_no_merge(node, &name(&walked))?;
        let (next, step) = child(&plan, node, &walked, seg)?;
        node = next;
        walked.0.push(seg.clone());
        resolved.0.push(step);
    }
    plan.check_not_shared(node, &name(&walked))?;
    plan.check_no_merge(node, &name(&walked))?;
    let what = path.to_string();
    let mut typed = false;
    match (last, child(&plan, node, &walked, last)) {
        (_, Ok((target, step))) => {
            resolved.0.push(step);
            let note;
            (typed, note) = keep_type(target, &what, value);
            plan.replace_scalar_as(target, note.as_deref().unwrap_or(&what), value, typed)?;
        }
        (Segment::Key(k), Err(_)) if matches!(node.kind, Kind::Map { .. }) => {
            resolved.0.push(last.clone());
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
    expect(&mut plan.expected, &resolved, written);
    plan.finish()
}

/// The string at `path` and its 1-based line, `None` when the file does not have the
/// path. What `set_value` would refuse to replace (an alias, a block scalar, a templated
/// value) is refused here too, so what is read is what can be written.
pub fn get_value(text: &str, path: &Path) -> Result<Option<(String, usize)>, EditError> {
    let (plan, docs) = Plan::stream(text)?;
    let found = documents_with(text, &docs, &path.0)?;
    match found.as_slice() {
        [] => Ok(None),
        [(_, node)] => {
            let (value, _) = plan.replaceable(node, &path.to_string())?;
            Ok(Some((
                value.clone(),
                super::text::line_col(text, node.span.start).0,
            )))
        }
        _ => Err(ambiguous(text, &docs, path)),
    }
}

/// The document of a stream that has `path`: the only one with the whole path, else (to
/// add the last key, when `parent_will_do`) the only one with its parent. A file of one
/// document is that document, whatever it holds: the walk then says what is missing.
fn document_for<'n>(
    plan: &Plan,
    docs: &'n [Option<Node>],
    path: &Path,
    parent_will_do: bool,
) -> Result<(usize, &'n Node), EditError> {
    let roots: Vec<(usize, &Node)> = docs
        .iter()
        .enumerate()
        .filter_map(|(i, d)| d.as_ref().map(|n| (i, n)))
        .collect();
    if let [only] = roots.as_slice() {
        return Ok(*only);
    }
    let with = |segs: &[Segment]| -> Result<Vec<usize>, EditError> {
        Ok(documents_with(plan.text, docs, segs)?
            .into_iter()
            .map(|(i, _)| i)
            .collect())
    };
    let mut hits = with(&path.0)?;
    if hits.is_empty() && parent_will_do && matches!(path.0.last(), Some(Segment::Key(_))) {
        hits = with(&path.0[..path.0.len() - 1])?;
    }
    match hits.as_slice() {
        [one] => Ok((*one, docs[*one].as_ref().expect("a document with the path"))),
        [] => Err(EditError::at(
            plan.text,
            0,
            Reason::NotFound {
                what: format!("none of the file's {} documents has {path}", roots.len()),
            },
        )),
        _ => Err(ambiguous(plan.text, docs, path)),
    }
}

fn ambiguous(text: &str, docs: &[Option<Node>], path: &Path) -> EditError {
    let numbers: Vec<String> = docs
        .iter()
        .enumerate()
        .filter(|(_, d)| {
            d.as_ref()
                .is_some_and(|r| matches!(find(r, &path.0), Ok(Some(_))))
        })
        .map(|(i, _)| (i + 1).to_string())
        .collect();
    EditError::at(
        text,
        0,
        Reason::Layout {
            what: format!(
                "documents {} of the file {} have {path}; Hoist edits exactly one, so make the path select one (a [key=value] selector)",
                match numbers.split_last() {
                    Some((last, rest)) if !rest.is_empty() =>
                        format!("{} and {last}", rest.join(", ")),
                    _ => numbers.join(""),
                },
                if numbers.len() == 2 { "both" } else { "all" }
            ),
        },
    )
}

/// The node at `segs` under `node`, looked up without judging it; `Err` names a
/// selector that matches several items (never quietly taken as missing).
fn find<'n>(node: &'n Node, segs: &[Segment]) -> Result<Option<&'n Node>, String> {
    let mut cur = node;
    for seg in segs {
        cur = match (seg, &cur.kind) {
            (Segment::Key(k), Kind::Map { .. }) => match cur.get(k) {
                Some(n) => n,
                None => return Ok(None),
            },
            (Segment::Index(i), Kind::Seq { items, .. }) => match items.get(*i) {
                Some(n) => n,
                None => return Ok(None),
            },
            (Segment::Select { key, value }, Kind::Seq { items, .. }) => {
                let mut matching = items.iter().filter(|n| selects(n, key, value));
                match (matching.next(), matching.next()) {
                    (Some(one), None) => one,
                    (Some(_), Some(_)) => {
                        return Err(format!(
                            "a list has several items with {key}: {value}; Hoist edits exactly one"
                        ));
                    }
                    _ => return Ok(None),
                }
            }
            _ => return Ok(None),
        };
    }
    Ok(Some(cur))
}

/// `find` in each document: the documents (by index) that have `segs`.
fn documents_with<'n>(
    text: &str,
    docs: &'n [Option<Node>],
    segs: &[Segment],
) -> Result<Vec<(usize, &'n Node)>, EditError> {
    let mut out = vec![];
    for (i, root) in docs.iter().enumerate() {
        let Some(root) = root else { continue };
        match find(root, segs) {
            Ok(Some(n)) => out.push((i, n)),
            Ok(None) => {}
            Err(what) => {
                return Err(EditError::at(
                    text,
                    root.span.start,
                    Reason::Layout { what },
                ));
            }
        }
    }
    Ok(out)
}

/// Whether list item `n` is a mapping whose `key` is the string `value`.
fn selects(n: &Node, key: &str, value: &str) -> bool {
    n.get(key).and_then(Node::as_str) == Some(value)
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

/// The child `seg` names under `node`, and the step that reached it (a selector
/// resolved to the index it chose).
fn child<'n>(
    plan: &Plan,
    node: &'n Node,
    at: &Path,
    seg: &Segment,
) -> Result<(&'n Node, Segment), EditError> {
    let here = name(at);
    let found = match &node.kind {
        Kind::Seq { .. } => "a list",
        Kind::Map { .. } => "a mapping",
        Kind::Alias(_) => "an alias",
        Kind::Scalar { .. } => "a single value",
    };
    let missing = |what: String| plan.err(node, Reason::NotFound { what });
    match (seg, &node.kind) {
        (Segment::Key(k), Kind::Map { .. }) => node
            .get(k)
            .map(|n| (n, seg.clone()))
            .ok_or_else(|| missing(format!("{here} has no key {k:?}"))),
        (Segment::Index(i), Kind::Seq { items, .. }) => {
            items.get(*i).map(|n| (n, seg.clone())).ok_or_else(|| {
                missing(format!(
                    "{here} has {} items, so there is no [{i}]",
                    items.len()
                ))
            })
        }
        (Segment::Select { key, value }, Kind::Seq { items, .. }) => {
            let hits: Vec<usize> = (0..items.len())
                .filter(|&i| selects(&items[i], key, value))
                .collect();
            match hits.as_slice() {
                [i] => Ok((&items[*i], Segment::Index(*i))),
                [] => Err(missing(format!("{here} has no item with {key}: {value}"))),
                _ => Err(plan.err(
                    node,
                    Reason::Layout {
                        what: format!(
                            "{here} has {} items with {key}: {value}; Hoist edits exactly one",
                            hits.len()
                        ),
                    },
                )),
            }
        }
        (Segment::Key(k), _) => Err(missing(format!(
            "{here} is {found}, so it has no key {k:?}"
        ))),
        (Segment::Index(i), _) => Err(missing(format!(
            "{here} is {found}, so it has no item [{i}]"
        ))),
        (Segment::Select { key, value }, _) => Err(missing(format!(
            "{here} is {found}, so it has no item with {key}: {value}"
        ))),
    }
}

fn value_at<'v>(v: &'v mut Value, path: &[Segment]) -> Option<&'v mut Value> {
    let mut cur = v;
    for seg in path {
        cur = match (seg, cur) {
            (Segment::Key(k), v @ Value::Map(_)) => v.get_mut(k)?,
            (Segment::Index(i), Value::Seq(items)) => items.get_mut(*i)?,
            // `expect` is given resolved paths only.
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
        assert_eq!(
            Path::parse("containers[name=migrate].image").unwrap().0[1],
            Segment::Select {
                key: "name".into(),
                value: "migrate".into()
            }
        );
        for bad in [
            "", "a..b", "a[x]", "a[0", "a]", "a[0]b", ".", "a[+1]", "a[]", "a[=x]", "a[k=]",
            "a[k=x]b",
        ] {
            assert!(Path::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
