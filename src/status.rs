//! Where every service's freight stands in every stage: the grid `hoist status` prints
//! and `hoist serve` shows at `/`.
//!
//! What a stage runs comes from its overlay at the base head (the file Argo CD deploys);
//! whether Hoist merged and Argo CD verified it, and which pull requests are open, from
//! Hoist's own store. Nothing here decides anything: it only shows.

use serde::Serialize;

use crate::config::{Config, Forge, expand};
use crate::repo::Repo;
use crate::store::Store;
use crate::store::ledger::Promotion;

/// How far a stage's freight has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Merged by Hoist, and Argo CD reported it Healthy at the merged revision.
    Verified,
    /// Merged by Hoist; Argo CD has not verified it yet.
    Merged,
    /// Nothing Hoist merged runs here, and a promotion pull request is open.
    Pending,
    /// The overlay pins freight Hoist has no record of merging (set by hand, or before
    /// Hoist).
    Unrecorded,
    /// Nothing is pinned and nothing is pending.
    None,
}

/// A pull request or application, with where to see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    pub name: String,
    pub url: Option<String>,
}

/// An open promotion pull request into a stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pending {
    pub number: u64,
    pub pr: Link,
    pub tag: String,
    pub digest: String,
    pub requested_by: String,
    pub opened_at_ms: i64,
    /// The first unmet line of its `hoist/argocd` check, as Hoist last published it.
    pub waits_for: Option<String>,
    /// A rollback: the tag it rolls back from.
    pub rollback_of: Option<String>,
}

/// One service in one stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cell {
    pub stage: String,
    pub state: State,
    pub tag: Option<String>,
    pub digest: Option<String>,
    /// When it was verified, else merged.
    pub since_ms: Option<i64>,
    /// The pull request that brought it.
    pub pr: Option<Link>,
    pub app: Option<Link>,
    pub pending: Vec<Pending>,
    /// Why the overlay could not be read, when it could not.
    pub problem: Option<String>,
    /// Who rolled the stage back, holding forward promotions until `/unhold STAGE`.
    pub held_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    pub service: String,
    pub cells: Vec<Cell>,
}

/// A group whose members have not all arrived under one key (the store's arrivals).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupWait {
    pub group: String,
    /// The source commit or tag the members are matched by.
    pub key: String,
    /// The members that arrived, as `service tag`.
    pub arrived: Vec<String>,
    pub missing: Vec<String>,
    /// When the latest member arrived.
    pub since_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Grid {
    pub stages: Vec<String>,
    pub services: Vec<Row>,
    /// Groups waiting for members, newest first.
    pub waiting_groups: Vec<GroupWait>,
    /// Frozen stages, by name (the store).
    pub frozen: Vec<crate::store::freezes::Freeze>,
    /// Whether the stages' overlays were read; without them what runs comes from the
    /// ledger alone.
    pub overlays_read: bool,
    pub now_ms: i64,
}

/// The grid for every service: the ledger from `store` (none for a fresh setup), the
/// overlays from `overlays` when given (a checkout, or the forge at the base head).
pub async fn grid(
    config: &Config,
    store: Option<&Store>,
    overlays: Option<&(dyn Repo + Sync)>,
    now_ms: i64,
) -> anyhow::Result<Grid> {
    let mut services = vec![];
    for (service, _) in config.services.iter() {
        let ledger = match store {
            Some(s) => s.ledger_for(service).await?,
            None => vec![],
        };
        let mut cells = vec![];
        for stage in config.stage_names() {
            let mut cell = cell(config, service, stage, &ledger, overlays);
            if let Some(store) = store {
                open_and_held(config, store, &mut cell, service, now_ms).await?;
            }
            cells.push(cell);
        }
        services.push(Row {
            service: service.to_owned(),
            cells,
        });
    }
    let (waiting_groups, frozen) = match store {
        Some(s) => (waiting_groups(config, s).await?, s.freezes().await?),
        None => (vec![], vec![]),
    };
    Ok(Grid {
        stages: config.stage_names().iter().map(|s| s.to_string()).collect(),
        services,
        waiting_groups,
        frozen,
        overlays_read: overlays.is_some(),
        now_ms,
    })
}

/// What the store adds to a cell: its open pull requests (a head Hoist wrote for each
/// in force; an open rollback's, whose ledger row is re-pointed only when it merges),
/// what each waits for, and the stage's hold.
async fn open_and_held(
    config: &Config,
    store: &Store,
    cell: &mut Cell,
    service: &str,
    now_ms: i64,
) -> anyhow::Result<()> {
    let stage = cell.stage.clone();
    let mut open = vec![];
    for mut p in std::mem::take(&mut cell.pending) {
        // Closing a pull request unmerged retires its heads (the store's record, not
        // the forge's).
        if store.is_hoist_pr(p.number).await? {
            p.waits_for = store.waiting_on(p.number).await?;
            open.push(p);
        }
    }
    for r in store.open_rollbacks(service, &stage).await? {
        if open.iter().any(|p| p.number == r.pr) {
            continue;
        }
        open.push(Pending {
            number: r.pr,
            pr: pr_link(config, r.pr),
            tag: r.tag,
            digest: r.digest,
            requested_by: r.requested_by,
            opened_at_ms: r.written_at.unwrap_or(now_ms),
            waits_for: store.waiting_on(r.pr).await?,
            rollback_of: Some(r.from),
        });
    }
    cell.pending = open;
    cell.held_by = store.stage_hold(service, &stage).await?.map(|h| h.by);
    if cell.state == State::Pending && cell.pending.is_empty() {
        cell.state = State::None;
    }
    Ok(())
}

/// The groups waiting for members, newest first (the store's arrivals).
async fn waiting_groups(config: &Config, store: &Store) -> anyhow::Result<Vec<GroupWait>> {
    let mut out = vec![];
    for w in store.waiting().await? {
        let Some(g) = config.groups.get(&w.group) else {
            continue;
        };
        out.push(GroupWait {
            missing: g
                .services
                .iter()
                .filter(|s| !w.arrived.iter().any(|f| &&f.service == s))
                .cloned()
                .collect(),
            arrived: w
                .arrived
                .iter()
                .map(|f| format!("{} {}", f.service, f.tag))
                .collect(),
            group: w.group,
            key: w.key,
            since_ms: w.at,
        });
    }
    Ok(out)
}

/// One cell: the overlay's pin (when read) matched to the ledger by digest.
fn cell(
    config: &Config,
    service: &str,
    stage: &str,
    ledger: &[Promotion],
    overlays: Option<&(dyn Repo + Sync)>,
) -> Cell {
    let here: Vec<&Promotion> = ledger.iter().filter(|p| p.stage == stage).collect();
    let mut problem = None;
    let pinned = overlays.and_then(|repo| match pin(config, service, stage, repo) {
        Ok(p) => p,
        Err(e) => {
            problem = Some(e);
            None
        }
    });
    let merged = |p: &&&Promotion| p.merged_at.is_some();
    let record = match (&pinned, overlays) {
        (Some((_, Some(digest))), _) => here
            .iter()
            .filter(merged)
            .find(|p| &p.digest == digest)
            .copied(),
        (Some((_, None)), _) => None,
        // Without the overlays, the newest merge is what runs.
        (None, None) => here
            .iter()
            .filter(merged)
            .max_by_key(|p| p.merged_at)
            .copied(),
        (None, Some(_)) => None,
    };
    let pending = pending(config, &here);
    let (state, tag, digest) = match (record, pinned) {
        (Some(r), _) => (
            if r.verified_at.is_some() {
                State::Verified
            } else {
                State::Merged
            },
            Some(r.tag.clone()),
            Some(r.digest.clone()),
        ),
        (None, Some((tag, digest))) => (State::Unrecorded, tag, digest),
        (None, None) if !pending.is_empty() => (State::Pending, None, None),
        (None, None) => (State::None, None, None),
    };
    Cell {
        stage: stage.to_owned(),
        state,
        tag,
        digest,
        held_by: None,
        since_ms: record.and_then(|r| r.verified_at.or(r.merged_at)),
        pr: record.and_then(|r| r.pr).map(|n| pr_link(config, n)),
        app: app_link(config, service, stage),
        pending,
        problem,
    }
}

/// The open promotion pull requests among `here` (one stage's ledger rows).
fn pending(config: &Config, here: &[&Promotion]) -> Vec<Pending> {
    // A pull request re-pointed at newer freight keeps its older rows: only its newest
    // (the ledger lists newest first) is shown.
    let mut seen = std::collections::HashSet::new();
    here.iter()
        .filter(|p| p.merged_at.is_none())
        .filter_map(|p| Some((p, p.pr?)))
        .filter(|(_, n)| seen.insert(*n))
        .map(|(p, n)| Pending {
            number: n,
            pr: pr_link(config, n),
            tag: p.tag.clone(),
            digest: p.digest.clone(),
            requested_by: p.requested_by.clone(),
            opened_at_ms: p.opened_at,
            waits_for: None,
            rollback_of: None,
        })
        .collect()
}

/// The state of the freight `digest` pinned in `stage`, from the ledger: verified or
/// merged when Hoist merged it there, unrecorded otherwise.
pub fn state_of(ledger: &[Promotion], stage: &str, digest: Option<&str>) -> State {
    let Some(digest) = digest else {
        return State::None;
    };
    match ledger
        .iter()
        .find(|p| p.stage == stage && p.digest == digest && p.merged_at.is_some())
    {
        Some(p) if p.verified_at.is_some() => State::Verified,
        Some(_) => State::Merged,
        None => State::Unrecorded,
    }
}

/// The tag and digest the stage's overlay pins, `None` when it has no entry.
type Pin = Option<(Option<String>, Option<String>)>;

fn pin(
    config: &Config,
    service: &str,
    stage: &str,
    repo: &(dyn Repo + Sync),
) -> Result<Pin, String> {
    let Some(svc) = config.services.get(service) else {
        return Ok(None);
    };
    // The stage runs what its first target pins (the planner's reading).
    let Some(t) = crate::target::of(svc, service, stage).into_iter().next() else {
        return Ok(None);
    };
    let text = match repo.read(&t.path) {
        Ok(Some(x)) => x,
        Ok(None) => return Err(crate::messages::status::overlay_missing(&t.path)),
        Err(e) => return Err(format!("{}: {e}", t.path)),
    };
    let pin = crate::target::read(&t.kind, &text).map_err(|e| e.in_file(&t.path))?;
    Ok(pin.map(|p| (p.tag, p.digest)))
}

/// The directory of a repository path with its trailing `/` (`apps/x/env/prod/`), as
/// messages name where a file lives; empty at the root.
pub fn dir_of(path: &str) -> String {
    path.rsplit_once('/')
        .map_or(String::new(), |(d, _)| format!("{d}/"))
}

/// GitHub's web address for its REST API root: github.com for api.github.com, the
/// server itself for GitHub Enterprise Server's `https://HOST/api/v3`.
pub fn web_url(api_url: &str) -> String {
    let api = api_url.trim_end_matches('/');
    if api == "https://api.github.com" {
        "https://github.com".to_owned()
    } else {
        api.trim_end_matches("/api/v3").to_owned()
    }
}

/// Where a person sees pull request `n`: the forge's web page for it.
pub fn pr_link(config: &Config, n: u64) -> Link {
    let url = match &config.forge {
        Forge::Github(g) => format!("{}/{}/{}/pull/{n}", web_url(&g.api_url), g.owner, g.repo),
        Forge::Codecommit(c) => format!(
            "https://{r}.console.aws.amazon.com/codesuite/codecommit/repositories/{}/pull-requests/{n}/details?region={r}",
            c.repository,
            r = c.region
        ),
    };
    Link {
        name: format!("#{n}"),
        url: Some(url),
    }
}

/// The stage's Argo CD application for `service`, with its page in Argo CD's UI.
fn app_link(config: &Config, service: &str, stage: &str) -> Option<Link> {
    let name = expand(config.stage(stage)?.argocd_app.as_deref()?, service, stage);
    let url = config
        .argocd
        .as_ref()
        .map(|a| format!("{}/applications/{name}", a.url.trim_end_matches('/')));
    Some(Link { name, url })
}

/// `sha256:0123456789…` as its first 7 hex digits, as a person compares them.
pub fn short_digest(digest: &str) -> &str {
    crate::image::short_sha(digest.strip_prefix("sha256:").unwrap_or(digest))
}

/// How long ago `then` was, coarsely: `45s`, `12m`, `3h`, `2d`.
pub fn age(now_ms: i64, then_ms: i64) -> String {
    let s = ((now_ms - then_ms) / 1000).max(0);
    match s {
        ..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

/// The grid as a terminal table: a row per service, a column per stage, each cell a few
/// lines (what runs, its state and age, then each open pull request and what it waits
/// for).
pub fn render(grid: &Grid) -> String {
    use crate::messages::status as say;
    let mut table: Vec<Vec<Vec<String>>> = vec![];
    let mut head = vec![vec![say::SERVICE.to_owned()]];
    head.extend(grid.stages.iter().map(|s| {
        let mut h = vec![s.clone()];
        if grid.frozen.iter().any(|f| &f.stage == s) {
            h.push(say::FROZEN.to_owned());
        }
        h
    }));
    table.push(head);
    for row in &grid.services {
        let mut line = vec![vec![row.service.clone()]];
        for c in &row.cells {
            line.push(cell_lines(c, grid.now_ms));
        }
        table.push(line);
    }
    let mut out = text_table(&table);
    for f in &grid.frozen {
        out.push_str(&say::frozen(f, &age(grid.now_ms, f.at)));
        out.push('\n');
    }
    for w in &grid.waiting_groups {
        out.push_str(&say::group_waiting(w, &age(grid.now_ms, w.since_ms)));
        out.push('\n');
    }
    if !grid.overlays_read {
        out.push_str(say::FROM_LEDGER_ONLY);
        out.push('\n');
    }
    out
}

/// One cell of `hoist status`'s table, a line each: what runs, its state, each open pull
/// request with its link and what it waits for, a problem, a hold.
fn cell_lines(c: &Cell, now: i64) -> Vec<String> {
    use crate::messages::status as say;
    let mut lines = vec![];
    if let Some(tag) = &c.tag {
        let d = c.digest.as_deref().map(short_digest).unwrap_or("-");
        lines.push(format!("{tag} {d}"));
    }
    let since = c.since_ms.map(|t| age(now, t));
    lines.push(say::state(c.state, since.as_deref()));
    for p in &c.pending {
        lines.push(say::pending(&p.pr.name, &p.tag, &age(now, p.opened_at_ms)));
        if let Some(url) = &p.pr.url {
            lines.push(say::link(url));
        }
        if let Some(from) = &p.rollback_of {
            lines.push(say::rolling_back(from));
        }
        if let Some(w) = &p.waits_for {
            lines.push(say::waits(w));
        }
    }
    if let Some(p) = &c.problem {
        lines.push(say::problem(p));
    }
    if let Some(by) = &c.held_by {
        lines.push(say::held(&c.stage, by));
    }
    lines
}

/// Columns padded to their widest line; a blank line between rows of several lines.
fn text_table(rows: &[Vec<Vec<String>>]) -> String {
    let cols = rows.first().map_or(0, Vec::len);
    let width: Vec<usize> = (0..cols)
        .map(|i| {
            rows.iter()
                .flat_map(|r| r.get(i).into_iter().flatten())
                .map(|l| l.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let height = row.iter().map(Vec::len).max().unwrap_or(1);
        for n in 0..height {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                let text = cell.get(n).map_or("", String::as_str);
                if i + 1 < row.len() {
                    let pad = width[i] - text.chars().count();
                    line.push_str(text);
                    line.push_str(&" ".repeat(pad + 2));
                } else {
                    line.push_str(text);
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_as_a_person_says_them() {
        assert_eq!(age(100_000, 55_000), "45s");
        assert_eq!(age(3_600_000, 0), "1h");
        assert_eq!(age(130 * 60_000, 0), "2h");
        assert_eq!(age(3 * 86_400_000, 0), "3d");
        assert_eq!(age(0, 5_000), "0s");
    }

    #[test]
    fn digests_are_shortened_to_seven_hex_digits() {
        assert_eq!(short_digest("sha256:0123456789abcdef"), "0123456");
        assert_eq!(short_digest("abc"), "abc");
    }
}
