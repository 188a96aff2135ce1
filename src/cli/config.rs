//! `hoist check-config` and `hoist config-schema`.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::config::Config;

/// Check a config file: report every error with its FILE:LINE:COL, exit 1 if any.
#[derive(Debug, Args)]
pub struct CheckConfigArgs {
    /// The config file (hoist.yaml).
    #[arg(value_name = "FILE", required_unless_present = "config")]
    file: Option<PathBuf>,
    /// The config file, named as every other command names it.
    #[arg(long, value_name = "FILE", conflicts_with = "file")]
    config: Option<PathBuf>,
}

pub fn check_config(args: CheckConfigArgs) -> Result<()> {
    let file = args
        .file
        .or(args.config)
        .expect("clap requires FILE or --config");
    match Config::load(&file) {
        Ok(c) => {
            for w in crate::messages::config_warnings(&c) {
                eprintln!("{}: warning: {w}", file.display());
            }
            let plural =
                |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
            eprintln!(
                "{}: ok ({}: {}; {})",
                file.display(),
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
                file.display()
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
