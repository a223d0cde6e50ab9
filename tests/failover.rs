//! Failover (SPEC section 9): two servers of one log on one PostgreSQL
//! database under concurrent load, with one-second periods. Again and
//! again, the server that holds the publication lock (seen in the
//! database's own lock table) is SIGKILLed, at a random moment of its
//! publication. The other one must publish the period; the killed one
//! restarts on its own state file. Afterwards every promise from either
//! server is in the log exactly once, both serve the same latest root, and
//! `lucent verify` passes. Runs only when the suites run on PostgreSQL
//! (`LUCENT_TEST_POSTGRES_URL`).
//!
//! CI runs 10 kills; `LUCENT_FAILOVER_CYCLES=50` runs more.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{ChildServer, Load, copy_data_dir, spawn_server, test_database};
use rand::RngExt as _;
use tokio::sync::watch;

const SERVE: &[&str] = &["--publish-period", "1s", "--rate-limit", "0"];

/// The servers' names, as each one's database connections give them
/// (`application_name`), so that the lock table names the holder.
const NAMES: [&str; 2] = ["lucent-a", "lucent-b"];

/// The server whose connection holds the publication lock (the advisory
/// lock whose 64-bit key is 0x6c75_6365_6e74_0001, split into two halves).
const LOCK_HOLDER: &str = "SELECT a.application_name::text FROM pg_locks l \
     JOIN pg_stat_activity a ON a.pid = l.pid \
     WHERE l.locktype = 'advisory' AND l.mode = 'ExclusiveLock' AND l.granted \
     AND l.classid = x'6c756365'::int::oid AND l.objid = x'6e740001'::int::oid AND l.objsubid = 1 \
     AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())";

fn start(data: &Path, database: &str, name: &str, log: &Path) -> ChildServer {
    let url = format!("{database}?application_name={name}");
    spawn_server(data, Some(url), SERVE, log, "info")
}

/// The period end the state file in `data` records (none before the
/// first root).
fn state_period_end(data: &Path) -> Option<i64> {
    let text = std::fs::read_to_string(data.join("signed-root")).unwrap();
    text.lines().nth(1)?.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_other_server_publishes_when_the_publishing_one_is_killed() {
    postgres_only!("several servers share a PostgreSQL database only");
    let cycles: usize = std::env::var("LUCENT_FAILOVER_CYCLES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(10);
    let dir = tempfile::tempdir().unwrap();
    let data = [dir.path().join("a"), dir.path().join("b")];
    let logs = [dir.path().join("a.log"), dir.path().join("b.log")];
    let database = test_database(&data[0]).unwrap();
    let first = start(&data[0], &database, NAMES[0], &logs[0]);
    copy_data_dir(&data[0], &data[1]);
    let second = start(&data[1], &database, NAMES[1], &logs[1]);
    let mut servers = [first, second];
    let bases = |servers: &[ChildServer; 2]| servers.iter().map(|s| Some(s.base.clone())).collect();
    let (servers_tx, servers_rx) = watch::channel(bases(&servers));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let load = Load::start(8, servers_rx, &client);
    let pool = sqlx::PgPool::connect(&database).await.unwrap();

    let mut rng = rand::rng();
    let mut state_ahead = 0;
    let mut takeover = Duration::ZERO;
    for cycle in 0..cycles {
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..1000))).await;
        // The next holder of the publication lock, seen in the lock table.
        let looking = Instant::now();
        let holder = loop {
            let holder: Option<String> = sqlx::query_scalar(LOCK_HOLDER)
                .fetch_optional(&pool)
                .await
                .unwrap();
            assert!(
                looking.elapsed() < Duration::from_secs(30),
                "cycle {cycle}: no server took the publication lock within 30 s"
            );
            if let Some(holder) = holder {
                break NAMES
                    .iter()
                    .position(|name| *name == holder)
                    .unwrap_or_else(|| panic!("the lock held by {holder:?}"));
            }
        };
        // Every other kill right after the holder has written its state
        // file, before its commit if the kill is fast enough; the others at
        // a random moment of the publication (most take milliseconds).
        let moment = if cycle % 2 == 0 {
            let signed = state_period_end(&data[holder]);
            let watching = Instant::now();
            while state_period_end(&data[holder]) == signed
                && watching.elapsed() < Duration::from_secs(5)
            {
                tokio::task::yield_now().await;
            }
            "after its state file".to_owned()
        } else {
            let pause = rng.random_range(0..10_000);
            tokio::time::sleep(Duration::from_micros(pause)).await;
            format!("{pause} µs into its hold")
        };
        let killed = Instant::now();
        servers[holder].child.kill().unwrap(); // SIGKILL
        servers[holder].child.wait().unwrap();
        let mut up = bases(&servers);
        up[holder] = None;
        servers_tx.send_replace(up);
        let max_end = "SELECT coalesce(max(period_end), 0) FROM roots";
        let before: i64 = sqlx::query_scalar(max_end).fetch_one(&pool).await.unwrap();
        if state_period_end(&data[holder]).is_some_and(|end| end > before) {
            state_ahead += 1; // killed between its state file and its commit
        }

        // The other one publishes the period under way (the killed one
        // is down: every root stored from now on is the other's).
        loop {
            let now: i64 = sqlx::query_scalar(max_end).fetch_one(&pool).await.unwrap();
            if now > before {
                break;
            }
            assert!(
                killed.elapsed() < Duration::from_secs(60),
                "cycle {cycle}: the other server published nothing within a minute"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        takeover = takeover.max(killed.elapsed());

        servers[holder] = start(&data[holder], &database, NAMES[holder], &logs[holder]);
        servers_tx.send_replace(bases(&servers));
        eprintln!(
            "cycle {cycle}: killed {} {moment}; {} promises so far",
            NAMES[holder],
            load.promised().await
        );
    }
    let promises = load.finish().await;
    assert!(promises.len() > 100, "only {} promises", promises.len());
    // The case this test is for happened: a server signed (its state file
    // says so) and died before its commit, and the other one published.
    assert!(
        state_ahead > 0,
        "no kill landed between a state file and its commit"
    );

    let size = common::check_published(&client, &servers[0].base, &promises).await;
    // Both serve that root (the other one has it at once: one database).
    let (_, latest) = servers[0].get_json(&client, "/v1/roots/latest").await;
    assert_eq!(
        servers[1].get_json(&client, "/v1/roots/latest").await.1,
        latest
    );
    eprintln!(
        "{cycles} kills of the publishing server ({state_ahead} between its state file and its \
         commit), {} promises, {size} entries, all published once; the other server published \
         within {} ms of each kill at most",
        promises.len(),
        takeover.as_millis()
    );
    for server in &mut servers {
        server.child.kill().unwrap();
        server.child.wait().unwrap();
    }
}
