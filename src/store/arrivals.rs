//! Group members' images waiting for the rest of their group: a push of one member is
//! recorded here, by the key that matches members (the source commit or the tag), until
//! every member has an image under that key.

use rusqlite::params;

use super::{Result, Store};
use crate::freight::Freight;
use crate::image::{Digest, ImageName, Tag};

/// A key under which some members of a group have arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub group: String,
    pub key: String,
    /// The members that arrived, each with its freight.
    pub arrived: Vec<Freight>,
    /// When the latest arrived, in the store's clock.
    pub at: i64,
}

impl Store {
    /// Records `freight` as member `freight.service` of `group` under `key`. A member
    /// pushed again under the same key with another image (a rebuild of the same commit)
    /// replaces its image, and the key waits again; the same image again (a redelivered
    /// push, a reconcile pass) changes nothing. Whether anything changed.
    pub async fn record_arrival(&self, group: &str, key: &str, freight: &Freight) -> Result<bool> {
        let (g, k, f) = (group.to_owned(), key.to_owned(), freight.clone());
        let now = self.now_ms();
        self.call(move |c, _| {
            c.execute(
                "INSERT INTO group_arrivals (grp, key, service, image, tag, digest, arrived_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (grp, key, service) DO UPDATE SET image = excluded.image,
                   tag = excluded.tag, digest = excluded.digest, arrived_at = excluded.arrived_at
                 WHERE digest != excluded.digest",
                params![
                    g,
                    k,
                    f.service,
                    f.image.as_str(),
                    f.tag.as_str(),
                    f.digest.as_str(),
                    now
                ],
            )?;
            let changed = c.changes() > 0;
            if changed {
                c.execute(
                    "UPDATE group_arrivals SET moved = 0 WHERE grp = ?1 AND key = ?2",
                    params![g, k],
                )?;
            }
            Ok(changed)
        })
        .await
    }

    /// Whether `group`'s freight under `key` was promoted (`mark_moved`) and nothing
    /// arrived under it since.
    pub async fn group_moved(&self, group: &str, key: &str) -> Result<bool> {
        let (g, k) = (group.to_owned(), key.to_owned());
        self.call(move |c, _| {
            Ok(c.query_row(
                "SELECT COUNT(*) FROM group_arrivals WHERE grp = ?1 AND key = ?2 AND moved = 1",
                params![g, k],
                |r| r.get::<_, i64>(0),
            )? > 0)
        })
        .await
    }

    /// Every key of every group with members waiting, newest first.
    pub async fn waiting(&self) -> Result<Vec<Waiting>> {
        self.call(move |c, _| {
            let mut st = c.prepare(
                "SELECT grp, key, service, image, tag, digest, arrived_at FROM group_arrivals
                 WHERE moved = 0 ORDER BY grp, key, service",
            )?;
            let rows = st.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, i64>(6)?,
                ))
            })?;
            let mut out: Vec<Waiting> = vec![];
            for row in rows {
                let (group, key, service, image, tag, digest, at) = row?;
                // Written by Hoist from validated freight; anything else is skipped.
                let (Ok(image), Ok(tag), Ok(digest)) = (
                    ImageName::parse(&image),
                    Tag::parse(&tag),
                    Digest::parse(&digest),
                ) else {
                    continue;
                };
                let freight = Freight {
                    service,
                    image,
                    tag,
                    digest,
                    source: None,
                    pushed_at: None,
                };
                match out.last_mut() {
                    Some(w) if w.group == group && w.key == key => {
                        w.arrived.push(freight);
                        w.at = w.at.max(at);
                    }
                    _ => out.push(Waiting {
                        group,
                        key,
                        arrived: vec![freight],
                        at,
                    }),
                }
            }
            out.sort_by_key(|w| std::cmp::Reverse(w.at));
            Ok(out)
        })
        .await
    }

    /// What has arrived of `group` under `key`.
    pub async fn arrived(&self, group: &str, key: &str) -> Result<Vec<Freight>> {
        Ok(self
            .waiting()
            .await?
            .into_iter()
            .find(|w| w.group == group && w.key == key)
            .map(|w| w.arrived)
            .unwrap_or_default())
    }

    /// Marks `group`'s freight under `key` as promoted (kept, so that a redelivered push
    /// of it is known), and forgets every other key whose members all arrived before
    /// `key`'s first: the group's freight supersedes them (a commit rebuilt later still
    /// waits).
    pub async fn mark_moved(&self, group: &str, key: &str) -> Result<()> {
        let (g, k) = (group.to_owned(), key.to_owned());
        self.call(move |c, _| {
            c.execute(
                "DELETE FROM group_arrivals WHERE grp = ?1 AND key != ?2 AND key IN (
                   SELECT key FROM group_arrivals WHERE grp = ?1 GROUP BY key
                   HAVING MAX(arrived_at) < (
                     SELECT MIN(arrived_at) FROM group_arrivals WHERE grp = ?1 AND key = ?2))",
                params![g, k],
            )?;
            c.execute(
                "UPDATE group_arrivals SET moved = 1 WHERE grp = ?1 AND key = ?2",
                params![g, k],
            )?;
            Ok(())
        })
        .await
    }
}
