//! Assembles a running Coaster: the device link (or the built-in simulator),
//! the coordinator, the hub and the HTTP/WebSocket listener — and takes them
//! down again. Used by the `coaster` binary and by the tests.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use shared::protocol::{DeviceInfo, MirrorState};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::coap::{self, Driver};
use crate::coordinator;
use crate::device::Device;
use crate::http::{self, Site};
use crate::hub::Hub;
use crate::ws::Tablets;

pub struct Options {
    pub listen: SocketAddr,
    /// The transmitter; `None` starts the built-in simulator on loopback.
    pub device: Option<SocketAddr>,
    pub dist: PathBuf,
    /// CoAP timing; the RFC 7252 defaults unless a test shrinks them.
    pub coap: coap::Config,
}

pub struct Running {
    /// Where tablets connect.
    pub addr: SocketAddr,
    /// Where the proxy sends CoAP.
    pub device_addr: SocketAddr,
    pub hub: Hub,
    pub simulator: Option<simulator::server::SimulatorHandle>,
    /// The proxy's own UDP address, as the device sees it.
    pub coap_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    driver: Driver,
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
    let driver = Driver::start(device_addr, options.coap).await?;
    let coap_addr = driver.local_addr();
    let device = Device::new(driver.handle());
    let info = DeviceInfo {
        address: device_addr.to_string(),
        simulated: simulator.is_some(),
        ..Default::default()
    };
    let hub = Hub::new(MirrorState {
        device: info.clone(),
        ..Default::default()
    });
    let (shutdown, shutdown_rx) = watch::channel(false);
    let (jobs, jobs_rx) = mpsc::channel(1024);
    let listener = TcpListener::bind(options.listen).await?;
    let addr = listener.local_addr()?;
    let site = Arc::new(Site {
        dist: options.dist,
        tablets: Arc::new(Tablets {
            hub: hub.clone(),
            jobs,
            simulated: simulator.is_some(),
        }),
    });
    let tasks = vec![
        tokio::spawn(coordinator::run(
            device,
            driver.handle(),
            info,
            hub.clone(),
            jobs_rx,
            shutdown_rx.clone(),
        )),
        tokio::spawn(http::run(listener, site, shutdown_rx)),
    ];
    Ok(Running {
        addr,
        device_addr,
        hub,
        simulator,
        coap_addr,
        shutdown,
        tasks,
        driver,
    })
}

impl Running {
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
        self.driver.shutdown().await;
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
