//! SPEC section 7: the server creates a log only in an empty directory and
//! refuses, with a message that says why, to start on a data directory that
//! could make it sign a different history.

mod common;

use std::path::Path;
use std::sync::Arc;

use common::{TestDatabase, TestServer, config, copy_database, nonce, report};
use lucent::clock::ManualClock;
use lucent::server::{ServeConfig, start};
use lucent_core::period::Period;
use time::OffsetDateTime;
use time::macros::datetime;

const ORIGIN: &str = "test.example/lucent";

fn conf(dir: &Path) -> ServeConfig {
    config(dir, ORIGIN, Period::DAY)
}

/// Starts the server at `now`, expecting a refusal, and returns its message.
async fn refusal(config: ServeConfig, now: OffsetDateTime) -> String {
    match start(config, Arc::new(ManualClock::new(now))).await {
        Ok(server) => {
            server.shutdown().await;
            panic!("the server started")
        }
        Err(e) => e.to_string(),
    }
}

/// Runs a server on `dir` at `now`: posts `reports` reports, then moves the
/// clock to `until` (publishing what ended) and stops.
async fn run(dir: &Path, now: OffsetDateTime, reports: u64, until: OffsetDateTime) {
    let server = TestServer::start(conf(dir), ManualClock::new(now)).await;
    for i in 0..reports {
        assert_eq!(server.post(report(&nonce(), i)).await.0, 202);
    }
    server.set_time(until).await;
    server.stop().await;
}

/// A data directory whose log published one day, 2026-11-24, of 2 reports.
async fn used_log() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    run(
        dir.path(),
        datetime!(2026-11-24 08:00 UTC),
        2,
        datetime!(2026-11-25 00:00 UTC),
    )
    .await;
    dir
}

/// Starts on `dir` the morning after [`used_log`]'s day, expecting a
/// refusal whose message says each of `says`.
async fn assert_refused(dir: &Path, says: &[&str]) {
    let message = refusal(conf(dir), datetime!(2026-11-25 08:00 UTC)).await;
    for said in says {
        assert!(message.contains(said), "{message}");
    }
}

async fn root_count(dir: &Path) -> i64 {
    let mut db = TestDatabase::connect(dir).await;
    let count = db.count("SELECT count(*) FROM roots").await;
    db.close().await;
    count
}

#[tokio::test]
async fn a_directory_with_other_files_is_not_made_a_log() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "mine").unwrap();
    let message = refusal(conf(dir.path()), datetime!(2026-11-24 08:00 UTC)).await;
    assert!(
        message.contains("holds no lucent log; refusing to create a log there"),
        "{message}"
    );
}

#[tokio::test]
async fn a_missing_key_or_database_is_refused() {
    let dir = used_log().await;
    let key = std::fs::read(dir.path().join("log.key")).unwrap();

    std::fs::remove_file(dir.path().join("log.key")).unwrap();
    let says = [
        "the signing key (log.key) is missing",
        "Restore it from your backup",
    ];
    assert_refused(dir.path(), &says).await;
    std::fs::write(dir.path().join("log.key"), key).unwrap();

    // The database lost: none (SQLite), or an empty one (PostgreSQL).
    let empty = tempfile::tempdir().unwrap();
    common::test_database(empty.path());
    copy_database(empty.path(), dir.path());
    let says = match common::on_postgres() {
        false => "the database (lucent.db) is missing",
        true => "holds no lucent log",
    };
    assert_refused(dir.path(), &[says]).await;
}

/// A key alone has signed a log (its database and state file were lost or
/// not copied): a new database under it would fork that log.
#[tokio::test]
async fn a_key_without_its_log_is_refused() {
    sqlite_only!();
    let dir = used_log().await;
    let alone = tempfile::tempdir().unwrap();
    std::fs::copy(dir.path().join("log.key"), alone.path().join("log.key")).unwrap();
    let says = [
        "holds the signing key log.key but no database and no state file",
        "would fork that log",
        "rename it to new-log.key",
    ];
    assert_refused(alone.path(), &says).await;
    assert_eq!(
        std::fs::read_dir(alone.path()).unwrap().count(),
        1,
        "nothing was created beside the key"
    );
    // Renamed to new-log.key beside the state file of its signed roots:
    // still refused.
    std::fs::copy(
        dir.path().join("signed-root"),
        alone.path().join("signed-root"),
    )
    .unwrap();
    std::fs::rename(
        alone.path().join("log.key"),
        alone.path().join("new-log.key"),
    )
    .unwrap();
    let says = ["new-log.key beside a state file that records a signed root"];
    assert_refused(alone.path(), &says).await;
    assert!(
        std::fs::read_to_string(alone.path().join("signed-root"))
            .unwrap()
            .lines()
            .count()
            > 2,
        "the record of the last signed root is kept"
    );
    // A database without its state file is refused too.
    std::fs::remove_file(dir.path().join("signed-root")).unwrap();
    assert_refused(dir.path(), &["the state file (signed-root) is missing"]).await;
}

/// A key placed as `new-log.key` (or left so by a creation that was
/// interrupted) starts a new log under that key.
#[tokio::test]
async fn a_new_log_key_starts_a_log_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let key = lucent_core::note::SigningKey::generate(ORIGIN, &mut rand::rng()).unwrap();
    std::fs::write(
        dir.path().join("new-log.key"),
        format!("{}\n", key.to_private_text()),
    )
    .unwrap();
    let server = TestServer::start(
        conf(dir.path()),
        ManualClock::new(datetime!(2026-11-24 08:00 UTC)),
    )
    .await;
    assert_eq!(server.running().verifier_key, key.verifier_key());
    server.stop().await;
    assert!(dir.path().join("log.key").exists());
    assert!(!dir.path().join("new-log.key").exists());
}

#[tokio::test]
async fn a_restored_backup_behind_the_signed_root_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let backup = tempfile::tempdir().unwrap();
    run(
        dir.path(),
        datetime!(2026-11-24 08:00 UTC),
        3,
        datetime!(2026-11-25 00:00 UTC),
    )
    .await;
    copy_database(dir.path(), backup.path());
    run(
        dir.path(),
        datetime!(2026-11-25 08:00 UTC),
        2,
        datetime!(2026-11-27 00:00 UTC),
    )
    .await;
    assert_eq!(root_count(dir.path()).await, 3);

    copy_database(backup.path(), dir.path());
    let message = refusal(conf(dir.path()), datetime!(2026-11-27 08:00 UTC)).await;
    assert!(
        message.contains("the database is behind the last root this log signed"),
        "{message}"
    );
    assert!(
        message.contains("size 5") && message.contains("size 3"),
        "{message}"
    );
    assert_eq!(root_count(dir.path()).await, 1, "nothing was signed");
}

/// One period behind: the state file was written but the commit was lost.
/// Publishing again gives the same root only if the database holds the same
/// pending records; otherwise the server stops before signing.
#[tokio::test]
async fn a_database_one_root_behind_is_finished_only_if_it_gives_the_same_root() {
    let dir = tempfile::tempdir().unwrap();
    let before_close = tempfile::tempdir().unwrap();
    let server = TestServer::start(
        conf(dir.path()),
        ManualClock::new(datetime!(2026-11-24 08:00 UTC)),
    )
    .await;
    for i in 0..3 {
        assert_eq!(server.post(report(&nonce(), i)).await.0, 202);
    }
    server.stop().await;
    copy_database(dir.path(), before_close.path());
    run(
        dir.path(),
        datetime!(2026-11-24 09:00 UTC),
        0,
        datetime!(2026-11-25 00:00 UTC),
    )
    .await;
    let signed = std::fs::read_to_string(dir.path().join("signed-root")).unwrap();

    // The same pending records: the root is published again, identically.
    copy_database(before_close.path(), dir.path());
    let server = TestServer::start(
        conf(dir.path()),
        ManualClock::new(datetime!(2026-11-25 08:00 UTC)),
    )
    .await;
    let (_, latest) = server.get_json("/v1/roots/latest").await;
    assert_eq!(latest["size"], 3);
    server.stop().await;
    assert_eq!(
        std::fs::read_to_string(dir.path().join("signed-root")).unwrap(),
        signed
    );

    // Different pending records: refused, and nothing signed.
    copy_database(before_close.path(), dir.path());
    let mut db = TestDatabase::connect(dir.path()).await;
    db.execute(
        "DELETE FROM pending WHERE deployment = \
         (SELECT deployment FROM pending ORDER BY deployment LIMIT 1)",
    )
    .await;
    db.close().await;
    let message = refusal(conf(dir.path()), datetime!(2026-11-25 08:00 UTC)).await;
    assert!(
        message.contains("refusing to sign a different history"),
        "{message}"
    );
    assert_eq!(root_count(dir.path()).await, 0);
}

#[tokio::test]
async fn a_stored_tree_that_does_not_match_the_signed_root_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    run(
        dir.path(),
        datetime!(2026-11-24 08:00 UTC),
        3,
        datetime!(2026-11-25 00:00 UTC),
    )
    .await;
    let mut db = TestDatabase::connect(dir.path()).await;
    let zeros = match db {
        TestDatabase::Sqlite(_) => "zeroblob(96)",
        TestDatabase::Postgres(_) => "decode(repeat('00', 96), 'hex')",
    };
    db.execute(&format!(
        "UPDATE tiles SET hashes = {zeros} WHERE level = 0 AND idx = 0"
    ))
    .await;
    db.close().await;
    let message = refusal(conf(dir.path()), datetime!(2026-11-25 08:00 UTC)).await;
    assert!(
        message.contains("the stored tree does not match the last signed root"),
        "{message}"
    );
}

#[tokio::test]
async fn a_state_file_that_disagrees_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    run(
        dir.path(),
        datetime!(2026-11-24 08:00 UTC),
        1,
        datetime!(2026-11-25 00:00 UTC),
    )
    .await;
    let state_path = dir.path().join("signed-root");
    let first = std::fs::read_to_string(&state_path).unwrap();
    run(
        dir.path(),
        datetime!(2026-11-25 08:00 UTC),
        1,
        datetime!(2026-11-26 00:00 UTC),
    )
    .await;
    let second = std::fs::read_to_string(&state_path).unwrap();

    // An old state file: the database is ahead of it. On a database that
    // several servers share, another one may have signed the later roots
    // (whose signatures the writer checks): it starts.
    std::fs::write(&state_path, &first).unwrap();
    if common::on_postgres() {
        let server = TestServer::start(
            conf(dir.path()),
            ManualClock::new(datetime!(2026-11-26 08:00 UTC)),
        )
        .await;
        server.stop().await;
    } else {
        let message = refusal(conf(dir.path()), datetime!(2026-11-26 08:00 UTC)).await;
        assert!(
            message.contains("the state file is older than the database"),
            "{message}"
        );
    }

    // A state file whose root differs from the database's at the same size.
    let mut lines: Vec<String> = second.lines().map(str::to_owned).collect();
    lines[3] = lucent_core::Hash([7; 32]).to_base64();
    std::fs::write(&state_path, lines.join("\n") + "\n").unwrap();
    let message = refusal(conf(dir.path()), datetime!(2026-11-26 08:00 UTC)).await;
    assert!(
        message.contains("the stored tree does not match the last signed root"),
        "{message}"
    );
}

#[tokio::test]
async fn another_origin_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    run(
        dir.path(),
        datetime!(2026-11-24 08:00 UTC),
        0,
        datetime!(2026-11-24 09:00 UTC),
    )
    .await;
    let message = refusal(
        config(dir.path(), "other.example", Period::DAY),
        datetime!(2026-11-24 10:00 UTC),
    )
    .await;
    assert!(
        message.contains("pass --origin test.example/lucent"),
        "{message}"
    );
}

/// The period is fixed when the log is created: another one is refused,
/// unless asked for explicitly; it then takes effect at the next UTC
/// midnight, and the periods before it are closed as they were.
#[tokio::test]
async fn a_different_period_is_refused_unless_the_change_is_asked_for() {
    let dir = used_log().await; // daily; the root of 2026-11-24 is signed
    let hourly = |change: bool| {
        let mut config = config(dir.path(), ORIGIN, Period::from_seconds(3600).unwrap());
        config.change_publish_period = change;
        config
    };
    let message = refusal(hourly(false), datetime!(2026-11-25 08:00 UTC)).await;
    assert!(
        message.contains("this log publishes every 24h")
            && message.contains("--publish-period 1h")
            && message.contains("--change-publish-period"),
        "{message}"
    );

    let server = TestServer::start(
        hourly(true),
        ManualClock::new(datetime!(2026-11-25 08:00 UTC)),
    )
    .await;
    assert_eq!(server.post(report(&nonce(), 1)).await.0, 202);
    server.stop().await;
    // Down across the change's midnight, started again with the new period
    // (no flag needed now): the day runs to its end as a day, no hourly
    // root is signed for it, and the hours start at midnight.
    let server = TestServer::start(
        hourly(false),
        ManualClock::new(datetime!(2026-11-26 00:30 UTC)),
    )
    .await;
    assert_eq!(server.post(report(&nonce(), 2)).await.0, 202);
    server.set_time(datetime!(2026-11-26 02:00 UTC)).await;
    let (_, roots) = server.get_json("/v1/roots").await;
    let ends: Vec<&str> = roots
        .as_array()
        .unwrap()
        .iter()
        .map(|root| root["period_end"].as_str().unwrap())
        .collect();
    assert_eq!(
        ends,
        [
            "2026-11-25T00:00:00Z",
            "2026-11-26T00:00:00Z",
            "2026-11-26T01:00:00Z",
            "2026-11-26T02:00:00Z"
        ]
    );
    server.stop().await;

    // The new period is the log's now; the old one is refused.
    let server = TestServer::start(
        hourly(false),
        ManualClock::new(datetime!(2026-11-26 02:10 UTC)),
    )
    .await;
    server.stop().await;
    let message = refusal(conf(dir.path()), datetime!(2026-11-26 02:10 UTC)).await;
    assert!(message.contains("this log publishes every 1h"), "{message}");
}
