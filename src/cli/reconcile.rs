//! `hoist reconcile`: one repair pass, outside the server.

use super::store_args::StoreArgs;

use anyhow::Result;
use clap::Args;

/// Run one reconcile pass: evaluate open Hoist pull requests, answer commands whose
/// events were lost, publish `hoist/dag` where it is missing, record merges and closes
/// that were never recorded, re-verify merged promotions, and treat the newest registry
/// image as a push. `hoist serve` runs the same pass at start and every few minutes.
#[derive(Debug, Args)]
pub struct ReconcileArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Run a single pass and exit. The only mode, and so the default: the flag is
    /// accepted for scripts written when it was required.
    #[arg(long)]
    once: bool,
    /// Days to look back for commands on Hoist pull requests that are no longer open.
    #[arg(long, value_name = "DAYS", default_value_t = 7)]
    lookback_days: u64,
}

pub fn reconcile(args: ReconcileArgs) -> Result<()> {
    super::serve::init_tracing(super::serve::LogFormat::Text);
    let config = args.store.config()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let store = args.store.store()?;
        let engine = crate::app::engine(config, store).await?;
        let lookback = std::time::Duration::from_secs(args.lookback_days * 86_400);
        let r = engine
            .reconcile_within(lookback)
            .await
            .map_err(|e| anyhow::anyhow!("reconcile failed: {e}"))?;
        println!("{}", crate::messages::reconcile_summary(&r));
        // Everything else was done; what failed is named, and the exit code says so.
        if !r.failed.is_empty() {
            for f in &r.failed {
                eprintln!("failed: {f}");
            }
            anyhow::bail!(
                "{} item(s) could not be reconciled; the next pass tries again",
                r.failed.len()
            );
        }
        Ok(())
    })
}
