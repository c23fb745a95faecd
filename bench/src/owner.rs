//! P8 and P10: what the owner's figures cost, and how good the quote is.
//! Both on nights from the store's seeded model (`proxy::store::nights`).

use std::time::{Duration, Instant};

use proxy::store::nights::{backtest, generate, write};
use proxy::store::Store;

use crate::report::{self, Row};

const DAY_MS: i64 = 24 * 3600 * 1000;
/// A year of nights for eight doors of a big venue: ≥ 150,000 parties.
const DOORS: u64 = 8;

pub fn p8() -> Result<Row, String> {
    let dir = std::env::temp_dir().join(format!("coaster-bench-p8-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = Store::open(&dir, "bench", 3650).map_err(|e| e.to_string())?;
    let today = proxy::hub::now_ms().div_euclid(DAY_MS);
    let mut conn = proxy::store::writer::open(store.path()).map_err(|e| e.to_string())?;
    let mut parties = 0;
    for door in 0..DOORS {
        let year = generate(door, today - 365, 365, 1.0);
        parties += year.len();
        write(&mut conn, "bench", &year).map_err(|e| e.to_string())?;
    }
    let time = |days: i64| -> Result<Duration, String> {
        let mut runs = Vec::new();
        for _ in 0..5 {
            let start = Instant::now();
            let a = store
                .analytics((today - days) * DAY_MS, (today + 1) * DAY_MS, 0)
                .map_err(|e| e.to_string())?;
            runs.push(start.elapsed());
            if a.summary.arrivals == 0 {
                return Err("the analytics saw no parties".into());
            }
        }
        runs.sort();
        Ok(runs[2])
    };
    let row = report::p8(parties, time(365)?, time(30)?);
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(row)
}

pub fn p10() -> Row {
    let first = 20_000;
    let month = generate(2026, first, 35, 1.0);
    let b = backtest(&month, (first + 7) * DAY_MS);
    report::p10(b.quoted, b.learned, b.goal, b.last_ten)
}
