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

/// Skips a test about what only a PostgreSQL server gives (a database
/// that several servers share, a server to restart) when the suites run
/// on SQLite; `$what` names it.
#[macro_export]
macro_rules! postgres_only {
    ($what:literal) => {
        if !common::on_postgres() {
            eprintln!(concat!($what, ": skipped on SQLite"));
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
    let name = database_name(dir);
    let (made, said) = psql(&admin, &[&format!("CREATE DATABASE {name}")]);
    assert!(made || said.contains("already exists"), "{said}");
    let (server, _) = admin.rsplit_once('/').expect("a URL with a database");
    Some(format!("{server}/{name}"))
}

/// The PostgreSQL database of the log in `dir`.
fn database_name(dir: &Path) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(dir.as_os_str().as_encoded_bytes());
    format!("lucent_{}", hex::encode(&digest[..8]))
}

/// Runs each of `commands` on its own (as `CREATE DATABASE` must be):
/// whether all succeeded, and what psql said (its errors).
fn psql(url: &str, commands: &[&str]) -> (bool, String) {
    let done = psql_output(url, commands);
    (
        done.status.success(),
        String::from_utf8_lossy(&done.stderr).into_owned(),
    )
}

fn psql_output(url: &str, commands: &[&str]) -> std::process::Output {
    let mut psql = Command::new("psql");
    psql.args([url, "-qAt", "-v", "ON_ERROR_STOP=1"]);
    for command in commands {
        psql.args(["-c", command]);
    }
    psql.output().expect("psql runs")
}

/// On PostgreSQL, the files of the cluster that may hold what the log in
/// `dir` stored since `since`: its database's own folder and the
/// write-ahead log, after a checkpoint. Needs a superuser's URL and read
/// access to the cluster's folder (CI runs as root).
pub fn postgres_files(dir: &Path, since: std::time::SystemTime) -> Vec<PathBuf> {
    let admin = postgres_server().expect("on PostgreSQL");
    let done = psql_output(
        &admin,
        &[
            "CHECKPOINT",
            "SHOW data_directory",
            &format!(
                "SELECT oid FROM pg_database WHERE datname = '{}'",
                database_name(dir)
            ),
        ],
    );
    assert!(done.status.success(), "{done:?}");
    let said = String::from_utf8(done.stdout).unwrap();
    let [cluster, oid] = said.lines().collect::<Vec<_>>()[..] else {
        panic!("psql said {said:?}");
    };
    let cluster = PathBuf::from(cluster);
    let mut files = Vec::new();
    for folder in [cluster.join("base").join(oid), cluster.join("pg_wal")] {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let entry = entry.unwrap();
            let meta = entry.metadata().unwrap();
            if meta.is_file() && meta.modified().unwrap() >= since {
                files.push(entry.path());
            }
        }
    }
    files
}

/// Replaces the database of the log in `to` by a copy of the one in
/// `from`, as a backup is restored: on SQLite, its files; on PostgreSQL, a
/// database made from the other (no server may be connected to either).
pub fn copy_database(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    let Some(admin) = postgres_server() else {
        for name in ["lucent.db", "lucent.db-wal", "lucent.db-shm"] {
            let _ = std::fs::remove_file(to.join(name));
            if from.join(name).exists() {
                std::fs::copy(from.join(name), to.join(name)).unwrap();
            }
        }
        return;
    };
    let (from, to) = (database_name(from), database_name(to));
    let (copied, said) = psql(
        &admin,
        &[
            &format!("DROP DATABASE IF EXISTS {to} WITH (FORCE)"),
            &format!("CREATE DATABASE {to} TEMPLATE {from}"),
        ],
    );
    assert!(copied, "{said}");
}

/// The test's own connection to the database of the log in `dir`, on
/// whichever engine the suites run.
pub enum TestDatabase {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl TestDatabase {
    pub async fn connect(dir: &Path) -> TestDatabase {
        use sqlx::Connection as _;
        match test_database(dir) {
            Some(url) => TestDatabase::Postgres(sqlx::PgConnection::connect(&url).await.unwrap()),
            None => TestDatabase::Sqlite(connect_database(dir).await),
        }
    }

    pub async fn execute(&mut self, sql: &str) {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match self {
            TestDatabase::Sqlite(conn) => sqlx::raw_sql(sql).execute(conn).await.map(drop),
            TestDatabase::Postgres(conn) => sqlx::raw_sql(sql).execute(conn).await.map(drop),
        }
        .unwrap_or_else(|e| panic!("{e}"));
    }

    /// The first column of every row a query gives, as text.
    pub async fn strings(&mut self, sql: &str) -> Vec<String> {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match self {
            TestDatabase::Sqlite(conn) => sqlx::query_scalar(sql).fetch_all(conn).await,
            TestDatabase::Postgres(conn) => sqlx::query_scalar(sql).fetch_all(conn).await,
        }
        .unwrap_or_else(|e| panic!("{e}"))
    }

    /// The number a query (`SELECT count(*) …`) gives.
    pub async fn count(&mut self, sql: &str) -> i64 {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match self {
            TestDatabase::Sqlite(conn) => sqlx::query_scalar(sql).fetch_one(conn).await,
            TestDatabase::Postgres(conn) => sqlx::query_scalar(sql).fetch_one(conn).await,
        }
        .unwrap_or_else(|e| panic!("{e}"))
    }

    pub async fn close(self) {
        use sqlx::Connection as _;
        match self {
            TestDatabase::Sqlite(conn) => conn.close().await.unwrap(),
            TestDatabase::Postgres(conn) => conn.close().await.unwrap(),
        }
    }
}

/// A copy of a server's data directory (the key and the state file), as an
/// operator gives a second server of the log.
pub fn copy_data_dir(from: &Path, to: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir(to).unwrap();
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o700)).unwrap();
    for file in ["log.key", "signed-root"] {
        std::fs::copy(from.join(file), to.join(file)).unwrap();
    }
}

pub fn config(dir: &Path, origin: &str, period: Period) -> ServeConfig {
    ServeConfig {
        database_url: test_database(dir),
        ..ServeConfig::loopback(dir, origin, period)
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

/// A test that fails leaves no server running.
impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
    spawn_server(data_dir, test_database(data_dir), extra, stderr, filter)
}

/// As [`spawn_binary_logging`], on the database at `database_url` (the
/// SQLite file in `data_dir` if none).
pub fn spawn_server(
    data_dir: &Path,
    database_url: Option<String>,
    extra: &[&str],
    stderr: &Path,
    filter: &str,
) -> ChildServer {
    let mut command = lucent_command(stderr, filter);
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .args(extra);
    if let Some(url) = database_url {
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

/// The lock that the writer's next write waits for, held by another
/// connection until [`WriteLock::release`]: SQLite's write lock, or on
/// PostgreSQL the publication lock (an advisory lock that each insert of
/// reports takes shared).
pub struct WriteLock(TestDatabase);

impl WriteLock {
    pub async fn hold(dir: &Path) -> WriteLock {
        let mut db = TestDatabase::connect(dir).await;
        let lock = match db {
            TestDatabase::Sqlite(_) => "BEGIN IMMEDIATE",
            TestDatabase::Postgres(_) => {
                "BEGIN; SELECT pg_advisory_xact_lock(x'6c7563656e740001'::bigint)"
            }
        };
        db.execute(lock).await;
        WriteLock(db)
    }

    pub async fn release(mut self) {
        self.0.execute("ROLLBACK").await;
        self.0.close().await;
    }
}

/// A promise of `record`, signed by `key` (whose name is the origin), for
/// the log at `url`, as `lucent submit` saves it.
pub fn signed_promise(
    url: &str,
    key: &lucent_core::note::SigningKey,
    record: &lucent_core::record::Record,
    publish_after: &str,
) -> lucent_client::submit::SavedPromise {
    let bytes = record.to_bytes();
    let hash = lucent_core::record::record_hash(&bytes);
    let day = record.day.to_string();
    let promise = lucent_core::promise::Promise::new(key.name(), &day, hash)
        .unwrap()
        .sign(key)
        .unwrap();
    lucent_client::submit::SavedPromise {
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

/// Waits (polling the server at `base`) until the last period that
/// `promises` name is published, then checks that every promised record is
/// in the log exactly once and that `lucent verify` passes. Returns the
/// log's size.
pub async fn check_published(
    client: &reqwest::Client,
    base: &str,
    promises: &[serde_json::Value],
) -> u64 {
    let last = promises
        .iter()
        .map(|p| p["publish_after"].as_str().unwrap().to_owned())
        .max()
        .unwrap();
    let latest = loop {
        let (_, root) = get_json(client, base, "/v1/roots/latest").await;
        assert!(root.is_object(), "a JSON answer: {root}");
        if root["period_end"]
            .as_str()
            .is_some_and(|end| end >= last.as_str())
        {
            break root;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let size = latest["size"].as_u64().unwrap();
    let mut hashes = std::collections::HashSet::new();
    let mut start = 0;
    while start < size {
        let (status, page) = get_json(
            client,
            base,
            &format!("/v1/entries?start={start}&limit=1000"),
        )
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
    for promise in promises {
        assert!(
            hashes.contains(promise["record_hash"].as_str().unwrap()),
            "a promise was lost: {promise}"
        );
    }
    // And the whole log passes the third-party audit.
    verify_log(client, base).await;
    size
}

/// `lucent verify` of the log at `base`, under the key it serves; fails
/// the test if the audit fails.
pub async fn verify_log(client: &reqwest::Client, base: &str) -> lucent::cli::verify::VerifyReport {
    let (status, log_info) = get_json(client, base, "/v1/log").await;
    assert_eq!(status, 200, "{log_info}");
    let key =
        lucent_core::note::VerifierKey::parse(log_info["verifier_key"].as_str().unwrap()).unwrap();
    let options = lucent::cli::verify::VerifyOptions {
        url: base.to_owned(),
        key,
        state: None,
        witnesses: Default::default(),
    };
    lucent::cli::verify::verify(&options, &lucent::cli::progress::Progress::hidden())
        .await
        .unwrap_or_else(|e| panic!("lucent verify failed: {e}"))
}

/// Reports sent without pause by concurrent senders to the servers in a
/// watched list (`None` for one that is down), each sender to its own
/// server of the list while it is up, else to another; the promises of
/// every 202 kept. Any answer other than 202 or 503 fails the test.
pub struct Load {
    stop: Arc<std::sync::atomic::AtomicBool>,
    senders: Vec<tokio::task::JoinHandle<()>>,
    promises: Arc<tokio::sync::Mutex<Vec<serde_json::Value>>>,
}

impl Load {
    pub fn start(
        senders: usize,
        servers: tokio::sync::watch::Receiver<Vec<Option<String>>>,
        client: &reqwest::Client,
    ) -> Load {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let promises = Arc::new(tokio::sync::Mutex::new(Vec::new()));
        let senders = (0..senders)
            .map(|sender| {
                let (client, mut servers, promises, stop) = (
                    client.clone(),
                    servers.clone(),
                    promises.clone(),
                    stop.clone(),
                );
                tokio::spawn(async move {
                    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                        let up = servers.borrow_and_update().clone();
                        let base = up[sender % up.len()]
                            .clone()
                            .or_else(|| up.iter().flatten().next().cloned());
                        let Some(base) = base else {
                            // Every server is down: wait for one.
                            let _ = servers.changed().await;
                            continue;
                        };
                        let sent = client
                            .post(format!("{base}/v1/reports"))
                            .header("content-type", "application/json")
                            .body(report(&nonce(), 1))
                            .send()
                            .await;
                        let Ok(response) = sent else {
                            // The server went down: wait for the list to say so.
                            let _ = servers.changed().await;
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
                })
            })
            .collect();
        Load {
            stop,
            senders,
            promises,
        }
    }

    /// How many promises the senders have so far.
    pub async fn promised(&self) -> usize {
        self.promises.lock().await.len()
    }

    /// Stops the senders (the list must change once more if any server is
    /// down) and returns the promises.
    pub async fn finish(self) -> Vec<serde_json::Value> {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        for sender in self.senders {
            sender.await.unwrap();
        }
        self.promises.lock().await.clone()
    }
}
