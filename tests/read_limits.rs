//! The read side under hostile parameters (SPEC section 7): every integer
//! parameter is range-checked, every answer stays within the
//! `x-max-answer-bytes` its operation documents, and nothing answers 5xx.

mod common;

use std::path::Path;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use time::macros::datetime;

use common::{TestServer, config, nonce, report};
use lucent::clock::ManualClock;
use lucent_core::period::Period;

/// A published log: 300 entries in the root of 2026-11-27 (a full entry
/// bundle and a partial one), 3 more in the root of 2026-11-28.
async fn published_log(dir: &Path) -> TestServer {
    let clock = ManualClock::new(datetime!(2026-11-27 08:00 UTC));
    let server = TestServer::start(config(dir, "test.example/lucent", Period::DAY), clock).await;
    for (day, reports) in [
        (datetime!(2026-11-28 08:00 UTC), 300),
        (datetime!(2026-11-29 08:00 UTC), 3),
    ] {
        for tokens in 0..reports {
            let (status, body) = server.post(report(&nonce(), tokens)).await;
            assert_eq!(status, 202, "{body}");
        }
        server.set_time(day).await;
    }
    assert_eq!(server.running().published_size().await.unwrap(), 303);
    server
}

#[tokio::test]
async fn a_start_past_the_signed_integers_is_an_empty_page() {
    let dir = tempfile::tempdir().unwrap();
    let server = published_log(dir.path()).await;
    // 2^64 − 1 and 2^63 once wrapped to a negative index: the whole log,
    // with no page limit.
    for start in [u64::MAX, 1 << 63, (1 << 63) - 1, 303] {
        let (status, page) = server.get_json(&format!("/v1/entries?start={start}")).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(
            page["entries"].as_array().unwrap().len(),
            0,
            "start={start}"
        );
        assert!(page.get("next_after").is_none(), "{page}");
    }
    for after in [u64::MAX, 1 << 63] {
        let path = format!("/v1/deployments/00/entries?after={after}&limit=1000");
        let (status, page) = server.get_json(&path).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(
            page["entries"].as_array().unwrap().len(),
            0,
            "after={after}"
        );
    }
    let (status, roots) = server
        .get_json(&format!("/v1/roots?start={}", u64::MAX))
        .await;
    assert_eq!(status, 400, "{roots}");
    server.stop().await;
}

#[tokio::test]
async fn roots_come_in_pages() {
    let dir = tempfile::tempdir().unwrap();
    let server = published_log(dir.path()).await;
    let (_, all) = server.get_json("/v1/roots").await;
    assert_eq!(all.as_array().unwrap().len(), 2);
    let (_, second) = server.get_json("/v1/roots?start=1&limit=1").await;
    assert_eq!(
        second.as_array().unwrap().as_slice(),
        &all.as_array().unwrap()[1..]
    );
    let (_, beyond) = server.get_json("/v1/roots?start=2").await;
    assert_eq!(beyond.as_array().unwrap().len(), 0);
    server.stop().await;
}

#[tokio::test]
async fn an_entry_bundle_whose_end_wraps_is_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let server = published_log(dir.path()).await;
    // Index 72057594037927935 × 256 + 256 is 2^64: it wrapped (a 500, and
    // a panic in a debug build).
    for path in [
        "/tile/entries/x072/x057/x594/x037/x927/935",
        "/tile/entries/x072/x057/x594/x037/x927/935.p/255",
        "/tile/0/x072/x057/x594/x037/x927/935",
        "/tile/entries/002",
        "/tile/entries/001",
    ] {
        let (status, body) = server.get_bytes(path).await;
        assert_eq!(status, 404, "{path}: {}", String::from_utf8_lossy(&body));
    }
    assert_eq!(server.get_bytes("/tile/entries/001.p/47").await.0, 200);
    server.stop().await;
}

/// A read request the property test makes: the operation it calls (its
/// OpenAPI `operationId`, or `page`) and the path with its query.
#[derive(Debug, Clone)]
struct Read {
    operation: &'static str,
    path: String,
}

/// Percent-encodes every byte but unreserved ones, so that any string is
/// one path segment or one query value.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Integers where ranges end (the log's size, tiles, i64, u64), any u64,
/// negative ones, one past u64, and any text.
fn number() -> BoxedStrategy<String> {
    let edges: Vec<u64> = vec![
        0,
        1,
        2,
        255,
        256,
        257,
        299,
        300,
        302,
        303,
        304,
        999,
        1000,
        1001,
        1 << 20,
        (1 << 63) - 1,
        1 << 63,
        u64::MAX,
    ];
    prop_oneof![
        3 => prop::sample::select(edges).prop_map(|n| n.to_string()),
        2 => any::<u64>().prop_map(|n| n.to_string()),
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => Just("18446744073709551616".to_owned()),
        1 => any::<String>(),
    ]
    .prop_map(|text| encode(&text))
    .boxed()
}

/// A path segment: a number, hex of any length, a day, or any text.
fn segment() -> BoxedStrategy<String> {
    prop_oneof![
        number(),
        "[0-9a-f]{0,70}",
        "20[0-9]{2}-[01][0-9]-[0-3][0-9]",
        any::<String>().prop_map(|text| encode(&text)),
    ]
    .boxed()
}

/// A tile index in C2SP form, canonical or nearly, with or without a
/// partial width.
fn tile_index() -> BoxedStrategy<String> {
    prop_oneof![
        "(x[0-9]{3}/){0,7}[0-9]{3}(\\.p/[0-9]{1,3})?",
        prop::collection::vec(segment(), 1..8).prop_map(|segments| segments.join("/")),
    ]
    .boxed()
}

fn read() -> impl Strategy<Value = Read> {
    let read = |operation: &'static str| move |path: String| Read { operation, path };
    prop_oneof![
        (number(), number())
            .prop_map(|(s, l)| format!("/v1/entries?start={s}&limit={l}"))
            .prop_map(read("listEntries")),
        segment()
            .prop_map(|i| format!("/v1/entries/{i}"))
            .prop_map(read("getEntry")),
        (number(), number())
            .prop_map(|(s, l)| format!("/v1/roots?start={s}&limit={l}"))
            .prop_map(read("listRoots")),
        segment()
            .prop_map(|d| format!("/v1/roots/{d}"))
            .prop_map(read("getRootOfDay")),
        segment()
            .prop_map(|d| format!("/v1/stats?day={d}"))
            .prop_map(read("getStats")),
        (segment(), number(), number())
            .prop_map(|(p, a, l)| format!("/v1/deployments/{p}/entries?after={a}&limit={l}"))
            .prop_map(read("listDeploymentEntries")),
        (number(), number())
            .prop_map(|(i, s)| format!("/v1/proofs/inclusion?index={i}&size={s}"))
            .prop_map(read("getInclusionProof")),
        (number(), number())
            .prop_map(|(o, n)| format!("/v1/proofs/consistency?old={o}&new={n}"))
            .prop_map(read("getConsistencyProof")),
        segment()
            .prop_map(|h| format!("/v1/receipts/{h}"))
            .prop_map(read("getReceipt")),
        (number(), tile_index())
            .prop_map(|(l, i)| format!("/tile/{l}/{i}"))
            .prop_map(read("getHashTile")),
        tile_index()
            .prop_map(|i| format!("/tile/entries/{i}"))
            .prop_map(read("getEntryBundle")),
        segment()
            .prop_map(|p| format!("/deployment?prefix={p}"))
            .prop_map(read("page")),
        prop::sample::select(vec![
            Read {
                operation: "getLog",
                path: "/v1/log".into()
            },
            Read {
                operation: "getCheckpoint",
                path: "/checkpoint".into()
            },
            Read {
                operation: "getLatestRoot",
                path: "/v1/roots/latest".into()
            },
            Read {
                operation: "getStats",
                path: "/v1/stats".into()
            },
            Read {
                operation: "page",
                path: "/".into()
            },
            Read {
                operation: "page",
                path: "/stats".into()
            },
        ]),
    ]
}

/// The pages are not in the OpenAPI description; none is larger than this.
const MAX_PAGE_BYTES: usize = 1 << 20;

/// The `x-max-answer-bytes` of every GET operation, from the served
/// description; each must have one.
async fn documented_maxima(server: &TestServer) -> std::collections::HashMap<String, usize> {
    let (_, spec) = server.get_json("/openapi.json").await;
    let mut maxima = std::collections::HashMap::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        let Some(operation) = item.get("get") else {
            continue;
        };
        let id = operation["operationId"].as_str().unwrap().to_owned();
        let max = operation["x-max-answer-bytes"]
            .as_u64()
            .unwrap_or_else(|| panic!("GET {path} documents no x-max-answer-bytes"));
        maxima.insert(id, max as usize);
    }
    maxima.insert("page".into(), MAX_PAGE_BYTES);
    maxima
}

/// How many entries a page asked with `limit` may hold: 100 by default,
/// 1 to 1 000.
fn page_limit(path: &str) -> usize {
    let limit = path.split_once("limit=").map(|(_, l)| l.parse::<u32>());
    match limit {
        Some(Ok(limit)) => limit.clamp(1, 1000) as usize,
        _ => 100,
    }
}

#[test]
fn no_read_answers_5xx_or_more_than_its_documented_maximum() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server = runtime.block_on(published_log(dir.path()));
    let maxima = runtime.block_on(documented_maxima(&server));
    let mut runner = TestRunner::new(Config {
        cases: 2000,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&read(), |request| {
        let (status, body) = runtime.block_on(server.get_bytes(&request.path));
        let shown = || String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
        prop_assert!(status < 500, "{request:?}: {status} {}", shown());
        let max = maxima[request.operation];
        prop_assert!(
            body.len() <= max,
            "{request:?}: {} bytes > {max}",
            body.len()
        );
        if status == 200 && request.operation.ends_with("Entries") {
            let page: serde_json::Value = serde_json::from_slice(&body).unwrap();
            let entries = page["entries"].as_array().unwrap().len();
            prop_assert!(
                entries <= page_limit(&request.path),
                "{request:?}: {entries} entries"
            );
        }
        Ok(())
    });
    runtime.block_on(server.stop());
    if let Err(failure) = result {
        panic!("{failure}");
    }
}
