//! Holds on a stage for one service: after a rollback merges, forward promotions of the
//! service into the stage wait until someone allowed to promote there says `/unhold
//! STAGE`. Kept in the store; what set a hold is on the pull request that rolled back.

use rusqlite::{OptionalExtension, params};

use super::{Result, Store};

/// A stage held for a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageHold {
    pub service: String,
    pub stage: String,
    /// Who asked for what set it (a login, as the forge named them then).
    pub by: String,
    pub reason: String,
    /// When, in the store's clock.
    pub at: i64,
    /// The rollback's pull request that set it (`None` for a hold set before Hoist kept
    /// it).
    pub pr: Option<u64>,
}

impl Store {
    /// Holds `service` in `stage` after the rollback pull request `pr` merged as
    /// `merge_sha`, unless that merge already did (then an `/unhold` since stands): the
    /// hold, when it held now.
    pub async fn hold_after_rollback(
        &self,
        service: &str,
        stage: &str,
        by: &str,
        reason: &str,
        merge_sha: &str,
        pr: u64,
    ) -> Result<Option<StageHold>> {
        let (service, stage, by, reason, sha) = (
            service.to_owned(),
            stage.to_owned(),
            by.to_owned(),
            reason.to_owned(),
            merge_sha.to_owned(),
        );
        let now = self.now_ms();
        self.call(move |c, _| {
            let tx = c.transaction()?;
            let new = tx.execute(
                "INSERT OR IGNORE INTO rollback_merges (merge_sha) VALUES (?1)",
                params![sha],
            )? > 0;
            let mut held = None;
            if new {
                let at = now;
                let hold = StageHold {
                    service,
                    stage,
                    by,
                    reason,
                    at,
                    pr: Some(pr),
                };
                put(&tx, &hold)?;
                held = Some(hold);
            }
            tx.commit()?;
            Ok(held)
        })
        .await
    }

    /// Records that the rollback merged as `merge_sha` was dealt with (after a lost
    /// store, its hold comes back from Hoist's record of it, or its release's).
    pub async fn rollback_merge_seen(&self, merge_sha: &str) -> Result<()> {
        let sha = merge_sha.to_owned();
        self.call(move |c, _| {
            c.execute(
                "INSERT OR IGNORE INTO rollback_merges (merge_sha) VALUES (?1)",
                params![sha],
            )?;
            Ok(())
        })
        .await
    }

    /// The hold on `service` in `stage`, if any.
    pub async fn stage_hold(&self, service: &str, stage: &str) -> Result<Option<StageHold>> {
        let (service, stage) = (service.to_owned(), stage.to_owned());
        self.call(move |c, _| {
            Ok(c.query_row(
                "SELECT service, stage, held_by, reason, held_at, pr FROM stage_holds
                 WHERE service = ?1 AND stage = ?2",
                params![service, stage],
                hold,
            )
            .optional()?)
        })
        .await
    }

    /// Releases the hold on `service` in `stage`: the hold released (its time now the
    /// release's), if there was one.
    pub async fn unhold_stage(&self, service: &str, stage: &str) -> Result<Option<StageHold>> {
        let (service, stage) = (service.to_owned(), stage.to_owned());
        let now = self.now_ms();
        self.call(move |c, _| {
            let held = c
                .query_row(
                    "DELETE FROM stage_holds WHERE service = ?1 AND stage = ?2
                     RETURNING service, stage, held_by, reason, held_at, pr",
                    params![service, stage],
                    hold,
                )
                .optional()?;
            Ok(held.map(|h| StageHold { at: now, ..h }))
        })
        .await
    }

    /// Sets a hold as a rebuild from the forge found it (after a lost store).
    pub async fn restore_hold(&self, h: &StageHold) -> Result<()> {
        let h = h.clone();
        self.call(move |c, _| {
            put(c, &h)?;
            Ok(())
        })
        .await
    }
}

fn hold(r: &rusqlite::Row) -> rusqlite::Result<StageHold> {
    Ok(StageHold {
        service: r.get(0)?,
        stage: r.get(1)?,
        by: r.get(2)?,
        reason: r.get(3)?,
        at: r.get(4)?,
        pr: r.get::<_, Option<i64>>(5)?.map(|n| n as u64),
    })
}

fn put(c: &rusqlite::Connection, h: &StageHold) -> rusqlite::Result<()> {
    c.execute(
        "INSERT INTO stage_holds (service, stage, held_by, reason, held_at, pr)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (service, stage) DO UPDATE SET held_by = excluded.held_by,
           reason = excluded.reason, held_at = excluded.held_at, pr = excluded.pr",
        params![
            h.service,
            h.stage,
            h.by,
            h.reason,
            h.at,
            h.pr.map(|n| n as i64)
        ],
    )?;
    Ok(())
}
