//! Several servers on one PostgreSQL database (SPEC section 9): each takes
//! reports and serves reads, exactly one publishes each period, the other
//! finds its root and goes on from it, and each restarts although its state
//! file is behind roots the other signed. Runs only when the suites run on
//! PostgreSQL (`LUCENT_TEST_POSTGRES_URL`).

mod common;

use std::path::Path;

use lucent::clock::ManualClock;
use lucent_core::period::Period;
use time::OffsetDateTime;
use time::macros::datetime;

use common::{TestServer, config, copy_data_dir, nonce, report, test_database};

const ORIGIN: &str = "shared.example";
const DAY1: OffsetDateTime = datetime!(2026-12-01 10:00 UTC);
const DAY2: OffsetDateTime = datetime!(2026-12-02 10:00 UTC);
const DAY3: OffsetDateTime = datetime!(2026-12-03 10:00 UTC);

/// A server of the log whose database belongs to `first`, on `dir`.
async fn server(dir: &Path, first: &Path, now: OffsetDateTime) -> TestServer {
    let mut config = config(dir, ORIGIN, Period::DAY);
    config.database_url = test_database(first);
    TestServer::start(config, ManualClock::new(now)).await
}

async fn latest(server: &TestServer) -> serde_json::Value {
    let (status, root) = server.get_json("/v1/roots/latest").await;
    assert_eq!(status, 200);
    root
}

async fn post(server: &TestServer, count: u64) {
    for tokens in 0..count {
        assert_eq!(server.post(report(&nonce(), tokens)).await.0, 202);
    }
}

#[tokio::test]
async fn two_servers_share_one_log_and_publish_each_period_once() {
    postgres_only!("several servers share a PostgreSQL database only");
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (dir.path().join("a"), dir.path().join("b"));
    let a = server(&first, &first, DAY1).await;
    copy_data_dir(&first, &second);
    let b = server(&second, &first, DAY1).await;
    post(&a, 3).await;
    post(&b, 2).await;

    // Both close day 1: one publishes it, the other finds its root.
    a.set_time(DAY2).await;
    b.set_time(DAY2).await;
    let root = latest(&a).await;
    assert_eq!(root["size"], 5);
    assert_eq!(latest(&b).await, root);
    let (_, roots) = b.get_json("/v1/roots").await;
    assert_eq!(roots.as_array().unwrap().len(), 1, "{roots}");

    // Day 2 is published by the other one, from the tree of day 1.
    post(&b, 4).await;
    post(&a, 1).await;
    b.set_time(DAY3).await;
    a.set_time(DAY3).await;
    let root = latest(&b).await;
    assert_eq!(root["size"], 10);
    assert_eq!(latest(&a).await, root);

    let report = common::verify_log(&a.client, &a.base).await;
    assert_eq!((report.roots, report.size), (2, 10));

    // The first server's state file records day 1 only: behind the
    // database, which the other server's root explains.
    a.stop().await;
    let a = server(&first, &first, DAY3).await;
    assert_eq!(latest(&a).await, root);
    a.stop().await;
    b.stop().await;
}

/// The writer's connection cut in the middle of a publication (its backend
/// terminated while it holds the publication lock): no part of the period
/// is published, and the next attempt publishes it whole, reproducing the
/// root the state file may already record.
#[tokio::test]
async fn a_connection_cut_mid_publication_publishes_nothing_half() {
    postgres_only!("a PostgreSQL connection cut");
    let dir = tempfile::tempdir().unwrap();
    let log = server(dir.path(), dir.path(), DAY1).await;
    let posts: Vec<_> = (0..8u64)
        .map(|worker| {
            let (client, base) = (log.client.clone(), log.base.clone());
            tokio::spawn(async move {
                for tokens in 0..500 {
                    let answer = client
                        .post(format!("{base}/v1/reports"))
                        .header("content-type", "application/json")
                        .body(report(&nonce(), worker * 1000 + tokens))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(answer.status(), 202);
                }
            })
        })
        .collect();
    for post in posts {
        post.await.unwrap();
    }

    // Watch for the publication lock and cut its holder's connection.
    let url = test_database(dir.path()).unwrap();
    let cutter = tokio::spawn(async move {
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        loop {
            let cut: Option<bool> = sqlx::query_scalar(
                "SELECT pg_terminate_backend(pid) FROM pg_locks \
                 WHERE locktype = 'advisory' AND mode = 'ExclusiveLock' AND granted \
                 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            )
            .fetch_optional(&pool)
            .await
            .unwrap();
            if cut == Some(true) {
                return;
            }
        }
    });
    let mut ends = log.running().sequencer.published_ends();
    log.clock.set(DAY2);
    tokio::time::timeout(std::time::Duration::from_secs(30), cutter)
        .await
        .expect("the publication took the lock within 30 s")
        .unwrap();
    let closed = ends.borrow().to_owned();
    tokio::time::timeout(
        std::time::Duration::from_secs(30),
        ends.wait_for(|end| *end > closed),
    )
    .await
    .expect("published again within 30 s")
    .unwrap();

    let root = latest(&log).await;
    assert_eq!(root["size"], 4000);
    let (_, roots) = log.get_json("/v1/roots").await;
    assert_eq!(roots.as_array().unwrap().len(), 1, "{roots}");
    let (_, page) = log.get_json("/v1/entries?start=3999&limit=2").await;
    assert_eq!(page["entries"].as_array().unwrap().len(), 1, "{page}");
    common::verify_log(&log.client, &log.base).await;
    log.stop().await;
}
