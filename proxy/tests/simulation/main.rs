//! Deterministic simulation of the whole stack: the proxy's core and the
//! simulator's device over an in-memory lossy network, on a virtual clock —
//! no sockets, no sleeps. Each seed draws a scenario (loss, delay,
//! duplication, reordering, reboots, proxy restarts, partitions, a forger, a
//! flooding tablet, one to three tablets paging) and the invariants are
//! checked after every step:
//! - no page is transmitted twice for one command;
//! - every command is resolved within its carry limit (the deadline of
//!   silence, at most `CARRY_LIMIT` deadlines in all): acknowledged, a
//!   genuine device rejection, or unreachable only when the device was cut
//!   off;
//! - once the network heals, every tablet's board equals the device's;
//! - nothing panics.
//!
//! `cargo test --release -p proxy --test simulation` runs 10,000 seeds (a
//! debug build 500);
//! `COASTER_SIM_SEEDS=1000000` runs more (the long mode), from
//! `COASTER_SIM_FIRST` (default 0); `COASTER_SIM_SEED=N` runs one. A failing
//! seed prints the command that replays it.

mod net;
mod world;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::SeedableRng;
use shared::device::{Action, Session};
use shared::protocol::{MirrorState, ValidCommand, Verdict};
use simulator::model::PageSource;
use world::{Scenario, World};

/// Commands on the worst links (30 % loss each way) with no reboot,
/// restart or partition, and how many of those still ended unanswered
/// (`unreachable`, or `busy` after waiting behind others): at 30 % loss a
/// round trip fails half the time, so now and then an exchange, its
/// read-back and the next fail in a row, or a resync of a long board in
/// blocks holds the one request slot, and a command's 30 s run out. That
/// must stay rare; on any better link it must not happen at all.
static HARD_COMMANDS: AtomicU64 = AtomicU64::new(0);
static HARD_UNREACHABLE: AtomicU64 = AtomicU64::new(0);
/// The most of those that may end `unreachable`: 1 in 500.
const HARD_UNREACHABLE_AT_MOST: f64 = 0.002;

/// A seed costs about 2.5 ms optimised and ten times that in a debug build:
/// CI runs this suite with `--release` (10,000 seeds in about 15 s on two
/// cores); `cargo test` in a debug build runs a smoke-sized share.
const DEFAULT_SEEDS: u64 = if cfg!(debug_assertions) { 500 } else { 10_000 };

/// Seeds beyond the default range that once broke an invariant, run every
/// time: an unprovable page counted as neither done nor undone (222, 36784),
/// a restarted device noticed only after 65 s of silence (40288), a forged
/// reset taken as the device's refusal (59788), a link that went silent
/// unnoticed because the check fell on the very instant (69863), and a
/// forger's guessed message id that made the device's next response look
/// like a copy of one already taken (37654, 74145), and a page still in the
/// air at a restart, read back too soon and sent again (79018, 134547), and
/// a partition unnoticed because a notification heard between a request and
/// its retransmissions made the link look answered (93164, 267801).
const REGRESSIONS: &[u64] = &[
    222, 36_784, 37_654, 40_288, 59_788, 69_863, 74_145, 79_018, 93_164, 134_547, 267_801,
];

/// Virtual time a run may take before it is a failure in itself.
const LIMIT: Duration = Duration::from_secs(600);
/// After the last command and the last trouble, the network heals; this is
/// how long the boards then get to equal the device (a proxy restarted into
/// a partition is still on RFC 7252 timers: its registration retries at
/// 14–21 s and 30–45 s).
const HEAL: Duration = Duration::from_secs(60);

fn env(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

#[test]
fn seeded_runs_keep_every_invariant() {
    if let Some(seed) = env("COASTER_SIM_SEED") {
        return run_or_report(seed);
    }
    for &seed in REGRESSIONS {
        run_or_report(seed);
    }
    let first = env("COASTER_SIM_FIRST").unwrap_or(0);
    let seeds = env("COASTER_SIM_SEEDS").unwrap_or(DEFAULT_SEEDS);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()) as u64;
    let started = std::time::Instant::now();
    std::thread::scope(|scope| {
        for lane in 0..threads {
            scope.spawn(move || {
                let mut seed = first + lane;
                while seed < first + seeds {
                    run_or_report(seed);
                    seed += threads;
                }
            });
        }
    });
    let hard = HARD_COMMANDS.load(Ordering::Relaxed);
    let unreachable = HARD_UNREACHABLE.load(Ordering::Relaxed);
    println!(
        "{seeds} seeds from {first} kept every invariant in {:.1?}; at 30 % loss, {unreachable} of {hard} undisturbed commands ended unreachable",
        started.elapsed()
    );
    assert!(
        unreachable as f64 <= hard as f64 * HARD_UNREACHABLE_AT_MOST,
        "too many commands ended unreachable on a lossy but working link"
    );
}

fn run_or_report(seed: u64) {
    let result = std::panic::catch_unwind(|| run(seed));
    if let Err(panic) = result {
        let message = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("a panic");
        panic!(
            "seed {seed} failed: {message}\nreplay it with:\n  COASTER_SIM_SEED={seed} cargo test --release -p proxy --test simulation -- --nocapture"
        );
    }
}

/// One seeded run, checking after every step; panics on a broken invariant.
pub fn run(seed: u64) {
    let scenario = Scenario::from_seed(&mut StdRng::seed_from_u64(seed));
    let trace = env("COASTER_SIM_SEED").is_some();
    if trace {
        let mut shown = scenario.clone();
        shown.troubles.dedup_by_key(|(_, t)| *t);
        println!("{shown:#?}");
    }
    if trace {
        // The core's own log beside the trace (its clock is the virtual one's order).
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .without_time()
            .try_init();
    }
    let mut world = World::new(seed, &scenario);
    world.trace = trace;
    let limit = world.t0 + LIMIT;
    let last_trouble = scenario
        .troubles
        .last()
        .map_or(Duration::ZERO, |(at, _)| *at);
    let mut pages_seen = 0;
    let mut healed_at = None;
    loop {
        let work_left = !world.scripts_done() || world.now < world.t0 + last_trouble;
        if !work_left && healed_at.is_none() {
            // The network heals: from here the boards must come to equal the device.
            world.net.faults.loss = 0.0;
            world.net.partitioned = false;
            healed_at = Some(world.now + HEAL);
        }
        if !world.step(healed_at.unwrap_or(limit)) && healed_at.is_some() {
            break;
        }
        assert!(world.now < limit, "still running after {LIMIT:?}");
        if world.device.pages().len() != pages_seen {
            pages_seen = world.device.pages().len();
            no_page_twice(&world);
        }
        every_verdict_in_time(&world);
    }
    every_command_resolved(&world, scenario.faults.loss >= 0.3);
    pages_match_verdicts(&world);
    boards_equal_the_device(&mut world);
    if let Some((start, end)) = partition(&scenario) {
        // A restart in it starts a fresh proxy, which needs its own 9 s to judge.
        let restarted = scenario
            .troubles
            .iter()
            .any(|(at, t)| *t == world::Trouble::Restart && (start..=end).contains(at));
        let long = end - start >= Duration::from_secs(15) && !restarted;
        assert!(
            !long || world.saw_unreachable,
            "a long partition was never reported (forged datagrams kept the link alive?)"
        );
    }
}

/// When the link was cut, if it was.
fn partition(scenario: &Scenario) -> Option<(Duration, Duration)> {
    let at = |kind| {
        scenario
            .troubles
            .iter()
            .find(|(_, t)| *t == kind)
            .map(|(at, _)| *at)
    };
    Some((
        at(world::Trouble::PartitionStart)?,
        at(world::Trouble::PartitionEnd)?,
    ))
}

fn page_of(command: &ValidCommand) -> Option<u32> {
    match command {
        ValidCommand::UpdateSession { number, body } if body.action == Some(Action::Page) => {
            Some(*number)
        }
        _ => None,
    }
}

/// Pages on the air per pager number.
fn transmitted(world: &World) -> BTreeMap<u32, usize> {
    let mut pages = BTreeMap::new();
    for page in world.device.pages() {
        if matches!(page.source, PageSource::Session { .. }) {
            *pages.entry(page.number).or_default() += 1;
        }
    }
    pages
}

/// Page commands per pager number, by how they were answered.
fn page_commands(world: &World) -> BTreeMap<u32, (usize, usize, usize)> {
    let mut commands: BTreeMap<u32, (usize, usize, usize)> = BTreeMap::new();
    for record in world.ops.values() {
        let Some(number) = page_of(&record.command) else {
            continue;
        };
        let (sent, acknowledged, maybe) = commands.entry(number).or_default();
        *sent += 1;
        match &record.verdict {
            Some((Verdict::Acknowledged { .. }, _)) => *acknowledged += 1,
            Some((Verdict::Unreachable { message }, _)) if message.contains("unknown") => {
                *maybe += 1
            }
            // Sent, unanswered, and no read-back could tell (a reboot took
            // the party): the host is told it may have gone out.
            Some((verdict, _)) if *verdict == Verdict::unprovable() => *maybe += 1,
            // Paged, then the device rebooted before its answer got through,
            // and the retransmission met a device with no such party.
            Some((Verdict::Rejected { .. }, _)) if record.disturbed => *maybe += 1,
            None => *maybe += 1,
            Some(_) => {}
        }
    }
    commands
}

fn no_page_twice(world: &World) {
    let commands = page_commands(world);
    for (number, pages) in transmitted(world) {
        let sent = commands.get(&number).map_or(0, |c| c.0);
        assert!(
            pages <= sent,
            "pager {number} paged {pages} times for {sent} page commands"
        );
    }
}

fn every_verdict_in_time(world: &World) {
    let deadline = world.config.command_deadline * proxy::core::CARRY_LIMIT;
    for (op, record) in &world.ops {
        let answered = record.verdict.as_ref().map_or(world.now, |(_, at)| *at);
        assert!(
            answered - record.admitted <= deadline,
            "{op} unanswered {:?} after it was sent",
            answered - record.admitted
        );
    }
}

fn every_command_resolved(world: &World, hard: bool) {
    for (op, record) in &world.ops {
        let counted = hard && !record.disturbed && record.tablet < world::FLOODER;
        HARD_COMMANDS.fetch_add(u64::from(counted), Ordering::Relaxed);
        let Some((verdict, _)) = &record.verdict else {
            panic!("{op} was never answered");
        };
        let flood = record.tablet >= world::FLOODER;
        match verdict {
            Verdict::Acknowledged { .. } => {}
            // A flood is turned away or left to its deadline; it pages nothing.
            Verdict::Invalid { code, .. } if flood && code == "busy" => {}
            Verdict::Unreachable { .. } if flood => {}
            // After a reboot, or a create that never happened, there is no
            // such party: the device's 4.04 is genuine.
            Verdict::Rejected { device_code, .. }
                if device_code == "4.04"
                    && (world.rebooted || !created(world, &record.command)) => {}
            // The same, seen through a lost answer: the read-back finds no
            // such party, which cannot show whether a page went out first.
            verdict
                if *verdict == Verdict::unprovable()
                    && (world.rebooted || !created(world, &record.command)) => {}
            // Cut off by a partition or a restart, or queued behind what was.
            Verdict::Unreachable { .. } if record.disturbed => {}
            Verdict::Invalid { code, .. } if record.disturbed && code == "busy" => {}
            // Or queued behind a run of such exchanges until its deadline.
            Verdict::Unreachable { .. } | Verdict::Invalid { .. } if counted => {
                HARD_UNREACHABLE.fetch_add(1, Ordering::Relaxed);
            }
            other => panic!("{op} ({:?}) was answered {other:?}", record.command),
        }
    }
}

/// Whether the party a command acts on was acknowledged created.
fn created(world: &World, command: &ValidCommand) -> bool {
    let ValidCommand::UpdateSession { number, .. } = command else {
        return true;
    };
    world.ops.values().any(|r| {
        matches!(&r.command, ValidCommand::CreateSession(c) if c.number == *number)
            && matches!(r.verdict, Some((Verdict::Acknowledged { .. }, _)))
    })
}

fn pages_match_verdicts(world: &World) {
    let pages = transmitted(world);
    for (number, (_, acknowledged, maybe)) in page_commands(world) {
        let paged = pages.get(&number).copied().unwrap_or(0);
        assert!(
            acknowledged <= paged && paged <= acknowledged + maybe,
            "pager {number}: {acknowledged} pages acknowledged, {maybe} unknown, {paged} on the air"
        );
    }
}

fn sessions(state: &MirrorState) -> Vec<Session> {
    state.parties.iter().map(|p| p.session.clone()).collect()
}

fn boards_equal_the_device(world: &mut World) {
    let now = world.now;
    let mut device = world.device.device_state(now).active;
    device.sort_by_key(|s| s.number);
    assert_eq!(sessions(world.core.state()), device, "the core's board");
    for tablet in &world.tablets {
        assert_eq!(
            sessions(&tablet.board),
            device,
            "tablet {}'s board",
            tablet.id
        );
    }
    let health = &world.core.state().health;
    assert!(health.reachable && health.synced, "{health:?}");
}
