//! Inputs the cargo-fuzz targets in `fuzz/` found to crash, kept as tests so
//! that they stay fixed. Each test names the target and the minimised input.

use lucent_core::checkpoint::Checkpoint;
use lucent_core::hash::{Hash, leaf_hash, node_hash};
use lucent_core::merkle::{
    VerifyError, root_from_inclusion_proof, verify_consistency, verify_inclusion,
};
use lucent_core::note::SigningKey;
use lucent_core::tlog_proof::{TlogProof, TlogProofError};

/// fuzz target `merkle_proof`, minimised input (index 2, size
/// 0xffffffff00010000, no proof): in a tree of more than 2^63 leaves, a leaf
/// left of the middle has a 64-hash inner path, and computing the proof's
/// shape shifted a u64 right by 64 — a panic with overflow checks (debug,
/// tests), and a wrong border length without them (release).
#[test]
fn inclusion_proof_in_a_tree_of_more_than_2_pow_63_leaves() {
    let leaf = leaf_hash(b"leaf");
    let wrong_length = Err(VerifyError::WrongProofLength {
        expected: 64,
        got: 0,
    });
    assert_eq!(
        verify_inclusion(&leaf, 2, 0xffff_ffff_0001_0000, &[], &Hash::ZERO),
        wrong_length
    );
    assert_eq!(
        verify_inclusion(&leaf, 0, u64::MAX, &[], &Hash::ZERO),
        wrong_length
    );

    // The proof of leaf 0 in a tree of 2^63 + 1 leaves: 63 hashes inside
    // the left complete subtree, then the right subtree (the last leaf).
    // Every hash is a right sibling, and none lies on the border.
    let proof: Vec<Hash> = (0..64u8).map(|i| leaf_hash(&[i])).collect();
    let root = proof.iter().fold(leaf, |acc, p| node_hash(&acc, p));
    let size = (1 << 63) + 1;
    assert_eq!(root_from_inclusion_proof(&leaf, 0, size, &proof), Ok(root));
    assert_eq!(verify_inclusion(&leaf, 0, size, &proof, &root), Ok(()));
    // Leaf 5 of 2^63 + 10 leaves: its 64 hashes are all inner; bits of 5
    // put hashes 0 and 2 on the left.
    let root5 = proof.iter().enumerate().fold(leaf, |acc, (i, p)| {
        if (5u64 >> i) & 1 == 1 {
            node_hash(p, &acc)
        } else {
            node_hash(&acc, p)
        }
    });
    assert_eq!(
        verify_inclusion(&leaf, 5, (1 << 63) + 10, &proof, &root5),
        Ok(())
    );
}

/// The same shape is computed for a consistency proof (of leaf old − 1 in
/// the new tree), so a new size above 2^63 crashed it the same way.
#[test]
fn consistency_proof_to_a_tree_of_more_than_2_pow_63_leaves() {
    let root = leaf_hash(b"root");
    assert_eq!(
        verify_consistency(1, u64::MAX, &[], &root, &root),
        Err(VerifyError::WrongProofLength {
            expected: 64,
            got: 0,
        })
    );
    // From 3 leaves: leaf 2 (the old tree is not one complete subtree),
    // leaf 3, leaves 0-1, one hash per level from 8 to 2^63 leaves (61),
    // and the last leaf: 65 hashes (RFC 9162 SUBPROOF).
    assert_eq!(
        verify_consistency(3, (1 << 63) + 1, &[], &root, &root),
        Err(VerifyError::WrongProofLength {
            expected: 65,
            got: 0,
        })
    );
}

/// Where the outside input comes from: a receipt (tlog-proof) whose signed
/// checkpoint states a size above 2^63. Verifying it must refuse the proof,
/// not panic.
#[test]
fn tlog_proof_against_a_checkpoint_of_u64_max_leaves() {
    let key = SigningKey::from_seed("example.com/log", &[5; 32]).unwrap();
    let checkpoint = Checkpoint::new("example.com/log", u64::MAX, leaf_hash(b"root"))
        .sign(&key)
        .unwrap();
    let proof = TlogProof {
        extra: Some(b"entry".to_vec()),
        index: 0,
        proof: Vec::new(),
        checkpoint,
    };
    let proof = TlogProof::parse(&proof.to_text()).unwrap();
    assert_eq!(
        proof.verify_extra(&key.verifier_key()),
        Err(TlogProofError::Inclusion(VerifyError::WrongProofLength {
            expected: 64,
            got: 0,
        }))
    );
}
