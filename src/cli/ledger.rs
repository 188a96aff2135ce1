//! `hoist ledger rebuild`: the ledger from the forge, after the store was lost.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};

use crate::config::Config;
use crate::store::Store;

#[derive(Debug, Args)]
pub struct LedgerArgs {
    #[command(subcommand)]
    command: LedgerCommand,
}

#[derive(Debug, Subcommand)]
enum LedgerCommand {
    /// Record every Hoist pull request's promotion (open or merged) from the freight block
    /// in its body. Verification is not in Git: the next reconcile re-checks merged
    /// promotions against Argo CD.
    Rebuild {
        /// The config file.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// The SQLite database to fill.
        #[arg(
            long,
            value_name = "PATH",
            default_value = "hoist.db",
            env = "HOIST_DB"
        )]
        db: PathBuf,
    },
}

pub fn ledger(args: LedgerArgs) -> Result<()> {
    let LedgerCommand::Rebuild { config, db } = args.command;
    super::serve::init_tracing(super::serve::LogFormat::Text);
    let config = Config::load(&config).map_err(|e| anyhow::anyhow!("{e}"))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let store = Store::open(&db).with_context(|| format!("cannot open {}", db.display()))?;
        let engine = super::connect::engine(config, store).await?;
        let n = engine
            .rebuild_ledger()
            .await
            .map_err(|e| anyhow::anyhow!("rebuild failed: {e}"))?;
        println!(
            "recorded {n} promotions from the forge into {}",
            db.display()
        );
        Ok(())
    })
}
