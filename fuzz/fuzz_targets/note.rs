//! A signed note (checkpoint, promise or anything a witness sends):
//! `Note::parse` and `Note::open` never panic; a parsed note is written back
//! byte for byte, and re-signed it opens with the new key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lucent_core::note::{MAX_NOTE_BYTES, MAX_SIGNATURES, Note};
use lucent_fuzz::{note_keys, signer};

fuzz_target!(|data: &[u8]| {
    let opened = Note::open(data, note_keys());
    let Ok(note) = Note::parse(data) else {
        assert!(opened.is_err());
        return;
    };
    for signature in &note.signatures {
        let _ = signature.bytes();
        let _ = signature.cosignature();
    }
    // Writing the note with no new signer gives back its exact bytes.
    let written = note.sign(&[]).expect("a parsed note can be written");
    assert_eq!(written.as_bytes(), data);

    // Re-signed by a fixed key, it opens with that key.
    let resigned = note.sign(&[signer()]).expect("a parsed note can be signed");
    let replaced = note
        .signatures
        .iter()
        .any(|s| s.name == signer().name() && s.key_id == signer().key_id());
    if resigned.len() <= MAX_NOTE_BYTES && (replaced || note.signatures.len() < MAX_SIGNATURES) {
        let reopened = Note::open(&resigned, &[signer().verifier_key()])
            .expect("a note signed by a key opens with it");
        assert_eq!(reopened.text, note.text);
        assert_eq!(reopened.verified.len(), 1);
    }

    if let Ok(opened) = opened {
        assert_eq!(opened.text, note.text);
        assert!(!opened.verified.is_empty());
        let back = Note::from(opened);
        assert!(back.signatures.len() <= note.signatures.len());
    }
});
