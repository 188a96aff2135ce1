//! Environment variables, with the secrets a Lambda function loads from Secrets Manager
//! at cold start laid over them: the config names secrets by variable either way.

use std::collections::HashMap;
use std::sync::OnceLock;

static OVERLAY: OnceLock<HashMap<String, String>> = OnceLock::new();

/// Sets the overlay once; a second call is ignored (a warm start keeps the first).
pub fn overlay(values: HashMap<String, String>) {
    let _ = OVERLAY.set(values);
}

/// The overlay's value for `name`, else the process environment's.
pub fn var(name: &str) -> Option<String> {
    OVERLAY
        .get()
        .and_then(|m| m.get(name).cloned())
        .or_else(|| std::env::var(name).ok())
}
