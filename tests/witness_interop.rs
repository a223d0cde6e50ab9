//! `lucent witness` witnessing an independent log over real HTTP: siglog
//! 0.1.0 (crates.io, a Tessera-compatible log server in Rust), run as a
//! child process with `--external-witnesses lucent=<this witness>`. siglog
//! sends each new checkpoint to the witness with C2SP tlog-witness
//! `add-checkpoint` (`old <size>`, the consistency proof, the checkpoint)
//! before it writes the checkpoint it serves.
//!
//! What siglog 0.1.0 does with the answer (src/worker.rs:396-425,
//! `publish_checkpoint`, and 488-503, its 409; src/checkpoint/signer.rs:
//! 311-348, `CheckpointSignature::from_line`, and 539-545): it parses the
//! line as a plain Ed25519 note signature, 68 bytes (key id and signature),
//! and never verifies it (`--external-witnesses name=url` gives it no key
//! for the witness). A tlog-cosignature line, as `lucent witness` answers
//! (type 0x04, `cosignature/v1`: key id, timestamp and signature, 76
//! bytes), is refused there with a warning, so its served checkpoint never
//! carries the cosignature, and the size it believes the witness has
//! cosigned stays behind (it is set only when a line is kept) until the
//! witness's 409 tells it. Nothing of it is stored elsewhere (its database has no table
//! for it; the witness size it keeps is in memory).
//!
//! So this test checks what can be checked end to end: the witness
//! cosigned siglog's checkpoints (from size 0, then from the size it
//! cosigned before, with siglog's consistency proof, after siglog learned
//! that size from the witness's 409), each cosigned checkpoint is the one
//! siglog served and the tree of the entries added, and its cosignature
//! verifies with lucent's core; and that siglog received the cosignature
//! line and refused it for its length, as above. Should a later siglog keep
//! such lines, the assertion on its served checkpoint fails: check its
//! cosignature there with `check_quorum` instead.
//!
//! Ignored: `.ci/run` installs siglog and names it in `LUCENT_SIGLOG`.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lucent::clock::ManualClock;
use lucent::witness::{LogKey, RunningWitness, WitnessConfig};
use lucent_core::Hash;
use lucent_core::checkpoint::Checkpoint;
use lucent_core::hash::leaf_hash;
use lucent_core::merkle::MemoryTree;
use lucent_core::note::{KeyType, Note, SigningKey, VerifierKey};
use lucent_core::quorum::{WitnessSignature, check_quorum, witness_signature};
use time::OffsetDateTime;
use time::macros::datetime;
use tokio::sync::mpsc;

const ORIGIN: &str = "siglog.example/interop";
/// The name siglog knows the witness by: only in its log lines.
const WITNESS_NAME: &str = "lucent";
/// The witness's clock, so the time its cosignatures sign.
const COSIGNED_AT: OffsetDateTime = datetime!(2026-05-06 07:08:09 UTC);
/// The longest any one wait may take.
const DEADLINE: Duration = Duration::from_secs(30);
/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(200);
/// The most rounds of growth a phase may take: siglog's answers from the
/// witness alternate between a cosignature (that it refuses) and a 409
/// (that sets the size it sends from), so two are enough; the rest is slack.
const MAX_ROUNDS: usize = 4;

fn log_key() -> SigningKey {
    SigningKey::from_seed(ORIGIN, &[31; 32]).unwrap()
}

fn witness_key() -> SigningKey {
    SigningKey::from_seed("witness.example/lucent", &[32; 32]).unwrap()
}

/// `lucent witness` in this process on port 0, for siglog's log, with its
/// key placed in `dir` and a clock stopped at [`COSIGNED_AT`].
async fn start_witness(dir: &std::path::Path) -> RunningWitness {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).unwrap();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let key_file = dir.join("witness.key");
    std::fs::write(&key_file, witness_key().to_private_text()).unwrap();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let logs = vec![LogKey {
        origin: ORIGIN.into(),
        key: log_key().verifier_key(),
    }];
    let config = WitnessConfig::new("127.0.0.1:0", dir.to_owned(), None, logs);
    lucent::witness::start(config, Arc::new(ManualClock::new(COSIGNED_AT)))
        .await
        .expect("the witness starts")
}

/// siglog as a child process, killed when dropped; every line it prints
/// is kept, for the assertions on its log and for failure messages.
struct Siglog {
    child: Child,
    base: String,
    output: Arc<Mutex<Vec<String>>>,
    client: reqwest::Client,
    /// The entries added so far, in order.
    entries: Vec<Vec<u8>>,
}

impl Drop for Siglog {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends each line of `stream` to `lines` and keeps it in `output`.
fn collect_lines(
    stream: impl Read + Send + 'static,
    output: Arc<Mutex<Vec<String>>>,
    lines: mpsc::UnboundedSender<String>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            output.lock().unwrap().push(line.clone());
            let _ = lines.send(line);
        }
    });
}

impl Siglog {
    /// Starts siglog on a free port, fs storage and a SQLite database in
    /// `dir`, asking the witness at `witness`; returns once it says it is
    /// listening.
    async fn start(dir: &std::path::Path, witness: &str) -> Siglog {
        let binary = std::env::var("LUCENT_SIGLOG").unwrap_or_else(|_| "siglog".into());
        let address = {
            let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            port.local_addr().unwrap()
        };
        let mut child = Command::new(&binary)
            .env_clear()
            .env("NO_COLOR", "1")
            .arg("--database-url")
            .arg(format!("sqlite:{}/siglog.db?mode=rwc", dir.display()))
            .args(["--storage-backend", "fs", "--fs-root"])
            .arg(dir.join("tiles"))
            .args(["--origin", ORIGIN, "--private-key"])
            .arg(log_key().to_private_text())
            .arg("--listen")
            .arg(address.to_string())
            .args(["--checkpoint-interval", "1", "--batch-max-age-ms", "50"])
            .arg("--external-witnesses")
            .arg(format!("{WITNESS_NAME}={witness}"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {binary}: {e}"));
        let output = Arc::new(Mutex::new(Vec::new()));
        let (send, mut lines) = mpsc::unbounded_channel();
        collect_lines(child.stdout.take().unwrap(), output.clone(), send.clone());
        collect_lines(child.stderr.take().unwrap(), output.clone(), send);
        let siglog = Siglog {
            child,
            base: format!("http://{address}"),
            output,
            client: reqwest::Client::new(),
            entries: Vec::new(),
        };
        let listening = async {
            while let Some(line) = lines.recv().await {
                if line.contains("Server listening on") {
                    return true;
                }
            }
            false // both streams closed: siglog exited
        };
        match tokio::time::timeout(DEADLINE, listening).await {
            Ok(true) => siglog,
            Ok(false) => panic!("siglog exited:\n{}", siglog.output()),
            Err(_) => panic!(
                "siglog not listening within {DEADLINE:?}:\n{}",
                siglog.output()
            ),
        }
    }

    fn output(&self) -> String {
        self.output.lock().unwrap().join("\n")
    }

    fn said(&self, words: &str) -> bool {
        self.output
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains(words))
    }

    /// `POST /add`: siglog answers with the entry's index.
    async fn add(&mut self, data: Vec<u8>) {
        // siglog 0.1.0 now and then answers 500 under load (its own
        // SQLite writers); a few tries, then its output.
        let mut tries = 0;
        let response = loop {
            let response = self
                .client
                .post(format!("{}/add", self.base))
                .body(data.clone())
                .send()
                .await
                .unwrap();
            tries += 1;
            if !response.status().is_server_error() || tries == 5 {
                break response;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        };
        let output = self.output.lock().unwrap().join("\n");
        assert_eq!(response.status(), 200, "siglog said:\n{output}");
        let index = response.text().await.unwrap();
        assert_eq!(index.trim(), self.entries.len().to_string());
        self.entries.push(data);
    }

    /// The checkpoint siglog serves, if it has published one.
    async fn checkpoint(&self) -> Option<String> {
        let response = self
            .client
            .get(format!("{}/checkpoint", self.base))
            .send()
            .await
            .unwrap();
        match response.status().as_u16() {
            200 => Some(response.text().await.unwrap()),
            _ => None,
        }
    }

    /// Adds `count` entries, then waits until siglog serves the checkpoint
    /// of all of them, which it writes only after its call to the witness
    /// for it is over; returns that checkpoint.
    async fn grow(&mut self, count: usize) -> String {
        for _ in 0..count {
            let n = self.entries.len();
            self.add(format!("entry {n} for lucent witness").into_bytes())
                .await;
        }
        let size = self.entries.len() as u64;
        let started = Instant::now();
        loop {
            if let Some(note) = self.checkpoint().await
                && checkpoint_of(&note).size == size
            {
                return note;
            }
            assert!(
                started.elapsed() < DEADLINE,
                "siglog served no checkpoint of size {size} within {DEADLINE:?}:\n{}",
                self.output()
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// The root of the tree of the first `size` entries (RFC 6962).
    fn root(&self, size: u64) -> Hash {
        let leaves = self.entries[..size as usize].iter().map(|e| leaf_hash(e));
        MemoryTree::from_leaf_hashes(leaves).root()
    }
}

/// The checkpoint of a note, whose log signature must verify.
fn checkpoint_of(note: &str) -> Checkpoint {
    let opened = Note::open(note, &[log_key().verifier_key()])
        .unwrap_or_else(|e| panic!("the log's signature on {note:?}: {e}"));
    assert_eq!(opened.verified.len(), 1);
    Checkpoint::parse(&opened.text).unwrap()
}

/// The witness's latest cosigned checkpoint of siglog's log, from its
/// monitoring endpoint (`GET /<hex SHA-256 of the origin>/checkpoint`).
async fn witnessed(client: &reqwest::Client, witness: &str) -> Option<String> {
    let origin_hash = Hash::sha256(ORIGIN.as_bytes()).to_hex();
    let response = client
        .get(format!("{witness}/{origin_hash}/checkpoint"))
        .send()
        .await
        .unwrap();
    match response.status().as_u16() {
        200 => Some(response.text().await.unwrap()),
        404 => None,
        status => panic!("the witness's checkpoint: {status}"),
    }
}

/// Grows siglog's log, a round at a time (`first` entries, then one),
/// until the witness's latest cosigned checkpoint is the one siglog serves
/// and larger than `after`; returns it. Every checkpoint siglog serves on
/// the way is checked: its log signature verifies, and it carries no line
/// by the witness.
async fn cosigned_beyond(
    siglog: &mut Siglog,
    client: &reqwest::Client,
    witness: &str,
    key: &VerifierKey,
    first: usize,
    after: u64,
) -> String {
    for round in 0..MAX_ROUNDS {
        let served = siglog.grow(if round == 0 { first } else { 1 }).await;
        let served_note = Note::parse(&served).unwrap();
        assert_eq!(
            served_note.signatures.len(),
            1,
            "siglog 0.1.0 serves its own signature only (it refuses 76-byte \
             cosignature lines); if it now keeps them, check them here:\n{served}"
        );
        assert_eq!(
            witness_signature(&served_note, key),
            WitnessSignature::Missing
        );
        let Some(cosigned) = witnessed(client, witness).await else {
            continue;
        };
        let checkpoint = checkpoint_of(&cosigned);
        if checkpoint.size > after && Note::parse(&cosigned).unwrap().text == served_note.text {
            return cosigned;
        }
    }
    panic!(
        "the witness cosigned no checkpoint beyond size {after} that siglog served, in \
         {MAX_ROUNDS} rounds:\n{}",
        siglog.output()
    );
}

/// What every checkpoint cosigned by the witness must be: the tree of the
/// entries siglog was given, with siglog's signature first and then the
/// witness's tlog-cosignature, which verifies, signed at the witness's time.
fn check_cosigned(cosigned: &str, siglog: &Siglog, key: &VerifierKey) -> u64 {
    let checkpoint = checkpoint_of(cosigned);
    assert_eq!(checkpoint.origin, ORIGIN);
    assert_eq!(checkpoint.root, siglog.root(checkpoint.size), "{cosigned}");
    let note = Note::parse(cosigned).unwrap();
    assert_eq!(note.signatures.len(), 2, "{cosigned}");
    assert_eq!(note.signatures[0].name, ORIGIN);
    assert_eq!(note.signatures[1].name, key.name());
    assert_eq!(check_quorum(&note, std::slice::from_ref(key), 1), Ok(1));
    assert_eq!(
        witness_signature(&note, key),
        WitnessSignature::Valid {
            signed_at: Some(COSIGNED_AT.unix_timestamp() as u64)
        }
    );
    checkpoint.size
}

#[tokio::test]
#[ignore = "needs siglog: .ci/run installs it"]
async fn lucent_witness_cosigns_siglogs_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let witness = start_witness(&dir.path().join("witness")).await;
    let key = witness.verifier_key.clone();
    assert_eq!(key.key_type(), KeyType::CosignatureV1);
    let witness_url = format!("http://{}", witness.address);
    let client = reqwest::Client::new();
    let siglog_dir = dir.path().join("siglog");
    std::fs::create_dir_all(&siglog_dir).unwrap();
    let mut siglog = Siglog::start(&siglog_dir, &witness_url).await;

    // A few entries: the witness cosigns a checkpoint of them from size 0
    // (siglog sends no proof from 0); siglog received the line and
    // refused it for its length.
    let first = cosigned_beyond(&mut siglog, &client, &witness_url, &key, 3, 0).await;
    let first_size = check_cosigned(&first, &siglog, &key);
    let refused = format!(
        "Failed to parse signature from external witness {WITNESS_NAME}: Configuration error: \
         invalid signature length: expected 68, got 76"
    );
    assert!(siglog.said(&refused), "{}", siglog.output());

    // More entries: the next checkpoint siglog sends is from size 0 again
    // (it kept no size for the witness), answered 409 with the size the
    // witness cosigned, which siglog reads; the one after is sent from that
    // size with siglog's consistency proof, and cosigned.
    let second = cosigned_beyond(&mut siglog, &client, &witness_url, &key, 2, first_size).await;
    let second_size = check_cosigned(&second, &siglog, &key);
    assert!(second_size > first_size);
    let conflict = format!(
        "Failed to get signature from external witness {WITNESS_NAME}: Configuration error: \
         witness conflict: current size is {first_size}"
    );
    assert!(siglog.said(&conflict), "{}", siglog.output());
    // No other answer from the witness: no 400, 403, 404 or 422.
    assert!(!siglog.said("witness returned"), "{}", siglog.output());

    // The witness's page shows the log and its latest cosigned checkpoint.
    let page = client
        .get(format!("{witness_url}/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(&key.to_string()), "{page}");
    assert!(page.contains(&format!("\nlog {ORIGIN}\n")), "{page}");
    assert!(
        page.contains(&format!(
            "latest cosigned checkpoint: size {second_size}, cosigned at 2026-05-06T07:08:09Z:\n"
        )),
        "{page}"
    );
    for line in second.lines() {
        assert!(
            page.contains(&format!("    {line}\n")),
            "{line:?} in {page}"
        );
    }

    drop(siglog);
    witness.shutdown().await;
}
