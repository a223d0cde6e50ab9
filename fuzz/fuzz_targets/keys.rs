//! Key texts from configuration and command lines: `VerifierKey::parse` and
//! `SigningKey::parse` never panic, and a parsed key's canonical text parses
//! back to the same key. Also `KeyId::from_hex`, `Cosignature::decode` and
//! `is_valid_key_name`, which read parts of signature lines.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lucent_core::note::{Cosignature, KeyId, Note, SigningKey, VerifierKey, is_valid_key_name};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = is_valid_key_name(text);
    if let Some(id) = KeyId::from_hex(text) {
        assert!(text.eq_ignore_ascii_case(&id.to_string()));
    }
    let _ = Cosignature::decode(text);

    if let Ok(key) = VerifierKey::parse(text) {
        assert_eq!(VerifierKey::parse(&key.to_string()).as_ref(), Ok(&key));
        let cosigner = key.to_cosignature_key();
        assert_eq!(VerifierKey::parse(&cosigner.to_string()), Ok(cosigner));
        assert!(!key.verify("text\n", &[0; 64]));
    }
    if let Ok(key) = SigningKey::parse(text) {
        let again = SigningKey::parse(&key.to_private_text()).expect("canonical text parses");
        assert_eq!((again.name(), again.key_id()), (key.name(), key.key_id()));
        assert_eq!(again.verifier_key(), key.verifier_key());
        let signed = key.sign_note("text\n").expect("a valid text");
        assert!(Note::open(&signed, &[key.verifier_key()]).is_ok());
    }
});
