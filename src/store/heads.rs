//! The head commits Hoist wrote, and for which promotion. This is the record every gate
//! decision starts from: a pull request is a promotion only when its head is one of
//! these and names it, and its freight and requester come from here, never from the
//! pull request's body, title or branch, which anyone with write access can edit.

use rusqlite::{OptionalExtension, params};

use super::{Result, Store};
use crate::domain::{Actor, ActorKind};
use crate::freight::Freight;
use crate::image::{Digest, ImageName, Tag};

/// A head commit Hoist wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoistHead {
    pub sha: String,
    /// The pull request it heads; `None` for the moment between writing the branch and
    /// opening the pull request.
    pub pr: Option<u64>,
    pub stage: String,
    pub freight: Freight,
    /// Who asked for it: a person (by numeric id on GitHub, by ARN on CodeCommit), or
    /// Hoist itself (`kind: Bot`) for a push or an automatic stage.
    pub requester: Actor,
    /// For a group's head: the group and every member's freight (`freight` is the
    /// first's). `None` and empty for one service's.
    pub group: Option<String>,
    pub members: Vec<Freight>,
    /// For a rollback's head: the tag the stage ran, which this puts back what ran
    /// before. `None` for a forward promotion.
    pub rollback_of: Option<String>,
}

impl HoistHead {
    /// Every freight the head promotes: the members of a group's, else the one.
    pub fn all_freight(&self) -> Vec<&Freight> {
        if self.members.is_empty() {
            vec![&self.freight]
        } else {
            self.members.iter().collect()
        }
    }

    /// The machine-readable record Hoist publishes by its own identity when it writes a
    /// head (see `Forge::publish_record`): all a lost store needs to know it again.
    pub fn to_record(&self) -> String {
        serde_json::json!({
            "v": 1,
            "pr": self.pr,
            "sha": self.sha,
            "stage": self.stage,
            "service": self.freight.service,
            "image": self.freight.image.as_str(),
            "tag": self.freight.tag.as_str(),
            "digest": self.freight.digest.as_str(),
            "requester": {
                "id": self.requester.id,
                "login": self.requester.login,
                "kind": kind_name(self.requester.kind),
            },
            "group": self.group,
            "rollback_of": self.rollback_of,
            "members": self.members.iter().map(|m| serde_json::json!({
                "service": m.service,
                "image": m.image.as_str(),
                "tag": m.tag.as_str(),
                "digest": m.digest.as_str(),
            })).collect::<Vec<_>>(),
        })
        .to_string()
    }

    /// A record as published, checked against what it must name: `sha` of pull
    /// request `pr`. `None` for anything else or anything malformed.
    pub fn from_record(text: &str, pr: u64, sha: &str) -> Option<Self> {
        let v: serde_json::Value = serde_json::from_str(text).ok()?;
        if v["v"] != 1 || v["pr"].as_u64()? != pr || v["sha"].as_str()? != sha {
            return None;
        }
        let r = &v["requester"];
        let mut members = vec![];
        for m in v["members"].as_array().into_iter().flatten() {
            members.push(Freight {
                service: m["service"].as_str()?.to_owned(),
                image: ImageName::parse(m["image"].as_str()?).ok()?,
                tag: Tag::parse(m["tag"].as_str()?).ok()?,
                digest: Digest::parse(m["digest"].as_str()?).ok()?,
                source: None,
                pushed_at: None,
            });
        }
        Some(Self {
            rollback_of: v["rollback_of"].as_str().map(str::to_owned),
            group: v["group"].as_str().map(str::to_owned),
            members,
            sha: sha.to_owned(),
            pr: Some(pr),
            stage: v["stage"].as_str()?.to_owned(),
            freight: Freight {
                service: v["service"].as_str()?.to_owned(),
                image: ImageName::parse(v["image"].as_str()?).ok()?,
                tag: Tag::parse(v["tag"].as_str()?).ok()?,
                digest: Digest::parse(v["digest"].as_str()?).ok()?,
                source: None,
                pushed_at: None,
            },
            requester: Actor {
                id: r["id"].as_u64()?,
                login: r["login"].as_str()?.to_owned(),
                kind: match r["kind"].as_str()? {
                    "bot" => ActorKind::Bot,
                    "user" => ActorKind::User,
                    _ => return None,
                },
            },
        })
    }
}

impl Store {
    /// Records `sha` as a head Hoist wrote to promote `freight` to `stage` at
    /// `requester`'s request.
    pub async fn record_head(
        &self,
        sha: &str,
        stage: &str,
        freight: &Freight,
        requester: &Actor,
    ) -> Result<()> {
        self.record_head_as(sha, stage, freight, requester, None)
            .await
    }

    /// `record_head`, for a rollback from `rollback_of` (the tag the stage ran) when
    /// given: one write, so the head is never seen as a forward promotion.
    pub async fn record_head_as(
        &self,
        sha: &str,
        stage: &str,
        freight: &Freight,
        requester: &Actor,
        rollback_of: Option<&str>,
    ) -> Result<()> {
        let rollback_of = rollback_of.map(str::to_owned);
        let (sha, stage, f, r) = (
            sha.to_owned(),
            stage.to_owned(),
            freight.clone(),
            requester.clone(),
        );
        let now = self.now_ms();
        self.call(move |c, _| {
            c.execute(
                "INSERT INTO hoist_heads (sha, service, stage, digest, requested_by, tag, image, requester_id, requester_kind, rollback_of, written_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                 ON CONFLICT (sha) DO UPDATE SET service = excluded.service, stage = excluded.stage,
                   digest = excluded.digest, requested_by = excluded.requested_by, tag = excluded.tag,
                   image = excluded.image, requester_id = excluded.requester_id,
                   requester_kind = excluded.requester_kind, rollback_of = excluded.rollback_of,
                   retired = 0, written_at = coalesce(written_at, excluded.written_at)",
                params![
                    sha,
                    f.service,
                    stage,
                    f.digest.as_str(),
                    r.login,
                    f.tag.as_str(),
                    f.image.as_str(),
                    r.id as i64,
                    kind_name(r.kind),
                    rollback_of,
                    now
                ],
            )?;
            Ok(())
        })
        .await
    }

    /// Records `sha` as a head Hoist wrote to promote group `group`'s `members` (the first
    /// is the head's freight) to `stage` at `requester`'s request.
    pub async fn record_group_head(
        &self,
        sha: &str,
        stage: &str,
        group: &str,
        members: &[Freight],
        requester: &Actor,
    ) -> Result<()> {
        let first = members
            .first()
            .ok_or_else(|| super::StoreError::Other("a group's head needs its members".into()))?;
        self.record_head(sha, stage, first, requester).await?;
        let (sha, group, members) = (sha.to_owned(), group.to_owned(), members.to_vec());
        self.call(move |c, _| {
            let tx = c.transaction()?;
            tx.execute(
                "UPDATE hoist_heads SET grp = ?2 WHERE sha = ?1",
                params![sha, group],
            )?;
            tx.execute("DELETE FROM head_members WHERE sha = ?1", params![sha])?;
            for m in &members {
                tx.execute(
                    "INSERT INTO head_members (sha, service, image, tag, digest) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![sha, m.service, m.image.as_str(), m.tag.as_str(), m.digest.as_str()],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// Names the pull request `sha` heads, once the forge has opened or updated it. Its
    /// earlier heads are retired: a branch forced back to one of them promotes nothing.
    pub async fn attach_head(&self, sha: &str, pr: u64) -> Result<()> {
        let sha = sha.to_owned();
        self.call(move |c, _| {
            let tx = c.transaction()?;
            tx.execute(
                "UPDATE hoist_heads SET retired = 1 WHERE pr = ?2 AND sha != ?1",
                params![sha, pr as i64],
            )?;
            tx.execute(
                "UPDATE hoist_heads SET pr = ?2 WHERE sha = ?1",
                params![sha, pr as i64],
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// The head Hoist wrote at `sha`, unless its pull request was closed unmerged since.
    pub async fn hoist_head(&self, sha: &str) -> Result<Option<HoistHead>> {
        let sha = sha.to_owned();
        self.call(move |c, _| {
            let Some(mut head) = c
                .query_row(
                    "SELECT sha, pr, stage, service, image, tag, digest, requested_by, requester_id, requester_kind, grp, rollback_of
                     FROM hoist_heads WHERE sha = ?1 AND retired = 0",
                    params![sha],
                    row,
                )
                .optional()?
                .flatten()
            else {
                return Ok(None);
            };
            if head.group.is_some() {
                let mut st = c.prepare(
                    "SELECT service, image, tag, digest FROM head_members WHERE sha = ?1 ORDER BY rowid",
                )?;
                let rows = st.query_map(params![sha], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                    ))
                })?;
                for row in rows {
                    let (service, image, tag, digest) = row?;
                    // Written by Hoist from validated freight: anything else is no member.
                    let (Ok(image), Ok(tag), Ok(digest)) =
                        (ImageName::parse(&image), Tag::parse(&tag), Digest::parse(&digest))
                    else {
                        continue;
                    };
                    head.members.push(Freight {
                        service,
                        image,
                        tag,
                        digest,
                        source: None,
                        pushed_at: None,
                    });
                }
            }
            Ok(Some(head))
        })
        .await
    }

    /// Whether Hoist wrote commit `sha` (for any promotion, retired or not).
    pub async fn wrote(&self, sha: &str) -> Result<bool> {
        let sha = sha.to_owned();
        self.call(move |c, _| {
            Ok(c.query_row(
                "SELECT 1 FROM hoist_heads WHERE sha = ?1",
                params![sha],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
        })
        .await
    }

    /// Whether Hoist wrote a head for pull request `pr` that is still in force.
    pub async fn is_hoist_pr(&self, pr: u64) -> Result<bool> {
        self.call(move |c, _| {
            Ok(c.query_row(
                "SELECT 1 FROM hoist_heads WHERE pr = ?1 AND retired = 0 LIMIT 1",
                params![pr as i64],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
        })
        .await
    }

    /// Retires every head of `pr`, and `head` if it is attached to no pull request yet
    /// (another pull request's head stays theirs): closed
    /// unmerged, it decided nothing, and reopened it must pass its gate again with a
    /// head Hoist writes anew.
    pub async fn retire_heads(&self, pr: u64, head: &str) -> Result<usize> {
        let head = head.to_owned();
        self.call(move |c, _| {
            Ok(c.execute(
                "UPDATE hoist_heads SET retired = 1
                 WHERE (pr = ?1 OR (sha = ?2 AND pr IS NULL)) AND retired = 0",
                params![pr as i64, head],
            )?)
        })
        .await
    }
}

fn kind_name(k: ActorKind) -> &'static str {
    match k {
        ActorKind::User => "user",
        ActorKind::Bot => "bot",
    }
}

/// A row as a head; `None` for a row written before heads named their whole freight
/// (such a head is not trusted: its promotion is written anew).
fn row(r: &rusqlite::Row) -> rusqlite::Result<Option<HoistHead>> {
    let (tag, image): (Option<String>, Option<String>) = (r.get(5)?, r.get(4)?);
    let (Some(tag), Some(image)) = (tag, image) else {
        return Ok(None);
    };
    let digest: String = r.get(6)?;
    let (Ok(tag), Ok(image), Ok(digest)) = (
        Tag::parse(&tag),
        ImageName::parse(&image),
        Digest::parse(&digest),
    ) else {
        return Ok(None);
    };
    Ok(Some(HoistHead {
        sha: r.get(0)?,
        pr: r.get::<_, Option<i64>>(1)?.map(|n| n as u64),
        stage: r.get(2)?,
        freight: Freight {
            service: r.get(3)?,
            image,
            tag,
            digest,
            source: None,
            pushed_at: None,
        },
        group: r.get::<_, Option<String>>(10).ok().flatten(),
        members: vec![],
        rollback_of: r.get::<_, Option<String>>(11).ok().flatten(),
        requester: Actor {
            id: r.get::<_, Option<i64>>(8)?.unwrap_or(0) as u64,
            login: r.get(7)?,
            kind: match r.get::<_, Option<String>>(9)?.as_deref() {
                Some("bot") => ActorKind::Bot,
                _ => ActorKind::User,
            },
        },
    }))
}

/// A rollback's pull request Hoist opened that has not merged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenRollback {
    pub pr: u64,
    pub tag: String,
    pub digest: String,
    pub requested_by: String,
    /// The tag it rolls back from.
    pub from: String,
    /// When Hoist wrote its head (`None` for a head written before Hoist kept it).
    pub written_at: Option<i64>,
}

impl Store {
    /// The open rollbacks of `service` into `stage`: heads Hoist wrote to roll back,
    /// still in force, whose pull request the ledger has not seen merge; the newest head
    /// of each.
    pub async fn open_rollbacks(&self, service: &str, stage: &str) -> Result<Vec<OpenRollback>> {
        let (service, stage) = (service.to_owned(), stage.to_owned());
        self.call(move |c, _| {
            let mut q = c.prepare(
                "SELECT h.pr, h.tag, h.digest, h.requested_by, h.rollback_of, h.written_at
                 FROM hoist_heads h
                 WHERE h.service = ?1 AND h.stage = ?2 AND h.rollback_of IS NOT NULL
                   AND h.retired = 0 AND h.pr IS NOT NULL
                   AND h.rowid = (SELECT max(rowid) FROM hoist_heads WHERE pr = h.pr)
                   AND NOT EXISTS (SELECT 1 FROM promotions p
                                   WHERE p.pr = h.pr AND p.merged_at IS NOT NULL)
                 ORDER BY h.pr",
            )?;
            let rows = q.query_map(params![service, stage], |r| {
                Ok(OpenRollback {
                    pr: r.get::<_, i64>(0)? as u64,
                    tag: r.get(1)?,
                    digest: r.get(2)?,
                    requested_by: r.get(3)?,
                    from: r.get(4)?,
                    written_at: r.get(5)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }
}
