//! Tablets' tokens, kept across restarts in `tablets/tokens.jsonl` in the
//! data directory: one JSON record a line, the directory 0700 and the file
//! 0600, every write a whole new file renamed over the old one.
//!
//! A record holds the SHA-256 of its token, never the token: the file lets
//! nobody in. It also holds `pin_binding`, the SHA-256 of the token followed by the
//! PIN it was issued under, so a changed PIN signs every tablet out without
//! the stand keeping anything from which the PIN could be guessed — that
//! would take the token, which only the tablet has. A blank, unreadable or
//! incomplete line is skipped, never read as an empty token.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use shared::protocol::SignedInTablet;

use crate::durable;

pub const DEFAULT_TOKEN_DAYS: u32 = 90;
const DAY_MS: i64 = 24 * 60 * 60 * 1000;
/// Last-seen times are written at most this often per token: a tablet
/// reconnecting all night must not rewrite the file each time.
const SEEN_WRITE_EVERY_MS: i64 = 60 * 60 * 1000;
/// Names longer than this are cut.
pub const NAME_MAX_CHARS: usize = 40;

/// A tablet's name as kept: trimmed, control characters dropped, cut to
/// [`NAME_MAX_CHARS`].
pub fn tablet_name(name: &str) -> String {
    name.trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(NAME_MAX_CHARS)
        .collect()
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Record {
    id: String,
    /// Hex SHA-256 of the token.
    hash: String,
    /// Hex SHA-256 of the token, a NUL and the PIN it was issued under.
    pin_binding: String,
    name: String,
    created_ms: i64,
    last_seen_ms: i64,
}

pub struct TokenStore {
    /// `None`: kept in memory only (tests, a stand without a PIN).
    file: Option<PathBuf>,
    records: Vec<Record>,
    max_idle_ms: i64,
    /// When each record's last-seen time was last written.
    written_seen: Vec<i64>,
}

impl TokenStore {
    pub fn in_memory(token_days: u32) -> Self {
        TokenStore {
            file: None,
            records: Vec::new(),
            max_idle_ms: i64::from(token_days) * DAY_MS,
            written_seen: Vec::new(),
        }
    }

    /// Reads `dir/tokens.jsonl` (creating `dir` 0700), dropping expired records.
    pub fn open(dir: &Path, token_days: u32, now_ms: i64) -> std::io::Result<Self> {
        durable::private_dir(dir)?;
        let file = dir.join("tokens.jsonl");
        let text = match std::fs::read_to_string(&file) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => {
                return Err(std::io::Error::new(
                    e.kind(),
                    format!("cannot read {}: {e}", file.display()),
                ))
            }
        };
        let (records, skipped) = parse(&text);
        if skipped > 0 {
            tracing::warn!(skipped, file = %file.display(), "skipped unreadable lines in the token file");
        }
        let mut store = TokenStore {
            file: Some(file),
            written_seen: records.iter().map(|r| r.last_seen_ms).collect(),
            records,
            ..TokenStore::in_memory(token_days)
        };
        if store.expire(now_ms) || skipped > 0 {
            store.save();
        }
        Ok(store)
    }

    /// A new token for the tablet `name`, issued under `pin`.
    pub fn issue(&mut self, pin: &str, name: &str, now_ms: i64) -> String {
        let token = crate::auth::new_token();
        let name = tablet_name(name);
        self.records.push(Record {
            id: hex(&rand::random::<[u8; 4]>()),
            hash: hash(&token),
            pin_binding: bind(&token, pin),
            name: if name.is_empty() {
                "Tablet".into()
            } else {
                name
            },
            created_ms: now_ms,
            last_seen_ms: now_ms,
        });
        self.written_seen.push(now_ms);
        self.expire(now_ms);
        self.save();
        token
    }

    /// The id of `token` if it is signed in under `pin`; notes it was seen.
    pub fn check(&mut self, token: &str, pin: &str, now_ms: i64) -> Option<String> {
        if token.is_empty() {
            return None;
        }
        let mut changed = self.expire(now_ms);
        let digest = hash(token);
        let found = self.records.iter().position(|r| r.hash == digest);
        let admitted = match found {
            Some(i) if self.records[i].pin_binding != bind(token, pin) => {
                tracing::info!(id = %self.records[i].id, "a tablet signed in under the previous PIN is signed out");
                self.remove_at(i);
                changed = true;
                None
            }
            Some(i) => {
                self.records[i].last_seen_ms = now_ms;
                if now_ms - self.written_seen[i] >= SEEN_WRITE_EVERY_MS {
                    changed = true;
                }
                Some(self.records[i].id.clone())
            }
            None => None,
        };
        if changed {
            self.save();
        }
        admitted
    }

    pub fn has(&self, id: &str) -> bool {
        self.records.iter().any(|r| r.id == id)
    }

    pub fn remove(&mut self, id: &str) -> bool {
        let Some(i) = self.records.iter().position(|r| r.id == id) else {
            return false;
        };
        self.remove_at(i);
        self.save();
        true
    }

    /// The name the tablet with this id goes by.
    pub fn name(&self, id: &str) -> Option<&str> {
        self.records
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.name.as_str())
    }

    /// Renames the tablet with this id (its Settings' "This tablet's name").
    pub fn rename(&mut self, id: &str, name: &str) -> bool {
        let Some(record) = self.records.iter_mut().find(|r| r.id == id) else {
            return false;
        };
        let name = tablet_name(name);
        if name.is_empty() || record.name == name {
            return false;
        }
        record.name = name;
        self.save();
        true
    }

    /// Every signed-in tablet, most recently seen first.
    pub fn list(&self, me: Option<&str>) -> Vec<SignedInTablet> {
        let mut list: Vec<_> = self
            .records
            .iter()
            .map(|r| SignedInTablet {
                id: r.id.clone(),
                name: r.name.clone(),
                created_ms: r.created_ms,
                last_seen_ms: r.last_seen_ms,
                this_tablet: me == Some(r.id.as_str()),
            })
            .collect();
        list.sort_by_key(|t| std::cmp::Reverse(t.last_seen_ms));
        list
    }

    fn remove_at(&mut self, i: usize) {
        self.records.remove(i);
        self.written_seen.remove(i);
    }

    /// Drops tokens unused for longer than the limit; true if any went.
    fn expire(&mut self, now_ms: i64) -> bool {
        let before = self.records.len();
        let mut i = 0;
        while i < self.records.len() {
            if now_ms - self.records[i].last_seen_ms > self.max_idle_ms {
                tracing::info!(id = %self.records[i].id, name = %self.records[i].name, "a tablet's token expired unused");
                self.remove_at(i);
            } else {
                i += 1;
            }
        }
        self.records.len() != before
    }

    fn save(&mut self) {
        let Some(file) = &self.file else { return };
        match durable::write_private(file, render(&self.records).as_bytes()) {
            Ok(()) => {
                self.written_seen = self.records.iter().map(|r| r.last_seen_ms).collect();
            }
            Err(error) => {
                tracing::warn!(%error, file = %file.display(), "could not keep tablets' tokens across restarts")
            }
        }
    }
}

/// The records of a token file, and how many lines were skipped.
fn parse(text: &str) -> (Vec<Record>, usize) {
    let mut skipped = 0;
    let records = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .filter_map(|line| {
            let record = serde_json::from_str::<Record>(line)
                .ok()
                .filter(|r| is_digest(&r.hash) && is_digest(&r.pin_binding) && !r.id.is_empty());
            skipped += usize::from(record.is_none());
            record
        })
        .collect();
    (records, skipped)
}

fn render(records: &[Record]) -> String {
    records
        .iter()
        .filter_map(|r| serde_json::to_string(r).ok())
        .map(|line| line + "\n")
        .collect()
}

fn is_digest(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

fn hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn bind(token: &str, pin: &str) -> String {
    let mut sha = Sha256::new();
    sha.update(token.as_bytes());
    sha.update([0]);
    sha.update(pin.as_bytes());
    hex(&sha.finalize())
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
#[path = "tokens_tests.rs"]
mod tests;
