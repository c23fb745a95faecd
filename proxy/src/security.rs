//! The headers that tell a browser what the stand's pages may do. The
//! Content-Security-Policy allows exactly what the dashboard needs: its own
//! scripts, styles, icons, manifest and service worker; compiling its wasm;
//! its inline scripts, each by the SHA-256 of its text, hashed here at start
//! from the built `index.html` so nobody keeps the hashes by hand; and
//! connections to its own origin, the WebSocket included. No page may frame
//! it. Over HTTPS, browsers are told to come back only over HTTPS.

use hyper::header::{
    HeaderMap, HeaderValue, CONTENT_SECURITY_POLICY, REFERRER_POLICY, STRICT_TRANSPORT_SECURITY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};

/// The `/ca` page's only style, hashed into its policy like the app's scripts.
pub const CA_PAGE_STYLE: &str =
    "body{font:18px/1.5 system-ui,sans-serif;max-width:40em;margin:2em auto;padding:0 1em}a{font-weight:bold}";

pub struct Policy {
    /// `'sha256-…'` for each inline script of index.html, space-separated.
    script_hashes: String,
    ca_page: HeaderValue,
}

/// Which policy a response gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Page {
    /// The dashboard and everything it loads.
    App,
    /// The certificate instructions at `/ca`.
    CaInstructions,
}

impl Policy {
    /// The policy for the built `index.html` (`None`: not built yet).
    pub fn new(index_html: Option<&[u8]>) -> Self {
        let html = index_html.map(String::from_utf8_lossy).unwrap_or_default();
        let script_hashes = inline_scripts(&html)
            .into_iter()
            .map(|script| format!("'sha256-{}'", sha256_base64(script)))
            .collect::<Vec<_>>()
            .join(" ");
        let ca_page = format!(
            "default-src 'none'; style-src 'sha256-{}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
            sha256_base64(CA_PAGE_STYLE)
        );
        Policy {
            script_hashes,
            ca_page: HeaderValue::from_str(&ca_page).expect("a header-safe policy"),
        }
    }

    /// The app's policy when reached at `host` (already checked to be ours).
    pub fn app(&self, host: &str, tls: bool) -> String {
        let ws = if tls { "wss" } else { "ws" };
        format!(
            "default-src 'none'; script-src 'self' 'wasm-unsafe-eval' {}; style-src 'self'; img-src 'self'; connect-src 'self' {ws}://{host}; manifest-src 'self'; worker-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
            self.script_hashes
        )
    }

    /// Adds the security headers to a response for `host`.
    pub fn apply(&self, headers: &mut HeaderMap, page: Page, host: &str, tls: bool) {
        let policy = match page {
            Page::App => HeaderValue::from_str(&self.app(host, tls)).ok(),
            Page::CaInstructions => Some(self.ca_page.clone()),
        };
        if let Some(policy) = policy {
            headers.insert(CONTENT_SECURITY_POLICY, policy);
        }
        headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
        // For browsers that predate frame-ancestors.
        headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        if tls {
            headers.insert(
                STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static("max-age=31536000"),
            );
        }
    }
}

/// The text of every `<script>` without a `src`, as the browser hashes it.
pub fn inline_scripts(html: &str) -> Vec<&str> {
    let mut scripts = Vec::new();
    let mut rest = html;
    while let Some(start) = find_ascii_case(rest, "<script") {
        let after_name = &rest[start + "<script".len()..];
        let Some(tag_end) = after_name.find('>') else {
            break;
        };
        let attributes = &after_name[..tag_end];
        let body = &after_name[tag_end + 1..];
        let Some(end) = find_ascii_case(body, "</script") else {
            break;
        };
        if !attributes.to_ascii_lowercase().contains("src=") {
            scripts.push(&body[..end]);
        }
        rest = &body[end..];
    }
    scripts
}

fn find_ascii_case(haystack: &str, needle: &str) -> Option<usize> {
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

fn sha256_base64(text: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    data_encoding::BASE64.encode(digest.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_scripts_are_found_and_external_ones_skipped() {
        let html = r#"<head><script type="module">import('/a.js')</script><SCRIPT src="/x.js"></SCRIPT></head><body><script>
  go();
</script></body>"#;
        assert_eq!(inline_scripts(html), vec!["import('/a.js')", "\n  go();\n"]);
        assert!(inline_scripts("<p>no scripts</p><script>unterminated").is_empty());
    }

    #[test]
    fn each_inline_script_is_allowed_by_its_hash() {
        // The CSP spec's own example: sha256 of "alert('Hello, world.');".
        let policy = Policy::new(Some(b"<script>alert('Hello, world.');</script>"));
        let csp = policy.app("stand.local:8443", true);
        assert!(
            csp.contains("'sha256-qznLcsROx4GACP2dm0UCKCzCG+HiZ1guq6ZZDob/Tng='"),
            "{csp}"
        );
        assert!(csp.contains("script-src 'self' 'wasm-unsafe-eval' 'sha256-"));
        assert!(csp.contains("connect-src 'self' wss://stand.local:8443;"));
        assert!(csp.contains("frame-ancestors 'none'"));
        assert!(!csp.contains("unsafe-inline"));
    }

    #[test]
    fn every_response_is_marked_and_https_pins_itself() {
        let policy = Policy::new(None);
        let mut headers = HeaderMap::new();
        policy.apply(&mut headers, Page::App, "127.0.0.1:8080", false);
        assert_eq!(headers[X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(headers[REFERRER_POLICY], "no-referrer");
        assert!(headers[CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("ws://127.0.0.1:8080"));
        assert!(!headers.contains_key(STRICT_TRANSPORT_SECURITY));
        policy.apply(&mut headers, Page::CaInstructions, "stand.local", true);
        assert!(headers.contains_key(STRICT_TRANSPORT_SECURITY));
        assert!(headers[CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .starts_with("default-src 'none'; style-src 'sha256-"));
    }
}
