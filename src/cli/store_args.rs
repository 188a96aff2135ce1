//! `--config` and `--db`: what every command that works on the store is given.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use crate::config::Config;
use crate::store::Store;

#[derive(Debug, Args)]
pub struct StoreArgs {
    /// The config file.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// The SQLite store (`hoist serve` creates it when missing).
    #[arg(
        long,
        value_name = "PATH",
        default_value = "hoist.db",
        env = "HOIST_DB"
    )]
    pub db: PathBuf,
}

impl StoreArgs {
    /// The config, validated; its errors name the file, line and column.
    pub fn config(&self) -> Result<Config> {
        let c = Config::load(&self.config).map_err(|e| anyhow::anyhow!("{e}"))?;
        for w in crate::messages::config_warnings(&c) {
            tracing::warn!(config = %self.config.display(), "{w}");
        }
        Ok(c)
    }

    pub fn store(&self) -> Result<Store> {
        Store::open(&self.db)
            .with_context(|| format!("cannot open the store {}", self.db.display()))
    }
}
