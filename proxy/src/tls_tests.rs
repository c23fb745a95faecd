use super::*;
use time::Month::{February, January, March};
use tokio_rustls::rustls::client::danger::ServerCertVerifier;
use tokio_rustls::rustls::client::WebPkiServerVerifier;
use tokio_rustls::rustls::pki_types::{ServerName, UnixTime};
use tokio_rustls::rustls::RootCertStore;

fn temp_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("coaster-tls-{}", rand::random::<u64>()))
}

/// Midday UTC on a made-up date.
fn date(year: i32, month: time::Month, day: u8) -> time::OffsetDateTime {
    time::Date::from_calendar_date(year, month, day)
        .unwrap()
        .with_hms(12, 0, 0)
        .unwrap()
        .assume_utc()
}

#[test]
fn the_local_ca_is_made_once_and_signs_a_usable_chain() {
    let dir = temp_dir();
    let ip: IpAddr = "192.168.7.7".parse().unwrap();
    let first = local_identity(&dir, &["coaster.local".into()], &[ip]).unwrap();
    let second = local_identity(&dir, &["coaster.local".into()], &[ip]).unwrap();
    assert_eq!(first.ca_pem, second.ca_pem, "the CA was made again");
    assert_ne!(
        first.key_pem, second.key_pem,
        "the server key is fresh per start"
    );
    assert!(server_config(&first).is_ok());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir.join(KEY_FILE)), 0o600);
        assert_eq!(mode(&dir), 0o700);
    }
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_key_that_is_not_pem_gets_a_named_error() {
    let identity = Identity {
        chain_pem: "nonsense".into(),
        key_pem: "nonsense".into(),
        ca_pem: None,
    };
    let error = server_config(&identity).unwrap_err().to_string();
    assert!(error.contains("no certificate"), "{error}");
}

#[test]
fn a_ca_made_on_29_february_is_valid_for_its_whole_term() {
    let leap = date(2028, February, 29);
    let (from, until) = ca_validity(leap);
    assert!(from < leap);
    assert_eq!(until - leap, CA_TERM);
    assert_eq!(until, date(2038, March, 1), "ten years of 365.25 days");
    let dir = temp_dir();
    let (_, pem) = load_or_create_ca(&dir, &[], leap).unwrap();
    let der = pem_der(&pem).unwrap();
    // Trusted a year on, as a tablet would check it.
    let leaf = leaf(&dir, "stand.local");
    assert!(verify(&der, &leaf, "stand.local", date(2029, March, 1)).is_ok());
    fs::remove_dir_all(dir).unwrap();
}

/// A certificate for `name` signed by the CA in `dir`, whatever its constraints.
fn leaf(dir: &Path, name: &str) -> CertificateDer<'static> {
    let (key, _) = load_or_create_ca(dir, &[], time_now()).unwrap();
    let issuer = Issuer::new(ca_params(), key);
    let mut params = CertificateParams::new(vec![name.to_string()]).unwrap();
    if let Ok(ip) = name.parse::<IpAddr>() {
        params.subject_alt_names = vec![SanType::IpAddress(ip)];
    }
    params.not_before = date(2026, January, 1);
    params.not_after = date(2030, January, 1);
    let key = KeyPair::generate().unwrap();
    params.signed_by(&key, &issuer).unwrap().der().clone()
}

fn verify(
    ca: &[u8],
    leaf: &CertificateDer<'static>,
    name: &str,
    at: time::OffsetDateTime,
) -> Result<(), rustls::Error> {
    let mut roots = RootCertStore::empty();
    roots.add(CertificateDer::from(ca.to_vec())).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .unwrap();
    let at = UnixTime::since_unix_epoch(std::time::Duration::from_secs(at.unix_timestamp() as u64));
    let name = ServerName::try_from(name.to_string()).unwrap();
    verifier
        .verify_server_cert(leaf, &[], &name, &[], at)
        .map(drop)
}

/// The finding: a root with no Name Constraints could sign any site.
#[test]
fn the_ca_can_vouch_only_for_the_stands_own_names() {
    let dir = temp_dir();
    let (_, pem) =
        load_or_create_ca(&dir, &["stand".into(), "stand.local".into()], time_now()).unwrap();
    let ca = pem_der(&pem).unwrap();
    let at = date(2027, January, 1);
    for good in [
        "stand.local",
        "stand",
        "localhost",
        "192.168.1.20",
        "10.1.2.3",
        "127.0.0.1",
    ] {
        let leaf = leaf(&dir, good);
        assert!(verify(&ca, &leaf, good, at).is_ok(), "{good} refused");
    }
    for bad in [
        "bank.example",
        "accounts.google.com",
        "8.8.8.8",
        "stand.evil.example",
    ] {
        let leaf = leaf(&dir, bad);
        assert!(verify(&ca, &leaf, bad, at).is_err(), "{bad} accepted");
    }
    assert!(name_permitted(&ca, "stand") && name_permitted(&ca, "x.local"));
    assert!(!name_permitted(&ca, "other-box"));
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_server_certificate_leaves_out_what_the_ca_may_not_vouch_for() {
    let dir = temp_dir();
    let addresses: Vec<IpAddr> = ["192.168.1.20", "203.0.113.9", "::1"]
        .iter()
        .map(|a| a.parse().unwrap())
        .collect();
    local_identity(&dir, &["localhost".into(), "stand".into()], &addresses).unwrap();
    // The box was renamed and got a public address since the CA was made.
    let identity = local_identity(
        &dir,
        &["localhost".into(), "renamed".into(), "renamed.local".into()],
        &addresses,
    )
    .unwrap();
    let chain: Vec<_> = CertificateDer::pem_slice_iter(identity.chain_pem.as_bytes())
        .collect::<Result<_, _>>()
        .unwrap();
    let ca = pem_der(identity.ca_pem.as_ref().unwrap()).unwrap();
    let at = date(2027, January, 1);
    assert!(verify(&ca, &chain[0], "renamed.local", at).is_ok());
    assert!(verify(&ca, &chain[0], "192.168.1.20", at).is_ok());
    let bare_name = [&[0x82u8, 7][..], b"renamed"].concat();
    assert!(
        !contains(&chain[0], &bare_name),
        "a name the CA may not vouch for"
    );
    assert!(
        !contains(&chain[0], &[0x87, 4, 203, 0, 113, 9]),
        "a public address"
    );
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn damaged_ca_files_stop_start_up_and_say_what_to_do() {
    let dir = temp_dir();
    let (_, pem) = load_or_create_ca(&dir, &[], time_now()).unwrap();
    let key = fs::read(dir.join(KEY_FILE)).unwrap();
    let error = |dir: &Path| {
        load_or_create_ca(dir, &[], time_now())
            .err()
            .unwrap()
            .to_string()
    };

    fs::write(dir.join(KEY_FILE), &key[..key.len() / 2]).unwrap();
    let message = error(&dir);
    assert!(
        message.contains("ca-key.pem") && message.contains("Restore") && message.contains("move"),
        "{message}"
    );

    fs::write(dir.join(KEY_FILE), &key).unwrap();
    fs::remove_file(dir.join(CERT_FILE)).unwrap();
    let message = error(&dir);
    assert!(message.contains("ca.pem: it is missing"), "{message}");
    assert_eq!(
        fs::read(dir.join(KEY_FILE)).unwrap(),
        key,
        "the key was replaced"
    );
    assert!(!dir.join(CERT_FILE).exists(), "a new CA was made");

    // Another CA's certificate beside this key.
    let stranger = temp_dir();
    let (_, stranger_pem) = load_or_create_ca(&stranger, &[], time_now()).unwrap();
    fs::write(dir.join(CERT_FILE), &stranger_pem).unwrap();
    assert!(error(&dir).contains("does not belong"), "{}", error(&dir));

    fs::write(dir.join(CERT_FILE), &pem).unwrap();
    assert!(load_or_create_ca(&dir, &[], time_now()).is_ok(), "restored");
    fs::remove_dir_all(dir).unwrap();
    fs::remove_dir_all(stranger).unwrap();
}

#[test]
fn the_ca_page_shows_the_fingerprint() {
    assert_eq!(fingerprint(b""), "E3:B0:C4:42:98:FC:1C:14:9A:FB:F4:C8:99:6F:B9:24:27:AE:41:E4:64:9B:93:4C:A4:95:99:1B:78:52:B8:55");
    let dir = temp_dir();
    let (_, pem) = load_or_create_ca(&dir, &[], time_now()).unwrap();
    let page = ca_page(Some(&pem));
    assert!(
        page.contains(&fingerprint(&pem_der(&pem).unwrap())),
        "{page}"
    );
    assert!(!ca_page(None).contains("fingerprint"));
    fs::remove_dir_all(dir).unwrap();
}
