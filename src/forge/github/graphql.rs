//! GitHub's GraphQL API, where one request does the work of several REST calls: a pull
//! request with its comments, reviews and checks; the reads that open a promotion; the
//! write of a promotion's branch. Every answer is read into the same port types as the
//! REST answers, from the same facts GitHub asserts (numeric ids, the check suite's App,
//! the head repository). Anything this module cannot answer whole (a list longer than one
//! page, a file too big to inline, GitHub Enterprise Server, an error) is read again
//! through REST, so the REST path stays the reference.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::{GitHub, map, retry};
use crate::domain::{Actor, ActorKind, ReviewState};
use crate::forge::{
    Check, Comment, Commit, FileWrite, ForgeError, PostedBy, PrState, PromotionReads, PullRequest,
    Result, Review, scope,
};

/// The fields of a pull request Hoist reads, as `PullRequest` needs them.
const PR_FIELDS: &str = "id number title body state mergeable headRefName headRefOid \
    baseRefName baseRefOid mergeCommit { oid } headRepository { databaseId }";

/// Who did something, as GitHub attaches it.
const ACTOR: &str =
    "author { __typename login ... on User { databaseId } ... on Bot { databaseId } }";

/// A pull request, its comments and reviews, and its head's checks, in one request.
fn bundle_query() -> String {
    format!(
        "query Bundle($owner: String!, $name: String!, $number: Int!, $base: String!) {{
  repository(owner: $owner, name: $name) {{
    databaseId
    base: ref(qualifiedName: $base) {{ target {{ oid }} }}
    pullRequest(number: $number) {{
      {PR_FIELDS}
      comments(first: 100) {{ pageInfo {{ hasNextPage }} nodes {{ id fullDatabaseId body createdAt updatedAt lastEditedAt {ACTOR} }} }}
      reviews(first: 100) {{ pageInfo {{ hasNextPage }} nodes {{ state commit {{ oid }} {ACTOR} }} }}
      commits(last: 1) {{ nodes {{ commit {{ oid
        status {{ state }}
        checkSuites(first: 20) {{ pageInfo {{ hasNextPage }} nodes {{ app {{ databaseId slug }}
          checkRuns(first: 100, filterBy: {{ checkType: LATEST }}) {{ pageInfo {{ hasNextPage }} nodes {{ name conclusion permalink }} }} }} }}
      }} }} }}
    }}
  }}
}}"
    )
}

/// The base's head with the files at `paths` on it, the branch with its commits beyond
/// the base, and the branch's open pull requests, in one request.
fn opening_query(paths: usize) -> String {
    let vars: String = (0..paths).map(|i| format!(", $p{i}: String!")).collect();
    let files: String = (0..paths)
        .map(|i| {
            format!(
                "f{i}: file(path: $p{i}) {{ mode object {{ ... on Blob {{ oid text isTruncated isBinary }} }} }}\n"
            )
        })
        .collect();
    format!(
        "query Opening($owner: String!, $name: String!, $base: String!, $head: String!, $branch: String!{vars}) {{
  repository(owner: $owner, name: $name) {{
    id databaseId
    base: ref(qualifiedName: $base) {{
      target {{ oid ... on Commit {{ {files} }} }}
      compare(headRef: $head) {{ commits(first: 100) {{ pageInfo {{ hasNextPage }} nodes {{ oid message author {{ name user {{ login databaseId }} }} }} }} }}
    }}
    branch: ref(qualifiedName: $head) {{ id }}
    pullRequests(headRefName: $branch, states: [OPEN], first: 100, orderBy: {{ field: CREATED_AT, direction: DESC }}) {{
      pageInfo {{ hasNextPage }} nodes {{ {PR_FIELDS} }}
    }}
  }}
}}"
    )
}

/// A reply on a pull request and a reaction to the comment it answers, in one request.
const REPLY_MUTATION: &str =
    "mutation Reply($pr: ID!, $body: String!, $comment: ID!, $content: ReactionContent!) {
  addComment(input: { subjectId: $pr, body: $body }) { commentEdge { node { fullDatabaseId } } }
  addReaction(input: { subjectId: $comment, content: $content }) { reaction { content } }
}";

/// Creates the branch at the base and commits the files on it, in one request. The
/// commit's only parent is the base: `expectedHeadOid` refuses any other.
const WRITE_MUTATION: &str = "mutation Write($repo: ID!, $ref: String!, $base: GitObjectID!, $branch: CommittableBranch!, $message: CommitMessage!, $changes: FileChanges!) {
  createRef(input: { repositoryId: $repo, name: $ref, oid: $base }) { ref { id } }
  createCommitOnBranch(input: { branch: $branch, expectedHeadOid: $base, message: $message, fileChanges: $changes }) { commit { oid } }
}";

/// What came of a `Reply` mutation.
pub(super) enum Replied {
    /// The comment is posted; the reaction too when `reacted`.
    Done { reacted: bool },
    /// Nothing was done (no GraphQL, no node ids, a document GitHub refused to run).
    NotRun,
    /// It may or may not have been posted (no answer, or the comment's half failed):
    /// look before posting again.
    Unsure,
}

#[derive(Deserialize)]
struct Answer<T> {
    data: Option<T>,
    #[serde(default)]
    errors: Vec<GqlError>,
}

#[derive(Deserialize)]
struct GqlError {
    message: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GqlPr {
    /// The node id, which GraphQL's mutations name a pull request by.
    #[serde(default)]
    id: Option<String>,
    number: u64,
    title: String,
    #[serde(default)]
    body: String,
    state: String,
    #[serde(default)]
    mergeable: String,
    head_ref_name: String,
    head_ref_oid: String,
    base_ref_name: String,
    base_ref_oid: String,
    merge_commit: Option<Oid>,
    head_repository: Option<DbId>,
}

#[derive(Deserialize)]
struct Target {
    target: Oid,
}

#[derive(Deserialize)]
struct Oid {
    oid: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DbId {
    database_id: Option<u64>,
}

impl GqlPr {
    /// As `From<Pull>`: a fork by repository id (a deleted fork's head is one too).
    fn into_pr(self, repo_id: Option<u64>) -> PullRequest {
        let head_repo = self.head_repository.and_then(|r| r.database_id);
        let from_fork = match (head_repo, repo_id) {
            (Some(h), Some(b)) => h != b,
            _ => true,
        };
        let state = match self.state.as_str() {
            "MERGED" => PrState::Merged,
            "OPEN" => PrState::Open,
            _ => PrState::Closed,
        };
        PullRequest {
            number: self.number,
            head_ref: self.head_ref_name,
            head_sha: self.head_ref_oid,
            title: self.title,
            body: self.body,
            merge_sha: (state == PrState::Merged)
                .then(|| self.merge_commit.map(|m| m.oid))
                .flatten(),
            state,
            base_sha: self.base_ref_oid,
            base_ref: self.base_ref_name,
            mergeable: match self.mergeable.as_str() {
                "MERGEABLE" => Some(true),
                "CONFLICTING" => Some(false),
                _ => None,
            },
            from_fork,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GqlActor {
    #[serde(rename = "__typename")]
    typename: String,
    login: String,
    #[serde(default)]
    database_id: Option<u64>,
}

impl From<GqlActor> for Actor {
    /// GraphQL names an App's bot without the `[bot]` REST and webhooks give it; the
    /// numeric id is the same. Any other kind of author (an organization, a mannequin)
    /// is nobody Hoist knows: the ghost, with no id a login could stand in for.
    fn from(a: GqlActor) -> Self {
        if a.typename != "User" && a.typename != "Bot" {
            return ghost();
        }
        let bot = a.typename == "Bot";
        Actor {
            id: a.database_id.unwrap_or(0),
            login: if bot && !a.login.ends_with("[bot]") {
                format!("{}[bot]", a.login)
            } else {
                a.login
            },
            kind: if bot { ActorKind::Bot } else { ActorKind::User },
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Page<T> {
    page_info: PageInfo,
    nodes: Vec<T>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageInfo {
    has_next_page: bool,
}

impl<T> Page<T> {
    /// The nodes, when they are all there is.
    fn whole(self) -> Option<Vec<T>> {
        (!self.page_info.has_next_page).then_some(self.nodes)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GqlComment {
    #[serde(default)]
    id: Option<String>,
    /// A `BigInt`, which GitHub sends as a string: comment ids outgrew 32 bits.
    full_database_id: String,
    body: String,
    created_at: String,
    updated_at: String,
    last_edited_at: Option<String>,
    author: Option<GqlActor>,
}

#[derive(Deserialize)]
struct GqlReview {
    state: String,
    commit: Option<Oid>,
    author: Option<GqlActor>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BundleRepo {
    database_id: Option<u64>,
    base: Option<Target>,
    pull_request: Option<BundlePr>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BundlePr {
    #[serde(flatten)]
    pr: GqlPr,
    comments: Page<GqlComment>,
    reviews: Page<GqlReview>,
    commits: Nodes<HeadCommit>,
}

#[derive(Deserialize)]
struct Nodes<T> {
    nodes: Vec<T>,
}

#[derive(Deserialize)]
struct HeadCommit {
    commit: HeadChecks,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HeadChecks {
    oid: String,
    status: Option<Value>,
    check_suites: Page<Suite>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Suite {
    app: Option<SuiteApp>,
    check_runs: Page<GqlRun>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SuiteApp {
    database_id: Option<u64>,
    slug: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GqlRun {
    name: String,
    conclusion: Option<String>,
    permalink: Option<String>,
}

#[derive(Deserialize)]
struct RepoOf<T> {
    repository: T,
}

impl GitHub {
    /// Whether to ask GraphQL (see `GitHub::graphql`).
    fn graphql(&self) -> bool {
        self.graphql && !self.graphql_off.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// One GraphQL request. A `query` is a read, paced like one; a `mutation` is paced
    /// as a write. An answer with errors is an error: nothing is taken from part of one.
    async fn ask<T: DeserializeOwned>(&self, query: &str, variables: Value) -> Result<T> {
        let answer: Answer<T> = serde_json::from_value(self.ask_raw(query, variables).await?)
            .map_err(|e| ForgeError::Other(format!("GraphQL: unexpected answer: {e}")))?;
        if let Some(e) = answer.errors.first() {
            return Err(ForgeError::Other(format!("GraphQL: {}", e.message)));
        }
        answer
            .data
            .ok_or_else(|| ForgeError::Other("GraphQL: an answer without data".into()))
    }

    /// One GraphQL request's whole answer, `data` and `errors` both: a document of
    /// several mutations can do part of its work.
    async fn ask_raw(&self, query: &str, variables: Value) -> Result<Value> {
        if query.starts_with("mutation") {
            self.pace().await;
        }
        let body = json!({"query": query, "variables": variables});
        // A mutation is sent once: GitHub may have done its work before a 5xx, and a
        // second send would do it twice. Its callers know what to do instead.
        let sent = if query.starts_with("mutation") {
            self.client.post("/graphql", Some(&body)).await
        } else {
            retry::retrying(|| async { self.client.post("/graphql", Some(&body)).await }).await
        };
        match sent.map_err(map) {
            Ok(a) => Ok(a),
            // No GraphQL at this API root (a GitHub Enterprise Server behind an unusual
            // path): REST from now on, without asking again.
            Err(ForgeError::NotFound(why)) => {
                self.graphql_off
                    .store(true, std::sync::atomic::Ordering::Relaxed);
                Err(ForgeError::NotFound(why))
            }
            Err(e) => Err(e),
        }
    }

    /// Posts `body` on pull request `number` and reacts to comment `to`, in one request,
    /// when this event read both their node ids (see `Replied`).
    pub(super) async fn reply(&self, number: u64, body: &str, to: u64, reaction: &str) -> Replied {
        if !self.graphql() {
            return Replied::NotRun;
        }
        let (Some(pr), Some(comment)) = (
            scope::recall::<String>(&format!("node:pr:{number}")),
            scope::recall::<String>(&format!("node:comment:{to}")),
        ) else {
            return Replied::NotRun;
        };
        let vars = json!({"pr": pr, "body": body, "comment": comment,
            "content": reaction.to_ascii_uppercase()});
        let answer = match self.ask_raw(REPLY_MUTATION, vars).await {
            Ok(a) => a,
            Err(ForgeError::NotFound(_)) => return Replied::NotRun,
            Err(e) => {
                tracing::warn!(pr = number, error = %e, "GraphQL reply failed; looking whether it was posted");
                return Replied::Unsure;
            }
        };
        scope::forget(&format!("comments:{number}"));
        let data = &answer["data"];
        if !data["addComment"].is_null() {
            return Replied::Done {
                reacted: !data["addReaction"].is_null(),
            };
        }
        // A document GitHub refused to run (a parse or validation error names where in
        // the document, never a path in the answer) did nothing.
        let refused = answer["errors"].as_array().is_some_and(|errors| {
            errors
                .iter()
                .all(|e| e["path"].is_null() && !e["locations"].is_null())
        });
        tracing::warn!(pr = number, errors = %answer["errors"], "GraphQL reply failed");
        if refused {
            Replied::NotRun
        } else {
            Replied::Unsure
        }
    }

    /// Reads pull request `number` with its comments, reviews and head's checks in one
    /// request, keeps each whole part in the event's scope, and returns the pull request.
    /// `None` when the request failed or nothing could be kept: REST reads it then.
    ///
    /// Trusted sources, as through REST: comment and review authors by the numeric id
    /// GitHub attaches; a comment counts as edited when GitHub's `updatedAt` differs
    /// from `createdAt` or it has a `lastEditedAt`; a review's commit as GitHub records
    /// it; a check run's App from its check suite; a fork by the head repository's id.
    /// Commit statuses are only taken when the commit has none at all (GraphQL gives
    /// only the latest status of each context, not each poster's): otherwise REST reads
    /// them with the check runs.
    pub(super) async fn bundle(&self, number: u64) -> Option<PullRequest> {
        if !self.graphql() || !scope::open() {
            return None;
        }
        let vars = json!({"owner": self.owner, "name": self.repo, "number": number,
            "base": format!("refs/heads/{}", self.base)});
        let repo: RepoOf<BundleRepo> = match self.ask(&bundle_query(), vars).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(pr = number, error = %e, "GraphQL read failed; reading through REST");
                return None;
            }
        };
        let repo_id = repo.repository.database_id;
        // The base's head, read at the same moment as the pull request: fresh for this
        // event until Hoist merges (see `merge`).
        if let Some(base) = repo.repository.base {
            scope::remember("base".into(), base.target.oid);
        }
        let b = repo.repository.pull_request?;
        if let Some(comments) = b.comments.whole() {
            let all = comments.len();
            for c in &comments {
                if let Some(node) = &c.id {
                    scope::remember(format!("node:comment:{}", c.full_database_id), node.clone());
                }
            }
            let comments: Vec<Comment> = comments.into_iter().filter_map(comment).collect();
            if comments.len() == all {
                scope::remember(format!("comments:{number}"), comments);
            }
        }
        if let Some(reviews) = b.reviews.whole() {
            let reviews: Vec<Review> = reviews.into_iter().filter_map(review).collect();
            scope::remember(format!("reviews:{number}"), reviews);
        }
        if let Some(node) = &b.pr.id {
            scope::remember(format!("node:pr:{number}"), node.clone());
        }
        let pr = b.pr.into_pr(repo_id);
        if let Some(head) = b.commits.nodes.into_iter().next().map(|c| c.commit)
            && head.oid == pr.head_sha
            && head.status.is_none()
            && let Some(checks) = checks(head.check_suites)
        {
            scope::remember(format!("checks:{}", head.oid), checks);
        }
        scope::remember(format!("pr:{number}"), pr.clone());
        Some(pr)
    }

    /// The reads that open or update a promotion on `branch`, in one request; `None`
    /// when they cannot all be answered so (REST reads them then).
    ///
    /// Trusted sources: the base's head and files from GitHub's refs and trees; the open
    /// pull request's fork status by the head repository's id. The branch's commits
    /// decide nothing by their authors: the store says which heads Hoist wrote.
    pub(super) async fn opening(&self, branch: &str, paths: &[String]) -> Option<PromotionReads> {
        if !self.graphql() || paths.is_empty() {
            return None;
        }
        let mut vars = json!({
            "owner": self.owner, "name": self.repo,
            "base": format!("refs/heads/{}", self.base),
            "head": format!("refs/heads/{branch}"),
            "branch": branch,
        });
        for (i, p) in paths.iter().enumerate() {
            vars[format!("p{i}")] = json!(p);
        }
        let answer = match self.ask_raw(&opening_query(paths.len()), vars).await {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(%branch, error = %e, "GraphQL read failed; reading through REST");
                return None;
            }
        };
        let repo = &answer["data"]["repository"];
        if let Some(errors) = answer["errors"].as_array()
            && !errors.iter().all(|e| no_branch_to_compare(e, repo))
        {
            tracing::warn!(%branch, errors = %answer["errors"], "GraphQL read failed; reading through REST");
            return None;
        }
        self.read_opening(branch, paths, repo.clone())
    }

    /// Kept whole: one walk over the answer's parts (base, files, branch, commits, pull
    /// requests), each falling back to REST by returning `None`.
    fn read_opening(&self, branch: &str, paths: &[String], repo: Value) -> Option<PromotionReads> {
        let repo_id = repo["databaseId"].as_u64();
        if let Some(id) = repo["id"].as_str() {
            let _ = self.repo_node.set(id.to_owned());
        }
        let target = &repo["base"]["target"];
        let base = target["oid"].as_str()?.to_owned();
        let mut files = Vec::with_capacity(paths.len());
        for (i, p) in paths.iter().enumerate() {
            let entry = &target[format!("f{i}")];
            let blob = &entry["object"];
            // Only a regular file's text is what REST's contents API gives: a symlink's
            // blob is its target's name (REST follows it), so REST reads that one.
            let regular = matches!(entry["mode"].as_u64(), Some(0o100644 | 0o100755));
            let text = if entry.is_null() {
                None
            } else if !regular || blob["isTruncated"] == true || blob["isBinary"] == true {
                return None;
            } else {
                let text = blob["text"].as_str()?.to_owned();
                if let Some(oid) = blob["oid"].as_str() {
                    self.blobs
                        .lock()
                        .expect("blob cache")
                        .insert((p.clone(), base.clone()), oid.to_owned());
                }
                Some(text)
            };
            self.files
                .lock()
                .expect("file cache")
                .insert(p, &base, text.clone());
            files.push((p.clone(), text));
        }
        let commits = if repo["branch"].is_null() {
            // Known absent at this base: the branch can be created and written in one go.
            scope::remember(format!("absent:{branch}:{base}"), ());
            None
        } else {
            let page: Page<Value> =
                serde_json::from_value(repo["base"]["compare"]["commits"].clone()).ok()?;
            let commits = page.whole()?;
            Some(
                commits
                    .into_iter()
                    .map(|c| {
                        let author = &c["author"];
                        // The linked account, never the free-text git name.
                        let login = author["user"]["login"].as_str().unwrap_or("unknown");
                        Commit {
                            sha: c["oid"].as_str().unwrap_or_default().to_owned(),
                            message: c["message"].as_str().unwrap_or_default().to_owned(),
                            author: Actor {
                                id: author["user"]["databaseId"].as_u64().unwrap_or(0),
                                login: login.to_owned(),
                                kind: ActorKind::User,
                            },
                        }
                    })
                    .collect(),
            )
        };
        // A page full of others' (forks') pull requests could hide Hoist's: REST then.
        if repo["pullRequests"]["pageInfo"]["hasNextPage"] != false {
            return None;
        }
        let prs: Vec<GqlPr> = serde_json::from_value(repo["pullRequests"]["nodes"].clone()).ok()?;
        // As REST's `head=owner:branch`: only the repository's own branch.
        let open = prs
            .into_iter()
            .map(|p| p.into_pr(repo_id))
            .find(|p| !p.from_fork && p.head_ref == branch);
        Some(PromotionReads {
            base,
            files,
            open,
            commits,
        })
    }

    /// Creates `branch` at `base` with one commit of `files` on it, in one request, when
    /// this event's reads found the branch absent. `None` when it cannot (the branch
    /// exists, the request failed): REST writes it then, forcing the branch to the base
    /// first, so a half-done request leaves nothing behind.
    pub(super) async fn write_new_branch(
        &self,
        branch: &str,
        base: &str,
        files: &[FileWrite],
        message: &str,
    ) -> Option<String> {
        scope::recall::<()>(&format!("absent:{branch}:{base}"))?;
        let repo = self.repo_node.get()?.clone();
        scope::forget(&format!("absent:{branch}:"));
        let (headline, body) = message.split_once('\n').unwrap_or((message, ""));
        let additions: Vec<Value> = files
            .iter()
            .map(|f| json!({"path": f.path, "contents": STANDARD.encode(&f.content)}))
            .collect();
        let vars = json!({
            "repo": repo,
            "ref": format!("refs/heads/{branch}"),
            "base": base,
            "branch": {"repositoryNameWithOwner": format!("{}/{}", self.owner, self.repo), "branchName": branch},
            "message": {"headline": headline, "body": body.trim_start_matches('\n')},
            "changes": {"additions": additions},
        });
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Written {
            create_commit_on_branch: Option<Committed>,
        }
        #[derive(Deserialize)]
        struct Committed {
            commit: Oid,
        }
        match self.ask::<Written>(WRITE_MUTATION, vars).await {
            Ok(Written {
                create_commit_on_branch: Some(c),
            }) => Some(c.commit.oid),
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(%branch, error = %e, "GraphQL write failed; writing through REST");
                None
            }
        }
    }
}

/// Whether error `e` only says the branch could not be compared because it does not
/// exist (the answer's `branch` is `null`): a new branch, nothing wrong.
fn no_branch_to_compare(e: &Value, repo: &Value) -> bool {
    let path: Vec<&str> = e["path"]
        .as_array()
        .map(|p| p.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    repo["branch"].is_null() && path.starts_with(&["repository", "base", "compare"])
}

fn comment(c: GqlComment) -> Option<Comment> {
    Some(Comment {
        id: c.full_database_id.parse().ok()?,
        author: c.author.map_or_else(ghost, Actor::from),
        // As REST: any difference in GitHub's own timestamps, or a recorded edit.
        edited: c.created_at.is_empty()
            || c.created_at != c.updated_at
            || c.last_edited_at.is_some(),
        body: c.body,
    })
}

/// Who GitHub shows for a deleted account.
fn ghost() -> Actor {
    Actor {
        id: 0,
        login: "ghost".into(),
        kind: ActorKind::User,
    }
}

fn review(r: GqlReview) -> Option<Review> {
    let state = match r.state.as_str() {
        "APPROVED" => ReviewState::Approved,
        "CHANGES_REQUESTED" => ReviewState::ChangesRequested,
        "DISMISSED" => ReviewState::Dismissed,
        // A pending review is its author's draft; REST does not list it either.
        "PENDING" => return None,
        _ => ReviewState::Commented,
    };
    Some(Review {
        reviewer: r.author?.into(),
        state,
        commit_id: r.commit.map(|c| c.oid),
    })
}

/// The head's check runs: `None` when any list is longer than its page, a suite's App
/// is unknown, or a name appears twice (which of two runs is the later is what REST's
/// ids tell; GraphQL's ids no longer fit its `Int`), so that REST reads them then.
fn checks(suites: Page<Suite>) -> Option<Vec<Check>> {
    let mut runs: Vec<Check> = Vec::new();
    for s in suites.whole()? {
        let app = s.app?;
        let (id, slug) = (app.database_id, app.slug);
        for r in s.check_runs.whole()? {
            if runs.iter().any(|c| c.name == r.name) {
                return None;
            }
            runs.push(Check {
                name: r.name,
                conclusion: r.conclusion.map(|c| c.to_ascii_lowercase()),
                url: r.permalink,
                posted_by: PostedBy::App {
                    id,
                    slug: slug.clone(),
                },
            });
        }
    }
    Some(runs)
}
