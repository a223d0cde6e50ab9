//! SPEC section 6: `lucent verify` and `lucent submit` over real HTTP,
//! against honest servers, a tampering proxy in front of one, and logs
//! forged outside any server with the log key (what a malicious operator
//! could serve).

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use futures_util::{StreamExt as _, stream};
use poem::listener::{Acceptor as _, Listener as _, TcpListener};
use poem::{Endpoint, Request, Response};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;

use common::{TestServer, config, nonce, report, signed_promise};
use lucent::cli::progress::Progress;
use lucent::cli::verify::{Growth, VerifyError, VerifyOptions, VerifyReport, verify};
use lucent::clock::ManualClock;
use lucent::datadir::{DataDir, KEY_FILE};
use lucent::http::answers::stats_body;
use lucent_client::http::LogClient;
use lucent_client::quorum::WitnessQuorum;
use lucent_client::submit::{
    self, CheckError, ReportFields, SavedPromise, SubmitError, SubmitOptions, Usage,
};
use lucent_core::Hash;
use lucent_core::checkpoint::Checkpoint;
use lucent_core::hash::leaf_hash;
use lucent_core::merkle::{MemoryTree, NodeId, consistency_proof, inclusion_proof};
use lucent_core::note::{SigningKey, VerifierKey};
use lucent_core::period::Period;
use lucent_core::record::{Day, Entry, Record, Report, record_hash};
use lucent_core::stats::{StatsBuilder, StatsRoot};
use lucent_core::tiles::{
    TilePath, decode_entry_bundle, encode_entry_bundle, encode_hash_tile, entry_bundles_for_size,
    parse_hash_tile, root_from_tiles, tiles_for_size,
};
use lucent_core::tlog_proof::TlogProof;

const ORIGIN: &str = "test.example/lucent";

/// Noon (or another hour) of a day of November 2026.
fn at(day: u8, hour: u8) -> OffsetDateTime {
    datetime!(2026-11-01 00:00 UTC)
        .replace_day(day)
        .unwrap()
        .replace_hour(hour)
        .unwrap()
}

fn november(day: u8) -> Day {
    Day(at(day, 0).date())
}

/// A server whose log begins on November 1st, with a period of a day.
async fn start_server(dir: &Path) -> TestServer {
    let clock = ManualClock::new(at(1, 12));
    TestServer::start(config(dir, ORIGIN, Period::DAY), clock).await
}

fn key_of(server: &TestServer) -> VerifierKey {
    server.running().verifier_key.clone()
}

/// Posts `count` reports from new deployments, a few at a time.
async fn post_reports(server: &TestServer, count: usize) {
    stream::iter(0..count)
        .map(|i| async move {
            let (status, body) = server.post(report(&nonce(), 100 + i as u64)).await;
            assert_eq!(status, 202, "{body}");
        })
        .buffer_unordered(16)
        .collect::<()>()
        .await;
}

/// Reports on `days` (count per day), each day closed at the next midnight.
async fn grow(server: &TestServer, days: &[(u8, usize)]) {
    for &(day, count) in days {
        server.set_time(at(day, 12)).await;
        post_reports(server, count).await;
        server.set_time(at(day + 1, 0)).await;
    }
}

/// The three-day log most tests use: 3 reports on November 1st, none on
/// the 2nd, 4 on the 3rd, 2 on the 4th; 4 roots and 9 entries.
async fn three_report_days(dir: &Path) -> TestServer {
    let server = start_server(dir).await;
    grow(&server, &[(1, 3), (3, 4), (4, 2)]).await;
    server
}

async fn run_verify(
    url: &str,
    key: &VerifierKey,
    state: Option<&Path>,
) -> Result<VerifyReport, VerifyError> {
    let options = VerifyOptions {
        url: url.to_owned(),
        key: key.clone(),
        state: state.map(Path::to_owned),
        witnesses: WitnessQuorum::default(),
    };
    verify(&options, &Progress::hidden()).await
}

/// Serves `app` on a new port of 127.0.0.1 until the test ends.
async fn serve(app: impl Endpoint + 'static) -> String {
    let acceptor = TcpListener::bind("127.0.0.1:0")
        .into_acceptor()
        .await
        .unwrap();
    let address = *acceptor.local_addr()[0].as_socket_addr().unwrap();
    tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(app));
    format!("http://{address}")
}

fn answer(status: u16, body: Vec<u8>) -> Response {
    Response::builder()
        .status(poem::http::StatusCode::from_u16(status).unwrap())
        .body(body)
}

/// A reverse proxy to `upstream` that passes each answer through
/// `rewrite(path and query, status, body)`.
async fn rewriting_proxy(
    upstream: &str,
    rewrite: impl Fn(&str, u16, Vec<u8>) -> (u16, Vec<u8>) + Send + Sync + 'static,
) -> String {
    let upstream = upstream.to_owned();
    let client = reqwest::Client::new();
    let rewrite = Arc::new(rewrite);
    serve(poem::endpoint::make(move |request: Request| {
        let path = request.original_uri().to_string();
        let (client, rewrite) = (client.clone(), rewrite.clone());
        let url = format!("{upstream}{path}");
        async move {
            let upstream_answer = client.get(&url).send().await.unwrap();
            let status = upstream_answer.status().as_u16();
            let body = upstream_answer.bytes().await.unwrap().to_vec();
            let (status, body) = rewrite(&path, status, body);
            answer(status, body)
        }
    }))
    .await
}

/// A reverse proxy to `upstream` that passes each answer's body through
/// `tamper(path and query, body)`.
async fn tampering_proxy(
    upstream: &str,
    tamper: impl Fn(&str, Vec<u8>) -> Vec<u8> + Send + Sync + 'static,
) -> String {
    rewriting_proxy(upstream, move |path, status, body| {
        (status, tamper(path, body))
    })
    .await
}

/// Serves fixed bodies by path and query; anything else is a 404.
async fn serve_files(files: HashMap<String, Vec<u8>>) -> String {
    serve(poem::endpoint::make_sync(
        move |request: Request| match files.get(&request.original_uri().to_string()) {
            Some(body) => answer(200, body.clone()),
            None => answer(404, b"{}".to_vec()),
        },
    ))
    .await
}

/// Rewrites the entries of the bundle at `path` with `edit`.
fn edit_bundle(
    path: &'static str,
    edit: impl Fn(&mut Vec<Vec<u8>>) + Send + Sync + 'static,
) -> impl Fn(&str, Vec<u8>) -> Vec<u8> + Send + Sync + 'static {
    move |requested, body| {
        if requested != path {
            return body;
        }
        let mut entries: Vec<Vec<u8>> = decode_entry_bundle(&body)
            .unwrap()
            .into_iter()
            .map(<[u8]>::to_vec)
            .collect();
        edit(&mut entries);
        encode_entry_bundle(&entries).unwrap()
    }
}

/// Rewrites the checkpoint of root `position` in `/v1/roots` with `edit`.
fn edit_root(
    position: usize,
    edit: impl Fn(&str) -> String + Send + Sync + 'static,
) -> impl Fn(&str, Vec<u8>) -> Vec<u8> + Send + Sync + 'static {
    move |requested, body| {
        if !requested.starts_with("/v1/roots?") {
            return body;
        }
        let mut roots: Value = serde_json::from_slice(&body).unwrap();
        let checkpoint = &mut roots[position]["checkpoint"];
        *checkpoint = Value::from(edit(checkpoint.as_str().unwrap()));
        serde_json::to_vec(&roots).unwrap()
    }
}

#[tokio::test]
async fn an_honest_log_verifies_and_monitor_mode_sees_it_grow() {
    let dir = tempfile::tempdir().unwrap();
    let server = three_report_days(dir.path()).await;
    let key = key_of(&server);

    let report = run_verify(&server.base, &key, None).await.unwrap();
    assert_eq!(report.roots, 4);
    assert_eq!(report.size, 9);
    assert_eq!(report.days, Some((november(1), november(4))));
    assert_eq!(report.growth, None);
    let (_, latest) = server.get_json("/v1/roots/latest").await;
    assert_eq!(report.root_hash.to_hex(), latest["root_hash"]);

    let state = dir.path().join("monitor.json");
    let first = run_verify(&server.base, &key, Some(&state)).await.unwrap();
    assert_eq!(first.growth, None, "nothing was remembered yet");
    grow(&server, &[(5, 3)]).await;
    let second = run_verify(&server.base, &key, Some(&state)).await.unwrap();
    assert_eq!(second.growth, Some(Growth { from: 9, to: 12 }));
    assert!(
        second.to_string().contains("log grew from 9 to 12 entries"),
        "{second}"
    );
    let third = run_verify(&server.base, &key, Some(&state)).await.unwrap();
    assert_eq!(third.growth, Some(Growth { from: 12, to: 12 }));
    assert!(third.to_string().contains("unchanged"), "{third}");
}

#[tokio::test]
async fn a_wrong_key_or_no_root_yet() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(dir.path()).await;
    let report = run_verify(&server.base, &key_of(&server), None)
        .await
        .unwrap();
    assert_eq!((report.roots, report.days), (0, None));

    let stranger = SigningKey::generate(ORIGIN, &mut rand::rng()).unwrap();
    let error = run_verify(&server.base, &stranger.verifier_key(), None)
        .await
        .unwrap_err();
    assert!(matches!(error, VerifyError::KeyMismatch { .. }), "{error}");
}

fn report_fields(nonce: &str, tokens_created: u64) -> ReportFields {
    ReportFields {
        nonce: nonce.to_owned(),
        usage: Usage {
            version: "1.4.2".into(),
            tokens_created,
            tokens_detokenized: 4,
            grants_issued: 3,
        },
    }
}

#[tokio::test]
async fn submit_then_check_the_receipt_before_and_after_publication() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(dir.path()).await;
    post_reports(&server, 2).await;
    let deployment = nonce();
    let options = SubmitOptions {
        url: server.base.clone(),
        report: report_fields(&deployment, 7),
        key: Some(key_of(&server)),
    };
    let submission = submit::submit(&options).await.unwrap();
    assert!(!submission.replayed);
    assert_eq!(submission.promise.answer.day, "2026-11-01");
    let file = dir.path().join("promise.json");
    submission.promise.save(&file).unwrap();
    let saved = std::fs::read_to_string(&file).unwrap();
    assert!(!saved.contains(&deployment), "the nonce is never saved");

    let again = submit::submit(&options).await.unwrap();
    assert!(again.replayed);
    assert_eq!(again.promise, submission.promise);
    let different = SubmitOptions {
        report: report_fields(&deployment, 8),
        ..options.clone()
    };
    let error = submit::submit(&different).await.unwrap_err();
    assert!(matches!(error, SubmitError::Conflict { .. }), "{error}");
    let stranger = SigningKey::generate(ORIGIN, &mut rand::rng()).unwrap();
    let wrong_key = SubmitOptions {
        key: Some(stranger.verifier_key()),
        ..options.clone()
    };
    let error = submit::submit(&wrong_key).await.unwrap_err();
    assert!(matches!(error, SubmitError::KeyMismatch { .. }), "{error}");

    match submit::check(&file, &WitnessQuorum::default()).await {
        Err(CheckError::Pending { publish_after }) => {
            assert_eq!(publish_after, "2026-11-02T00:00:00Z")
        }
        other => panic!("expected pending, got {other:?}"),
    }

    server.set_time(at(2, 0)).await;
    let checked = submit::check(&file, &WitnessQuorum::default())
        .await
        .unwrap();
    assert_eq!((checked.day, checked.day_size), (november(1), 3));
    assert_eq!(checked.latest_size, 3);
    assert_eq!(
        checked.record_hash.to_hex(),
        submission.promise.answer.record_hash
    );

    grow(&server, &[(2, 2)]).await;
    let later = submit::check(&file, &WitnessQuorum::default())
        .await
        .unwrap();
    assert_eq!((later.day_size, later.latest_size), (3, 5));
    assert!(later.to_string().contains("consistent"), "{later}");
}

/// The verified promise of a report of a new deployment.
async fn submitted_promise(server: &TestServer) -> SavedPromise {
    let options = SubmitOptions {
        url: server.base.clone(),
        report: report_fields(&nonce(), 7),
        key: None,
    };
    submit::submit(&options).await.unwrap().promise
}

#[tokio::test]
async fn with_hourly_roots_a_receipt_is_checked_against_the_last_root_of_its_day() {
    let dir = tempfile::tempdir().unwrap();
    let hourly = Period::from_seconds(3600).unwrap();
    let server = TestServer::start(
        config(dir.path(), ORIGIN, hourly),
        ManualClock::new(at(1, 10)),
    )
    .await;
    let file = dir.path().join("promise.json");
    submitted_promise(&server).await.save(&file).unwrap();
    server.set_time(at(1, 11)).await;
    post_reports(&server, 2).await;
    server.set_time(at(1, 12)).await;
    // The receipt's root is the root of 11:00 (size 1); the root of the
    // day so far is the root of 12:00 (size 3), which must extend it.
    let checked = submit::check(&file, &WitnessQuorum::default())
        .await
        .unwrap();
    assert_eq!((checked.index, checked.day_size), (0, 3));
    let report = run_verify(&server.base, &key_of(&server), None)
        .await
        .unwrap();
    assert_eq!((report.roots, report.size), (2, 3));
}

#[tokio::test]
async fn a_receipt_whose_entry_is_not_the_promised_record_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(dir.path()).await;
    let mut promise = submitted_promise(&server).await;
    server.set_time(at(2, 0)).await;
    // The receipt now comes through a proxy that changes the entry's count.
    promise.url = tampering_proxy(&server.base, |path, body| {
        if !path.starts_with("/v1/receipts/") {
            return body;
        }
        String::from_utf8(body)
            .unwrap()
            .replace(r#"\"tokens_created\":7"#, r#"\"tokens_created\":9"#)
            .into_bytes()
    })
    .await;
    let file = dir.path().join("promise.json");
    promise.save(&file).unwrap();
    let error = submit::check(&file, &WitnessQuorum::default())
        .await
        .unwrap_err();
    assert!(matches!(error, CheckError::EntryMismatch { .. }), "{error}");
}

/// A log that withholds receipts: 404, as for a record never received.
fn withheld_receipt(path: &str) -> Option<(u16, Vec<u8>)> {
    path.starts_with("/v1/receipts/")
        .then(|| (404, br#"{"status":404}"#.to_vec()))
}

#[tokio::test]
async fn a_receipt_still_missing_once_the_promised_root_is_signed_is_a_broken_promise() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(dir.path()).await;
    let mut promise = submitted_promise(&server).await;
    promise.url = rewriting_proxy(&server.base, |path, status, body| {
        withheld_receipt(path).unwrap_or((status, body))
    })
    .await;
    let file = dir.path().join("promise.json");
    promise.save(&file).unwrap();
    match submit::check(&file, &WitnessQuorum::default()).await {
        Err(CheckError::Pending { publish_after }) => {
            assert_eq!(publish_after, "2026-11-02T00:00:00Z")
        }
        other => panic!("before the root of its period: {other:?}"),
    }
    server.set_time(at(2, 0)).await;
    match submit::check(&file, &WitnessQuorum::default()).await {
        Err(CheckError::NotPublished { period_end, .. }) => {
            assert_eq!(period_end, "2026-11-02T00:00:00Z")
        }
        other => panic!("after the root of its period: {other:?}"),
    }
}

/// The day a root is served with is not signed: a log that withholds a
/// receipt and serves an old `period_end` is caught by its latest signed
/// root's last entry, which is of a later day than the promise's.
#[tokio::test]
async fn a_receipt_withheld_behind_an_old_period_end_is_a_broken_promise() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(dir.path()).await;
    let mut promise = submitted_promise(&server).await;
    server.set_time(at(2, 8)).await;
    assert_eq!(server.post(report(&nonce(), 7)).await.0, 202);
    server.set_time(at(3, 0)).await;
    promise.url = rewriting_proxy(&server.base, |path, status, body| {
        if let Some(withheld) = withheld_receipt(path) {
            return withheld;
        }
        if path == "/v1/roots/latest" {
            let mut root: Value = serde_json::from_slice(&body).unwrap();
            root["period_end"] = json!("2026-11-01T00:00:00Z");
            return (status, serde_json::to_vec(&root).unwrap());
        }
        (status, body)
    })
    .await;
    let file = dir.path().join("promise.json");
    promise.save(&file).unwrap();
    match submit::check(&file, &WitnessQuorum::default()).await {
        Err(CheckError::NotPublishedBefore {
            size: 2,
            later,
            promised,
        }) => {
            assert_eq!(
                (later.to_string(), promised.to_string()),
                ("2026-11-02".into(), "2026-11-01".into())
            )
        }
        other => panic!("an old period_end hid the publication: {other:?}"),
    }
}

/// A proxy that passes `/v1/stats` answers, or only `?day=` ones for
/// `day`, through `edit`.
async fn stats_tampering_proxy(
    upstream: &str,
    day: Option<Day>,
    edit: impl Fn(&mut Value) + Send + Sync + 'static,
) -> String {
    let tampered = match day {
        None => "/v1/stats".to_owned(),
        Some(day) => format!("/v1/stats?day={day}"),
    };
    tampering_proxy(upstream, move |path, body| {
        if path != tampered {
            return body;
        }
        let mut stats: Value = serde_json::from_slice(&body).unwrap();
        edit(&mut stats);
        serde_json::to_vec(&stats).unwrap()
    })
    .await
}

/// Issue 19: every number of `/v1/stats` is recomputed from the verified
/// entries at the root it names; a changed one fails the audit, named.
#[tokio::test]
async fn the_stats_are_recomputed_and_a_changed_number_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let server = three_report_days(dir.path()).await;
    let key = key_of(&server);

    let report = run_verify(&server.base, &key, None).await.unwrap();
    assert_eq!(report.stats_days, [november(4)]);
    assert!(
        report.to_string().contains(
            "stats recomputed from the entries match those served at the root of 2026-11-04"
        ),
        "{report}"
    );

    type Change = (&'static str, fn(&mut Value));
    let changes: [Change; 5] = [
        ("totals.tokens_created", |s| {
            let sum: u128 = s["totals"]["tokens_created"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            s["totals"]["tokens_created"] = (sum + 1).to_string().into();
        }),
        ("active_deployments.last_7_days", |s| {
            s["active_deployments"]["last_7_days"] = 5.into();
        }),
        ("reports_per_day[1].reports", |s| {
            s["reports_per_day"][1]["reports"] = 1.into();
        }),
        ("versions[0].deployments", |s| {
            s["versions"][0]["deployments"] = 99.into();
        }),
        ("unlisted_versions", |s| s["unlisted_versions"] = 1.into()),
    ];
    for (field, change) in changes {
        let proxy = stats_tampering_proxy(&server.base, None, change).await;
        match run_verify(&proxy, &key, None).await {
            Err(error @ VerifyError::StatsDiffer { .. }) => {
                let VerifyError::StatsDiffer {
                    request,
                    field: named,
                    ..
                } = &error
                else {
                    unreachable!()
                };
                assert_eq!((request.as_str(), named.as_str()), ("GET /v1/stats", field));
                assert!(error.to_string().contains(field), "{error}");
            }
            other => panic!("{field} changed: {other:?}"),
        }
    }

    // Stats still being computed (503, as the server answers when its
    // request time runs out) are asked for again.
    let busy = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let proxy = rewriting_proxy(&server.base, move |path, status, body| {
        if path == "/v1/stats" && busy.swap(false, std::sync::atomic::Ordering::SeqCst) {
            return (503, b"computing".to_vec());
        }
        (status, body)
    })
    .await;
    let report = run_verify(&proxy, &key, None).await.unwrap();
    assert_eq!(report.stats_days, [november(4)]);

    // Stats that name a root the log never signed.
    let proxy = stats_tampering_proxy(&server.base, None, |s| {
        s["root_hash"] = Hash::ZERO.to_hex().into();
    })
    .await;
    match run_verify(&proxy, &key, None).await {
        Err(VerifyError::StatsRootNotSigned { size: 9, .. }) => {}
        other => panic!("an unsigned root named: {other:?}"),
    }

    // Monitor mode checks the stats of every day signed since its last run,
    // served at `?day=`.
    let state = dir.path().join("monitor.json");
    run_verify(&server.base, &key, Some(&state)).await.unwrap();
    grow(&server, &[(5, 3), (6, 2), (7, 1)]).await;
    let proxy = stats_tampering_proxy(&server.base, Some(november(5)), |s| {
        s["active_deployments"]["last_1_day"] = 4.into();
    })
    .await;
    match run_verify(&proxy, &key, Some(&state)).await {
        Err(VerifyError::StatsDiffer { request, field, .. }) => {
            assert_eq!(request, "GET /v1/stats?day=2026-11-05");
            assert_eq!(field, "active_deployments.last_1_day");
        }
        other => panic!("a day's stats changed: {other:?}"),
    }
    let honest = run_verify(&server.base, &key, Some(&state)).await.unwrap();
    assert_eq!(honest.stats_days, [november(5), november(6), november(7)]);
}

#[tokio::test]
async fn a_tampering_server_is_caught_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let server = three_report_days(dir.path()).await;
    let key = key_of(&server);
    let bundle = "/tile/entries/000.p/9";

    // One byte of entry 4 changed: a digit of its tokens_created.
    let one_byte = edit_bundle(bundle, |entries| {
        let entry = &mut entries[4];
        let at = String::from_utf8_lossy(entry)
            .find("\"tokens_created\":1")
            .unwrap();
        entry[at + "\"tokens_created\":".len()] = b'2';
    });
    let proxy = tampering_proxy(&server.base, one_byte).await;
    match run_verify(&proxy, &key, None).await {
        Err(VerifyError::LeafNotInTile { index: 4, .. }) => {}
        other => panic!("one byte changed: {other:?}"),
    }

    let not_schema_1 = edit_bundle(bundle, |entries| {
        entries[6] = String::from_utf8_lossy(&entries[6])
            .replace("\"schema\":1", "\"schema\":2")
            .into_bytes();
    });
    let proxy = tampering_proxy(&server.base, not_schema_1).await;
    match run_verify(&proxy, &key, None).await {
        Err(VerifyError::InvalidEntry { index: 6, error }) => {
            assert_eq!(error.field(), Some("schema"))
        }
        other => panic!("schema 2: {other:?}"),
    }

    let dropped = edit_bundle(bundle, |entries| {
        entries.remove(4);
    });
    let proxy = tampering_proxy(&server.base, dropped).await;
    match run_verify(&proxy, &key, None).await {
        Err(VerifyError::WrongEntryCount {
            found: 8,
            expected: 9,
            ..
        }) => {}
        other => panic!("entry dropped: {other:?}"),
    }

    // A swap is also out of order, but the chain breaks first: entry 3's
    // prev names entry 3, not entry 2.
    let swapped = edit_bundle(bundle, |entries| entries.swap(3, 4));
    let proxy = tampering_proxy(&server.base, swapped).await;
    match run_verify(&proxy, &key, None).await {
        Err(VerifyError::BrokenChain { index: 3, .. }) => {}
        other => panic!("entries swapped: {other:?}"),
    }

    // Root 1 is the root of November 2nd. A character in the middle of its
    // signature changes signature bits (the last may only hold padding).
    let bad_signature = edit_root(1, |checkpoint| {
        let line = checkpoint.rfind("— ").unwrap();
        let mut text = checkpoint.to_owned();
        let at = text.len() - 20;
        assert!(at > line);
        let flipped = if &text[at..=at] == "A" { "B" } else { "A" };
        text.replace_range(at..=at, flipped);
        text
    });
    let proxy = tampering_proxy(&server.base, bad_signature).await;
    match run_verify(&proxy, &key, None).await {
        Err(VerifyError::RootSignature { position: 1, .. }) => {}
        other => panic!("signature altered: {other:?}"),
    }

    let impostor = SigningKey::generate(ORIGIN, &mut rand::rng()).unwrap();
    let other_key = edit_root(2, move |checkpoint| {
        let text = &checkpoint[..checkpoint.find("\n\n").unwrap() + 1];
        impostor.sign_note(text).unwrap()
    });
    let proxy = tampering_proxy(&server.base, other_key).await;
    match run_verify(&proxy, &key, None).await {
        Err(VerifyError::RootSignature { position: 2, .. }) => {}
        other => panic!("signed by another key: {other:?}"),
    }

    let served_tile = |path: &str, body: Vec<u8>| {
        if path != "/tile/0/000.p/9" {
            return body;
        }
        let mut body = body;
        body[32 * 5] ^= 1;
        body
    };
    let proxy = tampering_proxy(&server.base, served_tile).await;
    match run_verify(&proxy, &key, None).await {
        Err(VerifyError::TilesRootMismatch { size: 9, .. }) => {}
        other => panic!("hash tile altered: {other:?}"),
    }

    // The proxy itself, passing everything through, is fine.
    let proxy = tampering_proxy(&server.base, |_, body| body).await;
    run_verify(&proxy, &key, None).await.unwrap();
}

#[tokio::test]
async fn a_history_rewritten_between_monitor_runs_is_caught() {
    let dir_a = tempfile::tempdir().unwrap();
    let dir_b = tempfile::tempdir().unwrap();
    let server_a = start_server(dir_a.path()).await;
    let key_text = std::fs::read_to_string(dir_a.path().join(KEY_FILE)).unwrap();
    let signing_key = SigningKey::parse(key_text.trim_end()).unwrap();
    // Log B: the same key, a different history.
    DataDir::create_with_key(dir_b.path(), signing_key).unwrap();
    let server_b = start_server(dir_b.path()).await;
    grow(&server_a, &[(1, 3)]).await;
    grow(&server_b, &[(1, 5)]).await;
    let key = key_of(&server_a);
    assert_eq!(key, key_of(&server_b));
    run_verify(&server_b.base, &key, None).await.unwrap();

    let state = dir_a.path().join("monitor.json");
    run_verify(&server_a.base, &key, Some(&state))
        .await
        .unwrap();
    match run_verify(&server_b.base, &key, Some(&state)).await {
        Err(VerifyError::HistoryRewritten {
            remembered: 3,
            latest: 5,
            ..
        }) => {}
        other => panic!("history rewritten: {other:?}"),
    }

    let state = dir_b.path().join("monitor.json");
    run_verify(&server_b.base, &key, Some(&state))
        .await
        .unwrap();
    match run_verify(&server_a.base, &key, Some(&state)).await {
        Err(VerifyError::LogShrank {
            remembered: 5,
            latest: 3,
        }) => {}
        other => panic!("log shrank: {other:?}"),
    }
}

/// A record of a new deployment on `day`.
fn record(day: Day, tokens: u64) -> Record {
    Report::parse(report(&nonce(), tokens).as_bytes())
        .unwrap()
        .to_record(day)
}

/// Records of `count` new deployments on `day`, in deployment order.
fn records(day: Day, count: usize) -> Vec<Record> {
    let mut records: Vec<Record> = (0..count).map(|i| record(day, i as u64)).collect();
    records.sort_by_key(|r| r.deployment);
    records
}

/// Serves a log made here, outside any server: see [`forge_log`].
async fn serve_forged_log(key: &SigningKey, days: &[(Day, Vec<Record>)]) -> String {
    serve_files(forge_log(key, days).files).await
}

/// A log made outside any server, and the files that serve it.
struct ForgedLog {
    tree: MemoryTree,
    entries: Vec<Vec<u8>>,
    roots: Vec<Value>,
    /// Bodies by path and query.
    files: HashMap<String, Vec<u8>>,
}

/// Makes a log outside any server: the `days` in the given order, each
/// day's records appended as given and chained, with tiles, signed roots
/// and consistency proofs, as a malicious operator holding `key` could
/// serve it.
fn forge_log(key: &SigningKey, days: &[(Day, Vec<Record>)]) -> ForgedLog {
    let mut tree = MemoryTree::new();
    let mut entries = Vec::new();
    let mut prev = Hash::ZERO;
    let mut roots = Vec::new();
    for (day, records) in days {
        for record in records {
            let bytes = Entry {
                record: record.clone(),
                prev,
            }
            .to_bytes();
            prev = leaf_hash(&bytes);
            tree.append(prev);
            entries.push(bytes);
        }
        let period_end = Day(day.0.next_day().unwrap());
        roots.push(json!({
            "day": day.to_string(),
            "period_end": format!("{period_end}T00:00:00Z"),
            "size": tree.size(),
            "root_hash": tree.root().to_hex(),
            "checkpoint": Checkpoint::new(key.name(), tree.size(), tree.root()).sign(key).unwrap(),
        }));
    }
    let size = tree.size();
    let mut files = HashMap::new();
    let mut file = |path: String, body: Vec<u8>| files.insert(path, body);
    file(
        "/v1/log".into(),
        json!({
            "origin": key.name(),
            "verifier_key": key.verifier_key().to_string(),
            "size": size,
            "inception_day": days[0].0.to_string(),
        })
        .to_string()
        .into_bytes(),
    );
    let latest = roots.last().unwrap()["checkpoint"].as_str().unwrap();
    file("/checkpoint".into(), latest.as_bytes().to_vec());
    // The stats at the latest root, as the core defines them (none for a
    // log whose latest root is of a day before some of its entries).
    let mut stats = StatsBuilder::new();
    for record in days.iter().flat_map(|(_, records)| records) {
        stats.push(record);
    }
    let latest_root = StatsRoot {
        size,
        root_hash: tree.root(),
        day: days.last().unwrap().0,
    };
    if let Ok(stats) = stats.stats_at(latest_root, days[0].0) {
        file(
            "/v1/stats".into(),
            serde_json::to_vec(&stats_body(&stats)).unwrap(),
        );
    }
    for pair in roots.windows(2) {
        let (old, new) = (
            pair[0]["size"].as_u64().unwrap(),
            pair[1]["size"].as_u64().unwrap(),
        );
        let proof = base64_all(&consistency_proof(old, new, &tree).unwrap());
        file(
            format!("/v1/proofs/consistency?old={old}&new={new}"),
            json!({ "old": old, "new": new, "proof": proof })
                .to_string()
                .into_bytes(),
        );
    }
    file(
        "/v1/roots?start=0&limit=1000".into(),
        Value::from(roots.clone()).to_string().into_bytes(),
    );
    for path in tiles_for_size(size) {
        let TilePath::Hash {
            level,
            index,
            width,
        } = path
        else {
            unreachable!("hash tiles")
        };
        let hashes: Vec<Hash> = (0..u64::from(width))
            .map(|i| tree.node(NodeId::new(level * 8, index * 256 + i)).unwrap())
            .collect();
        file(format!("/{path}"), encode_hash_tile(&hashes));
    }
    for path in entry_bundles_for_size(size) {
        let start = (path.index() * 256) as usize;
        let bundle = &entries[start..start + usize::from(path.width())];
        file(format!("/{path}"), encode_entry_bundle(bundle).unwrap());
    }
    ForgedLog {
        tree,
        entries,
        roots,
        files,
    }
}

/// Proof hashes as served: base64.
fn base64_all(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(Hash::to_base64).collect()
}

impl ForgedLog {
    /// Adds what `lucent submit --check` reads for entry `index`: its
    /// receipt in the first root that covers it, the roots by day and the
    /// latest, and the last entry of each root with its inclusion proof.
    fn with_receipt(mut self, index: u64) -> ForgedLog {
        let json = |value: Value| value.to_string().into_bytes();
        let root = self
            .roots
            .iter()
            .find(|root| root["size"].as_u64().unwrap() > index);
        let (size, checkpoint) = root
            .map(|r| (r["size"].as_u64().unwrap(), r["checkpoint"].clone()))
            .unwrap();
        let entry = &self.entries[index as usize];
        let proof = inclusion_proof(index, size, &self.tree).unwrap();
        let tlog_proof = TlogProof {
            extra: Some(entry.clone()),
            index,
            proof: proof.clone(),
            checkpoint: checkpoint.as_str().unwrap().to_owned(),
        };
        let record = Entry::parse(entry).unwrap().record;
        self.files.insert(
            format!("/v1/receipts/{}", record_hash(&record.to_bytes())),
            json(json!({
                "index": index,
                "entry": String::from_utf8(entry.clone()).unwrap(),
                "leaf_hash": leaf_hash(entry).to_hex(),
                "checkpoint": checkpoint,
                "inclusion_proof": base64_all(&proof),
                "tlog_proof": tlog_proof.to_text(),
            })),
        );
        for root in &self.roots {
            let size = root["size"].as_u64().unwrap();
            self.files.insert(
                format!("/v1/roots/{}", root["day"].as_str().unwrap()),
                json(root.clone()),
            );
            let Some(last) = size.checked_sub(1) else {
                continue;
            };
            let proof = inclusion_proof(last, size, &self.tree).unwrap();
            let entry = &self.entries[last as usize];
            let entry = json!({
                "index": last,
                "entry": String::from_utf8(entry.clone()).unwrap(),
                "leaf_hash": leaf_hash(entry).to_hex(),
            });
            self.files
                .insert(format!("/v1/entries/{last}"), json(entry));
            let proof = json!({ "index": last, "size": size, "proof": base64_all(&proof) });
            self.files.insert(
                format!("/v1/proofs/inclusion?index={last}&size={size}"),
                json(proof),
            );
        }
        let latest = self.roots.last().unwrap().clone();
        self.files.insert("/v1/roots/latest".into(), json(latest));
        self
    }
}

#[tokio::test]
async fn a_forged_log_signed_with_the_log_key_is_caught_by_its_contents() {
    let key = SigningKey::generate(ORIGIN, &mut rand::rng()).unwrap();
    let verifier = key.verifier_key();
    let (d1, d2, d3) = (november(1), november(2), november(3));

    // The forger itself makes a log that verifies when it follows the rules.
    let honest = [(d1, records(d1, 3)), (d2, vec![]), (d3, records(d3, 4))];
    let url = serve_forged_log(&key, &honest).await;
    let report = run_verify(&url, &verifier, None).await.unwrap();
    assert_eq!((report.roots, report.size), (3, 7));

    let mut reversed = records(d3, 4);
    reversed.reverse();
    let out_of_order = [(d1, records(d1, 3)), (d2, vec![]), (d3, reversed)];
    let url = serve_forged_log(&key, &out_of_order).await;
    match run_verify(&url, &verifier, None).await {
        Err(VerifyError::OutOfOrder { index: 4, .. }) => {}
        other => panic!("out of deployment order: {other:?}"),
    }

    // A record of the 3rd published in the root of the 2nd.
    let early = [
        (d1, records(d1, 3)),
        (d2, records(d3, 1)),
        (d3, records(d3, 2)),
    ];
    let url = serve_forged_log(&key, &early).await;
    match run_verify(&url, &verifier, None).await {
        Err(VerifyError::EntryInWrongRoot {
            index: 3, root_day, ..
        }) => assert_eq!(root_day, d2),
        other => panic!("entry in the root of an earlier day: {other:?}"),
    }

    // A record of the 1st held back until the 3rd.
    let late = [(d1, records(d1, 2)), (d2, vec![]), (d3, records(d1, 1))];
    let url = serve_forged_log(&key, &late).await;
    match run_verify(&url, &verifier, None).await {
        Err(VerifyError::EntryInWrongRoot { index: 2, day, .. }) => assert_eq!(day, d1),
        other => panic!("entry in the root of a later day: {other:?}"),
    }

    let mut backwards = records(d3, 2);
    backwards.extend(records(d1, 1));
    let day_decreases = [(d1, records(d1, 2)), (d2, vec![]), (d3, backwards)];
    let url = serve_forged_log(&key, &day_decreases).await;
    match run_verify(&url, &verifier, None).await {
        Err(VerifyError::DayDecreased { index: 4, .. }) => {}
        other => panic!("day decreasing: {other:?}"),
    }

    let missing_day = [(d1, records(d1, 2)), (d3, records(d3, 2))];
    let url = serve_forged_log(&key, &missing_day).await;
    match run_verify(&url, &verifier, None).await {
        Err(VerifyError::MissingDays { after, next }) => assert_eq!((after, next), (d1, d3)),
        other => panic!("a day without a root: {other:?}"),
    }
}

#[tokio::test]
async fn submit_check_catches_a_record_published_in_a_root_of_a_later_day() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::generate(ORIGIN, &mut rand::rng()).unwrap();
    let (d1, d2) = (november(1), november(2));
    let promised = record(d1, 7);
    let check = |log: Vec<Record>| {
        let (dir, key, promised) = (dir.path(), &key, &promised);
        async move {
            // One root, served as the root of the 1st, with the promised
            // record first.
            let forged = forge_log(key, &[(d1, log)]).with_receipt(0);
            let url = serve_files(forged.files).await;
            let file = dir.join("promise.json");
            signed_promise(&url, key, promised, "2026-11-02T00:00:00Z")
                .save(&file)
                .unwrap();
            submit::check(&file, &WitnessQuorum::default()).await
        }
    };

    let honest = check(vec![promised.clone(), record(d1, 8)]).await.unwrap();
    assert_eq!((honest.index, honest.day_size), (0, 2));
    // The root ends with a report of the 2nd: it was signed on the 2nd at
    // the earliest, a day late for the record.
    match check(vec![promised.clone(), record(d2, 8)]).await {
        Err(CheckError::LastEntryOfAnotherDay {
            index: 1,
            found,
            promised,
            ..
        }) => assert_eq!((found, promised), (d2, d1)),
        other => panic!("published a day late: {other:?}"),
    }
}

/// The root of the published tree from its hash tiles alone, fetched here.
async fn root_from_served_tiles(base: &str, size: u64) -> Hash {
    let client = LogClient::new(base).unwrap();
    let mut tiles = HashMap::new();
    for path in tiles_for_size(size)
        .into_iter()
        .filter(TilePath::is_partial)
    {
        let bytes = client.tile(path).await.unwrap();
        tiles.insert(path, parse_hash_tile(&bytes, path.width()).unwrap());
    }
    root_from_tiles(size, |path| tiles.get(&path).cloned().ok_or(())).unwrap()
}

/// Grows a log through sizes on and off tile boundaries, a day each, and
/// checks at each size that the tiles give the signed root.
async fn tiles_match_signed_roots_at(dir: &Path, sizes: &[u64]) -> TestServer {
    let server = start_server(dir).await;
    let key = key_of(&server);
    let mut size = 0;
    for (day, &target) in (1..).zip(sizes) {
        grow(&server, &[(day, (target - size) as usize)]).await;
        size = target;
        let (_, latest) = server.get_json("/v1/roots/latest").await;
        assert_eq!(latest["size"], size);
        let from_tiles = root_from_served_tiles(&server.base, size).await;
        assert_eq!(from_tiles.to_hex(), latest["root_hash"], "size {size}");
        let report = run_verify(&server.base, &key, None).await.unwrap();
        assert_eq!((report.size, report.root_hash), (size, from_tiles));
    }
    server
}

#[tokio::test]
async fn tiles_give_the_signed_roots_on_and_off_tile_boundaries() {
    let dir = tempfile::tempdir().unwrap();
    tiles_match_signed_roots_at(dir.path(), &[0, 1, 255, 256, 257]).await;
}

#[tokio::test]
#[ignore = "65 537 reports over HTTP: slow in debug builds; run with --release --ignored"]
async fn tiles_give_the_signed_roots_past_a_level_two_tile() {
    let dir = tempfile::tempdir().unwrap();
    let sizes = [0, 1, 255, 256, 257, 65_537];
    let server = tiles_match_signed_roots_at(dir.path(), &sizes).await;
    // A full tile above level 0 is not needed for the root (the tile above
    // sums it up); the rebuild checks each of its hashes.
    let proxy = tampering_proxy(&server.base, |path, mut body| {
        if path == "/tile/1/000" {
            body[32 * 7] ^= 1;
        }
        body
    })
    .await;
    match run_verify(&proxy, &key_of(&server), None).await {
        Err(VerifyError::TileHashMismatch { position: 7, .. }) => {}
        other => panic!("full level-1 tile altered: {other:?}"),
    }
}

/// Runs the `lucent` binary, returning its exit code, stdout and stderr.
async fn lucent(args: Vec<String>) -> (i32, String, String) {
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_lucent"))
            .args(args)
            .env_remove("LUCENT_NONCE")
            .env_remove("LUCENT_STATE_DIR")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_exits_non_zero_and_names_the_failure() {
    let dir = tempfile::tempdir().unwrap();
    let server = three_report_days(dir.path()).await;
    let key = key_of(&server).to_string();
    let state = dir.path().join("state.json").display().to_string();

    let verify_args = |url: &str| -> Vec<String> {
        ["verify", url, "--key", &key, "--state", &state]
            .map(String::from)
            .to_vec()
    };
    let (code, stdout, stderr) = lucent(verify_args(&server.base)).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("verified 4 signed roots"), "{stdout}");

    let swapped = tampering_proxy(
        &server.base,
        edit_bundle("/tile/entries/000.p/9", |entries| entries.swap(3, 4)),
    )
    .await;
    let (code, _, stderr) = lucent(verify_args(&swapped)).await;
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("entry 3 breaks the hash chain"), "{stderr}");

    let promise = dir.path().join("promise.json").display().to_string();
    let state_dir = dir.path().join("reporter");
    let state = state_dir.display().to_string();
    let submit_args = [
        "submit",
        &server.base,
        "--state-dir",
        &state,
        "--version",
        "2.0.0-rc.1",
        "--tokens-created",
        "5",
        "--tokens-detokenized",
        "6",
        "--grants-issued",
        "7",
        "--out",
        &promise,
    ];
    let (code, stdout, stderr) = lucent(submit_args.map(String::from).to_vec()).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("promise saved to"), "{stdout}");
    // Without --key, it says whose key it trusted.
    assert!(
        stderr.contains(&format!(
            "trusted the verifier key that the server sent, {key}; pin it with --key"
        )),
        "{stderr}"
    );
    let kept = state_dir.join("promises").join("2026-11-05.json");
    assert!(
        stdout.contains(&format!("promise kept in {}", kept.display())),
        "{stdout}"
    );
    assert_eq!(
        std::fs::read_to_string(&kept).unwrap(),
        std::fs::read_to_string(&promise).unwrap()
    );
    // The nonce made on first use: private, and reused by the next run,
    // which the log answers with the same promise.
    let nonce_file = state_dir.join("nonce");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&nonce_file.metadata().unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    let (code, stdout, stderr) = lucent(submit_args.map(String::from).to_vec()).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("already accepted today"), "{stdout}");

    let check_args = ["submit", "--check", &promise].map(String::from).to_vec();
    let (code, _, stderr) = lucent(check_args.clone()).await;
    assert_eq!(code, lucent::cli::PENDING_EXIT_CODE, "{stderr}");
    assert!(stderr.contains("not published yet"), "{stderr}");
    let check_kept = ["submit", "--check", &state].map(String::from).to_vec();
    let (code, _, stderr) = lucent(check_kept.clone()).await;
    assert_eq!(code, lucent::cli::PENDING_EXIT_CODE, "{stderr}");
    assert!(stderr.contains("not published yet"), "{stderr}");
    server.set_time(at(6, 0)).await;
    let (code, stdout, stderr) = lucent(check_args).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("exactly as promised"), "{stdout}");
    // The kept promise, checked from the state directory, moves to verified/.
    let (code, stdout, stderr) = lucent(check_kept.clone()).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("exactly as promised"), "{stdout}");
    assert!(!kept.exists());
    assert!(state_dir.join("verified").join("2026-11-05.json").exists());
    let (code, stdout, stderr) = lucent(check_kept).await;
    assert_eq!((code, stdout.as_str()), (0, ""), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a million entries: run with --release --ignored --nocapture to see the time"]
async fn a_million_entries_verify_quickly() {
    let key = SigningKey::generate(ORIGIN, &mut rand::rng()).unwrap();
    let days: Vec<(Day, Vec<Record>)> = (1..=4)
        .map(|day| (november(day), records(november(day), 250_000)))
        .collect();
    let url = serve_forged_log(&key, &days).await;
    let started = std::time::Instant::now();
    let report = run_verify(&url, &key.verifier_key(), None).await.unwrap();
    let elapsed = started.elapsed();
    assert_eq!(report.size, 1_000_000);
    println!("verified 1 000 000 entries in {elapsed:.2?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a million reports to a real server: minutes; run with --release --ignored --nocapture"]
async fn a_million_entries_from_a_real_server_verify_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(dir.path()).await;
    let started = std::time::Instant::now();
    stream::iter(0..1_000_000u64)
        .map(|i| {
            let server = &server;
            async move {
                let (status, body) = server.post(report(&nonce(), i)).await;
                assert_eq!(status, 202, "{body}");
            }
        })
        .buffer_unordered(64)
        .collect::<()>()
        .await;
    println!("posted in {:.2?}", started.elapsed());
    let started = std::time::Instant::now();
    server.set_time(at(2, 0)).await;
    println!("published in {:.2?}", started.elapsed());
    let started = std::time::Instant::now();
    let report = run_verify(&server.base, &key_of(&server), None)
        .await
        .unwrap();
    println!(
        "verified {} entries in {:.2?}",
        report.size,
        started.elapsed()
    );
}
