//! GitHub webhook payloads, read into minimal types holding only what Hoist uses
//! (GitHub omits fields often enough that full models break), then normalized.

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{Actor, ActorKind, CheckSource, Event, RepoRef, ReviewState};

/// A payload that did not decode; `path` names the JSON field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{event} payload: {message} (at {path})")]
pub struct DecodeError {
    pub event: String,
    pub path: String,
    pub message: String,
}

/// A GitHub user as webhooks and the REST API both carry it.
#[derive(Deserialize)]
pub(crate) struct User {
    id: u64,
    login: String,
    #[serde(rename = "type", default)]
    kind: String,
}

impl User {
    /// Apps act as `type: Bot`, and their logins end in `[bot]`.
    pub(crate) fn actor(self) -> Actor {
        Actor {
            id: self.id,
            kind: if self.kind == "Bot" || self.login.ends_with("[bot]") {
                ActorKind::Bot
            } else {
                ActorKind::User
            },
            login: self.login,
        }
    }
}

impl From<User> for Actor {
    fn from(u: User) -> Self {
        u.actor()
    }
}

#[derive(Deserialize)]
struct Repository {
    full_name: String,
}

#[derive(Deserialize)]
struct Installation {
    id: u64,
}

/// Fields every repository event carries.
#[derive(Deserialize)]
struct Envelope {
    repository: Repository,
    #[serde(default)]
    installation: Option<Installation>,
}

impl Envelope {
    fn repo(self) -> RepoRef {
        RepoRef {
            full_name: self.repository.full_name,
            installation_id: self.installation.map(|i| i.id),
        }
    }
}

#[derive(Deserialize)]
struct IssueComment {
    action: String,
    issue: Issue,
    comment: Comment,
}
#[derive(Deserialize)]
struct Issue {
    number: u64,
    #[serde(default)]
    pull_request: Option<serde_json::Value>,
}
#[derive(Deserialize)]
struct Comment {
    id: u64,
    #[serde(default)]
    body: String,
    user: User,
}

#[derive(Deserialize)]
struct Review {
    action: String,
    review: ReviewBody,
    pull_request: PullNumber,
}
#[derive(Deserialize)]
struct ReviewBody {
    state: String,
    user: User,
    #[serde(default)]
    commit_id: Option<String>,
}
#[derive(Deserialize)]
struct PullNumber {
    number: u64,
}

#[derive(Deserialize)]
struct CheckRunEvent {
    action: String,
    check_run: CheckRun,
}
#[derive(Deserialize)]
struct CheckRun {
    name: String,
    head_sha: String,
    #[serde(default)]
    conclusion: Option<String>,
    #[serde(default)]
    pull_requests: Vec<PullNumber>,
}

#[derive(Deserialize)]
struct CheckSuiteEvent {
    action: String,
    check_suite: CheckSuite,
}
#[derive(Deserialize)]
struct CheckSuite {
    head_sha: String,
    #[serde(default)]
    conclusion: Option<String>,
    #[serde(default)]
    pull_requests: Vec<PullNumber>,
    #[serde(default)]
    app: Option<App>,
}
#[derive(Deserialize)]
struct App {
    #[serde(default)]
    slug: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct StatusEvent {
    sha: String,
    context: String,
    state: String,
}

#[derive(Deserialize)]
struct PullRequestEvent {
    action: String,
    pull_request: PullRequest,
    #[serde(default)]
    sender: Option<User>,
}
#[derive(Deserialize)]
struct PullRequest {
    number: u64,
    #[serde(default)]
    merged: Option<bool>,
    #[serde(default)]
    merge_commit_sha: Option<String>,
    head: Branch,
    base: Branch,
    user: User,
}
#[derive(Deserialize)]
struct Branch {
    #[serde(rename = "ref")]
    name: String,
    sha: String,
    /// `null` when the head's fork was deleted.
    #[serde(default)]
    repo: Option<RepoId>,
}

#[derive(Deserialize, PartialEq)]
struct RepoId {
    id: u64,
}

fn parse<T: DeserializeOwned>(event: &str, body: &[u8]) -> Result<T, DecodeError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| DecodeError {
        event: event.to_owned(),
        path: e.path().to_string(),
        message: e.into_inner().to_string(),
    })
}

/// Normalizes one delivery. `event` is the `X-GitHub-Event` header.
///
/// Kept whole: one match over the `X-GitHub-Event` names, each arm parsing its payload and
/// mapping or ignoring its actions; it reads best as one table.
pub fn decode(event: &str, body: &[u8]) -> Result<Event, DecodeError> {
    let repo = || parse::<Envelope>(event, body).map(Envelope::repo);
    Ok(match event {
        "ping" => {
            parse::<serde_json::Value>(event, body)?;
            Event::Ping
        }
        "issue_comment" => {
            let p: IssueComment = parse(event, body)?;
            if p.action != "created" {
                // Edited comments are not re-run: a command runs once, when posted.
                return Ok(Event::ignored(format!(
                    "issue_comment {} (only new comments carry commands)",
                    p.action
                )));
            }
            Event::CommentCreated {
                repo: repo()?,
                comment_id: p.comment.id,
                body: p.comment.body,
                author: p.comment.user.actor(),
                number: p.issue.number,
                is_pull_request: p.issue.pull_request.is_some(),
            }
        }
        "pull_request_review" => {
            let p: Review = parse(event, body)?;
            let state = match (
                p.action.as_str(),
                p.review.state.to_ascii_lowercase().as_str(),
            ) {
                ("dismissed", _) | (_, "dismissed") => ReviewState::Dismissed,
                ("submitted", "approved") => ReviewState::Approved,
                ("submitted", "changes_requested") => ReviewState::ChangesRequested,
                ("submitted", "commented") => ReviewState::Commented,
                (a, s) => {
                    return Ok(Event::ignored(format!(
                        "pull_request_review {a} with state {s}"
                    )));
                }
            };
            Event::ReviewSubmitted {
                repo: repo()?,
                pr: p.pull_request.number,
                state,
                reviewer: p.review.user.actor(),
                commit_id: p.review.commit_id,
            }
        }
        "check_run" => {
            let p: CheckRunEvent = parse(event, body)?;
            match (p.action.as_str(), p.check_run.conclusion) {
                ("completed", Some(conclusion)) => Event::CheckCompleted {
                    repo: repo()?,
                    source: CheckSource::CheckRun,
                    name: p.check_run.name,
                    conclusion,
                    head_sha: p.check_run.head_sha,
                    prs: p.check_run.pull_requests.iter().map(|p| p.number).collect(),
                },
                (a, _) => Event::ignored(format!("check_run {a} (only completed runs decide)")),
            }
        }
        "check_suite" => {
            let p: CheckSuiteEvent = parse(event, body)?;
            match (p.action.as_str(), p.check_suite.conclusion) {
                ("completed", Some(conclusion)) => Event::CheckCompleted {
                    repo: repo()?,
                    source: CheckSource::CheckSuite,
                    name: p
                        .check_suite
                        .app
                        .and_then(|a| a.slug.or(a.name))
                        .unwrap_or_else(|| "check_suite".into()),
                    conclusion,
                    head_sha: p.check_suite.head_sha,
                    prs: p
                        .check_suite
                        .pull_requests
                        .iter()
                        .map(|p| p.number)
                        .collect(),
                },
                (a, _) => Event::ignored(format!("check_suite {a} (only completed suites decide)")),
            }
        }
        "status" => {
            let p: StatusEvent = parse(event, body)?;
            if p.state == "pending" {
                return Ok(Event::ignored("status pending (only final states decide)"));
            }
            Event::CheckCompleted {
                repo: repo()?,
                source: CheckSource::Status,
                name: p.context,
                conclusion: p.state,
                head_sha: p.sha,
                prs: vec![],
            }
        }
        "pull_request" => {
            let p: PullRequestEvent = parse(event, body)?;
            let pr = p.pull_request;
            match p.action.as_str() {
                "opened" | "reopened" => Event::PullRequestOpened {
                    repo: repo()?,
                    pr: pr.number,
                    head_ref: pr.head.name,
                    head_sha: pr.head.sha,
                    base_ref: pr.base.name,
                    author: pr.user.actor(),
                },
                "synchronize" => Event::PullRequestSynchronized {
                    repo: repo()?,
                    pr: pr.number,
                    head_ref: pr.head.name,
                    head_sha: pr.head.sha,
                    sender: p.sender.map_or_else(|| pr.user.actor(), User::actor),
                },
                "closed" => {
                    let merged = pr.merged == Some(true);
                    let from_fork = match (&pr.head.repo, &pr.base.repo) {
                        (Some(head), Some(base)) => head != base,
                        _ => true,
                    };
                    Event::PullRequestClosed {
                        repo: repo()?,
                        pr: pr.number,
                        merged_pr: merged.then(|| super::MergedPr {
                            head_sha: pr.head.sha.clone(),
                            base_ref: pr.base.name.clone(),
                            base_sha: pr.base.sha.clone(),
                            from_fork,
                        }),
                        head_ref: pr.head.name,
                        merged,
                        merge_commit_sha: pr.merge_commit_sha.filter(|_| merged),
                    }
                }
                a => Event::ignored(format!("pull_request {a}")),
            }
        }
        other => Event::ignored(format!("GitHub event {other:?} is not one Hoist handles")),
    })
}
