//! A receipt on its own: its entry, its leaf hash, its inclusion in its
//! signed checkpoint, and its offline tlog-proof.

use lucent_core::Hash;
use lucent_core::checkpoint::{Checkpoint, open_checkpoint};
use lucent_core::hash::leaf_hash;
use lucent_core::merkle::verify_inclusion;
use lucent_core::note::VerifierKey;
use lucent_core::record::Entry;
use lucent_core::tlog_proof::TlogProof;

use super::CheckError;
use crate::http::{Receipt, base64_hashes};

/// Verifies a receipt on its own: its entry is the promised record plus
/// `prev`, with the leaf hash it says, included in its signed checkpoint,
/// and its tlog-proof says the same. Returns the checkpoint.
pub(super) fn verify_receipt(
    receipt: &Receipt,
    promised_record: &str,
    key: &VerifierKey,
) -> Result<Checkpoint, CheckError> {
    let entry = Entry::parse(receipt.entry.as_bytes()).map_err(CheckError::InvalidEntry)?;
    let entry_record = entry.record.to_bytes();
    if entry_record != promised_record.as_bytes() {
        return Err(CheckError::EntryMismatch {
            promised: promised_record.to_owned(),
            found: String::from_utf8_lossy(&entry_record).into_owned(),
        });
    }
    let leaf = leaf_hash(receipt.entry.as_bytes());
    if receipt.leaf_hash != leaf.to_hex() {
        return Err(CheckError::LeafHash {
            served: receipt.leaf_hash.clone(),
            computed: leaf,
        });
    }
    let checkpoint = open_checkpoint(&receipt.checkpoint, key).map_err(CheckError::Checkpoint)?;
    let proof = base64_hashes(&receipt.inclusion_proof).map_err(CheckError::MalformedProof)?;
    verify_included(&leaf, receipt.index, &checkpoint, &proof)?;
    let tlog_proof = TlogProof::parse(&receipt.tlog_proof).map_err(CheckError::TlogProof)?;
    let (_, extra) = tlog_proof
        .verify_extra(key)
        .map_err(CheckError::TlogProof)?;
    if extra != receipt.entry.as_bytes() {
        return Err(CheckError::TlogProofDiffers("entry"));
    }
    if tlog_proof.index != receipt.index {
        return Err(CheckError::TlogProofDiffers("index"));
    }
    if tlog_proof.checkpoint != receipt.checkpoint {
        return Err(CheckError::TlogProofDiffers("checkpoint"));
    }
    Ok(checkpoint)
}

/// Verifies that entry `index` with leaf hash `leaf` is in `root`.
pub(super) fn verify_included(
    leaf: &Hash,
    index: u64,
    root: &Checkpoint,
    proof: &[Hash],
) -> Result<(), CheckError> {
    verify_inclusion(leaf, index, root.size, proof, &root.root)
        .map_err(|error| CheckError::Inclusion { index, error })
}
