//! SQLite storage: the one write connection the sequencer owns, a
//! read-only pool for everything else, and the queries each side needs.
//! Nothing here decides what is valid or when to publish.

mod read;
pub mod stats;
pub mod tiles;
mod write;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, SqliteConnection};

pub use read::{LogInfo, ReadStore, RootRow, SchemaColumn, SchemaTable, StoredEntry};
pub use write::{Conflict, NewPending, Publication, WriteStore, WriteTx};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

/// What can go wrong in storage. Details are logged, never sent.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("the database or the disk is full")]
    Full,
    #[error("database: {0}")]
    Sqlx(sqlx::Error),
    #[error("migrating the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("the database holds invalid data: {0}")]
    Corrupt(String),
}

impl From<sqlx::Error> for StorageError {
    fn from(e: sqlx::Error) -> StorageError {
        // SQLITE_FULL (13) means no room: retryable once space returns.
        let full = e
            .as_database_error()
            .and_then(|d| d.code())
            .is_some_and(|code| code == "13");
        if full {
            StorageError::Full
        } else {
            StorageError::Sqlx(e)
        }
    }
}

pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// The database file inside a data directory.
pub const DATABASE_FILE: &str = "lucent.db";

fn options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::from_str("sqlite://")
        .expect("static options")
        .filename(path)
        .busy_timeout(Duration::from_secs(5))
        // Not a secret: but keep statements out of the logs.
        .log_statements(tracing::log::LevelFilter::Trace)
}

/// Opens (and with `create`, creates and migrates) the database: the write
/// connection, in WAL mode with synchronous=FULL so that a commit is on
/// disk before any answer, and a read-only pool.
pub async fn open(path: &Path, create: bool) -> Result<(WriteStore, ReadStore)> {
    let write_options = options(path)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .pragma("cache_size", "-16384");
    let mut write = write_options
        .clone()
        .create_if_missing(create)
        .connect()
        .await?;
    MIGRATOR.run(&mut write).await?;
    let read = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options(path).read_only(true))
        .await?;
    Ok((WriteStore::new(write, write_options), ReadStore::new(read)))
}

/// Closes the write connection, checkpointing the WAL.
pub async fn close(write: WriteStore, read: ReadStore) {
    read.close().await;
    let conn: SqliteConnection = write.into_connection();
    if let Err(e) = conn.close().await {
        tracing::warn!(error = %e, "closing the database");
    }
}
