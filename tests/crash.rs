//! The crash test: under concurrent load, SIGKILL the server at random
//! moments, with one-second periods so that some kills land while a period
//! is being closed, and restart it each time. Afterwards every promise ever
//! handed out has its entry in the published log, and no entry is there
//! twice.
//!
//! CI runs a short version; `LUCENT_CRASH_CYCLES=25 cargo test --release
//! --test crash -- --nocapture` runs a long one.

mod common;

use std::time::Duration;

use common::{Load, spawn_binary};
use rand::RngExt as _;
use tokio::sync::watch;

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
    let (servers_tx, servers) = watch::channel(vec![Some(server.base.clone())]);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let load = Load::start(8, servers, &client);
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
        servers_tx.send_replace(vec![Some(server.base.clone())]);
        eprintln!("cycle {cycle}: {} promises so far", load.promised().await);
    }
    let promises = load.finish().await;
    assert!(promises.len() > 100, "only {} promises", promises.len());

    let size = common::check_published(&client, &server.base, &promises).await;

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
