//! GitHub's CODEOWNERS: gitignore-style patterns, the last matching line wins, and a
//! pattern with no owners takes ownership away.

use globset::{GlobBuilder, GlobMatcher};

/// Where GitHub looks for the file, in its order.
pub const LOCATIONS: &[&str] = &[".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"];

#[derive(Debug, Clone)]
struct Rule {
    matcher: GlobMatcher,
    owners: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct CodeOwners {
    rules: Vec<Rule>,
    /// Lines GitHub would also ignore, with the reason, for messages.
    pub skipped: Vec<(usize, String)>,
}

/// More lines than any real CODEOWNERS has; past this the rest is ignored, so a
/// hostile file costs bounded work.
const MAX_RULES: usize = 5_000;

/// GitHub does not load a CODEOWNERS file of 3 MB or more.
pub const MAX_BYTES: usize = 3 * 1024 * 1024;

impl CodeOwners {
    pub fn parse(text: &str) -> Self {
        let mut out = Self::default();
        if text.len() >= MAX_BYTES {
            // As on GitHub: the whole file counts for nothing, so nobody owns anything.
            out.skipped
                .push((0, "3 MB or more: GitHub does not load it".into()));
            return out;
        }
        for (n, raw) in text.lines().enumerate() {
            let line = strip_comment(raw).trim();
            if line.is_empty() {
                continue;
            }
            if out.rules.len() >= MAX_RULES {
                out.skipped
                    .push((n + 1, format!("more than {MAX_RULES} rules")));
                break;
            }
            let mut words = line.split_whitespace();
            let pattern = words.next().unwrap_or_default();
            match glob(pattern) {
                Ok(matcher) => out.rules.push(Rule {
                    matcher,
                    owners: words.map(str::to_owned).collect(),
                }),
                Err(e) => out.skipped.push((n + 1, e)),
            }
        }
        out
    }

    /// The owners of `path` (relative, `/`-separated): users as `@login`, teams as
    /// `@org/team`, emails as written. Empty when nobody owns it.
    pub fn owners(&self, path: &str) -> &[String] {
        self.rules
            .iter()
            .rev()
            .find(|r| r.matcher.is_match(path))
            .map_or(&[], |r| &r.owners)
    }

    /// What a code-owner gate asks of a change to `paths`: one approval per distinct list
    /// of owners, each named by the first of the paths it owns (files with the same
    /// owners need one approval between them, as on GitHub).
    pub fn requirements(&self, paths: &[String]) -> Vec<(String, Vec<String>)> {
        let mut out: Vec<(String, Vec<String>)> = vec![];
        for p in paths {
            let owners = self.owners(p);
            if !out.iter().any(|(_, o)| o == owners) {
                out.push((p.clone(), owners.to_vec()));
            }
        }
        out
    }
}

/// Drops a `#` comment: at the start of the line, or after white space (tab included).
fn strip_comment(line: &str) -> &str {
    let mut prev_space = true;
    for (i, c) in line.char_indices() {
        if c == '#' && prev_space {
            return &line[..i];
        }
        prev_space = c.is_whitespace();
    }
    line
}

/// Turns a CODEOWNERS pattern into a glob over repository paths, by GitHub's rules:
/// a pattern without a slash (or with only a trailing one) matches at any depth; a
/// trailing `/` owns everything below; a plain name owns the file or the directory and
/// all below it; but a last segment with `*` (`docs/*`) matches only that level.
fn glob(pattern: &str) -> Result<GlobMatcher, String> {
    if pattern.starts_with('!') || pattern.contains('[') && pattern.contains(']') {
        return Err(format!(
            "{pattern:?}: GitHub does not support '!' or '[ ]' in CODEOWNERS"
        ));
    }
    let dir_only = pattern.ends_with('/');
    let p = pattern.trim_end_matches('/');
    let anchored = p.starts_with('/') || p.contains('/');
    // Braces are literal in CODEOWNERS; in a glob they are alternation.
    let p = p
        .trim_start_matches('/')
        .replace('{', "\\{")
        .replace('}', "\\}");
    let g = if anchored { p } else { format!("**/{p}") };
    let last_has_star = g
        .rsplit('/')
        .next()
        .is_some_and(|seg| seg.contains('*') && seg != "**");
    let g = if dir_only {
        format!("{g}/**")
    } else if last_has_star {
        g
    } else {
        format!("{{{g},{g}/**}}")
    };
    GlobBuilder::new(&g)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| format!("{pattern:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "\
# Default owners
*       @acme/platform
*.md    @acme/docs   # docs team
apps/*/env/prod/ @acme/sre
/apps/legacy/    @alice
apps/free/env/prod/
";

    #[test]
    fn last_match_wins() {
        let c = CodeOwners::parse(FILE);
        assert_eq!(
            c.owners("apps/my-app/env/prod/kustomization.yaml"),
            ["@acme/sre"]
        );
        assert_eq!(
            c.owners("apps/my-app/env/dev/kustomization.yaml"),
            ["@acme/platform"]
        );
        assert_eq!(c.owners("docs/readme.md"), ["@acme/docs"]);
        assert_eq!(c.owners("apps/legacy/env/prod/x.yaml"), ["@alice"]);
        assert!(
            c.owners("apps/free/env/prod/x.yaml").is_empty(),
            "no owners takes ownership away"
        );
    }

    #[test]
    fn star_does_not_cross_directories() {
        let c = CodeOwners::parse("apps/*/prod.yaml @x\n");
        assert_eq!(c.owners("apps/a/prod.yaml"), ["@x"]);
        assert!(c.owners("apps/a/b/prod.yaml").is_empty());
    }

    #[test]
    fn github_documented_cases() {
        let c = CodeOwners::parse("apps/*/env/prod/ @acme/sre\napps/* @acme/platform\n");
        assert_eq!(
            c.owners("apps/x/env/prod/k.yaml"),
            ["@acme/sre"],
            "apps/* does not match nested files"
        );
        assert_eq!(c.owners("apps/README.md"), ["@acme/platform"]);
        let c = CodeOwners::parse("apps/*/env/prod/ @acme/sre\t# sre team\n");
        assert_eq!(
            c.owners("apps/x/env/prod/k.yaml"),
            ["@acme/sre"],
            "a comment after a tab"
        );
        let c = CodeOwners::parse("apps/{a,b}/ @x\n");
        assert!(c.owners("apps/a/k.yaml").is_empty(), "braces are literal");
        assert_eq!(c.owners("apps/{a,b}/k.yaml"), ["@x"]);
        let c = CodeOwners::parse("*.js @js\nbuild/logs/ @logs\n");
        assert_eq!(c.owners("src/deep/x.js"), ["@js"]);
        assert_eq!(c.owners("build/logs/2026/x.log"), ["@logs"]);
    }

    #[test]
    fn unsupported_lines_are_skipped_and_reported() {
        let c = CodeOwners::parse("!apps/ @x\napps/ @y\n");
        assert_eq!(c.skipped.len(), 1);
        assert_eq!(c.owners("apps/a"), ["@y"]);
    }
}
