//! Copies the write-ahead log back into the database on a connection of
//! its own, so that the writer's commits do not wait for it: SQLite's
//! automatic checkpoint runs inside the commit that crosses its threshold,
//! which made every thousandth page of writes pay for the copy.

use std::time::Duration;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, SqliteConnection};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::Result;

/// Time between two checkpoints under load: long enough to copy a page
/// written many times once, short enough to keep the log small.
const INTERVAL: Duration = Duration::from_millis(200);

/// Frames (pages) of write-ahead log above which a checkpoint waits for the
/// writer to finish its transaction, so that the log can start over from
/// its beginning instead of growing while writes never pause.
const RESTART_FRAMES: i64 = 16_384;

/// The checkpointing task; the writer wakes it after each commit.
pub struct Checkpointer {
    wake: mpsc::Sender<()>,
    task: JoinHandle<()>,
}

impl Checkpointer {
    pub async fn start(options: &SqliteConnectOptions) -> Result<Checkpointer> {
        let conn = options.connect().await?;
        // One pending wake-up is enough: the checkpoint covers every commit
        // before it.
        let (wake, woken) = mpsc::channel(1);
        let task = tokio::spawn(run(conn, woken));
        Ok(Checkpointer { wake, task })
    }

    /// Says that the log has grown.
    pub fn wake(&self) {
        let _ = self.wake.try_send(());
    }

    /// Stops the task and closes its connection.
    pub async fn stop(self) {
        drop(self.wake);
        let _ = self.task.await;
    }
}

async fn run(mut conn: SqliteConnection, mut woken: mpsc::Receiver<()>) {
    while woken.recv().await.is_some() {
        if let Err(e) = checkpoint(&mut conn).await {
            tracing::warn!(error = %e, "checkpointing the write-ahead log");
        }
        tokio::time::sleep(INTERVAL).await;
    }
    if let Err(e) = conn.close().await {
        tracing::warn!(error = %e, "closing the checkpoint connection");
    }
}

async fn checkpoint(conn: &mut SqliteConnection) -> Result<()> {
    // (busy, frames in the log, frames copied)
    let (_, frames, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
        .fetch_one(&mut *conn)
        .await?;
    if frames > RESTART_FRAMES {
        // Almost everything is copied already: the writer waits only for
        // the rest.
        sqlx::query("PRAGMA wal_checkpoint(RESTART)")
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
