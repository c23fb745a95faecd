//! Issue 14's local-CA findings against the real `coaster` binary: damaged
//! CA files (a truncated key stopped start-up with no advice; a missing
//! ca.pem silently made a new CA over the old key) and a CA made on
//! 29 February that expired the moment it was made.

mod stand;

use std::path::Path;

use sha2::{Digest, Sha256};
use stand::{coaster, refused_start, temp_dir, tls_connect, Stand};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::CertificateDer;

fn fingerprint(ca_pem: &[u8]) -> String {
    let der = CertificateDer::from_pem_slice(ca_pem).unwrap();
    let hex: Vec<String> = Sha256::digest(&der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    hex.join(":")
}

fn tls_stand(dir: &Path) -> Stand {
    Stand::launch(coaster(dir, &["--tls"], None))
}

#[tokio::test]
async fn damaged_ca_files_stop_start_up_until_restored() {
    let dir = temp_dir("ca-damage");
    let tls = dir.join("tls");
    let stand = tls_stand(&dir);
    let (key, cert) = (
        std::fs::read(tls.join("ca-key.pem")).unwrap(),
        std::fs::read(tls.join("ca.pem")).unwrap(),
    );
    // The fingerprint staff compare is logged at start (/ca shows it too).
    assert!(stand.log().contains(&fingerprint(&cert)), "{}", stand.log());
    tls_connect(stand.addr, &cert).await.unwrap();
    drop(stand);

    // A key cut short by a power cut.
    std::fs::write(tls.join("ca-key.pem"), &key[..key.len() / 2]).unwrap();
    let (code, stderr) = refused_start(coaster(&dir, &["--tls"], None));
    assert_ne!(code, 0);
    assert!(
        stderr.contains("ca-key.pem") && stderr.contains("damaged") && stderr.contains("Restore"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(tls.join("ca.pem")).unwrap(), cert);

    // The key restored, the certificate lost: an error, not a new CA.
    std::fs::write(tls.join("ca-key.pem"), &key).unwrap();
    std::fs::remove_file(tls.join("ca.pem")).unwrap();
    let (code, stderr) = refused_start(coaster(&dir, &["--tls"], None));
    assert_ne!(code, 0);
    assert!(stderr.contains("ca.pem: it is missing"), "{stderr}");
    assert_eq!(
        std::fs::read(tls.join("ca-key.pem")).unwrap(),
        key,
        "the key was replaced"
    );
    assert!(!tls.join("ca.pem").exists(), "a new CA was made");

    // Both restored: the same CA, trusted by tablets as before.
    std::fs::write(tls.join("ca.pem"), &cert).unwrap();
    let stand = tls_stand(&dir);
    tls_connect(stand.addr, &cert).await.unwrap();
    drop(stand);
    // Nothing half-written is left behind.
    let names: Vec<_> = std::fs::read_dir(&tls)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// Runs `coaster` with its clock at 29 February 2024 (libfaketime) to make
/// the CA: it must be valid for its whole term, and trusted today.
#[tokio::test]
async fn a_ca_made_on_29_february_is_valid_for_its_term() {
    // The library itself, not the `faketime` wrapper, which would outlive a kill.
    let libfaketime = std::fs::read_dir("/usr/lib")
        .unwrap()
        .filter_map(|e| Some(e.ok()?.path().join("faketime/libfaketime.so.1")))
        .find(|p| p.exists())
        .expect("libfaketime is installed (apt-get install faketime; scripts/test.sh does)");
    let dir = temp_dir("ca-leap");
    let mut on_leap_day = coaster(&dir, &["--tls"], None);
    on_leap_day
        .env("LD_PRELOAD", libfaketime)
        .env("FAKETIME", "@2024-02-29 12:00:00")
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1");
    let stand = Stand::launch(on_leap_day);
    drop(stand);
    let cert = std::fs::read(dir.join("tls/ca.pem")).unwrap();
    let der = CertificateDer::from_pem_slice(&cert).unwrap();
    // A day's slack before, ten years of 365.25 days after; made with the
    // year replaced, it ended the moment it began.
    assert_eq!(
        validity(&der),
        ["240228120000Z".to_string(), "340301120000Z".to_string()]
    );

    let stand = tls_stand(&dir);
    // (A rustls client does not look at a trust anchor's dates; a tablet may.)
    tls_connect(stand.addr, &cert)
        .await
        .expect("a CA made on 29 February is trusted today");
    drop(stand);
    std::fs::remove_dir_all(dir).unwrap();
}

/// A certificate's notBefore and notAfter: its first two UTCTimes (the
/// names before them hold none).
fn validity(der: &[u8]) -> Vec<String> {
    let mut times = Vec::new();
    let mut at = 0;
    while times.len() < 2 && at + 15 <= der.len() {
        if der[at..at + 2] == [0x17, 0x0d] && der[at + 14] == b'Z' {
            times.push(String::from_utf8_lossy(&der[at + 2..at + 15]).to_string());
            at += 15;
        } else {
            at += 1;
        }
    }
    times
}
