//! SPEC sections 1, 2 and 5: `POST /v1/reports` over real HTTP.

mod common;

use std::collections::HashSet;
use std::num::NonZeroU32;

use common::{TestServer, config, load, report};
use lucent::clock::ManualClock;
use lucent_core::note::VerifierKey;
use lucent_core::period::Period;
use lucent_core::promise::open_promise;
use time::macros::datetime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ORIGIN: &str = "test.example/lucent";

async fn server(dir: &tempfile::TempDir) -> TestServer {
    let clock = ManualClock::new(datetime!(2026-11-27 12:00:00 UTC));
    TestServer::start(config(dir.path(), ORIGIN, Period::DAY), clock).await
}

async fn served_key(server: &TestServer) -> VerifierKey {
    let (status, log) = server.get_json("/v1/log").await;
    assert_eq!(status, 200);
    VerifierKey::parse(log["verifier_key"].as_str().unwrap()).unwrap()
}

/// Each query's rows, one text each, on a pool of either engine; then
/// the pool is closed.
macro_rules! read_texts {
    ($pool:expr, $queries:expr) => {{
        let pool = $pool;
        let mut rows = Vec::new();
        for query in $queries {
            let query = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(query));
            rows.extend(query.fetch_all(&pool).await.unwrap());
        }
        pool.close().await;
        rows
    }};
}

/// Everything stored, as text, to show that a request changed nothing.
async fn stored(dir: &tempfile::TempDir) -> Vec<String> {
    if let Some(url) = common::test_database(dir.path()) {
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        return read_texts!(pool, stored_queries(|c| format!("encode({c}, 'hex')")));
    }
    let file = dir.path().join("lucent.db");
    let url = format!("sqlite://{}?mode=ro", file.display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    read_texts!(pool, stored_queries(|c| format!("hex({c})")))
}

/// The queries that read the pending records, entries and roots as text;
/// `hex` writes a column's bytes as hex in the engine's SQL.
fn stored_queries(hex: impl Fn(&str) -> String) -> [String; 3] {
    [
        format!(
            "SELECT day || {} || period_end || {} FROM pending ORDER BY 1",
            hex("deployment"),
            hex("record")
        ),
        format!("SELECT idx || {} FROM entries ORDER BY idx", hex("entry")),
        "SELECT period_end || checkpoint FROM roots ORDER BY period_end".to_owned(),
    ]
}

#[tokio::test]
async fn valid_reports_get_the_exact_record_and_a_signed_promise() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir).await;
    let key = served_key(&server).await;
    let vectors = load("lucent/records.json");
    let mut seen = HashSet::new();
    for case in vectors["valid"].as_array().unwrap() {
        let desc = case["desc"].as_str().unwrap();
        let day = case["day"].as_str().unwrap();
        let noon = time::Date::parse(
            day,
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .unwrap();
        server
            .set_time(noon.with_hms(12, 0, 0).unwrap().assume_utc())
            .await;
        let (status, body) = server.post(case["body"].as_str().unwrap().to_owned()).await;
        let first = seen.insert((
            day.to_owned(),
            case["deployment"].as_str().unwrap().to_owned(),
        ));
        assert_eq!(status, if first { 202 } else { 200 }, "{desc}: {body}");
        assert_eq!(body["record"], case["record"], "{desc}");
        assert_eq!(body["record_hash"], case["record_hash"], "{desc}");
        assert_eq!(body["deployment"], case["deployment"], "{desc}");
        assert_eq!(body["day"], day, "{desc}");
        let next_day = noon.next_day().unwrap();
        assert_eq!(
            body["publish_after"],
            format!("{next_day}T00:00:00Z"),
            "{desc}"
        );
        let signed = body["promise"].as_str().unwrap();
        let promise = open_promise(signed, &key).unwrap_or_else(|e| panic!("{desc}: {e}"));
        assert_eq!(
            promise.to_text(),
            format!(
                "lucent-promise/v1\n{ORIGIN}\n{day}\n{}\n",
                case["record_hash"].as_str().unwrap()
            )
        );
        assert!(signed.starts_with(&promise.to_text()));
    }
    server.stop().await;
}

#[tokio::test]
async fn replays_conflicts_and_the_next_day() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir).await;
    let nonce = common::nonce();
    let (status, first) = server.post(report(&nonce, 10)).await;
    assert_eq!(status, 202);
    let (status, again) = server.post(report(&nonce.to_uppercase(), 10)).await;
    assert_eq!(
        (status, &again),
        (200, &first),
        "a replay answers the first promise again"
    );
    let (status, conflict) = server.post(report(&nonce, 11)).await;
    assert_eq!(status, 409);
    assert_eq!(
        conflict["promise"], first,
        "a conflict carries the stored promise"
    );
    assert_eq!(conflict["status"], 409);
    // Still the same day, late: still a conflict.
    server.set_time(datetime!(2026-11-27 23:59:59 UTC)).await;
    assert_eq!(server.post(report(&nonce, 12)).await.0, 409);
    // The next day the deployment reports again.
    server.set_time(datetime!(2026-11-28 00:00:00 UTC)).await;
    let (status, next) = server.post(report(&nonce, 11)).await;
    assert_eq!(status, 202, "{next}");
    assert_eq!(next["day"], "2026-11-28");
    assert_eq!(next["deployment"], first["deployment"]);
    server.stop().await;
}

/// The record and its promise are made for the day the clock reads when the
/// report arrives; if the writer stores it on another day (here the clock
/// went back behind a day already published), both are made again for it.
#[tokio::test]
async fn a_report_stored_on_another_day_than_it_arrived_is_promised_for_that_day() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir).await;
    let key = served_key(&server).await;
    server.set_time(datetime!(2026-11-28 00:00:00 UTC)).await;
    server.clock.set(datetime!(2026-11-27 23:59:59 UTC));
    let (status, promise) = server.post(report(&common::nonce(), 3)).await;
    assert_eq!(status, 202, "{promise}");
    assert_eq!(promise["day"], "2026-11-28");
    let record = promise["record"].as_str().unwrap();
    assert!(record.starts_with(r#"{"day":"2026-11-28","#), "{record}");
    let opened = open_promise(promise["promise"].as_str().unwrap(), &key).unwrap();
    assert_eq!(opened.day, "2026-11-28");
    assert_eq!(opened.record_hash.to_hex(), promise["record_hash"]);
    assert_eq!(
        lucent_core::record::record_hash(record.as_bytes()).to_hex(),
        promise["record_hash"]
    );
    server.stop().await;
}

#[tokio::test]
async fn invalid_bodies_are_refused_naming_the_field_and_nothing_changes() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir).await;
    assert_eq!(server.post(report(&common::nonce(), 1)).await.0, 202);
    let before = stored(&dir).await;
    assert_eq!(before.len(), 1);
    let vectors = load("lucent/records.json");
    let cases = vectors["invalid"].as_array().unwrap();
    assert!(cases.len() >= 40);
    for case in cases {
        let desc = case["desc"].as_str().unwrap();
        let body = match case.get("body_hex") {
            Some(hex) => hex::decode(hex.as_str().unwrap()).unwrap(),
            None => case["body"].as_str().unwrap().as_bytes().to_vec(),
        };
        let mut request = server
            .client
            .post(format!("{}/v1/reports", server.base))
            .body(body);
        if let Some(content_type) = case["content_type"].as_str() {
            request = request.header("content-type", content_type);
        }
        let response = request.send().await.unwrap();
        assert_eq!(
            response.status().as_u16(),
            case["status"].as_u64().unwrap() as u16,
            "{desc}"
        );
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json",
            "{desc}"
        );
        let problem: serde_json::Value = response.json().await.unwrap();
        assert_eq!(problem["status"], case["status"], "{desc}");
        assert_eq!(
            problem["field"].as_str(),
            case["field"].as_str(),
            "{desc}: {problem}"
        );
        assert!(
            problem["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{desc}"
        );
    }
    assert_eq!(stored(&dir).await, before);
    server.stop().await;
}

/// The limit holds on the bytes read, whatever the headers say.
#[tokio::test]
async fn a_chunked_body_over_the_limit_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir).await;
    let address = server.running().address;
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let head = "POST /v1/reports HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = format!("{{\"nonce\": \"{}\"{}", common::nonce(), " ".repeat(1000));
    for _ in 0..5 {
        stream
            .write_all(format!("{:x}\r\n{chunk}\r\n", chunk.len()).as_bytes())
            .await
            .unwrap();
    }
    stream.write_all(b"0\r\n\r\n").await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(stored(&dir).await.is_empty());
    server.stop().await;
}

/// A declared length over the limit is refused before any of the body
/// arrives: a slow sender does not hold the request until it times out.
#[tokio::test]
async fn a_declared_length_over_the_limit_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir).await;
    let mut stream = tokio::net::TcpStream::connect(server.running().address)
        .await
        .unwrap();
    let head = "POST /v1/reports HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                Content-Length: 99999999999\r\n\r\n{\"nonce\"";
    stream.write_all(head.as_bytes()).await.unwrap();
    // The body never comes; the answer must not wait for the request
    // timeout (8 s), after which it would be a 503.
    let mut answer = vec![0; 4096];
    let read = tokio::time::timeout(std::time::Duration::from_secs(4), stream.read(&mut answer))
        .await
        .expect("an answer before the body or the request timeout")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..read]);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(stored(&dir).await.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn the_rate_limit_answers_429_with_retry_after_and_spares_reads() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path(), ORIGIN, Period::DAY);
    config.rate_limit = NonZeroU32::new(2);
    let server =
        TestServer::start(config, ManualClock::new(datetime!(2026-11-27 12:00:00 UTC))).await;
    assert_eq!(server.post(report(&common::nonce(), 1)).await.0, 202);
    assert_eq!(server.post(report(&common::nonce(), 1)).await.0, 202);
    let response = server.post_response(report(&common::nonce(), 1)).await;
    assert_eq!(response.status().as_u16(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after));
    for _ in 0..5 {
        assert_eq!(server.get_json("/v1/log").await.0, 200);
    }
    server.stop().await;
}

/// A full queue answers 503 with Retry-After at once, and stores nothing
/// for the refused reports; the queued ones are stored when the writer can
/// write again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_answers_503() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path(), ORIGIN, Period::DAY);
    config.queue_capacity = 2;
    let server =
        TestServer::start(config, ManualClock::new(datetime!(2026-11-27 12:00:00 UTC))).await;
    // The writer blocks on its next batch.
    let lock = common::WriteLock::hold(dir.path()).await;
    let sequencer = server.running().sequencer.clone();
    let queue = |sequencer: &lucent::sequencer::Sequencer| {
        let sequencer = sequencer.clone();
        let body = report(&common::nonce(), 1);
        Box::pin(async move {
            let report = lucent_core::record::Report::parse(body.as_bytes()).unwrap();
            sequencer.submit(report).await
        })
    };
    // One report, and the writer takes it into a batch that blocks: until
    // that batch fails or commits, the writer takes nothing more. (Filling
    // the queue at once raced the writer taking reports out of it.)
    let mut queued = vec![queue(&sequencer)];
    let first_poll = futures_util::poll!(&mut queued[0]);
    assert!(first_poll.is_pending(), "the report waits for the writer");
    while sequencer.queued() > 0 {
        tokio::task::yield_now().await;
    }
    // Then the queue fills: reports are queued until one is refused.
    loop {
        let mut submission = queue(&sequencer);
        match futures_util::poll!(&mut submission) {
            std::task::Poll::Pending => queued.push(submission),
            std::task::Poll::Ready(Err(lucent::sequencer::SubmitError::Saturated)) => break,
            std::task::Poll::Ready(other) => {
                panic!("only a refusal can answer while the writer is blocked: {other:?}")
            }
        }
        assert!(queued.len() <= 2048, "the queue never filled");
    }
    // The writer stops only once every handle to its queue is dropped.
    drop(sequencer);
    // While it stays full, every report over HTTP is refused at once.
    for _ in 0..5 {
        common::assert_saturated(&server.post_response(report(&common::nonce(), 1)).await);
    }
    lock.release().await;
    for submission in &mut queued {
        let promised = submission.await.expect("a queued report is stored");
        assert_eq!(
            promised.outcome.kind,
            lucent::sequencer::OutcomeKind::Accepted
        );
    }
    assert_eq!(stored(&dir).await.len(), queued.len());
    server.stop().await;
}

/// With periods shorter than a day, a deployment's report may already be
/// published when it sends again the same day: still one report a day.
#[tokio::test]
async fn one_report_a_day_also_across_short_periods() {
    let dir = tempfile::tempdir().unwrap();
    let period: Period = "1h".parse().unwrap();
    let clock = ManualClock::new(datetime!(2026-11-27 10:15:00 UTC));
    let server = TestServer::start(config(dir.path(), ORIGIN, period), clock).await;
    let nonce = common::nonce();
    let (status, first) = server.post(report(&nonce, 10)).await;
    assert_eq!(status, 202);
    assert_eq!(first["publish_after"], "2026-11-27T11:00:00Z");
    server.set_time(datetime!(2026-11-27 13:30:00 UTC)).await;
    let (_, latest) = server.get_json("/v1/roots/latest").await;
    assert_eq!(latest["size"], 1, "the report is published");
    let (status, again) = server.post(report(&nonce, 10)).await;
    assert_eq!((status, &again), (200, &first));
    let (status, conflict) = server.post(report(&nonce, 11)).await;
    assert_eq!(status, 409);
    assert_eq!(conflict["promise"], first);
    server.stop().await;
}

/// The same deployment several times at once: exactly one is accepted,
/// whichever batches the writer makes of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_reports_of_one_deployment() {
    let dir = tempfile::tempdir().unwrap();
    let server = std::sync::Arc::new(server(&dir).await);
    let nonce = common::nonce();
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let (server, body) = (server.clone(), report(&nonce, i % 2));
            tokio::spawn(async move { server.post(body).await })
        })
        .collect();
    let mut statuses = Vec::new();
    let mut accepted = None;
    for task in tasks {
        let (status, body) = task.await.unwrap();
        if status == 202 {
            accepted = Some(body["record"].clone());
        }
        statuses.push(status);
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 202).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [200, 202, 409].contains(s)),
        "{statuses:?}"
    );
    assert_eq!(stored(&dir).await.len(), 1);
    assert!(accepted.is_some());
    std::sync::Arc::into_inner(server).unwrap().stop().await;
}
