//! A GitHub REST fake over HTTP, on the in-memory forge's state: the endpoints Hoist
//! calls, shaped as GitHub documents them (status codes included: 404 for a missing
//! file or non-member, 422 for an existing ref, 409 for a merge whose head moved, 405
//! for merging twice). Also Argo CD's `GET /api/v1/applications/{name}`.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hoist::forge::{Forge, ForgeError, PrState, PullRequest, Reaction};
use serde_json::{Value, json};

use super::memory_forge::{MemoryArgo, MemoryForge};

#[path = "github_graphql.rs"]
mod graphql;

#[derive(Clone)]
struct Fake {
    forge: MemoryForge,
    argo: MemoryArgo,
    owner: String,
    repo: String,
}

/// Serves the fake on a loopback port; returns its base URL.
pub async fn serve(forge: MemoryForge, argo: MemoryArgo) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    serve_on(forge, argo, listener)
}

/// Serves the fake on `listener` (a port chosen before GitHub "comes back"); returns its
/// base URL.
pub fn serve_on(forge: MemoryForge, argo: MemoryArgo, listener: tokio::net::TcpListener) -> String {
    let forge_state = forge.state.clone();
    let fake = Arc::new(Fake {
        forge,
        argo,
        owner: "acme".into(),
        repo: "gitops".into(),
    });
    let app = Router::new().fallback(
        move |m: Method, u: Uri, h: axum::http::HeaderMap, b: Bytes| {
            let fake = fake.clone();
            async move {
                if let Some(res) = aws_query(&h, &b, &fake.forge) {
                    return res;
                }
                if h.contains_key("x-amz-target") {
                    let res = ecr(&h, &b, &fake.forge);
                    fake.forge.changed.notify_all();
                    return res;
                }
                let get = m == Method::GET;
                let res = match authorize(&m, &u, &h) {
                    Ok(()) => fake.handle(m, u.clone(), b).await,
                    Err(why) => {
                        fake.forge.state.lock().unwrap().unauthorized += 1;
                        status(401, why)
                    }
                };
                fake.forge.changed.notify_all();
                if !get || res.status() != StatusCode::OK {
                    return res;
                }
                // ETags as GitHub sends them: a matching If-None-Match gets 304 and no body.
                let (mut parts, body) = res.into_parts();
                let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
                let etag = format!("\"{:016x}\"", {
                    use std::hash::{Hash, Hasher};
                    let mut hasher = std::collections::hash_map::DefaultHasher::new();
                    bytes.hash(&mut hasher);
                    hasher.finish()
                });
                if h.get("if-none-match").and_then(|v| v.to_str().ok()) == Some(etag.as_str()) {
                    let mut st = fake.forge.state.lock().unwrap();
                    st.not_modified += 1;
                    // Marked in the log: a 304 costs no rate limit.
                    let call = format!("GET {}", ghes_path(&u));
                    if let Some(e) = st.http.iter_mut().rev().find(|e| **e == call) {
                        e.push_str(" 304");
                    }
                    return StatusCode::NOT_MODIFIED.into_response();
                }
                parts.headers.insert("etag", etag.parse().unwrap());
                Response::from_parts(parts, axum::body::Body::from(bytes))
            }
        },
    );
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let url = format!("http://{addr}");
    forge_state.lock().unwrap().served_at = Some(url.clone());
    url
}

/// Whether a request carries SigV4 credentials, as AWS requires of every call.
fn signed(h: &axum::http::HeaderMap) -> bool {
    h.get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("AWS4-HMAC-SHA256 Credential="))
}

/// Hoist's role's session, as STS names the caller of the GitHub fake's AWS calls.
pub const AWS_CALLER: &str = "arn:aws:sts::123456789012:assumed-role/hoist/hoist-session";

/// STS and IAM's query protocol (`support::aws_query`), for a signed request: Hoist's
/// role's session is the caller.
fn aws_query(h: &axum::http::HeaderMap, body: &[u8], forge: &MemoryForge) -> Option<Response> {
    if !signed(h) || h.contains_key("x-amz-target") {
        return None;
    }
    let iam = forge.state.lock().unwrap().iam.clone();
    super::aws_query::answer(body, AWS_CALLER, &iam)
}

/// Amazon ECR's JSON API, as far as reconcile reads it (`DescribeImages` of the state's
/// `ecr_images`, one page), so a reconcile pass against the fakes completes: a request
/// without SigV4 credentials is refused as ECR refuses it.
fn ecr(h: &axum::http::HeaderMap, body: &[u8], forge: &MemoryForge) -> Response {
    let json = |code: u16, v: Value| {
        (
            StatusCode::from_u16(code).unwrap(),
            [("content-type", "application/x-amz-json-1.1")],
            v.to_string(),
        )
            .into_response()
    };
    if !signed(h) {
        return json(
            403,
            json!({"__type": "MissingAuthenticationTokenException", "message": "Missing Authentication Token"}),
        );
    }
    forge.state.lock().unwrap().ecr_calls += 1;
    match h.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        Some("AmazonEC2ContainerRegistry_V20150921.DescribeImages") => {
            let req: Value = serde_json::from_slice(body).unwrap_or_default();
            let name = req["repositoryName"].as_str().unwrap_or_default();
            let details: Vec<Value> = forge
                .state
                .lock()
                .unwrap()
                .ecr_images
                .get(name)
                .into_iter()
                .flatten()
                .map(|(tag, digest, at)| {
                    json!({"repositoryName": name, "imageDigest": digest, "imageTags": [tag],
                        "imagePushedAt": at})
                })
                .collect();
            json(200, json!({"imageDetails": details}))
        }
        other => json(
            400,
            json!({"__type": "UnknownOperationException", "message": format!("the fake does not serve {other:?}")}),
        ),
    }
}

/// A throwaway RSA key for Hoist's GitHub App, made by openssl as a user would, in `dir`.
/// deploy/github-ruleset.json with its required checks pinned to Hoist's App, as
/// docs/getting-started.md's `jq` filter makes it before `gh api` posts it.
pub fn pinned_ruleset() -> Value {
    let mut set: Value =
        serde_json::from_str(include_str!("../../deploy/github-ruleset.json")).unwrap();
    for rule in set["rules"].as_array_mut().unwrap() {
        if rule["type"] == "required_status_checks" {
            for check in rule["parameters"]["required_status_checks"]
                .as_array_mut()
                .unwrap()
            {
                check["integration_id"] = APP_ID.into();
            }
        }
    }
    set
}

/// An application's `spec.source`: the one it was given, else where the example's
/// applications deploy from (`{service}-{stage}` from `apps/{service}/env/{stage}`, or
/// `charts/billing-api/env/{stage}` for the example's Helm chart, on main of acme/gitops,
/// on this fake GitHub at `served_at`).
fn app_source(served_at: &str, name: &str, sources: &[hoist::argocd::AppSource]) -> Value {
    if let Some(s) = sources.first() {
        return json!({"repoURL": s.repo_url, "path": s.path, "targetRevision": s.target_revision});
    }
    let (service, stage) = name.rsplit_once('-').unwrap_or((name, ""));
    json!({
        "repoURL": format!("{served_at}/acme/gitops.git"),
        "path": match service {
            "billing-api" => format!("charts/{service}/env/{stage}"),
            _ => format!("apps/{service}/env/{stage}"),
        },
        "targetRevision": "main",
    })
}

pub fn app_key(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("app.pem");
    let ok = std::process::Command::new("openssl")
        .args(["genrsa", "-out"])
        .arg(&path)
        .arg("2048")
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(ok.success(), "openssl genrsa");
    path
}

/// The config lines that authenticate as Hoist's App (a key made in `dir`) to the fake.
pub fn app_auth(dir: &std::path::Path) -> String {
    let path = app_key(dir);
    format!(
        "    app_id: {APP_ID}\n    private_key_file: {}\n    installation_id: 7\n    write_interval_ms: 0\n",
        path.display()
    )
}

/// The installation token the fake mints, and the personal tokens it accepts.
pub const INSTALLATION_TOKEN: &str = "ghs_fake";
const PERSONAL_TOKENS: &[&str] = &["ghp_test", "t"];
/// The App id whose JWTs the fake accepts.
pub const APP_ID: u64 = 12345;

/// The Argo CD account tokens the fake's Argo CD API accepts.
pub const ARGO_TOKENS: &[&str] = &["argo", "argo-token", "argocd-token"];

/// Authentication as GitHub enforces it on a private repository: App routes take the
/// App's JWT; everything else an installation or personal token; a missing or wrong
/// credential is 401 "Requires authentication" / "Bad credentials". Argo CD's routes
/// (served here too) and public user profiles need none.
fn authorize(m: &Method, u: &Uri, h: &axum::http::HeaderMap) -> Result<(), &'static str> {
    let path = ghes_path(u);
    let auth = h.get("authorization").and_then(|v| v.to_str().ok());
    let token = auth
        .and_then(|a| {
            a.strip_prefix("Bearer ")
                .or_else(|| a.strip_prefix("token "))
        })
        .unwrap_or_default();
    // Argo CD's API takes its accounts' tokens only, as Argo CD answers otherwise.
    if path.starts_with("/api/v1/") {
        return if ARGO_TOKENS.contains(&token) {
            Ok(())
        } else {
            Err("invalid session: token signature is invalid")
        };
    }
    if *m == Method::GET && path.starts_with("/users/") {
        return Ok(());
    }
    if auth.is_none() {
        return Err("Requires authentication");
    }
    let app_route = path == "/app"
        || path.starts_with("/app/installations/")
        || path.ends_with("/installation");
    let valid = if app_route {
        jwt_issuer(token) == Some(APP_ID)
    } else {
        token == INSTALLATION_TOKEN || PERSONAL_TOKENS.contains(&token)
    };
    if valid {
        Ok(())
    } else {
        Err("Bad credentials")
    }
}

/// The route, without the `/api/v3` root GitHub Enterprise Server serves its API under.
fn ghes_path(u: &Uri) -> &str {
    u.path().strip_prefix("/api/v3").unwrap_or(u.path())
}

/// The `iss` of an unexpired App JWT (the signature is not checked: the fake has no key).
fn jwt_issuer(token: &str) -> Option<u64> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let [_, claims, _] = token.split('.').collect::<Vec<_>>()[..] else {
        return None;
    };
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).ok()?).ok()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    if claims["exp"].as_u64()? < now {
        return None;
    }
    match &claims["iss"] {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn ok(v: Value) -> Response {
    (StatusCode::OK, axum::Json(v)).into_response()
}

fn status(code: u16, message: &str) -> Response {
    (
        StatusCode::from_u16(code).unwrap(),
        axum::Json(
            json!({"message": message, "documentation_url": "https://docs.github.com/rest"}),
        ),
    )
        .into_response()
}

fn user(a: &hoist::event::Actor) -> Value {
    let kind = if a.kind == hoist::event::ActorKind::Bot {
        "Bot"
    } else {
        "User"
    };
    json!({"id": a.id, "login": a.login, "type": kind})
}

fn pull(p: &PullRequest) -> Value {
    let merged = p.state == PrState::Merged;
    json!({
        "number": p.number,
        "title": p.title,
        "body": p.body,
        "state": if p.state == PrState::Open { "open" } else { "closed" },
        "merged_at": if merged { Value::from("2026-11-26T10:00:00Z") } else { Value::Null },
        "merge_commit_sha": p.merge_sha,
        "mergeable": p.mergeable,
        "head": {"ref": p.head_ref, "sha": p.head_sha,
                 "repo": if p.from_fork { json!({"id": 99, "full_name": "mallory/gitops"}) } else { json!({"id": 42, "full_name": "acme/gitops"}) }},
        "base": {"ref": p.base_ref, "sha": p.base_sha, "repo": {"id": 42, "full_name": "acme/gitops"}},
    })
}

fn forge_error(e: ForgeError) -> Response {
    match e {
        ForgeError::NotFound(m) => status(404, &m),
        ForgeError::Conflict(m) => status(409, &m),
        ForgeError::Transient(m) => status(502, &m),
        ForgeError::Other(m) => status(405, &m),
    }
}

impl Fake {
    /// Delivers a signed `pull_request` webhook for `pr`, as GitHub does after it opens
    /// or merges one, when a target is set. Delivery happens in the background.
    fn deliver_pull_request(&self, action: &str, pr: &PullRequest) {
        let Some((url, secret)) = self.forge.state.lock().unwrap().webhook.clone() else {
            return;
        };
        let mut p = pull(pr);
        p["merged"] = (pr.state == PrState::Merged).into();
        p["user"] = user(&self.forge.me_actor());
        let body = json!({"action": action, "number": pr.number, "pull_request": p,
                          "repository": {"full_name": format!("{}/{}", self.owner, self.repo)}, "installation": {"id": 7}})
        .to_string();
        let sig = hoist::ingress::signature::Secrets::from_list(&secret)
            .sign_github(body.as_bytes())
            .unwrap();
        let delivery = format!("fake-{action}-{}-{}", pr.number, pr.head_sha);
        tokio::spawn(async move {
            use hyper_util::client::legacy::Client;
            let client: Client<_, axum::body::Body> =
                Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
            let req = axum::http::Request::post(url)
                .header("x-github-event", "pull_request")
                .header("x-github-delivery", delivery)
                .header("x-hub-signature-256", sig)
                .header("content-type", "application/json")
                .body(axum::body::Body::from(body))
                .unwrap();
            let _ = client.request(req).await;
        });
    }

    async fn handle(&self, method: Method, uri: Uri, body: Bytes) -> Response {
        let path = ghes_path(&uri).to_owned();
        // GraphQL is served at the API root's `/graphql` on github.com only (GitHub
        // Enterprise Server has it beside its REST root, at `/api/graphql`).
        let graphql = method == Method::POST && uri.path() == "/graphql";
        let operation = if graphql {
            graphql::operation(&body)
        } else {
            String::new()
        };
        {
            let mut st = self.forge.state.lock().unwrap();
            st.http.push(format!("{method} {path}{operation}"));
            st.http_at.push(std::time::Instant::now());
        }
        // A fault the test set is the next request's answer: a GraphQL one, or a REST one
        // under the repository (never one of GraphQL's own reads of the REST routes).
        if graphql && self.forge.state.lock().unwrap().graphql_off {
            return status(404, "Not Found");
        }
        let repo_route = path.starts_with(&format!("/repos/{}/{}/", self.owner, self.repo));
        if (graphql || repo_route)
            && let Some((code, body)) = self.forge.state.lock().unwrap().answer_next.take()
        {
            return (StatusCode::from_u16(code).unwrap(), body).into_response();
        }
        if graphql {
            let answer = graphql::answer(self, &body).await;
            let mut st = self.forge.state.lock().unwrap();
            if st.graphql_lost_answer == Some(operation.trim()) {
                st.graphql_lost_answer = None;
                return status(502, "Server Error");
            }
            return answer;
        }
        self.route(method, uri, body).await
    }

    /// A REST route's answer, unrecorded: GraphQL's answers are built from them.
    async fn rest(&self, method: Method, path_and_query: &str, body: Value) -> (u16, Value) {
        let uri: Uri = format!("/repos/{}/{}/{path_and_query}", self.owner, self.repo)
            .parse()
            .unwrap();
        let res = self.route(method, uri, Bytes::from(body.to_string())).await;
        let code = res.status().as_u16();
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        (code, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    async fn route(&self, method: Method, uri: Uri, body: Bytes) -> Response {
        let path = ghes_path(&uri).to_owned();
        let query: std::collections::HashMap<String, String> = uri
            .query()
            .unwrap_or_default()
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.replace("%2F", "/")))
            .collect();
        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let f = &self.forge;
        let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let repo_prefix = ["repos", self.owner.as_str(), self.repo.as_str()];
        // App authentication and identity.
        match (method.as_str(), segs.as_slice()) {
            ("GET", ["user"]) => return ok(user(&f.me_actor())),
            ("GET", ["app"]) => {
                return ok(
                    json!({"id": APP_ID, "slug": f.me_actor().login.trim_end_matches("[bot]")}),
                );
            }
            ("GET", ["users", login]) => {
                return match f.user_by_login(login) {
                    Some(a) => ok(user(&a)),
                    None => status(404, "Not Found"),
                };
            }
            ("POST", ["app", "installations", _, "access_tokens"]) => {
                if f.state.lock().unwrap().not_installed {
                    return status(404, "Not Found");
                }
                return (StatusCode::CREATED, axum::Json(json!({"token": INSTALLATION_TOKEN, "expires_at": "2099-01-01T00:00:00Z", "permissions": {}})))
                    .into_response();
            }
            ("GET", ["orgs", org, "teams", team, "memberships", login]) => {
                let Some(a) = f.user_by_login(login) else {
                    return status(404, "Not Found");
                };
                return match f.is_team_member(org, team, &a).await {
                    Ok(true) => ok(json!({"state": "active", "role": "member"})),
                    Ok(false) => status(404, "Not Found"),
                    Err(e) => forge_error(e),
                };
            }
            ("GET", ["api", "v1", "applications", name, "manifests"]) => {
                let revision = query.get("revision").cloned().unwrap_or_default();
                use hoist::argocd::ArgoCd;
                return match self.argo.manifests(name, &revision).await {
                    Ok(m) => ok(json!({"manifests": m, "revision": revision})),
                    Err(e) => status(400, &e.0),
                };
            }
            ("GET", ["api", "v1", "applications", name]) if query.contains_key("refresh") => {
                use hoist::argocd::ArgoCd;
                self.argo.refresh(name).await.unwrap();
                return ok(json!({"metadata": {"name": name}}));
            }
            ("GET", ["api", "v1", "applications", name]) => {
                let served_at = f
                    .state
                    .lock()
                    .unwrap()
                    .served_at
                    .clone()
                    .unwrap_or_default();
                let apps = self.argo.apps.lock().unwrap();
                return match apps.get(*name) {
                    Some(a) => ok(json!({
                        "metadata": {"name": name},
                        "spec": {"source": app_source(&served_at, name, &a.sources)},
                        "status": {
                            "sync": {"status": a.sync, "revision": a.revisions.first()},
                            "health": {"status": a.health},
                            "reconciledAt": a.reconciled_at,
                            "operationState": {"finishedAt": a.operation_finished_at, "phase": a.operation_phase},
                            "conditions": a.conditions.iter().map(|c| json!({"type": c})).collect::<Vec<_>>(),
                            "summary": {"images": a.images},
                        }
                    })),
                    None => status(404, "application not found"),
                };
            }
            _ => {}
        }
        if segs.len() < 3 || segs[..3] != repo_prefix {
            return status(404, "Not Found");
        }
        let rest = &segs[3..];
        match (method.as_str(), rest) {
            ("GET", ["installation"]) => {
                let st = f.state.lock().unwrap();
                if st.not_installed {
                    return status(404, "Not Found");
                }
                let registered =
                    hoist::forge::github::manifest::manifest("hoist", "https://hoist.test");
                let (permissions, events) = match &st.installation {
                    Value::Null => (
                        registered["default_permissions"].clone(),
                        registered["default_events"].clone(),
                    ),
                    set => (set["permissions"].clone(), set["events"].clone()),
                };
                ok(json!({"id": 7, "app_id": APP_ID, "permissions": permissions, "events": events}))
            }
            ("POST", ["rulesets"]) => {
                let mut st = f.state.lock().unwrap();
                let mut set = body.clone();
                set["id"] = json!(st.rulesets.len() + 1);
                set["source_type"] = json!("Repository");
                set["source"] = json!("acme/gitops");
                st.rulesets.push(set.clone());
                (StatusCode::CREATED, axum::Json(set)).into_response()
            }
            ("GET", ["rulesets", id]) => {
                let st = f.state.lock().unwrap();
                match id
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| st.rulesets.get(i.wrapping_sub(1)))
                {
                    Some(set) => {
                        // As GitHub answers the caller, here Hoist's App: whether it is a
                        // bypass actor of the ruleset.
                        let mut set = set.clone();
                        let mine = set["bypass_actors"].as_array().and_then(|a| {
                            a.iter().find(|b| {
                                b["actor_type"] == "Integration" && b["actor_id"] == APP_ID
                            })
                        });
                        set["current_user_can_bypass"] = match mine {
                            Some(b) => b["bypass_mode"].clone(),
                            None => json!("never"),
                        };
                        ok(set)
                    }
                    None => status(404, "Not Found"),
                }
            }
            ("GET", ["rules", "branches", branch]) => {
                let st = f.state.lock().unwrap();
                let applies = |set: &Value| {
                    let include = &set["conditions"]["ref_name"]["include"];
                    set["enforcement"] == "active"
                        && include.as_array().is_some_and(|l| {
                            l.iter().any(|r| {
                                r == "~ALL"
                                    || (r == "~DEFAULT_BRANCH" && *branch == "main")
                                    || *r == format!("refs/heads/{branch}")
                            })
                        })
                };
                let rules: Vec<Value> = st
                    .rulesets
                    .iter()
                    .filter(|s| applies(s))
                    .flat_map(|s| {
                        s["rules"]
                            .as_array()
                            .cloned()
                            .unwrap_or_default()
                            .into_iter()
                            .map(|mut r| {
                                r["ruleset_source_type"] = json!("Repository");
                                r["ruleset_source"] = json!("acme/gitops");
                                r["ruleset_id"] = s["id"].clone();
                                r
                            })
                    })
                    .collect();
                ok(json!(rules))
            }
            ("GET", ["branches", branch]) => {
                let protected = f.state.lock().unwrap().branch_protection.is_some();
                ok(json!({"name": branch, "protected": protected}))
            }
            ("GET", ["branches", _, "protection"]) => {
                match f.state.lock().unwrap().branch_protection.clone() {
                    // As GitHub answers, with its rate-limit headers even on a refusal.
                    Some((code, body)) => (
                        StatusCode::from_u16(code).unwrap(),
                        [
                            ("x-ratelimit-remaining", "4999"),
                            ("x-ratelimit-reset", "1796600000"),
                        ],
                        axum::Json(body),
                    )
                        .into_response(),
                    None => status(404, "Branch not protected"),
                }
            }
            ("GET", ["git", "ref", "heads", branch]) if *branch == "main" => {
                let sha = f.base_head().await.unwrap();
                ok(json!({"ref": "refs/heads/main", "object": {"sha": sha, "type": "commit"}}))
            }
            ("GET", ["contents", file @ ..]) => {
                let file = file.join("/");
                let at = query.get("ref").cloned().unwrap_or_else(|| futures_base(f));
                match f.file_at(&at, &file) {
                    Some(text) => ok(json!({
                        "type": "file", "encoding": "base64", "path": file,
                        "sha": MemoryForge::blob_sha(&text),
                        // GitHub wraps base64 at 60 characters.
                        "content": STANDARD.encode(&text).as_bytes().chunks(60).map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>().join("\n"),
                    })),
                    None => status(404, "Not Found"),
                }
            }
            ("PUT", ["contents", file @ ..]) => {
                let file = file.join("/");
                let branch = body["branch"].as_str().unwrap_or_default();
                let bytes = STANDARD
                    .decode(body["content"].as_str().unwrap_or_default())
                    .unwrap();
                let text = String::from_utf8(bytes).unwrap();
                // Someone pushes between Hoist's reset of the branch and this write.
                let interloper = f.state.lock().unwrap().push_before_write.take();
                if let Some((who, path, content)) = interloper {
                    f.push_as(branch, &who, &path, &content);
                }
                // GitHub requires the replaced blob's sha, and refuses a stale one.
                let Some(at) = f.branch_head(branch) else {
                    return status(404, "Branch not found");
                };
                if let Some(old) = f.file_at(&at, &file)
                    && body["sha"].as_str() != Some(MemoryForge::blob_sha(&old).as_str())
                {
                    return status(409, "sha does not match");
                }
                match f.put_file(
                    branch,
                    &file,
                    &text,
                    body["message"].as_str().unwrap_or_default(),
                ) {
                    // The new commit, with its parent: the head the branch had.
                    Some(sha) => (
                        StatusCode::OK,
                        axum::Json(json!({"content": {"path": file},
                                          "commit": {"sha": sha, "parents": [{"sha": at}]}})),
                    )
                        .into_response(),
                    None => status(404, "Branch not found"),
                }
            }
            ("GET", ["git", "commits", sha]) => match f.tree_of(sha) {
                Some(tree) => ok(json!({"sha": sha, "tree": {"sha": tree}})),
                None => status(404, "Not Found"),
            },
            ("POST", ["git", "trees"]) => {
                let files: Vec<(String, String)> = body["tree"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|e| {
                        let s = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
                        (s("path"), s("content"))
                    })
                    .collect();
                match f.make_tree(body["base_tree"].as_str().unwrap_or_default(), &files) {
                    Some(sha) => {
                        (StatusCode::CREATED, axum::Json(json!({"sha": sha}))).into_response()
                    }
                    None => status(422, "base_tree is not a valid tree"),
                }
            }
            ("POST", ["git", "commits"]) => {
                let parents: Vec<&str> = body["parents"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                let made = match parents.as_slice() {
                    [parent] => f.make_commit(
                        body["tree"].as_str().unwrap_or_default(),
                        parent,
                        body["message"].as_str().unwrap_or_default(),
                    ),
                    _ => None,
                };
                match made {
                    Some(sha) => (
                        StatusCode::CREATED,
                        axum::Json(json!({"sha": sha, "tree": {"sha": body["tree"]}, "parents": parents.iter().map(|p| json!({"sha": p})).collect::<Vec<_>>()})),
                    )
                        .into_response(),
                    None => status(422, "tree or parents are not valid"),
                }
            }
            ("GET", ["compare", range @ ..]) => {
                let range = range.join("/");
                let branch = range.split_once("...").map(|(_, b)| b).unwrap_or_default();
                match f.branch_commits(branch).await.unwrap() {
                    Some(commits) => ok(json!({
                        "status": "ahead", "ahead_by": commits.len(),
                        "commits": commits.iter().map(|c| json!({"sha": c.sha, "author": user(&c.author), "commit": {"message": c.message}})).collect::<Vec<_>>(),
                    })),
                    None => status(404, "Not Found"),
                }
            }
            ("POST", ["git", "refs"]) => {
                let name = body["ref"]
                    .as_str()
                    .unwrap_or_default()
                    .trim_start_matches("refs/heads/")
                    .to_owned();
                if f.create_ref(&name, body["sha"].as_str().unwrap_or_default()) {
                    (
                        StatusCode::CREATED,
                        axum::Json(json!({"ref": body["ref"], "object": {"sha": body["sha"]}})),
                    )
                        .into_response()
                } else {
                    status(422, "Reference already exists")
                }
            }
            ("PATCH", ["git", "refs", "heads", branch @ ..]) => {
                f.force_ref(&branch.join("/"), body["sha"].as_str().unwrap_or_default());
                ok(json!({"object": {"sha": body["sha"]}}))
            }
            ("DELETE", ["git", "refs", "heads", branch @ ..]) => {
                f.delete_branch(&branch.join("/")).await.unwrap();
                StatusCode::NO_CONTENT.into_response()
            }
            ("GET", ["pulls"]) => {
                let state = query.get("state").map(String::as_str).unwrap_or("open");
                let page: usize = query.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
                let head = query
                    .get("head")
                    .and_then(|h| h.split_once(':'))
                    .map(|(_, b)| b.to_owned());
                let prs = f.state.lock().unwrap().prs.clone();
                let list: Vec<Value> = prs
                    .iter()
                    .filter(|p| (state == "open") == (p.state == PrState::Open))
                    .filter(|p| head.as_ref().is_none_or(|h| &p.head_ref == h))
                    .skip((page - 1) * 100)
                    .take(100)
                    .map(pull)
                    .collect();
                ok(Value::Array(list))
            }
            ("POST", ["pulls"]) => {
                let branch = body["head"].as_str().unwrap_or_default();
                match f
                    .create_pull_request(
                        branch,
                        body["title"].as_str().unwrap_or_default(),
                        body["body"].as_str().unwrap_or_default(),
                    )
                    .await
                {
                    Ok(p) => {
                        self.deliver_pull_request("opened", &p);
                        (StatusCode::CREATED, axum::Json(pull(&p))).into_response()
                    }
                    Err(e) => forge_error(e),
                }
            }
            ("GET", ["pulls", n]) => match f.pull_request(n.parse().unwrap()).await {
                Ok(p) => ok(pull(&p)),
                Err(e) => forge_error(e),
            },
            ("PATCH", ["pulls", n]) => {
                let n: u64 = n.parse().unwrap();
                match f
                    .update_pull_request(
                        n,
                        body["title"].as_str().unwrap_or_default(),
                        body["body"].as_str().unwrap_or_default(),
                    )
                    .await
                {
                    Ok(()) => ok(pull(&f.pr(n))),
                    Err(e) => forge_error(e),
                }
            }
            ("GET", ["pulls", n, "files"]) => {
                let page: usize = query.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
                let files = if page == 1 {
                    f.pull_request_files(n.parse().unwrap()).await.unwrap()
                } else {
                    vec![]
                };
                ok(Value::Array(
                    files
                        .iter()
                        .map(|p| json!({"filename": p, "status": "modified"}))
                        .collect(),
                ))
            }
            ("POST", ["check-runs"]) if body["external_id"].is_string() => {
                f.publish_record(
                    0,
                    body["head_sha"].as_str().unwrap_or_default(),
                    body["output"]["summary"].as_str().unwrap_or_default(),
                    body["external_id"].as_str().unwrap_or_default(),
                )
                .await
                .unwrap();
                (
                    StatusCode::CREATED,
                    axum::Json(json!({"id": 2, "name": body["name"]})),
                )
                    .into_response()
            }
            ("POST", ["check-runs"]) => {
                let conclusion = match body["conclusion"].as_str() {
                    Some("success") => hoist::forge::Conclusion::Success,
                    Some(_) => hoist::forge::Conclusion::Failure,
                    None => hoist::forge::Conclusion::Pending,
                };
                // GitHub ties a check run to the pull requests whose head it is.
                let head = body["head_sha"].as_str().unwrap_or_default();
                let number = f
                    .state
                    .lock()
                    .unwrap()
                    .prs
                    .iter()
                    .rev()
                    .find(|p| p.head_sha == head)
                    .map_or(0, |p| p.number);
                f.create_check_run(
                    number,
                    body["head_sha"].as_str().unwrap_or_default(),
                    body["name"].as_str().unwrap_or_default(),
                    conclusion,
                    body["output"]["title"].as_str().unwrap_or_default(),
                    body["output"]["summary"].as_str().unwrap_or_default(),
                )
                .await
                .unwrap();
                (
                    StatusCode::CREATED,
                    axum::Json(json!({"id": 1, "name": body["name"]})),
                )
                    .into_response()
            }
            ("GET", ["pulls", n, "reviews"]) => {
                let reviews = f.reviews(n.parse().unwrap()).await.unwrap();
                ok(Value::Array(
                    reviews
                        .iter()
                        .map(|r| {
                            let state = match r.state {
                                hoist::event::ReviewState::Approved => "APPROVED",
                                hoist::event::ReviewState::ChangesRequested => "CHANGES_REQUESTED",
                                hoist::event::ReviewState::Dismissed => "DISMISSED",
                                hoist::event::ReviewState::Commented => "COMMENTED",
                            };
                            json!({"user": user(&r.reviewer), "state": state, "commit_id": r.commit_id})
                        })
                        .collect(),
                ))
            }
            ("PUT", ["pulls", n, "merge"]) => {
                let n: u64 = n.parse().unwrap();
                if f.pr(n).state == PrState::Merged {
                    return status(405, "Pull Request is not mergeable");
                }
                match f
                    .merge(n, body["sha"].as_str().unwrap_or_default(), "", "")
                    .await
                {
                    Ok(sha) => {
                        self.deliver_pull_request("closed", &f.pr(n));
                        ok(
                            json!({"sha": sha, "merged": true, "message": "Pull Request successfully merged"}),
                        )
                    }
                    Err(ForgeError::Conflict(m)) if m.contains("head moved") => status(
                        409,
                        "Head branch was modified. Review and try the merge again.",
                    ),
                    Err(ForgeError::Conflict(m)) => status(405, &m),
                    Err(e) => forge_error(e),
                }
            }
            // The repository's comments (`since` is not applied: the model keeps no times).
            ("GET", ["issues", "comments"]) => {
                let page: usize = query.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
                let all = f.state.lock().unwrap().comments.clone();
                let base = format!("https://api.github.com/repos/{}/{}", self.owner, self.repo);
                ok(Value::Array(
                    all.iter()
                        .skip((page - 1) * 100)
                        .take(100)
                        .map(|(n, c)| {
                            let updated = if c.edited {
                                "2026-11-26T10:05:00Z"
                            } else {
                                "2026-11-26T10:00:00Z"
                            };
                            json!({"id": c.id, "body": c.body, "user": user(&c.author),
                                   "issue_url": format!("{base}/issues/{n}"),
                                   "created_at": "2026-11-26T10:00:00Z", "updated_at": updated})
                        })
                        .collect(),
                ))
            }
            ("GET", ["issues", n, "comments"]) => {
                let page: usize = query.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
                let comments = f.comments(n.parse().unwrap()).await.unwrap();
                ok(Value::Array(
                    comments
                        .iter()
                        .skip((page - 1) * 100)
                        .take(100)
                        .map(|c| {
                            // GitHub moves `updated_at` on when a comment is edited.
                            let updated = if c.edited {
                                "2026-11-26T10:05:00Z"
                            } else {
                                "2026-11-26T10:00:00Z"
                            };
                            json!({"id": c.id, "body": c.body, "user": user(&c.author),
                                   "created_at": "2026-11-26T10:00:00Z", "updated_at": updated})
                        })
                        .collect(),
                ))
            }
            ("POST", ["issues", n, "comments"]) => {
                f.comment(
                    n.parse().unwrap(),
                    body["body"].as_str().unwrap_or_default(),
                )
                .await
                .unwrap();
                // As GitHub answers: the new comment, with its id.
                let n: u64 = n.parse().unwrap();
                let id = f
                    .state
                    .lock()
                    .unwrap()
                    .comments
                    .iter()
                    .rev()
                    .find(|(on, c)| *on == n && c.body == body["body"].as_str().unwrap_or_default())
                    .map(|(_, c)| c.id);
                (
                    StatusCode::CREATED,
                    axum::Json(json!({"id": id, "body": body["body"]})),
                )
                    .into_response()
            }
            // The App edits comments it wrote; anyone else's it may not.
            ("PATCH", ["issues", "comments", id]) => {
                let id: u64 = id.parse().unwrap();
                let me = f.me_actor();
                let mut st = f.state.lock().unwrap();
                st.calls.push(format!("PATCH comment {id}"));
                let Some((_, c)) = st.comments.iter_mut().find(|(_, c)| c.id == id) else {
                    return status(404, "Not Found");
                };
                if !c.author.is(&me) {
                    return status(403, "Resource not accessible by integration");
                }
                c.body = body["body"].as_str().unwrap_or_default().into();
                c.edited = true;
                ok(json!({"id": id, "body": c.body}))
            }
            ("POST", ["issues", "comments", id, "reactions"]) => {
                let r = match body["content"].as_str() {
                    Some("eyes") => Reaction::Eyes,
                    Some("rocket") => Reaction::Rocket,
                    _ => Reaction::Confused,
                };
                // GitHub keeps one reaction of a kind per user: the same again answers
                // 200 with the one there.
                let id: u64 = id.parse().unwrap();
                if f.state.lock().unwrap().reactions.contains(&(id, r)) {
                    return ok(json!({"content": body["content"]}));
                }
                match f.react(id, r).await {
                    Ok(()) => (
                        StatusCode::CREATED,
                        axum::Json(json!({"content": body["content"]})),
                    )
                        .into_response(),
                    Err(e) => forge_error(e),
                }
            }
            ("GET", ["collaborators", login, "permission"]) => {
                let Some(a) = f.user_by_login(login) else {
                    return status(404, "Not Found");
                };
                let p = f.permission(&a).await.unwrap();
                let name = match p {
                    hoist::forge::Permission::Admin => "admin",
                    hoist::forge::Permission::Maintain | hoist::forge::Permission::Write => "write",
                    hoist::forge::Permission::Triage | hoist::forge::Permission::Read => "read",
                    hoist::forge::Permission::None => "none",
                };
                ok(json!({"permission": name, "user": user(&a)}))
            }
            ("GET", ["commits", sha, "check-runs"])
                if query.get("check_name").map(String::as_str) == Some("hoist/record") =>
            {
                let records = f.records(0, sha).await.unwrap();
                ok(json!({
                    "total_count": records.len(),
                    "check_runs": records.iter().rev().map(|r| json!({
                        "name": "hoist/record", "status": "completed", "conclusion": "neutral",
                        "external_id": r, "app": {"id": APP_ID, "slug": "hoist"},
                    })).collect::<Vec<_>>(),
                }))
            }
            // Filtered by `check_name` and `app_id` as GitHub filters them.
            ("GET", ["commits", sha, "check-runs"]) => {
                let checks: Vec<_> = f
                    .checks(sha)
                    .await
                    .unwrap()
                    .into_iter()
                    .filter(|c| query.get("check_name").is_none_or(|n| *n == c.name))
                    .filter(|c| {
                        query.get("app_id").is_none_or(|want| match &c.posted_by {
                            hoist::forge::PostedBy::App { id: Some(id), .. } => {
                                id.to_string() == *want
                            }
                            _ => false,
                        })
                    })
                    .collect();
                ok(json!({
                    "total_count": checks.len(),
                    "check_runs": checks.iter().filter_map(|c| match &c.posted_by {
                        hoist::forge::PostedBy::App { id, slug } => Some(json!({
                            "name": c.name,
                            "status": if c.conclusion.is_some() { "completed" } else { "in_progress" },
                            "conclusion": c.conclusion,
                            "html_url": c.url,
                            "app": {"id": id, "slug": slug},
                        })),
                        hoist::forge::PostedBy::User(_) => None,
                    }).collect::<Vec<_>>(),
                }))
            }
            // Newest first, with who posted each, as GitHub lists a commit's statuses.
            ("GET", ["commits", sha, "statuses"]) => {
                let checks = f.checks(sha).await.unwrap();
                ok(Value::Array(
                    checks
                        .iter()
                        .rev()
                        .filter_map(|c| match &c.posted_by {
                            hoist::forge::PostedBy::User(by) => Some(json!({
                                "context": c.name,
                                "state": c.conclusion.as_deref().unwrap_or("pending"),
                                "target_url": c.url,
                                "creator": by.as_ref().map(user),
                            })),
                            hoist::forge::PostedBy::App { .. } => None,
                        })
                        .collect(),
                ))
            }
            _ => status(404, &format!("the fake does not serve {method} {path}")),
        }
    }
}

fn futures_base(f: &MemoryForge) -> String {
    f.state.lock().unwrap().base.clone()
}
