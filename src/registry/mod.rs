//! The registry port: what images a repository holds, for the reconcile pass that
//! catches pushes whose events never arrived (ECR events are best effort).

pub mod ecr;

use std::future::Future;

/// One tagged image in a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageVersion {
    pub tag: String,
    pub digest: String,
    /// RFC 3339.
    pub pushed_at: String,
}

pub trait Registry: Send + Sync + 'static {
    /// Every tagged image of `image` (`ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME`).
    fn images(&self, image: &str)
    -> impl Future<Output = Result<Vec<ImageVersion>, String>> + Send;
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
    async fn images(&self, _image: &str) -> Result<Vec<ImageVersion>, String> {
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
