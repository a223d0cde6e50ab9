//! SPEC section 7, the client side: `lucent verify` and `lucent submit
//! --check` against a hostile server (bodies too large, endless, gzip
//! bombs, signed roots that claim 2^40 entries) fail with a named error and
//! exit code 1, run as child processes under an address-space cap, instead
//! of aborting or exhausting memory.

mod common;

use std::io::Write as _;
use std::os::unix::process::CommandExt as _;
use std::process::{Command, Stdio};
use std::sync::{Arc, OnceLock};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

use common::{TestServer, config, nonce, report, signed_promise};
use lucent::clock::ManualClock;
use lucent_core::Hash;
use lucent_core::checkpoint::Checkpoint;
use lucent_core::hash::leaf_hash;
use lucent_core::merkle::root_from_inclusion_proof;
use lucent_core::note::SigningKey;
use lucent_core::period::Period;
use lucent_core::record::{Day, Entry, Record, Report};
use lucent_core::tlog_proof::TlogProof;

const ORIGIN: &str = "hostile.example/lucent";
/// The address space each child may map (RLIMIT_AS). An honest verify
/// stays far below it (see `an_honest_log_verifies_under_the_cap`); every
/// hostile case below took a pre-fix client past it.
const MEMORY_CAP: u64 = 512 << 20;
/// The size a hostile signed root claims.
const HUGE_SIZE: u64 = 1 << 40;
const DAY: &str = "2026-11-01";
const PERIOD_END: &str = "2026-11-02T00:00:00Z";
/// Part of every [`lucent_client::http::HttpError::TooLarge`] message.
const TOO_LARGE: &str = "the answer is longer than";

/// What the hostile server answers to one request.
#[derive(Clone)]
enum Reply {
    /// A status, extra header lines and a body, as given.
    Fixed {
        status: u16,
        headers: &'static str,
        body: Vec<u8>,
    },
    /// 200 with a Content-Length of `claimed` bytes, then zeros until the
    /// client leaves.
    Claimed(u64),
    /// 200, chunked, zeros until the client leaves.
    Endless,
}

impl Reply {
    fn json(body: &Value) -> Reply {
        Reply::Fixed {
            status: 200,
            headers: "content-type: application/json\r\n",
            body: body.to_string().into_bytes(),
        }
    }

    fn text(body: &str) -> Reply {
        Reply::Fixed {
            status: 200,
            headers: "content-type: text/plain; charset=utf-8\r\n",
            body: body.as_bytes().to_vec(),
        }
    }

    fn not_found() -> Reply {
        Reply::Fixed {
            status: 404,
            headers: "content-type: application/problem+json\r\n",
            body: br#"{"status":404,"detail":"not here"}"#.to_vec(),
        }
    }

    /// ~256 MiB of zeros as a gzip body of a few hundred KiB.
    fn gzip_bomb() -> Reply {
        Reply::Fixed {
            status: 200,
            headers: "content-type: application/json\r\ncontent-encoding: gzip\r\n",
            body: gzip_bomb().to_vec(),
        }
    }
}

/// 256 MiB of zeros, gzip-compressed once for every test.
fn gzip_bomb() -> &'static [u8] {
    static BOMB: OnceLock<Vec<u8>> = OnceLock::new();
    BOMB.get_or_init(|| {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..256 {
            encoder.write_all(&zeros).unwrap();
        }
        encoder.finish().unwrap()
    })
}

type Route = dyn Fn(&str) -> Reply + Send + Sync;

/// Serves `route(path and query)` on a new port of 127.0.0.1 until the
/// test ends, one request a connection.
async fn serve_hostile(route: impl Fn(&str) -> Reply + Send + Sync + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let route: Arc<Route> = Arc::new(route);
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let route = route.clone();
            // The client leaving mid-body ends the answer with an error.
            tokio::spawn(async move { answer(socket, &*route).await.ok() });
        }
    });
    format!("http://{address}")
}

async fn answer(mut socket: TcpStream, route: &Route) -> std::io::Result<()> {
    let target = read_request_target(&mut socket).await?;
    match route(&target) {
        Reply::Fixed {
            status,
            headers,
            body,
        } => {
            let head = format!(
                "HTTP/1.1 {status} X\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            socket.write_all(head.as_bytes()).await?;
            socket.write_all(&body).await?;
            socket.shutdown().await
        }
        Reply::Claimed(claimed) => {
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {claimed}\r\n\r\n"
            );
            socket.write_all(head.as_bytes()).await?;
            let zeros = vec![0u8; 1 << 16];
            loop {
                socket.write_all(&zeros).await?;
            }
        }
        Reply::Endless => {
            let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                        transfer-encoding: chunked\r\n\r\n";
            socket.write_all(head.as_bytes()).await?;
            let mut chunk = b"10000\r\n".to_vec();
            chunk.extend(std::iter::repeat_n(0u8, 1 << 16));
            chunk.extend(b"\r\n");
            loop {
                socket.write_all(&chunk).await?;
            }
        }
    }
}

/// Reads a request's head and returns its target (path and query).
async fn read_request_target(socket: &mut TcpStream) -> std::io::Result<String> {
    let mut head = Vec::new();
    let mut buffer = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 65536 {
        let read = socket.read(&mut buffer).await?;
        if read == 0 {
            break;
        }
        head.extend_from_slice(&buffer[..read]);
    }
    let head = String::from_utf8_lossy(&head);
    Ok(head.split(' ').nth(1).unwrap_or_default().to_owned())
}

/// How a child process ended, and the most memory it held.
#[derive(Debug)]
struct Outcome {
    code: Option<i32>,
    signal: Option<i32>,
    stderr: String,
    peak_rss_mib: i64,
}

/// Runs `program args` under [`MEMORY_CAP`].
async fn run_capped(program: std::path::PathBuf, args: Vec<String>) -> Outcome {
    tokio::task::spawn_blocking(move || {
        let stderr = tempfile::tempfile().unwrap();
        let mut command = Command::new(program);
        command
            .args(args)
            // glibc's malloc arenas would reserve the address space otherwise.
            .env("MALLOC_ARENA_MAX", "2")
            .env("NO_COLOR", "1")
            // Symbolizing a backtrace of a debug build for an error's report
            // reads its debug info: 170 MiB that no user's client holds.
            .env_remove("RUST_BACKTRACE")
            .env_remove("RUST_LIB_BACKTRACE")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr.try_clone().unwrap());
        // SAFETY: setrlimit is async-signal-safe and touches no memory of
        // the parent.
        unsafe {
            command.pre_exec(|| {
                let cap = libc::rlimit {
                    rlim_cur: MEMORY_CAP,
                    rlim_max: MEMORY_CAP,
                };
                match libc::setrlimit(libc::RLIMIT_AS, &cap) {
                    0 => Ok(()),
                    _ => Err(std::io::Error::last_os_error()),
                }
            });
        }
        #[expect(
            clippy::zombie_processes,
            reason = "wait_with_usage reaps it with wait4"
        )]
        let child = command.spawn().unwrap();
        wait_with_usage(child.id() as libc::pid_t, stderr)
    })
    .await
    .unwrap()
}

/// Waits for the child with wait4, which also gives its peak memory (an
/// upper bound: it counts what the child shared with this process after
/// the fork, before its exec).
fn wait_with_usage(pid: libc::pid_t, mut stderr: std::fs::File) -> Outcome {
    let mut status = 0;
    // SAFETY: all-zero is a valid rusage.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our child, not yet waited for; the pointers are valid.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "{}", std::io::Error::last_os_error());
    let mut text = String::new();
    std::io::Seek::rewind(&mut stderr).unwrap();
    std::io::Read::read_to_string(&mut stderr, &mut text).unwrap();
    Outcome {
        code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        signal: libc::WIFSIGNALED(status).then(|| libc::WTERMSIG(status)),
        stderr: text,
        peak_rss_mib: usage.ru_maxrss / 1024,
    }
}

async fn lucent_capped(args: &[&str]) -> Outcome {
    let args = args.iter().map(|a| a.to_string()).collect();
    run_capped(env!("CARGO_BIN_EXE_lucent").into(), args).await
}

/// The child exited with 1 (not a signal) and named `error` on stderr.
fn assert_fails_naming(case: &str, outcome: &Outcome, error: &str) {
    println!(
        "{case}: exit {:?}, signal {:?}, peak RSS {} MiB",
        outcome.code, outcome.signal, outcome.peak_rss_mib
    );
    assert_eq!(outcome.code, Some(1), "{case}: {outcome:?}");
    assert!(outcome.stderr.contains(error), "{case}: {outcome:?}");
}

#[test]
#[ignore = "run only by the_memory_cap_is_real, as its capped child"]
fn allocates_past_the_cap() {
    // Zeroed memory is only reserved: harmless when run without the cap.
    let memory = vec![0u8; 2 * MEMORY_CAP as usize];
    std::hint::black_box(&memory);
}

#[tokio::test]
async fn the_memory_cap_is_real() {
    let test_binary = std::env::current_exe().unwrap();
    let args = [
        "allocates_past_the_cap",
        "--exact",
        "--ignored",
        "--nocapture",
    ];
    let outcome = run_capped(test_binary, args.map(String::from).to_vec()).await;
    println!("allocating twice the cap: {outcome:?}");
    assert_eq!(outcome.signal, Some(libc::SIGABRT), "{outcome:?}");
    assert!(
        outcome.stderr.contains("memory allocation of"),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn an_honest_log_verifies_under_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let start = time::macros::datetime!(2026-11-01 12:00 UTC);
    let server = TestServer::start(
        config(dir.path(), ORIGIN, Period::DAY),
        ManualClock::new(start),
    )
    .await;
    for tokens in 0..3 {
        let (status, body) = server.post(report(&nonce(), tokens)).await;
        assert_eq!(status, 202, "{body}");
    }
    server
        .set_time(time::macros::datetime!(2026-11-02 00:00 UTC))
        .await;
    let key = server.running().verifier_key.to_string();
    let outcome = lucent_capped(&["verify", &server.base, "--key", &key]).await;
    println!("honest verify: {outcome:?}");
    assert_eq!(outcome.code, Some(0), "{outcome:?}");
}

/// The ways a hostile server sends a body that is too large.
fn oversized_bodies() -> [(&'static str, Reply); 3] {
    [
        ("a 2 GiB Content-Length", Reply::Claimed(2 << 30)),
        ("an endless chunked body", Reply::Endless),
        ("a gzip bomb", Reply::gzip_bomb()),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_refuses_an_oversized_log_answer() {
    let key = SigningKey::generate(ORIGIN, &mut rand::rng()).unwrap();
    let key = key.verifier_key().to_string();
    for (case, reply) in oversized_bodies() {
        let url = serve_hostile(move |target| match target {
            "/v1/log" => reply.clone(),
            _ => Reply::not_found(),
        })
        .await;
        let outcome = lucent_capped(&["verify", &url, "--key", &key]).await;
        assert_fails_naming(&format!("verify, /v1/log: {case}"), &outcome, TOO_LARGE);
    }
}

/// A root of [`HUGE_SIZE`] entries and `root_hash`, signed by `key`.
fn huge_root(key: &SigningKey, root_hash: Hash) -> Value {
    json!({
        "day": DAY,
        "period_end": PERIOD_END,
        "size": HUGE_SIZE,
        "root_hash": root_hash.to_hex(),
        "checkpoint": Checkpoint::new(ORIGIN, HUGE_SIZE, root_hash).sign(key).unwrap(),
    })
}

/// A log whose one signed root claims [`HUGE_SIZE`] entries; `tile`
/// answers for every tile.
async fn serve_huge_log(
    key: &SigningKey,
    root_hash: Hash,
    tile: impl Fn(&str) -> Reply + Send + Sync + 'static,
) -> String {
    let root = huge_root(key, root_hash);
    let log = json!({
        "origin": ORIGIN,
        "verifier_key": key.verifier_key().to_string(),
        "size": HUGE_SIZE,
        "inception_day": DAY,
    });
    // Stats that name the root; the rebuild never reaches it.
    let stats = json!({
        "size": HUGE_SIZE,
        "root_hash": root_hash.to_hex(),
        "day": DAY,
        "active_deployments": {"last_1_day": 0, "last_7_days": 0, "last_30_days": 0},
        "reports_per_day": [],
        "versions": [],
        "unlisted_versions": 0,
        "totals": {"tokens_created": "0", "tokens_detokenized": "0", "grants_issued": "0"},
    });
    // One page of roots, whatever its query asks.
    serve_hostile(move |target| match target.split('?').next().unwrap() {
        "/v1/log" => Reply::json(&log),
        "/v1/stats" => Reply::json(&stats),
        "/checkpoint" => Reply::text(root["checkpoint"].as_str().unwrap()),
        "/v1/roots" => Reply::json(&json!([root])),
        _ if target.starts_with("/tile/") => tile(target),
        _ => Reply::not_found(),
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_of_a_signed_root_of_2_to_the_40_entries_fails_with_a_named_error() {
    let key = SigningKey::generate(ORIGIN, &mut rand::rng()).unwrap();
    let verifier = key.verifier_key().to_string();
    let root_hash = Hash::sha256(b"a root no tree has");

    // Its only partial tile (level 5, one hash) is endless.
    let url = serve_huge_log(&key, root_hash, |_| Reply::Endless).await;
    let outcome = lucent_capped(&["verify", &url, "--key", &verifier]).await;
    assert_fails_naming("verify, 2^40 entries, endless tiles", &outcome, TOO_LARGE);

    // The tile gives the signed root; the rebuild then starts on 2^40
    // entries, and the entry bundles are missing.
    let url = serve_huge_log(&key, root_hash, move |target| match target {
        "/tile/5/000.p/1" => Reply::Fixed {
            status: 200,
            headers: "",
            body: root_hash.0.to_vec(),
        },
        _ => Reply::not_found(),
    })
    .await;
    let outcome = lucent_capped(&["verify", &url, "--key", &verifier]).await;
    assert_fails_naming(
        "verify, 2^40 entries, tiles 404",
        &outcome,
        // Entry bundle 0 or its level-0 tile, whichever answers first.
        "HTTP 404: not here",
    );
}

/// A record of a new deployment on [`DAY`].
fn record() -> Record {
    let day = Day::parse(DAY).unwrap();
    Report::parse(report(&nonce(), 7).as_bytes())
        .unwrap()
        .to_record(day)
}

/// Writes a promise of `record` signed by `key` for the log at `url`.
fn write_promise(dir: &std::path::Path, url: &str, key: &SigningKey, record: &Record) -> String {
    let promise = signed_promise(url, key, record, PERIOD_END);
    let path = dir.join(format!("promise-{}.json", &promise.answer.record_hash[..8]));
    promise.save(&path).unwrap();
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_check_refuses_an_oversized_receipt() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::generate(ORIGIN, &mut rand::rng()).unwrap();
    for (case, reply) in oversized_bodies() {
        let url = serve_hostile(move |target| match target {
            _ if target.starts_with("/v1/receipts/") => reply.clone(),
            _ => Reply::not_found(),
        })
        .await;
        let promise = write_promise(dir.path(), &url, &key, &record());
        let outcome = lucent_capped(&["submit", "--check", &promise]).await;
        assert_fails_naming(
            &format!("submit --check, receipt: {case}"),
            &outcome,
            TOO_LARGE,
        );
    }
}

/// A receipt of `record` as entry 0 of a root of [`HUGE_SIZE`] entries,
/// made up around an arbitrary inclusion proof and signed by `key`; and
/// that root.
fn huge_receipt(key: &SigningKey, record: &Record) -> (Value, Value) {
    let entry = Entry {
        record: record.clone(),
        prev: Hash::ZERO,
    }
    .to_bytes();
    let leaf = leaf_hash(&entry);
    let proof: Vec<Hash> = (0..40u8).map(|i| Hash::sha256(&[i])).collect();
    let root_hash = root_from_inclusion_proof(&leaf, 0, HUGE_SIZE, &proof).unwrap();
    let root = huge_root(key, root_hash);
    let checkpoint = root["checkpoint"].as_str().unwrap().to_owned();
    let tlog_proof = TlogProof {
        extra: Some(entry.clone()),
        index: 0,
        proof: proof.clone(),
        checkpoint: checkpoint.clone(),
    };
    let receipt = json!({
        "index": 0,
        "entry": String::from_utf8(entry).unwrap(),
        "leaf_hash": leaf.to_hex(),
        "checkpoint": checkpoint,
        "inclusion_proof": proof.iter().map(Hash::to_base64).collect::<Vec<_>>(),
        "tlog_proof": tlog_proof.to_text(),
    });
    (receipt, root)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_check_of_a_receipt_in_a_root_of_2_to_the_40_entries_fails_with_a_named_error() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::generate(ORIGIN, &mut rand::rng()).unwrap();
    let record = record();
    let (receipt, root) = huge_receipt(&key, &record);
    let url = serve_hostile(move |target| match target {
        _ if target.starts_with("/v1/receipts/") => Reply::json(&receipt),
        "/v1/roots/latest" => Reply::json(&root),
        _ if target == format!("/v1/roots/{DAY}") => Reply::json(&root),
        // The last entry of the root and its inclusion proof.
        _ if target.starts_with("/v1/entries/") => Reply::Endless,
        _ if target.starts_with("/v1/proofs/inclusion") => Reply::Endless,
        _ => Reply::not_found(),
    })
    .await;
    let promise = write_promise(dir.path(), &url, &key, &record);
    let outcome = lucent_capped(&["submit", "--check", &promise]).await;
    assert_fails_naming("submit --check, 2^40 entries", &outcome, TOO_LARGE);
}
