//! The promotion ledger: which freight went to which stage, through which pull
//! request, approved by whom, merged and verified when. A cache of what Git records in
//! commit trailers and PR bodies; holds live here too.

use rusqlite::{OptionalExtension, params};

use super::{Result, Store, StoreError};
use crate::freight::Freight;

/// One promotion as the ledger knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Promotion {
    pub service: String,
    pub stage: String,
    pub tag: String,
    pub digest: String,
    pub pr: Option<u64>,
    pub requested_by: String,
    pub approved_by: Option<String>,
    pub merge_sha: Option<String>,
    pub merged_at: Option<i64>,
    pub verified_at: Option<i64>,
    /// When Hoist opened (or last re-pointed) the pull request, in the store's clock.
    pub opened_at: i64,
}

impl Store {
    /// Records (or re-points) the promotion of `freight` to `stage` through `pr`.
    pub async fn ledger_opened(
        &self,
        f: &Freight,
        stage: &str,
        pr: u64,
        requested_by: &str,
    ) -> Result<()> {
        let (service, digest, tag, image) = (
            f.service.clone(),
            f.digest.to_string(),
            f.tag.to_string(),
            f.image.to_string(),
        );
        let (stage, requested_by) = (stage.to_owned(), requested_by.to_owned());
        let now = self.now_ms();
        self.call(move |c, _| {
            c.execute(
                "INSERT INTO promotions (service, stage, digest, tag, image, pr, requested_by, opened_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (service, stage, digest) DO UPDATE SET pr = excluded.pr, tag = excluded.tag",
                params![service, stage, digest, tag, image, pr as i64, requested_by, now],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn ledger_merged(
        &self,
        service: &str,
        stage: &str,
        digest: &str,
        merge_sha: &str,
        approved_by: Option<String>,
        pr: u64,
    ) -> Result<()> {
        let (a, b, d, m) = (
            service.to_owned(),
            stage.to_owned(),
            digest.to_owned(),
            merge_sha.to_owned(),
        );
        let now = self.now_ms();
        self.call(move |c, _| {
            c.execute(
                // Merged again by another merge (a rollback to freight that ran there
                // before): a new merge, verified anew.
                "UPDATE promotions SET merge_sha = ?4,
                   merged_at = CASE WHEN merge_sha IS NULL OR merge_sha = ?4 THEN COALESCE(merged_at, ?5) ELSE ?5 END,
                   verified_at = CASE WHEN merge_sha IS NULL OR merge_sha = ?4 THEN verified_at ELSE NULL END,
                   approved_by = COALESCE(?6, approved_by)
                 WHERE service = ?1 AND stage = ?2 AND digest = ?3 AND (pr IS NULL OR pr = ?7)",
                params![a, b, d, m, now, approved_by, pr as i64],
            )?;
            Ok(())
        })
        .await
    }

    /// Marks the promotion verified; false when it already was.
    pub async fn ledger_verified(&self, service: &str, stage: &str, digest: &str) -> Result<bool> {
        let (a, b, d) = (service.to_owned(), stage.to_owned(), digest.to_owned());
        let now = self.now_ms();
        self.call(move |c, _| {
            Ok(c.execute(
                "UPDATE promotions SET verified_at = ?4 WHERE service = ?1 AND stage = ?2 AND digest = ?3 AND verified_at IS NULL",
                params![a, b, d, now],
            )? == 1)
        })
        .await
    }

    pub async fn ledger_get(
        &self,
        service: &str,
        stage: &str,
        digest: &str,
    ) -> Result<Option<Promotion>> {
        let (a, b, d) = (service.to_owned(), stage.to_owned(), digest.to_owned());
        self.call(move |c, _| {
            Ok(c.query_row(
                "SELECT service, stage, tag, digest, pr, requested_by, approved_by, merge_sha, merged_at, verified_at, opened_at
                 FROM promotions WHERE service = ?1 AND stage = ?2 AND digest = ?3",
                params![a, b, d],
                row,
            )
            .optional()?)
        })
        .await
    }

    /// Every promotion of `service`, newest first.
    pub async fn ledger_for(&self, service: &str) -> Result<Vec<Promotion>> {
        let a = service.to_owned();
        self.call(move |c, _| {
            let mut st = c.prepare(
                "SELECT service, stage, tag, digest, pr, requested_by, approved_by, merge_sha, merged_at, verified_at, opened_at
                 FROM promotions WHERE service = ?1 ORDER BY opened_at DESC, rowid DESC",
            )?;
            let rows = st.query_map(params![a], row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }

    /// The promotions of `service`'s freight `digest` that Argo CD verified, newest first:
    /// the stages it stands in, for the DAG.
    pub async fn verified_in(&self, service: &str, digest: &str) -> Result<Vec<Promotion>> {
        Ok(self
            .ledger_for(service)
            .await?
            .into_iter()
            .filter(|p| p.digest == digest && p.verified_at.is_some())
            .collect())
    }

    /// Every verified promotion's digest, with the stages it is verified in and its tag.
    pub async fn verified_digests(
        &self,
    ) -> Result<std::collections::HashMap<String, (Vec<String>, String)>> {
        self.call(move |c, _| {
            let mut st = c.prepare(
                "SELECT digest, stage, tag FROM promotions WHERE verified_at IS NOT NULL",
            )?;
            let mut out: std::collections::HashMap<String, (Vec<String>, String)> =
                std::collections::HashMap::new();
            let rows = st.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })?;
            for row in rows {
                let (digest, stage, tag) = row?;
                let e = out.entry(digest).or_insert_with(|| (vec![], tag));
                e.0.push(stage);
            }
            Ok(out)
        })
        .await
    }

    pub async fn hold(&self, pr: u64, by: &str) -> Result<()> {
        let by = by.to_owned();
        let now = self.now_ms();
        self.call(move |c, _| {
            c.execute(
                "INSERT INTO holds (pr, held_by, at) VALUES (?1, ?2, ?3) ON CONFLICT (pr) DO UPDATE SET held_by = excluded.held_by",
                params![pr as i64, by, now],
            )?;
            Ok(())
        })
        .await
    }

    /// Keeps `by`'s hold for the next pull request on `branch`.
    pub async fn carry_hold(&self, branch: &str, by: &str) -> Result<()> {
        let (branch, by) = (branch.to_owned(), by.to_owned());
        let now = self.now_ms();
        self.call(move |c, _| {
            c.execute(
                "INSERT INTO carried_holds (branch, held_by, at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (branch) DO UPDATE SET held_by = excluded.held_by",
                params![branch, by, now],
            )?;
            Ok(())
        })
        .await
    }

    /// Puts a hold carried for `branch` on pull request `pr`, its new one.
    pub async fn land_carried_hold(&self, branch: &str, pr: u64) -> Result<()> {
        let branch = branch.to_owned();
        let now = self.now_ms();
        self.call(move |c, _| {
            let tx = c.transaction()?;
            let by: Option<String> = tx
                .query_row(
                    "SELECT held_by FROM carried_holds WHERE branch = ?1",
                    params![branch],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(by) = by {
                tx.execute(
                    "INSERT INTO holds (pr, held_by, at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (pr) DO UPDATE SET held_by = excluded.held_by",
                    params![pr as i64, by, now],
                )?;
                tx.execute(
                    "DELETE FROM carried_holds WHERE branch = ?1",
                    params![branch],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    pub async fn unhold(&self, pr: u64) -> Result<bool> {
        self.call(move |c, _| {
            Ok(c.execute("DELETE FROM holds WHERE pr = ?1", params![pr as i64])? == 1)
        })
        .await
    }

    pub async fn held_by(&self, pr: u64) -> Result<Option<String>> {
        self.call(move |c, _| {
            Ok(c.query_row(
                "SELECT held_by FROM holds WHERE pr = ?1",
                params![pr as i64],
                |r| r.get(0),
            )
            .optional()?)
        })
        .await
    }
}

impl Store {
    /// Records that Hoist answered the command comment `comment_id` on `pr`.
    pub async fn record_answered(&self, comment_id: u64, pr: u64) -> Result<()> {
        let now = self.now_ms();
        self.call(move |c, _| {
            c.execute(
                "INSERT INTO answered_comments (comment_id, pr, at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (comment_id) DO NOTHING",
                params![comment_id as i64, pr as i64, now],
            )?;
            Ok(())
        })
        .await
    }

    /// Whether Hoist answered the command comment `comment_id`.
    pub async fn answered(&self, comment_id: u64) -> Result<bool> {
        self.call(move |c, _| {
            Ok(c.query_row(
                "SELECT 1 FROM answered_comments WHERE comment_id = ?1",
                params![comment_id as i64],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
        })
        .await
    }
}

/// A break-glass override of `hoist/dag` on one head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DagOverride {
    pub by: String,
    pub reason: String,
}

impl Store {
    /// When Argo CD was first seen running this promotion healthy (recording now if it
    /// was not seen before).
    pub async fn healthy_since(&self, service: &str, stage: &str, digest: &str) -> Result<i64> {
        let (a, b, d) = (service.to_owned(), stage.to_owned(), digest.to_owned());
        let now = self.now_ms();
        self.call(move |c, _| {
            c.execute(
                "UPDATE promotions SET healthy_since = ?4 WHERE service = ?1 AND stage = ?2 AND digest = ?3 AND healthy_since IS NULL",
                params![a, b, d, now],
            )?;
            Ok(c.query_row(
                "SELECT healthy_since FROM promotions WHERE service = ?1 AND stage = ?2 AND digest = ?3",
                params![a, b, d],
                |r| r.get::<_, Option<i64>>(0),
            )
            .optional()?
            .flatten()
            .unwrap_or(now))
        })
        .await
    }

    /// The application stopped looking right: the debounce starts over next time.
    pub async fn forget_healthy(&self, service: &str, stage: &str, digest: &str) -> Result<()> {
        let (a, b, d) = (service.to_owned(), stage.to_owned(), digest.to_owned());
        self.call(move |c, _| {
            c.execute(
                "UPDATE promotions SET healthy_since = NULL WHERE service = ?1 AND stage = ?2 AND digest = ?3",
                params![a, b, d],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn record_override(&self, pr: u64, sha: &str, by: &str, reason: &str) -> Result<()> {
        let (sha, by, reason) = (sha.to_owned(), by.to_owned(), reason.to_owned());
        let now = self.now_ms();
        self.call(move |c, _| {
            c.execute(
                "INSERT INTO dag_overrides (pr, sha, by_login, reason, at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (pr, sha) DO UPDATE SET by_login = excluded.by_login, reason = excluded.reason, at = excluded.at",
                params![pr as i64, sha, by, reason, now],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn dag_override(&self, pr: u64, sha: &str) -> Result<Option<DagOverride>> {
        let sha = sha.to_owned();
        self.call(move |c, _| {
            Ok(c.query_row(
                "SELECT by_login, reason FROM dag_overrides WHERE pr = ?1 AND sha = ?2",
                params![pr as i64, sha],
                |r| {
                    Ok(DagOverride {
                        by: r.get(0)?,
                        reason: r.get(1)?,
                    })
                },
            )
            .optional()?)
        })
        .await
    }

    /// Whether `content` differs from what was last published as check run `name` on `sha`.
    pub async fn check_changed(&self, sha: &str, name: &str, content: &str) -> Result<bool> {
        let (sha, name, content) = (sha.to_owned(), name.to_owned(), content.to_owned());
        self.call(move |c, _| {
            let last: Option<String> = c
                .query_row(
                    "SELECT content FROM published_checks WHERE sha = ?1 AND name = ?2",
                    params![sha, name],
                    |r| r.get(0),
                )
                .optional()?;
            Ok(last.as_deref() != Some(content.as_str()))
        })
        .await
    }

    /// The index of the service reconcile's registry pass reads first (0 at first).
    pub async fn registry_cursor(&self) -> Result<usize> {
        self.call(|c, _| {
            Ok(
                c.query_row("SELECT next FROM registry_cursor WHERE id = 0", [], |r| {
                    r.get::<_, i64>(0)
                })
                .optional()?
                .unwrap_or(0) as usize,
            )
        })
        .await
    }

    pub async fn set_registry_cursor(&self, next: usize) -> Result<()> {
        self.call(move |c, _| {
            c.execute(
                "INSERT INTO registry_cursor (id, next) VALUES (0, ?1)
                 ON CONFLICT (id) DO UPDATE SET next = excluded.next",
                params![next as i64],
            )?;
            Ok(())
        })
        .await
    }

    /// Writes one row and commits it: fails as storing a delivery would on a full disk,
    /// a read-only file or a store another process holds locked. At most once a second,
    /// however often it is asked (`/readyz` answers anyone, and each probe takes the one
    /// writer's turn from deliveries): callers within a second of the last probe, or
    /// waiting on it, get its outcome; a probe cut short by its caller counts as failed.
    pub async fn probe_write(&self) -> Result<()> {
        let mut last = self.probed.lock().await;
        if let Some((at, ok)) = *last
            && at.elapsed() < std::time::Duration::from_secs(1)
        {
            return if ok {
                Ok(())
            } else {
                Err(StoreError::Other("the last write probe failed".into()))
            };
        }
        *last = Some((std::time::Instant::now(), false));
        let now = self.now_ms();
        let r = self
            .call(move |c, _| {
                c.execute(
                    "INSERT INTO write_probe (id, at) VALUES (0, ?1)
                     ON CONFLICT (id) DO UPDATE SET at = excluded.at",
                    params![now],
                )?;
                Ok(())
            })
            .await;
        *last = Some((std::time::Instant::now(), r.is_ok()));
        r
    }

    /// Detaches an unmerged promotion from its pull request, which carried other
    /// freight in the end: it was superseded, not merged.
    pub async fn ledger_detach(
        &self,
        service: &str,
        stage: &str,
        digest: &str,
        pr: u64,
    ) -> Result<()> {
        let (service, stage, digest) = (service.to_owned(), stage.to_owned(), digest.to_owned());
        self.call(move |c, _| {
            // Only from that pull request: a newer one may carry the freight by now.
            c.execute(
                "UPDATE promotions SET pr = NULL
                 WHERE service = ?1 AND stage = ?2 AND digest = ?3 AND pr = ?4
                   AND merge_sha IS NULL",
                params![service, stage, digest, pr as i64],
            )?;
            Ok(())
        })
        .await
    }

    /// Whether check run `name` was ever published on `sha` (by this store's Hoist).
    pub async fn published(&self, sha: &str, name: &str) -> Result<bool> {
        let (sha, name) = (sha.to_owned(), name.to_owned());
        self.call(move |c, _| {
            Ok(c.query_row(
                "SELECT 1 FROM published_checks WHERE sha = ?1 AND name = ?2",
                params![sha, name],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
        })
        .await
    }

    /// What Hoist last said pull request `pr` waits for: the first line of its newest
    /// head's `hoist/argocd` check that is not passed, from Hoist's own record of what it
    /// published (nothing else writes there).
    pub async fn waiting_on(&self, pr: u64) -> Result<Option<String>> {
        let name = crate::marks::ARGOCD_CHECK;
        self.call(move |c, _| {
            let content: Option<String> = c
                .query_row(
                    "SELECT p.content FROM hoist_heads h JOIN published_checks p ON p.sha = h.sha
                     WHERE h.pr = ?1 AND h.retired = 0 AND p.name = ?2
                     ORDER BY h.rowid DESC LIMIT 1",
                    params![pr as i64, name],
                    |r| r.get(0),
                )
                .optional()?;
            Ok(content.and_then(|c| {
                c.lines()
                    .skip(1)
                    .find(|l| {
                        !l.is_empty()
                            && !l.starts_with(crate::messages::gate_mark(
                                crate::policy::gate::State::Ready,
                            ))
                    })
                    // The line without its mark: the page and the terminal say "waits:".
                    .map(|l| l.split_once(' ').map_or(l, |(_, rest)| rest).to_owned())
            }))
        })
        .await
    }

    /// Records `content` as published; called only once the forge accepted it, so a
    /// failed publish is retried rather than skipped as unchanged.
    pub async fn record_check(&self, sha: &str, name: &str, content: &str) -> Result<()> {
        let (sha, name, content) = (sha.to_owned(), name.to_owned(), content.to_owned());
        self.call(move |c, _| {
            c.execute(
                "INSERT INTO published_checks (sha, name, content) VALUES (?1, ?2, ?3)
                 ON CONFLICT (sha, name) DO UPDATE SET content = excluded.content",
                params![sha, name, content],
            )?;
            Ok(())
        })
        .await
    }
}

fn row(r: &rusqlite::Row) -> rusqlite::Result<Promotion> {
    Ok(Promotion {
        service: r.get(0)?,
        stage: r.get(1)?,
        tag: r.get(2)?,
        digest: r.get(3)?,
        pr: r.get::<_, Option<i64>>(4)?.map(|n| n as u64),
        requested_by: r.get(5)?,
        approved_by: r.get(6)?,
        merge_sha: r.get(7)?,
        merged_at: r.get(8)?,
        verified_at: r.get(9)?,
        opened_at: r.get(10)?,
    })
}
