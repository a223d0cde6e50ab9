//! Closing a period: the pending records of the period, ordered by
//! deployment, chained into entries, appended to the tree and its tiles,
//! and covered by a signed root, in one transaction.

use std::collections::BTreeMap;

use lucent_core::Hash;
use lucent_core::checkpoint::Checkpoint;
use lucent_core::merkle::CompactRange;
use lucent_core::note::SigningKey;
use lucent_core::period::{day_closed_by, instant};
use lucent_core::record::{Day, ParseError, chain_records};
use lucent_core::tiles::{encode_hash_tile, tile_slot};

use super::writer::{StartupError, Writer, check_last_root, check_signed_root_stored, load_tree};
use crate::datadir::{SignedState, write_state};
use crate::storage::tiles::split_hashes;
use crate::storage::{DayTotals, add_to_day};
use crate::storage::{Publication, RootRow, StorageError, WriteTx, record_key, split_entries};

/// Entries read at a time while filling `day_totals` after an upgrade.
const COUNT_CHUNK: u64 = 10_000;

/// Why a period could not be closed.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("catching up with a root another server published: {0}")]
    CatchUp(String),
    #[error("writing the state file: {0}")]
    State(#[from] crate::datadir::DataDirError),
    #[error(
        "the period ending {period_end} gets root {computed} at size {size}, but the state file \
         records root {recorded} at size {recorded_size}; refusing to sign a different history"
    )]
    Diverged {
        period_end: i64,
        computed: Hash,
        size: u64,
        recorded: Hash,
        recorded_size: u64,
    },
}

impl From<PublishError> for StartupError {
    fn from(e: PublishError) -> StartupError {
        match e {
            PublishError::Storage(e) => StartupError::Storage(e),
            PublishError::State(e) => StartupError::DataDir(e),
            PublishError::CatchUp(e) => StartupError::TreeMismatch(e),
            diverged @ PublishError::Diverged { .. } => {
                StartupError::TreeMismatch(diverged.to_string())
            }
        }
    }
}

impl Writer {
    /// Fills `day_totals` from the entries it does not count yet: once,
    /// after the migration that made the table, on a log published before.
    pub(super) async fn count_day_totals(&mut self) -> Result<(), StorageError> {
        let size = self.tree.size();
        let (_, day_totals) = self.read.day_totals().await?;
        let mut counted: u64 = day_totals.values().map(|day| day.reports).sum();
        if counted == size {
            return Ok(());
        }
        tracing::info!(
            entries = size - counted,
            "counting the published entries' totals, once"
        );
        let mut days: BTreeMap<Day, DayTotals> = BTreeMap::new();
        while counted < size {
            let end = size.min(counted + COUNT_CHUNK);
            let joined = self.read.entries_joined(counted, end).await?;
            let mut entries = 0;
            for entry in split_entries(&joined) {
                add_to_day(&mut days, entry).map_err(|e| {
                    StorageError::Corrupt(format!("an entry of {counted}..{end}: {e}"))
                })?;
                entries += 1;
            }
            if entries != end - counted {
                return Err(StorageError::Corrupt(format!(
                    "entries {counted}..{end} are missing below the published size {size}"
                )));
            }
            counted = end;
        }
        let mut tx = self.store.begin().await?;
        tx.add_day_totals(&days).await?;
        tx.commit().await
    }

    /// Closes every period that has ended by the writer's clock, in order.
    pub(super) async fn publish_due(&mut self) -> Result<(), PublishError> {
        loop {
            let end = self.periods.next_end_after(self.last_end);
            if self.config.clock.now() < instant(end) {
                return Ok(());
            }
            self.publish(end).await?;
        }
    }

    async fn publish(&mut self, period_end: i64) -> Result<(), PublishError> {
        let started = std::time::Instant::now();
        self.store.close_period(period_end).await?;
        let mut tx = self.store.begin().await?;
        // Under the publication lock: another server on the same database
        // may have published since this writer last looked.
        if let Some(latest) = tx.latest_root().await?
            && latest.period_end > self.last_end
        {
            let (tree, last_leaf) = load_tree(&*self.read, latest.entries())
                .await
                .and_then(|(tree, last_leaf)| {
                    check_last_root(&latest, &self.config.key.verifier_key(), &tree)?;
                    Ok((tree, last_leaf))
                })
                .map_err(|e| PublishError::CatchUp(e.to_string()))?;
            if let Some(unfinished) = &self.unfinished_root
                && unfinished.period_end <= latest.period_end
            {
                check_signed_root_stored(&*self.read, unfinished)
                    .await
                    .map_err(|e| PublishError::CatchUp(e.to_string()))?;
                self.unfinished_root = None;
            }
            tracing::info!(size = latest.size, day = %latest.day, "another server published a root");
            self.tree = tree;
            self.last_leaf = last_leaf;
            self.last_end = latest.period_end;
            self.last_published_end.send_replace(latest.period_end);
            if latest.period_end >= period_end {
                return Ok(());
            }
        }
        let first_index = self.tree.size();
        let appended = Appended::after(self.tree.clone(), self.last_leaf);
        let appended = append_period(&mut *tx, period_end, appended).await?;
        let tiles = grown_tiles(&mut *tx, &appended.grown).await?;
        let (size, root) = (appended.tree.size(), appended.tree.root());
        check_unfinished_root(self.unfinished_root.as_ref(), period_end, size, root)?;
        let root_row = sign_root(&self.config.key, period_end, size, root);
        tx.publish(&Publication {
            first_index,
            record_keys: &appended.record_keys,
            tiles: &tiles,
            day_totals: &appended.day_totals,
            root: &root_row,
        })
        .await?;
        // The state file is durable before the root is: a database can then
        // never hold a signed root the state file does not know.
        let state = SignedState {
            period_end,
            size,
            root,
        };
        let dir = self.config.data_dir.path().to_owned();
        let written = state.clone();
        tokio::task::spawn_blocking(move || write_state(&dir, Some(&written)))
            .await
            .expect("writing the state file does not panic")?;
        // Signed: if the commit fails, the next attempt must sign it again.
        self.unfinished_root = Some(state);
        tx.commit().await?;
        // Reports are taken again while the database settles (on SQLite,
        // the checkpoint connection empties the write-ahead log); a sync
        // waits for it.
        self.settled = Some(self.store.settle());
        self.unfinished_root = None;
        self.last_leaf = appended.last_leaf;
        self.tree = appended.tree;
        self.last_end = period_end;
        self.last_published_end.send_replace(period_end);
        self.config.metrics.observe_publication(started.elapsed());
        tracing::info!(
            day = %root_row.day,
            size,
            entries = size - first_index,
            millis = started.elapsed().as_millis() as u64,
            "published a root"
        );
        Ok(())
    }
}

/// Appends the period's pending records to the tree as entries, page by
/// page in primary-key order, which is deployment order: each page holds
/// the keys that follow the page before, and chaining sorts it, so chaining
/// them one after the other orders and chains the whole period, in bounded
/// memory. Each page is chained on another thread while the database
/// inserts the page before it.
async fn append_period(
    tx: &mut dyn WriteTx,
    period_end: i64,
    mut appended: Appended,
) -> Result<Appended, StorageError> {
    let mut page = tx.pending_page(period_end, None).await?;
    let mut chained: Option<(u64, Vec<Vec<u8>>)> = None;
    while let Some(current) = page {
        let chaining = tokio::task::spawn_blocking(move || {
            let entries = appended.chain(current.records);
            (appended, entries)
        });
        if let Some((index, entries)) = chained.take() {
            tx.insert_entries(index, entries).await?;
        }
        let (done, entries) = chaining.await.expect("chaining does not panic");
        appended = done;
        let entries =
            entries.map_err(|e| StorageError::Corrupt(format!("a pending record: {e}")))?;
        chained = Some((appended.tree.size() - entries.len() as u64, entries));
        page = tx.pending_page(period_end, Some(&current.last_key)).await?;
    }
    if let Some((index, entries)) = chained {
        tx.insert_entries(index, entries).await?;
    }
    Ok(appended)
}

/// A root the state file records for this period must be reproduced exactly
/// (a crash between the state file and the commit).
fn check_unfinished_root(
    unfinished: Option<&SignedState>,
    period_end: i64,
    size: u64,
    root: Hash,
) -> Result<(), PublishError> {
    match unfinished {
        Some(recorded)
            if recorded.period_end == period_end
                && (recorded.size != size || recorded.root != root) =>
        {
            Err(PublishError::Diverged {
                period_end,
                computed: root,
                size,
                recorded: recorded.root,
                recorded_size: recorded.size,
            })
        }
        _ => Ok(()),
    }
}

/// The signed root of the period ending `period_end`.
fn sign_root(key: &SigningKey, period_end: i64, size: u64, root: Hash) -> RootRow {
    let checkpoint = Checkpoint::new(key.name().to_owned(), size, root)
        .sign(key)
        .expect("the log key signs its checkpoints");
    RootRow {
        period_end,
        day: day_closed_by(period_end).to_string(),
        size: size as i64,
        root_hash: root.0.to_vec(),
        checkpoint,
        cosignatures: Vec::new(),
    }
}

/// The hash tiles that the new leaves changed, each stored tile extended by
/// the hashes the publication formed in it.
async fn grown_tiles(
    tx: &mut dyn WriteTx,
    grown: &BTreeMap<(u8, u64), Vec<(u8, Hash)>>,
) -> Result<Vec<(u8, u64, Vec<u8>)>, StorageError> {
    let mut tiles = Vec::with_capacity(grown.len());
    for (&(level, index), hashes) in grown {
        let mut tile = match tx.tile(level, index).await? {
            Some(bytes) => split_hashes(&bytes)?,
            None => Vec::new(),
        };
        for &(position, hash) in hashes {
            if usize::from(position) != tile.len() {
                let reason = format!(
                    "tile {level}/{index} has {} hashes, not {position}",
                    tile.len()
                );
                return Err(StorageError::Corrupt(reason));
            }
            tile.push(hash);
        }
        tiles.push((level, index, encode_hash_tile(&tile)));
    }
    Ok(tiles)
}

/// What a publication appends as it chains its pages.
struct Appended {
    tree: CompactRange,
    /// The leaf hash of the last entry chained.
    last_leaf: Hash,
    /// The record key of each entry, in entry order.
    record_keys: Vec<i64>,
    /// Tile hashes formed by the new leaves, by tile, in position order.
    grown: BTreeMap<(u8, u64), Vec<(u8, Hash)>>,
    /// The new entries' totals, by day.
    day_totals: BTreeMap<Day, DayTotals>,
}

impl Appended {
    /// Nothing appended yet to `tree`, whose last leaf is `last_leaf`.
    fn after(tree: CompactRange, last_leaf: Hash) -> Appended {
        Appended {
            tree,
            last_leaf,
            record_keys: Vec::new(),
            grown: BTreeMap::new(),
            day_totals: BTreeMap::new(),
        }
    }

    /// Chains a page of records after the last entry and appends them to
    /// the tree; returns the entries' bytes.
    fn chain(&mut self, records: Vec<Vec<u8>>) -> Result<Vec<Vec<u8>>, ParseError> {
        for record in &records {
            add_to_day(&mut self.day_totals, record)?;
        }
        let entries = chain_records(self.last_leaf, records)?;
        for entry in &entries {
            let grown = &mut self.grown;
            self.tree.append(entry.leaf_hash, |id, hash| {
                if let Some(slot) = tile_slot(id) {
                    let tile = grown.entry((slot.tile_level, slot.tile_index)).or_default();
                    tile.push((slot.position, hash));
                }
            });
            self.record_keys.push(record_key(&entry.record_hash));
        }
        self.last_leaf = entries.last().map_or(self.last_leaf, |e| e.leaf_hash);
        Ok(entries.into_iter().map(|e| e.bytes).collect())
    }
}
