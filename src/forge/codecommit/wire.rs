//! CodeCommit's answers as the port's types, and its errors as the outcomes the engine
//! branches on.

use aws_sdk_codecommit::config::http::HttpResponse;
use aws_sdk_codecommit::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_codecommit::types::PullRequestStatusEnum;

use crate::forge::{ForgeError, PrState, PullRequest, Result};

/// A CodeCommit pull request as the port's type; `None` when it has no target.
pub(super) fn to_pr(p: &aws_sdk_codecommit::types::PullRequest) -> Option<PullRequest> {
    let t = p.pull_request_targets().first()?;
    let merged = t.merge_metadata().is_some_and(|m| m.is_merged());
    Some(PullRequest {
        number: p.pull_request_id()?.parse().ok()?,
        head_ref: short_ref(t.source_reference().unwrap_or_default()).to_owned(),
        head_sha: t.source_commit().unwrap_or_default().to_owned(),
        title: p.title().unwrap_or_default().to_owned(),
        body: p.description().unwrap_or_default().to_owned(),
        state: match (p.pull_request_status(), merged) {
            (_, true) => PrState::Merged,
            (Some(PullRequestStatusEnum::Open), _) => PrState::Open,
            _ => PrState::Closed,
        },
        merge_sha: t
            .merge_metadata()
            .and_then(|m| m.merge_commit_id())
            .map(Into::into),
        base_sha: t.destination_commit().unwrap_or_default().to_owned(),
        base_ref: short_ref(t.destination_reference().unwrap_or_default()).to_owned(),
        mergeable: None,
        // A CodeCommit pull request's source and destination are in one repository.
        from_fork: false,
    })
}

pub(super) fn short_ref(r: &str) -> &str {
    r.strip_prefix("refs/heads/").unwrap_or(r)
}

/// Maps the SDK's errors onto the outcomes the engine branches on, by exception name.
pub(super) fn map<E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static>(
    e: SdkError<E, HttpResponse>,
) -> ForgeError {
    match &e {
        SdkError::ServiceError(se) => {
            let code = se.err().code().unwrap_or("Unknown");
            let msg = format!("{code}: {}", se.err().message().unwrap_or_default());
            let status = se.raw().status().as_u16();
            match code {
                c if c.ends_with("DoesNotExistException") => ForgeError::NotFound(msg),
                // Conflicts with the base need a person: not the "moved under us" kind.
                "ManualMergeRequiredException" => ForgeError::Other(format!(
                    "{msg} (the branch conflicts with the base: resolve it, or close the pull request and let Hoist open a new one)"
                )),
                "ParentCommitIdOutdatedException"
                | "TipOfSourceReferenceIsDifferentException"
                | "RevisionNotCurrentException"
                | "BranchNameExistsException"
                | "ConcurrentReferenceUpdateException"
                | "PullRequestAlreadyClosedException"
                | "PullRequestApprovalRulesNotSatisfiedException" => ForgeError::Conflict(msg),
                "ThrottlingException" | "TooManyRequestsException" => ForgeError::Transient(msg),
                _ if status >= 500 => ForgeError::Transient(msg),
                _ => ForgeError::Other(msg),
            }
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            ForgeError::Transient(aws_sdk_codecommit::error::DisplayErrorContext(e).to_string())
        }
        _ => ForgeError::Other(aws_sdk_codecommit::error::DisplayErrorContext(e).to_string()),
    }
}

pub(super) fn build_err(e: aws_smithy_types::error::operation::BuildError) -> ForgeError {
    ForgeError::Other(e.to_string())
}

pub(super) fn is_code<T>(r: &Result<T>, code: &str) -> bool {
    matches!(r, Err(ForgeError::Other(m) | ForgeError::Conflict(m)) if m.starts_with(code))
}
