//! `hoist check-config` and `hoist config-schema`.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::config::Config;

/// Check a config file: report every error with its FILE:LINE:COL, exit 1 if any.
#[derive(Debug, Args)]
pub struct CheckConfigArgs {
    /// The config file (hoist.yaml).
    file: PathBuf,
}

pub fn check_config(args: CheckConfigArgs) -> Result<()> {
    match Config::load(&args.file) {
        Ok(c) => {
            for w in crate::messages::config_warnings(&c) {
                eprintln!("{}: warning: {w}", args.file.display());
            }
            let plural =
                |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
            eprintln!(
                "{}: ok ({}: {}; {})",
                args.file.display(),
                plural(c.stages.len(), "stage"),
                c.stage_names().join(", "),
                plural(c.services.len(), "service")
            );
            Ok(())
        }
        Err(errors) => {
            let n = errors.0.len();
            anyhow::bail!(
                "{errors}\n{n} error{} in {}",
                if n == 1 { "" } else { "s" },
                args.file.display()
            )
        }
    }
}

/// The JSON Schema of the config file, for editors (config/hoist.schema.json).
pub fn schema() -> String {
    let schema = schemars::schema_for!(Config);
    let mut s = serde_json::to_string_pretty(&schema).expect("a schema serializes");
    s.push('\n');
    s
}
