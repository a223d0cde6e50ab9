//! The crash test: under concurrent load, SIGKILL the server at random
//! moments, with one-second periods so that some kills land while a period
//! is being closed, and restart it each time. Afterwards every promise ever
//! handed out has its entry in the published log, and no entry is there
//! twice.
//!
//! CI runs a short version; `LUCENT_CRASH_CYCLES=25 cargo test --release
//! --test crash -- --nocapture` runs a long one.

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use common::{nonce, report, spawn_binary};
use rand::RngExt as _;
use tokio::sync::{Mutex, watch};

const SERVE: &[&str] = &["--publish-period", "1s", "--rate-limit", "0"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_promise_survives_random_kills() {
    let cycles: usize = std::env::var("LUCENT_CRASH_CYCLES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(6);
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let data = dir.path().join("data");
    let mut server = spawn_binary(&data, SERVE, &log);
    let (base_tx, base_rx) = watch::channel(server.base.clone());
    let promises = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let mut senders = Vec::new();
    for _ in 0..8 {
        let (client, base_rx, promises, stop) = (
            client.clone(),
            base_rx.clone(),
            promises.clone(),
            stop.clone(),
        );
        senders.push(tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let base = base_rx.borrow().clone();
                let sent = client
                    .post(format!("{base}/v1/reports"))
                    .header("content-type", "application/json")
                    .body(report(&nonce(), 1))
                    .send()
                    .await;
                let Ok(response) = sent else {
                    // The server is down: wait for the next one.
                    let mut base_rx = base_rx.clone();
                    let _ = base_rx.changed().await;
                    continue;
                };
                let status = response.status().as_u16();
                if let Ok(body) = response.json::<serde_json::Value>().await {
                    assert!(
                        status == 202 || status == 503,
                        "unexpected {status}: {body}"
                    );
                    if status == 202 {
                        promises.lock().await.push(body);
                    }
                }
            }
        }));
    }
    let mut rng = rand::rng();
    for cycle in 0..cycles {
        // Every other kill lands just after a period boundary (whole
        // seconds), while the writer is closing the period.
        let wait = if cycle % 2 == 0 {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap();
            Duration::from_millis(1000 - u64::from(now.subsec_millis()))
                + Duration::from_millis(rng.random_range(0..15))
        } else {
            Duration::from_millis(rng.random_range(100..1600))
        };
        tokio::time::sleep(wait).await;
        server.child.kill().unwrap(); // SIGKILL
        server.child.wait().unwrap();
        server = spawn_binary(&data, SERVE, &log);
        base_tx.send_replace(server.base.clone());
        eprintln!(
            "cycle {cycle}: {} promises so far",
            promises.lock().await.len()
        );
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for sender in senders {
        sender.await.unwrap();
    }
    let promises = promises.lock().await.clone();
    assert!(promises.len() > 100, "only {} promises", promises.len());

    // Wait, by polling, until the last promised period is published.
    let last = promises
        .iter()
        .map(|p| p["publish_after"].as_str().unwrap().to_owned())
        .max()
        .unwrap();
    let latest = loop {
        let (_, root) = server.get_json(&client, "/v1/roots/latest").await;
        assert!(root.is_object(), "a JSON answer: {root}");
        if root["period_end"]
            .as_str()
            .is_some_and(|end| end >= last.as_str())
        {
            break root;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let size = latest["size"].as_u64().unwrap();
    let mut hashes = HashSet::new();
    let mut start = 0;
    while start < size {
        let (status, page) = server
            .get_json(&client, &format!("/v1/entries?start={start}&limit=1000"))
            .await;
        assert_eq!(status, 200, "{page}");
        for entry in page["entries"].as_array().unwrap() {
            let parsed =
                lucent_core::record::Entry::parse(entry["entry"].as_str().unwrap().as_bytes())
                    .unwrap();
            let record_hash = lucent_core::record::record_hash(&parsed.record.to_bytes()).to_hex();
            assert!(hashes.insert(record_hash), "an entry is in the log twice");
            start += 1;
        }
    }
    for promise in &promises {
        assert!(
            hashes.contains(promise["record_hash"].as_str().unwrap()),
            "a promise was lost: {promise}"
        );
    }
    // And the whole log passes the third-party audit.
    let (status, log_info) = server.get_json(&client, "/v1/log").await;
    assert_eq!(status, 200, "{log_info}");
    let key =
        lucent_core::note::VerifierKey::parse(log_info["verifier_key"].as_str().unwrap()).unwrap();
    let options = lucent::cli::verify::VerifyOptions {
        url: server.base.clone(),
        key,
        state: None,
        witnesses: Default::default(),
    };
    let report =
        lucent::cli::verify::verify(&options, &lucent::cli::progress::Progress::hidden()).await;
    assert!(report.is_ok(), "lucent verify failed: {:?}", report.err());

    let interrupted = std::fs::read_to_string(&log)
        .unwrap()
        .matches("publishing it again")
        .count();
    eprintln!(
        "{cycles} kills ({interrupted} between the state file and the commit), {} promises, \
         {size} entries, all promises published",
        promises.len()
    );
    server.child.kill().unwrap();
    server.child.wait().unwrap();
}
