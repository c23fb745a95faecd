//! Lobby links: read-only tokens for the TV by the door. A link made in
//! Settings opens `/lobby#<token>` (a fragment: never sent to the server,
//! never in a log or a `Referer`); the page then shows the token to
//! `/api/lobby/calls` in a header. A lobby token is not a tablet's: it opens
//! no WebSocket, so it can never page, and the calls it reads carry pager
//! numbers only, never names. Kept hashed in `lobby.json`, 0600, written
//! whole; a revoked link stops working at once.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::tokens::hex;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub id: String,
    /// Unix ms.
    pub created_ms: i64,
    /// Hex SHA-256 of the token; never shown.
    #[serde(skip_serializing_if = "String::is_empty", default)]
    hash: String,
}

pub struct LobbyLinks {
    file: PathBuf,
    links: Vec<Link>,
}

impl LobbyLinks {
    /// Reads `dir/lobby.json`; a missing file is no links, a damaged one is
    /// refused at start rather than silently forgotten.
    pub fn open(dir: &Path) -> std::io::Result<LobbyLinks> {
        let file = dir.join("lobby.json");
        let links = match std::fs::read(&file) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                std::io::Error::other(format!(
                    "{} is damaged ({e}): move it aside to forget every lobby link",
                    file.display()
                ))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        Ok(LobbyLinks { file, links })
    }

    /// A new link: its id, and the token (shown once, in the link).
    pub fn create(&mut self, now_ms: i64) -> std::io::Result<(String, String)> {
        let token = crate::auth::new_token();
        let id = hex(&rand::random::<[u8; 4]>());
        self.links.push(Link {
            id: id.clone(),
            created_ms: now_ms,
            hash: hash(&token),
        });
        self.save()?;
        Ok((id, token))
    }

    pub fn revoke(&mut self, id: &str) -> std::io::Result<bool> {
        let before = self.links.len();
        self.links.retain(|l| l.id != id);
        let revoked = self.links.len() != before;
        if revoked {
            self.save()?;
        }
        Ok(revoked)
    }

    /// The links, without their hashes.
    pub fn list(&self) -> Vec<Link> {
        self.links
            .iter()
            .map(|l| Link {
                hash: String::new(),
                ..l.clone()
            })
            .collect()
    }

    pub fn admits(&self, token: &str) -> bool {
        let digest = hash(token);
        !token.is_empty() && self.links.iter().any(|l| l.hash == digest)
    }

    fn save(&self) -> std::io::Result<()> {
        let bytes = serde_json::to_vec_pretty(&self.links).map_err(std::io::Error::other)?;
        crate::durable::write_private(&self.file, &bytes)
    }
}

fn hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_admits_its_token_until_revoked_and_survives_a_restart() {
        let dir = std::env::temp_dir().join(format!("coaster-lobby-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        crate::durable::private_dir(&dir).unwrap();
        let mut links = LobbyLinks::open(&dir).unwrap();
        let (id, token) = links.create(1).unwrap();
        assert!(links.admits(&token));
        assert!(!links.admits("") && !links.admits("guess"));
        let saved = std::fs::read_to_string(dir.join("lobby.json")).unwrap();
        assert!(!saved.contains(&token), "only the hash is kept");
        let mut again = LobbyLinks::open(&dir).unwrap();
        assert!(again.admits(&token));
        assert_eq!(again.list()[0].id, id);
        assert!(again.revoke(&id).unwrap());
        assert!(!again.admits(&token));
        assert!(!LobbyLinks::open(&dir).unwrap().admits(&token));
        std::fs::write(dir.join("lobby.json"), b"{not json").unwrap();
        let Err(damaged) = LobbyLinks::open(&dir) else {
            panic!("a damaged file was read");
        };
        assert!(damaged.to_string().contains("damaged"));
    }
}
