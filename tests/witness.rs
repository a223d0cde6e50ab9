//! `lucent witness` over real HTTP (SPEC section 8, C2SP tlog-witness):
//! every answer of `add-checkpoint`, the cosignature verified with the
//! witness's type 0x04 key, the state across restarts and SIGKILLs, and
//! concurrent requests that must never both be cosigned.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Child;
use std::sync::Arc;

use lucent::clock::ManualClock;
use lucent::witness::{LogKey, RunningWitness, WitnessConfig};
use lucent_core::Hash;
use lucent_core::checkpoint::Checkpoint;
use lucent_core::hash::empty_root;
use lucent_core::merkle::{MemoryTree, consistency_proof};
use lucent_core::note::{KeyType, Note, SigningKey, VerifierKey};
use lucent_core::witness::{
    AddCheckpoint, MAX_ADD_CHECKPOINT_BYTES, TLOG_SIZE_CONTENT_TYPE, parse_tlog_size,
    verify_cosignature_response,
};
use time::OffsetDateTime;
use time::macros::datetime;

const ORIGIN: &str = "example.com/log";
const OTHER_ORIGIN: &str = "example.com/other";
const START: OffsetDateTime = datetime!(2026-03-04 05:06:07 UTC);

/// A log the test runs: its key and the leaves of its history.
struct TestLog {
    key: SigningKey,
    origin: &'static str,
}

impl TestLog {
    fn new(origin: &'static str, seed: u8) -> TestLog {
        TestLog {
            key: SigningKey::from_seed(origin, &[seed; 32]).unwrap(),
            origin,
        }
    }

    fn log_key(&self) -> LogKey {
        LogKey {
            origin: self.origin.into(),
            key: self.key.verifier_key(),
        }
    }

    /// The signed checkpoint of `tree`.
    fn sign(&self, tree: &MemoryTree) -> String {
        Checkpoint::new(self.origin, tree.size(), tree.root())
            .sign(&self.key)
            .unwrap()
    }

    /// The request adding `tree`'s checkpoint, with the proof from `old`.
    fn request(&self, old: u64, tree: &MemoryTree) -> String {
        AddCheckpoint {
            old_size: old,
            proof: consistency_proof(old, tree.size(), tree).unwrap(),
            checkpoint: self.sign(tree),
        }
        .to_body()
    }
}

/// A tree of `size` leaves: the first `common` shared by every fork, the
/// rest this fork's own.
fn tree(size: u64, common: u64, fork: u8) -> MemoryTree {
    MemoryTree::from_leaf_hashes((0..size).map(|i| {
        let mut leaf = [if i < common { 0 } else { fork }; 32];
        leaf[..8].copy_from_slice(&i.to_be_bytes());
        Hash(leaf)
    }))
}

fn text_of(note: &str) -> String {
    Note::parse(note).unwrap().text
}

struct Answer {
    status: u16,
    content_type: String,
    body: String,
}

/// A witness in this process on port 0, with a clock the test drives.
struct TestWitness {
    running: Option<RunningWitness>,
    clock: ManualClock,
    base: String,
    client: reqwest::Client,
}

fn config(dir: &Path, logs: &[&TestLog]) -> WitnessConfig {
    WitnessConfig::new(
        "127.0.0.1:0",
        dir.to_owned(),
        Some("witness.example/w1".into()),
        logs.iter().map(|log| log.log_key()).collect(),
    )
}

impl TestWitness {
    async fn start(config: WitnessConfig) -> TestWitness {
        let clock = ManualClock::new(START);
        let running = lucent::witness::start(config, Arc::new(clock.clone()))
            .await
            .expect("the witness starts");
        TestWitness {
            base: format!("http://{}", running.address),
            running: Some(running),
            clock,
            client: reqwest::Client::new(),
        }
    }

    fn key(&self) -> &VerifierKey {
        &self.running.as_ref().unwrap().verifier_key
    }

    async fn add(&self, body: impl Into<reqwest::Body>) -> Answer {
        add(&self.client, &self.base, body).await
    }

    async fn get(&self, path: &str) -> Answer {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        answer(response).await
    }

    /// The witness's size for `log`, as its 409 to `old 0` states it.
    async fn latest_size(&self, log: &TestLog) -> u64 {
        latest_size(&self.client, &self.base, log).await
    }

    async fn stop(mut self) {
        self.running.take().unwrap().shutdown().await;
    }
}

async fn add(client: &reqwest::Client, base: &str, body: impl Into<reqwest::Body>) -> Answer {
    let response = client
        .post(format!("{base}/add-checkpoint"))
        .body(body)
        .send()
        .await
        .expect("an answer");
    answer(response).await
}

async fn answer(response: reqwest::Response) -> Answer {
    Answer {
        status: response.status().as_u16(),
        content_type: response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default(),
        body: response.text().await.unwrap(),
    }
}

/// The witness's size for `log`, as a 409 states it: probes with old
/// sizes 1 and 2 (one of them is not the witness's size) and a checkpoint
/// of size 2^64 - 1 with no proof, which nothing could cosign.
async fn latest_size(client: &reqwest::Client, base: &str, log: &TestLog) -> u64 {
    let probe = Checkpoint::new(log.origin, u64::MAX, Hash([0xee; 32]))
        .sign(&log.key)
        .unwrap();
    for old in [1, 2] {
        let answer = add(client, base, format!("old {old}\n\n{probe}")).await;
        match answer.status {
            409 => {
                assert_eq!(answer.content_type, TLOG_SIZE_CONTENT_TYPE);
                return parse_tlog_size(answer.body.as_bytes()).expect("a size line");
            }
            // `old` is the witness's size: the missing proof fails.
            422 => {}
            other => panic!("probing the size: {other} {}", answer.body),
        }
    }
    unreachable!("the sizes 1 and 2 cannot both be the witness's")
}

/// Checks a 200: one cosignature line by the witness, verified with its
/// type 0x04 key over the checkpoint's text; returns its timestamp.
fn assert_cosigned(answer: &Answer, key: &VerifierKey, signed_checkpoint: &str) -> u64 {
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.content_type, "text/plain; charset=utf-8");
    assert_eq!(key.key_type(), KeyType::CosignatureV1);
    assert_eq!(answer.body.lines().count(), 1);
    let signature =
        verify_cosignature_response(&text_of(signed_checkpoint), &answer.body, key).unwrap();
    assert_eq!(signature.to_line(), answer.body);
    signature.cosignature().unwrap().timestamp
}

#[tokio::test]
async fn cosigns_consistent_checkpoints_verifiably() {
    let dir = tempfile::tempdir().unwrap();
    let log = TestLog::new(ORIGIN, 1);
    let witness = TestWitness::start(config(dir.path(), &[&log])).await;
    let start = START.unix_timestamp() as u64;

    // The key served is the key file's, in its type 0x04 form.
    let key_text = std::fs::read_to_string(dir.path().join("witness.key")).unwrap();
    let own = SigningKey::parse(key_text.trim_end()).unwrap();
    assert_eq!(witness.key(), &own.cosignature_verifier_key());
    assert_eq!(own.name(), "witness.example/w1");

    // Nothing cosigned yet: nothing to serve.
    let hash = Hash::sha256(ORIGIN.as_bytes()).to_hex();
    assert_eq!(
        witness.get(&format!("/{hash}/checkpoint")).await.status,
        404
    );
    assert!(witness.get("/").await.body.contains("nothing cosigned yet"));

    let t5 = tree(5, 0, 0);
    let answer = witness.add(log.request(0, &t5)).await;
    assert_eq!(
        assert_cosigned(&answer, witness.key(), &log.sign(&t5)),
        start
    );

    witness.clock.advance(time::Duration::seconds(10));
    let t12 = tree(12, 0, 0);
    let answer = witness.add(log.request(5, &t12)).await;
    assert_eq!(
        assert_cosigned(&answer, witness.key(), &log.sign(&t12)),
        start + 10
    );
    // The log puts the line after its own: the note opens with both keys.
    let note = format!("{}{}", log.sign(&t12), answer.body);
    let opened = Note::open(&note, &[log.key.verifier_key(), witness.key().clone()]).unwrap();
    assert_eq!(opened.verified.len(), 2);

    // The same checkpoint again is cosigned again; should the clock step
    // back, its time does not.
    witness.clock.set(START);
    let answer = witness.add(log.request(12, &t12)).await;
    assert_eq!(
        assert_cosigned(&answer, witness.key(), &log.sign(&t12)),
        start + 10
    );
    assert_eq!(witness.latest_size(&log).await, 12);

    // Monitoring: the latest note with the log's signature and the
    // cosignature; the page shows the key, the log and that note.
    let latest = witness.get(&format!("/{hash}/checkpoint")).await;
    assert_eq!(latest.status, 200);
    assert_eq!(latest.body, note);
    let other = Hash::sha256(OTHER_ORIGIN.as_bytes()).to_hex();
    for path in [
        format!("/{other}/checkpoint"),
        format!("/{}/checkpoint", hash.to_uppercase()),
        "/nothing".into(),
    ] {
        assert_eq!(witness.get(&path).await.status, 404, "{path}");
    }
    let page = witness.get("/").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.content_type, "text/plain; charset=utf-8");
    assert!(page.body.contains(&witness.key().to_string()));
    assert!(page.body.contains(&format!("log {ORIGIN}\n")));
    assert!(page.body.contains(&log.key.verifier_key().to_string()));
    assert!(
        page.body
            .contains("size 12, cosigned at 2026-03-04T05:06:17Z")
    );
    for line in note.lines() {
        assert!(page.body.contains(&format!("    {line}\n")), "{line}");
    }
    assert_eq!(witness.get("/healthz").await.body, "ok\n");
    witness.stop().await;
}

#[tokio::test]
async fn a_log_may_have_several_keys_and_extension_lines() {
    let dir = tempfile::tempdir().unwrap();
    let log = TestLog::new(ORIGIN, 1);
    let rotated = SigningKey::from_seed("example.com/log-2026", &[7; 32]).unwrap();
    let mut config = config(dir.path(), &[&log]);
    config.logs.push(LogKey {
        origin: ORIGIN.into(),
        key: rotated.verifier_key(),
    });
    let witness = TestWitness::start(config).await;
    let t3 = tree(3, 0, 0);
    let mut checkpoint = Checkpoint::new(ORIGIN, 3, t3.root());
    checkpoint.extensions.push("an extension line".into());
    let signed = rotated.sign_note(&checkpoint.to_text()).unwrap();
    let body = AddCheckpoint {
        old_size: 0,
        proof: Vec::new(),
        checkpoint: signed.clone(),
    }
    .to_body();
    let answer = witness.add(body).await;
    assert_cosigned(&answer, witness.key(), &signed);
    witness.stop().await;
}

#[tokio::test]
async fn malformed_requests_are_400_and_oversized_ones_413() {
    let dir = tempfile::tempdir().unwrap();
    let log = TestLog::new(ORIGIN, 1);
    let witness = TestWitness::start(config(dir.path(), &[&log])).await;
    let t5 = tree(5, 0, 0);
    let note = log.sign(&t5);
    let hash = Hash([3; 32]).to_base64();
    let not_a_checkpoint = log.key.sign_note("example.com/log\nfive\n").unwrap();
    for body in [
        String::new(),
        format!("old 0\n{note}"),
        format!("old 00\n\n{note}"),
        format!("old x\n\n{note}"),
        format!("new 0\n\n{note}"),
        format!("old 0\nnot base64!\n\n{note}"),
        format!("old 1\n{}\n{note}", format!("{hash}\n").repeat(64)),
        "old 0\n\nexample.com/log\n5\n".into(),
        format!("old 0\n\n{not_a_checkpoint}"),
        // Old size larger than the checkpoint's: 400, the protocol says.
        log.request(0, &t5).replacen("old 0", "old 6", 1),
    ] {
        let answer = witness.add(body.clone()).await;
        assert_eq!(answer.status, 400, "{body:?}: {}", answer.body);
    }
    let mut not_utf8 = b"old 0\n\n".to_vec();
    not_utf8.extend_from_slice(&[0xff; 4]);
    assert_eq!(witness.add(not_utf8).await.status, 400);

    let huge = format!("old 0\n\n{}", "a".repeat(MAX_ADD_CHECKPOINT_BYTES));
    assert_eq!(witness.add(huge).await.status, 413);
    // Nothing was cosigned.
    assert_eq!(witness.latest_size(&log).await, 0);
    witness.stop().await;
}

#[tokio::test]
async fn unknown_origins_are_404_and_bad_signatures_403() {
    let dir = tempfile::tempdir().unwrap();
    let log = TestLog::new(ORIGIN, 1);
    let witness = TestWitness::start(config(dir.path(), &[&log])).await;
    let t5 = tree(5, 0, 0);

    let stranger = TestLog::new(OTHER_ORIGIN, 2);
    let answer = witness.add(stranger.request(0, &t5)).await;
    assert_eq!(answer.status, 404, "{}", answer.body);

    // A key of the same name that is not the log's: nothing verifies.
    let impostor = TestLog {
        key: SigningKey::from_seed(ORIGIN, &[9; 32]).unwrap(),
        origin: ORIGIN,
    };
    let answer = witness.add(impostor.request(0, &t5)).await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    // The log's key, over another text: its signature fails.
    let forged = log.request(0, &t5).replacen("\n5\n", "\n6\n", 1);
    assert_eq!(witness.add(forged).await.status, 403);
    // An impostor's line beside the log's does not matter.
    let both = format!(
        "{}{}",
        log.request(0, &t5),
        &impostor.sign(&t5)[text_of(&log.sign(&t5)).len() + 1..]
    );
    let answer = witness.add(both).await;
    assert_cosigned(&answer, witness.key(), &log.sign(&t5));
    witness.stop().await;
}

#[tokio::test]
async fn a_wrong_old_size_is_409_with_the_latest_size() {
    let dir = tempfile::tempdir().unwrap();
    let log = TestLog::new(ORIGIN, 1);
    let witness = TestWitness::start(config(dir.path(), &[&log])).await;
    let t8 = tree(8, 0, 0);

    // Never cosigned: the size is 0.
    let answer = witness.add(log.request(3, &t8)).await;
    assert_eq!(answer.status, 409);
    assert_eq!(answer.content_type, TLOG_SIZE_CONTENT_TYPE);
    assert_eq!(answer.body, "0\n");

    assert_eq!(witness.add(log.request(0, &t8)).await.status, 200);
    for old in [0, 3, 7] {
        let answer = witness.add(log.request(old, &tree(10, 0, 0))).await;
        assert_eq!(answer.status, 409);
        assert_eq!(answer.content_type, TLOG_SIZE_CONTENT_TYPE);
        assert_eq!(answer.body, "8\n");
        assert_eq!(parse_tlog_size(answer.body.as_bytes()), Some(8));
    }
    // Retrying from the size the 409 gave succeeds.
    assert_eq!(
        witness.add(log.request(8, &tree(10, 0, 0))).await.status,
        200
    );
    witness.stop().await;
}

#[tokio::test]
async fn inconsistent_checkpoints_are_422_and_never_cosigned() {
    let dir = tempfile::tempdir().unwrap();
    let log = TestLog::new(ORIGIN, 1);
    let fresh = TestLog::new(OTHER_ORIGIN, 2);
    let witness = TestWitness::start(config(dir.path(), &[&log, &fresh])).await;

    let a5 = tree(5, 0, 0);
    assert_eq!(witness.add(log.request(0, &a5)).await.status, 200);

    // A fork: the same size with another root, or a larger tree whose
    // first five leaves differ (its proof is a proof from its own size 5).
    let b5 = tree(5, 0, 7);
    let answer = witness.add(log.request(5, &b5)).await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    let b9 = tree(9, 0, 7);
    assert_eq!(witness.add(log.request(5, &b9)).await.status, 422);
    // A proof between other sizes, or none.
    let a9 = tree(9, 0, 0);
    let wrong_proof = AddCheckpoint {
        old_size: 5,
        proof: consistency_proof(4, 9, &a9).unwrap(),
        checkpoint: log.sign(&a9),
    };
    assert_eq!(witness.add(wrong_proof.to_body()).await.status, 422);
    let no_proof = AddCheckpoint {
        proof: Vec::new(),
        ..wrong_proof
    };
    assert_eq!(witness.add(no_proof.to_body()).await.status, 422);
    // The same size again with a proof: only an empty proof proves equal
    // trees equal.
    let padded = AddCheckpoint {
        old_size: 5,
        proof: vec![Hash([1; 32])],
        checkpoint: log.sign(&a5),
    };
    assert_eq!(witness.add(padded.to_body()).await.status, 422);

    // A first checkpoint: size 0 must have the empty root, and a proof
    // from 0 must be empty.
    let bad_empty = Checkpoint::new(OTHER_ORIGIN, 0, Hash([1; 32]))
        .sign(&fresh.key)
        .unwrap();
    let body = format!("old 0\n\n{bad_empty}");
    assert_eq!(witness.add(body).await.status, 422);
    let proof_from_zero = AddCheckpoint {
        old_size: 0,
        proof: consistency_proof(2, 5, &a5).unwrap(),
        checkpoint: fresh.sign(&a5),
    };
    assert_eq!(witness.add(proof_from_zero.to_body()).await.status, 422);
    assert_eq!(witness.latest_size(&fresh).await, 0);
    let empty = Checkpoint::new(OTHER_ORIGIN, 0, empty_root())
        .sign(&fresh.key)
        .unwrap();
    assert_eq!(witness.add(format!("old 0\n\n{empty}")).await.status, 200);

    // Nothing of the fork was cosigned; the log's own history goes on.
    assert_eq!(witness.latest_size(&log).await, 5);
    let answer = witness.add(log.request(5, &a9)).await;
    assert_cosigned(&answer, witness.key(), &log.sign(&a9));
    witness.stop().await;
}

#[tokio::test]
async fn the_state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let log = TestLog::new(ORIGIN, 1);
    let witness = TestWitness::start(config(dir.path(), &[&log])).await;
    let key = witness.key().clone();
    assert_eq!(
        witness.add(log.request(0, &tree(5, 0, 0))).await.status,
        200
    );
    witness.stop().await;

    let mut again = config(dir.path(), &[&log]);
    again.name = None;
    let witness = TestWitness::start(again).await;
    assert_eq!(witness.key(), &key);
    assert_eq!(witness.latest_size(&log).await, 5);
    assert_eq!(
        witness.add(log.request(5, &tree(5, 0, 7))).await.status,
        422
    );
    let t9 = tree(9, 0, 0);
    let answer = witness.add(log.request(5, &t9)).await;
    assert_cosigned(&answer, &key, &log.sign(&t9));
    witness.stop().await;
}

#[tokio::test]
async fn an_operators_key_is_used_and_a_running_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let log = TestLog::new(ORIGIN, 1);
    let own = SigningKey::from_seed("witness.example/own", &[5; 32]).unwrap();
    std::fs::write(
        dir.path().join("witness.key"),
        format!("{}\n", own.to_private_text()),
    )
    .unwrap();
    let mut config = config(dir.path(), &[&log]);
    config.name = None;
    let witness = TestWitness::start(config.clone()).await;
    assert_eq!(witness.key(), &own.cosignature_verifier_key());

    // A second witness on the same directory would keep a state of its own.
    let second = lucent::witness::start(config, Arc::new(ManualClock::new(START))).await;
    let error = second.err().expect("refused").to_string();
    assert!(error.contains("another witness is running"), "{error}");
    witness.stop().await;
}

/// Forks of one history, each consistent with the latest cosigned
/// checkpoint but not with each other, sent at once: exactly one is
/// cosigned each round (the others find the size changed: 409), and the
/// cosigned checkpoints form one history.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_forks_are_never_both_cosigned() {
    let dir = tempfile::tempdir().unwrap();
    let log = TestLog::new(ORIGIN, 1);
    let witness = TestWitness::start(config(dir.path(), &[&log])).await;
    let mut history = tree(1, 0, 0);
    assert_eq!(witness.add(log.request(0, &history)).await.status, 200);
    const FORKS: u8 = 6;
    for round in 0..30 {
        let size = history.size();
        // Fork f: the history, then f + 1 leaves of its own.
        let forks: Vec<MemoryTree> = (0..FORKS)
            .map(|f| {
                let mut fork = history.clone();
                for i in 0..=u64::from(f) {
                    let mut leaf = [f + 1; 32];
                    leaf[..8].copy_from_slice(&(size + i).to_be_bytes());
                    leaf[8] = round;
                    fork.append(Hash(leaf));
                }
                fork
            })
            .collect();
        let answers = futures_util::future::join_all(forks.iter().map(|fork| {
            let (client, base) = (witness.client.clone(), witness.base.clone());
            let body = log.request(size, fork);
            async move { add(&client, &base, body).await }
        }))
        .await;
        let cosigned: Vec<usize> = (0..answers.len())
            .filter(|&i| answers[i].status == 200)
            .collect();
        assert_eq!(cosigned.len(), 1, "round {round}: {:?}", statuses(&answers));
        for (i, answer) in answers.iter().enumerate() {
            if i != cosigned[0] {
                assert_eq!(answer.status, 409, "round {round}");
                assert_eq!(answer.body, format!("{}\n", forks[cosigned[0]].size()));
            }
        }
        history = forks[cosigned[0]].clone();
        assert_cosigned(&answers[cosigned[0]], witness.key(), &log.sign(&history));
    }
    assert_eq!(witness.latest_size(&log).await, history.size());
    witness.stop().await;
}

fn statuses(answers: &[Answer]) -> Vec<u16> {
    answers.iter().map(|a| a.status).collect()
}

/// The real binary, started in the background; returns it, its base URL
/// and the verifier key it printed.
fn spawn_witness(
    dir: &Path,
    log: &TestLog,
    extra: &[&str],
    stderr: &Path,
) -> (Child, String, String) {
    let mut command = common::lucent_command(stderr, "info");
    command
        .args(["witness", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .arg("--log")
        .arg(format!("{}={}", log.origin, log.key.verifier_key()))
        .args(extra);
    let mut child = command.spawn().expect("the binary starts");
    let mut lines = BufReader::new(child.stdout.as_mut().unwrap()).lines();
    let mut line = || {
        lines
            .next()
            .unwrap_or_else(|| panic!("no output: see {}", stderr.display()))
            .unwrap()
    };
    let first = line();
    let base = first
        .strip_prefix("lucent witness listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}: see {}", stderr.display()))
        .to_owned();
    let second = line();
    let key = second
        .strip_prefix("verifier key: ")
        .unwrap_or_else(|| panic!("unexpected second line {second:?}"))
        .to_owned();
    (child, base, key)
}

/// SIGKILL the binary while a log sends it growing checkpoints back to
/// back: after each restart the witness remembers at least the last
/// checkpoint it answered 200 for (never less: it could then cosign a
/// fork of it), and what it remembers is one the log sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_state_survives_sigkill_at_any_moment() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let stderr = dir.path().join("stderr.log");
    let log = TestLog::new(ORIGIN, 1);
    let client = reqwest::Client::new();
    let (mut child, mut base, key) =
        spawn_witness(&data, &log, &["--name", "witness.example/w1"], &stderr);
    let key = VerifierKey::parse(&key).unwrap();
    assert_eq!(key.key_type(), KeyType::CosignatureV1);
    let mut acknowledged = 0u64;
    for kill in 0..4u64 {
        const REQUESTS: u64 = 50;
        let sent_max = acknowledged + REQUESTS;
        // Requests back to back; the kill comes right after the (kill+2)th
        // 200, with the next request on its way.
        let (sender, mut acks) = tokio::sync::mpsc::unbounded_channel();
        let sending = {
            let (client, base) = (client.clone(), base.clone());
            let mut size = acknowledged;
            let bodies: Vec<(u64, String)> = (1..=REQUESTS)
                .map(|step| {
                    let next = acknowledged + step;
                    let body = log.request(size, &tree(next, 0, 0));
                    size = next;
                    (next, body)
                })
                .collect();
            tokio::spawn(async move {
                for (next, body) in bodies {
                    let Ok(response) = client
                        .post(format!("{base}/add-checkpoint"))
                        .body(body)
                        .send()
                        .await
                    else {
                        return;
                    };
                    let status = response.status().as_u16();
                    if sender.send((next, status)).is_err() || status != 200 {
                        return;
                    }
                }
            })
        };
        let mut oks = 0;
        while let Some((next, status)) = acks.recv().await {
            assert_eq!(status, 200);
            acknowledged = next;
            oks += 1;
            if oks == kill + 2 {
                break;
            }
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let _ = sending.await;
        while let Ok((next, status)) = acks.try_recv() {
            if status == 200 {
                acknowledged = acknowledged.max(next);
            }
        }

        let (restarted, new_base, new_key) = spawn_witness(&data, &log, &[], &stderr);
        (child, base) = (restarted, new_base);
        assert_eq!(new_key, key.to_string());
        let remembered = latest_size(&client, &base, &log).await;
        assert!(
            remembered >= acknowledged && remembered <= sent_max,
            "kill {kill}: remembers {remembered}, acknowledged {acknowledged}, sent up to {sent_max}"
        );
        // What it remembers is the log's checkpoint of that size, cosigned.
        let hash = Hash::sha256(ORIGIN.as_bytes()).to_hex();
        let latest = client
            .get(format!("{base}/{hash}/checkpoint"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let expected = tree(remembered, 0, 0);
        let opened = Note::open(&latest, &[log.key.verifier_key(), key.clone()]).unwrap();
        assert_eq!(opened.verified.len(), 2);
        assert_eq!(
            Checkpoint::parse(&opened.text).unwrap(),
            Checkpoint::new(ORIGIN, remembered, expected.root())
        );
        acknowledged = remembered;
    }
    child.kill().unwrap();
    child.wait().unwrap();
}
