//! The durable queue: every accepted event is committed to SQLite before it is
//! answered, handled exactly once in effect, and taken again after a crash.
//!
//! One thread owns the connection. Inserts that arrive together are committed in one
//! transaction (group commit), so many webhooks share one fsync.

pub mod arrivals;
pub mod freezes;
pub mod heads;
pub mod holds;
mod lanes;
pub mod ledger;
mod migrations;

use lanes::Lanes;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::clock::Clock;

use rusqlite::{Connection, params};
use tokio::sync::{mpsc, oneshot};

/// Most inserts committed in one transaction.
const MAX_BATCH: usize = 512;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("the store has shut down")]
    Closed,
    #[error("{0}")]
    Other(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// An event to enqueue.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// `github:<delivery id>` or `eventbridge:<id>`: a second delivery adds nothing.
    pub dedupe_key: String,
    pub serial_key: String,
    pub kind: String,
    /// The normalized event, JSON.
    pub payload: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    New(i64),
    Duplicate(i64),
}

/// An event taken for handling.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub serial_key: String,
    pub kind: String,
    pub payload: String,
    /// Including this one.
    pub attempts: u32,
    pub dedupe_key: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Depth {
    pub pending: u64,
    pub running: u64,
    pub failed: u64,
    pub done: u64,
}

/// One row, for `hoist status` and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub id: i64,
    pub dedupe_key: String,
    pub kind: String,
    pub status: String,
    pub attempts: u32,
    pub last_error: Option<String>,
}

/// An event as the status page lists it: what and when, never its payload.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Recent {
    pub kind: String,
    /// The serial key: the pull request or image it is about.
    pub key: String,
    pub status: String,
    pub attempts: u32,
    pub received_at: i64,
}

type Call = Box<dyn FnOnce(&mut Connection, &mut Lanes) + Send>;

enum Op {
    Insert(NewEvent, oneshot::Sender<Result<Inserted>>),
    Call(Call),
}

/// A handle to the store; cheap to clone, shared by the server and the workers.
#[derive(Clone)]
pub struct Store {
    tx: mpsc::Sender<Op>,
    path: PathBuf,
    /// One lock per serial key (`pr:acme/gitops#12`, `image:…`), so that work outside the
    /// queue's lanes (the reconcile pass) never runs beside a handler on the same thing.
    keys: Arc<std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
    /// When the last write probe ran and whether it committed.
    probed: Arc<tokio::sync::Mutex<Option<(std::time::Instant, bool)>>>,
    /// Every timestamp the store writes, and the engine and queue compare, is read here.
    clock: Clock,
}

impl Store {
    /// Opens (creating and migrating) the database file and starts its thread.
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_with_clock(path, Clock::System)
    }

    /// As [`Store::open`], reading the time from `clock`.
    ///
    /// Kept whole: the connection's pragmas, its migration and its lanes are set up before
    /// the one thread that owns it starts; the thread's loop is that setup's other half.
    pub fn open_with_clock(path: &Path, clock: Clock) -> Result<Self> {
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        // WAL lets readers run beside the writer; inserts commit with synchronous=FULL.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        // Checkpoint in larger steps: fewer stalls of the writer under a burst.
        conn.pragma_update(None, "wal_autocheckpoint", 8192)?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrations::run(&mut conn)?;
        let mut lanes = Lanes::default();
        load_lanes(&conn, &mut lanes, clock.now_ms())?;
        let thread_clock = clock.clone();
        let (tx, mut rx) = mpsc::channel::<Op>(8192);
        std::thread::Builder::new()
            .name("hoist-store".into())
            .spawn(move || {
                let mut held: Option<Op> = None;
                loop {
                    let op = match held.take() {
                        Some(op) => op,
                        None => match rx.blocking_recv() {
                            Some(op) => op,
                            None => break,
                        },
                    };
                    match op {
                        Op::Call(f) => {
                            // Bookkeeping after the acknowledgement (claims, outcomes) need
                            // not reach the disk before going on: lost, it only means a
                            // handler runs again. WAL keeps it consistent either way.
                            set_sync(&conn, "NORMAL");
                            f(&mut conn, &mut lanes)
                        }
                        Op::Insert(first, reply) => {
                            // An acknowledged delivery must survive power loss.
                            set_sync(&conn, "FULL");
                            let mut batch = vec![(first, reply)];
                            while batch.len() < MAX_BATCH {
                                match rx.try_recv() {
                                    Ok(Op::Insert(e, r)) => batch.push((e, r)),
                                    Ok(other) => {
                                        held = Some(other);
                                        break;
                                    }
                                    Err(_) => break,
                                }
                            }
                            insert_batch(&mut conn, &mut lanes, batch, thread_clock.now_ms());
                        }
                    }
                }
            })
            .map_err(|e| StoreError::Other(format!("cannot start the store thread: {e}")))?;
        Ok(Self {
            tx,
            path: path.to_owned(),
            keys: Arc::default(),
            probed: Arc::default(),
            clock,
        })
    }

    /// Holds `key` until the guard drops; whoever else asks for it waits.
    pub async fn lock(&self, key: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let m = {
            let mut keys = self.keys.lock().unwrap();
            // Every pull request and image ever seen would stay; drop the locks that
            // nobody holds or waits for (the map's own reference is their only one).
            if keys.len() > 1024 {
                keys.retain(|_, m| Arc::strong_count(m) > 1);
            }
            // GitHub may spell the repository with other capitals than the config.
            keys.entry(key.to_ascii_lowercase()).or_default().clone()
        };
        m.lock_owned().await
    }

    /// `key` if nobody holds it now.
    pub fn try_lock(&self, key: &str) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        let m = self
            .keys
            .lock()
            .unwrap()
            .entry(key.to_ascii_lowercase())
            .or_default()
            .clone();
        m.try_lock_owned().ok()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Now, in milliseconds since the Unix epoch, by the store's clock.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Runs `f` on the store's thread.
    pub async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection, &mut Lanes) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Op::Call(Box::new(move |c, lanes| {
                let _ = reply.send(f(c, lanes));
            })))
            .await
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Commits the event; returns only once it is durable.
    pub async fn insert(&self, e: NewEvent) -> Result<Inserted> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Op::Insert(e, reply))
            .await
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Takes the oldest ready event whose serial key has nothing running and nothing
    /// older waiting, and marks it running.
    pub async fn claim(&self) -> Result<Option<Claimed>> {
        let now = self.now_ms();
        self.call(move |c, lanes| {
            let Some((id, _)) = lanes.take(now) else {
                return Ok(None);
            };
            let claimed = c.query_row(
                "UPDATE events SET status = 'running', attempts = attempts + 1, started_at = ?2 WHERE id = ?1
                 RETURNING id, serial_key, kind, payload, attempts, dedupe_key",
                params![id, now],
                |r| {
                    Ok(Claimed {
                        id: r.get(0)?,
                        serial_key: r.get(1)?,
                        kind: r.get(2)?,
                        payload: r.get(3)?,
                        attempts: r.get(4)?,
                        dedupe_key: r.get(5)?,
                    })
                },
            )?;
            Ok(Some(claimed))
        })
        .await
    }

    pub async fn complete(&self, id: i64) -> Result<()> {
        let now = self.now_ms();
        self.call(move |c, lanes| {
            let key: String = c.query_row(
                "UPDATE events SET status = 'done', finished_at = ?2, last_error = NULL WHERE id = ?1 RETURNING serial_key",
                params![id, now],
                |r| r.get(0),
            )?;
            lanes.finish(&key, id);
            Ok(())
        })
        .await
    }

    /// Records a failure: retried at `retry_at` (ms), or failed for good when `None`.
    pub async fn fail(&self, id: i64, error: String, retry_at: Option<i64>) -> Result<()> {
        let now = self.now_ms();
        self.call(move |c, lanes| {
            match retry_at {
                Some(at) => {
                    let key: String = c.query_row(
                        "UPDATE events SET status = 'pending', not_before = ?2, last_error = ?3 WHERE id = ?1 RETURNING serial_key",
                        params![id, at, error],
                        |r| r.get(0),
                    )?;
                    lanes.retry(&key, id, at);
                }
                None => {
                    let key: String = c.query_row(
                        "UPDATE events SET status = 'failed', finished_at = ?2, last_error = ?3 WHERE id = ?1 RETURNING serial_key",
                        params![id, now, error],
                        |r| r.get(0),
                    )?;
                    lanes.finish(&key, id);
                }
            }
            Ok(())
        })
        .await
    }

    /// Records that a running event waits for something outside until `at` (ms): it is
    /// pending again, and out of its lane meanwhile, so what comes after it on its key runs.
    pub async fn wait(&self, id: i64, why: String, at: i64) -> Result<()> {
        self.call(move |c, lanes| {
            let key: String = c.query_row(
                "UPDATE events SET status = 'pending', not_before = ?2, last_error = ?3 WHERE id = ?1 RETURNING serial_key",
                params![id, at, why],
                |r| r.get(0),
            )?;
            lanes.park(&key, id, at);
            Ok(())
        })
        .await
    }

    /// Frees a running event's serial key without touching the database, so the event is
    /// claimed again at `not_before` (ms): for when its outcome cannot be written.
    pub async fn release(&self, serial_key: &str, id: i64, not_before: i64) -> Result<()> {
        let key = serial_key.to_owned();
        self.call(move |_, lanes| {
            lanes.retry(&key, id, not_before);
            Ok(())
        })
        .await
    }

    /// On start: events left running by a crash are taken again.
    pub async fn recover(&self) -> Result<usize> {
        let now = self.now_ms();
        self.call(move |c, lanes| {
            let n = c.execute(
                "UPDATE events SET status = 'pending' WHERE status = 'running'",
                [],
            )?;
            *lanes = Lanes::default();
            load_lanes(c, lanes, now)?;
            Ok(n)
        })
        .await
    }

    /// Deletes handled events finished before `before_ms`.
    pub async fn prune(&self, before_ms: i64) -> Result<usize> {
        self.call(move |c, _| {
            Ok(c.execute(
                "DELETE FROM events WHERE status = 'done' AND finished_at < ?1",
                params![before_ms],
            )?)
        })
        .await
    }

    pub async fn depth(&self) -> Result<Depth> {
        self.call(|c, _| {
            let mut d = Depth::default();
            let mut st = c.prepare("SELECT status, COUNT(*) FROM events GROUP BY status")?;
            let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u64>(1)?)))?;
            for row in rows {
                let (s, n) = row?;
                match s.as_str() {
                    "pending" => d.pending = n,
                    "running" => d.running = n,
                    "failed" => d.failed = n,
                    _ => d.done = n,
                }
            }
            Ok(d)
        })
        .await
    }

    /// The soonest time a waiting event may run, for the workers' sleep.
    pub async fn next_ready_at(&self) -> Result<Option<i64>> {
        self.call(|_, lanes| Ok(lanes.next_ready_at())).await
    }

    /// The `n` events received last, newest first, for the status page.
    pub async fn recent_events(&self, n: usize) -> Result<Vec<Recent>> {
        self.call(move |c, _| {
            let mut st = c.prepare(
                "SELECT kind, serial_key, status, attempts, received_at FROM events
                 ORDER BY id DESC LIMIT ?1",
            )?;
            let rows = st
                .query_map([n as i64], |r| {
                    Ok(Recent {
                        kind: r.get(0)?,
                        key: r.get(1)?,
                        status: r.get(2)?,
                        attempts: r.get(3)?,
                        received_at: r.get(4)?,
                    })
                })?
                .collect::<std::result::Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await
    }

    pub async fn rows(&self) -> Result<Vec<Row>> {
        self.call(|c, _| {
            let mut st = c.prepare(
                "SELECT id, dedupe_key, kind, status, attempts, last_error FROM events ORDER BY id",
            )?;
            let rows = st
                .query_map([], |r| {
                    Ok(Row {
                        id: r.get(0)?,
                        dedupe_key: r.get(1)?,
                        kind: r.get(2)?,
                        status: r.get(3)?,
                        attempts: r.get(4)?,
                        last_error: r.get(5)?,
                    })
                })?
                .collect::<std::result::Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await
    }
}

fn set_sync(conn: &Connection, level: &str) {
    if let Err(e) = conn.pragma_update(None, "synchronous", level) {
        tracing::error!(error = %e, "cannot set synchronous={level}");
    }
}

/// Fills the lane index from the events waiting in the database.
fn load_lanes(conn: &Connection, lanes: &mut Lanes, now: i64) -> rusqlite::Result<()> {
    let mut st = conn.prepare(
        "SELECT id, serial_key, not_before, last_error FROM events WHERE status = 'pending' ORDER BY id",
    )?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, Option<String>>(3)?,
        ))
    })?;
    for row in rows {
        let (id, key, nb, error) = row?;
        // A wait stays out of its lane after a restart, as before it.
        let waiting = error.is_some_and(|e| e.starts_with(crate::worker::WAITING));
        if waiting && nb > now {
            lanes.parked(&key, id, nb);
        } else {
            lanes.push(&key, id, nb);
        }
    }
    Ok(())
}

fn insert_batch(
    conn: &mut Connection,
    lanes: &mut Lanes,
    batch: Vec<(NewEvent, oneshot::Sender<Result<Inserted>>)>,
    now: i64,
) {
    let result = (|| -> rusqlite::Result<Vec<Inserted>> {
        let tx = conn.transaction()?;
        let mut out = Vec::with_capacity(batch.len());
        {
            let mut ins = tx.prepare_cached(
                "INSERT INTO events (dedupe_key, serial_key, kind, payload, received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(dedupe_key) DO NOTHING",
            )?;
            let mut find = tx.prepare_cached("SELECT id FROM events WHERE dedupe_key = ?1")?;
            for (e, _) in &batch {
                let n = ins.execute(params![e.dedupe_key, e.serial_key, e.kind, e.payload, now])?;
                let id: i64 = find.query_row(params![e.dedupe_key], |r| r.get(0))?;
                out.push(if n == 1 {
                    Inserted::New(id)
                } else {
                    Inserted::Duplicate(id)
                });
            }
        }
        tx.commit()?;
        Ok(out)
    })();
    match result {
        Ok(ids) => {
            for ((e, reply), id) in batch.into_iter().zip(ids) {
                if let Inserted::New(id) = id {
                    lanes.push(&e.serial_key, id, 0);
                }
                let _ = reply.send(Ok(id));
            }
        }
        Err(e) => {
            let msg = e.to_string();
            for (_, reply) in batch {
                let _ = reply.send(Err(StoreError::Other(format!("insert failed: {msg}"))));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn key_locks_nobody_holds_are_dropped_and_held_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        let held = store.lock("pr:acme/gitops#1").await;
        for n in 2..3000 {
            drop(store.lock(&format!("pr:acme/gitops#{n}")).await);
        }
        let keys = store.keys.lock().unwrap().len();
        assert!(keys <= 1025, "{keys} locks kept");
        // The held one survived the pruning: asking for it again must wait.
        let again = store.lock("pr:acme/gitops#1");
        tokio::pin!(again);
        assert!(
            tokio::time::timeout(Duration::from_millis(50), &mut again)
                .await
                .is_err()
        );
        drop(held);
        drop(again.await);
    }
}
