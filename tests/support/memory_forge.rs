//! An in-memory forge that behaves like GitHub where the engine can tell: branches with
//! real file trees, pull requests whose head follows their branch, merges pinned to the
//! head that refuse a moved head and keep commits that reached the base meanwhile,
//! reviews, checks, comments, reactions, permissions and teams. It records every call.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use hoist::argocd::{AppStatus, ArgoCd};
use hoist::event::{Actor, ActorKind, ReviewState};
use hoist::forge::{
    Check, Comment, Commit, Conclusion, FileWrite, Forge, ForgeError, Permission, PostedBy,
    PrState, PullRequest, Reaction, Result, Review,
};
use hoist::registry::{ImageVersion, Registry};

type Files = HashMap<String, String>;

#[derive(Debug, Clone)]
struct Branch {
    base: String,
    head: String,
    commits: Vec<Commit>,
}

/// A barrier in a forge call: the test waits until the engine reaches the call, does
/// something meanwhile, then lets the call go on.
#[derive(Clone, Default)]
pub struct Pause {
    reached: Arc<tokio::sync::Notify>,
    release: Arc<tokio::sync::Notify>,
}

impl Pause {
    pub async fn reached(&self) {
        self.reached.notified().await
    }
    pub fn release(&self) {
        self.release.notify_one()
    }
}

#[derive(Default)]
pub struct State {
    pub base: String,
    snapshots: HashMap<String, Files>,
    next_sha: u64,
    branches: HashMap<String, Branch>,
    pub prs: Vec<PullRequest>,
    pub comments: Vec<(u64, Comment)>,
    next_id: u64,
    pub reactions: Vec<(u64, Reaction)>,
    /// Every check run Hoist published, in order: (pull request, name, conclusion, title).
    pub published: Vec<(u64, String, Option<String>, String)>,
    pub permissions: HashMap<u64, Permission>,
    pub teams: HashMap<String, Vec<u64>>,
    pub reviews: HashMap<u64, Vec<Review>>,
    pub checks: HashMap<String, Vec<Check>>,
    pub calls: Vec<String>,
    pub fail_next: Vec<ForgeError>,
    /// Fails the next call so described (`POST check-run hoist/argocd`), once.
    pub fail_call: Option<(String, ForgeError)>,
    /// Reactions fail (GitHub's reactions API down; the emulator has none at all).
    pub fail_reactions: bool,
    /// Known users by login, for routes that name a user.
    pub users: HashMap<String, Actor>,
    /// Every HTTP request the GitHub fake served, as `METHOD /route`, and when.
    pub http: Vec<String>,
    pub http_at: Vec<std::time::Instant>,
    /// GETs the fake answered `304 Not Modified`.
    pub not_modified: usize,
    /// The GitHub fake has no GraphQL (404, as a GitHub Enterprise Server's REST root
    /// answers), so the adapter goes through REST.
    pub graphql_off: bool,
    /// The next GraphQL request of this operation is done, and then answered 502 (the
    /// answer lost).
    pub graphql_lost_answer: Option<&'static str>,
    /// Calls the GitHub fake answered 401 (no or wrong credentials).
    pub unauthorized: usize,
    /// The GitHub fake answers the next repository call with this (as GitHub answers a
    /// token revoked or expired early, or a proxy's error page), once.
    pub answer_next: Option<(u16, &'static str)>,
    /// Records published by an identity, `(sha, record, by Hoist)`: what GitHub's
    /// `hoist/record` check runs (by App id) or CodeCommit's comments (by ARN) hold.
    pub records: Vec<(String, String, bool)>,
    /// A person's commit the GitHub fake pushes onto the branch just before Hoist's next
    /// file write: `(who, path, content)`, once.
    pub push_before_write: Option<(Actor, String, String)>,
    /// A call to stop at (`POST check-run hoist/argocd`, `PUT merge 3`), once.
    pub pause: Option<(String, Pause)>,
    /// Where the GitHub fake delivers webhooks, and the secret it signs them with.
    pub webhook: Option<(String, String)>,
    /// The base URL the GitHub fake serves this state at (it answers for ECR too).
    pub served_at: Option<String>,
    /// What ECR holds, as the GitHub fake's `DescribeImages` answers it: by repository
    /// name, `(tag, digest, pushed at in seconds since the epoch)`.
    pub ecr_images: HashMap<String, Vec<(String, String, i64)>>,
    /// ECR calls the GitHub fake answered.
    pub ecr_calls: usize,
    /// The App is not installed on the repository: GitHub answers 404 for its
    /// installation and its installation's tokens.
    pub not_installed: bool,
    /// IAM as the GitHub fake's policy simulator answers it (it stands in for AWS beside
    /// GitHub); its callers are Hoist's role's session.
    pub iam: super::aws_query::Iam,
    /// The App installation's `permissions` and `events` as the GitHub fake reports
    /// them; `Null` for what the App registered from Hoist's manifest has.
    pub installation: serde_json::Value,
    /// The repository's rulesets, as created with `POST rulesets` (their ids are their
    /// positions, from 1).
    pub rulesets: Vec<serde_json::Value>,
    /// The base branch's classic protection: the status and body GitHub answers for it.
    pub branch_protection: Option<(u16, serde_json::Value)>,
    /// Trees made with `POST git/trees`: their files, by tree id.
    trees: HashMap<String, Files>,
    /// Commits made with `POST git/commits`, on no branch yet: (parent, commit).
    loose: HashMap<String, (String, Commit)>,
}

impl State {
    /// Merge calls the fake received (refused ones included).
    pub fn merge_calls(&self) -> usize {
        self.calls
            .iter()
            .filter(|c| c.starts_with("PUT merge"))
            .count()
    }

    /// Pull requests merged.
    pub fn merged(&self) -> usize {
        self.prs
            .iter()
            .filter(|p| p.state == PrState::Merged)
            .count()
    }
}

#[derive(Clone)]
pub struct MemoryForge {
    pub state: Arc<Mutex<State>>,
    /// Rung by the GitHub fake after each request it answers: what tests wait on.
    pub changed: Arc<std::sync::Condvar>,
    me: Actor,
}

pub fn user(id: u64, login: &str) -> Actor {
    Actor {
        id,
        login: login.into(),
        kind: ActorKind::User,
    }
}

impl MemoryForge {
    /// A repository whose base holds every file under `dir`.
    pub fn from_dir(dir: &std::path::Path) -> Self {
        let mut files = Files::new();
        fn walk(root: &std::path::Path, d: &std::path::Path, files: &mut Files) {
            for e in std::fs::read_dir(d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(root, &p, files);
                } else {
                    let rel = p
                        .strip_prefix(root)
                        .unwrap()
                        .to_string_lossy()
                        .replace('\\', "/");
                    files.insert(rel, std::fs::read_to_string(&p).unwrap());
                }
            }
        }
        walk(dir, dir, &mut files);
        let mut state = State {
            base: "base0000000000".into(),
            next_sha: 1,
            next_id: 1000,
            ..State::default()
        };
        state.snapshots.insert(state.base.clone(), files);
        Self {
            state: Arc::new(Mutex::new(state)),
            changed: Arc::default(),
            me: Actor {
                id: 1,
                login: "hoist[bot]".into(),
                kind: ActorKind::Bot,
            },
        }
    }

    /// Waits until `cond` holds of the state, woken by each request the GitHub fake
    /// answers; fails the test after `within`.
    pub fn wait_until(
        &self,
        what: &str,
        within: std::time::Duration,
        cond: impl Fn(&State) -> bool,
    ) {
        let guard = self.state.lock().unwrap();
        let (state, _) = self
            .changed
            .wait_timeout_while(guard, within, |s| !cond(s))
            .unwrap();
        assert!(cond(&state), "timed out waiting for {what}");
    }

    /// Adds `n` small files to the base branch, for a large repository.
    pub fn add_files(&self, n: usize) {
        let mut s = self.state.lock().unwrap();
        let base = s.base.clone();
        let files = s.snapshots.get_mut(&base).unwrap();
        for i in 0..n {
            files.insert(format!("docs/generated/{i:05}.md"), format!("# page {i}\n"));
        }
    }

    fn call(&self, what: String) -> Result<std::sync::MutexGuard<'_, State>> {
        let mut s = self.state.lock().unwrap();
        if s.fail_call.as_ref().is_some_and(|(w, _)| *w == what) {
            s.calls.push(what);
            return Err(s.fail_call.take().unwrap().1);
        }
        s.calls.push(what);
        if !s.fail_next.is_empty() {
            return Err(s.fail_next.remove(0));
        }
        Ok(s)
    }

    /// The base branch's file, as merged.
    pub fn base_file(&self, path: &str) -> Option<String> {
        let s = self.state.lock().unwrap();
        s.snapshots[&s.base].get(path).cloned()
    }

    pub fn file_at(&self, sha: &str, path: &str) -> Option<String> {
        self.state
            .lock()
            .unwrap()
            .snapshots
            .get(sha)?
            .get(path)
            .cloned()
    }

    /// The files that differ between commits `a` and `b` (added, changed or removed).
    pub fn changed_between(&self, a: &str, b: &str) -> Vec<String> {
        let s = self.state.lock().unwrap();
        let (fa, fb) = (&s.snapshots[a], &s.snapshots[b]);
        let mut out: Vec<String> = fa
            .keys()
            .chain(fb.keys())
            .filter(|p| fa.get(*p) != fb.get(*p))
            .cloned()
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Every file directly in `dir` at `sha`, by name, as a directory source lists them.
    pub fn files_in(&self, sha: &str, dir: &str) -> Vec<(String, String)> {
        let s = self.state.lock().unwrap();
        let mut out: Vec<(String, String)> = s
            .snapshots
            .get(sha)
            .into_iter()
            .flatten()
            .filter(|(p, _)| {
                p.strip_prefix(dir)
                    .and_then(|r| r.strip_prefix('/'))
                    .is_some_and(|r| !r.contains('/'))
            })
            .map(|(p, c)| (p.clone(), c.clone()))
            .collect();
        out.sort();
        out
    }

    /// A commit by someone else on top of `branch`.
    pub fn push_as(&self, branch: &str, who: &Actor, path: &str, content: &str) -> String {
        let message = format!("{} edits {path}", who.login);
        self.push_commit(branch, who, path, content, &message)
    }

    /// A commit on `branch` whose author and message are whatever the pusher typed.
    pub fn push_commit(
        &self,
        branch: &str,
        who: &Actor,
        path: &str,
        content: &str,
        message: &str,
    ) -> String {
        let mut s = self.state.lock().unwrap();
        let sha = new_sha(&mut s);
        let b = s.branches.get_mut(branch).unwrap();
        let head = b.head.clone();
        b.head = sha.clone();
        b.commits.push(Commit {
            sha: sha.clone(),
            author: who.clone(),
            message: message.into(),
        });
        let mut files = s.snapshots[&head].clone();
        files.insert(path.into(), content.into());
        s.snapshots.insert(sha.clone(), files);
        for pr in s
            .prs
            .iter_mut()
            .filter(|p| p.head_ref == branch && p.state == PrState::Open)
        {
            pr.head_sha = sha.clone();
        }
        sha
    }

    /// A commit straight to the base branch (another merge meanwhile).
    pub fn commit_to_base(&self, path: &str, content: &str) {
        let mut s = self.state.lock().unwrap();
        let sha = new_sha(&mut s);
        let mut files = s.snapshots[&s.base].clone();
        files.insert(path.into(), content.into());
        s.snapshots.insert(sha.clone(), files);
        s.base = sha;
    }

    /// A commit straight to the base branch that deletes `path`.
    pub fn remove_from_base(&self, path: &str) {
        let mut s = self.state.lock().unwrap();
        let sha = new_sha(&mut s);
        let mut files = s.snapshots[&s.base].clone();
        files.remove(path);
        s.snapshots.insert(sha.clone(), files);
        s.base = sha;
    }

    pub fn add_user(&self, who: &Actor) {
        self.state
            .lock()
            .unwrap()
            .users
            .insert(who.login.clone(), who.clone());
    }

    /// Adds `who` with permission `p` on the repository, as a member of each of `teams`
    /// (`org/team`).
    pub fn grant(&self, who: &Actor, p: Permission, teams: &[&str]) {
        self.add_user(who);
        let mut s = self.state.lock().unwrap();
        s.permissions.insert(who.id, p);
        for t in teams {
            s.teams.entry((*t).into()).or_default().push(who.id);
        }
    }

    /// `id` renames their account to `login`, as GitHub lets anyone do: the old login no
    /// longer names them.
    pub fn rename(&self, id: u64, login: &str) {
        let mut s = self.state.lock().unwrap();
        s.users.retain(|_, a| a.id != id);
        s.users.insert(login.into(), user(id, login));
    }

    pub fn user_by_login(&self, login: &str) -> Option<Actor> {
        let s = self.state.lock().unwrap();
        if login == self.me.login {
            return Some(self.me.clone());
        }
        s.users.get(login).cloned()
    }

    /// Records the stage's required check (`render/my-app-service1-STAGE`) on the head of
    /// `pr`; returns its name and the head it is on.
    pub fn set_stage_check(
        &self,
        pr: u64,
        conclusion: Option<&str>,
        url: Option<&str>,
    ) -> (String, String) {
        let p = self.pr(pr);
        let stage = p.head_ref.split('/').nth(1).unwrap().to_owned();
        let name = format!("render/my-app-service1-{stage}");
        self.state
            .lock()
            .unwrap()
            .checks
            .entry(p.head_sha.clone())
            .or_default()
            .push(ci_run(&name, conclusion, url));
        (name, p.head_sha)
    }

    /// Argo CD now runs the merge of `pr` with `image`; returns the head branch and the
    /// merge commit, for the `pull_request closed` event.
    pub fn sync_merged(&self, argo: &MemoryArgo, pr: u64, image: &str) -> (String, String) {
        let p = self.pr(pr);
        let stage = p.head_ref.split('/').nth(1).unwrap().to_owned();
        let sha = p.merge_sha.clone().expect("merged");
        argo.synced(&format!("my-app-service1-{stage}"), &sha, image);
        (p.head_ref, sha)
    }

    /// `who` approves pull request `pr` at its head; returns the head.
    pub fn approve(&self, pr: u64, who: &Actor) -> String {
        let head = self.pr(pr).head_sha;
        let mut s = self.state.lock().unwrap();
        let r = review(who, ReviewState::Approved, &head);
        s.reviews.entry(pr).or_default().push(r);
        head
    }

    pub fn branch_head(&self, branch: &str) -> Option<String> {
        self.state
            .lock()
            .unwrap()
            .branches
            .get(branch)
            .map(|b| b.head.clone())
    }

    /// A pull request from someone's branch (created with `create_ref` and `push_as`).
    pub fn open_person_pr(&self, branch: &str, title: &str) -> u64 {
        let mut s = self.state.lock().unwrap();
        let head = s.branches[branch].head.clone();
        let base_sha = s.branches[branch].base.clone();
        let number = s.prs.len() as u64 + 1;
        s.prs.push(PullRequest {
            number,
            head_ref: branch.into(),
            head_sha: head,
            title: title.into(),
            body: String::new(),
            state: PrState::Open,
            merge_sha: None,
            mergeable: Some(true),
            base_sha,
            from_fork: false,
            base_ref: "main".into(),
        });
        number
    }

    /// Stops the next call described as `call` until the returned pause is released.
    pub fn pause_before(&self, call: &str) -> Pause {
        let p = Pause::default();
        self.state.lock().unwrap().pause = Some((call.into(), p.clone()));
        p
    }

    /// Waits at a pause set for `call`, if any.
    async fn maybe_pause(&self, call: &str) {
        let pause = {
            let mut s = self.state.lock().unwrap();
            match &s.pause {
                Some((c, _)) if c == call => s.pause.take().map(|(_, p)| p),
                _ => None,
            }
        };
        if let Some(p) = pause {
            p.reached.notify_one();
            p.release.notified().await;
        }
    }

    /// Closes or reopens pull request `n` as a person would in the web UI.
    pub fn set_state(&self, n: u64, state: PrState) {
        let mut s = self.state.lock().unwrap();
        let pr = s
            .prs
            .iter_mut()
            .find(|p| p.number == n)
            .expect("the PR exists");
        pr.state = state;
    }

    /// A pull request from a branch of the same name in someone's fork: the branch is
    /// theirs, whatever it is called.
    pub fn open_fork_pr(&self, branch: &str, head: &str) -> u64 {
        let mut s = self.state.lock().unwrap();
        let number = s.prs.len() as u64 + 1;
        let base_sha = s.base.clone();
        s.prs.push(PullRequest {
            number,
            head_ref: branch.into(),
            head_sha: head.into(),
            title: branch.into(),
            body: String::new(),
            state: PrState::Open,
            merge_sha: None,
            mergeable: Some(true),
            base_sha,
            from_fork: true,
            base_ref: "main".into(),
        });
        number
    }

    /// `POST /git/refs`: a new branch at `sha`; false when it exists.
    /// Points `branch` back at `sha` with no commits of its own, as Hoist's rewrite of a
    /// branch does halfway through, and moves its open pull request's head along.
    pub fn reset_branch(&self, branch: &str, sha: &str) {
        let mut s = self.state.lock().unwrap();
        let b = s.branches.get_mut(branch).expect("the branch exists");
        (b.base, b.head, b.commits) = (sha.into(), sha.into(), vec![]);
        for p in s.prs.iter_mut().filter(|p| p.head_ref == branch) {
            p.head_sha = sha.into();
        }
    }

    pub fn create_ref(&self, branch: &str, sha: &str) -> bool {
        let mut s = self.state.lock().unwrap();
        s.calls.push(format!("POST ref {branch}"));
        if s.branches.contains_key(branch) {
            return false;
        }
        let b = branch_at(&s, sha);
        s.branches.insert(branch.into(), b);
        true
    }

    /// `GET git/commits/SHA`: the commit's tree id, `None` for an unknown commit.
    pub fn tree_of(&self, sha: &str) -> Option<String> {
        let mut s = self.state.lock().unwrap();
        s.calls.push(format!("GET commit {sha}"));
        s.snapshots.contains_key(sha).then(|| format!("tree-{sha}"))
    }

    /// `POST git/trees`: `base_tree`'s files with `files` written over them; `None` for an
    /// unknown base tree.
    pub fn make_tree(&self, base_tree: &str, files: &[(String, String)]) -> Option<String> {
        let mut s = self.state.lock().unwrap();
        s.calls.push("POST tree".into());
        let mut all = match base_tree.strip_prefix("tree-") {
            Some(commit) => s.snapshots.get(commit)?.clone(),
            None => s.trees.get(base_tree)?.clone(),
        };
        for (p, c) in files {
            all.insert(p.clone(), c.clone());
        }
        let id = format!("t{}", new_sha(&mut s));
        s.trees.insert(id.clone(), all);
        Some(id)
    }

    /// `POST git/commits`: a commit of `tree` on `parent`, on no branch until a ref points
    /// at it; `None` when the tree or parent is unknown.
    pub fn make_commit(&self, tree: &str, parent: &str, message: &str) -> Option<String> {
        let mut s = self.state.lock().unwrap();
        s.calls.push("POST commit".into());
        let files = match tree.strip_prefix("tree-") {
            Some(commit) => s.snapshots.get(commit)?.clone(),
            None => s.trees.get(tree)?.clone(),
        };
        if !s.snapshots.contains_key(parent) {
            return None;
        }
        let sha = new_sha(&mut s);
        s.snapshots.insert(sha.clone(), files);
        let commit = Commit {
            sha: sha.clone(),
            author: self.me.clone(),
            message: message.into(),
        };
        s.loose.insert(sha.clone(), (parent.into(), commit));
        Some(sha)
    }

    /// `PATCH /git/refs/heads/BRANCH` with `force`: the branch restarts at `sha`.
    pub fn force_ref(&self, branch: &str, sha: &str) {
        let mut s = self.state.lock().unwrap();
        s.calls.push(format!("PATCH ref {branch}"));
        let b = branch_at(&s, sha);
        s.branches.insert(branch.into(), b);
        for pr in s
            .prs
            .iter_mut()
            .filter(|p| p.head_ref == branch && p.state == PrState::Open)
        {
            pr.head_sha = sha.into();
        }
    }

    /// `PUT /contents/PATH` on a branch: one commit by Hoist. `None` when the branch is missing.
    pub fn put_file(
        &self,
        branch: &str,
        path: &str,
        content: &str,
        message: &str,
    ) -> Option<String> {
        let mut s = self.state.lock().unwrap();
        s.calls.push(format!("PUT contents {path}"));
        let head = s.branches.get(branch)?.head.clone();
        let sha = new_sha(&mut s);
        let mut files = s.snapshots[&head].clone();
        files.insert(path.into(), content.into());
        s.snapshots.insert(sha.clone(), files);
        let me = self.me.clone();
        let b = s.branches.get_mut(branch)?;
        b.head = sha.clone();
        b.commits.push(Commit {
            sha: sha.clone(),
            author: me,
            message: message.into(),
        });
        for pr in s
            .prs
            .iter_mut()
            .filter(|p| p.head_ref == branch && p.state == PrState::Open)
        {
            pr.head_sha = sha.clone();
        }
        Some(sha)
    }

    /// The blob id GitHub would give a file's bytes.
    pub fn blob_sha(content: &str) -> String {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        content.hash(&mut h);
        format!("{:040x}", h.finish())
    }

    pub fn me_actor(&self) -> Actor {
        self.me.clone()
    }

    /// Hoist's own comments on pull request `n`, oldest first: id and body.
    pub fn own_comments(&self, n: u64) -> Vec<(u64, String)> {
        let s = self.state.lock().unwrap();
        s.comments
            .iter()
            .filter(|(pr, c)| *pr == n && c.author.is(&self.me))
            .map(|(_, c)| (c.id, c.body.clone()))
            .collect()
    }

    pub fn pr(&self, n: u64) -> PullRequest {
        self.state
            .lock()
            .unwrap()
            .prs
            .iter()
            .find(|p| p.number == n)
            .unwrap()
            .clone()
    }
}

/// A branch pointed at `sha`: a commit made with `POST git/commits` is the branch's own
/// commit on its parent; any other commit is where the branch starts.
fn branch_at(s: &State, sha: &str) -> Branch {
    match s.loose.get(sha) {
        Some((parent, commit)) => Branch {
            base: parent.clone(),
            head: sha.into(),
            commits: vec![commit.clone()],
        },
        None => Branch {
            base: sha.into(),
            head: sha.into(),
            commits: vec![],
        },
    }
}

fn new_sha(s: &mut State) -> String {
    s.next_sha += 1;
    format!("{:040x}", s.next_sha * 0x9e37_79b9)
}

impl Forge for MemoryForge {
    fn base(&self) -> &str {
        "main"
    }

    fn me(&self) -> &Actor {
        &self.me
    }

    async fn base_head(&self) -> Result<String> {
        Ok(self.call("GET base".into())?.base.clone())
    }

    async fn read_file(&self, path: &str, at: &str) -> Result<Option<String>> {
        let s = self.call(format!("GET contents {path}"))?;
        Ok(s.snapshots
            .get(at)
            .ok_or_else(|| ForgeError::NotFound(at.into()))?
            .get(path)
            .cloned())
    }

    async fn branch_commits(&self, branch: &str) -> Result<Option<Vec<Commit>>> {
        let s = self.call(format!("GET branch {branch}"))?;
        Ok(s.branches.get(branch).map(|b| b.commits.clone()))
    }

    async fn write_branch(
        &self,
        branch: &str,
        base: &str,
        writes: &[FileWrite],
        message: &str,
    ) -> Result<String> {
        let mut s = self.call(format!("PUT branch {branch}"))?;
        let mut files = s
            .snapshots
            .get(base)
            .ok_or_else(|| ForgeError::NotFound(base.into()))?
            .clone();
        for w in writes {
            files.insert(w.path.clone(), w.content.clone());
        }
        let sha = new_sha(&mut s);
        s.snapshots.insert(sha.clone(), files);
        let me = self.me.clone();
        s.branches.insert(
            branch.into(),
            Branch {
                base: base.into(),
                head: sha.clone(),
                commits: vec![Commit {
                    sha: sha.clone(),
                    author: me,
                    message: message.into(),
                }],
            },
        );
        for pr in s
            .prs
            .iter_mut()
            .filter(|p| p.head_ref == branch && p.state == PrState::Open)
        {
            pr.head_sha = sha.clone();
        }
        Ok(sha)
    }

    async fn delete_branch(&self, branch: &str) -> Result<()> {
        self.call(format!("DELETE branch {branch}"))?
            .branches
            .remove(branch);
        Ok(())
    }

    async fn merged_pull_requests(&self, prefix: &str) -> Result<Vec<PullRequest>> {
        let s = self.call(format!("GET pulls merged prefix={prefix}"))?;
        Ok(s.prs
            .iter()
            .rev()
            .filter(|p| p.head_ref.starts_with(prefix) && p.state == PrState::Merged)
            .cloned()
            .collect())
    }

    async fn open_pull_requests(&self, prefix: &str) -> Result<Vec<PullRequest>> {
        let s = self.call(format!("GET pulls prefix={prefix}"))?;
        Ok(s.prs
            .iter()
            .filter(|p| p.head_ref.starts_with(prefix) && p.state == PrState::Open)
            .cloned()
            .collect())
    }

    async fn open_pull_request_for(&self, branch: &str) -> Result<Option<PullRequest>> {
        let s = self.call(format!("GET pulls head={branch}"))?;
        Ok(s.prs
            .iter()
            .find(|p| p.head_ref == branch && p.state == PrState::Open)
            .cloned())
    }

    async fn pull_request(&self, number: u64) -> Result<PullRequest> {
        let s = self.call(format!("GET pull {number}"))?;
        s.prs
            .iter()
            .find(|p| p.number == number)
            .cloned()
            .ok_or_else(|| ForgeError::NotFound(format!("pull {number}")))
    }

    async fn create_pull_request(
        &self,
        branch: &str,
        title: &str,
        body: &str,
    ) -> Result<PullRequest> {
        let mut s = self.call(format!("POST pulls {branch}"))?;
        let head = s
            .branches
            .get(branch)
            .ok_or_else(|| ForgeError::NotFound(branch.into()))?
            .head
            .clone();
        let number = s.prs.len() as u64 + 1;
        let pr = PullRequest {
            number,
            head_ref: branch.into(),
            head_sha: head,
            title: title.into(),
            body: body.into(),
            state: PrState::Open,
            merge_sha: None,
            mergeable: Some(true),
            base_sha: s.branches[branch].base.clone(),
            from_fork: false,
            base_ref: "main".into(),
        };
        s.prs.push(pr.clone());
        Ok(pr)
    }

    async fn update_pull_request(&self, number: u64, title: &str, body: &str) -> Result<()> {
        let mut s = self.call(format!("PATCH pull {number}"))?;
        let pr = s
            .prs
            .iter_mut()
            .find(|p| p.number == number)
            .ok_or_else(|| ForgeError::NotFound(number.to_string()))?;
        pr.title = title.into();
        pr.body = body.into();
        Ok(())
    }

    async fn comments(&self, number: u64) -> Result<Vec<Comment>> {
        let s = self.call(format!("GET comments {number}"))?;
        Ok(s.comments
            .iter()
            .filter(|(n, _)| *n == number)
            .map(|(_, c)| c.clone())
            .collect())
    }

    /// Every comment: the model keeps no times.
    fn lists_every_comment(&self) -> bool {
        true
    }

    async fn recent_comments(&self, _since: &str) -> Result<Vec<(u64, Comment)>> {
        let s = self.call("GET recent comments".into())?;
        Ok(s.comments.clone())
    }

    async fn comment(&self, number: u64, body: &str) -> Result<()> {
        let mut s = self.call(format!("POST comment {number}"))?;
        s.next_id += 1;
        let id = s.next_id;
        let me = self.me.clone();
        s.comments.push((
            number,
            Comment {
                id,
                author: me,
                body: body.into(),
                edited: false,
            },
        ));
        Ok(())
    }

    async fn has_own_check(&self, _number: u64, sha: &str, name: &str) -> Result<bool> {
        let s = self.call(format!("GET own check {name}"))?;
        Ok(s.checks.get(sha).is_some_and(|c| {
            c.iter().any(|c| {
                c.name == name
                    && matches!(
                        c.posted_by,
                        PostedBy::App {
                            id: Some(12345),
                            ..
                        }
                    )
            })
        }))
    }

    async fn upsert_comment(&self, number: u64, marker: &str, body: &str) -> Result<bool> {
        let own = self
            .comments(number)
            .await?
            .into_iter()
            .find(|c| c.author.is(&self.me) && c.body.ends_with(marker));
        match own {
            Some(c) if c.body == body => Ok(false),
            Some(c) => {
                let mut s = self.call(format!("PATCH comment {}", c.id))?;
                let (_, c) = s.comments.iter_mut().find(|(_, x)| x.id == c.id).unwrap();
                c.body = body.into();
                // As on GitHub: an edited comment says so (`updated_at`).
                c.edited = true;
                Ok(true)
            }
            None => self.comment(number, body).await.map(|()| true),
        }
    }

    async fn react(&self, comment_id: u64, reaction: Reaction) -> Result<()> {
        let mut s = self.call(format!("POST reaction {comment_id}"))?;
        if s.fail_reactions {
            return Err(ForgeError::Transient("reactions are unavailable".into()));
        }
        s.reactions.push((comment_id, reaction));
        Ok(())
    }

    async fn permission(&self, user: &Actor) -> Result<Permission> {
        let s = self.call(format!("GET permission {}", user.login))?;
        Ok(s.permissions
            .get(&user.id)
            .copied()
            .unwrap_or(Permission::None))
    }

    async fn is_team_member(&self, org: &str, team: &str, user: &Actor) -> Result<bool> {
        let s = self.call(format!("GET membership {org}/{team} {}", user.login))?;
        Ok(s.teams
            .get(&format!("{org}/{team}"))
            .is_some_and(|m| m.contains(&user.id)))
    }

    async fn reviews(&self, number: u64) -> Result<Vec<Review>> {
        Ok(self
            .call(format!("GET reviews {number}"))?
            .reviews
            .get(&number)
            .cloned()
            .unwrap_or_default())
    }

    async fn checks(&self, sha: &str) -> Result<Vec<Check>> {
        Ok(self
            .call(format!("GET checks {sha}"))?
            .checks
            .get(sha)
            .cloned()
            .unwrap_or_default())
    }

    async fn pull_request_files(&self, number: u64) -> Result<Vec<String>> {
        let s = self.call(format!("GET files {number}"))?;
        let pr = s
            .prs
            .iter()
            .find(|p| p.number == number)
            .ok_or_else(|| ForgeError::NotFound(number.to_string()))?;
        let base = s
            .branches
            .get(&pr.head_ref)
            .map(|b| b.base.clone())
            .unwrap_or_else(|| s.base.clone());
        let (from, to) = (&s.snapshots[&base], &s.snapshots[&pr.head_sha]);
        let mut changed: Vec<String> = to
            .iter()
            .filter(|(p, c)| from.get(*p) != Some(c))
            .map(|(p, _)| p.clone())
            .collect();
        changed.extend(from.keys().filter(|p| !to.contains_key(*p)).cloned());
        changed.sort();
        Ok(changed)
    }

    async fn create_check_run(
        &self,
        number: u64,
        sha: &str,
        name: &str,
        conclusion: Conclusion,
        title: &str,
        summary: &str,
    ) -> Result<()> {
        self.maybe_pause(&format!("POST check-run {name}")).await;
        let mut s = self.call(format!("POST check-run {name}"))?;
        let c = match conclusion {
            Conclusion::Success => Some("success"),
            Conclusion::Failure => Some("failure"),
            Conclusion::Pending => None,
        };
        s.published
            .push((number, name.into(), c.map(Into::into), title.into()));
        s.checks.entry(sha.into()).or_default().push(Check {
            name: name.into(),
            conclusion: c.map(Into::into),
            url: Some(format!("{title}\n{summary}")),
            posted_by: PostedBy::App {
                id: Some(12345),
                slug: Some("hoist".into()),
            },
        });
        Ok(())
    }

    async fn publish_record(
        &self,
        _number: u64,
        sha: &str,
        _summary: &str,
        record: &str,
    ) -> Result<()> {
        let mut s = self.call("POST check-run hoist/record".into())?;
        s.records.push((sha.into(), record.into(), true));
        Ok(())
    }

    async fn records(&self, _number: u64, sha: &str) -> Result<Vec<String>> {
        let s = self.call(format!("GET records {sha}"))?;
        Ok(s.records
            .iter()
            .filter(|(at, _, by_hoist)| at == sha && *by_hoist)
            .map(|(_, r, _)| r.clone())
            .collect())
    }

    async fn close_pull_request(&self, number: u64) -> Result<()> {
        let mut s = self.call(format!("PATCH pull {number} closed"))?;
        let pr = s
            .prs
            .iter_mut()
            .find(|p| p.number == number)
            .ok_or_else(|| ForgeError::NotFound(format!("#{number}")))?;
        pr.state = PrState::Closed;
        Ok(())
    }

    async fn merge(
        &self,
        number: u64,
        head_sha: &str,
        _title: &str,
        _message: &str,
    ) -> Result<String> {
        let mut s = self.call(format!("PUT merge {number}"))?;
        let pr = s
            .prs
            .iter()
            .find(|p| p.number == number)
            .cloned()
            .ok_or_else(|| ForgeError::NotFound(number.to_string()))?;
        if pr.state == PrState::Merged {
            return Err(ForgeError::Other("already merged".into()));
        }
        if pr.head_sha != head_sha {
            return Err(ForgeError::Conflict("head moved".into()));
        }
        let branch = s
            .branches
            .get(&pr.head_ref)
            .cloned()
            .ok_or_else(|| ForgeError::NotFound(pr.head_ref.clone()))?;
        // Three-way: apply what the branch changed on top of the base as it is now.
        let (from, to, now) = (
            &s.snapshots[&branch.base],
            &s.snapshots[&branch.head],
            &s.snapshots[&s.base],
        );
        let mut merged = now.clone();
        for (path, content) in to {
            if from.get(path) != Some(content) {
                if now.get(path) != from.get(path) && now.get(path) != Some(content) {
                    return Err(ForgeError::Conflict(format!(
                        "{path} changed on both sides"
                    )));
                }
                merged.insert(path.clone(), content.clone());
            }
        }
        let sha = new_sha(&mut s);
        s.snapshots.insert(sha.clone(), merged);
        s.base = sha.clone();
        let pr = s.prs.iter_mut().find(|p| p.number == number).unwrap();
        pr.state = PrState::Merged;
        pr.merge_sha = Some(sha.clone());
        Ok(sha)
    }
}

/// Argo CD as a table of applications the test sets.
#[derive(Clone, Default)]
pub struct MemoryArgo {
    pub apps: Arc<Mutex<HashMap<String, AppStatus>>>,
    /// Applications Argo CD cannot render (a ComparisonError).
    pub render_fails: Arc<Mutex<Vec<String>>>,
    /// Applications Hoist asked to refresh, in order.
    pub refreshed: Arc<Mutex<Vec<String>>>,
    /// Where applications are rendered from (`{service}-{stage}`: the overlay
    /// `apps/{service}/env/{stage}/`, as kustomize builds it); unset, every application
    /// renders one Deployment without containers.
    pub files: Arc<Mutex<Option<MemoryForge>>>,
}

/// kustomize's build of the directory `dir` at `rev`, for what `hoist/dag` reads of it:
/// its resources (files, or directories with a kustomization of their own, recursively)
/// and its `images:` entries (`newName`, `newTag`, `digest`; a digest replaces the tag, as
/// kustomize does). Patches and the rest are left out.
fn kustomize(
    forge: &MemoryForge,
    rev: &str,
    dir: &str,
) -> std::result::Result<Vec<serde_json::Value>, String> {
    let path = format!("{dir}/kustomization.yaml");
    let text = forge
        .file_at(rev, &path)
        .ok_or_else(|| format!("{path}: not found at {rev}"))?;
    let k: serde_json::Value = serde_saphyr::from_str(&text).map_err(|e| format!("{path}: {e}"))?;
    let mut docs = vec![];
    for r in k["resources"].as_array().into_iter().flatten() {
        let target = normalize(&format!("{dir}/{}", r.as_str().unwrap_or_default()));
        if forge
            .file_at(rev, &format!("{target}/kustomization.yaml"))
            .is_some()
        {
            docs.extend(kustomize(forge, rev, &target)?);
        } else {
            let text = forge
                .file_at(rev, &target)
                .ok_or_else(|| format!("{target}: not found at {rev}"))?;
            for doc in text.split("\n---") {
                let v: serde_json::Value =
                    serde_saphyr::from_str(doc).map_err(|e| format!("{target}: {e}"))?;
                if !v.is_null() {
                    docs.push(v);
                }
            }
        }
    }
    for img in k["images"].as_array().into_iter().flatten() {
        let name = img["name"].as_str().unwrap_or_default();
        let new_name = img["newName"].as_str().unwrap_or(name);
        let image = match (img["digest"].as_str(), img["newTag"].as_str()) {
            (Some(d), _) => format!("{new_name}@{d}"),
            (None, Some(t)) => format!("{new_name}:{t}"),
            (None, None) => new_name.to_owned(),
        };
        for d in &mut docs {
            set_images(d, name, &image);
        }
    }
    Ok(docs)
}

/// What Argo CD renders for `{service}-{stage}` at `rev`, by what the example's source
/// directory holds: a kustomization is built; the Helm chart's values file
/// (`charts/{service}/env/{stage}/values.yaml`) renders the chart's one Deployment, whose
/// image is `image.repository:image.tag` with `@image.digest` when set; any other
/// directory is plain manifests, every document of every YAML file in it.
fn render(
    forge: &MemoryForge,
    rev: &str,
    service: &str,
    stage: &str,
) -> std::result::Result<Vec<serde_json::Value>, String> {
    let chart = format!("charts/{service}/env/{stage}/values.yaml");
    if let Some(text) = forge.file_at(rev, &chart) {
        let v: serde_json::Value =
            serde_saphyr::from_str(&text).map_err(|e| format!("{chart}: {e}"))?;
        let image = &v["image"];
        let mut reference = format!(
            "{}:{}",
            image["repository"].as_str().unwrap_or_default(),
            image["tag"].as_str().unwrap_or_default()
        );
        if let Some(d) = image["digest"].as_str() {
            reference.push('@');
            reference.push_str(d);
        }
        return Ok(vec![serde_json::json!({
            "kind": "Deployment",
            "metadata": {"name": service},
            "spec": {"template": {"spec": {"containers": [{"name": "api", "image": reference}]}}},
        })]);
    }
    let dir = format!("apps/{service}/env/{stage}");
    if forge
        .file_at(rev, &format!("{dir}/kustomization.yaml"))
        .is_some()
    {
        return kustomize(forge, rev, &dir);
    }
    let files = forge.files_in(rev, &dir);
    if files.is_empty() {
        return Err(format!("{dir}: not found at {rev}"));
    }
    let mut docs = vec![];
    for (path, text) in files {
        for doc in text.split("\n---") {
            let v: serde_json::Value =
                serde_saphyr::from_str(doc).map_err(|e| format!("{path}: {e}"))?;
            if !v.is_null() {
                docs.push(v);
            }
        }
    }
    Ok(docs)
}

/// Sets every container image named `name` (whatever its tag or digest) to `image`.
fn set_images(v: &mut serde_json::Value, name: &str, image: &str) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m.iter_mut() {
                if k == "image"
                    && let Some(current) = v.as_str()
                {
                    let bare = current.split('@').next().unwrap_or_default();
                    let last = bare.rfind('/').map_or(0, |i| i + 1);
                    let bare = match bare[last..].find(':') {
                        Some(i) => &bare[..last + i],
                        None => bare,
                    };
                    if bare == name {
                        *v = image.into();
                    }
                } else {
                    set_images(v, name, image);
                }
            }
        }
        serde_json::Value::Array(items) => {
            items.iter_mut().for_each(|i| set_images(i, name, image))
        }
        _ => {}
    }
}

/// `a/b/../c` as `a/c`.
fn normalize(path: &str) -> String {
    let mut out: Vec<&str> = vec![];
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    out.join("/")
}

impl MemoryArgo {
    /// Renders applications from `forge`'s files from now on.
    pub fn render_from(&self, forge: &MemoryForge) {
        *self.files.lock().unwrap() = Some(forge.clone());
    }

    /// The app now runs `image@digest` from `revision`, synced and healthy.
    pub fn synced(&self, app: &str, revision: &str, image: &str) {
        self.apps.lock().unwrap().insert(
            app.into(),
            AppStatus {
                revisions: vec![revision.into()],
                sync: "Synced".into(),
                health: "Healthy".into(),
                reconciled_at: Some("2026-11-26T10:00:05Z".into()),
                operation_finished_at: Some("2026-11-26T10:00:00Z".into()),
                operation_phase: Some("Succeeded".into()),
                conditions: vec![],
                images: vec![image.into()],
                message: None,
                sources: vec![],
            },
        );
    }
}

impl ArgoCd for MemoryArgo {
    async fn refresh(&self, name: &str) -> std::result::Result<(), hoist::argocd::ArgoError> {
        self.refreshed.lock().unwrap().push(name.into());
        Ok(())
    }

    async fn manifests(
        &self,
        name: &str,
        revision: &str,
    ) -> std::result::Result<Vec<String>, hoist::argocd::ArgoError> {
        if self.render_fails.lock().unwrap().iter().any(|a| a == name) {
            return Err(hoist::argocd::ArgoError(
                "ComparisonError: kustomize build failed".into(),
            ));
        }
        let files = self.files.lock().unwrap().clone();
        if let Some(forge) = files {
            let (service, stage) = name
                .rsplit_once('-')
                .ok_or_else(|| format!("application {name} not found"))?;
            let docs = render(&forge, revision, service, stage)?;
            return Ok(docs.iter().map(|d| d.to_string()).collect());
        }
        Ok(vec![format!(
            "{{\"kind\":\"Deployment\",\"metadata\":{{\"name\":\"{name}\"}},\"revision\":\"{revision}\"}}"
        )])
    }

    async fn application(
        &self,
        name: &str,
    ) -> std::result::Result<Option<AppStatus>, hoist::argocd::ArgoError> {
        Ok(self.apps.lock().unwrap().get(name).cloned())
    }
}

/// A registry whose images the test sets.
#[derive(Clone, Default)]
pub struct MemoryRegistry {
    pub images: Arc<Mutex<HashMap<String, Vec<ImageVersion>>>>,
    /// Image config labels by digest.
    pub labels: Arc<Mutex<HashMap<String, std::collections::BTreeMap<String, String>>>>,
}

impl Registry for MemoryRegistry {
    async fn images(
        &self,
        image: &str,
    ) -> std::result::Result<Vec<ImageVersion>, hoist::registry::RegistryError> {
        Ok(self
            .images
            .lock()
            .unwrap()
            .get(image)
            .cloned()
            .unwrap_or_default())
    }

    async fn labels(
        &self,
        _image: &str,
        digest: &str,
    ) -> std::result::Result<
        std::collections::BTreeMap<String, String>,
        hoist::registry::RegistryError,
    > {
        Ok(self
            .labels
            .lock()
            .unwrap()
            .get(digest)
            .cloned()
            .unwrap_or_default())
    }
}

/// The GitHub App the example config names as the poster of its required checks (its CI).
pub const CI_APP: (u64, &str) = (424242, "acme-gitops-ci");

/// A check run posted by the CI App (`acme-gitops-ci`), as the example config requires.
pub fn ci_run(name: &str, conclusion: Option<&str>, url: Option<&str>) -> Check {
    Check {
        name: name.into(),
        conclusion: conclusion.map(Into::into),
        url: url.map(Into::into),
        posted_by: PostedBy::App {
            id: Some(CI_APP.0),
            slug: Some(CI_APP.1.into()),
        },
    }
}

/// A commit status of `name` posted by `who` (anyone with write access can).
pub fn status_by(who: &Actor, name: &str, conclusion: &str) -> Check {
    Check {
        name: name.into(),
        conclusion: Some(conclusion.into()),
        url: None,
        posted_by: PostedBy::User(Some(who.clone())),
    }
}

/// A comment a person posted, as the forge holds it (its event may never have come).
pub fn post_as(forge: &MemoryForge, pr: u64, who: &Actor, body: &str) -> u64 {
    let mut s = forge.state.lock().unwrap();
    s.next_id += 1;
    let id = s.next_id;
    s.comments.push((
        pr,
        Comment {
            id,
            author: who.clone(),
            body: body.into(),
            edited: false,
        },
    ));
    id
}

/// Someone with write access edits comment `id` (anyone's, as GitHub allows): the
/// forge keeps its author and marks it edited (`updated_at` moves on).
pub fn edit_comment(forge: &MemoryForge, id: u64, body: &str) {
    let mut s = forge.state.lock().unwrap();
    let (_, c) = s
        .comments
        .iter_mut()
        .find(|(_, c)| c.id == id)
        .expect("the comment exists");
    c.body = body.into();
    c.edited = true;
}

pub fn review(who: &Actor, state: ReviewState, on: &str) -> Review {
    Review {
        reviewer: who.clone(),
        state,
        commit_id: Some(on.into()),
    }
}
