//! The real `coaster` binary against the simulator over real UDP, the way a
//! venue runs it: 30 % of datagrams lost each way, two tablets, thirty
//! pagers each created, paged twice and relabelled — every command
//! acknowledged, every page on the air exactly once. And a proxy killed and
//! restarted mid-command: the command resent to the new one pages once.

mod stand;
mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use shared::protocol::Command;
use stand::{coaster, temp_dir, Stand};
use support::{board, device_board, start_simulator, until_live, Tablet};

/// The `coaster` binary talking to `device`.
fn start_binary(device: SocketAddr, data_dir: &Path) -> Stand {
    let device = device.to_string();
    Stand::launch(coaster(data_dir, &["--device", &device], None))
}

fn script(first: i64) -> Vec<Command> {
    let mut commands = Vec::new();
    for number in first..first + 15 {
        commands.push(Command::CreateSession {
            number,
            label: Some(format!("Party {number}")),
            party_size: Some(2),
            goal: None,
        });
        for _ in 0..2 {
            commands.push(Command::PageSession {
                number,
                page_mode: None,
            });
        }
        commands.push(Command::UpdateSession {
            number,
            label: Some(format!("Party {number} ✓")),
            party_size: None,
            goal: None,
        });
    }
    commands
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_percent_loss_every_command_acknowledged_every_page_once() {
    let sim = start_simulator(|c| {
        c.loss = 0.3;
        c.seed = 11;
    })
    .await;
    let stand = start_binary(sim.local_addr(), &temp_dir("lossy"));
    let addr = stand.addr;
    let started = std::time::Instant::now();
    let mut runs = Vec::new();
    for (name, first) in [("a", 1), ("b", 16)] {
        let mut tablet = Tablet::connect(addr, name).await;
        until_live(&mut tablet).await;
        runs.push(tokio::spawn(async move {
            let mut verdicts = Vec::new();
            for command in script(first) {
                verdicts.push((command.clone(), tablet.run(command).await));
            }
            (tablet, verdicts)
        }));
    }
    let mut tablets = Vec::new();
    for run in runs {
        let (tablet, verdicts) = run.await.unwrap();
        for (command, verdict) in &verdicts {
            assert!(verdict.is_acknowledged(), "{command:?} → {verdict:?}");
        }
        assert_eq!(verdicts.len(), 60);
        tablets.push(tablet);
    }
    println!(
        "120 commands acknowledged in {:?}; {} datagrams dropped",
        started.elapsed(),
        sim.traffic().dropped_inbound + sim.traffic().dropped_outbound
    );
    assert_eq!(sim.pages().len(), 60, "exactly one page per page command");
    let device = sim.state();
    for tablet in &mut tablets {
        tablet
            .wait_until(Duration::from_secs(30), |s| {
                board(s) == device_board(&device)
            })
            .await;
    }
    drop(stand);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_resent_to_a_restarted_proxy_pages_once() {
    let sim = start_simulator(|_| {}).await;
    let dir = temp_dir("restart");
    let first = start_binary(sim.local_addr(), &dir);
    let addr = first.addr;
    let mut tablet = Tablet::connect(addr, "t").await;
    until_live(&mut tablet).await;
    let create = Command::CreateSession {
        number: 5,
        label: None,
        party_size: None,
        goal: None,
    };
    assert!(tablet.run(create).await.is_acknowledged());
    let page = Command::PageSession {
        number: 5,
        page_mode: None,
    };
    let op = tablet.send(page.clone()).await;
    // The page reaches the device; the proxy dies before or after answering.
    while sim.pages().is_empty() {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    drop(first); // SIGKILL
    drop(tablet);
    // A new proxy, same data directory; the tablet reconnects and resends.
    let second = start_binary(sim.local_addr(), &dir);
    let addr = second.addr;
    let mut tablet = Tablet::connect(addr, "t").await;
    until_live(&mut tablet).await;
    tablet.resend(&op, page).await;
    let verdict = tablet.verdict(&op).await;
    assert!(verdict.is_acknowledged(), "{verdict:?}");
    assert_eq!(sim.pages().len(), 1, "paged once across the restart");
    drop(second);
    sim.shutdown().await;
}
