//! `hoist ledger rebuild`: the ledger from the forge, after the store was lost.

use super::store_args::StoreArgs;

use anyhow::Result;
use clap::{Args, Subcommand};

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
        #[command(flatten)]
        store: StoreArgs,
    },
}

pub fn ledger(args: LedgerArgs) -> Result<()> {
    let LedgerCommand::Rebuild { store: args } = args.command;
    super::serve::init_tracing(super::serve::LogFormat::Text);
    let config = args.config()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let store = args.store()?;
        let engine = crate::app::engine(config, store).await?;
        let n = engine
            .rebuild_ledger()
            .await
            .map_err(|e| anyhow::anyhow!("rebuild failed: {e}"))?;
        println!(
            "recorded {n} promotions from the forge into {}",
            args.db.display()
        );
        Ok(())
    })
}
