//! The reference docs say what the code does: every command `/help` lists has its section
//! in docs/commands.md and no other, every metric Hoist exports is in
//! docs/troubleshooting.md, every script under bench/ is in the doc that records its
//! figures, the repository names no path outside itself, and every long function says
//! why it is one piece.

use std::collections::BTreeSet;

#[test]
fn the_commands_reference_matches_help() {
    let help = hoist::command::help(&["dev", "uat", "prod"]);
    let from_help: BTreeSet<String> = help
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix('/'))
        .map(|l| format!("/{}", l.split("   ").next().unwrap().trim()))
        .collect();
    let doc = std::fs::read_to_string("docs/commands.md").unwrap();
    let from_doc: BTreeSet<String> = doc
        .lines()
        .filter_map(|l| l.strip_prefix("## `"))
        .map(|l| l.trim_end_matches('`').to_owned())
        .collect();
    assert_eq!(from_help.len(), 11, "{help}");
    assert_eq!(from_doc, from_help, "docs/commands.md and /help differ");
}

#[test]
fn every_metric_is_documented() {
    let mut names = BTreeSet::new();
    let mut stack = vec![std::path::PathBuf::from("src")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap();
            for kind in ["counter!(\"", "gauge!(\"", "histogram!(\""] {
                for part in text.split(kind).skip(1) {
                    names.insert(part.split('"').next().unwrap().to_owned());
                }
            }
        }
    }
    assert!(names.len() >= 10, "{names:?}");
    let doc = std::fs::read_to_string("docs/troubleshooting.md").unwrap();
    for n in &names {
        assert!(
            doc.contains(&format!("`{n}`")),
            "{n} is not in docs/troubleshooting.md"
        );
    }
}

#[test]
fn every_bench_script_is_documented() {
    let docs = ["docs/PERFORMANCE.md", "docs/RELIABILITY.md"]
        .map(|d| std::fs::read_to_string(d).unwrap())
        .join("\n");
    let mut scripts = vec![];
    for e in std::fs::read_dir("bench").unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        // Rust sources are the bench scripts' helpers, built by them.
        if !name.contains('.') {
            scripts.push(name);
        }
    }
    assert!(scripts.len() >= 10, "{scripts:?}");
    for s in &scripts {
        assert!(
            docs.contains(&format!("bench/{s}")),
            "bench/{s} is in neither docs/PERFORMANCE.md nor docs/RELIABILITY.md"
        );
    }
}

/// A clone of the repository alone passes its tests: nothing under src/, tests/, bench/,
/// scripts/ or docs/ reads the published fixtures from beside the repository (they are
/// copied into tests/fixtures/, with their sources), or names a path of this machine.
#[test]
fn the_repository_stands_on_its_own() {
    // Spelled in two parts, so this file does not name the path it forbids.
    let outside = [concat!("..", "/shared"), "/work/"];
    let mut found = vec![];
    let mut stack: Vec<std::path::PathBuf> = ["src", "tests", "bench", "scripts", "docs"]
        .iter()
        .map(std::path::PathBuf::from)
        .collect();
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            // The emulator's npm packages are installed, not ours.
            if p.ends_with("node_modules") {
                continue;
            }
            stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        } else if let Ok(text) = std::fs::read_to_string(&p) {
            for (n, line) in text.lines().enumerate() {
                // This test names what it looks for.
                if p.ends_with("docs.rs") && line.contains("let outside") {
                    continue;
                }
                if outside.iter().any(|o| line.contains(o)) {
                    found.push(format!("{}:{}: {line}", p.display(), n + 1));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "paths outside the repository:\n{}",
        found.join("\n")
    );
}

/// A function in `src/` longer than this says in its doc comment why it is one piece.
const LONG_FUNCTION: usize = 60;

/// Every function in `src/` longer than `LONG_FUNCTION` lines carries a "Kept whole: …"
/// sentence in its doc comment saying why it is not split: long code is a choice, made
/// on purpose and explained.
#[test]
fn every_long_function_says_why_it_is_kept_whole() {
    let mut missing = vec![];
    let mut stack = vec![std::path::PathBuf::from("src")];
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        if p.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&p).unwrap();
        for (name, line, len, doc) in functions(&text) {
            if len > LONG_FUNCTION && !doc.contains("Kept whole: ") {
                missing.push(format!("{}:{line} {name} ({len} lines)", p.display()));
            }
        }
    }
    missing.sort();
    assert!(
        missing.is_empty(),
        "functions over {LONG_FUNCTION} lines without a \"Kept whole: …\" reason in their doc comment:\n{}",
        missing.join("\n")
    );
}

/// Each function with a body in `text`: its name, first line, length in lines (from
/// `fn` to its closing brace, rustfmt's layout) and its doc comment.
fn functions(text: &str) -> Vec<(String, usize, usize, String)> {
    let fn_line =
        regex::Regex::new(r"^(\s*)(pub(\([^)]*\))? )?(const )?(async )?fn (\w+)").unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut out = vec![];
    for (i, line) in lines.iter().enumerate() {
        let Some(m) = fn_line.captures(line) else {
            continue;
        };
        // A declaration without a body (a trait's) ends in `;` before any `{`.
        let Some(open) =
            (i..lines.len()).find(|&j| lines[j].contains('{') || lines[j].ends_with(';'))
        else {
            continue;
        };
        if !lines[open].contains('{') {
            continue;
        }
        let close = format!("{}}}", &m[1]);
        let Some(end) = (open + 1..lines.len()).find(|&j| lines[j] == close) else {
            continue;
        };
        let doc: Vec<&str> = lines[..i]
            .iter()
            .rev()
            .map(|l| l.trim())
            .take_while(|l| l.starts_with("///") || l.starts_with("#["))
            .filter(|l| l.starts_with("///"))
            .collect();
        out.push((m[6].to_owned(), i + 1, end - i + 1, doc.concat()));
    }
    out
}

/// A figure said in two places is the same in both: every `N events/s` a doc states is
/// one docs/PERFORMANCE.md measured.
#[test]
fn ingest_figures_agree_with_the_measurements() {
    let perf = std::fs::read_to_string("docs/PERFORMANCE.md").unwrap();
    let figure = regex::Regex::new(r"(\d[\d,]*) (?:durable )?events/s").unwrap();
    for doc in [
        "README.md",
        "docs/serve.md",
        "docs/lambda.md",
        "docs/kubernetes.md",
    ] {
        let text = std::fs::read_to_string(doc).unwrap();
        for c in figure.captures_iter(&text) {
            assert!(
                perf.contains(&c[1]),
                "{doc} says {} but docs/PERFORMANCE.md measured no such figure",
                &c[0]
            );
        }
    }
}

/// The docs describe the NetworkPolicy that ships: each way out it allows is named.
#[test]
fn the_network_policy_is_described_as_it_is() {
    let policy = std::fs::read_to_string("deploy/kubernetes/base/networkpolicy.yaml").unwrap();
    let doc = std::fs::read_to_string("docs/kubernetes.md").unwrap();
    let line = doc
        .split("- **NetworkPolicy**:")
        .nth(1)
        .and_then(|s| s.split("\n- ").next())
        .expect("docs/kubernetes.md describes the NetworkPolicy");
    for (allowed, said) in [
        ("port: 53", "DNS"),
        ("port: 443", "HTTPS"),
        ("kubernetes.io/metadata.name: argocd", "`argocd` namespace"),
        ("port: 8080", "8080"),
    ] {
        assert!(
            policy.contains(allowed),
            "the policy no longer has {allowed}"
        );
        assert!(
            line.contains(said),
            "docs/kubernetes.md does not say {said}: {line}"
        );
    }
    let aws = std::fs::read_to_string("docs/aws.md").unwrap();
    assert!(
        !aws.contains("Not yet: the Lambda"),
        "docs/aws.md says Lambda is not packaged"
    );
}
