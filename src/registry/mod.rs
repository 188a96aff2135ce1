//! The registry port: what images a repository holds, for the reconcile pass that
//! catches pushes whose events never arrived (ECR events are best effort), and the
//! labels an image was built with, to show its source commit in a pull request.

pub mod ecr;

use std::collections::BTreeMap;
use std::future::Future;

/// One tagged image in a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageVersion {
    pub tag: String,
    pub digest: String,
    /// RFC 3339.
    pub pushed_at: String,
}

/// The registry could not answer: unreachable, refused, or an answer Hoist cannot read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RegistryError(pub String);

impl From<String> for RegistryError {
    fn from(why: String) -> Self {
        RegistryError(why)
    }
}

pub trait Registry: Send + Sync + 'static {
    /// Every tagged image of `image` (`ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME`).
    fn images(
        &self,
        image: &str,
    ) -> impl Future<Output = Result<Vec<ImageVersion>, RegistryError>> + Send;
    /// The image config's labels of `image@digest`; none where the registry cannot say.
    fn labels(
        &self,
        _image: &str,
        _digest: &str,
    ) -> impl Future<Output = Result<BTreeMap<String, String>, RegistryError>> + Send {
        async { Ok(BTreeMap::new()) }
    }
}

pub const REVISION_LABEL: &str = "org.opencontainers.image.revision";
pub const SOURCE_LABEL: &str = "org.opencontainers.image.source";

/// A label is the image builder's text: nothing that could break out of a table cell.
fn unsafe_in_table(c: char) -> bool {
    c.is_whitespace() || c.is_control() || matches!(c, '`' | '|' | '<' | '>')
}

/// The commit an image was built from, whole, as its `revision` label says: what a
/// group's members are matched by. `None` when absent or not one token.
pub fn revision(labels: &BTreeMap<String, String>) -> Option<String> {
    let rev = labels.get(REVISION_LABEL)?.trim();
    (!rev.is_empty() && !rev.chars().any(unsafe_in_table)).then(|| rev.to_owned())
}

/// The commit an image was built from, as a pull request shows it: `acme/my-app@3f9c2d1`
/// from the OCI `source` and `revision` labels, or the revision alone.
pub fn source(labels: &BTreeMap<String, String>) -> Option<String> {
    let rev = labels.get(REVISION_LABEL)?.trim();
    if rev.is_empty() || rev.chars().any(unsafe_in_table) {
        return None;
    }
    let short = if rev.len() >= 12 && rev.bytes().all(|b| b.is_ascii_hexdigit()) {
        &rev[..7]
    } else {
        rev
    };
    let repo = labels
        .get(SOURCE_LABEL)
        .map(|s| {
            let s = s.trim().trim_end_matches('/').trim_end_matches(".git");
            // https://github.com/acme/my-app -> acme/my-app
            s.split_once("://")
                .and_then(|(_, rest)| rest.split_once('/'))
                .map_or(s, |(_, path)| path)
        })
        .filter(|s| !s.is_empty() && !s.chars().any(unsafe_in_table));
    Some(match repo {
        Some(r) => format!("{r}@{short}"),
        None => short.to_owned(),
    })
}

/// The newest image a tag filter accepts: the highest version, or for tags that are not
/// versions, the latest push.
pub fn newest(images: &[ImageVersion], accept: impl Fn(&str) -> bool) -> Option<&ImageVersion> {
    images.iter().filter(|i| accept(&i.tag)).max_by(|a, b| {
        crate::tags::compare(&a.tag, &b.tag).unwrap_or_else(|| a.pushed_at.cmp(&b.pushed_at))
    })
}

/// Until a registry is configured: reconcile finds no images.
pub struct NoRegistry;

impl Registry for NoRegistry {
    async fn images(&self, _image: &str) -> Result<Vec<ImageVersion>, RegistryError> {
        Ok(vec![])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(tag: &str, at: &str) -> ImageVersion {
        ImageVersion {
            tag: tag.into(),
            digest: format!("sha256:{}", "0".repeat(64)),
            pushed_at: at.into(),
        }
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn source_from_oci_labels() {
        let rev = "3f9c2d1a7b8e9f00112233445566778899aabbcc";
        for (src, want) in [
            ("https://github.com/acme/my-app", "acme/my-app@3f9c2d1"),
            ("https://github.com/acme/my-app.git/", "acme/my-app@3f9c2d1"),
            (
                "git@github.com:acme/my-app",
                "git@github.com:acme/my-app@3f9c2d1",
            ),
        ] {
            assert_eq!(
                source(&labels(&[(REVISION_LABEL, rev), (SOURCE_LABEL, src)])).as_deref(),
                Some(want)
            );
        }
        assert_eq!(
            source(&labels(&[(REVISION_LABEL, "v1.4.0")])).as_deref(),
            Some("v1.4.0")
        );
        assert_eq!(
            source(&labels(&[(SOURCE_LABEL, "https://x/y")])),
            None,
            "no revision"
        );
        // A label is the image builder's text: nothing that could break the table.
        assert_eq!(source(&labels(&[(REVISION_LABEL, "a` | b")])), None);
    }

    #[test]
    fn highest_version_or_latest_push() {
        let imgs = [
            v("v1.10.0", "2026-01-01"),
            v("v1.9.0", "2026-02-01"),
            v("v2.0.0", "2026-03-01"),
        ];
        assert_eq!(
            newest(&imgs, |t| t.starts_with("v1")).unwrap().tag,
            "v1.10.0"
        );
        let imgs = [v("main-aaa", "2026-01-02"), v("main-bbb", "2026-01-01")];
        assert_eq!(newest(&imgs, |_| true).unwrap().tag, "main-aaa");
    }
}
