//! Frozen stages: no pull request merges into a frozen stage until someone allowed to
//! freeze says `/unfreeze STAGE`, except one a break-glass `/override freeze` let
//! through at its head. Kept in the store; Hoist's own comments record each change, and
//! a lost store is rebuilt from them.

use rusqlite::{OptionalExtension, params};

use super::{Result, Store};

/// A frozen stage.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Freeze {
    pub stage: String,
    /// Who froze it (a login, as the forge named them then).
    pub by: String,
    /// Why, as they said it; may be empty.
    pub reason: String,
    /// When, in the store's clock.
    pub at: i64,
}

impl Store {
    /// Freezes `stage` (or says again who froze it and why): the freeze now.
    pub async fn freeze(&self, stage: &str, by: &str, reason: &str) -> Result<Freeze> {
        let f = Freeze {
            stage: stage.to_owned(),
            by: by.to_owned(),
            reason: reason.to_owned(),
            at: self.now_ms(),
        };
        self.restore_freeze(&f).await?;
        Ok(f)
    }

    /// Records `f` as it was (from Hoist's record of it, after a lost store).
    pub async fn restore_freeze(&self, f: &Freeze) -> Result<()> {
        let f = f.clone();
        self.call(move |c, _| {
            c.execute(
                "INSERT INTO stage_freezes (stage, frozen_by, reason, frozen_at)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (stage) DO UPDATE SET frozen_by = excluded.frozen_by,
                   reason = excluded.reason, frozen_at = excluded.frozen_at",
                params![f.stage, f.by, f.reason, f.at],
            )?;
            Ok(())
        })
        .await
    }

    /// Unfreezes `stage`: whether it was frozen.
    pub async fn unfreeze(&self, stage: &str) -> Result<bool> {
        let stage = stage.to_owned();
        self.call(move |c, _| {
            Ok(c.execute("DELETE FROM stage_freezes WHERE stage = ?1", params![stage])? > 0)
        })
        .await
    }

    /// The freeze on `stage`, if any.
    pub async fn frozen(&self, stage: &str) -> Result<Option<Freeze>> {
        let stage = stage.to_owned();
        self.call(move |c, _| {
            Ok(c.query_row(
                "SELECT stage, frozen_by, reason, frozen_at FROM stage_freezes WHERE stage = ?1",
                params![stage],
                freeze,
            )
            .optional()?)
        })
        .await
    }

    /// Every frozen stage, by name.
    pub async fn freezes(&self) -> Result<Vec<Freeze>> {
        self.call(move |c, _| {
            let mut q = c.prepare(
                "SELECT stage, frozen_by, reason, frozen_at FROM stage_freezes ORDER BY stage",
            )?;
            let rows = q.query_map([], freeze)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    /// Lets pull request `pr`, at `head`, merge into the frozen `stage`.
    pub async fn override_freeze(
        &self,
        pr: u64,
        head: &str,
        stage: &str,
        by: &str,
        reason: &str,
    ) -> Result<()> {
        let (head, stage, by, reason) = (
            head.to_owned(),
            stage.to_owned(),
            by.to_owned(),
            reason.to_owned(),
        );
        self.call(move |c, _| {
            c.execute(
                "INSERT OR REPLACE INTO freeze_overrides (pr, head, stage, by_login, reason)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![pr as i64, head, stage, by, reason],
            )?;
            Ok(())
        })
        .await
    }

    /// Who let pull request `pr`, at `head`, through a freeze of `stage`, if anyone.
    pub async fn freeze_overridden(
        &self,
        pr: u64,
        head: &str,
        stage: &str,
    ) -> Result<Option<String>> {
        let (head, stage) = (head.to_owned(), stage.to_owned());
        self.call(move |c, _| {
            Ok(c.query_row(
                "SELECT by_login FROM freeze_overrides WHERE pr = ?1 AND head = ?2 AND stage = ?3",
                params![pr as i64, head, stage],
                |r| r.get(0),
            )
            .optional()?)
        })
        .await
    }
}

fn freeze(r: &rusqlite::Row) -> rusqlite::Result<Freeze> {
    Ok(Freeze {
        stage: r.get(0)?,
        by: r.get(1)?,
        reason: r.get(2)?,
        at: r.get(3)?,
    })
}
