//! Witnesses' signatures on a checkpoint (SPEC section 8), checked one
//! witness at a time, so that a verifier can name each witness whose
//! signature is missing or invalid, and demand a quorum of valid ones.
//!
//! The type byte of a witness's verifier key says what it signs: 0x04, a
//! C2SP tlog-cosignature (`cosignature/v1`, with a timestamp); 0x01, a plain
//! Ed25519 note signature over the checkpoint text, as older witnesses
//! return.

use std::fmt;

use crate::note::{KeyType, Note, Signature, VerifierKey};
use crate::witness::{CosignatureResponseError, verified_signature};

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
/// name and key id, as `Note::open` reads signatures.
pub fn witness_signature(note: &Note, witness: &VerifierKey) -> WitnessSignature {
    match verified_signature(&note.text, &note.signatures, witness) {
        Ok(signature) => WitnessSignature::Valid {
            signed_at: signed_at(signature, witness),
        },
        Err(CosignatureResponseError::Missing(_)) => WitnessSignature::Missing,
        Err(e) => WitnessSignature::Invalid(e.to_string()),
    }
}

/// The time a verified signature by `witness` signs: a tlog-cosignature's
/// timestamp; none for a plain note signature.
pub fn signed_at(signature: &Signature, witness: &VerifierKey) -> Option<u64> {
    match witness.key_type() {
        KeyType::Ed25519 => None,
        KeyType::CosignatureV1 => signature.cosignature().ok().map(|c| c.timestamp),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::Checkpoint;
    use crate::note::SigningKey;

    fn key(name: &str, seed: u8) -> SigningKey {
        SigningKey::from_seed(name, &[seed; 32]).unwrap()
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
            cosigner.cosign(&text, 1_700_000_000).unwrap()
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
        let note = Note::parse(format!("{signed}{}", witness.cosign(&text, 9).unwrap())).unwrap();
        assert_eq!(
            witness_signature(&note, &witness.verifier_key()),
            WitnessSignature::Missing
        );
    }

    #[test]
    fn a_cosignature_of_another_checkpoint_is_invalid() {
        let log = key("log.example", 1);
        let (text, signed) = checkpoint(&log);
        let witness = key("w.example", 2);
        let cosigner = witness.cosignature_verifier_key();
        let line = witness.cosign(&text, 9).unwrap();
        let note = Note::parse(format!("{signed}{line}")).unwrap();
        assert_eq!(
            witness_signature(&note, &cosigner),
            WitnessSignature::Valid { signed_at: Some(9) }
        );
        let other = Checkpoint::new(log.name(), 6, crate::Hash([7; 32]));
        let other_signed = other.sign(&log).unwrap();
        let note = Note::parse(format!("{other_signed}{line}")).unwrap();
        assert!(matches!(
            witness_signature(&note, &cosigner),
            WitnessSignature::Invalid(_)
        ));
    }
}
