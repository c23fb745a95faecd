//! The built dashboard, read once at start and kept in memory with gzip and
//! brotli copies, so a tablet on restaurant Wi-Fi downloads as little as it
//! can and the proxy never compresses on a request's time.

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

pub struct Asset {
    pub body: Vec<u8>,
    pub gzip: Option<Vec<u8>>,
    pub brotli: Option<Vec<u8>>,
    pub content_type: &'static str,
    pub cache_control: &'static str,
}

pub struct Assets {
    files: HashMap<String, Asset>,
    /// Where they came from, for the message when there are none.
    pub dir: PathBuf,
}

/// Which encoding to send, from an `Accept-Encoding` header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Identity,
    Gzip,
    Brotli,
}

impl Encoding {
    pub fn preferred(accept_encoding: Option<&str>) -> Self {
        let offers = |name: &str| {
            accept_encoding.is_some_and(|header| {
                header.split(',').any(|part| {
                    let mut fields = part.split(';');
                    let coding = fields.next().unwrap_or("").trim();
                    let refused = fields.any(|f| f.trim().replace(' ', "") == "q=0");
                    coding.eq_ignore_ascii_case(name) && !refused
                })
            })
        };
        if offers("br") {
            Encoding::Brotli
        } else if offers("gzip") {
            Encoding::Gzip
        } else {
            Encoding::Identity
        }
    }
}

impl Assets {
    /// Reads every file under `dir`; an absent folder gives no assets.
    pub fn load(dir: &Path) -> io::Result<Assets> {
        let mut files = HashMap::new();
        if dir.is_dir() {
            collect(dir, dir, &mut files)?;
        }
        Ok(Assets {
            files,
            dir: dir.to_path_buf(),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The asset for a URL path, refusing anything that could leave dist/.
    pub fn get(&self, url_path: &str) -> Option<&Asset> {
        let path = url_path.split(['?', '#']).next().unwrap_or("/");
        let path = if path == "/" { "/index.html" } else { path };
        let relative = path.strip_prefix('/')?;
        if relative
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..")
        {
            return None;
        }
        self.files.get(relative)
    }
}

impl Asset {
    pub fn encoded(&self, encoding: Encoding) -> (&[u8], Option<&'static str>) {
        match (encoding, &self.brotli, &self.gzip) {
            (Encoding::Brotli, Some(br), _) => (br, Some("br")),
            (Encoding::Brotli | Encoding::Gzip, _, Some(gz)) => (gz, Some("gzip")),
            _ => (&self.body, None),
        }
    }
}

fn collect(root: &Path, dir: &Path, files: &mut HashMap<String, Asset>) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(root, &path, files)?;
            continue;
        }
        let relative = path
            .strip_prefix(root)
            .expect("walked from root")
            .to_string_lossy()
            .replace('\\', "/");
        let body = std::fs::read(&path)?;
        let content_type = content_type(&relative);
        let compressible = !matches!(content_type, "image/png" | "image/x-icon");
        let (gzip, brotli) = if compressible && body.len() > 512 {
            (Some(gzip(&body)?), Some(brotli(&body)?))
        } else {
            (None, None)
        };
        files.insert(
            relative.clone(),
            Asset {
                body,
                gzip,
                brotli,
                content_type,
                cache_control: cache_control(&relative),
            },
        );
    }
    Ok(())
}

fn gzip(body: &[u8]) -> io::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(body)?;
    encoder.finish()
}

fn brotli(body: &[u8]) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    {
        let mut writer = brotli::CompressorWriter::new(&mut out, 4096, 11, 22);
        writer.write_all(body)?;
    }
    Ok(out)
}

pub fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css; charset=utf-8",
        Some("webmanifest") => "application/manifest+json",
        Some("json") => "application/json",
        Some("png") => "image/png",
        Some("svg") => "image/svg+xml",
        Some("ico") => "image/x-icon",
        _ => "application/octet-stream",
    }
}

/// The page and the service worker must always be fresh; trunk's hashed
/// assets (`name-<16+ hex>.js`, `name-<hex>_bg.wasm`) never change.
pub fn cache_control(path: &str) -> &'static str {
    let name = path.rsplit('/').next().unwrap_or(path);
    let hashed = name.rsplit_once('-').is_some_and(|(_, tail)| {
        tail.split(['.', '_'])
            .next()
            .is_some_and(|h| h.len() >= 16 && h.chars().all(|c| c.is_ascii_hexdigit()))
    });
    if hashed {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dist() -> (PathBuf, Assets) {
        let dir = std::env::temp_dir().join(format!("coaster-assets-{}", crate::auth::new_token()));
        std::fs::create_dir_all(dir.join("icons")).unwrap();
        std::fs::write(dir.join("index.html"), "<!doctype html>".repeat(100)).unwrap();
        std::fs::write(dir.join("frontend-3f2a9c01d4e5b6a7_bg.wasm"), [0u8; 2000]).unwrap();
        std::fs::write(dir.join("icons/icon-192.png"), [1u8; 900]).unwrap();
        let assets = Assets::load(&dir).unwrap();
        (dir, assets)
    }

    #[test]
    fn files_are_found_by_url_and_nothing_outside_dist_is() {
        let (dir, assets) = dist();
        assert!(assets.get("/").is_some());
        assert!(assets.get("/icons/icon-192.png?v=1").is_some());
        for bad in [
            "/../etc/passwd",
            "/icons/../index.html",
            "//index.html",
            "/./index.html",
            "index.html",
        ] {
            assert!(assets.get(bad).is_none(), "{bad}");
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn compressed_copies_round_trip_and_images_are_left_alone() {
        let (dir, assets) = dist();
        let page = assets.get("/index.html").unwrap();
        let (gz, encoding) = page.encoded(Encoding::Gzip);
        assert_eq!(encoding, Some("gzip"));
        let mut plain = Vec::new();
        io::Read::read_to_end(&mut flate2::read::GzDecoder::new(gz), &mut plain).unwrap();
        assert_eq!(plain, page.body);
        let (br, encoding) = page.encoded(Encoding::Brotli);
        assert_eq!(encoding, Some("br"));
        let mut plain = Vec::new();
        io::Read::read_to_end(&mut brotli::Decompressor::new(br, 4096), &mut plain).unwrap();
        assert_eq!(plain, page.body);
        assert!(br.len() < page.body.len() / 10);
        let icon = assets.get("/icons/icon-192.png").unwrap();
        assert_eq!(icon.encoded(Encoding::Brotli).1, None);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_client_picks_the_encoding() {
        assert_eq!(
            Encoding::preferred(Some("gzip, deflate, br, zstd")),
            Encoding::Brotli
        );
        assert_eq!(Encoding::preferred(Some("gzip")), Encoding::Gzip);
        assert_eq!(Encoding::preferred(Some("br;q=0, gzip")), Encoding::Gzip);
        assert_eq!(Encoding::preferred(None), Encoding::Identity);
    }

    #[test]
    fn hashed_assets_cache_forever_the_page_never() {
        assert_eq!(cache_control("index.html"), "no-cache");
        assert_eq!(cache_control("sw.js"), "no-cache");
        assert_eq!(
            cache_control("frontend-3f2a9c01d4e5b6a7_bg.wasm"),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(
            cache_control("frontend-3f2a9c01d4e5b6a7.js"),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(cache_control("style-ab.css"), "no-cache");
    }
}
