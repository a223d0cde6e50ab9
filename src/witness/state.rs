//! The witness's data directory and what it remembers: its key
//! (`witness.key`), and for each log the latest checkpoint it cosigned, one
//! file per log (`checkpoint-<hex SHA-256 of the origin>`).
//!
//! A checkpoint is cosigned only under its log's lock, after the state file
//! that records it is durable (written, fsynced, renamed, directory
//! fsynced: [`crate::datadir::replace_file`]). So a crash at any moment
//! leaves the old checkpoint or the new one on disk, and no cosignature was
//! ever given for a checkpoint that is not on disk or older than it; and
//! two requests for one log are checked and recorded one after the other.
//! The directory is locked (an exclusive `flock` on the key file) while a
//! witness runs on it, so that two processes cannot each hold a state.

use std::collections::BTreeMap;
use std::fs::{self, File, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use tokio::sync::{Mutex, OwnedMutexGuard};

use lucent_core::checkpoint::Checkpoint;
use lucent_core::note::{KeyType, Note, SigningKey, VerifierKey};
use lucent_core::witness::{AddCheckpoint, OpenedCheckpoint, Refusal, check_consistency};

use super::WitnessError;
use crate::clock::Clock;
use crate::datadir::{
    DataDirError, PLAIN_MODE, SECRET_MODE, create_dir, create_file, key_file_text, read_key,
    replace_file,
};

/// The witness's signing key, in its data directory.
pub const KEY_FILE: &str = "witness.key";
/// The first line of a state file; the signed note follows.
const STATE_HEADER: &str = "lucent-witness-checkpoint/v1";

/// Why the witness cannot start on its data directory or configuration.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    #[error(
        "{path} does not exist: give --name to make a new witness key under that name \
         (e.g. witness.example.com/w1), or place the witness's private key there"
    )]
    NoKey { path: PathBuf },
    #[error("the witness key is named {found:?}, but --name is {given:?}")]
    NameMismatch { found: String, given: String },
    #[error("invalid witness name: {0}")]
    BadName(String),
    #[error("another witness is running on {dir} (its key file is locked)")]
    Busy { dir: PathBuf },
    #[error(
        "the state file {path} is not valid: {reason}. Restore it from your backup: without it the \
         witness could cosign a checkpoint inconsistent with one it cosigned"
    )]
    BadState { path: PathBuf, reason: String },
    #[error("no log to witness: give --log <origin>=<verifier key>")]
    NoLogs,
    #[error(
        "two keys of the log {origin:?} have the same name and key id ({key}): a signature could not \
         be told apart"
    )]
    AmbiguousKeys { origin: String, key: String },
}

/// A log the witness follows: its origin and the keys that may sign its
/// checkpoints (Ed25519, type 0x01).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogKey {
    pub origin: String,
    pub key: VerifierKey,
}

impl std::str::FromStr for LogKey {
    type Err = String;

    /// `<origin>=<verifier key>`; the origin ends at the first `=`.
    fn from_str(text: &str) -> Result<LogKey, String> {
        let (origin, key) = text
            .split_once('=')
            .ok_or_else(|| format!("{text:?} is not <origin>=<verifier key>"))?;
        if origin.is_empty() || origin.chars().any(char::is_control) {
            return Err(format!(
                "{origin:?} is not a log origin (a non-empty line of text)"
            ));
        }
        let key = VerifierKey::parse(key).map_err(|e| format!("the key of {origin}: {e}"))?;
        if key.key_type() != KeyType::Ed25519 {
            return Err(format!(
                "the key of {origin} is a {:?} key; a log signs its checkpoints with an Ed25519 \
                 (type 0x01) key",
                key.key_type()
            ));
        }
        Ok(LogKey {
            origin: origin.to_owned(),
            key,
        })
    }
}

/// The latest checkpoint cosigned for a log.
#[derive(Debug, Clone)]
pub struct Cosigned {
    pub checkpoint: Checkpoint,
    /// The checkpoint note with the log's verified signatures and this
    /// witness's cosignature, as the state file holds it.
    pub note: String,
    /// The time of this witness's cosignature, in POSIX seconds.
    pub timestamp: u64,
}

/// One log: its keys and its latest cosigned checkpoint, behind the lock
/// that serialises its requests.
struct Log {
    keys: Vec<VerifierKey>,
    file_name: String,
    latest: Arc<Mutex<Option<Cosigned>>>,
}

/// What a cosigning needs once the log's lock is held; it runs on a
/// blocking thread, and holds the lock and the directory until it is done,
/// even if the request that started it is dropped.
struct Commit {
    latest: OwnedMutexGuard<Option<Cosigned>>,
    request: AddCheckpoint,
    opened: OpenedCheckpoint,
    shared: Arc<Shared>,
    file_name: String,
}

/// What every commit shares.
struct Shared {
    dir: PathBuf,
    key: SigningKey,
    clock: Arc<dyn Clock>,
    /// The locked key file: the directory is this witness's while it is open.
    _lock: File,
}

/// The witness: its key, the logs it follows and their state.
pub struct Witness {
    shared: Arc<Shared>,
    cosigner: VerifierKey,
    logs: BTreeMap<String, Log>,
}

/// A log as `GET /` shows it.
pub struct LogSummary {
    pub origin: String,
    pub keys: Vec<VerifierKey>,
    pub latest: Option<Cosigned>,
}

impl Witness {
    /// Opens the data directory (made, mode 0700, if absent), makes the
    /// key on first start if `name` is given, locks the directory, and
    /// reads the state of every log in `logs`.
    pub fn open(
        dir: &Path,
        name: Option<&str>,
        logs: &[LogKey],
        clock: Arc<dyn Clock>,
    ) -> Result<Witness, StateError> {
        let by_origin = group_keys(logs)?;
        if name.is_none() && !dir.join(KEY_FILE).exists() {
            return Err(StateError::NoKey {
                path: dir.join(KEY_FILE),
            });
        }
        create_dir(dir)?;
        let key = open_or_make_key(dir, name)?;
        let lock = lock_directory(dir)?;
        let mut logs = BTreeMap::new();
        for (origin, keys) in by_origin {
            let file_name = state_file_name(&origin);
            let latest = read_state(&dir.join(&file_name), &origin, &key)?;
            logs.insert(
                origin,
                Log {
                    keys,
                    file_name,
                    latest: Arc::new(Mutex::new(latest)),
                },
            );
        }
        Ok(Witness {
            cosigner: key.cosignature_verifier_key(),
            shared: Arc::new(Shared {
                dir: dir.to_owned(),
                key,
                clock,
                _lock: lock,
            }),
            logs,
        })
    }

    /// The witness's verifier key: the tlog-cosignature (type 0x04) form.
    pub fn verifier_key(&self) -> &VerifierKey {
        &self.cosigner
    }

    /// `add-checkpoint`: checks the request and, if it passes, records the
    /// checkpoint durably and returns the cosignature line.
    pub async fn add_checkpoint(&self, request: AddCheckpoint) -> Result<String, WitnessError> {
        let opened = request.open(|origin| self.logs.get(origin).map(|log| &log.keys[..]))?;
        let log = &self.logs[&opened.checkpoint.origin];
        let (origin, old_size, size) = (
            opened.checkpoint.origin.clone(),
            request.old_size,
            opened.checkpoint.size,
        );
        // Kept for the log line should the checks fail: a checkpoint its log
        // signed that is inconsistent is evidence (tlog-witness allows
        // logging it).
        let note = request.checkpoint.clone();
        let commit = Commit {
            latest: log.latest.clone().lock_owned().await,
            request,
            opened,
            shared: self.shared.clone(),
            file_name: log.file_name.clone(),
        };
        let result = tokio::task::spawn_blocking(move || commit.run())
            .await
            .map_err(|e| WitnessError::Internal(format!("the cosigning task failed: {e}")))?;
        match &result {
            Ok(_) => tracing::info!(origin, old_size, size, "cosigned a checkpoint"),
            Err(WitnessError::Refused(refusal @ Refusal::Conflict { .. })) => {
                tracing::info!(origin, old_size, size, %refusal, "refused a checkpoint");
            }
            Err(WitnessError::Refused(refusal)) if refusal.is_inconsistency() => {
                tracing::warn!(
                    origin,
                    old_size,
                    size,
                    %refusal,
                    checkpoint = note,
                    "refused a checkpoint signed by its log that is not consistent with the \
                     latest cosigned one"
                );
            }
            Err(_) => {}
        }
        result
    }

    /// Every log, with its latest cosigned checkpoint.
    pub async fn summary(&self) -> Vec<LogSummary> {
        let mut logs = Vec::with_capacity(self.logs.len());
        for (origin, log) in &self.logs {
            logs.push(LogSummary {
                origin: origin.clone(),
                keys: log.keys.clone(),
                latest: log.latest.lock().await.clone(),
            });
        }
        logs
    }

    /// The latest cosigned checkpoint note of the log whose origin has this
    /// lowercase hex SHA-256 (C2SP tlog-witness, monitoring).
    pub async fn latest_by_origin_hash(&self, origin_hash: &str) -> Option<String> {
        let log = self
            .logs
            .values()
            .find(|log| log.file_name == state_file_name_of_hash(origin_hash))?;
        log.latest.lock().await.as_ref().map(|c| c.note.clone())
    }
}

impl Commit {
    /// Under the log's lock: the consistency checks, the cosignature, the
    /// state file, then the state in memory; the answer only after all.
    fn run(mut self) -> Result<String, WitnessError> {
        let checkpoint = &self.opened.checkpoint;
        check_consistency(
            self.latest.as_ref().map(|c| &c.checkpoint),
            self.request.old_size,
            &self.request.proof,
            checkpoint,
        )?;
        // Never earlier than this log's last cosignature, should the clock
        // step back (a cosignature states the largest tree seen as of
        // then), and never 0 (tlog-witness forbids omitting the time).
        let now = u64::try_from(self.shared.clock.now().unix_timestamp()).unwrap_or(0);
        let last = self.latest.as_ref().map_or(0, |c| c.timestamp);
        let timestamp = now.max(last).max(1);
        let text = &self.opened.note.text;
        let line = self
            .shared
            .key
            .cosign(text, timestamp)
            .map_err(|e| WitnessError::Internal(format!("cosigning: {e}")))?;
        let mut note = String::with_capacity(text.len() + 1024);
        note.push_str(text);
        note.push('\n');
        for signature in &self.opened.note.verified {
            note.push_str(&signature.to_line());
        }
        note.push_str(&line);
        let file = format!("{STATE_HEADER}\n{note}");
        replace_file(
            &self.shared.dir,
            &self.file_name,
            file.as_bytes(),
            PLAIN_MODE,
        )
        .map_err(|e| WitnessError::Internal(format!("recording the checkpoint: {e}")))?;
        *self.latest = Some(Cosigned {
            checkpoint: self.opened.checkpoint,
            note,
            timestamp,
        });
        Ok(line)
    }
}

/// The keys of each origin; two keys of one origin may not share a name
/// and key id (a signature line could not say which it is).
fn group_keys(logs: &[LogKey]) -> Result<BTreeMap<String, Vec<VerifierKey>>, StateError> {
    if logs.is_empty() {
        return Err(StateError::NoLogs);
    }
    let mut by_origin: BTreeMap<String, Vec<VerifierKey>> = BTreeMap::new();
    for LogKey { origin, key } in logs {
        let keys = by_origin.entry(origin.clone()).or_default();
        match keys
            .iter()
            .find(|k| k.name() == key.name() && k.key_id() == key.key_id())
        {
            Some(same) if same == key => {}
            Some(_) => {
                return Err(StateError::AmbiguousKeys {
                    origin: origin.clone(),
                    key: format!("{}+{}", key.name(), key.key_id()),
                });
            }
            None => keys.push(key.clone()),
        }
    }
    Ok(by_origin)
}

/// Reads `witness.key`, or makes it (mode 0600) if it is absent and a
/// name is given.
fn open_or_make_key(dir: &Path, name: Option<&str>) -> Result<SigningKey, StateError> {
    let path = dir.join(KEY_FILE);
    if path.exists() {
        let key = read_key(&path)?;
        if let Some(given) = name.filter(|given| *given != key.name()) {
            return Err(StateError::NameMismatch {
                found: key.name().to_owned(),
                given: given.to_owned(),
            });
        }
        return Ok(key);
    }
    let name = name.ok_or(StateError::NoKey { path })?;
    let key = SigningKey::generate(name, &mut rand::rng())
        .map_err(|e| StateError::BadName(e.to_string()))?;
    create_file(dir, KEY_FILE, &key_file_text(&key), SECRET_MODE)?;
    Ok(key)
}

/// Takes an exclusive lock on the key file, held while the file is open.
fn lock_directory(dir: &Path) -> Result<File, StateError> {
    let path = dir.join(KEY_FILE);
    let file = File::open(&path).map_err(|source| DataDirError::Io {
        path: path.clone(),
        source,
    })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(StateError::Busy {
            dir: dir.to_owned(),
        }),
        Err(TryLockError::Error(source)) => Err(DataDirError::Io { path, source }.into()),
    }
}

fn state_file_name(origin: &str) -> String {
    state_file_name_of_hash(&hex::encode(Sha256::digest(origin.as_bytes())))
}

fn state_file_name_of_hash(origin_hash: &str) -> String {
    format!("checkpoint-{origin_hash}")
}

/// Reads a log's state file, if there is one: the header, then the signed
/// checkpoint note of `origin`; the timestamp is that of this witness's
/// cosignature in it (0 if the key has changed since).
fn read_state(path: &Path, origin: &str, key: &SigningKey) -> Result<Option<Cosigned>, StateError> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(DataDirError::Io {
                path: path.to_owned(),
                source,
            }
            .into());
        }
    };
    let bad = |reason: String| StateError::BadState {
        path: path.to_owned(),
        reason,
    };
    let note = text
        .strip_prefix(STATE_HEADER)
        .and_then(|rest| rest.strip_prefix('\n'))
        .ok_or_else(|| bad("unknown format".into()))?;
    let parsed = Note::parse(note).map_err(|e| bad(e.to_string()))?;
    let checkpoint = Checkpoint::parse(&parsed.text).map_err(|e| bad(e.to_string()))?;
    checkpoint
        .check_origin(origin)
        .map_err(|e| bad(e.to_string()))?;
    let cosigner = key.cosignature_verifier_key();
    let timestamp = parsed
        .signatures
        .iter()
        .filter(|s| s.name == cosigner.name() && s.key_id == cosigner.key_id())
        .filter(|s| s.bytes().is_ok_and(|b| cosigner.verify(&parsed.text, &b)))
        .filter_map(|s| s.cosignature().ok())
        .map(|c| c.timestamp)
        .max()
        .unwrap_or(0);
    Ok(Some(Cosigned {
        checkpoint,
        note: note.to_owned(),
        timestamp,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn log_keys_parse() {
        let key = SigningKey::from_seed("example.com/log", &[1; 32]).unwrap();
        let vkey = key.verifier_key();
        let parsed: LogKey = format!("example.com/log={vkey}").parse().unwrap();
        assert_eq!(parsed.origin, "example.com/log");
        assert_eq!(parsed.key, vkey);
        // The origin need not be the key's name.
        let other: LogKey = format!("other.example/x={vkey}").parse().unwrap();
        assert_eq!(other.origin, "other.example/x");
        for bad in [
            String::new(),
            vkey.to_string(),
            format!("={vkey}"),
            format!("a\tb={vkey}"),
            "example.com/log=nonsense".into(),
            format!("example.com/log={}", vkey.to_cosignature_key()),
        ] {
            assert!(bad.parse::<LogKey>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn keys_are_grouped_by_origin_and_never_ambiguous() {
        let a = SigningKey::from_seed("log", &[1; 32])
            .unwrap()
            .verifier_key();
        let b = SigningKey::from_seed("log", &[2; 32])
            .unwrap()
            .verifier_key();
        let log = |key: &VerifierKey| LogKey {
            origin: "example.com/log".into(),
            key: key.clone(),
        };
        let grouped = group_keys(&[log(&a), log(&b), log(&a)]).unwrap();
        assert_eq!(grouped["example.com/log"], vec![a, b]);
        assert!(matches!(group_keys(&[]), Err(StateError::NoLogs)));
    }

    #[test]
    fn the_key_is_made_once_with_its_name_and_the_directory_locked() {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("witness");
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(time::OffsetDateTime::UNIX_EPOCH));
        let logs = [LogKey {
            origin: "example.com/log".into(),
            key: SigningKey::from_seed("example.com/log", &[1; 32])
                .unwrap()
                .verifier_key(),
        }];
        assert!(matches!(
            Witness::open(&dir, None, &logs, clock.clone()),
            Err(StateError::NoKey { .. })
        ));
        assert!(!dir.exists(), "nothing is made without a name");
        let witness =
            Witness::open(&dir, Some("witness.example/w1"), &logs, clock.clone()).unwrap();
        assert_eq!(witness.verifier_key().name(), "witness.example/w1");
        assert_eq!(witness.verifier_key().key_type(), KeyType::CosignatureV1);
        let mode = |path: &Path| {
            std::os::unix::fs::PermissionsExt::mode(&fs::metadata(path).unwrap().permissions())
                & 0o777
        };
        assert_eq!(mode(&dir.join(KEY_FILE)), 0o600);
        assert_eq!(mode(&dir), 0o700);
        assert!(matches!(
            Witness::open(&dir, None, &logs, clock.clone()),
            Err(StateError::Busy { .. })
        ));
        let key = witness.verifier_key().clone();
        drop(witness);
        let again = Witness::open(&dir, None, &logs, clock.clone()).unwrap();
        assert_eq!(again.verifier_key(), &key);
        drop(again);
        assert!(matches!(
            Witness::open(&dir, Some("witness.example/w2"), &logs, clock),
            Err(StateError::NameMismatch { .. })
        ));
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [KEY_FILE]);
    }
}
