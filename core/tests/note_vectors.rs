//! Known-answer tests for signed notes, keys and cosignatures against
//! `testvectors/note/{keys,signed_notes,cosignature}.json`.

mod common;

use lucent_core::note::{
    Cosignature, KeyId, KeyType, Note, NoteError, Signature, SigningKey, VerifierKey,
    cosignature_message, key_id,
};
use serde_json::{Value, json};

use common::{array_of, str_of};

fn key_type_text(key_type: KeyType) -> String {
    format!("{:#04x}", key_type.byte())
}

fn hex32(text: &str) -> [u8; 32] {
    hex::decode(text).unwrap().try_into().unwrap()
}

fn signature_json(signature: &Signature) -> Value {
    json!({
        "name": signature.name,
        "key_id": signature.key_id.to_string(),
        "signature_b64": signature.base64,
    })
}

fn signature_from_json(value: &Value) -> Signature {
    Signature {
        name: str_of(value, "name").to_owned(),
        key_id: KeyId::from_hex(str_of(value, "key_id")).unwrap(),
        base64: str_of(value, "signature_b64").to_owned(),
    }
}

fn verifier_keys(value: &Value) -> Vec<VerifierKey> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| VerifierKey::parse(v.as_str().unwrap()).unwrap())
        .collect()
}

#[test]
fn key_pairs_parse_format_and_match() {
    let vectors = common::load("note/keys.json");
    let pairs = array_of(&vectors, "ed25519_key_pairs");
    for pair in pairs {
        let name = str_of(pair, "name");
        let vkey_text = str_of(pair, "vkey");
        let skey_text = str_of(pair, "skey");
        let public_key = hex32(str_of(pair, "public_key_hex"));
        let seed = hex32(str_of(pair, "seed_hex"));

        let vkey = VerifierKey::parse(vkey_text).unwrap_or_else(|e| panic!("{vkey_text}: {e}"));
        assert_eq!(vkey.name(), name);
        assert_eq!(vkey.key_id().to_string(), str_of(pair, "key_id"));
        assert_eq!(vkey.key_type(), KeyType::Ed25519);
        assert_eq!(vkey.public_key(), public_key);
        assert_eq!(vkey.to_string(), vkey_text);
        assert_eq!(key_id(name, KeyType::Ed25519, &public_key), vkey.key_id());

        let skey = SigningKey::parse(skey_text).unwrap_or_else(|e| panic!("{skey_text}: {e}"));
        assert_eq!(skey.name(), name);
        assert_eq!(skey.key_id(), vkey.key_id());
        assert_eq!(skey.to_private_text(), skey_text);
        assert_eq!(skey.verifier_key(), vkey);
        assert_eq!(
            SigningKey::from_seed(name, &seed)
                .unwrap()
                .to_private_text(),
            skey_text
        );
    }
    assert_eq!(pairs.len(), 10);
}

#[test]
fn verifier_only_keys_parse_and_format() {
    let vectors = common::load("note/keys.json");
    let keys = array_of(&vectors, "verifier_keys");
    for entry in keys {
        let text = str_of(entry, "vkey");
        let vkey = VerifierKey::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        let public_key = hex32(str_of(entry, "public_key_hex"));
        assert_eq!(vkey.name(), str_of(entry, "name"));
        assert_eq!(vkey.key_id().to_string(), str_of(entry, "key_id"));
        assert_eq!(
            key_type_text(vkey.key_type()),
            str_of(entry, "signature_type")
        );
        assert_eq!(vkey.public_key(), public_key);
        assert_eq!(
            key_id(vkey.name(), vkey.key_type(), &public_key),
            vkey.key_id()
        );
        assert_eq!(vkey.to_string(), text);
    }
    assert_eq!(keys.len(), 8);
}

#[test]
fn invalid_keys_are_rejected() {
    let vectors = common::load("note/keys.json");
    let invalid_vkeys = array_of(&vectors, "invalid_verifier_keys");
    for entry in invalid_vkeys {
        let text = str_of(entry, "vkey");
        assert_eq!(str_of(entry, "expect"), "reject");
        assert!(
            VerifierKey::parse(text).is_err(),
            "accepted {text} ({})",
            str_of(entry, "reason")
        );
    }
    assert_eq!(invalid_vkeys.len(), 8);

    let invalid_skeys = array_of(&vectors, "invalid_signer_keys");
    for entry in invalid_skeys {
        let text = str_of(entry, "skey");
        assert_eq!(str_of(entry, "expect"), "reject");
        assert!(
            SigningKey::parse(text).is_err(),
            "accepted {text} ({})",
            str_of(entry, "reason")
        );
    }
    assert_eq!(invalid_skeys.len(), 1);
}

#[test]
fn every_mutation_of_a_key_is_rejected() {
    let vectors = common::load("note/keys.json");
    let rules = array_of(&vectors, "mutation_rules");
    let mut rejected = 0;
    for rule in rules {
        let base = str_of(rule, "base");
        let parse: fn(&str) -> bool = match str_of(rule, "kind") {
            "vkey" => |text| VerifierKey::parse(text).is_ok(),
            "skey" => |text| SigningKey::parse(text).is_ok(),
            kind => panic!("unknown kind {kind}"),
        };
        assert!(parse(base), "base {base} must parse");

        let bytes = base.as_bytes();
        for start in 0..bytes.len() {
            for end in start + 1..=bytes.len() {
                if (start, end) == (0, bytes.len()) {
                    continue;
                }
                let substring = &base[start..end];
                assert!(!parse(substring), "accepted substring {substring}");
                rejected += 1;
            }
        }

        let mut incremented = Vec::new();
        for i in 0..bytes.len() {
            let mut mutated = bytes.to_vec();
            mutated[i] += 1;
            let mutated = String::from_utf8(mutated).unwrap();
            assert!(!parse(&mutated), "accepted {mutated}");
            incremented.push(Value::from(mutated));
            rejected += 1;
        }
        assert_eq!(&incremented, array_of(rule, "byte_increment_cases"));
    }
    assert_eq!(rules.len(), 2);
    // 66-byte vkey and 78-byte skey: n(n+1)/2 - 1 substrings and n increments each.
    assert_eq!(rejected, (66 * 67 / 2 - 1 + 66) + (78 * 79 / 2 - 1 + 78));
}

#[test]
fn signing_reproduces_go_output() {
    let vectors = common::load("note/signed_notes.json");
    let cases = array_of(&vectors, "sign");
    for case in cases {
        let desc = str_of(case, "desc");
        let text = str_of(case, "text");
        let signers: Vec<SigningKey> = array_of(case, "skeys")
            .iter()
            .map(|s| SigningKey::parse(s.as_str().unwrap()).unwrap())
            .collect();
        let signer_refs: Vec<&SigningKey> = signers.iter().collect();

        let note = if let Some(existing) = case.get("existing_note") {
            let opened = Note::open(
                existing.as_str().unwrap(),
                &verifier_keys(&case["existing_note_vkeys"]),
            )
            .unwrap();
            Note::from(opened)
        } else {
            let signatures = case
                .get("existing_signatures")
                .map(|list| {
                    list.as_array()
                        .unwrap()
                        .iter()
                        .map(signature_from_json)
                        .collect()
                })
                .unwrap_or_default();
            Note {
                text: text.to_owned(),
                signatures,
            }
        };
        assert_eq!(note.text, text, "{desc}");
        let signed = note
            .sign(&signer_refs)
            .unwrap_or_else(|e| panic!("{desc}: {e}"));
        assert_eq!(signed, str_of(case, "signed"), "{desc}");

        // A fresh note signed by one key is what the server's fast path makes.
        if let ([only], true) = (signer_refs.as_slice(), note.signatures.is_empty()) {
            assert_eq!(
                only.sign_note(text).unwrap(),
                str_of(case, "signed"),
                "{desc}"
            );
        }
    }
    assert_eq!(cases.len(), 3);
}

#[test]
fn signing_errors_are_reported() {
    let vectors = common::load("note/signed_notes.json");
    let cases = array_of(&vectors, "sign_errors");
    for case in cases {
        let desc = str_of(case, "desc");
        assert_eq!(str_of(case, "expect"), "malformed");
        let signers: Vec<SigningKey> = array_of(case, "skeys")
            .iter()
            .map(|s| SigningKey::parse(s.as_str().unwrap()).unwrap())
            .collect();
        let signer_refs: Vec<&SigningKey> = signers.iter().collect();
        let signatures = case
            .get("existing_signatures")
            .map(|list| {
                list.as_array()
                    .unwrap()
                    .iter()
                    .map(signature_from_json)
                    .collect()
            })
            .unwrap_or_default();
        let note = Note {
            text: str_of(case, "text").to_owned(),
            signatures,
        };
        let result = note.sign(&signer_refs);
        assert!(
            matches!(
                result,
                Err(NoteError::Malformed(_) | NoteError::MalformedSignature(_))
            ),
            "{desc}: {result:?}"
        );
    }
    assert_eq!(cases.len(), 3);
}

#[test]
fn opening_matches_go_outcomes() {
    let vectors = common::load("note/signed_notes.json");
    let cases = array_of(&vectors, "open");
    let mut outcomes = std::collections::BTreeMap::<&str, usize>::new();
    for case in cases {
        let desc = str_of(case, "desc");
        let msg: Vec<u8> = match case.get("msg") {
            Some(msg) => msg.as_str().unwrap().as_bytes().to_vec(),
            None => hex::decode(str_of(case, "msg_hex")).unwrap(),
        };
        let known = verifier_keys(&case["vkeys"]);
        let expect = str_of(case, "expect");
        *outcomes.entry(expect).or_default() += 1;

        let result = Note::open(&msg, &known);
        let opened = match (expect, result) {
            ("ok", Ok(opened)) => opened,
            ("no_verified_signature", Err(NoteError::NoVerifiedSignature(opened))) => *opened,
            ("invalid_signature", Err(NoteError::InvalidSignature { .. }))
            | ("malformed", Err(NoteError::Malformed(_)))
            | ("ambiguous_key", Err(NoteError::AmbiguousKey { .. })) => continue,
            (expect, result) => panic!("{desc}: expected {expect}, got {result:?}"),
        };
        assert_eq!(opened.text, str_of(case, "text"), "{desc}");
        let verified: Vec<Value> = opened.verified.iter().map(signature_json).collect();
        let unverified: Vec<Value> = opened.unverified.iter().map(signature_json).collect();
        assert_eq!(&verified, array_of(case, "verified"), "{desc}");
        assert_eq!(&unverified, array_of(case, "unverified"), "{desc}");
    }
    assert_eq!(cases.len(), 22);
    let expected_outcomes = [
        ("ambiguous_key", 1),
        ("invalid_signature", 1),
        ("malformed", 9),
        ("no_verified_signature", 2),
        ("ok", 9),
    ];
    assert_eq!(outcomes.into_iter().collect::<Vec<_>>(), expected_outcomes);
}

#[test]
fn cosignature_spec_example_framing() {
    let vectors = common::load("note/cosignature.json");
    let example = &vectors["spec_example"];
    let checkpoint_text = str_of(example, "checkpoint_text");
    let name = str_of(example, "cosigner_name");
    let decoded = &example["decoded"];

    let note = Note::parse(str_of(example, "signed_note")).unwrap();
    assert_eq!(note.text, checkpoint_text);
    let signature = note.signatures.iter().find(|s| s.name == name).unwrap();
    assert_eq!(signature.base64, str_of(example, "signature_b64"));
    assert_eq!(
        format!("— {} {}\n", signature.name, signature.base64),
        str_of(example, "signature_line")
    );

    let cosignature = signature.cosignature().unwrap();
    assert_eq!(
        Cosignature::ENCODED_LEN as u64,
        decoded["length"].as_u64().unwrap()
    );
    assert_eq!(cosignature.key_id.to_string(), str_of(decoded, "key_id"));
    assert_eq!(
        cosignature.timestamp,
        decoded["timestamp"].as_u64().unwrap()
    );
    assert_eq!(
        hex::encode(cosignature.signature),
        str_of(decoded, "ed25519_signature_hex")
    );
    assert_eq!(
        cosignature_message(cosignature.timestamp, checkpoint_text),
        str_of(example, "signed_message")
    );
}

#[test]
fn cosignatures_verify_and_tampering_fails() {
    let vectors = common::load("note/cosignature.json");
    let cases = array_of(&vectors, "verified_vectors");
    for case in cases {
        let desc = str_of(case, "desc");
        let key = VerifierKey::parse(str_of(case, "cosigner_vkey")).unwrap();
        assert_eq!(key.key_type(), KeyType::CosignatureV1);
        assert_eq!(key.name(), str_of(case, "cosigner_name"));
        assert_eq!(key.key_id().to_string(), str_of(case, "key_id"));
        assert_eq!(key.public_key(), hex32(str_of(case, "public_key_hex")));

        let checkpoint_text = str_of(case, "checkpoint_text");
        let signed_note = str_of(case, "signed_note");
        let note = Note::parse(signed_note).unwrap();
        assert_eq!(note.text, checkpoint_text);
        let signature = note
            .signatures
            .iter()
            .find(|s| s.name == key.name() && s.key_id == key.key_id())
            .unwrap();
        assert_eq!(
            format!("— {} {}\n", signature.name, signature.base64),
            str_of(case, "signature_line")
        );
        assert_eq!(signature.base64, str_of(case, "signature_b64"));

        let cosignature = signature.cosignature().unwrap();
        assert_eq!(cosignature.timestamp, case["timestamp"].as_u64().unwrap());
        assert_eq!(
            hex::encode(cosignature.signature),
            str_of(case, "ed25519_signature_hex")
        );
        assert_eq!(
            cosignature_message(cosignature.timestamp, checkpoint_text),
            str_of(case, "signed_message")
        );
        let signature_bytes = signature.bytes().unwrap();
        assert!(key.verify(checkpoint_text, &signature_bytes), "{desc}");

        // Opening the note with the witness key alone verifies exactly its line.
        let opened = Note::open(signed_note, std::slice::from_ref(&key)).unwrap();
        assert_eq!(opened.verified, vec![signature.clone()]);
        assert_eq!(opened.unverified.len(), note.signatures.len() - 1);

        let tampered_cases = array_of(case, "tampered");
        for tampered in tampered_cases {
            assert_eq!(str_of(tampered, "expect"), "invalid_signature");
            let tampered_text = str_of(tampered, "checkpoint_text");
            assert!(
                !key.verify(tampered_text, &signature_bytes),
                "{}",
                str_of(tampered, "desc")
            );
            let tampered_note = signed_note.replacen(checkpoint_text, tampered_text, 1);
            assert!(matches!(
                Note::open(&tampered_note, std::slice::from_ref(&key)),
                Err(NoteError::InvalidSignature { .. })
            ));
        }
        assert!(!tampered_cases.is_empty());

        let others = array_of(&case["other_cosignatures_in_note"], "values");
        for other in others {
            let in_note = note
                .signatures
                .iter()
                .find(|s| s.name == str_of(other, "name"))
                .unwrap();
            assert_eq!(in_note.base64, str_of(other, "signature_b64"));
            let cosignature = in_note.cosignature().unwrap();
            assert_eq!(cosignature.key_id.to_string(), str_of(other, "key_id"));
            assert_eq!(cosignature.timestamp, other["timestamp"].as_u64().unwrap());
        }
        assert_eq!(others.len(), 4);
    }
    assert_eq!(cases.len(), 1);
}

#[test]
fn cosignature_timestamps_are_extracted() {
    let vectors = common::load("note/cosignature.json");
    let values = array_of(&vectors["timestamp_extraction"], "values");
    for value in values {
        let result = Cosignature::decode(str_of(value, "signature_b64"));
        match str_of(value, "expect") {
            "ok" => {
                let cosignature = result.unwrap();
                assert_eq!(cosignature.key_id.to_string(), str_of(value, "key_id"));
                assert_eq!(cosignature.timestamp, value["timestamp"].as_u64().unwrap());
            }
            "error" => assert!(result.is_err(), "{}", str_of(value, "reason")),
            other => panic!("unknown expectation {other}"),
        }
    }
    assert_eq!(values.len(), 3);
}

#[test]
fn cosignature_keys() {
    let vectors = common::load("note/cosignature.json");
    let keys = array_of(&vectors, "keys");
    for entry in keys {
        let key = VerifierKey::parse(str_of(entry, "vkey")).unwrap();
        assert_eq!(
            key_type_text(key.key_type()),
            str_of(entry, "signature_type")
        );
        assert_eq!(key.key_id().to_string(), str_of(entry, "key_id"));
        assert_eq!(key.public_key(), hex32(str_of(entry, "public_key_hex")));
        assert_eq!(key.to_string(), str_of(entry, "vkey"));
        let as_cosigner = key.to_cosignature_key();
        assert_eq!(as_cosigner.key_type(), KeyType::CosignatureV1);
        match entry.get("cosignature_key_id_0x04") {
            Some(id) => assert_eq!(as_cosigner.key_id().to_string(), id.as_str().unwrap()),
            None => assert_eq!(as_cosigner, key),
        }
    }
    assert_eq!(keys.len(), 2);
}
