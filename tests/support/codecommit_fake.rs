//! A CodeCommit test server: the JSON protocol (`X-Amz-Target:
//! CodeCommit_20150413.<Operation>`) over a real bare git repository, so files, trees,
//! commits and merges are git's own. The caller is the IAM principal its SigV4 access
//! key maps to. It answers `sts:GetCallerIdentity` and IAM's policy simulator too
//! (`support::aws_query`), and ECR's `DescribeImages` (an empty registry, for
//! `hoist serve`'s reconcile), and queues the EventBridge
//! events CodeCommit would send (pull request state changes, comments) for the test to
//! deliver. Error names and rules follow the CodeCommit API reference.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Value, json};

pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";
/// Comments, pull request ids and differences come back in pages this small, so every
/// listing's pagination is exercised.
const PAGE: usize = 2;

#[derive(Debug, Clone)]
pub struct Pr {
    pub id: u64,
    pub title: String,
    pub description: String,
    pub open: bool,
    pub author: String,
    pub source_ref: String,
    pub dest_ref: String,
    pub source_commit: String,
    pub dest_commit: String,
    pub merge_base: String,
    pub revision: u64,
    pub merge_commit: Option<String>,
    pub merged_by: Option<String>,
    pub merge_option: String,
    /// Approvals needed by the pull request's approval rule, if it has one.
    pub rule: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct CommentRec {
    pub id: String,
    /// Changed by UpdateComment after it was posted.
    pub edited: bool,
    pub pr: u64,
    pub author: String,
    pub content: String,
    pub seq: u64,
}

#[derive(Default)]
pub struct State {
    pub git: PathBuf,
    pub repo: String,
    pub default_branch: String,
    /// SigV4 access key id to the ARN that key signs as.
    pub keys: HashMap<String, String>,
    pub prs: BTreeMap<u64, Pr>,
    pub comments: Vec<CommentRec>,
    /// (comment id, caller) to the reaction's short code.
    pub reactions: BTreeMap<(String, String), String>,
    /// (pull request, revision) to each principal's approval state.
    pub approvals: HashMap<(u64, u64), BTreeMap<String, String>>,
    /// EventBridge events not yet taken by the test.
    pub events: Vec<Value>,
    /// Every operation served, as `Operation by ARN`.
    pub calls: Vec<String>,
    /// Answers given verbatim instead of serving the operation (published payloads).
    pub canned: HashMap<String, Value>,
    /// Approval rule templates associated with the repository, by name.
    pub templates: Vec<String>,
    /// IAM's users and roles, and what its policies deny, for its policy simulator.
    pub iam: super::aws_query::Iam,
    next: u64,
}

#[derive(Clone)]
pub struct CodeCommitFake {
    pub url: String,
    pub state: Arc<Mutex<State>>,
    _dir: Arc<tempfile::TempDir>,
}

struct Fail(&'static str, String);

type Out = Result<Value, Fail>;

fn fail<T>(code: &'static str, msg: impl Into<String>) -> Result<T, Fail> {
    Err(Fail(code, msg.into()))
}

/// Runs git on the bare repository; `None` when git refuses.
fn git(dir: &Path, args: &[&str], env: &[(&str, &str)], input: Option<&[u8]>) -> Option<Vec<u8>> {
    let mut c = Command::new("git");
    c.arg("--git-dir").arg(dir).args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = c.spawn().expect("git runs");
    if let Some(i) = input {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(i).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    out.status.success().then_some(out.stdout)
}

fn text(b: Vec<u8>) -> String {
    String::from_utf8(b).unwrap().trim_end().to_owned()
}

impl State {
    fn git(&self, args: &[&str]) -> Option<String> {
        git(&self.git, args, &[], None).map(text)
    }

    fn id(&mut self) -> String {
        self.next += 1;
        format!("{:024x}", self.next * 0x9e37_79b9)
    }

    /// A branch name or commit id to a commit id.
    fn resolve(&self, spec: &str) -> Option<String> {
        let spec = spec.strip_prefix("refs/heads/").unwrap_or(spec);
        self.git(&[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("refs/heads/{spec}^{{commit}}"),
        ])
        .or_else(|| {
            self.git(&[
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("{spec}^{{commit}}"),
            ])
        })
    }

    fn tip(&self, branch: &str) -> Option<String> {
        self.git(&[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("refs/heads/{branch}"),
        ])
    }

    /// Moves `branch` from `old` to `new` (git refuses if it moved meanwhile).
    fn set_ref(&self, branch: &str, new: &str, old: &str) -> bool {
        self.git(&["update-ref", &format!("refs/heads/{branch}"), new, old])
            .is_some()
    }

    fn commit_tree(
        &self,
        tree: &str,
        parents: &[&str],
        msg: &str,
        name: &str,
        email: &str,
    ) -> String {
        let mut args = vec!["commit-tree", tree];
        for p in parents {
            args.extend(["-p", p]);
        }
        args.extend(["-m", msg]);
        let env = [
            ("GIT_AUTHOR_NAME", name),
            ("GIT_AUTHOR_EMAIL", email),
            ("GIT_COMMITTER_NAME", name),
            ("GIT_COMMITTER_EMAIL", email),
        ];
        text(git(&self.git, &args, &env, None).unwrap())
    }

    fn pr_json(&self, p: &Pr) -> Value {
        let mut target = json!({
            "repositoryName": self.repo,
            "sourceReference": p.source_ref,
            "destinationReference": p.dest_ref,
            "sourceCommit": p.source_commit,
            "destinationCommit": p.dest_commit,
            "mergeBase": p.merge_base,
            "mergeMetadata": {"isMerged": p.merge_commit.is_some()},
        });
        if let Some(m) = &p.merge_commit {
            target["mergeMetadata"]["mergeCommitId"] = m.clone().into();
            target["mergeMetadata"]["mergedBy"] = p.merged_by.clone().into();
            target["mergeMetadata"]["mergeOption"] = p.merge_option.clone().into();
        }
        let rules: Vec<Value> = p
            .rule
            .map(|n| {
                json!({"approvalRuleId": "rule-1", "approvalRuleName": "approvers",
                "approvalRuleContent": format!("{{\"Version\":\"2018-11-08\",\"Statements\":[{{\"Type\":\"Approvers\",\"NumberOfApprovalsNeeded\":{n}}}]}}")})
            })
            .into_iter()
            .collect();
        json!({
            "pullRequestId": p.id.to_string(),
            "title": p.title,
            "description": p.description,
            "pullRequestStatus": if p.open { "OPEN" } else { "CLOSED" },
            "authorArn": p.author,
            "revisionId": format!("rev-{}-{}", p.id, p.revision),
            "creationDate": 1_795_000_000 + p.id,
            "lastActivityDate": 1_795_000_000 + p.id,
            "pullRequestTargets": [target],
            "approvalRules": rules,
        })
    }

    fn pr(&self, id: &Value) -> Result<Pr, Fail> {
        let id: u64 = id.as_str().and_then(|s| s.parse().ok()).ok_or(Fail(
            "InvalidPullRequestIdException",
            "not a pull request id".into(),
        ))?;
        self.prs.get(&id).cloned().ok_or(Fail(
            "PullRequestDoesNotExistException",
            format!("no pull request {id}"),
        ))
    }

    fn event(&mut self, detail_type: &str, detail: Value) {
        let id = self.id();
        self.events.push(json!({
            "version": "0",
            "id": id,
            "detail-type": detail_type,
            "source": "aws.codecommit",
            "account": ACCOUNT,
            "time": "2026-11-26T10:00:00Z",
            "region": REGION,
            "resources": [format!("arn:aws:codecommit:{REGION}:{ACCOUNT}:{}", self.repo)],
            "detail": detail,
        }));
    }

    fn pr_event(&mut self, p: &Pr, event: &str, caller: &str, extra: Value) {
        let mut d = json!({
            "event": event,
            "pullRequestId": p.id.to_string(),
            "repositoryNames": [self.repo],
            "sourceReference": p.source_ref,
            "sourceCommit": p.source_commit,
            "destinationReference": p.dest_ref,
            "destinationCommit": p.dest_commit,
            "callerUserArn": caller,
            "author": p.author,
            "title": p.title,
            "revisionId": format!("rev-{}-{}", p.id, p.revision),
            "isMerged": if p.merge_commit.is_some() { "True" } else { "False" },
            "pullRequestStatus": if p.open { "Open" } else { "Closed" },
        });
        for (k, v) in extra.as_object().unwrap() {
            d[k] = v.clone();
        }
        self.event("CodeCommit Pull Request State Change", d);
    }

    /// Open pull requests follow their source branch: a new tip is a new revision,
    /// which resets approvals, and CodeCommit tells of it.
    fn follow_branch(&mut self, branch: &str, caller: &str) {
        let tip = self.tip(branch);
        let moved: Vec<Pr> = self
            .prs
            .values_mut()
            .filter(|p| p.open && p.source_ref == format!("refs/heads/{branch}"))
            .filter(|p| tip.as_deref().is_some_and(|t| t != p.source_commit))
            .map(|p| {
                p.source_commit = tip.clone().unwrap();
                p.revision += 1;
                p.clone()
            })
            .collect();
        for p in moved {
            let base = self
                .git(&["merge-base", &p.source_commit, &p.dest_commit])
                .unwrap_or_default();
            self.prs.get_mut(&p.id).unwrap().merge_base = base;
            self.pr_event(&p, "pullRequestSourceBranchUpdated", caller, json!({}));
        }
    }

    fn comment_json(&self, c: &CommentRec) -> Value {
        json!({
            "commentId": c.id,
            "content": c.content,
            "authorArn": c.author,
            "creationDate": 1_795_000_000 + c.seq,
            "lastModifiedDate": 1_795_000_000 + c.seq + u64::from(c.edited),
            "deleted": false,
        })
    }

    fn approved(&self, p: &Pr) -> bool {
        let n = self
            .approvals
            .get(&(p.id, p.revision))
            .map_or(0, |a| a.values().filter(|s| *s == "APPROVE").count());
        p.rule.is_none_or(|need| n >= need as usize)
    }

    fn serve(&mut self, op: &str, caller: &str, b: &Value) -> Out {
        if let Some(v) = self.canned.get(op) {
            return Ok(v.clone());
        }
        let s = |k: &str| b[k].as_str().unwrap_or_default().to_owned();
        if let Some(r) = b.get("repositoryName").and_then(Value::as_str)
            && r != self.repo
        {
            return fail(
                "RepositoryDoesNotExistException",
                format!("{r} does not exist"),
            );
        }
        match op {
            "GetBranch" => {
                let name = s("branchName");
                match self.tip(&name) {
                    Some(c) => Ok(json!({"branch": {"branchName": name, "commitId": c}})),
                    None => fail(
                        "BranchDoesNotExistException",
                        format!("{name} does not exist"),
                    ),
                }
            }
            "CreateBranch" => {
                let (name, commit) = (s("branchName"), s("commitId"));
                if self.tip(&name).is_some() {
                    return fail("BranchNameExistsException", format!("{name} exists"));
                }
                let Some(c) = self.resolve(&commit) else {
                    return fail("CommitDoesNotExistException", commit);
                };
                self.set_ref(&name, &c, &"0".repeat(40));
                Ok(json!({}))
            }
            "DeleteBranch" => {
                let name = s("branchName");
                if name == self.default_branch {
                    return fail("DefaultBranchCannotBeDeletedException", name);
                }
                let Some(c) = self.tip(&name) else {
                    return fail(
                        "BranchDoesNotExistException",
                        format!("{name} does not exist"),
                    );
                };
                self.git(&["update-ref", "-d", &format!("refs/heads/{name}")]);
                // As CodeCommit does, the open pull requests from the branch close.
                let closed: Vec<Pr> = self
                    .prs
                    .values_mut()
                    .filter(|p| p.open && p.source_ref == format!("refs/heads/{name}"))
                    .map(|p| {
                        p.open = false;
                        p.clone()
                    })
                    .collect();
                for p in closed {
                    self.pr_event(&p, "pullRequestStatusChanged", caller, json!({}));
                }
                Ok(json!({"deletedBranch": {"branchName": name, "commitId": c}}))
            }
            "GetFile" => {
                let (spec, path) = (s("commitSpecifier"), s("filePath"));
                let Some(c) = self.resolve(&spec) else {
                    return fail("CommitDoesNotExistException", spec);
                };
                let Some(blob) =
                    self.git(&["rev-parse", "--verify", "--quiet", &format!("{c}:{path}")])
                else {
                    return fail("FileDoesNotExistException", format!("{path} at {c}"));
                };
                let bytes = git(&self.git, &["cat-file", "blob", &blob], &[], None).unwrap();
                Ok(
                    json!({"commitId": c, "blobId": blob, "filePath": path, "fileMode": "NORMAL",
                    "fileSize": bytes.len(),
                    "fileContent": base64::engine::general_purpose::STANDARD.encode(&bytes)}),
                )
            }
            "CreateCommit" => self.create_commit(caller, b),
            "GetCommit" => {
                let id = s("commitId");
                let Some(raw) = self.git(&["cat-file", "commit", &id]) else {
                    return fail("CommitIdDoesNotExistException", id);
                };
                let (head, message) = raw.split_once("\n\n").unwrap_or((&raw, ""));
                let mut parents = vec![];
                let mut tree = String::new();
                let mut author = json!({});
                for line in head.lines() {
                    if let Some(p) = line.strip_prefix("parent ") {
                        parents.push(p.to_owned());
                    } else if let Some(t) = line.strip_prefix("tree ") {
                        tree = t.to_owned();
                    } else if let Some(a) = line.strip_prefix("author ") {
                        let (name, rest) = a.split_once(" <").unwrap();
                        let (email, date) = rest.split_once("> ").unwrap();
                        author = json!({"name": name, "email": email, "date": date});
                    }
                }
                Ok(
                    json!({"commit": {"commitId": id, "treeId": tree, "parents": parents,
                    "message": message, "author": author, "committer": author}}),
                )
            }
            "GetMergeOptions" => {
                let (src, dst) = (s("sourceCommitSpecifier"), s("destinationCommitSpecifier"));
                let (Some(a), Some(b2)) = (self.resolve(&src), self.resolve(&dst)) else {
                    return fail("CommitDoesNotExistException", format!("{src} or {dst}"));
                };
                let base = self.git(&["merge-base", &a, &b2]).unwrap_or_default();
                Ok(
                    json!({"mergeOptions": ["FAST_FORWARD_MERGE", "SQUASH_MERGE", "THREE_WAY_MERGE"],
                    "sourceCommitId": a, "destinationCommitId": b2, "baseCommitId": base}),
                )
            }
            "GetDifferences" => {
                let (before, after) = (s("beforeCommitSpecifier"), s("afterCommitSpecifier"));
                let (Some(x), Some(y)) = (self.resolve(&before), self.resolve(&after)) else {
                    return fail(
                        "CommitDoesNotExistException",
                        format!("{before} or {after}"),
                    );
                };
                let raw = self
                    .git(&["diff", "--name-status", "--no-renames", &x, &y])
                    .unwrap();
                let all: Vec<Value> = raw
                    .lines()
                    .filter_map(|l| l.split_once('\t'))
                    .map(|(kind, path)| {
                        let blob = json!({"path": path, "blobId": "0", "mode": "100644"});
                        match kind {
                            "A" => json!({"afterBlob": blob, "changeType": "A"}),
                            "D" => json!({"beforeBlob": blob, "changeType": "D"}),
                            _ => json!({"beforeBlob": blob, "afterBlob": blob, "changeType": "M"}),
                        }
                    })
                    .collect();
                Ok(page(all, "differences", b))
            }
            "CreatePullRequest" => {
                let t = &b["targets"][0];
                let src = t["sourceReference"].as_str().unwrap_or_default();
                let dst = t["destinationReference"].as_str().unwrap_or_default();
                let (Some(sc), Some(dc)) = (self.resolve(src), self.resolve(dst)) else {
                    return fail("ReferenceDoesNotExistException", format!("{src} or {dst}"));
                };
                let short = |r: &str| r.trim_start_matches("refs/heads/").to_owned();
                if short(src) == short(dst) {
                    return fail("SourceAndDestinationAreSameException", src.to_owned());
                }
                let title = s("title");
                if title.is_empty() || title.chars().count() > 150 {
                    return fail("InvalidTitleException", "titles are 1 to 150 characters");
                }
                if s("description").chars().count() > 10_240 {
                    return fail(
                        "InvalidDescriptionException",
                        "descriptions are at most 10,240 characters",
                    );
                }
                let id = self.prs.keys().last().map_or(1, |n| n + 1);
                let norm =
                    |r: &str| format!("refs/heads/{}", r.strip_prefix("refs/heads/").unwrap_or(r));
                let p = Pr {
                    id,
                    title,
                    description: s("description"),
                    open: true,
                    author: caller.to_owned(),
                    source_ref: norm(src),
                    dest_ref: norm(dst),
                    merge_base: self.git(&["merge-base", &sc, &dc]).unwrap_or_default(),
                    source_commit: sc,
                    dest_commit: dc,
                    revision: 1,
                    merge_commit: None,
                    merged_by: None,
                    merge_option: String::new(),
                    rule: None,
                };
                self.prs.insert(id, p.clone());
                self.pr_event(&p, "pullRequestCreated", caller, json!({}));
                Ok(json!({"pullRequest": self.pr_json(&p)}))
            }
            "GetPullRequest" => {
                let p = self.pr(&b["pullRequestId"])?;
                Ok(json!({"pullRequest": self.pr_json(&p)}))
            }
            "ListPullRequests" => {
                let want_open = b["pullRequestStatus"].as_str() != Some("CLOSED");
                let ids: Vec<Value> = self
                    .prs
                    .values()
                    .filter(|p| b["pullRequestStatus"].is_null() || p.open == want_open)
                    .map(|p| p.id.to_string().into())
                    .collect();
                Ok(page(ids, "pullRequestIds", b))
            }
            "UpdatePullRequestTitle" | "UpdatePullRequestDescription" => {
                let p = self.pr(&b["pullRequestId"])?;
                if !p.open {
                    return fail("PullRequestAlreadyClosedException", p.id.to_string());
                }
                let p = self.prs.get_mut(&p.id).unwrap();
                if op == "UpdatePullRequestTitle" {
                    p.title = s("title");
                } else {
                    p.description = s("description");
                }
                let p = p.clone();
                Ok(json!({"pullRequest": self.pr_json(&p)}))
            }
            "UpdatePullRequestStatus" => {
                let p = self.pr(&b["pullRequestId"])?;
                let open = s("pullRequestStatus") == "OPEN";
                let p = {
                    let p = self.prs.get_mut(&p.id).unwrap();
                    p.open = open;
                    p.clone()
                };
                self.pr_event(&p, "pullRequestStatusChanged", caller, json!({}));
                Ok(json!({"pullRequest": self.pr_json(&p)}))
            }
            "GetCommentsForPullRequest" => {
                let p = self.pr(&b["pullRequestId"])?;
                let groups: Vec<Value> = self
                    .comments
                    .iter()
                    .filter(|c| c.pr == p.id)
                    .map(|c| {
                        json!({"pullRequestId": p.id.to_string(), "repositoryName": self.repo,
                        "beforeCommitId": p.dest_commit, "afterCommitId": p.source_commit,
                        "comments": [self.comment_json(c)]})
                    })
                    .collect();
                Ok(page(groups, "commentsForPullRequestData", b))
            }
            "PostCommentForPullRequest" => {
                let p = self.pr(&b["pullRequestId"])?;
                let content = s("content");
                if content.is_empty() {
                    return fail("CommentContentRequiredException", "empty comment");
                }
                if content.chars().count() > 10_240 {
                    return fail(
                        "CommentContentSizeLimitExceededException",
                        "over 10,240 characters",
                    );
                }
                for k in ["beforeCommitId", "afterCommitId"] {
                    if self.resolve(&s(k)).is_none() {
                        return fail("CommitDoesNotExistException", format!("{k} {}", s(k)));
                    }
                }
                let id = self.id();
                let seq = self.comments.len() as u64;
                let c = CommentRec {
                    id: id.clone(),
                    edited: false,
                    pr: p.id,
                    author: caller.to_owned(),
                    content,
                    seq,
                };
                self.comments.push(c.clone());
                let repo = self.repo.clone();
                self.event(
                    "CodeCommit Comment on Pull Request",
                    json!({"event": "commentOnPullRequestCreated", "repositoryName": repo,
                    "pullRequestId": p.id.to_string(), "commentId": id,
                    "beforeCommitId": s("beforeCommitId"), "afterCommitId": s("afterCommitId"),
                    "callerUserArn": caller}),
                );
                Ok(
                    json!({"repositoryName": self.repo, "pullRequestId": p.id.to_string(),
                    "beforeCommitId": s("beforeCommitId"), "afterCommitId": s("afterCommitId"),
                    "comment": self.comment_json(&c)}),
                )
            }
            "UpdateComment" => {
                let id = s("commentId");
                let Some(c) = self.comments.iter_mut().find(|c| c.id == id) else {
                    return fail("CommentDoesNotExistException", id);
                };
                if c.author != caller {
                    return fail("CommentNotCreatedByCallerException", id);
                }
                c.content = s("content");
                c.edited = true;
                let c = c.clone();
                let repo = self.repo.clone();
                self.event(
                    "CodeCommit Comment on Pull Request",
                    json!({"event": "commentOnPullRequestUpdated", "repositoryName": repo,
                    "pullRequestId": c.pr.to_string(), "commentId": c.id,
                    "callerUserArn": caller}),
                );
                Ok(json!({"comment": self.comment_json(&c)}))
            }
            "PutCommentReaction" => {
                let (id, value) = (s("commentId"), s("reactionValue"));
                if !self.comments.iter().any(|c| c.id == id) {
                    return fail("CommentDoesNotExistException", id);
                }
                if !REACTIONS.contains(&value.as_str()) {
                    return fail("InvalidReactionValueException", value);
                }
                self.reactions.insert((id, caller.to_owned()), value);
                Ok(json!({}))
            }
            "GetPullRequestApprovalStates" => {
                let p = self.pr(&b["pullRequestId"])?;
                let rev = revision(&s("revisionId"), p.id)?;
                let approvals: Vec<Value> = self
                    .approvals
                    .get(&(p.id, rev))
                    .into_iter()
                    .flatten()
                    .map(|(who, st)| json!({"userArn": who, "approvalState": st}))
                    .collect();
                Ok(json!({"approvals": approvals}))
            }
            "UpdatePullRequestApprovalState" => {
                let p = self.pr(&b["pullRequestId"])?;
                let rev = revision(&s("revisionId"), p.id)?;
                if rev != p.revision {
                    return fail("RevisionNotCurrentException", s("revisionId"));
                }
                if p.author == caller {
                    return fail(
                        "PullRequestCannotBeApprovedByAuthorException",
                        caller.to_owned(),
                    );
                }
                let state = s("approvalState");
                self.approvals
                    .entry((p.id, rev))
                    .or_default()
                    .insert(caller.to_owned(), state.clone());
                self.pr_event(
                    &p,
                    "pullRequestApprovalStateChanged",
                    caller,
                    json!({"approvalStatus": state}),
                );
                Ok(json!({}))
            }
            "ListAssociatedApprovalRuleTemplatesForRepository" => {
                if s("repositoryName") != self.repo {
                    return fail("RepositoryDoesNotExistException", s("repositoryName"));
                }
                Ok(json!({"approvalRuleTemplateNames": self.templates}))
            }
            "EvaluatePullRequestApprovalRules" => {
                let p = self.pr(&b["pullRequestId"])?;
                let rev = revision(&s("revisionId"), p.id)?;
                if rev != p.revision {
                    return fail("RevisionNotCurrentException", s("revisionId"));
                }
                let ok = self.approved(&p);
                let (sat, not): (Vec<&str>, Vec<&str>) = if ok {
                    (vec!["approvers"], vec![])
                } else {
                    (vec![], vec!["approvers"])
                };
                Ok(json!({"evaluation": {"approved": ok, "overridden": false,
                    "approvalRulesSatisfied": sat, "approvalRulesNotSatisfied": not}}))
            }
            "MergePullRequestBySquash"
            | "MergePullRequestByThreeWay"
            | "MergePullRequestByFastForward" => self.merge(op, caller, b),
            _ => fail(
                "UnknownOperationException",
                format!("the fake does not serve {op}"),
            ),
        }
    }

    fn create_commit(&mut self, caller: &str, b: &Value) -> Out {
        let s = |k: &str| b[k].as_str().unwrap_or_default().to_owned();
        let branch = s("branchName");
        let Some(tip) = self.tip(&branch) else {
            return fail(
                "BranchDoesNotExistException",
                format!("{branch} does not exist"),
            );
        };
        let parent = s("parentCommitId");
        if parent.is_empty() {
            return fail("ParentCommitIdRequiredException", "the branch has commits");
        }
        if parent != tip {
            return fail(
                "ParentCommitIdOutdatedException",
                format!("{branch} is at {tip}"),
            );
        }
        let index = self.git.join(format!("index-{}", self.next));
        let index_s = index.to_str().unwrap().to_owned();
        let env = [("GIT_INDEX_FILE", index_s.as_str())];
        git(&self.git, &["read-tree", &tip], &env, None).unwrap();
        let mut paths = vec![];
        for f in b["putFiles"].as_array().into_iter().flatten() {
            let path = f["filePath"].as_str().unwrap_or_default();
            let content = base64::engine::general_purpose::STANDARD
                .decode(f["fileContent"].as_str().unwrap_or_default())
                .unwrap();
            let blob = text(
                git(
                    &self.git,
                    &["hash-object", "-w", "--stdin"],
                    &[],
                    Some(&content),
                )
                .unwrap(),
            );
            git(
                &self.git,
                &[
                    "update-index",
                    "--add",
                    "--cacheinfo",
                    &format!("100644,{blob},{path}"),
                ],
                &env,
                None,
            )
            .unwrap();
            paths.push(path.to_owned());
        }
        let tree = text(git(&self.git, &["write-tree"], &env, None).unwrap());
        std::fs::remove_file(&index).ok();
        let parent_tree = self
            .git(&["rev-parse", &format!("{tip}^{{tree}}")])
            .unwrap();
        if tree == parent_tree {
            return fail("NoChangeException", "the commit changes nothing");
        }
        let commit = self.commit_tree(
            &tree,
            &[&tip],
            &s("commitMessage"),
            &s("authorName"),
            &s("email"),
        );
        if !self.set_ref(&branch, &commit, &tip) {
            return fail("ParentCommitIdOutdatedException", branch);
        }
        self.follow_branch(&branch, caller);
        let files: Vec<Value> = paths
            .iter()
            .map(|p| json!({"absolutePath": p, "blobId": "0", "fileMode": "NORMAL"}))
            .collect();
        Ok(
            json!({"commitId": commit, "treeId": tree, "filesAdded": [], "filesUpdated": files, "filesDeleted": []}),
        )
    }

    fn merge(&mut self, op: &str, caller: &str, b: &Value) -> Out {
        let p = self.pr(&b["pullRequestId"])?;
        if !p.open {
            return fail("PullRequestAlreadyClosedException", p.id.to_string());
        }
        let src = p.source_ref.trim_start_matches("refs/heads/").to_owned();
        let dst = p.dest_ref.trim_start_matches("refs/heads/").to_owned();
        let tip = self.tip(&src).unwrap_or_default();
        let pinned = b["sourceCommitId"].as_str().unwrap_or_default();
        if pinned != tip {
            return fail(
                "TipOfSourceReferenceIsDifferentException",
                format!("{src} is at {tip}"),
            );
        }
        if !self.approved(&p) {
            return fail(
                "PullRequestApprovalRulesNotSatisfiedException",
                p.id.to_string(),
            );
        }
        let dest = self.tip(&dst).unwrap();
        let msg = b["commitMessage"].as_str().unwrap_or("Merged").to_owned();
        let name = b["authorName"].as_str().unwrap_or("codecommit").to_owned();
        let email = b["email"]
            .as_str()
            .unwrap_or("codecommit@example.com")
            .to_owned();
        let new = if op == "MergePullRequestByFastForward" {
            if self
                .git(&["merge-base", "--is-ancestor", &dest, &tip])
                .is_none()
            {
                return fail("ManualMergeRequiredException", "not a fast-forward");
            }
            tip.clone()
        } else {
            let Some(tree) = self.git(&["merge-tree", "--write-tree", &dest, &tip]) else {
                return fail("ManualMergeRequiredException", "the branches conflict");
            };
            let tree = tree.lines().next().unwrap().to_owned();
            let parents: Vec<&str> = if op == "MergePullRequestBySquash" {
                vec![&dest]
            } else {
                vec![&dest, &tip]
            };
            self.commit_tree(&tree, &parents, &msg, &name, &email)
        };
        if !self.set_ref(&dst, &new, &dest) {
            return fail("ConcurrentReferenceUpdateException", dst);
        }
        let p = {
            let p = self.prs.get_mut(&p.id).unwrap();
            p.open = false;
            p.merge_commit = Some(new);
            p.merged_by = Some(caller.to_owned());
            p.merge_option = match op {
                "MergePullRequestBySquash" => "SQUASH_MERGE",
                "MergePullRequestByThreeWay" => "THREE_WAY_MERGE",
                _ => "FAST_FORWARD_MERGE",
            }
            .to_owned();
            p.clone()
        };
        let option = p.merge_option.clone();
        self.pr_event(
            &p,
            "pullRequestMergeStatusUpdated",
            caller,
            json!({"mergeOption": option}),
        );
        Ok(json!({"pullRequest": self.pr_json(&p)}))
    }
}

/// The reactions CodeCommit's user guide lists by short code.
const REACTIONS: &[&str] = &[
    ":thumbsup:",
    ":thumbsdown:",
    ":smile:",
    ":heart:",
    ":angry:",
    ":confused:",
    ":eyes:",
    ":rocket:",
    ":tada:",
    ":laughing:",
    "none",
    "",
];

fn revision(id: &str, pr: u64) -> Result<u64, Fail> {
    id.strip_prefix(&format!("rev-{pr}-"))
        .and_then(|r| r.parse().ok())
        .ok_or(Fail("InvalidRevisionIdException", id.to_owned()))
}

/// One page of `items` under `key`, with the next token CodeCommit would give.
fn page(items: Vec<Value>, key: &str, b: &Value) -> Value {
    let from: usize = b["nextToken"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let mut out = json!({ key: items.iter().skip(from).take(PAGE).cloned().collect::<Vec<_>>() });
    if from + PAGE < items.len() {
        out["nextToken"] = (from + PAGE).to_string().into();
    }
    out
}

fn caller_key(headers: &HeaderMap) -> Option<String> {
    let auth = headers.get("authorization")?.to_str().ok()?;
    let cred = auth.split("Credential=").nth(1)?;
    Some(cred.split('/').next()?.to_owned())
}

fn error(status: StatusCode, code: &str, msg: &str) -> Response {
    (
        status,
        [
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amzn-errortype", code),
        ],
        json!({"__type": code, "message": msg}).to_string(),
    )
        .into_response()
}

impl CodeCommitFake {
    /// A repository `repo` whose default branch `main` holds every file under `seed`,
    /// and the access keys it knows: `(key id, ARN)`.
    pub async fn start(repo: &str, seed: &Path, keys: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let gitdir = dir.path().join("repo.git");
        let out = Command::new("git")
            .args(["init", "-q", "--bare"])
            .arg(&gitdir)
            .output()
            .unwrap();
        assert!(out.status.success());
        let index = dir.path().join("seed-index");
        let env = [("GIT_INDEX_FILE", index.to_str().unwrap())];
        let mut add = Command::new("git");
        add.arg("--git-dir")
            .arg(&gitdir)
            .arg("--work-tree")
            .arg(seed)
            .args(["add", "-A", "."]);
        add.env("GIT_INDEX_FILE", &index);
        assert!(add.output().unwrap().status.success());
        let tree = text(git(&gitdir, &["write-tree"], &env, None).unwrap());
        let st = State {
            git: gitdir,
            repo: repo.into(),
            default_branch: "main".into(),
            keys: keys
                .iter()
                .map(|(k, a)| ((*k).into(), (*a).into()))
                .collect(),
            ..State::default()
        };
        let root = st.commit_tree(
            &tree,
            &[],
            "The GitOps repository",
            "platform",
            "platform@example.com",
        );
        assert!(st.set_ref("main", &root, &"0".repeat(40)));
        let state = Arc::new(Mutex::new(st));
        let shared = state.clone();
        let app = axum::Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
            let state = shared.clone();
            async move {
                let target = headers
                    .get("x-amz-target")
                    .and_then(|t| t.to_str().ok())
                    .unwrap_or_default();
                let Some(arn) =
                    caller_key(&headers).and_then(|k| state.lock().unwrap().keys.get(&k).cloned())
                else {
                    // STS and IAM refuse an unknown key in their own (XML) words.
                    if target.is_empty() {
                        return super::aws_query::unknown_key();
                    }
                    return error(
                        StatusCode::FORBIDDEN,
                        "UnrecognizedClientException",
                        "unknown access key",
                    );
                };
                if target.is_empty() {
                    let iam = state.lock().unwrap().iam.clone();
                    if let Some(res) = super::aws_query::answer(&body, &arn, &iam) {
                        return res;
                    }
                }
                // hoist serve's reconcile lists the registry through the same endpoint:
                // an empty one.
                if target == "AmazonEC2ContainerRegistry_V20150921.DescribeImages" {
                    return (
                        [("content-type", "application/x-amz-json-1.1")],
                        "{\"imageDetails\":[]}",
                    )
                        .into_response();
                }
                let Some(op) = target.strip_prefix("CodeCommit_20150413.") else {
                    return error(StatusCode::BAD_REQUEST, "UnknownOperationException", target);
                };
                let Ok(b) = serde_json::from_slice::<Value>(&body) else {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "SerializationException",
                        "not JSON",
                    );
                };
                let mut s = state.lock().unwrap();
                s.calls.push(format!("{op} by {arn}"));
                match s.serve(op, &arn, &b) {
                    Ok(v) => (
                        [("content-type", "application/x-amz-json-1.1")],
                        v.to_string(),
                    )
                        .into_response(),
                    Err(Fail(code, msg)) => error(StatusCode::BAD_REQUEST, code, &msg),
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            url,
            state,
            _dir: Arc::new(dir),
        }
    }

    /// AWS configuration signing as `key`, pointed at this server, failing fast.
    pub fn sdk_config(&self, key: &str) -> aws_config::SdkConfig {
        aws_config::SdkConfig::builder()
            .endpoint_url(&self.url)
            .region(aws_config::Region::new(REGION))
            .credentials_provider(aws_sdk_codecommit::config::SharedCredentialsProvider::new(
                aws_sdk_codecommit::config::Credentials::new(key, "secret", None, None, "test"),
            ))
            .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1))
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build()
    }

    /// A CodeCommit client signing as `key`, as a person would use the console or CLI.
    pub fn client(&self, key: &str) -> aws_sdk_codecommit::Client {
        aws_sdk_codecommit::Client::new(&self.sdk_config(key))
    }

    pub fn take_events(&self) -> Vec<Value> {
        std::mem::take(&mut self.state.lock().unwrap().events)
    }

    pub fn file_at(&self, spec: &str, path: &str) -> Option<String> {
        let s = self.state.lock().unwrap();
        let c = s.resolve(spec)?;
        s.git(&["cat-file", "blob", &format!("{c}:{path}")])
    }

    pub fn tip(&self, branch: &str) -> Option<String> {
        self.state.lock().unwrap().tip(branch)
    }

    pub fn pr(&self, id: u64) -> Pr {
        self.state.lock().unwrap().prs[&id].clone()
    }

    /// Gives pull request `id` an approval rule needing `n` approvals.
    pub fn require_approvals(&self, id: u64, n: u32) {
        self.state.lock().unwrap().prs.get_mut(&id).unwrap().rule = Some(n);
    }

    /// Comments on pull request `id` by `arn`, oldest first.
    pub fn comments_by(&self, id: u64, arn: &str) -> Vec<String> {
        let s = self.state.lock().unwrap();
        s.comments
            .iter()
            .filter(|c| c.pr == id && c.author == arn)
            .map(|c| c.content.clone())
            .collect()
    }

    /// The git log of `spec`: (subject, author name) of each commit, newest first.
    pub fn log(&self, spec: &str) -> Vec<(String, String)> {
        let s = self.state.lock().unwrap();
        s.git(&["log", "--format=%s%x09%an", spec])
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split_once('\t'))
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
            .collect()
    }
}
