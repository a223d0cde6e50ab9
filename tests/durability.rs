//! The real binary: a 2xx survives SIGKILL, and nothing about the client
//! (its address) or its secret (the nonce) reaches the disk or the logs.

mod common;

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{nonce, report, spawn_binary, spawn_binary_logging};
use tokio::sync::Mutex;

const FROZEN: &[&str] = &[
    "--frozen-clock",
    "2026-11-27T12:00:00Z",
    "--rate-limit",
    "0",
];

async fn post(
    client: &reqwest::Client,
    base: &str,
    body: String,
) -> Option<(u16, serde_json::Value)> {
    let response = client
        .post(format!("{base}/v1/reports"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .ok()?;
    let status = response.status().as_u16();
    Some((status, response.json().await.ok()?))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_report_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let data = dir.path().join("data");
    let mut server = spawn_binary(&data, FROZEN, &log);
    let client = reqwest::Client::new();
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let acked = Arc::new(AtomicUsize::new(0));
    let killed = Arc::new(tokio::sync::Notify::new());
    let mut senders = Vec::new();
    for _ in 0..16 {
        let (client, base, acknowledged, acked) = (
            client.clone(),
            server.base.clone(),
            acknowledged.clone(),
            acked.clone(),
        );
        senders.push(tokio::spawn(async move {
            // Each sender keeps going until the server is gone.
            loop {
                let body = report(&nonce(), 7);
                match post(&client, &base, body.clone()).await {
                    Some((202, promise)) => {
                        acknowledged.lock().await.push((body, promise));
                        acked.fetch_add(1, Ordering::SeqCst);
                    }
                    Some((status, problem)) => panic!("unexpected {status}: {problem}"),
                    None => return,
                }
            }
        }));
    }
    // Kill once a few hundred reports are acknowledged, with requests in flight.
    let watcher = {
        let acked = acked.clone();
        let killed = killed.clone();
        tokio::spawn(async move {
            while acked.load(Ordering::SeqCst) < 300 {
                tokio::task::yield_now().await;
            }
            killed.notify_one();
        })
    };
    killed.notified().await;
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    watcher.await.unwrap();
    for sender in senders {
        sender.await.unwrap();
    }
    let acknowledged = acknowledged.lock().await.clone();
    assert!(acknowledged.len() >= 300);

    let restarted = spawn_binary(&data, FROZEN, &log);
    for (body, promise) in &acknowledged {
        // The restarted server takes it again as the same report.
        let (status, again) = post(&client, &restarted.base, body.clone()).await.unwrap();
        assert_eq!(status, 200, "an acknowledged report was lost: {promise}");
        assert_eq!(&again, promise);
    }
    let mut restarted = restarted;
    restarted.child.kill().unwrap();
    restarted.child.wait().unwrap();
}

#[tokio::test]
async fn no_address_and_no_nonce_is_stored_or_logged() {
    let started = std::time::SystemTime::now();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let data = dir.path().join("data");
    // Everything the server and its libraries log, at every level.
    let mut server = spawn_binary_logging(&data, FROZEN, &log, "trace");
    let address: IpAddr = "127.45.67.89".parse().unwrap();
    let client = reqwest::Client::builder()
        .local_address(address)
        .build()
        .unwrap();
    let secret = nonce();
    let (status, promise) = post(&client, &server.base, report(&secret.to_uppercase(), 5))
        .await
        .unwrap();
    assert_eq!(status, 202, "{promise}");
    let (status, _) = post(&client, &server.base, report(&secret, 6))
        .await
        .unwrap();
    assert_eq!(status, 409);
    let (status, _) = post(&client, &server.base, "{\"nonce\": 1}".into())
        .await
        .unwrap();
    assert_eq!(status, 400);
    // Stop gracefully (SIGTERM), so the WAL is folded into the database.
    unsafe_sigterm(server.child.id());
    server.child.wait().unwrap();

    let uuid = uuid::Uuid::parse_str(&secret).unwrap();
    let needles: Vec<(&str, Vec<u8>)> = vec![
        ("address as text", b"127.45.67.89".to_vec()),
        ("address as bytes", vec![127, 45, 67, 89]),
        ("nonce", secret.as_bytes().to_vec()),
        ("nonce in upper case", secret.to_uppercase().into_bytes()),
        ("nonce as bytes", uuid.as_bytes().to_vec()),
    ];
    let mut files: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.push(log.clone());
    match common::on_postgres() {
        true => files.extend(common::postgres_files(&data, started)),
        false => assert!(files.iter().any(|f| f.ends_with("lucent.db"))),
    }
    let log_text = std::fs::read_to_string(&log).unwrap();
    // Reports are counted, not logged one by one with their time of day.
    assert!(
        log_text.contains(r#"accepted=1 replayed=0 refused="400:1 409:1""#),
        "the counts were logged when the server stopped: {log_text}"
    );
    assert!(
        !log_text.contains("/v1/reports"),
        "a report was logged on its own: {log_text}"
    );
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        for (what, needle) in &needles {
            let found = bytes.windows(needle.len()).any(|w| w == needle.as_slice());
            assert!(!found, "{what} found in {}", file.display());
        }
    }
}

fn unsafe_sigterm(pid: u32) {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}
