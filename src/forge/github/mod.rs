//! The GitHub forge: octocrab for authentication (a GitHub App's installation token,
//! cached and refreshed by octocrab, or a personal token for a trial), transport and
//! routing; responses read into Hoist's own minimal types, because GitHub omits fields
//! that octocrab's models require.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use octocrab::Octocrab;
use octocrab::service::middleware::retry::RetryConfig;
use serde::Deserialize;
use serde_json::json;
use tracing::debug;

mod etag;
mod graphql;
pub mod manifest;
pub mod posture;
mod retry;
mod wire;

use etag::{EtagCache, FileCache};
use wire::*;

use super::{
    Check, Comment, Commit, Conclusion, FileWrite, Forge, ForgeError, Permission, PostedBy,
    PrState, PromotionReads, PullRequest, Reaction, Result, Review, scope,
};
use crate::domain::{Actor, ActorKind, ReviewState};
use crate::event::github::User;
use crate::marks::RECORD_CHECK;

/// How Hoist authenticates.
#[derive(Clone)]
pub enum Auth {
    App {
        app_id: u64,
        private_key_pem: String,
        installation_id: Option<u64>,
    },
    Token(String),
}

pub struct GitHub {
    client: Octocrab,
    /// The App's own client (its JWT), for what only the App may read: `hoist doctor`'s
    /// look at the installation. `None` with a personal token.
    app_client: Option<Octocrab>,
    owner: String,
    repo: String,
    base: String,
    merge_method: &'static str,
    me: Actor,
    /// Hoist's GitHub App, whose check runs only it can create: `None` with a personal
    /// token, which cannot create check runs on GitHub at all.
    app_id: Option<u64>,
    /// When the last content-creating request went out, and the least time between two:
    /// GitHub's secondary limits ask for spacing writes out per installation.
    last_write: tokio::sync::Mutex<std::time::Instant>,
    write_interval: Duration,
    /// Blob shas of files read, by (path, commit): the contents API needs the old blob's
    /// sha to replace it, and this saves reading the file twice.
    blobs: Mutex<HashMap<(String, String), String>>,
    /// ETag and body of earlier GETs: a `304 Not Modified` answer costs no rate limit,
    /// which keeps reconcile's polling cheap.
    etags: Mutex<EtagCache>,
    /// Whether GraphQL is at `/graphql` under the API root (github.com). GitHub
    /// Enterprise Server serves it beside its REST root, where octocrab's routing does
    /// not reach: there everything goes through REST.
    graphql: bool,
    /// Set when the API root answered 404 for GraphQL.
    graphql_off: std::sync::atomic::AtomicBool,
    /// The repository's GraphQL node id, from the first read that brought it.
    repo_node: std::sync::OnceLock<String>,
    /// Files read at a commit, which never change (see `FileCache`).
    files: Mutex<FileCache>,
    /// Hoist's own marked comments it wrote or found, by (pull request, marker): their
    /// ids and what they said, so that editing one again needs no list of the comments.
    /// Kept only by the sole writer (see `as_sole_writer`). Decides nothing: only what
    /// Hoist tells people, and whether a "verified" is news.
    own_comments: Mutex<HashMap<(u64, String), (u64, String)>>,
    sole_writer: std::sync::atomic::AtomicBool,
}

/// Pages read of one list at most (100 items each): far beyond any pull request's
/// comments or a repository's open pull requests, and a bound on a runaway list.
const MAX_PAGES: usize = 200;

/// An App-level call's error in the App's terms: 401 for a JWT that the App's id and
/// key do not make.
fn app_call_error(app_id: u64, e: octocrab::Error) -> ForgeError {
    match map(e) {
        ForgeError::Other(m) if m.starts_with("401") => {
            ForgeError::Other(crate::messages::app_refused(app_id, &m))
        }
        other => other,
    }
}

/// The error of reading the App's installation on the repository: GitHub answers 404
/// for an App not installed there (or a repository that does not exist).
fn app_error(app_id: u64, owner: &str, repo: &str, e: octocrab::Error) -> ForgeError {
    match app_call_error(app_id, e) {
        ForgeError::NotFound(_) => {
            ForgeError::Other(crate::messages::app_not_installed(app_id, owner, repo))
        }
        other => other,
    }
}

/// Maps octocrab's errors onto the outcomes the engine branches on.
fn map(e: octocrab::Error) -> ForgeError {
    match e {
        octocrab::Error::GitHub { source, .. } => {
            let status = source.status_code.as_u16();
            let msg = format!("{status} {}", source.message);
            let rate_limited = status == 429
                || status == 403
                    && (source.message.to_ascii_lowercase().contains("rate limit")
                        || source.rate_limit_reset.is_some());
            match status {
                404 => ForgeError::NotFound(msg),
                409 | 422 | 405 => ForgeError::Conflict(msg),
                _ if rate_limited || status >= 500 => ForgeError::Transient(msg),
                _ => ForgeError::Other(msg),
            }
        }
        other => ForgeError::Transient(other.to_string()),
    }
}

/// A 404 as `None`, for reads through `get`.
fn none_if_not_found<T>(r: Result<T>) -> Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(ForgeError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

fn not_found_is_none<T>(r: std::result::Result<T, octocrab::Error>) -> Result<Option<T>> {
    match r.map_err(map) {
        Ok(v) => Ok(Some(v)),
        Err(ForgeError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

impl GitHub {
    /// Authenticates and finds out who Hoist is on GitHub.
    /// `merge_method` is `squash`, `merge` or `rebase`.
    ///
    /// Kept whole: one match over the two kinds of authentication, each building its client
    /// and learning Hoist's identity, from which the adapter is then built.
    pub async fn connect(
        api_url: &str,
        owner: &str,
        repo: &str,
        base: &str,
        merge_method: &'static str,
        write_interval: Duration,
        auth: Auth,
    ) -> Result<Self> {
        let builder = || {
            Octocrab::builder()
                .base_uri(api_url)
                .map_err(|e| ForgeError::Other(format!("api_url {api_url:?}: {e}")))
                .map(|b| {
                    b.set_connect_timeout(Some(Duration::from_secs(10)))
                        .set_read_timeout(Some(Duration::from_secs(30)))
                        // Hoist retries itself (`retry`), with jitter; octocrab's layer
                        // would make a 5xx again at once.
                        .add_retry_config(RetryConfig::None)
                })
        };
        let app_id = match &auth {
            Auth::App { app_id, .. } => Some(*app_id),
            Auth::Token(_) => None,
        };
        let (client, me, app_client) = match auth {
            Auth::Token(token) => {
                let client = builder()?.personal_token(token).build().map_err(map)?;
                let me: User = retry::retrying(|| async { client.get("/user", None::<&()>).await })
                    .await
                    .map_err(map)?;
                (client, Actor::from(me), None)
            }
            Auth::App {
                app_id,
                private_key_pem,
                installation_id,
            } => {
                let key = octocrab::EncodingKey::from_rsa_pem(private_key_pem.as_bytes()).map_err(
                    |e| {
                        ForgeError::Other(format!(
                            "the GitHub App private key is not an RSA PEM key: {e}"
                        ))
                    },
                )?;
                let app = builder()?.app(app_id.into(), key).build().map_err(map)?;
                let installation = match installation_id {
                    Some(id) => id,
                    None => {
                        // GitHub answers 404 for an App not installed on the repository,
                        // and 401 for a JWT its key or id does not sign.
                        let i: Installation = retry::retrying(|| async {
                            app.get(format!("/repos/{owner}/{repo}/installation"), None::<&()>)
                                .await
                        })
                        .await
                        .map_err(|e| app_error(app_id, owner, repo, e))?;
                        i.id
                    }
                };
                // No 404 here for a JWT GitHub takes: only a 401 is the App's to fix.
                let a: App = retry::retrying(|| async { app.get("/app", None::<&()>).await })
                    .await
                    .map_err(|e| app_call_error(app_id, e))?;
                let login = format!("{}[bot]", a.slug);
                // The bot's numeric id, when the API lists the bot as a user; otherwise
                // Hoist knows itself by its login.
                let me = match not_found_is_none(
                    retry::retrying(|| async {
                        app.get::<User, _, ()>(format!("/users/{login}"), None)
                            .await
                    })
                    .await,
                )? {
                    Some(user) => Actor::from(user),
                    None => Actor {
                        id: 0,
                        login,
                        kind: ActorKind::Bot,
                    },
                };
                let client = app.installation(installation.into()).map_err(map)?;
                (client, me, Some(app))
            }
        };
        Ok(Self {
            client,
            app_client,
            owner: owner.into(),
            repo: repo.into(),
            base: base.into(),
            merge_method,
            me,
            app_id,
            blobs: Mutex::new(HashMap::new()),
            last_write: tokio::sync::Mutex::new(std::time::Instant::now() - write_interval),
            etags: Mutex::new(EtagCache::default()),
            write_interval,
            graphql: !api_url.trim_end_matches('/').ends_with("/api/v3"),
            repo_node: std::sync::OnceLock::new(),
            graphql_off: std::sync::atomic::AtomicBool::new(false),
            files: Mutex::new(FileCache::default()),
            own_comments: Mutex::new(HashMap::new()),
            sole_writer: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// This process is the only one writing as Hoist (`hoist serve`): what it last wrote
    /// in one of its comments is what the comment says, unless a person changed it.
    /// Lambda's instances are many, each unaware of the others' edits: they read the
    /// comments again each time.
    pub fn as_sole_writer(&self) {
        self.sole_writer
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Waits until the next content-creating request may go out.
    async fn pace(&self) {
        let mut last = self.last_write.lock().await;
        let next = *last + self.write_interval;
        let now = std::time::Instant::now();
        if next > now {
            tokio::time::sleep(next - now).await;
        }
        *last = std::time::Instant::now();
    }

    /// A content-creating request to `rest` under the repository: paced, as GitHub's
    /// secondary limits ask, then made (and made again) as `retry` says.
    async fn write<R: octocrab::FromResponse>(
        &self,
        method: Write,
        rest: &str,
        body: Option<&serde_json::Value>,
    ) -> octocrab::Result<R> {
        self.pace().await;
        let route = self.path(rest);
        retry::retrying(|| async {
            match method {
                Write::Post => self.client.post(&route, body).await,
                Write::Put => self.client.put(&route, body).await,
                Write::Patch => self.client.patch(&route, body).await,
                Write::Delete => self.client.delete(&route, body).await,
            }
        })
        .await
    }

    fn path(&self, rest: &str) -> String {
        format!("/repos/{}/{}/{rest}", self.owner, self.repo)
    }

    /// A GET through octocrab's stack (auth) and `retry`, conditional on the ETag of the
    /// last answer to the same URL; records the rate-limit budget left.
    async fn get<T: serde::de::DeserializeOwned>(&self, rest: &str) -> Result<T> {
        self.get_route(self.path(rest)).await
    }

    /// `get` for a route outside the repository (`/orgs/…`).
    async fn get_route<T: serde::de::DeserializeOwned>(&self, url: String) -> Result<T> {
        use http_body_util::BodyExt;
        let rest = url.as_str();
        debug!(route = rest, "GET");
        // A path, not a URL: octocrab authenticates only requests to its base URI's
        // host or to api.github.com, so an absolute URL on GitHub Enterprise Server (or
        // any other API root) would go out without credentials.
        let cached = self.etags.lock().expect("etag cache").get(&url);
        let mut headers = http::HeaderMap::new();
        if let Some((etag, _)) = &cached {
            headers.insert(http::header::IF_NONE_MATCH, etag.clone());
        }
        let res = retry::retrying(|| async {
            let res = self
                .client
                ._get_with_headers(url.as_str(), Some(headers.clone()))
                .await?;
            if res.status() == http::StatusCode::NOT_MODIFIED {
                return Ok(res);
            }
            // An error status becomes an error here, so that a 5xx is made again.
            octocrab::map_github_error(res).await
        })
        .await
        .map_err(map)?;
        if let Some(left) = res
            .headers()
            .get("x-ratelimit-remaining")
            .and_then(|v| v.to_str().ok()?.parse::<f64>().ok())
        {
            metrics::gauge!("hoist_forge_rate_limit_remaining").set(left);
        }
        let body = match (res.status(), cached) {
            (http::StatusCode::NOT_MODIFIED, Some((_, body))) => {
                metrics::counter!("hoist_forge_not_modified_total").increment(1);
                body
            }
            _ => {
                let res = octocrab::map_github_error(res).await.map_err(map)?;
                let etag = res.headers().get(http::header::ETAG).cloned();
                let body = res.into_body().collect().await.map_err(map)?.to_bytes();
                let decoded = decode(rest, &body)?;
                if let Some(etag) = etag {
                    let mut cache = self.etags.lock().expect("etag cache");
                    cache.insert(url.clone(), etag, body);
                }
                return Ok(decoded);
            }
        };
        decode(rest, &body)
    }

    /// Every page of a list endpoint, 100 a page, to the last. A list longer than
    /// `MAX_PAGES` is an error, logged and counted: a gate never decides on part of the
    /// comments or reviews.
    async fn get_all<T: serde::de::DeserializeOwned>(&self, rest: &str) -> Result<Vec<T>> {
        let mut out = vec![];
        let sep = if rest.contains('?') { '&' } else { '?' };
        for page in 1..=MAX_PAGES {
            let items: Vec<T> = self
                .get(&format!("{rest}{sep}per_page=100&page={page}"))
                .await?;
            let n = items.len();
            out.extend(items);
            if n < 100 {
                return Ok(out);
            }
        }
        tracing::warn!(
            list = rest,
            pages = MAX_PAGES,
            "list longer than its page limit; nothing is decided on part of it"
        );
        metrics::counter!("hoist_forge_lists_cut_total").increment(1);
        Err(ForgeError::Other(format!(
            "GET {rest}: more than {MAX_PAGES} pages; Hoist does not decide on part of a list"
        )))
    }

    /// `PATCH /pulls/{number}`: a content-creating request, so paced.
    async fn patch_pull(&self, number: u64, fields: serde_json::Value) -> Result<()> {
        self.write::<serde_json::Value>(Write::Patch, &format!("pulls/{number}"), Some(&fields))
            .await
            .map_err(map)?;
        Ok(())
    }

    async fn pulls(&self, state: &str) -> Result<Vec<Pull>> {
        self.get_all(&format!("pulls?state={state}")).await
    }

    /// One file through the contents API, checked to be Hoist's one commit on `base`.
    ///
    /// Kept whole: it resets the branch to base, writes the file, then checks that the new
    /// commit's only parent is base; that last check guards the whole sequence.
    async fn write_one(
        &self,
        branch: &str,
        base: &str,
        path: &str,
        content: &str,
        message: &str,
    ) -> Result<String> {
        self.point_branch(branch, base).await?;
        let cached = self
            .blobs
            .lock()
            .expect("blob cache")
            .get(&(path.to_owned(), base.to_owned()))
            .cloned();
        let blob = match cached {
            Some(b) => Some(b),
            None => self.content_at(path, base).await?.map(|c| c.sha),
        };
        #[derive(Deserialize)]
        struct Written {
            commit: WrittenCommit,
        }
        #[derive(Deserialize)]
        struct WrittenCommit {
            sha: String,
            #[serde(default)]
            parents: Vec<RefObject>,
        }
        let mut body =
            json!({"message": message, "content": STANDARD.encode(content), "branch": branch});
        if let Some(b) = blob {
            body["sha"] = b.into();
        }
        let w: Written = self
            .write(
                Write::Put,
                &format!("contents/{}", encode_path(path)),
                Some(&body),
            )
            .await
            .map_err(map)?;
        // The contents API writes onto whatever the branch holds by now: a commit
        // pushed since the reset above would end up under Hoist's. Only a commit
        // whose single parent is the base Hoist read, as GitHub's own answer says,
        // is Hoist's head; the next attempt finds the person's commit and stops.
        let parents: Vec<&str> = w.commit.parents.iter().map(|p| p.sha.as_str()).collect();
        if parents != [base] {
            return Err(ForgeError::Conflict(format!(
                "{branch} moved while Hoist wrote it: the new commit's parents are {parents:?}, not the base {base}"
            )));
        }
        Ok(w.commit.sha)
    }

    /// A file's text at `at` through the contents API.
    async fn read_file_rest(&self, path: &str, at: &str) -> Result<Option<String>> {
        let Some(c) = self.content_at(path, at).await? else {
            return Ok(None);
        };
        self.blobs
            .lock()
            .expect("blob cache")
            .insert((path.into(), at.into()), c.sha.clone());
        if c.encoding != "base64" {
            return Err(ForgeError::Other(format!(
                "{path}: unexpected content encoding {:?}",
                c.encoding
            )));
        }
        let bytes = STANDARD
            .decode(c.content.replace(['\n', '\r'], ""))
            .map_err(|e| ForgeError::Other(format!("{path}: content is not base64: {e}")))?;
        String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| ForgeError::Other(format!("{path} is not UTF-8")))
    }

    /// The contents API's answer for `path` at commit `at`; `None` where it has no file.
    async fn content_at(&self, path: &str, at: &str) -> Result<Option<Content>> {
        not_found_is_none(
            retry::retrying(|| async {
                self.client
                    .get::<Content, _, _>(
                        self.path(&format!("contents/{}?ref={at}", encode_path(path))),
                        None::<&()>,
                    )
                    .await
            })
            .await,
        )
    }

    /// Posts a comment on `number`; its id, when GitHub's answer gives it.
    async fn post_comment(&self, number: u64, body: &str) -> Result<Option<u64>> {
        scope::forget(&format!("comments:{number}"));
        let posted: serde_json::Value = self
            .write(
                Write::Post,
                &format!("issues/{number}/comments"),
                Some(&json!({"body": body})),
            )
            .await
            .map_err(map)?;
        scope::forget(&format!("comments:{number}"));
        Ok(posted["id"].as_u64())
    }

    /// Replaces the text of comment `id` on `number`.
    async fn patch_comment(&self, number: u64, id: u64, body: &str) -> Result<()> {
        scope::forget(&format!("comments:{number}"));
        self.write::<serde_json::Value>(
            Write::Patch,
            &format!("issues/comments/{id}"),
            Some(&json!({"body": body})),
        )
        .await
        .map_err(map)?;
        scope::forget(&format!("comments:{number}"));
        Ok(())
    }

    /// Keeps what Hoist's comment `key` says now; bounded, starting over past 10,000.
    fn remember_own(&self, key: (u64, String), id: u64, body: &str) {
        if !self.sole_writer.load(std::sync::atomic::Ordering::Relaxed) {
            return;
        }
        let mut own = self.own_comments.lock().expect("own comments");
        if own.len() >= 10_000 {
            own.clear();
        }
        own.insert(key, (id, body.to_owned()));
    }

    /// Creates `branch` at `sha`, or forces it there if it exists.
    async fn point_branch(&self, branch: &str, sha: &str) -> Result<()> {
        let created = self
            .write::<serde_json::Value>(
                Write::Post,
                "git/refs",
                Some(&json!({"ref": format!("refs/heads/{branch}"), "sha": sha})),
            )
            .await;
        match created.map_err(map) {
            Ok(_) => Ok(()),
            Err(ForgeError::Conflict(_)) => {
                self.write::<serde_json::Value>(
                    Write::Patch,
                    &format!("git/refs/heads/{branch}"),
                    Some(&json!({"sha": sha, "force": true})),
                )
                .await
                .map_err(map)?;
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Several files in one commit through the Git data API: a tree on `base`'s, a commit
    /// whose only parent is `base` (so nothing pushed meanwhile can end up under it), then
    /// the branch forced to it.
    async fn write_tree(
        &self,
        branch: &str,
        base: &str,
        files: &[FileWrite],
        message: &str,
    ) -> Result<String> {
        #[derive(Deserialize)]
        struct GitCommit {
            sha: String,
            tree: RefObject,
        }
        let base_commit: GitCommit = retry::retrying(|| async {
            self.client
                .get(self.path(&format!("git/commits/{base}")), None::<&()>)
                .await
        })
        .await
        .map_err(map)?;
        let entries: Vec<serde_json::Value> = files
            .iter()
            .map(
                |f| json!({"path": f.path, "mode": "100644", "type": "blob", "content": f.content}),
            )
            .collect();
        let tree: RefObject = self
            .write(
                Write::Post,
                "git/trees",
                Some(&json!({"base_tree": base_commit.tree.sha, "tree": entries})),
            )
            .await
            .map_err(map)?;
        let commit: GitCommit = self
            .write(
                Write::Post,
                "git/commits",
                Some(&json!({"message": message, "tree": tree.sha, "parents": [base]})),
            )
            .await
            .map_err(map)?;
        self.point_branch(branch, &commit.sha).await?;
        Ok(commit.sha)
    }
}

/// A GET's answer. One that is not JSON at all (a proxy's or load balancer's error page,
/// a cut connection) may pass: retried, never dropped. JSON of the wrong shape will not.
fn decode<T: serde::de::DeserializeOwned>(rest: &str, body: &[u8]) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| {
        let why = format!("GET {rest}: unexpected response: {e}");
        match e.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                ForgeError::Transient(why)
            }
            _ => ForgeError::Other(why),
        }
    })
}

/// Path segments are sent percent-encoded where GitHub needs it.
fn encode_path(path: &str) -> String {
    path.split('/')
        .map(|s| {
            s.replace('%', "%25")
                .replace(' ', "%20")
                .replace('#', "%23")
                .replace('?', "%3F")
        })
        .collect::<Vec<_>>()
        .join("/")
}

impl Forge for GitHub {
    fn base(&self) -> &str {
        &self.base
    }

    fn me(&self) -> &Actor {
        &self.me
    }

    async fn base_head(&self) -> Result<String> {
        // Read with this event's pull request, in the same request (see `bundle`).
        if let Some(sha) = scope::recall::<String>("base") {
            return Ok(sha);
        }
        let r: Ref = self.get(&format!("git/ref/heads/{}", self.base)).await?;
        Ok(r.object.sha)
    }

    async fn read_file(&self, path: &str, at: &str) -> Result<Option<String>> {
        if let Some(text) = self.files.lock().expect("file cache").get(path, at) {
            return Ok(text);
        }
        let text = self.read_file_rest(path, at).await?;
        self.files
            .lock()
            .expect("file cache")
            .insert(path, at, text.clone());
        Ok(text)
    }

    async fn branch_commits(&self, branch: &str) -> Result<Option<Vec<Commit>>> {
        let Some(c) = not_found_is_none(
            retry::retrying(|| async {
                self.client
                    .get::<Compare, _, _>(
                        self.path(&format!("compare/{}...{branch}", self.base)),
                        None::<&()>,
                    )
                    .await
            })
            .await,
        )?
        else {
            return Ok(None);
        };
        Ok(Some(
            c.commits
                .into_iter()
                .map(|c| Commit {
                    sha: c.sha,
                    message: c.commit.map(|m| m.message).unwrap_or_default(),
                    author: c.author.or(c.committer).map_or(
                        Actor {
                            id: 0,
                            login: "unknown".into(),
                            kind: ActorKind::User,
                        },
                        Actor::from,
                    ),
                })
                .collect(),
        ))
    }

    /// Writes Hoist's one commit for a promotion on `branch`, built on `base` alone: one
    /// file through the contents API, several through the Git data API (one tree, one
    /// commit whose only parent is `base`, then the branch pointed at it).
    async fn write_branch(
        &self,
        branch: &str,
        base: &str,
        files: &[FileWrite],
        message: &str,
    ) -> Result<String> {
        scope::forget("pr:");
        if let Some(head) = self.write_new_branch(branch, base, files, message).await {
            return Ok(head);
        }
        match files {
            [one] => {
                self.write_one(branch, base, &one.path, &one.content, message)
                    .await
            }
            _ => self.write_tree(branch, base, files, message).await,
        }
    }

    async fn delete_branch(&self, branch: &str) -> Result<()> {
        scope::forget("pr:");
        let r = self
            .write::<NoBody>(Write::Delete, &format!("git/refs/heads/{branch}"), None)
            .await;
        match r.map_err(map) {
            Ok(_) | Err(ForgeError::NotFound(_) | ForgeError::Conflict(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn close_pull_request(&self, number: u64) -> Result<()> {
        scope::forget(&format!("pr:{number}"));
        self.patch_pull(number, json!({"state": "closed"})).await
    }

    async fn merged_pull_requests(&self, prefix: &str) -> Result<Vec<PullRequest>> {
        Ok(self
            .pulls("closed")
            .await?
            .into_iter()
            .map(PullRequest::from)
            .filter(|p| p.state == PrState::Merged && p.head_ref.starts_with(prefix))
            .collect())
    }

    async fn open_pull_requests(&self, prefix: &str) -> Result<Vec<PullRequest>> {
        Ok(self
            .pulls("open")
            .await?
            .into_iter()
            .map(PullRequest::from)
            .filter(|p| p.head_ref.starts_with(prefix))
            .collect())
    }

    async fn open_pull_request_for(&self, branch: &str) -> Result<Option<PullRequest>> {
        let prs: Vec<Pull> = self
            .get(&format!("pulls?state=open&head={}:{branch}", self.owner))
            .await?;
        Ok(prs
            .into_iter()
            .map(PullRequest::from)
            .find(|p| p.head_ref == branch))
    }

    async fn promotion_reads(&self, branch: &str, paths: &[String]) -> Result<PromotionReads> {
        match self.opening(branch, paths).await {
            Some(r) => Ok(r),
            None => super::reads_apart(self, branch, paths).await,
        }
    }

    async fn pull_request(&self, number: u64) -> Result<PullRequest> {
        if let Some(pr) = scope::recall::<PullRequest>(&format!("pr:{number}")) {
            return Ok(pr);
        }
        if let Some(pr) = self.bundle(number).await {
            return Ok(pr);
        }
        Ok(self.get::<Pull>(&format!("pulls/{number}")).await?.into())
    }

    async fn create_pull_request(
        &self,
        branch: &str,
        title: &str,
        body: &str,
    ) -> Result<PullRequest> {
        let p: Pull = self
            .write(
                Write::Post,
                "pulls",
                Some(&json!({"title": title, "head": branch, "base": self.base, "body": body})),
            )
            .await
            .map_err(map)?;
        Ok(p.into())
    }

    async fn update_pull_request(&self, number: u64, title: &str, body: &str) -> Result<()> {
        scope::forget(&format!("pr:{number}"));
        self.patch_pull(number, json!({"title": title, "body": body}))
            .await
    }

    async fn comments(&self, number: u64) -> Result<Vec<Comment>> {
        let key = format!("comments:{number}");
        if scope::recall::<PullRequest>(&format!("pr:{number}")).is_none()
            && scope::recall::<Vec<Comment>>(&key).is_none()
        {
            self.bundle(number).await;
        }
        if let Some(c) = scope::recall::<Vec<Comment>>(&key) {
            return Ok(c);
        }
        Ok(self
            .get_all::<IssueComment>(&format!("issues/{number}/comments"))
            .await?
            .into_iter()
            .map(IssueComment::into_comment)
            .collect())
    }

    fn lists_every_comment(&self) -> bool {
        true
    }

    async fn recent_comments(&self, since: &str) -> Result<Vec<(u64, Comment)>> {
        Ok(self
            .get_all::<IssueComment>(&format!(
                "issues/comments?sort=updated&direction=asc&since={since}"
            ))
            .await?
            .into_iter()
            .filter_map(|c| {
                let number = c.issue_url.rsplit('/').next()?.parse().ok()?;
                Some((number, c.into_comment()))
            })
            .collect())
    }

    async fn comment(&self, number: u64, body: &str) -> Result<()> {
        self.post_comment(number, body).await.map(drop)
    }

    /// Edits the comment Hoist wrote with `marker`, or writes it. One Hoist wrote or
    /// found before is edited by its id, without listing the comments again (and not at
    /// all when it already says `body`); one deleted since is looked for again.
    async fn upsert_comment(&self, number: u64, marker: &str, body: &str) -> Result<bool> {
        let key = (number, marker.to_owned());
        let known = self
            .own_comments
            .lock()
            .expect("own comments")
            .get(&key)
            .cloned();
        if let Some((id, said)) = known {
            if said == body {
                return Ok(false);
            }
            match self.patch_comment(number, id, body).await {
                Ok(()) => {
                    self.remember_own(key, id, body);
                    return Ok(true);
                }
                Err(ForgeError::NotFound(_)) => {
                    self.own_comments.lock().expect("own comments").remove(&key);
                }
                Err(e) => return Err(e),
            }
        }
        let own = self
            .comments(number)
            .await?
            .into_iter()
            .find(|c| c.author.is(&self.me) && c.body.ends_with(marker));
        match own {
            Some(c) if c.body == body => {
                self.remember_own(key, c.id, body);
                Ok(false)
            }
            Some(c) => {
                self.patch_comment(number, c.id, body).await?;
                self.remember_own(key, c.id, body);
                Ok(true)
            }
            None => {
                let id = self.post_comment(number, body).await?;
                if let Some(id) = id {
                    self.remember_own(key, id, body);
                }
                Ok(true)
            }
        }
    }

    async fn comment_and_react(
        &self,
        number: u64,
        body: &str,
        comment_id: u64,
        reaction: Reaction,
    ) -> Result<()> {
        use graphql::Replied;
        let reacted = match self
            .reply(number, body, comment_id, reaction_name(reaction))
            .await
        {
            Replied::Done { reacted } => reacted,
            Replied::NotRun => {
                self.comment(number, body).await?;
                false
            }
            Replied::Unsure => {
                // Read afresh, not from what this event read: posted already, or not.
                scope::forget(&format!("comments:{number}"));
                scope::forget(&format!("pr:{number}"));
                let me = &self.me;
                let posted = self
                    .comments(number)
                    .await?
                    .iter()
                    .any(|c| c.author.is(me) && c.body == body);
                if !posted {
                    self.comment(number, body).await?;
                }
                false
            }
        };
        if !reacted && let Err(e) = self.react(comment_id, reaction).await {
            tracing::warn!(error = %e, "reaction failed; the command goes on");
        }
        Ok(())
    }

    async fn react(&self, comment_id: u64, reaction: Reaction) -> Result<()> {
        let content = reaction_name(reaction);
        self.write::<serde_json::Value>(
            Write::Post,
            &format!("issues/comments/{comment_id}/reactions"),
            Some(&json!({"content": content})),
        )
        .await
        .map_err(map)?;
        Ok(())
    }

    /// Read fresh each time, conditionally: an unchanged answer is a 304, which costs no
    /// rate limit, and a revoked permission is seen at once.
    async fn permission(&self, user: &Actor) -> Result<Permission> {
        let p = none_if_not_found(
            self.get::<PermissionBody>(&format!("collaborators/{}/permission", user.login))
                .await,
        )?;
        Ok(
            match p.map(|p| p.role_name.unwrap_or(p.permission)).as_deref() {
                Some("admin") => Permission::Admin,
                Some("maintain") => Permission::Maintain,
                Some("write" | "push") => Permission::Write,
                Some("triage") => Permission::Triage,
                Some("read" | "pull") => Permission::Read,
                _ => Permission::None,
            },
        )
    }

    /// Fresh and conditional, as `permission`.
    async fn is_team_member(&self, org: &str, team: &str, user: &Actor) -> Result<bool> {
        let m = none_if_not_found(
            self.get_route::<Membership>(format!(
                "/orgs/{org}/teams/{team}/memberships/{}",
                user.login
            ))
            .await,
        )?;
        Ok(m.is_some_and(|m| m.state == "active"))
    }

    async fn reviews(&self, number: u64) -> Result<Vec<Review>> {
        if let Some(r) = scope::recall::<Vec<Review>>(&format!("reviews:{number}")) {
            return Ok(r);
        }
        Ok(self
            .get_all::<GhReview>(&format!("pulls/{number}/reviews"))
            .await?
            .into_iter()
            .filter_map(|r| {
                let state = match r.state.as_str() {
                    "APPROVED" => ReviewState::Approved,
                    "CHANGES_REQUESTED" => ReviewState::ChangesRequested,
                    "DISMISSED" => ReviewState::Dismissed,
                    _ => ReviewState::Commented,
                };
                Some(Review {
                    reviewer: r.user?.into(),
                    state,
                    commit_id: r.commit_id,
                })
            })
            .collect())
    }

    async fn checks(&self, sha: &str) -> Result<Vec<Check>> {
        if let Some(c) = scope::recall::<Vec<Check>>(&format!("checks:{sha}")) {
            return Ok(c);
        }
        let runs: CheckRuns = self
            .get(&format!("commits/{sha}/check-runs?per_page=100"))
            .await?;
        // Newest first, every status ever posted: the first of each context is its
        // latest, and the list is turned oldest first like the runs.
        let statuses: Vec<Status> = self.get_all(&format!("commits/{sha}/statuses")).await?;
        // Oldest first, by id (GitHub's order is not documented), so the last of a name
        // is its latest.
        let mut runs = runs.check_runs;
        runs.sort_by_key(|r| r.id);
        let mut out: Vec<Check> = runs
            .into_iter()
            .map(|r| Check {
                name: r.name,
                conclusion: r.conclusion,
                url: r.html_url,
                posted_by: PostedBy::App {
                    id: r.app.as_ref().and_then(|a| a.id),
                    slug: r.app.and_then(|a| a.slug),
                },
            })
            .collect();
        // The latest status of each context from each creator.
        let mut seen = std::collections::HashSet::new();
        let latest: Vec<Check> = statuses
            .into_iter()
            .map(|s| Check {
                name: s.context,
                conclusion: (s.state != "pending").then_some(s.state),
                url: s.target_url,
                posted_by: PostedBy::User(s.creator.map(Actor::from)),
            })
            .filter(|c| seen.insert((c.name.clone(), c.posted_by.clone())))
            .collect();
        out.extend(latest.into_iter().rev());
        Ok(out)
    }

    async fn pull_request_files(&self, number: u64) -> Result<Vec<String>> {
        #[derive(Deserialize)]
        struct File {
            filename: String,
        }
        Ok(self
            .get_all::<File>(&format!("pulls/{number}/files"))
            .await?
            .into_iter()
            .map(|f| f.filename)
            .collect())
    }

    async fn create_check_run(
        &self,
        _number: u64,
        sha: &str,
        name: &str,
        conclusion: Conclusion,
        title: &str,
        summary: &str,
    ) -> Result<()> {
        // GitHub caps a check run's summary at 65,535 characters.
        const MAX: usize = 65_535;
        let summary = if summary.len() > MAX {
            let cut = summary.floor_char_boundary(MAX - 64);
            format!("{}{}", &summary[..cut], crate::messages::CUT_FOR_GITHUB)
        } else {
            summary.to_owned()
        };
        scope::forget(&format!("checks:{sha}"));
        let mut body =
            json!({"name": name, "head_sha": sha, "output": {"title": title, "summary": summary}});
        match conclusion {
            Conclusion::Success => {
                body["status"] = "completed".into();
                body["conclusion"] = "success".into();
            }
            Conclusion::Failure => {
                body["status"] = "completed".into();
                body["conclusion"] = "failure".into();
            }
            Conclusion::Pending => body["status"] = "in_progress".into(),
        }

        self.write::<serde_json::Value>(Write::Post, "check-runs", Some(&body))
            .await
            .map_err(map)?;
        // Again after: a read in this event may have brought the old runs back meanwhile.
        scope::forget(&format!("checks:{sha}"));
        Ok(())
    }

    async fn publish_record(
        &self,
        _number: u64,
        sha: &str,
        summary: &str,
        record: &str,
    ) -> Result<()> {
        scope::forget(&format!("checks:{sha}"));
        let body = json!({
            "name": RECORD_CHECK, "head_sha": sha, "status": "completed",
            "conclusion": "neutral", "external_id": record,
            "output": {"title": "Hoist wrote this head", "summary": summary},
        });
        self.write::<serde_json::Value>(Write::Post, "check-runs", Some(&body))
            .await
            .map_err(map)?;
        // Again after: a read in this event may have brought the old runs back meanwhile.
        scope::forget(&format!("checks:{sha}"));
        Ok(())
    }

    async fn has_own_check(&self, _number: u64, sha: &str, name: &str) -> Result<bool> {
        // Only GitHub's word that Hoist's own App created it counts.
        let Some(app_id) = self.app_id else {
            return Ok(false);
        };
        let name_q = encode_path(name);
        let runs: Runs = self
            .get(&format!(
                "commits/{sha}/check-runs?check_name={name_q}&filter=latest&app_id={app_id}&per_page=100"
            ))
            .await?;
        Ok(runs
            .check_runs
            .iter()
            .any(|r| r.name == name && r.app.as_ref().and_then(|a| a.id) == Some(app_id)))
    }

    async fn records(&self, _number: u64, sha: &str) -> Result<Vec<String>> {
        // Only a check run GitHub says Hoist's own App created is evidence.
        let Some(app_id) = self.app_id else {
            return Ok(vec![]);
        };
        let runs: Runs = self
            .get(&format!(
                "commits/{sha}/check-runs?check_name={RECORD_CHECK}&filter=all&app_id={app_id}&per_page=100"
            ))
            .await?;
        Ok(runs
            .check_runs
            .into_iter()
            .rev()
            .filter(|r| r.app.as_ref().and_then(|a| a.id) == Some(app_id))
            .filter_map(|r| r.external_id)
            .collect())
    }

    async fn merge(
        &self,
        number: u64,
        head_sha: &str,
        title: &str,
        message: &str,
    ) -> Result<String> {
        scope::forget(&format!("pr:{number}"));
        scope::forget("base");
        let merged: Result<Merged> = self.write(Write::Put, &format!("pulls/{number}/merge"), Some(&json!({"sha": head_sha, "merge_method": self.merge_method, "commit_title": title, "commit_message": message}))).await
            .map_err(map);
        // Again after, whatever came of it: the pull request and the base may have moved.
        scope::forget(&format!("pr:{number}"));
        scope::forget("base");
        Ok(merged?.sha)
    }
}

/// A reaction as GitHub's REST API names it (GraphQL: the same in capitals).
fn reaction_name(r: Reaction) -> &'static str {
    match r {
        Reaction::Eyes => "eyes",
        Reaction::Rocket => "rocket",
        Reaction::Confused => "confused",
    }
}

/// The methods of content-creating requests.
#[derive(Clone, Copy)]
enum Write {
    Post,
    Put,
    Patch,
    Delete,
}

/// A response whose body Hoist does not read (`204 No Content`).
struct NoBody;

impl octocrab::FromResponse for NoBody {
    async fn from_response<B>(_: http::Response<B>) -> octocrab::Result<Self>
    where
        B: http_body::Body<Data = bytes::Bytes, Error = octocrab::Error> + Send,
    {
        Ok(NoBody)
    }
}
