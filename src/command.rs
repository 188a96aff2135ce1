//! Comment commands. A command starts a line; commands inside fenced code blocks,
//! inline code and quotes are ignored, so quoting someone's `/promote prod` never runs
//! it. One bad line does not hide the others.

use std::fmt;

/// A command, as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `/promote <stage> [service ...]`
    Promote {
        stage: String,
        services: Vec<String>,
    },
    Hold,
    Unhold,
    /// `/unhold <stage>`: release the hold a rollback left on this service in `<stage>`.
    UnholdStage {
        stage: String,
    },
    /// `/rollback <stage> [to <tag>]`: put back what `<stage>` ran before (or `<tag>`).
    Rollback {
        stage: String,
        to: Option<String>,
    },
    /// `/freeze <stage> [reason]`: no merges into `<stage>` until `/unfreeze <stage>`.
    Freeze {
        stage: String,
        reason: String,
    },
    /// `/unfreeze <stage>`.
    Unfreeze {
        stage: String,
    },
    /// `/override freeze <reason>`: let this pull request, at its head now, merge into
    /// its frozen stage.
    OverrideFreeze {
        reason: String,
    },
    Status,
    Help,
    /// `/override dag <head> <reason>`: pass the `hoist/dag` check on the head the
    /// commenter reviewed, named by its full SHA, on the record.
    OverrideDag {
        head: String,
        reason: String,
    },
}

impl Command {
    /// The stage the command names, if it names one.
    pub fn stage(&self) -> Option<&str> {
        match self {
            Command::Promote { stage, .. }
            | Command::UnholdStage { stage }
            | Command::Rollback { stage, .. }
            | Command::Freeze { stage, .. }
            | Command::Unfreeze { stage } => Some(stage),
            _ => None,
        }
    }
}

/// Why a line that looks like a command is not one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    Unknown {
        name: String,
        suggestion: Option<&'static str>,
    },
    MissingStage,
    UnexpectedArguments {
        command: &'static str,
    },
    /// `/override` takes `dag`, the head's SHA and a reason.
    BadOverride,
    /// `/rollback` takes a stage, and optionally `to <tag>`.
    BadRollback,
    /// `/freeze` and `/unfreeze` take a stage (`/freeze`, then a reason).
    BadFreeze {
        command: &'static str,
    },
}

const COMMANDS: &[&str] = &[
    "promote", "rollback", "hold", "unhold", "freeze", "unfreeze", "status", "help", "override",
];

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::messages::parse_error(self))
    }
}

/// Every command in a comment, in order, each parsed or refused.
///
/// Kept whole: one pass over the comment's lines, skipping fences, quotes and indented
/// code, then one match over the command names.
pub fn parse(text: &str) -> Vec<Result<Command, ParseError>> {
    let mut out = vec![];
    let mut fence: Option<&str> = None;
    for raw in text.lines() {
        let line = raw.trim_start();
        // Fenced code blocks (``` or ~~~) hide everything until they close.
        if let Some(marker) = fence {
            if line.starts_with(marker) {
                fence = None;
            }
            continue;
        }
        if line.starts_with("```") || line.starts_with("~~~") {
            fence = Some(&line[..3]);
            continue;
        }
        // Quotes, and indented code (four spaces or a tab), are someone else's words.
        if line.starts_with('>') || raw.starts_with("    ") || raw.starts_with('\t') {
            continue;
        }
        let Some(rest) = line.strip_prefix('/') else {
            continue;
        };
        let mut words = rest.split_whitespace();
        let Some(name) = words.next() else { continue };
        // A path such as `/usr/bin` or a URL is not a command.
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            continue;
        }
        let args: Vec<String> = words
            .take_while(|w| !w.starts_with('`'))
            .map(str::to_owned)
            .collect();
        let no_args = |c: Command, command: &'static str| {
            if args.is_empty() {
                Ok(c)
            } else {
                Err(ParseError::UnexpectedArguments { command })
            }
        };
        out.push(match name.to_ascii_lowercase().as_str() {
            "promote" => match args.split_first() {
                Some((stage, services)) => Ok(Command::Promote {
                    stage: stage.clone(),
                    services: services.to_vec(),
                }),
                None => Err(ParseError::MissingStage),
            },
            "hold" => no_args(Command::Hold, "hold"),
            "unhold" => match args.as_slice() {
                [] => Ok(Command::Unhold),
                [stage] => Ok(Command::UnholdStage {
                    stage: stage.clone(),
                }),
                _ => Err(ParseError::UnexpectedArguments { command: "unhold" }),
            },
            "rollback" => match args.as_slice() {
                [stage] => Ok(Command::Rollback {
                    stage: stage.clone(),
                    to: None,
                }),
                [stage, to, tag] if to.eq_ignore_ascii_case("to") => Ok(Command::Rollback {
                    stage: stage.clone(),
                    to: Some(tag.clone()),
                }),
                _ => Err(ParseError::BadRollback),
            },
            "freeze" => match args.split_first() {
                Some((stage, reason)) => Ok(Command::Freeze {
                    stage: stage.clone(),
                    reason: reason.join(" "),
                }),
                None => Err(ParseError::BadFreeze { command: "freeze" }),
            },
            "unfreeze" => match args.as_slice() {
                [stage] => Ok(Command::Unfreeze {
                    stage: stage.clone(),
                }),
                _ => Err(ParseError::BadFreeze {
                    command: "unfreeze",
                }),
            },
            "status" => no_args(Command::Status, "status"),
            "help" => no_args(Command::Help, "help"),
            "override" => match args.as_slice() {
                [what, head, reason @ ..]
                    if what == "dag" && is_sha(head) && !reason.is_empty() =>
                {
                    Ok(Command::OverrideDag {
                        head: head.to_ascii_lowercase(),
                        reason: reason.join(" "),
                    })
                }
                [what, reason @ ..] if what == "freeze" && !reason.is_empty() => {
                    Ok(Command::OverrideFreeze {
                        reason: reason.join(" "),
                    })
                }
                _ => Err(ParseError::BadOverride),
            },
            other => Err(ParseError::Unknown {
                name: other.to_owned(),
                suggestion: crate::suggest::suggest(other, COMMANDS),
            }),
        });
    }
    out
}

/// A full commit SHA: 40 hex digits. A short one names a head that someone could grind
/// another commit to share in seconds.
fn is_sha(s: &str) -> bool {
    s.len() == 40 && s.chars().all(|c| c.is_ascii_hexdigit())
}

/// The `/help` reply; `stages` are those `/promote` can move freight into.
pub fn help(stages: &[&str]) -> String {
    format!(
        "Hoist commands (one per line, at the start of a line):\n\
         \x20 /promote <stage> [service ...]      promote this PR's image to <stage> (stages: {})\n\
         \x20 /rollback <stage> [to <tag>]        put back what <stage> ran before (or <tag>, verified there)\n\
         \x20 /hold                               keep Hoist from merging this PR\n\
         \x20 /unhold                             let Hoist merge it again\n\
         \x20 /unhold <stage>                     let forward promotions into <stage> merge again after a rollback\n\
         \x20 /freeze <stage> [reason]            no merges into <stage> until /unfreeze (freeze team only)\n\
         \x20 /unfreeze <stage>                   let merges into <stage> resume\n\
         \x20 /status                             where this service's images stand in every stage\n\
         \x20 /help                               this text\n\
         \x20 /override dag <head SHA> <reason>   pass hoist/dag on the head you reviewed, in an emergency (break-glass team only)\n\
         \x20 /override freeze <reason>           let this PR merge into its frozen stage, in an emergency (break-glass team only)\n",
        stages.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> String {
        format!("{:?}", parse(text))
    }

    #[test]
    fn commands_start_a_line() {
        insta::assert_snapshot!(p("/promote uat"), @r#"[Ok(Promote { stage: "uat", services: [] })]"#);
        insta::assert_snapshot!(p("LGTM\n/promote prod my-app-service1 my-app-service2\nthanks"), @r#"[Ok(Promote { stage: "prod", services: ["my-app-service1", "my-app-service2"] })]"#);
        insta::assert_snapshot!(p("please /promote uat"), @"[]");
        insta::assert_snapshot!(p("  /hold\n/unhold\n/STATUS\n/help"), @"[Ok(Hold), Ok(Unhold), Ok(Status), Ok(Help)]");
    }

    #[test]
    fn quoted_and_code_commands_are_ignored() {
        insta::assert_snapshot!(p("> /promote prod\n`/promote prod`\n```\n/promote prod\n```\n~~~\n/hold\n~~~\n    /promote prod\n\t/hold"), @"[]");
        insta::assert_snapshot!(p("```yaml\n/promote prod\n"), @"[]");
        insta::assert_snapshot!(p("/usr/bin/env\nhttps://example.com/promote"), @"[]");
    }

    #[test]
    fn one_bad_line_does_not_hide_the_others() {
        insta::assert_snapshot!(p("/promte uat\n/promote\n/hold now\n/promote uat"), @r#"[Err(Unknown { name: "promte", suggestion: Some("promote") }), Err(MissingStage), Err(UnexpectedArguments { command: "hold" }), Ok(Promote { stage: "uat", services: [] })]"#);
        insta::assert_snapshot!(parse("/deploy prod")[0].as_ref().unwrap_err().to_string(), @"/deploy is not a command. See /help.");
        insta::assert_snapshot!(parse("/promte uat")[0].as_ref().unwrap_err().to_string(), @"/promte is not a command. Did you mean /promote? See /help.");
    }

    #[test]
    fn override_needs_dag_and_a_reason() {
        insta::assert_snapshot!(p("/override dag 3F9C2D1A7B8E9F00112233445566778899AABBCC INC-42 prod is down"), @r#"[Ok(OverrideDag { head: "3f9c2d1a7b8e9f00112233445566778899aabbcc", reason: "INC-42 prod is down" })]"#);
        insta::assert_snapshot!(p("/override dag\n/override checks x\n/override dag INC-42 prod is down\n/override dag 3f9c2d1a7b8e9f00112233445566778899aabbcc\n/override dag 3f9c2d1 a short head"), @"[Err(BadOverride), Err(BadOverride), Err(BadOverride), Err(BadOverride), Err(BadOverride)]");
        insta::assert_snapshot!(parse("/override dag")[0].as_ref().unwrap_err().to_string(), @"/override needs what and why: `/override dag <head SHA> <reason>` or `/override freeze <reason>`. See /help.");
    }

    #[test]
    fn rollback_takes_a_stage_and_maybe_a_tag() {
        insta::assert_snapshot!(p("/rollback prod\n/rollback prod to v1.3.0\n/unhold prod"), @r#"[Ok(Rollback { stage: "prod", to: None }), Ok(Rollback { stage: "prod", to: Some("v1.3.0") }), Ok(UnholdStage { stage: "prod" })]"#);
        insta::assert_snapshot!(p("/rollback\n/rollback prod v1.3.0\n/unhold prod now"), @r#"[Err(BadRollback), Err(BadRollback), Err(UnexpectedArguments { command: "unhold" })]"#);
        insta::assert_snapshot!(parse("/rollback")[0].as_ref().unwrap_err().to_string(), @"/rollback needs a stage, and optionally `to <tag>`: `/rollback <stage> [to <tag>]`. See /help.");
    }

    #[test]
    fn freeze_takes_a_stage_and_a_reason() {
        insta::assert_snapshot!(p("/freeze prod INC-7 payments outage\n/freeze uat\n/unfreeze prod\n/override freeze INC-7 the fix"), @r#"[Ok(Freeze { stage: "prod", reason: "INC-7 payments outage" }), Ok(Freeze { stage: "uat", reason: "" }), Ok(Unfreeze { stage: "prod" }), Ok(OverrideFreeze { reason: "INC-7 the fix" })]"#);
        insta::assert_snapshot!(p("/freeze\n/unfreeze\n/unfreeze prod now\n/override freeze"), @r#"[Err(BadFreeze { command: "freeze" }), Err(BadFreeze { command: "unfreeze" }), Err(BadFreeze { command: "unfreeze" }), Err(BadOverride)]"#);
        insta::assert_snapshot!(parse("/unfreeze")[0].as_ref().unwrap_err().to_string(), @"/unfreeze needs exactly one stage: `/unfreeze <stage>`. See /help.");
        insta::assert_snapshot!(parse("/override freeze")[0].as_ref().unwrap_err().to_string(), @"/override needs what and why: `/override dag <head SHA> <reason>` or `/override freeze <reason>`. See /help.");
    }

    #[test]
    fn help_text() {
        insta::assert_snapshot!(help(&["dev", "uat", "prod"]), @r"
        Hoist commands (one per line, at the start of a line):
          /promote <stage> [service ...]      promote this PR's image to <stage> (stages: dev, uat, prod)
          /rollback <stage> [to <tag>]        put back what <stage> ran before (or <tag>, verified there)
          /hold                               keep Hoist from merging this PR
          /unhold                             let Hoist merge it again
          /unhold <stage>                     let forward promotions into <stage> merge again after a rollback
          /freeze <stage> [reason]            no merges into <stage> until /unfreeze (freeze team only)
          /unfreeze <stage>                   let merges into <stage> resume
          /status                             where this service's images stand in every stage
          /help                               this text
          /override dag <head SHA> <reason>   pass hoist/dag on the head you reviewed, in an emergency (break-glass team only)
          /override freeze <reason>           let this PR merge into its frozen stage, in an emergency (break-glass team only)
        ");
    }
}
