//! `hoist doctor` and IAM: whether Hoist's AWS identity may make each call Hoist makes,
//! asked of IAM's policy simulator (`iam:SimulatePrincipalPolicy`) for Hoist's own
//! principal on each resource it calls. Facts come from STS (who Hoist is) and IAM (what
//! its policies allow); nothing here decides a promotion.

use super::Check;
use crate::config::{Config, Forge as ForgeConfig, MergeMethod};
use crate::messages::doctor as say;

/// What Hoist calls on its CodeCommit repository, merges aside (one, by the config).
/// docs/aws.md lists the same as a policy.
const CODECOMMIT_ACTIONS: &[&str] = &[
    "codecommit:GetBranch",
    "codecommit:CreateBranch",
    "codecommit:DeleteBranch",
    "codecommit:GetFile",
    "codecommit:GetCommit",
    "codecommit:GetDifferences",
    "codecommit:GetMergeOptions",
    "codecommit:CreateCommit",
    "codecommit:CreatePullRequest",
    "codecommit:GetPullRequest",
    "codecommit:ListPullRequests",
    "codecommit:UpdatePullRequestTitle",
    "codecommit:UpdatePullRequestDescription",
    "codecommit:UpdatePullRequestStatus",
    "codecommit:GetCommentsForPullRequest",
    "codecommit:PostCommentForPullRequest",
    "codecommit:UpdateComment",
    "codecommit:PutCommentReaction",
    "codecommit:GetPullRequestApprovalStates",
    "codecommit:EvaluatePullRequestApprovalRules",
];

/// What Hoist calls on each service's ECR repository: its tags, and the image config
/// for labels.
const ECR_ACTIONS: &[&str] = &[
    "ecr:DescribeImages",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
];

/// The IAM principal a caller ARN (from `sts:GetCallerIdentity`) stands for, as the
/// simulator takes it: a role's session is simulated as its role. `None` for what IAM
/// cannot simulate (the account's root, a federated user).
///
/// A role with a path (`role/team/hoist`) loses it in a session ARN; IAM then answers
/// that it has no such role, which is said as not checked.
pub fn principal(caller: &str) -> Option<String> {
    let mut parts = caller.splitn(6, ':');
    let (arn, partition, service, _region, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if arn != "arn" {
        return None;
    }
    match service {
        "sts" => {
            let role = resource.strip_prefix("assumed-role/")?.split('/').next()?;
            Some(format!("arn:{partition}:iam::{account}:role/{role}"))
        }
        "iam" if resource.starts_with("user/") || resource.starts_with("role/") => {
            Some(caller.to_owned())
        }
        _ => None,
    }
}

/// Each resource Hoist calls with the actions it calls there, from the config: the
/// CodeCommit repository (in the caller's account and partition, as Hoist reaches it by
/// name) and each service's ECR repository (by its image's registry).
pub fn asks(config: &Config, caller: &str) -> Vec<(String, Vec<String>)> {
    let fields: Vec<&str> = caller.split(':').collect();
    let partition = fields.get(1).copied().unwrap_or("aws");
    let account = fields.get(4).copied().unwrap_or_default();
    let mut out: Vec<(String, Vec<String>)> = vec![];
    if let ForgeConfig::Codecommit(cc) = &config.forge {
        let mut actions: Vec<String> = CODECOMMIT_ACTIONS.iter().map(|a| a.to_string()).collect();
        actions.push(
            match config.merge.method {
                MergeMethod::FastForward => "codecommit:MergePullRequestByFastForward",
                MergeMethod::Merge => "codecommit:MergePullRequestByThreeWay",
                MergeMethod::Squash | MergeMethod::Rebase => "codecommit:MergePullRequestBySquash",
            }
            .to_owned(),
        );
        out.push((
            format!(
                "arn:{partition}:codecommit:{}:{account}:{}",
                cc.region, cc.repository
            ),
            actions,
        ));
    }
    for (_, svc) in config.services.iter() {
        let Some((registry, region, repo)) = crate::registry::ecr::parts(&svc.image) else {
            continue;
        };
        let arn = format!("arn:{partition}:ecr:{region}:{registry}:repository/{repo}");
        if !out.iter().any(|(r, _)| *r == arn) {
            out.push((arn, ECR_ACTIONS.iter().map(|a| a.to_string()).collect()));
        }
    }
    out
}

/// Asks IAM, for `caller`'s principal, whether each of `asks` is allowed: one line per
/// resource, naming every action IAM denies. A simulator that does not answer (Hoist's
/// role may not call it, or the principal is not one IAM simulates) is a warning with
/// the list to compare by hand: doctor cannot say either way.
pub async fn simulate(
    iam: &aws_sdk_iam::Client,
    caller: &str,
    asks: &[(String, Vec<String>)],
) -> Vec<Check> {
    let Some(principal) = principal(caller) else {
        return vec![Check::warn(
            say::iam_not_simulated(caller, say::IAM_NOT_A_PRINCIPAL),
            say::IAM_SIMULATE_FIX.to_owned(),
        )];
    };
    let mut out = vec![];
    for (resource, actions) in asks {
        match denied(iam, &principal, resource, actions).await {
            Ok(denied) if denied.is_empty() => out.push(Check::pass(say::iam_allows(
                &principal,
                actions.len(),
                resource,
            ))),
            Ok(denied) => out.push(Check::fail(
                say::iam_denies(&principal, &denied.join(", "), resource),
                say::IAM_DENIED_FIX.to_owned(),
            )),
            Err(why) => {
                // One answer tells for every resource: the simulator is out of reach.
                let fix = if why.starts_with("NoSuchEntity") {
                    say::IAM_NO_SUCH_PRINCIPAL_FIX
                } else {
                    say::IAM_SIMULATE_FIX
                };
                return vec![Check::warn(
                    say::iam_not_simulated(&principal, &why),
                    fix.to_owned(),
                )];
            }
        }
    }
    out
}

/// The actions IAM's simulator does not allow `principal` on `resource`, every page read.
async fn denied(
    iam: &aws_sdk_iam::Client,
    principal: &str,
    resource: &str,
    actions: &[String],
) -> Result<Vec<String>, String> {
    let mut denied = vec![];
    let mut marker: Option<String> = None;
    // Bounded: a simulator that kept answering "more" would otherwise hold doctor forever.
    for _ in 0..100 {
        let page = iam
            .simulate_principal_policy()
            .policy_source_arn(principal)
            .set_action_names(Some(actions.to_vec()))
            .resource_arns(resource)
            .set_marker(marker.take())
            .send()
            .await
            .map_err(crate::aws::said)?;
        denied.extend(
            page.evaluation_results()
                .iter()
                .filter(|r| r.eval_decision().as_str() != "allowed")
                .map(|r| r.eval_action_name().to_owned()),
        );
        match page.marker() {
            Some(m) if page.is_truncated() => marker = Some(m.to_owned()),
            _ => return Ok(denied),
        }
    }
    Ok(denied)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_session_is_simulated_as_its_role() {
        for (caller, principal) in [
            (
                "arn:aws:sts::123456789012:assumed-role/hoist/i-0abc",
                Some("arn:aws:iam::123456789012:role/hoist"),
            ),
            (
                "arn:aws-cn:sts::123456789012:assumed-role/hoist/botocore-session-1",
                Some("arn:aws-cn:iam::123456789012:role/hoist"),
            ),
            (
                "arn:aws:iam::123456789012:user/ci/hoist",
                Some("arn:aws:iam::123456789012:user/ci/hoist"),
            ),
            ("arn:aws:iam::123456789012:root", None),
            ("arn:aws:sts::123456789012:federated-user/bob", None),
            ("not an arn", None),
        ] {
            assert_eq!(super::principal(caller).as_deref(), principal, "{caller}");
        }
    }
}
