//! Hoist on Lambda. The handlers in process, fed `lambda_http` and SQS events built from
//! the published examples in `tests/fixtures/aws/lambda/`; then the real binary as a
//! function's `bootstrap`, against the Runtime API test server: its runtime loop, cold
//! start, partial batch responses and init errors. SQS is moto's.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use hoist::config::Config;
use hoist::engine::Engine;
use hoist::forge::{PrState, Reaction};
use hoist::ingress::envelope::QueuedDelivery;
use hoist::ingress::signature::Secrets;
use hoist::lambda::worker::Worker;
use hoist::store::Store;
use serde_json::{Value, json};
use support::lambda_runtime::RuntimeApi;
use support::memory_forge::{MemoryArgo, MemoryForge, MemoryRegistry, post_as, user};

const SECRET: &str = "lambda-secret";

fn fixture(name: &str) -> Value {
    let p = Path::new("tests/fixtures/aws/lambda").join(name);
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn push_event() -> String {
    std::fs::read_to_string("examples/events/ecr-push-my-app-service1-v1.4.0.json").unwrap()
}

fn repo() -> Value {
    json!({"full_name": "acme/gitops", "name": "gitops", "owner": {"login": "acme"}})
}

/// A GitHub `issue_comment` delivery as the ingress function queues it, signed.
fn queued_comment(delivery: &str, pr: u64, id: u64, login: &str, uid: u64, body: &str) -> String {
    let payload =
        json!({"action": "created", "issue": {"number": pr, "pull_request": {"url": "x"}},
        "comment": {"id": id, "body": body, "user": {"id": uid, "login": login, "type": "User"}},
        "repository": repo()})
        .to_string();
    let sig = Secrets::from_list(SECRET)
        .sign_github(payload.as_bytes())
        .unwrap();
    serde_json::to_string(&QueuedDelivery::new(
        &hoist::ingress::envelope::GitHubDelivery {
            event: "issue_comment".into(),
            delivery: delivery.into(),
            signature: Some(sig),
            body: payload.into_bytes(),
        },
    ))
    .unwrap()
}

/// The published SQS example with these (message id, body) records.
fn sqs_batch(records: &[(&str, &str)]) -> Value {
    let mut batch = fixture("sqs_event.json");
    let template = batch["Records"][0].clone();
    batch["Records"] = records
        .iter()
        .map(|(id, body)| {
            let mut r = template.clone();
            r["messageId"] = (*id).into();
            r["body"] = (*body).into();
            r
        })
        .collect();
    batch
}

fn failures(response: &Value) -> Vec<String> {
    response["batchItemFailures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap().to_owned())
        .collect()
}

fn example_config() -> Config {
    support::http_engine::example_config()
}

fn worker(forge: &MemoryForge, dir: &Path) -> Worker<MemoryForge, MemoryArgo, MemoryRegistry> {
    Worker {
        engine: Engine {
            config: Arc::new(example_config()),
            forge: forge.clone(),
            argocd: MemoryArgo::default(),
            registry: MemoryRegistry::default(),
            store: Store::open(&dir.join("scratch.db")).unwrap(),
            repo_name: "acme/gitops".into(),
        },
        github_secrets: Secrets::from_list(SECRET),
        queue: None,
    }
}

#[tokio::test]
async fn the_worker_handles_a_batch_in_order_and_reports_what_must_come_again() {
    let dir = tempfile::tempdir().unwrap();
    let forge = MemoryForge::from_dir(Path::new("examples/gitops"));
    let w = worker(&forge, dir.path());

    // The published example as it is: neither record is anything Hoist takes, so both
    // come back (after the first failure, FIFO order holds the rest back too).
    let r = w.invoke(fixture("sqs_event.json")).await.unwrap();
    assert_eq!(
        failures(&r),
        [
            "059f36b4-87a3-44ab-83d2-661975830a7d",
            "2e1424d4-f796-459a-8184-9c92662be6da"
        ]
    );

    let forged =
        queued_comment("d-1", 1, 7, "mallory", 12, "/hold").replace("sha256=", "sha256=00");
    let r = w
        .invoke(sqs_batch(&[
            ("m1", &push_event()),
            ("m2", "not json"),
            ("m3", &forged),
        ]))
        .await
        .unwrap();
    assert_eq!(failures(&r), ["m2", "m3"], "m1 done, m2 bad, m3 held back");
    assert_eq!(forge.state.lock().unwrap().prs.len(), 1);

    // A queued delivery with a wrong signature is refused by the worker too.
    let r = w.invoke(sqs_batch(&[("m3", &forged)])).await.unwrap();
    assert_eq!(failures(&r), ["m3"]);

    // The same push again (SQS delivers at least once): nothing new.
    let r = w.invoke(sqs_batch(&[("m4", &push_event())])).await.unwrap();
    assert!(failures(&r).is_empty());
    assert_eq!(forge.state.lock().unwrap().prs.len(), 1, "no duplicate PR");

    // Anything else is not the worker's.
    assert!(w.invoke(json!({"hello": 1})).await.is_err());
    let r = w
        .invoke(json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}))
        .await
        .unwrap();
    assert_eq!(r["reconciled"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ingress_router_queues_verified_deliveries_on_sqs_fifo() {
    let (_moto, conf) = support::moto::moto().await;
    let sqs = aws_sdk_sqs::Client::new(&conf);
    let url = sqs
        .create_queue()
        .queue_name("hoist.fifo")
        .attributes(QueueAttributeName::FifoQueue, "true")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    // The secret reaches the router as the Secrets Manager overlay would bring it.
    hoist::env::overlay([("HOIST_WEBHOOK_SECRETS".to_owned(), SECRET.to_owned())].into());
    let app = hoist::lambda::ingress::app(&example_config(), sqs.clone(), url.clone());

    let request = |sig: &str| {
        // The published Function URL example, carrying a GitHub delivery.
        let mut ev = function_url_event();
        ev["requestContext"]["http"]["path"] = "/webhooks/github".into();
        ev["rawQueryString"] = "".into();
        ev["queryStringParameters"] = Value::Null;
        ev["headers"] = json!({"x-github-event": "issue_comment", "x-github-delivery": "72d3162e",
            "x-hub-signature-256": sig, "content-type": "application/json"});
        ev["body"] =
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, comment_body())
                .into();
        ev["isBase64Encoded"] = true.into();
        lambda_http::request::from_str(&ev.to_string()).unwrap()
    };
    let sig = Secrets::from_list(SECRET)
        .sign_github(comment_body().as_bytes())
        .unwrap();
    use tower::ServiceExt;
    for _ in 0..2 {
        let res = app.clone().oneshot(request(&sig)).await.unwrap();
        assert_eq!(
            res.status(),
            202,
            "verified and queued (twice: a redelivery)"
        );
    }
    let res = app.clone().oneshot(request("sha256=00")).await.unwrap();
    assert_eq!(res.status(), 401);

    let got = sqs
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .unwrap();
    let msgs = got.messages();
    assert_eq!(
        msgs.len(),
        1,
        "deduplicated by delivery id; the forgery never queued"
    );
    let attrs = msgs[0].attributes().unwrap();
    assert_eq!(
        attrs[&MessageSystemAttributeName::MessageGroupId],
        "acme/gitops"
    );
    let q: QueuedDelivery = serde_json::from_str(msgs[0].body().unwrap()).unwrap();
    let d = q.into_delivery().unwrap();
    assert_eq!(
        (d.event.as_str(), d.delivery.as_str()),
        ("issue_comment", "72d3162e")
    );
    assert_eq!(
        d.body,
        comment_body().into_bytes(),
        "the body as GitHub sent it"
    );
}

/// quinn's `/status` on PR 1, as GitHub sends it.
fn comment_body() -> String {
    json!({"action": "created", "issue": {"number": 1, "pull_request": {"url": "x"}},
        "comment": {"id": 9, "body": "/status", "user": {"id": 10, "login": "quinn", "type": "User"}},
        "repository": repo()})
    .to_string()
}

/// The published Function URL example, aimed at `/webhooks/github`. Its domain name is
/// a placeholder (`<url-id>.lambda-url…`) that lambda_http 1.3 cannot parse as a host
/// (it panics): a real one replaces it.
fn function_url_event() -> Value {
    let mut ev = fixture("lambda_function_url_event.post.json");
    assert_eq!(
        ev["requestContext"]["domainName"],
        "<url-id>.lambda-url.us-west-2.on.aws"
    );
    ev["requestContext"]["domainName"] = "abcdefghij.lambda-url.us-east-1.on.aws".into();
    ev["rawPath"] = "/webhooks/github".into();
    ev
}

struct Function {
    child: Child,
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The example config for the worker, as Hoist's App, with GitHub and Argo CD at `github`.
fn worker_config(dir: &Path, github: &str) -> PathBuf {
    let config = dir.join("hoist.yaml");
    std::fs::write(
        &config,
        std::fs::read_to_string("config/hoist.example.yaml")
            .unwrap()
            .replace(
                "api_url: https://api.github.com",
                &format!("api_url: {github}"),
            )
            .replace(
                "    app_id: 12345\n    private_key_file: /var/run/secrets/hoist/app.pem\n",
                &support::github_fake::app_auth(dir),
            )
            .replace("url: https://argocd.example.com", &format!("url: {github}")),
    )
    .unwrap();
    config
}

/// The hoist binary under the name Lambda runs, `bootstrap`, with no arguments.
fn bootstrap(dir: &Path) -> PathBuf {
    let b = dir.join("bootstrap");
    if !b.exists() {
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_hoist"), &b).unwrap();
    }
    b
}

fn start_function(
    dir: &Path,
    api: &RuntimeApi,
    handler: &str,
    config: &Path,
    env: &[(&str, &str)],
) -> Function {
    let mut c = Command::new(bootstrap(dir));
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("_HANDLER", handler)
        .env("AWS_LAMBDA_RUNTIME_API", &api.addr)
        .env("AWS_LAMBDA_FUNCTION_NAME", format!("hoist-{handler}"))
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("HOIST_CONFIG", config)
        .env("HOIST_DB", dir.join(format!("{handler}.db")))
        .env("HOIST_WEBHOOK_SECRETS", SECRET)
        .env("RUST_LOG", "error")
        .stdout(Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    Function {
        child: c.spawn().unwrap(),
    }
}

#[test]
fn the_worker_binary_runs_the_lambda_runtime_loop() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let forge = MemoryForge::from_dir(Path::new("examples/gitops"));
    for (who, p) in [
        (user(10, "quinn"), hoist::forge::Permission::Write),
        (user(11, "sam"), hoist::forge::Permission::Write),
    ] {
        forge.add_user(&who);
        forge.state.lock().unwrap().permissions.insert(who.id, p);
    }
    let argo = MemoryArgo::default();
    let fake = rt.block_on(support::github_fake::serve(forge.clone(), argo));
    let api = rt.block_on(RuntimeApi::start());
    let dir = tempfile::tempdir().unwrap();
    let config = worker_config(dir.path(), &fake);
    let env = [
        ("TEST_GITHUB_TOKEN", "ghp_test"),
        ("ARGOCD_TOKEN", "argo"),
        // ECR is not there: reconcile logs it and goes on.
        ("AWS_ENDPOINT_URL", fake.as_str()),
    ];
    let wait = Duration::from_secs(60);

    let f = start_function(dir.path(), &api, "worker", &config, &env);
    let id = api.invoke(sqs_batch(&[
        ("m1", &push_event()),
        ("m2", "{\"neither\": true}"),
        ("m3", &push_event()),
    ]));
    let r = api.wait(&id, wait).unwrap();
    assert_eq!(failures(&r), ["m2", "m3"]);
    assert_eq!(forge.pr(1).title, "Promote my-app-service1 v1.4.0 to dev");

    // sam holds it (GitHub has the comment), delivered twice as SQS may.
    let c = post_as(&forge, 1, &user(11, "sam"), "/hold");
    let hold = queued_comment("d-2", 1, c, "sam", 11, "/hold");
    let id = api.invoke(sqs_batch(&[("m5", &hold), ("m6", &hold)]));
    assert!(failures(&api.wait(&id, wait).unwrap()).is_empty());
    let replies = |forge: &MemoryForge| {
        forge
            .state
            .lock()
            .unwrap()
            .comments
            .iter()
            .filter(|(_, c)| c.author.login == "hoist[bot]" && c.body.contains("Held by @sam"))
            .count()
    };
    assert_eq!(replies(&forge), 1, "answered once");
    assert!(
        forge
            .state
            .lock()
            .unwrap()
            .reactions
            .contains(&(c, Reaction::Rocket))
    );
    drop(f);

    // A new execution environment: its scratch store is gone, the hold is not.
    std::fs::remove_file(dir.path().join("worker.db")).unwrap();
    let _f = start_function(dir.path(), &api, "worker", &config, &env);
    let (name, head_sha) = forge.set_stage_check(1, Some("success"), None);
    let payload = json!({"action": "completed", "check_run": {"name": name, "head_sha": head_sha,
        "conclusion": "success", "pull_requests": [{"number": 1}]}, "repository": repo()})
    .to_string();
    let check = serde_json::to_string(&QueuedDelivery::new(
        &hoist::ingress::envelope::GitHubDelivery {
            event: "check_run".into(),
            delivery: "d-3".into(),
            signature: Secrets::from_list(SECRET).sign_github(payload.as_bytes()),
            body: payload.into_bytes(),
        },
    ))
    .unwrap();
    let id = api.invoke(sqs_batch(&[("m7", &check)]));
    assert!(failures(&api.wait(&id, wait).unwrap()).is_empty());
    assert_eq!(
        forge.pr(1).state,
        PrState::Open,
        "still held after a cold start"
    );

    let id =
        api.invoke(json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}));
    assert_eq!(api.wait(&id, wait).unwrap()["reconciled"], true);
    let id = api.invoke(json!({"hello": "world"}));
    let err = api.wait(&id, wait).unwrap_err();
    assert!(
        err.to_string().contains("SQS batches and scheduled events"),
        "{err}"
    );
}

#[test]
fn a_function_that_cannot_start_says_why() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let api = rt.block_on(RuntimeApi::start());
    let dir = tempfile::tempdir().unwrap();
    let mut f = start_function(
        dir.path(),
        &api,
        "worker",
        &dir.path().join("missing.yaml"),
        &[],
    );
    let e = api.wait_init_error(Duration::from_secs(30));
    assert_eq!(e["errorType"], "Hoist.InitError");
    assert_eq!(
        api.state.lock().unwrap().init_error_type.as_deref(),
        Some("Hoist.InitError"),
        "the error type header, which the Lambda console shows"
    );
    assert!(
        e["errorMessage"].as_str().unwrap().contains("missing.yaml"),
        "{e}"
    );
    assert!(
        !f.child.wait().unwrap().success(),
        "and exits with an error"
    );
}

#[test]
fn the_ingress_binary_answers_function_url_requests() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (_moto, conf) = rt.block_on(support::moto::moto());
    let sqs = aws_sdk_sqs::Client::new(&conf);
    let url = rt
        .block_on(
            sqs.create_queue()
                .queue_name("hoist.fifo")
                .attributes(QueueAttributeName::FifoQueue, "true")
                .send(),
        )
        .unwrap()
        .queue_url
        .unwrap();
    let api = rt.block_on(RuntimeApi::start());
    let dir = tempfile::tempdir().unwrap();
    let config = Path::new("config/hoist.example.yaml")
        .canonicalize()
        .unwrap();
    let endpoint = conf.endpoint_url().unwrap().to_owned();
    let _f = start_function(
        dir.path(),
        &api,
        "ingress",
        &config,
        &[
            ("HOIST_QUEUE_URL", url.as_str()),
            ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ],
    );
    let body = comment_body();
    let sig = Secrets::from_list(SECRET)
        .sign_github(body.as_bytes())
        .unwrap();
    let mut ev = function_url_event();
    ev["requestContext"]["http"]["path"] = "/webhooks/github".into();
    ev["rawQueryString"] = "".into();
    ev["queryStringParameters"] = Value::Null;
    ev["headers"] = json!({"x-github-event": "issue_comment", "x-github-delivery": "d-9",
        "x-hub-signature-256": sig});
    ev["body"] = body.into();
    let id = api.invoke(ev.clone());
    let r = api.wait(&id, Duration::from_secs(60)).unwrap();
    assert_eq!(r["statusCode"], 202, "{r}");
    ev["headers"]["x-hub-signature-256"] = "sha256=00".into();
    let id = api.invoke(ev);
    assert_eq!(
        api.wait(&id, Duration::from_secs(60)).unwrap()["statusCode"],
        401
    );
    let got = rt
        .block_on(
            sqs.receive_message()
                .queue_url(&url)
                .max_number_of_messages(10)
                .send(),
        )
        .unwrap();
    assert_eq!(got.messages().len(), 1);
}

/// The messages waiting in `url`, received so that they are visible again at once, as an
/// SQS batch for the worker.
async fn receive_batch(sqs: &aws_sdk_sqs::Client, url: &str) -> Value {
    let got = sqs
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .visibility_timeout(0)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .unwrap();
    let mut batch = fixture("sqs_event.json");
    let template = batch["Records"][0].clone();
    batch["Records"] = got
        .messages()
        .iter()
        .map(|m| {
            let mut r = template.clone();
            r["messageId"] = m.message_id().unwrap().into();
            r["receiptHandle"] = m.receipt_handle().unwrap().into();
            r["body"] = m.body().unwrap().into();
            r["attributes"]["ApproximateReceiveCount"] = m.attributes().unwrap()
                [&MessageSystemAttributeName::ApproximateReceiveCount]
                .clone()
                .into();
            r
        })
        .collect();
    batch
}

async fn not_visible(sqs: &aws_sdk_sqs::Client, url: &str) -> String {
    sqs.get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .unwrap()
        .attributes()
        .unwrap()[&QueueAttributeName::ApproximateNumberOfMessagesNotVisible]
        .clone()
}

/// GitHub is down when the function starts: it starts anyway, puts every message off
/// instead of burning through its receives, and once GitHub answers handles them, moving
/// only the one that can never be handled to the dead-letter queue.
#[test]
fn the_worker_waits_out_a_forge_outage_and_dead_letters_only_what_never_can_be_handled() {
    let rt = support::runtime();
    let (_moto, conf) = rt.block_on(support::moto::moto());
    let sqs = aws_sdk_sqs::Client::new(&conf);
    let queue = |name: &str| {
        rt.block_on(
            sqs.create_queue()
                .queue_name(name)
                .attributes(QueueAttributeName::FifoQueue, "true")
                .attributes(QueueAttributeName::ContentBasedDeduplication, "true")
                .send(),
        )
        .unwrap()
        .queue_url
        .unwrap()
    };
    let (url, dlq) = (queue("hoist.fifo"), queue("hoist-dlq.fifo"));
    for body in [push_event(), "{\"neither\": true}".to_owned()] {
        rt.block_on(
            sqs.send_message()
                .queue_url(&url)
                .message_group_id("acme/gitops")
                .message_body(body)
                .send(),
        )
        .unwrap();
    }

    // GitHub's address is known; nothing answers there yet.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let github = format!("http://127.0.0.1:{port}");
    let api = rt.block_on(RuntimeApi::start());
    let dir = tempfile::tempdir().unwrap();
    let config = worker_config(dir.path(), &github);
    let moto_url = conf.endpoint_url().unwrap().to_owned();
    let env = [
        ("ARGOCD_TOKEN", "argo"),
        ("AWS_ENDPOINT_URL", moto_url.as_str()),
        ("HOIST_QUEUE_URL", url.as_str()),
        ("HOIST_DEAD_LETTER_QUEUE_URL", dlq.as_str()),
    ];
    let wait = Duration::from_secs(60);
    let _f = start_function(dir.path(), &api, "worker", &config, &env);

    let batch = rt.block_on(receive_batch(&sqs, &url));
    let ids: Vec<String> = batch["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["messageId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 2);
    let r = api.wait(&api.invoke(batch.clone()), wait).unwrap();
    assert_eq!(failures(&r), ids, "every message comes again");
    assert_eq!(
        rt.block_on(not_visible(&sqs, &url)),
        "2",
        "each put off, not back at once as it was received"
    );
    let scheduled = json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}});
    let r = api.wait(&api.invoke(scheduled), wait).unwrap();
    assert_eq!(r["reconciled"], false, "{r}");

    // GitHub answers again.
    let forge = MemoryForge::from_dir(Path::new("examples/gitops"));
    let listener = rt
        .block_on(tokio::net::TcpListener::bind(("127.0.0.1", port)))
        .unwrap();
    let _served = {
        let _rt = rt.enter();
        support::github_fake::serve_on(forge.clone(), MemoryArgo::default(), listener)
    };
    let r = api.wait(&api.invoke(batch), wait).unwrap();
    assert!(failures(&r).is_empty(), "{r}");
    assert_eq!(forge.pr(1).title, "Promote my-app-service1 v1.4.0 to dev");
    let dead = rt
        .block_on(
            sqs.receive_message()
                .queue_url(&dlq)
                .max_number_of_messages(10)
                .message_attribute_names("All")
                .send(),
        )
        .unwrap();
    let dead = dead.messages();
    assert_eq!(dead.len(), 1, "only the malformed message");
    assert_eq!(dead[0].body(), Some("{\"neither\": true}"));
    assert_eq!(
        dead[0].message_attributes().unwrap()["hoist-error"].string_value(),
        Some("message body is neither an EventBridge event nor a queued GitHub delivery")
    );
}
