//! The one pass over every entry bundle and level-0 tile: it checks each
//! entry (schema 1, its `prev`, its leaf hash in the tile, its day, its
//! order) while rebuilding the tree, checks every higher tile hash against
//! the rebuilt nodes, and compares the rebuilt root with each signed root
//! (and the remembered one) as the tree reaches its size.

use std::collections::HashMap;

use futures_util::{StreamExt as _, stream};

use lucent_core::Hash;
use lucent_core::merkle::{CompactRange, NodeId};
use lucent_core::record::{Day, Deployment, Entry, ParseError};
use lucent_core::stats::StatsBuilder;
use lucent_core::tiles::{TilePath, tile_slot, tile_width_at};

use super::roots::SignedRoot;
use super::state::Remembered;
use super::stats::{ServedStats, check_at_root};
use super::tiles::{entry_bundles, fetch_bundle, fetch_hash_tile};
use super::{CONCURRENCY, VerifyError};
use crate::cli::progress::Progress;
use lucent_client::http::LogClient;

/// A node the rebuild completed, to check against the hash tile above
/// level 0 that holds it.
struct CompletedNode {
    path: TilePath,
    position: u8,
    rebuilt: Hash,
}

impl CompletedNode {
    /// The node `id` just completed with hash `rebuilt`, if a hash tile
    /// above level 0 holds it.
    fn in_upper_tile(id: NodeId, rebuilt: Hash, final_size: u64) -> Option<CompletedNode> {
        let slot = tile_slot(id).filter(|_| id.level > 0)?;
        let (level, index) = (slot.tile_level, slot.tile_index);
        // The tile at its final width holds every node completed on the
        // way there.
        let width = tile_width_at(level, index, final_size);
        Some(CompletedNode {
            path: TilePath::Hash {
                level,
                index,
                width,
            },
            position: slot.position,
            rebuilt,
        })
    }
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

/// The tree, rebuilt entry by entry, and what each next entry is checked
/// against.
pub(super) struct Rebuild<'a> {
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
    /// The stats recomputed from the entries so far.
    stats: StatsBuilder,
    /// The served stats, checked when the tree reaches their root.
    served_stats: Vec<ServedStats>,
}

impl<'a> Rebuild<'a> {
    pub(super) fn new(
        roots: &'a [SignedRoot],
        remembered: Option<Remembered>,
        served_stats: Vec<ServedStats>,
    ) -> Rebuild<'a> {
        Rebuild {
            roots,
            remembered,
            upper_tiles: UpperTiles::default(),
            completed: Vec::new(),
            tree: CompactRange::new(),
            last_leaf: Hash::ZERO,
            last_entry: None,
            next_root: 0,
            stats: StatsBuilder::new(),
            served_stats,
        }
    }

    /// Fetches every entry bundle, a few at a time, and checks their
    /// entries in log order.
    pub(super) async fn run(
        &mut self,
        client: &LogClient,
        progress: &Progress,
    ) -> Result<(), VerifyError> {
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
            completed.extend(CompletedNode::in_upper_tile(id, rebuilt, final_size));
        });
        self.last_leaf = leaf;
        self.last_entry = Some((entry.record.day, entry.record.deployment));
        self.stats.push(&entry.record);
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
            // A log's first root closes the day it began.
            let inception = self.roots[0].day;
            for served in self
                .served_stats
                .iter()
                .filter(|s| s.root == self.next_root)
            {
                check_at_root(&self.stats, root, inception, served)?;
            }
            self.next_root += 1;
        }
        Ok(())
    }
}
