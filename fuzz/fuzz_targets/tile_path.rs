//! A tile path (the URL path of a tile request, or of a tile a client
//! fetches): `TilePath::parse` never panics and accepts only the canonical
//! spelling, which `to_string` gives back; and every tile path written
//! parses back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lucent_core::tiles::{MAX_TILE_LEVEL, TILE_WIDTH, TilePath, encode_index};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(path) = TilePath::parse(text)
    {
        assert_eq!(path.to_string(), text);
        assert_eq!(text.parse::<TilePath>(), Ok(path));
        assert!((1..=TILE_WIDTH).contains(&path.width()));
        if let TilePath::Hash { level, .. } = path {
            assert!(level <= MAX_TILE_LEVEL);
        }
        assert!(text.contains(&encode_index(path.index())));
    }

    // The other direction: a path built from the input's bytes.
    if let Some((head, rest)) = data.split_first_chunk::<11>() {
        let index = u64::from_le_bytes(head[..8].try_into().expect("8 bytes"));
        let width = u16::from_le_bytes([head[8], head[9]]) % TILE_WIDTH + 1;
        let path = if head[10] & 0x80 != 0 {
            TilePath::Entries { index, width }
        } else {
            TilePath::Hash {
                level: head[10] % (MAX_TILE_LEVEL + 1),
                index,
                width,
            }
        };
        assert_eq!(TilePath::parse(&path.to_string()), Ok(path));
        let _ = rest;
    }
});
