//! GitHub's GraphQL endpoint, for the three documents Hoist sends (`Bundle`, `Opening`,
//! `Write`), answered in GitHub's shapes from the fake's own REST answers, so both APIs
//! tell the same story: authors as GraphQL names them (a bot's login without `[bot]`,
//! `databaseId` for the numeric id), enums in capitals, at most one page of each list
//! with `hasNextPage`, `null` for a missing file or branch, and a mutation's failures
//! as `errors` beside partial `data`.

use axum::body::Bytes;
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use hoist::forge::{FileWrite, Forge};
use serde_json::{Value, json};

use super::Fake;

/// `" Bundle"`: the operation a document names, for the request log.
pub(super) fn operation(body: &Bytes) -> String {
    let v: Value = serde_json::from_slice(body).unwrap_or_default();
    let q = v["query"].as_str().unwrap_or_default();
    let name = q
        .split(['(', '{'])
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .nth(1)
        .unwrap_or("anonymous");
    format!(" {name}")
}

pub(super) async fn answer(fake: &Fake, body: &Bytes) -> Response {
    let v: Value = serde_json::from_slice(body).unwrap_or_default();
    let vars = &v["variables"];
    let answer = match operation(body).trim() {
        "Bundle" => bundle(fake, vars).await,
        "Opening" => opening(fake, vars).await,
        "Write" => write(fake, vars).await,
        "Reply" => reply(fake, vars).await,
        other => json!({"errors": [{"message": format!("the fake does not answer {other}")}]}),
    };
    axum::Json(answer).into_response()
}

/// An author as GraphQL gives it.
fn actor(user: &Value) -> Value {
    if user.is_null() {
        return Value::Null;
    }
    let bot = user["type"] == "Bot";
    let login = user["login"].as_str().unwrap_or_default();
    json!({
        "__typename": if bot { "Bot" } else { "User" },
        "login": if bot { login.trim_end_matches("[bot]") } else { login },
        "databaseId": user["id"],
    })
}

fn pr(p: &Value) -> Value {
    let state = if !p["merged_at"].is_null() {
        "MERGED"
    } else if p["state"] == "open" {
        "OPEN"
    } else {
        "CLOSED"
    };
    json!({
        "id": format!("PR_{}", p["number"]), "number": p["number"], "title": p["title"], "body": p["body"], "state": state,
        "mergeable": match p["mergeable"].as_bool() {
            Some(true) => "MERGEABLE", Some(false) => "CONFLICTING", None => "UNKNOWN",
        },
        "headRefName": p["head"]["ref"], "headRefOid": p["head"]["sha"],
        "baseRefName": p["base"]["ref"], "baseRefOid": p["base"]["sha"],
        "mergeCommit": if state == "MERGED" { json!({"oid": p["merge_commit_sha"]}) } else { Value::Null },
        "headRepository": if p["head"]["repo"].is_null() { Value::Null } else { json!({"databaseId": p["head"]["repo"]["id"]}) },
    })
}

/// One page of 100 at most, as GraphQL's `first: 100`.
fn page(nodes: Vec<Value>) -> Value {
    let more = nodes.len() > 100;
    json!({"pageInfo": {"hasNextPage": more}, "nodes": nodes.into_iter().take(100).collect::<Vec<_>>()})
}

async fn bundle(fake: &Fake, vars: &Value) -> Value {
    let n = vars["number"].as_u64().unwrap_or_default();
    let (code, p) = fake
        .rest(Method::GET, &format!("pulls/{n}"), Value::Null)
        .await;
    if code != 200 {
        return json!({"data": {"repository": {"databaseId": 42, "pullRequest": null}},
            "errors": [{"type": "NOT_FOUND", "message": format!("Could not resolve to a PullRequest with the number of {n}.")}]});
    }
    let (_, comments) = fake
        .rest(Method::GET, &format!("issues/{n}/comments"), Value::Null)
        .await;
    let comments: Vec<Value> = all(comments)
        .iter()
        .map(|c| {
            json!({
                "id": format!("IC_{}", c["id"]),
                "fullDatabaseId": c["id"].to_string(), "body": c["body"],
                "createdAt": c["created_at"], "updatedAt": c["updated_at"],
                "lastEditedAt": if c["created_at"] == c["updated_at"] { Value::Null } else { c["updated_at"].clone() },
                "author": actor(&c["user"]),
            })
        })
        .collect();
    let (_, reviews) = fake
        .rest(Method::GET, &format!("pulls/{n}/reviews"), Value::Null)
        .await;
    let reviews: Vec<Value> = all(reviews)
        .iter()
        .map(|r| {
            json!({"state": r["state"], "author": actor(&r["user"]),
                "commit": if r["commit_id"].is_null() { Value::Null } else { json!({"oid": r["commit_id"]}) }})
        })
        .collect();
    let head = p["head"]["sha"].as_str().unwrap_or_default().to_owned();
    let (_, runs) = fake
        .rest(
            Method::GET,
            &format!("commits/{head}/check-runs"),
            Value::Null,
        )
        .await;
    let (_, statuses) = fake
        .rest(
            Method::GET,
            &format!("commits/{head}/statuses"),
            Value::Null,
        )
        .await;
    // Check runs by their suite's App, in the order GitHub created them.
    let mut suites: Vec<(Value, Vec<Value>)> = Vec::new();
    for r in all(runs["check_runs"].clone()).iter() {
        let app = json!({"databaseId": r["app"]["id"], "slug": r["app"]["slug"]});
        let run = json!({"name": r["name"],
            "conclusion": r["conclusion"].as_str().map(str::to_ascii_uppercase),
            "permalink": r["html_url"]});
        match suites.iter_mut().find(|(a, _)| *a == app) {
            Some((_, list)) => list.push(run),
            None => suites.push((app, vec![run])),
        }
    }
    let suites: Vec<Value> = suites
        .into_iter()
        .map(|(app, runs)| json!({"app": app, "checkRuns": page(runs)}))
        .collect();
    let status = if all(statuses).is_empty() {
        Value::Null
    } else {
        json!({"state": "PENDING"})
    };
    let mut pull = pr(&p);
    pull["comments"] = page(comments);
    pull["reviews"] = page(reviews);
    pull["commits"] = json!({"nodes": [{"commit": {"oid": head, "status": status, "checkSuites": page(suites)}}]});
    let (_, base) = fake
        .rest(Method::GET, "git/ref/heads/main", Value::Null)
        .await;
    json!({"data": {"repository": {"databaseId": 42,
        "base": {"target": {"oid": base["object"]["sha"]}}, "pullRequest": pull}}})
}

async fn opening(fake: &Fake, vars: &Value) -> Value {
    let base_ref = vars["base"].as_str().unwrap_or_default();
    let branch = vars["branch"].as_str().unwrap_or_default();
    let (_, r) = fake
        .rest(
            Method::GET,
            &format!(
                "git/ref/heads/{}",
                base_ref.trim_start_matches("refs/heads/")
            ),
            Value::Null,
        )
        .await;
    let base = r["object"]["sha"].as_str().unwrap_or_default().to_owned();
    let mut target = json!({"oid": base});
    for i in 0.. {
        let Some(path) = vars[format!("p{i}")].as_str() else {
            break;
        };
        let (code, c) = fake
            .rest(
                Method::GET,
                &format!("contents/{path}?ref={base}"),
                Value::Null,
            )
            .await;
        target[format!("f{i}")] = if code == 200 {
            use base64::Engine;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(c["content"].as_str().unwrap_or_default().replace('\n', ""))
                .unwrap();
            json!({"mode": 0o100644, "object": {"oid": c["sha"], "text": String::from_utf8(bytes).unwrap(), "isTruncated": false, "isBinary": false}})
        } else {
            Value::Null
        };
    }
    let (code, cmp) = fake
        .rest(
            Method::GET,
            &format!("compare/{}...{branch}", fake_base(base_ref)),
            Value::Null,
        )
        .await;
    // A branch that does not exist cannot be compared: GitHub answers `null` there, with
    // an error on that path (the adapter takes it as a new branch, and nothing else).
    let mut errors = Vec::new();
    if code != 200 {
        errors.push(
            json!({"message": format!("Could not resolve to a Ref named '{branch}'."),
            "path": ["repository", "base", "compare"]}),
        );
    }
    let (branch_ref, compare) = if code == 200 {
        let commits: Vec<Value> = all(cmp["commits"].clone())
            .iter()
            .map(|c| {
                json!({"oid": c["sha"], "message": c["commit"]["message"],
                    "author": {"name": c["author"]["login"], "user": if c["author"]["type"] == "Bot" { Value::Null } else { json!({"login": c["author"]["login"], "databaseId": c["author"]["id"]}) }}})
            })
            .collect();
        (
            json!({"id": format!("REF_{branch}")}),
            json!({"commits": page(commits)}),
        )
    } else {
        (Value::Null, Value::Null)
    };
    let (_, prs) = fake
        .rest(
            Method::GET,
            &format!("pulls?state=open&head={}:{branch}", fake.owner),
            Value::Null,
        )
        .await;
    let mut prs: Vec<Value> = all(prs).iter().map(pr).collect();
    prs.reverse();
    let mut answer = json!({"data": {"repository": {
        "id": "R_acme_gitops", "databaseId": 42,
        "base": {"target": target, "compare": compare},
        "branch": branch_ref,
        "pullRequests": {"pageInfo": {"hasNextPage": false}, "nodes": prs},
    }}});
    if !errors.is_empty() {
        answer["errors"] = Value::Array(errors);
    }
    answer
}

/// `addComment` on a pull request, then `addReaction` on a comment, by node ids.
async fn reply(fake: &Fake, vars: &Value) -> Value {
    let mut errors = Vec::new();
    let node = |v: &Value, prefix: &str| {
        v.as_str()
            .and_then(|s| s.strip_prefix(prefix))
            .and_then(|n| n.parse::<u64>().ok())
    };
    let added = match node(&vars["pr"], "PR_") {
        Some(n) => {
            let (code, c) = fake
                .rest(
                    Method::POST,
                    &format!("issues/{n}/comments"),
                    json!({"body": vars["body"]}),
                )
                .await;
            if code == 201 {
                json!({"commentEdge": {"node": {"fullDatabaseId": c["id"].to_string()}}})
            } else {
                errors.push(json!({"message": c["message"]}));
                Value::Null
            }
        }
        None => {
            errors.push(json!({"message": "Could not resolve to a node with the global id"}));
            Value::Null
        }
    };
    let reacted = match node(&vars["comment"], "IC_") {
        Some(id) => {
            let content = vars["content"]
                .as_str()
                .unwrap_or_default()
                .to_ascii_lowercase();
            let (code, r) = fake
                .rest(
                    Method::POST,
                    &format!("issues/comments/{id}/reactions"),
                    json!({"content": content}),
                )
                .await;
            if code == 201 {
                json!({"reaction": {"content": vars["content"]}})
            } else {
                errors.push(json!({"message": r["message"]}));
                Value::Null
            }
        }
        None => {
            errors.push(json!({"message": "Could not resolve to a node with the global id"}));
            Value::Null
        }
    };
    let mut answer = json!({"data": {"addComment": added, "addReaction": reacted}});
    if !errors.is_empty() {
        answer["errors"] = Value::Array(errors);
    }
    answer
}

fn fake_base(base_ref: &str) -> &str {
    base_ref.trim_start_matches("refs/heads/")
}

/// `createRef` then `createCommitOnBranch`, each on its own: a failed one is an entry in
/// `errors` and `null` in `data`, and the other still runs, as GitHub runs a document's
/// mutations one after another.
async fn write(fake: &Fake, vars: &Value) -> Value {
    let mut errors = Vec::new();
    let name = vars["ref"].as_str().unwrap_or_default();
    let base = vars["base"].as_str().unwrap_or_default();
    let (code, _) = fake
        .rest(Method::POST, "git/refs", json!({"ref": name, "sha": base}))
        .await;
    let created = if code == 201 {
        json!({"ref": {"id": format!("REF_{name}")}})
    } else {
        errors.push(
            json!({"message": format!("A ref named \"{name}\" already exists in the repository.")}),
        );
        Value::Null
    };
    let branch = vars["branch"]["branchName"].as_str().unwrap_or_default();
    let committed = if fake.forge.branch_head(branch).as_deref() == Some(base) {
        use base64::Engine;
        let files: Vec<FileWrite> = vars["changes"]["additions"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|a| FileWrite {
                path: a["path"].as_str().unwrap_or_default().to_owned(),
                content: String::from_utf8(
                    base64::engine::general_purpose::STANDARD
                        .decode(a["contents"].as_str().unwrap_or_default())
                        .unwrap(),
                )
                .unwrap(),
            })
            .collect();
        let m = &vars["message"];
        let message = match m["body"].as_str().unwrap_or_default() {
            "" => m["headline"].as_str().unwrap_or_default().to_owned(),
            body => format!("{}\n\n{body}", m["headline"].as_str().unwrap_or_default()),
        };
        let sha = fake
            .forge
            .write_branch(branch, base, &files, &message)
            .await
            .unwrap();
        json!({"commit": {"oid": sha}})
    } else {
        errors.push(json!({"message": format!("Expected branch to point to \"{base}\"")}));
        Value::Null
    };
    let mut answer = json!({"data": {"createRef": created, "createCommitOnBranch": committed}});
    if !errors.is_empty() {
        answer["errors"] = Value::Array(errors);
    }
    answer
}

fn all(v: Value) -> Vec<Value> {
    v.as_array().cloned().unwrap_or_default()
}
