//! Versioned schema migrations, tracked in SQLite's `user_version`. Each runs once, in
//! order, in its own transaction; a database newer than this binary is refused.

use rusqlite::Connection;

use super::{Result, StoreError};

const MIGRATIONS: &[&str] = &[
    // 1: the event queue.
    "CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        dedupe_key TEXT NOT NULL UNIQUE,
        serial_key TEXT NOT NULL,
        kind TEXT NOT NULL,
        payload TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'done', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        not_before INTEGER NOT NULL DEFAULT 0,
        received_at INTEGER NOT NULL,
        started_at INTEGER,
        finished_at INTEGER
    );
    CREATE INDEX events_ready ON events (status, not_before, id);
    CREATE INDEX events_serial ON events (serial_key, status, id);",
    // 2: the promotion ledger and holds.
    "CREATE TABLE promotions (
        service TEXT NOT NULL,
        stage TEXT NOT NULL,
        digest TEXT NOT NULL,
        tag TEXT NOT NULL,
        image TEXT NOT NULL,
        pr INTEGER,
        requested_by TEXT NOT NULL,
        approved_by TEXT,
        merge_sha TEXT,
        merged_at INTEGER,
        verified_at INTEGER,
        opened_at INTEGER NOT NULL,
        PRIMARY KEY (service, stage, digest)
    );
    CREATE TABLE holds (
        pr INTEGER PRIMARY KEY,
        held_by TEXT NOT NULL,
        at INTEGER NOT NULL
    );",
    // 3: what Hoist last published in its own check runs, to publish only changes.
    "CREATE TABLE published_checks (
        sha TEXT NOT NULL,
        name TEXT NOT NULL,
        content TEXT NOT NULL,
        PRIMARY KEY (sha, name)
    );",
    // 4: break-glass overrides of the hoist/dag check, kept for the audit trail.
    "CREATE TABLE dag_overrides (
        pr INTEGER NOT NULL,
        sha TEXT NOT NULL,
        by_login TEXT NOT NULL,
        reason TEXT NOT NULL,
        at INTEGER NOT NULL,
        PRIMARY KEY (pr, sha)
    );",
    // 5: when Argo CD was first seen running a promotion healthy, for the debounce.
    "ALTER TABLE promotions ADD COLUMN healthy_since INTEGER;",
    // 6: the head commits Hoist wrote, and for which promotion: only those merge.
    "CREATE TABLE hoist_heads (
        sha TEXT PRIMARY KEY,
        service TEXT NOT NULL,
        stage TEXT NOT NULL,
        digest TEXT NOT NULL,
        requested_by TEXT NOT NULL
    );",
    // 7: command comments Hoist answered, by the forge's comment id: whether a command
    // was answered is Hoist's own record, not a marker anyone could copy.
    "CREATE TABLE answered_comments (
        comment_id INTEGER PRIMARY KEY,
        pr INTEGER NOT NULL,
        at INTEGER NOT NULL
    );",
    // 8: a head Hoist wrote names its pull request, its whole freight and the
    // requester's numeric id; closing the pull request unmerged retires its heads.
    "ALTER TABLE hoist_heads ADD COLUMN pr INTEGER;
     ALTER TABLE hoist_heads ADD COLUMN tag TEXT;
     ALTER TABLE hoist_heads ADD COLUMN image TEXT;
     ALTER TABLE hoist_heads ADD COLUMN requester_id INTEGER;
     ALTER TABLE hoist_heads ADD COLUMN requester_kind TEXT;
     ALTER TABLE hoist_heads ADD COLUMN retired INTEGER NOT NULL DEFAULT 0;
     CREATE INDEX hoist_heads_pr ON hoist_heads (pr);",
    // 9: a hold on a pull request Hoist is replacing (CodeCommit), kept by branch until the
    // new pull request exists, so that a failure in between cannot drop it.
    "CREATE TABLE carried_holds (
        branch TEXT PRIMARY KEY,
        held_by TEXT NOT NULL,
        at INTEGER NOT NULL
    );",
    // 10: where reconcile's registry pass goes on from: with many services, each pass
    // reads a bounded number of them, in turn.
    "CREATE TABLE registry_cursor (
        id INTEGER PRIMARY KEY CHECK (id = 0),
        next INTEGER NOT NULL
    );",
    // 11: the row `/readyz` writes, so that ready means deliveries can be stored.
    "CREATE TABLE write_probe (
        id INTEGER PRIMARY KEY CHECK (id = 0),
        at INTEGER NOT NULL
    );",
    // 12: a group member's image waiting for the matching images of the other members,
    // by the group and the key that matches them (a source commit or a tag); `moved` once
    // the group's freight under the key was promoted.
    "CREATE TABLE group_arrivals (
        grp TEXT NOT NULL,
        key TEXT NOT NULL,
        service TEXT NOT NULL,
        image TEXT NOT NULL,
        tag TEXT NOT NULL,
        digest TEXT NOT NULL,
        arrived_at INTEGER NOT NULL,
        moved INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (grp, key, service)
    );",
    // 13: a head Hoist wrote for a group names the group and each member's freight.
    "ALTER TABLE hoist_heads ADD COLUMN grp TEXT;
     CREATE TABLE head_members (
        sha TEXT NOT NULL,
        service TEXT NOT NULL,
        image TEXT NOT NULL,
        tag TEXT NOT NULL,
        digest TEXT NOT NULL,
        PRIMARY KEY (sha, service)
    );",
    // 14: a head Hoist wrote to roll a stage back names the tag it rolls back from; a
    // merged rollback holds forward promotions of the service into the stage.
    "ALTER TABLE hoist_heads ADD COLUMN rollback_of TEXT;
     CREATE TABLE stage_holds (
        service TEXT NOT NULL,
        stage TEXT NOT NULL,
        held_by TEXT NOT NULL,
        reason TEXT NOT NULL,
        held_at INTEGER NOT NULL,
        PRIMARY KEY (service, stage)
    );
     CREATE TABLE rollback_merges (merge_sha TEXT PRIMARY KEY);",
    // 15: each stage's last freeze or unfreeze, and the pull requests (at one head) let
    // through a freeze.
    "CREATE TABLE stage_freezes (
        stage TEXT PRIMARY KEY,
        frozen INTEGER NOT NULL,
        frozen_by TEXT NOT NULL,
        reason TEXT NOT NULL,
        frozen_at INTEGER NOT NULL
    );
     CREATE TABLE freeze_overrides (
        pr INTEGER NOT NULL,
        head TEXT NOT NULL,
        stage TEXT NOT NULL,
        freeze_at INTEGER NOT NULL,
        by_login TEXT NOT NULL,
        reason TEXT NOT NULL,
        PRIMARY KEY (pr, head)
    );",
    // 16: the time of the last change Hoist recorded on the forge (a hold's, a
    // freeze's), so that each is later than the one before even when the clock stands
    // still, and a lost store rebuilt from them takes the last.
    "CREATE TABLE record_clock (id INTEGER PRIMARY KEY CHECK (id = 1), last INTEGER NOT NULL);",
    // 17: when Hoist wrote a head, for how long an open rollback has waited.
    "ALTER TABLE hoist_heads ADD COLUMN written_at INTEGER;",
    // 18: a stage hold names the rollback pull request that set it, which a release
    // names in turn: a lost store holds again unless the last rollback's release is
    // on record.
    "ALTER TABLE stage_holds ADD COLUMN pr INTEGER;",
    // 19: a freeze's changes are ordered by its own row (each after the last), and a
    // hold's rebuild by the rollbacks' merges: the shared record clock of 16 is not used.
    "DROP TABLE record_clock;",
];

pub fn run(conn: &mut Connection) -> Result<()> {
    let current: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if current > MIGRATIONS.len() {
        return Err(StoreError::Other(format!(
            "the database is at schema version {current}, newer than this Hoist ({}); use a newer Hoist",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i + 1)?;
        tx.commit()?;
    }
    Ok(())
}
