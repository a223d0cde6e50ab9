//! The read side: a pool of connections that read committed data only,
//! the same queries as SQLite's spelt for PostgreSQL.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use async_trait::async_trait;
use lucent_core::record::Day;
use sqlx::PgPool;

use crate::storage::DayTotals;
use crate::storage::day_totals::{DayTotalsRow, from_row};
use crate::storage::sql_int;
use crate::storage::{
    Cosignature, Entries, LogInfo, LogReader, Result, RootRow, Roots, SchemaColumn, SchemaTable,
    StoredEntry, WitnessProgress, record_key,
};
use crate::storage::{EPOCH_SHIFT, LATEST_ROOT, LOG_INFO, WITNESS_PROGRESS, roots_statement};

/// The read pool.
#[derive(Clone)]
pub struct PgReader {
    pool: PgPool,
}

/// Entries whose record key matches, one index seek per epoch (see
/// migrations-postgres/): the epochs up to the last entry's. The seek is a
/// LATERAL subquery fenced by `OFFSET 0`: as a plain join, a generic plan
/// of the prepared statement scans the whole of `receipt_keys` for each
/// receipt (32 ms at 900 000 entries, against 0.1 ms). PostgreSQL chose
/// the index seek when left to itself here, but its choice follows its
/// estimates, and the insert of pending records did flip to such a plan.
pub(super) const BY_RECORD_KEY: &str = concat!(
    "SELECT e.idx, e.entry \
     FROM generate_series(0::bigint, (SELECT max(idx) FROM entries) >> ",
    epoch_shift!(),
    ") AS epochs (epoch) \
     CROSS JOIN LATERAL (SELECT k.idx FROM receipt_keys k \
         WHERE k.epoch = epochs.epoch AND k.record_key = $1 OFFSET 0) k \
     JOIN entries e ON e.idx = k.idx ORDER BY e.idx",
);

/// Entries of one epoch (`$1`) by deployment prefix (`$2 <= prefix <
/// $3`) between `$4` and `$5` (exclusive), at most `$6`: a range of the
/// epoch index (see migrations-postgres/). `idx + 0` keeps the planner, a
/// generic plan's above all, from scanning the whole log in index order
/// instead.
pub(super) const BY_DEPLOYMENT_IN_EPOCH: &str = concat!(
    "SELECT idx, entry FROM entries WHERE (idx >> ",
    epoch_shift!(),
    ") = $1 \
     AND substring(entry FROM 35 FOR 8) >= $2 AND substring(entry FROM 35 FOR 8) < $3 \
     AND idx + 0 > $4 AND idx + 0 < $5 ORDER BY idx + 0 LIMIT $6",
);

impl PgReader {
    pub(super) fn new(pool: PgPool) -> PgReader {
        PgReader { pool }
    }

    /// Entries whose record_key (first 8 bytes of record_hash) matches.
    async fn entries_by_record_key(&self, record_key: i64) -> Result<Vec<StoredEntry>> {
        let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as(BY_RECORD_KEY)
            .bind(record_key)
            .fetch_all(&self.pool)
            .await?;
        Ok(stored_entries(rows))
    }

    /// One query per epoch, from `after`'s to `end`'s or the last entry's,
    /// until `limit` entries are found: a query over every epoch at once
    /// is planned as a scan of the whole log.
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
        let after = after.map(sql_int).transpose()?.unwrap_or(-1);
        let end = sql_int(end)?;
        let last: Option<i64> = sqlx::query_scalar("SELECT max(idx) FROM entries")
            .fetch_one(&self.pool)
            .await?;
        let Some(last) = last else {
            return Ok(Vec::new());
        };
        let last_epoch = last.min(end - 1) >> EPOCH_SHIFT;
        let mut epoch = after.max(0) >> EPOCH_SHIFT;
        let mut rows: Vec<(i64, Vec<u8>)> = Vec::new();
        while epoch <= last_epoch && rows.len() < limit as usize {
            let found: Vec<(i64, Vec<u8>)> = sqlx::query_as(BY_DEPLOYMENT_IN_EPOCH)
                .bind(epoch)
                .bind(prefix.as_bytes())
                .bind(upper.as_bytes())
                .bind(after)
                .bind(end)
                .bind(i64::from(limit) - rows.len() as i64)
                .fetch_all(&self.pool)
                .await?;
            rows.extend(found);
            epoch += 1;
        }
        Ok(stored_entries(rows))
    }

    /// A table's columns, with the comment and the rest of each column's
    /// definition (collation, default) for its statement.
    async fn columns(&self, table: i64) -> Result<Vec<(SchemaColumn, String, Option<String>)>> {
        let rows: Vec<(String, String, bool, bool, String, Option<String>)> = sqlx::query_as(
            "SELECT a.attname::text, upper(format_type(a.atttypid, a.atttypmod)), a.attnotnull, \
                 EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = a.attrelid \
                     AND k.contype = 'p' AND a.attnum = ANY (k.conkey)), \
                 concat( \
                     CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation \
                         THEN ' COLLATE ' || quote_ident(c.collname) END, \
                     CASE WHEN a.attnotnull THEN ' NOT NULL' END, \
                     ' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid)), \
                 col_description(a.attrelid, a.attnum) \
             FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid \
             LEFT JOIN pg_collation c ON c.oid = a.attcollation \
             LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
             WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped \
             ORDER BY a.attnum",
        )
        .bind(table)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(name, declared_type, not_null, primary_key, rest, comment)| {
                    let column = SchemaColumn {
                        name,
                        declared_type,
                        not_null,
                        primary_key,
                    };
                    (column, rest, comment)
                },
            )
            .collect())
    }
}

#[async_trait]
impl LogReader for PgReader {
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
                    "SELECT idx, entry FROM entries WHERE idx >= $1 AND idx < $2 ORDER BY idx",
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

    /// One row, as SQLite's group_concat gives: a row each would cross
    /// from sqlx's connection task one at a time.
    async fn entries_joined(&self, start: u64, end: u64) -> Result<Vec<u8>> {
        let joined: Option<Vec<u8>> = sqlx::query_scalar(
            "SELECT string_agg(entry, '\\x0a'::bytea) FROM entries WHERE idx >= $1 AND idx < $2",
        )
        .bind(sql_int(start)?)
        .bind(sql_int(end)?)
        .fetch_one(&self.pool)
        .await?;
        Ok(joined.unwrap_or_default())
    }

    async fn tile(&self, level: u8, index: u64) -> Result<Option<Vec<u8>>> {
        Ok(
            sqlx::query_scalar("SELECT hashes FROM tiles WHERE level = $1 AND idx = $2")
                .bind(i64::from(level))
                .bind(sql_int(index)?)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// One snapshot for both reads: REPEATABLE READ (at READ COMMITTED,
    /// PostgreSQL's default, each statement sees its own).
    async fn day_totals(&self) -> Result<(Option<RootRow>, BTreeMap<Day, DayTotals>)> {
        let mut tx = self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .await?;
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
             WHERE period_end BETWEEN $1 AND $2 ORDER BY period_end, witness",
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

    /// From the catalogue, which keeps no statement text: each table's
    /// statement is written back from its columns, constraints, partition
    /// key and comments (`COMMENT ON`), and each index's by
    /// `pg_get_indexdef`. The tables of the current schema in the order
    /// they were made; partitions of `pending` are left out (their names
    /// would tell which periods hold reports), the indexes of keys too, as
    /// SQLite leaves out its automatic ones.
    async fn schema(&self) -> Result<Vec<SchemaTable>> {
        let tables: Vec<(i64, String, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT c.oid::bigint, c.relname::text, obj_description(c.oid, 'pg_class'), \
                 CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') \
                 AND NOT c.relispartition \
             ORDER BY c.oid",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut schema = Vec::new();
        for (oid, name, comment, partition_key) in tables {
            let columns = self.columns(oid).await?;
            let constraints: Vec<String> = sqlx::query_scalar(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint \
                 WHERE conrelid = $1::oid ORDER BY contype <> 'p', oid",
            )
            .bind(oid)
            .fetch_all(&self.pool)
            .await?;
            let indexes: Vec<String> = sqlx::query_scalar(
                "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i \
                 WHERE i.indrelid = $1::oid \
                     AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) \
                 ORDER BY i.indexrelid",
            )
            .bind(oid)
            .fetch_all(&self.pool)
            .await?;
            let sql = create_table(
                &name,
                comment.as_deref(),
                &columns,
                &constraints,
                partition_key.as_deref(),
            );
            schema.push(SchemaTable {
                name,
                sql,
                columns: columns.into_iter().map(|(column, _, _)| column).collect(),
                indexes,
            });
        }
        Ok(schema)
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

/// A `CREATE TABLE` statement as the catalogue describes the table, its
/// comments as SQL comments.
fn create_table(
    name: &str,
    comment: Option<&str>,
    columns: &[(SchemaColumn, String, Option<String>)],
    constraints: &[String],
    partition_key: Option<&str>,
) -> String {
    let mut sql = String::new();
    if let Some(comment) = comment {
        push_comment(&mut sql, "", comment);
    }
    sql.push_str(&format!("CREATE TABLE {name} ("));
    let mut lines = Vec::new();
    for (column, rest, comment) in columns {
        let mut line = String::new();
        if let Some(comment) = comment {
            push_comment(&mut line, "    ", comment);
        }
        line.push_str(&format!(
            "    {} {}{rest}",
            column.name, column.declared_type
        ));
        lines.push(line);
    }
    lines.extend(constraints.iter().map(|c| format!("    {c}")));
    sql.push('\n');
    sql.push_str(&lines.join(",\n"));
    sql.push_str("\n)");
    if let Some(key) = partition_key {
        sql.push_str(&format!(" PARTITION BY {key}"));
    }
    sql
}

/// Appends `text` as `--` lines of at most about 76 characters.
fn push_comment(sql: &mut String, indent: &str, text: &str) {
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && indent.len() + 3 + line.len() + 1 + word.len() > 76 {
            sql.push_str(&format!("{indent}-- {line}\n"));
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        sql.push_str(&format!("{indent}-- {line}\n"));
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
