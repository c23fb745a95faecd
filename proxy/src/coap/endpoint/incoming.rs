//! What the device sends: answers to our requests, notifications, pings and resets.

use std::net::SocketAddr;
use std::time::Instant;

use coap_lite::MessageType;

use super::super::block::{Block, Step};
use super::super::exchange::Flight;
use super::super::message::{self, Body, Incoming, Response};
use super::super::observe::Freshness;
use super::super::retransmit::Schedule;
use super::{Endpoint, Event, ExchangeError, Observation, Purpose, MAX_BLOCK_RESTARTS};

/// How long a separate response may take after the device's empty ACK: the
/// device retransmits it on RFC 7252 timers, so three of its copies (at 0,
/// 2–3 and 6–9 s) fit, and one that never arrives holds the one request
/// slot no longer than that before the core reads back instead.
const SEPARATE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

impl Endpoint {
    pub fn handle_datagram(&mut self, from: SocketAddr, bytes: &[u8], now: Instant) {
        if from != self.peer {
            tracing::debug!(%from, "ignoring a datagram from an address other than the device");
            return;
        }
        let Some(msg) = message::decode(bytes) else {
            tracing::debug!(len = bytes.len(), "ignoring a datagram that is not CoAP");
            return;
        };
        // Only an answer we can match to something we sent, or a notification
        // on an observation we hold, counts as contact: any LAN host can send
        // a decodable datagram from the device's address.
        let Incoming {
            kind,
            message_id: mid,
            token,
            body,
        } = msg;
        match (kind, body) {
            (MessageType::Acknowledgement, Body::Empty) => {
                if self.ping_answered(mid, now) {
                    return;
                }
                // Only the first: a copy (a duplicate, or a forger's replay)
                // of an empty ACK already taken proves nothing new.
                let first = self.active_flight(mid).filter(|f| f.schedule.is_some());
                if let Some(flight) = first {
                    // The device will answer separately (RFC 7252 §5.2.2): stop
                    // retransmitting, and wait a bounded time for the answer,
                    // which counts as awaited for liveness: a device that
                    // vanishes meanwhile is noticed like any silent one.
                    let schedule = flight.schedule.take();
                    self.karn(schedule.as_ref(), now);
                    self.liveness.received(now);
                    self.liveness.awaiting(now);
                    let exchange = self.active.as_mut().expect("active_flight found it");
                    exchange.deadline = exchange.deadline.min(now + SEPARATE_WAIT);
                }
            }
            (MessageType::Reset, _) => {
                if !self.ping_answered(mid, now) && self.active_flight(mid).is_some() {
                    self.liveness.received(now);
                    let exchange = self.active.take().expect("active_flight found it");
                    self.fail(exchange, ExchangeError::Reset);
                    self.pump(now);
                }
            }
            (
                MessageType::Acknowledgement,
                Body::Response {
                    code,
                    payload,
                    etag,
                    observe,
                    block2,
                },
            ) => {
                let matches = self.active_flight(mid).is_some_and(|f| f.token == token);
                if let Some(flight) = self.active_flight(mid).filter(|_| matches) {
                    let schedule = flight.schedule.take();
                    self.karn(schedule.as_ref(), now);
                    self.liveness.received(now);
                    let response = Response {
                        code,
                        payload,
                        etag,
                        observe,
                    };
                    self.on_response(response, block2, now);
                }
            }
            (MessageType::Acknowledgement, Body::Request) => {}
            (kind, Body::Empty | Body::Request) => {
                // A ping from the device, or a request a client has nothing to serve.
                if kind == MessageType::Confirmable {
                    self.transmits
                        .push_back(message::empty(MessageType::Reset, mid));
                }
            }
            (
                kind,
                Body::Response {
                    code,
                    payload,
                    etag,
                    observe,
                    block2,
                },
            ) => {
                let confirmable = kind == MessageType::Confirmable;
                if let Some(reply) = self.seen.lookup(mid, &token, now) {
                    // A retransmission whose first copy we handled: answer it the same way again.
                    self.transmits.extend(reply.filter(|_| confirmable));
                    return;
                }
                let active = self.active.as_ref().and_then(|e| e.flight.as_ref());
                let for_active = active.is_some_and(|f| f.token == token);
                let for_observation = self.observations.contains_key(&token);
                let reply = if for_active || for_observation {
                    MessageType::Acknowledgement
                } else {
                    tracing::debug!(mid, "rejecting a response with a token we do not know");
                    MessageType::Reset
                };
                if for_active || for_observation {
                    self.liveness.received(now);
                }
                // Answer before acting, so the ACK precedes any request the response triggers.
                let reply = confirmable.then(|| message::empty(reply, mid));
                self.transmits.extend(reply.clone());
                if for_active || for_observation {
                    // Only what was taken: a forger's guesses must not crowd it out.
                    self.seen.record(mid, &token, now, reply);
                }
                let response = Response {
                    code,
                    payload,
                    etag,
                    observe,
                };
                if for_active {
                    let flight = self
                        .active
                        .as_mut()
                        .and_then(|e| e.flight.as_mut())
                        .expect("matched");
                    // No round trip from a separate response: its timing is
                    // the device's work and its own retransmissions.
                    flight.schedule = None;
                    self.on_response(response, block2, now);
                } else if for_observation {
                    self.on_notification(&token, response, block2, now);
                }
            }
        }
    }

    fn active_flight(&mut self, mid: u16) -> Option<&mut Flight> {
        self.active
            .as_mut()
            .and_then(|e| e.flight.as_mut())
            .filter(|f| f.message_id == mid)
    }

    fn ping_answered(&mut self, mid: u16, now: Instant) -> bool {
        match self.ping {
            Some((ping, sent)) if ping == mid => {
                self.ping = None;
                self.liveness.received(now);
                self.rtt.sample(now - sent);
                self.liveness.answered_first_try(now - sent);
                true
            }
            _ => false,
        }
    }

    /// Karn's rule, widened (see [`Schedule::round_trip`]): only an answer
    /// that can belong to one copy of the message gives a round-trip time.
    fn karn(&mut self, schedule: Option<&Schedule>, now: Instant) {
        if let Some(rtt) = schedule.and_then(|s| s.round_trip(now)) {
            self.rtt.sample(rtt);
            self.liveness.answered_first_try(rtt);
        }
    }

    fn on_response(&mut self, response: Response, block2: Option<Block>, now: Instant) {
        let mut exchange = self
            .active
            .take()
            .expect("only called for the active exchange");
        let first = block2.is_none_or(|b| b.num == 0);
        if exchange.observe && first && response.code.is_success() {
            if let Some(seq) = response.observe {
                let mut freshness = Freshness::default();
                freshness.accept(seq, now);
                let request = exchange.request.clone();
                let observation = Observation {
                    id: exchange.id,
                    request,
                    freshness,
                };
                self.observations
                    .insert(exchange.token.clone(), observation);
                exchange.first_observe = Some(seq);
            }
        }
        let Some(block) = block2 else {
            return self.complete(exchange, response, now);
        };
        match exchange
            .reassembly
            .accept(block, response.etag.as_deref(), &response.payload)
        {
            Step::Done(payload) => {
                let observe = exchange.first_observe;
                self.complete(
                    exchange,
                    Response {
                        payload,
                        observe,
                        ..response
                    },
                    now,
                );
            }
            Step::Fetch(next) => {
                // Each block is its own round trip: progress earns a fresh
                // deadline, or a long list could never arrive over a lossy link.
                exchange.deadline = now
                    + exchange
                        .request
                        .deadline
                        .unwrap_or(self.config.exchange_deadline);
                self.resend(exchange, Some(next), now)
            }
            Step::Restart if exchange.block_restarts < MAX_BLOCK_RESTARTS => {
                exchange.block_restarts += 1;
                self.resend(exchange, None, now);
            }
            Step::Restart => {
                self.fail(exchange, ExchangeError::BlockTransfer);
                self.pump(now);
            }
        }
    }

    fn on_notification(
        &mut self,
        token: &[u8],
        response: Response,
        block2: Option<Block>,
        now: Instant,
    ) {
        let observation = self.observations.get_mut(token).expect("caller checked");
        let id = observation.id;
        let Some(seq) = response.observe.filter(|_| response.code.is_success()) else {
            // RFC 7641 §3.2: a notification without Observe, or with an error, ends it.
            self.observations.remove(token);
            self.events.push_back(Event::Notification { id, response });
            self.events.push_back(Event::ObservationEnded { id });
            return;
        };
        if !observation.freshness.accept(seq, now) {
            tracing::debug!(
                seq,
                "dropping a notification older than one already delivered"
            );
            return;
        }
        match block2 {
            Some(block) if block.more && block.num == 0 => {
                // Fetch the rest with a plain GET of the same resource (RFC 7959 §3.4),
                // queued behind whatever the caller asked for.
                let request = observation.request.clone();
                let purpose = Purpose::Notification {
                    observation: id,
                    seq,
                    code: response.code,
                };
                let follow_up = self.id();
                let mut exchange = self.exchange(follow_up, purpose, request, false, now);
                exchange.resume = match exchange.reassembly.accept(
                    block,
                    response.etag.as_deref(),
                    &response.payload,
                ) {
                    Step::Fetch(next) => Some(next),
                    _ => return,
                };
                self.queue.push_back(exchange);
                self.pump(now);
            }
            _ => self.events.push_back(Event::Notification { id, response }),
        }
    }
}
