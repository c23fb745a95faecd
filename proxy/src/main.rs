//! `coaster`: the host-stand dashboard's server. Serves the dashboard and its
//! WebSocket, and talks CoAP to one T7470 — or to the built-in simulator.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use proxy::app::{self, Options};

#[derive(Parser, Debug)]
#[command(
    name = "coaster",
    version,
    about = "Host-stand dashboard for LRS T7470 guest-paging transmitters"
)]
struct Cli {
    /// The transmitter, HOST or HOST:PORT (CoAP, UDP port 5683 by default).
    /// Without it Coaster starts its built-in simulated transmitter.
    #[arg(long, value_name = "HOST:PORT")]
    device: Option<String>,

    /// Where tablets connect: the dashboard and its WebSocket on one port.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,

    /// The built dashboard (trunk's output).
    #[arg(long, value_name = "DIR", default_value = "dist")]
    dist: PathBuf,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let device = match cli.device.as_deref().map(app::resolve_device).transpose() {
        Ok(device) => device,
        Err(error) => {
            eprintln!("coaster: {error}");
            return std::process::ExitCode::from(2);
        }
    };
    let running = match app::start(Options {
        listen: cli.listen,
        device,
        dist: cli.dist,
        coap: Default::default(),
    })
    .await
    {
        Ok(running) => running,
        Err(error) => {
            eprintln!("coaster: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    // The first stdout line is what scripts and tests wait for.
    println!("coaster listening on http://{}/", running.addr);
    match &device {
        Some(device) => tracing::info!(%device, "talking to the transmitter"),
        None => tracing::info!(
            simulator = %running.device_addr,
            "no --device given: using the built-in simulated transmitter"
        ),
    }
    app::shutdown_signal().await;
    tracing::info!("shutting down");
    running.shutdown().await;
    std::process::ExitCode::SUCCESS
}
