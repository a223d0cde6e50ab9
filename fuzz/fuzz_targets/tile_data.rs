//! Tile bytes a client fetches: `decode_entry_bundle` and `parse_hash_tile`
//! never panic and round-trip through their encoders, and `root_from_tiles`
//! over tiles cut from the input never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lucent_core::Hash;
use lucent_core::record::Entry;
use lucent_core::tiles::{
    TILE_WIDTH, TilePath, decode_entry_bundle, encode_entry_bundle, encode_hash_tile,
    node_from_tile, parse_hash_tile, root_from_tiles,
};

fuzz_target!(|data: &[u8]| {
    if let Ok(entries) = decode_entry_bundle(data) {
        assert!(entries.len() <= usize::from(TILE_WIDTH));
        let encoded = encode_entry_bundle(&entries).expect("decoded entries re-encode");
        assert_eq!(encoded, data);
        for entry in entries {
            let _ = Entry::parse(entry);
        }
    }

    let width = u16::try_from(data.len() / Hash::LEN).unwrap_or(u16::MAX);
    let _ = parse_hash_tile(data, data.first().map_or(0, |&b| u16::from(b)));
    if let Ok(hashes) = parse_hash_tile(data, width) {
        assert_eq!(hashes.len(), usize::from(width));
        assert_eq!(encode_hash_tile(&hashes), data);
        let run = 1usize << (hashes.len().ilog2());
        let _ = node_from_tile(&hashes, 0..run);
        let _ = node_from_tile(&hashes, hashes.len() - 1..hashes.len());
    }

    // A tree size from the first 8 bytes, and every tile it needs cut from
    // the rest of the input (cycled), as a client would fetch them.
    if let Some((size, rest)) = data.split_first_chunk::<8>() {
        let size = u64::from_le_bytes(*size);
        let result = root_from_tiles(size, |path: TilePath| -> Result<Vec<Hash>, ()> {
            if rest.is_empty() {
                return Err(());
            }
            let bytes: Vec<u8> = rest
                .iter()
                .copied()
                .cycle()
                .take(usize::from(path.width()) * Hash::LEN)
                .collect();
            parse_hash_tile(&bytes, path.width()).map_err(|_| ())
        });
        if size == 0 {
            assert!(result.is_ok());
        }
    }
});
