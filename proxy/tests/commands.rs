//! Every tablet command end to end: a real WebSocket into the proxy, real
//! CoAP over UDP to the simulator, and the simulator's own state as the judge.

mod support;

use std::time::Duration;

use proxy::coap::{Config, Driver};
use proxy::device::Device;
use shared::device::{ClearType, CreateSession, PageMode, SessionState};
use shared::protocol::{Command, CommandResult, Verdict};
use support::{board, device_board, start_coaster, until_live, Tablet};

fn create(number: i64, label: &str, party_size: i64, goal: i64) -> Command {
    Command::CreateSession {
        number,
        label: Some(label.into()),
        party_size: Some(party_size),
        goal: Some(goal),
    }
}

fn party_of(verdict: Verdict) -> shared::protocol::Party {
    match verdict {
        Verdict::Acknowledged {
            result: CommandResult::Party { party },
        } => party,
        other => panic!("expected an acknowledged party, got {other:?}"),
    }
}

#[tokio::test]
async fn every_command_reaches_the_simulator_and_comes_back_as_a_verdict() {
    let coaster = start_coaster(None, Config::default()).await;
    let sim = coaster.simulator.as_ref().expect("the built-in simulator");
    let mut tablet = Tablet::connect(coaster.addr, "t").await;
    assert_eq!(tablet.simulated, Some(true));
    until_live(&mut tablet).await;

    // Create, then refuse a second party on the same pager.
    let party = party_of(tablet.run(create(12, "Ana", 4, 600)).await);
    assert_eq!(party.session.label.as_deref(), Some("Ana"));
    let device = &sim.state().active[0];
    assert_eq!(
        (device.number, device.party_size, device.goal_in_seconds),
        (12, Some(4), 600)
    );
    match tablet.run(create(12, "Bo", 2, 300)).await {
        Verdict::Invalid { code, message } => {
            assert_eq!(code, "number_in_use");
            assert!(
                message.contains("Pager 12 is already with a party (Ana)"),
                "{message}"
            );
            assert!(message.contains("Pager 1 is free"), "{message}");
        }
        other => panic!("a second create on pager 12 was not refused: {other:?}"),
    }
    assert_eq!(sim.state().active.len(), 1, "the device was touched");

    // Update, page twice (once with another mode), seat.
    let updated = party_of(
        tablet
            .run(Command::UpdateSession {
                number: 12,
                label: Some("Ana B".into()),
                party_size: Some(5),
                goal: None,
            })
            .await,
    );
    assert_eq!(updated.session.party_size, Some(5));
    let paged = party_of(
        tablet
            .run(Command::PageSession {
                number: 12,
                page_mode: None,
            })
            .await,
    );
    assert_eq!(paged.session.state, Some(SessionState::Paged));
    assert_eq!(paged.page_count, 1);
    let again = party_of(
        tablet
            .run(Command::PageSession {
                number: 12,
                page_mode: Some("Vibe1".into()),
            })
            .await,
    );
    assert_eq!(
        again.page_count, 2,
        "the second page within a second counts"
    );
    let pages = sim.pages();
    assert_eq!(
        pages.iter().map(|p| (p.number, p.mode)).collect::<Vec<_>>(),
        [(12, PageMode::Flash30Sec), (12, PageMode::Vibe1)]
    );
    match tablet.run(Command::ClearSession { number: 12 }).await {
        Verdict::Acknowledged {
            result: CommandResult::Archived { session },
        } => assert_eq!(session.effective_state(), SessionState::Cleared),
        other => panic!("seat was not acknowledged: {other:?}"),
    }
    party_of(tablet.run(create(13, "Cy", 2, 300)).await);
    assert!(matches!(
        tablet.run(Command::RemoveSession { number: 13 }).await,
        Verdict::Acknowledged {
            result: CommandResult::Archived { .. }
        }
    ));
    let history = sim.state().history;
    assert_eq!(
        history
            .iter()
            .map(|h| (h.session.number, h.clear_type))
            .collect::<Vec<_>>(),
        [(12, ClearType::Stop), (13, ClearType::Removed)]
    );

    // Reads, and what the device says about a pager it does not know.
    match tablet.run(Command::GetHistory).await {
        Verdict::Acknowledged {
            result: CommandResult::History { entries },
        } => assert_eq!(entries, history),
        other => panic!("history: {other:?}"),
    }
    match tablet.run(Command::GetStatistics).await {
        Verdict::Acknowledged {
            result: CommandResult::Statistics { statistics },
        } => assert_eq!(statistics, sim.state().statistics),
        other => panic!("statistics: {other:?}"),
    }
    match tablet
        .run(Command::PageSession {
            number: 500,
            page_mode: None,
        })
        .await
    {
        Verdict::Rejected {
            device_code,
            message,
        } => {
            assert_eq!(device_code, "4.04");
            assert!(!message.is_empty());
        }
        other => panic!("paging an unknown pager: {other:?}"),
    }
    assert!(matches!(
        tablet.run(Command::ClearSession { number: 0 }).await,
        Verdict::Invalid { code, .. } if code == "pager_out_of_range"
    ));

    // Standalone page, settings, the clears.
    assert!(tablet
        .run(Command::StandalonePage {
            number: 99,
            page_mode: Some("Vibe1".into()),
            message: Some("Kitchen".into()),
            system_id: Some(3),
        })
        .await
        .is_acknowledged());
    let last = sim.pages().pop().unwrap();
    assert_eq!(
        (
            last.number,
            last.mode,
            last.message.as_deref(),
            last.system_id
        ),
        (99, PageMode::Vibe1, Some("Kitchen"), 3)
    );
    match tablet
        .run(Command::UpdateSettings {
            system_id: Some(5),
            default_target_goal: Some(420),
            statistics_clear_mark: Some(3),
            datetime: Some("2026-11-29T19:30:00".into()),
        })
        .await
    {
        Verdict::Acknowledged {
            result: CommandResult::Settings { settings },
        } => {
            assert_eq!(
                (
                    settings.system_id,
                    settings.default_target_goal,
                    settings.statistics_clear_mark
                ),
                (5, 420, 3)
            );
        }
        other => panic!("settings: {other:?}"),
    }
    assert_eq!(sim.state().settings.default_target_goal, 420);
    assert!(matches!(
        tablet.run(Command::GetSettings).await,
        Verdict::Acknowledged { result: CommandResult::Settings { settings } } if settings.system_id == 5
    ));
    tablet
        .wait_until(Duration::from_secs(5), |s| {
            s.settings.as_ref().is_some_and(|x| x.system_id == 5)
                && s.health.device_clock_offset_s.is_some()
        })
        .await;
    for n in [1, 2, 3] {
        party_of(tablet.run(create(n, "x", 1, 60)).await);
    }
    assert!(tablet
        .run(Command::ClearAllSessions)
        .await
        .is_acknowledged());
    assert!(sim.state().active.is_empty());
    assert!(tablet.run(Command::ClearStatistics).await.is_acknowledged());
    assert_eq!(sim.state().statistics, Default::default());
    assert!(tablet.run(Command::ClearHistory).await.is_acknowledged());
    assert!(sim.state().history.is_empty());
    tablet
        .wait_until(Duration::from_secs(5), |s| {
            s.parties.is_empty() && s.statistics == Default::default()
        })
        .await;
    coaster.shutdown().await;
}

#[tokio::test]
async fn tablets_see_each_other_and_changes_made_directly_on_the_device() {
    let coaster = start_coaster(None, Config::default()).await;
    let sim_addr = coaster.device_addr;
    let mut a = Tablet::connect(coaster.addr, "a").await;
    let mut b = Tablet::connect(coaster.addr, "b").await;
    until_live(&mut a).await;

    party_of(a.run(create(7, "Dee", 3, 300)).await);
    b.wait_until(Duration::from_secs(5), |s| s.party(7).is_some())
        .await;
    party_of(
        b.run(Command::PageSession {
            number: 7,
            page_mode: None,
        })
        .await,
    );
    a.wait_until(Duration::from_secs(5), |s| {
        s.party(7).is_some_and(|p| p.page_count == 1)
    })
    .await;

    // Another CoAP client, not the proxy, creates a session on the device.
    let other = Driver::start(sim_addr, Config::default()).await.unwrap();
    Device::new(other.handle())
        .create_session(CreateSession {
            number: 77,
            label: Some("Walk-in".into()),
            ..Default::default()
        })
        .await
        .expect("the device takes a direct create");
    for tablet in [&mut a, &mut b] {
        tablet
            .wait_until(Duration::from_secs(5), |s| {
                s.party(77)
                    .is_some_and(|p| p.session.label.as_deref() == Some("Walk-in"))
            })
            .await;
    }
    let device = coaster.simulator.as_ref().unwrap().state();
    assert_eq!(board(&a.state), device_board(&device));
    assert_eq!(board(&b.state), device_board(&device));
    assert_eq!(a.state.statistics, device.statistics);
    other.shutdown().await;
    coaster.shutdown().await;
}
