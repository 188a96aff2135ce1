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
    /// Freezes `stage` (`frozen`) or unfreezes it, by `by`: the change as recorded, its
    /// time after the stage's last change's (records are ordered by it after a lost
    /// store, and a clock may stand still), or `None` for an unfreeze of a stage that
    /// is not frozen.
    pub async fn set_freeze(
        &self,
        stage: &str,
        frozen: bool,
        by: &str,
        reason: &str,
    ) -> Result<Option<Freeze>> {
        let (stage, by, reason) = (stage.to_owned(), by.to_owned(), reason.to_owned());
        let now = self.now_ms();
        self.call(move |c, _| {
            let tx = c.transaction()?;
            let last: Option<(bool, i64)> = tx
                .query_row(
                    "SELECT frozen, frozen_at FROM stage_freezes WHERE stage = ?1",
                    params![stage],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            if !frozen && !last.is_some_and(|(f, _)| f) {
                return Ok(None);
            }
            // After the stage's last change, even when the clock stood still: a rebuild
            // takes the last record.
            let at = last.map_or(now, |(_, at)| now.max(at + 1));
            let f = Freeze {
                stage,
                by,
                reason,
                at,
            };
            put(&tx, &f, frozen, false)?;
            tx.commit()?;
            Ok(Some(f))
        })
        .await
    }

    /// Records a freeze or unfreeze as it was (Hoist's record of it, after a lost store),
    /// unless the store knows a later change.
    pub async fn restore_freeze(&self, f: &Freeze, frozen: bool) -> Result<()> {
        let f = f.clone();
        self.call(move |c, _| {
            put(c, &f, frozen, true)?;
            Ok(())
        })
        .await
    }

    /// The freeze on `stage`, if any.
    pub async fn frozen(&self, stage: &str) -> Result<Option<Freeze>> {
        let stage = stage.to_owned();
        self.call(move |c, _| {
            Ok(c.query_row(
                "SELECT stage, frozen_by, reason, frozen_at FROM stage_freezes
                 WHERE stage = ?1 AND frozen",
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
                "SELECT stage, frozen_by, reason, frozen_at FROM stage_freezes
                 WHERE frozen ORDER BY stage",
            )?;
            let rows = q.query_map([], freeze)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    /// Lets pull request `pr`, at `head`, merge into `stage` while the freeze recorded
    /// at `freeze_at` stands (never through a later one).
    pub async fn override_freeze(
        &self,
        pr: u64,
        head: &str,
        stage: &str,
        freeze_at: i64,
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
                "INSERT OR REPLACE INTO freeze_overrides (pr, head, stage, freeze_at, by_login, reason)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![pr as i64, head, stage, freeze_at, by, reason],
            )?;
            Ok(())
        })
        .await
    }

    /// Who let pull request `pr`, at `head`, through the freeze of `stage` recorded at
    /// `freeze_at`, if anyone.
    pub async fn freeze_overridden(
        &self,
        pr: u64,
        head: &str,
        stage: &str,
        freeze_at: i64,
    ) -> Result<Option<String>> {
        let (head, stage) = (head.to_owned(), stage.to_owned());
        self.call(move |c, _| {
            Ok(c.query_row(
                "SELECT by_login FROM freeze_overrides
                 WHERE pr = ?1 AND head = ?2 AND stage = ?3 AND freeze_at = ?4",
                params![pr as i64, head, stage, freeze_at],
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

/// Records `f` as the stage's last change (`frozen` or not); `only_later`: unless the
/// store knows a later one.
fn put(
    c: &rusqlite::Connection,
    f: &Freeze,
    frozen: bool,
    only_later: bool,
) -> rusqlite::Result<()> {
    let guard = if only_later {
        " WHERE excluded.frozen_at > stage_freezes.frozen_at"
    } else {
        ""
    };
    c.execute(
        &format!(
            "INSERT INTO stage_freezes (stage, frozen, frozen_by, reason, frozen_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (stage) DO UPDATE SET frozen = excluded.frozen,
               frozen_by = excluded.frozen_by, reason = excluded.reason,
               frozen_at = excluded.frozen_at{guard}"
        ),
        params![f.stage, frozen, f.by, f.reason, f.at],
    )?;
    Ok(())
}
