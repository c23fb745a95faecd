//! The built dashboard, read once at start and kept in memory. The build
//! writes a brotli and a gzip copy beside each compressible file
//! (`scripts/compress-dist.sh`, Trunk's post-build hook); the proxy serves
//! whichever the tablet accepts and compresses nothing itself.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use hyper::body::Bytes;

pub struct Asset {
    pub body: Bytes,
    pub gzip: Option<Bytes>,
    pub brotli: Option<Bytes>,
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
    /// Nothing is decoded or looked up on disk: a path either names a file
    /// read at start, byte for byte, or nothing.
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
    pub fn encoded(&self, encoding: Encoding) -> (Bytes, Option<&'static str>) {
        match (encoding, &self.brotli, &self.gzip) {
            (Encoding::Brotli, Some(br), _) => (br.clone(), Some("br")),
            (Encoding::Brotli | Encoding::Gzip, _, Some(gz)) => (gz.clone(), Some("gzip")),
            _ => (self.body.clone(), None),
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
        // A compressed copy rides with its original, never on its own.
        let copy_of = relative
            .strip_suffix(".br")
            .or_else(|| relative.strip_suffix(".gz"));
        if copy_of.is_some_and(|original| root.join(original).is_file()) {
            continue;
        }
        let beside = |suffix: &str| {
            let mut name = path.clone().into_os_string();
            name.push(suffix);
            std::fs::read(name).ok().map(Bytes::from)
        };
        files.insert(
            relative.clone(),
            Asset {
                body: std::fs::read(&path)?.into(),
                gzip: beside(".gz"),
                brotli: beside(".br"),
                content_type: content_type(&relative),
                cache_control: cache_control(&relative),
            },
        );
    }
    Ok(())
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
        std::fs::write(dir.join("index.html.br"), "brotli bytes").unwrap();
        std::fs::write(dir.join("index.html.gz"), "gzip bytes").unwrap();
        std::fs::write(dir.join("frontend-3f2a9c01d4e5b6a7_bg.wasm"), [0u8; 2000]).unwrap();
        std::fs::write(dir.join("frontend-3f2a9c01d4e5b6a7_bg.wasm.gz"), "gz").unwrap();
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
            "/%2e%2e/index.html",
            "/icons%2f..%2findex.html",
            "/icons\\..\\index.html",
            "/index.html.br",
        ] {
            assert!(assets.get(bad).is_none(), "{bad}");
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_builds_compressed_copies_are_served_and_images_are_left_alone() {
        let (dir, assets) = dist();
        let page = assets.get("/index.html").unwrap();
        assert_eq!(
            page.encoded(Encoding::Brotli),
            (Bytes::from("brotli bytes"), Some("br"))
        );
        assert_eq!(
            page.encoded(Encoding::Gzip),
            (Bytes::from("gzip bytes"), Some("gzip"))
        );
        assert_eq!(page.encoded(Encoding::Identity).1, None);
        // No brotli copy: a brotli-capable tablet gets the gzip one.
        let wasm = assets.get("/frontend-3f2a9c01d4e5b6a7_bg.wasm").unwrap();
        assert_eq!(wasm.encoded(Encoding::Brotli).1, Some("gzip"));
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
