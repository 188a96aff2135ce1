//! The envelopes AWS puts around deliveries: SQS records and SNS messages carrying an
//! EventBridge event or a GitHub delivery queued by the ingress function, and Function
//! URL / API Gateway v2 requests carrying a GitHub webhook (base64 bodies included).

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use aws_lambda_events::lambda_function_urls::LambdaFunctionUrlRequest;
use aws_lambda_events::sns::SnsEvent;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::HeaderMap;
use serde::{Deserialize, Serialize};

/// A GitHub webhook delivery: the headers Hoist needs and the raw body, signature unchecked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitHubDelivery {
    pub event: String,
    pub delivery: String,
    pub signature: Option<String>,
    pub body: Vec<u8>,
}

/// A GitHub delivery as the ingress function queues it on SQS: verified, then stored
/// whole so the worker can verify and decode it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedDelivery {
    pub github_event: String,
    pub github_delivery: String,
    pub signature: String,
    /// The raw body, base64.
    pub body: String,
}

impl QueuedDelivery {
    pub fn new(d: &GitHubDelivery) -> Self {
        Self {
            github_event: d.event.clone(),
            github_delivery: d.delivery.clone(),
            signature: d.signature.clone().unwrap_or_default(),
            body: STANDARD.encode(&d.body),
        }
    }

    pub fn into_delivery(self) -> Result<GitHubDelivery, String> {
        Ok(GitHubDelivery {
            body: STANDARD
                .decode(&self.body)
                .map_err(|e| format!("queued body is not base64: {e}"))?,
            event: self.github_event,
            delivery: self.github_delivery,
            signature: Some(self.signature).filter(|s| !s.is_empty()),
        })
    }
}

/// What a queue or topic message carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    /// An EventBridge event (ECR, CodeCommit), as raw JSON.
    EventBridge(Vec<u8>),
    GitHub(GitHubDelivery),
}

/// Tells a message body apart by its keys.
pub fn classify(body: &str) -> Result<Inbound, String> {
    let v: serde_json::Value =
        serde_json::from_str(body).map_err(|e| format!("message body is not JSON: {e}"))?;
    if v.get("github_event").is_some() {
        let q: QueuedDelivery =
            serde_json::from_value(v).map_err(|e| format!("queued GitHub delivery: {e}"))?;
        return q.into_delivery().map(Inbound::GitHub);
    }
    if v.get("detail-type").is_some() && v.get("source").is_some() {
        return Ok(Inbound::EventBridge(body.as_bytes().to_vec()));
    }
    Err("message body is neither an EventBridge event nor a queued GitHub delivery".into())
}

/// An SQS batch, read for what Hoist needs only: aws_lambda_events' `SqsEvent` fails a
/// whole batch on one malformed message attribute (the published example's
/// `binaryValue` is not base64), and one bad message must fail alone.
#[derive(Debug, Clone, Deserialize)]
pub struct SqsBatch {
    #[serde(rename = "Records")]
    pub records: Vec<SqsRecord>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SqsRecord {
    #[serde(rename = "messageId")]
    pub message_id: String,
    #[serde(default)]
    pub body: Option<String>,
    /// What `ChangeMessageVisibility` takes to put the message off.
    #[serde(rename = "receiptHandle", default)]
    pub receipt_handle: Option<String>,
    #[serde(default)]
    pub attributes: SqsAttributes,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct SqsAttributes {
    /// How often SQS has handed this message out, this time included (a number, as text).
    #[serde(rename = "ApproximateReceiveCount", default)]
    pub approximate_receive_count: Option<String>,
}

impl SqsRecord {
    /// How often SQS has handed this message out, this time included; 1 when unsaid.
    pub fn receives(&self) -> u32 {
        self.attributes
            .approximate_receive_count
            .as_deref()
            .and_then(|n| n.parse().ok())
            .unwrap_or(1)
    }
}

/// Each SQS record by message id, classified. A bad record fails alone.
pub fn sqs_records(batch: &SqsBatch) -> Vec<(String, Result<Inbound, String>)> {
    batch
        .records
        .iter()
        .map(|r| {
            let body = r
                .body
                .as_deref()
                .ok_or_else(|| "SQS record without a body".to_owned());
            (r.message_id.clone(), body.and_then(classify))
        })
        .collect()
}

/// Each SNS message by message id, classified.
pub fn sns_records(event: &SnsEvent) -> Vec<(String, Result<Inbound, String>)> {
    event
        .records
        .iter()
        .map(|r| (r.sns.message_id.clone(), classify(&r.sns.message)))
        .collect()
}

fn header(h: &HeaderMap, name: &str) -> Option<String> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// A GitHub delivery from HTTP headers and a (possibly base64) body.
pub fn github_from_http(
    headers: &HeaderMap,
    body: Option<&str>,
    base64: bool,
) -> Result<GitHubDelivery, String> {
    let body = body.unwrap_or_default();
    let body = if base64 {
        STANDARD
            .decode(body)
            .map_err(|e| format!("body is not base64: {e}"))?
    } else {
        body.as_bytes().to_vec()
    };
    Ok(GitHubDelivery {
        event: header(headers, "x-github-event").ok_or("missing X-GitHub-Event header")?,
        delivery: header(headers, "x-github-delivery").ok_or("missing X-GitHub-Delivery header")?,
        signature: header(headers, "x-hub-signature-256"),
        body,
    })
}

pub fn github_from_function_url(r: &LambdaFunctionUrlRequest) -> Result<GitHubDelivery, String> {
    github_from_http(&r.headers, r.body.as_deref(), r.is_base64_encoded)
}

pub fn github_from_apigw_v2(r: &ApiGatewayV2httpRequest) -> Result<GitHubDelivery, String> {
    github_from_http(&r.headers, r.body.as_deref(), r.is_base64_encoded)
}
