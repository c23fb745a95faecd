//! Which names this stand answers to, against DNS rebinding. A page on
//! `evil.example` whose name the attacker points at the stand's address sends
//! `Host: evil.example` and `Origin: http://evil.example`: the stand answers
//! only to its own names and addresses (the certificate's, the box's, and
//! loopback) on its own port, and opens the WebSocket or takes a PIN only for
//! a page of that origin. A request without a Host or Origin is refused too.
//!
//! Development: on plain HTTP, which Coaster serves only on loopback, a page
//! on any loopback port may connect, and a loopback Host may name any port.
//! That is `trunk serve` (its page on 127.0.0.1:8081 forwards `/ws` here with
//! `Host: 127.0.0.1`); a rebinding page cannot send a loopback Host.

use std::net::IpAddr;

use hyper::http::uri::Authority;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};

pub struct Names {
    names: Vec<String>,
    addresses: Vec<IpAddr>,
    /// The leaf certificate served: a venue's certificate may name the stand
    /// in ways the box does not know.
    certificate: Option<CertificateDer<'static>>,
    port: u16,
    tls: bool,
}

impl Names {
    pub fn new(
        port: u16,
        tls: bool,
        names: &[String],
        addresses: &[IpAddr],
        certificate: Option<CertificateDer<'static>>,
    ) -> Self {
        Names {
            names: names.iter().map(|n| n.to_ascii_lowercase()).collect(),
            addresses: addresses.to_vec(),
            certificate,
            port,
            tls,
        }
    }

    /// A `Host` header (or an absolute request URI's authority).
    pub fn host_allowed(&self, host: &str) -> bool {
        let Some((name, port)) = split_authority(host) else {
            return false;
        };
        let default_port = if self.tls { 443 } else { 80 };
        let port_ok = port.unwrap_or(default_port) == self.port;
        if is_loopback(&name) {
            return port_ok || !self.tls;
        }
        port_ok && self.names_this_box(&name)
    }

    /// An `Origin` header: a page served by this stand, over its scheme.
    pub fn origin_allowed(&self, origin: &str) -> bool {
        let (scheme, authority) = match origin.split_once("://") {
            Some((scheme, rest)) if !rest.contains(['/', '?', '#']) => (scheme, rest),
            _ => return false,
        };
        let own_scheme = if self.tls { "https" } else { "http" };
        scheme.eq_ignore_ascii_case(own_scheme) && self.host_allowed(authority)
    }

    fn names_this_box(&self, name: &str) -> bool {
        match name.parse::<IpAddr>() {
            Ok(ip) => self.addresses.contains(&ip) || self.certificate_names(name),
            Err(_) => self.names.iter().any(|n| n == name) || self.certificate_names(name),
        }
    }

    fn certificate_names(&self, name: &str) -> bool {
        let (Some(der), Ok(server_name)) = (&self.certificate, ServerName::try_from(name)) else {
            return false;
        };
        webpki::EndEntityCert::try_from(der)
            .is_ok_and(|cert| cert.verify_is_valid_for_subject_name(&server_name).is_ok())
    }
}

/// `name[:port]`, the name lowercased without brackets or a trailing dot;
/// `None` for anything that is not a bare authority.
fn split_authority(text: &str) -> Option<(String, Option<u16>)> {
    if text.is_empty() || text.contains('@') {
        return None;
    }
    let authority: Authority = text.parse().ok()?;
    if authority.as_str().len() != text.len() {
        return None;
    }
    let name = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
    if name.is_empty() || (text.contains(':') && !text.ends_with(']') && authority.port().is_none())
    {
        return None;
    }
    Some((name, authority.port_u16()))
}

fn is_loopback(name: &str) -> bool {
    name == "localhost" || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lan(tls: bool, port: u16) -> Names {
        Names::new(
            port,
            tls,
            &["localhost".into(), "stand".into(), "stand.local".into()],
            &[
                "192.168.1.20".parse().unwrap(),
                "127.0.0.1".parse().unwrap(),
            ],
            None,
        )
    }

    #[test]
    fn the_stand_answers_to_its_own_names_on_its_own_port() {
        let names = lan(true, 8443);
        for host in [
            "stand.local:8443",
            "STAND.local:8443",
            "stand.local.:8443",
            "192.168.1.20:8443",
            "localhost:8443",
            "127.0.0.1:8443",
            "[::1]:8443",
        ] {
            assert!(names.host_allowed(host), "{host}");
        }
        for host in [
            "evil.example:8443",
            "evil.example",
            "stand.local",
            "stand.local:8080",
            "192.168.1.21:8443",
            "stand.local.evil.example:8443",
            "user@stand.local:8443",
            "stand.local:8443/path",
            "stand.local:",
            "",
            "127.0.0.1:8080",
        ] {
            assert!(!names.host_allowed(host), "{host}");
        }
        let default_port = lan(true, 443);
        assert!(default_port.host_allowed("stand.local"));
    }

    #[test]
    fn rebinding_origins_are_refused_even_on_plain_loopback() {
        let names = lan(false, 8080);
        assert!(names.origin_allowed("http://127.0.0.1:8080"));
        assert!(names.origin_allowed("http://localhost:8080"));
        for origin in [
            "http://evil.example",
            "http://evil.example:8080",
            "https://127.0.0.1:8080",
            "null",
            "",
            "http://127.0.0.1.evil.example:8080",
            "http://127.0.0.1:8080/",
        ] {
            assert!(!names.origin_allowed(origin), "{origin}");
        }
        assert!(!names.host_allowed("evil.example:8080"));
    }

    #[test]
    fn development_pages_on_other_loopback_ports_pass_only_without_tls() {
        // `trunk serve`: its page on 8081, /ws forwarded with a bare Host.
        let plain = lan(false, 8080);
        assert!(plain.origin_allowed("http://127.0.0.1:8081"));
        assert!(plain.origin_allowed("http://localhost:8081"));
        assert!(plain.host_allowed("127.0.0.1"));
        let tls = lan(true, 8443);
        assert!(!tls.origin_allowed("http://127.0.0.1:8081"));
        assert!(!tls.origin_allowed("https://127.0.0.1:8081"));
        assert!(tls.origin_allowed("https://stand.local:8443"));
        assert!(!tls.origin_allowed("http://stand.local:8443"));
    }

    #[test]
    fn a_venue_certificate_adds_its_names() {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["door.venue.example".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let names = Names::new(443, true, &[], &[], Some(cert.der().clone()));
        assert!(names.host_allowed("door.venue.example"));
        assert!(names.origin_allowed("https://door.venue.example"));
        assert!(!names.host_allowed("bar.venue.example"));
    }
}
