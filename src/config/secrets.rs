//! Secrets never live in the config: they are named by environment variable or file.
//! A key or a value that looks like a secret is an error, wherever it stands.

use super::ConfigError;
use super::source::Source;
use crate::manifest::tree::{Kind, Node};

const SECRET_KEYS: &[&str] = &[
    "token",
    "secret",
    "secrets",
    "password",
    "private_key",
    "webhook_secret",
    "webhook_secrets",
    "eventbridge_token",
    "api_key",
    "access_key",
    "secret_access_key",
];

const SECRET_PREFIXES: &[&str] = &[
    "-----BEGIN",
    "ghp_",
    "ghs_",
    "gho_",
    "ghu_",
    "github_pat_",
    // A Slack incoming webhook's URL lets anyone post to the channel.
    "https://hooks.slack.com/",
];

fn looks_like_secret(value: &str) -> bool {
    SECRET_PREFIXES.iter().any(|p| value.starts_with(p))
        || value.len() == 20
            && value.starts_with("AKIA")
            && value
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// Maps whose keys are names the user chose (a service called `token` is fine).
const NAME_MAPS: &[&str] = &["stages", "services", "codeowners_iam"];

/// The field to use instead of an inline secret.
fn instead(key: &str) -> &'static str {
    match key {
        "token" => "`token_env`",
        "private_key" => "`private_key_file` or `private_key_env`",
        "webhook_secret" | "webhook_secrets" | "secret" | "secrets" => "`webhook_secrets_env`",
        "eventbridge_token" => "`eventbridge_token_env`",
        _ => "an environment variable",
    }
}

pub fn scan(src: &Source) -> Vec<ConfigError> {
    let mut out = vec![];
    if let Some(root) = src.root() {
        walk(src, root, false, &mut out);
    }
    out
}

fn walk(src: &Source, node: &Node, names: bool, out: &mut Vec<ConfigError>) {
    match &node.kind {
        Kind::Map { entries, .. } => {
            for (k, v) in entries {
                let key = k.as_str().unwrap_or_default();
                if !names && SECRET_KEYS.contains(&key) {
                    out.push(src.error_at_node(k, format!(
                        "`{key}` would hold a secret in the config; secrets never go there: use {} instead",
                        instead(key)
                    )));
                    continue;
                }
                walk(src, v, !names && NAME_MAPS.contains(&key), out);
            }
        }
        Kind::Seq { items, .. } => items.iter().for_each(|i| walk(src, i, false, out)),
        Kind::Scalar { value, .. } if looks_like_secret(value) => out.push(src.error_at_node(
            node,
            "this value looks like a secret (a key or token); secrets never go in the config: name an environment variable or a file".into(),
        )),
        _ => {}
    }
}
