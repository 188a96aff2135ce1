//! Notifications: what happened to a promotion or a stage, sent to the webhooks the
//! config lists (`notify:`). Each is an event in the durable queue, so a notification is
//! retried with backoff, never sent twice for one occurrence, and never holds up a
//! promotion.

use crate::config::NotifyEvent;

/// The event's name, as the config and the payload spell it.
pub fn event_name(e: NotifyEvent) -> &'static str {
    match e {
        NotifyEvent::Opened => "opened",
        NotifyEvent::Refused => "refused",
        NotifyEvent::Merged => "merged",
        NotifyEvent::Verified => "verified",
        NotifyEvent::Degraded => "degraded",
        NotifyEvent::Rollback => "rollback",
        NotifyEvent::Freeze => "freeze",
    }
}
