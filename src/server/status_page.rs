//! The status page at `/`: the services × stages grid and the last events, as one
//! server-rendered HTML page that refreshes itself. Read-only; it takes no input from the
//! request, shows no secret, and escapes every text it shows.

use std::fmt::Write;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use futures::future::BoxFuture;

use crate::config::Config;
use crate::messages::status as say;
use crate::repo::MapRepo;
use crate::status::{Cell, Grid, Link, State as CellState, age, short_digest};
use crate::store::{Recent, Store};

/// Seconds between the page's own refreshes, and the least time between two reads of
/// the overlays from the forge, however many people watch it.
pub const REFRESH: Duration = Duration::from_secs(30);

/// How many events the page lists.
const EVENTS: usize = 20;

/// Reads the overlays: the base head, then every service's overlays at it.
pub trait Overlays: Send + Sync {
    fn base(&self) -> BoxFuture<'_, anyhow::Result<String>>;
    fn read(&self, base: &str) -> BoxFuture<'_, anyhow::Result<MapRepo>>;
}

/// What the page is drawn from: the config, the store and, once the workers reach the
/// forge, its overlays.
pub struct StatusPage {
    pub config: Arc<Config>,
    pub store: Store,
    pub overlays: OnceLock<Arc<dyn Overlays>>,
    /// The last read of the overlays, when, and at which base commit (or why it failed).
    /// Held across a read, so that one read is made however many pages wait for it.
    cache: tokio::sync::Mutex<Option<Read>>,
    /// One page is drawn at a time, and a drawn page is served again for `REDRAW`: the
    /// store's one thread also stores deliveries.
    drawing: tokio::sync::Mutex<Option<(Instant, String)>>,
}

/// How long a drawn page is served again before it is drawn anew.
const REDRAW: Duration = Duration::from_secs(5);

struct Read {
    at: Instant,
    result: Result<(String, MapRepo), String>,
}

/// How long one read of the forge for the page may take.
const READ_TIMEOUT: Duration = Duration::from_secs(20);

impl StatusPage {
    pub fn new(config: Arc<Config>, store: Store) -> Self {
        Self {
            config,
            store,
            overlays: OnceLock::new(),
            cache: tokio::sync::Mutex::new(None),
            drawing: tokio::sync::Mutex::new(None),
        }
    }

    /// The overlays, read at most once per `REFRESH` (a failure too), and read in full
    /// only when the base head moved: a refresh on an unchanged base costs one
    /// conditional request, which GitHub does not count against the rate limit.
    async fn overlays(&self) -> Result<MapRepo, String> {
        let mut cache = self.cache.lock().await;
        if let Some(read) = &*cache
            && read.at.elapsed() < REFRESH
        {
            return read.result.clone().map(|(_, repo)| repo);
        }
        let Some(source) = self.overlays.get() else {
            return Err(say::PAGE_NOT_CONNECTED.to_owned());
        };
        let previous = cache.as_ref().and_then(|r| r.result.as_ref().ok());
        let fresh = tokio::time::timeout(READ_TIMEOUT, async {
            let base = source.base().await?;
            match previous {
                Some((sha, repo)) if *sha == base => Ok((base, repo.clone())),
                _ => {
                    let repo = source.read(&base).await?;
                    Ok((base, repo))
                }
            }
        })
        .await
        .unwrap_or_else(|_| Err(anyhow::anyhow!(say::PAGE_READ_TIMEOUT)))
        .map_err(|e: anyhow::Error| {
            // The forge's words stay in the log: the page is for anyone who reaches it.
            tracing::warn!(error = %format!("{e:#}"), "the status page cannot read the overlays");
            say::PAGE_UNREAD.to_owned()
        });
        *cache = Some(Read {
            at: Instant::now(),
            result: fresh.clone(),
        });
        fresh.map(|(_, repo)| repo)
    }

    /// Whether an event is about this repository or a configured image: a webhook
    /// shared by several repositories delivers (and stores) events about others too,
    /// whose names are no business of this page.
    fn ours(&self, key: &str) -> bool {
        let repo = self.config.repo_name();
        let about = |prefix: &str, sep: char| {
            key.strip_prefix(prefix)
                .and_then(|k| k.split_once(sep))
                .is_some_and(|(r, _)| r.eq_ignore_ascii_case(&repo))
        };
        about("pr:", '#')
            || about("sha:", '@')
            || key
                .strip_prefix("image:")
                .is_some_and(|i| self.config.services.iter().any(|(_, s)| s.image == i))
    }
}

pub async fn page(State(s): State<Arc<super::AppState>>) -> axum::response::Response {
    let Some(page) = &s.page else {
        return axum::http::StatusCode::NOT_FOUND.into_response();
    };
    let mut drawn = page.drawing.lock().await;
    let html = match &*drawn {
        Some((at, html)) if at.elapsed() < REDRAW => html.clone(),
        _ => match draw(page).await {
            Ok(html) => {
                *drawn = Some((Instant::now(), html.clone()));
                html
            }
            Err(e) => return unavailable(&e.to_string()),
        },
    };
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            // No script runs, nothing loads from elsewhere, and no other site frames it.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response()
}

/// The page, drawn from the store and the overlays.
async fn draw(page: &StatusPage) -> anyhow::Result<String> {
    let overlays = page.overlays().await;
    let now = page.store.now_ms();
    let grid = crate::status::grid(
        &page.config,
        Some(&page.store),
        overlays
            .as_ref()
            .ok()
            .map(|r| r as &(dyn crate::repo::Repo + Sync)),
        now,
    )
    .await?;
    let events: Vec<Recent> = page
        .store
        .recent_events(EVENTS * 5)
        .await?
        .into_iter()
        .filter(|e| page.ours(&e.key))
        .take(EVENTS)
        .collect();
    Ok(render(&grid, overlays.err().as_deref(), &events))
}

fn unavailable(why: &str) -> axum::response::Response {
    tracing::warn!(error = %why, "the status page cannot read the store");
    (
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        say::PAGE_STORE_UNREADABLE,
    )
        .into_response()
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A link, only to http(s) addresses: anything else is shown as text.
fn link(l: &Link) -> String {
    match &l.url {
        Some(u) if u.starts_with("https://") || u.starts_with("http://") => {
            format!("<a href=\"{}\">{}</a>", esc(u), esc(&l.name))
        }
        _ => esc(&l.name),
    }
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:1.5rem;color:#1f2328}\
table{border-collapse:collapse;margin-bottom:1.5rem}\
th,td{border:1px solid #d0d7de;padding:.4rem .6rem;vertical-align:top;text-align:left}\
td.verified{background:#d4edda}td.merged{background:#fff3cd}td.pending{background:#dbeafe}\
td.unrecorded{background:#eeeeee}.tag{font-family:monospace;font-weight:bold}\
.digest,.muted{color:#57606a;font-size:.85em}\
.pr{margin-top:.3rem;padding:.2rem .3rem;background:#dbeafe;border-left:3px solid #1d4ed8}\
.note{color:#9a6700}th.frozen{background:#e0f2fe}th.frozen span{font-weight:normal;font-size:.85em}";

/// The grid's head: a column per stage, a frozen one marked so.
fn head(h: &mut String, grid: &Grid) {
    h.push_str("<table id=\"grid\"><thead><tr><th>");
    h.push_str(&esc(say::SERVICE));
    h.push_str("</th>");
    for s in &grid.stages {
        if grid.frozen.iter().any(|f| &f.stage == s) {
            let _ = write!(
                h,
                "<th class=\"frozen\">{}<br><span>{}</span></th>",
                esc(s),
                esc(say::FROZEN)
            );
        } else {
            let _ = write!(h, "<th>{}</th>", esc(s));
        }
    }
    h.push_str("</tr></thead><tbody>");
}

/// A titled list, when it has items; `id` is Hoist's own.
fn list(h: &mut String, title: &str, id: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    let _ = write!(h, "<h2>{}</h2><ul id=\"{id}\">", esc(title));
    for i in items {
        let _ = write!(h, "<li>{}</li>", esc(i));
    }
    h.push_str("</ul>");
}

/// The whole page. Every text from the config, the store or the forge goes through
/// `esc`; nothing comes from the request.
pub fn render(grid: &Grid, unread: Option<&str>, events: &[Recent]) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"refresh\" content=\"{}\"><title>{}</title><style>{STYLE}</style></head><body>",
        REFRESH.as_secs(),
        esc(say::PAGE_TITLE)
    );
    let _ = write!(h, "<h1>{}</h1>", esc(say::PAGE_TITLE));
    if let Some(why) = unread {
        let _ = write!(h, "<p class=\"note\">{}</p>", esc(why));
    }
    head(&mut h, grid);
    for row in &grid.services {
        let _ = write!(h, "<tr><th>{}</th>", esc(&row.service));
        for c in &row.cells {
            h.push_str(&cell(c, grid.now_ms));
        }
        h.push_str("</tr>");
    }
    h.push_str("</tbody></table>");
    let frozen: Vec<String> = grid
        .frozen
        .iter()
        .map(|f| say::frozen(f, &age(grid.now_ms, f.at)))
        .collect();
    list(&mut h, say::PAGE_FROZEN, "frozen", &frozen);
    let groups: Vec<String> = grid
        .waiting_groups
        .iter()
        .map(|w| say::group_waiting(w, &age(grid.now_ms, w.since_ms)))
        .collect();
    list(&mut h, say::PAGE_GROUPS, "groups", &groups);
    let _ = write!(h, "<h2>{}</h2>", esc(say::PAGE_EVENTS));
    if events.is_empty() {
        let _ = write!(h, "<p class=\"muted\">{}</p>", esc(say::PAGE_NO_EVENTS));
    } else {
        h.push_str("<table id=\"events\"><tbody>");
        for e in events {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&say::when(&crate::clock::rfc3339(e.received_at / 1000))),
                esc(&e.kind),
                esc(&e.key),
                esc(&say::event_status(&e.status, e.attempts))
            );
        }
        h.push_str("</tbody></table>");
    }
    h.push_str("</body></html>\n");
    h
}

fn cell(c: &Cell, now: i64) -> String {
    let class = match c.state {
        CellState::Verified => "verified",
        CellState::Merged => "merged",
        CellState::Pending => "pending",
        CellState::Unrecorded => "unrecorded",
        CellState::None => "none",
    };
    let mut h = format!("<td class=\"{class}\">");
    if let Some(tag) = &c.tag {
        let _ = write!(h, "<div class=\"tag\">{}</div>", esc(tag));
    }
    if let Some(d) = &c.digest {
        let _ = write!(h, "<div class=\"digest\">{}</div>", esc(short_digest(d)));
    }
    let since = c.since_ms.map(|t| age(now, t));
    let _ = write!(h, "<div>{}", esc(&say::state(c.state, since.as_deref())));
    if let Some(pr) = &c.pr {
        let _ = write!(h, " · {}", link(pr));
    }
    h.push_str("</div>");
    if let Some(app) = &c.app {
        let _ = write!(h, "<div class=\"muted\">Argo CD: {}</div>", link(app));
    }
    for p in &c.pending {
        let _ = write!(
            h,
            "<div class=\"pr\">{} → <span class=\"tag\">{}</span> <span class=\"muted\">{}</span></div>",
            link(&p.pr),
            esc(&p.tag),
            esc(&say::pending_since(
                &age(now, p.opened_at_ms),
                &p.requested_by
            ))
        );
        if let Some(from) = &p.rollback_of {
            let _ = write!(
                h,
                "<div class=\"note\">{}</div>",
                esc(&say::rolling_back(from))
            );
        }
        if let Some(w) = &p.waits_for {
            let _ = write!(h, "<div class=\"muted\">{}</div>", esc(&say::waits(w)));
        }
    }
    if let Some(by) = &c.held_by {
        let _ = write!(
            h,
            "<div class=\"note\">{}</div>",
            esc(&say::held(&c.stage, by))
        );
    }
    if let Some(p) = &c.problem {
        let _ = write!(h, "<div class=\"note\">{}</div>", esc(&say::problem(p)));
    }
    h.push_str("</td>");
    h
}

/// The engine reads the overlays the way it plans: all at once, at the base head.
impl<F, A, R> Overlays for crate::engine::Engine<F, A, R>
where
    F: crate::forge::Forge + Send + Sync + 'static,
    A: crate::argocd::ArgoCd + Send + Sync + 'static,
    R: crate::registry::Registry + Send + Sync + 'static,
{
    fn base(&self) -> BoxFuture<'_, anyhow::Result<String>> {
        Box::pin(async move { Ok(self.forge.base_head().await?.to_string()) })
    }

    fn read(&self, base: &str) -> BoxFuture<'_, anyhow::Result<MapRepo>> {
        let base = base.to_owned();
        Box::pin(async move {
            let paths = self
                .config
                .services
                .iter()
                .flat_map(|(name, _)| crate::plan::Planner::paths(&self.config, name, false))
                .collect();
            Ok(self.read_at(paths, &base).await?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::{GroupWait, Pending, Row};

    /// Text from the config or the forge is shown, never run: a name or tag carrying
    /// markup comes out escaped, and a link that is not http(s) is not a link.
    ///
    /// Kept whole: one grid with markup in every field the page shows.
    #[test]
    fn every_text_is_escaped() {
        let evil = "<script>alert('x')</script>";
        let grid = Grid {
            stages: vec![evil.into()],
            services: vec![Row {
                service: evil.into(),
                cells: vec![Cell {
                    stage: evil.into(),
                    state: CellState::Pending,
                    tag: Some(evil.into()),
                    digest: Some(evil.into()),
                    since_ms: None,
                    pr: None,
                    app: Some(Link {
                        name: evil.into(),
                        url: Some("javascript:alert(1)".into()),
                    }),
                    pending: vec![Pending {
                        number: 1,
                        pr: Link {
                            name: "#1".into(),
                            url: Some("https://x.test/\"onclick=\"alert(1)".into()),
                        },
                        tag: evil.into(),
                        digest: evil.into(),
                        requested_by: evil.into(),
                        opened_at_ms: 0,
                        waits_for: Some(evil.into()),
                        rollback_of: Some(evil.into()),
                    }],
                    problem: Some(evil.into()),
                    held_by: Some(evil.into()),
                }],
            }],
            waiting_groups: vec![GroupWait {
                group: evil.into(),
                key: evil.into(),
                arrived: vec![evil.into()],
                missing: vec![evil.into()],
                since_ms: 0,
            }],
            frozen: vec![crate::store::freezes::Freeze {
                stage: evil.into(),
                by: evil.into(),
                reason: evil.into(),
                at: 0,
            }],
            overlays_read: true,
            now_ms: 0,
        };
        let events = [Recent {
            kind: evil.into(),
            key: evil.into(),
            status: evil.into(),
            attempts: 0,
            received_at: 0,
        }];
        let html = render(&grid, Some(evil), &events);
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(!html.contains("\"onclick"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
    }
}
