//! The read side: a pool of read-only connections, which see only
//! committed data.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use async_trait::async_trait;
use lucent_core::record::Day;
use sqlx::SqlitePool;

use crate::storage::DayTotals;
use crate::storage::day_totals::{DayTotalsRow, from_row};
use crate::storage::sql_int;
use crate::storage::{
    Cosignature, Entries, LogInfo, LogReader, Result, RootRow, Roots, SchemaTable, StoredEntry,
    WitnessProgress, record_key,
};
use crate::storage::{LATEST_ROOT, LOG_INFO, WITNESS_PROGRESS, roots_statement};

/// The read-only pool.
#[derive(Clone)]
pub struct SqliteReader {
    pool: SqlitePool,
}

impl SqliteReader {
    pub(super) fn new(pool: SqlitePool) -> SqliteReader {
        SqliteReader { pool }
    }

    /// Entries whose record_key (first 8 bytes of record_hash) matches.
    async fn entries_by_record_key(&self, record_key: i64) -> Result<Vec<StoredEntry>> {
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

    async fn entries_by_deployment(
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
}

#[async_trait]
impl LogReader for SqliteReader {
    async fn log_info(&self) -> Result<LogInfo> {
        Ok(sqlx::query_as(LOG_INFO).fetch_one(&self.pool).await?)
    }

    async fn roots(&self, which: Roots) -> Result<Vec<RootRow>> {
        let (statement, arguments) = roots_statement(which)?;
        let mut query = sqlx::query_as(statement);
        for argument in arguments {
            query = query.bind(argument);
        }
        Ok(query.fetch_all(&self.pool).await?)
    }

    async fn entries(&self, which: Entries) -> Result<Vec<StoredEntry>> {
        match which {
            Entries::Range { start, end } => {
                let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as(
                    "SELECT idx, entry FROM entries WHERE idx >= ? AND idx < ? ORDER BY idx",
                )
                .bind(sql_int(start)?)
                .bind(sql_int(end)?)
                .fetch_all(&self.pool)
                .await?;
                Ok(stored_entries(rows))
            }
            Entries::Deployment {
                prefix,
                after,
                end,
                limit,
            } => self.entries_by_deployment(&prefix, after, end, limit).await,
            Entries::Record(hash) => self.entries_by_record_key(record_key(&hash)).await,
        }
    }

    async fn entries_joined(&self, start: u64, end: u64) -> Result<Vec<u8>> {
        let joined: Option<Vec<u8>> = sqlx::query_scalar(
            "SELECT group_concat(entry, x'0a') FROM entries WHERE idx >= ? AND idx < ?",
        )
        .bind(sql_int(start)?)
        .bind(sql_int(end)?)
        .fetch_one(&self.pool)
        .await?;
        Ok(joined.unwrap_or_default())
    }

    async fn tile(&self, level: u8, index: u64) -> Result<Option<Vec<u8>>> {
        Ok(
            sqlx::query_scalar("SELECT hashes FROM tiles WHERE level = ? AND idx = ?")
                .bind(level)
                .bind(sql_int(index)?)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn day_totals(&self) -> Result<(Option<RootRow>, BTreeMap<Day, DayTotals>)> {
        let mut tx = self.pool.begin().await?;
        let root = sqlx::query_as(LATEST_ROOT).fetch_optional(&mut *tx).await?;
        let rows: Vec<DayTotalsRow> = sqlx::query_as(
            "SELECT day, reports, tokens_created, tokens_detokenized, grants_issued FROM day_totals",
        )
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let days = rows.into_iter().map(from_row).collect::<Result<_>>()?;
        Ok((root, days))
    }

    async fn cosignatures(&self, period_ends: RangeInclusive<i64>) -> Result<Vec<Cosignature>> {
        Ok(sqlx::query_as(
            "SELECT period_end, witness, line, signed_at FROM cosignatures \
             WHERE period_end BETWEEN ? AND ? ORDER BY period_end, witness",
        )
        .bind(period_ends.start())
        .bind(period_ends.end())
        .fetch_all(&self.pool)
        .await?)
    }

    async fn witness_progress(&self) -> Result<Vec<WitnessProgress>> {
        Ok(sqlx::query_as(WITNESS_PROGRESS)
            .fetch_all(&self.pool)
            .await?)
    }

    async fn schema(&self) -> Result<Vec<SchemaTable>> {
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

    async fn close(&self) {
        self.pool.close().await;
    }
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
