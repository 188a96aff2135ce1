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

const SECRET_PREFIXES: &[&str] = &["-----BEGIN", "ghp_", "ghs_", "gho_", "ghu_", "github_pat_"];

fn looks_like_secret(value: &str) -> bool {
    SECRET_PREFIXES.iter().any(|p| value.starts_with(p))
        || value.len() == 20
            && value.starts_with("AKIA")
            && value
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

pub fn scan(src: &Source) -> Vec<ConfigError> {
    let mut out = vec![];
    if let Some(root) = src.root() {
        walk(src, root, &mut out);
    }
    out
}

fn walk(src: &Source, node: &Node, out: &mut Vec<ConfigError>) {
    match &node.kind {
        Kind::Map { entries, .. } => {
            for (k, v) in entries {
                if let Some(key) = k.as_str()
                    && SECRET_KEYS.contains(&key)
                {
                    out.push(src.error_at_node(k, format!(
                        "`{key}` holds a secret in the config; name an environment variable instead (`{key}_env`), or a file where the field allows one (`private_key_file`)"
                    )));
                    continue;
                }
                walk(src, v, out);
            }
        }
        Kind::Seq { items, .. } => items.iter().for_each(|i| walk(src, i, out)),
        Kind::Scalar { value, .. } if looks_like_secret(value) => out.push(src.error_at_node(
            node,
            "this value looks like a secret (a key or token); secrets never go in the config: name an environment variable or a file".into(),
        )),
        _ => {}
    }
}
