//! `lucent verify`: a third party's full audit of a log over HTTP (SPEC
//! section 6).
//!
//! In order, cheapest first: every root's signature and the order of the
//! roots; with `--state`, that the latest root extends the root verified
//! last time; the served consistency proofs between consecutive roots; the
//! latest root from the hash tiles alone; then one pass over every entry
//! bundle and level-0 tile, which checks each entry (schema 1, its `prev`,
//! its leaf hash in the tile, its day, its order) while rebuilding the tree,
//! checks every higher tile hash against the rebuilt nodes, and compares the
//! rebuilt root with each signed root as the tree reaches its size.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use futures_util::{StreamExt as _, TryStreamExt as _, stream};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use lucent_core::Hash;
use lucent_core::checkpoint::{CheckpointError, open_checkpoint};
use lucent_core::hash::{empty_root, leaf_hash};
use lucent_core::merkle::{self, CompactRange, verify_consistency};
use lucent_core::note::VerifierKey;
use lucent_core::period::{day_closed_by, rfc3339};
use lucent_core::record::{Day, Deployment, Entry, ParseError};
use lucent_core::tiles::{
    RootFromTilesError, TILE_WIDTH, TileError, TilePath, decode_entry_bundle, parse_hash_tile,
    root_from_tiles, tile_slot, tile_width_at,
};

use super::http::{HttpError, LogClient, ServedRoot};
use super::progress::Progress;

/// Requests in flight at once.
const CONCURRENCY: usize = 8;
/// The `format` of a state file.
const STATE_FORMAT: &str = "lucent-verify-state/v1";

/// What to verify.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// The log's base URL.
    pub url: String,
    /// The log's verifier key, obtained out of band.
    pub key: VerifierKey,
    /// Monitor mode: the file that remembers the last verified root.
    pub state: Option<PathBuf>,
}

/// A log that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub origin: String,
    /// How many signed roots there are.
    pub roots: usize,
    /// The days of the first and the latest root; `None` before the first.
    pub days: Option<(Day, Day)>,
    /// The size and root hash of the latest root.
    pub size: u64,
    pub root_hash: Hash,
    /// In monitor mode with a remembered root: its size then and now.
    pub growth: Option<Growth>,
}

/// How much a log grew since the last verified root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Growth {
    pub from: u64,
    pub to: u64,
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.days {
            None => write!(f, "{}: no root has been signed yet", self.origin)?,
            Some((first, latest)) => write!(
                f,
                "{}: verified {} ({first} to {latest}) and {}; latest root {}",
                self.origin,
                count(self.roots as u64, "signed root", "signed roots"),
                count(self.size, "entry", "entries"),
                self.root_hash
            )?,
        }
        match self.growth {
            None => Ok(()),
            Some(Growth { from, to }) if from == to => {
                write!(
                    f,
                    "\nlog unchanged since the last verified root ({})",
                    count(to, "entry", "entries")
                )
            }
            Some(Growth { from, to }) => write!(f, "\nlog grew from {from} to {to} entries"),
        }
    }
}

/// `1 entry`, `2 entries`.
fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Why a log did not verify: one variant per check.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("the log serves the verifier key {served}, not the given {given}")]
    KeyMismatch { given: String, served: String },
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

/// A root whose checkpoint verified, with its served fields checked
/// against the signed text.
#[derive(Debug, Clone)]
struct SignedRoot {
    day: Day,
    period_end: OffsetDateTime,
    size: u64,
    root: Hash,
    checkpoint: String,
}

/// The root verified last time, from the state file.
#[derive(Debug, Clone, Copy)]
struct Remembered {
    size: u64,
    root: Hash,
}

/// Audits the log at `options.url`; with `options.state`, also proves that
/// it only grew since the root remembered there, and remembers the latest.
pub async fn verify(
    options: &VerifyOptions,
    progress: &Progress,
) -> Result<VerifyReport, VerifyError> {
    let key = &options.key;
    let client = LogClient::new(&options.url)?;
    let remembered = match &options.state {
        Some(path) => load_state(path, key)?,
        None => None,
    };
    let served_key = client.log().await?.verifier_key;
    if VerifierKey::parse(&served_key).ok().as_ref() != Some(key) {
        return Err(VerifyError::KeyMismatch {
            given: key.to_string(),
            served: served_key,
        });
    }
    // Read before the roots, so that it must be among them even if a root
    // is signed in between.
    let latest_checkpoint = client.checkpoint().await?;
    let roots = signed_roots(&client.roots().await?, key)?;
    if let Some(text) = latest_checkpoint
        && !roots.iter().any(|root| root.checkpoint == text)
    {
        return Err(VerifyError::CheckpointNotARoot);
    }
    let growth = |to| remembered.map(|r| Growth { from: r.size, to });
    let Some(latest) = roots.last() else {
        if let Some(remembered) = remembered.filter(|r| r.size > 0) {
            return Err(VerifyError::LogShrank {
                remembered: remembered.size,
                latest: 0,
            });
        }
        return Ok(VerifyReport {
            origin: key.name().to_owned(),
            roots: 0,
            days: None,
            size: 0,
            root_hash: empty_root(),
            growth: growth(0),
        });
    };
    if let Some(remembered) = remembered {
        check_growth(&client, remembered, latest).await?;
    }
    check_consistency(&client, &roots, progress).await?;
    let from_tiles = root_from_served_tiles(&client, latest.size).await?;
    if from_tiles != latest.root {
        return Err(VerifyError::TilesRootMismatch {
            size: latest.size,
            from_tiles,
            signed: latest.root,
        });
    }
    Rebuild::new(&roots, remembered)
        .run(&client, progress)
        .await?;

    if let Some(path) = &options.state {
        save_state(path, &client, key, latest)?;
    }
    Ok(VerifyReport {
        origin: key.name().to_owned(),
        roots: roots.len(),
        days: Some((roots[0].day, latest.day)),
        size: latest.size,
        root_hash: latest.root,
        growth: growth(latest.size),
    })
}

/// Opens every root's checkpoint, checks that the served fields say what
/// the signed text says, and that the roots follow each other: period ends
/// increasing, sizes not decreasing, a root for every day.
fn signed_roots(served: &[ServedRoot], key: &VerifierKey) -> Result<Vec<SignedRoot>, VerifyError> {
    let mut roots: Vec<SignedRoot> = Vec::with_capacity(served.len());
    for (position, root) in served.iter().enumerate() {
        let malformed = |reason: String| VerifyError::MalformedRoot {
            position,
            day: root.day.clone(),
            reason,
        };
        let checkpoint =
            open_checkpoint(&root.checkpoint, key).map_err(|error| VerifyError::RootSignature {
                position,
                day: root.day.clone(),
                error,
            })?;
        if checkpoint.size != root.size || checkpoint.root.to_hex() != root.root_hash {
            return Err(malformed(format!(
                "it is served with size {} and root hash {}, but its checkpoint says {} and {}",
                root.size, root.root_hash, checkpoint.size, checkpoint.root
            )));
        }
        let day = Day::parse(&root.day).map_err(|e| malformed(format!("its day: {e}")))?;
        let period_end = OffsetDateTime::parse(&root.period_end, &Rfc3339)
            .map_err(|e| malformed(format!("its period_end: {e}")))?;
        if day_closed_by(period_end.unix_timestamp()) != day {
            return Err(malformed(format!(
                "its period ends at {}, which does not close {day}",
                root.period_end
            )));
        }
        if let Some(previous) = roots.last() {
            if period_end <= previous.period_end {
                return Err(VerifyError::RootsOutOfOrder {
                    position,
                    period_end: root.period_end.clone(),
                    previous: rfc3339(previous.period_end.unix_timestamp()),
                });
            }
            if checkpoint.size < previous.size {
                return Err(VerifyError::RootShrank {
                    day,
                    size: checkpoint.size,
                    previous: previous.size,
                });
            }
            if previous.day.0.next_day().is_some_and(|next| next < day.0) {
                return Err(VerifyError::MissingDays {
                    after: previous.day,
                    next: day,
                });
            }
        }
        roots.push(SignedRoot {
            day,
            period_end,
            size: checkpoint.size,
            root: checkpoint.root,
            checkpoint: root.checkpoint.clone(),
        });
    }
    Ok(roots)
}

/// Monitor mode: the latest root must extend the remembered one.
async fn check_growth(
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

/// Verifies the served consistency proof between each pair of consecutive
/// roots (no proof is needed from the empty tree or between equal sizes).
async fn check_consistency(
    client: &LogClient,
    roots: &[SignedRoot],
    progress: &Progress,
) -> Result<(), VerifyError> {
    let pairs: Vec<(&SignedRoot, &SignedRoot)> = roots
        .windows(2)
        .map(|pair| (&pair[0], &pair[1]))
        .filter(|(old, _)| old.size > 0)
        .collect();
    progress.start("consistency proofs", pairs.len() as u64);
    let mut proofs = stream::iter(pairs)
        .map(|(old, new)| async move {
            let proof = match old.size == new.size {
                true => Vec::new(),
                false => client.consistency_proof(old.size, new.size).await?,
            };
            Ok::<_, VerifyError>((old, new, proof))
        })
        .buffered(CONCURRENCY);
    let mut checked = 0;
    while let Some((old, new, proof)) = proofs.try_next().await? {
        verify_consistency(old.size, new.size, &proof, &old.root, &new.root).map_err(|error| {
            VerifyError::InconsistentRoots {
                old_day: old.day,
                old_size: old.size,
                new_day: new.day,
                new_size: new.size,
                error,
            }
        })?;
        checked += 1;
        progress.set(checked);
    }
    Ok(())
}

/// Fetches a hash tile at the width it has in the tree being verified.
async fn fetch_hash_tile(client: &LogClient, path: TilePath) -> Result<Vec<Hash>, VerifyError> {
    let bytes = client.tile(path).await?;
    parse_hash_tile(&bytes, path.width()).map_err(|error| VerifyError::Tile { path, error })
}

/// Marks a tile that [`root_from_served_tiles`] has not fetched yet.
struct NotFetched;

/// The root of the tree of `size` leaves from the served hash tiles alone,
/// as any tlog-tiles client computes it. [`root_from_tiles`] is
/// synchronous, so it runs on the tiles at hand and names the next one it
/// lacks, which is then fetched: one round per tile level.
async fn root_from_served_tiles(client: &LogClient, size: u64) -> Result<Hash, VerifyError> {
    let mut fetched: HashMap<TilePath, Vec<Hash>> = HashMap::new();
    loop {
        let at_hand = |path: TilePath| fetched.get(&path).cloned().ok_or(NotFetched);
        match root_from_tiles(size, at_hand) {
            Ok(root) => return Ok(root),
            Err(RootFromTilesError::Fetch { path, .. }) => {
                let tile = fetch_hash_tile(client, path).await?;
                fetched.insert(path, tile);
            }
            Err(RootFromTilesError::Tile { path, error }) => {
                return Err(VerifyError::Tile { path, error });
            }
        }
    }
}

/// The entry bundles of a tree of `size` leaves, left to right, made one at
/// a time: a signed root may claim 2^63 entries, and a verifier holds only
/// what it has verified.
fn entry_bundles(size: u64) -> impl Iterator<Item = TilePath> {
    (0..size.div_ceil(u64::from(TILE_WIDTH))).map(move |index| TilePath::Entries {
        index,
        width: tile_width_at(0, index, size),
    })
}

/// A node the rebuild completed, to check against the hash tile above
/// level 0 that holds it.
struct CompletedNode {
    path: TilePath,
    position: u8,
    rebuilt: Hash,
}

/// The hash tiles above level 0 that the rebuild has reached, at their
/// width in the final tree: the latest one of each level. Nodes complete
/// left to right, so an earlier tile of a level is never needed again.
#[derive(Default)]
struct UpperTiles {
    by_level: HashMap<u8, (TilePath, Vec<Hash>)>,
}

impl UpperTiles {
    /// Checks a completed node against its tile, fetched if it is new.
    async fn check(&mut self, client: &LogClient, node: CompletedNode) -> Result<(), VerifyError> {
        let CompletedNode {
            path,
            position,
            rebuilt,
        } = node;
        let TilePath::Hash { level, .. } = path else {
            unreachable!("completed nodes are in hash tiles")
        };
        let tile = match self.by_level.get(&level) {
            Some((held, tile)) if *held == path => tile,
            _ => {
                let tile = fetch_hash_tile(client, path).await?;
                &self
                    .by_level
                    .entry(level)
                    .insert_entry((path, tile))
                    .into_mut()
                    .1
            }
        };
        let served = tile[usize::from(position)];
        if served != rebuilt {
            return Err(VerifyError::TileHashMismatch {
                path,
                position,
                served,
                rebuilt,
            });
        }
        Ok(())
    }
}

/// One entry bundle with the level-0 tile of the same leaves, its entries
/// parsed and hashed.
struct Bundle {
    tile_path: TilePath,
    tile: Vec<Hash>,
    /// Each entry's leaf hash and the entry (or why it is not one).
    entries: Vec<(Hash, Result<Entry, ParseError>)>,
}

/// Fetches and parses one entry bundle and its level-0 tile; run as its own
/// task, so that parsing uses every core.
async fn fetch_bundle(client: LogClient, path: TilePath, size: u64) -> Result<Bundle, VerifyError> {
    let tile_path = TilePath::Hash {
        level: 0,
        index: path.index(),
        width: path.width(),
    };
    let (bundle, tile) = tokio::try_join!(
        async { Ok(client.tile(path).await?) },
        fetch_hash_tile(&client, tile_path)
    )?;
    let entries =
        decode_entry_bundle(&bundle).map_err(|error| VerifyError::Tile { path, error })?;
    if entries.len() != usize::from(path.width()) {
        return Err(VerifyError::WrongEntryCount {
            path,
            found: entries.len(),
            expected: path.width(),
            size,
        });
    }
    let entries = entries
        .into_iter()
        .map(|bytes| (leaf_hash(bytes), Entry::parse(bytes)))
        .collect();
    Ok(Bundle {
        tile_path,
        tile,
        entries,
    })
}

/// The tree, rebuilt entry by entry, and what each next entry is checked
/// against.
struct Rebuild<'a> {
    /// Every root, oldest first; the last one's size is the tree's final size.
    roots: &'a [SignedRoot],
    remembered: Option<Remembered>,
    /// Hash tiles above level 0, fetched as the tree reaches them.
    upper_tiles: UpperTiles,
    /// Nodes completed since the last check against `upper_tiles`.
    completed: Vec<CompletedNode>,
    tree: CompactRange,
    /// The leaf hash of the last entry: the next entry's `prev`.
    last_leaf: Hash,
    /// The day and deployment of the last entry.
    last_entry: Option<(Day, Deployment)>,
    /// The first root larger than the tree: it first covers the next entry.
    next_root: usize,
}

impl<'a> Rebuild<'a> {
    fn new(roots: &'a [SignedRoot], remembered: Option<Remembered>) -> Rebuild<'a> {
        Rebuild {
            roots,
            remembered,
            upper_tiles: UpperTiles::default(),
            completed: Vec::new(),
            tree: CompactRange::new(),
            last_leaf: Hash::ZERO,
            last_entry: None,
            next_root: 0,
        }
    }

    /// Fetches every entry bundle, a few at a time, and checks their
    /// entries in log order.
    async fn run(&mut self, client: &LogClient, progress: &Progress) -> Result<(), VerifyError> {
        let size = self.roots.last().map_or(0, |root| root.size);
        progress.start("entries", size);
        self.check_roots_at_size()?;
        let mut bundles = stream::iter(entry_bundles(size))
            .map(|path| tokio::spawn(fetch_bundle(client.clone(), path, size)))
            .buffered(CONCURRENCY);
        while let Some(joined) = bundles.next().await {
            let bundle = joined.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))?;
            for (position, (leaf, entry)) in bundle.entries.into_iter().enumerate() {
                let served = (bundle.tile_path, bundle.tile[position]);
                self.push(leaf, entry, served)?;
            }
            for node in self.completed.drain(..) {
                self.upper_tiles.check(client, node).await?;
            }
            progress.set(self.tree.size());
        }
        progress.finish();
        Ok(())
    }

    /// Checks the next entry and appends its leaf hash. `in_tile` is the
    /// level-0 tile and the hash it holds for this entry.
    fn push(
        &mut self,
        leaf: Hash,
        entry: Result<Entry, ParseError>,
        in_tile: (TilePath, Hash),
    ) -> Result<(), VerifyError> {
        let index = self.tree.size();
        let entry = entry.map_err(|error| VerifyError::InvalidEntry { index, error })?;
        if entry.prev != self.last_leaf {
            return Err(VerifyError::BrokenChain {
                index,
                expected: self.last_leaf,
                found: entry.prev,
            });
        }
        let (path, served) = in_tile;
        if leaf != served {
            return Err(VerifyError::LeafNotInTile {
                index,
                path,
                leaf,
                served,
            });
        }
        self.check_place(index, entry.record.day, entry.record.deployment)?;

        let completed = &mut self.completed;
        let final_size = self.roots.last().map_or(0, |root| root.size);
        self.tree.append(leaf, |id, rebuilt| {
            let Some(slot) = tile_slot(id).filter(|_| id.level > 0) else {
                return;
            };
            let (level, index) = (slot.tile_level, slot.tile_index);
            let width = tile_width_at(level, index, final_size);
            let path = TilePath::Hash {
                level,
                index,
                width,
            };
            // The tile at its final width holds every node completed on
            // the way there.
            completed.push(CompletedNode {
                path,
                position: slot.position,
                rebuilt,
            });
        });
        self.last_leaf = leaf;
        self.last_entry = Some((entry.record.day, entry.record.deployment));
        self.check_roots_at_size()
    }

    /// The entry's day against the entry before it and the root that first
    /// covers it, and its order among the entries published with it.
    fn check_place(&self, index: u64, day: Day, deployment: Deployment) -> Result<(), VerifyError> {
        if let Some((previous, _)) = self.last_entry
            && day < previous
        {
            return Err(VerifyError::DayDecreased {
                index,
                day,
                previous,
            });
        }
        // The tree is smaller than the last root while entries remain.
        let covering = &self.roots[self.next_root];
        // With a root for every day, this is "each root covers exactly the
        // entries of its day and before".
        if day != covering.day {
            return Err(VerifyError::EntryInWrongRoot {
                index,
                day,
                root_day: covering.day,
                root_size: covering.size,
            });
        }
        // Entries published together (between two roots; a day with a
        // publish period of a day) are ordered by deployment.
        let batch_start = match self.next_root {
            0 => 0,
            next => self.roots[next - 1].size,
        };
        if index > batch_start
            && let Some((_, previous)) = self.last_entry
            && deployment <= previous
        {
            return Err(VerifyError::OutOfOrder {
                index,
                deployment,
                previous,
            });
        }
        Ok(())
    }

    /// Compares the rebuilt root with every signed root of the tree's
    /// current size, and with the remembered root if it has that size.
    fn check_roots_at_size(&mut self) -> Result<(), VerifyError> {
        let size = self.tree.size();
        let remembered = self.remembered.filter(|r| r.size == size);
        let signed_here = self
            .roots
            .get(self.next_root)
            .is_some_and(|root| root.size == size);
        if remembered.is_none() && !signed_here {
            return Ok(());
        }
        let rebuilt = self.tree.root();
        if let Some(remembered) = remembered
            && remembered.root != rebuilt
        {
            return Err(VerifyError::RebuiltDiffersFromState {
                size,
                remembered: remembered.root,
                rebuilt,
            });
        }
        while let Some(root) = self.roots.get(self.next_root)
            && root.size == size
        {
            if root.root != rebuilt {
                return Err(VerifyError::RootMismatch {
                    day: root.day,
                    size,
                    rebuilt,
                    signed: root.root,
                });
            }
            self.next_root += 1;
        }
        Ok(())
    }
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
fn load_state(path: &Path, key: &VerifierKey) -> Result<Option<Remembered>, VerifyError> {
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
    Ok(Some(Remembered {
        size: checkpoint.size,
        root: checkpoint.root,
    }))
}

/// Remembers `latest`, replacing the file whole (write, then rename).
fn save_state(
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
