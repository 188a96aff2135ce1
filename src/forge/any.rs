//! The forge the config names, chosen at start: one engine type serves both.

use super::codecommit::CodeCommit;
use super::github::GitHub;
use super::{
    Check, Comment, Commit, Conclusion, Forge, PullRequest, Reaction, Result, Review, Sha,
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

impl Forge for AnyForge {
    fn me(&self) -> &Actor {
        each!(self, f => f.me())
    }
    fn base(&self) -> &str {
        each!(self, f => f.base())
    }
    async fn base_head(&self) -> Result<Sha> {
        each!(self, f => f.base_head().await)
    }
    async fn read_file(&self, path: &str, at: &str) -> Result<Option<String>> {
        each!(self, f => f.read_file(path, at).await)
    }
    async fn branch_commits(&self, branch: &str) -> Result<Option<Vec<Commit>>> {
        each!(self, f => f.branch_commits(branch).await)
    }
    async fn write_branch(
        &self,
        branch: &str,
        base: &str,
        path: &str,
        content: &str,
        message: &str,
    ) -> Result<Sha> {
        each!(self, f => f.write_branch(branch, base, path, content, message).await)
    }
    async fn delete_branch(&self, branch: &str) -> Result<()> {
        each!(self, f => f.delete_branch(branch).await)
    }
    fn rewrites_in_place(&self) -> bool {
        each!(self, f => f.rewrites_in_place())
    }
    async fn close_pull_request(&self, number: u64) -> Result<()> {
        each!(self, f => f.close_pull_request(number).await)
    }
    async fn merged_pull_requests(&self, prefix: &str) -> Result<Vec<PullRequest>> {
        each!(self, f => f.merged_pull_requests(prefix).await)
    }
    async fn open_pull_requests(&self, prefix: &str) -> Result<Vec<PullRequest>> {
        each!(self, f => f.open_pull_requests(prefix).await)
    }
    async fn open_pull_request_for(&self, branch: &str) -> Result<Option<PullRequest>> {
        each!(self, f => f.open_pull_request_for(branch).await)
    }
    async fn pull_request(&self, number: u64) -> Result<PullRequest> {
        each!(self, f => f.pull_request(number).await)
    }
    async fn create_pull_request(
        &self,
        branch: &str,
        title: &str,
        body: &str,
    ) -> Result<PullRequest> {
        each!(self, f => f.create_pull_request(branch, title, body).await)
    }
    async fn update_pull_request(&self, number: u64, title: &str, body: &str) -> Result<()> {
        each!(self, f => f.update_pull_request(number, title, body).await)
    }
    async fn comments(&self, number: u64) -> Result<Vec<Comment>> {
        each!(self, f => f.comments(number).await)
    }
    async fn recent_comments(&self, since: &str) -> Result<Vec<(u64, Comment)>> {
        each!(self, f => f.recent_comments(since).await)
    }
    async fn comment(&self, number: u64, body: &str) -> Result<()> {
        each!(self, f => f.comment(number, body).await)
    }
    async fn has_own_check(&self, number: u64, sha: &str, name: &str) -> Result<bool> {
        each!(self, f => f.has_own_check(number, sha, name).await)
    }
    async fn upsert_comment(&self, number: u64, marker: &str, body: &str) -> Result<()> {
        each!(self, f => f.upsert_comment(number, marker, body).await)
    }
    async fn react(&self, comment_id: u64, reaction: Reaction) -> Result<()> {
        each!(self, f => f.react(comment_id, reaction).await)
    }
    async fn permission(&self, user: &Actor) -> Result<Permission> {
        each!(self, f => f.permission(user).await)
    }
    async fn is_team_member(&self, org: &str, team: &str, user: &Actor) -> Result<bool> {
        each!(self, f => f.is_team_member(org, team, user).await)
    }
    fn is_principal(&self, name: &str, user: &Actor) -> bool {
        each!(self, f => f.is_principal(name, user))
    }
    async fn reviews(&self, number: u64) -> Result<Vec<Review>> {
        each!(self, f => f.reviews(number).await)
    }
    async fn checks(&self, sha: &str) -> Result<Vec<Check>> {
        each!(self, f => f.checks(sha).await)
    }
    async fn pull_request_files(&self, number: u64) -> Result<Vec<String>> {
        each!(self, f => f.pull_request_files(number).await)
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
        each!(self, f => f.create_check_run(number, sha, name, conclusion, title, summary).await)
    }
    async fn publish_record(
        &self,
        number: u64,
        sha: &str,
        summary: &str,
        record: &str,
    ) -> Result<()> {
        each!(self, f => f.publish_record(number, sha, summary, record).await)
    }
    async fn records(&self, number: u64, sha: &str) -> Result<Vec<String>> {
        each!(self, f => f.records(number, sha).await)
    }
    async fn merge(&self, number: u64, head_sha: &str, title: &str, message: &str) -> Result<Sha> {
        each!(self, f => f.merge(number, head_sha, title, message).await)
    }
}
