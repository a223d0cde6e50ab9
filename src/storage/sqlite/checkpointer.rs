//! Copies the write-ahead log back into the database on a connection of
//! its own, so that the writer's commits do not wait for it: SQLite's
//! automatic checkpoint runs inside the commit that crosses its threshold,
//! which made every thousandth page of writes pay for the copy. It also
//! empties the log after each publication, while the writer goes on.

use std::time::Duration;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, SqliteConnection};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::{Result, StorageError};

/// Time between two checkpoints under load: long enough to copy a page
/// written many times once, short enough to keep the log small.
const INTERVAL: Duration = Duration::from_millis(200);

/// Frames (pages) of write-ahead log above which the log is started over
/// from its beginning (a RESTART checkpoint) once the writer pauses
/// ([`IDLE`]): the restart holds the writer back while it syncs the
/// database file, tens of milliseconds on a large log, which made the
/// slowest reports of a busy server (BENCHMARKS.md).
const RESTART_FRAMES: i64 = 16_384;

/// Frames above which the log is started over at once, pause or not, so
/// that a load that never pauses cannot grow it without bound (1 GiB of
/// 4 KiB pages).
const FORCE_RESTART_FRAMES: i64 = 262_144;

/// A writer that has committed nothing for this long has paused.
const IDLE: Duration = Duration::from_millis(50);

/// Times the task tries to empty the write-ahead log, 10 ms apart.
const TRUNCATE_ATTEMPTS: usize = 50;

/// The checkpointing task; the writer wakes it after each commit.
pub struct Checkpointer {
    wake: mpsc::Sender<()>,
    empty: mpsc::UnboundedSender<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Checkpointer {
    pub async fn start(options: &SqliteConnectOptions) -> Result<Checkpointer> {
        let conn = options.connect().await?;
        // One pending wake-up is enough: the checkpoint covers every commit
        // before it.
        let (wake, woken) = mpsc::channel(1);
        let (empty, empty_requests) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(conn, woken, empty_requests));
        Ok(Checkpointer { wake, empty, task })
    }

    /// Says that the log has grown.
    pub fn wake(&self) {
        let _ = self.wake.try_send(());
    }

    /// Asks for the log to be copied into the database and emptied; the
    /// answer comes when it is done (failures are logged).
    pub fn empty(&self) -> oneshot::Receiver<()> {
        let (done, emptied) = oneshot::channel();
        let _ = self.empty.send(done);
        emptied
    }

    /// Stops the task and closes its connection.
    pub async fn stop(self) {
        drop(self.wake);
        drop(self.empty);
        let _ = self.task.await;
    }
}

async fn run(
    mut conn: SqliteConnection,
    mut woken: mpsc::Receiver<()>,
    mut empty_requests: mpsc::UnboundedReceiver<oneshot::Sender<()>>,
) {
    let mut rest_until = Instant::now();
    let mut restart_due = false;
    loop {
        tokio::select! {
            biased;
            request = empty_requests.recv() => {
                let Some(done) = request else { break };
                let started = std::time::Instant::now();
                match empty(&mut conn).await {
                    Ok(()) => tracing::info!(
                        millis = started.elapsed().as_millis() as u64,
                        "emptied the write-ahead log after publication"
                    ),
                    Err(e) => tracing::error!(
                        error = %e,
                        "emptying the write-ahead log after publication"
                    ),
                }
                let _ = done.send(());
                restart_due = false;
            }
            grown = async {
                tokio::time::sleep_until(rest_until).await;
                woken.recv().await
            } => {
                if grown.is_none() {
                    break;
                }
                match checkpoint(&mut conn).await {
                    Ok(frames) => restart_due = frames > RESTART_FRAMES,
                    Err(e) => tracing::warn!(error = %e, "checkpointing the write-ahead log"),
                }
                rest_until = Instant::now() + INTERVAL;
            }
            // No commit since the last checkpoint took its wake-up: the
            // writer has paused.
            () = tokio::time::sleep(IDLE), if restart_due && woken.is_empty() => {
                if let Err(e) = restart(&mut conn).await {
                    tracing::warn!(error = %e, "starting the write-ahead log over");
                }
                restart_due = false;
            }
        }
    }
    if let Err(e) = conn.close().await {
        tracing::warn!(error = %e, "closing the checkpoint connection");
    }
}

/// Copies what it can without holding the writer back; returns the frames
/// in the log, having started it over if it passed [`FORCE_RESTART_FRAMES`].
async fn checkpoint(conn: &mut SqliteConnection) -> Result<i64> {
    // (busy, frames in the log, frames copied)
    let (_, frames, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
        .fetch_one(&mut *conn)
        .await?;
    if frames > FORCE_RESTART_FRAMES {
        restart(conn).await?;
    }
    Ok(frames)
}

/// Starts the log over from its beginning. Almost everything is copied
/// already: the writer waits only for the rest, and the sync.
async fn restart(conn: &mut SqliteConnection) -> Result<()> {
    sqlx::query("PRAGMA wal_checkpoint(RESTART)")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Copies the log into the database, then empties it: the log's frames are
/// in commit order, which is arrival order, and should not outlive the
/// period they belong to.
async fn empty(conn: &mut SqliteConnection) -> Result<()> {
    // The copy, which is most of the work, does not stop the writer; only
    // what it commits meanwhile is copied with the writer held back.
    sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
        .execute(&mut *conn)
        .await?;
    for _ in 0..TRUNCATE_ATTEMPTS {
        // (busy, frames in the log, frames copied)
        let (busy, _, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
            .fetch_one(&mut *conn)
            .await?;
        if busy == 0 {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Err(StorageError::WalBusy)
}
