//! Config loading never panics, and refuses what it cannot bound, whatever the YAML.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = hoist::config::Config::parse(text, "fuzz.yaml");
    }
});
