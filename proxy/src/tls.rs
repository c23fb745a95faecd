//! HTTPS for the restaurant LAN. A tablet only installs the app, works
//! offline and holds a wake lock in a secure context, and an HTTPS page
//! cannot open `ws://` to a LAN address — so Coaster serves both over TLS.
//!
//! With `--tls-cert/--tls-key` it uses the venue's own certificate. Otherwise
//! it keeps a local certificate authority in its data directory, created on
//! first run, and signs a fresh server certificate for the box's names and
//! addresses at every start; tablets trust the CA once (see `/ca`).

use std::fs;
use std::io;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use crate::durable;

use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, GeneralSubtree, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    NameConstraints, SanType,
};
use sha2::{Digest, Sha256};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};

const CA_NAME: &str = "Coaster local certificate authority";
/// iOS refuses server certificates valid for longer than 825 days.
const SERVER_DAYS: i64 = 800;
/// Ten years as a length of time: a CA made on 29 February is valid for the
/// whole of it (replacing the year made it expire the moment it was made).
pub const CA_TERM: time::Duration = time::Duration::days(3653);
/// Room for tablets whose clocks run behind the stand's.
const CLOCK_SLACK: time::Duration = time::Duration::days(1);
const KEY_FILE: &str = "ca-key.pem";
const CERT_FILE: &str = "ca.pem";

/// A certificate chain and key, PEM.
pub struct Identity {
    pub chain_pem: String,
    pub key_pem: String,
    /// The CA certificate tablets must trust, when Coaster made the chain.
    pub ca_pem: Option<String>,
}

fn other(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(e.to_string())
}

fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, CA_NAME);
    name.push(DnType::OrganizationName, "Coaster");
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params
}

/// When a CA made at `created` is valid: from a day before (slow tablet
/// clocks) for [`CA_TERM`].
pub fn ca_validity(created: time::OffsetDateTime) -> (time::OffsetDateTime, time::OffsetDateTime) {
    (created - CLOCK_SLACK, created + CA_TERM)
}

/// Loads the local CA from `dir`, creating it on first run, and signs a
/// server certificate for `names` and `addresses` (those the CA may vouch for).
pub fn local_identity(dir: &Path, names: &[String], addresses: &[IpAddr]) -> io::Result<Identity> {
    let (ca_key, ca_pem) = load_or_create_ca(dir, names, time_now())?;
    let ca_der = pem_der(&ca_pem)?;
    tracing::info!(
        sha256 = %fingerprint(&ca_der),
        "Coaster's local certificate authority: compare this fingerprint on each tablet (it is on /ca)"
    );
    let constrained = has_name_constraints(&ca_der);
    if !constrained {
        tracing::warn!(dir = %dir.display(), "this local CA was made before Coaster limited it to the stand's own names; to get the limit, move the directory aside and have every tablet trust the new CA");
    }
    let names: Vec<String> = names
        .iter()
        .filter(|n| !constrained || name_permitted(&ca_der, n))
        .cloned()
        .collect();
    let (addresses, dropped): (Vec<IpAddr>, Vec<IpAddr>) = addresses
        .iter()
        .copied()
        .partition(|ip| !constrained || private_ranges().iter().any(|r| in_subnet(r, *ip)));
    if !dropped.is_empty() {
        tracing::info!(?dropped, "public addresses left out of the certificate: the local CA vouches only for private ones");
    }
    let issuer = Issuer::new(ca_params(), ca_key);
    let mut params = CertificateParams::new(names.clone()).map_err(other)?;
    params
        .subject_alt_names
        .extend(addresses.iter().map(|ip| SanType::IpAddress(*ip)));
    params.distinguished_name.push(
        DnType::CommonName,
        names.first().map_or("coaster", |n| n.as_str()),
    );
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let today = time_now();
    params.not_before = today - CLOCK_SLACK;
    params.not_after = today + time::Duration::days(SERVER_DAYS);
    let server_key = KeyPair::generate().map_err(other)?;
    let server = params.signed_by(&server_key, &issuer).map_err(other)?;
    Ok(Identity {
        chain_pem: format!("{}{}", server.pem(), ca_pem),
        key_pem: server_key.serialize_pem(),
        ca_pem: Some(ca_pem),
    })
}

/// The CA's key and certificate: made when neither file exists, otherwise
/// read — never made again while its key is there, since every tablet
/// would have to trust the stand again. A damaged pair is an error that says
/// what to do.
pub fn load_or_create_ca(
    dir: &Path,
    names: &[String],
    now: time::OffsetDateTime,
) -> io::Result<(KeyPair, String)> {
    let key_path = dir.join(KEY_FILE);
    let cert_path = dir.join(CERT_FILE);
    let read = |path: &Path| match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(damaged(dir, path, &e.to_string())),
    };
    match (read(&key_path)?, read(&cert_path)?) {
        (None, None) => create_ca(dir, names, now),
        (Some(_), None) => Err(damaged(
            dir,
            &cert_path,
            "it is missing, but the CA's key is there",
        )),
        (None, Some(_)) => Err(damaged(
            dir,
            &key_path,
            "it is missing, but the CA's certificate is there",
        )),
        (Some(key), Some(cert)) => {
            let key = KeyPair::from_pem(&key)
                .map_err(|e| damaged(dir, &key_path, &format!("it is not a private key ({e})")))?;
            let der = pem_der(&cert)
                .map_err(|e| damaged(dir, &cert_path, &format!("it is not a certificate ({e})")))?;
            if !contains(&der, key.public_key_raw()) {
                return Err(damaged(
                    dir,
                    &cert_path,
                    "it does not belong to the key in ca-key.pem",
                ));
            }
            Ok((key, cert))
        }
    }
}

fn create_ca(
    dir: &Path,
    names: &[String],
    now: time::OffsetDateTime,
) -> io::Result<(KeyPair, String)> {
    durable::private_dir(dir)?;
    let key = KeyPair::generate().map_err(other)?;
    let mut params = ca_params();
    (params.not_before, params.not_after) = ca_validity(now);
    params.name_constraints = Some(name_constraints(names));
    let cert = params.self_signed(&key).map_err(other)?;
    // The key first: a certificate without its key could never sign.
    durable::write_private(&dir.join(KEY_FILE), key.serialize_pem().as_bytes())?;
    durable::write_private(&dir.join(CERT_FILE), cert.pem().as_bytes())?;
    tracing::info!(path = %dir.display(), "created Coaster's local certificate authority");
    Ok((key, cert.pem()))
}

fn damaged(dir: &Path, file: &Path, why: &str) -> io::Error {
    io::Error::other(format!(
        "Coaster's local certificate authority in {dir} is damaged: {file}: {why}. \
         Restore the file from a backup of {dir}; or, to start over with a new CA that every tablet \
         must trust again (see /ca), move {dir} aside and start Coaster again.",
        dir = dir.display(),
        file = file.display(),
    ))
}

/// What the CA may vouch for: `localhost`, anything under `.local`, the
/// box's own bare names, and loopback, private and link-local addresses.
/// A tablet that trusts it trusts nothing else.
fn name_constraints(names: &[String]) -> NameConstraints {
    let mut dns = vec!["localhost".to_string(), "local".to_string()];
    dns.extend(names.iter().filter(|n| !n.contains('.')).cloned());
    dns.sort();
    dns.dedup();
    NameConstraints {
        permitted_subtrees: dns
            .into_iter()
            .map(GeneralSubtree::DnsName)
            .chain(private_ranges().into_iter().map(GeneralSubtree::IpAddress))
            .collect(),
        excluded_subtrees: Vec::new(),
    }
}

fn private_ranges() -> Vec<CidrSubnet> {
    [
        "127.0.0.0/8",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "169.254.0.0/16",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
    ]
    .iter()
    .map(|r| r.parse().expect("a CIDR range"))
    .collect()
}

fn in_subnet(subnet: &CidrSubnet, ip: IpAddr) -> bool {
    let masked_equal = |base: &[u8], mask: &[u8], ip: &[u8]| {
        base.iter()
            .zip(mask)
            .zip(ip)
            .all(|((b, m), i)| b & m == i & m)
    };
    match (subnet, ip) {
        (CidrSubnet::V4(base, mask), IpAddr::V4(ip)) => masked_equal(base, mask, &ip.octets()),
        (CidrSubnet::V6(base, mask), IpAddr::V6(ip)) => masked_equal(base, mask, &ip.octets()),
        _ => false,
    }
}

fn has_name_constraints(ca_der: &[u8]) -> bool {
    // The extension's OID, 2.5.29.30.
    contains(ca_der, &[0x06, 0x03, 0x55, 0x1d, 0x1e])
}

/// Whether the CA's name constraints permit `name`: under `localhost` or
/// `.local`, or a bare name written into the CA as a dNSName subtree.
fn name_permitted(ca_der: &[u8], name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    let under = |base: &str| name == base || name.ends_with(&format!(".{base}"));
    under("localhost")
        || under("local")
        || name.len() < 128
            && contains(
                ca_der,
                &[&[0x82, name.len() as u8][..], name.as_bytes()].concat(),
            )
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

fn pem_der(pem: &str) -> io::Result<CertificateDer<'static>> {
    CertificateDer::from_pem_slice(pem.as_bytes()).map_err(other)
}

/// A certificate's SHA-256, as `AB:CD:…`, the way tablets show it.
pub fn fingerprint(der: &[u8]) -> String {
    let digest = Sha256::digest(der);
    let hex: Vec<String> = digest.iter().map(|b| format!("{b:02X}")).collect();
    hex.join(":")
}

/// The venue's own certificate and key files.
pub fn file_identity(cert: &Path, key: &Path) -> io::Result<Identity> {
    let read = |path: &Path| {
        fs::read_to_string(path)
            .map_err(|e| io::Error::new(e.kind(), format!("cannot read {}: {e}", path.display())))
    };
    Ok(Identity {
        chain_pem: read(cert)?,
        key_pem: read(key)?,
        ca_pem: None,
    })
}

pub fn server_config(identity: &Identity) -> io::Result<Arc<ServerConfig>> {
    let chain = CertificateDer::pem_slice_iter(identity.chain_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| other(format!("the certificate is not PEM: {e}")))?;
    if chain.is_empty() {
        return Err(other("the certificate file holds no certificate"));
    }
    let key = PrivateKeyDer::from_pem_slice(identity.key_pem.as_bytes())
        .map_err(|e| other(format!("the key is not a PEM private key: {e}")))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(other)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| other(format!("the certificate and key do not fit together: {e}")))?;
    Ok(Arc::new(config))
}

/// The names and addresses tablets may use to reach this box.
pub fn box_names() -> (Vec<String>, Vec<IpAddr>) {
    let mut names = vec!["localhost".to_string()];
    if let Ok(host) = fs::read_to_string("/etc/hostname") {
        let host = host.trim();
        if !host.is_empty() {
            names.push(host.to_string());
            names.push(format!("{host}.local"));
        }
    }
    let mut addresses: Vec<IpAddr> = if_addrs::get_if_addrs()
        .map(|ifs| ifs.into_iter().map(|i| i.ip()).collect())
        .unwrap_or_default();
    addresses.sort();
    addresses.dedup();
    (names, addresses)
}

fn time_now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

/// `/ca`: how to install the CA on a tablet, and its fingerprint to compare.
pub fn ca_page(ca_pem: Option<&str>) -> String {
    let fingerprint = ca_pem
        .and_then(|pem| pem_der(pem).ok())
        .map(|der| fingerprint(&der));
    let body = if let Some(fingerprint) = fingerprint {
        format!(
            r#"<p>Coaster made its own certificate authority so tablets can reach it over HTTPS on this network. Install it once on each tablet:</p>
<h2>iPad / iPhone</h2><ol><li>Open this page in <b>Safari</b>, tap <a href="/ca.crt">Download the Coaster certificate</a> and <b>Allow</b> the configuration profile.</li><li>Within 8 minutes: Settings → <b>Profile Downloaded</b> (under your name; if it is not there, Settings → General → <b>VPN &amp; Device Management</b>) → Install, enter the passcode, Install.</li><li>Settings → General → About → <b>Certificate Trust Settings</b> → under “Enable full trust for root certificates”, turn on “Coaster local certificate authority”.</li><li>Open Coaster in Safari: Share → <b>Add to Home Screen</b> (iPadOS 26: keep “Open as Web App” on).</li></ol>
<h2>Android</h2><ol><li>Tap <a href="/ca.crt">Download the Coaster certificate</a>.</li><li>Settings → Security → Encryption &amp; credentials → <b>Install a certificate</b> → CA certificate → choose coaster-ca.crt.</li><li>Open Coaster in Chrome and choose <b>Install app</b> from the menu.</li></ol>
<h2>Check it is this stand's</h2><p>The certificate's SHA-256 fingerprint (on the tablet: the installed profile → More Details; Android: Trusted credentials → User) must read:</p><p><code data-testid="ca-fingerprint">{fingerprint}</code></p><p>The stand also writes it to its log at every start.</p>"#
        )
    } else {
        "<p>This Coaster uses the venue's own certificate; there is nothing to install.</p>"
            .to_string()
    };
    let style = crate::security::CA_PAGE_STYLE;
    format!(
        "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>Coaster — trust this stand</title><style>{style}</style><h1>Trust this Coaster</h1>{body}<p><a href=\"/\">Back to the board</a></p></html>"
    )
}

#[cfg(test)]
#[path = "tls_tests.rs"]
mod tests;
