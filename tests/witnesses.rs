//! The log side of witnessing (SPEC section 8) over real HTTP: `lucent
//! serve --witness` asks a witness for each new root, verifies and stores
//! its cosignature, and serves it in `/checkpoint`, `/v1/roots` and
//! receipts; a witness that lost its state is caught up through its 409.
//! Against `lucent witness` here, and against an independent witness
//! (siglog's, plain Ed25519 signatures) in the ignored test `.ci/run` runs.

mod common;

use std::path::Path;
use std::sync::Arc;

use lucent::clock::ManualClock;
use lucent::cosigning::Witness;
use lucent::witness::{LogKey, RunningWitness, WitnessConfig};
use lucent_core::note::{Note, SigningKey, VerifierKey};
use lucent_core::period::Period;
use lucent_core::quorum::{WitnessSignature, check_quorum, witness_signature};
use time::OffsetDateTime;
use time::macros::datetime;

use common::{TestServer, config, nonce, report};

const ORIGIN: &str = "witnessed.example";
const DAY1: OffsetDateTime = datetime!(2026-12-01 10:00 UTC);
const DAY2: OffsetDateTime = datetime!(2026-12-02 10:00 UTC);
const DAY3: OffsetDateTime = datetime!(2026-12-03 10:00 UTC);

fn log_key() -> SigningKey {
    SigningKey::from_seed(ORIGIN, &[11; 32]).unwrap()
}

fn witness_key() -> SigningKey {
    SigningKey::from_seed("witness.example", &[12; 32]).unwrap()
}

/// Writes a private key where a server expects to find it, owner-only.
fn place_key(dir: &Path, file: &str, key: &SigningKey) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).unwrap();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let path = dir.join(file);
    std::fs::write(&path, key.to_private_text()).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// `lucent witness` for the test log, with a key placed in `dir`.
async fn start_witness(dir: &Path) -> RunningWitness {
    if !dir.join("witness.key").exists() {
        place_key(dir, "witness.key", &witness_key());
    }
    let logs = vec![LogKey {
        origin: ORIGIN.into(),
        key: log_key().verifier_key(),
    }];
    let config = WitnessConfig::new("127.0.0.1:0", dir.to_owned(), None, logs);
    let clock = ManualClock::new(datetime!(2026-12-05 00:00 UTC));
    lucent::witness::start(config, Arc::new(clock))
        .await
        .expect("the witness starts")
}

/// The log, with its key placed in `dir` if it is new, asking `witnesses`.
async fn start_log(dir: &Path, now: OffsetDateTime, witnesses: Vec<Witness>) -> TestServer {
    if !dir.exists() {
        place_key(dir, "new-log.key", &log_key());
    }
    let mut config = config(dir, ORIGIN, Period::DAY);
    config.witnesses = witnesses;
    TestServer::start(config, ManualClock::new(now)).await
}

fn witness_at(key: VerifierKey, witness: &RunningWitness) -> Witness {
    format!("{key}=http://{}", witness.address).parse().unwrap()
}

/// `lucent witness` in `dir`/witness, and a new log in `dir`/log (on
/// DAY1) that asks it; and the witness's key.
async fn witnessed_log(dir: &Path) -> (RunningWitness, VerifierKey, TestServer) {
    let witness = start_witness(&dir.join("witness")).await;
    let key = witness.verifier_key.clone();
    let log = start_log(
        &dir.join("log"),
        DAY1,
        vec![witness_at(key.clone(), &witness)],
    )
    .await;
    (witness, key, log)
}

/// Waits until the log has stored `count` cosignatures since it started.
async fn cosignatures_stored(log: &TestServer, count: u64) {
    let mut stored = log.running().sequencer.cosignatures_stored();
    let stored = stored.wait_for(|n| *n >= count);
    tokio::time::timeout(std::time::Duration::from_secs(30), stored)
        .await
        .expect("the cosignatures are stored within 30 s")
        .unwrap();
}

async fn checkpoint(log: &TestServer) -> Note {
    let (status, bytes) = log.get_bytes("/checkpoint").await;
    assert_eq!(status, 200);
    Note::parse(bytes).unwrap()
}

#[tokio::test]
async fn each_root_is_cosigned_and_served_with_its_cosignature() {
    let dir = tempfile::tempdir().unwrap();
    let (witness, key, log) = witnessed_log(dir.path()).await;
    for tokens in 0..3 {
        assert_eq!(log.post(report(&nonce(), tokens)).await.0, 202);
    }
    log.set_time(DAY2).await;
    cosignatures_stored(&log, 1).await;

    let note = checkpoint(&log).await;
    assert_eq!(
        note.signatures.len(),
        2,
        "the log's signature, then the witness's"
    );
    assert_eq!(note.signatures[0].name, ORIGIN);
    assert!(matches!(
        witness_signature(&note, &key),
        WitnessSignature::Valid { signed_at: Some(_) }
    ));
    assert_eq!(check_quorum(&note, std::slice::from_ref(&key), 1), Ok(1));

    let (status, roots) = log.get_json("/v1/roots").await;
    assert_eq!(status, 200);
    let cosignatures = &roots[0]["cosignatures"];
    assert_eq!(cosignatures[0]["witness"], "witness.example");
    assert_eq!(cosignatures[0]["key_id"], key.key_id().to_string());
    assert_eq!(cosignatures[0]["time"], "2026-12-05T00:00:00Z");

    // The next root is cosigned from the size the witness cosigned before.
    assert_eq!(log.post(report(&nonce(), 9)).await.0, 202);
    log.set_time(DAY3).await;
    cosignatures_stored(&log, 2).await;
    let note = checkpoint(&log).await;
    assert!(note.text.contains("\n4\n"), "{}", note.text);
    assert_eq!(check_quorum(&note, std::slice::from_ref(&key), 1), Ok(1));
    log.stop().await;
    witness.shutdown().await;
}

#[tokio::test]
async fn a_receipt_carries_the_cosignatures_of_its_root() {
    let dir = tempfile::tempdir().unwrap();
    let (witness, key, log) = witnessed_log(dir.path()).await;
    let (status, accepted) = log.post(report(&nonce(), 1)).await;
    assert_eq!(status, 202);
    log.set_time(DAY2).await;
    cosignatures_stored(&log, 1).await;
    let hash = accepted["record_hash"].as_str().unwrap();
    let (status, receipt) = log.get_json(&format!("/v1/receipts/{hash}")).await;
    assert_eq!(status, 200);
    let note = Note::parse(receipt["checkpoint"].as_str().unwrap()).unwrap();
    assert_eq!(check_quorum(&note, std::slice::from_ref(&key), 1), Ok(1));
    let proof = receipt["tlog_proof"].as_str().unwrap();
    assert!(proof.ends_with(&format!("{}\n", note.signatures[1].to_line().trim_end())));
    log.stop().await;
    witness.shutdown().await;
}

#[tokio::test]
async fn a_witness_that_lost_its_state_is_caught_up_from_its_409() {
    let dir = tempfile::tempdir().unwrap();
    let log_dir = dir.path().join("log");
    let witness = start_witness(&dir.path().join("witness")).await;
    let key = witness.verifier_key.clone();
    let log = start_log(&log_dir, DAY1, vec![witness_at(key.clone(), &witness)]).await;
    assert_eq!(log.post(report(&nonce(), 1)).await.0, 202);
    log.set_time(DAY2).await;
    cosignatures_stored(&log, 1).await;
    log.stop().await;
    witness.shutdown().await;

    // The same witness key on a new data directory: it has cosigned
    // nothing, while the log's database says it cosigned size 1.
    let fresh = dir.path().join("fresh-witness");
    let witness = start_witness(&fresh).await;
    assert_eq!(witness.verifier_key, key);
    let log = start_log(&log_dir, DAY2, vec![witness_at(key.clone(), &witness)]).await;
    assert_eq!(log.post(report(&nonce(), 2)).await.0, 202);
    log.set_time(DAY3).await;
    cosignatures_stored(&log, 1).await;
    let note = checkpoint(&log).await;
    assert!(note.text.contains("\n2\n"), "{}", note.text);
    assert_eq!(check_quorum(&note, std::slice::from_ref(&key), 1), Ok(1));
    log.stop().await;
    witness.shutdown().await;
}

#[tokio::test]
async fn answers_that_do_not_verify_are_not_stored_and_publication_does_not_wait() {
    let dir = tempfile::tempdir().unwrap();
    let witness = start_witness(&dir.path().join("witness")).await;
    let key = witness.verifier_key.clone();
    // The same witness under a key it does not sign with, and a witness
    // that is not there at all: neither holds anything up.
    let wrong_key = SigningKey::from_seed("witness.example", &[13; 32])
        .unwrap()
        .cosignature_verifier_key();
    let nobody = {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("{key}=http://{}", port.local_addr().unwrap())
    };
    let witnesses = vec![
        witness_at(wrong_key.clone(), &witness),
        nobody.parse().unwrap(),
        witness_at(key.clone(), &witness),
    ];
    let log = start_log(&dir.path().join("log"), DAY1, witnesses).await;
    assert_eq!(log.post(report(&nonce(), 1)).await.0, 202);
    log.set_time(DAY2).await;
    cosignatures_stored(&log, 1).await;
    let note = checkpoint(&log).await;
    assert_eq!(note.signatures.len(), 2);
    assert_eq!(
        witness_signature(&note, &wrong_key),
        WitnessSignature::Missing
    );
    let error = check_quorum(&note, &[key, wrong_key], 2).unwrap_err();
    assert_eq!(error.valid, 1);
    log.stop().await;
    witness.shutdown().await;
}

/// What the stand-in witness does with a request.
#[derive(Clone)]
enum Behaviour {
    /// Passes it to the real witness at this base URL.
    Forward(String),
    /// 200 with a body that holds no signature line.
    Garbage,
    /// Never answers.
    Hang,
    /// 409 with a size far ahead of any tree of the log.
    Ahead,
}

/// A witness in front of which the test decides what happens.
struct StandIn {
    base: String,
    behaviour: Arc<std::sync::Mutex<Behaviour>>,
}

impl StandIn {
    async fn start(behaviour: Behaviour) -> StandIn {
        use poem::{Body, Response, endpoint::make};
        let behaviour = Arc::new(std::sync::Mutex::new(behaviour));
        let current = behaviour.clone();
        let app = make(move |request: poem::Request| {
            let behaviour = current.lock().unwrap().clone();
            async move {
                match behaviour {
                    Behaviour::Forward(base) => {
                        let body = request.into_body().into_vec().await.unwrap();
                        let answer = reqwest::Client::new()
                            .post(format!("{base}/add-checkpoint"))
                            .body(body)
                            .send()
                            .await
                            .unwrap();
                        let status = answer.status().as_u16();
                        let content_type = answer.headers()["content-type"].clone();
                        Response::builder()
                            .status(poem::http::StatusCode::from_u16(status).unwrap())
                            .content_type(content_type.to_str().unwrap())
                            .body(Body::from(answer.bytes().await.unwrap().to_vec()))
                    }
                    Behaviour::Garbage => Response::builder().body("no signature here\n"),
                    Behaviour::Hang => std::future::pending().await,
                    Behaviour::Ahead => Response::builder()
                        .status(poem::http::StatusCode::CONFLICT)
                        .content_type("text/x.tlog.size")
                        .body("1000000\n"),
                }
            }
        });
        let limits = lucent::listener::ConnectionLimits {
            max_connections: 16,
            max_connections_per_address: 0,
            head_timeout: std::time::Duration::from_secs(60),
            read_timeout: std::time::Duration::from_secs(60),
            write_timeout: std::time::Duration::from_secs(60),
        };
        let listener = lucent::listener::HttpListener::bind("127.0.0.1:0", limits, Vec::new())
            .await
            .unwrap();
        let base = format!("http://{}", listener.local_addr());
        tokio::spawn(listener.serve(app, std::future::pending()));
        StandIn { base, behaviour }
    }

    fn set(&self, behaviour: Behaviour) {
        *self.behaviour.lock().unwrap() = behaviour;
    }

    fn witness(&self, key: &VerifierKey) -> Witness {
        format!("{key}={}", self.base).parse().unwrap()
    }
}

/// A witness that answers garbage, then a 409 far ahead of the log, gets
/// nothing stored; one that never answers holds nothing up; and once the
/// first answers properly again, the log catches up with it.
#[tokio::test]
async fn witnesses_that_fail_hold_nothing_up_and_are_caught_up_when_they_answer() {
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    let dir = tempfile::tempdir().unwrap();
    let witness = start_witness(&dir.path().join("witness")).await;
    let key = witness.verifier_key.clone();
    let real = format!("http://{}", witness.address);
    let flaky = StandIn::start(Behaviour::Garbage).await;
    let silent = StandIn::start(Behaviour::Hang).await;
    // The same witness reached twice: directly, and through the flaky one.
    let other_key = SigningKey::from_seed("other.example", &[15; 32])
        .unwrap()
        .cosignature_verifier_key();
    let witnesses = vec![flaky.witness(&key), silent.witness(&other_key)];
    let log = start_log(&dir.path().join("log"), DAY1, witnesses).await;
    assert_eq!(log.post(report(&nonce(), 1)).await.0, 202);
    log.set_time(DAY2).await;
    assert_eq!(checkpoint(&log).await.signatures.len(), 1);
    flaky.set(Behaviour::Ahead);
    assert_eq!(log.post(report(&nonce(), 2)).await.0, 202);
    log.set_time(DAY3).await;
    let note = checkpoint(&log).await;
    assert_eq!(
        note.signatures.len(),
        1,
        "nothing stored from garbage or a 409 ahead"
    );
    assert!(note.text.contains("\n2\n"), "{}", note.text);
    assert_eq!(
        log.running()
            .sequencer
            .cosignatures_stored()
            .borrow()
            .to_owned(),
        0
    );

    flaky.set(Behaviour::Forward(real));
    cosignatures_stored(&log, 1).await;
    let note = checkpoint(&log).await;
    assert_eq!(check_quorum(&note, std::slice::from_ref(&key), 1), Ok(1));
    assert_eq!(
        witness_signature(&note, &other_key),
        WitnessSignature::Missing
    );
    log.stop().await;
    witness.shutdown().await;
}

/// `verify` and `submit --check` demand a quorum of the witnesses they are
/// given, and name each one whose signature is missing.
#[tokio::test]
async fn verify_and_check_demand_a_quorum_and_name_the_missing_witnesses() {
    use lucent::cli::progress::Progress;
    use lucent::cli::verify::{VerifyError, VerifyOptions, verify};
    use lucent_client::quorum::WitnessQuorum;
    use lucent_client::submit::{self, CheckError, ReportFields, SubmitOptions, Usage};

    let dir = tempfile::tempdir().unwrap();
    let (witness, key, log) = witnessed_log(dir.path()).await;
    let submitted = submit::submit(&SubmitOptions {
        url: log.base.clone(),
        report: ReportFields {
            nonce: nonce(),
            usage: Usage {
                version: "1.4.2".into(),
                tokens_created: 1,
                tokens_detokenized: 2,
                grants_issued: 3,
            },
        },
        key: Some(log_key().verifier_key()),
    })
    .await
    .unwrap();
    let promise = dir.path().join("promise.json");
    submitted.promise.save(&promise).unwrap();
    log.set_time(DAY2).await;
    cosignatures_stored(&log, 1).await;

    let absent = SigningKey::from_seed("absent.example", &[14; 32])
        .unwrap()
        .cosignature_verifier_key();
    let quorum =
        |quorum| WitnessQuorum::new(vec![key.clone(), absent.clone()], Some(quorum)).unwrap();
    let options = |witnesses| VerifyOptions {
        url: log.base.clone(),
        key: log_key().verifier_key(),
        state: None,
        witnesses,
    };
    let report = verify(&options(quorum(1)), &Progress::hidden())
        .await
        .unwrap();
    assert_eq!(report.size, 1);
    let error = verify(&options(quorum(2)), &Progress::hidden())
        .await
        .unwrap_err();
    assert!(matches!(error, VerifyError::Witnesses(_)), "{error}");
    let named = format!("absent.example+{}: missing", absent.key_id());
    assert!(error.to_string().contains(&named), "{error}");
    assert!(!error.to_string().contains("witness.example"), "{error}");

    submit::check(&promise, &quorum(1)).await.unwrap();
    let error = submit::check(&promise, &quorum(2)).await.unwrap_err();
    assert!(matches!(error, CheckError::Witnesses(_)), "{error}");
    assert!(error.to_string().contains(&named), "{error}");
    assert!(WitnessQuorum::new(vec![key], Some(2)).is_err());
    log.stop().await;
    witness.shutdown().await;
}

/// siglog's `witness` (crates.io siglog 0.1.0), an independent C2SP
/// tlog-witness that signs with a plain Ed25519 note signature (type
/// 0x01): the log collects and serves its signatures, and `lucent verify
/// --witness … --quorum 1` accepts them. `.ci/run` installs it and names it
/// in `LUCENT_SIGLOG_WITNESS`.
#[tokio::test]
#[ignore = "needs siglog's witness binary: .ci/run installs it"]
async fn an_independent_witness_cosigns_and_verify_accepts_it() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let binary = std::env::var("LUCENT_SIGLOG_WITNESS").unwrap_or_else(|_| "witness".into());
    let dir = tempfile::tempdir().unwrap();
    let key = witness_key();
    let address = {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        port.local_addr().unwrap()
    };
    let mut siglog = Command::new(&binary)
        .arg("--database-url")
        .arg(format!(
            "sqlite:{}/siglog.db?mode=rwc",
            dir.path().display()
        ))
        .arg("--listen")
        .arg(address.to_string())
        .arg("--log")
        .arg(format!("{ORIGIN}={}", log_key().verifier_key()))
        .env("WITNESS_PRIVATE_KEY", key.to_private_text())
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {binary}: {e}"));
    let mut stdout = BufReader::new(siglog.stdout.take().unwrap()).lines();
    for line in stdout.by_ref() {
        if line
            .expect("siglog's witness starts")
            .contains("listening on")
        {
            break;
        }
    }
    // Read on, so that its log lines never fill the pipe and stall it.
    std::thread::spawn(move || stdout.for_each(drop));

    let plain_key = key.verifier_key();
    let witness: Witness = format!("{plain_key}=http://{address}").parse().unwrap();
    let log = start_log(&dir.path().join("log"), DAY1, vec![witness]).await;
    for tokens in 0..5 {
        assert_eq!(log.post(report(&nonce(), tokens)).await.0, 202);
    }
    log.set_time(DAY2).await;
    cosignatures_stored(&log, 1).await;
    assert_eq!(log.post(report(&nonce(), 7)).await.0, 202);
    log.set_time(DAY3).await;
    cosignatures_stored(&log, 2).await;
    let note = checkpoint(&log).await;
    assert_eq!(
        witness_signature(&note, &plain_key),
        WitnessSignature::Valid { signed_at: None }
    );
    let (_, roots) = log.get_json("/v1/roots").await;
    assert_eq!(roots[1]["cosignatures"][0]["witness"], "witness.example");
    assert!(roots[1]["cosignatures"][0].get("time").is_none());

    // The real command line, on a thread of its own: the log runs on this
    // test's runtime.
    let mut verify = Command::new(env!("CARGO_BIN_EXE_lucent"));
    verify
        .args(["verify", &log.base, "--key"])
        .arg(log_key().verifier_key().to_string())
        .arg("--witness")
        .arg(plain_key.to_string())
        .args(["--quorum", "1"]);
    let passed = tokio::task::spawn_blocking(move || verify.output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&passed.stderr);
    assert!(passed.status.success(), "{stderr}");
    log.stop().await;
    siglog.kill().unwrap();
    siglog.wait().unwrap();
}
