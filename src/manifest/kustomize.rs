//! Kustomize `images:` entries: what `kustomize edit set image` does, minus the
//! reformatting of the whole file.

use super::scalar;
use super::tree::{Kind, Node, Value, dash_before};
use super::{Change, EditError, Edited, Plan, Reason, text};
use crate::image::ImageSpec;
use granit_parser::ScalarStyle;

/// Top-level fields of a Kustomization (and Component); a file with none of them is
/// not one.
const KUSTOMIZATION_FIELDS: &[&str] = &[
    "apiVersion",
    "kind",
    "resources",
    "bases",
    "components",
    "images",
    "patches",
    "patchesStrategicMerge",
    "patchesJson6902",
    "namePrefix",
    "nameSuffix",
    "namespace",
    "commonLabels",
    "commonAnnotations",
    "labels",
    "configMapGenerator",
    "secretGenerator",
    "generatorOptions",
    "generators",
    "transformers",
    "validators",
    "helmCharts",
    "helmGlobals",
    "replicas",
    "replacements",
    "vars",
    "crds",
    "openapi",
    "configurations",
    "buildMetadata",
    "sortOptions",
];

/// An `images:` entry as a kustomization states it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImageEntry {
    pub name: String,
    pub new_name: Option<String>,
    pub new_tag: Option<String>,
    pub digest: Option<String>,
    /// 1-based line of the entry, for messages.
    pub line: usize,
}

/// Reads the `images:` entries of a kustomization, refusing what `set_image` refuses.
pub fn read_images(text: &str) -> Result<Vec<ImageEntry>, EditError> {
    let (plan, root) = Plan::new(text)?;
    check_kustomization(&plan, &root)?;
    let Some(images) = root.get("images") else {
        return Ok(vec![]);
    };
    let Kind::Seq { items, .. } = &images.kind else {
        return Ok(vec![]);
    };
    let field = |n: &Node, k: &str| n.get(k).and_then(Node::as_str).map(str::to_owned);
    Ok(items
        .iter()
        .filter_map(|item| {
            Some(ImageEntry {
                name: field(item, "name")?,
                new_name: field(item, "newName"),
                new_tag: field(item, "newTag"),
                digest: field(item, "digest"),
                line: text::line_col(text, item.span.start).0,
            })
        })
        .collect())
}

/// Sets the fields `spec` names on the `images:` entry whose `name` is `spec.name`,
/// adding the entry (or the whole `images:` list) when it is missing.
///
/// A tag without a digest removes an existing `digest`: a stale digest would keep
/// pinning the old image. A digest without a tag keeps the tag.
pub fn set_image(text: &str, spec: &ImageSpec) -> Result<Edited, EditError> {
    let (mut plan, root) = Plan::new(text)?;
    check_kustomization(&plan, &root)?;
    let Some((images_key, images)) = root
        .entries()
        .iter()
        .find(|(k, _)| k.as_str() == Some("images"))
    else {
        create_images_block(&mut plan, &root, None, spec)?;
        return plan.finish();
    };
    plan.check_not_shared(images, "images")?;
    match &images.kind {
        Kind::Seq { items, .. } if !items.is_empty() => {
            match find_entry(&plan, items, &spec.name)? {
                Some(i) => edit_entry(&mut plan, images, i, spec)?,
                None => append_entry(&mut plan, images, spec)?,
            }
        }
        Kind::Seq { .. } => {
            create_images_block(&mut plan, &root, Some((images_key, images)), spec)?
        }
        _ if images.is_null() => {
            create_images_block(&mut plan, &root, Some((images_key, images)), spec)?
        }
        _ => {
            return Err(plan.err(
                images,
                Reason::NotAList {
                    what: "images".into(),
                },
            ));
        }
    }
    plan.finish()
}

fn check_kustomization(plan: &Plan, root: &Node) -> Result<(), EditError> {
    let not = |why: String| Err(plan.err(root, Reason::NotKustomization(why)));
    let Kind::Map { entries, .. } = &root.kind else {
        return not("the top level is not a mapping".into());
    };
    if let Some(kind) = root.get("kind").and_then(Node::as_str)
        && kind != "Kustomization"
        && kind != "Component"
    {
        return not(format!(
            "its kind is {kind:?}, expected Kustomization or Component"
        ));
    }
    let known = entries.iter().any(|(k, _)| {
        k.as_str()
            .is_some_and(|k| KUSTOMIZATION_FIELDS.contains(&k))
    });
    if !known {
        return not(
            "none of its top-level keys is a kustomization field (resources, images, ...)".into(),
        );
    }
    Ok(())
}

fn find_entry(plan: &Plan, items: &[Node], name: &str) -> Result<Option<usize>, EditError> {
    let mut found: Option<usize> = None;
    for (i, item) in items.iter().enumerate() {
        let what = format!("images[{i}]");
        if let Kind::Alias(_) = item.kind {
            return Err(plan.err(item, Reason::Alias { what }));
        }
        plan.check_no_merge(item, &what)?;
        let Some(name_node) = item.get("name") else {
            continue;
        };
        if let Kind::Alias(_) = name_node.kind {
            return Err(plan.err(
                name_node,
                Reason::Alias {
                    what: format!("{what}.name"),
                },
            ));
        }
        if name_node.as_str() != Some(name) {
            continue;
        }
        if let Some(first) = found {
            let first_line = text::line_col(plan.text, items[first].span.start).0;
            return Err(plan.err(
                item,
                Reason::DuplicateEntry {
                    name: name.into(),
                    first_line,
                },
            ));
        }
        found = Some(i);
    }
    Ok(found)
}

/// The fields the spec sets, in kustomize's order, as (key, value).
fn fields(spec: &ImageSpec) -> Vec<(&'static str, &str)> {
    let mut f = vec![];
    if let Some(n) = &spec.new_name {
        f.push(("newName", n.as_str()));
    }
    if let Some(t) = &spec.tag {
        f.push(("newTag", t.as_str()));
    }
    if let Some(d) = &spec.digest {
        f.push(("digest", d.as_str()));
    }
    f
}

/// Edits one images entry in place: its fields replaced, inserted or removed, byte for byte
/// elsewhere.
///
/// Kept whole: the replace, insert and remove steps record each change, then the same edits
/// are applied to the expected value; they share that record.
fn edit_entry(plan: &mut Plan, images: &Node, i: usize, spec: &ImageSpec) -> Result<(), EditError> {
    let Kind::Seq { items, .. } = &images.kind else {
        unreachable!("edit_entry is called on a sequence")
    };
    let entry = &items[i];
    plan.check_not_shared(entry, &format!("images[{i}]"))?;
    plan.check_no_merge(entry, &format!("images[{i}]"))?;
    let remove_digest = spec.tag.is_some() && spec.digest.is_none();
    let digest = entry
        .entries()
        .iter()
        .find(|(k, _)| k.as_str() == Some("digest"));

    let mut missing = vec![];
    for (key, new) in fields(spec) {
        let what = format!("images[{i}].{key}");
        match entry.get(key) {
            Some(node) => {
                plan.replace_scalar(node, &what, new)?;
            }
            None => {
                missing.push((
                    key.to_owned(),
                    scalar::render(new, sibling_style(items, key)),
                ));
                plan.changes.push(Change {
                    what,
                    old: None,
                    new: Some(new.into()),
                });
            }
        }
    }
    // Insert behind the last entry that stays.
    let after = entry
        .entries()
        .iter()
        .rev()
        .find(|(k, _)| !(remove_digest && k.as_str() == Some("digest")))
        .map(|(_, v)| v);
    plan.insert_keys(entry, &format!("images[{i}]"), &missing, after)?;
    if remove_digest && let Some((k, v)) = digest {
        if entry.is_flow() {
            return Err(plan.err(
                k,
                Reason::Flow {
                    what: format!("images[{i}]"),
                    action: "remove the stale digest",
                },
            ));
        }
        plan.check_not_shared(v, &format!("images[{i}].digest"))?;
        plan.remove_line(k, v, &format!("images[{i}].digest"))?;
        plan.changes.push(Change {
            what: format!("images[{i}].digest"),
            old: v.as_str().map(str::to_owned),
            new: None,
        });
    }

    if let Some(Value::Seq(values)) = plan.expected.get_mut("images") {
        let target = &mut values[i];
        for (key, new) in fields(spec) {
            target.set(key, Value::str(new));
        }
        if remove_digest {
            target.remove("digest");
        }
    }
    Ok(())
}

/// The quote style the sibling entries use for `key`, so a new entry looks like them.
fn sibling_style(items: &[Node], key: &str) -> ScalarStyle {
    items
        .iter()
        .rev()
        .find_map(|item| match &item.get(key)?.kind {
            Kind::Scalar { style, .. } => Some(*style),
            _ => None,
        })
        .filter(|s| matches!(s, ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted))
        .unwrap_or(ScalarStyle::Plain)
}

fn entry_value(spec: &ImageSpec) -> Value {
    let mut entries = vec![(Value::str("name"), Value::str(&spec.name))];
    for (k, v) in fields(spec) {
        entries.push((Value::str(k), Value::str(v)));
    }
    Value::Map(entries)
}

/// The lines of a new entry: `{dash}- name: ..` then `{key}key: ..`, where `key` is
/// the column of the entry's keys.
fn entry_lines(spec: &ImageSpec, items: &[Node], dash: usize, key: usize, eol: &str) -> String {
    let key = key.max(dash + 2);
    let mut s = format!(
        "{}-{}name: {}",
        " ".repeat(dash),
        " ".repeat(key - dash - 1),
        scalar::render(&spec.name, sibling_style(items, "name"))
    );
    for (k, v) in fields(spec) {
        s.push_str(eol);
        s.push_str(&" ".repeat(key));
        s.push_str(k);
        s.push_str(": ");
        s.push_str(&scalar::render(v, sibling_style(items, k)));
    }
    s
}

fn append_entry(plan: &mut Plan, images: &Node, spec: &ImageSpec) -> Result<(), EditError> {
    if images.is_flow() {
        return Err(plan.err(
            images,
            Reason::Flow {
                what: "images".into(),
                action: "add an entry",
            },
        ));
    }
    let Kind::Seq { items, .. } = &images.kind else {
        unreachable!("append_entry is called on a sequence")
    };
    let last = items
        .last()
        .expect("append_entry is called on a non-empty list");
    let dash = dash_before(plan.text, last.span.start).ok_or_else(|| {
        plan.err(
            last,
            Reason::Layout {
                what: "the last images entry does not start with '- ' on its line".into(),
            },
        )
    })?;
    let col = text::column(plan.text, dash);
    let key_col = match last.entries().first() {
        Some((k, _)) => super::tree::key_indent(plan.text, k.span.start),
        None => col + 2,
    };
    let lines = entry_lines(spec, items, col, key_col, plan.eol);
    let at = text::line_end(plan.text, images.content_end(plan.text));
    plan.edits
        .push(super::Edit::insert(at, format!("{}{lines}", plan.eol)));
    plan.changes.push(Change {
        what: format!("images[{}]", items.len()),
        old: None,
        new: Some(format!("entry {}", spec.name)),
    });
    if let Some(Value::Seq(values)) = plan.expected.get_mut("images") {
        values.push(entry_value(spec));
    }
    Ok(())
}

/// How far the file indents block lists under their key: 0 for kustomize's own
/// `- item` directly below `key:`, 2 for the indented style.
fn list_indent(plan: &Plan, root: &Node) -> usize {
    root.entries()
        .iter()
        .find_map(|(k, v)| match &v.kind {
            Kind::Seq { flow: false, items } => {
                let dash = dash_before(plan.text, items.first()?.span.start)?;
                Some(
                    text::column(plan.text, dash)
                        .saturating_sub(text::column(plan.text, k.span.start)),
                )
            }
            _ => None,
        })
        .unwrap_or(0)
}

/// Writes a fresh `images:` list: at the end of the document when there is no key, or
/// in place of `images: []`, `images: ~` and a bare `images:`.
fn create_images_block(
    plan: &mut Plan,
    root: &Node,
    existing: Option<(&Node, &Node)>,
    spec: &ImageSpec,
) -> Result<(), EditError> {
    if root.is_flow() {
        return Err(plan.err(
            root,
            Reason::Flow {
                what: "the document".into(),
                action: "add an images list",
            },
        ));
    }
    let key_col = root
        .entries()
        .first()
        .map_or(0, |(k, _)| super::tree::key_indent(plan.text, k.span.start));
    let dash = key_col + list_indent(plan, root);
    let lines = entry_lines(spec, &[], dash, dash + 2, plan.eol);
    let eol = plan.eol;
    match existing {
        None => {
            let at = text::line_end(plan.text, root.content_end(plan.text));
            let block = format!("{eol}{}images:{eol}{lines}", " ".repeat(key_col));
            plan.edits.push(super::Edit::insert(at, block));
        }
        Some((key, value)) => {
            let colon = super::tree::colon_after(plan.text, key).ok_or_else(|| {
                plan.err(
                    key,
                    Reason::Layout {
                        what: "images is not a plain `images:` key".into(),
                    },
                )
            })?;
            // Drop ` []` or ` ~`, keep any comment, and start the list on the next line.
            plan.edits.push(super::Edit::replace(
                colon + 1..value.span.end.max(colon + 1),
                "",
            ));
            let at = text::line_end(plan.text, value.span.end.max(colon + 1));
            plan.edits
                .push(super::Edit::insert(at, format!("{eol}{lines}")));
        }
    }
    plan.changes.push(Change {
        what: "images[0]".into(),
        old: None,
        new: Some(format!("entry {}", spec.name)),
    });
    plan.expected
        .set("images", Value::Seq(vec![entry_value(spec)]));
    Ok(())
}
