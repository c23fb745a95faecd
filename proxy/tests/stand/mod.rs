//! The real `coaster` binary as a child process, a small built dashboard for
//! it to serve, raw HTTP/1.1 on a socket, and a WebSocket tablet that can
//! connect from any loopback address (127.0.0.0/8 is all this machine's).

#![allow(dead_code)] // each test binary uses a different part of this kit

use std::io::{BufRead, BufReader, Read};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// The dashboard's page, with an inline script the CSP must allow by hash.
pub const INDEX_HTML: &str =
    "<!doctype html><title>Coaster</title><script>window.ok = 1;</script><script src=\"/app.js\"></script>";
pub const APP_JS: &str = "console.log('the app');";
/// A file beside dist/ that no request may reach.
pub const SECRET: &str = "the-secret-beside-dist";

pub struct Stand {
    child: Child,
    pub addr: SocketAddr,
    /// Everything the stand logged so far.
    log: Arc<Mutex<String>>,
    /// A folder of the kit's own, removed with the stand.
    scratch: Option<PathBuf>,
}

/// A fresh folder under the system's temporary directory.
pub fn temp_dir(what: &str) -> PathBuf {
    std::env::temp_dir().join(format!("coaster-{what}-{}", proxy::auth::new_token()))
}

/// The `coaster` command on 127.0.0.1:0 with `data_dir` and no dashboard
/// (unless `args` give `--listen` or `--dist`), the PIN (if any) in
/// COASTER_PIN as the README says, and its output piped for [`Stand::launch`].
pub fn coaster(data_dir: &Path, args: &[&str], pin: Option<&str>) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_coaster"));
    if !args.contains(&"--listen") {
        command.args(["--listen", "127.0.0.1:0"]);
    }
    if !args.contains(&"--dist") {
        command
            .arg("--dist")
            .arg(std::env::temp_dir().join("coaster-tests-no-dist"));
    }
    command
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("COASTER_PIN")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(pin) = pin {
        command.env("COASTER_PIN", pin);
    }
    command
}

impl Stand {
    /// Starts `coaster` on 127.0.0.1:0 serving a fresh small dist/, with the
    /// built-in simulator unless `args` name a device.
    pub fn start(args: &[&str]) -> Stand {
        let dir = temp_dir("stand");
        std::fs::create_dir_all(dir.join("dist")).unwrap();
        std::fs::write(dir.join("dist/index.html"), INDEX_HTML).unwrap();
        std::fs::write(dir.join("dist/app.js"), APP_JS).unwrap();
        std::fs::write(dir.join("secret.txt"), SECRET).unwrap();
        let dist = dir.join("dist");
        let mut all = vec!["--dist", dist.to_str().unwrap()];
        all.extend_from_slice(args);
        let mut stand = Stand::launch(coaster(&dir.join("data"), &all, None));
        stand.scratch = Some(dir);
        stand
    }

    /// Starts `command` (see [`coaster`]) and waits for its "listening" line.
    pub fn launch(mut command: Command) -> Stand {
        let mut child = command.spawn().expect("the coaster binary starts");
        let log = Arc::new(Mutex::new(String::new()));
        let mut stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n @ 1..) = stderr.read(&mut chunk) {
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&chunk[..n]));
            }
        });
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("coaster listening on ")
            .and_then(|url| url.split_once("://"))
            .and_then(|(_, rest)| rest.trim_end_matches('/').parse().ok());
        let Some(addr) = addr else {
            let _ = child.kill();
            let _ = child.wait();
            std::thread::sleep(Duration::from_millis(200));
            panic!("coaster said {line:?}; log:\n{}", log.lock().unwrap());
        };
        Stand {
            child,
            addr,
            log,
            scratch: None,
        }
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, as systemd or Ctrl-C would stop it.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Its exit status, if it exits within `within`.
    pub async fn exited(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = tokio::time::Instant::now() + within;
        while tokio::time::Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }

    /// Still running (nothing crashed)?
    pub fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Stand {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(scratch) = &self.scratch {
            let _ = std::fs::remove_dir_all(scratch);
        }
    }
}

/// Runs a start that must fail; returns (exit code, stderr).
pub fn refused_start(mut command: Command) -> (i32, String) {
    let mut child = command.spawn().expect("coaster runs");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut stderr)
                .unwrap();
            return (status.code().unwrap_or(-1), stderr);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let mut out = String::new();
            let _ = child.stdout.take().unwrap().read_to_string(&mut out);
            panic!("coaster started when it should have refused: {out}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A TCP connection to `to` from `from` (any 127.x address).
pub async fn connect_from(from: IpAddr, to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(from, 0))?;
    socket.connect(to).await
}

/// A TLS connection trusting only the CA in `ca_pem`, as an installed tablet.
pub async fn tls_connect(
    addr: SocketAddr,
    ca_pem: &[u8],
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, String> {
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
    use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = TcpStream::connect(addr).await.unwrap();
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .map_err(|e| e.to_string())
}

/// The status and body of the one response a `Connection: close` exchange
/// read to its end.
pub fn status_and_body(response: &[u8]) -> (u16, String) {
    let text = String::from_utf8_lossy(response);
    let status = text[9..12].parse().unwrap();
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// One HTTP response read off a connection.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends `raw` as it is and reads the responses until the connection closes;
/// `heads_only[i]` says the i-th response has no body (HEAD).
pub async fn exchange(addr: SocketAddr, raw: &[u8], heads_only: &[bool]) -> Vec<Response> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(raw).await.unwrap();
    let mut bytes = Vec::new();
    let read = async {
        let mut chunk = [0u8; 4096];
        // Until the stand closes, or it switched to WebSocket and stays open.
        while let Ok(n @ 1..) = stream.read(&mut chunk).await {
            bytes.extend_from_slice(&chunk[..n]);
            if bytes.starts_with(b"HTTP/1.1 101") && bytes.windows(4).any(|w| w == b"\r\n\r\n") {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(15), read)
        .await
        .expect("the stand answers and closes within 15 s");
    parse_responses(&bytes, heads_only)
}

/// One request with `Connection: close`, from 127.0.0.1.
pub async fn request(addr: SocketAddr, head: &str) -> Response {
    let raw = format!("{head}\r\nConnection: close\r\n\r\n");
    exchange(addr, raw.as_bytes(), &[head.starts_with("HEAD ")])
        .await
        .into_iter()
        .next()
        .expect("a response")
}

pub fn parse_responses(mut bytes: &[u8], heads_only: &[bool]) -> Vec<Response> {
    let mut responses = Vec::new();
    while let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
        let head = String::from_utf8_lossy(&bytes[..end]).into_owned();
        let status = head[9..12].parse().unwrap();
        let mut response = Response {
            status,
            head,
            body: Vec::new(),
        };
        let length: usize = response
            .header("content-length")
            .map_or(0, |n| n.parse().unwrap());
        let body_len = if heads_only.get(responses.len()) == Some(&true) {
            0
        } else {
            length
        };
        let rest = &bytes[end + 4..];
        response.body = rest[..body_len.min(rest.len())].to_vec();
        bytes = &rest[body_len.min(rest.len())..];
        responses.push(response);
    }
    responses
}

pub type Socket = WebSocketStream<TcpStream>;

/// A tablet, as a browser page of the stand opens it, from `from`.
pub async fn tablet(stand: &Stand, from: IpAddr) -> Socket {
    let tcp = connect_from(from, stand.addr).await.unwrap();
    let mut request = format!("ws://{}/ws", stand.addr)
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("Origin", stand.origin().parse().unwrap());
    let (ws, _) = tokio_tungstenite::client_async(request, tcp)
        .await
        .expect("the stand takes the tablet");
    ws
}

/// The next JSON message within `within` (`None` if the socket closed).
pub async fn next_json(ws: &mut Socket, within: Duration) -> Option<serde_json::Value> {
    loop {
        let frame = tokio::time::timeout(within, ws.next())
            .await
            .expect("a message in time");
        match frame {
            Some(Ok(Message::Text(text))) => return Some(serde_json::from_str(&text).unwrap()),
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
            Some(Ok(_)) => {}
        }
    }
}

/// Reads until a message of `kind` arrives.
pub async fn until_type(ws: &mut Socket, kind: &str) -> serde_json::Value {
    loop {
        let msg = next_json(ws, Duration::from_secs(15))
            .await
            .unwrap_or_else(|| panic!("the socket closed before a {kind}"));
        if msg["type"] == kind {
            return msg;
        }
    }
}

pub async fn send(ws: &mut Socket, json: serde_json::Value) {
    ws.send(Message::Text(json.to_string().into()))
        .await
        .unwrap();
}
