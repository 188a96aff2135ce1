//! A YAML document as a tree of nodes that remember their byte spans, built from the
//! parser's events. Nothing here re-serializes: the tree only tells the editor where
//! values are, and gives [`Value`]s to compare before and after an edit.

use std::collections::HashSet;
use std::ops::Range;

use granit_parser::{Event, Options, Parser, ScalarStyle, StructureStyle};

use super::scalar::resolves_to_non_string;
use super::text;

#[derive(Debug, Clone)]
pub struct Node {
    pub kind: Kind,
    /// Bytes of the node's own text: a scalar with its quotes, a flow collection with
    /// its brackets, a block collection from its first child to the end of its last.
    pub span: Range<usize>,
    /// Anchor id defined on this node, 0 when none.
    pub anchor: usize,
}

#[derive(Debug, Clone)]
pub enum Kind {
    Scalar {
        value: String,
        style: ScalarStyle,
        /// The explicit tag, as `tag:yaml.org,2002:str` style handle+suffix.
        tag: Option<String>,
    },
    Seq {
        flow: bool,
        items: Vec<Node>,
    },
    Map {
        flow: bool,
        entries: Vec<(Node, Node)>,
    },
    Alias(usize),
}

impl Node {
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }

    /// The value of `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entries()
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    pub fn entries(&self) -> &[(Node, Node)] {
        match &self.kind {
            Kind::Map { entries, .. } => entries,
            _ => &[],
        }
    }

    pub fn is_flow(&self) -> bool {
        matches!(
            self.kind,
            Kind::Seq { flow: true, .. } | Kind::Map { flow: true, .. }
        )
    }

    /// True for a plain `~`, `null` or empty value.
    pub fn is_null(&self) -> bool {
        matches!(&self.kind, Kind::Scalar { value, style: ScalarStyle::Plain, tag: None }
            if matches!(value.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    /// End of the node's last meaningful byte: trailing blank lines that block scalars
    /// keep in their span are not part of it.
    pub fn content_end(&self, text: &str) -> usize {
        let end = self.span.end.max(self.span.start);
        self.span.start + text[self.span.start..end].trim_end().len()
    }

    /// The data, without presentation, for before/after comparison.
    pub fn value(&self) -> Value {
        match &self.kind {
            Kind::Scalar { value, style, tag } => match (style, tag.as_deref()) {
                (_, Some(t)) if t.ends_with(":str") || t == "!" => Value::Str(value.clone()),
                (_, Some(t)) => Value::Tagged(t.to_owned(), value.clone()),
                (ScalarStyle::Plain, None) if resolves_to_non_string(value) => {
                    Value::Other(value.clone())
                }
                _ => Value::Str(value.clone()),
            },
            Kind::Seq { items, .. } => Value::Seq(items.iter().map(Node::value).collect()),
            Kind::Map { entries, .. } => Value::Map(
                entries
                    .iter()
                    .map(|(k, v)| (k.value(), v.value()))
                    .collect(),
            ),
            Kind::Alias(id) => Value::Alias(*id),
        }
    }
}

/// The data of a document, typed the way a YAML 1.1 or 1.2 reader would type it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Str(String),
    /// A plain scalar that resolves to null, a boolean, a number or a timestamp.
    Other(String),
    Tagged(String, String),
    Seq(Vec<Value>),
    Map(Vec<(Value, Value)>),
    Alias(usize),
}

impl Value {
    pub fn str(s: &str) -> Self {
        Self::Str(s.to_owned())
    }

    pub fn entries_mut(&mut self) -> Option<&mut Vec<(Value, Value)>> {
        match self {
            Value::Map(e) => Some(e),
            _ => None,
        }
    }

    /// Sets `key` in a mapping, appending it when missing.
    pub fn set(&mut self, key: &str, value: Value) {
        if let Some(entries) = self.entries_mut() {
            match entries.iter_mut().find(|(k, _)| k.is_str(key)) {
                Some((_, v)) => *v = value,
                None => entries.push((Value::str(key), value)),
            }
        }
    }

    pub fn remove(&mut self, key: &str) {
        if let Some(entries) = self.entries_mut() {
            entries.retain(|(k, _)| !k.is_str(key));
        }
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.entries_mut()?
            .iter_mut()
            .find(|(k, _)| k.is_str(key))
            .map(|(_, v)| v)
    }

    fn is_str(&self, key: &str) -> bool {
        matches!(self, Value::Str(s) | Value::Other(s) if s == key)
    }
}

/// A parsed file: the root node of its only document, and what the editor must know
/// about the whole file to refuse unsafe edits.
#[derive(Debug)]
pub struct Document {
    pub root: Option<Node>,
    /// Anchor ids that some alias refers to.
    pub aliased: HashSet<usize>,
}

impl Document {
    pub fn value(&self) -> Option<Value> {
        self.root.as_ref().map(Node::value)
    }
}

/// A parsed file of any number of documents (`---` between them), each possibly empty.
#[derive(Debug)]
pub struct Stream {
    pub docs: Vec<Option<Node>>,
    /// Byte offset where each document starts.
    pub starts: Vec<usize>,
    /// Anchor ids that some alias refers to.
    pub aliased: HashSet<usize>,
}

impl Stream {
    /// Every document's data; an empty document is null, as YAML reads it.
    pub fn value(&self) -> Value {
        Value::Seq(
            self.docs
                .iter()
                .map(|d| d.as_ref().map_or(Value::Other(String::new()), Node::value))
                .collect(),
        )
    }
}

/// Why a file could not be read as one YAML document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    Syntax {
        at: usize,
        message: String,
    },
    SeveralDocuments {
        at: usize,
        count: usize,
    },
    /// YAML forbids it, and readers disagree on which copy wins.
    DuplicateKey {
        at: usize,
        key: String,
        first: usize,
    },
    /// A lone CR is a YAML line break that line-based tools do not see.
    CrLineBreaks {
        at: usize,
    },
}

enum Frame {
    Seq(Node, Vec<Node>),
    Map(Node, Vec<(Node, Node)>, Option<Node>),
}

/// Parses a file that must hold one document (or none).
pub fn parse(text: &str) -> Result<Document, ParseError> {
    let Stream {
        mut docs,
        starts,
        aliased,
    } = parse_stream(text)?;
    if docs.len() > 1 {
        return Err(ParseError::SeveralDocuments {
            at: starts[1],
            count: docs.len(),
        });
    }
    Ok(Document {
        root: docs.pop().flatten(),
        aliased,
    })
}

/// Parses a file of any number of documents.
///
/// Kept whole: one loop over the parser's events shares the frame stack and the documents;
/// each arm builds a node the loop's tail attaches.
pub fn parse_stream(text: &str) -> Result<Stream, ParseError> {
    if let Some(at) = text
        .match_indices('\r')
        .map(|(i, _)| i)
        .find(|&i| text.as_bytes().get(i + 1) != Some(&b'\n'))
    {
        return Err(ParseError::CrLineBreaks { at });
    }
    // Comments stay in the bytes; the tree does not need them as events.
    let mut options = Options::default();
    options.emit_comments = false;
    let mut parser = Parser::new_from_str_with_options(text, options);
    let mut stack: Vec<Frame> = Vec::new();
    let mut docs: Vec<Option<Node>> = Vec::new();
    let mut starts = Vec::new();
    let mut aliased = HashSet::new();
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e| ParseError::Syntax {
            at: e.marker().byte_offset().unwrap_or(0),
            message: e.info(),
        })?;
        let range = span.byte_range().unwrap_or(0..0);
        let done = match event {
            Event::DocumentStart(..) => {
                docs.push(None);
                starts.push(range.start);
                None
            }
            Event::Scalar(value, style, anchor, tag) => {
                let mut span = range;
                // The empty value of a bare `key:` is reported at the colon; it stands after it.
                if span.is_empty() && text[span.start..].starts_with(':') {
                    span = span.start + 1..span.start + 1;
                }
                // A block scalar's span starts at its content; start it at its `|` or `>`
                // so that messages and insertions point at the key's line.
                if matches!(style, ScalarStyle::Literal | ScalarStyle::Folded)
                    && let Some(i) = text[..span.start].rfind(['|', '>'])
                {
                    span.start = i;
                }
                Some(Node {
                    kind: Kind::Scalar {
                        value: value.into_owned(),
                        style,
                        tag: tag.map(|t| format!("{}{}", t.handle(), t.suffix())),
                    },
                    span,
                    anchor,
                })
            }
            Event::Alias(id) => {
                aliased.insert(id);
                Some(Node {
                    kind: Kind::Alias(id),
                    span: range,
                    anchor: 0,
                })
            }
            Event::SequenceStart(style, anchor, _) => {
                let flow = style == StructureStyle::Flow;
                let node = Node {
                    kind: Kind::Seq {
                        flow,
                        items: vec![],
                    },
                    span: range,
                    anchor,
                };
                stack.push(Frame::Seq(node, vec![]));
                None
            }
            Event::MappingStart(style, anchor, _) => {
                let flow = style == StructureStyle::Flow;
                let node = Node {
                    kind: Kind::Map {
                        flow,
                        entries: vec![],
                    },
                    span: range,
                    anchor,
                };
                stack.push(Frame::Map(node, vec![], None));
                None
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let frame = stack.pop();
                frame.map(|f| close(f, range.end, text))
            }
            _ => None,
        };
        if let Some(node) = done {
            match stack.last_mut() {
                None => {
                    if let Some(slot) = docs.last_mut() {
                        *slot = Some(node);
                    }
                }
                Some(Frame::Seq(_, items)) => items.push(node),
                Some(Frame::Map(_, entries, key)) => match key.take() {
                    None => {
                        if let Some(name) = node.as_str()
                            && let Some((first, _)) =
                                entries.iter().find(|(k, _)| k.as_str() == Some(name))
                        {
                            return Err(ParseError::DuplicateKey {
                                at: node.span.start,
                                key: name.to_owned(),
                                first: first.span.start,
                            });
                        }
                        *key = Some(node)
                    }
                    Some(k) => entries.push((k, node)),
                },
            }
        }
    }
    Ok(Stream {
        docs,
        starts,
        aliased,
    })
}

fn close(frame: Frame, end_event_end: usize, text: &str) -> Node {
    let (mut node, last) = match frame {
        Frame::Seq(mut node, items) => {
            let last = items.last().map(|n| n.content_end(text));
            if let Kind::Seq { items: slot, .. } = &mut node.kind {
                *slot = items;
            }
            (node, last)
        }
        Frame::Map(mut node, entries, _) => {
            let last = entries
                .last()
                .map(|(k, v)| v.content_end(text).max(k.span.end));
            if let Kind::Map { entries: slot, .. } = &mut node.kind {
                *slot = entries;
            }
            (node, last)
        }
    };
    node.span.end = if node.is_flow() {
        end_event_end
    } else {
        last.unwrap_or(node.span.start)
    };
    node
}

/// The position of the `:` that ends a block mapping key.
pub fn colon_after(text: &str, key: &Node) -> Option<usize> {
    let from = key.span.end;
    text[from..]
        .find(':')
        .map(|i| from + i)
        .filter(|&c| text[from..c].trim().is_empty())
}

/// Where a block sequence item starts: its `-`, the first character of the item's line.
pub fn dash_before(text: &str, item_start: usize) -> Option<usize> {
    let line = text::line_start(text, item_start);
    let prefix = &text[line..item_start];
    let dash = prefix.len() - prefix.trim_start_matches([' ', '\u{feff}']).len();
    (prefix[dash..].starts_with('-')).then_some(line + dash)
}

/// The indentation of a block mapping key: the column where its line's content starts,
/// past any `- ` that opens a sequence item, and before any anchor or tag on the key.
pub fn key_indent(text: &str, key_start: usize) -> usize {
    let line = text::line_start(text, key_start);
    let mut rest = text[line..key_start].trim_start_matches('\u{feff}');
    loop {
        let trimmed = rest.trim_start_matches(' ');
        match trimmed.strip_prefix('-') {
            Some(after) if after.starts_with(' ') => rest = after,
            _ => {
                rest = trimmed;
                break;
            }
        }
    }
    text::column(text, key_start - rest.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_are_bytes_even_after_multibyte_text() {
        let t = "# ünïcödé 😀\nimages:\n- name: app\n  newTag: \"v1\"\n";
        let doc = parse(t).unwrap();
        let root = doc.root.unwrap();
        let images = root.get("images").unwrap();
        let Kind::Seq { items, .. } = &images.kind else {
            panic!("images is a sequence")
        };
        let tag = items[0].get("newTag").unwrap();
        assert_eq!(&t[tag.span.clone()], "\"v1\"");
    }

    #[test]
    fn several_documents_are_reported() {
        let e = parse("a: 1\n---\nb: 2\n").unwrap_err();
        assert_eq!(e, ParseError::SeveralDocuments { at: 5, count: 2 });
    }

    #[test]
    fn typing_follows_yaml() {
        let doc = parse("a: 1.10\nb: '1.10'\nc: !!str 1.10\nd: v1\n").unwrap();
        let Value::Map(e) = doc.value().unwrap() else {
            panic!()
        };
        let vals: Vec<_> = e.into_iter().map(|(_, v)| v).collect();
        assert_eq!(
            vals,
            [
                Value::Other("1.10".into()),
                Value::str("1.10"),
                Value::str("1.10"),
                Value::str("v1")
            ]
        );
    }
}
