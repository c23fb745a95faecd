//! Five tablets send 1,000 mixed commands through a link that drops 30 % of
//! datagrams either way. Every command must get a verdict, the device must
//! have transmitted exactly as many pages as the tablets were told were
//! acknowledged, and every tablet must end up showing the device's state.

mod support;

use std::time::Duration;

use proxy::coap::Config;
use shared::protocol::{Command, Verdict};
use support::{board, device_board, start_coaster, start_simulator, until_live, Tablet};

const TABLETS: i64 = 5;
const PARTIES_PER_TABLET: i64 = 40;

/// Five commands per party; every fourth party is still waiting at the end.
fn script(tablet: i64) -> Vec<Command> {
    let mut commands = Vec::new();
    for i in 0..PARTIES_PER_TABLET {
        let number = tablet * 200 + i + 1;
        commands.push(Command::CreateSession {
            number,
            label: Some(format!("T{tablet} P{i}")),
            party_size: Some(1 + i % 8),
            goal: Some(300),
        });
        commands.push(Command::UpdateSession {
            number,
            label: Some(format!("T{tablet} P{i} ✓")),
            party_size: None,
            goal: Some(600),
        });
        commands.push(Command::PageSession {
            number,
            page_mode: None,
        });
        commands.push(Command::PageSession {
            number,
            page_mode: Some("Vibe1".into()),
        });
        commands.push(match i % 4 {
            0 => Command::ClearSession { number },
            1 => Command::RemoveSession { number },
            2 => Command::ClearSession { number },
            _ => Command::UpdateSession {
                number,
                label: None,
                party_size: Some(2),
                goal: None,
            },
        });
    }
    commands
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_commands_through_thirty_percent_loss() {
    let sim = start_simulator(|c| {
        c.loss = 0.3;
        c.seed = 7;
    })
    .await;
    // Loopback answers in microseconds: shrink the RFC timing so the test
    // takes seconds, keeping its shape (4 retransmissions, doubling).
    let timing = Config {
        ack_timeout: Duration::from_millis(5),
        exchange_deadline: Duration::from_secs(1),
        ..Config::default()
    };
    let coaster = start_coaster(Some(sim.local_addr()), timing).await;
    let mut first = Tablet::connect(coaster.addr, "t0").await;
    until_live(&mut first).await;
    let mut runs = Vec::new();
    for t in 0..TABLETS {
        let mut tablet = if t == 0 {
            std::mem::replace(&mut first, Tablet::connect(coaster.addr, "spare").await)
        } else {
            Tablet::connect(coaster.addr, &format!("t{t}")).await
        };
        runs.push(tokio::spawn(async move {
            let mut verdicts = Vec::new();
            for command in script(t) {
                let is_page = matches!(command, Command::PageSession { .. });
                let verdict = tablet.run(command.clone()).await;
                if !verdict.is_acknowledged() {
                    println!("{command:?} → {verdict:?}");
                }
                verdicts.push((is_page, verdict));
            }
            (tablet, verdicts)
        }));
    }
    let mut tablets = Vec::new();
    let mut acknowledged_pages = 0;
    let mut tally = std::collections::BTreeMap::<&str, usize>::new();
    for run in runs {
        let (tablet, verdicts) = run.await.expect("a tablet's run");
        assert_eq!(verdicts.len() as i64, PARTIES_PER_TABLET * 5);
        for (is_page, verdict) in &verdicts {
            let kind = match verdict {
                Verdict::Acknowledged { .. } => "acknowledged",
                Verdict::Rejected { .. } => "rejected",
                Verdict::Invalid { .. } => "invalid",
                Verdict::Unreachable { .. } => "unreachable",
            };
            *tally.entry(kind).or_default() += 1;
            if *is_page && verdict.is_acknowledged() {
                acknowledged_pages += 1;
            }
        }
        tablets.push(tablet);
    }
    let traffic = sim.traffic();
    println!(
        "verdicts {tally:?}; pages acknowledged {acknowledged_pages}, transmitted {}; datagrams dropped {} in, {} out",
        sim.pages().len(),
        traffic.dropped_inbound,
        traffic.dropped_outbound
    );
    assert!(traffic.dropped_inbound > 100, "the link was not lossy");
    assert_eq!(sim.pages().len(), acknowledged_pages);
    assert_eq!(tally.get("invalid"), None);
    let device = sim.state();
    for tablet in &mut tablets {
        let synced = tablet
            .try_wait_until(Duration::from_secs(20), |s| {
                board(s) == device_board(&device) && s.statistics == device.statistics
            })
            .await;
        if !synced {
            let shown = board(&tablet.state);
            for s in &device.active {
                if !shown.contains(s) {
                    println!(
                        "device has {s:?}; tablet shows {:?}",
                        tablet.state.party(s.number)
                    );
                }
            }
            println!(
                "stats device {:?} tablet {:?}",
                device.statistics, tablet.state.statistics
            );
            panic!("the tablet does not show the device's state");
        }
    }
    assert!(
        device.active.len() >= 40,
        "{} parties left",
        device.active.len()
    );
    coaster.shutdown().await;
    sim.shutdown().await;
}
