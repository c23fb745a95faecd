//! Figures, goals and verdicts, the printed table, and docs/benchmarks.md.

use std::path::Path;
use std::time::Duration;

pub struct Figure {
    pub p50: Duration,
    pub p99: Duration,
}

impl Figure {
    pub fn of(samples: &mut [Duration]) -> Figure {
        samples.sort_unstable();
        let at = |q: f64| {
            samples[((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1]
        };
        Figure {
            p50: at(0.50),
            p99: at(0.99),
        }
    }
}

pub struct Row {
    pub id: &'static str,
    what: String,
    measured: String,
    goal: &'static str,
    /// `None`: not measured this run.
    pass: Option<bool>,
}

impl Row {
    pub fn skipped(id: &'static str, why: &str) -> Row {
        Row {
            id,
            what: String::new(),
            measured: format!("not measured ({why})"),
            goal: "",
            pass: None,
        }
    }
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

pub fn p1(proxied: Figure, direct: Figure, echo: Figure) -> Row {
    let ratio = proxied.p50.as_secs_f64() / direct.p50.as_secs_f64();
    let overhead = proxied.p99.saturating_sub(direct.p99);
    // What the ratio would be if the proxy itself cost nothing: the direct
    // round trip plus a bare WebSocket one.
    let floor = (direct.p50 + echo.p50).as_secs_f64() / direct.p50.as_secs_f64();
    Row {
        id: "P1",
        what: format!(
            "`get_settings` over WebSocket → proxy → simulator → reply, vs the same GET sent directly over CoAP, and the same frame to a WebSocket server that only echoes ({} samples each, interleaved)",
            super::P1_SAMPLES
        ),
        measured: format!(
            "WS p50 {} p99 {}; direct p50 {} p99 {}; p50 ratio {ratio:.2}; p99 overhead {}; echo p50 {}, so no proxy could beat a ratio of {floor:.2} here",
            ms(proxied.p50),
            ms(proxied.p99),
            ms(direct.p50),
            ms(direct.p99),
            ms(overhead),
            ms(echo.p50)
        ),
        goal: "p50 ratio ≤ 1.3; p99 overhead ≤ 1 ms",
        pass: Some(ratio <= 1.3 && overhead <= Duration::from_millis(1)),
    }
}

pub fn p7(runs: &[super::p7::Run]) -> Row {
    let secs = |d: Duration| format!("{:.2} s", d.as_secs_f64());
    let mut measured = Vec::new();
    for pair in runs.chunks(2) {
        let part = |r: &super::p7::Run| {
            let failed = match r.failed {
                0 => String::new(),
                n => format!(", {n} not acknowledged"),
            };
            format!("p50 {} p95 {}{failed}", secs(r.p50), secs(r.p95))
        };
        measured.push(format!(
            "{:.0} %: learnt {}; RFC {}",
            pair[0].loss * 100.0,
            part(&pair[0]),
            pair.get(1).map(part).unwrap_or_default()
        ));
    }
    let learnt = |loss: f64| runs.iter().find(|r| r.learnt && r.loss == loss);
    let pass = match (learnt(0.05), learnt(0.3)) {
        (Some(five), Some(thirty)) => {
            five.p50 <= Duration::from_millis(500)
                && five.p95 <= Duration::from_secs(2)
                && thirty.p95 <= Duration::from_secs(5)
                && runs.iter().filter(|r| r.learnt).all(|r| r.failed == 0)
        }
        _ => false,
    };
    Row {
        id: "P7",
        what: format!(
            "a tablet's page until its acknowledged verdict, {} pages per link, datagrams lost each way; round-trip-learnt timers beside RFC 7252's fixed 2–3 s (`--coap-ack-timeout 2s`), same run",
            super::p7::PAGES
        ),
        measured: measured.join("; "),
        goal: "learnt timers: 5 %: p50 ≤ 0.5 s, p95 ≤ 2 s; 30 %: p95 ≤ 5 s; every page acknowledged",
        pass: Some(pass),
    }
}

pub fn p9(
    record: Figure,
    verdicts: usize,
    per_second: u32,
    lost: Option<String>,
    written_in: Duration,
) -> Row {
    let micros = |d: Duration| format!("{:.1} µs", d.as_secs_f64() * 1e6);
    Row {
        id: "P9",
        what: format!(
            "recording a verdict: `Store::record` of its audit line and a party fact, in the core's task; {verdicts} verdicts at {per_second}/s into a real SQLite file (WAL) while the writer thread commits"
        ),
        measured: format!(
            "p50 {} p99 {}; all committed {:.0} ms after the last; {}",
            micros(record.p50),
            micros(record.p99),
            written_in.as_secs_f64() * 1e3,
            lost.as_deref().unwrap_or("nothing lost")
        ),
        goal: "p99 ≤ 0.05 ms; nothing lost",
        pass: Some(record.p99 <= Duration::from_micros(50) && lost.is_none()),
    }
}

pub fn p8(parties: usize, year: Duration, month: Duration) -> Row {
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1e3);
    Row {
        id: "P8",
        what: format!("the analytics view's data (`Store::analytics`) with a year of history in the store ({parties} parties), median of 5"),
        measured: format!("the whole year {}; the last 30 days {}", ms(year), ms(month)),
        goal: "≤ 100 ms",
        pass: Some(year <= Duration::from_millis(100)),
    }
}

pub fn p10(quoted: usize, learned: f64, goal: f64, last_ten: f64) -> Row {
    Row {
        id: "P10",
        what: format!("the quote's backtest: a month of simulated busy nights replayed day by day, each of {quoted} paged parties quoted from the parties paged before it arrived; mean absolute error"),
        measured: format!("learned {learned:.1} min; the goal default {goal:.1} min; the median of the last 10 parties {last_ten:.1} min"),
        goal: "learned beats both baselines",
        pass: Some(learned < goal && learned < last_ten),
    }
}

pub fn p2(last: Figure, tablets: usize) -> Row {
    Row {
        id: "P2",
        what: format!(
            "a session created directly on the device until the last of {tablets} tablets has it ({} changes)",
            super::P2_CHANGES
        ),
        measured: format!("p50 {} p99 {}", ms(last.p50), ms(last.p99)),
        goal: "p99 ≤ 20 ms",
        pass: Some(last.p99 <= Duration::from_millis(20)),
    }
}

pub fn p3(with_one: u64, with_many: u64, window: Duration) -> Row {
    let per_minute = |n: u64| n as f64 * 60.0 / window.as_secs_f64();
    Row {
        id: "P3",
        what: format!(
            "datagrams the device received in a {} s window, idle, with 1 and with {} tablets (scaled to per minute)",
            window.as_secs(),
            super::MANY_TABLETS
        ),
        measured: format!(
            "1 tablet: {with_one} ({:.0}/min); {} tablets: {with_many} ({:.0}/min)",
            per_minute(with_one),
            super::MANY_TABLETS,
            per_minute(with_many)
        ),
        // Periodic probes can fall either side of a window's edge: one apart is equal.
        goal: "equal (±1 for a window edge)",
        pass: Some(with_one.abs_diff(with_many) <= 1),
    }
}

pub fn p6(alone_kib: u64, rss_kib: u64, peak_kib: u64, idle_cpu: f64, tablets: usize) -> Row {
    let mib = |kib: u64| kib as f64 / 1024.0;
    Row {
        id: "P6",
        what: format!(
            "`coaster` resident memory with {tablets} tablets connected (after P2); CPU while idle over {} s",
            super::P6_WINDOW.as_secs()
        ),
        measured: format!(
            "VmRSS {:.1} MiB (peak {:.1} MiB; {:.1} MiB with no tablet); idle CPU {:.2} % of one core",
            mib(rss_kib),
            mib(peak_kib),
            mib(alone_kib),
            idle_cpu * 100.0
        ),
        goal: "≤ 20 MiB; ~0 (≤ 1 % of a core)",
        pass: Some(mib(rss_kib) <= 20.0 && idle_cpu <= 0.01),
    }
}

fn number(value: &serde_json::Value, key: &str) -> Result<f64, String> {
    value[key]
        .as_f64()
        .ok_or_else(|| format!("bench/browser.mjs gave no {key}: {value}"))
}

pub fn p4(load: &serde_json::Value) -> Result<Row, String> {
    let gzip_kib = number(load, "gzipBytes")? / 1024.0;
    let median = number(load, "liveMsMedian")?;
    let runs = load["liveMs"].as_array().map_or(0, Vec::len);
    Ok(Row {
        id: "P4",
        what: format!(
            "release wasm + JS gzip -9; navigation → live board (a party's row rendered from the proxy's snapshot), cold cache, 4× CPU throttling, median of {runs}"
        ),
        measured: format!(
            "{gzip_kib:.1} KiB (wasm {:.1} + JS {:.1}); {median:.0} ms (runs {}), {} rows in the first render",
            number(load, "wasmGzipBytes")? / 1024.0,
            number(load, "jsGzipBytes")? / 1024.0,
            load["liveMs"],
            number(load, "rowsAtLive")?
        ),
        goal: "≤ 150 KiB; ≤ 500 ms",
        pass: Some(gzip_kib <= 150.0 && median <= 500.0),
    })
}

pub fn p5(tick: &serde_json::Value) -> Result<Row, String> {
    let median = number(tick, "tickMsMedian")?;
    Ok(Row {
        id: "P5",
        what: format!(
            "board of {} parties with live timers: main-thread time of the one-second tick's task (Chromium trace, {} ticks)",
            number(tick, "rows")?,
            number(tick, "ticks")?
        ),
        measured: format!(
            "median {median:.2} ms, max {:.2} ms per tick; all the page's script {:.2} ms/s (+ {:.2} ms/s style and layout)",
            number(tick, "tickMsMax")?,
            number(tick, "scriptMsPerSecond")?,
            number(tick, "layoutMsPerSecond")?
        ),
        goal: "≤ 2 ms",
        pass: Some(median <= 2.0),
    })
}

pub fn table(rows: &[Row]) -> String {
    let mut out = String::from("| id | what | measured | goal | result |\n|---|---|---|---|---|\n");
    for row in rows {
        let result = match row.pass {
            Some(true) => "pass",
            Some(false) => "**miss**",
            None => "—",
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {result} |\n",
            row.id, row.what, row.measured, row.goal
        ));
    }
    out
}

const BEGIN: &str = "<!-- coaster-bench: generated from here -->";
const END: &str = "<!-- coaster-bench: generated to here -->";

/// Replaces the generated part of the doc, keeping what people wrote around it.
pub fn write_doc(path: &Path, table: &str) -> Result<(), String> {
    let generated = format!(
        "{BEGIN}\nLast run: {} on {}.\n\nCommand: `scripts/bench.sh` (release build; runs `target/release/coaster-bench`).\n\n{table}{END}",
        super::process::command_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"])
            .unwrap_or_default()
            .trim(),
        machine()
    );
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let doc = match (old.find(BEGIN), old.find(END)) {
        (Some(begin), Some(end)) if begin < end => {
            format!("{}{generated}{}", &old[..begin], &old[end + END.len()..])
        }
        _ => format!("# Benchmarks\n\n{generated}\n"),
    };
    std::fs::write(path, doc).map_err(|e| format!("{}: {e}", path.display()))
}

fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")?
                .split_once(':')
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_gib = meminfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("MemTotal:")?
                .split_whitespace()
                .next()?
                .parse::<f64>()
                .ok()
        })
        .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
    let kernel = super::process::command_output("uname", &["-r"]).unwrap_or_default();
    format!(
        "{cores} cores (nproc), {model}, {memory_gib:.1} GiB memory, Linux {}",
        kernel.trim()
    )
}
