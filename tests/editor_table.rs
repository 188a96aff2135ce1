//! The editor's contract as a table: input, operation, and the exact bytes out or the
//! exact refusal. Every successful edit is also re-run on its output, which must then
//! be unchanged (edits are idempotent).

use hoist::image::ImageSpec;
use hoist::manifest::{self, Edited, Path};

const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

enum Op {
    Image(String),
    Value(&'static str, &'static str),
}

enum Expect {
    /// The output is the input with the first `from` replaced by `to`.
    Replace(&'static str, String),
    /// The output is exactly these bytes.
    Bytes(String),
    Unchanged,
    /// Refused at this line, with a message containing the text.
    Refused(usize, &'static str),
}

use Expect::*;

fn img(spec: &str) -> Op {
    Op::Image(spec.to_owned())
}

fn run(input: &str, op: &Op) -> Result<Edited, manifest::EditError> {
    match op {
        Op::Image(spec) => manifest::set_image(input, &ImageSpec::parse(spec).unwrap()),
        Op::Value(path, value) => manifest::set_value(input, &Path::parse(path).unwrap(), value),
    }
}

const BASIC: &str = "images:\n- name: app\n  newTag: v1\n";

fn cases() -> Vec<(&'static str, String, Op, Expect)> {
    let s = |x: &str| x.to_owned();
    vec![
        (
            "plain tag",
            s(BASIC),
            img("app:v2"),
            Replace("newTag: v1", s("newTag: v2")),
        ),
        (
            "4-space indent, indented sequence",
            s("resources:\n    - base\nimages:\n    -   name: app\n        newTag: v1\n"),
            img("app:v2"),
            Replace("newTag: v1", s("newTag: v2")),
        ),
        (
            "double quotes kept",
            s("images:\n- name: app\n  newTag: \"v1\"\n"),
            img("app:v2"),
            Replace("\"v1\"", s("\"v2\"")),
        ),
        (
            "single quotes kept",
            s("images:\n- name: 'app'\n  newTag: 'v1'\n"),
            img("app:v2"),
            Replace("'v1'", s("'v2'")),
        ),
        (
            "trailing comment kept",
            s("images:\n- name: app\n  newTag: v1    # bumped by CI\n"),
            img("app:v2.0.1"),
            Replace("v1    #", s("v2.0.1    #")),
        ),
        (
            "Flux image policy marker kept",
            s("images:\n- name: app\n  newTag: v1 # {\"$imagepolicy\": \"flux-system:app:tag\"}\n"),
            img("app:v2"),
            Replace("v1 #", s("v2 #")),
        ),
        (
            "aligned comments kept",
            s(
                "images:            # list\n- name: app        # the name\n  newTag: v1       # the tag\n  newName: reg/app # the repo\n",
            ),
            img("app:v1.10.3"),
            Replace("v1       #", s("v1.10.3       #")),
        ),
        (
            "CRLF kept",
            s("images:\r\n- name: app\r\n  newTag: v1\r\n"),
            img("app:v2"),
            Replace("v1", s("v2")),
        ),
        (
            "BOM kept",
            s("\u{feff}images:\n- name: app\n  newTag: v1\n"),
            img("app:v2"),
            Replace("v1", s("v2")),
        ),
        (
            "missing final newline kept",
            s("images:\n- name: app\n  newTag: v1"),
            img("app:v2"),
            Replace("v1", s("v2")),
        ),
        (
            "multibyte text before the target",
            s(
                "# Ünïcödé 日本語 😀 comment\nnamespace: \"ß-ü\"\nimages:\n- name: app # ☃\n  newTag: v1\n",
            ),
            img("app:v2"),
            Replace("newTag: v1", s("newTag: v2")),
        ),
        (
            "document markers kept",
            s("%YAML 1.2\n---\nimages:\n- name: app\n  newTag: v1\n...\n"),
            img("app:v2"),
            Replace("newTag: v1", s("newTag: v2")),
        ),
        (
            "block scalar elsewhere, trailing spaces included",
            s(
                "metadata:\n  note: |\n    keep   \n    these  \n\nimages:\n- name: app\n  newTag: v1\n",
            ),
            img("app:v2"),
            Replace("newTag: v1", s("newTag: v2")),
        ),
        (
            "unknown keys and blank lines kept",
            s("x-team: payments\n\n\nimages:\n\n- name: app\n  newTag: v1\n  x-note: {a: 1}\n"),
            img("app:v2"),
            Replace("newTag: v1", s("newTag: v2")),
        ),
        (
            "1.10 is quoted",
            s(BASIC),
            img("app:1.10"),
            Replace("v1", s("\"1.10\"")),
        ),
        (
            "012 is quoted",
            s(BASIC),
            img("app:012"),
            Replace("v1", s("\"012\"")),
        ),
        (
            "true is quoted",
            s(BASIC),
            img("app:true"),
            Replace("v1", s("\"true\"")),
        ),
        (
            "yes is quoted",
            s(BASIC),
            img("app:yes"),
            Replace("v1", s("\"yes\"")),
        ),
        (
            "a date is quoted",
            s(BASIC),
            img("app:2024-01-01"),
            Replace("v1", s("\"2024-01-01\"")),
        ),
        (
            "1e3 is quoted",
            s(BASIC),
            img("app:1e3"),
            Replace("v1", s("\"1e3\"")),
        ),
        (
            "0e12345 is quoted",
            s(BASIC),
            img("app:0e12345"),
            Replace("v1", s("\"0e12345\"")),
        ),
        (
            "a git sha like 553640e6 is quoted",
            s(BASIC),
            img("app:553640e6"),
            Replace("v1", s("\"553640e6\"")),
        ),
        (
            "null is quoted",
            s(BASIC),
            img("app:null"),
            Replace("v1", s("\"null\"")),
        ),
        (
            "single quotes kept for a value that needs quoting",
            s("images:\n- name: app\n  newTag: 'v1'\n"),
            img("app:1.10"),
            Replace("'v1'", s("'1.10'")),
        ),
        (
            "an unquoted number is requoted even when equal",
            s("images:\n- name: app\n  newTag: 1.10\n"),
            img("app:1.10"),
            Replace("1.10", s("\"1.10\"")),
        ),
        (
            "digest without tag keeps the tag",
            s(BASIC),
            img(&format!("app@{D1}")),
            Replace("newTag: v1\n", format!("newTag: v1\n  digest: {D1}\n")),
        ),
        (
            "tag without digest removes the stale digest",
            format!(
                "images:\n- name: app\n  newTag: v1\n  digest: {D1} # pinned\n  newName: reg/app\n"
            ),
            img("app:v2"),
            Bytes(s(
                "images:\n- name: app\n  newTag: v2\n  newName: reg/app\n",
            )),
        ),
        (
            "tag and digest replaced together",
            format!("images:\n- name: app\n  newTag: v1\n  digest: {D1}\n"),
            img(&format!("app:v2@{D2}")),
            Bytes(format!(
                "images:\n- name: app\n  newTag: v2\n  digest: {D2}\n"
            )),
        ),
        (
            "digest removed on the last line without a final newline",
            format!("images:\n- name: app\n  newTag: v1\n  digest: {D1}"),
            img("app:v2"),
            Bytes(s("images:\n- name: app\n  newTag: v2")),
        ),
        (
            "newName set, other fields kept",
            s(BASIC),
            img("app=123456789012.dkr.ecr.eu-west-1.amazonaws.com/app"),
            Replace(
                "newTag: v1\n",
                s("newTag: v1\n  newName: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/app\n"),
            ),
        ),
        (
            "missing key goes after the entry's last key, sibling indentation",
            s(
                "images:\n    - name: app\n      newName: reg/app   # repo\nresources:\n    - base\n",
            ),
            img("app:v2"),
            Replace("# repo\n", s("# repo\n      newTag: v2\n")),
        ),
        (
            "missing key in CRLF file uses CRLF",
            s("images:\r\n- name: app\r\n  newName: reg/app\r\n"),
            img("app:v2"),
            Replace("reg/app\r\n", s("reg/app\r\n  newTag: v2\r\n")),
        ),
        (
            "missing entry appended, compact list",
            s("images:\n- name: other\n  newTag: v9\n\nresources:\n- base\n"),
            img("app:v2"),
            Replace("v9\n", s("v9\n- name: app\n  newTag: v2\n")),
        ),
        (
            "missing entry appended, indented list, sibling quote style",
            s("images:\n  - name: \"other\"\n    newTag: \"v9\"\n"),
            img("app:v2"),
            Bytes(s(
                "images:\n  - name: \"other\"\n    newTag: \"v9\"\n  - name: \"app\"\n    newTag: \"v2\"\n",
            )),
        ),
        (
            "name matched literally, never split",
            s("images:\n- name: registry.io/app\n  newTag: v1\n"),
            img("app:v2"),
            Replace("v1\n", s("v1\n- name: app\n  newTag: v2\n")),
        ),
        (
            "registry name with a port matches literally",
            s("images:\n- name: registry.io:5000/app\n  newTag: v1\n"),
            img("registry.io:5000/app:v2"),
            Replace("newTag: v1", s("newTag: v2")),
        ),
        (
            "missing images block created, copying the list style",
            s(
                "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - base\n",
            ),
            img("app:v2"),
            Bytes(s(
                "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - base\nimages:\n  - name: app\n    newTag: v2\n",
            )),
        ),
        (
            "missing images block, no final newline kept",
            s("resources:\n- base"),
            img("app:v2"),
            Bytes(s("resources:\n- base\nimages:\n- name: app\n  newTag: v2")),
        ),
        (
            "images: [] becomes a list",
            s("resources:\n- base\nimages: [] # none yet\n"),
            img("app:v2"),
            Bytes(s(
                "resources:\n- base\nimages: # none yet\n- name: app\n  newTag: v2\n",
            )),
        ),
        (
            "bare images: becomes a list",
            s("images:\nresources:\n- base\n"),
            img("app:v2"),
            Bytes(s(
                "images:\n- name: app\n  newTag: v2\nresources:\n- base\n",
            )),
        ),
        (
            "images: ~ becomes a list",
            s("images: ~\r\nresources:\r\n- base\r\n"),
            img("app:v2"),
            Bytes(s(
                "images:\r\n- name: app\r\n  newTag: v2\r\nresources:\r\n- base\r\n",
            )),
        ),
        ("same tag is unchanged", s(BASIC), img("app:v1"), Unchanged),
        (
            "flow entry edited in place",
            s("images: [{name: app, newTag: v1}]\n"),
            img("app:v2"),
            Replace("v1", s("v2")),
        ),
        (
            "JSON kustomization edited in place",
            s("{\"resources\": [\"base\"], \"images\": [{\"name\": \"app\", \"newTag\": \"v1\"}]}"),
            img("app:v2"),
            Replace("\"v1\"", s("\"v2\"")),
        ),
        (
            "anchor on the target kept when nothing aliases it",
            s("images:\n- name: app\n  newTag: &t v1\n"),
            img("app:v2"),
            Replace("&t v1", s("&t v2")),
        ),
        (
            "Component accepted",
            s(
                "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nimages:\n- name: app\n  newTag: v1\n",
            ),
            img("app:v2"),
            Replace("newTag: v1", s("newTag: v2")),
        ),
        // Refusals.
        (
            "duplicate entries",
            s("images:\n- name: app\n  newTag: v1\n- name: app\n  newTag: v2\n"),
            img("app:v3"),
            Refused(4, "second entry named \"app\" (the first is on line 2)"),
        ),
        (
            "target is an alias",
            s("resources: [base]\ntag: &t v1\nimages:\n- name: app\n  newTag: *t\n"),
            img("app:v2"),
            Refused(5, "images[0].newTag is an alias"),
        ),
        (
            "target anchor used elsewhere",
            s("images:\n- name: app\n  newTag: &t v1\n- name: other\n  newTag: *t\n"),
            img("app:v2"),
            Refused(3, "an alias elsewhere refers to"),
        ),
        (
            "several documents",
            s("images:\n- name: app\n  newTag: v1\n---\nimages: []\n"),
            img("app:v2"),
            Refused(4, "2 YAML documents"),
        ),
        (
            "shell-templated value",
            s("images:\n- name: app\n  newTag: ${TAG}\n"),
            img("app:v2"),
            Refused(3, "templated (\"${TAG}\")"),
        ),
        (
            "Helm-templated value",
            s("images:\n- name: app\n  newTag: \"{{ .Values.tag }}\"\n"),
            img("app:v2"),
            Refused(3, "templated"),
        ),
        (
            "invalid YAML",
            s("images:\n- name: app\n  newTag: [v1\n"),
            img("app:v2"),
            Refused(3, "invalid YAML: this `[` is never closed with `]`"),
        ),
        (
            "not a kustomization",
            s("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\n"),
            img("app:v2"),
            Refused(1, "its kind is \"Deployment\""),
        ),
        (
            "no kustomization field at all",
            s("image:\n  tag: v1\n"),
            img("app:v2"),
            Refused(1, "not a kustomization"),
        ),
        (
            "empty file",
            s("# nothing here\n"),
            img("app:v2"),
            Refused(1, "the file is empty"),
        ),
        (
            "block scalar target",
            s("images:\n- name: app\n  newTag: |\n    v1\n"),
            img("app:v2"),
            Refused(3, "block scalar"),
        ),
        (
            "images is not a list",
            s("images: app\n"),
            img("app:v2"),
            Refused(1, "images is not a list"),
        ),
        (
            "key missing in a flow entry",
            s("images: [{name: app}]\n"),
            img("app:v2"),
            Refused(1, "flow style"),
        ),
        (
            "entry missing in a flow list",
            s("images: [{name: other, newTag: v1}]\n"),
            img("app:v2"),
            Refused(1, "flow style"),
        ),
        (
            "Go's number syntax is quoted",
            s(BASIC),
            img("app:0X1F"),
            Replace("v1", s("\"0X1F\"")),
        ),
        (
            "a bare null value gets a space",
            s("images:\n- name: app\n  newName:\n- name: other\n  newTag: v1\n"),
            img("app=reg.io/app"),
            Replace("newName:\n", s("newName: reg.io/app\n")),
        ),
        (
            "anchored first key: indentation from the line, not the key",
            s("images:\n- &a name: app\n  newTag: v1\n"),
            img(&format!("app@{D1}")),
            Replace("v1\n", format!("v1\n  digest: {D1}\n")),
        ),
        (
            "a dash inside an anchor name is not the list's dash",
            s("resources:\n- &my-res a.yaml\n"),
            img("app:v2"),
            Bytes(s(
                "resources:\n- &my-res a.yaml\nimages:\n- name: app\n  newTag: v2\n",
            )),
        ),
        (
            "sibling spacing after the dash is copied",
            s("images:\n    -   name: app\n        newTag: v1\n"),
            img("other:v2"),
            Replace("v1\n", s("v1\n    -   name: other\n        newTag: v2\n")),
        ),
        (
            "the bare ! tag is a string tag",
            s("images:\n- name: app\n  newTag: ! v1\n"),
            img("app:v2"),
            Replace("! v1", s("! v2")),
        ),
        (
            "duplicate keys",
            s("images:\n- name: app\n  newTag: v1\n  newTag: v1\n"),
            img("app:v2"),
            Refused(
                4,
                "the key \"newTag\" appears twice in one mapping (first on line 3)",
            ),
        ),
        (
            "duplicate images lists",
            s("images: []\nimages:\n- name: app\n  newTag: v1\n"),
            img("app:v2"),
            Refused(2, "the key \"images\" appears twice"),
        ),
        (
            "lone CR line breaks",
            s("images:\r- name: app\r  newTag: v1\r"),
            img("app:v2"),
            Refused(1, "lone CR line breaks"),
        ),
        (
            "merge keys",
            s("base: &b {newTag: v1}\nimages:\n- <<: *b\n  name: app\n"),
            img("app:v2"),
            Refused(3, "images[0] uses a merge key"),
        ),
        // Any YAML by path.
        (
            "set a bare null by path",
            s("a:\nb: 1\n"),
            Op::Value("a", "x"),
            Bytes(s("a: x\nb: 1\n")),
        ),
        (
            "line separators in a value are escaped",
            s("a: b\n"),
            Op::Value("a", "p\u{2028}q"),
            Bytes(s("a: \"p\\u2028q\"\n")),
        ),
        (
            "Helm values by dotted path",
            s(
                "# values\nimage:\n  repository: reg/app   # repo\n  tag: \"v1\"        # tag\nreplicaCount: 2\n",
            ),
            Op::Value("image.tag", "v2"),
            Replace("\"v1\"", s("\"v2\"")),
        ),
        (
            "list index in a path",
            s(
                "spec:\n  containers:\n    - name: a\n      image: reg/a:v1\n    - name: b\n      image: reg/b:v1\n",
            ),
            Op::Value("spec.containers[1].image", "reg/b:v2"),
            Replace("reg/b:v1", s("reg/b:v2")),
        ),
        (
            "missing last key added",
            s("image:\n  repository: reg/app\nreplicaCount: 2\n"),
            Op::Value("image.tag", "1.10"),
            Replace("reg/app\n", s("reg/app\n  tag: \"1.10\"\n")),
        ),
        (
            "JSON by path keeps double quotes",
            s("{\n  \"image\": {\"tag\": \"v1\"}\n}\n"),
            Op::Value("image.tag", "v2"),
            Replace("\"v1\"", s("\"v2\"")),
        ),
        (
            "missing intermediate key",
            s("image:\n  tag: v1\n"),
            Op::Value("image.registry.host", "x"),
            Refused(2, "image has no key \"registry\""),
        ),
        (
            "path names a mapping",
            s("image:\n  tag: v1\n"),
            Op::Value("image", "x"),
            Refused(2, "image is a mapping, not a single value"),
        ),
        (
            "index out of range",
            s("list:\n- a\n"),
            Op::Value("list[3]", "x"),
            Refused(2, "list has 1 items, so there is no [3]"),
        ),
        (
            "value with a line break",
            s("image:\n  tag: v1\n"),
            Op::Value("image.tag", "v1\nevil: true"),
            Refused(1, "line break"),
        ),
    ]
}

#[test]
fn the_table() {
    let cases = cases();
    assert!(
        cases.len() >= 40,
        "the contract table keeps at least 40 cases"
    );
    let mut failures = vec![];
    for (name, input, op, expect) in &cases {
        let got = run(input, op);
        let ok = match (expect, &got) {
            (Replace(from, to), Ok(e)) => {
                assert!(
                    input.contains(from),
                    "{name}: bad case, {from:?} not in input"
                );
                e.is_changed() && e.text == input.replacen(from, to, 1)
            }
            (Bytes(b), Ok(e)) => e.is_changed() && &e.text == b,
            (Unchanged, Ok(e)) => !e.is_changed() && e.text == *input,
            (Refused(line, msg), Err(e)) => e.line == *line && e.to_string().contains(msg),
            _ => false,
        };
        if !ok {
            failures.push(format!("{name}: got {got:?}"));
            continue;
        }
        if let Ok(e) = &got
            && e.is_changed()
        {
            let again = run(&e.text, op).expect("re-running an edit on its output works");
            if again.is_changed() {
                failures.push(format!("{name}: not idempotent: {again:?}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing case(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
