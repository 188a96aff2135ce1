//! Freight: the immutable thing promoted, an image pinned by digest.

use serde::Serialize;

use crate::image::{Digest, ImageName, Tag};

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
}
