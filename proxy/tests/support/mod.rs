//! A real WebSocket tablet for tests: it keeps its own copy of the mirror by
//! applying the proxy's snapshot and deltas exactly as the dashboard does.

#![allow(dead_code)] // each test binary uses a different part of this kit

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use shared::protocol::{ClientMsg, Command, MirrorState, ServerMsg, Verdict};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub struct Tablet {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub state: MirrorState,
    pub simulated: Option<bool>,
    next_op: u64,
    name: String,
    /// Replies and errors not yet claimed by `verdict`.
    pub unclaimed: Vec<ServerMsg>,
}

/// A bare WebSocket to the stand, opened as a browser does: from the page's
/// origin, which the proxy checks.
pub async fn open_socket(addr: SocketAddr) -> WebSocketStream<MaybeTlsStream<TcpStream>> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = format!("ws://{addr}/ws").into_client_request().unwrap();
    let origin = format!("http://{addr}").parse().unwrap();
    request.headers_mut().insert("Origin", origin);
    let (ws, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("the proxy accepts a WebSocket");
    ws
}

impl Tablet {
    pub async fn connect(addr: SocketAddr, name: &str) -> Tablet {
        let ws = open_socket(addr).await;
        let mut tablet = Tablet {
            ws,
            state: MirrorState::default(),
            simulated: None,
            next_op: 0,
            name: name.to_string(),
            unclaimed: Vec::new(),
        };
        // Hello, then the snapshot.
        while tablet.simulated.is_none() || tablet.state.device.address.is_empty() {
            tablet.next_message().await;
        }
        tablet
    }

    pub async fn send_raw(&mut self, text: &str) {
        self.ws
            .send(Message::Text(text.into()))
            .await
            .expect("send a frame");
    }

    /// Sends a command and returns its op id.
    pub async fn send(&mut self, command: Command) -> String {
        self.next_op += 1;
        let op = format!("{}-{}", self.name, self.next_op);
        self.resend(&op, command).await;
        op
    }

    pub async fn resend(&mut self, op: &str, command: Command) {
        let msg = ClientMsg {
            op: op.to_string(),
            command,
        };
        let text = serde_json::to_string(&msg).unwrap();
        self.send_raw(&text).await;
    }

    /// Sends a command and waits for its verdict.
    pub async fn run(&mut self, command: Command) -> Verdict {
        let op = self.send(command).await;
        self.verdict(&op).await
    }

    pub async fn verdict(&mut self, op: &str) -> Verdict {
        loop {
            if let Some(i) = self
                .unclaimed
                .iter()
                .position(|m| matches!(m, ServerMsg::Reply { op: o, .. } if o == op))
            {
                let ServerMsg::Reply { verdict, .. } = self.unclaimed.remove(i) else {
                    unreachable!()
                };
                return verdict;
            }
            self.next_message().await;
        }
    }

    /// Reads one message, folding state changes in; returns it.
    pub async fn next_message(&mut self) -> ServerMsg {
        let frame = tokio::time::timeout(Duration::from_secs(30), self.ws.next())
            .await
            .expect("a message within 30 s")
            .expect("the connection is open")
            .expect("a good frame");
        let Message::Text(text) = frame else {
            panic!("unexpected frame {frame:?}");
        };
        let msg: ServerMsg = serde_json::from_str(&text).expect("a server message");
        match &msg {
            ServerMsg::Hello { simulated, .. } => self.simulated = Some(*simulated),
            ServerMsg::Snapshot { state, .. } => self.state = state.clone(),
            ServerMsg::Delta { delta } => self.state.apply(delta),
            ServerMsg::Reply { .. } | ServerMsg::Error { .. } => self.unclaimed.push(msg.clone()),
            ServerMsg::Heartbeat { .. }
            | ServerMsg::Tablets { .. }
            | ServerMsg::Progress { .. } => {}
        }
        msg
    }

    /// Reads messages until `done` holds for the mirror, or panics after `within`.
    pub async fn wait_until(&mut self, within: Duration, done: impl Fn(&MirrorState) -> bool) {
        if !self.try_wait_until(within, done).await {
            panic!(
                "{}: condition not met within {within:?}; health {:#?}",
                self.name, self.state.health
            );
        }
    }

    /// Reads messages until `done` holds for the mirror; false after `within`.
    pub async fn try_wait_until(
        &mut self,
        within: Duration,
        done: impl Fn(&MirrorState) -> bool,
    ) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        while !done(&self.state) {
            if tokio::time::timeout_at(deadline, self.next_message())
                .await
                .is_err()
            {
                return false;
            }
        }
        true
    }
}

/// Starts Coaster on 127.0.0.1:0 with the built-in simulator, or against `device`.
pub async fn start_coaster(
    device: Option<SocketAddr>,
    coap: proxy::coap::Config,
) -> proxy::app::Running {
    proxy::app::start(proxy::app::Options {
        coap,
        ..proxy::app::Options::local(device, std::env::temp_dir().join("coaster-tests-no-dist"))
    })
    .await
    .expect("coaster starts")
}

/// A simulator on 127.0.0.1:0 with the given faults.
pub async fn start_simulator(
    configure: impl FnOnce(&mut simulator::server::Config),
) -> simulator::server::SimulatorHandle {
    let mut config = simulator::server::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..Default::default()
    };
    configure(&mut config);
    simulator::server::Simulator::start(config)
        .await
        .expect("the simulator starts")
}

/// Waits until the proxy holds a live registration and a synced mirror.
pub async fn until_live(tablet: &mut Tablet) {
    tablet
        .wait_until(Duration::from_secs(10), |s| {
            s.health.observing && s.health.synced && s.health.reachable
        })
        .await;
}

/// The active sessions as the tablet shows them, by pager number.
pub fn board(state: &MirrorState) -> Vec<shared::device::Session> {
    state.parties.iter().map(|p| p.session.clone()).collect()
}

/// The device's active sessions, by pager number as a board lists them.
pub fn device_board(device: &simulator::model::DeviceState) -> Vec<shared::device::Session> {
    let mut sessions = device.active.clone();
    sessions.sort_by_key(|s| s.number);
    sessions
}
