//! The real `coaster` binary as a child process, for the PIN and CA findings
//! tests: started on loopback port 0 with its own data directory, killed on drop.

#![allow(dead_code)] // each test binary uses a different part of this kit

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Stand {
    child: Child,
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    /// Everything it logged, read on a thread.
    log: std::sync::Arc<std::sync::Mutex<String>>,
}

pub fn temp_dir(what: &str) -> PathBuf {
    std::env::temp_dir().join(format!("coaster-{what}-{}", proxy::auth::new_token()))
}

pub fn coaster(data_dir: &Path, args: &[&str], pin: Option<&str>) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_coaster"));
    if !args.contains(&"--listen") {
        command.args(["--listen", "127.0.0.1:0"]);
    }
    command
        .arg("--dist")
        .arg(std::env::temp_dir().join("coaster-tests-no-dist"))
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
    /// Starts `command` and waits for its "listening" line.
    pub fn start(mut command: Command, data_dir: &Path) -> Stand {
        let mut child = command.spawn().expect("coaster starts");
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let mut stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buffer[..n]));
            }
        });
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let Some(url) = line.trim().strip_prefix("coaster listening on ") else {
            let _ = child.kill();
            std::thread::sleep(Duration::from_millis(200));
            panic!("coaster did not start: {line:?}\n{}", log.lock().unwrap());
        };
        let host = url.split("://").nth(1).unwrap().trim_end_matches('/');
        Stand {
            child,
            addr: host.parse().unwrap(),
            data_dir: data_dir.to_path_buf(),
            log,
        }
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Stand {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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
