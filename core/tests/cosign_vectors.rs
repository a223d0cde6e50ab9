//! Known-answer tests for making cosignatures (the witness side) and for
//! reading a witness's answer (the log side), against
//! `testvectors/note/cosignature.json`. (`note_vectors.rs` checks decoding
//! and verifying the same vectors.)

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::Verifier as _;
use sha2::{Digest, Sha256};

use lucent_core::note::{Cosignature, Note, SigningKey, VerifierKey};
use lucent_core::witness::{CosignatureResponseError, verify_cosignature_response};

use common::{array_of, str_of};

/// Seed 00 01 02 … 1f; the expected line below was computed independently
/// of this crate, with Python's `cryptography` (Ed25519 over
/// `cosignature/v1\ntime 1679315147\n` ‖ the spec example's checkpoint
/// text, key id SHA-256(name ‖ "\n" ‖ 0x04 ‖ public key)[:4]).
const SEED: [u8; 32] = {
    let mut seed = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        seed[i] = i as u8;
        i += 1;
    }
    seed
};
const EXPECTED_LINE: &str = "— witness.example.com/w1 oAWfEQAAAABkGFDLBuRDazBLVac2NE+Y+IjbjQOcXLfF9CSDZVUIoS83rE1nFZsVE8YiWV6Ngr7lV8H6bdoBQGP/l73euDMQ9k+bBQ==\n";
const EXPECTED_VERIFIER_KEY: &str =
    "witness.example.com/w1+a0059f11+BAOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4";

#[test]
fn cosigning_the_spec_example_gives_its_framing_and_the_known_answer() {
    let vectors = common::load("note/cosignature.json");
    let example = &vectors["spec_example"];
    let decoded = &example["decoded"];
    let name = str_of(example, "cosigner_name");
    let text = str_of(example, "checkpoint_text");
    let timestamp = decoded["timestamp"].as_u64().unwrap();

    let key = SigningKey::from_seed(name, &SEED).unwrap();
    let cosigner = key.cosignature_verifier_key();
    assert_eq!(cosigner.to_string(), EXPECTED_VERIFIER_KEY);
    let line = key.cosign(text, timestamp).unwrap();
    assert_eq!(line, EXPECTED_LINE);

    // The framing, checked from first principles: 76 bytes, the type 0x04
    // key id, the timestamp bytes of the spec's own example, and an Ed25519
    // signature of the spec's signed message.
    let note = Note::parse(format!("{text}\n{line}")).unwrap();
    let signature = &note.signatures[0];
    assert_eq!(signature.name, name);
    let blob = BASE64.decode(&signature.base64).unwrap();
    assert_eq!(blob.len() as u64, decoded["length"].as_u64().unwrap());
    assert_eq!(blob.len(), Cosignature::ENCODED_LEN);
    let public_key = key.verifier_key().public_key();
    let id = Sha256::new()
        .chain_update(name.as_bytes())
        .chain_update([b'\n', 0x04])
        .chain_update(public_key)
        .finalize();
    assert_eq!(blob[..4], id[..4]);
    let spec_blob = BASE64.decode(str_of(example, "signature_b64")).unwrap();
    assert_eq!(
        blob[4..12],
        spec_blob[4..12],
        "the same timestamp, framed alike"
    );
    let ed25519 = ed25519_dalek::VerifyingKey::from_bytes(&public_key).unwrap();
    let raw = ed25519_dalek::Signature::from_slice(&blob[12..]).unwrap();
    assert!(
        ed25519
            .verify(str_of(example, "signed_message").as_bytes(), &raw)
            .is_ok()
    );

    // And as a log reads it: the cosigner key verifies it, in a note too.
    let found = verify_cosignature_response(text, &line, &cosigner).unwrap();
    assert_eq!(found.cosignature().unwrap().timestamp, timestamp);
    assert!(Note::open(format!("{text}\n{line}"), &[cosigner]).is_ok());
}

#[test]
fn a_real_witness_answer_verifies_with_its_cosigner_key() {
    let vectors = common::load("note/cosignature.json");
    let cases = array_of(&vectors, "verified_vectors");
    for case in cases {
        let key = VerifierKey::parse(str_of(case, "cosigner_vkey")).unwrap();
        let text = str_of(case, "checkpoint_text");
        let line = str_of(case, "signature_line");

        let found = verify_cosignature_response(text, line, &key).unwrap();
        assert_eq!(found.to_line(), line);
        assert_eq!(
            found.cosignature().unwrap().timestamp,
            case["timestamp"].as_u64().unwrap()
        );

        // An answer with other witnesses' lines (here: the note's whole
        // signature block) gives this witness's line.
        let note = str_of(case, "signed_note");
        let block = &note[text.len() + 1..];
        assert_eq!(
            verify_cosignature_response(text, block, &key)
                .unwrap()
                .to_line(),
            line
        );

        for tampered in array_of(case, "tampered") {
            assert_eq!(
                verify_cosignature_response(str_of(tampered, "checkpoint_text"), line, &key),
                Err(CosignatureResponseError::Invalid(format!(
                    "{}+{}",
                    key.name(),
                    key.key_id()
                )))
            );
        }
        // The spec example's witness is another key: nothing of it here.
        let spec_line = str_of(&vectors["spec_example"], "signature_line");
        assert!(matches!(
            verify_cosignature_response(text, spec_line, &key),
            Err(CosignatureResponseError::Missing(_))
        ));
    }
    assert_eq!(cases.len(), 1);
}

/// The examples of the C2SP tlog-witness specification (`add-checkpoint`):
/// its request body is read as written and written back byte for byte, and
/// its response body is three signature lines of two witnesses, each a
/// 76-byte cosignature. (The spec gives no public keys: framing only.)
#[test]
fn the_tlog_witness_examples_are_read_and_written_as_the_spec_shows_them() {
    let request = "old 20852014\n\
        PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n\
        jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n\
        5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n\
        /6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n\
        \n\
        example.com/behind-the-sofa\n\
        20852163\n\
        CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\
        \n\
        — example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n\
        — example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=\n";
    let parsed = lucent_core::witness::AddCheckpoint::parse(request.as_bytes()).unwrap();
    assert_eq!(parsed.old_size, 20852014);
    assert_eq!(parsed.proof.len(), 4);
    assert_eq!(
        parsed.proof[0].to_base64(),
        "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw="
    );
    let note = Note::parse(&parsed.checkpoint).unwrap();
    assert_eq!(note.signatures.len(), 2);
    assert_eq!(parsed.to_body(), request);

    let response = "— witness.example/w1 CMp+6LWBU0anHGH5aNDTJkH/gj79sG+T6+iP2ThYN5krrDJbR1HDnucjL39QsZTSvVjyQLrdk3DXDqI5G2HgLatVs0pWh6Up69HVOw==\n\
        — witness.example/w1 I7rEps0pvK2UqkS2gSpVUDhrhVtQV9lgF6pRrWAvjJHjyWpW7VcE3SiOlVlbQNt64vWhO+DlkL0+UfzuOBMh9ChdMkP1vi/lCAsmlw==\n\
        — witness.example/w2 AWui8Sk55XjYLOijihBjhqEH6nS1ndDymE0a+6idX7pLcnoB+dhnz0854aLZgrrKbYKA7nC3HNJhm/kWl7oJlqU3rXXvpysAdyP3wQ==\n";
    let lines = lucent_core::note::Signature::parse_lines(response).unwrap();
    let names: Vec<&str> = lines.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "witness.example/w1",
            "witness.example/w1",
            "witness.example/w2"
        ]
    );
    for line in &lines {
        assert_eq!(line.bytes().unwrap().len(), Cosignature::ENCODED_LEN - 4);
        assert_eq!(line.to_line(), format!("— {} {}\n", line.name, line.base64));
    }
}
