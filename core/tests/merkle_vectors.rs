//! Known-answer tests for SPEC section 3: `testvectors/merkle/`, the
//! transparency-dev/merkle proof probes and reference tree.
//!
//! How probes map onto typed inputs: a leaf hash or proof hash that is not
//! 32 bytes cannot be expressed as a [`Hash`], so the probe is rejected when
//! it is decoded (as a checkpoint or proof parser rejects it). A root that is
//! not 32 bytes is one of the vectors' placeholders ("don't care 1"); it
//! stands for some root that is not the real one and is passed to the
//! verifier as the SHA-256 of a tag and its bytes, so equal placeholders stay
//! equal and never equal a real root. That keeps the one valid placeholder
//! probe (equal sizes, empty proof, equal roots) a test of the verifier.

mod common;

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use lucent_core::Hash;
use lucent_core::hash::{empty_root, leaf_hash, node_hash};
use lucent_core::merkle::{
    CompactRange, MemoryTree, NodeId, compact_range_ids, consistency_proof, inclusion_proof,
    root_at, verify_consistency, verify_inclusion,
};
use serde_json::Value;

fn probe_files(kind: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "json") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&common::vectors_dir().join("merkle").join(kind), &mut files);
    files.sort();
    files
}

fn read_probe(path: &Path) -> (String, Value) {
    let name = path
        .strip_prefix(common::vectors_dir())
        .unwrap()
        .display()
        .to_string();
    let value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    (name, value)
}

fn bytes(value: &Value) -> Vec<u8> {
    BASE64.decode(value.as_str().unwrap()).unwrap()
}

/// A leaf or proof hash; `None` if it is not 32 bytes.
fn strict_hash(value: &Value) -> Option<Hash> {
    Hash::from_slice(&bytes(value))
}

/// A proof (`null` is the empty proof); `None` if any hash is not 32 bytes.
fn proof(value: &Value) -> Option<Vec<Hash>> {
    match value {
        Value::Null => Some(Vec::new()),
        Value::Array(hashes) => hashes.iter().map(strict_hash).collect(),
        other => panic!("proof is {other}"),
    }
}

/// A root, with placeholders stood in for as the module comment says.
fn root(value: &Value) -> Hash {
    let raw = bytes(value);
    Hash::from_slice(&raw)
        .unwrap_or_else(|| Hash::sha256(&[b"placeholder root:".as_slice(), &raw].concat()))
}

fn hex_hash(value: &Value) -> Hash {
    Hash::from_hex(value.as_str().unwrap()).unwrap()
}

#[test]
fn every_inclusion_probe() {
    let files = probe_files("inclusion");
    assert_eq!(files.len(), 98);
    let (mut verified, mut rejected_by_verifier, mut rejected_by_decoding) = (0, 0, 0);
    for path in &files {
        let (name, probe) = read_probe(path);
        let want_err = probe["wantErr"].as_bool().unwrap();
        let index = probe["leafIdx"].as_u64().unwrap();
        let size = probe["treeSize"].as_u64().unwrap();
        let (Some(leaf), Some(proof)) = (strict_hash(&probe["leafHash"]), proof(&probe["proof"]))
        else {
            assert!(
                want_err,
                "{name}: a valid probe has a hash that is not 32 bytes"
            );
            rejected_by_decoding += 1;
            continue;
        };
        let result = verify_inclusion(&leaf, index, size, &proof, &root(&probe["root"]));
        if want_err {
            assert!(result.is_err(), "{name}: {} was accepted", probe["desc"]);
            rejected_by_verifier += 1;
        } else {
            assert_eq!(result, Ok(()), "{name}: {}", probe["desc"]);
            verified += 1;
        }
    }
    // 5 happy paths plus single-entry/matching-root-and-leaf; 21 probes have
    // an empty or garbage leaf or proof hash.
    assert_eq!(
        (verified, rejected_by_verifier, rejected_by_decoding),
        (6, 71, 21)
    );
}

#[test]
fn every_consistency_probe() {
    let files = probe_files("consistency");
    assert_eq!(files.len(), 98);
    let (mut verified, mut rejected_by_verifier, mut rejected_by_decoding) = (0, 0, 0);
    for path in &files {
        let (name, probe) = read_probe(path);
        let want_err = probe["wantErr"].as_bool().unwrap();
        let old = probe["size1"].as_u64().unwrap();
        let new = probe["size2"].as_u64().unwrap();
        let Some(proof) = proof(&probe["proof"]) else {
            assert!(
                want_err,
                "{name}: a valid probe has a hash that is not 32 bytes"
            );
            rejected_by_decoding += 1;
            continue;
        };
        let result = verify_consistency(
            old,
            new,
            &proof,
            &root(&probe["root1"]),
            &root(&probe["root2"]),
        );
        if want_err {
            assert!(result.is_err(), "{name}: {} was accepted", probe["desc"]);
            rejected_by_verifier += 1;
        } else {
            assert_eq!(result, Ok(()), "{name}: {}", probe["desc"]);
            verified += 1;
        }
    }
    // 5 happy paths plus the placeholder probe; 8 garbage-proof probes.
    assert_eq!(
        (verified, rejected_by_verifier, rejected_by_decoding),
        (6, 84, 8)
    );
}

struct ReferenceTree {
    leaf_inputs: Vec<Vec<u8>>,
    levels: Vec<Vec<Hash>>,
    roots: Vec<Hash>,
    tree: MemoryTree,
}

fn reference_tree() -> ReferenceTree {
    let v = common::load("merkle/reference_tree.json");
    let leaf_inputs: Vec<Vec<u8>> = v["leaf_inputs_hex"]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| hex::decode(h.as_str().unwrap()).unwrap())
        .collect();
    let levels: Vec<Vec<Hash>> = v["node_hashes"]["levels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|level| level.as_array().unwrap().iter().map(hex_hash).collect())
        .collect();
    let roots: Vec<Hash> = v["root_hashes"]["values"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(size, r)| {
            assert_eq!(r["tree_size"].as_u64(), Some(size as u64));
            hex_hash(&r["root_hex"])
        })
        .collect();
    assert_eq!((leaf_inputs.len(), roots.len()), (8, 9));
    let tree = MemoryTree::from_leaf_hashes(leaf_inputs.iter().map(|d| leaf_hash(d)));
    ReferenceTree {
        leaf_inputs,
        levels,
        roots,
        tree,
    }
}

#[test]
fn reference_tree_levels_and_roots() {
    let reference = reference_tree();
    assert_eq!(
        reference.levels.iter().map(Vec::len).collect::<Vec<_>>(),
        [8, 4, 2, 1]
    );
    for (i, input) in reference.leaf_inputs.iter().enumerate() {
        assert_eq!(leaf_hash(input), reference.levels[0][i], "leaf {i}");
    }

    // Appending reports every level hash exactly once, and the root after
    // each append is that size's root.
    let mut range = CompactRange::new();
    assert_eq!(range.root(), reference.roots[0]);
    let mut reported = Vec::new();
    for (i, input) in reference.leaf_inputs.iter().enumerate() {
        range.append(leaf_hash(input), |id, hash| reported.push((id, hash)));
        assert_eq!(
            range.root(),
            reference.roots[i + 1],
            "root after {} appends",
            i + 1
        );
    }
    reported.sort();
    let mut expected = Vec::new();
    for (level, hashes) in reference.levels.iter().enumerate() {
        for (index, hash) in hashes.iter().enumerate() {
            expected.push((NodeId::new(level as u8, index as u64), *hash));
            assert_eq!(
                reference.tree.node(NodeId::new(level as u8, index as u64)),
                Some(*hash)
            );
        }
    }
    expected.sort();
    assert_eq!(reported, expected);

    for (size, want) in reference.roots.iter().enumerate() {
        assert_eq!(
            root_at(size as u64, &reference.tree),
            Ok(*want),
            "root_at({size})"
        );
    }
    let v = common::load("merkle/reference_tree.json");
    assert_eq!(hex_hash(&v["empty_root_hex"]["value"]), empty_root());
}

#[test]
fn reference_tree_compact_ranges() {
    let reference = reference_tree();
    let v = common::load("merkle/reference_tree.json");
    let cases = v["compact_ranges"]["values"].as_array().unwrap();
    assert_eq!(cases.len(), 9);
    let mut range = CompactRange::new();
    for (size, case) in cases.iter().enumerate() {
        let size = size as u64;
        assert_eq!(case["tree_size"].as_u64(), Some(size));
        let nodes = case["nodes"].as_array().unwrap();
        let ids: Vec<NodeId> = nodes
            .iter()
            .map(|n| {
                NodeId::new(
                    n["level"].as_u64().unwrap() as u8,
                    n["index"].as_u64().unwrap(),
                )
            })
            .collect();
        let hashes: Vec<Hash> = nodes.iter().map(|n| hex_hash(&n["hash_hex"])).collect();
        assert_eq!(compact_range_ids(size), ids, "size {size}");
        assert_eq!(range.hashes(), hashes, "size {size}");
        assert_eq!(CompactRange::load(size, &reference.tree), Ok(range.clone()));
        assert_eq!(CompactRange::from_parts(size, hashes), Ok(range.clone()));
        if let Some(input) = reference.leaf_inputs.get(size as usize) {
            range.append(leaf_hash(input), |_, _| {});
        }
    }
}

#[test]
fn hasher_vectors() {
    let v = common::load("merkle/reference_tree.json");
    let cases = v["hasher_vectors"]["values"].as_array().unwrap();
    assert_eq!(cases.len(), 4);
    for case in cases {
        let want = hex_hash(&case["output_hex"]);
        let input = |key: &str| hex::decode(case[key].as_str().unwrap()).unwrap();
        match case["function"].as_str().unwrap() {
            "empty_root" => assert_eq!(empty_root(), want),
            "leaf_hash" => assert_eq!(leaf_hash(&input("input_hex")), want),
            // node_hash takes 32-byte hashes and these inputs are 4 bytes, so
            // this checks the 0x01 ‖ left ‖ right layout that node_hash uses.
            "node_hash" => {
                assert_eq!(
                    Hash::sha256(&[&[1u8][..], &input("left_hex"), &input("right_hex")].concat()),
                    want
                );
                let (left, right) = (leaf_hash(b"l"), leaf_hash(b"r"));
                assert_eq!(
                    node_hash(&left, &right),
                    Hash::sha256(&[&[1u8][..], &left.0, &right.0].concat())
                );
            }
            other => panic!("unknown hasher function {other}"),
        }
    }
}

#[test]
fn generated_proofs_equal_the_happy_paths() {
    let reference = reference_tree();
    for folder in 0..=4 {
        let (name, probe) = read_probe(
            &common::vectors_dir().join(format!("merkle/inclusion/{folder}/happy-path.json")),
        );
        let index = probe["leafIdx"].as_u64().unwrap();
        let size = probe["treeSize"].as_u64().unwrap();
        assert_eq!(
            strict_hash(&probe["leafHash"]),
            Some(reference.levels[0][index as usize]),
            "{name}"
        );
        assert_eq!(
            root(&probe["root"]),
            reference.roots[size as usize],
            "{name}"
        );
        assert_eq!(
            inclusion_proof(index, size, &reference.tree).ok(),
            proof(&probe["proof"]),
            "{name}"
        );

        let (name, probe) = read_probe(
            &common::vectors_dir().join(format!("merkle/consistency/{folder}/happy-path.json")),
        );
        let old = probe["size1"].as_u64().unwrap();
        let new = probe["size2"].as_u64().unwrap();
        assert_eq!(
            root(&probe["root1"]),
            reference.roots[old as usize],
            "{name}"
        );
        assert_eq!(
            root(&probe["root2"]),
            reference.roots[new as usize],
            "{name}"
        );
        assert_eq!(
            consistency_proof(old, new, &reference.tree).ok(),
            proof(&probe["proof"]),
            "{name}"
        );
    }
}

#[test]
fn every_proof_in_the_reference_tree_verifies_against_its_roots() {
    let reference = reference_tree();
    for new in 1..=8u64 {
        let new_root = &reference.roots[new as usize];
        for index in 0..new {
            let proof = inclusion_proof(index, new, &reference.tree).unwrap();
            assert_eq!(
                verify_inclusion(
                    &reference.levels[0][index as usize],
                    index,
                    new,
                    &proof,
                    new_root
                ),
                Ok(())
            );
        }
        for old in 1..=new {
            let proof = consistency_proof(old, new, &reference.tree).unwrap();
            let old_root = &reference.roots[old as usize];
            assert_eq!(
                verify_consistency(old, new, &proof, old_root, new_root),
                Ok(()),
                "{old} -> {new}"
            );
        }
    }
}

/// The project's own log (`testvectors/lucent/log.json`): its tree, daily
/// roots, receipt inclusion proofs and consistency proofs.
#[test]
fn lucent_log_tree_and_proofs() {
    let log = common::load("lucent/log.json");
    let entries = log["entries"].as_array().unwrap();
    let mut tree = MemoryTree::new();
    for (i, entry) in entries.iter().enumerate() {
        assert_eq!(entry["index"].as_u64(), Some(i as u64));
        let leaf = leaf_hash(entry["entry"].as_str().unwrap().as_bytes());
        assert_eq!(leaf, hex_hash(&entry["leaf_hash"]), "entry {i}");
        tree.append(leaf);
    }
    let roots: Vec<(&str, u64, Hash)> = log["roots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["day"].as_str().unwrap(),
                r["size"].as_u64().unwrap(),
                hex_hash(&r["root_hash"]),
            )
        })
        .collect();
    assert_eq!(roots.len(), 3);
    for &(day, size, root) in &roots {
        assert_eq!(root_at(size, &tree), Ok(root), "{day}");
    }
    assert_eq!(tree.root(), roots[2].2);

    for (i, entry) in entries.iter().enumerate() {
        let day = entry["receipt_root_day"].as_str().unwrap();
        let &(_, size, root) = roots.iter().find(|r| r.0 == day).unwrap();
        let want = proof(&entry["inclusion_proof"]).unwrap();
        assert_eq!(
            inclusion_proof(i as u64, size, &tree),
            Ok(want.clone()),
            "entry {i}"
        );
        assert_eq!(
            verify_inclusion(&hex_hash(&entry["leaf_hash"]), i as u64, size, &want, &root),
            Ok(())
        );
    }

    let cases = log["consistency"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    for case in cases {
        let (old, new) = (case["old"].as_u64().unwrap(), case["new"].as_u64().unwrap());
        let want = proof(&case["proof"]).unwrap();
        assert_eq!(
            consistency_proof(old, new, &tree),
            Ok(want.clone()),
            "{}",
            case["desc"]
        );
        if old > 0 {
            let root_of = |size| roots.iter().find(|r| r.1 == size).unwrap().2;
            assert_eq!(
                verify_consistency(old, new, &want, &root_of(old), &root_of(new)),
                Ok(())
            );
        }
    }
}
