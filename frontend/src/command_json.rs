//! Writing the tablet's commands as the JSON frames the proxy reads.
//!
//! Hand-written for the 150 KiB first-load budget, like `wire`'s reader:
//! serde_json's serializer and the derived `Serialize` for every command
//! cost about 1 KB gzip more than this. The shared `ClientMsg` stays the one
//! definition; the match below has no catch-all, so a new command does not
//! compile until it has a row here, and the tests require serde_json's
//! exact bytes for every command the proxy knows.

use std::fmt::Write;

use shared::protocol::{ClientMsg, Command};

/// One field of a command; absent ones are left out, as serde skips `None`.
enum Field<'a> {
    Int(i64),
    Str(&'a str),
    Absent,
}

fn opt_int(value: &Option<i64>) -> Field<'_> {
    value.map_or(Field::Absent, Field::Int)
}

fn opt_str(value: &Option<String>) -> Field<'_> {
    value.as_deref().map_or(Field::Absent, Field::Str)
}

/// `{"op":…,"command":{"type":…,…}}`, byte for byte what serde_json writes.
pub fn encode(msg: &ClientMsg) -> String {
    use Field::Int;
    // Each command's fields in declaration order, as serde writes them.
    let fields: &[(&str, Field)] = match &msg.command {
        Command::CreateSession {
            number,
            label,
            party_size,
            goal,
        }
        | Command::UpdateSession {
            number,
            label,
            party_size,
            goal,
        } => &[
            ("number", Int(*number)),
            ("label", opt_str(label)),
            ("party_size", opt_int(party_size)),
            ("goal", opt_int(goal)),
        ],
        Command::PageSession { number, page_mode } => {
            &[("number", Int(*number)), ("page_mode", opt_str(page_mode))]
        }
        Command::ClearSession { number } | Command::RemoveSession { number } => {
            &[("number", Int(*number))]
        }
        Command::ClearAllSessions
        | Command::GetHistory
        | Command::ClearHistory
        | Command::GetStatistics
        | Command::ClearStatistics
        | Command::GetSettings => &[],
        Command::StandalonePage {
            number,
            page_mode,
            message,
            system_id,
        } => &[
            ("number", Int(*number)),
            ("page_mode", opt_str(page_mode)),
            ("message", opt_str(message)),
            ("system_id", opt_int(system_id)),
        ],
        Command::UpdateSettings {
            system_id,
            default_target_goal,
            statistics_clear_mark,
            datetime,
        } => &[
            ("system_id", opt_int(system_id)),
            ("default_target_goal", opt_int(default_target_goal)),
            ("statistics_clear_mark", opt_int(statistics_clear_mark)),
            ("datetime", opt_str(datetime)),
        ],
    };
    let mut out = String::from("{\"op\":");
    push_str(&mut out, &msg.op);
    out.push_str(",\"command\":{\"type\":");
    push_str(&mut out, msg.command.name());
    for (name, field) in fields {
        let value = match field {
            Field::Int(n) => n.to_string(),
            Field::Str(s) => {
                let mut quoted = String::new();
                push_str(&mut quoted, s);
                quoted
            }
            Field::Absent => continue,
        };
        let _ = write!(out, ",\"{name}\":{value}");
    }
    out.push_str("}}");
    out
}

/// A JSON string with serde_json's escapes: the two-character ones where
/// JSON has them, `\u00xx` for other control characters, the rest as is.
fn push_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c < ' ' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::protocol::COMMAND_NAMES;

    const TRICKY: &str = "Ana \"Zoë\" \\ / 😀 \n\r\t\u{8}\u{c}\u{0}\u{1f}\u{7f}";

    /// Every command, each with all its optional fields and with none.
    fn every_command() -> Vec<Command> {
        let text = || Some(TRICKY.to_string());
        vec![
            Command::CreateSession {
                number: 7,
                label: text(),
                party_size: Some(4),
                goal: Some(-600),
            },
            Command::CreateSession {
                number: i64::MIN,
                label: None,
                party_size: None,
                goal: None,
            },
            Command::UpdateSession {
                number: i64::MAX,
                label: Some(String::new()),
                party_size: Some(0),
                goal: Some(900),
            },
            Command::UpdateSession {
                number: 3,
                label: None,
                party_size: None,
                goal: None,
            },
            Command::PageSession {
                number: 12,
                page_mode: Some("vibrate".into()),
            },
            Command::PageSession {
                number: 12,
                page_mode: None,
            },
            Command::ClearSession { number: 5 },
            Command::RemoveSession { number: 6 },
            Command::ClearAllSessions,
            Command::GetHistory,
            Command::ClearHistory,
            Command::GetStatistics,
            Command::ClearStatistics,
            Command::StandalonePage {
                number: 99,
                page_mode: Some("beep".into()),
                message: text(),
                system_id: Some(2),
            },
            Command::StandalonePage {
                number: 99,
                page_mode: None,
                message: None,
                system_id: None,
            },
            Command::GetSettings,
            Command::UpdateSettings {
                system_id: Some(1),
                default_target_goal: Some(1200),
                statistics_clear_mark: Some(-1),
                datetime: Some("2026-11-27T19:00:00".into()),
            },
            Command::UpdateSettings {
                system_id: None,
                default_target_goal: None,
                statistics_clear_mark: None,
                datetime: None,
            },
        ]
    }

    #[test]
    fn writes_every_command_as_serde_json_does() {
        for command in every_command() {
            let msg = ClientMsg {
                op: TRICKY.into(),
                command,
            };
            assert_eq!(encode(&msg), serde_json::to_string(&msg).unwrap());
        }
    }

    #[test]
    fn the_proxy_reads_back_every_command() {
        for command in every_command() {
            let msg = ClientMsg {
                op: "t1-42".into(),
                command,
            };
            assert_eq!(ClientMsg::parse(&encode(&msg)), Ok(msg));
        }
    }

    #[test]
    fn the_tests_cover_every_command_the_proxy_knows() {
        let mut written: Vec<String> = every_command()
            .iter()
            .map(|command| {
                let msg = ClientMsg {
                    op: "x".into(),
                    command: command.clone(),
                };
                let json: serde_json::Value = serde_json::from_str(&encode(&msg)).unwrap();
                json["command"]["type"].as_str().unwrap().to_string()
            })
            .collect();
        written.sort_unstable();
        written.dedup();
        let mut known: Vec<&str> = COMMAND_NAMES.to_vec();
        known.sort_unstable();
        assert_eq!(written, known);
    }

    #[test]
    fn escapes_every_control_character_as_serde_json_does() {
        let all: String = (0u8..0x80).map(char::from).collect();
        let mut ours = String::new();
        push_str(&mut ours, &all);
        assert_eq!(ours, serde_json::to_string(&all).unwrap());
    }
}
