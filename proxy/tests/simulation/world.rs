//! One seeded run: the proxy's core and the simulator's sans-IO device
//! joined by [`Net`], tablets working through their scripts (one flooding),
//! a forger, device reboots, proxy restarts and partitions, all on a virtual
//! clock. [`World::step`] advances to the next thing that happens.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use proxy::core::{Config, Core, Effect, Input};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use shared::device::{Action, CreateSession, UpdateSession};
use shared::protocol::{DeviceInfo, MirrorState, ValidCommand, Verdict};
use shared::time::DeviceTime;
use simulator::endpoint::{Endpoint as Device, EndpointConfig};
use simulator::model;

use super::net::{Faults, Net};

pub const DEVICE: &str = "10.0.0.2:5683";
/// Tablet ids from here are the flooding tablet's.
pub const FLOODER: u32 = 100;

/// What can happen besides datagrams and timers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Trouble {
    Reboot,
    Restart,
    PartitionStart,
    PartitionEnd,
    Flood,
    Forge,
}

/// Everything a seed decides.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub faults: Faults,
    pub separate_responses: bool,
    pub tablets: u32,
    pub pagers_per_tablet: u32,
    pub troubles: Vec<(Duration, Trouble)>,
}

impl Scenario {
    pub fn from_seed(rng: &mut StdRng) -> Self {
        let faults = Faults {
            loss: [0.0, 0.05, 0.15, 0.3][rng.gen_range(0..4)],
            duplicate: rng.gen_range(0.0..0.05),
            max_delay: Duration::from_micros(rng.gen_range(200..150_000)),
        };
        let mut troubles = Vec::new();
        let at = |rng: &mut StdRng| Duration::from_millis(rng.gen_range(500..40_000));
        for (trouble, chance) in [
            (Trouble::Reboot, 0.2),
            (Trouble::Restart, 0.2),
            (Trouble::Flood, 0.3),
            (Trouble::Forge, 0.5),
        ] {
            if rng.gen_bool(chance) {
                troubles.push((at(rng), trouble));
            }
        }
        if rng.gen_bool(0.15) {
            let start = at(rng);
            let length = Duration::from_millis(rng.gen_range(1_000..45_000));
            troubles.push((start, Trouble::PartitionStart));
            troubles.push((start + length, Trouble::PartitionEnd));
        }
        if troubles.iter().any(|(_, t)| *t == Trouble::Forge) {
            // A forger keeps at it: one datagram every ~200 ms for 20 s.
            let (start, _) = troubles.iter().find(|(_, t)| *t == Trouble::Forge).unwrap();
            let start = *start;
            for i in 1..100 {
                troubles.push((start + Duration::from_millis(200 * i), Trouble::Forge));
            }
        }
        troubles.sort_by_key(|(at, _)| *at);
        Scenario {
            faults,
            separate_responses: rng.gen_bool(0.2),
            tablets: rng.gen_range(1..=3),
            pagers_per_tablet: rng.gen_range(1..=3),
            troubles,
        }
    }
}

/// One command as the suite saw it.
#[derive(Clone, Debug)]
pub struct OpRecord {
    pub command: ValidCommand,
    pub tablet: u32,
    pub admitted: Instant,
    pub verdict: Option<(Verdict, Instant)>,
    /// A reboot, restart or partition happened while it was carried.
    pub disturbed: bool,
}

pub struct Tablet {
    pub id: u32,
    pub script: VecDeque<(String, ValidCommand)>,
    /// The op sent and not yet answered.
    pub pending: Option<String>,
    pub next_at: Instant,
    pub board: MirrorState,
}

impl Tablet {
    /// Whether the host can tap: nothing pending, and (as the dashboard
    /// allows) only on a board that is in sync.
    fn ready(&self) -> bool {
        self.pending.is_none() && !self.script.is_empty() && self.board.health.synced
    }
}

pub struct World {
    pub rng: StdRng,
    pub t0: Instant,
    pub now: Instant,
    pub net: Net,
    pub device: Device,
    pub core: Core<u32>,
    pub config: Config,
    pub proxy: SocketAddr,
    pub journal: Option<Vec<u8>>,
    pub tablets: Vec<Tablet>,
    pub ops: BTreeMap<String, OpRecord>,
    pub troubles: VecDeque<(Instant, Trouble)>,
    /// Tablet id → ops waiting on it, for the flooder which sends many at once.
    pub flood_pending: HashMap<String, Instant>,
    pub disturbances: Vec<Instant>,
    /// Whether the device ever looked unreachable during a partition.
    pub saw_unreachable: bool,
    pub restarts: u32,
    pub rebooted: bool,
    /// Datagrams the device sent the proxy, for the forger to replay.
    pub heard: Vec<Vec<u8>>,
    /// Print what happens (when replaying one seed).
    pub trace: bool,
}

fn script(tablet: u32, pagers: u32) -> VecDeque<(String, ValidCommand)> {
    let mut commands = VecDeque::new();
    for i in 0..pagers {
        let number = tablet * 10 + i + 1;
        let op = |step: &str| format!("t{tablet}-{number}-{step}");
        let page = || ValidCommand::UpdateSession {
            number,
            body: UpdateSession {
                action: Some(Action::Page),
                ..Default::default()
            },
        };
        commands.push_back((
            op("create"),
            ValidCommand::CreateSession(CreateSession {
                number,
                label: Some(format!("Party {number}")),
                ..Default::default()
            }),
        ));
        commands.push_back((op("page1"), page()));
        commands.push_back((op("page2"), page()));
        commands.push_back((
            op("relabel"),
            ValidCommand::UpdateSession {
                number,
                body: UpdateSession {
                    label: Some(format!("Party {number} ✓")),
                    ..Default::default()
                },
            },
        ));
    }
    commands
}

impl World {
    pub fn new(seed: u64, scenario: &Scenario) -> Self {
        let rng = StdRng::seed_from_u64(seed);
        let t0 = Instant::now();
        let clock = DeviceTime::parse("2026-12-03T19:00:00").unwrap();
        let device = Device::new(
            model::Device::new(clock, t0, seed),
            EndpointConfig {
                separate_responses: scenario.separate_responses,
                seed,
                ..Default::default()
            },
        );
        let config = Config::default();
        let device_addr: SocketAddr = DEVICE.parse().unwrap();
        let core = Core::new(
            config.clone(),
            device_addr,
            DeviceInfo::default(),
            seed ^ 0x5eed,
            t0,
            0,
            None,
        );
        let tablets = (1..=scenario.tablets)
            .map(|id| Tablet {
                id,
                script: script(id, scenario.pagers_per_tablet),
                pending: None,
                next_at: t0 + Duration::from_millis(100 * u64::from(id)),
                board: core.state().clone(),
            })
            .collect();
        World {
            rng,
            t0,
            now: t0,
            net: Net::new(scenario.faults),
            device,
            core,
            config,
            proxy: "10.0.0.1:40000".parse().unwrap(),
            journal: None,
            tablets,
            ops: BTreeMap::new(),
            troubles: scenario
                .troubles
                .iter()
                .map(|(at, t)| (t0 + *at, *t))
                .collect(),
            flood_pending: HashMap::new(),
            disturbances: Vec::new(),
            saw_unreachable: false,
            restarts: 0,
            rebooted: false,
            heard: Vec::new(),
            trace: false,
        }
    }

    /// Whether every tablet has worked through its script.
    pub fn scripts_done(&self) -> bool {
        self.tablets
            .iter()
            .all(|t| t.script.is_empty() && t.pending.is_none())
            && self.flood_pending.is_empty()
    }

    /// Hands the core's effects out: datagrams onto the network, verdicts
    /// and deltas to tablets, the journal to "disk".
    pub fn drain(&mut self) {
        while let Some(effect) = self.core.poll_effect() {
            match effect {
                Effect::Transmit(bytes) => {
                    let route = (self.proxy, DEVICE.parse().unwrap());
                    self.net.send(&mut self.rng, self.now, route, bytes);
                }
                Effect::Reply { to, op, verdict } => self.answered(to, op, verdict),
                Effect::Progress { op, attempt, .. } if self.trace => {
                    println!("{:>10.3?} {op}: attempt {attempt}", self.at());
                }
                Effect::Progress { .. } => {}
                Effect::Delta(delta) => {
                    for tablet in &mut self.tablets {
                        tablet.board.apply(&delta);
                    }
                }
                Effect::Journal(bytes) => self.journal = Some(bytes),
            }
        }
    }

    fn at(&self) -> Duration {
        self.now - self.t0
    }

    fn answered(&mut self, tablet: u32, op: String, verdict: Verdict) {
        if self.trace && tablet < FLOODER {
            let h = &self.core.state().health;
            let kind = format!("{verdict:?}");
            println!(
                "{:>10.3?} {op}: {} (rtt {:?} rto {:?} loss {:?} reachable {} observing {} synced {})",
                self.at(),
                &kind[..kind.len().min(40)],
                h.rtt_ms,
                h.rto_ms,
                h.loss_percent,
                h.reachable,
                h.observing,
                h.synced
            );
        }
        let record = self.ops.get_mut(&op).expect("a verdict for an op sent");
        assert!(
            record.verdict.is_none() || record.verdict.as_ref().map(|(v, _)| v) == Some(&verdict),
            "{op} answered twice, differently: {:?} then {verdict:?}",
            record.verdict
        );
        record.verdict.get_or_insert((verdict, self.now));
        if tablet >= FLOODER {
            self.flood_pending.remove(&op);
        } else if let Some(t) = self.tablets.iter_mut().find(|t| t.id == tablet) {
            if t.pending.as_deref() == Some(op.as_str()) {
                t.pending = None;
                t.next_at = self.now + Duration::from_millis(self.rng.gen_range(0..500));
            }
        }
    }

    fn send(&mut self, tablet: u32, op: String, command: ValidCommand) {
        let record = self.ops.entry(op.clone()).or_insert(OpRecord {
            command: command.clone(),
            tablet,
            admitted: self.now,
            verdict: None,
            disturbed: false,
        });
        // A resend (after a restart) is a new wait for the host.
        record.admitted = self.now;
        record.disturbed |= self.net.partitioned;
        if self.trace && tablet < FLOODER {
            println!("{:>10.3?} {op} sent", self.at());
        }
        let input = Input::Command {
            tablet,
            op,
            command,
        };
        self.core.handle(input, self.now);
    }

    /// The instant of the next thing that happens.
    fn next(&self) -> Option<Instant> {
        let tablets = self.tablets.iter().filter(|t| t.ready()).map(|t| t.next_at);
        [
            self.net.next_arrival(),
            self.core.poll_timeout(self.now),
            self.device.next_deadline(),
            self.troubles.front().map(|(at, _)| *at),
        ]
        .into_iter()
        .flatten()
        .chain(tablets)
        .min()
    }

    /// Does the next thing, no later than `end`; false when nothing is left before it.
    pub fn step(&mut self, end: Instant) -> bool {
        self.drain();
        let Some(next) = self.next().filter(|t| *t <= end) else {
            self.now = end;
            return false;
        };
        self.now = next.max(self.now);
        let now = self.now;
        let device: SocketAddr = DEVICE.parse().unwrap();
        if let Some(((from, to), bytes)) = self.net.deliver(now) {
            // Datagrams to an old (restarted) proxy's address are lost.
            if to == self.proxy {
                self.heard.push(bytes.clone());
                self.core.handle(Input::Datagram(bytes), now);
            } else if to == device {
                for out in self.device.on_datagram(&bytes, from, now) {
                    self.net
                        .send(&mut self.rng, now, (device, out.to), out.bytes);
                }
            }
        } else if self.troubles.front().is_some_and(|(at, _)| *at <= now) {
            let (_, trouble) = self.troubles.pop_front().unwrap();
            self.trouble(trouble);
        } else if self.device.next_deadline().is_some_and(|t| t <= now) {
            for out in self.device.on_timeout(now) {
                self.net
                    .send(&mut self.rng, now, (device, out.to), out.bytes);
            }
        } else if self.core.poll_timeout(now).is_some_and(|t| t <= now) {
            self.core.handle(Input::Timeout, now);
        } else if let Some(i) = self
            .tablets
            .iter()
            .position(|t| t.ready() && t.next_at <= now)
        {
            let (op, command) = self.tablets[i].script.pop_front().unwrap();
            let id = self.tablets[i].id;
            self.tablets[i].pending = Some(op.clone());
            self.send(id, op, command);
        }
        self.drain();
        if self.net.partitioned && !self.core.state().health.reachable {
            self.saw_unreachable = true;
        }
        true
    }

    fn disturb(&mut self) {
        self.disturbances.push(self.now);
        for record in self.ops.values_mut().filter(|r| r.verdict.is_none()) {
            record.disturbed = true;
        }
    }

    fn trouble(&mut self, trouble: Trouble) {
        if self.trace && trouble != Trouble::Forge {
            println!("{:>10.3?} {trouble:?}", self.at());
        }
        match trouble {
            Trouble::Reboot => {
                self.disturb();
                self.rebooted = true;
                self.device.reboot();
            }
            Trouble::PartitionStart => {
                self.disturb();
                self.net.partitioned = true;
            }
            Trouble::PartitionEnd => self.net.partitioned = false,
            Trouble::Restart => self.restart(),
            Trouble::Flood => {
                for i in 0..150 {
                    let op = format!("flood-{i}");
                    self.flood_pending.insert(op.clone(), self.now);
                    self.send(FLOODER, op, ValidCommand::GetStatistics);
                }
            }
            Trouble::Forge => self.forge(),
        }
    }

    /// The proxy restarts on a new port: a new core from the journal, every
    /// tablet reconnects (a snapshot) and resends its unanswered op.
    fn restart(&mut self) {
        self.disturb();
        self.restarts += 1;
        self.proxy = format!("10.0.0.1:{}", 40000 + self.restarts)
            .parse()
            .unwrap();
        self.core = Core::new(
            self.config.clone(),
            DEVICE.parse().unwrap(),
            DeviceInfo::default(),
            self.rng.gen(),
            self.now,
            0,
            self.journal.as_deref(),
        );
        for tablet in &mut self.tablets {
            tablet.board = self.core.state().clone();
        }
        // The flooder gave up on its flood; its ops are answered or forgotten.
        for op in std::mem::take(&mut self.flood_pending).into_keys() {
            self.ops.remove(&op);
        }
        let resend: Vec<(u32, String)> = self
            .tablets
            .iter()
            .filter_map(|t| Some((t.id, t.pending.clone()?)))
            .collect();
        for (tablet, op) in resend {
            let command = self.ops[&op].command.clone();
            self.send(tablet, op, command);
        }
    }

    /// A datagram "from the device" that the device never sent: a reset or
    /// empty ACK with a guessed message id, a notification with a guessed
    /// token, or a replay of something the device did send.
    fn forge(&mut self) {
        let mid: u16 = self.rng.gen();
        let [m1, m2] = mid.to_be_bytes();
        let token: [u8; 8] = self.rng.gen();
        let forged = match self.rng.gen_range(0..4) {
            0 => vec![0x70, 0x00, m1, m2],
            1 => vec![0x60, 0x00, m1, m2],
            2 => {
                let mut n = vec![0x48, 0x45, m1, m2];
                n.extend_from_slice(&token);
                n.extend_from_slice(&[0x61, 0x07, 0xff]);
                n.extend_from_slice(
                    br#"{"responseTypes":["sessions"],"globalSessionSequence":999,"sessions":[]}"#,
                );
                n
            }
            _ if !self.heard.is_empty() => {
                let i = self.rng.gen_range(0..self.heard.len());
                self.heard[i].clone()
            }
            _ => return,
        };
        if self.trace {
            println!(
                "{:>10.3?} forged {:02x?}",
                self.at(),
                &forged[..forged.len().min(8)]
            );
        }
        self.core.handle(Input::Datagram(forged), self.now);
    }
}
