//! Webhook and EventBridge decoding never panics, whatever the body: the first byte picks
//! the GitHub event name, the rest is the body.
#![no_main]

use libfuzzer_sys::fuzz_target;

const EVENTS: &[&str] = &[
    "issue_comment",
    "pull_request",
    "pull_request_review",
    "check_run",
    "check_suite",
    "status",
    "ping",
    "installation",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let _ = hoist::event::github::decode(EVENTS[pick as usize % EVENTS.len()], body);
    let _ = hoist::event::eventbridge::decode(body);
    if let Ok(text) = std::str::from_utf8(body) {
        let _ = hoist::ingress::envelope::classify(text);
    }
});
