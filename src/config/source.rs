//! The config text as a tree with positions, so that a semantic error found in the
//! typed config can point at the line and column of the value it is about.

use std::sync::LazyLock;

use regex::Regex;

use super::ConfigError;
use crate::manifest::text::{line_col, offset_of, tab_near};
use crate::manifest::tree::{self, Kind, Node};

/// A step into the config tree: a mapping key or a list index.
#[derive(Debug, Clone, Copy)]
pub enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

pub use Step::{Index as I, Key as K};

pub struct Source<'a> {
    text: &'a str,
    file: &'a str,
    root: Option<Node>,
}

impl<'a> Source<'a> {
    pub fn new(text: &'a str, file: &'a str) -> Self {
        let root = tree::parse(text).ok().and_then(|d| d.root);
        Self { text, file, root }
    }

    pub fn root(&self) -> Option<&Node> {
        self.root.as_ref()
    }

    fn error(&self, pos: usize, message: String) -> ConfigError {
        let (line, col) = line_col(self.text, pos);
        ConfigError {
            file: self.file.to_owned(),
            line,
            col,
            message,
        }
    }

    pub fn error_at_node(&self, node: &Node, message: String) -> ConfigError {
        self.error(node.span.start, message)
    }

    /// An error at the value `path` leads to, or at the deepest part of it that exists.
    pub fn at(&self, path: &[Step], message: impl Into<String>) -> ConfigError {
        self.error(self.find(path, false), message.into())
    }

    /// An error at the key of the last step (a stage's or service's name).
    pub fn at_key(&self, path: &[Step], message: impl Into<String>) -> ConfigError {
        self.error(self.find(path, true), message.into())
    }

    fn find(&self, path: &[Step], key: bool) -> usize {
        let Some(mut node) = self.root.as_ref() else {
            return 0;
        };
        let mut pos = node.span.start;
        for (i, step) in path.iter().enumerate() {
            let last = i + 1 == path.len();
            let next = match (step, &node.kind) {
                (Step::Key(k), Kind::Map { entries, .. }) => entries
                    .iter()
                    .find(|(kn, _)| kn.as_str() == Some(k))
                    .map(|(kn, v)| if last && key { (kn, kn) } else { (kn, v) }),
                (Step::Index(n), Kind::Seq { items, .. }) => items.get(*n).map(|v| (v, v)),
                _ => None,
            };
            match next {
                Some((_, v)) => {
                    node = v;
                    pos = v.span.start;
                }
                None => break,
            }
        }
        pos
    }

    /// serde-saphyr's error, as `FILE:LINE:COL: message`.
    pub fn serde_error(&self, e: &serde_saphyr::Error) -> ConfigError {
        static SUFFIX: LazyLock<Regex> =
            LazyLock::new(|| Regex::new(r"\s*at line \d+, column \d+\s*$").expect("suffix regex"));
        let (line, col) = e.location().map_or((1, 1), |l| {
            (l.line().max(1) as usize, l.column().max(1) as usize)
        });
        let text = e.to_string();
        let at = offset_of(self.text, line, col);
        let (line, col) = if text.contains("found a tab") || text.contains("tabs disallowed") {
            line_col(self.text, tab_near(self.text, at))
        } else {
            (line, col)
        };
        // A flow collection opened and never closed reads to the parser as a wrong type.
        let wrong_kind = [
            "externally tagged enum",
            "expected string scalar",
            "invalid type",
        ]
        .iter()
        .any(|m| text.starts_with(m));
        if wrong_kind && let Some(open) = unclosed(&self.text[at..]) {
            return ConfigError {
                file: self.file.to_owned(),
                line,
                col,
                message: crate::messages::never_closed(open),
            };
        }
        let first = text.lines().next().unwrap_or_default();
        let first = match first.strip_prefix("budget breached: ") {
            Some(what) if what.starts_with("Documents") => {
                "the config must be a single YAML document".to_owned()
            }
            Some(what) => format!(
                "refused: the YAML exceeds Hoist's limits on aliases, nesting or size ({what})"
            ),
            None => first.to_owned(),
        };
        let first = SUFFIX.replace(&first, "").into_owned();
        if self.text.trim().is_empty() {
            return ConfigError {
                file: self.file.to_owned(),
                line: 1,
                col: 1,
                message: crate::messages::CONFIG_EMPTY.to_owned(),
            };
        }
        let first = crate::messages::yaml_error(&first, &self.token_at(line, col));
        ConfigError {
            file: self.file.to_owned(),
            line,
            col,
            message: first,
        }
    }

    /// The plain scalar starting at `line`:`col` (1-based), as written.
    fn token_at(&self, line: usize, col: usize) -> String {
        self.text
            .lines()
            .nth(line - 1)
            .and_then(|l| l.get(l.char_indices().nth(col - 1)?.0..))
            .map(|rest| {
                rest.split(|c: char| c.is_whitespace() || ",]}#".contains(c))
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            })
            .unwrap_or_default()
    }
}

/// The bracket `text` opens (`[` or `{`) when nothing in the file closes it. Quoted
/// scalars (a quote at a value's start, `\"` and `''` inside) and `#` comments are
/// skipped, as YAML reads them.
fn unclosed(text: &str) -> Option<char> {
    let open = text.chars().next().filter(|c| *c == '[' || *c == '{')?;
    let mut depth = 0usize;
    let mut prev = ' ';
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let starts_value = prev.is_whitespace() || "[{,:".contains(prev);
        match c {
            '"' | '\'' if starts_value => loop {
                match chars.next() {
                    None => return Some(open),
                    Some('\\') if c == '"' => {
                        chars.next();
                    }
                    Some('\'') if c == '\'' && chars.peek() == Some(&'\'') => {
                        chars.next();
                    }
                    Some(q) if q == c => break,
                    Some(_) => {}
                }
            },
            '#' if prev.is_whitespace() => {
                for n in chars.by_ref() {
                    if n == '\n' {
                        break;
                    }
                }
            }
            '[' | '{' => depth += 1,
            ']' | '}' => {
                depth -= 1;
                if depth == 0 {
                    return None;
                }
            }
            _ => {}
        }
        prev = if c == '#' { '\n' } else { c };
    }
    Some(open)
}

#[cfg(test)]
mod tests {
    /// A bracket is never closed only when nothing closes it: quoted brackets, an
    /// apostrophe inside a plain word and a comment's brackets do not count.
    #[test]
    fn brackets_are_matched_as_yaml_reads_them() {
        for (text, open) in [
            ("[a, b]\nx: 1\n", None),
            ("[don't, b]\n", None),
            ("[\"]\", b]\n", None),
            ("['it''s ]', b]\n", None),
            ("[\"a\\\"]\", b]\n", None),
            ("{ a: 1, # it's ]\n  b: 2 }\n", None),
            ("[a, [b]\nx: 1\n", Some('[')),
            ("{ a: [1] \nb: 2\n", Some('{')),
            ("[\"unclosed ]\n", Some('[')),
            ("x: [1]\n", None),
        ] {
            assert_eq!(super::unclosed(text), open, "{text:?}");
        }
    }
}
