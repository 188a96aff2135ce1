//! Every machine-readable mark Hoist writes into the forge, each with its one writer and,
//! where Hoist reads it back, its one reader, so that the two cannot drift apart.
//!
//! Hoist reads a mark back only from a comment the forge says Hoist wrote (numeric user id
//! on GitHub, author ARN on CodeCommit). Branch names, the PR body block and commit
//! trailers are for people and tools: anyone can write them, and no decision reads them.

use serde::Serialize;

/// Hoist's check on a promotion's head: the gate and Argo CD's word on the stage.
pub const ARGOCD_CHECK: &str = "hoist/argocd";
/// Hoist's check on any pull request into the base: the DAG of stages.
pub const DAG_CHECK: &str = "hoist/dag";
/// GitHub: the neutral check run recording what Hoist wrote at a head; only one Hoist's
/// App created (by App id) counts.
pub const RECORD_CHECK: &str = "hoist/record";

/// Every branch Hoist writes starts with this.
pub const BRANCH_PREFIX: &str = "hoist/";

/// The branch Hoist writes the promotion of `service` to `stage` on.
pub fn branch(stage: &str, service: &str) -> String {
    format!("{BRANCH_PREFIX}{stage}/{service}")
}

/// The freight a promotion PR body describes, for tools reading the body.
#[derive(Debug, Clone, Serialize)]
pub struct BodyMeta<'a> {
    pub service: &'a str,
    pub stage: &'a str,
    pub image: &'a str,
    pub tag: &'a str,
    pub digest: &'a str,
    pub requested_by: &'a str,
}

/// The block that ends every promotion PR body. Hoist writes it and never reads it.
pub fn body_block(meta: &BodyMeta) -> String {
    let json = serde_json::to_string(meta).expect("meta serializes");
    format!("<!-- hoist:v1 {json} -->")
}

/// The trailers of a promotion's squash commit (`freight` is `service@sha256:…`), for
/// people reading the history. Hoist never reads them back.
pub fn trailers(freight: &str, stage: &str, requested_by: &str) -> String {
    format!("Hoist-Freight: {freight}\nHoist-Stage: {stage}\nHoist-Requested-By: {requested_by}\n")
}

/// The trailer naming the code owner whose approval passed the gate.
pub fn approved_by_trailer(who: &str) -> String {
    format!("Hoist-Approved-By: {who}\n")
}

/// The hidden mark that ends a comment of Hoist's, naming what it answers: a retried event
/// finds its comment by it (among Hoist's own) instead of posting it twice.
pub fn comment_mark(key: &str) -> String {
    format!("<!-- hoist:mark {key} -->")
}

/// `body` followed by the mark for `key`.
pub fn with_comment_mark(body: &str, key: &str) -> String {
    format!("{body}\n\n{}", comment_mark(key))
}

/// CodeCommit has no check runs: Hoist's comment standing for the check `name` ends with
/// this mark.
pub fn check_mark(name: &str) -> String {
    format!("<!-- hoist:check {name} -->")
}

/// CodeCommit: the comment recording what Hoist wrote at `sha`. The record opens the
/// comment, so text Hoist quotes in the summary (a commit's author, an override's reason)
/// can never stand first in one of its comments.
pub fn record_comment(sha: &str, record: &str, summary: &str) -> String {
    format!("<!-- hoist:record {sha} {record} -->\n{summary}")
}

/// The record a comment written by `record_comment` holds for `sha`, if it holds one.
pub fn read_record<'a>(body: &'a str, sha: &str) -> Option<&'a str> {
    let rest = body.strip_prefix(&format!("<!-- hoist:record {sha} "))?;
    Some(&rest[..rest.find(" -->")?])
}

/// A change to a stage's freeze, as Hoist records it at the top of its reply to the
/// command: what a lost store's freezes are rebuilt from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct FreezeRecord {
    pub stage: String,
    pub frozen: bool,
    pub by: String,
    pub reason: String,
    /// When, in milliseconds since the epoch (Hoist's clock).
    pub at: i64,
}

/// The release of the hold a merged rollback put on a service in a stage, as Hoist
/// records it at the top of its reply to `/unhold STAGE`: naming the rollback's pull
/// request, so that a lost store holds again for any later rollback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ReleaseRecord {
    pub service: String,
    pub stage: String,
    /// The rollback's pull request whose hold it released.
    pub pr: Option<u64>,
    /// Who released it, and when (milliseconds since the epoch, Hoist's clock): for
    /// people reading the record.
    pub by: String,
    pub at: i64,
}

const FREEZE_OPEN: &str = "<!-- hoist:freeze ";
const RELEASE_OPEN: &str = "<!-- hoist:unhold ";

/// The line recording `r` under `open`. Text a person wrote (a reason, a login) is
/// JSON-escaped, `<`, `>` and `-` included, so it can neither close the HTML comment nor
/// start another.
fn record_line(open: &str, r: &impl Serialize) -> String {
    let json = serde_json::to_string(r)
        .expect("a record serializes")
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('-', "\\u002d");
    format!("{open}{json} -->")
}

/// The records under `open` among the lines that open `body` (a record quoted further
/// down, after any other line, is not one).
fn read_records<T: serde::de::DeserializeOwned>(open: &str, body: &str) -> Vec<T> {
    body.lines()
        .take_while(|l| l.starts_with("<!-- hoist:") && l.ends_with(" -->"))
        .filter_map(|l| serde_json::from_str(l.strip_prefix(open)?.strip_suffix(" -->")?).ok())
        .collect()
}

pub fn freeze_record(r: &FreezeRecord) -> String {
    record_line(FREEZE_OPEN, r)
}

pub fn read_freeze_records(body: &str) -> Vec<FreezeRecord> {
    read_records(FREEZE_OPEN, body)
}

pub fn release_record(r: &ReleaseRecord) -> String {
    record_line(RELEASE_OPEN, r)
}

pub fn read_release_records(body: &str) -> Vec<ReleaseRecord> {
    read_records(RELEASE_OPEN, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branches_carry_the_prefix_reconcile_lists_by() {
        let b = branch("uat", "checkout-api");
        assert_eq!(b, "hoist/uat/checkout-api");
        assert!(b.starts_with(BRANCH_PREFIX));
    }

    #[test]
    fn a_comment_mark_ends_the_comment_it_marks() {
        let c = with_comment_mark("✅ Promoted.", "reply:42");
        assert_eq!(c, "✅ Promoted.\n\n<!-- hoist:mark reply:42 -->");
        assert!(c.ends_with(&comment_mark("reply:42")));
        assert!(!c.ends_with(&comment_mark("reply:4")));
    }

    #[test]
    fn a_record_reads_back_for_its_sha_only() {
        let c = record_comment("abc123", "dev:sha256:aa", "Hoist wrote this head");
        assert_eq!(read_record(&c, "abc123"), Some("dev:sha256:aa"));
        assert_eq!(read_record(&c, "abc12"), None);
        assert_eq!(read_record(&c, "def456"), None);
        // A record quoted later in a comment is not a record.
        let quoted = format!("Someone wrote:\n{c}");
        assert_eq!(read_record(&quoted, "abc123"), None);
    }

    #[test]
    fn a_freeze_record_reads_back_whatever_its_reason_says() {
        let r = FreezeRecord {
            stage: "prod".into(),
            frozen: true,
            by: "rel-mgr".into(),
            reason: "INC-7 --> <!-- hoist:freeze {} -->\nnext".into(),
            at: 1_796_583_661_000,
        };
        let line = freeze_record(&r);
        assert_eq!(line.matches("-->").count(), 1, "{line}");
        assert!(!line.contains('\n'));
        let body = format!("{line}\n{line}\nprod is frozen.\n{line}");
        assert_eq!(read_freeze_records(&body), vec![r.clone(), r.clone()]);
        assert_eq!(read_freeze_records(&format!("> quoted\n{line}")), vec![]);
    }

    #[test]
    fn trailers_and_the_body_block_are_as_documented() {
        assert_eq!(
            trailers("svc@sha256:aa", "prod", "sam"),
            "Hoist-Freight: svc@sha256:aa\nHoist-Stage: prod\nHoist-Requested-By: sam\n"
        );
        let meta = BodyMeta {
            service: "svc",
            stage: "dev",
            image: "r/svc",
            tag: "v1",
            digest: "sha256:aa",
            requested_by: "ecr-push",
        };
        assert_eq!(
            body_block(&meta),
            r#"<!-- hoist:v1 {"service":"svc","stage":"dev","image":"r/svc","tag":"v1","digest":"sha256:aa","requested_by":"ecr-push"} -->"#
        );
    }
}
