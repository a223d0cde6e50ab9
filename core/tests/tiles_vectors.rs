//! Known-answer tests for the C2SP tlog-tiles paths and bytes:
//! `testvectors/tiles/paths.json`.

mod common;

use std::collections::BTreeMap;

use lucent_core::Hash;
use lucent_core::hash::leaf_hash;
use lucent_core::tiles::{
    TilePath, decode_entry_bundle, encode_entry_bundle, encode_hash_tile, encode_index,
    entry_bundles_for_size, parse_hash_tile, root_from_tiles, tiles_for_size,
};
use serde_json::Value;

fn str_of(value: &Value) -> &str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("{value} is not a string"))
}

fn parse(path: &str) -> TilePath {
    TilePath::parse(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn index_encoding() {
    let v = common::load("tiles/paths.json");
    let spec = &v["index_encoding"]["spec_example"];
    let mut cases = vec![spec];
    cases.extend(v["index_encoding"]["derived"].as_array().unwrap());
    assert_eq!(cases.len(), 12);
    for case in cases {
        let n = case["n"].as_u64().unwrap();
        let encoded = str_of(&case["encoded"]);
        assert_eq!(encode_index(n), encoded);
        let hash_tile = format!("tile/0/{encoded}");
        assert_eq!(
            TilePath::Hash {
                level: 0,
                index: n,
                width: 256
            }
            .to_string(),
            hash_tile
        );
        assert_eq!(
            parse(&hash_tile),
            TilePath::Hash {
                level: 0,
                index: n,
                width: 256
            }
        );
        let bundle = format!("tile/entries/{encoded}.p/7");
        assert_eq!(parse(&bundle), TilePath::Entries { index: n, width: 7 });
        assert_eq!(parse(&bundle).to_string(), bundle);
    }
}

/// (full tiles, partial width) per level, as `per_level` lists them.
fn per_level(tiles: &[TilePath]) -> BTreeMap<u8, (u64, u16)> {
    let mut levels = BTreeMap::new();
    for tile in tiles {
        let TilePath::Hash { level, width, .. } = *tile else {
            panic!("{tile} is not a hash tile")
        };
        let counts: &mut (u64, u16) = levels.entry(level).or_default();
        if tile.is_partial() {
            assert_eq!(counts.1, 0, "two partial tiles at level {level}");
            counts.1 = width;
        } else {
            counts.0 += 1;
        }
    }
    levels
}

#[test]
fn tiles_and_bundles_for_each_tree_size() {
    let v = common::load("tiles/paths.json");
    let cases = v["tree_sizes"].as_array().unwrap();
    assert_eq!(cases.len(), 13);
    let mut listed = 0;
    for case in cases {
        let size = case["tree_size"].as_u64().unwrap();
        let tiles = tiles_for_size(size);

        let want_levels: BTreeMap<u8, (u64, u16)> = case["per_level"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                let counts = (
                    l["full_tiles"].as_u64().unwrap(),
                    l["partial_width"].as_u64().unwrap() as u16,
                );
                (l["level"].as_u64().unwrap() as u8, counts)
            })
            .collect();
        assert_eq!(per_level(&tiles), want_levels, "size {size}");

        if let Some(want) = case.get("tiles_derived") {
            listed += 1;
            let want: Vec<(TilePath, &str)> = want
                .as_array()
                .unwrap()
                .iter()
                .map(|t| {
                    let tile = TilePath::Hash {
                        level: t["level"].as_u64().unwrap() as u8,
                        index: t["n"].as_u64().unwrap(),
                        width: t["width"].as_u64().unwrap() as u16,
                    };
                    (tile, str_of(&t["path"]))
                })
                .collect();
            let got: Vec<TilePath> = want.iter().map(|(tile, _)| *tile).collect();
            assert_eq!(tiles, got, "size {size}");
            for (tile, path) in &want {
                assert_eq!(tile.to_string(), *path);
                assert_eq!(parse(path), *tile);
            }
            let bundles: Vec<String> = entry_bundles_for_size(size)
                .iter()
                .map(ToString::to_string)
                .collect();
            let want_bundles: Vec<&str> = case["entry_bundles_derived"]
                .as_array()
                .unwrap()
                .iter()
                .map(str_of)
                .collect();
            assert_eq!(bundles, want_bundles, "size {size}");
            for path in want_bundles {
                assert!(matches!(parse(path), TilePath::Entries { .. }), "{path}");
            }
        }
    }
    assert_eq!(listed, 9);
}

#[test]
fn invalid_paths_are_rejected() {
    let v = common::load("tiles/paths.json");
    let cases = v["invalid_paths_derived"].as_array().unwrap();
    assert_eq!(cases.len(), 12);
    for case in cases {
        let path = str_of(&case["path"]);
        assert!(
            TilePath::parse(path).is_err(),
            "{path} ({}) was accepted",
            case["reason"]
        );
    }
}

#[test]
fn reference_tree_as_tiles() {
    let v = common::load("tiles/paths.json");
    let case = &v["reference_tree_as_tiles_derived"];
    let reference = common::load("merkle/reference_tree.json");
    let inputs: Vec<Vec<u8>> = reference["leaf_inputs_hex"]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| hex::decode(str_of(h)).unwrap())
        .collect();
    let size = case["tree_size"].as_u64().unwrap();
    assert_eq!(size, 8);

    let tile_path = parse(str_of(&case["tile_path"]));
    let bundle_path = parse(str_of(&case["entry_bundle_path"]));
    assert_eq!(tiles_for_size(size), [tile_path]);
    assert_eq!(entry_bundles_for_size(size), [bundle_path]);

    let tile_bytes = hex::decode(str_of(&case["tile_hex"])).unwrap();
    let bundle_bytes = hex::decode(str_of(&case["entry_bundle_hex"])).unwrap();
    let leaves: Vec<Hash> = inputs.iter().map(|d| leaf_hash(d)).collect();
    assert_eq!(encode_hash_tile(&leaves), tile_bytes);
    assert_eq!(encode_entry_bundle(&inputs).unwrap(), bundle_bytes);

    let tile = parse_hash_tile(&tile_bytes, tile_path.width()).unwrap();
    let entries = decode_entry_bundle(&bundle_bytes).unwrap();
    assert_eq!(entries.len(), usize::from(bundle_path.width()));
    assert_eq!(
        entries.iter().map(|e| leaf_hash(e)).collect::<Vec<_>>(),
        tile
    );
    assert!(decode_entry_bundle(&bundle_bytes[..bundle_bytes.len() - 1]).is_err());
    assert!(decode_entry_bundle(&[&bundle_bytes[..], &[0]].concat()).is_err());

    let root = root_from_tiles(size, |path| {
        if path == tile_path {
            Ok(tile.clone())
        } else {
            Err(path)
        }
    })
    .unwrap();
    assert_eq!(root, Hash::from_hex(str_of(&case["root_hex"])).unwrap());
}

/// A golang.org/x/mod sumdb path `tile/H/L/N[.p/W]` without its height
/// element, which is the C2SP path for the same level, index and suffix.
fn without_height(go_path: &str) -> String {
    let rest = go_path.strip_prefix("tile/").unwrap();
    let (_height, rest) = rest.split_once('/').unwrap();
    match rest.strip_prefix("data/") {
        Some(index) => format!("tile/entries/{index}"),
        None => format!("tile/{rest}"),
    }
}

#[test]
fn go_sumdb_index_encoding_and_partial_rule() {
    let v = common::load("tiles/paths.json");
    let go = &v["go_sumdb"];
    let mut cases: Vec<&Value> = go["tile_paths"]["values"]
        .as_array()
        .unwrap()
        .iter()
        .collect();
    cases.extend(go["doc_examples"]["values"].as_array().unwrap());
    assert_eq!(cases.len(), 10);
    for case in cases {
        let go_path = str_of(&case["path"]);
        let path = without_height(go_path);
        if case.get("valid").is_some_and(|valid| valid == false) {
            assert!(
                TilePath::parse(&path).is_err(),
                "{path} (from {go_path}) was accepted"
            );
            continue;
        }
        let tile = parse(&path);
        assert_eq!(tile.to_string(), path);
        assert_eq!(tile.index(), case["N"].as_u64().unwrap(), "{go_path}");
        assert_eq!(
            matches!(tile, TilePath::Entries { .. }),
            case["L"] == -1,
            "{go_path}"
        );
        // Go marks a tile partial when W < 2^H; C2SP only by the .p/W suffix.
        let go_width = case["W"].as_u64().unwrap();
        let go_partial = go_width < 1 << case["H"].as_u64().unwrap();
        assert_eq!(tile.is_partial(), go_partial, "{go_path}");
        if go_partial {
            assert_eq!(u64::from(tile.width()), go_width, "{go_path}");
        }
    }
    // new_tiles_count_height_10 is about tiles of height 10; the unit test
    // tiles::tests::new_tiles_counts_match_go_sumdb_at_height_10 checks it
    // against the same counts with the height-generic NewTiles algorithm.
    assert_eq!(
        go["new_tiles_count_height_10"]["values"]
            .as_array()
            .unwrap()
            .len(),
        7
    );
}

/// The project's own log (`testvectors/lucent/log.json`) served as tiles at
/// each published size.
#[test]
fn lucent_log_tiles() {
    use base64::Engine as _;
    let log = common::load("lucent/log.json");
    let entries: Vec<&str> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| str_of(&e["entry"]))
        .collect();
    let tiles = log["tiles"].as_array().unwrap();
    assert_eq!(tiles.len(), 4);
    for size in [4u64, 7] {
        let at_size: BTreeMap<TilePath, Vec<u8>> = tiles
            .iter()
            .filter(|t| t["tree_size"].as_u64() == Some(size))
            .map(|t| {
                (
                    parse(str_of(&t["path"])),
                    base64::engine::general_purpose::STANDARD
                        .decode(str_of(&t["data_b64"]))
                        .unwrap(),
                )
            })
            .collect();
        let mut want_paths = tiles_for_size(size);
        want_paths.extend(entry_bundles_for_size(size));
        assert_eq!(
            at_size.keys().copied().collect::<Vec<_>>(),
            want_paths,
            "size {size}"
        );

        let first = &entries[..size as usize];
        let bundle_path = entry_bundles_for_size(size)[0];
        assert_eq!(encode_entry_bundle(first).unwrap(), at_size[&bundle_path]);
        let tile = parse_hash_tile(&at_size[&tiles_for_size(size)[0]], size as u16).unwrap();
        assert_eq!(
            tile,
            first
                .iter()
                .map(|e| leaf_hash(e.as_bytes()))
                .collect::<Vec<_>>()
        );

        let root = root_from_tiles(size, |path| match at_size.get(&path) {
            Some(bytes) => parse_hash_tile(bytes, path.width()).map_err(|e| e.to_string()),
            None => Err(format!("{path} is not served")),
        });
        let want = log["roots"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["size"].as_u64() == Some(size))
            .unwrap();
        assert_eq!(
            root.unwrap(),
            Hash::from_hex(str_of(&want["root_hash"])).unwrap(),
            "size {size}"
        );
    }
}
