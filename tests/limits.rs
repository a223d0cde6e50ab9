//! Limits that hold under abuse: slow clients are cut off, connections are
//! capped, and a full disk answers 503 without losing or half-writing
//! anything, then recovers by itself.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{TestServer, config, nonce, report};
use lucent::clock::ManualClock;
use lucent::listener::ConnectionLimits;
use lucent_core::period::Period;
use time::macros::datetime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

const ORIGIN: &str = "test.example/lucent";

/// A server whose connection limits `adjust` changes, and its data
/// directory, which lives as long as the test holds it.
async fn server_with_limits(
    adjust: impl FnOnce(&mut ConnectionLimits),
) -> (tempfile::TempDir, TestServer) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path(), ORIGIN, Period::DAY);
    adjust(&mut config.connection_limits);
    let clock = ManualClock::new(datetime!(2026-11-27 12:00 UTC));
    (dir, TestServer::start(config, clock).await)
}

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
    let (_dir, server) = server_with_limits(|limits| limits.max_connections = 2).await;
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

/// The request the tests below ask for from a fresh connection.
const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

/// Connects from `from` (any port) to `server`.
async fn connect_from(from: &str, server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    socket.connect(server).await.unwrap()
}

/// `/healthz` on `stream`: the whole answer, and how long it took.
async fn healthz(mut stream: TcpStream) -> (Vec<u8>, Duration) {
    let started = Instant::now();
    stream.write_all(HEALTHZ).await.unwrap();
    let answer = read_to_close(&mut stream).await;
    (answer, started.elapsed())
}

fn assert_ok(answer: &[u8]) {
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(answer)
    );
}

/// Waits until the server closes `stream`, reading whatever it sends.
async fn until_closed(stream: &mut tokio::net::tcp::ReadHalf<'_>) {
    let mut buffer = [0u8; 4096];
    while let Ok(1..) = stream.read(&mut buffer).await {}
}

/// Sends a request head one byte every `gap`, never finishing it, until the
/// server closes the connection; returns how long that took (at most
/// `bound`, or the test fails).
async fn trickle_until_closed(mut stream: TcpStream, gap: Duration, bound: Duration) -> Duration {
    let started = Instant::now();
    let (mut from_server, mut to_server) = stream.split();
    let head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ".iter();
    let bytes: Vec<u8> = head
        .chain(std::iter::repeat(&b'a'))
        .take(200)
        .copied()
        .collect();
    let trickle = async {
        for byte in bytes {
            if to_server.write_all(&[byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(gap).await;
        }
        std::future::pending::<()>().await
    };
    let cut = tokio::time::timeout(bound, async {
        tokio::select! {
            () = until_closed(&mut from_server) => {}
            () = trickle => {}
        }
    });
    cut.await
        .expect("the server closes a connection that trickles its head");
    started.elapsed()
}

/// With every slot held by clients that trickle their request heads, each
/// is closed at the head deadline, however often it sends a byte, and
/// another client is served soon after.
#[tokio::test]
async fn trickling_heads_are_cut_at_the_head_deadline() {
    let (_dir, server) = server_with_limits(|limits| {
        limits.max_connections = 4;
        limits.head_timeout = Duration::from_secs(1);
    })
    .await;
    let address = server.running().address;
    let (gap, bound) = (Duration::from_millis(300), Duration::from_secs(15));
    let mut tricklers = Vec::new();
    for _ in 0..4 {
        let stream = TcpStream::connect(address).await.unwrap();
        tricklers.push(tokio::spawn(trickle_until_closed(stream, gap, bound)));
    }
    // Queued behind the four in the backlog: served once one is cut.
    let fifth = TcpStream::connect(address).await.unwrap();
    let (answer, waited) = tokio::time::timeout(Duration::from_secs(5), healthz(fifth))
        .await
        .expect("/healthz is answered while four clients trickle");
    assert_ok(&answer);
    assert!(
        waited < Duration::from_secs(3),
        "/healthz waited {waited:?}"
    );
    for trickler in tricklers {
        let lasted = trickler.await.unwrap();
        assert!(
            lasted < Duration::from_secs(3),
            "a trickler lasted {lasted:?}"
        );
    }
    server.stop().await;
}

/// Pipelines requests for a large answer and never reads; returns how long
/// until the server dropped the connection (at most `bound`, or the test
/// fails).
async fn pipeline_without_reading(server: SocketAddr, bound: Duration) -> Duration {
    let socket = TcpSocket::new_v4().unwrap();
    // A small window, so that the answers back up quickly.
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(server).await.unwrap();
    let started = Instant::now();
    let request = b"GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n";
    let dropped = tokio::time::timeout(bound, async {
        for _ in 0..1_000_000 {
            if stream.write_all(request).await.is_err() {
                return true;
            }
        }
        false
    });
    assert!(
        dropped.await.unwrap_or(false),
        "the server drops a client that does not read its answers"
    );
    started.elapsed()
}

/// With every slot held by clients that send requests and never read the
/// answers, each is dropped once its answers stop moving for the write
/// timeout, and another client is served.
#[tokio::test]
async fn clients_that_do_not_read_are_dropped_at_the_write_timeout() {
    let write_timeout = Duration::from_secs(1);
    let (_dir, server) = server_with_limits(|limits| {
        limits.max_connections = 4;
        limits.write_timeout = write_timeout;
    })
    .await;
    let address = server.running().address;
    let bound = Duration::from_secs(15);
    let pipeliners: Vec<_> = (0..4)
        .map(|_| tokio::spawn(pipeline_without_reading(address, bound)))
        .collect();
    let mut dropped_after = Vec::new();
    for pipeliner in pipeliners {
        dropped_after.push(pipeliner.await.unwrap());
    }
    for lasted in &dropped_after {
        assert!(
            *lasted >= write_timeout,
            "dropped before the write timeout: {lasted:?}"
        );
        assert!(
            *lasted < Duration::from_secs(8),
            "a pipeliner lasted {lasted:?}"
        );
    }
    let fresh = TcpStream::connect(address).await.unwrap();
    let (answer, waited) = healthz(fresh).await;
    assert_ok(&answer);
    assert!(
        waited < Duration::from_secs(2),
        "/healthz waited {waited:?}"
    );
    server.stop().await;
}

/// One address holds at most its cap of connections; the next is closed
/// at once, unread, while another address is still served.
#[tokio::test]
async fn one_address_cannot_take_every_connection() {
    let (_dir, server) = server_with_limits(|limits| {
        limits.max_connections = 16;
        limits.max_connections_per_address = 3;
    })
    .await;
    let address = server.running().address;
    let mut idle = Vec::new();
    for _ in 0..3 {
        idle.push(connect_from("127.0.0.1", address).await);
    }
    // Accepted after the three, in backlog order, so they hold the cap.
    let mut over_cap = connect_from("127.0.0.1", address).await;
    let started = Instant::now();
    let answer = read_to_close(&mut over_cap).await;
    assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer));
    let refused_after = started.elapsed();
    assert!(
        refused_after < Duration::from_secs(2),
        "refused after {refused_after:?}"
    );
    let (answer, _) = healthz(connect_from("127.0.0.2", address).await).await;
    assert_ok(&answer);
    // The connections within the cap are served as usual.
    let (answer, _) = healthz(idle.pop().unwrap()).await;
    assert_ok(&answer);
    drop(idle);
    server.stop().await;
}

/// SQLite's own full-disk error, on a real filesystem that fills up (a
/// small tmpfs; mounting needs root, which CI has; skipped otherwise).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_answers_503_and_recovers() {
    sqlite_only!();
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
