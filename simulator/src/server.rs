//! The tokio UDP driver: one socket, one [`Endpoint`], a timer set from
//! `next_deadline`, and seeded fault injection (loss, delay) on datagrams in
//! both directions. [`Simulator::start`] returns a [`SimulatorHandle`] for
//! reading the device's state and page log and for shutting down.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use shared::time::DeviceTime;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::clock::host_local_time;
use crate::endpoint::{Endpoint, EndpointConfig, Outgoing};
use crate::model::{Device, DeviceState, PageRecord};
use crate::observe::DEFAULT_PING_INTERVAL;

#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    /// Probability of dropping each datagram, in either direction.
    pub loss: f64,
    /// Seeds the loss pattern, Message IDs, jitter and UUIDs: runs repeat.
    pub seed: u64,
    /// Added to every datagram in either direction.
    pub delay: Duration,
    pub separate_responses: bool,
    pub reboot_after: Option<u32>,
    pub ping_interval: Duration,
    /// The device clock's reading at start; `None` is the host's local time.
    pub clock: Option<DeviceTime>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 5683)),
            loss: 0.0,
            seed: 0,
            delay: Duration::ZERO,
            separate_responses: false,
            reboot_after: None,
            ping_interval: DEFAULT_PING_INTERVAL,
            clock: None,
        }
    }
}

/// Datagram counts, for tests that want to know how hard the network was.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Traffic {
    pub received: u64,
    pub sent: u64,
    pub dropped_inbound: u64,
    pub dropped_outbound: u64,
}

#[derive(Default)]
struct Counters {
    received: AtomicU64,
    sent: AtomicU64,
    dropped_inbound: AtomicU64,
    dropped_outbound: AtomicU64,
}

pub struct Simulator;

impl Simulator {
    /// Binds `config.listen` and serves until [`SimulatorHandle::shutdown`] (or drop).
    pub async fn start(config: Config) -> io::Result<SimulatorHandle> {
        let socket = Arc::new(UdpSocket::bind(config.listen).await?);
        let local_addr = socket.local_addr()?;
        let now = Instant::now();
        let device = Device::new(
            config.clock.unwrap_or_else(host_local_time),
            now,
            config.seed,
        );
        let endpoint = Arc::new(Mutex::new(Endpoint::new(
            device,
            EndpointConfig {
                ping_interval: config.ping_interval,
                separate_responses: config.separate_responses,
                reboot_after: config.reboot_after,
                seed: config.seed,
            },
        )));
        let counters = Arc::new(Counters::default());
        let faults = Faults {
            loss: config.loss,
            delay: config.delay,
            inbound: StdRng::seed_from_u64(config.seed ^ 0x1b),
            outbound: StdRng::seed_from_u64(config.seed ^ 0x0b),
        };
        let (shutdown_tx, shutdown_rx) = oneshot::channel();
        let driver = Driver {
            socket,
            endpoint: endpoint.clone(),
            faults,
            counters: counters.clone(),
        };
        let task = tokio::spawn(driver.run(shutdown_rx));
        tracing::info!(%local_addr, "T7470 simulator listening");
        Ok(SimulatorHandle {
            local_addr,
            endpoint,
            counters,
            shutdown: Some(shutdown_tx),
            task: Some(task),
        })
    }
}

pub struct SimulatorHandle {
    local_addr: SocketAddr,
    endpoint: Arc<Mutex<Endpoint>>,
    counters: Arc<Counters>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl SimulatorHandle {
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Every page transmitted so far, oldest first.
    pub fn pages(&self) -> Vec<PageRecord> {
        self.endpoint().pages().to_vec()
    }

    /// Active sessions, history, statistics, settings and the global sequence, now.
    pub fn state(&self) -> DeviceState {
        self.endpoint().device_state(Instant::now())
    }

    pub fn observer_count(&self) -> usize {
        self.endpoint().observer_count()
    }

    pub fn traffic(&self) -> Traffic {
        let c = &self.counters;
        Traffic {
            received: c.received.load(Ordering::Relaxed),
            sent: c.sent.load(Ordering::Relaxed),
            dropped_inbound: c.dropped_inbound.load(Ordering::Relaxed),
            dropped_outbound: c.dropped_outbound.load(Ordering::Relaxed),
        }
    }

    /// Stops serving and waits until the socket is closed.
    pub async fn shutdown(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    fn endpoint(&self) -> MutexGuard<'_, Endpoint> {
        // A panic inside the endpoint is a bug the test will already report;
        // the state it left is still worth reading.
        self.endpoint
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for SimulatorHandle {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

struct Faults {
    loss: f64,
    delay: Duration,
    inbound: StdRng,
    outbound: StdRng,
}

fn lost(loss: f64, rng: &mut StdRng) -> bool {
    loss > 0.0 && rng.gen_bool(loss.min(1.0))
}

struct Driver {
    socket: Arc<UdpSocket>,
    endpoint: Arc<Mutex<Endpoint>>,
    faults: Faults,
    counters: Arc<Counters>,
}

impl Driver {
    async fn run(mut self, mut shutdown: oneshot::Receiver<()>) {
        let (delayed_tx, mut delayed_rx) = mpsc::unbounded_channel::<(Vec<u8>, SocketAddr)>();
        let mut buf = vec![0u8; 65_536];
        loop {
            let deadline = self.lock().next_deadline();
            let timer = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = &mut shutdown => break,
                received = self.socket.recv_from(&mut buf) => {
                    let Ok((len, from)) = received else { continue };
                    self.counters.received.fetch_add(1, Ordering::Relaxed);
                    if lost(self.faults.loss, &mut self.faults.inbound) {
                        self.counters.dropped_inbound.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    let bytes = buf[..len].to_vec();
                    if self.faults.delay.is_zero() {
                        self.on_datagram(&bytes, from);
                    } else {
                        let (tx, delay) = (delayed_tx.clone(), self.faults.delay);
                        tokio::spawn(async move {
                            tokio::time::sleep(delay).await;
                            let _ = tx.send((bytes, from));
                        });
                    }
                }
                Some((bytes, from)) = delayed_rx.recv() => self.on_datagram(&bytes, from),
                _ = timer => {
                    let out = self.lock().on_timeout(Instant::now());
                    self.send(out);
                }
            }
        }
    }

    fn on_datagram(&mut self, bytes: &[u8], from: SocketAddr) {
        let out = self.lock().on_datagram(bytes, from, Instant::now());
        self.send(out);
    }

    fn send(&mut self, out: Vec<Outgoing>) {
        for Outgoing { bytes, to } in out {
            if lost(self.faults.loss, &mut self.faults.outbound) {
                self.counters
                    .dropped_outbound
                    .fetch_add(1, Ordering::Relaxed);
                continue;
            }
            self.counters.sent.fetch_add(1, Ordering::Relaxed);
            let (socket, delay) = (self.socket.clone(), self.faults.delay);
            if delay.is_zero() {
                // UDP send on loopback does not block; a full buffer is loss.
                let _ = socket.try_send_to(&bytes, to);
            } else {
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    let _ = socket.send_to(&bytes, to).await;
                });
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, Endpoint> {
        self.endpoint
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
