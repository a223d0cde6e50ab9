//! lucent's signed outputs against `testvectors/lucent/log.json`: daily root
//! checkpoints, promises and receipt tlog-proofs, byte for byte, and
//! tampered tlog-proofs that must fail.

mod common;

use lucent_core::checkpoint::{Checkpoint, CheckpointError, open_checkpoint};
use lucent_core::hash::{Hash, leaf_hash};
use lucent_core::merkle::VerifyError;
use lucent_core::note::{NoteError, SigningKey, VerifierKey};
use lucent_core::promise::{Promise, open_promise};
use lucent_core::tlog_proof::{TlogProof, TlogProofError};
use serde_json::Value;

use common::{array_of, str_of};

struct Log {
    vectors: Value,
    origin: String,
    signing_key: SigningKey,
    verifier_key: VerifierKey,
}

fn load_log() -> Log {
    let vectors = common::load("lucent/log.json");
    let key = &vectors["key"];
    let origin = str_of(&vectors, "origin").to_owned();
    let signing_key = SigningKey::parse(str_of(key, "private_key")).unwrap();
    let verifier_key = VerifierKey::parse(str_of(key, "verifier_key")).unwrap();
    Log {
        origin,
        signing_key,
        verifier_key,
        vectors,
    }
}

#[test]
fn log_key_matches_its_derivation() {
    let log = load_log();
    let key = &log.vectors["key"];
    let seed = Hash::sha256(b"lucent test vector key");
    assert_eq!(seed.to_hex(), str_of(key, "seed_hex"));
    let from_seed = SigningKey::from_seed(&log.origin, &seed.0).unwrap();
    assert_eq!(from_seed.to_private_text(), str_of(key, "private_key"));
    assert_eq!(from_seed.key_id().to_string(), str_of(key, "key_id"));
    assert_eq!(
        hex::encode(from_seed.verifier_key().public_key()),
        str_of(key, "public_key_hex")
    );
    assert_eq!(log.signing_key.verifier_key(), log.verifier_key);
    assert_eq!(log.verifier_key.to_string(), str_of(key, "verifier_key"));
}

#[test]
fn daily_root_checkpoints_are_reproduced() {
    let log = load_log();
    let roots = array_of(&log.vectors, "roots");
    for root in roots {
        let day = str_of(root, "day");
        let root_hash = Hash::from_hex(str_of(root, "root_hash")).unwrap();
        assert_eq!(
            root_hash.to_base64(),
            str_of(root, "root_hash_b64"),
            "{day}"
        );
        let checkpoint = Checkpoint::new(
            log.origin.clone(),
            root["size"].as_u64().unwrap(),
            root_hash,
        );
        assert_eq!(
            checkpoint.to_text(),
            str_of(root, "checkpoint_text"),
            "{day}"
        );
        let signed = checkpoint.sign(&log.signing_key).unwrap();
        assert_eq!(signed, str_of(root, "signed_checkpoint"), "{day}");
        assert_eq!(
            open_checkpoint(&signed, &log.verifier_key),
            Ok(checkpoint),
            "{day}"
        );
    }
    assert_eq!(roots.len(), 3);
}

#[test]
fn promises_are_reproduced_and_verify() {
    let log = load_log();
    let reports = array_of(&log.vectors, "reports");
    for report in reports {
        let record_hash = Hash::from_hex(str_of(report, "record_hash")).unwrap();
        assert_eq!(
            Hash::sha256(str_of(report, "record").as_bytes()),
            record_hash
        );

        let promise = Promise::new(&log.origin, str_of(report, "day"), record_hash).unwrap();
        let promise_text = str_of(report, "promise_text");
        assert_eq!(promise.to_text(), promise_text);
        assert_eq!(Promise::parse(promise_text), Ok(promise.clone()));

        let signed = str_of(report, "promise");
        assert_eq!(promise.sign(&log.signing_key).unwrap(), signed);
        assert_eq!(open_promise(signed, &log.verifier_key), Ok(promise));
    }
    assert_eq!(reports.len(), 7);
}

/// The receipt of each entry, rebuilt from its parts.
fn receipts(log: &Log) -> Vec<(Vec<u8>, TlogProof, &str)> {
    let roots = array_of(&log.vectors, "roots");
    array_of(&log.vectors, "entries")
        .iter()
        .map(|entry| {
            let entry_bytes = str_of(entry, "entry").as_bytes().to_vec();
            assert_eq!(leaf_hash(&entry_bytes).to_hex(), str_of(entry, "leaf_hash"));
            let root_day = str_of(entry, "receipt_root_day");
            let root = roots.iter().find(|r| str_of(r, "day") == root_day).unwrap();
            let proof = TlogProof {
                extra: Some(entry_bytes.clone()),
                index: entry["index"].as_u64().unwrap(),
                proof: array_of(entry, "inclusion_proof")
                    .iter()
                    .map(|h| Hash::from_base64(h.as_str().unwrap()).unwrap())
                    .collect(),
                checkpoint: str_of(root, "signed_checkpoint").to_owned(),
            };
            (entry_bytes, proof, str_of(entry, "tlog_proof"))
        })
        .collect()
}

#[test]
fn receipt_tlog_proofs_are_reproduced_and_verify() {
    let log = load_log();
    let receipts = receipts(&log);
    for (entry, proof, expected_text) in &receipts {
        assert_eq!(proof.to_text(), *expected_text, "index {}", proof.index);
        let parsed = TlogProof::parse(expected_text).unwrap();
        assert_eq!(&parsed, proof);

        let (checkpoint, extra) = parsed.verify_extra(&log.verifier_key).unwrap();
        assert_eq!(extra, entry.as_slice());
        assert_eq!(
            checkpoint,
            open_checkpoint(&proof.checkpoint, &log.verifier_key).unwrap()
        );
        assert!(proof.index < checkpoint.size);
        assert_eq!(parsed.verify(&log.verifier_key, entry), Ok(checkpoint));
    }
    assert_eq!(receipts.len(), 7);
}

type ErrorCheck = fn(&TlogProofError) -> bool;

fn root_mismatch(error: &TlogProofError) -> bool {
    matches!(
        error,
        TlogProofError::Inclusion(VerifyError::RootMismatch { .. })
    )
}

fn any_inclusion_error(error: &TlogProofError) -> bool {
    matches!(error, TlogProofError::Inclusion(_))
}

fn wrong_proof_length(error: &TlogProofError) -> bool {
    matches!(
        error,
        TlogProofError::Inclusion(VerifyError::WrongProofLength { .. })
    )
}

fn invalid_checkpoint_signature(error: &TlogProofError) -> bool {
    matches!(
        error,
        TlogProofError::Checkpoint(CheckpointError::Note(NoteError::InvalidSignature { .. }))
    )
}

/// Variants of a receipt's tlog-proof that must not verify, each with the
/// error it must give.
fn tampered_variants(
    proof: &TlogProof,
    checkpoint: &Checkpoint,
) -> Vec<(TlogProof, &'static str, ErrorCheck)> {
    let mut variants: Vec<(TlogProof, &'static str, ErrorCheck)> = Vec::new();
    let extra_len = proof.extra.as_ref().unwrap().len();
    for position in [0, extra_len / 2, extra_len - 1] {
        let mut tampered = proof.clone();
        tampered.extra.as_mut().unwrap()[position] ^= 0x01;
        variants.push((tampered, "one byte of extra changed", root_mismatch));
    }
    for index in [proof.index + 1, proof.index ^ 1] {
        let mut tampered = proof.clone();
        tampered.index = index;
        variants.push((tampered, "another index", any_inclusion_error));
    }
    for i in 0..proof.proof.len() {
        let mut tampered = proof.clone();
        tampered.proof[i].0[31] ^= 0x80;
        variants.push((tampered, "a proof hash flipped", root_mismatch));
    }
    let mut tampered = proof.clone();
    tampered.proof.pop();
    variants.push((tampered, "a proof hash missing", wrong_proof_length));

    let mut tampered = proof.clone();
    let size_line = |size: u64| format!("\n{size}\n");
    tampered.checkpoint = proof.checkpoint.replacen(
        &size_line(checkpoint.size),
        &size_line(checkpoint.size + 1),
        1,
    );
    assert_ne!(tampered.checkpoint, proof.checkpoint);
    variants.push((
        tampered,
        "the checkpoint's size changed",
        invalid_checkpoint_signature,
    ));
    variants
}

#[test]
fn tampered_tlog_proofs_fail() {
    let log = load_log();
    let receipts = receipts(&log);
    let other_key_same_name = SigningKey::from_seed(&log.origin, &[42; 32])
        .unwrap()
        .verifier_key();
    let other_log = SigningKey::from_seed("other.example/log", &[42; 32])
        .unwrap()
        .verifier_key();
    let mut rejected = 0;
    for (_, proof, _) in &receipts {
        let checkpoint = open_checkpoint(&proof.checkpoint, &log.verifier_key).unwrap();
        for (tampered, what, is_expected) in tampered_variants(proof, &checkpoint) {
            // Each variant is still a well-formed tlog-proof text.
            let reparsed = TlogProof::parse(&tampered.to_text()).unwrap();
            let error = reparsed.verify_extra(&log.verifier_key).unwrap_err();
            assert!(
                is_expected(&error),
                "index {}: {what}: {error:?}",
                proof.index
            );
            rejected += 1;
        }
        for key in [&other_key_same_name, &other_log] {
            let error = proof.verify_extra(key).unwrap_err();
            assert!(
                matches!(
                    error,
                    TlogProofError::Checkpoint(CheckpointError::Note(
                        NoteError::NoVerifiedSignature(_)
                    ))
                ),
                "index {}: another key: {error:?}",
                proof.index
            );
            rejected += 1;
        }
    }
    // Per entry: 3 extra bytes, 2 indexes, each proof hash, a missing proof
    // hash, the checkpoint's size and 2 other keys.
    let proof_hashes: usize = receipts.iter().map(|(_, p, _)| p.proof.len()).sum();
    assert_eq!(rejected, receipts.len() * 9 + proof_hashes);
}
