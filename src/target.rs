//! Write-back targets: the files that pin a service's image in a stage, each read and
//! edited by its kind (a kustomization's `images:` entry, Helm values, any YAML by path),
//! always through the byte-preserving editor.

use crate::config::{HelmPaths, Service, expand};
use crate::freight::Freight;
use crate::image::{ImageSpec, Reference};
use crate::manifest::{self, Change, EditError, Edited, Path};

/// One target of one stage: the file and what in it pins the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageTarget {
    pub path: String,
    pub kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// The kustomization's `images:` entry of this name.
    Kustomize { name: String },
    /// Helm values at these paths.
    Helm(HelmPaths),
    /// A full image reference at this path.
    Yaml { image: String },
}

impl Kind {
    /// How a person names the kind, for messages.
    pub fn label(&self) -> &'static str {
        match self {
            Kind::Kustomize { .. } => "kustomize",
            Kind::Helm(_) => "helm",
            Kind::Yaml { .. } => "yaml",
        }
    }

    /// The fields of the file the target writes: the images entry's name, or each path.
    pub fn fields(&self) -> Vec<String> {
        match self {
            Kind::Kustomize { name } => vec![format!("images[name={name}]")],
            Kind::Helm(h) => [&h.repository, &h.tag, &h.digest, &h.image]
                .into_iter()
                .flatten()
                .cloned()
                .collect(),
            Kind::Yaml { image } => vec![image.clone()],
        }
    }
}

/// Every target of `service` in `stage`, the one its freight is read from first.
pub fn of(svc: &Service, service: &str, stage: &str) -> Vec<StageTarget> {
    svc.target_list()
        .into_iter()
        .map(|t| StageTarget {
            path: expand(&t.path, service, stage),
            kind: match (t.helm, t.yaml) {
                (Some(h), _) => Kind::Helm(h),
                (None, Some(y)) => Kind::Yaml { image: y.image },
                (None, None) => Kind::Kustomize {
                    name: t.kustomize_name.unwrap_or_else(|| service.to_owned()),
                },
            },
        })
        .collect()
}

/// What a target pins, as far as it says: the image repository, the tag, the digest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pin {
    pub image: Option<String>,
    pub tag: Option<String>,
    pub digest: Option<String>,
    /// 1-based line of the value (the images entry, the first path found), for messages.
    pub line: usize,
}

impl Pin {
    /// Whether two targets can pin the same freight: equal wherever both say something.
    pub fn agrees(&self, other: &Pin) -> bool {
        let same = |a: &Option<String>, b: &Option<String>| match (a, b) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        };
        same(&self.image, &other.image)
            && same(&self.tag, &other.tag)
            && same(&self.digest, &other.digest)
    }

    fn from_reference(value: &str, line: usize) -> Option<Pin> {
        let r = Reference::parse(value).ok()?;
        Some(Pin {
            image: Some(r.name.to_string()),
            tag: r.tag.map(|t| t.to_string()),
            digest: r.digest.map(|d| d.to_string()),
            line,
        })
    }
}

/// Why a target cannot be read: the editor's refusal, or a value that is no image.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Edit(#[from] EditError),
    /// A path's value is not an image reference (line, path, value).
    #[error("line {0}: {1} is {2:?}, which is not an image reference")]
    NotAReference(usize, String, String),
}

impl ReadError {
    /// `path:line:col: why`, as the editor's errors read.
    pub fn in_file(&self, path: &str) -> String {
        match self {
            ReadError::Edit(e) => e.in_file(path),
            ReadError::NotAReference(..) => format!("{path}: {self}"),
        }
    }
}

/// What the target pins in `text`; `None` when it pins nothing yet (no images entry of
/// its name, none of its paths in the file).
pub fn read(kind: &Kind, text: &str) -> Result<Option<Pin>, ReadError> {
    match kind {
        Kind::Kustomize { name } => Ok(manifest::read_images(text)?
            .into_iter()
            .find(|e| &e.name == name)
            .map(|e| Pin {
                image: Some(e.new_name.unwrap_or(e.name)),
                tag: e.new_tag,
                digest: e.digest,
                line: e.line,
            })),
        Kind::Yaml { image } => reference_at(text, image),
        Kind::Helm(h) => {
            if let Some(image) = &h.image {
                return reference_at(text, image);
            }
            let mut pin = Pin::default();
            let mut any = false;
            for (path, slot) in [
                (&h.repository, &mut pin.image),
                (&h.tag, &mut pin.tag),
                (&h.digest, &mut pin.digest),
            ] {
                let Some(path) = path else { continue };
                if let Some((value, line)) = manifest::get_value(text, &parse(path))? {
                    if !any {
                        pin.line = line;
                    }
                    any = true;
                    *slot = Some(value);
                }
            }
            Ok(any.then_some(pin))
        }
    }
}

fn reference_at(text: &str, path: &str) -> Result<Option<Pin>, ReadError> {
    let Some((value, line)) = manifest::get_value(text, &parse(path))? else {
        return Ok(None);
    };
    Pin::from_reference(&value, line)
        .map(Some)
        .ok_or_else(|| ReadError::NotAReference(line, path.to_owned(), value))
}

/// A path the config validated (`check-config` refuses one that does not parse).
fn parse(path: &str) -> Path {
    Path::parse(path).unwrap_or_else(|_| Path(vec![manifest::Segment::Key(path.to_owned())]))
}

/// The edit that makes the target pin `freight`, the way it pins now: a target that pins
/// a tag alone keeps doing so (the digest is in the pull request and the commit trailer);
/// one that pins a digest, or nothing yet, gets the digest too.
pub fn write(
    kind: &Kind,
    text: &str,
    freight: &Freight,
    current: Option<&Pin>,
) -> Result<Edited, EditError> {
    let with_digest = current.is_none_or(|p| p.digest.is_some());
    let reference = || {
        let mut r = format!("{}:{}", freight.image, freight.tag);
        if with_digest {
            r.push('@');
            r.push_str(freight.digest.as_str());
        }
        r
    };
    match kind {
        Kind::Kustomize { name } => {
            let entry = manifest::read_images(text)?
                .into_iter()
                .find(|e| &e.name == name);
            let needs_new_name = entry.map_or(name != freight.image.as_str(), |e| {
                e.new_name.is_some() || e.name != freight.image.as_str()
            });
            let spec = ImageSpec {
                name: name.clone(),
                new_name: needs_new_name.then(|| freight.image.clone()),
                tag: Some(freight.tag.clone()),
                digest: with_digest.then(|| freight.digest.clone()),
            };
            manifest::set_image(text, &spec)
        }
        Kind::Yaml { image } => manifest::set_value(text, &parse(image), &reference()),
        Kind::Helm(h) => {
            if let Some(image) = &h.image {
                return manifest::set_value(text, &parse(image), &reference());
            }
            let values = [
                (&h.repository, freight.image.to_string()),
                (&h.tag, freight.tag.to_string()),
                (&h.digest, freight.digest.to_string()),
            ];
            let mut out = text.to_owned();
            let mut changes: Vec<Change> = vec![];
            for (path, value) in values {
                let Some(path) = path else { continue };
                let edited = manifest::set_value(&out, &parse(path), &value)?;
                out = edited.text;
                changes.extend(edited.changes);
            }
            Ok(Edited { text: out, changes })
        }
    }
}
