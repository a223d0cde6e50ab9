//! Limits that hold under abuse: slow clients are cut off, connections are
//! capped, and a full disk answers 503 without losing or half-writing
//! anything, then recovers by itself.

mod common;

use std::time::Duration;

use common::{TestServer, config, nonce, report};
use lucent::clock::ManualClock;
use lucent::period::Period;
use time::macros::datetime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const ORIGIN: &str = "test.example/lucent";

/// Reads until the server closes the connection; returns what it sent.
async fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut answer = Vec::new();
    // The bound only turns a hang into a failure; the close ends the wait.
    tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut answer))
        .await
        .expect("the server closes the connection")
        .ok();
    answer
}

#[tokio::test]
async fn a_client_that_trickles_its_headers_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path(), ORIGIN, Period::DAY);
    config.connection_limits.read_timeout = Duration::from_millis(300);
    config.request_timeout = Duration::from_millis(200);
    let server = TestServer::start(config, ManualClock::new(datetime!(2026-11-27 12:00 UTC))).await;
    let mut stream = TcpStream::connect(server.running().address).await.unwrap();
    stream
        .write_all(b"POST /v1/reports HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let answer = read_to_close(&mut stream).await;
    assert!(answer.is_empty(), "no answer to half a request: {answer:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    // The server still serves others.
    assert_eq!(server.get_json("/healthz").await.0, 200);
    server.stop().await;
}

/// A request that takes longer than the request timeout is answered 503
/// with Retry-After, before the read timeout could cut its connection; a
/// configuration where it could not be is refused.
#[tokio::test]
async fn a_slow_request_gets_503_before_its_connection_is_cut() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path(), ORIGIN, Period::DAY);
    config.connection_limits.read_timeout = Duration::from_millis(1500);
    config.request_timeout = Duration::from_millis(1500);
    let refused = lucent::server::start(
        config.clone(),
        std::sync::Arc::new(ManualClock::new(datetime!(2026-11-27 12:00 UTC))),
    )
    .await;
    assert!(
        matches!(refused, Err(lucent::server::ServeError::Timeouts { .. })),
        "a request timeout as long as the read timeout is refused"
    );
    config.request_timeout = Duration::from_millis(500);
    let server = TestServer::start(config, ManualClock::new(datetime!(2026-11-27 12:00 UTC))).await;
    // The report waits for the writer.
    let lock = common::WriteLock::hold(dir.path()).await;
    common::assert_saturated(&server.post_response(report(&nonce(), 1)).await);
    lock.release().await;
    server.stop().await;
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_for_a_free_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path(), ORIGIN, Period::DAY);
    config.connection_limits.max_connections = 2;
    let server = TestServer::start(config, ManualClock::new(datetime!(2026-11-27 12:00 UTC))).await;
    let address = server.running().address;
    let idle_a = TcpStream::connect(address).await.unwrap();
    let idle_b = TcpStream::connect(address).await.unwrap();
    // Both permits are held by idle connections once the server accepted them.
    let mut third = TcpStream::connect(address).await.unwrap();
    third
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut first_byte = [0u8; 1];
    let waited =
        tokio::time::timeout(Duration::from_millis(300), third.read(&mut first_byte)).await;
    assert!(
        waited.is_err(),
        "a third connection was served while two were open"
    );
    drop(idle_a);
    let answer = read_to_close(&mut third).await;
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    drop(idle_b);
    server.stop().await;
}

/// SQLite's own full-disk error, on a real filesystem that fills up (a
/// small tmpfs; mounting needs root, which CI has; skipped otherwise).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_answers_503_and_recovers() {
    let mount = tempfile::tempdir().unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=600k", "tmpfs"])
        .arg(mount.path())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("skipped: cannot mount a tmpfs here (needs root)");
        return;
    }
    let unmount = scopeguard(mount.path().to_owned());
    let data = mount.path().join("data");
    let server = TestServer::start(
        config(&data, ORIGIN, Period::DAY),
        ManualClock::new(datetime!(2026-11-27 12:00 UTC)),
    )
    .await;
    let mut accepted = Vec::new();
    let mut refused = None;
    for i in 0..20_000u64 {
        let body = report(&nonce(), i);
        let (status, answer) = server.post(body.clone()).await;
        match status {
            202 => accepted.push(answer),
            503 => {
                assert_eq!(answer["status"], 503);
                refused = Some(body);
                break;
            }
            other => panic!("unexpected {other}: {answer}"),
        }
    }
    let refused = refused.expect("the disk filled up");
    assert!(!accepted.is_empty());
    // Reads keep working while the disk is full.
    assert_eq!(server.get_json("/v1/log").await.0, 200);
    assert_eq!(server.get_json("/healthz").await.0, 200);

    // Space returns: the same report is accepted, without a restart.
    let grown = std::process::Command::new("mount")
        .args(["-o", "remount,size=64m"])
        .arg(mount.path())
        .status()
        .unwrap();
    assert!(grown.success());
    let (status, answer) = server.post(refused).await;
    assert_eq!(status, 202, "{answer}");
    // Everything acknowledged before is still there: replays answer 200.
    server.set_time(datetime!(2026-11-28 00:00 UTC)).await;
    let (_, root) = server.get_json("/v1/roots/latest").await;
    assert_eq!(root["size"].as_u64().unwrap(), accepted.len() as u64 + 1);
    server.stop().await;
    drop(unmount);
}

/// Unmounts the tmpfs when the test ends, pass or fail.
fn scopeguard(path: std::path::PathBuf) -> impl Drop {
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            // Lazily: files may still be open when a failing test unwinds.
            let _ = std::process::Command::new("umount")
                .arg("-l")
                .arg(&self.0)
                .status();
        }
    }
    Unmount(path)
}
