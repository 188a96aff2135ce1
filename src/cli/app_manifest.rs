//! `hoist github-app-manifest`: the GitHub App manifest to register Hoist from.

use anyhow::{Result, bail};
use clap::Args;

use crate::forge::github::manifest;

/// Print the GitHub App manifest (JSON) for Hoist at --url: exactly the permissions and
/// events Hoist uses. With --form ORG, print instead an HTML page whose button registers
/// the App in that organization through GitHub's manifest flow.
#[derive(Debug, Args)]
pub struct AppManifestArgs {
    /// Hoist's address, where GitHub sends webhooks (`https://HOST`).
    #[arg(long, value_name = "URL")]
    url: String,
    /// The App's name on GitHub.
    #[arg(long, default_value = "Hoist")]
    name: String,
    /// Print an HTML form that registers the App in this organization.
    #[arg(long, value_name = "ORG")]
    form: Option<String>,
}

pub fn app_manifest(args: AppManifestArgs) -> Result<()> {
    let url = args.url.trim().trim_end_matches('/');
    // GitHub delivers webhooks only to an address it can reach, and only over HTTPS; the
    // paths Hoist answers on are appended, so the address is a host (and port) alone.
    let host = url.strip_prefix("https://").unwrap_or_default();
    if host.is_empty() || host.contains(['/', '?', '#', '@', ' ']) {
        bail!("{}", crate::messages::app_url_not_https(url));
    }
    let m = manifest::manifest(&args.name, url);
    match &args.form {
        Some(org) => print!("{}", manifest::form(org, &m)),
        None => println!(
            "{}",
            serde_json::to_string_pretty(&m).expect("a manifest serializes")
        ),
    }
    Ok(())
}
