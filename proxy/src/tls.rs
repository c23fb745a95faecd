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

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};

const CA_NAME: &str = "Coaster local certificate authority";
/// iOS refuses server certificates valid for longer than 825 days.
const SERVER_DAYS: i64 = 800;
const CA_YEARS: i32 = 10;

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

/// Loads the local CA from `dir`, creating it on first run, and signs a
/// server certificate for `names` and `addresses`.
pub fn local_identity(dir: &Path, names: &[String], addresses: &[IpAddr]) -> io::Result<Identity> {
    fs::create_dir_all(dir)?;
    let key_path = dir.join("ca-key.pem");
    let cert_path = dir.join("ca.pem");
    let (ca_key, ca_pem) = match (
        fs::read_to_string(&key_path),
        fs::read_to_string(&cert_path),
    ) {
        (Ok(key), Ok(cert)) => (KeyPair::from_pem(&key).map_err(other)?, cert),
        _ => {
            let key = KeyPair::generate().map_err(other)?;
            let mut params = ca_params();
            let today = time_now();
            params.not_before = today;
            params.not_after = today.replace_year(today.year() + CA_YEARS).unwrap_or(today);
            let cert = params.self_signed(&key).map_err(other)?;
            write_private(&key_path, &key.serialize_pem())?;
            fs::write(&cert_path, cert.pem())?;
            tracing::info!(path = %cert_path.display(), "created Coaster's local certificate authority");
            (key, cert.pem())
        }
    };
    let issuer = Issuer::new(ca_params(), ca_key);
    let mut params = CertificateParams::new(names.to_vec()).map_err(other)?;
    params
        .subject_alt_names
        .extend(addresses.iter().map(|ip| SanType::IpAddress(*ip)));
    params.distinguished_name.push(
        DnType::CommonName,
        names.first().map_or("coaster", |n| n.as_str()),
    );
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let today = time_now();
    params.not_before = today - time::Duration::days(1);
    params.not_after = today + time::Duration::days(SERVER_DAYS);
    let server_key = KeyPair::generate().map_err(other)?;
    let server = params.signed_by(&server_key, &issuer).map_err(other)?;
    Ok(Identity {
        chain_pem: format!("{}{}", server.pem(), ca_pem),
        key_pem: server_key.serialize_pem(),
        ca_pem: Some(ca_pem),
    })
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

fn write_private(path: &Path, text: &str) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)?;
        file.write_all(text.as_bytes())
    }
    #[cfg(not(unix))]
    fs::write(path, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_ca_is_made_once_and_signs_a_usable_chain() {
        let dir = std::env::temp_dir().join(format!("coaster-tls-{}", crate::auth::new_token()));
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let first = local_identity(&dir, &["coaster.local".into()], &[ip]).unwrap();
        let second = local_identity(&dir, &["coaster.local".into()], &[ip]).unwrap();
        assert_eq!(first.ca_pem, second.ca_pem, "the CA was made again");
        assert_ne!(
            first.key_pem, second.key_pem,
            "the server key is fresh per start"
        );
        assert!(server_config(&first).is_ok());
        let ca_key = fs::metadata(dir.join("ca-key.pem")).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(ca_key.permissions().mode() & 0o777, 0o600);
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
}
