//! P7: a tablet's page until its acknowledged verdict, through a link that
//! drops 0, 5 and 30 % of datagrams each way — with the round-trip-learnt
//! timers and, in the same run, RFC 7252's fixed ones (`--coap-ack-timeout 2s`).

use std::path::Path;
use std::time::{Duration, Instant};

use crate::process::Coaster;
use crate::report::Row;
use crate::tablets::Tablets;

/// Pages per link and timer.
pub const PAGES: usize = 200;
const LOSSES: [f64; 3] = [0.0, 0.05, 0.3];

/// p50 and p95 of one run, and how many pages were not acknowledged.
pub struct Run {
    pub loss: f64,
    pub learnt: bool,
    pub p50: Duration,
    pub p95: Duration,
    pub failed: usize,
}

pub async fn measure(coaster_bin: &Path, dist: &Path) -> Result<Row, String> {
    let mut runs = Vec::new();
    for loss in LOSSES {
        for learnt in [true, false] {
            eprintln!(
                "P7: {PAGES} pages at {:.0} % loss, {} timers",
                loss * 100.0,
                if learnt { "learnt" } else { "RFC" }
            );
            let r = run(coaster_bin, dist, loss, learnt).await?;
            eprintln!(
                "P7: p50 {:?} p95 {:?}, {} not acknowledged",
                r.p50, r.p95, r.failed
            );
            runs.push(r);
        }
    }
    Ok(crate::report::p7(&runs))
}

async fn run(coaster_bin: &Path, dist: &Path, loss: f64, learnt: bool) -> Result<Run, String> {
    let sim = simulator::server::Simulator::start(simulator::server::Config {
        listen: "127.0.0.1:0".parse().expect("an address"),
        loss,
        seed: 7,
        ..Default::default()
    })
    .await
    .map_err(|e| format!("simulator: {e}"))?;
    let fixed: &[&str] = if learnt {
        &[]
    } else {
        &["--coap-ack-timeout", "2s"]
    };
    let coaster = Coaster::start_with(coaster_bin, sim.local_addr(), dist, fixed)?;
    let mut tablets = Tablets::new(coaster.addr);
    tablets.grow_to(1).await?;
    // The party to page; at 30 % loss the board may take a moment to load.
    let mut attempt = 0;
    loop {
        attempt += 1;
        let op = format!("create-{attempt}");
        let reply = command(&mut tablets, &op, r#"{"type":"create_session","number":1}"#).await?;
        if reply.1.contains("acknowledged") || reply.1.contains("number_in_use") {
            break;
        }
        if attempt > 20 {
            return Err(format!("P7: could not create the party: {}", reply.1));
        }
    }
    let mut samples = Vec::with_capacity(PAGES);
    let mut failed = 0;
    for i in 0..PAGES {
        // A host's pace, well inside a tablet's 20 frames a second.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (took, reply) = command(
            &mut tablets,
            &format!("page-{i}"),
            r#"{"type":"page_session","number":1}"#,
        )
        .await?;
        samples.push(took);
        failed += usize::from(!reply.contains("acknowledged"));
    }
    drop(coaster);
    sim.shutdown().await;
    samples.sort_unstable();
    let at =
        |q: f64| samples[((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1];
    Ok(Run {
        loss,
        learnt,
        p50: at(0.50),
        p95: at(0.95),
        failed,
    })
}

/// Sends one command and waits for its reply: how long, and the reply.
async fn command(
    tablets: &mut Tablets,
    op: &str,
    command: &str,
) -> Result<(Duration, String), String> {
    tablets.drain();
    let frame = format!(r#"{{"op":"{op}","command":{command}}}"#);
    let start = Instant::now();
    tablets.send(0, frame).await?;
    let needle = format!(r#""op":"{op}""#);
    loop {
        let (_, at, text) = tablets.next().await?;
        // The verdict, or an error naming the op (e.g. rate_limited).
        if text.contains(&needle) && !text.contains(r#""type":"progress""#) {
            return Ok((at - start, text.to_string()));
        }
    }
}
