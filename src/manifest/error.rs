//! Refusals: every one names the line and column of the offending node and says why.

use std::fmt;

use super::text::line_col;
use super::tree::ParseError;

/// A refused edit. The file is left as it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{col}: {reason}")]
pub struct EditError {
    pub line: usize,
    pub col: usize,
    pub reason: Reason,
}

impl EditError {
    pub fn at(text: &str, pos: usize, reason: Reason) -> Self {
        let (line, col) = line_col(text, pos);
        Self { line, col, reason }
    }

    /// `FILE:LINE:COL: reason`, the form editors and CI logs link to.
    pub fn in_file(&self, file: &str) -> String {
        format!("{file}:{self}")
    }

    pub fn from_parse(text: &str, e: ParseError) -> Self {
        match e {
            ParseError::Syntax { at, message } => {
                let at = if message.contains("found a tab") {
                    super::text::tab_near(text, at)
                } else {
                    at
                };
                Self::at(text, at, Reason::InvalidYaml(message))
            }
            ParseError::SeveralDocuments { at, count } => {
                Self::at(text, at, Reason::SeveralDocuments(count))
            }
            ParseError::DuplicateKey { at, key, first } => Self::at(
                text,
                at,
                Reason::DuplicateKey {
                    key,
                    first_line: line_col(text, first).0,
                },
            ),
            ParseError::CrLineBreaks { at } => Self::at(text, at, Reason::CrLineBreaks),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    InvalidYaml(String),
    SeveralDocuments(usize),
    Empty,
    NotKustomization(String),
    DuplicateEntry {
        name: String,
        first_line: usize,
    },
    DuplicateKey {
        key: String,
        first_line: usize,
    },
    CrLineBreaks,
    MergeKey {
        what: String,
    },
    Alias {
        what: String,
    },
    SharedAnchor {
        what: String,
    },
    Templated {
        what: String,
        value: String,
    },
    Flow {
        what: String,
        action: &'static str,
    },
    BlockScalar {
        what: String,
    },
    NotAValue {
        what: String,
        found: &'static str,
    },
    NotFound {
        what: String,
    },
    NotAList {
        what: String,
    },
    InvalidValue(String),
    Layout {
        what: String,
    },
    /// The edited bytes did not re-parse to the intended document: a bug, never written.
    Internal(String),
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::InvalidYaml(m) => {
                write!(f, "invalid YAML: {}", crate::messages::yaml_syntax(m))
            }
            Reason::SeveralDocuments(n) => write!(
                f,
                "the file holds {n} YAML documents; Hoist edits files with exactly one (split them)"
            ),
            Reason::Empty => write!(f, "the file is empty"),
            Reason::NotKustomization(why) => write!(f, "not a kustomization: {why}"),
            Reason::DuplicateEntry { name, first_line } => write!(
                f,
                "images has a second entry named {name:?} (the first is on line {first_line}); remove one so the edit is unambiguous"
            ),
            Reason::DuplicateKey { key, first_line } => write!(
                f,
                "the key {key:?} appears twice in one mapping (first on line {first_line}); YAML readers disagree on which wins, so remove one"
            ),
            Reason::CrLineBreaks => write!(
                f,
                "the file uses lone CR line breaks; convert it to LF or CRLF line endings"
            ),
            Reason::MergeKey { what } => write!(
                f,
                "{what} uses a merge key (<<); Hoist cannot tell which values it would change, so write the keys out"
            ),
            Reason::Alias { what } => write!(
                f,
                "{what} is an alias (*name); editing it would change the anchored value elsewhere, so edit the anchor instead"
            ),
            Reason::SharedAnchor { what } => write!(
                f,
                "{what} carries an anchor that an alias elsewhere refers to; editing it would change both places"
            ),
            Reason::Templated { what, value } => write!(
                f,
                "{what} is templated ({value:?}); Hoist does not edit values that another tool renders"
            ),
            Reason::Flow { what, action } => write!(
                f,
                "{what} is in flow style ({{...}} or [...]); Hoist cannot {action} there without rewriting the line: convert it to block style"
            ),
            Reason::BlockScalar { what } => write!(
                f,
                "{what} is a block scalar (| or >); write it as a plain or quoted value"
            ),
            Reason::NotAValue { what, found } => {
                write!(f, "{what} is {found}, not a single value")
            }
            Reason::NotFound { what } => write!(f, "{what}"),
            Reason::NotAList { what } => write!(f, "{what} is not a list"),
            Reason::InvalidValue(m) => write!(f, "{m}"),
            Reason::Layout { what } => write!(f, "{what}"),
            Reason::Internal(m) => write!(
                f,
                "internal error: the edit did not re-read as intended ({m}); nothing was written"
            ),
        }
    }
}
