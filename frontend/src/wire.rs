//! Reading the proxy's frames into the shared protocol types.
//!
//! serde's derived `Deserialize` for the mirror (internally tagged enums, a
//! flattened history entry, an untagged uuid) was a third of the gzipped wasm,
//! over the 150 KiB budget on its own. This is a small JSON reader and one
//! function per type instead. The shared types stay the only definition; the
//! tests feed every variant through serde's `Serialize` and require the same
//! value back, and read every golden file in `shared/tests/golden/protocol`,
//! so a protocol change cannot slip past unnoticed. The one tablet message
//! the wasm writes itself is here too, pinned by the same golden files. The
//! list of signed-in tablets is index.html's to read (decoding it here cost
//! the wasm 0.5 KiB gzip of a budget with 0.7 left); the tests pin the prefix
//! both sides go by.

use shared::device::{ClearType, HistoryEntry, Session, SessionState, Settings, Statistics};
use shared::protocol::{
    CommandResult, DeviceInfo, Health, MirrorDelta, MirrorState, Party, ServerMsg, Verdict,
};
use shared::time::DeviceTime;

/// A parsed JSON value. Numbers are integers: the protocol has no fractions.
#[derive(Debug, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
    List(Vec<Json>),
    Object(Vec<(String, Json)>),
}

type Res<T> = Result<T, String>;

static NULL: Json = Json::Null;

impl Json {
    /// A field of an object; absent fields (and fields of non-objects) read as null.
    fn get(&self, key: &str) -> &Json {
        match self {
            Json::Object(fields) => fields
                .iter()
                .find(|(k, _)| k == key)
                .map_or(&NULL, |(_, v)| v),
            _ => &NULL,
        }
    }
}

fn wrong(key: &str, want: &str) -> String {
    format!("{key}: expected {want}")
}

fn str_at(v: &Json, key: &str) -> Res<String> {
    match v.get(key) {
        Json::Str(s) => Ok(s.clone()),
        _ => Err(wrong(key, "a string")),
    }
}

fn opt_str(v: &Json, key: &str) -> Res<Option<String>> {
    match v.get(key) {
        Json::Null => Ok(None),
        _ => str_at(v, key).map(Some),
    }
}

fn int_at<T: TryFrom<i64>>(v: &Json, key: &str) -> Res<T> {
    match v.get(key) {
        Json::Int(n) => T::try_from(*n).map_err(|_| wrong(key, "a number in range")),
        _ => Err(wrong(key, "a number")),
    }
}

fn opt_int<T: TryFrom<i64>>(v: &Json, key: &str) -> Res<Option<T>> {
    match v.get(key) {
        Json::Null => Ok(None),
        _ => int_at(v, key).map(Some),
    }
}

fn int_or<T: TryFrom<i64>>(v: &Json, key: &str, default: T) -> Res<T> {
    Ok(opt_int(v, key)?.unwrap_or(default))
}

fn bool_at(v: &Json, key: &str) -> Res<bool> {
    match v.get(key) {
        Json::Bool(b) => Ok(*b),
        _ => Err(wrong(key, "true or false")),
    }
}

fn time_at(v: &Json, key: &str) -> Res<DeviceTime> {
    DeviceTime::parse(&str_at(v, key)?).map_err(|e| e.to_string())
}

fn opt_time(v: &Json, key: &str) -> Res<Option<DeviceTime>> {
    match v.get(key) {
        Json::Null => Ok(None),
        _ => time_at(v, key).map(Some),
    }
}

fn list<T>(v: &Json, key: &str, item: fn(&Json) -> Res<T>) -> Res<Vec<T>> {
    match v.get(key) {
        Json::Null => Ok(Vec::new()),
        Json::List(items) => items.iter().map(item).collect(),
        _ => Err(wrong(key, "a list")),
    }
}

fn opt<T>(v: &Json, key: &str, read: fn(&Json) -> Res<T>) -> Res<Option<T>> {
    match v.get(key) {
        Json::Null => Ok(None),
        inner => read(inner).map(Some),
    }
}

fn tag<'v>(v: &'v Json, key: &str) -> Res<&'v str> {
    match v.get(key) {
        Json::Str(s) => Ok(s),
        _ => Err(format!("no {key} tag")),
    }
}

pub fn decode(text: &str) -> Res<ServerMsg> {
    let v = Parser::parse(text)?;
    Ok(match tag(&v, "type")? {
        "hello" => ServerMsg::Hello {
            protocol: int_at(&v, "protocol")?,
            simulated: bool_at(&v, "simulated")?,
            proxy_time_ms: int_at(&v, "proxy_time_ms")?,
        },
        "snapshot" => ServerMsg::Snapshot {
            state: mirror(v.get("state"))?,
            proxy_time_ms: int_at(&v, "proxy_time_ms")?,
        },
        "heartbeat" => ServerMsg::Heartbeat {
            proxy_time_ms: int_at(&v, "proxy_time_ms")?,
        },
        "delta" => ServerMsg::Delta {
            delta: delta(v.get("delta"))?,
        },
        "reply" => ServerMsg::Reply {
            op: str_at(&v, "op")?,
            verdict: verdict(v.get("verdict"))?,
        },
        "progress" => ServerMsg::Progress {
            op: str_at(&v, "op")?,
            attempt: int_at(&v, "attempt")?,
        },
        "error" => ServerMsg::Error {
            op: opt_str(&v, "op")?,
            code: str_at(&v, "code")?,
            message: str_at(&v, "message")?,
        },
        other => return Err(format!("unknown message type {other}")),
    })
}

/// The answer to [`LIST_TABLETS`]: index.html draws it into Settings, and
/// the app leaves it alone (index.html checks the same prefix).
pub fn for_index_html(frame: &str) -> bool {
    frame.starts_with(r#"{"type":"tablets""#)
}

/// `TabletMsg::ListTablets`, as serde writes it.
pub const LIST_TABLETS: &str = r#"{"type":"list_tablets"}"#;

fn mirror(v: &Json) -> Res<MirrorState> {
    Ok(MirrorState {
        parties: list(v, "parties", party)?,
        statistics: statistics(v.get("statistics"))?,
        settings: opt(v, "settings", settings)?,
        global_sequence: opt_int(v, "global_sequence")?,
        device: device(v.get("device"))?,
        health: health(v.get("health"))?,
    })
}

fn delta(v: &Json) -> Res<MirrorDelta> {
    Ok(MirrorDelta {
        upserted: list(v, "upserted", party)?,
        removed: list(v, "removed", |s| match s {
            Json::Str(s) => Ok(s.clone()),
            _ => Err(wrong("removed", "strings")),
        })?,
        statistics: opt(v, "statistics", statistics)?,
        settings: opt(v, "settings", settings)?,
        global_sequence: opt_int(v, "global_sequence")?,
        device: opt(v, "device", device)?,
        health: opt(v, "health", health)?,
    })
}

fn party(v: &Json) -> Res<Party> {
    Ok(Party {
        session: session(v.get("session"))?,
        page_count: int_at(v, "page_count")?,
    })
}

fn session(v: &Json) -> Res<Session> {
    Ok(Session {
        id: int_at(v, "id")?,
        session_sequence: opt_int(v, "sessionSequence")?,
        // Documented as a number, sent as a string by some firmware.
        uuid: match v.get("uuid") {
            Json::Str(s) => s.clone(),
            Json::Int(n) => n.to_string(),
            _ => return Err(wrong("uuid", "a string or number")),
        },
        number: int_at(v, "number")?,
        party_size: opt_int(v, "partySize")?,
        goal_in_seconds: int_at(v, "goalInSeconds")?,
        created: time_at(v, "created")?,
        started: time_at(v, "started")?,
        notified: opt_time(v, "notified")?,
        cleared: opt_time(v, "cleared")?,
        label: opt_str(v, "label")?,
        state: match v.get("state") {
            Json::Null => None,
            Json::Str(s) if s == "started" => Some(SessionState::Started),
            Json::Str(s) if s == "paged" => Some(SessionState::Paged),
            Json::Str(s) if s == "cleared" => Some(SessionState::Cleared),
            _ => return Err(wrong("state", "started, paged or cleared")),
        },
    })
}

fn history_entry(v: &Json) -> Res<HistoryEntry> {
    Ok(HistoryEntry {
        session: session(v)?,
        clear_type: match v.get("clearType") {
            Json::Str(s) if s == "STOP" => ClearType::Stop,
            Json::Str(s) if s == "REMOVED" => ClearType::Removed,
            _ => return Err(wrong("clearType", "STOP or REMOVED")),
        },
    })
}

fn statistics(v: &Json) -> Res<Statistics> {
    Ok(Statistics {
        guests_served: int_or(v, "guestsServed", 0)?,
        percent_late: int_or(v, "percentLate", 0)?,
        percent_on_time: int_or(v, "percentOnTime", 0)?,
        average_time_served: int_or(v, "averageTimeServed", 0)?,
        num_sessions: int_or(v, "numSessions", 0)?,
    })
}

fn settings(v: &Json) -> Res<Settings> {
    Ok(Settings {
        datetime: time_at(v, "datetime")?,
        system_id: int_or(v, "systemId", 0)?,
        default_target_goal: int_or(v, "defaultTargetGoal", 300)?,
        statistics_clear_mark: int_or(v, "statisticsClearMark", 24)?,
    })
}

fn device(v: &Json) -> Res<DeviceInfo> {
    Ok(DeviceInfo {
        address: str_at(v, "address")?,
        simulated: bool_at(v, "simulated")?,
        device_name: opt_str(v, "device_name")?,
        firmware_version: opt_str(v, "firmware_version")?,
    })
}

fn health(v: &Json) -> Res<Health> {
    Ok(Health {
        reachable: bool_at(v, "reachable")?,
        observing: bool_at(v, "observing")?,
        synced: bool_at(v, "synced")?,
        last_contact_ms: opt_int(v, "last_contact_ms")?,
        last_rtt_ms: opt_int(v, "last_rtt_ms")?,
        device_clock_offset_s: opt_int(v, "device_clock_offset_s")?,
        rtt_ms: opt_int(v, "rtt_ms")?,
        rto_ms: opt_int(v, "rto_ms")?,
        loss_percent: opt_int(v, "loss_percent")?,
        last_notification_ms: opt_int(v, "last_notification_ms")?,
        last_ping_ms: opt_int(v, "last_ping_ms")?,
        reboots: int_or(v, "reboots", 0)?,
        resyncs: int_or(v, "resyncs", 0)?,
        command_deadline_s: opt_int(v, "command_deadline_s")?,
        not_recording: opt_str(v, "not_recording")?,
    })
}

fn verdict(v: &Json) -> Res<Verdict> {
    Ok(match tag(v, "outcome")? {
        "acknowledged" => Verdict::Acknowledged {
            result: result(v.get("result"))?,
        },
        "rejected" => Verdict::Rejected {
            device_code: str_at(v, "device_code")?,
            message: str_at(v, "message")?,
        },
        "invalid" => Verdict::Invalid {
            code: str_at(v, "code")?,
            message: str_at(v, "message")?,
        },
        "unreachable" => Verdict::Unreachable {
            message: str_at(v, "message")?,
        },
        other => return Err(format!("unknown outcome {other}")),
    })
}

fn result(v: &Json) -> Res<CommandResult> {
    Ok(match tag(v, "kind")? {
        "party" => CommandResult::Party {
            party: party(v.get("party"))?,
        },
        "archived" => CommandResult::Archived {
            session: session(v.get("session"))?,
        },
        "history" => CommandResult::History {
            entries: list(v, "entries", history_entry)?,
        },
        "statistics" => CommandResult::Statistics {
            statistics: statistics(v.get("statistics"))?,
        },
        "settings" => CommandResult::Settings {
            settings: settings(v.get("settings"))?,
        },
        "done" => CommandResult::Done,
        other => return Err(format!("unknown result kind {other}")),
    })
}

/// Just enough JSON: RFC 8259 minus fractions and exponents.
struct Parser<'t> {
    bytes: &'t [u8],
    at: usize,
}

impl Parser<'_> {
    fn parse(text: &str) -> Res<Json> {
        let mut p = Parser {
            bytes: text.as_bytes(),
            at: 0,
        };
        let value = p.value(0)?;
        p.space();
        if p.at != p.bytes.len() {
            return Err(p.fail("trailing characters"));
        }
        Ok(value)
    }

    fn fail(&self, what: &str) -> String {
        format!("bad JSON at byte {}: {what}", self.at)
    }

    fn space(&mut self) {
        while self
            .bytes
            .get(self.at)
            .is_some_and(|b| b.is_ascii_whitespace())
        {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        self.space();
        let hit = self.bytes.get(self.at) == Some(&byte);
        if hit {
            self.at += 1;
        }
        hit
    }

    fn word(&mut self, word: &str, value: Json) -> Res<Json> {
        if self.bytes[self.at..].starts_with(word.as_bytes()) {
            self.at += word.len();
            Ok(value)
        } else {
            Err(self.fail("unknown word"))
        }
    }

    fn value(&mut self, depth: u32) -> Res<Json> {
        // The mirror nests five deep; anything far deeper is not from the proxy.
        if depth > 32 {
            return Err(self.fail("nested too deep"));
        }
        self.space();
        match self.bytes.get(self.at) {
            Some(b'n') => self.word("null", Json::Null),
            Some(b't') => self.word("true", Json::Bool(true)),
            Some(b'f') => self.word("false", Json::Bool(false)),
            Some(b'"') => self.string().map(Json::Str),
            Some(b'[') => {
                self.at += 1;
                let mut items = Vec::new();
                if !self.eat(b']') {
                    loop {
                        items.push(self.value(depth + 1)?);
                        if self.eat(b']') {
                            break;
                        }
                        if !self.eat(b',') {
                            return Err(self.fail("expected , or ]"));
                        }
                    }
                }
                Ok(Json::List(items))
            }
            Some(b'{') => {
                self.at += 1;
                let mut fields = Vec::new();
                if !self.eat(b'}') {
                    loop {
                        self.space();
                        let key = self.string()?;
                        if !self.eat(b':') {
                            return Err(self.fail("expected :"));
                        }
                        fields.push((key, self.value(depth + 1)?));
                        if self.eat(b'}') {
                            break;
                        }
                        if !self.eat(b',') {
                            return Err(self.fail("expected , or }"));
                        }
                    }
                }
                Ok(Json::Object(fields))
            }
            Some(b'-' | b'0'..=b'9') => {
                let start = self.at;
                self.at += 1;
                while self.bytes.get(self.at).is_some_and(u8::is_ascii_digit) {
                    self.at += 1;
                }
                std::str::from_utf8(&self.bytes[start..self.at])
                    .ok()
                    .and_then(|n| n.parse().ok())
                    .map(Json::Int)
                    .ok_or_else(|| self.fail("not a whole number"))
            }
            _ => Err(self.fail("expected a value")),
        }
    }

    fn string(&mut self) -> Res<String> {
        if self.bytes.get(self.at) != Some(&b'"') {
            return Err(self.fail("expected a string"));
        }
        self.at += 1;
        let mut out = String::new();
        loop {
            let start = self.at;
            while self
                .bytes
                .get(self.at)
                .is_some_and(|b| *b != b'"' && *b != b'\\')
            {
                self.at += 1;
            }
            // Input came from a &str and we stop only at ASCII, so this slice is UTF-8.
            out.push_str(std::str::from_utf8(&self.bytes[start..self.at]).unwrap_or_default());
            match self.bytes.get(self.at) {
                Some(b'"') => {
                    self.at += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    let escape = self.bytes.get(self.at + 1).copied();
                    self.at += 2;
                    match escape {
                        Some(b'"') => out.push('"'),
                        Some(b'\\') => out.push('\\'),
                        Some(b'/') => out.push('/'),
                        Some(b'b') => out.push('\u{8}'),
                        Some(b'f') => out.push('\u{c}'),
                        Some(b'n') => out.push('\n'),
                        Some(b'r') => out.push('\r'),
                        Some(b't') => out.push('\t'),
                        Some(b'u') => out.push(self.unicode_escape()?),
                        _ => return Err(self.fail("bad escape")),
                    }
                }
                _ => return Err(self.fail("unterminated string")),
            }
        }
    }

    fn hex4(&mut self) -> Res<u32> {
        let digits = self
            .bytes
            .get(self.at..self.at + 4)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .ok_or_else(|| self.fail("bad \\u escape"))?;
        self.at += 4;
        Ok(digits)
    }

    fn unicode_escape(&mut self) -> Res<char> {
        let high = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&high) && self.bytes[self.at..].starts_with(b"\\u")
        {
            self.at += 2;
            let low = self.hex4()?;
            0x10000 + ((high - 0xD800) << 10) + (low.wrapping_sub(0xDC00) & 0x3FF)
        } else {
            high
        };
        Ok(char::from_u32(code).unwrap_or('\u{FFFD}'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(number: u32) -> Session {
        let t = DeviceTime::parse("2026-11-27T19:00:00").unwrap();
        Session {
            id: number,
            session_sequence: Some(4),
            uuid: format!("u{number}"),
            number,
            party_size: Some(3),
            goal_in_seconds: 600,
            created: t,
            started: t,
            notified: Some(t.plus_seconds(90)),
            cleared: None,
            label: Some("Ana \"Zoë\" \\ 😀".into()),
            state: Some(SessionState::Paged),
        }
    }

    fn every_message() -> Vec<ServerMsg> {
        let party = Party {
            session: session(5),
            page_count: 2,
        };
        let bare = Party {
            session: Session {
                session_sequence: None,
                party_size: None,
                notified: None,
                label: None,
                state: None,
                ..session(6)
            },
            page_count: 0,
        };
        let settings = Settings {
            datetime: DeviceTime::parse("2026-11-27T19:30:00").unwrap(),
            system_id: 3,
            default_target_goal: 900,
            statistics_clear_mark: 4,
        };
        let statistics = Statistics {
            guests_served: 9,
            percent_late: 10,
            percent_on_time: 90,
            average_time_served: 321,
            num_sessions: 12,
        };
        let health = Health {
            reachable: true,
            observing: true,
            synced: true,
            last_contact_ms: Some(1_700_000_000_000),
            last_rtt_ms: Some(3),
            device_clock_offset_s: Some(-3600),
            rtt_ms: Some(4),
            rto_ms: Some(250),
            loss_percent: Some(12),
            last_notification_ms: Some(1_700_000_000_000),
            last_ping_ms: None,
            reboots: 1,
            resyncs: 2,
            command_deadline_s: Some(30),
            not_recording: Some("the disk is full".into()),
        };
        let device = DeviceInfo {
            address: "127.0.0.1:5683".into(),
            simulated: true,
            device_name: Some("T7470".into()),
            firmware_version: Some("1.0".into()),
        };
        let ack = |result| ServerMsg::Reply {
            op: "ab-1".into(),
            verdict: Verdict::Acknowledged { result },
        };
        vec![
            ServerMsg::Hello {
                protocol: 1,
                simulated: true,
                proxy_time_ms: 1_700_000_000_123,
            },
            ServerMsg::Progress {
                op: "ab-2".into(),
                attempt: 2,
            },
            ServerMsg::Heartbeat {
                proxy_time_ms: 1_700_000_005_123,
            },
            ServerMsg::Snapshot {
                state: MirrorState {
                    parties: vec![party.clone(), bare.clone()],
                    statistics,
                    settings: Some(settings.clone()),
                    global_sequence: Some(4),
                    device: device.clone(),
                    health: health.clone(),
                },
                proxy_time_ms: 5,
            },
            ServerMsg::Snapshot {
                state: MirrorState::default(),
                proxy_time_ms: 5,
            },
            ServerMsg::Delta {
                delta: MirrorDelta {
                    upserted: vec![party.clone()],
                    removed: vec!["u9".into()],
                    statistics: Some(statistics),
                    settings: Some(settings.clone()),
                    global_sequence: Some(5),
                    device: Some(device),
                    health: Some(health),
                },
            },
            ServerMsg::Delta {
                delta: MirrorDelta::default(),
            },
            ack(CommandResult::Party { party }),
            ack(CommandResult::Archived {
                session: session(6),
            }),
            ack(CommandResult::History {
                entries: vec![
                    HistoryEntry {
                        session: session(7),
                        clear_type: ClearType::Removed,
                    },
                    HistoryEntry {
                        session: bare.session,
                        clear_type: ClearType::Stop,
                    },
                ],
            }),
            ack(CommandResult::Statistics { statistics }),
            ack(CommandResult::Settings { settings }),
            ack(CommandResult::Done),
            ServerMsg::Reply {
                op: "ab-2".into(),
                verdict: Verdict::Rejected {
                    device_code: "4.04".into(),
                    message: "no session".into(),
                },
            },
            ServerMsg::Reply {
                op: "ab-3".into(),
                verdict: Verdict::Invalid {
                    code: "number_in_use".into(),
                    message: "Pager 5 is in use.".into(),
                },
            },
            ServerMsg::Reply {
                op: "ab-4".into(),
                verdict: Verdict::Unreachable {
                    message: "silence".into(),
                },
            },
            ServerMsg::Error {
                op: Some("ab-5".into()),
                code: "bad_fields".into(),
                message: "no".into(),
            },
            ServerMsg::Error {
                op: None,
                code: "malformed_json".into(),
                message: "no".into(),
            },
        ]
    }

    #[test]
    fn decodes_every_variant_as_serde_writes_it() {
        for msg in every_message() {
            let compact = serde_json::to_string(&msg).unwrap();
            assert_eq!(decode(&compact), Ok(msg.clone()), "{compact}");
            let pretty = serde_json::to_string_pretty(&msg).unwrap();
            assert_eq!(decode(&pretty), Ok(msg.clone()), "{pretty}");
        }
    }

    const GOLDEN: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/tests/golden/protocol"
    );

    fn golden(name: &str) -> String {
        std::fs::read_to_string(format!("{GOLDEN}/{name}.json")).unwrap()
    }

    /// Fails to compile when the protocol grows a message this reader has
    /// not been taught (the golden test in `shared` then wants its file).
    fn kind(msg: &ServerMsg) -> &'static str {
        match msg {
            ServerMsg::Hello { .. } => "hello",
            ServerMsg::Snapshot { .. } => "snapshot",
            ServerMsg::Delta { .. } => "delta",
            ServerMsg::Reply { .. } => "reply",
            ServerMsg::Progress { .. } => "progress",
            ServerMsg::Heartbeat { .. } => "heartbeat",
            ServerMsg::Tablets { .. } => "tablets",
            ServerMsg::Error { .. } => "error",
        }
    }

    #[test]
    fn reads_every_golden_server_message_as_serde_does() {
        let mut kinds = std::collections::BTreeSet::new();
        for entry in std::fs::read_dir(GOLDEN).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if !name.starts_with("server_") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let want: ServerMsg = serde_json::from_str(&text).unwrap();
            kinds.insert(kind(&want));
            // As the proxy sends it: compact, fields in declaration order.
            let frame = serde_json::to_string(&want).unwrap();
            if kind(&want) == "tablets" {
                assert!(for_index_html(&frame), "index.html would miss {frame}");
                continue;
            }
            assert!(!for_index_html(&frame), "{name}");
            assert_eq!(decode(&text), Ok(want.clone()), "{name}");
            assert_eq!(decode(&frame), Ok(want), "{name}");
        }
        let all = [
            "hello",
            "snapshot",
            "delta",
            "reply",
            "progress",
            "heartbeat",
            "tablets",
            "error",
        ];
        assert_eq!(kinds, all.into_iter().collect());
    }

    #[test]
    fn writes_list_tablets_as_its_golden_file() {
        let value = |text: &str| serde_json::from_str::<serde_json::Value>(text).unwrap();
        assert_eq!(value(LIST_TABLETS), value(&golden("tablet_list_tablets")));
    }

    #[test]
    fn tolerates_what_the_device_contract_allows() {
        // A numeric uuid, a missing partySize/state, unknown fields.
        let text = r#"{"type":"reply","op":"x","verdict":{"outcome":"acknowledged","result":{"kind":"history","entries":[
            {"id":1,"uuid":42,"number":3,"goalInSeconds":300,"created":"2026-11-27T19:00:00",
             "started":"2026-11-27T19:00:00","cleared":"2026-11-27T19:05:00","label":null,"clearType":"STOP","extra":[1,{"a":true}]}]}}}"#;
        let Ok(ServerMsg::Reply {
            verdict:
                Verdict::Acknowledged {
                    result: CommandResult::History { entries },
                },
            ..
        }) = decode(text)
        else {
            panic!("{:?}", decode(text));
        };
        assert_eq!(entries[0].session.uuid, "42");
        assert_eq!(entries[0].clear_type, ClearType::Stop);
        assert_eq!(
            Parser::parse(r#""\u00e9\ud83d\ude00\n""#),
            Ok(Json::Str("é😀\n".into()))
        );
    }

    #[test]
    fn refuses_nonsense() {
        for text in [
            r#"{"type":"nope"}"#,
            r#"{"type":"reply","op":"x","verdict":{"outcome":"maybe"}}"#,
            r#"{"type":"hello"}"#,
            r#"{"type":"hello","protocol":1.5,"simulated":true,"proxy_time_ms":1}"#,
            r#"{"type":"hello","protocol":-1,"simulated":true,"proxy_time_ms":1}"#,
            r#"{"type":"error","code":"x","message":"y"} trailing"#,
            r#"{"type":"error","code":"x","message":"unterminated}"#,
            "not json",
            "",
            &"[".repeat(100),
        ] {
            assert!(decode(text).is_err(), "{text}");
        }
    }
}
