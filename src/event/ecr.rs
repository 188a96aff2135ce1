//! Amazon ECR `ECR Image Action` events, as EventBridge delivers them to a target.

use serde::Deserialize;

use crate::config::Config;
use crate::freight::{self, Freight, NoFreight};

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
        freight::for_push(
            config,
            &self.image(),
            tag,
            d.image_digest.as_deref().unwrap_or_default(),
            &self.time,
        )
    }
}

/// Decodes an event as EventBridge delivers it; the error names the JSON path.
pub fn decode(json: &[u8]) -> Result<EcrEvent, String> {
    let de = &mut serde_json::Deserializer::from_slice(json);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        format!("{} (at {path})", e.into_inner())
    })
}
