//! The venue PIN. A tablet trades the PIN for a token once and keeps it; the
//! WebSocket and every command need the token. Wrong PINs are rate-limited
//! per address so the four-to-eight digits cannot be walked through.
//! Sans-IO: time comes in as an `Instant`, randomness from the caller.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Wrong PINs one address may try within [`LOCKOUT`] before it must wait.
pub const WRONG_PINS_ALLOWED: u32 = 5;
pub const LOCKOUT: Duration = Duration::from_secs(60);

#[derive(Debug, PartialEq, Eq)]
pub enum Login {
    Granted {
        token: String,
    },
    WrongPin {
        tries_left: u32,
    },
    /// Too many wrong PINs from this address; try again after this long.
    LockedOut {
        retry_after: Duration,
    },
}

pub struct Access {
    pin: Option<String>,
    tokens: HashSet<String>,
    failures: HashMap<IpAddr, (u32, Instant)>,
}

impl Access {
    /// `None`: no PIN set, every tablet is let in (development, loopback).
    pub fn new(pin: Option<String>, tokens: impl IntoIterator<Item = String>) -> Self {
        Access {
            pin,
            tokens: tokens.into_iter().collect(),
            failures: HashMap::new(),
        }
    }

    pub fn pin_required(&self) -> bool {
        self.pin.is_some()
    }

    pub fn admits(&self, token: Option<&str>) -> bool {
        self.pin.is_none() || token.is_some_and(|t| self.tokens.contains(t))
    }

    /// Checks a PIN from `from`; `fresh_token` becomes the tablet's token if it is right.
    pub fn login(&mut self, from: IpAddr, pin: &str, fresh_token: String, now: Instant) -> Login {
        let Some(expected) = &self.pin else {
            return Login::Granted { token: fresh_token };
        };
        let failures = self.failures.entry(from).or_insert((0, now));
        if now.duration_since(failures.1) > LOCKOUT {
            *failures = (0, now);
        }
        if failures.0 >= WRONG_PINS_ALLOWED {
            return Login::LockedOut {
                retry_after: LOCKOUT.saturating_sub(now.duration_since(failures.1)),
            };
        }
        if constant_time_eq(pin.trim().as_bytes(), expected.as_bytes()) {
            self.failures.remove(&from);
            self.tokens.insert(fresh_token.clone());
            Login::Granted { token: fresh_token }
        } else {
            if failures.0 == 0 {
                failures.1 = now;
            }
            failures.0 += 1;
            Login::WrongPin {
                tries_left: WRONG_PINS_ALLOWED - failures.0,
            }
        }
    }

    pub fn tokens(&self) -> impl Iterator<Item = &String> {
        self.tokens.iter()
    }
}

/// Compares without stopping at the first difference, so timing tells nothing.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A new random token, 128 bits as hex.
pub fn new_token() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, last])
    }

    #[test]
    fn the_right_pin_gives_a_token_that_is_then_admitted() {
        let now = Instant::now();
        let mut access = Access::new(Some("4321".into()), []);
        assert!(!access.admits(None));
        assert_eq!(
            access.login(ip(1), "4321", "t1".into(), now),
            Login::Granted { token: "t1".into() }
        );
        assert!(access.admits(Some("t1")));
        assert!(!access.admits(Some("t2")));
    }

    #[test]
    fn wrong_pins_lock_an_address_out_for_a_minute() {
        let start = Instant::now();
        let mut access = Access::new(Some("4321".into()), []);
        for left in (0..WRONG_PINS_ALLOWED).rev() {
            assert_eq!(
                access.login(ip(1), "0000", "x".into(), start),
                Login::WrongPin { tries_left: left }
            );
        }
        // Even the right PIN is refused while locked out, from that address only.
        assert!(matches!(
            access.login(ip(1), "4321", "x".into(), start + Duration::from_secs(10)),
            Login::LockedOut { retry_after } if retry_after == Duration::from_secs(50)
        ));
        assert!(matches!(
            access.login(ip(2), "4321", "y".into(), start),
            Login::Granted { .. }
        ));
        let later = start + LOCKOUT + Duration::from_secs(1);
        assert!(matches!(
            access.login(ip(1), "4321", "z".into(), later),
            Login::Granted { .. }
        ));
    }

    #[test]
    fn without_a_pin_everyone_is_admitted() {
        let access = Access::new(None, []);
        assert!(access.admits(None));
        assert!(!access.pin_required());
    }

    #[test]
    fn tokens_are_long_and_different() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }
}
