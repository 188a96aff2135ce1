//! AWS's query protocol (a form-encoded POST, XML answers) as STS and IAM speak it, for
//! the fakes that stand in for AWS: `sts:GetCallerIdentity`, and IAM's policy simulator
//! (`iam:SimulatePrincipalPolicy`) deciding each action from a list of denied ones.
//! Errors are shaped as the IAM API reference shows them: `AccessDenied` (403) for a
//! caller who may not simulate, `NoSuchEntity` (404) for a principal IAM does not know.

#![allow(dead_code)]

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

pub const ACCOUNT: &str = "123456789012";

/// What IAM holds, as far as its simulator answers.
#[derive(Debug, Clone)]
pub struct Iam {
    /// The users and roles that exist, by ARN.
    pub principals: Vec<String>,
    /// Actions no policy allows (`implicitDeny`); every other is `allowed`.
    pub denied: Vec<String>,
    /// The caller may not call the simulator at all.
    pub simulator_refused: bool,
}

impl Default for Iam {
    fn default() -> Self {
        Self {
            principals: vec![format!("arn:aws:iam::{ACCOUNT}:role/hoist")],
            denied: vec![],
            simulator_refused: false,
        }
    }
}

/// The answer to a query-protocol request from `caller` (the ARN its key signs as), or
/// `None` when `body` is not an STS or IAM call these fakes serve.
pub fn answer(body: &[u8], caller: &str, iam: &Iam) -> Option<Response> {
    let form = decode(body);
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let members = |list: &str| -> Vec<String> {
        (1..)
            .map_while(|i| get(&format!("{list}.member.{i}")).map(str::to_owned))
            .collect()
    };
    match get("Action")? {
        "GetCallerIdentity" => Some(xml(
            StatusCode::OK,
            format!(
                "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult><Arn>{caller}</Arn><UserId>AIDEXAMPLE</UserId><Account>{ACCOUNT}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
            ),
        )),
        "SimulatePrincipalPolicy" => {
            let principal = get("PolicySourceArn").unwrap_or_default();
            if iam.simulator_refused {
                return Some(error(
                    StatusCode::FORBIDDEN,
                    "AccessDenied",
                    &format!(
                        "User: {caller} is not authorized to perform: iam:SimulatePrincipalPolicy on resource: {principal}"
                    ),
                ));
            }
            if !iam.principals.iter().any(|p| p == principal) {
                return Some(error(
                    StatusCode::NOT_FOUND,
                    "NoSuchEntity",
                    &format!("The entity {principal} cannot be found."),
                ));
            }
            let resource = members("ResourceArns")
                .first()
                .cloned()
                .unwrap_or("*".into());
            let results: String = members("ActionNames")
                .iter()
                .map(|a| {
                    let decision = if iam.denied.contains(a) {
                        "implicitDeny"
                    } else {
                        "allowed"
                    };
                    format!(
                        "<member><EvalActionName>{a}</EvalActionName><EvalResourceName>{resource}</EvalResourceName><EvalDecision>{decision}</EvalDecision><MatchedStatements/><MissingContextValues/></member>"
                    )
                })
                .collect();
            Some(xml(
                StatusCode::OK,
                format!(
                    "<SimulatePrincipalPolicyResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><SimulatePrincipalPolicyResult><IsTruncated>false</IsTruncated><EvaluationResults>{results}</EvaluationResults></SimulatePrincipalPolicyResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></SimulatePrincipalPolicyResponse>"
                ),
            ))
        }
        _ => None,
    }
}

/// STS's and IAM's answer to a request signed with an access key AWS does not know.
pub fn unknown_key() -> Response {
    error(
        StatusCode::FORBIDDEN,
        "InvalidClientTokenId",
        "The security token included in the request is invalid.",
    )
}

fn xml(status: StatusCode, body: String) -> Response {
    (status, [("content-type", "text/xml")], body).into_response()
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    xml(
        status,
        format!(
            "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>1</RequestId></ErrorResponse>"
        ),
    )
}

/// `application/x-www-form-urlencoded` pairs, `+` and `%XX` decoded.
fn decode(body: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(body);
    let unescape = |s: &str| {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                    match u8::from_str_radix(hex, 16) {
                        Ok(b) => {
                            out.push(b);
                            i += 2;
                        }
                        Err(_) => out.push(b'%'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (unescape(k), unescape(v))
        })
        .collect()
}
