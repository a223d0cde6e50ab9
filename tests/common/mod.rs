//! Test servers: in-process on port 0 with a driven clock, or the real
//! binary as a child process.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use lucent::clock::ManualClock;
use lucent::server::{RunningServer, ServeConfig};
use lucent_core::period::Period;
use time::OffsetDateTime;

/// `shared/testvectors/`, beside the repository.
pub fn vectors_dir() -> PathBuf {
    match std::env::var_os("LUCENT_TESTVECTORS") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/testvectors"),
    }
}

pub fn load(rel: &str) -> serde_json::Value {
    let path = vectors_dir().join(rel);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// The PostgreSQL server the suites run on instead of SQLite: an admin
/// URL in `LUCENT_TEST_POSTGRES_URL` (`.ci/run` starts one and sets it).
pub fn postgres_server() -> Option<String> {
    std::env::var("LUCENT_TEST_POSTGRES_URL").ok()
}

/// Whether the suites run on PostgreSQL.
pub fn on_postgres() -> bool {
    postgres_server().is_some()
}

/// Skips a test that is about the SQLite file itself (its bytes, its
/// locks, its schema catalogue) when the suites run on PostgreSQL.
#[macro_export]
macro_rules! sqlite_only {
    () => {
        if common::on_postgres() {
            eprintln!("about the SQLite file: not run on PostgreSQL");
            return;
        }
    };
}

/// The database of the log in `dir`: on PostgreSQL, a database of its own
/// named after `dir`, made if it does not exist yet (a test that restarts
/// a server on `dir` finds its log again); on SQLite, none (the file in
/// `dir`).
pub fn test_database(dir: &Path) -> Option<String> {
    let admin = postgres_server()?;
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(dir.as_os_str().as_encoded_bytes());
    let name = format!("lucent_{}", hex::encode(&digest[..8]));
    let made = Command::new("psql")
        .args([
            admin.as_str(),
            "-qAt",
            "-c",
            &format!("CREATE DATABASE {name}"),
        ])
        .output()
        .expect("psql runs");
    let said = String::from_utf8_lossy(&made.stderr);
    assert!(
        made.status.success() || said.contains("already exists"),
        "{said}"
    );
    let (server, _) = admin.rsplit_once('/').expect("a URL with a database");
    Some(format!("{server}/{name}"))
}

pub fn config(dir: &Path, origin: &str, period: Period) -> ServeConfig {
    ServeConfig {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.to_owned(),
        origin: origin.into(),
        publish_period: period,
        rate_limit: None,
        trusted_proxies: Vec::new(),
        queue_capacity: lucent::sequencer::DEFAULT_QUEUE_CAPACITY,
        connection_limits: lucent::listener::ConnectionLimits {
            max_connections: 512,
            max_connections_per_address: 128,
            head_timeout: std::time::Duration::from_secs(10),
            read_timeout: std::time::Duration::from_secs(10),
            write_timeout: std::time::Duration::from_secs(10),
        },
        request_timeout: std::time::Duration::from_secs(8),
        witnesses: Vec::new(),
        database_url: test_database(dir),
    }
}

/// A server in this process with a clock the test drives.
pub struct TestServer {
    pub server: Option<RunningServer>,
    pub clock: ManualClock,
    pub base: String,
    pub client: reqwest::Client,
}

impl TestServer {
    pub async fn start(config: ServeConfig, clock: ManualClock) -> TestServer {
        let server = lucent::server::start(config, Arc::new(clock.clone()))
            .await
            .expect("the server starts");
        let base = format!("http://{}", server.address);
        TestServer {
            server: Some(server),
            clock,
            base,
            client: reqwest::Client::new(),
        }
    }

    pub fn running(&self) -> &RunningServer {
        self.server.as_ref().expect("running")
    }

    /// Moves the clock and waits until the writer has published every
    /// period that ended.
    pub async fn set_time(&self, at: OffsetDateTime) {
        self.clock.set(at);
        self.running().sequencer.sync().await;
    }

    pub async fn post(&self, body: impl Into<reqwest::Body>) -> (u16, serde_json::Value) {
        status_and_json(self.post_response(body).await).await
    }

    /// A report's whole answer, headers included.
    pub async fn post_response(&self, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.client
            .post(format!("{}/v1/reports", self.base))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("an answer, not a closed connection")
    }

    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        get_json(&self.client, &self.base, path).await
    }

    /// Status and body bytes of a GET.
    pub async fn get_bytes(&self, path: &str) -> (u16, Vec<u8>) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: no answer: {e}"));
        let status = response.status().as_u16();
        (status, response.bytes().await.unwrap().to_vec())
    }

    pub async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
    }
}

/// The real binary, started in the background; it prints its address on
/// its first stdout line once it is listening.
pub struct ChildServer {
    pub child: Child,
    pub base: String,
    pub stderr: PathBuf,
}

impl ChildServer {
    /// GET `path`: the status and the JSON body (null if there is none).
    pub async fn get_json(&self, client: &reqwest::Client, path: &str) -> (u16, serde_json::Value) {
        get_json(client, &self.base, path).await
    }
}

/// GET `base` + `path`: the status and the JSON body.
async fn get_json(client: &reqwest::Client, base: &str, path: &str) -> (u16, serde_json::Value) {
    status_and_json(client.get(format!("{base}{path}")).send().await.unwrap()).await
}

/// A response's status and JSON body (null if there is none).
async fn status_and_json(response: reqwest::Response) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    (
        status,
        response.json().await.unwrap_or(serde_json::Value::Null),
    )
}

pub fn spawn_binary(data_dir: &Path, extra: &[&str], stderr: &Path) -> ChildServer {
    spawn_binary_logging(data_dir, extra, stderr, "info")
}

/// As [`spawn_binary`], with `RUST_LOG` set to `filter`.
pub fn spawn_binary_logging(
    data_dir: &Path,
    extra: &[&str],
    stderr: &Path,
    filter: &str,
) -> ChildServer {
    let mut command = lucent_command(stderr, filter);
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .args(extra);
    if let Some(url) = test_database(data_dir) {
        command.arg("--database-url").arg(url);
    }
    let mut child = command.spawn().expect("the binary starts");
    let mut first = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut first)
        .unwrap();
    let base = first
        .trim()
        .strip_prefix("lucent listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}: see {}", stderr.display()))
        .to_owned();
    ChildServer {
        child,
        base,
        stderr: stderr.to_owned(),
    }
}

/// The real binary, about to start: its stdout piped, its stderr appended
/// to the file `stderr`, `RUST_LOG` set to `filter`.
pub fn lucent_command(stderr: &Path, filter: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lucent"));
    command
        .env("RUST_LOG", filter)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(stderr)
                .unwrap(),
        );
    command
}

/// A valid report body for a nonce.
pub fn report(nonce: &str, tokens: u64) -> String {
    format!(
        r#"{{"nonce":"{nonce}","version":"1.4.2","tokens_created":{tokens},"tokens_detokenized":4,"grants_issued":3}}"#
    )
}

/// A fresh random version-4 nonce.
pub fn nonce() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A 503 that says to retry in a second, as problem+json.
pub fn assert_saturated(response: &reqwest::Response) {
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
}

/// A connection of the test's own to the database in `dir`.
pub async fn connect_database(dir: &Path) -> sqlx::SqliteConnection {
    let url = format!("sqlite://{}", dir.join("lucent.db").display());
    <sqlx::SqliteConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap()
}

/// SQLite's write lock on the database in `dir`, held by another
/// connection until [`WriteLock::release`]: the writer blocks on its next
/// write.
pub struct WriteLock(sqlx::SqliteConnection);

impl WriteLock {
    pub async fn hold(dir: &Path) -> WriteLock {
        let mut conn = connect_database(dir).await;
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut conn)
            .await
            .unwrap();
        WriteLock(conn)
    }

    pub async fn release(mut self) {
        sqlx::query("ROLLBACK").execute(&mut self.0).await.unwrap();
    }
}

/// A promise of `record`, signed by `key` (whose name is the origin), for
/// the log at `url`, as `lucent submit` saves it.
pub fn signed_promise(
    url: &str,
    key: &lucent_core::note::SigningKey,
    record: &lucent_core::record::Record,
    publish_after: &str,
) -> lucent::cli::submit::SavedPromise {
    let bytes = record.to_bytes();
    let hash = lucent_core::record::record_hash(&bytes);
    let day = record.day.to_string();
    let promise = lucent_core::promise::Promise::new(key.name(), &day, hash)
        .unwrap()
        .sign(key)
        .unwrap();
    lucent::cli::submit::SavedPromise {
        url: url.to_owned(),
        verifier_key: key.verifier_key().to_string(),
        answer: lucent::wire::PromiseBody {
            day,
            deployment: record.deployment.to_string(),
            record: String::from_utf8(bytes).unwrap(),
            record_hash: hash.to_hex(),
            publish_after: publish_after.to_owned(),
            promise,
        },
    }
}
