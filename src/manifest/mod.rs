//! The byte-preserving manifest editor.
//!
//! An edit never re-serializes a document. The parser locates the byte span of each
//! value to change; only those spans are replaced (or a line inserted or removed), and
//! the result is parsed again and compared with the intended document before anyone
//! may write it. Everything else (comments, blank lines, order, quotes, indentation,
//! CRLF, a BOM, a missing final newline) stays byte for byte.

mod error;
mod kustomize;
mod path;
pub mod scalar;
pub mod text;
pub mod tree;

use std::collections::HashSet;
use std::fmt;

use granit_parser::ScalarStyle;

pub use error::{EditError, Reason};
pub use kustomize::{ImageEntry, read_images, set_image};
pub use path::{Path, PathError, Segment, get_value, set_value};
use text::Edit;
use tree::{Document, Kind, Node, Value};

/// The result of a successful edit. When nothing needed to change, `text` is the
/// original bytes and `changes` is empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edited {
    pub text: String,
    pub changes: Vec<Change>,
}

impl Edited {
    pub fn is_changed(&self) -> bool {
        !self.changes.is_empty()
    }
}

/// One value that the edit changed, for messages: `newTag: v1.3.2 -> v1.4.0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub what: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.old, &self.new) {
            (Some(o), Some(n)) => write!(f, "{}: {o} -> {n}", self.what),
            (None, Some(n)) => write!(f, "{}: added {n}", self.what),
            (Some(o), None) => write!(f, "{}: removed {o}", self.what),
            (None, None) => write!(f, "{}", self.what),
        }
    }
}

/// An edit being planned: the byte edits, and the document they must produce.
struct Plan<'a> {
    text: &'a str,
    /// Anchor ids that some alias refers to.
    aliased: HashSet<usize>,
    eol: &'static str,
    edits: Vec<Edit>,
    /// The document the edits must produce; for a stream, a list of its documents.
    expected: Value,
    /// Whether the file is read as a stream of documents (`Plan::stream`).
    stream: bool,
    changes: Vec<Change>,
}

impl<'a> Plan<'a> {
    /// Parses `text`; returns the plan and the document's root, which the caller walks
    /// while the plan collects edits.
    fn new(text: &'a str) -> Result<(Self, Node), EditError> {
        let Document { root, aliased } =
            tree::parse(text).map_err(|e| EditError::from_parse(text, e))?;
        let root = root.ok_or_else(|| EditError::at(text, 0, Reason::Empty))?;
        let plan = Self {
            text,
            aliased,
            eol: text::eol(text),
            edits: Vec::new(),
            expected: root.value(),
            stream: false,
            changes: Vec::new(),
        };
        Ok((plan, root))
    }

    /// As `new`, for a file of any number of documents: returns them all (an empty one as
    /// `None`); `expected` lists their values.
    fn stream(text: &'a str) -> Result<(Self, Vec<Option<Node>>), EditError> {
        let parsed = tree::parse_stream(text).map_err(|e| EditError::from_parse(text, e))?;
        if parsed.docs.iter().all(Option::is_none) {
            return Err(EditError::at(text, 0, Reason::Empty));
        }
        let plan = Self {
            text,
            aliased: parsed.aliased.clone(),
            eol: text::eol(text),
            edits: Vec::new(),
            expected: parsed.value(),
            stream: true,
            changes: Vec::new(),
        };
        Ok((plan, parsed.docs))
    }

    fn err(&self, node: &Node, reason: Reason) -> EditError {
        EditError::at(self.text, node.span.start, reason)
    }

    /// Refuses a node whose change would also change other places through an alias.
    fn check_not_shared(&self, node: &Node, what: &str) -> Result<(), EditError> {
        match node.kind {
            Kind::Alias(_) => Err(self.err(node, Reason::Alias { what: what.into() })),
            _ if node.anchor != 0 && self.aliased.contains(&node.anchor) => {
                Err(self.err(node, Reason::SharedAnchor { what: what.into() }))
            }
            _ => Ok(()),
        }
    }

    /// Refuses a mapping with a merge key: its values come from elsewhere.
    fn check_no_merge(&self, map: &Node, what: &str) -> Result<(), EditError> {
        match map.entries().iter().find(|(k, _)| k.as_str() == Some("<<")) {
            Some((k, _)) => Err(self.err(k, Reason::MergeKey { what: what.into() })),
            None => Ok(()),
        }
    }

    /// Replaces the scalar `node` with `new`, keeping its quote style where the value
    /// allows. Returns whether anything changed.
    /// The scalar at `node`, its value and style, if the editor may replace it: not
    /// shared through an anchor, not a list or mapping, not a block scalar, templated or
    /// carrying a non-string tag.
    fn replaceable<'n>(
        &self,
        node: &'n Node,
        what: &str,
    ) -> Result<(&'n String, ScalarStyle), EditError> {
        self.check_not_shared(node, what)?;
        let Kind::Scalar { value, style, tag } = &node.kind else {
            let found = if matches!(node.kind, Kind::Seq { .. }) {
                "a list"
            } else {
                "a mapping"
            };
            return Err(self.err(
                node,
                Reason::NotAValue {
                    what: what.into(),
                    found,
                },
            ));
        };
        if matches!(style, ScalarStyle::Literal | ScalarStyle::Folded) {
            return Err(self.err(node, Reason::BlockScalar { what: what.into() }));
        }
        if ["${", "{{", "$("].iter().any(|t| value.contains(t)) {
            return Err(self.err(
                node,
                Reason::Templated {
                    what: what.into(),
                    value: value.clone(),
                },
            ));
        }
        if tag
            .as_deref()
            .is_some_and(|t| !t.ends_with(":str") && t != "!")
        {
            return Err(self.err(
                node,
                Reason::Layout {
                    what: format!(
                        "{what} carries an explicit non-string tag; remove the tag first"
                    ),
                },
            ));
        }
        Ok((value, *style))
    }

    fn replace_scalar(&mut self, node: &Node, what: &str, new: &str) -> Result<bool, EditError> {
        self.replace_scalar_as(node, what, new, false)
    }

    /// `replace_scalar`, writing `new` as a plain scalar of its own type (a number, a
    /// boolean) when `typed`: the caller has checked that it resolves as the old value did.
    fn replace_scalar_as(
        &mut self,
        node: &Node,
        what: &str,
        new: &str,
        typed: bool,
    ) -> Result<bool, EditError> {
        let (value, style) = self.replaceable(node, what)?;
        let wanted = if typed {
            Value::Other(new.to_owned())
        } else {
            Value::str(new)
        };
        if value == new && node.value() == wanted {
            return Ok(false);
        }
        let mut rendered = if typed {
            new.to_owned()
        } else {
            scalar::render(new, style)
        };
        if node.span.is_empty() && self.text[..node.span.start].ends_with(':') {
            // A bare `key:` has an empty value right after the colon.
            rendered.insert(0, ' ');
        }
        self.edits.push(Edit::replace(node.span.clone(), rendered));
        self.changes.push(Change {
            what: what.into(),
            old: Some(value.clone()),
            new: Some(new.into()),
        });
        Ok(true)
    }

    /// Appends `key: value` lines after the last entry of the block mapping `map`,
    /// with the indentation of its keys. `after` picks the entry to insert behind
    /// (default: the last one).
    fn insert_keys(
        &mut self,
        map: &Node,
        what: &str,
        keys: &[(String, String)],
        after: Option<&Node>,
    ) -> Result<(), EditError> {
        if keys.is_empty() {
            return Ok(());
        }
        if map.is_flow() {
            return Err(self.err(
                map,
                Reason::Flow {
                    what: what.into(),
                    action: "add a key",
                },
            ));
        }
        let Some((first_key, _)) = map.entries().first() else {
            return Err(self.err(
                map,
                Reason::Layout {
                    what: format!("{what} is an empty mapping; Hoist cannot tell its indentation"),
                },
            ));
        };
        let indent = " ".repeat(tree::key_indent(self.text, first_key.span.start));
        let anchor = match after {
            Some(n) => n.content_end(self.text),
            None => map.content_end(self.text),
        };
        let mut lines = String::new();
        for (k, v) in keys {
            lines.push_str(self.eol);
            lines.push_str(&indent);
            lines.push_str(&scalar::render(k, ScalarStyle::Plain));
            lines.push_str(": ");
            lines.push_str(v);
        }
        self.edits
            .push(Edit::insert(text::line_end(self.text, anchor), lines));
        Ok(())
    }

    /// Removes the line `key: value` from a block mapping.
    fn remove_line(&mut self, key: &Node, value: &Node, what: &str) -> Result<(), EditError> {
        let t = self.text;
        let start = text::line_start(t, key.span.start);
        let end = value.content_end(t);
        let line_end = text::line_end(t, key.span.start);
        let tail = t[end.min(line_end)..line_end].trim_start();
        if !t[start..key.span.start].trim().is_empty()
            || end > line_end
            || !(tail.is_empty() || tail.starts_with('#'))
        {
            return Err(self.err(
                key,
                Reason::Layout {
                    what: format!(
                        "{what} does not stand alone on its line; Hoist removes it only then"
                    ),
                },
            ));
        }
        let next = text::next_line_start(t, key.span.start);
        let range = if next == t.len() && !t.ends_with('\n') && start > 0 {
            // The last line has no line break: take the one before it, keep the file unterminated.
            text::line_end(t, start - 1)..next
        } else {
            start..next
        };
        self.edits.push(Edit::replace(range, ""));
        Ok(())
    }

    fn finish(self) -> Result<Edited, EditError> {
        let internal = |m: &str| EditError::at(self.text, 0, Reason::Internal(m.into()));
        if self.edits.is_empty() {
            return Ok(Edited {
                text: self.text.to_owned(),
                changes: vec![],
            });
        }
        let out = text::apply(self.text, &self.edits).ok_or_else(|| internal("edits overlap"))?;
        let reread = if self.stream {
            tree::parse_stream(&out).map(|s| Some(s.value()))
        } else {
            tree::parse(&out).map(|d| d.value())
        }
        .map_err(|e| internal(&format!("the result does not parse: {e:?}")))?;
        if reread.as_ref() != Some(&self.expected) {
            return Err(internal("values other than the intended ones differ"));
        }
        Ok(Edited {
            text: out,
            changes: self.changes,
        })
    }
}
