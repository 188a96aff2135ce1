//! Any EventBridge event Hoist takes: ECR pushes and CodeCommit pull request events,
//! told apart by `source` and `detail-type`.

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::Event;
use super::codecommit::{CommentOnPullRequest, PullRequestStateChange};
use super::ecr::{EcrImageAction, EventBridgeEvent};
use super::github::DecodeError;

/// The envelope without its detail, to route on.
#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Head {
    id: String,
    source: String,
    detail_type: String,
}

fn parse<T: DeserializeOwned>(kind: &str, body: &[u8]) -> Result<T, DecodeError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| DecodeError {
        event: kind.to_owned(),
        path: e.path().to_string(),
        message: e.into_inner().to_string(),
    })
}

/// Decodes an EventBridge event; returns its `id` (the dedupe key) and the event.
pub fn decode(body: &[u8]) -> Result<(String, Event), DecodeError> {
    let head: Head = parse("EventBridge", body)?;
    let event = match (head.source.as_str(), head.detail_type.as_str()) {
        ("aws.ecr", "ECR Image Action") => {
            let e: EventBridgeEvent<EcrImageAction> = parse("ECR Image Action", body)?;
            let d = &e.detail;
            match (
                d.action_type.as_str(),
                d.result.as_str(),
                &d.image_tag,
                &d.image_digest,
            ) {
                ("PUSH", "SUCCESS", Some(tag), Some(digest)) if !tag.is_empty() => {
                    Event::ImagePushed {
                        image: e.image(),
                        tag: tag.clone(),
                        digest: digest.clone(),
                        time: e.time.clone(),
                    }
                }
                ("PUSH", "SUCCESS", _, _) => Event::ignored("an untagged ECR push"),
                (action, result, _, _) => {
                    Event::ignored(format!("ECR {action} with result {result}"))
                }
            }
        }
        ("aws.codecommit", "CodeCommit Pull Request State Change") => {
            parse::<EventBridgeEvent<PullRequestStateChange>>(&head.detail_type, body)?
                .detail
                .into_event()
        }
        ("aws.codecommit", "CodeCommit Comment on Pull Request") => {
            parse::<EventBridgeEvent<CommentOnPullRequest>>(&head.detail_type, body)?
                .detail
                .into_event()
        }
        (source, detail_type) => {
            Event::ignored(format!("EventBridge {detail_type:?} from {source}"))
        }
    };
    Ok((head.id, event))
}
