//! The manifest editor never panics, and an edit it accepts re-reads as YAML.
#![no_main]

use hoist::image::ImageSpec;
use hoist::manifest::{self, Path, tree};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for spec in [
        "app:v2",
        "app=reg.io:5000/app:1.10@sha256:0000000000000000000000000000000000000000000000000000000000000000",
    ] {
        if let Ok(out) = manifest::set_image(text, &ImageSpec::parse(spec).unwrap())
            && out.is_changed()
        {
            assert!(
                tree::parse(&out.text).is_ok(),
                "an accepted edit does not re-read"
            );
        }
    }
    let _ = manifest::set_value(text, &Path::parse("images[0].newTag").unwrap(), "v2");
    let _ = manifest::read_images(text);
});
