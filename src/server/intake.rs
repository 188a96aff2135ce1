//! Where an authenticated, decoded delivery goes before it is answered: the SQLite queue
//! this process works (`hoist serve`), or the SQS FIFO queue the Lambda worker consumes.

use aws_sdk_sqs::error::DisplayErrorContext;

use crate::store::{Inserted, NewEvent};
use crate::worker::Queue;

pub enum Intake {
    Store(Queue),
    Sqs(SqsIntake),
}

/// An SQS FIFO queue. Every message of one repository shares its group, so the worker
/// sees them in order; the delivery's own id is the deduplication id.
pub struct SqsIntake {
    pub client: aws_sdk_sqs::Client,
    pub queue_url: String,
    pub group: String,
}

pub enum Accepted {
    /// Durable, with the store's id or SQS's message id.
    New(String),
    Duplicate(String),
}

impl Intake {
    /// Makes the event durable; `message` is what goes on SQS (the delivery as received,
    /// so the worker verifies it again).
    pub async fn accept(&self, event: NewEvent, message: String) -> Result<Accepted, String> {
        match self {
            Intake::Store(q) => match q.store.insert(event).await {
                Ok(Inserted::New(id)) => {
                    q.wake.notify_waiters();
                    Ok(Accepted::New(id.to_string()))
                }
                Ok(Inserted::Duplicate(id)) => Ok(Accepted::Duplicate(id.to_string())),
                Err(e) => Err(e.to_string()),
            },
            Intake::Sqs(s) => {
                let out = s
                    .client
                    .send_message()
                    .queue_url(&s.queue_url)
                    .message_group_id(&s.group)
                    .message_deduplication_id(dedupe_id(&event.dedupe_key))
                    .message_body(message)
                    .send()
                    .await
                    .map_err(|e| DisplayErrorContext(e).to_string())?;
                Ok(Accepted::New(out.message_id.unwrap_or_default()))
            }
        }
    }

    /// Whether a delivery could be stored now, for `/readyz`: a write, committed, within
    /// 2 s (a read would pass on a full disk or a read-only file).
    pub async fn ready(&self) -> bool {
        match self {
            Intake::Store(q) => {
                tokio::time::timeout(std::time::Duration::from_secs(2), q.store.probe_write())
                    .await
                    .is_ok_and(|r| r.is_ok())
            }
            Intake::Sqs(_) => true,
        }
    }
}

/// SQS takes up to 128 characters of letters, digits and punctuation.
fn dedupe_id(key: &str) -> String {
    let clean: String = key
        .chars()
        .map(|c| if c.is_ascii_graphic() { c } else { '_' })
        .collect();
    if clean.len() <= 128 {
        clean
    } else {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(key.as_bytes()))
    }
}
