//! Tree nodes read from the stored hash tiles. The core asks for nodes
//! through its synchronous [`NodeReader`]; this reader answers from tiles
//! fetched beforehand, and reports the tiles it lacked so that the caller
//! fetches them and asks again (each core function reads nodes in one batch,
//! so two passes suffice).

use std::collections::{BTreeSet, HashMap};

use lucent_core::Hash;
use lucent_core::merkle::{NodeId, NodeReader, ProofError};
use lucent_core::tiles::{node_from_tile, parse_hash_tile, tile_for_node};

use super::{LogReader, Result, StorageError};

/// Tiles held in memory, by (tile level, tile index).
#[derive(Default)]
pub struct TileNodes {
    tiles: HashMap<(u8, u64), Vec<Hash>>,
}

/// The tiles a [`TileNodes`] lacked, or a tile that did not hold a node.
#[derive(Debug, thiserror::Error)]
pub enum TileMiss {
    #[error("tiles {0:?} were not fetched")]
    Missing(BTreeSet<(u8, u64)>),
    #[error("{0}")]
    Corrupt(String),
}

impl NodeReader for TileNodes {
    type Error = TileMiss;

    fn read_nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, TileMiss> {
        let places: Vec<_> = ids.iter().map(|&id| tile_for_node(id)).collect();
        let missing: BTreeSet<_> = places
            .iter()
            .map(|p| (p.tile_level, p.tile_index))
            .filter(|key| !self.tiles.contains_key(key))
            .collect();
        if !missing.is_empty() {
            return Err(TileMiss::Missing(missing));
        }
        places
            .into_iter()
            .map(|p| {
                let tile = &self.tiles[&(p.tile_level, p.tile_index)];
                node_from_tile(tile, p.hashes).map_err(|e| TileMiss::Corrupt(e.to_string()))
            })
            .collect()
    }
}

impl TileNodes {
    /// Runs `compute` over the stored tiles, fetching the tiles it needs.
    pub async fn compute<T>(
        store: &dyn LogReader,
        compute: impl Fn(&TileNodes) -> Result<T, ProofError<TileMiss>>,
    ) -> Result<T, ComputeError> {
        let mut nodes = TileNodes::default();
        for _ in 0..2 {
            match compute(&nodes) {
                Err(ProofError::Reader(TileMiss::Missing(keys))) => {
                    for (level, index) in keys {
                        let bytes = store.tile(level, index).await?.ok_or_else(|| {
                            StorageError::Corrupt(format!(
                                "hash tile {level}/{index} is not stored"
                            ))
                        })?;
                        nodes.tiles.insert((level, index), split_hashes(&bytes)?);
                    }
                }
                Err(ProofError::Reader(TileMiss::Corrupt(reason))) => {
                    return Err(StorageError::Corrupt(reason).into());
                }
                other => return other.map_err(|e| ComputeError::Proof(e.to_string())),
            }
        }
        Err(StorageError::Corrupt("tiles still missing after fetching them".into()).into())
    }
}

/// Why a computation over tiles failed.
#[derive(Debug, thiserror::Error)]
pub enum ComputeError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The request itself was invalid (e.g. an index beyond the size).
    #[error("{0}")]
    Proof(String),
}

/// The hashes of a stored tile.
pub fn split_hashes(bytes: &[u8]) -> Result<Vec<Hash>> {
    let width = u16::try_from(bytes.len() / Hash::LEN).unwrap_or(0);
    parse_hash_tile(bytes, width).map_err(|e| StorageError::Corrupt(format!("a stored tile: {e}")))
}
