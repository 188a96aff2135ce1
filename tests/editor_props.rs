//! Property tests over generated kustomizations with random comments, quotes,
//! indentation and line endings: an edit changes exactly the intended values, and
//! every line that does not hold one of them stays byte for byte.

use hoist::image::ImageSpec;
use hoist::manifest::{self, ImageEntry, tree};
use proptest::prelude::*;
use similar::{ChangeTag, TextDiff};

#[derive(Debug, Clone)]
struct Entry {
    name: String,
    new_name: Option<String>,
    tag: Option<String>,
    digest: Option<String>,
}

#[derive(Debug, Clone)]
struct Style {
    eol: &'static str,
    indent: usize,
    indented_list: bool,
    quote: u8,
    bom: bool,
    final_newline: bool,
    comments: Vec<String>,
    trailing: Vec<Option<String>>,
}

fn quote(v: &str, q: u8) -> String {
    match q {
        1 => format!("'{v}'"),
        2 => format!("\"{v}\""),
        _ => v.to_owned(),
    }
}

/// Renders the kustomization, and tells which lines belong to which entry.
fn render(entries: &[Entry], st: &Style) -> String {
    let e = st.eol;
    let ind = " ".repeat(st.indent);
    let dash = if st.indented_list {
        ind.clone()
    } else {
        String::new()
    };
    let mut trailing = st.trailing.iter().cycle();
    let mut t = |s: &mut String| {
        if let Some(Some(c)) = trailing.next() {
            s.push_str("  # ");
            s.push_str(c);
        }
    };
    let mut s = String::new();
    if st.bom {
        s.push('\u{feff}');
    }
    for c in &st.comments {
        s.push_str(&format!("# {c}{e}"));
    }
    s.push_str(&format!("apiVersion: kustomize.config.k8s.io/v1beta1{e}kind: Kustomization{e}{e}resources:{e}{dash}- ../../base{e}{e}images:"));
    t(&mut s);
    for en in entries {
        s.push_str(&format!("{e}{dash}- name: {}", quote(&en.name, st.quote)));
        t(&mut s);
        let key = format!("{dash}  ");
        for (k, v) in [
            ("newName", &en.new_name),
            ("newTag", &en.tag),
            ("digest", &en.digest),
        ] {
            if let Some(v) = v {
                // Values that YAML would retype are always quoted in the source.
                let q = if st.quote == 0 && !manifest::scalar::plain_safe(v) {
                    2
                } else {
                    st.quote
                };
                s.push_str(&format!("{e}{key}{k}: {}", quote(v, q)));
                t(&mut s);
            }
        }
    }
    s.push_str(&format!("{e}{e}namespace: team-a"));
    if st.final_newline {
        s.push_str(e);
    }
    s
}

fn tag() -> impl Strategy<Value = String> {
    prop_oneof![
        "v[0-9]{1,2}\\.[0-9]{1,2}\\.[0-9]{1,2}",
        "[0-9]\\.[0-9]{1,2}",
        "0[0-9]{1,3}",
        "[0-9]{1,3}e[0-9]{1,3}",
        "main-[0-9a-f]{7}",
        Just("true".to_owned()),
        Just("2024-01-01".to_owned()),
        "[A-Za-z0-9_][A-Za-z0-9._-]{0,20}",
    ]
}

fn digest() -> impl Strategy<Value = String> {
    "[0-9a-f]{64}".prop_map(|h| format!("sha256:{h}"))
}

fn entry(name: String) -> impl Strategy<Value = Entry> {
    (
        proptest::option::of("[a-z]{2,8}\\.example\\.com(:[0-9]{2,4})?/[a-z]{2,8}"),
        proptest::option::of(tag()),
        proptest::option::of(digest()),
    )
        .prop_map(move |(new_name, tag, digest)| Entry {
            name: name.clone(),
            new_name,
            tag,
            digest,
        })
}

fn comment() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,30}",
        "[a-zé日本😀 ]{0,12}",
        Just("{\"$imagepolicy\": \"flux-system:app:tag\"}".to_owned())
    ]
}

fn style() -> impl Strategy<Value = Style> {
    (
        prop_oneof![Just("\n"), Just("\r\n")],
        prop_oneof![Just(2usize), Just(4usize)],
        any::<bool>(),
        0u8..3,
        any::<bool>(),
        any::<bool>(),
        proptest::collection::vec(comment(), 0..3),
        proptest::collection::vec(proptest::option::of(comment()), 1..6),
    )
        .prop_map(
            |(eol, indent, indented_list, quote, bom, final_newline, comments, trailing)| Style {
                eol,
                indent,
                indented_list,
                quote,
                bom,
                final_newline,
                comments,
                trailing,
            },
        )
}

fn case() -> impl Strategy<Value = (Vec<Entry>, Style, Entry)> {
    let names = proptest::sample::subsequence(vec!["api", "worker", "web", "cron", "envoy"], 1..4);
    (names, style()).prop_flat_map(|(names, st)| {
        let entries: Vec<_> = names.iter().map(|n| entry((*n).to_owned())).collect();
        let target_name = prop_oneof![proptest::sample::select(names.clone()), Just("brand-new")];
        let spec = target_name
            .prop_flat_map(|n| entry(n.to_owned()))
            .prop_filter("a spec sets something", |e| {
                e.new_name.is_some() || e.tag.is_some() || e.digest.is_some()
            });
        (entries, Just(st), spec)
    })
}

fn spec_string(e: &Entry) -> String {
    let mut s = e.name.clone();
    if let Some(n) = &e.new_name {
        s = format!("{s}={n}");
    }
    if let Some(t) = &e.tag {
        s = format!("{s}:{t}");
    }
    if let Some(d) = &e.digest {
        s = format!("{s}@{d}");
    }
    s
}

/// What the entries must be after the edit, by kustomize's rules.
fn model(mut entries: Vec<Entry>, spec: &Entry) -> Vec<Entry> {
    match entries.iter_mut().find(|e| e.name == spec.name) {
        Some(e) => {
            if spec.new_name.is_some() {
                e.new_name.clone_from(&spec.new_name);
            }
            if spec.tag.is_some() {
                e.tag.clone_from(&spec.tag);
                e.digest = None;
            }
            if spec.digest.is_some() {
                e.digest.clone_from(&spec.digest);
            }
        }
        None => entries.push(spec.clone()),
    }
    entries
}

fn without_images(text: &str) -> tree::Value {
    let mut v = tree::parse(text).unwrap().value().unwrap();
    v.remove("images");
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn an_edit_changes_only_the_intended_values((entries, st, spec) in case()) {
        let before = render(&entries, &st);
        let out = manifest::set_image(&before, &ImageSpec::parse(&spec_string(&spec)).unwrap())
            .map_err(|e| TestCaseError::fail(format!("refused: {e}\n{before}")))?;

        // The entries are exactly what kustomize semantics say.
        let got: Vec<ImageEntry> = manifest::read_images(&out.text).unwrap();
        let want = model(entries.clone(), &spec);
        prop_assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            prop_assert_eq!(&g.name, &w.name);
            prop_assert_eq!(&g.new_name, &w.new_name);
            prop_assert_eq!(&g.new_tag, &w.tag);
            prop_assert_eq!(&g.digest, &w.digest);
        }
        // Everything outside images re-parses to the same document.
        prop_assert_eq!(without_images(&before), without_images(&out.text));

        // Every line removed or added holds an image field of the target entry.
        let diff = TextDiff::from_lines(&before, &out.text);
        for change in diff.iter_all_changes().filter(|c| c.tag() != ChangeTag::Equal) {
            let line = change.value().trim_start_matches('\u{feff}').trim_start();
            let ok = ["newTag:", "newName:", "digest:", "- name:"].iter().any(|k| line.starts_with(k))
                || change.tag() == ChangeTag::Delete && change.value().contains("newTag")
                || change.tag() == ChangeTag::Insert && change.value().contains(&spec.name);
            prop_assert!(ok, "unexpected line change {:?}: {:?}", change.tag(), change.value());
        }
        // Line endings, BOM and the final newline are those of the original.
        prop_assert_eq!(out.text.starts_with('\u{feff}'), st.bom);
        prop_assert_eq!(out.text.ends_with(st.eol), st.final_newline);
        if st.eol == "\r\n" {
            prop_assert_eq!(out.text.matches('\n').count(), out.text.matches("\r\n").count());
        }
    }
}

/// Helm values and a plain manifest of several documents, in random layouts.
fn values_and_manifest() -> impl Strategy<Value = (String, String, usize)> {
    (
        prop_oneof![Just("\n"), Just("\r\n")],
        prop_oneof![Just(2usize), Just(4usize)],
        0u8..3,
        tag(),
        digest(),
        proptest::option::of(comment()),
        0usize..3,
        0usize..3,
        proptest::collection::vec("[a-z]{3,8}", 0..3),
    )
        .prop_map(
            |(eol, n, q, old_tag, old_digest, note, before, after, others)| {
                let i = " ".repeat(n);
                let trailing = note.map(|c| format!("  # {c}")).unwrap_or_default();
                let values = [
                    "# values".to_owned(),
                    "app:".into(),
                    format!("{i}replicas: 2"),
                    format!("{i}image:"),
                    format!("{i}{i}repository: reg.example.com/app"),
                    format!("{i}{i}tag: {}{trailing}", quote(&old_tag, q)),
                    format!("{i}{i}digest: {old_digest}"),
                    "other: [1, 2]".into(),
                ]
                .join(eol)
                    + eol;
                let doc = |name: &str| {
                    let mut lines = vec![
                        "apiVersion: v1".to_owned(),
                        "kind: ConfigMap".into(),
                        "metadata:".into(),
                        format!("{i}name: {name}"),
                    ];
                    lines.push(format!("data: {{k: {name}}}"));
                    lines.join(eol)
                };
                let mut job = vec![
                    "apiVersion: batch/v1".to_owned(),
                    "kind: Job".into(),
                    "spec:".into(),
                    format!("{i}containers:"),
                ];
                for o in &others {
                    job.push(format!("{i}- name: {o}"));
                    job.push(format!("{i}  image: reg.example.com/{o}:1"));
                }
                job.push(format!("{i}- name: migrate{trailing}"));
                job.push(format!(
                    "{i}  image: {}",
                    quote(&format!("reg.example.com/app:{old_tag}@{old_digest}"), q)
                ));
                let mut docs: Vec<String> = (0..before).map(|k| doc(&format!("a{k}"))).collect();
                docs.push(job.join(eol));
                docs.extend((0..after).map(|k| doc(&format!("b{k}"))));
                let manifest = docs.join(&format!("{eol}---{eol}")) + eol;
                (values, manifest, before)
            },
        )
}

/// Every document's data but the one value at `path` of document `doc`.
fn all_but(text: &str, doc: usize, path: &[&str]) -> tree::Value {
    let mut v = tree::parse_stream(text).unwrap().value();
    if let tree::Value::Seq(docs) = &mut v {
        let mut cur = &mut docs[doc];
        for k in &path[..path.len() - 1] {
            cur = cur.get_mut(k).unwrap();
            // The edited item is a list's last (the job's `migrate` container).
            if let tree::Value::Seq(items) = cur {
                cur = items.last_mut().unwrap();
            }
        }
        cur.remove(path[path.len() - 1]);
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A Helm values target and a plain-manifest target: the edit reads back as the
    /// freight, changes only the lines that hold the image, and leaves every other value
    /// of every document as it was.
    #[test]
    fn helm_and_manifest_targets_change_only_the_image(
        (values, manifest, job) in values_and_manifest(),
        new_tag in tag(),
        new_digest in digest(),
    ) {
        use hoist::target::{self, Kind};
        let freight = hoist::freight::Freight {
            service: "app".into(),
            image: hoist::image::ImageName::parse("reg.example.com/app").unwrap(),
            tag: hoist::image::Tag::parse(&new_tag).unwrap(),
            digest: hoist::image::Digest::parse(&new_digest).unwrap(),
            source: None,
            pushed_at: None,
        };
        let helm = Kind::Helm(hoist::config::HelmPaths {
            repository: None,
            tag: Some("app.image.tag".into()),
            digest: Some("app.image.digest".into()),
            image: None,
        });
        let yaml = Kind::Yaml { image: "spec.containers[name=migrate].image".into() };
        for (kind, before, doc, path, keys) in [
            (&helm, &values, 0, vec!["app", "image", "tag"], ["tag:", "digest:"]),
            (&yaml, &manifest, job, vec!["spec", "containers", "image"], ["image:", "image:"]),
        ] {
            let current = target::read(kind, before).unwrap();
            let out = target::write(kind, before, &freight, current.as_ref())
                .map_err(|e| TestCaseError::fail(format!("refused: {e}\n{before}")))?;
            let pin = target::read(kind, &out.text).unwrap().unwrap();
            prop_assert_eq!(pin.tag.as_deref(), Some(new_tag.as_str()));
            prop_assert_eq!(pin.digest.as_deref(), Some(new_digest.as_str()));
            prop_assert_eq!(before.lines().count(), out.text.lines().count());
            for (b, a) in before.lines().zip(out.text.lines()) {
                if b != a {
                    let line = b.trim_start();
                    prop_assert!(keys.iter().any(|k| line.starts_with(k)), "changed {:?}", b);
                }
            }
            if kind == &yaml {
                prop_assert_eq!(all_but(before, doc, &path), all_but(&out.text, doc, &path));
            } else {
                let mut b = all_but(before, 0, &path);
                let mut a = all_but(&out.text, 0, &path);
                for v in [&mut b, &mut a] {
                    if let tree::Value::Seq(d) = v {
                        d[0].get_mut("app").unwrap().get_mut("image").unwrap().remove("digest");
                    }
                }
                prop_assert_eq!(b, a);
            }
        }
    }
}
