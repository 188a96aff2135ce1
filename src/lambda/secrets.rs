//! Secrets from AWS Secrets Manager: `HOIST_SECRETS_ID` names one secret whose value is
//! a JSON object of variable names to values (`{"HOIST_WEBHOOK_SECRETS": "…",
//! "HOIST_GITHUB_APP_KEY": "-----BEGIN…"}`). They are read once, at cold start, and
//! laid over the environment, so the config names them as environment variables.

use std::collections::HashMap;

use anyhow::{Context, Result};

pub async fn load() -> Result<()> {
    let Some(id) = std::env::var("HOIST_SECRETS_ID")
        .ok()
        .filter(|s| !s.is_empty())
    else {
        return Ok(());
    };
    let shared = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let client = aws_sdk_secretsmanager::Client::new(&shared);
    let out = client
        .get_secret_value()
        .secret_id(&id)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("{}", aws_sdk_secretsmanager::error::DisplayErrorContext(e)))
        .with_context(|| format!("cannot read the secret {id} (HOIST_SECRETS_ID)"))?;
    let text = out
        .secret_string()
        .with_context(|| format!("the secret {id} has no string value"))?;
    let values = parse(text).with_context(|| format!("the secret {id}"))?;
    tracing::info!(secret = %id, names = ?values.keys().collect::<Vec<_>>(), "secrets loaded");
    crate::env::overlay(values);
    Ok(())
}

/// A JSON object of strings; anything else is refused, naming what is wrong (never the
/// values).
pub fn parse(text: &str) -> Result<HashMap<String, String>> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| anyhow::anyhow!("is not JSON ({e})"))?;
    let obj = v
        .as_object()
        .context("is not a JSON object of variable names to values")?;
    obj.iter()
        .map(|(k, v)| match v.as_str() {
            Some(s) => Ok((k.clone(), s.to_owned())),
            None => anyhow::bail!("value of {k} is not a string"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_secret_is_an_object_of_strings() {
        let m = super::parse(r#"{"HOIST_WEBHOOK_SECRETS":"a,b","KEY":"-----BEGIN"}"#).unwrap();
        assert_eq!(m["HOIST_WEBHOOK_SECRETS"], "a,b");
        let e = super::parse(r#"{"PORT": 8080}"#).unwrap_err().to_string();
        assert!(e.contains("PORT is not a string"), "{e}");
        assert!(super::parse("hunter2").is_err());
        assert!(super::parse("[]").is_err());
    }
}
