//! Unified diffs, the way reviewers read a promotion.

use similar::TextDiff;

/// A plain unified diff of `old` to `new`, with `a/` and `b/` file headers, ready for
/// `patch` or a pager. Empty when the texts are equal.
pub fn unified(path: &str, old: &str, new: &str) -> String {
    if old == new {
        return String::new();
    }
    TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .missing_newline_hint(true)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_changed_line() {
        let d = unified("k.yaml", "a: 1\nb: 2\n", "a: 1\nb: 3\n");
        assert_eq!(
            d,
            "--- a/k.yaml\n+++ b/k.yaml\n@@ -1,2 +1,2 @@\n a: 1\n-b: 2\n+b: 3\n"
        );
        assert_eq!(unified("k.yaml", "x", "x"), "");
    }
}
