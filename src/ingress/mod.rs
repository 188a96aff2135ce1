//! Authenticating and decoding what arrives: GitHub webhooks, EventBridge deliveries,
//! and the Lambda envelopes around both.

pub mod envelope;
pub mod signature;
