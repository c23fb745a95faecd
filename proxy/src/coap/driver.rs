//! The thin tokio side: one task owns the UDP socket, the [`Endpoint`] and one
//! timer; callers talk to it through a cloneable [`Handle`].
//!
//! Time is read from `tokio::time::Instant` and converted, so the whole stack
//! runs under `tokio::time::pause()` in tests.

use std::collections::HashMap;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot, watch, Notify};
use tokio::task::JoinHandle;
use tokio::time::{sleep_until, Instant};

use super::{
    Config, Endpoint, Event, ExchangeError, ExchangeId, LinkHealth, Probe, Request, Response,
};

/// Notifications not yet taken by the observer; beyond this they are dropped
/// (the device's sequence numbers show the gap, so the mirror resyncs).
const NOTIFICATION_BUFFER: usize = 256;
/// Larger than any CoAP datagram the device sends (1024-byte blocks plus headers).
const RECV_BUFFER: usize = 2048;

type Reply = oneshot::Sender<Result<Response, ExchangeError>>;
type ObserveReply = oneshot::Sender<Result<Observation, ExchangeError>>;

enum Command {
    Request(Request, Reply),
    Observe(Request, ObserveReply),
    Cancel(ExchangeId),
    SetProbe(Probe),
}

/// Owns the driver task; dropping it (or [`Driver::shutdown`]) stops the task.
pub struct Driver {
    handle: Handle,
    local_addr: SocketAddr,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

/// What callers use; cheap to clone, one per component.
#[derive(Clone)]
pub struct Handle {
    commands: mpsc::UnboundedSender<Command>,
    health: watch::Receiver<LinkHealth>,
    probe_due: Arc<Notify>,
}

/// A live Observe registration.
pub struct Observation {
    pub id: ExchangeId,
    /// The answer to the registration itself (with `?action=get_sessions`, the snapshot).
    pub first: Response,
    /// Fresh notifications, in order; closes when the device ends the observation.
    pub notifications: mpsc::Receiver<Response>,
}

impl Driver {
    /// Binds a [`device_socket`] and starts the task.
    pub async fn start(device: SocketAddr, config: Config) -> io::Result<Driver> {
        let socket = device_socket(device).await?;
        let local_addr = socket.local_addr()?;
        let now = Instant::now().into_std();
        let endpoint = Endpoint::new(config, device, rand::random(), now);
        let (commands, commands_rx) = mpsc::unbounded_channel();
        let (health_tx, health) = watch::channel(endpoint.health(now));
        let probe_due = Arc::new(Notify::new());
        let (shutdown, shutdown_rx) = oneshot::channel();
        let task = Task {
            socket,
            device,
            endpoint,
            commands: commands_rx,
            health: health_tx,
            probe_due: probe_due.clone(),
            pending: HashMap::new(),
            observers: HashMap::new(),
        };
        let task = tokio::spawn(task.run(shutdown_rx));
        let handle = Handle {
            commands,
            health,
            probe_due,
        };
        Ok(Driver {
            handle,
            local_addr,
            shutdown,
            task,
        })
    }

    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }

    /// The proxy's own UDP address, as the device sees it.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops the task and waits for it; unfinished requests fail with `Closed`.
    pub async fn shutdown(self) {
        // An error means the task already ended, which is the goal.
        let _ = self.shutdown.send(());
        let _ = self.task.await;
    }
}

/// Binds a UDP socket (loopback for a loopback device, else the unspecified
/// address of the device's family, port 0) and connects it to the device:
/// connected, the OS sends only to the device and delivers only the device's
/// datagrams, whatever any caller asks for.
pub async fn device_socket(device: SocketAddr) -> io::Result<UdpSocket> {
    let ip = match (device.is_ipv4(), device.ip().is_loopback()) {
        (true, true) => Ipv4Addr::LOCALHOST.into(),
        (true, false) => Ipv4Addr::UNSPECIFIED.into(),
        (false, true) => Ipv6Addr::LOCALHOST.into(),
        (false, false) => Ipv6Addr::UNSPECIFIED.into(),
    };
    let socket = UdpSocket::bind(SocketAddr::new(ip, 0)).await?;
    socket.connect(device).await?;
    Ok(socket)
}

impl Handle {
    /// One request through the shared NSTART=1 queue; bounded by the config's deadline.
    pub async fn request(&self, request: Request) -> Result<Response, ExchangeError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Request(request, reply))?;
        answer.await.unwrap_or(Err(ExchangeError::Closed))
    }

    /// Registers an observation (the endpoint adds Observe=0).
    pub async fn observe(&self, request: Request) -> Result<Observation, ExchangeError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Observe(request, reply))?;
        answer.await.unwrap_or(Err(ExchangeError::Closed))
    }

    /// Forgets an observation; the device is deregistered by RST on its next notification.
    pub fn cancel(&self, id: ExchangeId) {
        // A stopped driver has nothing left to cancel.
        let _ = self.commands.send(Command::Cancel(id));
    }

    pub fn set_probe(&self, probe: Probe) {
        let _ = self.commands.send(Command::SetProbe(probe));
    }

    /// With [`Probe::Caller`]: resolves when the link is idle and needs a probe request.
    pub async fn probe_due(&self) {
        self.probe_due.notified().await
    }

    pub fn health(&self) -> watch::Receiver<LinkHealth> {
        self.health.clone()
    }

    fn send(&self, command: Command) -> Result<(), ExchangeError> {
        self.commands
            .send(command)
            .map_err(|_| ExchangeError::Closed)
    }
}

enum Pending {
    Request(Reply),
    Observe(ObserveReply),
}

struct Task {
    socket: UdpSocket,
    device: SocketAddr,
    endpoint: Endpoint,
    commands: mpsc::UnboundedReceiver<Command>,
    health: watch::Sender<LinkHealth>,
    probe_due: Arc<Notify>,
    pending: HashMap<ExchangeId, Pending>,
    observers: HashMap<ExchangeId, mpsc::Sender<Response>>,
}

fn now() -> std::time::Instant {
    Instant::now().into_std()
}

impl Task {
    async fn run(mut self, mut shutdown: oneshot::Receiver<()>) {
        let mut buf = vec![0; RECV_BUFFER];
        loop {
            self.flush().await;
            let wake = self.endpoint.poll_timeout(now()).map(Instant::from_std);
            let timer = async {
                match wake {
                    Some(at) => sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = &mut shutdown => break,
                command = self.commands.recv() => match command {
                    Some(command) => self.command(command),
                    None => break,
                },
                received = self.socket.recv(&mut buf) => match received {
                    Ok(n) => {
                        // An observer that went away is forgotten first, so a
                        // notification for it is answered with RST (deregistration).
                        self.forget_dropped_observers();
                        self.endpoint.handle_datagram(self.device, &buf[..n], now());
                    }
                    // E.g. an ICMP error for an earlier datagram: the endpoint's timers cover it.
                    Err(e) => tracing::debug!(%e, "UDP receive failed"),
                },
                () = timer => self.endpoint.handle_timeout(now()),
            }
        }
    }

    fn command(&mut self, command: Command) {
        let now = now();
        match command {
            Command::Request(request, reply) => {
                let id = self.endpoint.submit(request, now);
                self.pending.insert(id, Pending::Request(reply));
            }
            Command::Observe(request, reply) => {
                let id = self.endpoint.observe(request, now);
                self.pending.insert(id, Pending::Observe(reply));
            }
            Command::Cancel(id) => {
                self.observers.remove(&id);
                self.endpoint.cancel(id, now);
            }
            Command::SetProbe(probe) => self.endpoint.set_probe(probe),
        }
    }

    /// Sends what the endpoint produced, hands out its events, publishes health.
    async fn flush(&mut self) {
        loop {
            while let Some(datagram) = self.endpoint.poll_transmit() {
                if let Err(e) = self.socket.send(&datagram).await {
                    // Lost like any datagram; retransmission and liveness deal with it.
                    tracing::debug!(%e, "UDP send failed");
                }
            }
            // Handing out an event can cancel an exchange and so start the next one.
            let Some(event) = self.endpoint.poll_event() else {
                break;
            };
            self.event(event);
        }
        let health = self.endpoint.health(now());
        self.health
            .send_if_modified(|h| std::mem::replace(h, health) != health);
    }

    fn event(&mut self, event: Event) {
        match event {
            Event::Response { id, result } => match self.pending.remove(&id) {
                Some(Pending::Request(reply)) => {
                    // The caller may have stopped waiting; the answer is then unneeded.
                    let _ = reply.send(result);
                }
                Some(Pending::Observe(reply)) => {
                    let observation = result.map(|first| {
                        let (tx, notifications) = mpsc::channel(NOTIFICATION_BUFFER);
                        self.observers.insert(id, tx);
                        Observation {
                            id,
                            first,
                            notifications,
                        }
                    });
                    if reply.send(observation).is_err() {
                        self.forget(id);
                    }
                }
                None => {}
            },
            Event::Notification { id, response } => {
                let Some(tx) = self.observers.get(&id) else {
                    return;
                };
                match tx.try_send(response) {
                    Ok(()) => {}
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        tracing::warn!(?id, "observer is not keeping up; dropped a notification");
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => self.forget(id),
                }
            }
            Event::ObservationEnded { id } => {
                self.observers.remove(&id);
            }
            Event::ProbeDue => self.probe_due.notify_one(),
        }
    }

    fn forget_dropped_observers(&mut self) {
        let dropped: Vec<_> = self
            .observers
            .iter()
            .filter(|(_, tx)| tx.is_closed())
            .map(|(id, _)| *id)
            .collect();
        for id in dropped {
            self.forget(id);
        }
    }

    fn forget(&mut self, id: ExchangeId) {
        self.observers.remove(&id);
        self.endpoint.cancel(id, now());
    }
}
