//! The PostgreSQL server restarted under load (SPEC section 9). Alone in
//! its test binary: the restart cuts every test's connections. Runs only
//! when the suites run on PostgreSQL (`LUCENT_TEST_POSTGRES_URL`).

mod common;

use lucent::clock::ManualClock;
use lucent_core::period::Period;
use time::macros::datetime;

use common::{TestServer, config, nonce, report};

/// The database restarted under load (`pg_ctl restart`): reports get 503
/// while it is down, the server recovers without a restart of its own, and
/// every acknowledged report is published.
#[tokio::test]
async fn a_database_restart_loses_nothing_acknowledged() {
    postgres_only!("a PostgreSQL server's restart");
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), "restarted.example", Period::DAY);
    let log = TestServer::start(config, ManualClock::new(datetime!(2026-12-01 10:00 UTC))).await;
    let restart = std::thread::spawn(|| {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/postgres.sh");
        let done = std::process::Command::new(script).arg("restart").status();
        assert!(done.unwrap().success(), "scripts/postgres.sh restart");
    });
    let (mut acknowledged, mut refused) = (Vec::new(), 0);
    // Reports one after another, through the restart and until 50 more
    // are taken after it.
    let mut after = 0;
    while after < 50 {
        let (status, answer) = log.post(report(&nonce(), 1)).await;
        match status {
            202 => acknowledged.push(answer["record_hash"].as_str().unwrap().to_owned()),
            503 => refused += 1,
            other => panic!("unexpected {other}: {answer}"),
        }
        if restart.is_finished() {
            after += 1;
        }
    }
    restart.join().unwrap();
    log.set_time(datetime!(2026-12-02 10:00 UTC)).await;
    let (_, root) = log.get_json("/v1/roots/latest").await;
    assert_eq!(root["size"], acknowledged.len());
    for hash in &acknowledged {
        let (status, _) = log.get_json(&format!("/v1/receipts/{hash}")).await;
        assert_eq!(status, 200, "{hash}");
    }
    eprintln!(
        "{} reports acknowledged, {refused} answered 503 during the restart",
        acknowledged.len()
    );
    log.stop().await;
}
