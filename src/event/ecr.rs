//! Amazon ECR `ECR Image Action` events, as EventBridge delivers them to a target, and
//! the freight a push becomes.

use std::fmt;

use serde::Deserialize;

use crate::config::Config;
use crate::freight::Freight;
use crate::image::{Digest, ImageName, ReferenceError, Tag};
use crate::tags::{Rejection, TagFilter};

/// The EventBridge envelope around every event.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct EventBridgeEvent<D> {
    pub version: String,
    /// Unique per event: the dedupe key.
    pub id: String,
    pub detail_type: String,
    pub source: String,
    pub account: String,
    pub time: String,
    pub region: String,
    #[serde(default)]
    pub resources: Vec<String>,
    pub detail: D,
}

/// `detail` of `ECR Image Action`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct EcrImageAction {
    pub action_type: String,
    pub result: String,
    pub repository_name: String,
    #[serde(default)]
    pub image_digest: Option<String>,
    #[serde(default)]
    pub image_tag: Option<String>,
}

pub type EcrEvent = EventBridgeEvent<EcrImageAction>;

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
        match self {
            NoFreight::NotEcrPush {
                source,
                detail_type,
            } => {
                write!(
                    f,
                    "the event is {detail_type:?} from {source}, not an ECR image push"
                )
            }
            NoFreight::NotPush(a) => write!(f, "the ECR action is {a}, not a push"),
            NoFreight::Failed(r) => write!(f, "the push did not succeed (result {r})"),
            NoFreight::Untagged => write!(f, "the image was pushed without a tag"),
            NoFreight::BadReference(e) => write!(f, "{e}"),
            NoFreight::UnknownImage(i) => write!(f, "no service in the config uses the image {i}"),
            NoFreight::Filtered { service, why } => write!(f, "{service}: {why}"),
        }
    }
}

impl EcrEvent {
    /// The repository the event is about: `ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME`
    /// (`.amazonaws.com.cn` in the China regions).
    pub fn image(&self) -> String {
        let suffix = if self.region.starts_with("cn-") {
            "amazonaws.com.cn"
        } else {
            "amazonaws.com"
        };
        format!(
            "{}.dkr.ecr.{}.{suffix}/{}",
            self.account, self.region, self.detail.repository_name
        )
    }

    /// The freight this event carries for the configured services.
    pub fn freight(&self, config: &Config) -> Result<Freight, NoFreight> {
        if self.source != "aws.ecr" || self.detail_type != "ECR Image Action" {
            return Err(NoFreight::NotEcrPush {
                source: self.source.clone(),
                detail_type: self.detail_type.clone(),
            });
        }
        let d = &self.detail;
        if d.action_type != "PUSH" {
            return Err(NoFreight::NotPush(d.action_type.clone()));
        }
        if d.result != "SUCCESS" {
            return Err(NoFreight::Failed(d.result.clone()));
        }
        let tag = d
            .image_tag
            .as_deref()
            .filter(|t| !t.is_empty())
            .ok_or(NoFreight::Untagged)?;
        freight_for_push(
            config,
            &self.image(),
            tag,
            d.image_digest.as_deref().unwrap_or_default(),
            &self.time,
        )
    }
}

/// The freight a successful push of `image:tag@digest` is for a configured service: its
/// values validated and its tag checked against the service's policy.
pub fn freight_for_push(
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

/// Decodes an event as EventBridge delivers it; the error names the JSON path.
pub fn decode(json: &[u8]) -> Result<EcrEvent, String> {
    let de = &mut serde_json::Deserializer::from_slice(json);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        format!("{} (at {path})", e.into_inner())
    })
}
