//! The data directory: the database, the signing key, and the signed-root
//! state file. A new log is created only in an empty (or absent) directory;
//! a used directory with a missing part is refused, because going on would
//! start a different log under the same name.
//!
//! Its durable writes (a file replaced whole by rename, a new file linked
//! into place, a key file) serve `lucent witness` too.
//!
//! While a log is being created its key is `new-log.key`; it becomes
//! `log.key` only once the database and the state file exist. So a
//! `log.key` without them is a lost database, never an interrupted
//! creation, and is refused: a new database under that key would fork the
//! log it signed.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use lucent_core::Hash;
use lucent_core::note::SigningKey;

use crate::storage::{DATABASE_FILE, Database};

pub const KEY_FILE: &str = "log.key";
/// The key of a log whose creation has not finished; see the module doc.
pub const NEW_KEY_FILE: &str = "new-log.key";
pub const STATE_FILE: &str = "signed-root";
const STATE_HEADER: &str = "lucent-signed-root/v1";

#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    #[error(
        "{dir} is not empty and holds no lucent log; refusing to create a log there (use an empty or new directory)"
    )]
    Foreign { dir: PathBuf },
    #[error(
        "{dir} holds a lucent log but {missing} is missing; refusing to start. Restore it from your backup (see README, \
         Backups): creating it anew would start a different log"
    )]
    Missing { dir: PathBuf, missing: &'static str },
    #[error(
        "{dir} holds the signing key log.key but no database and no state file: that key has signed a log, \
         and a new database under it would fork that log (two different histories under one key); refusing \
         to start. Restore lucent.db and signed-root from your backup (see README, Backups). If this key has \
         never signed anything and you placed it here to start a new log with it, rename it to new-log.key"
    )]
    KeyWithoutLog { dir: PathBuf },
    #[error(
        "{dir} holds new-log.key beside a state file that records a signed root: that key has signed a log, \
         and a new log under it would fork it; refusing to start. Restore lucent.db from your backup and \
         rename the key back to log.key"
    )]
    NewKeyHasSigned { dir: PathBuf },
    #[error("the signing key {path} is not valid: {reason}")]
    BadKey { path: PathBuf, reason: String },
    #[error("the state file {path} is not valid: {reason}")]
    BadState { path: PathBuf, reason: String },
    #[error("{path} is not a directory; give --data-dir a directory (it is made if missing)")]
    NotADirectory { path: PathBuf },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DataDirError + '_ {
    move |source| DataDirError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The last root this log signed, as the state file records it. It is
/// written and fsynced before the root is committed, so a database that is
/// behind it is a restored backup (or a crash mid-publication, which
/// publication repeats exactly).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedState {
    pub period_end: i64,
    pub size: u64,
    pub root: Hash,
}

/// An opened data directory.
pub struct DataDir {
    path: PathBuf,
    pub key: SigningKey,
    /// `None` until the first root is signed.
    pub state: Option<SignedState>,
    /// True while the log is being created: the database may still have to
    /// be made, and [`DataDir::finish_creation`] writes the state file.
    pub created: bool,
}

impl DataDir {
    /// Opens the data directory at `path`, creating a new log with a new key
    /// named `origin` if the directory is empty or absent. `database` is
    /// where the log's database is: a file of the directory is one of its
    /// parts; a database elsewhere (PostgreSQL) is checked against the
    /// state file by the writer, and must hold the log unless the log is
    /// being created (`storage::open`).
    ///
    /// A log is created in the order `new-log.key`, database, state file,
    /// `log.key`, and the server accepts nothing before that. So a
    /// directory with `new-log.key` is a creation that was interrupted
    /// (nothing was ever signed under that key) and is finished; any
    /// missing part of a used directory is refused.
    pub fn open_or_create(
        path: &Path,
        origin: &str,
        database: &Database,
    ) -> Result<DataDir, DataDirError> {
        create_dir(path)?;
        let has = |name: &str| path.join(name).exists();
        let database_file = database.file().is_some_and(Path::exists);
        let has_database = database_file || database.file().is_none();
        let missing = |missing| DataDirError::Missing {
            dir: path.to_owned(),
            missing,
        };
        if has(NEW_KEY_FILE) && !has(KEY_FILE) {
            // A creation writes "none" there; a root means the key signed.
            if has(STATE_FILE) && read_state(&path.join(STATE_FILE))?.is_some() {
                return Err(DataDirError::NewKeyHasSigned {
                    dir: path.to_owned(),
                });
            }
            return Ok(DataDir {
                path: path.to_owned(),
                key: read_key(&path.join(NEW_KEY_FILE))?,
                state: None,
                created: true,
            });
        }
        if !database_file && ![KEY_FILE, STATE_FILE].iter().any(|name| has(name)) {
            let key = SigningKey::generate(origin, &mut rand::rng()).map_err(|e| {
                DataDirError::BadKey {
                    path: path.join(KEY_FILE),
                    reason: e.to_string(),
                }
            })?;
            return DataDir::create_with_key(path, key);
        }
        if !has(KEY_FILE) {
            return Err(missing("the signing key (log.key)"));
        }
        match (has_database, has(STATE_FILE)) {
            (false, false) => {
                return Err(DataDirError::KeyWithoutLog {
                    dir: path.to_owned(),
                });
            }
            (false, true) => return Err(missing("the database (lucent.db)")),
            (true, false) => return Err(missing("the state file (signed-root)")),
            (true, true) => {}
        }
        Ok(DataDir {
            path: path.to_owned(),
            key: read_key(&path.join(KEY_FILE))?,
            state: read_state(&path.join(STATE_FILE))?,
            created: false,
        })
    }

    /// Starts a new log with a given key in an empty or absent directory.
    /// The database and the state file follow when the server starts.
    pub fn create_with_key(path: &Path, key: SigningKey) -> Result<DataDir, DataDirError> {
        create_dir(path)?;
        if fs::read_dir(path).map_err(io(path))?.next().is_some() {
            return Err(DataDirError::Foreign {
                dir: path.to_owned(),
            });
        }
        write_new_file(&path.join(NEW_KEY_FILE), &key_file_text(&key), SECRET_MODE)?;
        Ok(DataDir {
            path: path.to_owned(),
            key,
            state: None,
            created: true,
        })
    }

    /// Completes the creation of a log once its database exists: the state
    /// file, then the key under its final name.
    pub fn finish_creation(&mut self) -> Result<(), DataDirError> {
        if self.created {
            write_state(&self.path, None)?;
            let (staged, key) = (self.path.join(NEW_KEY_FILE), self.path.join(KEY_FILE));
            fs::rename(&staged, &key).map_err(io(&key))?;
            sync_dir(&self.path)?;
            self.created = false;
        }
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn database_path(&self) -> PathBuf {
        self.path.join(DATABASE_FILE)
    }
}

/// Records the last signed root durably in the data directory `dir`: write
/// a temporary file, fsync it, rename it over the old one, fsync the
/// directory.
pub fn write_state(dir: &Path, state: Option<&SignedState>) -> Result<(), DataDirError> {
    let text = match state {
        None => format!("{STATE_HEADER}\nnone\n"),
        Some(s) => format!(
            "{STATE_HEADER}\n{}\n{}\n{}\n",
            s.period_end,
            s.size,
            s.root.to_base64()
        ),
    };
    replace_file(dir, STATE_FILE, text.as_bytes(), PLAIN_MODE)
}

/// The mode of a file only its owner may read (keys).
pub const SECRET_MODE: u32 = 0o600;
/// The mode of other files, before the umask.
pub const PLAIN_MODE: u32 = 0o666;

/// Writes the file `name` in `dir` so that a crash at any moment leaves
/// the old file or the new one, whole: a temporary file (with `mode`) is
/// written and fsynced, renamed over `name`, and the directory fsynced.
/// When this returns, the new file is durable.
pub fn replace_file(
    dir: &Path,
    name: &str,
    contents: &[u8],
    mode: u32,
) -> Result<(), DataDirError> {
    let tmp = write_temporary(dir, name, contents, mode)?;
    let target = dir.join(name);
    fs::rename(&tmp, &target).map_err(io(&target))?;
    sync_dir(dir)
}

/// As [`replace_file`], for a file that must not exist yet, such as a new
/// key: the temporary file is linked as `name`, which fails if `name`
/// exists (nothing is ever replaced), then removed.
pub fn create_file(dir: &Path, name: &str, contents: &[u8], mode: u32) -> Result<(), DataDirError> {
    let tmp = write_temporary(dir, name, contents, mode)?;
    let target = dir.join(name);
    let linked = fs::hard_link(&tmp, &target).map_err(io(&target));
    fs::remove_file(&tmp).map_err(io(&tmp))?;
    linked?;
    sync_dir(dir)
}

/// Writes `<name>.tmp` in `dir` anew (a leftover of a crash is removed
/// first) and fsyncs it.
fn write_temporary(
    dir: &Path,
    name: &str,
    contents: &[u8],
    mode: u32,
) -> Result<PathBuf, DataDirError> {
    let tmp = dir.join(format!("{name}.tmp"));
    match fs::remove_file(&tmp) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(&tmp)(e)),
        _ => {}
    }
    write_new_file(&tmp, contents, mode)?;
    Ok(tmp)
}

/// Creates the file `path`, which must not exist, with `mode`, writes
/// `contents` and fsyncs it.
fn write_new_file(path: &Path, contents: &[u8], mode: u32) -> Result<(), DataDirError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(io(path))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(io(path))
}

/// A key file's contents: the private key text and a newline.
pub fn key_file_text(key: &SigningKey) -> Vec<u8> {
    format!("{}\n", key.to_private_text()).into_bytes()
}

/// Makes `path` and any missing parent, readable by their owner only.
pub fn create_dir(path: &Path) -> Result<(), DataDirError> {
    use std::os::unix::fs::DirBuilderExt;
    if path.exists() && !path.is_dir() {
        return Err(DataDirError::NotADirectory {
            path: path.to_owned(),
        });
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(io(path))
}

/// Makes the renames in `dir` durable.
fn sync_dir(dir: &Path) -> Result<(), DataDirError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

/// Reads a key file: the private key text (a final newline is allowed).
pub fn read_key(path: &Path) -> Result<SigningKey, DataDirError> {
    let text = fs::read_to_string(path).map_err(io(path))?;
    SigningKey::parse(text.trim_end()).map_err(|e| DataDirError::BadKey {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

fn read_state(path: &Path) -> Result<Option<SignedState>, DataDirError> {
    let text = fs::read_to_string(path).map_err(io(path))?;
    let bad = |reason: &str| DataDirError::BadState {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    let mut lines = text.lines();
    if lines.next() != Some(STATE_HEADER) {
        return Err(bad("unknown format"));
    }
    let lines: Vec<&str> = lines.collect();
    match lines[..] {
        ["none"] => Ok(None),
        [period_end, size, root] => Ok(Some(SignedState {
            period_end: period_end
                .parse()
                .map_err(|_| bad("the period end is not a number"))?,
            size: size.parse().map_err(|_| bad("the size is not a number"))?,
            root: Hash::from_base64(root).map_err(|_| bad("the root is not a base64 hash"))?,
        })),
        _ => Err(bad("expected a period end, a size and a root")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_replaced_whole_and_created_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        // A leftover of a crash is no obstacle.
        fs::write(dir.path().join("f.tmp"), b"half").unwrap();
        replace_file(dir.path(), "f", b"one", PLAIN_MODE).unwrap();
        replace_file(dir.path(), "f", b"two", PLAIN_MODE).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");

        create_file(dir.path(), "k", b"secret", SECRET_MODE).unwrap();
        let mode = fs::metadata(dir.path().join("k")).unwrap().permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o600
        );
        assert!(create_file(dir.path(), "k", b"other", SECRET_MODE).is_err());
        assert_eq!(fs::read(dir.path().join("k")).unwrap(), b"secret");
        let mut names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["f", "k"]);
    }

    #[test]
    fn state_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let database = Database::new(None, dir.path()).unwrap();
        let mut data = DataDir::open_or_create(dir.path(), "example.com/log", &database).unwrap();
        assert!(data.created);
        fs::write(dir.path().join(DATABASE_FILE), b"").unwrap();
        data.finish_creation().unwrap();
        let state = SignedState {
            period_end: 86_400,
            size: 7,
            root: Hash([9; 32]),
        };
        write_state(dir.path(), Some(&state)).unwrap();
        let again = DataDir::open_or_create(dir.path(), "example.com/log", &database).unwrap();
        assert!(!again.created);
        assert_eq!(again.state, Some(state.clone()));
        assert_eq!(again.key.verifier_key(), data.key.verifier_key());
        // A database elsewhere is no part of the directory: the key and
        // the state file are the whole of it.
        fs::remove_file(dir.path().join(DATABASE_FILE)).unwrap();
        assert!(matches!(
            DataDir::open_or_create(dir.path(), "example.com/log", &database),
            Err(DataDirError::Missing { .. })
        ));
        let elsewhere = Database::parse("postgres://lucent@db.example/lucent").unwrap();
        let shared = DataDir::open_or_create(dir.path(), "example.com/log", &elsewhere).unwrap();
        assert!(!shared.created);
        assert_eq!(shared.state, Some(state));
        let mode = fs::metadata(dir.path().join(KEY_FILE))
            .unwrap()
            .permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o600
        );
    }
}
