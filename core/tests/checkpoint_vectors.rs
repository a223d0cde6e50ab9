//! Known-answer tests for C2SP checkpoints against
//! `testvectors/note/checkpoint.json`.

mod common;

use lucent_core::Hash;
use lucent_core::checkpoint::{Checkpoint, CheckpointError, open_checkpoint};
use lucent_core::note::{Note, NoteError, VerifierKey};
use serde_json::{Value, json};

use common::{array_of, str_of};

#[test]
fn valid_checkpoints_parse_and_format() {
    let vectors = common::load("note/checkpoint.json");
    let cases = array_of(&vectors, "valid");
    for case in cases {
        let desc = str_of(case, "desc");
        let text = str_of(case, "text");
        let checkpoint = Checkpoint::parse(text).unwrap_or_else(|e| panic!("{desc}: {e}"));
        assert_eq!(checkpoint.origin, str_of(case, "origin"), "{desc}");
        assert_eq!(
            checkpoint.size,
            case["tree_size"].as_u64().unwrap(),
            "{desc}"
        );
        assert_eq!(
            checkpoint.root.to_base64(),
            str_of(case, "root_hash_b64"),
            "{desc}"
        );
        assert_eq!(
            checkpoint.root,
            Hash::from_hex(str_of(case, "root_hash_hex")).unwrap(),
            "{desc}"
        );
        assert_eq!(
            &json!(checkpoint.extensions),
            &case["extension_lines"],
            "{desc}"
        );
        assert_eq!(checkpoint.to_text(), text, "{desc}");
        assert_eq!(Checkpoint::parse_lucent(text), Ok(checkpoint), "{desc}");
    }
    assert_eq!(cases.len(), 5);
}

#[test]
fn extension_lines_are_c2sp_but_not_lucent() {
    let vectors = common::load("note/checkpoint.json");
    let cases = array_of(&vectors, "extension_lines");
    let mut allowed = 0;
    for case in cases {
        let desc = str_of(case, "desc");
        let text = str_of(case, "text");
        if case["c2sp_valid"].as_bool().unwrap() {
            allowed += 1;
            let checkpoint = Checkpoint::parse(text).unwrap_or_else(|e| panic!("{desc}: {e}"));
            assert_eq!(
                &json!(checkpoint.extensions),
                &case["extension_lines"],
                "{desc}"
            );
            assert_eq!(checkpoint.to_text(), text, "{desc}");
            assert_eq!(
                Checkpoint::parse_lucent(text),
                Err(CheckpointError::ExtensionLines(checkpoint.extensions.len())),
                "{desc}"
            );
        } else {
            assert!(Checkpoint::parse(text).is_err(), "{desc}");
            assert!(Checkpoint::parse_lucent(text).is_err(), "{desc}");
        }
    }
    assert_eq!((cases.len(), allowed), (3, 2));
}

#[test]
fn invalid_checkpoints_are_refused() {
    let vectors = common::load("note/checkpoint.json");
    let cases = array_of(&vectors, "invalid");
    let mut origin_cases = 0;
    for case in cases {
        let desc = str_of(case, "desc");
        let text = str_of(case, "text");
        match case.get("expected_origin") {
            // Well formed, and wrong only for a verifier expecting another origin.
            Some(expected) => {
                origin_cases += 1;
                let checkpoint = Checkpoint::parse(text).unwrap_or_else(|e| panic!("{desc}: {e}"));
                assert!(
                    matches!(
                        checkpoint.check_origin(expected.as_str().unwrap()),
                        Err(CheckpointError::OriginMismatch { .. })
                    ),
                    "{desc}"
                );
            }
            None => {
                let result = Checkpoint::parse(text);
                assert!(
                    matches!(result, Err(CheckpointError::Malformed(_))),
                    "{desc}: {result:?}"
                );
            }
        }
    }
    assert_eq!((cases.len(), origin_cases), (14, 1));
}

#[test]
fn signed_checkpoints_open_with_their_keys() {
    let vectors = common::load("note/checkpoint.json");
    let cases = array_of(&vectors, "signed");
    let mut verified = 0;
    for case in cases {
        let desc = str_of(case, "desc");
        let signed = str_of(case, "signed_note");

        if let Some(text) = case.get("text") {
            let note = Note::parse(signed).unwrap();
            assert_eq!(note.text, text.as_str().unwrap(), "{desc}");
            let signatures: Vec<Value> = note
                .signatures
                .iter()
                .map(|s| json!({"name": s.name, "key_id": s.key_id.to_string(), "signature_b64": s.base64}))
                .collect();
            assert_eq!(&signatures, array_of(case, "signatures"), "{desc}");
            Checkpoint::parse(&note.text).unwrap();
        }
        if !case["verifiable"].as_bool().unwrap() {
            continue;
        }

        let key = VerifierKey::parse(str_of(case, "vkey")).unwrap();
        if case.get("expect").is_some() {
            assert_eq!(str_of(case, "expect"), "invalid_signature");
            assert!(
                matches!(
                    open_checkpoint(signed, &key),
                    Err(CheckpointError::Note(NoteError::InvalidSignature { .. }))
                ),
                "{desc}"
            );
            continue;
        }

        verified += 1;
        let opened = Note::open(signed, std::slice::from_ref(&key)).unwrap();
        let expected_signature = case
            .get("verified_signature")
            .unwrap_or(&case["signatures"][0]);
        assert_eq!(opened.verified.len(), 1, "{desc}");
        assert_eq!(
            opened.verified[0].base64,
            str_of(expected_signature, "signature_b64"),
            "{desc}"
        );
        let checkpoint = Checkpoint::parse(&opened.text).unwrap();
        match case.get("expected_origin") {
            // sum.golang.org signs with a key name other than its origin, which
            // lucent's own checkpoints may not do.
            Some(origin) => {
                assert_eq!(checkpoint.origin, origin.as_str().unwrap(), "{desc}");
                assert!(
                    matches!(
                        open_checkpoint(signed, &key),
                        Err(CheckpointError::OriginMismatch { .. })
                    ),
                    "{desc}"
                );
            }
            None => assert_eq!(open_checkpoint(signed, &key), Ok(checkpoint), "{desc}"),
        }
    }
    assert_eq!((cases.len(), verified), (4, 2));
}
