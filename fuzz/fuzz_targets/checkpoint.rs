//! A checkpoint (from a log, a witness or a tlog-proof):
//! `Checkpoint::parse` never panics, the text of a parsed checkpoint is the
//! input and parses to the same value, and `open_checkpoint` never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lucent_core::checkpoint::{Checkpoint, open_checkpoint};
use lucent_core::note::{MAX_NOTE_BYTES, SigningKey};
use lucent_fuzz::{SEED, log_key};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = open_checkpoint(text, log_key());
    let _ = Checkpoint::parse_lucent(text);
    let Ok(checkpoint) = Checkpoint::parse(text) else {
        return;
    };
    let written = checkpoint.to_text();
    assert_eq!(written, text);
    assert_eq!(Checkpoint::parse(&written).as_ref(), Ok(&checkpoint));

    // A checkpoint lucent could sign opens with the key that signed it.
    if checkpoint.extensions.is_empty()
        && let Ok(key) = SigningKey::from_seed(&checkpoint.origin, &SEED)
    {
        let signed = checkpoint.sign(&key).expect("origin and key name agree");
        if signed.len() <= MAX_NOTE_BYTES {
            assert_eq!(
                open_checkpoint(&signed, &key.verifier_key()),
                Ok(checkpoint)
            );
        }
    }
});
