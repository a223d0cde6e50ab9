//! The SQLite engine, the default and the reference: the one write
//! connection the sequencer owns, a read-only pool for everything else, and
//! the queries each side needs.

mod checkpointer;
mod read;
mod write;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::ConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use std::sync::Arc;

use read::SqliteReader;
use write::SqliteWriter;

use super::{LogReader, LogWriter, Result, StorageError};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

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
/// disk before any answer, its checkpoints on another connection, and a
/// read-only pool.
pub(super) async fn open(
    path: &Path,
    create: bool,
) -> Result<(Box<dyn LogWriter>, Arc<dyn LogReader>)> {
    owner_only(path, create)?;
    let write_options = options(path)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        // Deleted pending records are overwritten, not left in free pages
        // in the order they arrived (SPEC section 2).
        .pragma("secure_delete", "on")
        .pragma("cache_size", "-16384")
        // Statement journals of publication's multi-row inserts.
        .pragma("temp_store", "memory")
        // See [`checkpointer`].
        .pragma("wal_autocheckpoint", "0");
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
    let checkpointer = checkpointer::Checkpointer::start(&options(path)).await?;
    Ok((
        Box::new(SqliteWriter::new(write, write_options, checkpointer)),
        Arc::new(SqliteReader::new(read)),
    ))
}

/// Makes the database file, and its write-ahead log and shared-memory file
/// if they exist, readable by their owner only; with `create`, makes an
/// empty database file so. SQLite gives the files it creates next to a
/// database the database file's mode.
fn owner_only(path: &Path, create: bool) -> Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    if create && !path.exists() {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)?;
    }
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        match std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !suffix.is_empty() => {}
            result => result?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use sqlx::{Connection, SqliteConnection};

    use crate::storage::Entries;

    /// An entry's bytes as far as the indexes read them: the day, then the
    /// deployment from byte 35 on.
    fn entry(deployment_hex: &str) -> Vec<u8> {
        format!(r#"{{"day":"2026-11-27","deployment":"{deployment_hex:0<64}"}}"#).into_bytes()
    }

    #[tokio::test]
    async fn witness_progress_is_each_witness_latest() {
        let dir = tempfile::tempdir().unwrap();
        let (mut write, read) = super::open(&dir.path().join("lucent.db"), true)
            .await
            .unwrap();
        crate::storage::tests::witness_progress_is_each_witness_latest(&mut *write, &*read).await;
    }

    /// Receipt keys and deployment prefixes are indexed by epoch (1 048 576
    /// entries); lookups find entries in every epoch, in index order.
    #[tokio::test]
    async fn lookups_find_entries_in_every_epoch() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lucent.db");
        let (write, read) = super::open(&path, true).await.unwrap();
        let mut conn = SqliteConnection::connect_with(&super::options(&path))
            .await
            .unwrap();
        let epoch = 1 << 20;
        for (idx, deployment, key) in [
            (3, "abcdef01", 7),
            (epoch - 1, "abcdef01", 8),
            (epoch, "abcdef02", 7),
            (3 * epoch + 5, "abcdef01", 7),
            (3 * epoch + 6, "00000000", 9),
        ] {
            sqlx::query("INSERT INTO entries (idx, entry) VALUES (?, ?)")
                .bind(idx)
                .bind(entry(deployment))
                .execute(&mut conn)
                .await
                .unwrap();
            sqlx::query("INSERT INTO receipt_keys (epoch, record_key, idx) VALUES (?, ?, ?)")
                .bind(idx >> 20)
                .bind(key)
                .bind(idx)
                .execute(&mut conn)
                .await
                .unwrap();
        }
        let indexes = |entries: Vec<crate::storage::StoredEntry>| -> Vec<u64> {
            entries.into_iter().map(|e| e.index).collect()
        };
        let deployment = |prefix: &str, after, end| Entries::Deployment {
            prefix: prefix.into(),
            after,
            end,
            limit: 10,
        };
        let mut hash = lucent_core::Hash::ZERO;
        hash.0[7] = 7;
        let (epoch, end) = (epoch as u64, 3 * epoch as u64 + 7);
        let found = |which| async { indexes(read.entries(which).await.unwrap()) };
        assert_eq!(
            found(Entries::Record(hash)).await,
            [3, epoch, 3 * epoch + 5]
        );
        assert_eq!(
            found(deployment("abcdef01", None, end)).await,
            [3, epoch - 1, 3 * epoch + 5]
        );
        let two = Entries::Deployment {
            prefix: "abcdef".into(),
            after: Some(3),
            end,
            limit: 2,
        };
        assert_eq!(found(two).await, [epoch - 1, epoch]);
        assert_eq!(
            found(deployment("abcdef", Some(epoch), end)).await,
            [3 * epoch + 5]
        );
        assert_eq!(
            found(deployment("abcdef01", None, 3 * epoch + 5)).await,
            [3, epoch - 1]
        );
        conn.close().await.unwrap();
        read.close().await;
        write.close().await;
    }

    /// A database made by the first migration keeps its pending report
    /// through the second, which drops the record-hash column, and its
    /// receipt keys through the third, which adds their epoch.
    #[tokio::test]
    async fn rows_survive_the_later_migrations() {
        let dir = tempfile::tempdir().unwrap();
        let options = super::options(&dir.path().join("old.db")).create_if_missing(true);
        let mut conn = SqliteConnection::connect_with(&options).await.unwrap();
        sqlx::raw_sql(include_str!("../../../migrations/0001_log.sql"))
            .execute(&mut conn)
            .await
            .unwrap();
        sqlx::query("INSERT INTO pending VALUES ('2026-11-28', x'01', 86400, x'7b7d', x'02')")
            .execute(&mut conn)
            .await
            .unwrap();
        sqlx::query("INSERT INTO receipt_keys VALUES (5, 1048577)")
            .execute(&mut conn)
            .await
            .unwrap();
        for migration in [
            include_str!("../../../migrations/0002_pending_without_hash_index.sql"),
            include_str!("../../../migrations/0003_epoch_indexes.sql"),
        ] {
            sqlx::raw_sql(migration).execute(&mut conn).await.unwrap();
        }
        let keys: Vec<(i64, i64, i64)> = sqlx::query_as("SELECT * FROM receipt_keys")
            .fetch_all(&mut conn)
            .await
            .unwrap();
        assert_eq!(keys, vec![(1, 5, 1048577)]);
        let rows: Vec<(String, Vec<u8>, i64, Vec<u8>)> = sqlx::query_as("SELECT * FROM pending")
            .fetch_all(&mut conn)
            .await
            .unwrap();
        assert_eq!(
            rows,
            vec![("2026-11-28".into(), vec![1], 86400, b"{}".to_vec())]
        );
        let indexes: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'pending' AND sql IS NOT NULL",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        assert_eq!(indexes, 0);
    }
}
