//! Byte-level helpers: lines, line endings and splicing edits into the original bytes.

use std::ops::Range;

/// One splice: replace `range` of the original with `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub range: Range<usize>,
    pub text: String,
}

impl Edit {
    pub fn replace(range: Range<usize>, text: impl Into<String>) -> Self {
        Self {
            range,
            text: text.into(),
        }
    }
    pub fn insert(at: usize, text: impl Into<String>) -> Self {
        Self::replace(at..at, text)
    }
}

/// Applies non-overlapping edits; `None` when two overlap (a bug in the planner).
pub fn apply(original: &str, edits: &[Edit]) -> Option<String> {
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by_key(|e| (e.range.start, e.range.end));
    let mut out = String::with_capacity(original.len() + 64);
    let mut at = 0;
    for e in sorted {
        if e.range.start < at || e.range.end > original.len() {
            return None;
        }
        out.push_str(original.get(at..e.range.start)?);
        out.push_str(&e.text);
        at = e.range.end;
    }
    out.push_str(&original[at..]);
    Some(out)
}

/// The line break the file uses: the first one found, LF when there is none.
pub fn eol(text: &str) -> &'static str {
    match text.find('\n') {
        Some(i) if i > 0 && text.as_bytes()[i - 1] == b'\r' => "\r\n",
        _ => "\n",
    }
}

/// Offset of the first byte of the line holding `pos`.
pub fn line_start(text: &str, pos: usize) -> usize {
    text[..pos].rfind('\n').map_or(0, |i| i + 1)
}

/// Offset just before the line break of the line holding `pos` (or the end of the text).
pub fn line_end(text: &str, pos: usize) -> usize {
    match text[pos..].find('\n') {
        Some(i) => {
            let nl = pos + i;
            if nl > 0 && text.as_bytes()[nl - 1] == b'\r' {
                nl - 1
            } else {
                nl
            }
        }
        None => text.len(),
    }
}

/// Offset just past the line break of the line holding `pos` (or the end of the text).
pub fn next_line_start(text: &str, pos: usize) -> usize {
    text[pos..].find('\n').map_or(text.len(), |i| pos + i + 1)
}

/// Where the tab is that a YAML parser reported at `at`: parsers report it where the
/// scalar before it started, and a person looks for the tab, on that line or the next.
pub fn tab_near(text: &str, at: usize) -> usize {
    let at = at.min(text.len());
    let start = line_start(text, at);
    let end = text[at..]
        .match_indices('\n')
        .nth(1)
        .map_or(text.len(), |(i, _)| at + i);
    text[start..end].find('\t').map_or(at, |i| start + i)
}

/// The byte offset of 1-based `line` and `col` (in characters), clamped to that line's
/// end (and to the text's).
pub fn offset_of(text: &str, line: usize, col: usize) -> usize {
    let start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let end = next_line_start(text, start.min(text.len()));
    text[start.min(text.len())..end]
        .char_indices()
        .nth(col.saturating_sub(1))
        .map_or(end, |(i, _)| start + i)
}

/// 1-based line and column (in characters) of a byte offset, for messages.
pub fn line_col(text: &str, pos: usize) -> (usize, usize) {
    let pos = pos.min(text.len());
    let start = line_start(text, pos);
    let line = text[..start].matches('\n').count() + 1;
    let col = text[start..pos]
        .trim_start_matches('\u{feff}')
        .chars()
        .count()
        + 1;
    (line, col)
}

/// Number of characters between the start of the line and `pos`: the column of a key,
/// used as indentation when writing a sibling.
pub fn column(text: &str, pos: usize) -> usize {
    text[line_start(text, pos)..pos]
        .trim_start_matches('\u{feff}')
        .chars()
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_with_crlf() {
        let t = "a: 1\r\nb: 2";
        assert_eq!(eol(t), "\r\n");
        assert_eq!(line_end(t, 0), 4);
        assert_eq!(next_line_start(t, 0), 6);
        assert_eq!(line_end(t, 7), t.len());
        assert_eq!(line_col(t, 9), (2, 4));
    }

    #[test]
    fn overlapping_edits_are_refused() {
        let e = [Edit::replace(0..3, "x"), Edit::replace(2..4, "y")];
        assert_eq!(apply("abcdef", &e), None);
        let e = [Edit::insert(3, "+"), Edit::replace(0..3, "x")];
        assert_eq!(apply("abcdef", &e).unwrap(), "x+def");
    }
}
