//! The core's rules on made-up instants, against the simulator's sans-IO
//! device, with a link that drops exactly the datagrams a test names.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use shared::device::{Action, CreateSession, UpdateSession};
use shared::protocol::{CommandResult, DeviceInfo, ValidCommand, Verdict};
use shared::time::DeviceTime;
use simulator::endpoint::{Endpoint as Device, EndpointConfig};
use simulator::model;

use super::{Config, Core, Effect, Input, CARRY_LIMIT, COMMAND_DEADLINE, LINGER};

const MS: Duration = Duration::from_millis(1);

fn proxy_addr() -> SocketAddr {
    "127.0.0.1:40000".parse().unwrap()
}

fn device_addr() -> SocketAddr {
    "127.0.0.1:5683".parse().unwrap()
}

/// Which way a datagram goes, for [`Bench::drop`].
#[derive(Clone, Copy, Debug, PartialEq)]
enum Way {
    ToDevice,
    ToProxy,
}

/// Which datagrams the link loses: true drops it.
type Loss = Box<dyn FnMut(Way, &[u8]) -> bool>;

struct Bench {
    core: Core<u32>,
    device: Device,
    now: Instant,
    /// Datagrams in the air: (arrives, way, bytes); 1 ms each way.
    air: Vec<(Instant, Way, Vec<u8>)>,
    /// Says which datagrams are lost.
    drop: Loss,
    replies: Vec<(String, Verdict)>,
    progress: Vec<(String, u32)>,
    journal: Option<Vec<u8>>,
    /// Effects in the order the core gave them, as names.
    order: Vec<&'static str>,
}

impl Bench {
    fn new(config: Config) -> Self {
        let t0 = Instant::now();
        let clock = DeviceTime::parse("2026-12-03T19:00:00").unwrap();
        let device = Device::new(model::Device::new(clock, t0, 1), EndpointConfig::default());
        let core = Core::new(config, device_addr(), DeviceInfo::default(), 2, t0, 0, None);
        let mut bench = Bench {
            core,
            device,
            now: t0,
            air: Vec::new(),
            drop: Box::new(|_, _| false),
            replies: Vec::new(),
            progress: Vec::new(),
            journal: None,
            order: Vec::new(),
        };
        bench.run_for(Duration::from_millis(100));
        bench
    }

    fn command(&mut self, op: &str, command: ValidCommand) {
        let input = Input::Command {
            tablet: 1,
            op: op.into(),
            command,
        };
        self.core.handle(input, self.now);
        self.effects();
    }

    fn effects(&mut self) {
        while let Some(effect) = self.core.poll_effect() {
            match effect {
                Effect::Transmit(bytes) => {
                    self.order.push("transmit");
                    self.send(Way::ToDevice, bytes);
                }
                Effect::Reply { op, verdict, .. } => self.replies.push((op, verdict)),
                Effect::Progress { op, attempt, .. } => self.progress.push((op, attempt)),
                Effect::Delta(_) => {}
                Effect::Journal(bytes) => {
                    self.order.push("journal");
                    self.journal = Some(bytes);
                }
            }
        }
    }

    fn send(&mut self, way: Way, bytes: Vec<u8>) {
        if !(self.drop)(way, &bytes) {
            self.air.push((self.now + MS, way, bytes));
        }
    }

    fn run_for(&mut self, span: Duration) {
        let end = self.now + span;
        loop {
            self.effects();
            let arrival = self.air.iter().map(|(t, _, _)| *t).min();
            let next = [
                arrival,
                self.core.poll_timeout(self.now),
                self.device.next_deadline(),
            ]
            .into_iter()
            .flatten()
            .min();
            let Some(next) = next.filter(|t| *t <= end) else {
                break;
            };
            self.now = next.max(self.now);
            let now = self.now;
            if let Some(i) = self.air.iter().position(|(t, _, _)| *t <= now) {
                let (_, way, bytes) = self.air.remove(i);
                match way {
                    Way::ToDevice => {
                        for out in self.device.on_datagram(&bytes, proxy_addr(), now) {
                            self.send(Way::ToProxy, out.bytes);
                        }
                    }
                    Way::ToProxy => self.core.handle(Input::Datagram(bytes), now),
                }
                continue;
            }
            if self.device.next_deadline().is_some_and(|t| t <= now) {
                for out in self.device.on_timeout(now) {
                    self.send(Way::ToProxy, out.bytes);
                }
            }
            if self.core.poll_timeout(now).is_some_and(|t| t <= now) {
                self.core.handle(Input::Timeout, now);
            }
        }
        self.now = end;
    }

    /// A new core (a restarted proxy) from the journal the old one left.
    fn restart(&mut self) {
        let journal = self.journal.clone().expect("a journal was written");
        self.core = Core::new(
            Config::default(),
            device_addr(),
            DeviceInfo::default(),
            3,
            self.now,
            0,
            Some(&journal),
        );
        self.run_for(Duration::from_millis(100));
    }

    fn pages(&self) -> usize {
        self.device.pages().len()
    }
}

fn create(number: u32) -> ValidCommand {
    ValidCommand::CreateSession(CreateSession {
        number,
        ..Default::default()
    })
}

fn page(number: u32) -> ValidCommand {
    ValidCommand::UpdateSession {
        number,
        body: UpdateSession {
            action: Some(Action::Page),
            ..Default::default()
        },
    }
}

fn is_request(bytes: &[u8]) -> bool {
    // A CON request: type bits 00, code class 0 and not empty.
    bytes.len() > 1 && bytes[0] >> 4 & 0b11 == 0 && bytes[1] != 0 && bytes[1] >> 5 == 0
}

fn is_put(bytes: &[u8]) -> bool {
    is_request(bytes) && bytes[1] == 3
}

#[test]
fn a_command_is_acknowledged_and_the_journal_is_written_before_it_is_sent() {
    let mut b = Bench::new(Config::default());
    assert!(b.core.state().health.synced, "registered and loaded");
    b.order.clear();
    b.command("c1", create(7));
    b.run_for(Duration::from_secs(1));
    assert_eq!(b.replies.len(), 1);
    assert!(b.replies[0].1.is_acknowledged(), "{:?}", b.replies);
    assert_eq!(b.order[..2], ["journal", "transmit"]);
    assert!(b.core.state().party(7).is_some());
}

#[test]
fn a_page_whose_answers_are_all_lost_is_read_back_and_sent_again_once() {
    let mut b = Bench::new(Config::default());
    b.command("c1", create(4));
    b.run_for(Duration::from_secs(1));
    // Every copy of the first PUT is lost on its way to the device.
    let mut puts = 0;
    b.drop = Box::new(move |way, bytes| {
        if way == Way::ToDevice && is_put(bytes) {
            puts += 1;
            // The first exchange: its first send and its 4 retransmissions.
            return puts <= 5;
        }
        false
    });
    let sent = b.now;
    b.command("p1", page(4));
    b.run_for(Duration::from_secs(20));
    assert_eq!(b.progress, [("p1".to_string(), 2)]);
    assert_eq!(b.replies.len(), 2);
    assert!(b.replies[1].1.is_acknowledged(), "{:?}", b.replies[1]);
    assert_eq!(b.pages(), 1, "paged exactly once");
    let _ = sent;
}

#[test]
fn a_page_done_but_unanswered_is_proven_done_and_not_sent_again() {
    let mut b = Bench::new(Config::default());
    b.command("c1", create(4));
    b.run_for(Duration::from_secs(1));
    // The device gets the page; every answer to it is lost.
    let mut answers_lost = 0;
    b.drop = Box::new(move |way, bytes| {
        // A piggybacked 2.04 answer: ACK type, code 2.04 (0x44).
        if way == Way::ToProxy && bytes.len() > 1 && bytes[1] == 0x44 && answers_lost < 5 {
            answers_lost += 1;
            return true;
        }
        false
    });
    b.command("p1", page(4));
    b.run_for(Duration::from_secs(20));
    assert!(b.progress.is_empty(), "not sent again: {:?}", b.progress);
    let (_, verdict) = &b.replies[1];
    let Verdict::Acknowledged {
        result: CommandResult::Party { party },
    } = verdict
    else {
        panic!("{verdict:?}");
    };
    assert!(party.session.notified.is_some());
    assert_eq!(b.pages(), 1, "paged exactly once");
}

/// Drops what `lose` says and remembers the message id of the last PUT sent.
fn watch_puts(
    b: &mut Bench,
    lose: fn(Way, &[u8]) -> bool,
) -> std::rc::Rc<std::cell::Cell<[u8; 2]>> {
    let last = std::rc::Rc::new(std::cell::Cell::new([0, 0]));
    let seen = last.clone();
    b.drop = Box::new(move |way, bytes| {
        if way == Way::ToDevice && is_put(bytes) {
            seen.set([bytes[2], bytes[3]]);
        }
        lose(way, bytes)
    });
    last
}

/// A CoAP Reset for message id `mid`, as any host on the LAN could send.
fn reset(b: &mut Bench, [m1, m2]: [u8; 2]) {
    b.core
        .handle(Input::Datagram(vec![0x70, 0x00, m1, m2]), b.now);
    b.effects();
}

#[test]
fn a_forged_reset_is_read_back_and_the_page_it_hid_acknowledged() {
    let mut b = Bench::new(Config::default());
    b.command("c1", create(4));
    b.run_for(Duration::from_secs(1));
    // The device pages, its answer is lost, and a forger resets the exchange.
    let put = watch_puts(&mut b, |way, bytes| way == Way::ToProxy && bytes[1] == 0x44);
    b.command("p1", page(4));
    b.run_for(3 * MS);
    reset(&mut b, put.get());
    b.run_for(Duration::from_secs(5));
    assert!(b.progress.is_empty(), "not sent again: {:?}", b.progress);
    assert!(b.replies[1].1.is_acknowledged(), "{:?}", b.replies[1]);
    assert_eq!(b.pages(), 1, "paged exactly once");
}

#[test]
fn a_second_reset_is_believed_and_the_host_told() {
    let mut b = Bench::new(Config::default());
    b.command("c1", create(4));
    b.run_for(Duration::from_secs(1));
    // Every PUT is refused: nothing reaches the device, a reset comes back.
    let put = watch_puts(&mut b, |way, bytes| way == Way::ToDevice && is_put(bytes));
    b.command("p1", page(4));
    b.run_for(MS);
    reset(&mut b, put.get());
    b.run_for(Duration::from_secs(1));
    assert_eq!(
        b.progress,
        [("p1".to_string(), 2)],
        "read back, then sent again"
    );
    reset(&mut b, put.get());
    b.run_for(Duration::from_secs(1));
    let Verdict::Rejected { message, .. } = &b.replies[1].1 else {
        panic!("{:?}", b.replies[1]);
    };
    assert_eq!(
        message,
        "The transmitter's answer was unusable: the transmitter reset the request."
    );
    assert_eq!(b.pages(), 0);
}

#[test]
fn a_silent_device_gets_unreachable_at_the_deadline_and_nothing_is_sent_late() {
    let config = Config {
        command_deadline: Duration::from_secs(10),
        ..Config::default()
    };
    let mut b = Bench::new(config);
    b.drop = Box::new(|_, _| true);
    let asked = b.now;
    b.command("c1", create(9));
    b.run_for(Duration::from_secs(9));
    assert!(b.replies.is_empty(), "still carried before its deadline");
    b.run_for(Duration::from_secs(2));
    let (_, verdict) = &b.replies[0];
    assert!(
        matches!(verdict, Verdict::Unreachable { .. }),
        "{verdict:?}"
    );
    assert!(b.now - asked >= Duration::from_secs(10));
    // The device comes back: the unanswered create is not sent on its own.
    b.drop = Box::new(|_, _| false);
    b.run_for(Duration::from_secs(30));
    assert!(b.core.state().health.reachable);
    assert_eq!(b.replies.len(), 1);
}

/// A CoAP header's code byte for POST (0.02): what creates a party.
const POST: u8 = 0x02;

#[test]
fn a_device_that_still_answers_keeps_a_command_carried_past_the_deadline() {
    let mut b = Bench::new(Config::default());
    // Every create is lost on the way; read-backs and polls get through, so
    // the device is answering all along.
    b.drop = Box::new(|way, bytes| way == Way::ToDevice && bytes.get(1) == Some(&POST));
    b.command("c1", create(9));
    b.run_for(COMMAND_DEADLINE + Duration::from_secs(15));
    assert!(b.replies.is_empty(), "carried: {:?}", b.replies);
    assert!(
        b.progress.len() >= 2,
        "retried after read-backs: {:?}",
        b.progress
    );
    b.drop = Box::new(|_, _| false);
    b.run_for(Duration::from_secs(15));
    assert_eq!(b.replies.len(), 1);
    assert!(b.replies[0].1.is_acknowledged(), "{:?}", b.replies[0]);
    assert!(b.core.state().party(9).is_some());
}

#[test]
fn a_command_the_device_never_takes_is_given_up_at_the_carry_limit() {
    let mut b = Bench::new(Config::default());
    b.drop = Box::new(|way, bytes| way == Way::ToDevice && bytes.get(1) == Some(&POST));
    let asked = b.now;
    b.command("c1", create(9));
    let limit = COMMAND_DEADLINE * CARRY_LIMIT;
    b.run_for(limit - Duration::from_secs(1));
    assert!(b.replies.is_empty(), "carried: {:?}", b.replies);
    b.run_for(Duration::from_secs(2));
    let [(_, Verdict::Unreachable { message })] = b.replies.as_slice() else {
        panic!("{:?}", b.replies);
    };
    assert!(message.contains("answers but"), "{message}");
    assert!(b.now - asked >= limit);
}

#[test]
fn a_flood_is_answered_busy_and_a_page_still_goes_first() {
    // Reads may fill a quarter of it: 3.
    let config = Config {
        max_waiting: 12,
        ..Config::default()
    };
    let mut b = Bench::new(config);
    b.command("c1", create(4));
    b.run_for(Duration::from_secs(1));
    for i in 0..3 {
        b.command(&format!("h{i}"), ValidCommand::GetHistory);
    }
    b.command("p1", page(4));
    b.command("h9", ValidCommand::GetHistory);
    let busy = b.replies.iter().find(|(op, _)| op == "h9").unwrap();
    assert!(matches!(&busy.1, Verdict::Invalid { code, .. } if code == "busy"));
    b.run_for(Duration::from_secs(1));
    let order: Vec<&str> = b.replies.iter().map(|(op, _)| op.as_str()).collect();
    // h0 was already on the wire when the page came; the page overtook h1 and h2.
    assert_eq!(order, ["c1", "h9", "h0", "p1", "h1", "h2"]);
}

#[test]
fn a_create_on_a_pager_in_use_names_a_free_one() {
    let mut b = Bench::new(Config::default());
    b.command("c1", create(1));
    b.command("c2", create(1));
    let (_, verdict) = b.replies.last().unwrap();
    assert!(
        matches!(verdict, Verdict::Invalid { code, message } if code == "number_in_use" && message.contains("Pager 2 is free")),
        "{verdict:?}"
    );
}

#[test]
fn a_reboot_is_noticed_and_the_board_registered_again() {
    let mut b = Bench::new(Config::default());
    b.command("c1", create(3));
    b.run_for(Duration::from_secs(1));
    b.device.reboot();
    // The device forgot its observer; the next poll or the silence shows it.
    b.run_for(Duration::from_secs(70));
    let health = &b.core.state().health;
    assert!(health.observing && health.synced, "{health:?}");
    assert!(
        b.core.state().parties.is_empty(),
        "the board follows the device"
    );
    assert!(health.reboots + health.resyncs >= 1, "{health:?}");
}

#[test]
fn a_party_the_device_does_not_know_shows_a_reboot_at_once() {
    let mut b = Bench::new(Config::default());
    b.command("c1", create(3));
    b.run_for(Duration::from_secs(1));
    b.device.reboot();
    // A page on the party the board still shows: 4.04, and a snapshot
    // tells why — long before the Observe registration's 65 s of silence.
    b.command("p1", page(3));
    b.run_for(Duration::from_secs(1));
    assert!(
        matches!(&b.replies[1].1, Verdict::Rejected { device_code, .. } if device_code == "4.04")
    );
    let health = &b.core.state().health;
    assert_eq!(health.reboots, 1, "{health:?}");
    assert!(health.observing && health.synced, "{health:?}");
    assert!(
        b.core.state().parties.is_empty(),
        "the board follows the device"
    );
}

#[test]
fn after_a_restart_a_resent_op_is_answered_from_the_journal() {
    let mut b = Bench::new(Config::default());
    b.command("c1", create(3));
    b.command("p1", page(3));
    b.run_for(Duration::from_secs(1));
    assert_eq!(b.pages(), 1);
    // A restarted proxy; the tablet resends p1.
    b.restart();
    b.replies.clear();
    b.command("p1", page(3));
    // Proven by a read-back once what the last run sent has landed (LINGER).
    b.run_for(LINGER + Duration::from_secs(1));
    assert!(b.replies[0].1.is_acknowledged());
    assert_eq!(b.pages(), 1, "not paged again");
}

#[test]
fn a_page_on_its_way_at_a_restart_is_read_back_before_anything_is_resent() {
    let mut b = Bench::new(Config::default());
    b.command("c1", create(3));
    b.run_for(Duration::from_secs(1));
    // The page reaches the device; the proxy dies before the answer arrives.
    b.drop = Box::new(|way, _| way == Way::ToProxy);
    b.command("p1", page(3));
    b.run_for(Duration::from_millis(5));
    assert_eq!(b.pages(), 1);
    b.drop = Box::new(|_, _| false);
    b.air.clear();
    b.restart();
    b.replies.clear();
    b.command("p1", page(3));
    b.run_for(LINGER + Duration::from_secs(1));
    assert!(b.replies[0].1.is_acknowledged(), "{:?}", b.replies);
    assert_eq!(b.pages(), 1, "the read-back proved it done");
}

#[test]
fn after_a_restart_a_page_still_in_the_air_lands_before_the_read_back() {
    let mut b = Bench::new(Config::default());
    b.command("c1", create(3));
    b.run_for(Duration::from_secs(1));
    // The page is held up on its way (a Wi-Fi access point's buffer) and
    // the proxy restarts meanwhile.
    b.command("p1", page(3));
    for (arrives, way, _) in &mut b.air {
        if *way == Way::ToDevice {
            *arrives += Duration::from_millis(800);
        }
    }
    b.restart();
    b.replies.clear();
    b.command("p1", page(3));
    b.run_for(Duration::from_secs(5));
    assert!(b.replies[0].1.is_acknowledged(), "{:?}", b.replies);
    assert_eq!(b.pages(), 1, "read back after it landed, not sent again");
}
