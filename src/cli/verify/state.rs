//! Monitor mode (`--state`): the file that remembers the root verified
//! last time, and the proof that the latest root extends it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use lucent_core::Hash;
use lucent_core::checkpoint::open_checkpoint;
use lucent_core::merkle::verify_consistency;
use lucent_core::note::VerifierKey;
use lucent_core::record::Day;

use super::VerifyError;
use super::roots::SignedRoot;
use lucent_client::http::LogClient;

/// The `format` of a state file.
const STATE_FORMAT: &str = "lucent-verify-state/v1";

/// The root verified last time, from the state file.
#[derive(Debug, Clone, Copy)]
pub(super) struct Remembered {
    pub(super) size: u64,
    pub(super) root: Hash,
    /// The day the root closes, as served with it (a checkpoint does not
    /// sign it).
    pub(super) day: Day,
}

/// The state file of monitor mode: the last verified root, its checkpoint
/// the proof of what was verified.
#[derive(Debug, Serialize, Deserialize)]
struct StateFile {
    format: String,
    url: String,
    verifier_key: String,
    day: String,
    size: u64,
    root_hash: String,
    checkpoint: String,
}

/// Reads the remembered root, `None` if the file does not exist yet.
pub(super) fn load_state(
    path: &Path,
    key: &VerifierKey,
) -> Result<Option<Remembered>, VerifyError> {
    let bad = |reason: String| VerifyError::State {
        path: path.to_owned(),
        reason,
    };
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(bad(e.to_string())),
    };
    let state: StateFile = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    if state.format != STATE_FORMAT {
        return Err(bad(format!("its format is not {STATE_FORMAT}")));
    }
    if VerifierKey::parse(&state.verifier_key).ok().as_ref() != Some(key) {
        return Err(VerifyError::StateKeyMismatch {
            path: path.to_owned(),
            remembered: state.verifier_key,
            given: key.to_string(),
        });
    }
    let checkpoint = open_checkpoint(&state.checkpoint, key)
        .map_err(|e| bad(format!("its checkpoint does not verify: {e}")))?;
    if checkpoint.size != state.size || checkpoint.root.to_hex() != state.root_hash {
        return Err(bad("its size and root hash are not its checkpoint's".into()));
    }
    let day = Day::parse(&state.day).map_err(|e| bad(format!("its day: {e}")))?;
    Ok(Some(Remembered {
        size: checkpoint.size,
        root: checkpoint.root,
        day,
    }))
}

/// Remembers `latest`, replacing the file whole (write, then rename).
pub(super) fn save_state(
    path: &Path,
    client: &LogClient,
    key: &VerifierKey,
    latest: &SignedRoot,
) -> Result<(), VerifyError> {
    let state = StateFile {
        format: STATE_FORMAT.into(),
        url: client.base().to_owned(),
        verifier_key: key.to_string(),
        day: latest.day.to_string(),
        size: latest.size,
        root_hash: latest.root.to_hex(),
        checkpoint: latest.checkpoint.clone(),
    };
    let text = serde_json::to_string_pretty(&state).expect("a state serializes");
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, text + "\n")
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| VerifyError::State {
            path: path.to_owned(),
            reason: e.to_string(),
        })
}

/// Monitor mode: the latest root must extend the remembered one.
pub(super) async fn check_growth(
    client: &LogClient,
    remembered: Remembered,
    latest: &SignedRoot,
) -> Result<(), VerifyError> {
    if remembered.size > latest.size {
        return Err(VerifyError::LogShrank {
            remembered: remembered.size,
            latest: latest.size,
        });
    }
    // Every tree extends the empty one; the rebuild checks its root.
    if remembered.size == 0 {
        return Ok(());
    }
    let proof = client
        .consistency_proof(remembered.size, latest.size)
        .await?;
    verify_consistency(
        remembered.size,
        latest.size,
        &proof,
        &remembered.root,
        &latest.root,
    )
    .map_err(|error| VerifyError::HistoryRewritten {
        remembered: remembered.size,
        latest: latest.size,
        error,
    })
}
