use super::*;

const PIN: &str = "482915";
const DAY: i64 = DAY_MS;

fn temp_dir() -> PathBuf {
    std::env::temp_dir().join(format!("coaster-tokens-{}", rand::random::<u64>()))
}

#[test]
fn tokens_survive_a_restart_as_hashes_in_a_private_file() {
    let dir = temp_dir();
    let mut store = TokenStore::open(&dir, 90, 0).unwrap();
    let token = store.issue(PIN, "Host stand", 1_000);
    let id = store.check(&token, PIN, 2_000).unwrap();
    let text = std::fs::read_to_string(dir.join("tokens.jsonl")).unwrap();
    assert!(!text.contains(&token), "the token itself was stored");
    assert!(!text.contains(PIN));
    assert!(text.contains(&hash(&token)));

    let mut again = TokenStore::open(&dir, 90, 3_000).unwrap();
    assert_eq!(again.check(&token, PIN, 4_000), Some(id.clone()));
    let listed = again.list(Some(&id));
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (
            listed[0].name.as_str(),
            listed[0].created_ms,
            listed[0].this_tablet
        ),
        ("Host stand", 1_000, true)
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir.join("tokens.jsonl")), 0o600);
        assert_eq!(mode(&dir), 0o700);
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn blank_and_broken_lines_never_admit_anything() {
    let good = Record {
        id: "ab12cd34".into(),
        hash: hash("t0k3n"),
        pin_binding: bind("t0k3n", PIN),
        name: "Bar".into(),
        created_ms: 0,
        last_seen_ms: 0,
    };
    let text = format!(
        "\n   \n{}\n{{\"id\":\"x\"}}\nnot json\n{{\"id\":\"e\",\"hash\":\"\",\"pin_binding\":\"\",\"name\":\"\",\"created_ms\":0,\"last_seen_ms\":0}}\n{}",
        serde_json::to_string(&good).unwrap(),
        r#"{"id":"h","hash":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","pin_binding":"zz","name":"","created_ms":0,"last_seen_ms":0}"#
    );
    let (records, skipped) = parse(&text);
    assert_eq!(records, [good]);
    assert_eq!(skipped, 4);

    let dir = temp_dir();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("tokens.jsonl"), &text).unwrap();
    let mut store = TokenStore::open(&dir, 90, 0).unwrap();
    assert_eq!(store.check("", PIN, 0), None);
    assert_eq!(store.check("t0k3n", PIN, 0), Some("ab12cd34".into()));
    // The broken lines are gone from the file.
    let (_, skipped) = parse(&std::fs::read_to_string(dir.join("tokens.jsonl")).unwrap());
    assert_eq!(skipped, 0);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_new_pin_signs_every_tablet_out() {
    let mut store = TokenStore::in_memory(90);
    let token = store.issue(PIN, "Bar", 0);
    assert_eq!(store.check(&token, "999999", 1), None);
    assert!(store.list(None).is_empty(), "the stale record was kept");
    assert_eq!(store.check(&token, PIN, 2), None);
}

#[test]
fn tokens_unused_for_the_limit_expire() {
    let mut store = TokenStore::in_memory(90);
    let used = store.issue(PIN, "Used", 0);
    let unused = store.issue(PIN, "Unused", 0);
    assert!(store.check(&used, PIN, 60 * DAY).is_some());
    assert!(store.check(&used, PIN, 140 * DAY).is_some());
    assert_eq!(store.check(&unused, PIN, 140 * DAY), None);
    assert_eq!(store.list(None).len(), 1);
    assert_eq!(store.check(&used, PIN, 231 * DAY), None);
}

#[test]
fn names_are_trimmed_cut_and_never_empty() {
    let mut store = TokenStore::in_memory(90);
    store.issue(PIN, "   ", 0);
    store.issue(PIN, &"x".repeat(100), 1);
    let names: Vec<_> = store.list(None).into_iter().map(|t| t.name).collect();
    assert_eq!(names, ["x".repeat(NAME_MAX_CHARS), "Tablet".to_string()]);
    let ids: std::collections::HashSet<_> = store.list(None).into_iter().map(|t| t.id).collect();
    assert_eq!(ids.len(), 2);
}
