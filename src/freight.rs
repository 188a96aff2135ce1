//! Freight: the immutable thing promoted, an image pinned by digest.

use std::fmt;

use serde::Serialize;

use crate::config::Config;
use crate::image::{Digest, ImageName, ReferenceError, Tag};
use crate::tags::{Rejection, TagFilter};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Freight {
    pub service: String,
    pub image: ImageName,
    pub tag: Tag,
    /// The identity of the freight: the same digest is the same freight.
    pub digest: Digest,
    /// Commit the image was built from (`org.opencontainers.image.revision`), when known.
    pub source: Option<String>,
    /// When the image was pushed (RFC 3339), when known.
    pub pushed_at: Option<String>,
}

impl Freight {
    /// `service@sha256:…`, as written in the `Hoist-Freight` trailer.
    pub fn id(&self) -> String {
        format!("{}@{}", self.service, self.digest)
    }

    /// `v1.4.0 (sha256:a1a1a1a…)`: how a refusal names the freight.
    pub fn label(&self) -> String {
        format!("{} ({})", self.tag, self.digest.short())
    }
}

/// Why an event produced no freight. Each is a normal outcome, reported, not an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoFreight {
    NotEcrPush { source: String, detail_type: String },
    NotPush(String),
    Failed(String),
    Untagged,
    BadReference(ReferenceError),
    UnknownImage(String),
    Filtered { service: String, why: Rejection },
}

impl fmt::Display for NoFreight {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::messages::no_freight(self))
    }
}

/// The freight a successful push of `image:tag@digest` is for a configured service: its
/// values validated and its tag checked against the service's policy.
pub fn for_push(
    config: &Config,
    image: &str,
    tag: &str,
    digest: &str,
    time: &str,
) -> Result<Freight, NoFreight> {
    let (service, svc) = config
        .services
        .iter()
        .find(|(_, s)| s.image == image)
        .ok_or_else(|| NoFreight::UnknownImage(image.to_owned()))?;
    let tag = Tag::parse(tag).map_err(NoFreight::BadReference)?;
    let digest = Digest::parse(digest).map_err(NoFreight::BadReference)?;
    let filter = TagFilter::new(&svc.tags).map_err(|e| NoFreight::Filtered {
        service: service.into(),
        why: Rejection::NotAllowed {
            tag: tag.to_string(),
            pattern: e,
        },
    })?;
    filter
        .check(tag.as_str())
        .map_err(|why| NoFreight::Filtered {
            service: service.into(),
            why,
        })?;
    Ok(Freight {
        service: service.to_owned(),
        image: ImageName::parse(image).map_err(NoFreight::BadReference)?,
        tag,
        digest,
        source: None,
        pushed_at: Some(time.to_owned()),
    })
}
