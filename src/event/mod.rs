//! Inbound events, normalized at the edge into one enum. GitHub, CodeCommit and ECR
//! differ only here; everything after ingress sees [`Event`].

pub mod codecommit;
pub mod ecr;
pub mod eventbridge;
pub mod github;

use serde::{Deserialize, Serialize};

// Who acts and how a review stands: the vocabulary events share with the forge port.
pub use crate::domain::{Actor, ActorKind, ReviewState};

/// What a `pull_request` `closed` webhook says of a merged pull request. A merged pull
/// request never changes again (its head, base and head repository are final), so its
/// handling need not read it back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergedPr {
    pub head_sha: String,
    pub base_ref: String,
    pub base_sha: String,
    /// By repository id, as `From<Pull>` decides it: the head's repository is not the
    /// base's, or is gone.
    pub from_fork: bool,
}

/// The repository an event is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoRef {
    /// `owner/name` on GitHub; the repository name on CodeCommit.
    pub full_name: String,
    /// The GitHub App installation that delivered the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installation_id: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckSource {
    CheckRun,
    CheckSuite,
    Status,
}

/// What happened to a CodeCommit pull request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum CodeCommitChange {
    Created,
    SourceUpdated,
    Merged { merge_option: Option<String> },
    Closed,
    ApprovalChanged { approval_status: String },
}

/// Every inbound event, source-agnostic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    Ping,
    /// A successful, tagged push to ECR.
    ImagePushed {
        /// `ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME`.
        image: String,
        tag: String,
        digest: String,
        /// When ECR saw the push (RFC 3339).
        time: String,
    },
    CommentCreated {
        repo: RepoRef,
        comment_id: u64,
        body: String,
        author: Actor,
        /// The issue or pull request number.
        number: u64,
        /// False for a comment on a plain issue: commands there are ignored.
        is_pull_request: bool,
    },
    ReviewSubmitted {
        repo: RepoRef,
        pr: u64,
        state: ReviewState,
        reviewer: Actor,
        /// The head commit the review was given on: only a review of the current head
        /// counts, and one without a commit id counts for none.
        commit_id: Option<String>,
    },
    CheckCompleted {
        repo: RepoRef,
        source: CheckSource,
        /// Check run name, check suite app, or status context.
        name: String,
        /// `success`, `failure`, `neutral`, `cancelled`, `timed_out`, `action_required`,
        /// `skipped`, `stale`; for statuses `success`, `failure` or `error`.
        conclusion: String,
        head_sha: String,
        /// Pull requests GitHub links to the check (may be empty).
        prs: Vec<u64>,
    },
    PullRequestOpened {
        repo: RepoRef,
        pr: u64,
        head_ref: String,
        head_sha: String,
        base_ref: String,
        author: Actor,
    },
    PullRequestSynchronized {
        repo: RepoRef,
        pr: u64,
        head_ref: String,
        head_sha: String,
        sender: Actor,
    },
    PullRequestClosed {
        repo: RepoRef,
        pr: u64,
        head_ref: String,
        merged: bool,
        merge_commit_sha: Option<String>,
        /// The merged pull request as GitHub's signed webhook describes it; `None` from
        /// other sources and from events queued before it was kept.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        merged_pr: Option<MergedPr>,
    },
    CodeCommitPullRequest {
        repo: RepoRef,
        pr: String,
        #[serde(flatten)]
        change: CodeCommitChange,
        source_ref: String,
        source_commit: String,
        destination_ref: String,
        caller: Actor,
    },
    /// The event carries ids only; the comment's text is read through the forge.
    CodeCommitComment {
        repo: RepoRef,
        pr: String,
        comment_id: String,
        after_commit: String,
        caller: Actor,
    },
    /// A notification for one webhook, queued by Hoist itself, never received from
    /// outside: `url_env` names the webhook among the config's `notify` entries, and
    /// one not listed there is never sent.
    Notify {
        url_env: String,
        format: crate::config::NotifyFormat,
        /// Boxed: events are moved through every handler's future.
        notice: Box<crate::notify::Notice>,
    },
    /// Anything Hoist does not act on, with why. Answered 200 and not stored.
    Ignored {
        reason: String,
    },
}

impl Event {
    pub fn ignored(reason: impl Into<String>) -> Self {
        Event::Ignored {
            reason: reason.into(),
        }
    }

    /// The repository the event is about; `None` for ECR pushes and pings.
    pub fn repo(&self) -> Option<&RepoRef> {
        match self {
            Event::CommentCreated { repo, .. }
            | Event::ReviewSubmitted { repo, .. }
            | Event::CheckCompleted { repo, .. }
            | Event::PullRequestOpened { repo, .. }
            | Event::PullRequestSynchronized { repo, .. }
            | Event::PullRequestClosed { repo, .. }
            | Event::CodeCommitPullRequest { repo, .. }
            | Event::CodeCommitComment { repo, .. } => Some(repo),
            Event::Ping
            | Event::ImagePushed { .. }
            | Event::Notify { .. }
            | Event::Ignored { .. } => None,
        }
    }

    /// A short name for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Ping => "ping",
            Event::ImagePushed { .. } => "image_pushed",
            Event::CommentCreated { .. } => "comment_created",
            Event::ReviewSubmitted { .. } => "review_submitted",
            Event::CheckCompleted { .. } => "check_completed",
            Event::PullRequestOpened { .. } => "pull_request_opened",
            Event::PullRequestSynchronized { .. } => "pull_request_synchronized",
            Event::PullRequestClosed { .. } => "pull_request_closed",
            Event::CodeCommitPullRequest { .. } => "codecommit_pull_request",
            Event::CodeCommitComment { .. } => "codecommit_comment",
            Event::Notify { .. } => "notify",
            Event::Ignored { .. } => "ignored",
        }
    }

    /// Events with the same key are handled one at a time, in arrival order: everything
    /// about one pull request, or every push of one image.
    pub fn serial_key(&self) -> String {
        match self {
            Event::ImagePushed { image, .. } => format!("image:{image}"),
            Event::CommentCreated { repo, number, .. } => format!("pr:{}#{number}", repo.full_name),
            Event::ReviewSubmitted { repo, pr, .. }
            | Event::PullRequestOpened { repo, pr, .. }
            | Event::PullRequestSynchronized { repo, pr, .. }
            | Event::PullRequestClosed { repo, pr, .. } => format!("pr:{}#{pr}", repo.full_name),
            Event::CheckCompleted {
                repo,
                prs,
                head_sha,
                ..
            } => match prs.first() {
                Some(pr) => format!("pr:{}#{pr}", repo.full_name),
                None => format!("sha:{}@{head_sha}", repo.full_name),
            },
            Event::CodeCommitPullRequest { repo, pr, .. }
            | Event::CodeCommitComment { repo, pr, .. } => {
                format!("pr:{}#{pr}", repo.full_name)
            }
            // One webhook's notifications go out in order.
            Event::Notify { url_env, .. } => format!("notify:{url_env}"),
            Event::Ping | Event::Ignored { .. } => "none".into(),
        }
    }

    /// The pull request the event is about, where it is about one.
    pub fn pull_request(&self) -> Option<u64> {
        match self {
            Event::CommentCreated {
                number,
                is_pull_request: true,
                ..
            } => Some(*number),
            Event::ReviewSubmitted { pr, .. }
            | Event::PullRequestOpened { pr, .. }
            | Event::PullRequestSynchronized { pr, .. }
            | Event::PullRequestClosed { pr, .. } => Some(*pr),
            Event::CheckCompleted { prs, .. } => prs.first().copied(),
            Event::CodeCommitPullRequest { pr, .. } | Event::CodeCommitComment { pr, .. } => {
                pr.parse().ok()
            }
            _ => None,
        }
    }

    /// Whether the event is worth storing and handling.
    pub fn is_actionable(&self) -> bool {
        !matches!(self, Event::Ping | Event::Ignored { .. })
    }
}
