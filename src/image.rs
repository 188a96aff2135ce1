//! Image references, tags and digests: the only values Hoist writes into manifests.
//!
//! The grammar follows the OCI distribution reference grammar (the one Docker's
//! `reference` package implements), so `registry:5000/app` is a name with a port,
//! not a name with a tag.

use std::fmt;
use std::sync::LazyLock;

use regex::Regex;

/// Why a reference, tag or digest was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error(
        "image name {0:?} is not a valid reference (lowercase path components separated by '/', optionally after a registry host[:port])"
    )]
    Name(String),
    #[error(
        "tag {0:?} is not valid: a tag is 1 to 128 of [A-Za-z0-9_.-] and does not start with '.' or '-'"
    )]
    Tag(String),
    #[error("digest {0:?} is not valid: expected sha256: followed by 64 lowercase hex digits")]
    Digest(String),
    #[error("image spec {spec:?}: {why}")]
    Spec { spec: String, why: &'static str },
}

static TAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$").expect("tag regex"));
static DIGEST: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^sha256:[0-9a-f]{64}$").expect("digest regex"));
/// `[domain/]path`, from the distribution reference grammar.
static NAME: LazyLock<Regex> = LazyLock::new(|| {
    let label = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
    let host = format!(r"(?:{label}(?:\.{label})*|\[[0-9a-fA-F:]+\])");
    let domain = format!(r"{host}(?::[0-9]+)?");
    let component = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
    Regex::new(&format!(r"^(?:{domain}/)?{component}(?:/{component})*$")).expect("name regex")
});

/// A validated image tag.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct Tag(String);

impl Tag {
    pub fn parse(s: &str) -> Result<Self, ReferenceError> {
        if TAG.is_match(s) {
            Ok(Self(s.to_owned()))
        } else {
            Err(ReferenceError::Tag(s.to_owned()))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A validated `sha256:` content digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct Digest(String);

impl Digest {
    pub fn parse(s: &str) -> Result<Self, ReferenceError> {
        if DIGEST.is_match(s) {
            Ok(Self(s.to_owned()))
        } else {
            Err(ReferenceError::Digest(s.to_owned()))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// `sha256:4f2a0c…9c1e`: enough to recognise, short enough for a table cell.
    pub fn short(&self) -> String {
        let hex = &self.0["sha256:".len()..];
        format!("sha256:{}…{}", &hex[..6], &hex[hex.len() - 4..])
    }
}

/// A validated repository name, with its registry host if it has one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct ImageName(String);

impl ImageName {
    pub fn parse(s: &str) -> Result<Self, ReferenceError> {
        if s.len() <= 255 && NAME.is_match(s) {
            Ok(Self(s.to_owned()))
        } else {
            Err(ReferenceError::Name(s.to_owned()))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Display for ImageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A full reference `NAME[:TAG][@DIGEST]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub name: ImageName,
    pub tag: Option<Tag>,
    pub digest: Option<Digest>,
}

impl Reference {
    pub fn parse(s: &str) -> Result<Self, ReferenceError> {
        let (rest, digest) = match s.split_once('@') {
            Some((rest, d)) => (rest, Some(Digest::parse(d)?)),
            None => (s, None),
        };
        // A ':' after the last '/' starts the tag; one before it belongs to a registry port.
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => {
                let at = last_slash + i;
                (&rest[..at], Some(Tag::parse(&rest[at + 1..])?))
            }
            None => (rest, None),
        };
        Ok(Self {
            name: ImageName::parse(name)?,
            tag,
            digest,
        })
    }
}

/// What `hoist set-image` sets on a kustomize `images:` entry: the grammar of
/// `kustomize edit set image`, `NAME[=NEWNAME][:TAG][@DIGEST]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSpec {
    /// Matched literally against `images[].name`.
    pub name: String,
    pub new_name: Option<ImageName>,
    pub tag: Option<Tag>,
    pub digest: Option<Digest>,
}

impl ImageSpec {
    pub fn parse(spec: &str) -> Result<Self, ReferenceError> {
        let bad = |why| ReferenceError::Spec {
            spec: spec.to_owned(),
            why,
        };
        if spec.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("contains white space or control characters"));
        }
        let parsed = match spec.split_once('=') {
            Some((name, target)) => {
                if name.is_empty() {
                    return Err(bad("the name before '=' is empty"));
                }
                let r = Reference::parse(target)?;
                Self {
                    name: name.to_owned(),
                    new_name: Some(r.name),
                    tag: r.tag,
                    digest: r.digest,
                }
            }
            None => {
                let r = Reference::parse(spec)?;
                Self {
                    name: r.name.0,
                    new_name: None,
                    tag: r.tag,
                    digest: r.digest,
                }
            }
        };
        if parsed.new_name.is_none() && parsed.tag.is_none() && parsed.digest.is_none() {
            return Err(bad("names nothing to set: add =NEWNAME, :TAG or @DIGEST"));
        }
        Ok(parsed)
    }
}

/// A commit SHA as people read it: its first seven characters.
pub fn short_sha(sha: &str) -> &str {
    sha.get(..7).unwrap_or(sha)
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:4f2a0c5e1b7d9a3c6e8f0a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e2f4a6b9c1e";

    #[test]
    fn registry_port_is_not_a_tag() {
        let r = Reference::parse("registry.example.com:5000/team/app").unwrap();
        assert_eq!(r.name.as_str(), "registry.example.com:5000/team/app");
        assert_eq!(r.tag, None);
        let r = Reference::parse("localhost:5000/app:v1.2").unwrap();
        assert_eq!(r.name.as_str(), "localhost:5000/app");
        assert_eq!(r.tag.unwrap().as_str(), "v1.2");
    }

    #[test]
    fn digest_and_tag_together() {
        let r = Reference::parse(&format!(
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1@{D}"
        ))
        .unwrap();
        assert_eq!(r.tag.unwrap().as_str(), "v1");
        assert_eq!(r.digest.unwrap().as_str(), D);
    }

    #[test]
    fn refuses_bad_parts() {
        assert!(matches!(
            Reference::parse("App:v1"),
            Err(ReferenceError::Name(_))
        ));
        assert!(matches!(
            Reference::parse("app:-v1"),
            Err(ReferenceError::Tag(_))
        ));
        assert!(matches!(
            Reference::parse("app@sha256:ABC"),
            Err(ReferenceError::Digest(_))
        ));
        assert!(Tag::parse(&"a".repeat(129)).is_err());
        assert!(Tag::parse(&"a".repeat(128)).is_ok());
        assert!(Tag::parse("v1\nnewName: evil").is_err());
    }

    #[test]
    fn spec_grammar_matches_kustomize() {
        let s = ImageSpec::parse("nginx=registry:5000/nginx:1.25").unwrap();
        assert_eq!(s.name, "nginx");
        assert_eq!(s.new_name.unwrap().as_str(), "registry:5000/nginx");
        assert_eq!(s.tag.unwrap().as_str(), "1.25");
        let s = ImageSpec::parse(&format!("nginx@{D}")).unwrap();
        assert_eq!((s.tag, s.digest.unwrap().as_str()), (None, D));
        assert!(ImageSpec::parse("nginx").is_err());
        assert!(ImageSpec::parse("=nginx:1").is_err());
    }

    #[test]
    fn short_digest() {
        assert_eq!(Digest::parse(D).unwrap().short(), "sha256:4f2a0c…9c1e");
    }
}
