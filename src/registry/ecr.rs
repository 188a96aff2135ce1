//! Amazon ECR through `aws-sdk-ecr`, with the default credential chain (IRSA on EKS, the
//! execution role on Lambda) and `AWS_ENDPOINT_URL` honoured for tests.
//!
//! An image's labels live in its config blob: `BatchGetImage` gives the manifest (an
//! index first, for multi-platform images), `GetDownloadUrlForLayer` a presigned URL for
//! the config, which is fetched and checked against its digest.

use std::collections::BTreeMap;

use aws_sdk_ecr::config::Region;
use aws_sdk_ecr::types::{DescribeImagesFilter, ImageIdentifier, TagStatus};
use aws_smithy_types::date_time::Format;
use sha2::{Digest as _, Sha256};

use super::{ImageVersion, Registry};

/// Manifest types Hoist reads: OCI and Docker, single images and indexes.
const MANIFEST_TYPES: [&str; 4] = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];
/// Image configs are a few kilobytes; anything past this is not one.
const MAX_CONFIG: usize = 1 << 20;

pub struct Ecr {
    shared: aws_config::SdkConfig,
    /// Fetches config blobs from their presigned URLs (no credentials of its own).
    http: octocrab::Octocrab,
}

impl Ecr {
    /// Loads the AWS configuration the usual way (environment, profile, web identity,
    /// instance role). The region comes from each image's address, so none is looked up.
    pub async fn from_env() -> Self {
        let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .load()
            .await;
        Self::new(shared)
    }

    pub fn new(shared: aws_config::SdkConfig) -> Self {
        let http = octocrab::Octocrab::builder()
            .set_connect_timeout(Some(std::time::Duration::from_secs(5)))
            .set_read_timeout(Some(std::time::Duration::from_secs(15)))
            .build()
            .expect("an HTTP client without credentials always builds");
        Self { shared, http }
    }

    /// The manifest of `digest` as JSON.
    async fn manifest(
        &self,
        client: &aws_sdk_ecr::Client,
        account: &str,
        repo: &str,
        digest: &str,
    ) -> Result<serde_json::Value, String> {
        let out = client
            .batch_get_image()
            .registry_id(account)
            .repository_name(repo)
            .image_ids(ImageIdentifier::builder().image_digest(digest).build())
            .set_accepted_media_types(Some(MANIFEST_TYPES.map(String::from).to_vec()))
            .send()
            .await
            .map_err(|e| format!("ECR BatchGetImage {repo}@{digest}: {}", crate::aws::said(e)))?;
        let text = out
            .images()
            .first()
            .and_then(|i| i.image_manifest())
            .ok_or_else(|| format!("ECR has no manifest for {repo}@{digest}"))?;
        serde_json::from_str(text).map_err(|e| format!("the manifest of {repo}@{digest}: {e}"))
    }

    fn client(&self, region: &str) -> aws_sdk_ecr::Client {
        let conf = aws_sdk_ecr::config::Builder::from(&self.shared)
            .region(Region::new(region.to_owned()))
            .build();
        aws_sdk_ecr::Client::from_conf(conf)
    }
}

/// `ACCOUNT.dkr.ecr.REGION.amazonaws.com[.cn]/NAME` as (account, region, repository).
pub fn parts(image: &str) -> Option<(&str, &str, &str)> {
    let (host, repo) = image.split_once('/')?;
    let mut labels = host.split('.');
    let account = labels.next()?;
    let (dkr, ecr, region) = (labels.next()?, labels.next()?, labels.next()?);
    let ok = account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && dkr == "dkr"
        && ecr == "ecr";
    ok.then_some((account, region, repo))
}

impl Registry for Ecr {
    async fn images(
        &self,
        image: &str,
    ) -> Result<Vec<ImageVersion>, crate::registry::RegistryError> {
        let (account, region, repo) =
            parts(image).ok_or_else(|| format!("{image} is not an ECR repository"))?;
        let client = self.client(region);
        let mut out = vec![];
        let mut token = None;
        // DescribeImages pages; a repository with thousands of tags takes several calls.
        for _ in 0..100 {
            let page = client
                .describe_images()
                .registry_id(account)
                .repository_name(repo)
                .filter(
                    DescribeImagesFilter::builder()
                        .tag_status(TagStatus::Tagged)
                        .build(),
                )
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| format!("ECR DescribeImages {repo}: {}", crate::aws::said(e)))?;
            for d in page.image_details() {
                let (Some(digest), Some(at)) = (d.image_digest(), d.image_pushed_at()) else {
                    continue;
                };
                let pushed_at = at.fmt(Format::DateTime).unwrap_or_default();
                for tag in d.image_tags() {
                    out.push(ImageVersion {
                        tag: tag.clone(),
                        digest: digest.to_owned(),
                        pushed_at: pushed_at.clone(),
                    });
                }
            }
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        Ok(out)
    }

    /// Images outside ECR have no labels Hoist can read.
    async fn labels(
        &self,
        image: &str,
        digest: &str,
    ) -> Result<BTreeMap<String, String>, crate::registry::RegistryError> {
        if parts(image).is_none() {
            return Ok(BTreeMap::new());
        }
        Ok(self.config_labels(image, digest).await?)
    }
}

impl Ecr {
    /// The labels in an image's config (its source commit and repository), read through
    /// ECR's layer download.
    ///
    /// Kept whole: one linear chain (manifest, platform, config download address, download,
    /// size and digest check, labels), each step feeding the next.
    async fn config_labels(
        &self,
        image: &str,
        digest: &str,
    ) -> Result<BTreeMap<String, String>, String> {
        let (account, region, repo) =
            parts(image).ok_or_else(|| format!("{image} is not an ECR repository"))?;
        let client = self.client(region);
        let mut manifest = self.manifest(&client, account, repo, digest).await?;
        if let Some(list) = manifest["manifests"].as_array() {
            // A multi-platform image: the labels are the same build's; take linux/amd64,
            // or the first image.
            let pick = list
                .iter()
                .find(|m| {
                    m["platform"]["os"] == "linux" && m["platform"]["architecture"] == "amd64"
                })
                .or(list.first())
                .and_then(|m| m["digest"].as_str())
                .ok_or_else(|| format!("the index of {repo}@{digest} lists no image"))?
                .to_owned();
            manifest = self.manifest(&client, account, repo, &pick).await?;
        }
        let Some(config) = manifest["config"]["digest"].as_str() else {
            return Err(format!("the manifest of {repo}@{digest} names no config"));
        };
        let url = client
            .get_download_url_for_layer()
            .registry_id(account)
            .repository_name(repo)
            .layer_digest(config)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "ECR GetDownloadUrlForLayer {repo}@{config}: {}",
                    crate::aws::said(e)
                )
            })?
            .download_url
            .ok_or_else(|| format!("ECR gave no download URL for {repo}@{config}"))?;
        let resp = self
            .http
            ._get(url.as_str())
            .await
            .map_err(|e| format!("the config of {repo}@{digest}: {e}"))?;
        if !resp.status().is_success() {
            return Err(format!(
                "the config of {repo}@{digest}: HTTP {}",
                resp.status()
            ));
        }
        let body = self
            .http
            .body_to_string(resp)
            .await
            .map_err(|e| format!("the config of {repo}@{digest}: {e}"))?;
        if body.len() > MAX_CONFIG {
            return Err(format!("the config of {repo}@{digest} is over 1 MiB"));
        }
        // The URL is only a pointer: the bytes must be the blob the manifest names.
        let got = format!("sha256:{}", hex::encode(Sha256::digest(body.as_bytes())));
        if got != config {
            return Err(format!(
                "the config of {repo}@{digest} hashes to {got}, not {config}"
            ));
        }
        let v: serde_json::Value = serde_json::from_str(&body)
            .map_err(|e| format!("the config of {repo}@{digest}: {e}"))?;
        Ok(v["config"]["Labels"]
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecr_repository_names() {
        assert_eq!(
            parts("123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app"),
            Some(("123456789012", "us-east-1", "team/app"))
        );
        assert_eq!(parts("ghcr.io/acme/app"), None);
    }
}
