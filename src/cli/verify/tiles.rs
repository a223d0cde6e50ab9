//! The served tiles: hash tiles at their width in the tree being verified,
//! the latest root from them alone, and the entry bundles with the
//! level-0 tiles of the same leaves.

use std::collections::HashMap;

use lucent_core::Hash;
use lucent_core::hash::leaf_hash;
use lucent_core::record::{Entry, ParseError};
use lucent_core::tiles::{
    RootFromTilesError, TILE_WIDTH, TilePath, decode_entry_bundle, parse_hash_tile,
    root_from_tiles, tile_width_at,
};

use super::VerifyError;
use super::roots::SignedRoot;
use lucent_client::http::LogClient;

/// Fetches a hash tile at the width it has in the tree being verified.
pub(super) async fn fetch_hash_tile(
    client: &LogClient,
    path: TilePath,
) -> Result<Vec<Hash>, VerifyError> {
    let bytes = client.tile(path).await?;
    parse_hash_tile(&bytes, path.width()).map_err(|error| VerifyError::Tile { path, error })
}

/// The latest root, computed from the hash tiles alone, must be the
/// signed one: what a tlog-tiles client that reads no entries would trust.
pub(super) async fn check_root_from_tiles(
    client: &LogClient,
    latest: &SignedRoot,
) -> Result<(), VerifyError> {
    let from_tiles = root_from_served_tiles(client, latest.size).await?;
    if from_tiles != latest.root {
        return Err(VerifyError::TilesRootMismatch {
            size: latest.size,
            from_tiles,
            signed: latest.root,
        });
    }
    Ok(())
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
pub(super) fn entry_bundles(size: u64) -> impl Iterator<Item = TilePath> {
    (0..size.div_ceil(u64::from(TILE_WIDTH))).map(move |index| TilePath::Entries {
        index,
        width: tile_width_at(0, index, size),
    })
}

/// One entry bundle with the level-0 tile of the same leaves, its entries
/// parsed and hashed.
pub(super) struct Bundle {
    pub(super) tile_path: TilePath,
    pub(super) tile: Vec<Hash>,
    /// Each entry's leaf hash and the entry (or why it is not one).
    pub(super) entries: Vec<(Hash, Result<Entry, ParseError>)>,
}

/// Fetches and parses one entry bundle and its level-0 tile; run as its own
/// task, so that parsing uses every core.
pub(super) async fn fetch_bundle(
    client: LogClient,
    path: TilePath,
    size: u64,
) -> Result<Bundle, VerifyError> {
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
