//! C2SP tlog-tiles: the static resources that serve the Merkle tree
//! (hash tiles) and its entries (entry bundles), their paths, which of them
//! exist at a tree size, how tree nodes map into them, and their bytes.
//!
//! A hash tile at level `k` holds up to 256 consecutive hashes of tree
//! nodes at level `8k`; level 0 tiles hold leaf hashes. Every other tree
//! node is the Merkle root of an aligned power-of-two run of one tile's
//! hashes (see [`tile_for_node`]).

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;
use std::ops::Range;

use crate::hash::{Hash, empty_root, node_hash};
use crate::merkle::{NodeId, compact_range_ids};

/// Tree levels spanned by one tile.
pub const TILE_HEIGHT: u8 = 8;
/// Hashes in a full tile, and entries in a full entry bundle.
pub const TILE_WIDTH: u16 = 1 << TILE_HEIGHT;
/// The largest tile level a path may name (C2SP: 0 to 63).
pub const MAX_TILE_LEVEL: u8 = 63;
/// The longest entry an entry bundle can carry (its length is a uint16).
pub const MAX_ENTRY_LEN: usize = u16::MAX as usize;

/// One tile resource. `width` is 1 to 256; 256 is a full tile, whose path
/// has no `.p/<W>` suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TilePath {
    /// `tile/<level>/<index>[.p/<width>]`: hashes of tree level `8 * level`.
    Hash { level: u8, index: u64, width: u16 },
    /// `tile/entries/<index>[.p/<width>]`: entries `256 * index ..`.
    Entries { index: u64, width: u16 },
}

/// Why tile bytes, a tile path or a tile request are not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileError {
    #[error("invalid tile path {path:?}: {reason}")]
    InvalidPath { path: String, reason: &'static str },
    #[error(
        "entry {index} of the bundle is {len} bytes; an entry bundle holds entries of at most 65535 bytes"
    )]
    EntryTooLong { index: usize, len: usize },
    #[error("an entry bundle holds at most 256 entries")]
    TooManyEntries,
    #[error("the entry bundle ends inside entry {index}")]
    TruncatedBundle { index: usize },
    #[error("a hash tile of width {width} is {expected} bytes, not {got}")]
    WrongTileLength {
        width: u16,
        expected: usize,
        got: usize,
    },
    #[error("a tile is 1 to 256 hashes wide, not {0}")]
    InvalidWidth(usize),
    #[error("hashes {range:?} are not an aligned power-of-two run inside a tile of {width} hashes")]
    RangeNotInTile { range: Range<usize>, width: usize },
}

/// Why a root could not be computed from tiles.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RootFromTilesError<E> {
    #[error("fetching {path} failed: {error}")]
    Fetch { path: TilePath, error: E },
    #[error("tile {path}: {error}")]
    Tile { path: TilePath, error: TileError },
}

impl TilePath {
    pub fn width(&self) -> u16 {
        match *self {
            TilePath::Hash { width, .. } | TilePath::Entries { width, .. } => width,
        }
    }

    pub fn index(&self) -> u64 {
        match *self {
            TilePath::Hash { index, .. } | TilePath::Entries { index, .. } => index,
        }
    }

    pub fn is_partial(&self) -> bool {
        self.width() < TILE_WIDTH
    }

    /// Parses a path relative to the log prefix, starting with `tile/` (no
    /// leading slash), e.g. `tile/0/x001/234.p/5` or `tile/entries/000`.
    /// Only the canonical spelling of each tile is accepted.
    pub fn parse(path: &str) -> Result<TilePath, TileError> {
        let invalid = |reason| TileError::InvalidPath {
            path: path.to_owned(),
            reason,
        };
        let rest = path
            .strip_prefix("tile/")
            .ok_or_else(|| invalid("does not start with tile/"))?;
        let (kind, rest) = rest
            .split_once('/')
            .ok_or_else(|| invalid("has no tile index"))?;
        let (index, width) = match rest.split_once(".p/") {
            Some((index, width)) => (index, parse_partial_width(width).map_err(invalid)?),
            None => (rest, TILE_WIDTH),
        };
        let index = parse_index(index).map_err(invalid)?;
        if kind == "entries" {
            return Ok(TilePath::Entries { index, width });
        }
        let level = parse_decimal(kind)
            .map_err(|_| invalid("level is not a decimal without leading zeroes"))?;
        if level > u64::from(MAX_TILE_LEVEL) {
            return Err(invalid("level is above 63"));
        }
        Ok(TilePath::Hash {
            level: level as u8,
            index,
            width,
        })
    }
}

impl fmt::Display for TilePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TilePath::Hash { level, .. } => write!(f, "tile/{level}/")?,
            TilePath::Entries { .. } => f.write_str("tile/entries/")?,
        }
        write_index(f, self.index())?;
        if self.is_partial() {
            write!(f, ".p/{}", self.width())?;
        }
        Ok(())
    }
}

impl std::str::FromStr for TilePath {
    type Err = TileError;
    fn from_str(path: &str) -> Result<TilePath, TileError> {
        TilePath::parse(path)
    }
}

/// Writes `n` as 3-digit groups, all but the last prefixed by `x`:
/// 1234067 → `x001/x234/067`.
fn write_index(f: &mut impl fmt::Write, n: u64) -> fmt::Result {
    let mut groups = vec![n % 1000];
    let mut rest = n / 1000;
    while rest > 0 {
        groups.push(rest % 1000);
        rest /= 1000;
    }
    for group in groups.iter().skip(1).rev() {
        write!(f, "x{group:03}/")?;
    }
    write!(f, "{:03}", groups[0])
}

/// The C2SP encoding of a tile index: 1234067 → `x001/x234/067`.
pub fn encode_index(n: u64) -> String {
    let mut out = String::new();
    write_index(&mut out, n).expect("writing to a String cannot fail");
    out
}

/// Parses the canonical encoding of a tile index.
fn parse_index(text: &str) -> Result<u64, &'static str> {
    let elements: Vec<&str> = text.split('/').collect();
    let (last, leading) = elements
        .split_last()
        .expect("split yields at least one element");
    let three_digits = |s: &str| s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit());
    let mut n: u64 = 0;
    for (i, element) in leading.iter().enumerate() {
        let digits = element
            .strip_prefix('x')
            .ok_or("an index element before the last does not start with x")?;
        if !three_digits(digits) {
            return Err("an index element is not x and 3 decimal digits");
        }
        if i == 0 && digits == "000" {
            return Err("the index has a leading zero element");
        }
        n = push_group(n, digits)?;
    }
    if last.starts_with('x') {
        return Err("the last index element starts with x");
    }
    if !three_digits(last) {
        return Err("the last index element is not 3 decimal digits");
    }
    push_group(n, last)
}

/// `n * 1000 + group`, refusing indexes that overflow a u64.
fn push_group(n: u64, group: &str) -> Result<u64, &'static str> {
    let group: u64 = group.parse().expect("three ASCII digits");
    n.checked_mul(1000)
        .and_then(|n| n.checked_add(group))
        .ok_or("the index is too large")
}

/// Parses a decimal without sign or leading zeroes (`0` itself is fine).
fn parse_decimal(text: &str) -> Result<u64, ()> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if !canonical {
        return Err(());
    }
    text.parse().map_err(|_| ())
}

fn parse_partial_width(text: &str) -> Result<u16, &'static str> {
    match parse_decimal(text) {
        Ok(w @ 1..=255) => Ok(w as u16),
        Ok(_) => Err("a partial width is 1 to 255 (a full tile has no .p/ suffix)"),
        Err(()) => Err("the width is not a decimal without leading zeroes"),
    }
}

/// The tiles, as (level, index, width), that a tree of `new` leaves has and
/// a tree of `old` leaves does not have with that width, for tiles of
/// `height` levels: on each level that grew, from the tile that held the old
/// partial tile on. Level 0 doubles as the entry bundles. This is
/// golang.org/x/mod/sumdb/tlog's `NewTiles`, kept generic over the height so
/// that its published vectors (height 10) can test it.
fn new_tiles_at_height(height: u32, old: u64, new: u64) -> Vec<(u32, u64, u64)> {
    let mut tiles = Vec::new();
    if old >= new {
        return tiles;
    }
    let mut level = 0;
    while let Some(new_count) = new.checked_shr(height * level).filter(|&n| n > 0) {
        let old_count = old >> (height * level);
        if old_count != new_count {
            for n in (old_count >> height)..(new_count >> height) {
                tiles.push((level, n, 1 << height));
            }
            let partial = new_count & ((1 << height) - 1);
            if partial > 0 {
                tiles.push((level, new_count >> height, partial));
            }
        }
        level += 1;
    }
    tiles
}

fn new_hash_tiles(old: u64, new: u64) -> impl Iterator<Item = TilePath> {
    new_tiles_at_height(u32::from(TILE_HEIGHT), old, new)
        .into_iter()
        .map(|(level, index, width)| TilePath::Hash {
            level: level as u8,
            index,
            width: width as u16,
        })
}

/// Every hash tile of a tree of `size` leaves, level by level, left to
/// right, with the width it has at this size.
pub fn tiles_for_size(size: u64) -> Vec<TilePath> {
    new_hash_tiles(0, size).collect()
}

/// Every entry bundle of a tree of `size` leaves, left to right.
pub fn entry_bundles_for_size(size: u64) -> Vec<TilePath> {
    new_entry_bundles(0, size)
}

/// The hash tiles that a tree of `new` leaves has and a tree of `old`
/// leaves does not have (with this width): what to write when the log grows.
pub fn new_tiles(old: u64, new: u64) -> Vec<TilePath> {
    new_hash_tiles(old, new).collect()
}

/// The entry bundles that a tree of `new` leaves has and a tree of `old`
/// leaves does not have (with this width).
pub fn new_entry_bundles(old: u64, new: u64) -> Vec<TilePath> {
    new_tiles_at_height(u32::from(TILE_HEIGHT), old, new)
        .into_iter()
        .take_while(|&(level, _, _)| level == 0)
        .map(|(_, index, width)| TilePath::Entries {
            index,
            width: width as u16,
        })
        .collect()
}

/// The width of hash tile `index` at `level` in a tree of `size` leaves
/// (0 if the tile does not exist at this size).
pub fn tile_width_at(level: u8, index: u64, size: u64) -> u16 {
    let hashes = size
        .checked_shr(u32::from(level) * u32::from(TILE_HEIGHT))
        .unwrap_or(0);
    let start = index.saturating_mul(u64::from(TILE_WIDTH));
    hashes.saturating_sub(start).min(u64::from(TILE_WIDTH)) as u16
}

/// Where a tree node lives in the hash tiles: its hash is the Merkle root
/// of `hashes` of the tile at (`tile_level`, `tile_index`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NodeInTile {
    pub tile_level: u8,
    pub tile_index: u64,
    /// An aligned run of `2^(node level % 8)` hash positions.
    pub hashes: Range<usize>,
}

/// Locates a node in the hash tiles. The tile must be at least
/// `hashes.end` wide to contain it.
pub fn tile_for_node(id: NodeId) -> NodeInTile {
    let height_in_tile = id.level % TILE_HEIGHT;
    // The node's index among the nodes of the tile's base level.
    let first = id.index << height_in_tile;
    let start = (first % u64::from(TILE_WIDTH)) as usize;
    NodeInTile {
        tile_level: id.level / TILE_HEIGHT,
        tile_index: first / u64::from(TILE_WIDTH),
        hashes: start..start + (1 << height_in_tile),
    }
}

/// Where the writer puts a node reported by `CompactRange::append`: nodes
/// at a level that is a multiple of 8 are stored tile hashes, the others
/// are recomputed from them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TileSlot {
    pub tile_level: u8,
    pub tile_index: u64,
    /// Position of the hash in the tile, 0 to 255.
    pub position: u8,
}

/// The tile slot of a node, if the node is a tile hash.
pub fn tile_slot(id: NodeId) -> Option<TileSlot> {
    id.level.is_multiple_of(TILE_HEIGHT).then(|| TileSlot {
        tile_level: id.level / TILE_HEIGHT,
        tile_index: id.index / u64::from(TILE_WIDTH),
        position: (id.index % u64::from(TILE_WIDTH)) as u8,
    })
}

/// The Merkle root of an aligned power-of-two run of a tile's hashes: the
/// hash of the tree node [`tile_for_node`] located there.
pub fn node_from_tile(tile_hashes: &[Hash], hashes: Range<usize>) -> Result<Hash, TileError> {
    let aligned = hashes.len().is_power_of_two() && hashes.start.is_multiple_of(hashes.len());
    let run = tile_hashes.get(hashes.clone()).filter(|_| aligned);
    let run = run.ok_or(TileError::RangeNotInTile {
        range: hashes,
        width: tile_hashes.len(),
    })?;
    let mut layer = run.to_vec();
    while layer.len() > 1 {
        layer = layer
            .chunks_exact(2)
            .map(|pair| node_hash(&pair[0], &pair[1]))
            .collect();
    }
    Ok(layer[0])
}

/// The root of the tree of `size` leaves from its hash tiles, fetching each
/// tile it needs once (the empty root for size 0). `fetch` gets the path with
/// the width the tile has at `size`, and returns that tile's hashes.
///
/// Only the size's partial tiles are needed: a full tile is summed up by one
/// hash of the tile above it. So this does not check the full tiles; a
/// verifier checks each of them against that hash with [`node_from_tile`].
pub fn root_from_tiles<E>(
    size: u64,
    mut fetch: impl FnMut(TilePath) -> Result<Vec<Hash>, E>,
) -> Result<Hash, RootFromTilesError<E>> {
    let mut tiles: HashMap<TilePath, Vec<Hash>> = HashMap::new();
    let mut nodes = Vec::new();
    for id in compact_range_ids(size) {
        let place = tile_for_node(id);
        let width = tile_width_at(place.tile_level, place.tile_index, size);
        let path = TilePath::Hash {
            level: place.tile_level,
            index: place.tile_index,
            width,
        };
        let tile = match tiles.entry(path) {
            Entry::Occupied(tile) => tile.into_mut(),
            Entry::Vacant(slot) => {
                let hashes =
                    fetch(path).map_err(|error| RootFromTilesError::Fetch { path, error })?;
                if hashes.len() != usize::from(width) {
                    let error = TileError::WrongTileLength {
                        width,
                        expected: usize::from(width) * Hash::LEN,
                        got: hashes.len() * Hash::LEN,
                    };
                    return Err(RootFromTilesError::Tile { path, error });
                }
                slot.insert(hashes)
            }
        };
        let node = node_from_tile(tile, place.hashes)
            .map_err(|error| RootFromTilesError::Tile { path, error })?;
        nodes.push(node);
    }
    Ok(nodes
        .into_iter()
        .rev()
        .reduce(|right, left| node_hash(&left, &right))
        .unwrap_or_else(empty_root))
}

/// The bytes of a hash tile: its hashes concatenated.
pub fn encode_hash_tile(hashes: &[Hash]) -> Vec<u8> {
    hashes.iter().flat_map(|h| h.0).collect()
}

/// Reads a hash tile of `width` hashes (1 to 256) from its bytes.
pub fn parse_hash_tile(bytes: &[u8], width: u16) -> Result<Vec<Hash>, TileError> {
    if !(1..=TILE_WIDTH).contains(&width) {
        return Err(TileError::InvalidWidth(usize::from(width)));
    }
    let expected = usize::from(width) * Hash::LEN;
    if bytes.len() != expected {
        return Err(TileError::WrongTileLength {
            width,
            expected,
            got: bytes.len(),
        });
    }
    Ok(bytes
        .chunks_exact(Hash::LEN)
        .map(|c| Hash::from_slice(c).expect("32-byte chunk"))
        .collect())
}

/// An entry bundle: each entry prefixed by its length as a big-endian uint16.
pub fn encode_entry_bundle<I>(entries: I) -> Result<Vec<u8>, TileError>
where
    I: IntoIterator,
    I::Item: AsRef<[u8]>,
{
    let mut out = Vec::new();
    for (index, entry) in entries.into_iter().enumerate() {
        let entry = entry.as_ref();
        if index >= usize::from(TILE_WIDTH) {
            return Err(TileError::TooManyEntries);
        }
        if entry.len() > MAX_ENTRY_LEN {
            return Err(TileError::EntryTooLong {
                index,
                len: entry.len(),
            });
        }
        out.extend_from_slice(&(entry.len() as u16).to_be_bytes());
        out.extend_from_slice(entry);
    }
    Ok(out)
}

/// Splits an entry bundle into its entries, refusing truncated entries and
/// more than 256 entries.
pub fn decode_entry_bundle(mut bytes: &[u8]) -> Result<Vec<&[u8]>, TileError> {
    let mut entries = Vec::new();
    while !bytes.is_empty() {
        let index = entries.len();
        if index >= usize::from(TILE_WIDTH) {
            return Err(TileError::TooManyEntries);
        }
        let (len, rest) = bytes
            .split_first_chunk::<2>()
            .ok_or(TileError::TruncatedBundle { index })?;
        let len = usize::from(u16::from_be_bytes(*len));
        let (entry, rest) = rest
            .split_at_checked(len)
            .ok_or(TileError::TruncatedBundle { index })?;
        entries.push(entry);
        bytes = rest;
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;

    #[test]
    fn index_encoding() {
        assert_eq!(encode_index(0), "000");
        assert_eq!(encode_index(1000), "x001/000");
        assert_eq!(encode_index(1234067), "x001/x234/067");
        assert_eq!(encode_index(u64::MAX), "x018/x446/x744/x073/x709/x551/615");
        assert_eq!(
            parse_index("x018/x446/x744/x073/x709/x551/615"),
            Ok(u64::MAX)
        );
        assert!(parse_index("x018/x446/x744/x073/x709/x551/616").is_err());
        assert!(parse_index("").is_err());
        assert!(parse_index("000/").is_err());
    }

    #[test]
    fn parse_round_trips_and_rejects_oddities() {
        for path in [
            "tile/0/000",
            "tile/63/x001/000.p/255",
            "tile/entries/x123/456.p/1",
        ] {
            assert_eq!(TilePath::parse(path).unwrap().to_string(), path);
        }
        for path in [
            "/tile/0/000",
            "tile/0/000/",
            "tile/0/+01",
            "tile/0/000.p/+5",
            "tile/0/000.p/",
            "tile/0",
            "tile//000",
        ] {
            assert!(TilePath::parse(path).is_err(), "{path}");
        }
    }

    #[test]
    fn new_tiles_counts_match_go_sumdb_at_height_10() {
        // golang.org/x/mod sumdb/tlog tile_test.go TestNewTilesForSize (also
        // in testvectors/tiles/paths.json go_sumdb.new_tiles_count_height_10).
        let cases = [
            (1, 1, 0),
            (100, 101, 1),
            (1023, 1025, 3),
            (1024, 1030, 1),
            (1030, 2000, 1),
            (1030, 10000, 10),
            (49516517, 49516586, 3),
        ];
        for (old, new, count) in cases {
            assert_eq!(
                new_tiles_at_height(10, old, new).len(),
                count,
                "{old} -> {new}"
            );
        }
    }

    #[test]
    fn new_tiles_lists_the_grown_partials() {
        let paths: Vec<String> = new_tiles(300, 513)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(paths, ["tile/0/001", "tile/0/002.p/1", "tile/1/000.p/2"]);
        assert_eq!(new_entry_bundles(300, 513).len(), 2);
        assert_eq!(new_tiles(513, 513), vec![]);
    }

    #[test]
    fn tile_width_at_size() {
        assert_eq!(tile_width_at(0, 0, 300), 256);
        assert_eq!(tile_width_at(0, 1, 300), 44);
        assert_eq!(tile_width_at(0, 2, 300), 0);
        assert_eq!(tile_width_at(1, 0, 300), 1);
        assert_eq!(tile_width_at(8, 0, u64::MAX), 0);
        assert_eq!(tile_width_at(7, 0, u64::MAX), 255);
    }

    #[test]
    fn node_locations() {
        assert_eq!(
            tile_for_node(NodeId::new(0, 300)),
            NodeInTile {
                tile_level: 0,
                tile_index: 1,
                hashes: 44..45
            }
        );
        assert_eq!(
            tile_for_node(NodeId::new(3, 33)),
            NodeInTile {
                tile_level: 0,
                tile_index: 1,
                hashes: 8..16
            }
        );
        assert_eq!(
            tile_for_node(NodeId::new(8, 2)),
            NodeInTile {
                tile_level: 1,
                tile_index: 0,
                hashes: 2..3
            }
        );
        assert_eq!(
            tile_for_node(NodeId::new(15, 3)),
            NodeInTile {
                tile_level: 1,
                tile_index: 1,
                hashes: 128..256
            }
        );
        assert_eq!(
            tile_slot(NodeId::new(8, 513)),
            Some(TileSlot {
                tile_level: 1,
                tile_index: 2,
                position: 1
            })
        );
        assert_eq!(tile_slot(NodeId::new(7, 513)), None);
    }

    #[test]
    fn node_from_tile_needs_an_aligned_run_inside() {
        let hashes: Vec<Hash> = (0..4u8).map(|i| leaf_hash(&[i])).collect();
        let expected = node_hash(
            &node_hash(&hashes[0], &hashes[1]),
            &node_hash(&hashes[2], &hashes[3]),
        );
        assert_eq!(node_from_tile(&hashes, 0..4), Ok(expected));
        assert_eq!(node_from_tile(&hashes, 3..4), Ok(hashes[3]));
        assert!(node_from_tile(&hashes, 1..3).is_err());
        assert!(node_from_tile(&hashes, 0..3).is_err());
        assert!(node_from_tile(&hashes, 4..8).is_err());
        assert!(node_from_tile(&hashes, 2..2).is_err());
    }

    #[test]
    fn entry_bundle_round_trip_and_errors() {
        let entries: [&[u8]; 3] = [b"", b"a", &[7; 300]];
        let bytes = encode_entry_bundle(entries).unwrap();
        assert_eq!(&bytes[..5], &[0, 0, 0, 1, b'a']);
        assert_eq!(decode_entry_bundle(&bytes).unwrap(), entries);
        assert_eq!(
            decode_entry_bundle(&bytes[..bytes.len() - 1]),
            Err(TileError::TruncatedBundle { index: 2 })
        );
        assert_eq!(
            decode_entry_bundle(&[0, 0, 0]),
            Err(TileError::TruncatedBundle { index: 1 })
        );
        assert_eq!(
            encode_entry_bundle([vec![0; 65536]]),
            Err(TileError::EntryTooLong {
                index: 0,
                len: 65536
            })
        );
        assert!(encode_entry_bundle([vec![0; 65535]]).is_ok());
        assert_eq!(
            encode_entry_bundle(vec![b""; 257]),
            Err(TileError::TooManyEntries)
        );
        assert_eq!(
            decode_entry_bundle(&[0; 514]),
            Err(TileError::TooManyEntries)
        );
        assert_eq!(decode_entry_bundle(&[0; 512]).unwrap().len(), 256);
    }

    #[test]
    fn hash_tile_bytes() {
        let hashes = vec![leaf_hash(b"a"), leaf_hash(b"b")];
        let bytes = encode_hash_tile(&hashes);
        assert_eq!(parse_hash_tile(&bytes, 2), Ok(hashes));
        assert_eq!(
            parse_hash_tile(&bytes, 3),
            Err(TileError::WrongTileLength {
                width: 3,
                expected: 96,
                got: 64
            })
        );
        assert_eq!(parse_hash_tile(&[], 0), Err(TileError::InvalidWidth(0)));
        assert_eq!(
            parse_hash_tile(&[0; 257 * 32], 257),
            Err(TileError::InvalidWidth(257))
        );
    }
}
