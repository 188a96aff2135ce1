//! `hoist status`: where each service's freight stands, from the ledger.

use super::store_args::StoreArgs;

use anyhow::Result;
use clap::Args;

/// Print, per service, the freight each stage runs (verified by Argo CD, or merged) and
/// the promotions still pending, from the store's ledger.
#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    store: StoreArgs,
}

pub fn status(args: StatusArgs) -> Result<()> {
    let config = args.store.config()?;
    // A fresh setup has no store yet: every stage is shown as running nothing Hoist
    // recorded, and the store is not created by reading it.
    let fresh = !args.store.db.exists();
    if fresh {
        eprintln!("{}", crate::messages::no_store_yet(&args.store.db));
    }
    let rt = tokio::runtime::Builder::new_current_thread().build()?;
    rt.block_on(async {
        let store = if fresh {
            None
        } else {
            Some(args.store.store()?)
        };
        for (service, _) in config.services.iter() {
            println!("{service}");
            let ledger = match &store {
                Some(store) => store.ledger_for(service).await?,
                None => vec![],
            };
            for stage in config.stage_names() {
                let here: Vec<_> = ledger.iter().filter(|p| p.stage == stage).collect();
                let runs = here
                    .iter()
                    .filter(|p| p.merged_at.is_some())
                    .max_by_key(|p| p.merged_at)
                    .map(|p| {
                        let how = if p.verified_at.is_some() {
                            "verified"
                        } else {
                            "merged, not verified yet"
                        };
                        format!("{} {how}", p.tag)
                    })
                    .unwrap_or_else(|| "-".into());
                let pending: Vec<String> = here
                    .iter()
                    .filter(|p| p.merged_at.is_none())
                    .map(|p| {
                        format!(
                            "#{} {} (by {})",
                            p.pr.unwrap_or_default(),
                            p.tag,
                            p.requested_by
                        )
                    })
                    .collect();
                let pending = if pending.is_empty() {
                    String::new()
                } else {
                    format!("  pending: {}", pending.join(", "))
                };
                println!("  {stage:<8} {runs}{pending}");
            }
        }
        Ok(())
    })
}
