//! Required checks: which check run or commit status on a head satisfies a required
//! check. Trusted facts only: the name and conclusion the forge reports, and who posted
//! it as the forge asserts (the creating App's id or slug for a check run, the creator's
//! numeric id or login for a status). A check of the right name from anyone else does
//! not count: any writer can post a status, any installed App a check run.

use crate::config::Poster;
use crate::forge::{Check, PostedBy};

/// Conclusions that let a merge go ahead.
pub const PASSING: &[&str] = &["success", "neutral", "skipped"];

/// What a required check's latest accepted run says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict<'a> {
    Passed,
    Failed(&'a Check),
    /// Pending, or none posted by whom the config names.
    Waiting,
}

/// Whether `check` was posted by whom `poster` names.
pub fn posted_by(poster: &Poster, check: &Check) -> bool {
    match (poster, &check.posted_by) {
        (Poster::AnyApp, PostedBy::App { id, slug }) => id.is_some() || slug.is_some(),
        (Poster::AppId(want), PostedBy::App { id: Some(id), .. }) => id == want,
        (Poster::AppSlug(want), PostedBy::App { slug: Some(s), .. }) => s == want,
        (Poster::CreatorId(want), PostedBy::User(Some(a))) => a.id == *want,
        (Poster::Creator(want), PostedBy::User(Some(a))) => a.login.eq_ignore_ascii_case(want),
        _ => false,
    }
}

/// The verdict on required check `name` among `checks` (oldest first): the latest one
/// of that name posted by whom `poster` names decides.
pub fn judge<'a>(name: &str, poster: &Poster, checks: &'a [Check]) -> Verdict<'a> {
    match checks
        .iter()
        .rev()
        .find(|c| c.name == name && posted_by(poster, c))
    {
        Some(c) => match c.conclusion.as_deref() {
            Some(ok) if PASSING.contains(&ok) => Verdict::Passed,
            Some(_) => Verdict::Failed(c),
            None => Verdict::Waiting,
        },
        None => Verdict::Waiting,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Actor, ActorKind};

    fn run(app: Option<(u64, &str)>, conclusion: &str) -> Check {
        Check {
            name: "ci".into(),
            conclusion: Some(conclusion.into()),
            url: None,
            posted_by: PostedBy::App {
                id: app.map(|a| a.0),
                slug: app.map(|a| a.1.to_owned()),
            },
        }
    }

    fn status(by: Option<(u64, &str)>, conclusion: &str) -> Check {
        Check {
            name: "ci".into(),
            conclusion: Some(conclusion.into()),
            url: None,
            posted_by: PostedBy::User(by.map(|(id, login)| Actor {
                id,
                login: login.into(),
                kind: ActorKind::User,
            })),
        }
    }

    /// Kept whole: one table of poster, posted checks and expected verdict, asserted in one
    /// loop; a table reads best whole.
    #[test]
    fn only_the_named_poster_counts() {
        let ci = Some((15368, "github-actions"));
        let other_app = Some((99, "someone-elses-app"));
        let failed = run(ci, "failure");
        let table: Vec<(Poster, Vec<Check>, Verdict)> = vec![
            (
                Poster::AppSlug("github-actions".into()),
                vec![run(ci, "success")],
                Verdict::Passed,
            ),
            (
                Poster::AppId(15368),
                vec![run(ci, "success")],
                Verdict::Passed,
            ),
            (
                Poster::AppSlug("github-actions".into()),
                vec![run(other_app, "success")],
                Verdict::Waiting,
            ),
            (
                Poster::AppSlug("github-actions".into()),
                vec![status(Some((7, "github-actions")), "success")],
                Verdict::Waiting,
            ),
            (
                Poster::AnyApp,
                vec![run(other_app, "success")],
                Verdict::Passed,
            ),
            (
                Poster::AnyApp,
                vec![status(Some((7, "jenkins")), "success")],
                Verdict::Waiting,
            ),
            (Poster::AnyApp, vec![run(None, "success")], Verdict::Waiting),
            (
                Poster::CreatorId(7),
                vec![status(Some((7, "jenkins-renamed")), "success")],
                Verdict::Passed,
            ),
            (
                Poster::CreatorId(7),
                vec![status(Some((8, "jenkins")), "success")],
                Verdict::Waiting,
            ),
            (
                Poster::Creator("jenkins".into()),
                vec![status(Some((7, "Jenkins")), "success")],
                Verdict::Passed,
            ),
            (
                Poster::Creator("jenkins".into()),
                vec![status(None, "success")],
                Verdict::Waiting,
            ),
            (
                Poster::Creator("jenkins".into()),
                vec![run(ci, "success")],
                Verdict::Waiting,
            ),
            // A passing post by someone else after a failure by the named poster: failed.
            (
                Poster::AppId(15368),
                vec![run(ci, "failure"), run(other_app, "success")],
                Verdict::Failed(&failed),
            ),
        ];
        for (poster, checks, want) in &table {
            assert_eq!(&judge("ci", poster, checks), want, "{poster:?} {checks:?}");
        }
    }
}
