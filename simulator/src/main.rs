//! `t7470-sim`: the T7470 simulator as a program. The first stdout line is
//! `listening on ADDR`, so a harness that passes port 0 can find it.

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use simulator::server::{Config, Simulator};

/// A stand-in for an LRS T7470 guest-paging transmitter (CoAP over UDP).
#[derive(Parser, Debug)]
#[command(name = "t7470-sim", version)]
struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:5683")]
    listen: SocketAddr,
    /// Drop each datagram, either way, with this probability (0 to 1).
    #[arg(long, default_value_t = 0.0, value_parser = probability)]
    loss: f64,
    /// Seed for the loss pattern, Message IDs and UUIDs.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Delay every datagram, either way, by this many milliseconds.
    #[arg(long, default_value_t = 0)]
    delay: u64,
    /// Answer CON requests with an empty ACK, then the response as its own CON.
    #[arg(long)]
    separate_responses: bool,
    /// Reboot (forget sessions, sequence and observers) after every N requests.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    reboot_after: Option<u32>,
    /// Seconds between pings to observers of /v1/notify.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    ping_interval: u64,
}

fn probability(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("\"{text}\" is not a number"))?;
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("{value} is not a probability: use 0 to 1"))
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let simulator = Simulator::start(Config {
        listen: args.listen,
        loss: args.loss,
        seed: args.seed,
        delay: Duration::from_millis(args.delay),
        separate_responses: args.separate_responses,
        reboot_after: args.reboot_after,
        ping_interval: Duration::from_secs(args.ping_interval),
        clock: None,
    })
    .await?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "listening on {}", simulator.local_addr())?;
    stdout.flush()?;

    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    tracing::info!("shutting down");
    simulator.shutdown().await;
    Ok(())
}
