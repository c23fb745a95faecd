//! Assembles a running Coaster: the device link (or the built-in simulator),
//! the core's task, the hub and the HTTP/WebSocket listener — and takes them
//! down again. Used by the `coaster` binary and by the tests.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use shared::protocol::DeviceInfo;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::JoinHandle;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::CertificateDer;

use crate::assets::Assets;
use crate::auth::{self, Access};
use crate::coap;
use crate::core::{self, Core};
use crate::hosts::Names;
use crate::http::{self, Site};
use crate::hub::{now_ms, Hub};
use crate::limits::Limits;
use crate::runner::{self, Runner};
use crate::security::Policy;
use crate::store::recorder::Recorder;
use crate::store::{self, Store};
use crate::tls;
use crate::tokens::TokenStore;
use crate::ws::Tablets;

pub struct Options {
    pub listen: SocketAddr,
    /// The transmitter; `None` starts the built-in simulator on loopback.
    pub device: Option<SocketAddr>,
    pub dist: PathBuf,
    /// CoAP timing; the RFC 7252 defaults unless a test shrinks them.
    pub coap: coap::Config,
    /// How long a host's command is carried before it is answered
    /// `unreachable` (`--command-deadline`).
    pub command_deadline: std::time::Duration,
    pub tls: Tls,
    /// The venue PIN; `None` lets every tablet in (loopback only).
    pub pin: Option<String>,
    /// Where the local CA and tablets' tokens are kept.
    pub data_dir: PathBuf,
    pub limits: Limits,
    /// A tablet's token expires after this many days unused.
    pub token_days: u32,
    /// The stand's history is kept this many days (`--keep-days`).
    pub keep_days: u32,
    /// Three weeks of simulated nights in a store of their own (`--demo`).
    pub demo: bool,
}

/// How tablets reach Coaster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tls {
    /// Plain HTTP: only allowed when listening on loopback (development).
    Off,
    /// A certificate signed by Coaster's own CA, kept in the data directory.
    LocalAuthority,
    /// The venue's own certificate and key.
    Files { cert: PathBuf, key: PathBuf },
}

static INSTANCES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl Options {
    /// Options for tests and tools: loopback, plain HTTP, no PIN.
    pub fn local(device: Option<SocketAddr>, dist: PathBuf) -> Self {
        Options {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            device,
            dist,
            coap: coap::Config::default(),
            command_deadline: core::COMMAND_DEADLINE,
            tls: Tls::Off,
            pin: None,
            // One per instance: the op journal kept there must not carry one
            // test's op ids into another's.
            data_dir: std::env::temp_dir().join(format!(
                "coaster-data-{}-{}",
                std::process::id(),
                INSTANCES.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            )),
            limits: Limits::default(),
            token_days: crate::tokens::DEFAULT_TOKEN_DAYS,
            keep_days: store::DEFAULT_KEEP_DAYS,
            demo: false,
        }
    }
}

/// `$XDG_DATA_HOME/coaster`, else `~/.local/share/coaster`.
pub fn default_data_dir() -> PathBuf {
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."))
        .join("coaster")
}

pub struct Running {
    /// Where tablets connect.
    pub addr: SocketAddr,
    /// `http` or `https`.
    pub scheme: &'static str,
    /// The local CA's certificate, when Coaster made its own.
    pub ca_pem: Option<String>,
    /// Where the proxy sends CoAP.
    pub device_addr: SocketAddr,
    pub hub: Hub,
    #[cfg(feature = "simulator")]
    pub simulator: Option<simulator::server::SimulatorHandle>,
    /// The proxy's own UDP address, as the device sees it.
    pub coap_addr: SocketAddr,
    /// Stops the listener, every connection and every tablet.
    stop_serving: watch::Sender<bool>,
    /// Stops the core's task, once tablets' commands are answered.
    stop_core: watch::Sender<bool>,
    listener: JoinHandle<()>,
    runner: JoinHandle<()>,
    /// Flushed last, so the verdicts of the final commands are on disk.
    pub store: Store,
}

/// `HOST` or `HOST:PORT`, resolved; CoAP's port 5683 when none is given.
pub fn resolve_device(text: &str) -> Result<SocketAddr, String> {
    use std::net::ToSocketAddrs;
    let with_port = if text.parse::<SocketAddr>().is_ok()
        || text
            .rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        text.to_string()
    } else {
        format!("{text}:5683")
    };
    with_port
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve transmitter address {text:?}: {e}"))?
        .next()
        .ok_or_else(|| format!("transmitter address {text:?} resolves to nothing"))
}

pub async fn start(mut options: Options) -> std::io::Result<Running> {
    if options.demo {
        if options.device.is_some() {
            return Err(std::io::Error::other(
                "--demo is for the built-in simulated transmitter only: drop --device (a real stand's history is never mixed with made-up nights)",
            ));
        }
        // Never the real store: the demo's nights live beside it.
        options.data_dir = options.data_dir.join("demo");
    }
    if options.tls == Tls::Off && !options.listen.ip().is_loopback() {
        return Err(std::io::Error::other(format!(
            "plain HTTP is only for loopback; {} needs TLS (drop --no-tls, or give --tls-cert and --tls-key)",
            options.listen
        )));
    }
    if let Some(pin) = &options.pin {
        auth::venue_pin(pin).map_err(std::io::Error::other)?;
    }
    auth::require_pin(options.listen.ip(), options.pin.as_deref())
        .map_err(std::io::Error::other)?;
    // First: a second Coaster on this data directory stops here.
    let store = Store::open(&options.data_dir, store::VENUE, options.keep_days)
        .map_err(std::io::Error::other)?;
    if options.demo {
        demo_nights(&store)?;
    }
    let identity = match &options.tls {
        Tls::Off => None,
        Tls::Files { cert, key } => Some(tls::file_identity(cert, key)?),
        Tls::LocalAuthority => {
            let (names, addresses) = tls::box_names();
            Some(tls::local_identity(
                &options.data_dir.join("tls"),
                &names,
                &addresses,
            )?)
        }
    };
    let acceptor = identity
        .as_ref()
        .map(tls::server_config)
        .transpose()?
        .map(tokio_rustls::TlsAcceptor::from);
    let assets = Assets::load(&options.dist)?;
    if assets.is_empty() {
        tracing::warn!(dist = %options.dist.display(), "no built dashboard found; tablets will see how to build it");
    }
    let tokens = match &options.pin {
        Some(_) => {
            forget_legacy_token_files(&options.data_dir);
            TokenStore::open(
                &options.data_dir.join("tablets"),
                options.token_days,
                auth::now_ms(),
            )?
        }
        None => TokenStore::in_memory(options.token_days),
    };
    let access = Arc::new(Mutex::new(Access::new(options.pin, tokens)));
    #[cfg(feature = "simulator")]
    let simulator = match options.device {
        Some(_) => None,
        None => Some(
            simulator::server::Simulator::start(simulator::server::Config {
                listen: "127.0.0.1:0".parse().expect("a loopback address"),
                ..Default::default()
            })
            .await?,
        ),
    };
    #[cfg(feature = "simulator")]
    let (device_addr, simulated) = match (&simulator, options.device) {
        (Some(sim), _) => (sim.local_addr(), true),
        (None, Some(addr)) => (addr, false),
        (None, None) => unreachable!("either a device or the simulator"),
    };
    #[cfg(not(feature = "simulator"))]
    let (device_addr, simulated) = match options.device {
        Some(addr) => (addr, false),
        None => {
            return Err(std::io::Error::other(
                "this build has no simulated transmitter: give --device HOST:PORT",
            ))
        }
    };
    let socket = runner::device_socket(device_addr).await?;
    let coap_addr = socket.local_addr()?;
    let info = DeviceInfo {
        address: device_addr.to_string(),
        simulated,
        ..Default::default()
    };
    std::fs::create_dir_all(&options.data_dir)?;
    let journal = options.data_dir.join("ops.json");
    let core = Core::new(
        core::Config {
            command_deadline: options.command_deadline,
            max_waiting: core::MAX_WAITING,
            coap: options.coap,
        },
        device_addr,
        info,
        rand::random(),
        tokio::time::Instant::now().into_std(),
        now_ms(),
        std::fs::read(&journal).ok().as_deref(),
    );
    let (hub, asks) = Hub::new();
    let (stop_serving, serving) = watch::channel(false);
    let (stop_core, core_stopped) = watch::channel(false);
    let (jobs, jobs_rx) = mpsc::channel(1024);
    let listener = TcpListener::bind(options.listen).await?;
    let addr = listener.local_addr()?;
    let (box_names, box_addresses) = tls::box_names();
    let leaf = identity
        .as_ref()
        .and_then(|i| CertificateDer::pem_slice_iter(i.chain_pem.as_bytes()).next())
        .and_then(Result::ok);
    let limits = match crate::limits::raise_open_file_limit() {
        Some(open_files) => options.limits.fit_to(open_files),
        None => options.limits,
    };
    let site = Arc::new(Site {
        policy: Policy::new(assets.get("/index.html").map(|page| &page.body[..])),
        assets,
        tablets: Arc::new(Tablets {
            hub: hub.clone(),
            jobs,
            simulated,
            stopping: serving.clone(),
            access: access.clone(),
            limits: Default::default(),
        }),
        access,
        ca_pem: identity.as_ref().and_then(|i| i.ca_pem.clone()),
        names: Names::new(
            addr.port(),
            acceptor.is_some(),
            &box_names,
            &box_addresses,
            leaf,
        ),
        tls: acceptor,
        tablet_slots: Arc::new(Semaphore::new(limits.tablets)),
        store: store.clone(),
        lobby: Mutex::new(crate::lobby::LobbyLinks::open(&options.data_dir)?),
        limits,
    });
    let runner = Runner {
        socket,
        core,
        jobs: jobs_rx,
        asks,
        hub: hub.clone(),
        journal: Some(journal),
        store: store.clone(),
        recorder: Recorder::new(),
    };
    let runner = tokio::spawn(runner.run(core_stopped));
    let listener = tokio::spawn(http::run(listener, site.clone(), serving));
    Ok(Running {
        addr,
        scheme: if site.tls.is_some() { "https" } else { "http" },
        ca_pem: site.ca_pem.clone(),
        device_addr,
        hub,
        #[cfg(feature = "simulator")]
        simulator,
        coap_addr,
        stop_serving,
        stop_core,
        listener,
        runner,
        store,
    })
}

impl Running {
    /// Stops accepting, lets connections finish their requests and tablets
    /// get the verdicts of commands already sent (up to [`Limits::drain`]),
    /// then stops the core's task and the device link.
    pub async fn shutdown(self) {
        let _ = self.stop_serving.send(true);
        let _ = self.listener.await;
        let _ = self.stop_core.send(true);
        let _ = self.runner.await;
        let store = self.store.clone();
        let flushed = tokio::task::spawn_blocking(move || store.flush(STORE_FLUSH)).await;
        if !flushed.unwrap_or(false) {
            tracing::warn!("the store did not finish writing within {STORE_FLUSH:?}");
        }
        #[cfg(feature = "simulator")]
        if let Some(simulator) = self.simulator {
            simulator.shutdown().await;
        }
    }
}

/// Fills an empty demo store with the three weeks of nights before today.
fn demo_nights(store: &Store) -> std::io::Result<()> {
    let empty = store.past(0, i64::MAX).map_or(true, |p| p.is_empty());
    if !empty {
        return Ok(());
    }
    // Service opened three hours ago, every night: whenever the demo is
    // started, the analytics peak and the quotes have nights like this hour.
    let day_ms = 24 * 3600 * 1000;
    let open = (now_ms() - 3 * 3600 * 1000).rem_euclid(day_ms) / 60_000;
    let today = now_ms().div_euclid(day_ms);
    let nights = store::nights::generate_from(rand::random(), today - 21, 21, 1.0, open);
    let mut conn = store::writer::open(store.path()).map_err(std::io::Error::other)?;
    store::nights::write(&mut conn, store.venue(), &nights).map_err(std::io::Error::other)?;
    tracing::info!(
        parties = nights.len(),
        "the demo's history: three weeks of simulated nights"
    );
    Ok(())
}

/// How long shutdown waits for the store to write what is queued.
const STORE_FLUSH: std::time::Duration = std::time::Duration::from_secs(5);

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("a SIGTERM handler");
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}

/// Before tokens.jsonl, tokens were kept in plain text in `tokens-<hash of
/// the PIN>`: a file name from which the PIN could be computed. Gone at start.
fn forget_legacy_token_files(data_dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(data_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if name.to_string_lossy().starts_with("tokens-") {
            match std::fs::remove_file(entry.path()) {
                Ok(()) => {
                    tracing::info!(file = %entry.path().display(), "removed an old plain-text token file; tablets sign in again once")
                }
                Err(error) => {
                    tracing::warn!(%error, file = %entry.path().display(), "could not remove an old plain-text token file")
                }
            }
        }
    }
}
