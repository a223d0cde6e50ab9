//! What the operator watches: `/metrics` on its own address (scraped over
//! HTTP and parsed), never on the public one, and `/readyz`.

mod common;

use std::collections::HashMap;

use common::{TestServer, config, nonce, report};
use lucent::clock::ManualClock;
use lucent_core::period::Period;
use time::macros::datetime;

const ORIGIN: &str = "metrics.example";

/// The samples of an OpenMetrics text exposition: series (name and
/// labels, as written) to value. Every line must be a comment or a
/// sample, and the exposition must end with `# EOF`.
fn parse_exposition(text: &str) -> HashMap<String, f64> {
    assert!(text.ends_with("# EOF\n"), "{text}");
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .map(|line| {
            let (series, value) = line
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("not a sample: {line}"));
            let value = value
                .parse()
                .unwrap_or_else(|_| panic!("not a value: {line}"));
            (series.to_owned(), value)
        })
        .collect()
}

async fn scrape(server: &TestServer) -> HashMap<String, f64> {
    let address = server
        .running()
        .metrics_address
        .expect("metrics are served");
    let response = server
        .client
        .get(format!("http://{address}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    parse_exposition(&response.text().await.unwrap())
}

#[tokio::test]
async fn metrics_count_reports_commits_and_roots_for_the_operator_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path(), ORIGIN, Period::DAY);
    config.metrics_listen = Some("127.0.0.1:0".into());
    let server = TestServer::start(config, ManualClock::new(datetime!(2026-11-27 10:00 UTC))).await;
    let before = scrape(&server).await;
    assert_eq!(before["lucent_ready"], 1.0);
    assert_eq!(before["lucent_queue_depth"], 0.0);
    assert!(!before.contains_key("lucent_last_root_size"), "no root yet");
    let no_reports = before
        .keys()
        .filter(|k| k.starts_with("lucent_reports_total"));
    assert_eq!(no_reports.count(), 0);

    let once = nonce();
    for body in [report(&once, 1), report(&once, 1), report(&once, 2)] {
        server.post(body).await;
    }
    assert_eq!(server.post("{}").await.0, 400);
    server.set_time(datetime!(2026-11-28 00:00:30 UTC)).await;
    // The report series show nothing until the minute ends.
    let during = scrape(&server).await;
    assert_eq!(during["lucent_commit_seconds_count"], 0.0);
    assert!(!during.keys().any(|k| k.starts_with("lucent_reports_total")));
    server.running().close_minute();
    let after = scrape(&server).await;
    let reports = |labels: &str| after[&format!("lucent_reports_total{{{labels}}}")];
    assert_eq!(reports(r#"outcome="accepted",status="202""#), 1.0);
    assert_eq!(reports(r#"outcome="replayed",status="200""#), 1.0);
    assert_eq!(reports(r#"outcome="refused",status="409""#), 1.0);
    assert_eq!(reports(r#"outcome="refused",status="400""#), 1.0);
    // Three reports reached the writer, each in a batch of its own.
    assert_eq!(after["lucent_commit_seconds_count"], 3.0);
    assert_eq!(after["lucent_commit_failures_total"], 0.0);
    assert_eq!(after["lucent_publication_seconds_count"], 1.0);
    assert_eq!(after["lucent_last_root_size"], 1.0);
    assert_eq!(after["lucent_last_root_age_seconds"], 30.0);
    assert_eq!(after["lucent_queue_capacity"], 4096.0);

    // The public address has no metrics.
    assert_eq!(server.get_bytes("/metrics").await.0, 404);
    server.stop().await;
}

#[tokio::test]
async fn metrics_are_off_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(
        config(dir.path(), ORIGIN, Period::DAY),
        ManualClock::new(datetime!(2026-11-27 10:00 UTC)),
    )
    .await;
    assert!(server.running().metrics_address.is_none());
    server.stop().await;
}

/// `/readyz` says 503 while the writer's queue is full, and 200 again
/// once the writer can write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_follows_the_writers_queue() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path(), ORIGIN, Period::DAY);
    config.queue_capacity = 1;
    let server = TestServer::start(config, ManualClock::new(datetime!(2026-11-27 10:00 UTC))).await;
    let ready = |server: &TestServer| {
        let (client, base) = (server.client.clone(), server.base.clone());
        async move {
            let answer = client.get(format!("{base}/readyz")).send().await.unwrap();
            (answer.status().as_u16(), answer.text().await.unwrap())
        }
    };
    assert_eq!(ready(&server).await, (200, "ready\n".to_owned()));

    // The writer blocks on a batch; the next report fills the queue.
    let lock = common::WriteLock::hold(dir.path()).await;
    let sequencer = server.running().sequencer.clone();
    let submit = |sequencer: &lucent::sequencer::Sequencer| {
        let sequencer = sequencer.clone();
        let report = lucent_core::record::Report::parse(report(&nonce(), 1).as_bytes()).unwrap();
        Box::pin(async move { sequencer.submit(report).await.is_ok() })
    };
    // A first poll queues a report (try_send); the writer takes it out.
    let mut first = submit(&sequencer);
    assert!(futures_util::poll!(&mut first).is_pending());
    while sequencer.queued() > 0 {
        tokio::task::yield_now().await;
    }
    let mut second = submit(&sequencer);
    assert!(futures_util::poll!(&mut second).is_pending());
    assert_eq!(
        ready(&server).await,
        (503, "not ready: the writer's queue is full\n".to_owned())
    );
    lock.release().await;
    assert!(first.await && second.await);
    assert_eq!(ready(&server).await.0, 200);
    drop(sequencer); // the writer stops when the last handle goes
    server.stop().await;
}
