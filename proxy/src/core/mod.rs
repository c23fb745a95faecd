//! The proxy's rules as one sans-IO state machine, in the style of
//! quinn-proto: [`Core::handle`] takes an [`Input`] (a tablet's command, a
//! datagram from the device, a timer) and the current `Instant`; the caller
//! then drains [`Core::poll_effect`] (datagrams to send, verdicts and
//! progress for tablets, mirror deltas) and sleeps until
//! [`Core::poll_timeout`]. Nothing here reads a clock or touches a socket,
//! so every rule is tested on made-up instants and the whole stack runs in a
//! deterministic simulation (`proxy/tests/simulation`).
//!
//! The core owns the CoAP endpoint and the mirror (the one copy of the
//! device's state) and is the only queue of device work ([`work`]): it gives
//! the endpoint one request at a time, so the order it chooses is the order
//! on the wire.
//!
//! - [`commands`]: a host's command carried until its outcome is known —
//!   re-issued only when a read-back ([`proof`]) proves it was not done.
//! - [`deadline`]: when a carried command is given up, counting the
//!   device's silence, and what the host is told then.
//! - [`sync`]: the Observe registration, polling, gaps and reboots: how the
//!   mirror is kept equal to the device.
//! - [`health`]: what the health panel shows.
//! - [`journal`]: the op ids that must survive a restart.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use shared::device::Envelope;
use shared::protocol::{DeviceInfo, MirrorDelta, MirrorState, ValidCommand, Verdict};

use crate::coap::{self, Endpoint, Event, ExchangeId};
use crate::mirror::{Mirror, Resync, Source};
use crate::ops::OpLog;

mod commands;
mod deadline;
mod health;
pub mod journal;
pub mod proof;
mod sync;
#[cfg(test)]
mod tests;
pub mod work;

use commands::Carried;
use health::Tally;
use sync::Sync;
use work::{Queue, Work};

/// How long a host's command is carried before the host is told the
/// transmitter is unreachable (`--command-deadline`).
pub const COMMAND_DEADLINE: Duration = Duration::from_secs(30);
/// However well the device answers, a command is answered within this many
/// deadlines (90 s by default): at 30 % loss a command is resolved in
/// seconds, so only a device that answers everything but it reaches this.
pub const CARRY_LIMIT: u32 = 3;
/// Commands waiting for the transmitter at once; beyond this a command is
/// answered `busy`. A busy door sends a few a second and the device takes
/// one every few milliseconds, so this is only reached by a flood.
pub const MAX_WAITING: usize = 64;
/// How long a datagram the last run sent before it stopped may still be on
/// its way to the device: milliseconds on a wire, up to a second or so
/// where a Wi-Fi access point holds frames for a dozing station. A read-back
/// sooner could find a page "not done" that is about to be, and the page
/// sent again would page twice; so after a restart, read-backs wait this long.
pub const LINGER: Duration = Duration::from_secs(2);

#[derive(Clone, Debug)]
pub struct Config {
    pub command_deadline: Duration,
    pub max_waiting: usize,
    pub coap: coap::Config,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            command_deadline: COMMAND_DEADLINE,
            max_waiting: MAX_WAITING,
            coap: coap::Config::default(),
        }
    }
}

/// What happens to the core. `T` names a tablet to answer (a channel in the
/// proxy, a number in the simulation).
#[derive(Debug)]
pub enum Input<T> {
    Command {
        tablet: T,
        op: String,
        command: ValidCommand,
    },
    /// A datagram from the device's address.
    Datagram(Vec<u8>),
    /// [`Core::poll_timeout`] has passed.
    Timeout,
}

/// What the core asks the world to do.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect<T> {
    Transmit(Vec<u8>),
    Reply {
        to: T,
        op: String,
        verdict: Verdict,
    },
    /// The command is being sent again (`attempt` ≥ 2) after a read-back
    /// proved the last attempt was not done.
    Progress {
        to: T,
        op: String,
        attempt: u32,
    },
    /// A change for every tablet's board.
    Delta(MirrorDelta),
    /// The op ids to keep across a restart changed: write these bytes
    /// (atomically) before acting on anything else.
    Journal(Vec<u8>),
}

pub struct Core<T> {
    config: Config,
    peer: SocketAddr,
    endpoint: Endpoint,
    mirror: Mirror,
    /// The instant the core was made, and the Unix time (ms) it was then.
    epoch: (Instant, i64),
    ops: OpLog<T>,
    carried: HashMap<String, Carried>,
    queue: Queue,
    in_flight: Option<(ExchangeId, Work)>,
    sync: Sync,
    tally: Tally,
    reachable: bool,
    /// Ops the last run had sent without an answer, and the board then.
    recovered: HashMap<String, proof::Before>,
    /// Until when read-backs wait, after a restart with ops on their way ([`LINGER`]).
    lingering_until: Option<Instant>,
    /// Why the stand's store is not recording, for the health panel.
    not_recording: Option<String>,
    journal_dirty: bool,
    effects: VecDeque<Effect<T>>,
}

impl<T: Clone> Core<T> {
    /// `unix_ms` is the wall clock at `now`, the one time the core is told
    /// it; `seed` makes message ids and tokens; `journal` is what the last
    /// run left in [`Effect::Journal`].
    pub fn new(
        config: Config,
        peer: SocketAddr,
        device: DeviceInfo,
        seed: u64,
        now: Instant,
        unix_ms: i64,
        journal: Option<&[u8]>,
    ) -> Self {
        let mut core = Core {
            endpoint: Endpoint::new(config.coap.clone(), peer, seed, now),
            config,
            peer,
            mirror: Mirror::new(device),
            epoch: (now, unix_ms),
            ops: OpLog::default(),
            carried: HashMap::new(),
            queue: Queue::default(),
            in_flight: None,
            sync: Sync::new(now),
            tally: Tally::default(),
            reachable: true,
            recovered: HashMap::new(),
            lingering_until: None,
            not_recording: None,
            journal_dirty: false,
            effects: VecDeque::new(),
        };
        if let Some(bytes) = journal {
            core.restore(bytes, now);
        }
        core.endpoint.set_probe(coap::Probe::Caller);
        core.reregister(now);
        core.settle(now);
        core
    }

    pub fn handle(&mut self, input: Input<T>, now: Instant) {
        match input {
            Input::Command {
                tablet,
                op,
                command,
            } => self.admit(tablet, op, command, now),
            Input::Datagram(bytes) => self.endpoint.handle_datagram(self.peer, &bytes, now),
            Input::Timeout => {
                self.endpoint.handle_timeout(now);
                self.watch_link(now);
                self.expire(now);
                self.sync_tick(now);
            }
        }
        self.settle(now);
    }

    pub fn poll_effect(&mut self) -> Option<Effect<T>> {
        self.effects.pop_front()
    }

    /// When to call [`Core::handle`] with [`Input::Timeout`] next.
    pub fn poll_timeout(&self, now: Instant) -> Option<Instant> {
        let deadlines = self.carried.values().map(|c| self.due(c)).min();
        // The endpoint names the instant the link turns unreachable only
        // while it is ahead; a caller arriving at exactly that instant by
        // some other event must still be told the core has yet to act on it.
        let unnoticed = (self.endpoint.health(now).reachable != self.reachable).then_some(now);
        [
            self.endpoint.poll_timeout(now),
            deadlines,
            self.sync_due(),
            unnoticed,
            self.lingering_until.filter(|until| *until > now),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The store's recording status, shown to every tablet with the health.
    pub fn set_not_recording(&mut self, reason: Option<String>, now: Instant) {
        self.not_recording = reason;
        self.publish_health(now);
    }

    /// The board every tablet renders: the one copy.
    pub fn state(&self) -> &MirrorState {
        self.mirror.state()
    }

    /// Commands admitted and not yet answered.
    pub fn waiting(&self) -> usize {
        self.carried.len()
    }

    /// The Unix time (ms) at `at`, from the one wall-clock reading at start.
    fn unix_ms(&self, at: Instant) -> i64 {
        let (epoch, unix) = self.epoch;
        unix + at.saturating_duration_since(epoch).as_millis() as i64
            - epoch.saturating_duration_since(at).as_millis() as i64
    }

    /// Runs the endpoint's events through the rules until nothing more happens.
    fn settle(&mut self, now: Instant) {
        loop {
            self.watch_link(now);
            self.pump(now);
            let Some(event) = self.endpoint.poll_event() else {
                break;
            };
            self.on_event(event, now);
        }
        self.flush_journal();
        while let Some(bytes) = self.endpoint.poll_transmit() {
            self.effects.push_back(Effect::Transmit(bytes));
        }
        self.publish_health(now);
    }

    fn on_event(&mut self, event: Event, now: Instant) {
        match event {
            Event::Response { id, result } => {
                tracing::trace!(?id, code = ?result.as_ref().map(|r| r.code), "answered");
                let Some((_, work)) = self.in_flight.take_if(|(f, _)| *f == id) else {
                    return;
                };
                match work {
                    Work::Issue { op } => self.on_issued(op, result, now),
                    Work::ReadBack { op } => self.on_read_back(op, result, now),
                    Work::Register => self.on_registered(id, result, now),
                    Work::Snapshot | Work::Poll => self.on_snapshot(result, now),
                    Work::Settings => self.on_settings(result, now),
                }
            }
            Event::Notification { id, response } => self.on_notification(id, response, now),
            Event::ObservationEnded { id } => self.on_observation_ended(id, now),
            Event::ProbeDue => self.queue.push(Work::Poll, None, now),
        }
    }

    /// Hands the endpoint the most urgent work when it has nothing in flight.
    fn pump(&mut self, now: Instant) {
        while self.in_flight.is_none() {
            let loaded = self.sync.loaded;
            let lingering = self.lingering_until.is_some_and(|until| now < until);
            // A command needs the board as the device has it, to prove later
            // whether it was done; until the first snapshot it waits.
            let Some(work) = self.queue.pop(|w| match w {
                Work::Issue { .. } => loaded,
                Work::ReadBack { .. } => !lingering,
                _ => true,
            }) else {
                return;
            };
            let id = match &work {
                Work::Issue { op } => self.issue(op, now),
                Work::ReadBack { op } => self.read_back(op, now),
                Work::Register => Some(self.endpoint.observe(sync::registration(), now)),
                Work::Snapshot => Some(self.endpoint.submit(sync::snapshot(None), now)),
                Work::Poll => {
                    self.sync.last_poll = now;
                    let etag = self.sync.etag.clone();
                    Some(self.endpoint.submit(sync::snapshot(etag), now))
                }
                Work::Settings => Some(
                    self.endpoint
                        .submit(crate::coap::Request::get("/v1/settings"), now),
                ),
            };
            tracing::trace!(?work, ?id, "submitted");
            self.in_flight = id.map(|id| (id, work));
        }
    }

    /// Folds an envelope into the mirror, publishes the change, and acts on
    /// what the mirror says about the device's sequence.
    fn fold(&mut self, envelope: &Envelope, source: Source, now: Instant) {
        let utc_s = self.unix_ms(now) / 1000;
        let applied = self.mirror.apply(envelope, source, utc_s);
        if !applied.delta.is_empty() {
            self.effects.push_back(Effect::Delta(applied.delta));
        }
        match applied.resync {
            Some(Resync::Backwards { last, got }) if source == Source::Snapshot => {
                // The device restarted and forgot its observers: register again.
                tracing::warn!(last, got, "the transmitter restarted; registering again");
                self.tally.reboots += 1;
                self.reregister(now);
            }
            Some(Resync::Backwards { last, got }) => {
                tracing::info!(last, got, "an old answer; checking with a snapshot");
                self.resync(now);
            }
            Some(Resync::Gap { expected, got }) => {
                tracing::debug!(expected, got, "notifications skipped; waiting for them");
                self.sync.gap_since.get_or_insert(now);
            }
            None => {}
        }
    }

    fn reply(&mut self, to: T, op: String, verdict: Verdict) {
        self.effects.push_back(Effect::Reply { to, op, verdict });
    }
}
