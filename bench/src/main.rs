//! `coaster-bench`: measures the whole chain on loopback in one run and
//! prints a table with each goal, pass or miss; rewrites the generated part
//! of docs/benchmarks.md. Run by `scripts/bench.sh` (release build).
//!
//! The simulator runs in this process (its datagram counters are read
//! directly); the proxy is the real `coaster` binary as a child process, so
//! its memory and CPU are its own. The browser rows drive Chromium through
//! `bench/browser.mjs`.
//!
//! Usage: `coaster-bench [--no-browser] [--only-p1-p7] [--only-p9]`, from the
//! workspace root. `--only-p1-p7` prints those rows, `--only-p9` the store's
//! (P8, P9, P10), and both leave the doc alone.

mod coap;
mod echo;
mod owner;
mod p7;
mod p9;
mod process;
mod report;
mod tablets;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use coap::CoapClient;
use coap_lite::RequestType;
use process::Coaster;
use report::{Figure, Row};
use tablets::Tablets;

/// P1 samples per path (after as many warm-up rounds as `P1_WARMUP`).
const P1_SAMPLES: usize = 1000;
const P1_WARMUP: usize = 100;
/// Tablets: P1/P3's many, P2/P6's all.
const MANY_TABLETS: usize = 50;
const ALL_TABLETS: usize = 200;
/// P2 changes made on the device.
const P2_CHANGES: usize = 100;
/// P3's windows: a multiple of the proxy's 3 s idle probe and equal to the
/// simulator's 30 s Observe ping, so each window holds whole periods.
const P3_WINDOW: Duration = Duration::from_secs(30);
const P6_WINDOW: Duration = Duration::from_secs(10);
/// P5's board.
const P5_PARTIES: usize = 300;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let browser = !std::env::args().any(|a| a == "--no-browser");
    let only = std::env::args().any(|a| a == "--only-p1-p7");
    if std::env::args().any(|a| a == "--only-p9") {
        let rows = p9::measure().and_then(|p9| Ok(vec![p9, owner::p8()?, owner::p10()]));
        return match rows {
            Ok(rows) => {
                println!("{}", report::table(&rows));
                std::process::ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("coaster-bench: {error}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    match run(browser, only).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("coaster-bench: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(browser: bool, only_p1_p7: bool) -> Result<(), String> {
    let root = std::env::current_dir().map_err(|e| e.to_string())?;
    let coaster_bin = sibling_binary("coaster")?;
    let sim = simulator::server::Simulator::start(simulator::server::Config {
        listen: "127.0.0.1:0".parse().expect("an address"),
        ..Default::default()
    })
    .await
    .map_err(|e| format!("simulator: {e}"))?;
    let coaster = Coaster::start(&coaster_bin, sim.local_addr(), &root.join("dist"))?;
    let mut device = CoapClient::connect(sim.local_addr())
        .await
        .map_err(|e| e.to_string())?;
    let mut tablets = Tablets::new(coaster.addr);
    let mut rows = Vec::new();
    settle().await;
    let (rss_alone, _) = process::memory_kib(coaster.pid())?;

    if only_p1_p7 {
        tablets.grow_to(MANY_TABLETS).await?;
        settle().await;
        eprintln!("P1: {P1_SAMPLES} round trips each way");
        rows.push(p1(&mut tablets, &mut device).await?);
        eprintln!("{}", report::table(&rows));
        tablets.close().await;
        drop(coaster);
        sim.shutdown().await;
        rows.push(p7::measure(&coaster_bin, &root.join("dist")).await?);
        println!("{}", report::table(&rows));
        return Ok(());
    }
    // P3 first, while only one tablet is connected.
    tablets.grow_to(1).await?;
    settle().await;
    eprintln!("P3: device datagrams over {P3_WINDOW:?} with 1, then {MANY_TABLETS} idle tablets");
    let with_one = datagrams_in_window(&sim, &mut tablets).await;
    tablets.grow_to(MANY_TABLETS).await?;
    settle().await;
    let with_many = datagrams_in_window(&sim, &mut tablets).await;
    rows.push(report::p3(with_one, with_many, P3_WINDOW));

    eprintln!("P1: {P1_SAMPLES} round trips each way");
    rows.push(p1(&mut tablets, &mut device).await?);

    tablets.grow_to(ALL_TABLETS).await?;
    settle().await;
    eprintln!("P6: idle CPU over {P6_WINDOW:?} with {ALL_TABLETS} tablets");
    let ticks_before = process::cpu_ticks(coaster.pid())?;
    let idle_start = Instant::now();
    tokio::time::sleep(P6_WINDOW).await;
    let idle_ticks = process::cpu_ticks(coaster.pid())? - ticks_before;
    let idle_cpu = idle_ticks as f64
        / process::clock_ticks_per_second() as f64
        / idle_start.elapsed().as_secs_f64();
    tablets.drain();

    eprintln!("P2: {P2_CHANGES} device changes to {ALL_TABLETS} tablets");
    rows.push(p2(&mut tablets, &mut device).await?);
    let (rss, peak) = process::memory_kib(coaster.pid())?;
    rows.push(report::p6(rss_alone, rss, peak, idle_cpu, ALL_TABLETS));
    tablets.close().await;

    if browser {
        eprintln!("P4/P5: the dashboard in Chromium");
        rows.extend(browser_rows(&root, &coaster, &mut device).await?);
    } else {
        rows.push(Row::skipped("P4", "--no-browser"));
        rows.push(Row::skipped("P5", "--no-browser"));
    }
    // Its own simulators and proxies, one per link and timer.
    rows.push(p7::measure(&coaster_bin, &root.join("dist")).await?);
    eprintln!("P9: recording verdicts in the stand's store");
    rows.push(
        tokio::task::spawn_blocking(p9::measure)
            .await
            .map_err(|e| e.to_string())??,
    );
    rows.sort_by(|a, b| a.id.cmp(b.id));
    let table = report::table(&rows);
    println!("{table}");
    report::write_doc(&root.join("docs/benchmarks.md"), &table)?;
    eprintln!("wrote docs/benchmarks.md");
    drop(coaster);
    sim.shutdown().await;
    Ok(())
}

/// Lets connection bursts and their log lines pass before a measurement.
async fn settle() {
    tokio::time::sleep(Duration::from_secs(1)).await;
}

fn sibling_binary(name: &str) -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let path = exe.with_file_name(name);
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "{} is missing: build it in the same profile (cargo build --release -p proxy)",
            path.display()
        ))
    }
}

async fn datagrams_in_window(
    sim: &simulator::server::SimulatorHandle,
    tablets: &mut Tablets,
) -> u64 {
    let before = sim.traffic().received;
    tokio::time::sleep(P3_WINDOW).await;
    tablets.drain();
    sim.traffic().received - before
}

/// WebSocket command through the proxy against the same request sent
/// directly, interleaved so both see the same machine state.
async fn p1(tablets: &mut Tablets, device: &mut CoapClient) -> Result<Row, String> {
    let mut through_proxy = Vec::with_capacity(P1_SAMPLES);
    let mut direct = Vec::with_capacity(P1_SAMPLES);
    let mut echoed = Vec::with_capacity(P1_SAMPLES);
    let mut echo = echo::Echo::start().await?;
    tablets.drain();
    for i in 0..P1_WARMUP + P1_SAMPLES {
        // Spread over the tablets: each stays far inside its rate limit.
        let tablet = i % tablets.len();
        let op = format!("p1-{i}");
        let frame = format!(r#"{{"op":"{op}","command":{{"type":"get_settings"}}}}"#);
        let sent = frame.clone();
        let start = Instant::now();
        tablets.send(tablet, sent).await?;
        let (_, at) = tablets.first_with(&format!(r#""op":"{op}""#)).await?;
        let proxied = at - start;
        let start = Instant::now();
        let (code, _) = device
            .request(RequestType::Get, "/v1/settings", None)
            .await
            .map_err(|e| e.to_string())?;
        let plain = start.elapsed();
        if code != "2.05" {
            return Err(format!("GET /v1/settings answered {code}"));
        }
        // The same frame to a server that only echoes it.
        let floor = echo.round_trip(&frame).await?;
        if i >= P1_WARMUP {
            through_proxy.push(proxied);
            direct.push(plain);
            echoed.push(floor);
        }
    }
    Ok(report::p1(
        Figure::of(&mut through_proxy),
        Figure::of(&mut direct),
        Figure::of(&mut echoed),
    ))
}

/// A session created directly on the device, until the last tablet has it.
async fn p2(tablets: &mut Tablets, device: &mut CoapClient) -> Result<Row, String> {
    let mut last = Vec::with_capacity(P2_CHANGES);
    for k in 1..=P2_CHANGES {
        tablets.drain();
        let label = format!("p2-{k}");
        let body = format!(r#"{{"number":{k},"label":"{label}"}}"#);
        let start = Instant::now();
        let (code, _) = device
            .request(RequestType::Post, "/v1/sessions", Some(body.as_bytes()))
            .await
            .map_err(|e| e.to_string())?;
        if !code.starts_with("2.") {
            return Err(format!("POST /v1/sessions answered {code}"));
        }
        let needle = format!(r#""label":"{label}""#);
        let mut got = vec![false; tablets.len()];
        let mut remaining = tablets.len();
        let mut latest = start;
        while remaining > 0 {
            let (tablet, at, text) = tablets.next().await?;
            if !got[tablet] && text.contains(&needle) {
                got[tablet] = true;
                remaining -= 1;
                latest = latest.max(at);
            }
        }
        last.push(latest - start);
    }
    Ok(report::p2(Figure::of(&mut last), tablets.len()))
}

async fn browser_rows(
    root: &Path,
    coaster: &Coaster,
    device: &mut CoapClient,
) -> Result<Vec<Row>, String> {
    let url = format!("http://{}/", coaster.addr);
    let load = run_node(root, &["load", &url]).await?;
    // P2 left parties 1..=P2_CHANGES; fill the board to P5_PARTIES.
    for number in P2_CHANGES + 1..=P5_PARTIES {
        let body = format!(r#"{{"number":{number},"label":"Party {number}","partySize":4}}"#);
        device
            .request(RequestType::Post, "/v1/sessions", Some(body.as_bytes()))
            .await
            .map_err(|e| e.to_string())?;
    }
    let tick = run_node(root, &["tick", &url, &P5_PARTIES.to_string()]).await?;
    Ok(vec![report::p4(&load)?, report::p5(&tick)?])
}

/// Runs bench/browser.mjs and parses the JSON object it prints last.
async fn run_node(root: &Path, args: &[&str]) -> Result<serde_json::Value, String> {
    let script = root.join("bench/browser.mjs");
    let output = tokio::task::spawn_blocking({
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        move || {
            std::process::Command::new("node")
                .arg(script)
                .args(args)
                .stderr(std::process::Stdio::inherit())
                .output()
        }
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| format!("node: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!("bench/browser.mjs {args:?} failed: {stdout}"));
    }
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).map_err(|e| format!("bench/browser.mjs printed {last:?}: {e}"))
}
