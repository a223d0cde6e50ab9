//! SPEC sections 4, 5 (receipts) and 7: daily roots, receipts, and a log
//! that refuses to fork.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use common::{TestServer, config, load, nonce, report};
use lucent::clock::ManualClock;
use lucent::datadir::DataDir;
use lucent_core::Hash;
use lucent_core::hash::leaf_hash;
use lucent_core::note::SigningKey;
use lucent_core::period::Period;
use lucent_core::record::Entry;
use lucent_core::tlog_proof::TlogProof;
use serde_json::Value;
use time::OffsetDateTime;
use time::macros::datetime;
use tokio::sync::Mutex;

const ORIGIN: &str = "test.example/lucent";

fn at(day: &str, hour: u8, minute: u8) -> OffsetDateTime {
    let date = time::Date::parse(
        day,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .unwrap();
    date.with_hms(hour, minute, 0).unwrap().assume_utc()
}

async fn all_entries(server: &TestServer) -> Vec<Value> {
    let (status, page) = server.get_json("/v1/entries?start=0&limit=1000").await;
    assert_eq!(status, 200);
    page["entries"].as_array().unwrap().clone()
}

#[tokio::test]
async fn the_vector_log_is_reproduced_byte_for_byte() {
    let vectors = load("lucent/log.json");
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::parse(vectors["key"]["private_key"].as_str().unwrap()).unwrap();
    DataDir::create_with_key(dir.path(), key).unwrap();
    let origin = vectors["origin"].as_str().unwrap();
    let clock = ManualClock::new(at(vectors["inception_day"].as_str().unwrap(), 0, 0));
    let server = TestServer::start(config(dir.path(), origin, Period::DAY), clock).await;

    for report in vectors["reports"].as_array().unwrap() {
        let day = report["day"].as_str().unwrap();
        server
            .set_time(at(day, 8, report["arrival"].as_u64().unwrap() as u8))
            .await;
        let (status, promise) = server
            .post(report["body"].as_str().unwrap().to_owned())
            .await;
        assert_eq!(status, 202, "{promise}");
        for field in [
            "day",
            "deployment",
            "record",
            "record_hash",
            "publish_after",
            "promise",
        ] {
            assert_eq!(promise[field], report[field], "{field}");
        }
        // Before publication a pending record's receipt is, status and
        // body, the answer for a record never received: nobody can poll a
        // guessed record to learn whether or when a deployment reported.
        let receipt = |hash: &str| format!("/v1/receipts/{hash}");
        let pending = server
            .get_bytes(&receipt(report["record_hash"].as_str().unwrap()))
            .await;
        assert_eq!(pending.0, 404);
        assert_eq!(pending, server.get_bytes(&receipt(&"0".repeat(64))).await);
    }
    server.set_time(datetime!(2026-11-27 00:00:00 UTC)).await;

    let (_, roots) = server.get_json("/v1/roots").await;
    let want_roots = vectors["roots"].as_array().unwrap();
    assert_eq!(roots.as_array().unwrap().len(), want_roots.len());
    for (got, want) in roots.as_array().unwrap().iter().zip(want_roots) {
        assert_eq!(got["day"], want["day"]);
        assert_eq!(got["period_end"], want["period_end"]);
        assert_eq!(got["size"], want["size"]);
        assert_eq!(got["root_hash"], want["root_hash"]);
        assert_eq!(got["checkpoint"], want["signed_checkpoint"]);
        let (_, of_day) = server
            .get_json(&format!("/v1/roots/{}", want["day"].as_str().unwrap()))
            .await;
        assert_eq!(of_day["checkpoint"], want["signed_checkpoint"]);
    }
    let (status, checkpoint) = server.get_bytes("/checkpoint").await;
    assert_eq!(status, 200);
    assert_eq!(
        checkpoint,
        want_roots.last().unwrap()["signed_checkpoint"]
            .as_str()
            .unwrap()
            .as_bytes()
    );

    let entries = all_entries(&server).await;
    let want_entries = vectors["entries"].as_array().unwrap();
    assert_eq!(entries.len(), want_entries.len());
    for (got, want) in entries.iter().zip(want_entries) {
        assert_eq!(got["index"], want["index"]);
        assert_eq!(got["entry"], want["entry"]);
        assert_eq!(got["leaf_hash"], want["leaf_hash"]);
        let (status, receipt) = server
            .get_json(&format!(
                "/v1/receipts/{}",
                want["record_hash"].as_str().unwrap()
            ))
            .await;
        assert_eq!(status, 200, "{receipt}");
        assert_eq!(receipt["index"], want["index"]);
        assert_eq!(receipt["entry"], want["entry"]);
        assert_eq!(receipt["leaf_hash"], want["leaf_hash"]);
        assert_eq!(receipt["inclusion_proof"], want["inclusion_proof"]);
        assert_eq!(receipt["tlog_proof"], want["tlog_proof"]);
    }
    for consistency in vectors["consistency"].as_array().unwrap() {
        let path = format!(
            "/v1/proofs/consistency?old={}&new={}",
            consistency["old"], consistency["new"]
        );
        let (status, proof) = server.get_json(&path).await;
        assert_eq!(status, 200, "{proof}");
        assert_eq!(
            proof["proof"], consistency["proof"],
            "{}",
            consistency["desc"]
        );
    }
    // Tiles at the final size (7); the size-4 tiles are prefixes of them.
    for tile in vectors["tiles"].as_array().unwrap() {
        let (status, bytes) = server
            .get_bytes(&format!("/{}", tile["path"].as_str().unwrap()))
            .await;
        assert_eq!(status, 200);
        let want = base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            tile["data_b64"].as_str().unwrap(),
        )
        .unwrap();
        assert_eq!(bytes, want, "{}", tile["path"]);
    }

    // The stats, worked out by hand from the reports (issue 19; the core's
    // known-answer test lists them), name their root.
    let (status, latest) = server.get_json("/v1/stats").await;
    assert_eq!(status, 200);
    assert_eq!(
        latest,
        serde_json::json!({
            "size": 7,
            "root_hash": want_roots[2]["root_hash"],
            "day": "2026-11-26",
            "active_deployments": {"last_1_day": 3, "last_7_days": 6, "last_30_days": 6},
            "reports_per_day": [
                {"day": "2026-11-24", "reports": 4},
                {"day": "2026-11-25", "reports": 0},
                {"day": "2026-11-26", "reports": 3}
            ],
            "versions": [
                {"version": "1.4.2", "deployments": 3},
                {"version": "1.4.3", "deployments": 2},
                {"version": "1.3.0", "deployments": 1},
                {"version": "2.0.0-rc.1", "deployments": 1}
            ],
            "unlisted_versions": 0,
            "totals": {
                "tokens_created": "9007199254840018",
                "tokens_detokenized": "4422",
                "grants_issued": "27"
            }
        })
    );
    assert_eq!(server.get_json("/v1/stats?day=2026-11-26").await.1, latest);
    let (status, of_25th) = server.get_json("/v1/stats?day=2026-11-25").await;
    assert_eq!(status, 200);
    assert_eq!(
        (&of_25th["size"], &of_25th["root_hash"], &of_25th["day"]),
        (&4.into(), &want_roots[1]["root_hash"], &"2026-11-25".into())
    );
    assert_eq!(of_25th["active_deployments"]["last_1_day"], 0);
    assert_eq!(of_25th["active_deployments"]["last_7_days"], 4);
    assert_eq!(of_25th["totals"]["tokens_created"], "98892");
    assert_eq!(
        of_25th["versions"][0],
        serde_json::json!({"version": "1.4.2", "deployments": 2})
    );
    assert_eq!(server.get_json("/v1/stats?day=2026-11-23").await.0, 404);
    assert_eq!(server.get_json("/v1/stats?day=2026-11-27").await.0, 404);
    assert_eq!(server.get_json("/v1/stats?day=26-11-2026").await.0, 400);
    server.stop().await;
}

/// Reports on days 1 and 3 only, in random order: three roots, each
/// covering exactly its day and before, entries ordered by deployment,
/// the chain intact, every receipt verifying.
#[tokio::test]
async fn three_days_of_roots_receipts_and_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(datetime!(2026-11-24 06:00:00 UTC));
    let server = TestServer::start(config(dir.path(), ORIGIN, Period::DAY), clock).await;
    let key = server.running().verifier_key.clone();
    let mut promises = Vec::new();
    for (day, count) in [("2026-11-24", 9), ("2026-11-26", 7)] {
        for i in 0..count {
            server.set_time(at(day, 8, i)).await;
            let (status, promise) = server.post(report(&nonce(), u64::from(i))).await;
            assert_eq!(status, 202);
            promises.push(promise);
        }
    }
    server.set_time(datetime!(2026-11-27 00:00:00 UTC)).await;
    let (_, roots) = server.get_json("/v1/roots").await;
    let roots = roots.as_array().unwrap();
    let sizes: Vec<u64> = roots.iter().map(|r| r["size"].as_u64().unwrap()).collect();
    assert_eq!(sizes, [9, 9, 16]);
    let days: Vec<&str> = roots.iter().map(|r| r["day"].as_str().unwrap()).collect();
    assert_eq!(days, ["2026-11-24", "2026-11-25", "2026-11-26"]);

    let entries: Vec<Entry> = all_entries(&server)
        .await
        .iter()
        .map(|e| Entry::parse(e["entry"].as_str().unwrap().as_bytes()).unwrap())
        .collect();
    let mut prev = Hash::ZERO;
    for (index, entry) in entries.iter().enumerate() {
        assert_eq!(entry.prev, prev, "the chain breaks at {index}");
        prev = leaf_hash(&entry.to_bytes());
        let root_day = if index < 9 {
            "2026-11-24"
        } else {
            "2026-11-26"
        };
        assert_eq!(entry.record.day.to_string(), root_day);
        if index > 0 && entries[index - 1].record.day == entry.record.day {
            assert!(
                entries[index - 1].record.deployment < entry.record.deployment,
                "order at {index}"
            );
        }
    }
    for promise in &promises {
        let path = format!("/v1/receipts/{}", promise["record_hash"].as_str().unwrap());
        let (status, receipt) = server.get_json(&path).await;
        assert_eq!(status, 200);
        let proof = TlogProof::parse(receipt["tlog_proof"].as_str().unwrap()).unwrap();
        let (checkpoint, entry) = proof.verify_extra(&key).unwrap();
        let entry = Entry::parse(entry).unwrap();
        assert_eq!(
            entry.record.to_bytes(),
            promise["record"].as_str().unwrap().as_bytes()
        );
        let want_size = if promise["day"] == "2026-11-24" {
            9
        } else {
            16
        };
        assert_eq!(checkpoint.size, want_size);
        assert_eq!(receipt["checkpoint"].as_str().unwrap(), proof.checkpoint);
    }
    server.stop().await;
}

/// The write-ahead log holds pages in commit order, that is in arrival
/// order: a publication empties it before the writer takes anything else.
#[tokio::test]
async fn a_publication_leaves_an_empty_write_ahead_log() {
    sqlite_only!();
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(datetime!(2026-11-24 06:00:00 UTC));
    let server = TestServer::start(config(dir.path(), ORIGIN, Period::DAY), clock).await;
    for i in 0..20 {
        assert_eq!(server.post(report(&nonce(), i)).await.0, 202);
    }
    let wal = dir.path().join("lucent.db-wal");
    assert!(std::fs::metadata(&wal).unwrap().len() > 0);
    server.set_time(datetime!(2026-11-25 00:00:00 UTC)).await;
    assert_eq!(std::fs::metadata(&wal).unwrap().len(), 0);
    assert_eq!(all_entries(&server).await.len(), 20);
    server.stop().await;
}

/// Deleted pending records are overwritten, not just unlinked (SPEC
/// section 2): after a publication, the database file, its free pages and
/// its write-ahead log, read as raw bytes, hold no record of the period and
/// name none of its deployments outside the published entries. The files
/// are readable by their owner only. On PostgreSQL, the files of the
/// database's own folder after a checkpoint, where the period's partition
/// is gone whole (its write-ahead log is the operator's, see
/// docs/OPERATING.md).
#[tokio::test]
async fn after_a_publication_no_byte_of_the_files_holds_a_pending_record() {
    let started = std::time::SystemTime::now();
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(datetime!(2026-11-24 06:00:00 UTC));
    let server = TestServer::start(config(dir.path(), ORIGIN, Period::DAY), clock).await;
    let mut promises = Vec::new();
    for i in 0..300 {
        let (status, promise) = server.post(report(&nonce(), i)).await;
        assert_eq!(status, 202);
        promises.push(promise);
    }
    // The publication, and the write-ahead log emptied after it; nothing
    // is written after it, so the files are read in one state (the
    // checkpoint connection copies later commits into the file at any time).
    server.set_time(datetime!(2026-11-25 06:00:00 UTC)).await;

    let paths: Vec<_> = match common::on_postgres() {
        // The files of the database's own tables and indexes (the system
        // catalogues' are numbered below 16384).
        true => common::postgres_files(dir.path(), started)
            .into_iter()
            .filter(|path| {
                let name = path.file_name().unwrap().to_str().unwrap();
                let number = name.split(['_', '.']).next().unwrap();
                !path.parent().unwrap().ends_with("pg_wal")
                    && number.parse::<u32>().is_ok_and(|n| n >= 16384)
            })
            .collect(),
        false => ["lucent.db", "lucent.db-wal", "lucent.db-shm"]
            .into_iter()
            .map(|name| dir.path().join(name))
            .inspect(|path| {
                let mode = std::os::unix::fs::PermissionsExt::mode(
                    &std::fs::metadata(path).unwrap().permissions(),
                );
                assert_eq!(mode & 0o777, 0o600, "{}", path.display());
            })
            .collect(),
    };
    let files: Vec<(String, Vec<u8>)> = paths
        .into_iter()
        .map(|path| (path.display().to_string(), std::fs::read(path).unwrap()))
        .collect();
    let count = |haystack: &[u8], needle: &[u8]| {
        haystack
            .windows(needle.len())
            .filter(|window| *window == needle)
            .count()
    };
    for promise in &promises {
        let record = promise["record"].as_str().unwrap().as_bytes();
        let deployment = promise["deployment"].as_str().unwrap();
        let raw = hex::decode(deployment).unwrap();
        let mut named = Vec::new();
        for (name, bytes) in &files {
            assert_eq!(count(bytes, record), 0, "{name} holds a pending record");
            assert_eq!(count(bytes, &raw), 0, "{name} holds a pending key");
            named.extend(std::iter::repeat_n(
                name,
                count(bytes, deployment.as_bytes()),
            ));
        }
        // Once, in its entry.
        assert_eq!(named.len(), 1, "{deployment} is named in {named:?}");
    }
    if !common::on_postgres() {
        assert_free_pages_are_zero(&files[0].1);
    }
    assert_eq!(all_entries(&server).await.len(), 300);
    server.stop().await;
}

/// Every leaf page on SQLite's free list, if any, holds nothing but zeros. (A trunk
/// page's unused tail may keep the numbers of leaves taken from it: page
/// numbers, no content; the search for records above reads it too.)
fn assert_free_pages_are_zero(db: &[u8]) {
    let be32 = |at: usize| u32::from_be_bytes(db[at..at + 4].try_into().unwrap()) as usize;
    let page_size = match u16::from_be_bytes([db[16], db[17]]) {
        1 => 65_536,
        size => usize::from(size),
    };
    let page = |number: usize| &db[(number - 1) * page_size..number * page_size];
    let (mut trunk, mut free) = (be32(32), 0);
    while trunk != 0 {
        let start = (trunk - 1) * page_size;
        let leaves = be32(start + 4);
        for leaf in 0..leaves {
            let number = be32(start + 8 + 4 * leaf);
            assert!(page(number).iter().all(|b| *b == 0), "free page {number}");
        }
        free += 1 + leaves;
        trunk = be32(start);
    }
    // Often empty: the publication frees `pending`'s pages as it reads
    // them, and the day's entries take them.
    assert_eq!(free, be32(36), "the free list's length");
}

/// The only checkpoint the server signs is the daily root: nothing it
/// answers during a day names the tree that day is building.
#[tokio::test]
async fn no_answer_during_a_day_reveals_the_growing_tree() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(datetime!(2026-11-24 06:00:00 UTC));
    let server = TestServer::start(config(dir.path(), ORIGIN, Period::DAY), clock).await;
    for i in 0..3 {
        assert_eq!(server.post(report(&nonce(), i)).await.0, 202);
    }
    server.set_time(datetime!(2026-11-25 00:00:00 UTC)).await;
    let mut answers = Vec::new();
    let mut record_hashes = Vec::new();
    for i in 0..5 {
        server.set_time(at("2026-11-25", 9, i)).await;
        let (status, promise) = server.post(report(&nonce(), u64::from(i))).await;
        assert_eq!(status, 202);
        let keys: Vec<&String> = promise.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "day",
                "deployment",
                "promise",
                "publish_after",
                "record",
                "record_hash"
            ]
        );
        record_hashes.push(promise["record_hash"].as_str().unwrap().to_owned());
        answers.push(promise.to_string());
        for path in [
            "/v1/log",
            "/v1/roots",
            "/v1/roots/latest",
            "/v1/roots/2026-11-25",
            "/checkpoint",
            "/v1/entries",
            "/tile/0/000.p/3",
            "/tile/0/000.p/4",
            "/v1/proofs/consistency?old=3&new=4",
        ] {
            let (_, body) = server.get_bytes(path).await;
            answers.push(String::from_utf8_lossy(&body).into_owned());
        }
        for hash in &record_hashes {
            let (_, body) = server.get_bytes(&format!("/v1/receipts/{hash}")).await;
            answers.push(String::from_utf8_lossy(&body).into_owned());
        }
    }
    server.set_time(datetime!(2026-11-26 00:00:00 UTC)).await;
    let (_, roots) = server.get_json("/v1/roots").await;
    let published: Vec<String> = roots
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["checkpoint"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(published.len(), 2);
    let day2 = &roots[1];
    assert_eq!(day2["size"], 8);
    let root = Hash::from_hex(day2["root_hash"].as_str().unwrap()).unwrap();
    for answer in &answers {
        assert!(
            !answer.contains(&root.to_hex()) && !answer.contains(&root.to_base64()),
            "{answer}"
        );
        assert!(
            !answer.contains(&published[1]),
            "the day's root leaked: {answer}"
        );
        assert!(
            !answer.contains("\n8\n") && !answer.contains("\"size\":8"),
            "{answer}"
        );
    }
    server.stop().await;
}

/// Reports keep arriving while the period closes: each acknowledged report
/// is in exactly one root, the one its promise names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_period_closes_while_reports_arrive() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(datetime!(2026-11-24 23:59:00 UTC));
    let server = Arc::new(TestServer::start(config(dir.path(), ORIGIN, Period::DAY), clock).await);
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let mut senders = Vec::new();
    for _ in 0..8 {
        let (server, acknowledged) = (server.clone(), acknowledged.clone());
        senders.push(tokio::spawn(async move {
            for i in 0..40 {
                let (status, promise) = server.post(report(&nonce(), i)).await;
                assert_eq!(status, 202, "{promise}");
                acknowledged.lock().await.push(promise);
            }
        }));
    }
    // Midnight passes while the senders are busy.
    while acknowledged.lock().await.len() < 100 {
        tokio::task::yield_now().await;
    }
    server.clock.set(datetime!(2026-11-25 00:00:00 UTC));
    for sender in senders {
        sender.await.unwrap();
    }
    server.set_time(datetime!(2026-11-26 00:00:00 UTC)).await;
    let promises = acknowledged.lock().await.clone();
    assert_eq!(promises.len(), 320);
    let (_, roots) = server.get_json("/v1/roots").await;
    let bounds: BTreeMap<String, (u64, u64)> = roots
        .as_array()
        .unwrap()
        .iter()
        .scan(0, |start, root| {
            let size = root["size"].as_u64().unwrap();
            let range = (*start, size);
            *start = size;
            Some((root["period_end"].as_str().unwrap().to_owned(), range))
        })
        .collect();
    let mut index_of: HashMap<String, u64> = HashMap::new();
    for entry in all_entries(&server).await {
        let parsed = Entry::parse(entry["entry"].as_str().unwrap().as_bytes()).unwrap();
        let record_hash = Hash::sha256(&parsed.record.to_bytes()).to_hex();
        assert!(
            index_of
                .insert(record_hash, entry["index"].as_u64().unwrap())
                .is_none(),
            "an entry twice"
        );
    }
    assert_eq!(index_of.len(), 320);
    let days: Vec<&str> = promises
        .iter()
        .map(|p| p["day"].as_str().unwrap())
        .collect();
    assert!(
        days.contains(&"2026-11-24") && days.contains(&"2026-11-25"),
        "the close happened mid-run"
    );
    for promise in &promises {
        let index = index_of[promise["record_hash"].as_str().unwrap()];
        let (start, end) = bounds[promise["publish_after"].as_str().unwrap()];
        assert!(
            (start..end).contains(&index),
            "{promise} is at {index}, not in {start}..{end}"
        );
    }
    Arc::into_inner(server).unwrap().stop().await;
}
