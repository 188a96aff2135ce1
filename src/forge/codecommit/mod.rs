//! The forge port on AWS CodeCommit through `aws-sdk-codecommit`.
//!
//! CodeCommit differs from GitHub in ways the engine never sees:
//! - people are IAM principals (ARNs); config maps CODEOWNERS names to them;
//! - there are no check runs: Hoist's checks are PR comments, updated in place;
//! - a branch cannot be reset: a superseding commit goes on top of Hoist's branch, and
//!   the squash merge still lands one commit;
//! - comment ids are strings: the engine gets a stable 64-bit hash of each.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use aws_sdk_codecommit::Client;
use aws_sdk_codecommit::types::{
    ApprovalState, FileModeTypeEnum, PullRequestStatusEnum, PutFileEntry, Target,
};
use aws_smithy_types::Blob;

use super::{
    Check, Comment, Commit, Conclusion, FileWrite, Forge, ForgeError, Permission, PrState,
    PullRequest, Reaction, Result, Review, Sha, principal,
};
use crate::config::MergeMethod;

mod text;
mod wire;

use crate::domain::{Actor, ActorKind, ReviewState};
use text::{MAX_COMMENT, cut, fit, title};
use wire::{build_err, is_code, map, to_pr};

/// The author Hoist writes its commits as. CodeCommit records no IAM identity on a
/// commit and anyone can type this name: Hoist knows its own commits from its store.
pub const COMMIT_NAME: &str = "hoist";
pub const COMMIT_EMAIL: &str = "hoist@noreply.codecommit";

/// Closed pull requests read per listing: reconcile only needs the recent ones.
const MAX_CLOSED: usize = 100;

pub struct CodeCommit {
    client: Client,
    repository: String,
    base: String,
    method: MergeMethod,
    owners: BTreeMap<String, Vec<String>>,
    me: Actor,
    /// Comment id hashes the engine holds, back to CodeCommit's ids.
    comment_ids: Mutex<HashMap<u64, String>>,
}

impl CodeCommit {
    /// The approval rule templates associated with the repository, by name, for
    /// `hoist doctor`: CodeCommit's own rule on who must approve before anyone merges.
    pub async fn approval_templates(&self) -> Result<Vec<String>> {
        let out = self
            .client
            .list_associated_approval_rule_templates_for_repository()
            .repository_name(&self.repository)
            .send()
            .await
            .map_err(map)?;
        Ok(out.approval_rule_template_names().to_vec())
    }

    /// Connects with `shared` (the default credential chain, or an endpoint override in
    /// tests) and learns who Hoist is from STS.
    pub async fn connect(
        shared: &aws_config::SdkConfig,
        cfg: &crate::config::CodeCommit,
        method: MergeMethod,
    ) -> Result<Self> {
        let region = aws_sdk_codecommit::config::Region::new(cfg.region.clone());
        let sts = aws_sdk_sts::Client::from_conf(
            aws_sdk_sts::config::Builder::from(shared)
                .region(region.clone())
                .build(),
        );
        let who = sts.get_caller_identity().send().await.map_err(|e| {
            ForgeError::Other(format!(
                "cannot learn Hoist's IAM identity (sts:GetCallerIdentity): {}",
                crate::aws::said(e)
            ))
        })?;
        let arn = who
            .arn()
            .ok_or_else(|| ForgeError::Other("sts:GetCallerIdentity returned no ARN".into()))?;
        let client = Client::from_conf(
            aws_sdk_codecommit::config::Builder::from(shared)
                .region(region)
                .build(),
        );
        Ok(Self {
            client,
            repository: cfg.repository.clone(),
            base: cfg.base.clone(),
            method,
            owners: cfg.codeowners_iam.clone(),
            me: Actor {
                id: 0,
                login: arn.to_owned(),
                kind: ActorKind::Bot,
            },
            comment_ids: Mutex::new(HashMap::new()),
        })
    }

    /// The actor an ARN stands for: Hoist itself for any session of Hoist's role.
    fn actor(&self, arn: &str) -> Actor {
        if principal::same(arn, &self.me.login) {
            self.me.clone()
        } else {
            Actor {
                id: 0,
                login: arn.to_owned(),
                kind: ActorKind::User,
            }
        }
    }

    fn mapped(&self, name: &str, user: &Actor) -> bool {
        let key = format!("@{}", name.trim_start_matches('@'));
        self.owners
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(&key))
            .flat_map(|(_, arns)| arns)
            .any(|arn| principal::same(arn, &user.login))
    }

    async fn get_pr(&self, number: u64) -> Result<aws_sdk_codecommit::types::PullRequest> {
        self.client
            .get_pull_request()
            .pull_request_id(number.to_string())
            .send()
            .await
            .map_err(map)?
            .pull_request
            .ok_or_else(|| ForgeError::Other(format!("pull request {number}: empty answer")))
    }

    async fn branch_tip(&self, branch: &str) -> Result<Option<Sha>> {
        match self
            .client
            .get_branch()
            .repository_name(&self.repository)
            .branch_name(branch)
            .send()
            .await
            .map_err(map)
        {
            Ok(o) => Ok(o.branch.and_then(|b| b.commit_id)),
            Err(ForgeError::NotFound(m)) if m.starts_with("BranchDoesNotExist") => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn list(&self, status: PullRequestStatusEnum) -> Result<Vec<u64>> {
        let mut ids: Vec<u64> = vec![];
        let mut token = None;
        loop {
            let out = self
                .client
                .list_pull_requests()
                .repository_name(&self.repository)
                .pull_request_status(status.clone())
                .set_next_token(token)
                .send()
                .await
                .map_err(map)?;
            ids.extend(
                out.pull_request_ids()
                    .iter()
                    .filter_map(|i| i.parse::<u64>().ok()),
            );
            token = out.next_token;
            if token.is_none() {
                break;
            }
        }
        // Ids grow with time: newest first.
        ids.sort_unstable_by(|a, b| b.cmp(a));
        Ok(ids)
    }

    /// Pull requests in `status` whose head branch starts with `prefix`, newest first.
    async fn prs(
        &self,
        status: PullRequestStatusEnum,
        prefix: &str,
        cap: usize,
    ) -> Result<Vec<PullRequest>> {
        use futures::{StreamExt, TryStreamExt};
        let ids = self.list(status).await?;
        // A few at a time: CodeCommit throttles bursts.
        let got: Vec<_> = futures::stream::iter(ids.into_iter().take(cap).map(|n| self.get_pr(n)))
            .buffered(4)
            .try_collect()
            .await?;
        Ok(got
            .iter()
            .filter_map(to_pr)
            .filter(|p| p.head_ref.starts_with(prefix))
            .collect())
    }

    /// The existing comment of Hoist's carrying `marker`, by CodeCommit id.
    async fn own_comment_with(
        &self,
        number: u64,
        marker: &str,
    ) -> Result<Option<(String, String)>> {
        let comments = self.comments(number).await?;
        let ids = self.comment_ids.lock().unwrap();
        Ok(comments
            .into_iter()
            .find(|c| c.author.is(&self.me) && c.body.contains(marker))
            .and_then(|c| Some((ids.get(&c.id)?.clone(), c.body))))
    }
}

impl Forge for CodeCommit {
    fn base(&self) -> &str {
        &self.base
    }

    fn me(&self) -> &Actor {
        &self.me
    }

    async fn base_head(&self) -> Result<Sha> {
        self.branch_tip(&self.base)
            .await
            .and_then(|t| t.ok_or_else(|| ForgeError::NotFound(format!("branch {}", self.base))))
    }

    async fn read_file(&self, path: &str, at: &str) -> Result<Option<String>> {
        match self
            .client
            .get_file()
            .repository_name(&self.repository)
            .commit_specifier(at)
            .file_path(path)
            .send()
            .await
            .map_err(map)
        {
            Ok(o) => String::from_utf8(o.file_content.into_inner())
                .map(Some)
                .map_err(|_| ForgeError::Other(format!("{path} at {at} is not UTF-8"))),
            Err(ForgeError::NotFound(m)) if m.starts_with("FileDoesNotExist") => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn branch_commits(&self, branch: &str) -> Result<Option<Vec<Commit>>> {
        let Some(tip) = self.branch_tip(branch).await? else {
            return Ok(None);
        };
        let merge_base = self
            .client
            .get_merge_options()
            .repository_name(&self.repository)
            .source_commit_specifier(&tip)
            .destination_commit_specifier(&self.base)
            .send()
            .await
            .map_err(map)?
            .base_commit_id;
        let mut commits = vec![];
        let mut cur = tip;
        // Hoist's branches are a commit or a few; a long walk is someone else's branch.
        while cur != merge_base && commits.len() < 50 {
            let c = self
                .client
                .get_commit()
                .repository_name(&self.repository)
                .commit_id(&cur)
                .send()
                .await
                .map_err(map)?
                .commit
                .ok_or_else(|| ForgeError::Other(format!("commit {cur}: empty answer")))?;
            let author = c.author();
            let (name, email) = (
                author.and_then(|a| a.name()).unwrap_or_default(),
                author.and_then(|a| a.email()).unwrap_or_default(),
            );
            commits.push(Commit {
                sha: cur.clone(),
                message: c.message().unwrap_or_default().to_owned(),
                // As typed by the pusher: no one's identity.
                author: Actor {
                    id: 0,
                    login: format!("{name} <{email}>"),
                    kind: ActorKind::User,
                },
            });
            match c.parents().first() {
                Some(p) => cur = p.clone(),
                None => break,
            }
        }
        commits.reverse();
        Ok(Some(commits))
    }

    /// Writes Hoist's one commit for a promotion on `branch`, built on `base` alone:
    /// CodeCommit cannot point a branch at another commit, so an existing branch is
    /// deleted and made again at `base` first.
    ///
    /// Kept whole: it deletes and recreates the branch at base, commits the files, then
    /// checks that exactly those paths changed; each step needs the one before.
    async fn write_branch(
        &self,
        branch: &str,
        base: &str,
        files: &[FileWrite],
        message: &str,
    ) -> Result<Sha> {
        // CodeCommit cannot force a branch back, and CreateCommit builds on the tip:
        // to never build on a commit Hoist did not write, the branch starts afresh at
        // the base every time (deleted, then created again). Deleting a branch closes
        // the pull requests it is the source of, so the engine closes the old one
        // first and opens a new one (see `rewrites_in_place`).
        if self.branch_tip(branch).await?.is_some() {
            self.client
                .delete_branch()
                .repository_name(&self.repository)
                .branch_name(branch)
                .send()
                .await
                .map_err(map)?;
        }
        self.client
            .create_branch()
            .repository_name(&self.repository)
            .branch_name(branch)
            .commit_id(base)
            .send()
            .await
            .map_err(map)?;
        let parent = base.to_owned();
        let mut commit = self
            .client
            .create_commit()
            .repository_name(&self.repository)
            .branch_name(branch)
            .parent_commit_id(&parent)
            .author_name(COMMIT_NAME)
            .email(COMMIT_EMAIL)
            .commit_message(message);
        for f in files {
            commit = commit.put_files(
                PutFileEntry::builder()
                    .file_path(&f.path)
                    .file_mode(FileModeTypeEnum::Normal)
                    .file_content(Blob::new(f.content.as_bytes()))
                    .build()
                    .map_err(build_err)?,
            );
        }
        let r = commit.send().await.map_err(map);
        let mut paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        paths.sort_unstable();
        if is_code(&r, "NoChangeException") {
            // The base already holds exactly these files (the planner stops before that):
            // the base is not a head Hoist wrote, so nothing is recorded.
            return Err(ForgeError::Other(format!(
                "{paths:?} on {parent} already hold what Hoist would write"
            )));
        }
        let r = r?;
        // CodeCommit's answer names what the commit changed: exactly these files.
        let mut changed: Vec<&str> = r
            .files_added()
            .iter()
            .chain(r.files_updated())
            .chain(r.files_deleted())
            .filter_map(|f| f.absolute_path())
            .collect();
        changed.sort_unstable();
        if changed != paths {
            return Err(ForgeError::Other(format!(
                "CreateCommit on {branch} changed {changed:?}, not just {paths:?}"
            )));
        }
        r.commit_id
            .ok_or_else(|| ForgeError::Other("CreateCommit returned no commit id".into()))
    }

    async fn delete_branch(&self, branch: &str) -> Result<()> {
        match self
            .client
            .delete_branch()
            .repository_name(&self.repository)
            .branch_name(branch)
            .send()
            .await
            .map_err(map)
        {
            Ok(_) | Err(ForgeError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn rewrites_in_place(&self) -> bool {
        false
    }

    async fn close_pull_request(&self, number: u64) -> Result<()> {
        self.client
            .update_pull_request_status()
            .pull_request_id(number.to_string())
            .pull_request_status(PullRequestStatusEnum::Closed)
            .send()
            .await
            .map_err(map)?;
        Ok(())
    }

    async fn merged_pull_requests(&self, prefix: &str) -> Result<Vec<PullRequest>> {
        self.prs(PullRequestStatusEnum::Closed, prefix, MAX_CLOSED)
            .await
            .map(|ps| {
                ps.into_iter()
                    .filter(|p| p.state == PrState::Merged)
                    .collect()
            })
    }

    /// CodeCommit lists no comments by time: the comments of the 20 Hoist pull requests
    /// closed most recently (`since` is not used).
    async fn recent_comments(&self, _since: &str) -> Result<Vec<(u64, Comment)>> {
        let mut out = vec![];
        for pr in self
            .prs(
                PullRequestStatusEnum::Closed,
                crate::marks::BRANCH_PREFIX,
                20,
            )
            .await?
        {
            for c in self.comments(pr.number).await? {
                out.push((pr.number, c));
            }
        }
        Ok(out)
    }

    async fn open_pull_requests(&self, prefix: &str) -> Result<Vec<PullRequest>> {
        self.prs(PullRequestStatusEnum::Open, prefix, usize::MAX)
            .await
    }

    async fn open_pull_request_for(&self, branch: &str) -> Result<Option<PullRequest>> {
        Ok(self
            .open_pull_requests(branch)
            .await?
            .into_iter()
            .find(|p| p.head_ref == branch))
    }

    /// With approval rules on the pull request, `mergeable` says whether they are met:
    /// CodeCommit refuses the merge otherwise.
    async fn pull_request(&self, number: u64) -> Result<PullRequest> {
        let p = self.get_pr(number).await?;
        let mut pr = to_pr(&p)
            .ok_or_else(|| ForgeError::Other(format!("pull request {number} has no target")))?;
        if !p.approval_rules().is_empty() && pr.state == PrState::Open {
            let e = self
                .client
                .evaluate_pull_request_approval_rules()
                .pull_request_id(number.to_string())
                .revision_id(p.revision_id().unwrap_or_default())
                .send()
                .await
                .map_err(map)?;
            if let Some(ev) = e.evaluation() {
                pr.mergeable = Some(ev.approved() || ev.overridden());
            }
        }
        Ok(pr)
    }

    async fn create_pull_request(
        &self,
        branch: &str,
        title: &str,
        body: &str,
    ) -> Result<PullRequest> {
        let target = Target::builder()
            .repository_name(&self.repository)
            .source_reference(branch)
            .destination_reference(&self.base)
            .build()
            .map_err(build_err)?;
        let out = self
            .client
            .create_pull_request()
            .title(self::title(title))
            .description(fit(body))
            .targets(target)
            .send()
            .await
            .map_err(map)?;
        out.pull_request
            .as_ref()
            .and_then(to_pr)
            .ok_or_else(|| ForgeError::Other("CreatePullRequest: empty answer".into()))
    }

    async fn update_pull_request(&self, number: u64, title: &str, body: &str) -> Result<()> {
        self.client
            .update_pull_request_title()
            .pull_request_id(number.to_string())
            .title(self::title(title))
            .send()
            .await
            .map_err(map)?;
        self.client
            .update_pull_request_description()
            .pull_request_id(number.to_string())
            .description(fit(body))
            .send()
            .await
            .map_err(map)?;
        Ok(())
    }

    async fn comments(&self, number: u64) -> Result<Vec<Comment>> {
        let mut all = vec![];
        let mut token = None;
        loop {
            let out = self
                .client
                .get_comments_for_pull_request()
                .pull_request_id(number.to_string())
                .repository_name(&self.repository)
                .set_next_token(token)
                .send()
                .await
                .map_err(map)?;
            for c in out
                .comments_for_pull_request_data()
                .iter()
                .flat_map(|d| d.comments())
                .filter(|c| !c.deleted())
            {
                all.push(c.clone());
            }
            token = out.next_token;
            if token.is_none() {
                break;
            }
        }
        all.sort_by_key(|c| c.creation_date().map(|d| (d.secs(), d.subsec_nanos())));
        let mut ids = self.comment_ids.lock().unwrap();
        Ok(all
            .into_iter()
            .filter_map(|c| {
                let id = c.comment_id()?;
                let hash = crate::domain::codecommit_comment_id(id);
                ids.insert(hash, id.to_owned());
                let author = self.actor(c.author_arn().unwrap_or_default());
                // As on GitHub, an edited comment runs no command and its markers
                // count for nothing; the engine decides that from `edited`.
                Some(Comment {
                    id: hash,
                    author,
                    body: c.content().unwrap_or_default().to_owned(),
                    edited: c.last_modified_date() != c.creation_date(),
                })
            })
            .collect())
    }

    async fn has_own_check(&self, number: u64, sha: &str, name: &str) -> Result<bool> {
        let marker = crate::marks::check_mark(name);
        let at = crate::messages::check_comment_at(crate::image::short_sha(sha));
        Ok(self
            .own_comment_with(number, &marker)
            .await?
            .is_some_and(|(_, body)| body.contains(&at)))
    }

    async fn upsert_comment(&self, number: u64, marker: &str, body: &str) -> Result<bool> {
        match self.own_comment_with(number, marker).await? {
            Some((_, old)) if old == body => Ok(false),
            Some((id, _)) => {
                async {
                    self.client
                        .update_comment()
                        .comment_id(id)
                        .content(body)
                        .send()
                        .await
                        .map_err(map)?;
                    Ok(true)
                }
                .await
            }
            None => self.comment(number, body).await.map(|()| true),
        }
    }

    async fn comment(&self, number: u64, body: &str) -> Result<()> {
        let p = self.get_pr(number).await?;
        let t = p
            .pull_request_targets()
            .first()
            .ok_or_else(|| ForgeError::Other(format!("pull request {number} has no target")))?;
        let after = t.source_commit().unwrap_or_default();
        // After a fast-forward merge the destination is the source: CodeCommit refuses
        // a comment between a commit and itself, so anchor it at the merge base.
        let before = match t.destination_commit().unwrap_or_default() {
            d if d == after => t.merge_base().unwrap_or(d),
            d => d,
        };
        self.client
            .post_comment_for_pull_request()
            .pull_request_id(number.to_string())
            .repository_name(&self.repository)
            .before_commit_id(before)
            .after_commit_id(after)
            .content(fit(body))
            .send()
            .await
            .map_err(map)?;
        Ok(())
    }

    /// Each caller holds one reaction per comment on CodeCommit, so 🚀 replaces 👀.
    async fn react(&self, comment_id: u64, reaction: Reaction) -> Result<()> {
        let id = self
            .comment_ids
            .lock()
            .unwrap()
            .get(&comment_id)
            .cloned()
            .ok_or_else(|| ForgeError::NotFound(format!("comment {comment_id}")))?;
        let value = match reaction {
            Reaction::Eyes => ":eyes:",
            Reaction::Rocket => ":rocket:",
            Reaction::Confused => ":confused:",
        };
        self.client
            .put_comment_reaction()
            .comment_id(id)
            .reaction_value(value)
            .send()
            .await
            .map_err(map)?;
        Ok(())
    }

    /// IAM decides who may comment on the repository at all; everyone who could is
    /// taken to have write access. Stages that need more name `promoters`.
    async fn permission(&self, _user: &Actor) -> Result<Permission> {
        Ok(Permission::Write)
    }

    async fn is_team_member(&self, org: &str, team: &str, user: &Actor) -> Result<bool> {
        Ok(self.mapped(&format!("{org}/{team}"), user))
    }

    fn is_principal(&self, name: &str, user: &Actor) -> bool {
        self.mapped(name, user)
    }

    /// Approvals of the current revision: CodeCommit resets them when the head moves,
    /// so each one is given on the head the pull request has now.
    async fn reviews(&self, number: u64) -> Result<Vec<Review>> {
        let p = self.get_pr(number).await?;
        let head = p
            .pull_request_targets()
            .first()
            .and_then(|t| t.source_commit())
            .map(str::to_owned);
        let out = self
            .client
            .get_pull_request_approval_states()
            .pull_request_id(number.to_string())
            .revision_id(p.revision_id().unwrap_or_default())
            .send()
            .await
            .map_err(map)?;
        Ok(out
            .approvals()
            .iter()
            .filter(|a| a.approval_state() == Some(&ApprovalState::Approve))
            .filter_map(|a| {
                Some(Review {
                    reviewer: self.actor(a.user_arn()?),
                    state: ReviewState::Approved,
                    commit_id: head.clone(),
                })
            })
            .collect())
    }

    /// CodeCommit has no checks; config validation refuses required checks there.
    async fn checks(&self, _sha: &str) -> Result<Vec<Check>> {
        Ok(vec![])
    }

    async fn pull_request_files(&self, number: u64) -> Result<Vec<String>> {
        let p = self.get_pr(number).await?;
        let t = p
            .pull_request_targets()
            .first()
            .ok_or_else(|| ForgeError::Other(format!("pull request {number} has no target")))?;
        let before = t
            .merge_base()
            .or(t.destination_commit())
            .unwrap_or_default()
            .to_owned();
        let after = t.source_commit().unwrap_or_default().to_owned();
        let mut paths = vec![];
        let mut token = None;
        loop {
            let out = self
                .client
                .get_differences()
                .repository_name(&self.repository)
                .before_commit_specifier(&before)
                .after_commit_specifier(&after)
                .set_next_token(token)
                .send()
                .await
                .map_err(map)?;
            for d in out.differences() {
                if let Some(p) = d.after_blob().or(d.before_blob()).and_then(|b| b.path()) {
                    paths.push(p.to_owned());
                }
            }
            token = out.next_token;
            if token.is_none() {
                break;
            }
        }
        paths.sort();
        paths.dedup();
        Ok(paths)
    }

    async fn publish_record(
        &self,
        number: u64,
        sha: &str,
        summary: &str,
        record: &str,
    ) -> Result<()> {
        self.comment(number, &crate::marks::record_comment(sha, record, summary))
            .await
    }

    async fn records(&self, number: u64, sha: &str) -> Result<Vec<String>> {
        // CodeCommit lets only a comment's author change it: a comment whose authorArn
        // is Hoist's says what Hoist wrote.
        Ok(self
            .comments(number)
            .await?
            .into_iter()
            .filter(|c| c.author.is(&self.me))
            .filter_map(|c| crate::marks::read_record(&c.body, sha).map(str::to_owned))
            .collect())
    }

    /// One comment per check name, edited as the result changes.
    async fn create_check_run(
        &self,
        number: u64,
        sha: &str,
        name: &str,
        conclusion: Conclusion,
        title: &str,
        summary: &str,
    ) -> Result<()> {
        let marker = crate::marks::check_mark(name);
        let short = crate::image::short_sha(sha);
        let head = crate::messages::check_comment_head(conclusion, name, title, short);
        let tail = format!("\n\n{marker}");
        let room =
            MAX_COMMENT.saturating_sub(head.encode_utf16().count() + tail.encode_utf16().count());
        let body = format!("{head}{}{tail}", cut(summary, room));
        self.upsert_comment(number, &marker, &body).await.map(drop)
    }

    async fn merge(&self, number: u64, head_sha: &str, title: &str, message: &str) -> Result<Sha> {
        let id = number.to_string();
        // The engine's message starts with the title already.
        let message = if message.starts_with(title) {
            message.to_owned()
        } else {
            format!("{title}\n\n{message}")
        };
        // Squash and three-way take the same commit details; their builders are
        // different types, so one macro spells the chain once.
        macro_rules! merge_with_commit {
            ($op:ident) => {
                self.client
                    .$op()
                    .pull_request_id(id)
                    .repository_name(&self.repository)
                    .source_commit_id(head_sha)
                    .commit_message(message)
                    .author_name(COMMIT_NAME)
                    .email(COMMIT_EMAIL)
                    .send()
                    .await
                    .map_err(map)?
                    .pull_request
            };
        }
        let pr = match self.method {
            MergeMethod::Squash => merge_with_commit!(merge_pull_request_by_squash),
            MergeMethod::Merge => merge_with_commit!(merge_pull_request_by_three_way),
            MergeMethod::FastForward => {
                self.client
                    .merge_pull_request_by_fast_forward()
                    .pull_request_id(id)
                    .repository_name(&self.repository)
                    .source_commit_id(head_sha)
                    .send()
                    .await
                    .map_err(map)?
                    .pull_request
            }
            MergeMethod::Rebase => {
                return Err(ForgeError::Other("CodeCommit cannot rebase".into()));
            }
        };
        if let Some(sha) = pr.as_ref().and_then(to_pr).and_then(|p| p.merge_sha) {
            return Ok(sha);
        }
        if self.method == MergeMethod::FastForward {
            return Ok(head_sha.to_owned());
        }
        // The published examples answer without mergeCommitId: ask again, and else
        // take the base's tip, which the merge just moved.
        if let Some(sha) = to_pr(&self.get_pr(number).await?).and_then(|p| p.merge_sha) {
            return Ok(sha);
        }
        self.branch_tip(&self.base)
            .await?
            .ok_or_else(|| ForgeError::Other(format!("merge of {number}: no merge commit")))
    }
}
