//! The forge the config names, chosen at start: one engine type serves both.

use super::codecommit::CodeCommit;
use super::github::GitHub;
use super::{
    Check, Comment, Commit, Conclusion, FileWrite, Forge, PromotionReads, PullRequest, Reaction,
    Result, Review, Sha,
};
use crate::domain::Actor;
use crate::forge::Permission;

pub enum AnyForge {
    /// Boxed: the GitHub client is several times the size of the CodeCommit one.
    GitHub(Box<GitHub>),
    CodeCommit(CodeCommit),
}

/// Calls the same method on whichever forge this is.
macro_rules! each {
    ($self:ident, $f:ident => $call:expr) => {
        match $self {
            AnyForge::GitHub($f) => $call,
            AnyForge::CodeCommit($f) => $call,
        }
    };
}

/// Calls the same method on whichever forge this is, counted once, by the port
/// method's name, in `hoist_forge_calls_total{operation,status}`: the one counting layer
/// around both adapters.
macro_rules! counted_each {
    ($self:ident, $op:literal, $f:ident => $call:expr) => {
        super::counted($op, async { each!($self, $f => $call) }).await
    };
}

impl Forge for AnyForge {
    fn me(&self) -> &Actor {
        each!(self, f => f.me())
    }
    fn base(&self) -> &str {
        each!(self, f => f.base())
    }
    async fn base_head(&self) -> Result<Sha> {
        counted_each!(self, "base_head", f => f.base_head().await)
    }
    async fn read_file(&self, path: &str, at: &str) -> Result<Option<String>> {
        counted_each!(self, "read_file", f => f.read_file(path, at).await)
    }
    async fn branch_commits(&self, branch: &str) -> Result<Option<Vec<Commit>>> {
        counted_each!(self, "branch_commits", f => f.branch_commits(branch).await)
    }
    async fn write_branch(
        &self,
        branch: &str,
        base: &str,
        files: &[FileWrite],
        message: &str,
    ) -> Result<Sha> {
        counted_each!(self, "write_branch", f => f.write_branch(branch, base, files, message).await)
    }
    async fn delete_branch(&self, branch: &str) -> Result<()> {
        counted_each!(self, "delete_branch", f => f.delete_branch(branch).await)
    }
    fn rewrites_in_place(&self) -> bool {
        each!(self, f => f.rewrites_in_place())
    }
    fn lists_every_comment(&self) -> bool {
        each!(self, f => f.lists_every_comment())
    }
    async fn close_pull_request(&self, number: u64) -> Result<()> {
        counted_each!(self, "close_pull_request", f => f.close_pull_request(number).await)
    }
    async fn merged_pull_requests(&self, prefix: &str) -> Result<Vec<PullRequest>> {
        counted_each!(self, "merged_pull_requests", f => f.merged_pull_requests(prefix).await)
    }
    async fn open_pull_requests(&self, prefix: &str) -> Result<Vec<PullRequest>> {
        counted_each!(self, "open_pull_requests", f => f.open_pull_requests(prefix).await)
    }
    async fn open_pull_request_for(&self, branch: &str) -> Result<Option<PullRequest>> {
        counted_each!(self, "open_pull_request_for", f => f.open_pull_request_for(branch).await)
    }
    async fn promotion_reads(&self, branch: &str, paths: &[String]) -> Result<PromotionReads> {
        counted_each!(self, "promotion_reads", f => f.promotion_reads(branch, paths).await)
    }
    async fn pull_request(&self, number: u64) -> Result<PullRequest> {
        counted_each!(self, "pull_request", f => f.pull_request(number).await)
    }
    async fn create_pull_request(
        &self,
        branch: &str,
        title: &str,
        body: &str,
    ) -> Result<PullRequest> {
        counted_each!(self, "create_pull_request", f => f.create_pull_request(branch, title, body).await)
    }
    async fn update_pull_request(&self, number: u64, title: &str, body: &str) -> Result<()> {
        counted_each!(self, "update_pull_request", f => f.update_pull_request(number, title, body).await)
    }
    async fn comments(&self, number: u64) -> Result<Vec<Comment>> {
        counted_each!(self, "comments", f => f.comments(number).await)
    }
    async fn recent_comments(&self, since: &str) -> Result<Vec<(u64, Comment)>> {
        counted_each!(self, "recent_comments", f => f.recent_comments(since).await)
    }
    async fn comment(&self, number: u64, body: &str) -> Result<()> {
        counted_each!(self, "comment", f => f.comment(number, body).await)
    }
    async fn has_own_check(&self, number: u64, sha: &str, name: &str) -> Result<bool> {
        counted_each!(self, "has_own_check", f => f.has_own_check(number, sha, name).await)
    }
    async fn upsert_comment(&self, number: u64, marker: &str, body: &str) -> Result<bool> {
        counted_each!(self, "upsert_comment", f => f.upsert_comment(number, marker, body).await)
    }
    async fn react(&self, comment_id: u64, reaction: Reaction) -> Result<()> {
        counted_each!(self, "react", f => f.react(comment_id, reaction).await)
    }
    async fn comment_and_react(
        &self,
        number: u64,
        body: &str,
        comment_id: u64,
        reaction: Reaction,
    ) -> Result<()> {
        counted_each!(self, "comment_and_react", f => f.comment_and_react(number, body, comment_id, reaction).await)
    }
    async fn permission(&self, user: &Actor) -> Result<Permission> {
        counted_each!(self, "permission", f => f.permission(user).await)
    }
    async fn is_team_member(&self, org: &str, team: &str, user: &Actor) -> Result<bool> {
        counted_each!(self, "is_team_member", f => f.is_team_member(org, team, user).await)
    }
    fn is_principal(&self, name: &str, user: &Actor) -> bool {
        each!(self, f => f.is_principal(name, user))
    }
    async fn reviews(&self, number: u64) -> Result<Vec<Review>> {
        counted_each!(self, "reviews", f => f.reviews(number).await)
    }
    async fn checks(&self, sha: &str) -> Result<Vec<Check>> {
        counted_each!(self, "checks", f => f.checks(sha).await)
    }
    async fn pull_request_files(&self, number: u64) -> Result<Vec<String>> {
        counted_each!(self, "pull_request_files", f => f.pull_request_files(number).await)
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
        counted_each!(self, "create_check_run", f => f.create_check_run(number, sha, name, conclusion, title, summary).await)
    }
    async fn publish_record(
        &self,
        number: u64,
        sha: &str,
        summary: &str,
        record: &str,
    ) -> Result<()> {
        counted_each!(self, "publish_record", f => f.publish_record(number, sha, summary, record).await)
    }
    async fn records(&self, number: u64, sha: &str) -> Result<Vec<String>> {
        counted_each!(self, "records", f => f.records(number, sha).await)
    }
    async fn merge(&self, number: u64, head_sha: &str, title: &str, message: &str) -> Result<Sha> {
        counted_each!(self, "merge", f => f.merge(number, head_sha, title, message).await)
    }
}
