//! The engine against the in-memory forge, in the style of bors's tester: events in,
//! the forge's state out, and every comment Hoist posts must be asserted, or the test
//! fails when the tester is dropped.

#![allow(dead_code)]

use std::sync::Arc;

use hoist::clock::Clock;
use hoist::config::Config;
use hoist::engine::Engine;
use hoist::event::{Actor, ActorKind, CheckSource, Event, RepoRef, ReviewState};
use hoist::forge::{Permission, PrState, Reaction};
use hoist::store::Store;
use hoist::worker::Handler;

use super::memory_forge::{MemoryArgo, MemoryForge, MemoryRegistry, post_as, review, user};
use super::served::{Served, Stored};

pub const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app-service1";
pub const DEV: &str = "apps/my-app-service1/env/dev/kustomization.yaml";
pub const UAT: &str = "apps/my-app-service1/env/uat/kustomization.yaml";
pub const PROD: &str = "apps/my-app-service1/env/prod/kustomization.yaml";

pub fn quinn() -> Actor {
    user(10, "quinn")
}
pub fn sam() -> Actor {
    user(11, "sam")
}
pub fn mallory() -> Actor {
    user(12, "mallory")
}
pub fn alice() -> Actor {
    user(13, "alice")
}
pub fn renovate() -> Actor {
    Actor {
        id: 14,
        login: "renovate[bot]".into(),
        kind: ActorKind::Bot,
    }
}

/// The example config, with Argo CD's health debounce off so verification is immediate
/// (one test turns it back on).
pub fn example_config() -> String {
    std::fs::read_to_string("config/hoist.example.yaml")
        .unwrap()
        .replace(
            "token_env: ARGOCD_TOKEN",
            "token_env: ARGOCD_TOKEN\n  health_debounce_seconds: 0",
        )
}

/// The tester's clock starts here (2026-11-26T10:00:00Z) and moves only when a test
/// moves it.
pub const T0_MS: i64 = 1_795_687_200_000;

pub fn digest(seed: &str) -> String {
    format!("sha256:{}", seed.repeat(64).get(..64).unwrap())
}

/// `12m ago` as `AGE ago`: what a CLI prints from a store on another clock than the
/// system's, or a served store on the system's own. Since an age's width moves a
/// table's columns, each run of spaces becomes two.
pub fn ages(text: &str) -> String {
    let redacted = ages_only(text);
    let collapse = regex::Regex::new(" {2,}").unwrap();
    redacted
        .lines()
        .map(|l| collapse.replace_all(l, "  ").into_owned())
        .collect::<Vec<_>>()
        .join("\n")
        + if text.ends_with('\n') { "\n" } else { "" }
}

fn ages_only(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(" ago") {
        let head = &rest[..i];
        let start = head
            .rfind(|c: char| !(c.is_ascii_digit() || "smhd".contains(c)))
            .map_or(0, |j| j + 1);
        out.push_str(&head[..start]);
        out.push_str("AGE ago");
        rest = &rest[i + 4..];
    }
    out.push_str(rest);
    out
}

/// How a tester's events reach Hoist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drive {
    /// Handed to the engine in this process, on the in-memory forge.
    Engine,
    /// Sent as signed webhooks to the real `hoist serve`, whose GitHub App talks to the
    /// GitHub HTTP fake on the same forge state.
    Serve,
}

/// What a forge gives the tester: Hoist's replies as the forge holds them, and how an
/// event reaches Hoist and what the forge sends after it.
pub trait Side: Sized + Send + Sync + 'static {
    type Forge: hoist::forge::Forge + Send + Sync + 'static;

    /// Hoist's replies in the order posted, each as (pull request, body now): not its
    /// check reports or records.
    fn replies(&self) -> Vec<(u64, String)>;

    /// Hoist's check reports in the order first published, each as (pull request, what
    /// it says now in one line).
    fn checks(&self) -> Vec<(u64, String)>;

    /// Hoist's reactions to comments in the order made, each as (pull request, which
    /// and to what).
    fn reactions(&self) -> Vec<(u64, String)> {
        vec![]
    }

    /// Hands `ev` to Hoist: the text of the wait when Hoist answered "not yet".
    fn handle(t: &Tester<Self>, ev: &Event) -> impl Future<Output = Option<String>> + Send;

    /// Delivers what the forge sends after an event (its notifications of pull
    /// requests Hoist opened, or the events it emitted).
    fn after(t: &Tester<Self>, before: usize) -> impl Future<Output = ()> + Send;

    /// How many pull requests the forge holds.
    fn prs(&self) -> usize;

    /// `text` with what differs from run to run put as a fixed word.
    fn redact(&self, text: &str) -> String {
        text.to_owned()
    }

    /// Whether the test sees each wait Hoist answers. A served `hoist serve` retries
    /// waits in its own queue, which may have run an event again (and finished it) before
    /// the test looks: there, waits are the queue's business, asserted on the engine.
    fn sees_waits(&self) -> bool {
        true
    }
}

/// The engine against one forge, in the style of bors's tester: events in, the forge's
/// state out. Every reply Hoist posts or edits, and every time it answers "not yet",
/// must be asserted, or the test fails when the tester is dropped.
pub struct Tester<S: Side = GitHub> {
    pub side: S,
    /// The engine driver's engine (with `Drive::Serve`, events go to the server's own).
    pub engine: Arc<Engine<S::Forge, MemoryArgo, MemoryRegistry>>,
    pub argo: MemoryArgo,
    pub registry: MemoryRegistry,
    /// What each effect said when last asserted, by stream (replies, checks, reactions)
    /// and position.
    seen: [Vec<String>; 3],
    /// Waits Hoist answered that the test has not yet expected.
    waits: std::sync::Mutex<Vec<String>>,
    pub _dir: tempfile::TempDir,
}

impl<S: Side> std::ops::Deref for Tester<S> {
    type Target = S;
    fn deref(&self) -> &S {
        &self.side
    }
}

impl<S: Side> std::ops::DerefMut for Tester<S> {
    fn deref_mut(&mut self) -> &mut S {
        &mut self.side
    }
}

impl<S: Side> Tester<S> {
    pub fn with(
        side: S,
        forge: S::Forge,
        config: Config,
        repo_name: &str,
        argo: MemoryArgo,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let registry = MemoryRegistry::default();
        let engine = Arc::new(Engine {
            config: Arc::new(config),
            forge,
            argocd: argo.clone(),
            registry: registry.clone(),
            store: Store::open_with_clock(&dir.path().join("hoist.db"), Clock::manual(T0_MS))
                .unwrap(),
            repo_name: repo_name.into(),
        });
        Self {
            side,
            engine,
            argo,
            registry,
            seen: Default::default(),
            waits: Default::default(),
            _dir: dir,
        }
    }

    /// Delivers an event, then what the forge sends after it. A wait Hoist answers is
    /// kept for the test to expect (`waits`).
    pub async fn deliver(&self, ev: Event) {
        let before = self.side.prs();
        let waited = S::handle(self, &ev).await;
        self.waits.lock().unwrap().extend(waited);
        let after: std::pin::Pin<Box<dyn Future<Output = ()> + Send + '_>> =
            Box::pin(S::after(self, before));
        after.await;
    }

    /// Hoist answered exactly these waits (one per line) since last asserted.
    #[track_caller]
    pub fn expect_waits(&self, expected: &str) {
        let waits = self.waits();
        if self.side.sees_waits() {
            assert_eq!(waits, expected);
        }
    }

    /// The merge into `stage` waits for Argo CD, which has not synced it yet.
    #[track_caller]
    pub fn expect_wait_for_argo(&self, stage: &str) {
        self.expect_waits(&format!(
            "Argo CD has no application my-app-service1-{stage}"
        ));
    }

    /// Every wait Hoist answered since the last call, one per line, now expected:
    /// compare with an inline snapshot.
    pub fn waits(&self) -> String {
        let waits = std::mem::take(&mut *self.waits.lock().unwrap());
        self.side.redact(&waits.join("\n"))
    }

    pub async fn push(&self, tag: &str, seed: &str) {
        self.deliver(Event::ImagePushed {
            image: IMAGE.into(),
            tag: tag.into(),
            digest: digest(seed),
            time: "2026-11-26T09:58:00Z".into(),
        })
        .await;
    }

    /// Moves the engine's clock (the tester's time stands still otherwise).
    pub fn advance(&self, by: std::time::Duration) {
        self.engine.store.clock().advance(by);
    }

    /// Hoist's replies, in the order posted, as the forge holds them now.
    pub fn hoist_comments(&self) -> Vec<(u64, String)> {
        self.side.replies()
    }

    /// Every effect Hoist made or changed since last asserted: (stream, position, pull
    /// request, text), replies first, then check reports, then reactions.
    fn unasserted(&self) -> Vec<(usize, usize, u64, String)> {
        let streams = [
            self.side.replies(),
            self.side.checks(),
            self.side.reactions(),
        ];
        let mut out = vec![];
        for (k, stream) in streams.into_iter().enumerate() {
            for (i, (n, text)) in stream.into_iter().enumerate() {
                if self.seen[k].get(i) != Some(&text) {
                    out.push((k, i, n, text));
                }
            }
        }
        out
    }

    fn mark_seen(&mut self, k: usize, i: usize, text: &str) {
        let seen = &mut self.seen[k];
        if seen.len() <= i {
            seen.resize(i + 1, String::new());
        }
        seen[i] = text.to_owned();
    }

    /// The next reply Hoist posted or edited, which must be on `pr`, as `said` shows it
    /// (without the `#N: ` it would start with), now asserted: compare it with an
    /// inline snapshot.
    #[track_caller]
    pub fn next_comment(&mut self, pr: u64) -> String {
        let Some((k, i, n, body)) = self.unasserted().into_iter().find(|e| e.0 == 0) else {
            panic!("expected a comment on #{pr}; Hoist posted none");
        };
        assert_eq!(n, pr, "comment on the wrong PR: {body}");
        self.mark_seen(k, i, &body);
        self.visible(&body)
    }

    /// A reply as a person reads it: its hidden mark cut off, Argo CD's address (which
    /// differs between the engine's config and the served fakes) as `ARGOCD`, and what
    /// the side redacts.
    fn visible(&self, body: &str) -> String {
        let argocd =
            regex::Regex::new(r"https://argocd\.example\.com|http://127\.0\.0\.1:\d+").unwrap();
        let visible = body.split("\n\n<!-- hoist:mark").next().unwrap();
        // The records that open a reply (a freeze's, a hold's) are hidden, as the forge
        // renders an HTML comment.
        let visible = visible
            .split_inclusive('\n')
            .skip_while(|l| l.starts_with("<!-- hoist:") && l.trim_end().ends_with(" -->"))
            .collect::<String>();
        self.side.redact(&argocd.replace_all(&visible, "ARGOCD"))
    }

    /// Every effect Hoist made or changed since last asserted, now asserted: compare the
    /// whole with an inline snapshot. Replies come first, each as `#N: text` (or `#N,
    /// edited: text`) as a person reads it (see `visible`), then one line per check
    /// report (`check: …`) and per reaction (`#N reaction: …`).
    pub fn said(&mut self) -> String {
        let mut replies = vec![];
        let mut checks: Vec<(String, String)> = vec![];
        let mut lines = vec![];
        for (k, i, n, text) in self.unasserted() {
            let edited = if i < self.seen[k].len() {
                ", edited"
            } else {
                ""
            };
            match k {
                0 => replies.push(format!("#{n}{edited}: {}", self.visible(&text))),
                // A check report is on a commit, which pull requests share (a fork's
                // included): said without one.
                1 => {
                    // The check's name: `hoist/argocd`, bold in a CodeCommit comment.
                    let name = text
                        .split(' ')
                        .find(|w| w.contains('/'))
                        .unwrap_or_default()
                        .trim_matches('*')
                        .to_owned();
                    checks.push((name, format!("check{edited}: {}", self.side.redact(&text))));
                }
                _ => lines.push(format!("#{n} reaction: {text}")),
            }
            self.mark_seen(k, i, &text);
        }
        // Two check runs published by separate work items may land in either order; each
        // one's own reports keep theirs (a stable sort by name).
        checks.sort_by(|a, b| a.0.cmp(&b.0));
        lines.splice(0..0, checks.into_iter().map(|(_, l)| l));
        let mut out = replies.join("\n---\n");
        if !lines.is_empty() {
            if !out.is_empty() {
                out.push_str("\n---\n");
            }
            out.push_str(&lines.join("\n"));
        }
        out
    }
}

impl<S: Side> Drop for Tester<S> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        if let Some((k, _, n, text)) = self.unasserted().first() {
            let what = ["comment", "check report", "reaction"][*k];
            panic!("unasserted {what} on #{n}:\n{text}");
        }
        let waits = self.waits.lock().unwrap();
        assert!(waits.is_empty(), "unexpected waits:\n{}", waits.join("\n"));
    }
}

/// The GitHub side: the in-memory forge, and the served `hoist serve` when events go
/// through it.
pub struct GitHub {
    pub forge: MemoryForge,
    pub served: Option<Served>,
}

impl Side for GitHub {
    type Forge = MemoryForge;

    fn replies(&self) -> Vec<(u64, String)> {
        let me = self.forge.me_actor().id;
        let s = self.forge.state.lock().unwrap();
        s.comments
            .iter()
            .filter(|(_, c)| c.author.id == me)
            .map(|(n, c)| (*n, c.body.clone()))
            .collect()
    }

    fn checks(&self) -> Vec<(u64, String)> {
        let s = self.forge.state.lock().unwrap();
        s.published
            .iter()
            .map(|(n, name, conclusion, title)| {
                let c = conclusion.as_deref().unwrap_or("pending");
                (*n, format!("{name} {c}: {title}"))
            })
            .collect()
    }

    fn reactions(&self) -> Vec<(u64, String)> {
        let s = self.forge.state.lock().unwrap();
        s.reactions
            .iter()
            .map(|(id, r)| {
                let r = format!("{r:?}").to_lowercase();
                match s.comments.iter().find(|(_, c)| c.id == *id) {
                    Some((n, c)) => {
                        let what = c.body.lines().next().unwrap_or_default();
                        (*n, format!("{r} to @{}'s {what:?}", c.author.login))
                    }
                    // A comment the forge no longer holds.
                    None => (0, format!("{r} to comment {id}")),
                }
            })
            .collect()
    }

    async fn handle(t: &Tester<Self>, ev: &Event) -> Option<String> {
        let sent = t.send(ev).await;
        t.settled(sent).await
    }

    /// The `pull_request opened` events GitHub sends for the pull requests Hoist opened.
    async fn after(t: &Tester<Self>, before: usize) {
        for n in before + 1..=t.side.prs() {
            t.opened(n as u64, t.forge.me_actor()).await;
        }
    }

    fn prs(&self) -> usize {
        self.forge.state.lock().unwrap().prs.len()
    }

    fn sees_waits(&self) -> bool {
        self.served.is_none()
    }
}

impl Tester<GitHub> {
    pub fn new() -> Self {
        Self::of(
            &example_config(),
            MemoryForge::from_dir(std::path::Path::new("examples/gitops")),
        )
    }

    /// my-app-service1 with three targets per stage (`support::targets`), driven as
    /// `drive` says.
    pub async fn three_targets(drive: Drive) -> Self {
        let dir = super::targets::repo_dir();
        let mut t = Self::of(
            &super::targets::config(&example_config()),
            MemoryForge::from_dir(dir.path()),
        );
        if drive == Drive::Serve {
            t.side.served =
                Some(Served::start_edited(&t.forge, &t.argo, super::targets::config).await);
        }
        t
    }

    fn of(config: &str, forge: MemoryForge) -> Self {
        let config = Config::parse(config, "hoist.yaml").unwrap();
        {
            let mut s = forge.state.lock().unwrap();
            for (who, p) in [
                (quinn(), Permission::Write),
                (sam(), Permission::Write),
                (mallory(), Permission::Read),
                (alice(), Permission::Write),
                (renovate(), Permission::Write),
            ] {
                s.permissions.insert(who.id, p);
                s.users.insert(who.login.clone(), who.clone());
            }
            s.teams.insert("acme/qa".into(), vec![quinn().id]);
            // The requester is a code owner too: their approval still must not count.
            s.teams
                .insert("acme/sre".into(), vec![sam().id, quinn().id, renovate().id]);
            s.teams.insert("acme/sre-leads".into(), vec![sam().id]);
        }
        let argo = MemoryArgo::default();
        argo.render_from(&forge);
        let side = GitHub {
            forge: forge.clone(),
            served: None,
        };
        Tester::with(side, forge, config, "acme/gitops", argo)
    }

    /// A tester with events driven as `drive` says. `Drive::Serve` needs a multi-threaded
    /// runtime: the fakes answer the server while the test waits.
    pub async fn start(drive: Drive) -> Self {
        let mut t = Self::new();
        if drive == Drive::Serve {
            t.side.served = Some(Served::start(&t.forge, &t.argo).await);
        }
        t
    }

    pub fn repo() -> RepoRef {
        RepoRef {
            full_name: "acme/gitops".into(),
            installation_id: None,
        }
    }

    /// Starts delivering `ev`, for a test that acts while it is being handled; `settle`
    /// waits for the end.
    pub async fn send(&self, ev: &Event) -> Sent {
        match &self.served {
            Some(s) => Sent::Served(s.send(ev).await),
            None => {
                let engine = self.engine.clone();
                let ev = ev.clone();
                Sent::Engine(tokio::spawn(async move { engine.handle(ev).await }))
            }
        }
    }

    /// Waits for a delivery to be handled; a permanent failure fails the test. A wait
    /// is kept for the test to expect (`waits`).
    pub async fn settle(&self, sent: Sent) {
        let waited = self.settled(sent).await;
        self.waits.lock().unwrap().extend(waited);
    }

    /// Waits for a delivery to be handled: the text of the wait Hoist answered, if any.
    async fn settled(&self, sent: Sent) -> Option<String> {
        let handled = match sent {
            Sent::Served(stored) => {
                self.served.as_ref().unwrap().settle(stored).await;
                return None;
            }
            Sent::Engine(handle) => handle.await.unwrap(),
        };
        match handled {
            Ok(()) => None,
            Err(
                hoist::worker::HandlerError::Waiting(why)
                | hoist::worker::HandlerError::WaitingUntil(why, _),
            ) => Some(why),
            Err(hoist::worker::HandlerError::Retryable(e)) => Some(format!("retry: {e}")),
            Err(e) => panic!("handler failed: {e}"),
        }
    }

    /// One reconcile pass (with `Drive::Serve`, `hoist reconcile --once` beside the
    /// server): how many commands it answered.
    pub async fn reconcile(&self) -> usize {
        match &self.served {
            Some(s) => s.reconcile().await,
            None => self.engine.reconcile().await.unwrap().answered,
        }
    }

    /// Whether the ledger records `seed`'s digest in `stage`.
    pub async fn in_ledger(&self, stage: &str, seed: &str) -> bool {
        let service = "my-app-service1";
        match &self.served {
            Some(s) => s.in_ledger(service, stage, &digest(seed)),
            None => self
                .engine
                .store
                .ledger_get(service, stage, &digest(seed))
                .await
                .unwrap()
                .is_some(),
        }
    }

    /// The store events are handled with: the engine's, or the served server's.
    pub fn db(&self) -> std::path::PathBuf {
        match &self.served {
            Some(s) => s.db().to_owned(),
            None => self.engine.store.path().to_owned(),
        }
    }

    /// What the ledger records of `seed`'s digest in `stage`.
    pub async fn ledger(&self, stage: &str, seed: &str) -> Option<hoist::store::ledger::Promotion> {
        let store = match &self.served {
            Some(s) => Store::open(s.db()).unwrap(),
            None => self.engine.store.clone(),
        };
        store
            .ledger_get("my-app-service1", stage, &digest(seed))
            .await
            .unwrap()
    }

    /// Whether the ledger records `seed`'s digest as merged into `stage` (engine driver).
    pub async fn in_ledger_merged(&self, stage: &str, seed: &str) -> bool {
        self.engine
            .store
            .ledger_get("my-app-service1", stage, &digest(seed))
            .await
            .unwrap()
            .is_some_and(|p| p.merge_sha.is_some())
    }

    /// The store is lost and rebuilt from the forge, and a reconcile pass runs, as at a
    /// start (with `Drive::Serve`: the server stops, `hoist ledger rebuild` runs on a new
    /// store, the server starts again).
    pub async fn lose_store(&mut self) {
        if let Some(s) = &mut self.side.served {
            return s.lose_store().await;
        }
        let clock = self.engine.store.clock().clone();
        // A new file each time: a store lost twice starts empty twice.
        let n = std::fs::read_dir(self._dir.path()).unwrap().count();
        let path = self._dir.path().join(format!("lost-{n}.db"));
        let fresh = Store::open_with_clock(&path, clock).unwrap();
        Arc::get_mut(&mut self.engine).unwrap().store = fresh;
        self.engine.rebuild_ledger().await.unwrap();
        // As `hoist serve` does when it starts again.
        self.engine.reconcile().await.unwrap();
    }

    /// Delivers `pull_request opened` for PR `n` at its current head.
    pub async fn opened(&self, n: u64, author: Actor) {
        let p = self.forge.pr(n);
        self.deliver(Event::PullRequestOpened {
            repo: Self::repo(),
            pr: n,
            head_ref: p.head_ref,
            head_sha: p.head_sha,
            base_ref: "main".into(),
            author,
        })
        .await;
    }

    /// `who` branches off the base, commits `content` to `path` and opens a pull request:
    /// its number and head.
    pub async fn person_pr(
        &self,
        branch: &str,
        who: &Actor,
        path: &str,
        content: &str,
    ) -> (u64, String) {
        let base = self.forge.state.lock().unwrap().base.clone();
        self.forge.create_ref(branch, &base);
        let head = self.forge.push_as(branch, who, path, content);
        let n = self.forge.open_person_pr(branch, branch);
        self.opened(n, who.clone()).await;
        (n, head)
    }

    /// `who` comments on `pr`: the forge holds the comment, and its event is delivered.
    pub async fn comment(&mut self, pr: u64, who: &Actor, body: &str) -> u64 {
        let id = post_as(&self.forge, pr, who, body);
        self.deliver(Event::CommentCreated {
            repo: Self::repo(),
            comment_id: id,
            body: body.into(),
            author: who.clone(),
            number: pr,
            is_pull_request: true,
        })
        .await;
        id
    }

    pub async fn check(&self, pr: u64, conclusion: Option<&str>) {
        let (name, head_sha) =
            self.forge
                .set_stage_check(pr, conclusion, Some("https://ci.example/1"));
        self.deliver(Event::CheckCompleted {
            repo: Self::repo(),
            source: CheckSource::CheckRun,
            name,
            conclusion: conclusion.unwrap_or("pending").into(),
            head_sha,
            prs: vec![pr],
        })
        .await;
    }

    pub async fn review(&self, pr: u64, who: &Actor, state: ReviewState, on: Option<&str>) {
        let head = self.forge.pr(pr).head_sha;
        let on = on.unwrap_or(&head).to_owned();
        self.forge
            .state
            .lock()
            .unwrap()
            .reviews
            .entry(pr)
            .or_default()
            .push(review(who, state, &on));
        self.deliver(Event::ReviewSubmitted {
            repo: Self::repo(),
            pr,
            state,
            reviewer: who.clone(),
            commit_id: Some(on),
        })
        .await;
    }

    /// Argo CD syncs the stage's app to the merge, and GitHub tells Hoist of the merge.
    pub async fn argo_syncs(&self, pr: u64, seed: &str) {
        let (head_ref, sha) =
            self.forge
                .sync_merged(&self.argo, pr, &format!("{IMAGE}@{}", digest(seed)));
        self.deliver(Event::PullRequestClosed {
            repo: Self::repo(),
            pr,
            head_ref,
            merged: true,
            merge_commit_sha: Some(sha),
            merged_pr: None,
        })
        .await;
    }

    /// The lines of the latest `hoist/argocd` on pull request `pr`'s head that contain
    /// `needle`.
    pub fn gate_lines(&self, pr: u64, needle: &str) -> String {
        let head = self.forge.pr(pr).head_sha;
        let s = self.forge.state.lock().unwrap();
        let c = s.checks[&head]
            .iter()
            .rev()
            .find(|c| c.name == "hoist/argocd")
            .unwrap();
        let text = c.url.clone().unwrap();
        text.lines()
            .filter(|l| l.contains(needle))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The tester with `edit` applied to its engine's config.
    pub fn edit_config(&mut self, edit: impl Fn(String) -> String) {
        let text = edit(example_config());
        Arc::get_mut(&mut self.engine).unwrap().config =
            Arc::new(Config::parse(&text, "hoist.yaml").unwrap());
    }

    pub fn reactions(&self, comment_id: u64) -> Vec<Reaction> {
        self.forge
            .state
            .lock()
            .unwrap()
            .reactions
            .iter()
            .filter(|(id, _)| *id == comment_id)
            .map(|(_, r)| *r)
            .collect()
    }

    /// The base's prod overlay, hand-edited to pin `tag` at the digest of `seed`.
    pub fn prod_pinned_to(&self, tag: &str, seed: &str) -> String {
        let prod = self.forge.base_file(PROD).unwrap();
        let spec =
            hoist::image::ImageSpec::parse(&format!("my-app-service1:{tag}@{}", digest(seed)))
                .unwrap();
        hoist::manifest::set_image(&prod, &spec).unwrap().text
    }

    /// dev verified, then quinn's `/promote uat` opened #2, which waits for its check.
    pub async fn uat_pending(&mut self) {
        self.dev_verified().await;
        self.comment(1, &quinn(), "/promote uat").await;
        insta::allow_duplicates! { insta::assert_snapshot!(self.said(), @r#"
        #1: 🚀 Opened #2 to promote my-app-service1 v1.4.0 to **uat**.
        ---
        check: hoist/argocd pending: Waiting
        check: hoist/dag success: Every image came through the DAG
        #1 reaction: eyes to @quinn's "/promote uat"
        #1 reaction: rocket to @quinn's "/promote uat"
        "#) };
    }

    /// dev verified at v1.4.0 (PR #1), as every gated scenario starts.
    pub async fn dev_verified(&mut self) {
        self.push("v1.4.0", "a1").await;
        self.check(1, Some("success")).await;
        assert_eq!(self.forge.pr(1).state, PrState::Merged);
        self.expect_wait_for_argo("dev");
        self.argo_syncs(1, "a1").await;
        insta::allow_duplicates! { insta::assert_snapshot!(self.said(), @"
        #1: ✅ Verified in **dev**: my-app-service1 v1.4.0 is Synced and Healthy at 0000000 (Argo CD app my-app-service1-dev). Next: comment /promote uat.
        ---
        check: hoist/argocd pending: Waiting
        check: hoist/argocd success: Ready to merge
        check: hoist/dag success: No gated image values change
        ") };
    }
}

/// A delivery under way.
pub enum Sent {
    Engine(tokio::task::JoinHandle<Result<(), hoist::worker::HandlerError>>),
    Served(Stored),
}

/// dev and uat verified, then quinn's `/promote prod`: #3's required check passed, so
/// only the code-owner gate stands between it and a merge. Every comment on the way is
/// asserted.
pub async fn prod_waiting_for_owner(t: &mut Tester) {
    t.uat_pending().await;
    t.check(2, Some("success")).await;
    t.expect_wait_for_argo("uat");
    t.argo_syncs(2, "a1").await;
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @"
    #2: ✅ Verified in **uat**: my-app-service1 v1.4.0 is Synced and Healthy at 0000000 (Argo CD app my-app-service1-uat). Next: comment /promote prod.
    ---
    check: hoist/argocd success: Ready to merge
    ") };
    t.comment(2, &quinn(), "/promote prod").await;
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @r#"
    #2: 🚀 Opened #3 to promote my-app-service1 v1.4.0 to **prod**.
    ---
    check: hoist/argocd pending: Waiting
    check: hoist/dag success: Every image came through the DAG
    #2 reaction: eyes to @quinn's "/promote prod"
    #2 reaction: rocket to @quinn's "/promote prod"
    "#) };
    t.check(3, Some("success")).await;
    insta::allow_duplicates! { insta::assert_snapshot!(t.said(), @"
    #3: ⏳ Waiting for an approval from a code owner of apps/my-app-service1/env/prod/ (@acme/sre). @quinn requested this promotion, so their approval does not count.
    ---
    check: hoist/argocd pending: Waiting
    ") };
}

pub async fn prod_pr_awaiting_approval() -> Tester {
    prod_pr_awaiting_approval_by(Drive::Engine).await
}

pub async fn prod_pr_awaiting_approval_by(drive: Drive) -> Tester {
    let mut t = Tester::start(drive).await;
    prod_waiting_for_owner(&mut t).await;
    t
}
