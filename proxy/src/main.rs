//! `coaster`: the host-stand dashboard's server. Serves the dashboard and its
//! WebSocket, and talks CoAP to one T7470 — or to the built-in simulator.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use proxy::app::{self, Options, Tls};
use proxy::limits::Limits;

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
    /// Anything but loopback is served over HTTPS.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,

    /// The built dashboard (trunk's output).
    #[arg(long, value_name = "DIR", default_value = "dist")]
    dist: PathBuf,

    /// The venue's TLS certificate (PEM, chain first). Without it Coaster
    /// makes its own local certificate authority (see /ca on the stand).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,

    /// The private key for --tls-cert (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,

    /// Serve HTTPS on loopback too (it always is elsewhere).
    #[arg(long)]
    tls: bool,

    /// A file holding the venue PIN tablets enter once (6 to 12 digits),
    /// readable only by you. Or set COASTER_PIN in the environment. Required
    /// off loopback; never on the command line, where `ps` shows it.
    #[arg(long, value_name = "FILE")]
    pin_file: Option<PathBuf>,

    /// A tablet's sign-in expires after this many days unused.
    #[arg(long, value_name = "DAYS", default_value_t = proxy::tokens::DEFAULT_TOKEN_DAYS,
          value_parser = clap::value_parser!(u32).range(1..=3650))]
    token_days: u32,

    /// The stand's own history (parties, the audit trail) is kept this many
    /// days, then pruned (checked at start and daily).
    #[arg(long, value_name = "DAYS", default_value_t = proxy::store::DEFAULT_KEEP_DAYS,
          value_parser = clap::value_parser!(u32).range(1..=36500))]
    keep_days: u32,

    /// Show the analytics and quotes at once: three weeks of simulated nights
    /// in a history of their own (`<data-dir>/demo`). Only with the built-in
    /// simulated transmitter.
    #[arg(long)]
    demo: bool,

    /// Fix CoAP's first retransmission timeout (RFC 7252 ACK_TIMEOUT, e.g.
    /// `2s`, `500ms`) instead of learning it from the measured round trip.
    /// For a site whose network needs the RFC's own behaviour.
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    coap_ack_timeout: Option<Duration>,

    /// How long the transmitter may stay silent while a host's command is
    /// carried (read back, sent again when proven not done) before the host is
    /// told it is unreachable; while it answers, a command is carried for up
    /// to three times this.
    #[arg(long, value_name = "DURATION", value_parser = duration, default_value = "30s")]
    command_deadline: Duration,

    /// Where the local certificate authority and tablets' tokens are kept
    /// [default: $XDG_DATA_HOME/coaster or ~/.local/share/coaster].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,

    /// Open connections allowed from one address (an IPv6 /64); a tablet
    /// uses a handful.
    #[arg(long, value_name = "N", default_value_t = Limits::default().connections_per_address)]
    max_connections_per_address: usize,

    /// Open connections allowed in all (lowered to fit the open-file limit).
    #[arg(long, value_name = "N", default_value_t = Limits::default().connections)]
    max_connections: usize,

    /// Tablets connected at once.
    #[arg(long, value_name = "N", default_value_t = Limits::default().tablets)]
    max_tablets: usize,
}

/// How long shutdown may take before the process exits anyway.
const SHUTDOWN_LIMIT: Duration = Duration::from_secs(10);

/// `30s`, `500ms` or plain seconds (`2.5`).
fn duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = match text.strip_suffix("ms") {
        Some(ms) => (ms, 0.001),
        None => (text.strip_suffix('s').unwrap_or(text), 1.0),
    };
    match number.trim().parse::<f64>() {
        Ok(n) if n > 0.0 && n.is_finite() => Ok(Duration::from_secs_f64(n * unit)),
        _ => Err(format!("{text:?} is not a duration (e.g. 30s, 500ms)")),
    }
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
    let pin = match venue_pin(cli.pin_file.as_deref())
        .and_then(|pin| proxy::auth::require_pin(cli.listen.ip(), pin.as_deref()).map(|()| pin))
    {
        Ok(pin) => pin,
        Err(error) => {
            eprintln!("coaster: {error}");
            return std::process::ExitCode::from(2);
        }
    };
    let tls = match (cli.tls_cert, cli.tls_key) {
        (Some(cert), Some(key)) => Tls::Files { cert, key },
        _ if cli.tls || !cli.listen.ip().is_loopback() => Tls::LocalAuthority,
        _ => Tls::Off,
    };
    let running = match app::start(Options {
        listen: cli.listen,
        device,
        dist: cli.dist,
        coap: proxy::coap::Config {
            ack_timeout: cli.coap_ack_timeout.unwrap_or(Duration::from_secs(2)),
            adaptive: cli.coap_ack_timeout.is_none(),
            ..Default::default()
        },
        command_deadline: cli.command_deadline,
        tls,
        pin,
        data_dir: cli.data_dir.unwrap_or_else(app::default_data_dir),
        limits: Limits {
            connections: cli.max_connections,
            connections_per_address: cli.max_connections_per_address,
            tablets: cli.max_tablets,
            ..Limits::default()
        },
        token_days: cli.token_days,
        keep_days: cli.keep_days,
        demo: cli.demo,
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
    println!(
        "coaster listening on {}://{}/",
        running.scheme, running.addr
    );
    if running.ca_pem.is_some() {
        tracing::info!(
            "tablets trust this stand once: open {}://{}/ca",
            running.scheme,
            running.addr
        );
    }
    match &device {
        Some(device) => tracing::info!(%device, "talking to the transmitter"),
        None => tracing::info!(
            simulator = %running.device_addr,
            "no --device given: using the built-in simulated transmitter"
        ),
    }
    app::shutdown_signal().await;
    tracing::info!("shutting down: answering what is in hand");
    if tokio::time::timeout(SHUTDOWN_LIMIT, running.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("shutdown took longer than {SHUTDOWN_LIMIT:?}; exiting anyway");
    }
    tracing::info!("stopped");
    std::process::ExitCode::SUCCESS
}

/// The venue PIN from `--pin-file` or `COASTER_PIN` (not both), checked.
fn venue_pin(file: Option<&std::path::Path>) -> Result<Option<String>, String> {
    // Set but empty counts as unset, as shells and service files write it.
    let from_env = std::env::var("COASTER_PIN")
        .ok()
        .filter(|pin| !pin.trim().is_empty());
    let text = match (file, from_env) {
        (Some(_), Some(_)) => {
            return Err("give the venue PIN once: --pin-file or COASTER_PIN, not both".into())
        }
        (Some(file), None) => {
            warn_if_readable_by_others(file);
            std::fs::read_to_string(file)
                .map_err(|e| format!("cannot read the PIN file {}: {e}", file.display()))?
        }
        (None, Some(text)) => text,
        (None, None) => return Ok(None),
    };
    proxy::auth::venue_pin(&text).map(Some)
}

fn warn_if_readable_by_others(file: &std::path::Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(file) {
            if meta.permissions().mode() & 0o077 != 0 {
                tracing::warn!(file = %file.display(), "others can read the PIN file: chmod 600 it");
            }
        }
    }
}
