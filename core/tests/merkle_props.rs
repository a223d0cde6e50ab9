//! Properties of the Merkle tree and tiles over random tree sizes: every
//! proof the core makes verifies, tampering with it does not, the nodes are
//! read in one batch, and tiles built from the append callback give the same
//! roots as the compact range and the stored nodes.

use std::cell::RefCell;
use std::collections::BTreeMap;

use lucent_core::Hash;
use lucent_core::hash::leaf_hash;
use lucent_core::merkle::{
    CompactRange, MemoryTree, MissingNode, NodeId, NodeReader, VerifyError, consistency_proof,
    inclusion_proof, root_at, verify_consistency, verify_inclusion,
};
use lucent_core::tiles::{TilePath, root_from_tiles, tile_slot, tiles_for_size};
use proptest::prelude::*;

/// A tree of `size` distinct leaves, with its hash tiles as the writer would
/// fill them from `CompactRange::append`, keyed by (tile level, tile index).
struct Fixture {
    leaves: Vec<Hash>,
    tree: MemoryTree,
    range: CompactRange,
    tiles: BTreeMap<(u8, u64), Vec<Hash>>,
}

fn build(size: u64) -> Fixture {
    let leaves: Vec<Hash> = (0..size)
        .map(|i| leaf_hash(format!("entry {i}").as_bytes()))
        .collect();
    let mut range = CompactRange::new();
    let mut tiles: BTreeMap<(u8, u64), Vec<Hash>> = BTreeMap::new();
    for leaf in &leaves {
        range.append(*leaf, |id, hash| {
            if let Some(slot) = tile_slot(id) {
                let tile = tiles.entry((slot.tile_level, slot.tile_index)).or_default();
                assert_eq!(
                    tile.len(),
                    usize::from(slot.position),
                    "tile hashes arrive in order ({id:?})"
                );
                tile.push(hash);
            }
        });
    }
    let tree = MemoryTree::from_leaf_hashes(leaves.iter().copied());
    Fixture {
        leaves,
        tree,
        range,
        tiles,
    }
}

/// A reader that records each batch it is asked for.
struct CountingReader<'a> {
    tree: &'a MemoryTree,
    calls: RefCell<Vec<Vec<NodeId>>>,
}

impl NodeReader for CountingReader<'_> {
    type Error = MissingNode;
    fn read_nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, MissingNode> {
        self.calls.borrow_mut().push(ids.to_vec());
        self.tree.read_nodes(ids)
    }
}

impl CountingReader<'_> {
    /// Asserts the last operation read at most one batch, of nodes that are
    /// complete in the tree of `size` leaves (so stored nodes never change).
    fn assert_one_batch_within(&self, size: u64) {
        let calls = self.calls.take();
        assert!(calls.len() <= 1, "{} reads", calls.len());
        for id in calls.iter().flatten() {
            assert!(
                (id.index + 1) << id.level <= size,
                "{id:?} is not complete at size {size}"
            );
        }
    }
}

fn flip_bit(hash: Hash, bit: usize) -> Hash {
    let mut bytes = hash.0;
    bytes[(bit / 8) % 32] ^= 1 << (bit % 8);
    Hash(bytes)
}

fn check_inclusion(f: &Fixture, reader: &CountingReader, index: u64, size: u64) {
    let proof = inclusion_proof(index, size, reader).unwrap();
    reader.assert_one_batch_within(size);
    let root = root_at(size, &f.tree).unwrap();
    let leaf = f.leaves[index as usize];
    assert_eq!(
        verify_inclusion(&leaf, index, size, &proof, &root),
        Ok(()),
        "{index} in {size}"
    );

    for i in 0..proof.len() {
        let mut tampered = proof.clone();
        tampered[i] = flip_bit(tampered[i], i * 37 + index as usize);
        assert!(matches!(
            verify_inclusion(&leaf, index, size, &tampered, &root),
            Err(VerifyError::RootMismatch { .. })
        ));
    }
    let longer = [&proof[..], &[root]].concat();
    let length_error = |got| {
        Err(VerifyError::WrongProofLength {
            expected: proof.len(),
            got,
        })
    };
    assert_eq!(
        verify_inclusion(&leaf, index, size, &longer, &root),
        length_error(proof.len() + 1)
    );
    if let Some((_, shorter)) = proof.split_last() {
        assert_eq!(
            verify_inclusion(&leaf, index, size, shorter, &root),
            length_error(proof.len() - 1)
        );
    }
    assert!(verify_inclusion(&flip_bit(leaf, index as usize), index, size, &proof, &root).is_err());
    assert!(verify_inclusion(&leaf, index + 1, size, &proof, &root).is_err());
    if index > 0 {
        assert!(verify_inclusion(&leaf, index - 1, size, &proof, &root).is_err());
    }

    for wrong_size in [size - 1, size + 1] {
        if wrong_size == 0 || wrong_size > f.tree.size() {
            continue;
        }
        // Against the real root of the other size, the proof always fails.
        let wrong_root = root_at(wrong_size, &f.tree).unwrap();
        assert!(verify_inclusion(&leaf, index, wrong_size, &proof, &wrong_root).is_err());
        // Against this root it can pass only where the leaf's path has the
        // same shape in both trees (e.g. leaf 0 in sizes 5 and 6): the root
        // binds the size, not the proof. So then the lengths must agree.
        if verify_inclusion(&leaf, index, wrong_size, &proof, &root).is_ok() {
            assert_eq!(
                inclusion_proof(index, wrong_size, &f.tree).unwrap().len(),
                proof.len()
            );
        }
    }
}

fn check_consistency(f: &Fixture, reader: &CountingReader, old: u64, new: u64) {
    let proof = consistency_proof(old, new, reader).unwrap();
    reader.assert_one_batch_within(new);
    let old_root = root_at(old, &f.tree).unwrap();
    let new_root = root_at(new, &f.tree).unwrap();
    assert_eq!(
        verify_consistency(old, new, &proof, &old_root, &new_root),
        Ok(()),
        "{old} -> {new}"
    );

    for i in 0..proof.len() {
        let mut tampered = proof.clone();
        tampered[i] = flip_bit(tampered[i], i * 41 + old as usize);
        assert!(verify_consistency(old, new, &tampered, &old_root, &new_root).is_err());
    }
    let longer = [&proof[..], &[new_root]].concat();
    let length_error = |got| {
        Err(VerifyError::WrongProofLength {
            expected: proof.len(),
            got,
        })
    };
    assert_eq!(
        verify_consistency(old, new, &longer, &old_root, &new_root),
        length_error(proof.len() + 1)
    );
    if let Some((_, shorter)) = proof.split_last() {
        assert_eq!(
            verify_consistency(old, new, shorter, &old_root, &new_root),
            length_error(proof.len() - 1)
        );
    }
    assert!(verify_consistency(old, new, &proof, &flip_bit(old_root, 3), &new_root).is_err());
    assert!(verify_consistency(old, new, &proof, &old_root, &flip_bit(new_root, 5)).is_err());
    if old != new {
        assert!(verify_consistency(old, new, &proof, &new_root, &old_root).is_err());
    }

    for (wrong_old, wrong_new) in [
        (old - 1, new),
        (old + 1, new),
        (old, new - 1),
        (old, new + 1),
    ] {
        if wrong_old.max(wrong_new) > f.tree.size() {
            continue;
        }
        // Against the real roots of the other sizes, the proof always fails.
        let wrong_old_root = root_at(wrong_old, &f.tree).unwrap();
        let wrong_new_root = root_at(wrong_new, &f.tree).unwrap();
        assert!(
            verify_consistency(
                wrong_old,
                wrong_new,
                &proof,
                &wrong_old_root,
                &wrong_new_root
            )
            .is_err()
        );
        // Against these roots, as for inclusion, only with the same shape.
        if verify_consistency(wrong_old, wrong_new, &proof, &old_root, &new_root).is_ok() {
            assert_eq!(
                consistency_proof(wrong_old, wrong_new, &f.tree)
                    .unwrap()
                    .len(),
                proof.len()
            );
        }
    }
}

/// Checks that the tiles hold what `tiles_for_size` lists for the full tree,
/// and that every root recomputed from them (as a verifier fetching partial
/// tiles of an earlier size would) equals the stored one.
fn check_tiles(f: &Fixture, sizes: &[u64]) {
    let listed: Vec<TilePath> = tiles_for_size(f.tree.size());
    let built: Vec<TilePath> = f
        .tiles
        .iter()
        .map(|(&(level, index), hashes)| TilePath::Hash {
            level,
            index,
            width: hashes.len() as u16,
        })
        .collect();
    assert_eq!(listed, built);
    assert_eq!(f.range.root(), f.tree.root());

    for &size in sizes {
        let root = root_from_tiles(size, |path| {
            let TilePath::Hash {
                level,
                index,
                width,
            } = path
            else {
                panic!("{path} is not a hash tile")
            };
            let tile = &f.tiles[&(level, index)];
            Ok::<_, ()>(tile[..usize::from(width)].to_vec())
        });
        assert_eq!(root, Ok(root_at(size, &f.tree).unwrap()), "size {size}");
    }
}

#[test]
fn every_proof_of_small_trees() {
    let f = build(40);
    let reader = CountingReader {
        tree: &f.tree,
        calls: RefCell::default(),
    };
    for size in 1..=f.tree.size() {
        for index in 0..size {
            check_inclusion(&f, &reader, index, size);
        }
        for old in 1..=size {
            check_consistency(&f, &reader, old, size);
        }
    }
    let sizes: Vec<u64> = (0..=40).collect();
    check_tiles(&f, &sizes);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn proofs_and_tiles_of_random_trees(size in 1u64..3000, picks in prop::collection::vec(any::<u64>(), 4)) {
        // One leaf beyond `size`, so that size + 1 has a root to compare.
        let f = build(size + 1);
        let reader = CountingReader { tree: &f.tree, calls: RefCell::default() };

        assert_eq!(root_at(size, &reader).unwrap(), root_at(size, &f.tree).unwrap());
        reader.assert_one_batch_within(size);
        let mut sizes = vec![0, size, size + 1];
        for pick in &picks {
            let index = pick % size;
            check_inclusion(&f, &reader, index, size);
            check_consistency(&f, &reader, index + 1, size);
            sizes.push(index + 1);
        }
        check_inclusion(&f, &reader, size - 1, size);
        check_consistency(&f, &reader, size, size);
        check_tiles(&f, &sizes);

        let mut restored = CompactRange::load(size, &f.tree).unwrap();
        restored.append(f.leaves[size as usize], |_, _| {});
        prop_assert_eq!(restored, f.range.clone());
    }
}
