//! Why a log did not verify: one variant per check, in the order
//! [`super::verify`] makes them.

use std::path::PathBuf;

use lucent_core::Hash;
use lucent_core::checkpoint::CheckpointError;
use lucent_core::merkle;
use lucent_core::record::{Day, Deployment, ParseError};
use lucent_core::tiles::{TileError, TilePath};

use lucent_client::http::HttpError;

/// Why a log did not verify: one variant per check.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("the log serves the verifier key {served}, not the given {given}")]
    KeyMismatch { given: String, served: String },
    #[error("the latest root's witnesses: {0}")]
    Witnesses(String),
    #[error("root {position} ({day}): its checkpoint does not verify: {error}")]
    RootSignature {
        position: usize,
        day: String,
        error: CheckpointError,
    },
    #[error("root {position} ({day}): {reason}")]
    MalformedRoot {
        position: usize,
        day: String,
        reason: String,
    },
    #[error(
        "root {position} (period ending {period_end}) does not come after the root before it \
         (period ending {previous})"
    )]
    RootsOutOfOrder {
        position: usize,
        period_end: String,
        previous: String,
    },
    #[error(
        "the root of {day} has size {size}, smaller than the size {previous} of the root before it"
    )]
    RootShrank { day: Day, size: u64, previous: u64 },
    #[error("no root was signed for the days between {after} and {next}")]
    MissingDays { after: Day, next: Day },
    #[error("GET /checkpoint serves a checkpoint that is none of the signed roots of /v1/roots")]
    CheckpointNotARoot,
    #[error(
        "the root of {old_day} (size {old_size}) and the root of {new_day} (size {new_size}) are not \
         consistent: {error}"
    )]
    InconsistentRoots {
        old_day: Day,
        old_size: u64,
        new_day: Day,
        new_size: u64,
        error: merkle::VerifyError,
    },
    #[error("{path}: {error}")]
    Tile { path: TilePath, error: TileError },
    #[error("{path} holds {found} entries; the tree of size {size} needs {expected}")]
    WrongEntryCount {
        path: TilePath,
        found: usize,
        expected: u16,
        size: u64,
    },
    #[error(
        "the root computed from the hash tiles at size {size} is {from_tiles}, but the signed root is {signed}"
    )]
    TilesRootMismatch {
        size: u64,
        from_tiles: Hash,
        signed: Hash,
    },
    #[error("entry {index} is not a valid schema-1 entry: {error}")]
    InvalidEntry { index: u64, error: ParseError },
    #[error(
        "entry {index} breaks the hash chain: its prev is {found}, but the entry before it has leaf hash {expected}"
    )]
    BrokenChain {
        index: u64,
        expected: Hash,
        found: Hash,
    },
    #[error("entry {index} has leaf hash {leaf}, but {path} holds {served} in its place")]
    LeafNotInTile {
        index: u64,
        path: TilePath,
        leaf: Hash,
        served: Hash,
    },
    #[error("{path} holds {served} at position {position}, but the entries give {rebuilt}")]
    TileHashMismatch {
        path: TilePath,
        position: u8,
        served: Hash,
        rebuilt: Hash,
    },
    #[error(
        "the tree rebuilt from the entries has root {rebuilt} at size {size}, but the signed root of {day} is {signed}"
    )]
    RootMismatch {
        day: Day,
        size: u64,
        rebuilt: Hash,
        signed: Hash,
    },
    #[error("entry {index} has day {day}, before the day {previous} of the entry before it")]
    DayDecreased { index: u64, day: Day, previous: Day },
    #[error(
        "entry {index} has day {day}, but the first root that covers it is the root of {root_day} \
         (size {root_size}); a root covers exactly the entries of its day and before"
    )]
    EntryInWrongRoot {
        index: u64,
        day: Day,
        root_day: Day,
        root_size: u64,
    },
    #[error(
        "entry {index} is out of order: entries published together are ordered by deployment, but its \
         deployment {deployment} does not come after {previous}"
    )]
    OutOfOrder {
        index: u64,
        deployment: Deployment,
        previous: Deployment,
    },
    #[error(
        "{request} names the root of {day} (size {size}, root hash {root_hash}), which is none of the signed roots"
    )]
    StatsRootNotSigned {
        request: String,
        day: String,
        size: u64,
        root_hash: String,
    },
    #[error("GET /v1/stats?day={day} finds no root of {day}, though the log signed one")]
    StatsMissing { day: Day },
    #[error(
        "{request}: the stats differ from those recomputed from the entries in {field}: served \
         {served}, recomputed {recomputed}"
    )]
    StatsDiffer {
        request: String,
        field: String,
        served: String,
        recomputed: String,
    },
    #[error("the state file {path}: {reason}")]
    State { path: PathBuf, reason: String },
    #[error("the state file {path} remembers the log of key {remembered}, not of {given}")]
    StateKeyMismatch {
        path: PathBuf,
        remembered: String,
        given: String,
    },
    #[error(
        "the log shrank: the last verified root had {remembered} entries, the latest root has {latest}"
    )]
    LogShrank { remembered: u64, latest: u64 },
    #[error(
        "the latest root (size {latest}) does not extend the last verified root (size {remembered}); \
         the log's history was rewritten: {error}"
    )]
    HistoryRewritten {
        remembered: u64,
        latest: u64,
        error: merkle::VerifyError,
    },
    #[error(
        "the tree rebuilt from the entries has root {rebuilt} at size {size}, but the last verified root \
         of that size is {remembered}; the log's history was rewritten"
    )]
    RebuiltDiffersFromState {
        size: u64,
        remembered: Hash,
        rebuilt: Hash,
    },
}
