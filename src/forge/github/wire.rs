//! GitHub's REST answers, read into Hoist's own minimal types (GitHub omits fields that
//! octocrab's models require), and turned into the port's types.

use serde::Deserialize;

use crate::event::github::User;
use crate::forge::{Comment, PrState, PullRequest};

#[derive(Deserialize)]
pub(super) struct Ref {
    pub(super) object: RefObject,
}
#[derive(Deserialize)]
pub(super) struct RefObject {
    pub(super) sha: String,
}

#[derive(Deserialize)]
pub(super) struct Content {
    pub(super) sha: String,
    #[serde(default)]
    pub(super) content: String,
    #[serde(default)]
    pub(super) encoding: String,
}

#[derive(Deserialize)]
pub(super) struct Compare {
    #[serde(default)]
    pub(super) commits: Vec<CompareCommit>,
}
#[derive(Deserialize)]
pub(super) struct CompareCommit {
    pub(super) sha: String,
    #[serde(default)]
    pub(super) author: Option<User>,
    #[serde(default)]
    pub(super) committer: Option<User>,
    #[serde(default)]
    pub(super) commit: Option<GitCommit>,
}
#[derive(Deserialize)]
pub(super) struct GitCommit {
    #[serde(default)]
    pub(super) message: String,
}

#[derive(Deserialize)]
pub(super) struct Pull {
    pub(super) number: u64,
    #[serde(default)]
    pub(super) title: String,
    #[serde(default)]
    pub(super) body: Option<String>,
    pub(super) state: String,
    #[serde(default)]
    pub(super) merged_at: Option<String>,
    #[serde(default)]
    pub(super) merge_commit_sha: Option<String>,
    #[serde(default)]
    pub(super) mergeable: Option<bool>,
    pub(super) head: Head,
    #[serde(default)]
    pub(super) base: Option<Head>,
}
#[derive(Deserialize)]
pub(super) struct Head {
    #[serde(rename = "ref")]
    pub(super) name: String,
    pub(super) sha: String,
    /// `null` when the head's fork was deleted.
    #[serde(default)]
    pub(super) repo: Option<RepoId>,
}
#[derive(Deserialize, PartialEq)]
pub(super) struct RepoId {
    pub(super) id: u64,
}

impl From<Pull> for PullRequest {
    fn from(p: Pull) -> Self {
        let merged = p.merged_at.is_some();
        // By repository id, which a rename or a transfer does not change.
        let from_fork = match (&p.head.repo, p.base.as_ref().and_then(|b| b.repo.as_ref())) {
            (Some(head), Some(base)) => head != base,
            _ => true,
        };
        PullRequest {
            number: p.number,
            head_ref: p.head.name,
            head_sha: p.head.sha,
            title: p.title,
            body: p.body.unwrap_or_default(),
            state: match (p.state.as_str(), merged) {
                (_, true) => PrState::Merged,
                ("open", _) => PrState::Open,
                _ => PrState::Closed,
            },
            merge_sha: if merged { p.merge_commit_sha } else { None },
            base_ref: p.base.as_ref().map(|b| b.name.clone()).unwrap_or_default(),
            base_sha: p.base.map(|b| b.sha).unwrap_or_default(),
            mergeable: p.mergeable,
            from_fork,
        }
    }
}

#[derive(Deserialize)]
pub(super) struct IssueComment {
    pub(super) id: u64,
    /// `…/issues/N`, in the repository-wide list.
    #[serde(default)]
    pub(super) issue_url: String,
    #[serde(default)]
    pub(super) body: String,
    pub(super) user: User,
    #[serde(default)]
    pub(super) created_at: String,
    #[serde(default)]
    pub(super) updated_at: String,
}

impl IssueComment {
    /// Edited when GitHub moved `updated_at` past `created_at`: its text is no longer
    /// what its author posted.
    pub(super) fn into_comment(self) -> Comment {
        Comment {
            id: self.id,
            author: self.user.into(),
            edited: edited(&self.created_at, &self.updated_at),
            body: self.body,
        }
    }
}

/// Whether a comment may have changed after it was posted, from GitHub's own
/// timestamps: any difference counts, and so does a missing one (fail closed). GitHub
/// is reported to stamp some new comments' `updated_at` a second late
/// (palantir/policy-bot#459), and whether a reaction moves it is not documented; such
/// a comment is then taken as edited, and its command runs only from its webhook,
/// which carries the text as posted. Allowing any tolerance would let a writer who
/// edits within it pass their words off as the author's.
fn edited(created_at: &str, updated_at: &str) -> bool {
    created_at.is_empty() || created_at != updated_at
}

#[derive(Deserialize)]
pub(super) struct GhReview {
    pub(super) user: Option<User>,
    pub(super) state: String,
    #[serde(default)]
    pub(super) commit_id: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct CheckRuns {
    #[serde(default)]
    pub(super) check_runs: Vec<CheckRun>,
}
#[derive(Deserialize)]
pub(super) struct CheckRun {
    #[serde(default)]
    pub(super) id: u64,
    pub(super) name: String,
    #[serde(default)]
    pub(super) conclusion: Option<String>,
    #[serde(default)]
    pub(super) html_url: Option<String>,
    /// The App that created the run, as GitHub asserts it.
    #[serde(default)]
    pub(super) app: Option<CheckApp>,
}
#[derive(Deserialize)]
pub(super) struct CheckApp {
    #[serde(default)]
    pub(super) id: Option<u64>,
    #[serde(default)]
    pub(super) slug: Option<String>,
}
/// One commit status from the list endpoint, which (unlike the combined status) says
/// who posted it.
#[derive(Deserialize)]
pub(super) struct Status {
    pub(super) context: String,
    pub(super) state: String,
    #[serde(default)]
    pub(super) target_url: Option<String>,
    #[serde(default)]
    pub(super) creator: Option<User>,
}

#[derive(Deserialize)]
pub(super) struct PermissionBody {
    pub(super) permission: String,
    #[serde(default)]
    pub(super) role_name: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct Membership {
    pub(super) state: String,
}

#[derive(Deserialize)]
pub(super) struct Merged {
    pub(super) sha: String,
}

#[derive(Deserialize)]
pub(super) struct Installation {
    pub(super) id: u64,
}

#[derive(Deserialize)]
pub(super) struct App {
    pub(super) slug: String,
}

/// A commit's check runs, as far as Hoist reads its own.
#[derive(Deserialize)]
pub(super) struct Runs {
    #[serde(default)]
    pub(super) check_runs: Vec<Run>,
}

#[derive(Deserialize)]
pub(super) struct Run {
    #[serde(default)]
    pub(super) name: String,
    #[serde(default)]
    pub(super) external_id: Option<String>,
    #[serde(default)]
    pub(super) app: Option<CheckApp>,
}

#[cfg(test)]
mod tests {
    use super::edited;

    #[test]
    fn a_comment_is_edited_when_its_timestamps_differ_at_all() {
        let at = "2026-11-26T10:00:00Z";
        assert!(!edited(at, at));
        assert!(edited(at, "2026-11-26T10:00:01Z"), "an edit a second later");
        assert!(edited(at, "2026-11-27T10:00:00Z"));
        assert!(edited(at, ""), "no timestamp: fail closed");
        assert!(edited("", ""));
    }
}
