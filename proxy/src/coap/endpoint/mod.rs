//! The sans-IO CoAP client endpoint: datagrams and instants in; datagrams,
//! events and the next deadline out. It talks to exactly one peer, the device.
//!
//! This file holds the queue and the timers; [`incoming`] what the device
//! sends; [`events`] what the endpoint tells its owner.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Instant;

use coap_lite::MessageType;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

mod events;
mod incoming;

pub use events::{Event, ExchangeError, Probe};

use super::block::Block;
use super::dedupe::Seen;
use super::exchange::{Exchange, ExchangeId, Flight, Purpose};
use super::liveness::{LinkHealth, Liveness};
use super::message::{self, Outgoing, Request, Response};
use super::observe::Freshness;
use super::retransmit::{Schedule, Tick};
use super::rtt::{RttEstimate, RttEstimator};
use super::Config;

/// Token length: 8 random bytes make a forged or stale match implausible.
const TOKEN_LEN: usize = 8;
/// A representation that keeps changing under a Block2 transfer gets this many fresh starts.
const MAX_BLOCK_RESTARTS: u32 = 3;

struct Observation {
    id: ExchangeId,
    request: Request,
    freshness: Freshness,
}

pub struct Endpoint {
    config: Config,
    peer: SocketAddr,
    rng: StdRng,
    next_mid: u16,
    next_id: u64,
    queue: VecDeque<Exchange>,
    active: Option<Exchange>,
    observations: HashMap<Vec<u8>, Observation>,
    seen: Seen,
    liveness: Liveness,
    rtt: RttEstimator,
    probe: Probe,
    /// The last ping: its message id and when it went out.
    ping: Option<(u16, Instant)>,
    transmits: VecDeque<Vec<u8>>,
    events: VecDeque<Event>,
}

impl Endpoint {
    /// `seed` makes message ids, tokens and timeouts reproducible in tests.
    pub fn new(config: Config, peer: SocketAddr, seed: u64, now: Instant) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        Endpoint {
            config,
            peer,
            next_mid: rng.gen(),
            rng,
            next_id: 0,
            queue: VecDeque::new(),
            active: None,
            observations: HashMap::new(),
            seen: Seen::default(),
            liveness: Liveness::new(now),
            rtt: RttEstimator::default(),
            probe: Probe::Ping,
            ping: None,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    pub fn set_probe(&mut self, probe: Probe) {
        self.probe = probe;
    }

    /// Queues a request; its answer comes as [`Event::Response`] with the returned id.
    pub fn submit(&mut self, request: Request, now: Instant) -> ExchangeId {
        self.enqueue(request, false, now)
    }

    /// Queues an Observe registration: the first answer comes as [`Event::Response`],
    /// later ones as [`Event::Notification`] with the same id.
    pub fn observe(&mut self, request: Request, now: Instant) -> ExchangeId {
        self.enqueue(request, true, now)
    }

    /// Forgets an exchange or observation: nothing more is sent or delivered
    /// for it, and a later notification for it is answered with RST, which
    /// deregisters us at the device (RFC 7641 §3.6).
    pub fn cancel(&mut self, id: ExchangeId, now: Instant) {
        self.queue.retain(|e| e.id != id);
        if self.active.as_ref().is_some_and(|e| e.id == id) {
            self.active = None;
        }
        self.observations.retain(|_, o| o.id != id);
        self.pump(now);
    }

    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmits.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    pub fn health(&self, now: Instant) -> LinkHealth {
        self.liveness.health(&self.config, now)
    }

    /// When the last datagram from the device arrived.
    pub fn last_contact(&self) -> Option<Instant> {
        self.liveness.last_contact()
    }

    /// The round-trip estimate and the timeout the next exchange starts with.
    pub fn rtt(&self) -> RttEstimate {
        self.rtt.estimate(&self.config)
    }

    /// Whether nothing is queued or in flight: the caller may submit without waiting.
    pub fn is_idle(&self) -> bool {
        self.active.is_none() && self.queue.is_empty()
    }

    /// The earliest instant at which [`Endpoint::handle_timeout`] has work to do.
    pub fn poll_timeout(&self, now: Instant) -> Option<Instant> {
        let queued = self.queue.iter().map(|e| e.deadline);
        let active = self.active.iter().flat_map(|e| {
            let retransmit = e.flight.as_ref().and_then(|f| f.schedule.as_ref());
            [Some(e.deadline), retransmit.map(Schedule::due)]
        });
        let probe = self.is_idle().then(|| self.liveness.probe_at(&self.config));
        // Waking when `reachable` flips lets a driver publish it on time.
        let flip = self
            .liveness
            .unreachable_at(&self.config)
            .filter(|t| *t > now);
        queued
            .chain(active.flatten())
            .chain(probe)
            .chain(flip)
            .min()
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        let expired: Vec<_> = self
            .queue
            .iter()
            .filter(|e| e.deadline <= now)
            .map(|e| e.id)
            .collect();
        for id in expired {
            if let Some(pos) = self.queue.iter().position(|e| e.id == id) {
                let exchange = self.queue.remove(pos).expect("position is in range");
                self.fail(exchange, ExchangeError::Timeout { transmissions: 0 });
            }
        }
        if let Some(mut exchange) = self.active.take() {
            if exchange.deadline <= now {
                let transmissions = exchange.transmissions;
                self.fail(exchange, ExchangeError::Timeout { transmissions });
            } else {
                match exchange.flight.as_mut().and_then(|f| f.schedule.as_mut()) {
                    Some(s) if s.due() <= now => match s.tick(&self.config) {
                        Tick::Retransmit => {
                            let flight = exchange.flight.as_ref().expect("checked above");
                            self.transmits.push_back(flight.bytes.clone());
                            self.liveness.retransmitted(now);
                            exchange.transmissions += 1;
                            self.active = Some(exchange);
                        }
                        Tick::GiveUp => {
                            self.rtt.gave_up();
                            let transmissions = exchange.transmissions;
                            self.fail(exchange, ExchangeError::Timeout { transmissions });
                        }
                    },
                    _ => self.active = Some(exchange),
                }
            }
        }
        self.pump(now);
        if self.is_idle() && self.liveness.probe_at(&self.config) <= now {
            self.liveness.probed(now);
            match self.probe {
                Probe::Ping => {
                    let mid = self.mid();
                    self.transmits
                        .push_back(message::empty(MessageType::Confirmable, mid));
                    self.ping = Some((mid, now));
                    self.liveness.sent_confirmable(now);
                }
                Probe::Caller => self.events.push_back(Event::ProbeDue),
            }
        }
    }

    fn enqueue(&mut self, request: Request, observe: bool, now: Instant) -> ExchangeId {
        let id = self.id();
        let exchange = self.exchange(id, Purpose::Caller, request, observe, now);
        self.queue.push_back(exchange);
        self.pump(now);
        id
    }

    fn exchange(
        &mut self,
        id: ExchangeId,
        purpose: Purpose,
        request: Request,
        observe: bool,
        now: Instant,
    ) -> Exchange {
        Exchange {
            id,
            purpose,
            deadline: now + request.deadline.unwrap_or(self.config.exchange_deadline),
            request,
            observe,
            token: self.token(),
            transmissions: 0,
            block_restarts: 0,
            reassembly: Default::default(),
            first_observe: None,
            resume: None,
            flight: None,
        }
    }

    /// NSTART = 1: the next queued exchange goes out only when none is in flight.
    fn pump(&mut self, now: Instant) {
        while self.active.is_none() {
            let Some(mut exchange) = self.queue.pop_front() else {
                return;
            };
            let block = exchange.resume.take();
            match self.send(&mut exchange, block, now) {
                Ok(()) => self.active = Some(exchange),
                Err(e) => self.fail(exchange, e),
            }
        }
    }

    /// Puts one request message for `exchange` on the wire: block 0 (or the
    /// whole request) with the exchange's own token, later blocks with fresh ones.
    fn send(
        &mut self,
        exchange: &mut Exchange,
        block2: Option<Block>,
        now: Instant,
    ) -> Result<(), ExchangeError> {
        let first = block2.is_none_or(|b| b.num == 0);
        let token = if first {
            exchange.token.clone()
        } else {
            self.token()
        };
        let message_id = self.mid();
        let bytes = message::encode_request(&Outgoing {
            request: &exchange.request,
            message_id,
            token: &token,
            observe: exchange.observe && first,
            block2,
        })
        .map_err(ExchangeError::Encode)?;
        self.transmits.push_back(bytes.clone());
        self.liveness.sent_confirmable(now);
        exchange.transmissions += 1;
        exchange.flight = Some(Flight {
            message_id,
            token,
            bytes,
            schedule: Some({
                let first = self.rtt.first_timeout(&self.config, &mut self.rng);
                let longest = self.rtt.longest_wait(&self.config, first);
                Schedule::start(first, longest, now)
            }),
        });
        Ok(())
    }

    /// The next message of the same exchange: it keeps its place, no other request slips in.
    fn resend(&mut self, mut exchange: Exchange, block2: Option<Block>, now: Instant) {
        match self.send(&mut exchange, block2, now) {
            Ok(()) => self.active = Some(exchange),
            Err(e) => {
                self.fail(exchange, e);
                self.pump(now);
            }
        }
    }

    fn complete(&mut self, exchange: Exchange, response: Response, now: Instant) {
        match exchange.purpose {
            Purpose::Caller => {
                let established = self.observations.values().any(|o| o.id == exchange.id);
                let id = exchange.id;
                self.events.push_back(Event::Response {
                    id,
                    result: Ok(response),
                });
                if exchange.observe && !established {
                    self.events.push_back(Event::ObservationEnded { id });
                }
            }
            Purpose::Notification {
                observation,
                seq,
                code,
            } => {
                let response = Response {
                    code,
                    observe: Some(seq),
                    ..response
                };
                self.events.push_back(Event::Notification {
                    id: observation,
                    response,
                });
            }
        }
        self.pump(now);
    }

    fn fail(&mut self, exchange: Exchange, error: ExchangeError) {
        match exchange.purpose {
            Purpose::Caller => {
                let id = exchange.id;
                self.events.push_back(Event::Response {
                    id,
                    result: Err(error),
                });
                if exchange.observe {
                    self.observations.retain(|_, o| o.id != id);
                    self.events.push_back(Event::ObservationEnded { id });
                }
            }
            // The observation goes on; the caller notices the gap in the device's sequence.
            Purpose::Notification { observation, .. } => {
                tracing::warn!(?observation, %error, "lost the rest of a notification sent in blocks");
            }
        }
    }

    fn mid(&mut self) -> u16 {
        let mid = self.next_mid;
        self.next_mid = self.next_mid.wrapping_add(1);
        mid
    }

    fn id(&mut self) -> ExchangeId {
        self.next_id += 1;
        ExchangeId(self.next_id)
    }

    fn token(&mut self) -> Vec<u8> {
        let mut token = vec![0; TOKEN_LEN];
        self.rng.fill(&mut token[..]);
        token
    }
}
