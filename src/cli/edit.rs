//! `hoist set-image` and `hoist set-value`: the manifest editor on the command line.

use std::fs;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;

use crate::image::ImageSpec;
use crate::manifest::{self, Edited, Path};
use crate::{diff, fsutil};

/// Where the edited file goes.
#[derive(Debug, Args)]
pub struct Output {
    /// Print the edited file to stdout instead of writing it.
    #[arg(long, conflicts_with = "diff")]
    stdout: bool,
    /// Print a unified diff of the edit to stdout instead of writing it.
    #[arg(long)]
    diff: bool,
}

/// Set images in a kustomization, changing only the values named (a
/// formatting-safe `kustomize edit set image`).
///
/// A tag without a digest removes the entry's existing `digest`, because a stale
/// digest would keep pinning the old image. A digest without a tag keeps the tag.
/// A missing entry, or a missing `images:` list, is added. Comments, blank lines,
/// order, quotes, indentation and line endings are kept byte for byte.
#[derive(Debug, Args)]
pub struct SetImageArgs {
    /// The kustomization.yaml to edit.
    file: PathBuf,
    /// NAME[=NEWNAME][:TAG][@DIGEST], as for `kustomize edit set image`; NAME is
    /// matched literally against `images[].name`.
    #[arg(required = true, value_name = "SPEC")]
    specs: Vec<String>,
    #[command(flatten)]
    out: Output,
}

/// Set one value in any YAML file (a Helm values file, say) by a dotted path such as
/// `image.tag` or `spec.containers[0].image`, changing only that value.
///
/// A missing last key is added to its mapping. The value is written as a string,
/// quoted when YAML would otherwise read it as a number, boolean, null or date.
#[derive(Debug, Args)]
pub struct SetValueArgs {
    /// The YAML file to edit.
    file: PathBuf,
    /// Dotted path: keys separated by '.', list indices as [n].
    path: String,
    /// The new string value.
    value: String,
    #[command(flatten)]
    out: Output,
}

pub fn set_image(args: SetImageArgs) -> Result<()> {
    let specs = args
        .specs
        .iter()
        .map(|s| ImageSpec::parse(s))
        .collect::<Result<Vec<_>, _>>()?;
    let mut notes = vec![];
    edit_file(&args.file, &args.out, |text| {
        // A name no entry has gets a new entry: said, with the name probably meant.
        if let Ok(entries) = manifest::read_images(text) {
            let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
            for spec in &specs {
                let name = spec.name.as_str();
                if !names.contains(&name) {
                    notes.push(crate::messages::image_entry_added(
                        name,
                        crate::suggest::suggest(name, &names),
                    ));
                }
            }
        }
        let mut all = Edited {
            text: text.to_owned(),
            changes: vec![],
        };
        for spec in &specs {
            let next = manifest::set_image(&all.text, spec)?;
            all.text = next.text;
            all.changes.extend(next.changes);
        }
        Ok(all)
    })?;
    for n in notes {
        eprintln!("{}: {n}", args.file.display());
    }
    Ok(())
}

pub fn set_value(args: SetValueArgs) -> Result<()> {
    let path = Path::parse(&args.path)?;
    edit_file(&args.file, &args.out, |text| {
        manifest::set_value(text, &path, &args.value)
    })
}

fn edit_file(
    file: &std::path::Path,
    out: &Output,
    edit: impl FnOnce(&str) -> Result<Edited, manifest::EditError>,
) -> Result<()> {
    let shown = file.display().to_string();
    let bytes = fs::read(file).with_context(|| format!("cannot read {shown}"))?;
    let Ok(text) = String::from_utf8(bytes) else {
        bail!("{shown}: not UTF-8 text; Hoist edits UTF-8 YAML only");
    };
    let edited = edit(&text).map_err(|e| anyhow::anyhow!(e.in_file(&shown)))?;
    if out.stdout {
        print!("{}", edited.text);
    } else if out.diff {
        print!("{}", diff::unified(&shown, &text, &edited.text));
    } else if edited.is_changed() {
        fsutil::write_atomic(file, edited.text.as_bytes())
            .with_context(|| format!("cannot write {shown}"))?;
    }
    if edited.is_changed() {
        let verb = if out.stdout || out.diff {
            "would update"
        } else {
            "updated"
        };
        let list: Vec<String> = edited.changes.iter().map(ToString::to_string).collect();
        eprintln!("{shown}: {verb}: {}", list.join(", "));
    } else {
        eprintln!("{shown}: unchanged");
    }
    Ok(())
}
