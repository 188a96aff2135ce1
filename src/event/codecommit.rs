//! CodeCommit events as EventBridge delivers them: pull request state changes and
//! comments on pull requests.

use serde::Deserialize;

use super::{Actor, ActorKind, CodeCommitChange, Event, RepoRef};

/// `detail` of `CodeCommit Pull Request State Change`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PullRequestStateChange {
    pub event: String,
    pub pull_request_id: String,
    pub repository_names: Vec<String>,
    #[serde(default)]
    pub source_reference: String,
    #[serde(default)]
    pub source_commit: String,
    #[serde(default)]
    pub destination_reference: String,
    #[serde(default)]
    pub caller_user_arn: String,
    #[serde(default)]
    pub is_merged: Option<String>,
    #[serde(default)]
    pub merge_option: Option<String>,
    #[serde(default)]
    pub pull_request_status: Option<String>,
    #[serde(default)]
    pub approval_status: Option<String>,
}

/// `detail` of `CodeCommit Comment on Pull Request`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommentOnPullRequest {
    pub event: String,
    pub repository_name: String,
    pub pull_request_id: String,
    pub comment_id: String,
    #[serde(default)]
    pub after_commit_id: String,
    #[serde(default)]
    pub caller_user_arn: String,
}

fn caller(arn: &str) -> Actor {
    Actor {
        id: 0,
        login: arn.to_owned(),
        kind: ActorKind::User,
    }
}

fn repo(name: &str) -> RepoRef {
    RepoRef {
        full_name: name.to_owned(),
        installation_id: None,
    }
}

impl PullRequestStateChange {
    pub fn into_event(self) -> Event {
        let change = match self.event.as_str() {
            "pullRequestCreated" => CodeCommitChange::Created,
            "pullRequestSourceBranchUpdated" => CodeCommitChange::SourceUpdated,
            "pullRequestMergeStatusUpdated" if self.is_merged.as_deref() == Some("True") => {
                CodeCommitChange::Merged {
                    merge_option: self.merge_option.clone(),
                }
            }
            "pullRequestStatusChanged" if self.pull_request_status.as_deref() == Some("Closed") => {
                CodeCommitChange::Closed
            }
            "pullRequestApprovalStateChanged" => CodeCommitChange::ApprovalChanged {
                approval_status: self.approval_status.clone().unwrap_or_default(),
            },
            // A rule added, changed, removed or overridden changes whether it is met.
            "pullRequestApprovalRuleCreated"
            | "pullRequestApprovalRuleUpdated"
            | "pullRequestApprovalRuleDeleted"
            | "pullRequestApprovalRuleOverridden" => CodeCommitChange::ApprovalChanged {
                approval_status: self.event.clone(),
            },
            other => return Event::ignored(format!("CodeCommit pull request event {other}")),
        };
        let Some(name) = self.repository_names.first() else {
            return Event::ignored("CodeCommit pull request event without a repository");
        };
        Event::CodeCommitPullRequest {
            repo: repo(name),
            pr: self.pull_request_id,
            change,
            source_ref: self.source_reference,
            source_commit: self.source_commit,
            destination_ref: self.destination_reference,
            caller: caller(&self.caller_user_arn),
        }
    }
}

impl CommentOnPullRequest {
    pub fn into_event(self) -> Event {
        // CodeCommit reports a reply as an update: both are read, and the forge blanks
        // comments edited after they were posted, so an edit never runs a command.
        if !matches!(
            self.event.as_str(),
            "commentOnPullRequestCreated" | "commentOnPullRequestUpdated"
        ) {
            return Event::ignored(format!(
                "CodeCommit comment event {} (only new comments carry commands)",
                self.event
            ));
        }
        Event::CodeCommitComment {
            repo: repo(&self.repository_name),
            pr: self.pull_request_id,
            comment_id: self.comment_id,
            after_commit: self.after_commit_id,
            caller: caller(&self.caller_user_arn),
        }
    }
}
