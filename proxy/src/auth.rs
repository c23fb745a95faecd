//! The venue PIN. A tablet trades the PIN for a token once and keeps it; the
//! WebSocket's first frame and `/api/session` carry the token (never the URL).
//! Wrong PINs are limited twice: per address (five a minute) and across all
//! addresses together, with a backoff that doubles, so rotating source
//! addresses (any host with an IPv6 /64 can) gains a guesser nothing.
//! Sans-IO apart from the token file: time comes in as arguments.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use serde::Deserialize;
use shared::protocol::{ServerMsg, TabletMsg};
use tokio::sync::watch;

use crate::tokens::TokenStore;

pub const PIN_MIN_DIGITS: usize = 6;
/// The PIN screen takes at most this many digits.
pub const PIN_MAX_DIGITS: usize = 12;
/// Wrong PINs one address may try within [`LOCKOUT`] before it must wait.
pub const WRONG_PINS_ALLOWED: u32 = 5;
pub const LOCKOUT: Duration = Duration::from_secs(60);
/// Wrong PINs from all addresses together before every login must wait.
/// More than one address's five, so two hosts fumbling at once never wait.
pub const GLOBAL_WRONG_PINS_FREE: u32 = 6;
/// The first global wait; each further wrong PIN doubles it, up to the cap.
pub const GLOBAL_BACKOFF_START: Duration = Duration::from_secs(1);
pub const GLOBAL_BACKOFF_MAX: Duration = Duration::from_secs(300);
/// After this long without a wrong PIN the global count starts again.
pub const GLOBAL_FORGET_AFTER: Duration = Duration::from_secs(900);
/// Per-address records kept at most; the oldest go first.
const ADDRESSES_KEPT: usize = 4096;

/// Checks a venue PIN as read from `COASTER_PIN` or `--pin-file`.
pub fn venue_pin(text: &str) -> Result<String, String> {
    let pin = text.trim();
    if pin.len() < PIN_MIN_DIGITS
        || pin.len() > PIN_MAX_DIGITS
        || !pin.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(format!(
            "the venue PIN must be {PIN_MIN_DIGITS} to {PIN_MAX_DIGITS} digits"
        ));
    }
    Ok(pin.to_string())
}

/// A stand reachable from the network must have a PIN.
pub fn require_pin(listen: IpAddr, pin: Option<&str>) -> Result<(), String> {
    if pin.is_none() && !listen.is_loopback() {
        return Err(format!(
            "listening on {listen} needs a venue PIN, or anyone on the network can page: \
             set COASTER_PIN to {PIN_MIN_DIGITS} or more digits in the environment, \
             or give --pin-file FILE (a file holding only the PIN, readable only by you)"
        ));
    }
    Ok(())
}

/// `/api/login` takes JSON only: a cross-site form can post `text/plain`
/// without asking, but `application/json` needs a CORS preflight that the
/// stand never grants.
pub fn login_content_type_ok(content_type: Option<&str>) -> bool {
    content_type
        .and_then(|c| c.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

/// The browser's `Origin` is this page's own: the scheme the stand serves and
/// the `Host` the request named. Either header absent = refused.
pub fn origin_matches_host(origin: Option<&str>, host: Option<&str>, tls: bool) -> bool {
    let scheme = if tls { "https" } else { "http" };
    match (origin, host) {
        (Some(origin), Some(host)) if !host.is_empty() => origin
            .strip_prefix(scheme)
            .and_then(|rest| rest.strip_prefix("://"))
            .is_some_and(|rest| rest.eq_ignore_ascii_case(host)),
        _ => false,
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Login {
    Granted {
        token: String,
    },
    WrongPin {
        tries_left: u32,
    },
    /// Too many wrong PINs (from this address, or from everywhere); the PIN
    /// was not even compared. Try again after this long.
    LockedOut {
        retry_after: Duration,
    },
}

/// Who a WebSocket belongs to, once its first frame said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Admission {
    /// The stand has no PIN: every tablet is let in.
    Open,
    /// The token with this id (what per-tablet limits key on).
    Tablet { token_id: String },
}

impl Admission {
    pub fn token_id(&self) -> Option<&str> {
        match self {
            Admission::Open => None,
            Admission::Tablet { token_id } => Some(token_id),
        }
    }
}

pub struct Access {
    pin: Option<String>,
    tokens: TokenStore,
    strikes: HashMap<IpAddr, Strikes>,
    global: Backoff,
    /// Bumped whenever a tablet is signed out, so its open sockets close.
    signed_out: watch::Sender<u64>,
}

#[derive(Clone, Copy)]
struct Strikes {
    count: u32,
    since: Instant,
}

#[derive(Default)]
struct Backoff {
    wrong: u32,
    last_wrong: Option<Instant>,
    blocked_until: Option<Instant>,
}

impl Access {
    /// `pin: None`: no PIN set, every tablet is let in (loopback only).
    pub fn new(pin: Option<String>, tokens: TokenStore) -> Self {
        Access {
            pin,
            tokens,
            strikes: HashMap::new(),
            global: Backoff::default(),
            signed_out: watch::channel(0).0,
        }
    }

    pub fn pin_required(&self) -> bool {
        self.pin.is_some()
    }

    /// Lets a token in, noting when it was last seen; `None` = refused.
    pub fn admit(&mut self, token: Option<&str>, now_ms: i64) -> Option<Admission> {
        let Some(pin) = &self.pin else {
            return Some(Admission::Open);
        };
        let token_id = self.tokens.check(token?, pin, now_ms)?;
        Some(Admission::Tablet { token_id })
    }

    /// Whether the token with this id is still signed in.
    pub fn holds(&self, admission: &Admission) -> bool {
        admission.token_id().is_none_or(|id| self.tokens.has(id))
    }

    /// The name a signed-in tablet was given (at sign-in, or in its Settings).
    pub fn tablet_name(&self, admission: &Admission) -> Option<String> {
        admission
            .token_id()
            .and_then(|id| self.tokens.name(id))
            .map(str::to_string)
    }

    pub fn signed_out(&self) -> watch::Receiver<u64> {
        self.signed_out.subscribe()
    }

    /// Checks a PIN from `from`; a right one makes a token for the tablet `name`.
    pub fn login(
        &mut self,
        from: IpAddr,
        pin: &str,
        name: &str,
        now: Instant,
        now_ms: i64,
    ) -> Login {
        let Some(expected) = self.pin.clone() else {
            return Login::Granted {
                token: String::new(),
            };
        };
        let from = address_key(from);
        self.forget_old(now);
        if let Some(until) = self.global.blocked_until.filter(|until| now < *until) {
            return Login::LockedOut {
                retry_after: until - now,
            };
        }
        let strikes = self.strikes.get(&from).copied();
        if let Some(s) = strikes.filter(|s| s.count >= WRONG_PINS_ALLOWED) {
            return Login::LockedOut {
                retry_after: LOCKOUT.saturating_sub(now.duration_since(s.since)),
            };
        }
        if constant_time_eq(pin.trim().as_bytes(), expected.as_bytes()) {
            self.strikes.remove(&from);
            let token = self.tokens.issue(&expected, name, now_ms);
            return Login::Granted { token };
        }
        let count = strikes.map_or(0, |s| s.count) + 1;
        let since = strikes.map_or(now, |s| s.since);
        self.strikes.insert(from, Strikes { count, since });
        self.global.wrong += 1;
        self.global.last_wrong = Some(now);
        if let Some(extra) = self.global.wrong.checked_sub(GLOBAL_WRONG_PINS_FREE) {
            let wait = GLOBAL_BACKOFF_START
                .saturating_mul(1u32.checked_shl(extra).unwrap_or(u32::MAX))
                .min(GLOBAL_BACKOFF_MAX);
            self.global.blocked_until = Some(now + wait);
            tracing::warn!(
                wrong = self.global.wrong,
                wait_s = wait.as_secs(),
                "wrong venue PINs from many places: every login waits"
            );
        }
        Login::WrongPin {
            tries_left: WRONG_PINS_ALLOWED - count,
        }
    }

    /// Drops lockouts that have run out, so the map stays small.
    fn forget_old(&mut self, now: Instant) {
        self.strikes
            .retain(|_, s| now.duration_since(s.since) < LOCKOUT);
        while self.strikes.len() >= ADDRESSES_KEPT {
            let oldest = self.strikes.iter().min_by_key(|(_, s)| s.since);
            let Some((&address, _)) = oldest else { break };
            self.strikes.remove(&address);
        }
        if self
            .global
            .last_wrong
            .is_some_and(|t| now.duration_since(t) >= GLOBAL_FORGET_AFTER)
        {
            self.global = Backoff::default();
        }
    }

    /// Answers a [`TabletMsg`] other than `Auth` from the tablet `me`.
    pub fn answer(&mut self, msg: TabletMsg, me: &Admission) -> Option<ServerMsg> {
        match msg {
            TabletMsg::Auth { .. } => return None,
            TabletMsg::ListTablets => {}
            TabletMsg::SetName { name } => {
                if let Some(id) = me.token_id() {
                    self.tokens.rename(id, &name);
                }
            }
            TabletMsg::SignOut { id } => {
                if self.tokens.remove(&id) {
                    tracing::info!(%id, by = ?me.token_id(), "signed a tablet out");
                    self.signed_out.send_modify(|n| *n += 1);
                }
            }
        }
        Some(ServerMsg::Tablets {
            pin_required: self.pin_required(),
            tablets: self.tokens.list(me.token_id()),
        })
    }
}

/// One key per IPv4 address, and per /64 for IPv6: a single host may hold a
/// whole /64.
fn address_key(from: IpAddr) -> IpAddr {
    match from {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
        v4 => v4,
    }
}

/// Compares without stopping at the first difference, so timing tells nothing.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What `/api/login` answers: a status, a JSON body and, when locked out,
/// the seconds for `Retry-After`.
#[derive(Debug)]
pub struct LoginAnswer {
    pub status: u16,
    pub body: serde_json::Value,
    pub retry_after_s: Option<u64>,
}

/// The whole of `POST /api/login`, for whichever HTTP server calls it.
pub fn answer_login(
    access: &mut Access,
    from: IpAddr,
    content_type: Option<&str>,
    body: &[u8],
    now: Instant,
    now_ms: i64,
) -> LoginAnswer {
    #[derive(Deserialize)]
    struct LoginBody {
        pin: String,
        #[serde(default)]
        name: Option<String>,
    }
    let answer = |status, body| LoginAnswer {
        status,
        body,
        retry_after_s: None,
    };
    if !login_content_type_ok(content_type) {
        tracing::warn!(%from, ?content_type, "refused a login that is not JSON");
        return answer(
            415,
            serde_json::json!({ "error": "unsupported_media_type", "message": "Send the PIN as application/json." }),
        );
    }
    let Ok(body) = serde_json::from_slice::<LoginBody>(body) else {
        return answer(
            400,
            serde_json::json!({ "error": "bad_request", "message": "Send {\"pin\": \"…\"}." }),
        );
    };
    let name = body.name.as_deref().unwrap_or_default();
    match access.login(from, &body.pin, name, now, now_ms) {
        Login::Granted { token } => answer(200, serde_json::json!({ "token": token })),
        Login::WrongPin { tries_left } => {
            tracing::warn!(%from, tries_left, "wrong venue PIN");
            answer(
                401,
                serde_json::json!({ "error": "wrong_pin", "message": "That PIN is not right.", "tries_left": tries_left }),
            )
        }
        Login::LockedOut { retry_after } => {
            let seconds = retry_after.as_secs_f64().ceil().max(1.0) as u64;
            LoginAnswer {
                status: 429,
                body: serde_json::json!({ "error": "locked_out", "message": format!("Too many wrong PINs. Try again in {seconds} s."), "retry_after_s": seconds }),
                retry_after_s: Some(seconds),
            }
        }
    }
}

/// A new random token, 128 bits as hex.
pub fn new_token() -> String {
    crate::tokens::hex(&rand::random::<[u8; 16]>())
}

/// Wall-clock Unix milliseconds, for tokens' created and last-seen times.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
#[path = "auth_tests.rs"]
mod tests;
