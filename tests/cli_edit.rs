//! `hoist set-image` and `hoist set-value` as a user runs them: exit codes, messages on
//! stderr, and files that are either fully written or untouched.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

const KUST: &str = "resources:\n- base\nimages:\n- name: app # the app\n  newTag: v1\n  digest: sha256:1111111111111111111111111111111111111111111111111111111111111111\n";

fn hoist(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hoist"))
        .args(args)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn file_with(dir: &Path, text: &[u8]) -> String {
    let p = dir.join("kustomization.yaml");
    fs::write(&p, text).unwrap();
    p.to_string_lossy().into_owned()
}

#[test]
fn set_image_writes_the_edit_and_says_what_changed() {
    let dir = tempfile::tempdir().unwrap();
    let f = file_with(dir.path(), KUST.as_bytes());
    let o = hoist(&["set-image", &f, "app:v2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        fs::read_to_string(&f).unwrap(),
        "resources:\n- base\nimages:\n- name: app # the app\n  newTag: v2\n"
    );
    let err = stderr(&o);
    assert!(
        err.contains("updated")
            && err.contains("newTag: v1 -> v2")
            && err.contains("digest: removed"),
        "{err}"
    );
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temporary file is left behind"
    );
}

#[test]
fn unchanged_exits_zero_and_leaves_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let f = file_with(dir.path(), b"images:\n- name: app\n  newTag: v1\n");
    let o = hoist(&["set-image", &f, "app:v1"]);
    assert!(o.status.success());
    assert!(stderr(&o).contains("unchanged"));
    assert_eq!(
        fs::read_to_string(&f).unwrap(),
        "images:\n- name: app\n  newTag: v1\n"
    );
}

#[test]
fn a_refusal_names_file_line_and_reason_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let text = "images:\n- name: app\n  newTag: v1\n- name: app\n  newTag: v2\n";
    let f = file_with(dir.path(), text.as_bytes());
    let o = hoist(&["set-image", &f, "app:v3"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains(&format!("{f}:4:3: images has a second entry named \"app\"")),
        "{}",
        stderr(&o)
    );
    assert_eq!(fs::read_to_string(&f).unwrap(), text);
}

#[test]
fn one_bad_spec_among_several_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let f = file_with(dir.path(), KUST.as_bytes());
    for (bad, says) in [
        ("app:v2\nx", "white space"),
        ("App:v2", "image name \"App\" is not a valid reference"),
        ("app@sha256:nothex", "digest \"sha256:nothex\" is not valid"),
    ] {
        let o = hoist(&["set-image", &f, "app:v2", bad]);
        assert_eq!(o.status.code(), Some(1), "{bad:?}");
        assert!(stderr(&o).contains(says), "{}", stderr(&o));
        assert_eq!(fs::read_to_string(&f).unwrap(), KUST);
    }
    // A spec that parses but whose edit is refused also leaves the first edit unwritten.
    let text = "images: [{name: app, newTag: v1}]\n";
    let f2 = file_with(dir.path(), text.as_bytes());
    let o = hoist(&["set-image", &f2, "app:v2", "other:v1"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(fs::read_to_string(&f2).unwrap(), text);
}

#[test]
fn stdout_and_diff_preview_without_writing() {
    let dir = tempfile::tempdir().unwrap();
    let f = file_with(dir.path(), b"images:\n- name: app\n  newTag: v1\n");
    let o = hoist(&["set-image", "--stdout", &f, "app:1.10"]);
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        "images:\n- name: app\n  newTag: \"1.10\"\n"
    );
    let o = hoist(&["set-image", "--diff", &f, "app:v2"]);
    let d = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(d.contains("-  newTag: v1\n+  newTag: v2\n"), "{d}");
    assert!(stderr(&o).contains("would update"));
    assert_eq!(
        fs::read_to_string(&f).unwrap(),
        "images:\n- name: app\n  newTag: v1\n"
    );
}

#[test]
fn set_value_edits_helm_values() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("values.yaml");
    fs::write(&p, "image:\n  repository: reg/app # repo\n  tag: 'v1'\n").unwrap();
    let f = p.to_string_lossy();
    let o = hoist(&["set-value", &f, "image.tag", "v2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        fs::read_to_string(&p).unwrap(),
        "image:\n  repository: reg/app # repo\n  tag: 'v2'\n"
    );
    let o = hoist(&["set-value", &f, "image..tag", "v2"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("empty key"));
}

#[test]
fn binary_and_missing_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let f = file_with(dir.path(), b"images:\xff\n");
    let o = hoist(&["set-image", &f, "app:v2"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("not UTF-8"));
    let o = hoist(&["set-image", "/nonexistent/k.yaml", "app:v2"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("cannot read /nonexistent/k.yaml"));
}

#[test]
fn help_explains_the_digest_rules() {
    let o = hoist(&["set-image", "--help"]);
    let help = String::from_utf8(o.stdout).unwrap();
    assert!(help.contains("A tag without a digest removes"), "{help}");
    assert!(
        help.contains("A digest without a tag keeps the tag"),
        "{help}"
    );
}

/// A tab in indentation is reported at the tab itself, not at the end of the line
/// before it.
#[test]
fn a_tab_is_reported_where_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let f = file_with(dir.path(), b"images:\n- name: app\n\tnewTag: v1\n");
    let o = hoist(&["set-image", &f, "app:v2"]);
    assert_eq!(o.status.code(), Some(1));
    insta::assert_snapshot!(stderr(&o).replace(&f, "FILE").trim(), @"error: FILE:3:1: invalid YAML: a tab character: YAML indents with spaces only");
}

/// An image name no entry has is added, and the message says so and names the entry
/// the user probably meant.
#[test]
fn a_misspelled_image_name_is_added_with_the_closest_name() {
    let dir = tempfile::tempdir().unwrap();
    let f = file_with(dir.path(), KUST.as_bytes());
    let o = hoist(&["set-image", &f, "ap:v2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    insta::assert_snapshot!(stderr(&o).replace(&f, "FILE").trim(), @"
    FILE: updated: images[1]: added entry ap
    FILE: no images entry was named ap, so one was added; did you mean app?
    ");
}

/// `set-value` keeps an integer an integer when the new text is one, and says when the
/// value's type changes.
#[test]
fn set_value_keeps_the_old_values_type() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("values.yaml");
    fs::write(&p, "replicaCount: 2\nimage:\n  tag: \"1.0\"\n").unwrap();
    let f = p.to_str().unwrap();
    let o = hoist(&["set-value", f, "replicaCount", "3"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o2 = hoist(&["set-value", f, "image.tag", "2.0"]);
    assert!(o2.status.success(), "{}", stderr(&o2));
    // The integer stays an integer, the quoted text stays quoted text.
    insta::assert_snapshot!(fs::read_to_string(&p).unwrap(), @r#"
    replicaCount: 3
    image:
      tag: "2.0"
    "#);
    let o3 = hoist(&["set-value", f, "replicaCount", "three"]);
    assert!(o3.status.success(), "{}", stderr(&o3));
    insta::assert_snapshot!(fs::read_to_string(&p).unwrap(), @r#"
    replicaCount: three
    image:
      tag: "2.0"
    "#);
    insta::assert_snapshot!(
        [stderr(&o), stderr(&o2), stderr(&o3)].concat().replace(f, "FILE").trim(),
        @"
    FILE: updated: replicaCount: 2 -> 3
    FILE: updated: image.tag: 1.0 -> 2.0
    FILE: updated: replicaCount (was a number, now text): 3 -> three
    "
    );
}

/// Only what every YAML reader reads alike stays unquoted: a tag that was the number 42
/// set to `2.0` or `012` (which Helm would read as 2 and as octal 10) is written as text,
/// and the message says its type changed.
#[test]
fn set_value_quotes_numbers_readers_disagree_on() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("values.yaml");
    let f = p.to_str().unwrap();
    let mut said = vec![];
    for v in ["2.0", "012"] {
        fs::write(&p, "image:\n  tag: 42\n").unwrap();
        let o = hoist(&["set-value", f, "image.tag", v]);
        assert!(o.status.success(), "{}", stderr(&o));
        said.push(fs::read_to_string(&p).unwrap());
        said.push(stderr(&o).replace(f, "FILE"));
    }
    insta::assert_snapshot!(said.concat(), @r#"
    image:
      tag: "2.0"
    FILE: updated: image.tag (was a number, now text): 42 -> 2.0
    image:
      tag: "012"
    FILE: updated: image.tag (was a number, now text): 42 -> 012
    "#);
}
