//! The stand's memory against the real `coaster` binary, the simulator over
//! real UDP and a real SQLite file: two tablets' work survives a SIGKILL,
//! nothing doubled; what happened on the device while Coaster was down is
//! learned, marked late; a second Coaster on the same data directory is
//! refused; a damaged database leaves the board working and says so.

mod stand;
mod support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use proxy::coap::driver::Driver;
use proxy::device::Device;
use serde_json::Value;
use shared::device::CreateSession;
use shared::protocol::Command;
use stand::{coaster, refused_start, request, temp_dir, Stand};
use support::{start_simulator, until_live, Tablet};

fn start(device: SocketAddr, data_dir: &Path) -> Stand {
    Stand::launch(coaster(data_dir, &["--device", &device.to_string()], None))
}

async fn named(stand: &Stand, name: &str) -> Tablet {
    let mut tablet = Tablet::connect(stand.addr, name).await;
    until_live(&mut tablet).await;
    let auth = serde_json::json!({ "type": "auth", "token": "", "name": name });
    tablet.send_raw(&auth.to_string()).await;
    tablet
}

async fn get(stand: &Stand, path: &str) -> (u16, String) {
    let head = format!("GET {path} HTTP/1.1\r\nHost: {}", stand.host());
    let response = request(stand.addr, &head).await;
    (response.status, response.text())
}

async fn get_json(stand: &Stand, path: &str) -> Value {
    let (status, body) = get(stand, path).await;
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

const ALL: &str = "from_ms=0&to_ms=9999999999999";

/// Parties by pager number.
async fn parties(stand: &Stand) -> BTreeMap<u64, Value> {
    let page = get_json(stand, &format!("/api/stand/parties?{ALL}")).await;
    page["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["number"].as_u64().unwrap(), p.clone()))
        .collect()
}

fn kinds(party: &Value) -> Vec<String> {
    party["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect()
}

fn create(number: i64, label: &str) -> Command {
    Command::CreateSession {
        number,
        label: Some(label.into()),
        party_size: Some(2),
        goal: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_stand_loses_nothing_acknowledged_and_learns_what_it_missed() {
    let sim = start_simulator(|_| {}).await;
    let data = temp_dir("memory");
    let mut stand = start(sim.local_addr(), &data);
    let mut door = named(&stand, "Front door").await;
    let mut bar = named(&stand, "Bar").await;
    let script = [
        (0, create(1, "Ann")),
        (
            0,
            Command::PageSession {
                number: 1,
                page_mode: None,
            },
        ),
        (0, Command::ClearSession { number: 1 }),
        (1, create(2, "Bo")),
        (1, Command::RemoveSession { number: 2 }),
        (0, create(3, "Cy")),
        (
            1,
            Command::PageSession {
                number: 3,
                page_mode: None,
            },
        ),
    ];
    let mut acknowledged = Vec::new();
    for (who, command) in script {
        let tablet = if who == 0 { &mut door } else { &mut bar };
        let op = tablet.send(command.clone()).await;
        let verdict = tablet.verdict(&op).await;
        assert!(verdict.is_acknowledged(), "{command:?} → {verdict:?}");
        acknowledged.push(op);
    }

    // The writer commits within milliseconds of a verdict (recording never
    // holds a verdict back); once the trail shows the last op it is on disk.
    let last = acknowledged.last().unwrap().clone();
    let mut written = false;
    for _ in 0..200 {
        let activity = get_json(&stand, &format!("/api/stand/activity?{ALL}")).await;
        if activity["rows"][0]["op"] == last.as_str() {
            written = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(written, "the last command reached the trail");
    // SIGKILL: no shutdown, no flush.
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &stand.pid().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert!(stand.exited(Duration::from_secs(5)).await.is_some());
    drop((door, bar, stand));

    // Meanwhile, on the transmitter's own keypad: a walk-in seated, and one waiting.
    let driver = Driver::start(sim.local_addr(), Default::default())
        .await
        .unwrap();
    let device = Device::new(driver.handle());
    let walk_in = |number, label: &str| CreateSession {
        number,
        label: Some(label.into()),
        ..Default::default()
    };
    device.create_session(walk_in(4, "Walk-in")).await.unwrap();
    device.clear_session(4).await.unwrap();
    device.create_session(walk_in(5, "Waiting")).await.unwrap();

    let stand = start(sim.local_addr(), &data);
    let mut seen = BTreeMap::new();
    for _ in 0..150 {
        seen = parties(&stand).await;
        if seen.len() == 5 && seen[&4]["outcome"] == "seated" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        seen.keys().copied().collect::<Vec<_>>(),
        [1, 2, 3, 4, 5],
        "{seen:#?}"
    );
    let outcome = |n: u64| seen[&n]["outcome"].as_str().unwrap().to_string();
    let late = |n: u64| seen[&n]["learned_late"].as_bool().unwrap();
    assert_eq!(
        (outcome(1), outcome(2), outcome(3), outcome(4), outcome(5)),
        (
            "seated".into(),
            "removed".into(),
            "waiting".into(),
            "seated".into(),
            "waiting".into()
        )
    );
    assert_eq!(
        (late(1), late(2), late(3), late(4), late(5)),
        (false, false, false, true, true)
    );
    // Every lifecycle event once, and who did it.
    assert_eq!(kinds(&seen[&1]), ["created", "paged", "seated"]);
    assert_eq!(kinds(&seen[&2]), ["created", "removed"]);
    assert_eq!(kinds(&seen[&3]), ["created", "paged"]);
    assert_eq!(kinds(&seen[&4]), ["created", "seated"]);
    assert_eq!(seen[&1]["pages"], 1);
    assert_eq!(seen[&1]["events"][1]["by"], "Front door");
    assert_eq!(seen[&2]["events"][1]["by"], "Bar");
    assert!(seen[&1]["wait_to_seat_s"].is_i64());

    // The audit trail: every acknowledged op exactly once, with its tablet.
    let activity = get_json(&stand, &format!("/api/stand/activity?{ALL}")).await;
    let rows = activity["rows"].as_array().unwrap();
    let mut ops: Vec<&str> = rows.iter().map(|r| r["op"].as_str().unwrap()).collect();
    ops.sort();
    let mut expected: Vec<&str> = acknowledged.iter().map(String::as_str).collect();
    expected.sort();
    assert_eq!(ops, expected);
    assert!(rows.iter().all(|r| r["outcome"] == "acknowledged"));
    assert_eq!(
        activity["tablets"],
        serde_json::json!(["Bar", "Front door"])
    );
    let bar_only = get_json(&stand, &format!("/api/stand/activity?{ALL}&tablet=Bar")).await;
    assert_eq!(bar_only["rows"].as_array().unwrap().len(), 3);

    // The CSV: a header and one line per party; one per command.
    let (status, csv) = get(&stand, &format!("/api/stand/export.csv?kind=parties&{ALL}")).await;
    assert_eq!(status, 200);
    assert_eq!(csv.lines().count(), 1 + 5, "{csv}");
    assert!(csv.contains(",Walk-in,") && csv.contains(",seated,"));
    let (_, csv) = get(
        &stand,
        &format!("/api/stand/export.csv?kind=activity&{ALL}"),
    )
    .await;
    assert_eq!(csv.lines().count(), 1 + acknowledged.len(), "{csv}");

    // A second Coaster on the same data directory is refused, and this one goes on.
    let (code, log) = refused_start(coaster(
        &data,
        &["--device", &sim.local_addr().to_string()],
        None,
    ));
    assert_ne!(code, 0);
    assert!(
        log.contains("another Coaster is already using the data directory"),
        "{log}"
    );
    assert_eq!(parties(&stand).await.len(), 5);
    let (status, body) = get(&stand, "/api/stand/parties?from_ms=oops").await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("bad_parameter") && body.contains("from_ms"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_database_leaves_the_board_working_and_says_not_recording() {
    let sim = start_simulator(|_| {}).await;
    let data = temp_dir("damaged");
    std::fs::create_dir_all(&data).unwrap();
    let garbage = vec![0x5au8; 4096];
    std::fs::write(data.join("coaster.db"), &garbage).unwrap();
    let stand = start(sim.local_addr(), &data);
    let mut tablet = named(&stand, "Front door").await;
    let reason = tablet
        .state
        .health
        .not_recording
        .clone()
        .unwrap_or_default();
    assert!(
        reason.contains("damaged") && reason.contains("coaster.db"),
        "{reason:?}"
    );
    let verdict = tablet.run(create(7, "Dee")).await;
    assert!(verdict.is_acknowledged(), "{verdict:?}");
    let (status, body) = get(&stand, &format!("/api/stand/parties?{ALL}")).await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body.contains("store_unavailable") && body.contains("damaged"),
        "{body}"
    );
    assert!(
        stand.log().contains("not recording"),
        "the log says what to do"
    );
    drop(stand);
    assert_eq!(
        std::fs::read(data.join("coaster.db")).unwrap(),
        garbage,
        "nothing overwritten"
    );
}

#[test]
fn the_demo_never_touches_a_real_transmitters_history() {
    let data = temp_dir("demo");
    let (code, log) = refused_start(coaster(
        &data,
        &["--demo", "--device", "127.0.0.1:5683"],
        None,
    ));
    assert_ne!(code, 0);
    assert!(
        log.contains("--demo is for the built-in simulated transmitter only"),
        "{log}"
    );
    assert!(
        !data.join("coaster.db").exists(),
        "nothing written to the real store"
    );
}
