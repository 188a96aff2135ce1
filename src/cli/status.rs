//! `hoist status`: where each service's freight stands in every stage.

use std::path::PathBuf;

use super::store_args::StoreArgs;

use anyhow::Result;
use clap::Args;

/// Print a services × stages table: what each stage runs (tag and short digest), whether
/// Hoist merged it and Argo CD verified it and since when, and each open promotion pull
/// request with what it waits for. What runs is read from the overlays in --repo (a
/// checkout of the base branch) or, with --live, from the forge at the base head;
/// without either, from the store's ledger alone.
#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// A checkout of the GitOps repository's base branch, to read what each stage's
    /// overlay pins.
    #[arg(long, value_name = "DIR")]
    repo: Option<PathBuf>,
    /// Read the overlays from the forge at the base head, with the config's
    /// credentials, instead of from a checkout.
    #[arg(long, conflicts_with = "repo")]
    live: bool,
    /// Print the grid as JSON.
    #[arg(long)]
    json: bool,
}

pub fn status(args: StatusArgs) -> Result<()> {
    let config = args.store.config()?;
    if let Some(dir) = &args.repo
        && !dir.is_dir()
    {
        anyhow::bail!(crate::messages::repo_unusable(
            dir,
            crate::messages::status::NOT_A_DIRECTORY
        ));
    }
    // A fresh setup has no store yet: every stage is shown as running nothing Hoist
    // recorded, and the store is not created by reading it.
    // An empty file (made by `touch`, or a volume's placeholder) is no store either.
    let fresh = std::fs::metadata(&args.store.db).map_or(true, |m| m.len() == 0);
    if fresh {
        eprintln!("{}", crate::messages::no_store_yet(&args.store.db));
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let grid = rt.block_on(async {
        let live = if args.live {
            Some(live_overlays(config.clone()).await?)
        } else {
            None
        };
        let store = if fresh {
            None
        } else {
            Some(args.store.store()?)
        };
        let repo = args.repo.as_ref().map(crate::repo::DirRepo::new);
        let overlays: Option<&(dyn crate::repo::Repo + Sync)> = match (&repo, &live) {
            (Some(r), _) => Some(r),
            (_, Some(l)) => Some(l),
            _ => None,
        };
        let now = crate::clock::Clock::System.now_ms();
        crate::status::grid(&config, store.as_ref(), overlays, now).await
    })?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&grid).expect("a grid serializes")
        );
    } else {
        print!("{}", crate::status::render(&grid));
    }
    Ok(())
}

/// Every service's overlays at the base head, read as `hoist serve`'s page reads them,
/// through an engine on a scratch store (the real one is only read).
async fn live_overlays(config: crate::config::Config) -> Result<crate::repo::MapRepo> {
    use crate::server::status_page::Overlays;
    let scratch = super::scratch::Scratch::new("status")?;
    let (engine, _) = scratch.connect(config).await?;
    let base = engine.base().await?;
    engine.read(&base).await
}
