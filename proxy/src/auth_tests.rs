use super::*;

const PIN: &str = "482915";

fn ip(last: u8) -> IpAddr {
    IpAddr::from([192, 0, 2, last])
}

fn access() -> Access {
    Access::new(Some(PIN.into()), TokenStore::in_memory(90))
}

fn token(login: Login) -> String {
    match login {
        Login::Granted { token } => token,
        other => panic!("refused: {other:?}"),
    }
}

#[test]
fn the_right_pin_gives_a_token_that_is_then_admitted() {
    let now = Instant::now();
    let mut access = access();
    assert_eq!(access.admit(None, 0), None);
    let t1 = token(access.login(ip(1), PIN, "Host stand", now, 0));
    assert!(matches!(
        access.admit(Some(&t1), 5),
        Some(Admission::Tablet { .. })
    ));
    assert_eq!(access.admit(Some("someone else's"), 5), None);
    assert_eq!(access.admit(Some(""), 5), None);
}

#[test]
fn wrong_pins_lock_an_address_out_for_a_minute() {
    let start = Instant::now();
    let mut access = access();
    for left in (0..WRONG_PINS_ALLOWED).rev() {
        assert_eq!(
            access.login(ip(1), "000000", "", start, 0),
            Login::WrongPin { tries_left: left }
        );
    }
    // Only the guessing address is locked out.
    let later = start + Duration::from_secs(50);
    assert!(matches!(
        access.login(ip(1), PIN, "", later, 0),
        Login::LockedOut { retry_after } if retry_after == Duration::from_secs(10)
    ));
    assert!(matches!(
        access.login(ip(2), PIN, "", later, 0),
        Login::Granted { .. }
    ));
    let after = start + LOCKOUT + Duration::from_secs(1);
    assert!(matches!(
        access.login(ip(1), PIN, "", after, 0),
        Login::Granted { .. }
    ));
}

/// The finding: rotating source addresses walked a 4-digit PIN in 3.7 s.
/// Now a new address every guess gets the same few guesses a minute as one.
#[test]
fn rotating_addresses_get_a_handful_of_guesses_a_minute() {
    let start = Instant::now();
    let mut access = access();
    let mut guesses_per_minute = vec![0u32; 60];
    let mut address = 0u32;
    // A guesser trying ten times a second from a fresh address each time, for an hour.
    for tenth in 0..36_000u64 {
        let now = start + Duration::from_millis(100 * tenth);
        address += 1;
        let from = IpAddr::from((0x0a00_0000 + address).to_be_bytes());
        match access.login(from, &format!("{:06}", address % 1_000_000), "", now, 0) {
            Login::WrongPin { .. } => guesses_per_minute[(tenth / 600) as usize] += 1,
            Login::LockedOut { .. } => {}
            Login::Granted { .. } => panic!("guessed"),
        }
    }
    assert!(guesses_per_minute[0] <= 11, "{guesses_per_minute:?}");
    assert!(
        guesses_per_minute[1..].iter().all(|n| *n <= 2),
        "{guesses_per_minute:?}"
    );
    let hour: u32 = guesses_per_minute.iter().sum();
    assert!(hour <= 30, "{hour} guesses in an hour");
    // The per-address map keeps only the last minute's addresses.
    assert!(access.strikes.len() <= 2, "{}", access.strikes.len());
}

#[test]
fn an_ipv6_host_counts_as_one_address_per_slash_64() {
    let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
    let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
    let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
    assert_eq!(address_key(a), address_key(b));
    assert_ne!(address_key(a), address_key(c));
    let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
    assert_eq!(address_key(mapped), ip(1));
}

#[test]
fn the_global_wait_is_forgotten_after_a_quiet_quarter_hour() {
    let start = Instant::now();
    let mut access = access();
    for i in 0..9 {
        let _ = access.login(
            ip(i),
            "000000",
            "",
            start + Duration::from_secs(i.into()) * 100,
            0,
        );
    }
    assert!(matches!(
        access.login(ip(50), PIN, "", start + Duration::from_secs(801), 0),
        Login::LockedOut { .. }
    ));
    let quiet = start + Duration::from_secs(800) + GLOBAL_FORGET_AFTER;
    assert!(matches!(
        access.login(ip(50), PIN, "", quiet, 0),
        Login::Granted { .. }
    ));
}

#[test]
fn signing_a_tablet_out_refuses_its_token_and_tells_its_sockets() {
    let now = Instant::now();
    let mut access = access();
    let mine = token(access.login(ip(1), PIN, "Bar", now, 10));
    let lost = token(access.login(ip(2), PIN, "Lost iPad", now, 20));
    let me = access.admit(Some(&mine), 30).unwrap();
    let it = access.admit(Some(&lost), 30).unwrap();
    let signed_out = access.signed_out();
    let Some(ServerMsg::Tablets {
        tablets,
        pin_required: true,
    }) = access.answer(TabletMsg::ListTablets, &me)
    else {
        panic!()
    };
    assert_eq!(tablets.len(), 2);
    assert!(tablets.iter().any(|t| t.this_tablet && t.name == "Bar"));
    let lost_id = it.token_id().unwrap().to_string();
    let Some(ServerMsg::Tablets { tablets, .. }) =
        access.answer(TabletMsg::SignOut { id: lost_id }, &me)
    else {
        panic!()
    };
    assert_eq!(tablets.len(), 1);
    assert!(signed_out.has_changed().unwrap());
    assert!(!access.holds(&it) && access.holds(&me));
    assert_eq!(access.admit(Some(&lost), 40), None);
}

#[test]
fn without_a_pin_everyone_is_admitted() {
    let mut access = Access::new(None, TokenStore::in_memory(90));
    assert_eq!(access.admit(None, 0), Some(Admission::Open));
    assert!(!access.pin_required());
}

#[test]
fn pins_are_six_to_twelve_digits_and_required_off_loopback() {
    assert_eq!(venue_pin(" 123456\n"), Ok("123456".into()));
    for bad in ["12345", "1234567890123", "12345a", "", "123 456"] {
        assert!(venue_pin(bad).is_err(), "{bad:?}");
    }
    assert!(require_pin("127.0.0.1".parse().unwrap(), None).is_ok());
    assert!(require_pin("::1".parse().unwrap(), None).is_ok());
    let error = require_pin("0.0.0.0".parse().unwrap(), None).unwrap_err();
    assert!(
        error.contains("COASTER_PIN") && error.contains("--pin-file"),
        "{error}"
    );
    assert!(require_pin("10.0.0.2".parse().unwrap(), Some(PIN)).is_ok());
}

#[test]
fn login_takes_json_only() {
    assert!(login_content_type_ok(Some("application/json")));
    assert!(login_content_type_ok(Some(
        "Application/JSON; charset=utf-8"
    )));
    for bad in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("application/jsonp"),
    ] {
        assert!(!login_content_type_ok(bad), "{bad:?}");
    }
    let mut access = access();
    let body = format!(r#"{{"pin":"{PIN}"}}"#);
    let answer = answer_login(
        &mut access,
        ip(1),
        Some("text/plain"),
        body.as_bytes(),
        Instant::now(),
        0,
    );
    assert_eq!(answer.status, 415);
    let answer = answer_login(
        &mut access,
        ip(1),
        Some("application/json"),
        body.as_bytes(),
        Instant::now(),
        0,
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["token"].as_str().unwrap().len(), 32);
    let answer = answer_login(
        &mut access,
        ip(1),
        Some("application/json"),
        b"{}",
        Instant::now(),
        0,
    );
    assert_eq!(answer.status, 400);
}

#[test]
fn a_locked_out_login_says_how_long_to_wait() {
    let mut access = access();
    let now = Instant::now();
    for _ in 0..WRONG_PINS_ALLOWED {
        let _ = access.login(ip(1), "000000", "", now, 0);
    }
    let answer = answer_login(
        &mut access,
        ip(1),
        Some("application/json"),
        br#"{"pin":"1"}"#,
        now,
        0,
    );
    assert_eq!((answer.status, answer.retry_after_s), (429, Some(60)));
    assert_eq!(answer.body["error"], "locked_out");
}

#[test]
fn the_origin_must_be_the_pages_own() {
    let ok = |o, h, tls| origin_matches_host(Some(o), Some(h), tls);
    assert!(ok("https://stand.local:8443", "stand.local:8443", true));
    assert!(ok("https://Stand.Local:8443", "stand.local:8443", true));
    assert!(!ok("http://stand.local:8443", "stand.local:8443", true));
    assert!(!ok("https://evil.example", "stand.local:8443", true));
    assert!(!ok(
        "http://127.0.0.1:8080.evil.example",
        "127.0.0.1:8080",
        false
    ));
    assert!(ok("http://127.0.0.1:8080", "127.0.0.1:8080", false));
    assert!(!origin_matches_host(None, Some("a"), false));
    assert!(!origin_matches_host(Some("http://a"), None, false));
    assert!(!origin_matches_host(Some("http://"), Some(""), false));
}
