//! The PostgreSQL engine (`--database-url postgres://…`): the same entries,
//! tiles, roots and answers as the SQLite engine, in a database that
//! several instances of one log may share (SPEC section 9). Each instance
//! holds one write connection, which its sequencer owns, and a pool for
//! everything else.
//!
//! What differs from SQLite, and why:
//!
//! - **Pending records** live in `pending`, partitioned by `period_end`:
//!   a partition per period (`pending_<period_end>`), made by the first
//!   report of the period and dropped whole by its publication, inside the
//!   publication's transaction. So no table, index or free space keeps the
//!   order in which a published period's reports arrived (SPEC section 2);
//!   the files of a dropped table are unlinked. The write-ahead log holds
//!   the inserts in commit order until PostgreSQL recycles its segments;
//!   its archives, if the operator keeps them, are the operator's to
//!   protect (SPEC section 9).
//! - **Locks.** A publication takes [`PUBLICATION_LOCK`] exclusively for its
//!   transaction (`pg_advisory_xact_lock`): one instance publishes at a
//!   time, and the next sees its root. Each insert of pending records takes
//!   it shared, then checks that no root closes its period yet: an insert
//!   and the publication of its period never interleave, so a record is
//!   either published by that publication or refused
//!   ([`StorageError::PeriodClosed`](super::StorageError::PeriodClosed)).
//! - **One record per (day, deployment).** A partitioned table's key must
//!   hold its partition key, so the unique key is (day, deployment,
//!   period_end): exact for the daily period, where day and period are
//!   one. For shorter periods an insert skips deployments stored in any
//!   period of the day, and inserts of one day serialize on a per-day lock
//!   ([`DAY_LOCK`]) except where the unique key already decides (see
//!   [`write`]).
//! - **Durability**: `synchronous_commit = on` on every connection (the
//!   default, set explicitly): a commit is on disk before it returns. The
//!   sequencer's batches are one insert each (group commit).

/// The advisory lock (`pg_advisory_xact_lock`, bigint key space) that a
/// publication holds exclusively and an insert of pending records shared.
const PUBLICATION_LOCK: i64 = 0x6c75_6365_6e74_0001;
/// The advisory lock that serializes making partitions of `pending`.
const PARTITION_LOCK: i64 = 0x6c75_6365_6e74_0002;
/// The class (first key) of the per-day advisory locks (two-integer key
/// space; the second key is the day's Julian day number).
const DAY_LOCK: i32 = 0x6c75_6365;

mod read;
mod write;

use std::str::FromStr;
use std::sync::Arc;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection};

use read::PgReader;
use write::PgWriter;

use super::{LogReader, LogWriter, Result, StorageError};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations-postgres");

/// Checks a database URL without repeating it (it may hold a password).
pub(super) fn check_url(url: &str) -> Result<()> {
    let scheme = url.split_once("://").map(|(scheme, _)| scheme);
    if !scheme
        .is_some_and(|s| s.eq_ignore_ascii_case("postgres") || s.eq_ignore_ascii_case("postgresql"))
    {
        return Err(StorageError::Url(
            "lucent speaks PostgreSQL: the URL starts with postgres:// or postgresql:// \
             (without it, the SQLite file in --data-dir is used)"
                .into(),
        ));
    }
    PgConnectOptions::from_str(url)
        .map(|_| ())
        .map_err(|_| StorageError::Url("not a valid PostgreSQL connection URL".into()))
}

/// Options every connection shares: durable commits, statements kept out
/// of the logs.
fn options(url: &str) -> Result<PgConnectOptions> {
    check_url(url)?;
    Ok(with_settings(PgConnectOptions::from_str(url)?))
}

fn with_settings(options: PgConnectOptions) -> PgConnectOptions {
    // The URL's `application_name` tells one server's connections from
    // another's (in pg_stat_activity, pg_locks); "lucent" otherwise.
    let name = options
        .get_application_name()
        .unwrap_or("lucent")
        .to_owned();
    options
        .application_name(&name)
        .options([
            // PostgreSQL's default, set so that no server or role setting
            // can turn it off: a commit is on disk (and, with synchronous
            // standbys, on theirs) before it returns.
            ("synchronous_commit", "on"),
            // Compiling a query costs 100 ms and more, whenever its
            // estimate crosses jit_above_cost; lucent's queries are short.
            ("jit", "off"),
            // A statement is planned for its arguments and the tables as
            // they are, at each run. After five runs PostgreSQL may keep a
            // generic plan instead, made while a table was small (a
            // period's new partition of `pending`, a young log), which
            // scans it whole and then reads the whole table at every run
            // as it grows. Planning each time costs the hot insert about
            // a tenth of its rate (BENCHMARKS.md).
            ("plan_cache_mode", "force_custom_plan"),
        ])
        // Not a secret: but keep statements out of the logs.
        .log_statements(tracing::log::LevelFilter::Trace)
}

/// Opens the database at `url` (and with `create`, lets it be an empty
/// one) and brings its schema up to date: the write connection and a pool
/// for reads.
pub(super) async fn open(
    url: &str,
    create: bool,
) -> Result<(Box<dyn LogWriter>, Arc<dyn LogReader>)> {
    open_with(options(url)?, create).await
}

async fn open_with(
    options: PgConnectOptions,
    create: bool,
) -> Result<(Box<dyn LogWriter>, Arc<dyn LogReader>)> {
    let mut write = options.connect().await?;
    if !create {
        // A used data directory whose database holds no log: a new one
        // would fork the log its key signed (SPEC section 7).
        let has_log: bool = sqlx::query_scalar("SELECT to_regclass('log') IS NOT NULL")
            .fetch_one(&mut write)
            .await?;
        if !has_log {
            write.close().await?;
            return Err(StorageError::NoLog);
        }
    }
    // sqlx holds an advisory lock while it migrates: instances that start
    // together migrate once.
    MIGRATOR.run(&mut write).await?;
    let read = PgPoolOptions::new()
        .max_connections(4)
        .connect_with(
            options
                .clone()
                .options([("default_transaction_read_only", "on")]),
        )
        .await?;
    Ok((
        Box::new(PgWriter::new(write, options)),
        Arc::new(PgReader::new(read)),
    ))
}

#[cfg(test)]
mod tests;
