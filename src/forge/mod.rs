//! The forge port: only the calls the engine makes. GitHub and CodeCommit implement it
//! at the edge; tests use an in-memory forge.

use std::future::Future;

use crate::domain::{Actor, ReviewState};

pub mod any;
pub mod codecommit;
pub mod github;
mod principal;
pub mod scope;

pub type Sha = String;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrState {
    Open,
    Closed,
    Merged,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    pub number: u64,
    pub head_ref: String,
    pub head_sha: Sha,
    pub title: String,
    pub body: String,
    pub state: PrState,
    pub merge_sha: Option<Sha>,
    /// The base branch's commit GitHub compares the pull request against.
    pub base_sha: Sha,
    /// The branch it would merge into: a promotion counts only into the configured base.
    pub base_ref: String,
    /// `None` while the forge computes it.
    pub mergeable: Option<bool>,
    /// The head branch lives in another repository (a fork), or its repository is gone:
    /// whatever its branch is called, its head is never Hoist's.
    pub from_fork: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub reviewer: Actor,
    pub state: ReviewState,
    pub commit_id: Option<Sha>,
}

/// A check run or commit status on a commit; `conclusion` is `None` while pending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub name: String,
    pub conclusion: Option<String>,
    pub url: Option<String>,
    /// Who posted it, as the forge asserts: a name anyone may use is not evidence.
    pub posted_by: PostedBy,
}

/// Who posted a check run or a commit status.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PostedBy {
    /// A check run, by the GitHub App that created it (`None`: the forge did not say).
    App {
        id: Option<u64>,
        slug: Option<String>,
    },
    /// A commit status, by the user who posted it (`None`: the forge did not say).
    User(Option<Actor>),
}

/// The result Hoist publishes in a check run of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conclusion {
    Success,
    Failure,
    /// Still waiting: published as an in-progress check run.
    Pending,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub id: crate::domain::CommentId,
    /// The identity the forge attaches: GitHub's user, CodeCommit's `authorArn`.
    pub author: Actor,
    pub body: String,
    /// Changed after it was posted. Anyone with write access can edit anyone's comment
    /// on GitHub, so an edited comment decides nothing: it runs no command, and a
    /// marker in it counts for nothing.
    pub edited: bool,
}

impl Comment {
    /// Whether this is a comment Hoist posted that carries `marker`: markers in anyone
    /// else's comment (or in an edited one) are text, not a record.
    pub fn is_own_with(&self, me: &Actor, marker: &str) -> bool {
        // At the end, where Hoist puts it: text it quotes (an author's name, a reason)
        // stands before it.
        self.author.is(me) && !self.edited && self.body.ends_with(marker)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    pub sha: Sha,
    pub author: Actor,
    /// The whole message: Hoist's commits carry their freight and requester as trailers.
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Permission {
    None,
    Read,
    Triage,
    Write,
    Maintain,
    Admin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reaction {
    /// 👀 received
    Eyes,
    /// 🚀 done
    Rocket,
    /// 😕 refused or failed
    Confused,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ForgeError {
    #[error("not found: {0}")]
    NotFound(String),
    /// A stale head, a merge conflict: the state moved under us.
    #[error("conflict: {0}")]
    Conflict(String),
    /// Worth retrying: 5xx, rate limits, timeouts.
    #[error("transient: {0}")]
    Transient(String),
    #[error("{0}")]
    Other(String),
}

pub type Result<T> = std::result::Result<T, ForgeError>;

/// One file a commit writes: its path and its whole new content.
/// What opening or updating a promotion reads (see `Forge::promotion_reads`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromotionReads {
    /// The base branch's head.
    pub base: Sha,
    /// Each path asked for, with its text at `base` (`None`: no such file).
    pub files: Vec<(String, Option<String>)>,
    /// The branch's open pull request, from this repository's own branch.
    pub open: Option<PullRequest>,
    /// The branch's commits beyond the base; `None` when the branch does not exist.
    pub commits: Option<Vec<Commit>>,
}

/// `Forge::promotion_reads` through the forge's single reads: the base's head first,
/// then the files (a few at a time: the installation's rate limits are shared, and
/// secondary limits frown on bursts), the open pull request and the commits together.
pub async fn reads_apart<F: Forge + ?Sized>(
    forge: &F,
    branch: &str,
    paths: &[String],
) -> Result<PromotionReads> {
    let base = forge.base_head().await?;
    let (files, open, commits) = futures::try_join!(
        read_files(forge, paths, &base),
        forge.open_pull_request_for(branch),
        forge.branch_commits(branch)
    )?;
    Ok(PromotionReads {
        files,
        base,
        open,
        commits,
    })
}

/// Each of `paths` with its text at commit `at` (`None`: no such file), read a few at a
/// time: the installation's rate limits are shared, and GitHub's secondary limits frown
/// on bursts.
pub async fn read_files<F: Forge + ?Sized>(
    forge: &F,
    paths: &[String],
    at: &str,
) -> Result<Vec<(String, Option<String>)>> {
    use futures::{StreamExt, TryStreamExt};
    let texts: Vec<Option<String>> = futures::stream::iter(paths.to_vec())
        .map(move |p| async move { forge.read_file(&p, at).await })
        .buffered(8)
        .try_collect()
        .await?;
    Ok(paths.iter().cloned().zip(texts).collect())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileWrite {
    pub path: String,
    pub content: String,
}

/// What the engine asks of a forge.
pub trait Forge: Send + Sync + 'static {
    /// The identity Hoist acts as; its own comments and commits are recognised by it.
    fn me(&self) -> &Actor;
    /// The base branch promotions merge into.
    fn base(&self) -> &str;
    /// The head commit of the base branch.
    fn base_head(&self) -> impl Future<Output = Result<Sha>> + Send;
    fn read_file(
        &self,
        path: &str,
        at: &str,
    ) -> impl Future<Output = Result<Option<String>>> + Send;
    /// Commits on `branch` that the base does not have, oldest first; `None` when the
    /// branch does not exist.
    fn branch_commits(
        &self,
        branch: &str,
    ) -> impl Future<Output = Result<Option<Vec<Commit>>>> + Send;
    /// Points `branch` at one new commit on `base` that writes each of `files` (at least
    /// one) and nothing else.
    fn write_branch(
        &self,
        branch: &str,
        base: &str,
        files: &[FileWrite],
        message: &str,
    ) -> impl Future<Output = Result<Sha>> + Send;
    fn delete_branch(&self, branch: &str) -> impl Future<Output = Result<()>> + Send;
    /// Whether `write_branch` keeps an open pull request on the branch (GitHub forces the
    /// branch to the new commit); CodeCommit starts the branch afresh, which closes it,
    /// so each new head there comes with a new pull request.
    fn rewrites_in_place(&self) -> bool {
        true
    }
    /// Whether `recent_comments` lists every comment on every pull request (GitHub's
    /// repository-wide listing), so that a rebuild need not read closed ones one by one.
    fn lists_every_comment(&self) -> bool {
        false
    }
    /// Closes pull request `number` unmerged.
    fn close_pull_request(&self, number: u64) -> impl Future<Output = Result<()>> + Send;
    /// Merged pull requests whose head branch starts with `prefix`, newest first.
    fn merged_pull_requests(
        &self,
        prefix: &str,
    ) -> impl Future<Output = Result<Vec<PullRequest>>> + Send;
    /// Open pull requests whose head branch starts with `prefix`.
    fn open_pull_requests(
        &self,
        prefix: &str,
    ) -> impl Future<Output = Result<Vec<PullRequest>>> + Send;
    fn open_pull_request_for(
        &self,
        branch: &str,
    ) -> impl Future<Output = Result<Option<PullRequest>>> + Send;
    /// What opening or updating a promotion on `branch` reads: the base's head, the files
    /// at `paths` on it, the branch's open pull request and its commits. A forge that
    /// can read them in one request does (GitHub's GraphQL); the rest read them apart.
    fn promotion_reads(
        &self,
        branch: &str,
        paths: &[String],
    ) -> impl Future<Output = Result<PromotionReads>> + Send {
        reads_apart(self, branch, paths)
    }
    fn pull_request(&self, number: u64) -> impl Future<Output = Result<PullRequest>> + Send;
    fn create_pull_request(
        &self,
        branch: &str,
        title: &str,
        body: &str,
    ) -> impl Future<Output = Result<PullRequest>> + Send;
    fn update_pull_request(
        &self,
        number: u64,
        title: &str,
        body: &str,
    ) -> impl Future<Output = Result<()>> + Send;
    fn comments(&self, number: u64) -> impl Future<Output = Result<Vec<Comment>>> + Send;
    /// Comments posted or edited since `since` (RFC 3339, UTC) on any pull request, each
    /// with its pull request's number: for reconcile to find commands on pull requests
    /// that are no longer open. GitHub answers it in one paged query for the repository;
    /// CodeCommit has none, so its adapter reads the comments of the pull requests closed
    /// most recently.
    fn recent_comments(
        &self,
        since: &str,
    ) -> impl Future<Output = Result<Vec<(u64, Comment)>>> + Send;
    fn comment(&self, number: u64, body: &str) -> impl Future<Output = Result<()>> + Send;
    /// Hoist's own comment on pull request `number` whose body ends with `marker`, edited
    /// to say `body` (which ends with `marker` too), or posted when there is none: one
    /// comment that follows something as it goes. Nothing is sent when it already says
    /// `body`. The comment decides nothing; it is found by its author, Hoist's identity.
    /// Whether it posted or changed anything.
    fn upsert_comment(
        &self,
        number: u64,
        marker: &str,
        body: &str,
    ) -> impl Future<Output = Result<bool>> + Send;
    fn react(
        &self,
        comment_id: crate::domain::CommentId,
        reaction: Reaction,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Comments `body` on `number` and reacts to comment `comment_id`, in one request
    /// where the forge can (GitHub's GraphQL). The comment's failure is the error; the
    /// reaction's is only logged: a reaction never blocks a command.
    fn comment_and_react(
        &self,
        number: u64,
        body: &str,
        comment_id: crate::domain::CommentId,
        reaction: Reaction,
    ) -> impl Future<Output = Result<()>> + Send {
        async move {
            self.comment(number, body).await?;
            if let Err(e) = self.react(comment_id, reaction).await {
                tracing::warn!(error = %e, "reaction failed; the command goes on");
            }
            Ok(())
        }
    }
    fn permission(&self, user: &Actor) -> impl Future<Output = Result<Permission>> + Send;
    /// Whether `user` is in `@org/team`; a non-member is `false`, not an error.
    fn is_team_member(
        &self,
        org: &str,
        team: &str,
        user: &Actor,
    ) -> impl Future<Output = Result<bool>> + Send;
    fn reviews(&self, number: u64) -> impl Future<Output = Result<Vec<Review>>> + Send;
    fn checks(&self, sha: &str) -> impl Future<Output = Result<Vec<Check>>> + Send;
    /// Paths a pull request changes.
    fn pull_request_files(&self, number: u64) -> impl Future<Output = Result<Vec<String>>> + Send;
    /// Whether `user` is the person `name` (`alice` or `@alice`) names: by login on
    /// GitHub, through the config's mapping to IAM principals on CodeCommit.
    fn is_principal(&self, name: &str, user: &Actor) -> bool {
        name.strip_prefix('@')
            .unwrap_or(name)
            .eq_ignore_ascii_case(&user.login)
    }
    /// Publishes Hoist's own check `name` on `sha`, the head of pull request `number`:
    /// a check run on GitHub, a comment updated in place on CodeCommit.
    fn create_check_run(
        &self,
        number: u64,
        sha: &str,
        name: &str,
        conclusion: Conclusion,
        title: &str,
        summary: &str,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Whether Hoist's own identity published check `name` on `sha`, the head of pull
    /// request `number` (a check run of its App on GitHub; its check comment at that
    /// head on CodeCommit): for reconcile to tell a lost event from a store that forgot.
    fn has_own_check(
        &self,
        number: u64,
        sha: &str,
        name: &str,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// Publishes Hoist's record of head `sha` of pull request `number`, as evidence only
    /// Hoist's own identity can post (`record` is machine-readable, `summary` for
    /// people): a check run of Hoist's App on GitHub (in its `external_id`), a comment by
    /// Hoist's IAM identity on CodeCommit (where only a comment's author can edit it).
    fn publish_record(
        &self,
        number: u64,
        sha: &str,
        summary: &str,
        record: &str,
    ) -> impl Future<Output = Result<()>> + Send;
    /// The records Hoist's own identity published on `sha` of pull request `number`,
    /// oldest first: what a lost store is rebuilt from.
    fn records(&self, number: u64, sha: &str) -> impl Future<Output = Result<Vec<String>>> + Send;
    /// Merges pinned to `head_sha`; a moved head is `Conflict`.
    fn merge(
        &self,
        number: u64,
        head_sha: &str,
        title: &str,
        message: &str,
    ) -> impl Future<Output = Result<Sha>> + Send;
}

/// Runs one forge call and counts it by operation and outcome.
pub(crate) async fn counted<T>(
    operation: &'static str,
    call: impl Future<Output = Result<T>>,
) -> Result<T> {
    // Boxed: forge futures are large, and nesting them by value deepens the stack of
    // every caller (debug builds overflowed).
    let r = Box::pin(call).await;
    count(operation, &r);
    r
}

/// Counts a forge call by operation and outcome, for /metrics.
pub(crate) fn count<T>(operation: &'static str, r: &Result<T>) {
    let status = match r {
        Ok(_) => "ok",
        Err(ForgeError::NotFound(_)) => "not_found",
        Err(ForgeError::Conflict(_)) => "conflict",
        Err(ForgeError::Transient(_)) => "transient",
        Err(ForgeError::Other(_)) => "error",
    };
    metrics::counter!("hoist_forge_calls_total", "operation" => operation, "status" => status)
        .increment(1);
}
