//! `docs/config-reference.md`, generated from the config's JSON Schema, so the reference
//! says exactly what the code accepts (a test fails when the committed file is stale).

use std::fmt::Write;

use serde_json::Value;

pub fn config_reference() -> String {
    let schema: Value = serde_json::from_str(&super::config::schema()).expect("the schema parses");
    let mut rows = vec![];
    walk(&schema, &schema, "", &mut rows);
    let mut out = String::from(
        "# Configuration reference\n\n\
         Generated from the JSON Schema ([config/hoist.schema.json](../config/hoist.schema.json))\n\
         by `hoist config-schema --markdown`; do not edit by hand. See\n\
         [configuration.md](configuration.md) for what `hoist check-config` verifies beyond this.\n\n\
         `<name>` stands for a key you choose (a stage, a service). Exactly one of\n\
         `forge.github` and `forge.codecommit` is set.\n\n\
         | key | type | default | description |\n|---|---|---|---|\n",
    );
    for (key, ty, default, desc) in rows {
        let _ = writeln!(out, "| `{key}` | {ty} | {default} | {desc} |");
    }
    out
}

fn resolve<'a>(root: &'a Value, v: &'a Value) -> &'a Value {
    match v["$ref"].as_str() {
        Some(r) => {
            let name = r.trim_start_matches("#/$defs/");
            resolve(root, &root["$defs"][name])
        }
        None => v,
    }
}

/// The node itself, or for `anyOf: [X, null]` (an optional section) X.
fn unwrap_optional<'a>(root: &'a Value, v: &'a Value) -> &'a Value {
    match v["anyOf"].as_array() {
        Some(alts) => alts
            .iter()
            .find(|a| a["type"] != "null")
            .map_or(v, |a| resolve(root, a)),
        None => resolve(root, v),
    }
}

fn type_name(root: &Value, v: &Value) -> String {
    let t = unwrap_optional(root, v);
    if let Some(alts) = t["oneOf"].as_array() {
        let values: Vec<String> = alts
            .iter()
            .filter_map(|a| {
                a["const"]
                    .as_str()
                    .or_else(|| a["enum"][0].as_str())
                    .map(|s| format!("`{s}`"))
            })
            .collect();
        if !values.is_empty() {
            return values.join(", ");
        }
    }
    match &t["type"] {
        Value::String(s) if s == "array" => {
            format!("list of {}", type_name(root, &t["items"]))
        }
        Value::String(s) if s == "object" && t["properties"].is_null() => {
            format!("map to {}", type_name(root, &t["additionalProperties"]))
        }
        Value::String(s) => s.clone(),
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_str)
            .filter(|s| *s != "null")
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "section".into(),
    }
}

fn cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

fn default_of(v: &Value) -> String {
    match &v["default"] {
        Value::Null if v.get("default").is_some() => "none".into(),
        Value::Null => "required".into(),
        Value::Object(o) if o.is_empty() => "empty".into(),
        Value::Object(_) => "see below".into(),
        Value::Array(a) if a.is_empty() => "empty".into(),
        d => format!("`{}`", d.to_string().trim_matches('"')),
    }
}

fn walk(
    root: &Value,
    node: &Value,
    prefix: &str,
    rows: &mut Vec<(String, String, String, String)>,
) {
    let node = unwrap_optional(root, node);
    // The forge: one section per variant.
    if let Some(alts) = node["oneOf"].as_array()
        && alts.iter().all(|a| a["properties"].is_object())
    {
        for a in alts {
            walk(root, a, prefix, rows);
        }
        return;
    }
    let Some(props) = node["properties"].as_object() else {
        return;
    };
    let required: Vec<&str> = node["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    for (name, prop) in props {
        let key = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        let target = unwrap_optional(root, prop);
        let desc = prop["description"]
            .as_str()
            .or(target["description"].as_str())
            .unwrap_or_default();
        let default = if required.contains(&name.as_str()) {
            "required".into()
        } else {
            default_of(prop)
        };
        rows.push((key.clone(), type_name(root, prop), default, cell(desc)));
        // Maps of named entries (stages, services) describe their entries as `<name>`.
        let map_of = (target["type"] == "object" && target["properties"].is_null())
            .then(|| &target["additionalProperties"])
            .filter(|v| v.is_object());
        match map_of {
            Some(entry) => walk(root, entry, &format!("{key}.<name>"), rows),
            None => walk(root, target, &key, rows),
        }
    }
}
