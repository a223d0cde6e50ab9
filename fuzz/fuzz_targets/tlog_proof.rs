//! A tlog-proof (a receipt a deployment keeps and anyone may verify):
//! `TlogProof::parse` never panics, a parsed proof's text is the input, and
//! `verify_extra`, the inclusion check and the entry in `extra` never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lucent_core::checkpoint::Checkpoint;
use lucent_core::hash::leaf_hash;
use lucent_core::merkle;
use lucent_core::note::Note;
use lucent_core::record::Entry;
use lucent_core::tlog_proof::TlogProof;
use lucent_fuzz::log_key;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(proof) = TlogProof::parse(text) else {
        return;
    };
    let written = proof.to_text();
    assert_eq!(written, text);
    assert_eq!(TlogProof::parse(&written).as_ref(), Ok(&proof));

    let _ = proof.verify_extra(log_key());
    // The signature stops the fuzzer before the Merkle check; run that check
    // on the checkpoint's size and root directly.
    let note = Note::parse(&proof.checkpoint).expect("checked by parse");
    let checkpoint = Checkpoint::parse(&note.text).expect("checked by parse");
    let extra = proof.extra.as_deref().unwrap_or_default();
    let leaf = leaf_hash(extra);
    let _ = merkle::verify_inclusion(
        &leaf,
        proof.index,
        checkpoint.size,
        &proof.proof,
        &checkpoint.root,
    );
    if let Ok(root) =
        merkle::root_from_inclusion_proof(&leaf, proof.index, checkpoint.size, &proof.proof)
    {
        assert!(
            merkle::verify_inclusion(&leaf, proof.index, checkpoint.size, &proof.proof, &root)
                .is_ok()
        );
    }
    let _ = Entry::parse(extra);
});
