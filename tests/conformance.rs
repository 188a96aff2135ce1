//! Every published payload in tests/fixtures decodes into the expected normalized
//! event (snapshots in tests/snapshots/), including through the Lambda envelopes.

use std::fs;

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use aws_lambda_events::lambda_function_urls::LambdaFunctionUrlRequest;
use aws_lambda_events::sns::SnsEvent;
use base64::Engine;
use hoist::event::{Event, eventbridge, github};
use hoist::ingress::envelope::{self, GitHubDelivery, Inbound, QueuedDelivery};
use hoist::ingress::signature::Secrets;
use serde_json::{Value, json};

const F: &str = "tests/fixtures";

fn read(path: &str) -> Vec<u8> {
    fs::read(format!("{F}/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn github_webhooks() {
    let mut names: Vec<String> = fs::read_dir(format!("{F}/github/webhooks"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json") && n != "signature-test-vector.json")
        .collect();
    names.sort();
    assert!(names.len() >= 10, "{names:?}");
    for name in names {
        let event_type = name.split('.').next().unwrap();
        let ev = github::decode(event_type, &read(&format!("github/webhooks/{name}")))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        insta::assert_json_snapshot!(format!("github__{name}"), ev);
    }
}

#[test]
fn eventbridge_ecr_and_codecommit() {
    let mut names: Vec<String> = ["aws/ecr", "aws/codecommit"]
        .iter()
        .flat_map(|d| {
            fs::read_dir(format!("{F}/{d}"))
                .unwrap()
                .map(move |e| format!("{d}/{}", e.unwrap().file_name().to_string_lossy()))
        })
        .filter(|n| !n.contains("/api.") && !n.ends_with(".headers.json"))
        .collect();
    names.sort();
    assert_eq!(names.len(), 6, "{names:?}");
    for name in names {
        let (id, ev) = eventbridge::decode(&read(&name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!id.is_empty());
        let snap = name.replace('/', "__");
        insta::assert_json_snapshot!(snap, ev);
    }
}

/// The published SQS, SNS, API Gateway and Function URL examples carry someone else's
/// payloads: each record is classified, and the foreign ones are refused by name.
#[test]
fn published_lambda_envelopes() {
    let sqs: envelope::SqsBatch =
        serde_json::from_slice(&read("aws/lambda/sqs_event.json")).unwrap();
    let sqs: Vec<_> = envelope::sqs_records(&sqs)
        .into_iter()
        .map(|(id, r)| (id, r.map(|_| "decoded")))
        .collect();
    insta::assert_json_snapshot!("lambda__sqs_event", sqs);
    let sns: SnsEvent = serde_json::from_slice(&read("aws/lambda/sns_event.json")).unwrap();
    let sns: Vec<_> = envelope::sns_records(&sns)
        .into_iter()
        .map(|(id, r)| (id, r.map(|_| "decoded")))
        .collect();
    insta::assert_json_snapshot!("lambda__sns_event", sns);
    let api: ApiGatewayV2httpRequest =
        serde_json::from_slice(&read("aws/lambda/apigw_v2_http_api_event.json")).unwrap();
    assert_eq!(
        envelope::github_from_apigw_v2(&api).unwrap_err(),
        "missing X-GitHub-Event header"
    );
    let url: LambdaFunctionUrlRequest =
        serde_json::from_slice(&read("aws/lambda/lambda_function_url_event.post.json")).unwrap();
    assert_eq!(
        envelope::github_from_function_url(&url).unwrap_err(),
        "missing X-GitHub-Event header"
    );
}

/// Puts `body` into the first record of a published envelope, as AWS would deliver it.
fn with_sqs_body(body: &str) -> envelope::SqsBatch {
    let mut v: Value = serde_json::from_slice(&read("aws/lambda/sqs_event.json")).unwrap();
    v["Records"].as_array_mut().unwrap().truncate(1);
    v["Records"][0]["body"] = body.into();
    serde_json::from_value(v).unwrap()
}

#[test]
fn an_ecr_push_through_sqs_and_sns() {
    let ecr = String::from_utf8(read("aws/ecr/ecr_image_action.push.json")).unwrap();
    let records = envelope::sqs_records(&with_sqs_body(&ecr));
    let Ok(Inbound::EventBridge(bytes)) = &records[0].1 else {
        panic!("{records:?}")
    };
    let (id, ev) = eventbridge::decode(bytes).unwrap();
    assert_eq!(id, "13cde686-328b-6117-af20-0e5566167482");
    assert!(matches!(ev, Event::ImagePushed { ref tag, .. } if tag == "latest"));

    let mut sns: Value = serde_json::from_slice(&read("aws/lambda/sns_event.json")).unwrap();
    sns["Records"][0]["Sns"]["Message"] = ecr.clone().into();
    let sns: SnsEvent = serde_json::from_value(sns).unwrap();
    assert!(matches!(
        envelope::sns_records(&sns)[0].1,
        Ok(Inbound::EventBridge(_))
    ));
}

#[test]
fn a_github_webhook_through_a_function_url_and_the_queue() {
    let body = read("github/webhooks/issue_comment.created.pr.json");
    let secrets = Secrets::from_list("s");
    let sig = secrets.sign_github(&body).unwrap();
    let mut url: Value =
        serde_json::from_slice(&read("aws/lambda/lambda_function_url_event.post.json")).unwrap();
    url["headers"]["x-github-event"] = "issue_comment".into();
    url["headers"]["x-github-delivery"] = "72d3162e-cc78-11e3-81ab-4c9367dc0958".into();
    url["headers"]["x-hub-signature-256"] = sig.clone().into();
    url["body"] = base64::engine::general_purpose::STANDARD
        .encode(&body)
        .into();
    url["isBase64Encoded"] = true.into();
    let url: LambdaFunctionUrlRequest = serde_json::from_value(url).unwrap();
    let delivery = envelope::github_from_function_url(&url).unwrap();
    assert_eq!(
        delivery.body, body,
        "the base64 body decodes to the signed bytes"
    );
    assert!(secrets.verify_github(delivery.signature.as_deref(), &delivery.body));

    // The ingress function queues it; the worker reads it back, verifies and decodes it.
    let queued = serde_json::to_string(&QueuedDelivery::new(&delivery)).unwrap();
    let records = envelope::sqs_records(&with_sqs_body(&queued));
    let Ok(Inbound::GitHub(GitHubDelivery {
        event,
        delivery: id,
        signature,
        body: raw,
    })) = &records[0].1
    else {
        panic!("{records:?}")
    };
    assert_eq!(id, "72d3162e-cc78-11e3-81ab-4c9367dc0958");
    assert!(secrets.verify_github(signature.as_deref(), raw));
    insta::assert_json_snapshot!(
        "lambda__github_through_function_url",
        github::decode(event, raw).unwrap()
    );

    // The same through API Gateway v2, with a plain body.
    let mut api: Value =
        serde_json::from_slice(&read("aws/lambda/apigw_v2_http_api_event.json")).unwrap();
    api["headers"] = json!({"x-github-event": "issue_comment", "x-github-delivery": "d", "x-hub-signature-256": sig});
    api["body"] = String::from_utf8(body.clone()).unwrap().into();
    api["isBase64Encoded"] = false.into();
    let api: ApiGatewayV2httpRequest = serde_json::from_value(api).unwrap();
    assert_eq!(envelope::github_from_apigw_v2(&api).unwrap().body, body);
}

/// Edited comments are not run again: a command runs once, when its comment is posted.
#[test]
fn edited_and_deleted_comments_are_ignored() {
    let mut v: Value =
        serde_json::from_slice(&read("github/webhooks/issue_comment.created.pr.json")).unwrap();
    for action in ["edited", "deleted"] {
        v["action"] = action.into();
        let ev = github::decode("issue_comment", v.to_string().as_bytes()).unwrap();
        assert_eq!(
            ev,
            Event::ignored(format!(
                "issue_comment {action} (only new comments carry commands)"
            ))
        );
        assert!(!ev.is_actionable());
    }
}
