//! Amazon ECR through `aws-sdk-ecr`, with the default credential chain (IRSA on EKS, the
//! execution role on Lambda) and `AWS_ENDPOINT_URL` honoured for tests.

use aws_sdk_ecr::config::Region;
use aws_sdk_ecr::types::{DescribeImagesFilter, TagStatus};
use aws_smithy_types::date_time::Format;

use super::{ImageVersion, Registry};

pub struct Ecr {
    shared: aws_config::SdkConfig,
}

impl Ecr {
    /// Loads the AWS configuration the usual way (environment, profile, web identity,
    /// instance role). The region comes from each image's address, so none is looked up.
    pub async fn from_env() -> Self {
        let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .load()
            .await;
        Self { shared }
    }

    pub fn new(shared: aws_config::SdkConfig) -> Self {
        Self { shared }
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
    async fn images(&self, image: &str) -> Result<Vec<ImageVersion>, String> {
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
                .map_err(|e| {
                    format!(
                        "ECR DescribeImages {repo}: {}",
                        aws_sdk_ecr::error::DisplayErrorContext(e)
                    )
                })?;
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
