//! The write side: each instance's sequencer holds one [`PgWriter`], its
//! own connection. Instances that share the database coordinate through
//! advisory locks (see the module above): a publication holds
//! [`PUBLICATION_LOCK`] exclusively, an insert of pending records shared.
//!
//! One record per (day, deployment) across instances: the key of `pending`
//! is (day, deployment, period_end), and an insert skips deployments that
//! any period of the day already holds. Two inserts of one day in
//! different periods would each miss the other's uncommitted row, so they
//! are serialized by the day's lock ([`DAY_LOCK`]): taken exclusively by
//! an insert whose period ends before the day does (a period shorter than
//! a day), shared by one whose period ends with the day (the daily period,
//! or a shorter period's last one of the day). Shared holders insert into
//! the same partition, where the unique key decides between them; so the
//! daily period's inserts never wait for each other.
//!
//! What remains, with periods shorter than a day and several instances: a
//! deployment's record of an earlier period of the day that another
//! instance publishes between the sequencer's look at the day's entries and
//! this insert is in neither place that either looked (no longer pending,
//! not yet published when looked for), and a second record of the day is
//! stored. Closing it needs the sequencer to look again, or the insert to
//! search the day's entries; with the daily period it cannot happen (a
//! day's records are all pending until the day is published, and then the
//! day is closed).

use std::collections::{BTreeMap, HashMap, HashSet};

use async_trait::async_trait;
use sqlx::postgres::PgConnectOptions;
use sqlx::{
    AssertSqlSafe, ConnectOptions, Connection, PgConnection, Postgres, QueryBuilder, Transaction,
};
use tokio::sync::oneshot;

use lucent_core::record::{DAY_BYTES, DEPLOYMENT_BYTES, Day, day_and_deployment};

use super::{DAY_LOCK, PARTITION_LOCK, PUBLICATION_LOCK};
use crate::storage::DayTotals;
use crate::storage::EPOCH_SHIFT;
use crate::storage::day_totals::{DayTotalsRow, summed};
use crate::storage::{CREATE_LOG, SET_PUBLISH_PERIODS, sql_int};
use crate::storage::{
    Cosignature, FirstReport, LogInfo, LogWriter, NewPending, PendingKey, PendingPage, Publication,
    Result, RootRow, StorageError, WriteTx,
};

/// One instance's write connection.
pub struct PgWriter {
    conn: PgConnection,
    options: PgConnectOptions,
    /// Partitions of `pending` this writer knows to exist (by period end).
    /// Only a publication drops one, after which inserts of its period are
    /// refused before they would use it.
    partitions: HashSet<i64>,
}

/// A publication's transaction, holding [`PUBLICATION_LOCK`] exclusively.
struct PgTx<'c> {
    tx: Transaction<'c, Postgres>,
    partitions: &'c mut HashSet<i64>,
}

/// Records read from `pending` at once while publishing.
const PAGE_RECORDS: i64 = 8192;

/// Rows of receipt keys inserted by one statement (as arrays).
const KEYS_PER_STATEMENT: usize = 65_536;

const SECONDS_PER_DAY: i64 = 86_400;

/// Whether the period ending at `$1` is closed ([`LogWriter::close_period`]).
const PERIOD_CLOSED: &str = "SELECT EXISTS (SELECT 1 FROM log WHERE closed_through >= $1)";

/// The records a day holds in any of its periods (`$2 < period_end <= $3`,
/// so that only the day's partitions are read), each deployment
/// looked up on its own in the key (a LATERAL join, fenced by `OFFSET 0`
/// so that the planner cannot make it a join). Written as
/// `deployment = ANY($4)`, or as a join, a plan made while the day's
/// partition was small kept the deployments as a filter and read the whole
/// day each time (`generic_plans_read_no_whole_table`).
pub(super) const STORED_PENDING: &str = "SELECT p.deployment, p.record, p.period_end \
     FROM unnest($4::bytea[]) AS n (deployment) \
     CROSS JOIN LATERAL (SELECT deployment, record, period_end FROM pending \
         WHERE day = $1 AND deployment = n.deployment AND period_end > $2 AND period_end <= $3 \
         OFFSET 0) p \
     ORDER BY p.period_end DESC";

/// The batch in its order, without the deployments that any period of the
/// day holds; a deployment twice in the batch keeps its first record. Each
/// deployment is looked for on its own in the key (a LATERAL join with
/// `LIMIT 1`, which the planner cannot flatten): as `NOT EXISTS`, the
/// generic plan of the prepared statement joined the batch against every
/// record of the day, and a batch took longer the more the day held
/// (21 ms against 0.2 ms with 24 000 pending).
pub(super) const INSERT_PENDING: &str = "INSERT INTO pending (day, deployment, period_end, record) \
     SELECT $1, n.deployment, $2, n.record \
     FROM unnest($5::bytea[], $6::bytea[]) WITH ORDINALITY AS n (deployment, record, position) \
     LEFT JOIN LATERAL (SELECT true AS held FROM pending p WHERE p.day = $1 \
         AND p.deployment = n.deployment AND p.period_end > $3 AND p.period_end <= $4 LIMIT 1) f \
         ON true \
     WHERE f.held IS NULL \
     ORDER BY n.position \
     ON CONFLICT DO NOTHING RETURNING deployment";

impl PgWriter {
    pub(super) fn new(conn: PgConnection, options: PgConnectOptions) -> PgWriter {
        PgWriter {
            conn,
            options,
            partitions: HashSet::new(),
        }
    }
}

/// The Unix seconds at which `day` starts, and its Julian day number.
fn day_start(day: &str) -> Result<(i64, i32)> {
    let day = Day::parse(day).map_err(|_| StorageError::Corrupt(format!("the day {day:?}")))?;
    Ok((
        day.0.midnight().assume_utc().unix_timestamp(),
        day.0.to_julian_day(),
    ))
}

/// The partition of `pending` that holds the period ending at
/// `period_end`.
fn partition_name(period_end: i64) -> String {
    match period_end < 0 {
        false => format!("pending_{period_end}"),
        true => format!("pending_m{}", period_end.unsigned_abs()),
    }
}

/// The period end a partition's name gives, if it is one of ours.
fn partition_period_end(name: &str) -> Option<i64> {
    let digits = name.strip_prefix("pending_")?;
    match digits.strip_prefix('m') {
        Some(digits) => digits.parse::<i64>().ok().map(|n| -n),
        None => digits.parse().ok(),
    }
}

#[async_trait]
impl LogWriter for PgWriter {
    /// Instances that start together on a new database both try to make
    /// the log; the second one gets the first one's (and, if its key is
    /// another, is refused by the sequencer).
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
        Ok(sqlx::query_as(crate::storage::LOG_INFO)
            .fetch_one(&mut self.conn)
            .await?)
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

    /// One transaction: the locks, the check that the period is open, the
    /// period's partition if this writer has not seen it, and the batch in
    /// one statement. Committed (synchronous_commit=on) when it returns.
    async fn insert_pending(
        &mut self,
        day: &str,
        period_end: i64,
        rows: &[NewPending<'_>],
    ) -> Result<HashSet<[u8; 32]>> {
        if rows.is_empty() {
            return Ok(HashSet::new());
        }
        let (start, julian_day) = day_start(day)?;
        let end = start + SECONDS_PER_DAY;
        let mut tx = self.conn.begin().await?;
        // In a statement of their own: the statements after them see what
        // was committed while they waited.
        let locks = match period_end == end {
            true => "SELECT pg_advisory_xact_lock_shared($1), pg_advisory_xact_lock_shared($2, $3)",
            false => "SELECT pg_advisory_xact_lock_shared($1), pg_advisory_xact_lock($2, $3)",
        };
        sqlx::query(locks)
            .bind(PUBLICATION_LOCK)
            .bind(DAY_LOCK)
            .bind(julian_day)
            .execute(&mut *tx)
            .await?;
        let closed: bool = sqlx::query_scalar(PERIOD_CLOSED)
            .bind(period_end)
            .fetch_one(&mut *tx)
            .await?;
        if closed {
            tx.rollback().await?;
            self.partitions.retain(|end| *end > period_end);
            return Err(StorageError::PeriodClosed(period_end));
        }
        let new_partition = !self.partitions.contains(&period_end);
        if new_partition {
            create_partition(&mut tx, period_end).await?;
        }
        let (deployments, records): (Vec<&[u8]>, Vec<&[u8]>) = rows
            .iter()
            .map(|row| (&row.deployment[..], row.record))
            .unzip();
        let inserted: Vec<Vec<u8>> = sqlx::query_scalar(INSERT_PENDING)
            .bind(day)
            .bind(period_end)
            .bind(start)
            .bind(end)
            .bind(deployments)
            .bind(records)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        if new_partition {
            self.partitions.insert(period_end);
        }
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
        let (start, _) = day_start(day)?;
        let deployments: Vec<&[u8]> = deployments.iter().map(|d| &d[..]).collect();
        let rows: Vec<(Vec<u8>, Vec<u8>, i64)> = sqlx::query_as(STORED_PENDING)
            .bind(day)
            .bind(start)
            .bind(start + SECONDS_PER_DAY)
            .bind(deployments)
            .fetch_all(&mut self.conn)
            .await?;
        // Latest period first: the first report of the day is collected last.
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
        // The last of a witness's cosignatures of one root replaces the
        // others, as SQLite's INSERT OR REPLACE does; PostgreSQL refuses
        // to update one row twice in a statement.
        let mut latest: BTreeMap<(i64, &str), &Cosignature> = BTreeMap::new();
        for c in cosignatures {
            latest.insert((c.period_end, c.witness.as_str()), c);
        }
        if latest.is_empty() {
            return Ok(());
        }
        let mut insert = QueryBuilder::<Postgres>::new(
            "INSERT INTO cosignatures (period_end, witness, line, signed_at) ",
        );
        insert.push_values(latest.values(), |mut row, c| {
            row.push_bind(c.period_end)
                .push_bind(&c.witness)
                .push_bind(&c.line)
                .push_bind(c.signed_at);
        });
        insert.push(
            " ON CONFLICT (period_end, witness) \
             DO UPDATE SET line = excluded.line, signed_at = excluded.signed_at",
        );
        insert.build().execute(&mut self.conn).await?;
        Ok(())
    }

    /// Under the publication lock, which waits for the inserts under way:
    /// every record of the period is committed before it closes.
    async fn close_period(&mut self, period_end: i64) -> Result<()> {
        let mut tx = self.conn.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(PUBLICATION_LOCK)
            .execute(&mut *tx)
            .await?;
        let closed = sqlx::query(
            "UPDATE log SET closed_through = greatest(closed_through, $1) \
             WHERE id = 1",
        )
        .bind(period_end)
        .execute(&mut *tx)
        .await?;
        if closed.rows_affected() != 1 {
            return Err(StorageError::NoLog);
        }
        Ok(tx.commit().await?)
    }

    /// Waits for any other instance's publication (or this one's inserts'
    /// shared hold) to end: the transaction then sees its root.
    async fn begin(&mut self) -> Result<Box<dyn WriteTx + '_>> {
        let PgWriter {
            conn, partitions, ..
        } = self;
        let mut tx = conn.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(PUBLICATION_LOCK)
            .execute(&mut *tx)
            .await?;
        Ok(Box::new(PgTx { tx, partitions }))
    }

    fn shared(&self) -> bool {
        true
    }

    /// Nothing to wait for: the dropped partitions are gone at the commit.
    fn settle(&self) -> oneshot::Receiver<()> {
        let (settled, receiver) = oneshot::channel();
        let _ = settled.send(());
        receiver
    }

    /// A failed transaction is rolled back when its session ends.
    async fn reopen(&mut self) -> Result<()> {
        let fresh = self.options.connect().await?;
        let old = std::mem::replace(&mut self.conn, fresh);
        if let Err(e) = old.close().await {
            tracing::warn!(error = %e, "closing the failed write connection");
        }
        Ok(())
    }

    async fn reconnect_on_this_thread(&mut self) -> Result<()> {
        self.reopen().await
    }

    async fn close(self: Box<Self>) {
        if let Err(e) = self.conn.close().await {
            tracing::warn!(error = %e, "closing the database");
        }
    }
}

/// Makes the partition of `pending` for the period ending at
/// `period_end`, if no one has. Under [`PARTITION_LOCK`], since two
/// `CREATE TABLE IF NOT EXISTS` of one name at once can both try to make
/// it. It locks `pending` whole until the commit, once a period.
async fn create_partition(tx: &mut Transaction<'_, Postgres>, period_end: i64) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(PARTITION_LOCK)
        .execute(&mut **tx)
        .await?;
    let create = format!(
        "CREATE TABLE IF NOT EXISTS \"{}\" PARTITION OF pending FOR VALUES IN ({period_end})",
        partition_name(period_end)
    );
    sqlx::query(AssertSqlSafe(create))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl PgTx<'_> {
    /// Drops the partitions of `pending` of every period up to
    /// `period_end`, whose records this publication published: their files
    /// go whole, with the arrival order their pages held. Later periods'
    /// partitions are not touched.
    async fn remove_published_pending(&mut self, period_end: i64) -> Result<()> {
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
             WHERE i.inhparent = 'pending'::regclass ORDER BY c.relname",
        )
        .fetch_all(&mut *self.tx)
        .await?;
        let published: Vec<String> = names
            .into_iter()
            .filter(|name| partition_period_end(name).is_some_and(|end| end <= period_end))
            .map(|name| format!("\"{name}\""))
            .collect();
        if !published.is_empty() {
            let drop = format!("DROP TABLE {}", published.join(", "));
            sqlx::query(AssertSqlSafe(drop))
                .execute(&mut *self.tx)
                .await?;
        }
        self.partitions.retain(|end| *end > period_end);
        Ok(())
    }
}

#[async_trait]
impl WriteTx for PgTx<'_> {
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
                 FROM day_totals WHERE day = $1",
            )
            .bind(&day)
            .fetch_optional(&mut *self.tx)
            .await?;
            let (reports, created, detokenized, grants) = summed(row, added)?;
            sqlx::query(
                "INSERT INTO day_totals \
                 (day, reports, tokens_created, tokens_detokenized, grants_issued) \
                 VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (day) DO UPDATE SET reports = excluded.reports, \
                 tokens_created = excluded.tokens_created, \
                 tokens_detokenized = excluded.tokens_detokenized, \
                 grants_issued = excluded.grants_issued",
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
            sqlx::query_scalar("SELECT hashes FROM tiles WHERE level = $1 AND idx = $2")
                .bind(i64::from(level))
                .bind(sql_int(index)?)
                .fetch_optional(&mut *self.tx)
                .await?,
        )
    }

    /// Pages follow the key (day, deployment); a publication of several
    /// periods merges their partitions in that order.
    async fn pending_page(
        &mut self,
        period_end: i64,
        after: Option<&PendingKey>,
    ) -> Result<Option<PendingPage>> {
        // One row per page: PostgreSQL joins the records (canonical JSON
        // has no newline), which costs far less than a row each through
        // sqlx.
        let (day, deployment) = after.map_or((String::new(), Vec::new()), |key| {
            (key.day.clone(), key.deployment.to_vec())
        });
        let joined: Option<Vec<u8>> = sqlx::query_scalar(
            "SELECT string_agg(record, '\\x0a'::bytea) \
             FROM (SELECT record FROM pending \
                   WHERE period_end <= $1 AND (day, deployment) > ($2, $3) \
                   ORDER BY day, deployment LIMIT $4) page",
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
        let records: Vec<Vec<u8>> = joined.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
        // The same as SQLite's: the largest key of the page, whatever the
        // order string_agg kept.
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
        Ok(Some(PendingPage { records, last_key }))
    }

    async fn insert_entries(&mut self, first: u64, entries: Vec<Vec<u8>>) -> Result<()> {
        let first = sql_int(first)?;
        let indexes: Vec<i64> = (0..entries.len() as i64).map(|i| first + i).collect();
        sqlx::query(
            "INSERT INTO entries (idx, entry) SELECT * FROM unnest($1::bigint[], $2::bytea[])",
        )
        .bind(indexes)
        .bind(entries)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn publish(&mut self, publication: &Publication<'_>) -> Result<()> {
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
        for chunk in keys.chunks(KEYS_PER_STATEMENT) {
            let (epochs, (record_keys, indexes)): (Vec<i64>, (Vec<i64>, Vec<i64>)) = chunk
                .iter()
                .map(|(epoch, key, idx)| (*epoch, (*key, *idx)))
                .unzip();
            sqlx::query(
                "INSERT INTO receipt_keys (epoch, record_key, idx) \
                 SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[])",
            )
            .bind(epochs)
            .bind(record_keys)
            .bind(indexes)
            .execute(&mut *self.tx)
            .await?;
        }
        for (level, index, hashes) in publication.tiles {
            sqlx::query(
                "INSERT INTO tiles (level, idx, hashes) VALUES ($1, $2, $3) \
                 ON CONFLICT (level, idx) DO UPDATE SET hashes = excluded.hashes",
            )
            .bind(i64::from(*level))
            .bind(sql_int(*index)?)
            .bind(hashes)
            .execute(&mut *self.tx)
            .await?;
        }
        self.add_day_totals(publication.day_totals).await?;
        let root = publication.root;
        self.remove_published_pending(root.period_end).await?;
        sqlx::query(
            "INSERT INTO roots (period_end, day, size, root_hash, checkpoint) \
             VALUES ($1, $2, $3, $4, $5)",
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

#[cfg(test)]
mod tests {
    #[test]
    fn partition_names_give_their_period_end() {
        for end in [0, 1_700_000_000, -86_400] {
            let name = super::partition_name(end);
            assert_eq!(super::partition_period_end(&name), Some(end));
        }
        assert_eq!(super::partition_period_end("pending"), None);
        assert_eq!(super::partition_period_end("entries_1"), None);
    }
}
