//! The real `coaster` binary as a child process, and what /proc says about it.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};

pub struct Coaster {
    child: Child,
    pub addr: SocketAddr,
}

impl Coaster {
    /// Starts `coaster` against `device`, serving `dist`; waits for its
    /// "coaster listening on http://ADDR/" line.
    pub fn start(binary: &Path, device: SocketAddr, dist: &Path) -> Result<Coaster, String> {
        Coaster::start_with(binary, device, dist, &[])
    }

    /// [`Coaster::start`] with more command-line arguments.
    pub fn start_with(
        binary: &Path,
        device: SocketAddr,
        dist: &Path,
        extra: &[&str],
    ) -> Result<Coaster, String> {
        // A data directory per instance: each Coaster locks its own (and its
        // store and op journal start empty).
        static STARTED: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let data_dir =
            std::env::temp_dir().join(format!("coaster-bench-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&data_dir);
        let mut child = Command::new(binary)
            .args(["--device", &device.to_string(), "--listen", "127.0.0.1:0"])
            // Every benchmark tablet connects from loopback.
            .args(["--max-connections-per-address", "400"])
            .args(extra)
            .arg("--dist")
            .arg(dist)
            .arg("--data-dir")
            .arg(&data_dir)
            .env("RUST_LOG", "warn")
            .env_remove("COASTER_PIN")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| format!("reading coaster's first line: {e}"))?;
        let addr = line
            .trim()
            .strip_prefix("coaster listening on http://")
            .and_then(|rest| rest.trim_end_matches('/').parse().ok())
            .ok_or_else(|| format!("coaster said {line:?}"))?;
        Ok(Coaster { child, addr })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Coaster {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// VmRSS and VmHWM in KiB.
pub fn memory_kib(pid: u32) -> Result<(u64, u64), String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("/proc/{pid}/status: {e}"))?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .ok_or_else(|| format!("no {name} in /proc/{pid}/status"))
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

/// User plus system CPU time, in clock ticks.
pub fn cpu_ticks(pid: u32) -> Result<u64, String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|e| format!("/proc/{pid}/stat: {e}"))?;
    // The command name is in parentheses and may hold spaces: fields count from after it.
    let after = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or("a malformed /proc stat")?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of stat; 3 is the first after ")".
    let ticks = |i: usize| fields.get(i - 3).and_then(|v| v.parse::<u64>().ok());
    Ok(ticks(14).ok_or("no utime")? + ticks(15).ok_or("no stime")?)
}

pub fn clock_ticks_per_second() -> u64 {
    command_output("getconf", &["CLK_TCK"])
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}

pub fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}
