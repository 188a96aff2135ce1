//! What one event's handling has read from the forge, kept for the rest of that handling
//! only: a second read of the same thing within milliseconds would spend rate limit to
//! learn nothing new, and no later event ever sees these answers (a check that completes
//! afterwards comes with its own event, and its own scope).
//!
//! An adapter remembers what one batched read brought (a pull request with its comments,
//! reviews and checks) and forgets an entry when it writes to what the entry describes.
//! Outside a scope (reconcile, the CLI) nothing is kept.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;

type Memo = Mutex<HashMap<String, Box<dyn Any + Send>>>;

tokio::task_local! {
    static SCOPE: Memo;
}

/// Runs `f` with a scope of its own.
pub async fn within<F: Future>(f: F) -> F::Output {
    SCOPE.scope(Mutex::new(HashMap::new()), f).await
}

/// The answer kept under `key` in the current scope.
pub(crate) fn recall<T: Clone + 'static>(key: &str) -> Option<T> {
    SCOPE
        .try_with(|m| {
            m.lock()
                .expect("scope")
                .get(key)
                .and_then(|v| v.downcast_ref::<T>())
                .cloned()
        })
        .ok()
        .flatten()
}

/// Keeps `value` under `key` for the rest of the current scope; nothing outside one.
pub(crate) fn remember<T: Send + 'static>(key: String, value: T) {
    let _ = SCOPE.try_with(|m| m.lock().expect("scope").insert(key, Box::new(value)));
}

/// Forgets every answer whose key starts with `prefix`: something was written to it.
pub(crate) fn forget(prefix: &str) {
    let _ = SCOPE.try_with(|m| {
        m.lock()
            .expect("scope")
            .retain(|k, _| !k.starts_with(prefix))
    });
}

/// A pull request the event itself describes with the forge's word (a merged one, from
/// its signed webhook), so that reading it back is needless.
pub fn known_pull_request(pr: crate::forge::PullRequest) {
    remember(format!("pr:{}", pr.number), pr);
}

/// Forgets everything read so far in this scope: what comes next decides on what the
/// forge says now.
pub fn read_afresh() {
    forget("");
}

/// Whether a scope is open here.
pub(crate) fn open() -> bool {
    SCOPE.try_with(|_| ()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn answers_live_only_inside_their_scope_until_written() {
        remember("pr:1".into(), 7u64);
        assert_eq!(recall::<u64>("pr:1"), None, "no scope keeps nothing");
        within(async {
            remember("pr:1".into(), 7u64);
            remember("comments:1".into(), 8u64);
            assert_eq!(recall::<u64>("pr:1"), Some(7));
            forget("pr:");
            assert_eq!(recall::<u64>("pr:1"), None);
            assert_eq!(recall::<u64>("comments:1"), Some(8));
        })
        .await;
        within(async { assert_eq!(recall::<u64>("comments:1"), None) }).await;
    }
}
