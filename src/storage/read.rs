//! The read side: a pool of read-only connections. It sees only committed
//! data, and the API above it serves only what a signed root covers.

use std::collections::BTreeMap;

use lucent_core::record::Day;
use sqlx::SqlitePool;

use super::day_totals::{DayTotals, DayTotalsRow};
use super::{LATEST_ROOT, LOG_INFO, Result, sql_int};

/// The log's identity, written once at creation.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LogInfo {
    pub origin: String,
    pub verifier_key: String,
    /// Unix seconds at which the first period began.
    pub inception: i64,
}

/// A signed root.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RootRow {
    pub period_end: i64,
    pub day: String,
    pub size: i64,
    pub root_hash: Vec<u8>,
    pub checkpoint: String,
}

impl RootRow {
    /// The number of entries the root covers (SQLite stores it signed).
    pub fn entries(&self) -> u64 {
        self.size as u64
    }
}

/// A published entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry {
    pub index: u64,
    pub entry: Vec<u8>,
}

/// A table of the database as SQLite itself describes it, with its indexes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaTable {
    pub name: String,
    /// The statement that created it, with its comments.
    pub sql: String,
    pub columns: Vec<SchemaColumn>,
    /// The statements that created its indexes.
    pub indexes: Vec<String>,
}

/// A column, from `pragma_table_info`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SchemaColumn {
    pub name: String,
    /// The declared type (`INTEGER`, `TEXT`, `BLOB`).
    #[sqlx(rename = "type")]
    pub declared_type: String,
    pub not_null: bool,
    pub primary_key: bool,
}

/// The read-only pool.
#[derive(Clone)]
pub struct ReadStore {
    pool: SqlitePool,
}

impl ReadStore {
    pub(super) fn new(pool: SqlitePool) -> ReadStore {
        ReadStore { pool }
    }

    pub async fn latest_root(&self) -> Result<Option<RootRow>> {
        Ok(sqlx::query_as(LATEST_ROOT)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// The latest root and the totals of every day, as of one snapshot.
    pub async fn latest_root_with_day_totals(
        &self,
    ) -> Result<(Option<RootRow>, BTreeMap<Day, DayTotals>)> {
        let mut tx = self.pool.begin().await?;
        let root = sqlx::query_as(LATEST_ROOT).fetch_optional(&mut *tx).await?;
        let rows: Vec<DayTotalsRow> = sqlx::query_as(
            "SELECT day, reports, tokens_created, tokens_detokenized, grants_issued FROM day_totals",
        )
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let days = rows
            .into_iter()
            .map(DayTotals::from_row)
            .collect::<Result<_>>()?;
        Ok((root, days))
    }

    /// Where the runs of entries published for days from `first_day` on
    /// begin and end: the size before them, then the size of each root up
    /// to the one ending `period_end`.
    pub async fn sizes_since_day(&self, first_day: &str, period_end: i64) -> Result<Vec<u64>> {
        let before: Option<i64> = sqlx::query_scalar(
            "SELECT size FROM roots WHERE day < ? ORDER BY period_end DESC LIMIT 1",
        )
        .bind(first_day)
        .fetch_optional(&self.pool)
        .await?;
        let sizes: Vec<i64> = sqlx::query_scalar(
            "SELECT size FROM roots WHERE day >= ? AND period_end <= ? ORDER BY period_end",
        )
        .bind(first_day)
        .bind(period_end)
        .fetch_all(&self.pool)
        .await?;
        Ok(std::iter::once(before.unwrap_or(0))
            .chain(sizes)
            .map(|size| size as u64)
            .collect())
    }

    /// At most `limit` roots from the `start`-th, oldest first.
    pub async fn roots(&self, start: u64, limit: u32) -> Result<Vec<RootRow>> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            root_columns!(),
            " FROM roots ORDER BY period_end LIMIT ? OFFSET ?"
        ))
        .bind(limit)
        .bind(sql_int(start)?)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The last root that closes within `day`.
    pub async fn root_of_day(&self, day: &str) -> Result<Option<RootRow>> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            root_columns!(),
            " FROM roots WHERE day = ? ORDER BY period_end DESC LIMIT 1"
        ))
        .bind(day)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Published entries whose record_key (first 8 bytes of record_hash)
    /// matches; the caller checks the full hash.
    pub async fn entries_by_record_key(&self, record_key: i64) -> Result<Vec<StoredEntry>> {
        // One seek per epoch (see migrations/0003_epoch_indexes.sql).
        let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as(concat!(
            "WITH RECURSIVE epochs(epoch) AS (SELECT 0 UNION ALL SELECT epoch + 1 FROM epochs \
                 WHERE epoch < (SELECT max(idx) >> ",
            epoch_shift!(),
            " FROM entries)) \
             SELECT e.idx, e.entry FROM epochs \
             CROSS JOIN receipt_keys k ON k.epoch = epochs.epoch AND k.record_key = ? \
             JOIN entries e ON e.idx = k.idx ORDER BY e.idx",
        ))
        .bind(record_key)
        .fetch_all(&self.pool)
        .await?;
        Ok(stored_entries(rows))
    }

    /// The first root that covers entry `index`: the root of its period.
    pub async fn first_root_covering(&self, index: u64) -> Result<Option<RootRow>> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            root_columns!(),
            " FROM roots WHERE size > ? ORDER BY period_end LIMIT 1"
        ))
        .bind(sql_int(index)?)
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn log_info(&self) -> Result<LogInfo> {
        Ok(sqlx::query_as(LOG_INFO).fetch_one(&self.pool).await?)
    }

    /// Entries `start..end` (by index), in order.
    pub async fn entries(&self, start: u64, end: u64) -> Result<Vec<StoredEntry>> {
        let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as(
            "SELECT idx, entry FROM entries WHERE idx >= ? AND idx < ? ORDER BY idx",
        )
        .bind(sql_int(start)?)
        .bind(sql_int(end)?)
        .fetch_all(&self.pool)
        .await?;
        Ok(stored_entries(rows))
    }

    /// Entries `start..end` in no particular order, joined by newlines
    /// (canonical entries hold none): one row through sqlx, not one each.
    /// [`split_entries`] takes them apart.
    pub async fn entries_joined(&self, start: u64, end: u64) -> Result<Vec<u8>> {
        let joined: Option<Vec<u8>> = sqlx::query_scalar(
            "SELECT group_concat(entry, x'0a') FROM entries WHERE idx >= ? AND idx < ?",
        )
        .bind(sql_int(start)?)
        .bind(sql_int(end)?)
        .fetch_one(&self.pool)
        .await?;
        Ok(joined.unwrap_or_default())
    }

    /// Entries below `end` whose deployment starts with `prefix` (2 to 8
    /// lowercase hex digits), after index `after`, at most `limit`.
    pub async fn entries_by_deployment(
        &self,
        prefix: &str,
        after: Option<u64>,
        end: u64,
        limit: u32,
    ) -> Result<Vec<StoredEntry>> {
        // 'g' sorts after every hex digit: [prefix, prefix + "g") is every
        // 8-digit string that starts with prefix.
        let upper = format!("{prefix}g");
        // One range of the index per epoch from `after` to `end` (see
        // migrations/0003_epoch_indexes.sql); CROSS JOIN keeps that order
        // and `+idx` keeps SQLite from scanning the entries by idx instead.
        let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as(concat!(
            "WITH RECURSIVE epochs(epoch) AS (SELECT max(?3, 0) >> ",
            epoch_shift!(),
            " UNION ALL SELECT epoch + 1 FROM epochs \
                 WHERE epoch < min(?4 - 1, (SELECT max(idx) FROM entries)) >> ",
            epoch_shift!(),
            ") SELECT idx, entry FROM epochs CROSS JOIN entries ON (idx >> ",
            epoch_shift!(),
            ") = epochs.epoch \
             AND substr(entry, 35, 8) >= ?1 AND substr(entry, 35, 8) < ?2 \
             AND +idx > ?3 AND +idx < ?4 ORDER BY idx LIMIT ?5",
        ))
        .bind(prefix.as_bytes())
        .bind(upper.as_bytes())
        .bind(after.map(sql_int).transpose()?.unwrap_or(-1))
        .bind(sql_int(end)?)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(stored_entries(rows))
    }

    /// Every table of the database with its columns and indexes, in the
    /// order they were created, read from SQLite's own catalogue.
    pub async fn schema(&self) -> Result<Vec<SchemaTable>> {
        let objects: Vec<(String, String, String, String)> = sqlx::query_as(
            "SELECT type, name, tbl_name, sql FROM sqlite_schema \
             WHERE type IN ('table', 'index') AND sql IS NOT NULL ORDER BY rowid",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut tables = Vec::new();
        for (_, name, _, sql) in objects.iter().filter(|o| o.0 == "table") {
            let columns = sqlx::query_as(
                "SELECT name, type, \"notnull\" AS not_null, pk > 0 AS primary_key \
                 FROM pragma_table_info(?) ORDER BY cid",
            )
            .bind(name)
            .fetch_all(&self.pool)
            .await?;
            let indexes = objects
                .iter()
                .filter(|(kind, _, table, _)| kind == "index" && table == name)
                .map(|(_, _, _, sql)| sql.clone())
                .collect();
            tables.push(SchemaTable {
                name: name.clone(),
                sql: sql.clone(),
                columns,
                indexes,
            });
        }
        Ok(tables)
    }

    pub async fn tile(&self, level: u8, index: u64) -> Result<Option<Vec<u8>>> {
        Ok(
            sqlx::query_scalar("SELECT hashes FROM tiles WHERE level = ? AND idx = ?")
                .bind(level)
                .bind(sql_int(index)?)
                .fetch_optional(&self.pool)
                .await?,
        )
    }
}

impl ReadStore {
    pub(super) async fn close(&self) {
        self.pool.close().await;
    }
}

/// The entries of [`ReadStore::entries_joined`].
pub fn split_entries(joined: &[u8]) -> impl Iterator<Item = &[u8]> {
    joined
        .split(|b| *b == b'\n')
        .filter(|entry| !entry.is_empty())
}

/// Rows of (idx, entry) as stored entries.
fn stored_entries(rows: Vec<(i64, Vec<u8>)>) -> Vec<StoredEntry> {
    rows.into_iter()
        .map(|(idx, entry)| StoredEntry {
            index: idx as u64,
            entry,
        })
        .collect()
}
