//! Assembles a running Coaster: the device link (or the built-in simulator),
//! the core's task, the hub and the HTTP/WebSocket listener — and takes them
//! down again. Used by the `coaster` binary and by the tests.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use shared::protocol::DeviceInfo;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::assets::Assets;
use crate::auth::Access;
use crate::coap;
use crate::core::{self, Core};
use crate::http::{self, Site};
use crate::hub::{now_ms, Hub};
use crate::runner::{self, Runner};
use crate::tls;
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
    /// The venue PIN; `None` lets every tablet in.
    pub pin: Option<String>,
    /// Where the local CA and tablets' tokens are kept.
    pub data_dir: PathBuf,
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
    pub simulator: Option<simulator::server::SimulatorHandle>,
    /// The proxy's own UDP address, as the device sees it.
    pub coap_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
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

pub async fn start(options: Options) -> std::io::Result<Running> {
    if options.tls == Tls::Off && !options.listen.ip().is_loopback() {
        return Err(std::io::Error::other(format!(
            "plain HTTP is only for loopback; {} needs TLS (drop --no-tls, or give --tls-cert and --tls-key)",
            options.listen
        )));
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
    release_startup_memory();
    if assets.is_empty() {
        tracing::warn!(dist = %options.dist.display(), "no built dashboard found; tablets will see how to build it");
    }
    let token_file = options
        .pin
        .as_deref()
        .map(|pin| token_file(&options.data_dir, pin));
    let tokens = token_file
        .as_ref()
        .and_then(|f| std::fs::read_to_string(f).ok())
        .map(|text| text.lines().map(str::to_string).collect::<Vec<_>>())
        .unwrap_or_default();
    if let Some(file) = &token_file {
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir)?;
        }
    }
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
    let device_addr = match (&simulator, options.device) {
        (Some(sim), _) => sim.local_addr(),
        (None, Some(addr)) => addr,
        (None, None) => unreachable!("either a device or the simulator"),
    };
    let socket = runner::device_socket(device_addr).await?;
    let coap_addr = socket.local_addr()?;
    let info = DeviceInfo {
        address: device_addr.to_string(),
        simulated: simulator.is_some(),
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
    let (shutdown, shutdown_rx) = watch::channel(false);
    let (jobs, jobs_rx) = mpsc::channel(1024);
    let listener = TcpListener::bind(options.listen).await?;
    let addr = listener.local_addr()?;
    let site = Arc::new(Site {
        assets,
        tablets: Arc::new(Tablets {
            hub: hub.clone(),
            jobs,
            simulated: simulator.is_some(),
            limits: Default::default(),
        }),
        access: Mutex::new(Access::new(options.pin, tokens)),
        token_file,
        ca_pem: identity.as_ref().and_then(|i| i.ca_pem.clone()),
        tls: acceptor,
    });
    let runner = Runner {
        socket,
        core,
        jobs: jobs_rx,
        asks,
        hub: hub.clone(),
        journal: Some(journal),
    };
    let tasks = vec![
        tokio::spawn(runner.run(shutdown_rx.clone())),
        tokio::spawn(http::run(listener, site.clone(), shutdown_rx)),
    ];
    Ok(Running {
        addr,
        scheme: if site.tls.is_some() { "https" } else { "http" },
        ca_pem: site.ca_pem.clone(),
        device_addr,
        hub,
        simulator,
        coap_addr,
        shutdown,
        tasks,
    })
}

impl Running {
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
        if let Some(simulator) = self.simulator {
            simulator.shutdown().await;
        }
    }
}

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

/// Tokens are kept per PIN: changing the PIN signs every tablet out.
fn token_file(data_dir: &std::path::Path, pin: &str) -> PathBuf {
    use std::hash::{Hash, Hasher};
    // Not a secret, only a name that changes with the PIN.
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    pin.hash(&mut hasher);
    data_dir.join(format!("tokens-{:016x}", hasher.finish()))
}

/// Hands the heap that start-up freed back to the OS. Compressing the
/// dashboard (brotli at its best takes some 25 MiB for a moment) leaves
/// glibc's heap holding about 7 MiB of free pages for the rest of the night;
/// trimming it halves the proxy's resident memory.
fn release_startup_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory to the OS; it is safe to
    // call at any time, from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}
