//! Witnesses' signatures on a checkpoint (SPEC section 8), checked one
//! witness at a time, so that a verifier can name each witness whose
//! signature is missing or invalid, and demand a quorum of valid ones.
//!
//! The type byte of a witness's verifier key says what it signs: 0x04, a
//! C2SP tlog-cosignature (`cosignature/v1`, with a timestamp); 0x01, a plain
//! Ed25519 note signature over the checkpoint text, as older witnesses
//! return.

use std::fmt;

use crate::note::{KeyType, Note, NoteError, VerifierKey};

/// What a checkpoint note carries for one witness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WitnessSignature {
    /// A signature by the witness's key that verifies; `signed_at` is the
    /// time a tlog-cosignature signs (POSIX seconds), `None` for a plain
    /// note signature.
    Valid { signed_at: Option<u64> },
    /// No signature line with the witness's name and key id.
    Missing,
    /// A line with the witness's name and key id that does not verify.
    Invalid(String),
}

/// The witness's signature on `note`: its first line with the witness's
/// name and key id, as `note.open` reads signatures.
pub fn witness_signature(note: &Note, witness: &VerifierKey) -> WitnessSignature {
    let Some(line) = note
        .signatures
        .iter()
        .find(|s| s.name == witness.name() && s.key_id == witness.key_id())
    else {
        return WitnessSignature::Missing;
    };
    let verified = line.bytes().map(|bytes| witness.verify(&note.text, &bytes));
    match verified {
        Ok(true) => {}
        Ok(false) => return WitnessSignature::Invalid("the signature does not verify".into()),
        Err(e) => return WitnessSignature::Invalid(e.to_string()),
    }
    match witness.key_type() {
        KeyType::Ed25519 => WitnessSignature::Valid { signed_at: None },
        KeyType::CosignatureV1 => match line.cosignature() {
            Ok(cosignature) => WitnessSignature::Valid {
                signed_at: Some(cosignature.timestamp),
            },
            Err(e) => WitnessSignature::Invalid(e.to_string()),
        },
    }
}

/// Fewer valid witness signatures than the quorum asks for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct QuorumError {
    pub quorum: usize,
    pub valid: usize,
    /// Each witness without a valid signature (`name+keyid`), and why.
    pub failed: Vec<(String, WitnessSignature)>,
}

impl fmt::Display for QuorumError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} of the {} witness signatures required are valid",
            self.valid, self.quorum
        )?;
        for (witness, why) in &self.failed {
            match why {
                WitnessSignature::Missing => write!(f, "; {witness}: missing")?,
                WitnessSignature::Invalid(reason) => write!(f, "; {witness}: invalid ({reason})")?,
                WitnessSignature::Valid { .. } => {}
            }
        }
        Ok(())
    }
}

/// Checks that at least `quorum` of `witnesses` signed `note`; returns how
/// many did.
pub fn check_quorum(
    note: &Note,
    witnesses: &[VerifierKey],
    quorum: usize,
) -> Result<usize, QuorumError> {
    let mut valid = 0;
    let mut failed = Vec::new();
    for witness in witnesses {
        match witness_signature(note, witness) {
            WitnessSignature::Valid { .. } => valid += 1,
            other => failed.push((format!("{}+{}", witness.name(), witness.key_id()), other)),
        }
    }
    if valid < quorum {
        return Err(QuorumError {
            quorum,
            valid,
            failed,
        });
    }
    Ok(valid)
}

/// Reads a witness's answer to add-checkpoint (one or more signature
/// lines) as signatures of `checkpoint_text`, and returns the witness's
/// line and what it says; an answer without a line by the witness is
/// [`WitnessSignature::Missing`].
pub fn read_witness_answer(
    checkpoint_text: &str,
    answer: &str,
    witness: &VerifierKey,
) -> Result<(String, WitnessSignature), NoteError> {
    let note = Note::parse(format!("{checkpoint_text}\n{answer}"))?;
    let line = note
        .signatures
        .iter()
        .find(|s| s.name == witness.name() && s.key_id == witness.key_id())
        .map(|s| format!("— {} {}", s.name, s.base64))
        .unwrap_or_default();
    Ok((line, witness_signature(&note, witness)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::Checkpoint;
    use crate::note::{Cosignature, SigningKey, cosignature_message};
    use base64::Engine as _;

    fn key(name: &str, seed: u8) -> SigningKey {
        SigningKey::from_seed(name, &[seed; 32]).unwrap()
    }

    /// A cosignature/v1 line by `witness` at `timestamp`, made here from
    /// the format (the witness side has its own signer).
    fn cosignature_line(witness: &SigningKey, text: &str, timestamp: u64) -> String {
        let cosigner = witness.verifier_key().to_cosignature_key();
        let message = cosignature_message(timestamp, text);
        let plain = witness.sign_note(&message).unwrap();
        let signature = Note::parse(&plain).unwrap().signatures[0].bytes().unwrap();
        let mut blob = cosigner.key_id().0.to_be_bytes().to_vec();
        blob.extend(timestamp.to_be_bytes());
        blob.extend(signature);
        assert_eq!(blob.len(), Cosignature::ENCODED_LEN);
        let encoded = base64::engine::general_purpose::STANDARD.encode(blob);
        format!("— {} {encoded}\n", cosigner.name())
    }

    fn checkpoint(log: &SigningKey) -> (String, String) {
        let checkpoint = Checkpoint::new(log.name(), 5, crate::Hash([7; 32]));
        (checkpoint.to_text(), checkpoint.sign(log).unwrap())
    }

    #[test]
    fn both_key_types_are_checked_and_named() {
        let log = key("log.example", 1);
        let (text, signed) = checkpoint(&log);
        let plain = key("plain.example", 2);
        let cosigner = key("cosigner.example", 3);
        let absent = key("absent.example", 4);
        let plain_line = Note::parse(plain.sign_note(&text).unwrap())
            .unwrap()
            .signatures[0]
            .clone();
        let note = format!(
            "{signed}— {} {}\n{}",
            plain_line.name,
            plain_line.base64,
            cosignature_line(&cosigner, &text, 1_700_000_000)
        );
        let note = Note::parse(note).unwrap();
        let witnesses = [
            plain.verifier_key(),
            cosigner.verifier_key().to_cosignature_key(),
            absent.verifier_key(),
        ];
        assert_eq!(
            witness_signature(&note, &witnesses[0]),
            WitnessSignature::Valid { signed_at: None }
        );
        assert_eq!(
            witness_signature(&note, &witnesses[1]),
            WitnessSignature::Valid {
                signed_at: Some(1_700_000_000)
            }
        );
        assert_eq!(check_quorum(&note, &witnesses, 2), Ok(2));
        let error = check_quorum(&note, &witnesses, 3).unwrap_err();
        assert_eq!(error.valid, 2);
        assert_eq!(error.failed.len(), 1);
        assert!(error.to_string().contains("absent.example+"), "{error}");
        assert!(error.to_string().ends_with(": missing"), "{error}");
    }

    #[test]
    fn a_cosignature_is_not_a_plain_signature() {
        // The same Ed25519 key as type 0x01 expects a signature of the
        // checkpoint text, not of the cosignature/v1 message: the key ids
        // differ, so the line is not even found.
        let log = key("log.example", 1);
        let (text, signed) = checkpoint(&log);
        let witness = key("w.example", 2);
        let note =
            Note::parse(format!("{signed}{}", cosignature_line(&witness, &text, 9))).unwrap();
        assert_eq!(
            witness_signature(&note, &witness.verifier_key()),
            WitnessSignature::Missing
        );
    }

    #[test]
    fn a_cosignature_of_another_checkpoint_is_invalid() {
        let log = key("log.example", 1);
        let (text, _) = checkpoint(&log);
        let witness = key("w.example", 2);
        let line = cosignature_line(&witness, &text, 9);
        let other = Checkpoint::new(log.name(), 6, crate::Hash([7; 32])).to_text();
        let cosigner = witness.verifier_key().to_cosignature_key();
        let (found, signature) = read_witness_answer(&other, &line, &cosigner).unwrap();
        assert_eq!(found, line.trim_end());
        assert!(
            matches!(signature, WitnessSignature::Invalid(_)),
            "{signature:?}"
        );
        let (_, signature) = read_witness_answer(&text, &line, &cosigner).unwrap();
        assert_eq!(signature, WitnessSignature::Valid { signed_at: Some(9) });
    }
}
