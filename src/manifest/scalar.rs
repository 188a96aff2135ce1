//! How YAML readers type a plain scalar, and how to write a string so every reader
//! (YAML 1.1 ones such as go-yaml v2 and PyYAML included) reads it back as that string.

use std::sync::LazyLock;

use granit_parser::ScalarStyle;
use regex::RegexSet;

/// Plain scalars that YAML 1.1 or 1.2 resolves to null, booleans, numbers or timestamps.
static NOT_A_STRING: LazyLock<RegexSet> = LazyLock::new(|| {
    RegexSet::new([
        // null
        r"^(?:~|null|Null|NULL|)$",
        // booleans, 1.1 included
        r"^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$",
        // integers: 1.2 core and 1.1 (binary, octal with a leading 0, underscores, sexagesimal)
        r"^[-+]?[0-9][0-9_]*$",
        r"^0o[0-7]+$",
        r"^[-+]?0x[0-9a-fA-F_]+$",
        r"^[-+]?0b[01_]+$",
        r"^[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+$",
        // floats: 1.2 core (`1e3`, `0e12345`) and 1.1 (`1.10`, `1.2.3`-like dotted runs are strings)
        r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$",
        r"^[-+]?(?:[0-9][0-9_]*)?\.[0-9_]*(?:[eE][-+][0-9]+)?$",
        r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*$",
        r"^[-+]?\.(?:inf|Inf|INF)$",
        r"^\.(?:nan|NaN|NAN)$",
        // timestamps
        r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)?$",
        // merge key and the 1.1 value key
        r"^(?:<<|=)$",
    ])
    .expect("resolver regexes")
});

/// True when a plain scalar with this text is read as something other than a string.
pub fn resolves_to_non_string(plain: &str) -> bool {
    match plain.as_bytes().first() {
        None => true,
        // Only null, boolean and infinity words start with a letter; skip the regexes.
        Some(c) if c.is_ascii_alphabetic() => {
            matches!(
                plain,
                "null"
                    | "Null"
                    | "NULL"
                    | "y"
                    | "Y"
                    | "yes"
                    | "Yes"
                    | "YES"
                    | "n"
                    | "N"
                    | "no"
                    | "No"
                    | "NO"
                    | "true"
                    | "True"
                    | "TRUE"
                    | "false"
                    | "False"
                    | "FALSE"
                    | "on"
                    | "On"
                    | "ON"
                    | "off"
                    | "Off"
                    | "OFF"
            ) || matches!(
                plain.to_ascii_lowercase().as_str(),
                "inf" | "infinity" | "nan"
            )
        }
        Some(c) if c.is_ascii_digit() || b"+-.~<=_".contains(c) => {
            // go-yaml drops underscores and takes Go's number syntax (`0X1F`, `+Inf`);
            // SnakeYAML reads `_1` as a number: try the text without them too.
            let bare = plain.to_ascii_lowercase().replace('_', "");
            let unsigned = bare.trim_start_matches(['+', '-']);
            NOT_A_STRING.is_match(plain)
                || NOT_A_STRING.is_match(&bare)
                || matches!(unsigned, "inf" | "infinity" | "nan")
                || unsigned
                    .strip_prefix("0x")
                    .or_else(|| unsigned.strip_prefix("0o"))
                    .or_else(|| unsigned.strip_prefix("0b"))
                    .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_hexdigit()))
        }
        Some(_) => false,
    }
}

/// Characters YAML treats as line breaks or that readers mangle, beyond ASCII controls.
fn is_special(c: char) -> bool {
    c.is_control() || matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{feff}')
}

/// True when `s` can be written as a plain scalar in block and flow context alike and
/// read back as the same string.
pub fn plain_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if resolves_to_non_string(s)
        || "-?:,[]{}#&*!|>'\"%@`".contains(first)
        || s.ends_with(':')
        || s.contains(": ")
        || s.contains(" #")
        || s.starts_with(' ')
        || s.ends_with(' ')
    {
        return false;
    }
    s.chars()
        .all(|c| !is_special(c) && !matches!(c, ',' | '[' | ']' | '{' | '}'))
}

/// Writes `value` as a scalar, keeping `style` where the value allows it.
pub fn render(value: &str, style: ScalarStyle) -> String {
    let printable = !value.chars().any(is_special);
    match style {
        ScalarStyle::SingleQuoted if printable => format!("'{}'", value.replace('\'', "''")),
        ScalarStyle::Plain if plain_safe(value) => value.to_owned(),
        _ => double_quoted(value),
    }
}

fn double_quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if is_special(c) => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_yaml_would_retype_are_quoted() {
        for v in [
            "1.10",
            "012",
            "1e3",
            "0e12345",
            "553640e6",
            "true",
            "yes",
            "no",
            "on",
            "Off",
            "y",
            "null",
            "~",
            "",
            "2024-01-01",
            "1_000",
            "0x1F",
            "0b101",
            "0o17",
            "1:20",
            ".5",
            ".inf",
            ".NaN",
            "<<",
            "-1",
            "+3",
            "0X1F",
            "0B101",
            "0O17",
            "1_0e3",
            "1.5_e3",
            "_1",
            "+Inf",
            "NaN",
            "infinity",
        ] {
            assert!(!plain_safe(v), "{v:?} must be quoted");
            assert_eq!(render(v, ScalarStyle::Plain), format!("\"{v}\""));
        }
    }

    #[test]
    fn ordinary_tags_stay_plain() {
        for v in [
            "v1.4.0",
            "1.2.3",
            "main-3f9c2d1",
            "latest",
            "sha256:4f2a",
            "1.2.3-rc.1",
            "v1",
            "registry:5000/app",
            "0.1.0_build",
        ] {
            assert!(plain_safe(v), "{v:?} should stay plain");
        }
    }

    #[test]
    fn quote_style_is_kept() {
        assert_eq!(render("v1", ScalarStyle::SingleQuoted), "'v1'");
        assert_eq!(render("it's", ScalarStyle::SingleQuoted), "'it''s'");
        assert_eq!(render("v1", ScalarStyle::DoubleQuoted), "\"v1\"");
        assert_eq!(render("a\"b\\", ScalarStyle::DoubleQuoted), r#""a\"b\\""#);
        assert_eq!(render("a\nb", ScalarStyle::SingleQuoted), r#""a\nb""#);
        assert_eq!(render("a: b", ScalarStyle::Plain), r#""a: b""#);
    }
}
