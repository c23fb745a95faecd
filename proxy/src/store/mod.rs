//! The stand's memory: an embedded SQLite store in the data directory.
//!
//! - [`schema`]: the tables, migrated at start.
//! - [`record`]: the facts recorded — parties' lifecycles, the audit trail of
//!   tablets' commands, health changes.
//! - [`writer`]: the one thread that writes, fed by a bounded queue, so
//!   recording never delays a page or a verdict; holds facts through a full
//!   disk or a locked file.
//! - [`query`]: the History and Activity views' reads and the CSV export.
//! - [`figures`]: the owner's analytics and the wait to quote a party.
//! - [`nights`]: a seeded model of busy nights, for the demo and the backtest.
//! - [`recorder`]: how tablets' commands, their verdicts, the mirror's
//!   changes and the device's history become facts (sans-IO).
//!
//! A second Coaster on the same data directory is refused at start (a lock
//! file); every other trouble leaves the live board working and says "not
//! recording" with the reason.

pub mod figures;
pub mod nights;
pub mod query;
pub mod record;
pub mod recorder;
pub mod schema;
pub mod writer;

#[cfg(test)]
mod tests;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

pub use record::{Actor, AuditEntry, HealthFact, PartyEvent, PartyFact, Record};

/// Facts waiting for the writer. A busy Friday makes a few a second; the
/// writer commits thousands a second, so only a stalled disk fills this.
pub const QUEUE: usize = 4096;
/// How long the stand keeps its history by default (`--keep-days`).
pub const DEFAULT_KEEP_DAYS: u32 = 730;
/// The venue this stand records as, until stands are named for a chain.
pub const VENUE: &str = "default";
/// The database's file name in the data directory.
pub const FILE: &str = "coaster.db";
const LOCK: &str = "coaster.lock";

#[derive(Debug)]
pub enum StoreError {
    /// Another process holds the data directory's lock.
    AlreadyRunning { data_dir: PathBuf },
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::AlreadyRunning { data_dir } => write!(
                f,
                "another Coaster is already using the data directory {}; stop it first or pass a different --data-dir",
                data_dir.display()
            ),
        }
    }
}

impl std::error::Error for StoreError {}

/// A handle on the store; cheap to clone. The last one dropped ends the
/// writer after it has committed what was queued.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    venue: String,
    facts: SyncSender<Record>,
    status: Arc<watch::Sender<Option<String>>>,
    overflowed: AtomicUsize,
    /// Held for the process's life: the data directory is ours.
    _lock: Option<File>,
}

impl Store {
    /// Opens the store in `data_dir`, or refuses when another Coaster holds
    /// it. Any other trouble (a damaged file, a read-only directory) gives a
    /// store that is not recording and says why.
    pub fn open(data_dir: &Path, venue: &str, keep_days: u32) -> Result<Store, StoreError> {
        let lock = match lock(data_dir) {
            Ok(lock) => Some(lock),
            Err(LockError::Held) => {
                return Err(StoreError::AlreadyRunning {
                    data_dir: data_dir.to_path_buf(),
                })
            }
            Err(LockError::Io(error)) => {
                tracing::warn!(%error, dir = %data_dir.display(), "cannot take the data directory's lock");
                None
            }
        };
        let path = data_dir.join(FILE);
        let (status, _) = watch::channel(None);
        let status = Arc::new(status);
        let conn = match writer::open(&path) {
            Ok(conn) => Some(conn),
            Err(error) => {
                let reason = writer::reason(&path, &error);
                tracing::error!(%error, path = %path.display(), "not recording: {reason}");
                status.send_replace(Some(reason));
                None
            }
        };
        let (facts, queue) = sync_channel(QUEUE);
        let writer = writer::Writer {
            path: path.clone(),
            venue: venue.to_string(),
            keep_days,
            facts: queue,
            status: status.clone(),
            conn,
        };
        std::thread::Builder::new()
            .name("coaster-store".into())
            .spawn(move || writer.run())
            .expect("a thread for the store");
        Ok(Store {
            inner: Arc::new(Inner {
                path,
                venue: venue.to_string(),
                facts,
                status,
                overflowed: AtomicUsize::new(0),
                _lock: lock,
            }),
        })
    }

    /// Queues a fact; never waits. A full queue loses it and says so.
    pub fn record(&self, record: Record) {
        match self.inner.facts.try_send(record) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                let lost = self.inner.overflowed.fetch_add(1, Ordering::Relaxed) + 1;
                if lost == 1 || lost.is_power_of_two() {
                    tracing::error!(
                        lost,
                        "the recording queue is full: the disk is not keeping up"
                    );
                }
                self.inner.status.send_replace(Some(format!(
                    "the recording queue overflowed ({lost} facts lost): the disk is not keeping up"
                )));
            }
            Err(TrySendError::Disconnected(_)) => {}
        }
    }

    /// `None` while recording; else why not, in words for the header.
    pub fn status(&self) -> watch::Receiver<Option<String>> {
        self.inner.status.subscribe()
    }

    /// Waits (blocking) until everything queued so far is committed or held;
    /// false if that took longer than `timeout`.
    pub fn flush(&self, timeout: Duration) -> bool {
        let (done, wait) = std::sync::mpsc::channel();
        if self.inner.facts.send(Record::Flush(done)).is_err() {
            return false;
        }
        wait.recv_timeout(timeout).is_ok()
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    pub fn venue(&self) -> &str {
        &self.inner.venue
    }
}

enum LockError {
    Held,
    Io(std::io::Error),
}

fn lock(data_dir: &Path) -> Result<File, LockError> {
    std::fs::create_dir_all(data_dir).map_err(LockError::Io)?;
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(data_dir.join(LOCK))
        .map_err(LockError::Io)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(LockError::Held),
        Err(std::fs::TryLockError::Error(error)) => Err(LockError::Io(error)),
    }
}
