//! The write side: only the sequencer holds a [`SqliteWriter`], so SQLite sees
//! one writer and never answers "database is locked".

use std::collections::{BTreeMap, HashMap, HashSet};

use async_trait::async_trait;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, QueryBuilder, Sqlite, SqliteConnection, Transaction};
use tokio::sync::oneshot;

use lucent_core::record::{DAY_BYTES, DEPLOYMENT_BYTES, Day, day_and_deployment};

use super::checkpointer::Checkpointer;
use crate::storage::DayTotals;
use crate::storage::EPOCH_SHIFT;
use crate::storage::day_totals::{DayTotalsRow, summed};
use crate::storage::{CREATE_LOG, SET_PUBLISH_PERIODS, sql_int};
use crate::storage::{
    Cosignature, FirstReport, LogInfo, LogWriter, NewPending, PendingKey, PendingPage, Publication,
    Result, RootRow, StorageError, WriteTx,
};

/// The one write connection.
pub struct SqliteWriter {
    conn: SqliteConnection,
    options: SqliteConnectOptions,
    checkpointer: Checkpointer,
}

/// A write transaction, begun IMMEDIATE so it holds the write lock from the
/// start.
struct SqliteTx<'c> {
    tx: Transaction<'c, Sqlite>,
}

/// Records read from `pending` at once while publishing.
const PAGE_RECORDS: i64 = 8192;

impl SqliteWriter {
    pub(super) fn new(
        conn: SqliteConnection,
        options: SqliteConnectOptions,
        checkpointer: Checkpointer,
    ) -> SqliteWriter {
        SqliteWriter {
            conn,
            options,
            checkpointer,
        }
    }
}

#[async_trait]
impl LogWriter for SqliteWriter {
    async fn open_log(&mut self, new: &LogInfo) -> Result<LogInfo> {
        let stored: Option<LogInfo> = sqlx::query_as(crate::storage::LOG_INFO)
            .fetch_optional(&mut self.conn)
            .await?;
        if let Some(stored) = stored {
            return Ok(stored);
        }
        sqlx::query(CREATE_LOG)
            .bind(&new.origin)
            .bind(&new.verifier_key)
            .bind(new.inception)
            .bind(new.publish_period)
            .execute(&mut self.conn)
            .await?;
        Ok(new.clone())
    }

    async fn set_publish_periods(&mut self, periods: &LogInfo) -> Result<()> {
        sqlx::query(SET_PUBLISH_PERIODS)
            .bind(periods.publish_period)
            .bind(periods.next_publish_period)
            .bind(periods.next_period_from)
            .execute(&mut self.conn)
            .await?;
        Ok(())
    }

    /// One statement outside any transaction is its own transaction: when
    /// this returns, the rows are committed (synchronous=FULL). No BEGIN
    /// and COMMIT round trips to SQLite's thread, and no statement journal.
    /// Never [`StorageError::PeriodClosed`]: this database is not shared
    /// (see [`LogWriter::shared`]), and its one writer closes a period
    /// before it takes anything for a later one (`Writer::accept` takes the
    /// period after the last closed one at the earliest), so no query on
    /// the hot path looks for a closed period.
    async fn insert_pending(
        &mut self,
        day: &str,
        period_end: i64,
        rows: &[NewPending<'_>],
    ) -> Result<HashSet<[u8; 32]>> {
        if rows.is_empty() {
            return Ok(HashSet::new());
        }
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO pending (day, deployment, period_end, record) ",
        );
        insert.push_values(rows, |mut row, new| {
            row.push_bind(day)
                .push_bind(&new.deployment[..])
                .push_bind(period_end)
                .push_bind(new.record);
        });
        insert.push(" ON CONFLICT DO NOTHING RETURNING deployment");
        let inserted: Vec<Vec<u8>> = insert
            .build_query_scalar()
            .fetch_all(&mut self.conn)
            .await?;
        self.checkpointer.wake();
        Ok(inserted
            .into_iter()
            .filter_map(|d| d.try_into().ok())
            .collect())
    }

    async fn stored_pending(
        &mut self,
        day: &str,
        deployments: &[[u8; 32]],
    ) -> Result<HashMap<[u8; 32], FirstReport>> {
        if deployments.is_empty() {
            return Ok(HashMap::new());
        }
        let mut select = QueryBuilder::<Sqlite>::new(
            "SELECT deployment, record, period_end FROM pending WHERE day = ",
        );
        select.push_bind(day).push(" AND deployment IN (");
        let mut list = select.separated(", ");
        for deployment in deployments {
            list.push_bind(&deployment[..]);
        }
        select.push(")");
        let rows: Vec<(Vec<u8>, Vec<u8>, i64)> =
            select.build_query_as().fetch_all(&mut self.conn).await?;
        Ok(rows
            .into_iter()
            .filter_map(|(deployment, record, period_end)| {
                Some((
                    deployment.try_into().ok()?,
                    FirstReport { record, period_end },
                ))
            })
            .collect())
    }

    async fn add_cosignatures(&mut self, cosignatures: &[Cosignature]) -> Result<()> {
        if cosignatures.is_empty() {
            return Ok(());
        }
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT OR REPLACE INTO cosignatures (period_end, witness, line, signed_at) ",
        );
        insert.push_values(cosignatures, |mut row, c| {
            row.push_bind(c.period_end)
                .push_bind(&c.witness)
                .push_bind(&c.line)
                .push_bind(c.signed_at);
        });
        insert.build().execute(&mut self.conn).await?;
        self.checkpointer.wake();
        Ok(())
    }

    /// `BEGIN IMMEDIATE` takes SQLite's write lock at once: that is the
    /// publication lock, since one connection writes at all.
    async fn begin(&mut self) -> Result<Box<dyn WriteTx + '_>> {
        let tx = self.conn.begin_with("BEGIN IMMEDIATE").await?;
        Ok(Box::new(SqliteTx { tx }))
    }

    /// The file in one server's data directory.
    fn shared(&self) -> bool {
        false
    }

    /// Has the write-ahead log copied into the database and emptied, on the
    /// checkpoint connection while the writer goes on.
    fn settle(&self) -> oneshot::Receiver<()> {
        self.checkpointer.empty()
    }

    /// After a failed write (a full disk, say) the old connection may still
    /// hold a transaction; closing it rolls that back, since SQLite commits
    /// all or nothing.
    async fn reopen(&mut self) -> Result<()> {
        let fresh = self.options.connect().await?;
        let old = std::mem::replace(&mut self.conn, fresh);
        if let Err(e) = old.close().await {
            tracing::warn!(error = %e, "closing the failed write connection");
        }
        Ok(())
    }

    /// Stops the checkpoints, then closes the connection; being the last
    /// one (the read side closes first), it copies the write-ahead log into
    /// the database.
    async fn close(self: Box<Self>) {
        self.checkpointer.stop().await;
        if let Err(e) = self.conn.close().await {
            tracing::warn!(error = %e, "closing the database");
        }
    }
}

impl SqliteTx<'_> {
    /// Whether any pending record belongs to a period after `period_end`.
    async fn pending_after(&mut self, period_end: i64) -> Result<bool> {
        Ok(
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pending WHERE period_end > ?)")
                .bind(period_end)
                .fetch_one(&mut *self.tx)
                .await?,
        )
    }

    /// Removes the records published up to `period_end` from `pending`,
    /// overwritten (secure_delete) with every page that held them. Usually
    /// nothing later is pending (the writer publishes a period before it
    /// accepts anything after it), and a DELETE without WHERE frees the
    /// table's pages at once. Records of later periods are set aside and put
    /// back, so that no page of the table, its interior pages' copies of
    /// keys included, keeps a published record's deployment.
    async fn remove_published_pending(&mut self, period_end: i64) -> Result<()> {
        let later = self.pending_after(period_end).await?;
        if later {
            sqlx::query(
                "CREATE TEMP TABLE later_pending AS SELECT * FROM pending WHERE period_end > ?",
            )
            .bind(period_end)
            .execute(&mut *self.tx)
            .await?;
        }
        sqlx::query("DELETE FROM pending")
            .execute(&mut *self.tx)
            .await?;
        if later {
            sqlx::raw_sql(
                "INSERT INTO pending SELECT * FROM temp.later_pending; DROP TABLE temp.later_pending",
            )
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(())
    }
}

#[async_trait]
impl WriteTx for SqliteTx<'_> {
    async fn commit(self: Box<Self>) -> Result<()> {
        Ok(self.tx.commit().await?)
    }

    async fn latest_root(&mut self) -> Result<Option<RootRow>> {
        Ok(sqlx::query_as(crate::storage::LATEST_ROOT)
            .fetch_optional(&mut *self.tx)
            .await?)
    }

    async fn add_day_totals(&mut self, days: &BTreeMap<Day, DayTotals>) -> Result<()> {
        for (day, added) in days {
            let day = day.to_string();
            let row: Option<DayTotalsRow> = sqlx::query_as(
                "SELECT day, reports, tokens_created, tokens_detokenized, grants_issued \
                 FROM day_totals WHERE day = ?",
            )
            .bind(&day)
            .fetch_optional(&mut *self.tx)
            .await?;
            let (reports, created, detokenized, grants) = summed(row, added)?;
            sqlx::query(
                "INSERT OR REPLACE INTO day_totals \
                 (day, reports, tokens_created, tokens_detokenized, grants_issued) \
                 VALUES (?, ?, ?, ?, ?)",
            )
            .bind(&day)
            .bind(reports)
            .bind(created)
            .bind(detokenized)
            .bind(grants)
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(())
    }

    async fn tile(&mut self, level: u8, index: u64) -> Result<Option<Vec<u8>>> {
        Ok(
            sqlx::query_scalar("SELECT hashes FROM tiles WHERE level = ? AND idx = ?")
                .bind(level)
                .bind(sql_int(index)?)
                .fetch_optional(&mut *self.tx)
                .await?,
        )
    }

    /// Pages follow the primary key (day, deployment).
    async fn pending_page(
        &mut self,
        period_end: i64,
        after: Option<&PendingKey>,
    ) -> Result<Option<PendingPage>> {
        // One row per page: SQLite joins the records (canonical JSON has no
        // newline), which costs far less than a row each through sqlx.
        let (day, deployment) = after.map_or((String::new(), Vec::new()), |key| {
            (key.day.clone(), key.deployment.to_vec())
        });
        let joined: Option<String> = sqlx::query_scalar(
            "SELECT group_concat(record, x'0a') \
             FROM (SELECT day, deployment, record FROM pending \
                   WHERE period_end <= ?1 AND (day, deployment) > (?2, ?3) \
                   ORDER BY day, deployment LIMIT ?4)",
        )
        .bind(period_end)
        .bind(day)
        .bind(deployment)
        .bind(PAGE_RECORDS)
        .fetch_one(&mut *self.tx)
        .await?;
        let Some(joined) = joined else {
            return Ok(None);
        };
        let records: Vec<Vec<u8>> = joined.split('\n').map(|r| r.as_bytes().to_vec()).collect();
        // Without an ORDER BY in group_concat (a sort per page, a tenth of
        // the publication) the order is SQLite's: take the largest key.
        let last = records
            .iter()
            .max_by(|a, b| {
                (a.get(DAY_BYTES), a.get(DEPLOYMENT_BYTES))
                    .cmp(&(b.get(DAY_BYTES), b.get(DEPLOYMENT_BYTES)))
            })
            .expect("split gives at least one part");
        let (day, deployment) = day_and_deployment(last)
            .map_err(|_| StorageError::Corrupt("a pending record is not canonical".into()))?;
        let last_key = PendingKey {
            day: day.to_string(),
            deployment: deployment.0.0,
        };
        // Removed (overwritten) now rather than after the last page: the
        // pages this frees are reused by the entries inserted next, in the
        // same transaction, so each is written to the write-ahead log once
        // instead of twice.
        sqlx::query("DELETE FROM pending WHERE period_end <= ?1 AND (day, deployment) <= (?2, ?3)")
            .bind(period_end)
            .bind(&last_key.day)
            .bind(&last_key.deployment[..])
            .execute(&mut *self.tx)
            .await?;
        Ok(Some(PendingPage { records, last_key }))
    }

    async fn insert_entries(&mut self, first: u64, entries: Vec<Vec<u8>>) -> Result<()> {
        let mut insert = QueryBuilder::<Sqlite>::new("INSERT INTO entries (idx, entry) ");
        insert.push_values(
            entries.into_iter().enumerate(),
            |mut row, (offset, entry)| {
                row.push_bind((first + offset as u64) as i64)
                    .push_bind(entry);
            },
        );
        insert.build().execute(&mut *self.tx).await?;
        Ok(())
    }

    async fn publish(&mut self, publication: &Publication<'_>) -> Result<()> {
        // Many rows per statement: a statement costs far more than a row.
        const ROWS_PER_STATEMENT: usize = 4096;
        // In key order: a B-tree takes sorted keys page by page, random
        // ones page after scattered page.
        let mut keys: Vec<(i64, i64, i64)> = publication
            .record_keys
            .iter()
            .enumerate()
            .map(|(offset, key)| {
                let idx = (publication.first_index + offset as u64) as i64;
                (idx >> EPOCH_SHIFT, *key, idx)
            })
            .collect();
        keys.sort_unstable();
        for chunk in keys.chunks(ROWS_PER_STATEMENT) {
            let mut insert =
                QueryBuilder::<Sqlite>::new("INSERT INTO receipt_keys (epoch, record_key, idx) ");
            insert.push_values(chunk, |mut row, (epoch, key, idx)| {
                row.push_bind(epoch).push_bind(key).push_bind(idx);
            });
            insert.build().execute(&mut *self.tx).await?;
        }
        for (level, index, hashes) in publication.tiles {
            sqlx::query("INSERT OR REPLACE INTO tiles (level, idx, hashes) VALUES (?, ?, ?)")
                .bind(level)
                .bind(*index as i64)
                .bind(hashes)
                .execute(&mut *self.tx)
                .await?;
        }
        self.add_day_totals(publication.day_totals).await?;
        let root = publication.root;
        self.remove_published_pending(root.period_end).await?;
        sqlx::query(
            "INSERT INTO roots (period_end, day, size, root_hash, checkpoint) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(root.period_end)
        .bind(&root.day)
        .bind(root.size)
        .bind(&root.root_hash)
        .bind(&root.checkpoint)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }
}
