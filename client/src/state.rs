//! A reporter's state directory: the deployment's nonce, made once and
//! readable by its owner only, and the promises kept until their receipts
//! verify.
//!
//! ```text
//! <dir>/nonce               the nonce (mode 0600), never replaced
//! <dir>/promises/<day>.json verified promises whose receipts are due
//! <dir>/verified/<day>.json promises whose receipts verified
//! ```

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};

use lucent_core::record::{Day, Nonce};

use crate::quorum::WitnessQuorum;
use crate::submit::{CheckError, CheckReport, SavedPromise, check};

/// The nonce file's name in the state directory.
pub const NONCE_FILE: &str = "nonce";
/// The folder of promises whose receipts are still to be checked.
pub const PROMISES_DIR: &str = "promises";
/// The folder of promises whose receipts verified.
pub const VERIFIED_DIR: &str = "verified";

/// Why the state directory could not be used. No variant holds the nonce.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{path}: {error}")]
    Io { path: PathBuf, error: io::Error },
    #[error("{path} does not hold a nonce: {reason}")]
    BadNonce { path: PathBuf, reason: String },
    #[error(
        "{path} may be read or written by others (mode {mode:o}); the nonce is the deployment's \
         secret: chmod 600 it"
    )]
    NonceExposed { path: PathBuf, mode: u32 },
    #[error("the promise's day {day:?} is not a day")]
    BadDay { day: String },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> StateError + '_ {
    move |error| StateError::Io {
        path: path.to_owned(),
        error,
    }
}

/// A reporter's state directory.
#[derive(Debug, Clone)]
pub struct StateDir {
    path: PathBuf,
}

impl StateDir {
    /// Opens the directory, making it (mode 0700) and its folders if need be.
    pub fn open(path: impl Into<PathBuf>) -> Result<StateDir, StateError> {
        let state = StateDir { path: path.into() };
        for dir in [
            state.path.clone(),
            state.path.join(PROMISES_DIR),
            state.path.join(VERIFIED_DIR),
        ] {
            private_dir_builder().create(&dir).map_err(io_error(&dir))?;
        }
        Ok(state)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The deployment's nonce: read from the nonce file, or on first use a
    /// new random version-4 UUID written to it. The file is made once and
    /// whole (written to a file of its own, mode 0600, then linked to its
    /// name, which fails if another process made it first, whose nonce is
    /// then read), and refused if others may read it.
    pub fn nonce(&self) -> Result<Nonce, StateError> {
        let path = self.path.join(NONCE_FILE);
        match read_nonce(&path) {
            Err(StateError::Io { error, .. }) if error.kind() == io::ErrorKind::NotFound => {
                self.make_nonce(&path)?;
                read_nonce(&path)
            }
            read => read,
        }
    }

    fn make_nonce(&self, path: &Path) -> Result<(), StateError> {
        let bytes: [u8; 16] = rand::random();
        let nonce = uuid::Builder::from_random_bytes(bytes).into_uuid();
        let draft = self.path.join(format!(
            ".{NONCE_FILE}-{}",
            uuid::Uuid::from_bytes(rand::random())
        ));
        let written = write_new_private(&draft, format!("{nonce}\n").as_bytes());
        let linked = written.and_then(|()| match fs::hard_link(&draft, path) {
            Err(error) if error.kind() != io::ErrorKind::AlreadyExists => Err(error),
            _ => Ok(()),
        });
        let _ = fs::remove_file(&draft);
        linked.map_err(io_error(path))?;
        sync_dir(&self.path)
    }

    /// Keeps a verified promise as `promises/<day>.json` (written whole:
    /// to a file of its own, then renamed), replacing one of the same day,
    /// which is the same promise since a log accepts one report a day.
    pub fn keep(&self, promise: &SavedPromise) -> Result<PathBuf, StateError> {
        let day = &promise.answer.day;
        // The day was verified with the promise; checked again because it
        // names a file.
        Day::parse(day).map_err(|_| StateError::BadDay { day: day.clone() })?;
        let dir = self.path.join(PROMISES_DIR);
        let path = dir.join(format!("{day}.json"));
        let draft = dir.join(format!(
            ".{day}.json-{}",
            uuid::Uuid::from_bytes(rand::random())
        ));
        let written = write_new_private(&draft, promise.to_json().as_bytes())
            .and_then(|()| fs::rename(&draft, &path));
        if written.is_err() {
            let _ = fs::remove_file(&draft);
        }
        written.map_err(io_error(&path))?;
        sync_dir(&dir)?;
        Ok(path)
    }

    /// The promises kept whose receipts are still to be checked, oldest
    /// day first.
    pub fn kept(&self) -> Result<Vec<PathBuf>, StateError> {
        self.promises_in(PROMISES_DIR)
    }

    /// The promises whose receipts verified, oldest day first.
    pub fn verified(&self) -> Result<Vec<PathBuf>, StateError> {
        self.promises_in(VERIFIED_DIR)
    }

    /// Moves a kept promise whose receipt verified to `verified/`.
    pub fn mark_verified(&self, kept: &Path) -> Result<PathBuf, StateError> {
        let name = kept.file_name().ok_or_else(|| StateError::Io {
            path: kept.to_owned(),
            error: io::ErrorKind::InvalidInput.into(),
        })?;
        let dir = self.path.join(VERIFIED_DIR);
        let path = dir.join(name);
        fs::rename(kept, &path).map_err(io_error(kept))?;
        sync_dir(&dir)?;
        Ok(path)
    }

    /// Checks the receipt of every kept promise whose receipt has not
    /// verified yet, oldest first, once each (a record still pending, or a
    /// log that cannot be reached, is for another day), with the URL and
    /// the verifier key the promise was kept with. A promise whose receipt
    /// verifies moves to `verified/`. Any failure but a pending record
    /// means that the log broke its promise, or could not show that it
    /// kept it.
    pub async fn check_receipts(
        &self,
        witnesses: &WitnessQuorum,
    ) -> Result<Vec<ReceiptCheck>, StateError> {
        let mut checks = Vec::new();
        for kept in self.kept()? {
            let outcome = check(&kept, witnesses).await;
            let promise = match outcome {
                Ok(_) => self.mark_verified(&kept)?,
                Err(_) => kept,
            };
            checks.push(ReceiptCheck { promise, outcome });
        }
        Ok(checks)
    }

    fn promises_in(&self, folder: &str) -> Result<Vec<PathBuf>, StateError> {
        let dir = self.path.join(folder);
        let mut promises = Vec::new();
        for entry in fs::read_dir(&dir).map_err(io_error(&dir))? {
            let path = entry.map_err(io_error(&dir))?.path();
            let name = path.file_name().and_then(|name| name.to_str());
            if name.is_some_and(|name| name.ends_with(".json") && !name.starts_with('.')) {
                promises.push(path);
            }
        }
        promises.sort();
        Ok(promises)
    }
}

/// The receipt check of one kept promise.
#[derive(Debug)]
pub struct ReceiptCheck {
    /// The promise file: in `verified/` once its receipt verified, else
    /// still in `promises/`.
    pub promise: PathBuf,
    pub outcome: Result<CheckReport, CheckError>,
}

impl ReceiptCheck {
    /// True while the record is not yet due to be published.
    pub fn is_pending(&self) -> bool {
        matches!(self.outcome, Err(CheckError::Pending { .. }))
    }
}

impl fmt::Display for ReceiptCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let promise = self.promise.display();
        match &self.outcome {
            Ok(report) => write!(f, "{promise}: {report}"),
            Err(error @ CheckError::Pending { .. }) => write!(f, "{promise}: {error}"),
            Err(error) => write!(f, "{promise}: the receipt does not verify: {error}"),
        }
    }
}

/// Reads the nonce file, refusing it if others may read or write it.
fn read_nonce(path: &Path) -> Result<Nonce, StateError> {
    let mut file = File::open(path).map_err(io_error(path))?;
    let metadata = file.metadata().map_err(io_error(path))?;
    if let Some(mode) = exposed_mode(&metadata) {
        return Err(StateError::NonceExposed {
            path: path.to_owned(),
            mode,
        });
    }
    let mut text = String::new();
    // A nonce is 36 bytes; a larger file is not a nonce file.
    (&mut file)
        .take(64)
        .read_to_string(&mut text)
        .map_err(io_error(path))?;
    // The problem is a fixed rule; the file's content is never repeated.
    Nonce::parse(text.trim_end()).map_err(|problem| StateError::BadNonce {
        path: path.to_owned(),
        reason: problem.to_string(),
    })
}

/// Writes `bytes` to a new file readable by its owner only, and syncs it.
fn write_new_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

fn private_dir_builder() -> fs::DirBuilder {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
}

/// The permission bits of a file that its group or others may use.
fn exposed_mode(metadata: &fs::Metadata) -> Option<u32> {
    #[cfg(unix)]
    {
        let mode = std::os::unix::fs::PermissionsExt::mode(&metadata.permissions()) & 0o777;
        (mode & 0o077 != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = metadata;
        None
    }
}

/// Makes a new name or a rename in `dir` durable.
fn sync_dir(dir: &Path) -> Result<(), StateError> {
    #[cfg(unix)]
    File::open(dir)
        .and_then(|dir| dir.sync_all())
        .map_err(io_error(dir))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn the_nonce_is_made_once_private_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::open(dir.path().join("state")).unwrap();
        assert_eq!(mode(state.path()), 0o700);
        let nonce = state.nonce().unwrap();
        let file = state.path().join(NONCE_FILE);
        assert_eq!(mode(&file), 0o600);
        assert_eq!(
            fs::read_to_string(&file).unwrap(),
            format!("{}\n", nonce.as_str())
        );
        // Reopened, the same nonce; no draft left behind.
        let again = StateDir::open(state.path()).unwrap().nonce().unwrap();
        assert_eq!(again, nonce);
        let names: Vec<_> = fs::read_dir(state.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        assert_eq!(names, [NONCE_FILE, PROMISES_DIR, VERIFIED_DIR]);
    }

    #[test]
    fn a_nonce_file_others_may_read_or_one_without_a_nonce_is_refused_unrepeated() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::open(dir.path()).unwrap();
        let nonce = state.nonce().unwrap();
        let file = dir.path().join(NONCE_FILE);
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
        let error = state.nonce().unwrap_err();
        assert!(
            matches!(error, StateError::NonceExposed { mode: 0o644, .. }),
            "{error}"
        );
        assert!(!error.to_string().contains(nonce.as_str()));

        fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();
        let nil = "00000000-0000-0000-0000-000000000000";
        fs::write(&file, nil).unwrap();
        let error = state.nonce().unwrap_err();
        assert!(matches!(error, StateError::BadNonce { .. }), "{error}");
        assert!(!error.to_string().contains(nil), "{error}");
    }
}
