//! SPEC section 5, `GET /v1/stats`: exact aggregates over published
//! entries only, over real HTTP.

mod common;

use common::{TestServer, config, nonce};
use futures_util::StreamExt;
use lucent::clock::ManualClock;
use lucent_core::period::Period;
use lucent_core::record::MAX_COUNT;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;

const ORIGIN: &str = "test.example/lucent";

fn body(nonce: &str, version: &str, created: u64, detokenized: u64, grants: u64) -> String {
    json!({
        "nonce": nonce,
        "version": version,
        "tokens_created": created,
        "tokens_detokenized": detokenized,
        "grants_issued": grants,
    })
    .to_string()
}

async fn stats(server: &TestServer) -> Value {
    let (status, stats) = server.get_json("/v1/stats").await;
    assert_eq!(status, 200, "{stats}");
    stats
}

/// The days with reports, as (day, reports); checks every other day is
/// listed with 0, in order, from `first` on.
fn days_with_reports(stats: &Value, first: &str) -> Vec<(String, u64)> {
    let days = stats["reports_per_day"].as_array().unwrap();
    assert_eq!(days[0]["day"], first);
    for pair in days.windows(2) {
        let day = |v: &Value| time::Date::parse(v["day"].as_str().unwrap(), &DAY).unwrap();
        assert_eq!(day(&pair[0]).next_day(), Some(day(&pair[1])), "{pair:?}");
    }
    days.iter()
        .filter(|d| d["reports"] != 0)
        .map(|d| {
            (
                d["day"].as_str().unwrap().to_owned(),
                d["reports"].as_u64().unwrap(),
            )
        })
        .collect()
}

const DAY: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

async fn post_on(server: &TestServer, at: OffsetDateTime, bodies: &[String]) {
    server.set_time(at).await;
    for body in bodies {
        let (status, answer) = server.post(body.clone()).await;
        assert_eq!(status, 202, "{answer}");
    }
}

/// Four deployments over five weeks: each window counts back from the
/// latest root's day, that day included; a pending report changes nothing
/// until its root is signed.
#[tokio::test]
async fn stats_count_published_entries_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(datetime!(2026-10-01 06:00:00 UTC));
    let server = TestServer::start(config(dir.path(), ORIGIN, Period::DAY), clock).await;
    let [a, b, c, d, e] = std::array::from_fn(|_| nonce());

    let empty = stats(&server).await;
    assert_eq!(
        empty,
        json!({
            "size": 0,
            "active_deployments": {"last_1_day": 0, "last_7_days": 0, "last_30_days": 0},
            "reports_per_day": [],
            "versions": [],
            "unlisted_versions": 0,
            "totals": {"tokens_created": "0", "tokens_detokenized": "0", "grants_issued": "0"},
        })
    );

    post_on(
        &server,
        datetime!(2026-10-01 08:00:00 UTC),
        &[body(&a, "1.0.0", 10, 1, 100), body(&b, "1.0.0", 20, 2, 200)],
    )
    .await;
    post_on(
        &server,
        datetime!(2026-10-21 08:00:00 UTC),
        &[body(&a, "1.1.0", 30, 3, 300), body(&c, "1.1.0", 40, 4, 400)],
    )
    .await;
    post_on(
        &server,
        datetime!(2026-10-29 08:00:00 UTC),
        &[body(&b, "1.1.0", 50, 5, 500)],
    )
    .await;
    post_on(
        &server,
        datetime!(2026-11-04 08:00:00 UTC),
        &[
            body(&a, "1.1.0", 60, 6, 600),
            body(&d, "2.0.0-rc.1", 70, 7, 700),
        ],
    )
    .await;
    server.set_time(datetime!(2026-11-05 00:00:00 UTC)).await;

    let published = stats(&server).await;
    assert_eq!(published["size"], 7);
    assert_eq!(published["day"], "2026-11-04");
    // 1 day: a, d. 7 days (10-29 on): b, a, d. 30 days (10-06 on): a, c, b, d.
    assert_eq!(
        published["active_deployments"],
        json!({"last_1_day": 2, "last_7_days": 3, "last_30_days": 4})
    );
    // a reported 1.1.0 twice in the window and counts once; 1.0.0 is older.
    assert_eq!(
        published["versions"],
        json!([
            {"version": "1.1.0", "deployments": 3},
            {"version": "2.0.0-rc.1", "deployments": 1},
        ])
    );
    assert_eq!(published["reports_per_day"].as_array().unwrap().len(), 35);
    assert_eq!(
        days_with_reports(&published, "2026-10-01"),
        [
            ("2026-10-01".to_owned(), 2),
            ("2026-10-21".to_owned(), 2),
            ("2026-10-29".to_owned(), 1),
            ("2026-11-04".to_owned(), 2),
        ]
    );
    assert_eq!(
        published["totals"],
        json!({"tokens_created": "280", "tokens_detokenized": "28", "grants_issued": "2800"})
    );

    // A report accepted today is pending: the stats do not move.
    post_on(
        &server,
        datetime!(2026-11-05 08:00:00 UTC),
        &[body(&e, "1.0.0", 1000, 0, 0)],
    )
    .await;
    assert_eq!(stats(&server).await, published);

    server.set_time(datetime!(2026-11-06 00:00:00 UTC)).await;
    let next = stats(&server).await;
    assert_eq!(next["size"], 8);
    assert_eq!(next["day"], "2026-11-05");
    // 1 day: e. 7 days (10-30 on): a, d, e. 30 days (10-07 on): all five.
    assert_eq!(
        next["active_deployments"],
        json!({"last_1_day": 1, "last_7_days": 3, "last_30_days": 5})
    );
    assert_eq!(
        next["versions"],
        json!([
            {"version": "1.1.0", "deployments": 3},
            {"version": "1.0.0", "deployments": 1},
            {"version": "2.0.0-rc.1", "deployments": 1},
        ])
    );
    assert_eq!(next["reports_per_day"].as_array().unwrap().len(), 36);
    assert_eq!(
        next["reports_per_day"][35],
        json!({"day": "2026-11-05", "reports": 1})
    );
    assert_eq!(next["totals"]["tokens_created"], "1280");

    // Days without reports still get a root, and move the windows: 30
    // days from 11-12 start on 10-14, after b's first report.
    server.set_time(datetime!(2026-11-13 00:00:00 UTC)).await;
    let quiet = stats(&server).await;
    assert_eq!(quiet["size"], 8);
    assert_eq!(quiet["day"], "2026-11-12");
    assert_eq!(
        quiet["active_deployments"],
        json!({"last_1_day": 0, "last_7_days": 0, "last_30_days": 5})
    );
    assert_eq!(quiet["totals"], next["totals"]);
    server.stop().await;
}

/// 2,100 reports with every count at 2^53 − 1 sum past 2^64: the totals
/// are exact decimal strings.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totals_beyond_64_bits_are_exact() {
    const REPORTS: u64 = 2100;
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(datetime!(2026-11-24 06:00:00 UTC));
    let server = TestServer::start(config(dir.path(), ORIGIN, Period::DAY), clock).await;
    // Sent concurrently, so the writer commits them in groups.
    futures_util::stream::iter(0..REPORTS)
        .map(|_| {
            let body = body(&nonce(), "1.4.2", MAX_COUNT, MAX_COUNT, MAX_COUNT);
            let server = &server;
            async move { server.post(body).await }
        })
        .buffer_unordered(64)
        .for_each(|(status, answer)| async move { assert_eq!(status, 202, "{answer}") })
        .await;
    server.set_time(datetime!(2026-11-25 00:00:00 UTC)).await;

    let stats = stats(&server).await;
    let total = u128::from(REPORTS) * u128::from(MAX_COUNT);
    assert!(total > u128::from(u64::MAX));
    let total = total.to_string();
    assert_eq!(total, "18915118434956081100");
    assert_eq!(
        stats["totals"],
        json!({"tokens_created": total, "tokens_detokenized": total, "grants_issued": total})
    );
    assert_eq!(stats["size"], REPORTS);
    assert_eq!(
        stats["active_deployments"],
        json!({"last_1_day": REPORTS, "last_7_days": REPORTS, "last_30_days": REPORTS})
    );
    assert_eq!(
        stats["reports_per_day"],
        json!([{"day": "2026-11-24", "reports": REPORTS}])
    );
    assert_eq!(
        stats["versions"],
        json!([{"version": "1.4.2", "deployments": REPORTS}])
    );
    server.stop().await;
}

/// Periods of an hour: a day's totals add up over its publications, and
/// its deployments count once in the windows. A log published before
/// `day_totals` existed gets the table filled at its next start, with the
/// same stats.
#[tokio::test]
async fn day_totals_add_up_over_periods_and_are_filled_after_an_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    let hour = Period::from_seconds(3600).unwrap();
    let clock = ManualClock::new(datetime!(2026-11-20 06:00:00 UTC));
    let server = TestServer::start(config(dir.path(), ORIGIN, hour), clock.clone()).await;
    let [a, b, c] = std::array::from_fn(|_| nonce());
    post_on(
        &server,
        datetime!(2026-11-20 06:10:00 UTC),
        &[body(&a, "1.0.0", 1, 2, 3), body(&b, "1.0.0", 10, 20, 30)],
    )
    .await;
    post_on(
        &server,
        datetime!(2026-11-20 09:10:00 UTC),
        &[body(&c, "1.1.0", 100, 200, 300)],
    )
    .await;
    post_on(
        &server,
        datetime!(2026-11-21 09:10:00 UTC),
        &[body(&a, "1.1.0", 1000, 2000, 3000)],
    )
    .await;
    server.set_time(datetime!(2026-11-21 10:00:00 UTC)).await;
    let published = stats(&server).await;
    assert_eq!(published["size"], 4);
    assert_eq!(published["day"], "2026-11-21");
    assert_eq!(
        days_with_reports(&published, "2026-11-20"),
        [("2026-11-20".to_owned(), 3), ("2026-11-21".to_owned(), 1)]
    );
    assert_eq!(
        published["active_deployments"],
        json!({"last_1_day": 1, "last_7_days": 3, "last_30_days": 3})
    );
    assert_eq!(
        published["versions"],
        json!([
            {"version": "1.0.0", "deployments": 2},
            {"version": "1.1.0", "deployments": 2},
        ])
    );
    assert_eq!(
        published["totals"],
        json!({"tokens_created": "1111", "tokens_detokenized": "2222", "grants_issued": "3333"})
    );
    server.stop().await;

    // What a database migrated from before day_totals looks like.
    let mut db = common::TestDatabase::connect(dir.path()).await;
    db.execute("DELETE FROM day_totals").await;
    db.close().await;

    let server = TestServer::start(config(dir.path(), ORIGIN, hour), clock).await;
    assert_eq!(stats(&server).await, published);
    server.stop().await;
}
