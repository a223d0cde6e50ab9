//! Engine tests on a real PostgreSQL server: they run when
//! `LUCENT_TEST_POSTGRES_URL` names one (a URL whose user may create
//! databases, e.g. `postgres://postgres@127.0.0.1:54329/postgres`), and
//! are skipped with a note otherwise. Each test makes its own database and
//! drops it at its end.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use lucent_core::Hash;
use lucent_core::record::{Count, Day, Deployment, ProductVersion, Record};
use sqlx::postgres::PgConnectOptions;
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, PgConnection};

use crate::storage::{
    Entries, LogInfo, LogReader, LogWriter, NewPending, Publication, RootRow, StorageError,
    StoredEntry,
};

/// A database of its own for one test.
struct TestDb {
    admin: String,
    name: String,
    options: PgConnectOptions,
}

impl TestDb {
    /// A new empty database, or `None` (and a note) without a server.
    async fn new(test: &str) -> Option<TestDb> {
        let Ok(admin) = std::env::var("LUCENT_TEST_POSTGRES_URL") else {
            eprintln!("{test}: skipped, LUCENT_TEST_POSTGRES_URL is not set");
            return None;
        };
        let name = format!("lucent_test_{:016x}", rand::random::<u64>());
        let mut conn = PgConnection::connect(&admin).await.expect("the admin URL");
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        let options =
            super::with_settings(PgConnectOptions::from_str(&admin).unwrap().database(&name));
        Some(TestDb {
            admin,
            name,
            options,
        })
    }

    /// The database, with the log made if it holds none.
    async fn open(&self, create: bool) -> (Box<dyn LogWriter>, Arc<dyn LogReader>) {
        let (mut write, read) = super::open_with(self.options.clone(), create)
            .await
            .unwrap();
        let log = LogInfo {
            origin: "test.example".into(),
            verifier_key: "test.example+00000000+AA".into(),
            inception: 0,
            publish_period: None,
            next_publish_period: None,
            next_period_from: None,
        };
        write.open_log(&log).await.unwrap();
        (write, read)
    }

    async fn connect(&self) -> PgConnection {
        self.options.connect().await.unwrap()
    }

    async fn drop(self) {
        let mut conn = PgConnection::connect(&self.admin).await.unwrap();
        sqlx::query(AssertSqlSafe(format!(
            "DROP DATABASE {} WITH (FORCE)",
            self.name
        )))
        .execute(&mut conn)
        .await
        .unwrap();
        conn.close().await.unwrap();
    }
}

/// An entry's bytes as far as the indexes read them: the day, then the
/// deployment from byte 35 on.
fn entry(deployment_hex: &str) -> Vec<u8> {
    format!(r#"{{"day":"2026-11-27","deployment":"{deployment_hex:0<64}"}}"#).into_bytes()
}

/// A canonical record of `day` by the deployment whose hash bytes are all
/// `deployment`.
fn record(day: &str, deployment: u8, tokens: u64) -> Vec<u8> {
    Record {
        day: Day::parse(day).unwrap(),
        deployment: Deployment(Hash([deployment; 32])),
        version: ProductVersion::parse("1.0.0").unwrap(),
        tokens_created: Count::new(tokens).unwrap(),
        tokens_detokenized: Count::new(0).unwrap(),
        grants_issued: Count::new(0).unwrap(),
    }
    .to_bytes()
}

/// 2026-11-27 00:00 UTC and the end of that day.
const DAY: &str = "2026-11-27";
const DAY_START: i64 = 1_795_737_600;
const DAY_END: i64 = DAY_START + 86_400;

/// Stores `records` (deployment byte, record) as pending records of `DAY`
/// and the period ending at `period_end`.
async fn insert(
    writer: &mut dyn LogWriter,
    period_end: i64,
    records: &[(u8, Vec<u8>)],
) -> Result<Vec<u8>, StorageError> {
    let rows: Vec<NewPending> = records
        .iter()
        .map(|(d, record)| NewPending {
            deployment: [*d; 32],
            record,
        })
        .collect();
    let mut stored: Vec<u8> = writer
        .insert_pending(DAY, period_end, &rows)
        .await?
        .into_iter()
        .map(|d| d[0])
        .collect();
    stored.sort();
    Ok(stored)
}

/// A root for the period ending at `period_end` (not a valid signature:
/// the engine does not check it).
fn root(period_end: i64, size: i64) -> RootRow {
    RootRow {
        period_end,
        day: DAY.into(),
        size,
        root_hash: vec![7; 32],
        checkpoint: format!("example.com/log\n{size}\nAAAA\n"),
        cosignatures: Vec::new(),
    }
}

/// Publishes the pending records of the periods up to `period_end` as a
/// publication would (without tiles), from leaf `first`; returns the
/// records it read.
async fn publish(writer: &mut dyn LogWriter, first: u64, period_end: i64) -> Vec<Vec<u8>> {
    writer.close_period(period_end).await.unwrap();
    let mut tx = writer.begin().await.unwrap();
    let mut records = Vec::new();
    let mut after = None;
    while let Some(page) = tx.pending_page(period_end, after.as_ref()).await.unwrap() {
        records.extend(page.records);
        after = Some(page.last_key);
    }
    records.sort();
    tx.insert_entries(first, records.clone()).await.unwrap();
    let keys = vec![0; records.len()];
    tx.publish(&Publication {
        first_index: first,
        record_keys: &keys,
        tiles: &[],
        day_totals: &BTreeMap::new(),
        root: &root(period_end, (first as usize + records.len()) as i64),
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();
    records
}

/// The partitions of `pending`, by name.
async fn partitions(conn: &mut PgConnection) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
         WHERE i.inhparent = 'pending'::regclass ORDER BY 1",
    )
    .fetch_all(conn)
    .await
    .unwrap()
}

/// Receipt keys and deployment prefixes are indexed by epoch (1 048 576
/// entries); lookups find entries in every epoch, in index order. (As the
/// SQLite engine's test of the same name.)
#[tokio::test]
async fn lookups_find_entries_in_every_epoch() {
    let Some(db) = TestDb::new("lookups_find_entries_in_every_epoch").await else {
        return;
    };
    let (write, read) = db.open(true).await;
    let mut conn = db.connect().await;
    let epoch = 1 << 20;
    for (idx, deployment, key) in [
        (3i64, "abcdef01", 7i64),
        (epoch - 1, "abcdef01", 8),
        (epoch, "abcdef02", 7),
        (3 * epoch + 5, "abcdef01", 7),
        (3 * epoch + 6, "00000000", 9),
    ] {
        sqlx::query("INSERT INTO entries (idx, entry) VALUES ($1, $2)")
            .bind(idx)
            .bind(entry(deployment))
            .execute(&mut conn)
            .await
            .unwrap();
        sqlx::query("INSERT INTO receipt_keys (epoch, record_key, idx) VALUES ($1, $2, $3)")
            .bind(idx >> 20)
            .bind(key)
            .bind(idx)
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let indexes =
        |entries: Vec<StoredEntry>| -> Vec<u64> { entries.into_iter().map(|e| e.index).collect() };
    let deployment = |prefix: &str, after, end| Entries::Deployment {
        prefix: prefix.into(),
        after,
        end,
        limit: 10,
    };
    let mut hash = Hash::ZERO;
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
    assert_eq!(found(deployment("ab", None, 0)).await, Vec::<u64>::new());
    // Joined, in no particular order.
    let joined = read.entries_joined(0, end).await.unwrap();
    assert_eq!(crate::storage::split_entries(&joined).count(), 5);
    conn.close().await.unwrap();
    read.close().await;
    write.close().await;
    db.drop().await;
}

/// A publication drops the partitions of the periods it publishes, whole,
/// and leaves a later period's; what it published is in the log.
#[tokio::test]
async fn publication_drops_its_periods_pending_table() {
    let Some(db) = TestDb::new("publication_drops_its_periods_pending_table").await else {
        return;
    };
    let (mut write, read) = db.open(true).await;
    let mut conn = db.connect().await;
    // Periods of an hour: the day's 10th and 11th.
    let (first, second) = (DAY_START + 10 * 3600, DAY_START + 11 * 3600);
    let early: Vec<(u8, Vec<u8>)> = (1..=3).map(|d| (d, record(DAY, d, 1))).collect();
    assert_eq!(insert(&mut *write, first, &early).await.unwrap(), [1, 2, 3]);
    let late = [(9, record(DAY, 9, 1))];
    assert_eq!(insert(&mut *write, second, &late).await.unwrap(), [9]);
    assert_eq!(
        partitions(&mut conn).await,
        [format!("pending_{first}"), format!("pending_{second}")]
    );
    let published = publish(&mut *write, 0, first).await;
    assert_eq!(published.len(), 3);
    assert_eq!(partitions(&mut conn).await, [format!("pending_{second}")]);
    let dropped: Option<String> = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT to_regclass('pending_{first}')::text"
    )))
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(dropped, None);
    let left: Vec<(i64, Vec<u8>)> = sqlx::query_as("SELECT period_end, deployment FROM pending")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(left, [(second, vec![9; 32])]);
    let joined = read.entries_joined(0, 3).await.unwrap();
    let mut entries: Vec<&[u8]> = crate::storage::split_entries(&joined).collect();
    entries.sort();
    assert_eq!(
        entries,
        published.iter().map(Vec::as_slice).collect::<Vec<_>>()
    );
    // The next publication takes the later period, and the table is empty.
    assert_eq!(publish(&mut *write, 3, second).await.len(), 1);
    assert!(partitions(&mut conn).await.is_empty());
    conn.close().await.unwrap();
    read.close().await;
    write.close().await;
    db.drop().await;
}

/// Records of a closed period are refused, from its closing (before its
/// root is stored: a server that dies mid-publication leaves the period as
/// it read it), and nothing of them is stored; one record per deployment
/// and day holds across the day's periods.
#[tokio::test]
async fn a_closed_period_takes_no_records() {
    let Some(db) = TestDb::new("a_closed_period_takes_no_records").await else {
        return;
    };
    let (mut write, read) = db.open(true).await;
    let mut conn = db.connect().await;
    let (first, second) = (DAY_START + 3600, DAY_START + 7200);
    assert_eq!(
        insert(&mut *write, first, &[(1, record(DAY, 1, 1))])
            .await
            .unwrap(),
        [1]
    );
    write.close_period(first).await.unwrap();
    let refused = insert(&mut *write, first, &[(2, record(DAY, 2, 1))]).await;
    assert!(
        matches!(refused, Err(StorageError::PeriodClosed(end)) if end == first),
        "{refused:?}"
    );
    publish(&mut *write, 0, first).await;
    let refused = insert(&mut *write, first, &[(2, record(DAY, 2, 1))]).await;
    assert!(
        matches!(refused, Err(StorageError::PeriodClosed(end)) if end == first),
        "{refused:?}"
    );
    // An earlier period is closed too.
    let refused = insert(&mut *write, first - 3600, &[(2, record(DAY, 2, 1))]).await;
    assert!(
        matches!(refused, Err(StorageError::PeriodClosed(_))),
        "{refused:?}"
    );
    let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM pending")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(pending, 0);
    assert!(partitions(&mut conn).await.is_empty());
    // The next period takes them; deployment 1 has the day's record in
    // the log already, which the sequencer finds there. Within pending,
    // the day's periods are looked across: 3 reported in this period, so
    // not again in the next, and its first record is what is stored.
    let third = DAY_START + 3 * 3600;
    let batch = [
        (2, record(DAY, 2, 1)),
        (3, record(DAY, 3, 1)),
        (3, record(DAY, 3, 2)),
    ];
    assert_eq!(insert(&mut *write, second, &batch).await.unwrap(), [2, 3]);
    assert_eq!(
        insert(
            &mut *write,
            third,
            &[(3, record(DAY, 3, 5)), (4, record(DAY, 4, 1))]
        )
        .await
        .unwrap(),
        [4]
    );
    let stored = write
        .stored_pending(DAY, &[[3; 32], [4; 32], [5; 32]])
        .await
        .unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[&[3; 32]].record, record(DAY, 3, 1));
    assert_eq!(stored[&[3; 32]].period_end, second);
    assert_eq!(stored[&[4; 32]].period_end, third);
    // The daily period: the unique key decides.
    assert_eq!(
        insert(
            &mut *write,
            DAY_END,
            &[(4, record(DAY, 4, 9)), (6, record(DAY, 6, 1))]
        )
        .await
        .unwrap(),
        [6]
    );
    conn.close().await.unwrap();
    read.close().await;
    write.close().await;
    db.drop().await;
}

/// Two instances on one database: while one publishes a period, the
/// other's insert of records of that period waits (the shared lock), then
/// is refused; its publication waits too, then sees the first one's root.
#[tokio::test]
async fn an_insert_waits_for_the_publication_of_its_period() {
    let Some(db) = TestDb::new("an_insert_waits_for_the_publication_of_its_period").await else {
        return;
    };
    let (mut one, read) = db.open(true).await;
    let (mut two, read_two) = db.open(false).await;
    let mut conn = db.connect().await;
    let period = DAY_END;
    assert_eq!(
        insert(&mut *one, period, &[(1, record(DAY, 1, 1))])
            .await
            .unwrap(),
        [1]
    );
    one.close_period(period).await.unwrap();
    let mut tx = one.begin().await.unwrap();
    let waiting_insert = tokio::spawn(async move {
        let stored = insert(&mut *two, period, &[(2, record(DAY, 2, 1))]).await;
        (two, stored)
    });
    // The insert waits on the advisory lock.
    let mut waited = false;
    for _ in 0..100 {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        if waiting == 1 {
            waited = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(waited, "the insert does not wait for the publication");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!waiting_insert.is_finished());
    // The publication reads, publishes and commits meanwhile.
    let page = tx.pending_page(period, None).await.unwrap().unwrap();
    assert_eq!(page.records, [record(DAY, 1, 1)]);
    assert!(
        tx.pending_page(period, Some(&page.last_key))
            .await
            .unwrap()
            .is_none()
    );
    tx.insert_entries(0, page.records).await.unwrap();
    tx.publish(&Publication {
        first_index: 0,
        record_keys: &[0],
        tiles: &[],
        day_totals: &BTreeMap::new(),
        root: &root(period, 1),
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let (mut two, stored) = tokio::time::timeout(Duration::from_secs(10), waiting_insert)
        .await
        .expect("the insert goes on after the commit")
        .unwrap();
    assert!(
        matches!(stored, Err(StorageError::PeriodClosed(end)) if end == period),
        "{stored:?}"
    );
    let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM pending")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(pending, 0);
    // A second publisher waits for the first's transaction, then sees its
    // root.
    let mut tx = one.begin().await.unwrap();
    let waiting_publication = tokio::spawn(async move {
        let root = {
            let mut tx = two.begin().await.unwrap();
            tx.latest_root().await.unwrap()
        };
        (two, root)
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiting_publication.is_finished());
    assert_eq!(tx.latest_root().await.unwrap(), Some(root(period, 1)));
    tx.insert_entries(1, Vec::new()).await.ok();
    tx.publish(&Publication {
        first_index: 1,
        record_keys: &[],
        tiles: &[],
        day_totals: &BTreeMap::new(),
        root: &root(period + 86_400, 1),
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let (two, seen) = tokio::time::timeout(Duration::from_secs(10), waiting_publication)
        .await
        .expect("the second publication goes on after the commit")
        .unwrap();
    assert_eq!(seen, Some(root(period + 86_400, 1)));
    conn.close().await.unwrap();
    read.close().await;
    read_two.close().await;
    one.close().await;
    two.close().await;
    db.drop().await;
}

/// A used data directory's database must hold the log; the schema is read
/// back from the catalogue with its comments, without the partitions.
#[tokio::test]
async fn the_schema_comes_from_the_catalogue() {
    let Some(db) = TestDb::new("the_schema_comes_from_the_catalogue").await else {
        return;
    };
    let refused = super::open_with(db.options.clone(), false).await.err();
    assert!(matches!(refused, Some(StorageError::NoLog)), "{refused:?}");
    let (mut write, read) = db.open(true).await;
    insert(&mut *write, DAY_END, &[(1, record(DAY, 1, 1))])
        .await
        .unwrap();
    let schema = read.schema().await.unwrap();
    let names: Vec<&str> = schema.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "_sqlx_migrations",
            "log",
            "pending",
            "entries",
            "receipt_keys",
            "tiles",
            "roots",
            "day_totals",
            "cosignatures"
        ]
    );
    let pending = &schema[2];
    assert!(
        pending.sql.contains("PARTITION BY LIST (period_end)"),
        "{}",
        pending.sql
    );
    assert!(
        pending
            .sql
            .contains("-- Unix seconds at which the covering root is signed.")
    );
    assert!(
        pending
            .sql
            .contains("PRIMARY KEY (day, deployment, period_end)")
    );
    assert!(
        pending.sql.contains("day TEXT COLLATE \"C\" NOT NULL"),
        "{}",
        pending.sql
    );
    let keys: Vec<&str> = pending
        .columns
        .iter()
        .filter(|c| c.primary_key)
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(keys, ["day", "deployment", "period_end"]);
    let entries = &schema[3];
    assert_eq!(entries.indexes.len(), 1);
    assert!(entries.indexes[0].contains("entries_by_deployment"));
    assert!(
        entries.indexes[0].contains("(idx >> 20)"),
        "{}",
        entries.indexes[0]
    );
    read.close().await;
    write.close().await;
    // Opened again without `create`, it holds the log.
    let (write, read) = db.open(false).await;
    read.close().await;
    write.close().await;
    db.drop().await;
}

/// The statements of the hot paths read what their answer needs, not their
/// table, also when they ran while the table was small: after five runs
/// PostgreSQL may keep a generic plan made then (a period's new partition
/// of `pending`, a young log), which reads the whole table at every run as
/// it grows; the insert of pending records once got such plans, and took
/// longer the more the day held (BENCHMARKS.md). Each statement runs six
/// times on small tables, then once 50 000 records are pending and 50 000
/// entries published, for one deployment or one key; counted in buffers
/// by `EXPLAIN (ANALYZE, BUFFERS)`.
#[tokio::test]
async fn generic_plans_read_no_whole_table() {
    let Some(db) = TestDb::new("generic_plans_read_no_whole_table").await else {
        return;
    };
    let (mut write, _read) = db.open(true).await;
    // The period's partition, made as the writer makes it.
    insert(&mut *write, DAY_END, &[(1, record(DAY, 1, 1))])
        .await
        .unwrap();
    let mut conn = db.connect().await;
    sqlx::raw_sql("ANALYZE").execute(&mut conn).await.unwrap();
    let statements = [
        (
            "insert_pending",
            super::write::INSERT_PENDING,
            format!(
                "'{DAY}', {DAY_END}, {DAY_START}, {DAY_END}, \
                 ARRAY[sha256('new'::bytea)], ARRAY['{{}}'::bytea]"
            ),
        ),
        (
            "stored_pending",
            super::write::STORED_PENDING,
            format!("'{DAY}', {DAY_START}, {DAY_END}, ARRAY[sha256('7'::bytea)]"),
        ),
        ("by_record_key", super::read::BY_RECORD_KEY, "12345".into()),
        (
            "by_deployment",
            super::read::BY_DEPLOYMENT_IN_EPOCH,
            "0, 'abcdef01'::bytea, 'abcdef02'::bytea, -1, 50000, 10".into(),
        ),
    ];
    // Run six times on the small tables, after which PostgreSQL would keep
    // a generic plan if it costs about what the custom ones did; in a
    // transaction rolled back, since the insert runs.
    let run = |name: &str, arguments: &str| {
        format!("BEGIN; EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE {name} ({arguments})")
    };
    for (name, statement, arguments) in &statements {
        let runs = vec![format!("{}; ROLLBACK", run(name, arguments)); 6].join("; ");
        sqlx::raw_sql(AssertSqlSafe(format!(
            "PREPARE {name} AS {statement}; {runs}"
        )))
        .execute(&mut conn)
        .await
        .unwrap();
    }
    sqlx::raw_sql(AssertSqlSafe(format!(
        "INSERT INTO pending (day, deployment, period_end, record) \
           SELECT '{DAY}', sha256(i::text::bytea), {DAY_END}, sha256(i::text::bytea) \
           FROM generate_series(1, 50000) i; \
         INSERT INTO entries (idx, entry) \
           SELECT i, convert_to('{{\"day\":\"{DAY}\",\"deployment\":\"' \
               || encode(sha256(i::text::bytea), 'hex') || '\"}}', 'UTF8') \
           FROM generate_series(0, 49999) i; \
         INSERT INTO receipt_keys (epoch, record_key, idx) \
           SELECT 0, ('x' || left(encode(sha256(i::text::bytea), 'hex'), 16))::bit(64)::bigint, i \
           FROM generate_series(0, 49999) i"
    )))
    .execute(&mut conn)
    .await
    .unwrap();
    for (name, _, arguments) in &statements {
        let plan = sqlx::raw_sql(AssertSqlSafe(run(name, arguments)))
            .fetch_one(&mut conn)
            .await
            .unwrap();
        sqlx::raw_sql("ROLLBACK").execute(&mut conn).await.unwrap();
        let plan: String = sqlx::Row::try_get_unchecked(&plan, 0).unwrap();
        let plan: serde_json::Value = serde_json::from_str(&plan).unwrap();
        let top = &plan[0]["Plan"];
        let buffers = ["Shared Hit Blocks", "Shared Read Blocks"]
            .iter()
            .map(|field| top[field].as_u64().expect("a count of buffers"))
            .sum::<u64>();
        assert!(
            buffers < 100,
            "{name} read {buffers} buffers once the tables had grown: {plan:#}"
        );
    }
    db.drop().await;
}

#[tokio::test]
async fn witness_progress_is_each_witness_latest() {
    let Some(db) = TestDb::new("witness_progress_is_each_witness_latest").await else {
        return;
    };
    let (mut write, read) = db.open(true).await;
    crate::storage::tests::witness_progress_is_each_witness_latest(&mut *write, &*read).await;
    db.drop().await;
}
