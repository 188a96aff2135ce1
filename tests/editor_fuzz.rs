//! The editor never panics, whatever the bytes: arbitrary text, and YAML-shaped token
//! soup that reaches deeper into the parser and the planner. A refusal is fine; an
//! accepted edit must re-read as YAML.

use hoist::image::ImageSpec;
use hoist::manifest::{self, Path, tree};
use proptest::prelude::*;

const TOKENS: &[&str] = &[
    "images:",
    "- ",
    "name: app",
    "newTag: v1",
    "digest: sha256:",
    "newName: reg/app",
    "\n",
    "\r\n",
    "  ",
    "    ",
    "# c",
    "&a ",
    "*a",
    "[",
    "]",
    "{",
    "}",
    ", ",
    "---\n",
    "...\n",
    "'",
    "\"",
    "|\n",
    ">-\n",
    "\u{feff}",
    "é😀",
    "~",
    "null",
    ": ",
    ":",
    "resources:",
    "kind: Kustomization",
    "%YAML 1.2\n",
    "!!str ",
    "? ",
    "\t",
    "${TAG}",
    "{{ x }}",
];

fn soup() -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(TOKENS), 0..60).prop_map(|t| t.concat())
}

fn exercise(text: &str) {
    let specs = ["app:v2", "app=reg.io:5000/app:1.10", "other:v3"];
    for s in specs {
        if let Ok(out) = manifest::set_image(text, &ImageSpec::parse(s).unwrap())
            && out.is_changed()
        {
            assert!(
                tree::parse(&out.text).is_ok(),
                "accepted edit does not re-read:\n{text:?}"
            );
        }
    }
    for p in ["images[0].newTag", "a.b", "[0]"] {
        let _ = manifest::set_value(text, &Path::parse(p).unwrap(), "v2");
    }
    let _ = manifest::read_images(text);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn never_panics_on_arbitrary_text(text in any::<String>()) {
        exercise(&text);
    }

    #[test]
    fn never_panics_on_yaml_shaped_text(text in soup()) {
        exercise(&text);
    }
}
