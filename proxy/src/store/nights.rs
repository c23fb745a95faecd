//! A seeded model of a restaurant's busy nights: parties arrive (more at
//! eight, more on Fridays and Saturdays), in a mix of sizes, and wait for a
//! table of their size to turn; the impatient walk away. It feeds the demo
//! (`coaster --demo`) and the quote's backtest, so both rest on nights shaped
//! like a real door's, not on noise.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rusqlite::{params, Connection};

use super::figures::{quote, Past};

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 24 * 60 * MINUTE_MS;
/// Parties per hour from 17:00 to 22:00 on a weekday.
const ARRIVALS_PER_HOUR: [f64; 5] = [7.0, 13.0, 17.0, 13.0, 6.0];
/// Table sizes and how many of each.
const TABLES: [(u32, usize); 4] = [(2, 4), (4, 5), (6, 2), (8, 1)];
/// The device's default goal, which the baseline quotes.
pub const GOAL_S: u32 = 900;

/// One party of a generated night.
#[derive(Clone, Debug)]
pub struct Party {
    pub created_ms: i64,
    pub size: u32,
    /// Waiting (not yet paged) when it arrived.
    pub ahead: u32,
    pub paged_ms: Option<i64>,
    /// Seated, or walked away unpaged.
    pub ended_ms: i64,
}

impl Party {
    pub fn past(&self) -> Past {
        Past {
            created_ms: self.created_ms,
            first_paged_ms: self.paged_ms,
            ended_ms: Some(self.ended_ms),
            seated: self.paged_ms.is_some(),
            removed: self.paged_ms.is_none(),
            pages: u32::from(self.paged_ms.is_some()),
            party_size: Some(self.size),
            goal_s: GOAL_S,
            ahead: Some(self.ahead),
        }
    }
}

/// `nights` nights from the UTC day `first_day` (days since 1970), at
/// `busier` times the usual crowd, the same for the same seed; doors open at
/// 17:00 UTC.
pub fn generate(seed: u64, first_day: i64, nights: i64, busier: f64) -> Vec<Party> {
    generate_from(seed, first_day, nights, busier, 17 * 60)
}

/// [`generate`], with the doors opening `open_minute` minutes into each UTC day.
pub fn generate_from(
    seed: u64,
    first_day: i64,
    nights: i64,
    busier: f64,
    open_minute: i64,
) -> Vec<Party> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut parties = Vec::new();
    for day in first_day..first_day + nights {
        // 1970-01-01 was a Thursday: Friday and Saturday are busier, Monday quiet.
        let weekday = (day + 4).rem_euclid(7);
        let crowd = busier * [0.6, 0.9, 1.0, 1.1, 1.35, 1.4, 0.8][weekday as usize];
        parties.extend(night(
            &mut rng,
            day * DAY_MS + open_minute * MINUTE_MS,
            crowd,
        ));
    }
    parties
}

/// One night, minute by minute from `open_ms` until the last party is gone.
fn night(rng: &mut StdRng, open_ms: i64, crowd: f64) -> Vec<Party> {
    let mut tables: Vec<(u32, i64)> = TABLES
        .iter()
        .flat_map(|&(seats, n)| std::iter::repeat_n((seats, open_ms), n))
        .collect();
    let tables_ms_per = |size: u32, rng: &mut StdRng| {
        (40 + 6 * i64::from(size) + rng.gen_range(-10..=20)) * MINUTE_MS
    };
    let mut parties: Vec<Party> = Vec::new();
    // Waiting: (index into parties, walks away at).
    let mut waiting: Vec<(usize, i64)> = Vec::new();
    let mut minute = 0;
    while minute < 5 * 60 || !waiting.is_empty() {
        let now = open_ms + minute * MINUTE_MS;
        if minute < 5 * 60 {
            let rate = ARRIVALS_PER_HOUR[(minute / 60) as usize] * crowd / 60.0;
            let mut arrivals = 0;
            while rng.gen_bool((rate / (arrivals as f64 + 1.0)).min(0.95)) && arrivals < 4 {
                arrivals += 1;
            }
            for _ in 0..arrivals {
                let size = match rng.gen_range(0..100) {
                    0..=44 => 2,
                    45..=59 => 3,
                    60..=79 => 4,
                    80..=89 => 5,
                    90..=94 => 6,
                    _ => rng.gen_range(7..=8),
                };
                let created_ms = now + rng.gen_range(0..MINUTE_MS);
                waiting.push((
                    parties.len(),
                    created_ms + rng.gen_range(35..=80) * MINUTE_MS,
                ));
                parties.push(Party {
                    created_ms,
                    size,
                    ahead: waiting.len() as u32 - 1,
                    paged_ms: None,
                    ended_ms: 0,
                });
            }
        }
        // The first in line that a free table fits is paged (smallest table first).
        let mut i = 0;
        while i < waiting.len() {
            let (party, walks_at) = waiting[i];
            let size = parties[party].size;
            if walks_at <= now {
                parties[party].ended_ms = walks_at;
                waiting.remove(i);
                continue;
            }
            let free = tables
                .iter_mut()
                .filter(|(seats, free_at)| *seats >= size && *free_at <= now)
                .min_by_key(|(seats, _)| *seats);
            if let Some(table) = free {
                let paged = now.max(parties[party].created_ms) + rng.gen_range(0..30_000);
                let seated = paged + rng.gen_range(1..=4) * MINUTE_MS;
                table.1 = seated + tables_ms_per(size, rng);
                parties[party].paged_ms = Some(paged);
                parties[party].ended_ms = seated;
                waiting.remove(i);
            } else {
                i += 1;
            }
        }
        minute += 1;
    }
    parties
}

/// Writes generated parties into a store's file as if recorded (created,
/// paged, seated or removed), under `venue`. For the demo and the benchmark.
pub fn write(conn: &mut Connection, venue: &str, parties: &[Party]) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut party = tx.prepare(
            "INSERT OR IGNORE INTO parties (venue, uuid, device_id, number, label, party_size, goal_s,
                 created_device, created_ms, first_paged_ms, pages, ended_ms, outcome, ahead)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, '', ?8, ?9, ?10, ?11, ?12, ?13)",
        )?;
        let mut event = tx.prepare(
            "INSERT OR IGNORE INTO party_events (venue, uuid, kind, key, at_ms) VALUES (?1, ?2, ?3, '', ?4)",
        )?;
        for (i, p) in parties.iter().enumerate() {
            let uuid = format!("demo-{}-{i}", p.created_ms);
            let outcome = if p.paged_ms.is_some() {
                "seated"
            } else {
                "removed"
            };
            party.execute(params![
                venue,
                uuid,
                i as u32,
                (i % 99) as u32 + 1,
                format!("Guest {}", i % 500 + 1),
                p.size,
                GOAL_S,
                p.created_ms,
                p.paged_ms,
                u32::from(p.paged_ms.is_some()),
                p.ended_ms,
                outcome,
                p.ahead,
            ])?;
            event.execute(params![venue, uuid, "created", p.created_ms])?;
            if let Some(paged) = p.paged_ms {
                event.execute(params![venue, uuid, "paged", paged])?;
            }
            event.execute(params![venue, uuid, outcome, p.ended_ms])?;
        }
    }
    tx.commit()
}

/// Mean absolute errors, in minutes, of three ways to quote each party that
/// was paged, each seeing only parties paged before it arrived.
#[derive(Clone, Copy, Debug)]
pub struct Backtest {
    pub quoted: usize,
    /// The learned quote (where it gave one; else it offers the goal).
    pub learned: f64,
    /// The device's default goal, always.
    pub goal: f64,
    /// The median wait of the last ten parties paged.
    pub last_ten: f64,
}

/// Replays `parties` (in arrival order) from `from_ms` on, as a stand would
/// have quoted them at the door.
pub fn backtest(parties: &[Party], from_ms: i64) -> Backtest {
    let past: Vec<Past> = parties.iter().map(Party::past).collect();
    let (mut n, mut learned, mut goal, mut last_ten) = (0usize, 0.0, 0.0, 0.0);
    for p in parties.iter().filter(|p| p.created_ms >= from_ms) {
        let Some(paged) = p.paged_ms else { continue };
        let actual = (paged - p.created_ms) as f64 / 60_000.0;
        let known: Vec<Past> = past
            .iter()
            .filter(|q| q.first_paged_ms.is_some_and(|at| at < p.created_ms))
            .copied()
            .collect();
        let asked = quote(&known, p.size, p.ahead, p.created_ms, 0);
        let guess = asked.minutes.map_or(f64::from(GOAL_S) / 60.0, f64::from);
        let mut recent: Vec<&Past> = known.iter().collect();
        recent.sort_by_key(|q| q.first_paged_ms);
        let ten: Vec<i64> = recent
            .iter()
            .rev()
            .take(10)
            .filter_map(|q| q.first_paged_ms.map(|at| (at - q.created_ms) / 1000))
            .collect();
        let ten_guess = super::figures::spread(ten.into_iter())
            .median_s
            .unwrap_or(i64::from(GOAL_S)) as f64
            / 60.0;
        n += 1;
        learned += (guess - actual).abs();
        goal += (f64::from(GOAL_S) / 60.0 - actual).abs();
        last_ten += (ten_guess - actual).abs();
    }
    let mean = |sum: f64| if n == 0 { 0.0 } else { sum / n as f64 };
    Backtest {
        quoted: n,
        learned: mean(learned),
        goal: mean(goal),
        last_ten: mean(last_ten),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nights_are_the_same_for_a_seed_and_busier_at_the_weekend() {
        let a = generate(7, 20_000, 7, 1.0);
        let b = generate(7, 20_000, 7, 1.0);
        assert_eq!(a.len(), b.len());
        assert!(a
            .iter()
            .zip(&b)
            .all(|(x, y)| x.created_ms == y.created_ms && x.paged_ms == y.paged_ms));
        let on = |weekday: i64| {
            a.iter()
                .filter(|p| (p.created_ms.div_euclid(DAY_MS) + 4).rem_euclid(7) == weekday)
                .count()
        };
        assert!(on(5) > on(0), "Saturday {} vs Monday {}", on(5), on(0));
        assert!(a.iter().any(|p| p.paged_ms.is_none()), "some walk away");
        assert!(
            a.iter().any(|p| p
                .paged_ms
                .is_some_and(|at| at - p.created_ms > 20 * MINUTE_MS)),
            "some wait long"
        );
    }

    #[test]
    fn the_learned_quote_beats_the_goal_and_the_last_ten_over_a_month() {
        let month = generate(2026, 20_000, 35, 1.0);
        let result = backtest(&month, (20_000 + 7) * DAY_MS);
        assert!(result.quoted > 1000, "{result:?}");
        assert!(
            result.learned < result.goal && result.learned < result.last_ten,
            "{result:?}"
        );
    }
}
