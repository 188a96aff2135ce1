//! Webhook authentication: HMAC-SHA256 over the raw body for GitHub, a shared token for
//! EventBridge API destinations. Both accept several secrets, for rotation, and compare
//! in constant time.

use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// Secrets loaded once at start. Any one of them authenticates.
#[derive(Clone)]
pub struct Secrets(Vec<SecretString>);

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secrets({} configured)", self.0.len())
    }
}

impl Secrets {
    /// From a comma-separated list (`new,old` while rotating); empty entries are skipped.
    pub fn from_list(list: &str) -> Self {
        Self(
            list.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| SecretString::from(s.to_owned()))
                .collect(),
        )
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Checks `X-Hub-Signature-256: sha256=<hex>` against the raw body.
    pub fn verify_github(&self, header: Option<&str>, body: &[u8]) -> bool {
        let Some(sig) = header.and_then(|h| h.strip_prefix("sha256=")) else {
            return false;
        };
        let Ok(sig) = hex::decode(sig) else {
            return false;
        };
        self.0.iter().any(|secret| {
            let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes())
                .expect("HMAC takes keys of any length");
            mac.update(body);
            mac.verify_slice(&sig).is_ok()
        })
    }

    /// Checks a shared token (EventBridge's `x-hoist-token` header).
    pub fn verify_token(&self, header: Option<&str>) -> bool {
        let Some(given) = header else {
            return false;
        };
        // Compare MACs of both values: constant time whatever the lengths.
        let tag = |v: &[u8]| {
            let mut m =
                Hmac::<Sha256>::new_from_slice(b"hoist token comparison").expect("any key length");
            m.update(v);
            m
        };
        self.0.iter().any(|secret| {
            let expected = tag(secret.expose_secret().as_bytes())
                .finalize()
                .into_bytes();
            tag(given.as_bytes()).verify_slice(&expected).is_ok()
        })
    }

    /// The signature header for `body` with the first secret, for tests and relays.
    pub fn sign_github(&self, body: &[u8]) -> Option<String> {
        let secret = self.0.first()?;
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes())
            .expect("any key length");
        mac.update(body);
        Some(format!(
            "sha256={}",
            hex::encode(mac.finalize().into_bytes())
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_and_refusals() {
        let s = Secrets::from_list("new-secret, old-secret");
        let old = Secrets::from_list("old-secret").sign_github(b"{}").unwrap();
        assert!(s.verify_github(Some(&old), b"{}"));
        assert!(
            !s.verify_github(Some(&old), b"{ }"),
            "a tampered body fails"
        );
        assert!(!s.verify_github(None, b"{}"));
        assert!(!s.verify_github(Some("sha1=abc"), b"{}"));
        assert!(!s.verify_github(Some("sha256=zz"), b"{}"));
        assert!(
            !Secrets::from_list("").verify_github(Some(&old), b"{}"),
            "no secret, no entry"
        );
        assert!(s.verify_token(Some("old-secret")));
        assert!(!s.verify_token(Some("old-secre")));
        assert!(!s.verify_token(None));
    }
}
