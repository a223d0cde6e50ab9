//! A promise (the signed note a deployment gets back for each report):
//! `Promise::parse` and `open_promise` never panic, and a parsed promise is
//! written back byte for byte and opens once signed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lucent_core::note::{MAX_NOTE_BYTES, SigningKey};
use lucent_core::promise::{Promise, open_promise};
use lucent_fuzz::{SEED, log_key};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = open_promise(text, log_key());
    let Ok(promise) = Promise::parse(text) else {
        return;
    };
    assert_eq!(promise.to_text(), text);
    assert_eq!(Promise::parse(&promise.to_text()).as_ref(), Ok(&promise));
    if let Ok(key) = SigningKey::from_seed(&promise.origin, &SEED) {
        let signed = promise.sign(&key).expect("origin and key name agree");
        if signed.len() <= MAX_NOTE_BYTES {
            assert_eq!(open_promise(&signed, &key.verifier_key()), Ok(promise));
        }
    }
});
