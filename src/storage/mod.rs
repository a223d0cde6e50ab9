//! Storage behind two narrow interfaces, shaped by their one user each:
//! [`LogReader`] for the read side (the published log, the stats) and
//! [`LogWriter`] with its [`WriteTx`] for the sequencer, the single writer.
//! An engine is one module that implements them (`sqlite`, the file in the
//! data directory, the default; `postgres`, a database that several
//! instances may share); [`open`] is the only place that picks one, from a
//! [`Database`]. Nothing here decides what is valid or when to publish.

// SQL both engines share (the macros before the engines, which use them).

/// Entries of one epoch (2^20 entries) are indexed together: the indexes
/// of migrations/0003_epoch_indexes.sql and of migrations-postgres/ begin
/// with `idx >> 20`, and a query uses them only if it spells that
/// expression alike, so every query takes the shift from here, as text to
/// `concat!` into its SQL.
macro_rules! epoch_shift {
    () => {
        "20"
    };
}

/// The columns of a [`RootRow`], in its order.
macro_rules! root_columns {
    () => {
        "period_end, day, size, root_hash, checkpoint"
    };
}

/// The latest signed root.
const LATEST_ROOT: &str = concat!(
    "SELECT ",
    root_columns!(),
    " FROM roots ORDER BY period_end DESC LIMIT 1"
);

/// Makes the log's one row, unless a log is there already (several
/// instances starting together on a new PostgreSQL database).
const CREATE_LOG: &str = "INSERT INTO log (id, origin, verifier_key, inception, publish_period) \
     VALUES (1, $1, $2, $3, $4) ON CONFLICT (id) DO NOTHING";

/// Each witness's latest cosigned root, by witness: the witnesses are
/// walked in the index `cosignatures_by_witness` (the next one after each,
/// a seek), and each one's latest root and its size are a seek each, as
/// scalar subqueries (a join to `roots` may be planned as a scan of it),
/// so the work follows the number of witnesses, not of cosignatures.
const WITNESS_PROGRESS: &str = "WITH RECURSIVE witnesses (witness) AS ( \
         SELECT min(witness) FROM cosignatures \
         UNION ALL \
         SELECT (SELECT min(c.witness) FROM cosignatures c WHERE c.witness > w.witness) \
         FROM witnesses w WHERE w.witness IS NOT NULL), \
     latest (witness, period_end) AS ( \
         SELECT w.witness, \
             (SELECT max(c.period_end) FROM cosignatures c WHERE c.witness = w.witness) \
         FROM witnesses w WHERE w.witness IS NOT NULL) \
     SELECT witness, period_end, \
         (SELECT r.size FROM roots r WHERE r.period_end = latest.period_end) AS size \
     FROM latest ORDER BY witness";

/// Records the publication period and a change asked for.
const SET_PUBLISH_PERIODS: &str = "UPDATE log SET publish_period = $1, \
     next_publish_period = $2, next_period_from = $3 WHERE id = 1";

/// The statement that selects the roots `which` names, in `$N` placeholders
/// (both engines' sqlx drivers take them), and its arguments in order.
/// Roots of a day are found by `period_end`, the key: a root's day is the
/// day its period's last second falls on (`period_ends_of`).
fn roots_statement(which: Roots) -> Result<(&'static str, Vec<i64>)> {
    Ok(match which {
        Roots::Latest => (LATEST_ROOT, Vec::new()),
        Roots::Page { start, limit } => (
            concat!(
                "SELECT ",
                root_columns!(),
                " FROM roots ORDER BY period_end LIMIT $1 OFFSET $2"
            ),
            vec![i64::from(limit), sql_int(start)?],
        ),
        Roots::LastOfDay(day) => {
            let (after, up_to) = period_ends_of(day);
            (
                concat!(
                    "SELECT ",
                    root_columns!(),
                    " FROM roots WHERE period_end > $1 AND period_end <= $2 \
                     ORDER BY period_end DESC LIMIT 1"
                ),
                vec![after, up_to],
            )
        }
        Roots::LastBefore(day) => (
            concat!(
                "SELECT ",
                root_columns!(),
                " FROM roots WHERE period_end <= $1 ORDER BY period_end DESC LIMIT 1"
            ),
            vec![period_ends_of(day).0],
        ),
        Roots::Since { first, period_end } => (
            concat!(
                "SELECT ",
                root_columns!(),
                " FROM roots WHERE period_end > $1 AND period_end <= $2 ORDER BY period_end"
            ),
            vec![period_ends_of(first).0, period_end],
        ),
        // Sizes never decrease along the roots: `roots_by_size`.
        Roots::Covering(index) => (
            concat!(
                "SELECT ",
                root_columns!(),
                " FROM roots WHERE size > $1 ORDER BY size, period_end LIMIT 1"
            ),
            vec![sql_int(index)?],
        ),
    })
}

/// An index or size as the databases' signed 64-bit integer, refusing
/// what would wrap to a negative number rather than reading from the
/// wrong place.
fn sql_int(n: u64) -> Result<i64> {
    i64::try_from(n).map_err(|_| StorageError::OutOfRange(n))
}

/// The log's identity.
const LOG_INFO: &str = "SELECT origin, verifier_key, inception, publish_period, \
     next_publish_period, next_period_from FROM log WHERE id = 1";

/// See `epoch_shift!`.
const EPOCH_SHIFT: u32 = {
    let digits = epoch_shift!().as_bytes();
    (digits[0] - b'0') as u32 * 10 + (digits[1] - b'0') as u32
};

mod day_totals;
mod postgres;
mod sqlite;
pub mod tiles;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use lucent_core::Hash;
use lucent_core::period::period_ends_of;
use lucent_core::record::Day;
use tokio::sync::oneshot;

pub use day_totals::add_to_day;
pub use lucent_core::stats::DayTotals;
pub use sqlite::DATABASE_FILE;

/// What can go wrong in storage. Details are logged, never sent.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("the database or the disk is full")]
    Full,
    #[error("database: {0}")]
    Sqlx(sqlx::Error),
    /// The database server cannot be reached, or is shutting down or
    /// starting: retryable once it is back.
    #[error("the database is out of reach: {0}")]
    Unavailable(sqlx::Error),
    #[error("migrating the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("the database holds invalid data: {0}")]
    Corrupt(String),
    #[error("the write-ahead log could not be emptied: a checkpoint stayed busy")]
    WalBusy,
    #[error("{0} is beyond any index or size the database can hold")]
    OutOfRange(u64),
    #[error("the database file: {0}")]
    File(#[from] std::io::Error),
    /// [`LogWriter::insert_pending`] was given records of a period whose
    /// root is already signed (by another instance sharing the database).
    #[error("the period ending {0} is already published; its records belong to a later one")]
    PeriodClosed(i64),
    #[error("--database-url: {0}")]
    Url(String),
    #[error(
        "the database holds no lucent log, but the data directory says one was created (log.key); \
         refusing to start. Point --database-url at the log's database, or restore it from your backup"
    )]
    NoLog,
}

impl From<sqlx::Error> for StorageError {
    fn from(e: sqlx::Error) -> StorageError {
        // No room: SQLITE_FULL (13), PostgreSQL's disk_full (53100).
        // Retryable once space returns.
        let full = e
            .as_database_error()
            .and_then(|d| d.code())
            .is_some_and(|code| code == "13" || code == "53100");
        // PostgreSQL's connection exceptions (08…) and operator
        // interventions (57P…: shut down, starting up).
        let unreachable = matches!(
            e,
            sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed
        ) || e
            .as_database_error()
            .and_then(|d| d.code())
            .is_some_and(|code| code.starts_with("08") || code.starts_with("57P"));
        if full {
            StorageError::Full
        } else if unreachable {
            StorageError::Unavailable(e)
        } else {
            StorageError::Sqlx(e)
        }
    }
}

pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// The log's identity, written once at creation.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LogInfo {
    pub origin: String,
    pub verifier_key: String,
    /// Unix seconds at which the first period began.
    pub inception: i64,
    /// The publication period in seconds (`None`: a log made before the
    /// period was recorded).
    pub publish_period: Option<i64>,
    /// A change of period asked for: the new one in seconds, and the UTC
    /// midnight (Unix seconds) from which it applies.
    pub next_publish_period: Option<i64>,
    pub next_period_from: Option<i64>,
}

/// A signed root.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RootRow {
    pub period_end: i64,
    pub day: String,
    pub size: i64,
    pub root_hash: Vec<u8>,
    /// The signed checkpoint note: the log's signature, then, as the read
    /// side serves it, the witnesses' cosignatures.
    pub checkpoint: String,
    /// The cosignatures the read side added to `checkpoint`.
    #[sqlx(skip)]
    pub cosignatures: Vec<Cosignature>,
}

impl RootRow {
    /// The number of entries the root covers (stored signed).
    pub fn entries(&self) -> u64 {
        self.size as u64
    }
}

/// A witness's cosignature of a signed root, verified before it is stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Cosignature {
    /// The root it cosigns.
    pub period_end: i64,
    /// The witness's verifier key, as configured.
    pub witness: String,
    /// The signature line (`— <name> <base64>`), without its newline.
    pub line: String,
    /// The time a tlog-cosignature signs (POSIX seconds); `None` for a
    /// plain Ed25519 note signature.
    pub signed_at: Option<i64>,
}

/// The latest root a witness has cosigned.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct WitnessProgress {
    pub witness: String,
    pub period_end: i64,
    pub size: i64,
}

/// A published entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry {
    pub index: u64,
    pub entry: Vec<u8>,
}

/// A table of the database as the engine itself describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaTable {
    pub name: String,
    /// The statement that created it, with its comments.
    pub sql: String,
    pub columns: Vec<SchemaColumn>,
    /// The statements that created its indexes.
    pub indexes: Vec<String>,
}

/// A column of a [`SchemaTable`].
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SchemaColumn {
    pub name: String,
    /// The declared type (`INTEGER`, `TEXT`, `BLOB`).
    #[sqlx(rename = "type")]
    pub declared_type: String,
    pub not_null: bool,
    pub primary_key: bool,
}

/// Which signed roots to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Roots {
    /// The latest root.
    Latest,
    /// At most `limit` roots from the `start`-th, oldest first.
    Page { start: u64, limit: u32 },
    /// The last root that closes within the day.
    LastOfDay(Day),
    /// The last root that closes on a day before this one.
    LastBefore(Day),
    /// The roots that close from day `first` on, up to the one ending at
    /// `period_end`, oldest first.
    Since { first: Day, period_end: i64 },
    /// The first root that covers entry `index`: the root of its period.
    Covering(u64),
}

/// Which published entries to read, always in index order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entries {
    /// Entries `start..end`.
    Range { start: u64, end: u64 },
    /// Entries below `end` whose deployment starts with `prefix` (2 to 8
    /// lowercase hex digits), after index `after`, at most `limit`.
    Deployment {
        prefix: String,
        after: Option<u64>,
        end: u64,
        limit: u32,
    },
    /// Entries whose record hash begins as this one does (the first 8
    /// bytes, [`record_key`]); the caller compares the whole hash.
    Record(Hash),
}

/// The read side: committed data only. Whoever holds it serves only what a
/// signed root covers.
#[async_trait]
pub trait LogReader: Send + Sync {
    async fn log_info(&self) -> Result<LogInfo>;
    async fn roots(&self, which: Roots) -> Result<Vec<RootRow>>;
    async fn entries(&self, which: Entries) -> Result<Vec<StoredEntry>>;
    /// Entries `start..end` in no particular order, joined by newlines
    /// (canonical entries hold none): bulk reads, without a row each.
    /// [`split_entries`] takes them apart.
    async fn entries_joined(&self, start: u64, end: u64) -> Result<Vec<u8>>;
    /// The stored hash tile (level, index), full or the widest partial.
    async fn tile(&self, level: u8, index: u64) -> Result<Option<Vec<u8>>>;
    /// The latest root and the totals of every day, as of one snapshot.
    async fn day_totals(&self) -> Result<(Option<RootRow>, BTreeMap<Day, DayTotals>)>;
    /// The cosignatures of the roots that end within `period_ends`, by root
    /// and then witness.
    async fn cosignatures(&self, period_ends: RangeInclusive<i64>) -> Result<Vec<Cosignature>>;
    /// The latest root each witness has cosigned.
    async fn witness_progress(&self) -> Result<Vec<WitnessProgress>>;
    /// Every table of the log with its columns and indexes, in the order
    /// they were created, from the engine's own catalogue.
    async fn schema(&self) -> Result<Vec<SchemaTable>>;
    async fn close(&self);

    /// The one root `which` names, if any.
    async fn root(&self, which: Roots) -> Result<Option<RootRow>> {
        Ok(self.roots(which).await?.into_iter().next())
    }
}

/// The report a deployment already has stored for a day: the first one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstReport {
    pub record: Vec<u8>,
    pub period_end: i64,
}

/// A record to store as pending.
pub struct NewPending<'a> {
    pub deployment: [u8; 32],
    pub record: &'a [u8],
}

/// Where a page of pending records ends: its largest (day, deployment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingKey {
    pub day: String,
    pub deployment: [u8; 32],
}

/// A page of pending records (in no particular order) and the largest key
/// among them.
pub struct PendingPage {
    pub records: Vec<Vec<u8>>,
    pub last_key: PendingKey,
}

/// Everything one publication writes besides its entries.
pub struct Publication<'a> {
    /// The index of the first entry of the publication.
    pub first_index: u64,
    /// The [`record_key`] of each entry, in entry order.
    pub record_keys: &'a [i64],
    /// Each grown hash tile: level, index, hashes.
    pub tiles: &'a [(u8, u64, Vec<u8>)],
    /// The published entries' totals, by their day.
    pub day_totals: &'a BTreeMap<Day, DayTotals>,
    pub root: &'a RootRow,
}

/// The write side, held by the sequencer alone: one per instance. Several
/// instances may share one database (PostgreSQL): each stores the reports
/// it accepts, and the publication lock ([`LogWriter::begin`]) lets one
/// publish at a time.
#[async_trait]
pub trait LogWriter: Send + Sync {
    /// The log's identity, made from `new` if the database holds none yet.
    async fn open_log(&mut self, new: &LogInfo) -> Result<LogInfo>;
    /// Stores pending records of one day and period, skipping deployments
    /// that already have a pending one that day (in any period of it; a
    /// deployment twice in `rows` keeps its first); returns the
    /// deployments stored. Committed (durable) when it returns. Records of
    /// the day already published (a period shorter than a day) are the
    /// caller's to look for, among the entries.
    ///
    /// Refuses the whole batch, storing nothing, with
    /// [`StorageError::PeriodClosed`] when the period is closed
    /// ([`LogWriter::close_period`]): another instance began publishing it
    /// (so only a [`LogWriter::shared`] engine ever answers it). The check
    /// and the insert are atomic with respect to a publication
    /// ([`LogWriter::begin`]): a publication never misses a record that an
    /// insert of its period committed.
    async fn insert_pending(
        &mut self,
        day: &str,
        period_end: i64,
        rows: &[NewPending<'_>],
    ) -> Result<HashSet<[u8; 32]>>;
    /// The pending records of these deployments on `day`.
    async fn stored_pending(
        &mut self,
        day: &str,
        deployments: &[[u8; 32]],
    ) -> Result<HashMap<[u8; 32], FirstReport>>;
    /// Records the log's publication period and a change asked for (the
    /// period fields of `periods`; the rest of the log is fixed).
    async fn set_publish_periods(&mut self, periods: &LogInfo) -> Result<()>;
    /// Stores cosignatures of signed roots, replacing a witness's earlier
    /// one of the same root.
    async fn add_cosignatures(&mut self, cosignatures: &[Cosignature]) -> Result<()>;
    /// Closes the periods ending at or before `period_end` to new records,
    /// durably, before their publication reads them: whoever publishes
    /// the period, now or after this server dies mid-publication, reads
    /// the same records and signs the same root. Nothing to do where one
    /// writer is the only one to insert (SQLite).
    async fn close_period(&mut self, _period_end: i64) -> Result<()> {
        Ok(())
    }
    /// A transaction that holds the write lock and the publication lock
    /// from its start, so that one instance publishes at a time: another
    /// one's `begin` waits until this transaction ends, and then sees what
    /// it committed ([`WriteTx::latest_root`]); and no
    /// [`LogWriter::insert_pending`] runs meanwhile. (SQLite: `BEGIN
    /// IMMEDIATE`, one writer at all. PostgreSQL: an exclusive
    /// transaction-level advisory lock, which each insert of pending
    /// records takes shared.) Dropped without [`WriteTx::commit`], it rolls
    /// back.
    async fn begin(&mut self) -> Result<Box<dyn WriteTx + '_>>;
    /// Whether other servers may share this database, take reports and
    /// sign roots in it: then a server's state file may be behind the
    /// database (another signed since), which alone is no restored backup.
    fn shared(&self) -> bool;
    /// Answers once the database's own files hold the last publication
    /// and no longer the records it removed from pending; the writer goes
    /// on meanwhile.
    fn settle(&self) -> oneshot::Receiver<()>;
    /// Starts over with a new connection after a failed write; the old one
    /// rolls back whatever it held.
    async fn reopen(&mut self) -> Result<()>;
    /// Called on the writer's own thread before it writes. A connection
    /// that is a socket is served by the runtime that opened it, which is
    /// the busy one of the requests: such an engine connects again here.
    async fn reconnect_on_this_thread(&mut self) -> Result<()> {
        Ok(())
    }
    async fn close(self: Box<Self>);
}

/// A publication's transaction.
#[async_trait]
pub trait WriteTx: Send {
    /// The latest root as this transaction sees it, which holds the
    /// publication lock: whatever another instance published before is
    /// committed and seen.
    async fn latest_root(&mut self) -> Result<Option<RootRow>>;
    async fn tile(&mut self, level: u8, index: u64) -> Result<Option<Vec<u8>>>;
    /// The next page of records whose periods end at or before
    /// `period_end`: the first in (day, deployment) order after `after`,
    /// themselves in no particular order; `None` when there are no more.
    /// An engine may remove them from `pending` as it reads them; `publish`
    /// removes whatever is left.
    async fn pending_page(
        &mut self,
        period_end: i64,
        after: Option<&PendingKey>,
    ) -> Result<Option<PendingPage>>;
    /// Appends published entries from leaf index `first`.
    async fn insert_entries(&mut self, first: u64, entries: Vec<Vec<u8>>) -> Result<()>;
    /// Adds to each day's totals: a day can take several publications when
    /// the period is shorter than a day.
    async fn add_day_totals(&mut self, days: &BTreeMap<Day, DayTotals>) -> Result<()>;
    /// Completes a publication whose entries are inserted: their receipt
    /// keys, the grown tiles, the totals, the root; and removes the records
    /// it published from pending, leaving no trace of their arrival order.
    async fn publish(&mut self, publication: &Publication<'_>) -> Result<()>;
    async fn commit(self: Box<Self>) -> Result<()>;
}

/// Where the log's database is.
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    /// An SQLite file, by default [`DATABASE_FILE`] in the data directory.
    File(PathBuf),
    /// A PostgreSQL database, by its URL (`postgres://…`): several
    /// instances of one log may share it.
    Postgres(String),
}

impl Database {
    /// The database a `--database-url` names, else the SQLite file in the
    /// data directory.
    pub fn new(url: Option<&str>, data_dir: &Path) -> Result<Database> {
        match url {
            Some(url) => Database::parse(url),
            None => Ok(Database::File(data_dir.join(DATABASE_FILE))),
        }
    }

    /// A database URL: `postgres://` or `postgresql://` (see libpq's
    /// connection URIs). Errors never repeat the URL, which may hold a
    /// password.
    pub fn parse(url: &str) -> Result<Database> {
        postgres::check_url(url)?;
        Ok(Database::Postgres(url.to_owned()))
    }

    /// The database's file, for an engine that keeps the database in one.
    pub fn file(&self) -> Option<&Path> {
        match self {
            Database::File(path) => Some(path),
            Database::Postgres(_) => None,
        }
    }
}

/// Without the URL, which may hold a password.
impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Database::File(path) => f.debug_tuple("File").field(path).finish(),
            Database::Postgres(_) => f.write_str("Postgres(..)"),
        }
    }
}

/// Opens the log's database (and with `create`, makes it): the writer's
/// side and the shared read side. Without `create` the database must
/// exist and (PostgreSQL) hold a log already.
pub async fn open(
    database: &Database,
    create: bool,
) -> Result<(Box<dyn LogWriter>, Arc<dyn LogReader>)> {
    match database {
        Database::File(path) => sqlite::open(path, create).await,
        Database::Postgres(url) => postgres::open(url, create).await,
    }
}

/// The first 8 bytes of a record hash: the key receipts are looked up by.
pub fn record_key(record_hash: &Hash) -> i64 {
    i64::from_be_bytes(record_hash.0[..8].try_into().expect("8 bytes"))
}

/// The entries of [`LogReader::entries_joined`].
pub fn split_entries(joined: &[u8]) -> impl Iterator<Item = &[u8]> {
    joined
        .split(|b| *b == b'\n')
        .filter(|entry| !entry.is_empty())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::{Cosignature, LogReader, LogWriter, Publication, RootRow, WitnessProgress};

    /// Each witness's latest cosigned root, whatever the order in which
    /// cosignatures were stored: the engines' `witness_progress`, on a log
    /// of three roots and three witnesses.
    pub(crate) async fn witness_progress_is_each_witness_latest(
        write: &mut dyn LogWriter,
        read: &dyn LogReader,
    ) {
        for (period_end, size) in [(86_400, 2), (172_800, 5), (259_200, 9)] {
            let mut tx = write.begin().await.unwrap();
            let root = RootRow {
                period_end,
                day: "1970-01-01".into(),
                size,
                root_hash: vec![1; 32],
                checkpoint: format!("example.com/log\n{size}\nAAAA\n"),
                cosignatures: Vec::new(),
            };
            tx.publish(&Publication {
                first_index: 0,
                record_keys: &[],
                tiles: &[],
                day_totals: &Default::default(),
                root: &root,
            })
            .await
            .unwrap();
            tx.commit().await.unwrap();
        }
        assert_eq!(read.witness_progress().await.unwrap(), []);
        let cosignature = |period_end, witness: &str| Cosignature {
            period_end,
            witness: witness.into(),
            line: format!("— {witness} AAAA"),
            signed_at: None,
        };
        write
            .add_cosignatures(&[
                cosignature(259_200, "b+2"),
                cosignature(86_400, "b+2"),
                cosignature(86_400, "a+1"),
                cosignature(172_800, "a+1"),
                cosignature(86_400, "c+3"),
            ])
            .await
            .unwrap();
        let progress = |witness: &str, period_end, size| WitnessProgress {
            witness: witness.into(),
            period_end,
            size,
        };
        assert_eq!(
            read.witness_progress().await.unwrap(),
            [
                progress("a+1", 172_800, 5),
                progress("b+2", 259_200, 9),
                progress("c+3", 86_400, 2),
            ]
        );
    }

    #[test]
    fn record_key_is_the_first_eight_bytes() {
        let mut hash = lucent_core::Hash::ZERO;
        hash.0[0] = 0x80;
        hash.0[7] = 1;
        assert_eq!(super::record_key(&hash), i64::MIN + 1);
    }
}
