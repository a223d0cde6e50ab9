//! C2SP tlog-checkpoints (`c2sp.org/tlog-checkpoint`): the note text
//! `<origin>\n<size>\n<base64 root>\n` plus optional extension lines, and
//! lucent's policy for its own checkpoints (SPEC section 3): no extension
//! lines, signed by the Ed25519 log key whose name is the origin.

use std::fmt::Write as _;

use crate::hash::Hash;
use crate::note::{self, KeyType, Note, NoteError, SigningKey, VerifierKey};

/// A log's tree head: its origin, size and root, as a checkpoint states them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    /// Lines after the root hash, without their newlines; C2SP allows them,
    /// lucent neither writes nor accepts them in its own checkpoints.
    pub extensions: Vec<String>,
}

/// Why a checkpoint was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("malformed checkpoint: {0}")]
    Malformed(&'static str),
    #[error("lucent checkpoints have no extension lines, but this one has {0}")]
    ExtensionLines(usize),
    #[error("the checkpoint's origin is {found:?}, not {expected:?}")]
    OriginMismatch { expected: String, found: String },
    #[error("a checkpoint is signed by an Ed25519 (type 0x01) log key, not a {0:?} key")]
    WrongKeyType(KeyType),
    #[error("checkpoint note: {0}")]
    Note(#[from] NoteError),
}

impl Checkpoint {
    /// A checkpoint without extension lines.
    pub fn new(origin: impl Into<String>, size: u64, root: Hash) -> Checkpoint {
        Checkpoint {
            origin: origin.into(),
            size,
            root,
            extensions: Vec::new(),
        }
    }

    /// Parses a checkpoint note text as C2SP allows: at least three non-empty
    /// lines, each ending in a newline; a decimal size without leading zeroes
    /// (`0` for the empty tree); a base64 32-byte root; then any extension
    /// lines.
    pub fn parse(text: &str) -> Result<Checkpoint, CheckpointError> {
        let body = text.strip_suffix('\n').ok_or(CheckpointError::Malformed(
            "the text does not end in a newline",
        ))?;
        if note::has_control_character(text) {
            return Err(CheckpointError::Malformed(
                "contains a control character other than newline",
            ));
        }
        let mut lines = body.split('\n');
        let origin = lines.next().unwrap_or_default();
        if origin.is_empty() {
            return Err(CheckpointError::Malformed("the origin line is empty"));
        }
        let (Some(size), Some(root)) = (lines.next(), lines.next()) else {
            return Err(CheckpointError::Malformed("fewer than three lines"));
        };
        let size = parse_canonical_u64(size).ok_or(CheckpointError::Malformed(
            "the tree size is not a decimal number without leading zeroes",
        ))?;
        let root = Hash::from_base64(root).map_err(|_| {
            CheckpointError::Malformed("the root hash is not 32 bytes in standard base64")
        })?;
        let extensions: Vec<String> = lines.map(str::to_owned).collect();
        if extensions.iter().any(String::is_empty) {
            return Err(CheckpointError::Malformed("an extension line is empty"));
        }
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }

    /// Parses a checkpoint and applies [`Checkpoint::check_lucent_policy`].
    pub fn parse_lucent(text: &str) -> Result<Checkpoint, CheckpointError> {
        let checkpoint = Checkpoint::parse(text)?;
        checkpoint.check_lucent_policy()?;
        Ok(checkpoint)
    }

    /// lucent's own checkpoints carry no extension lines (SPEC section 3).
    pub fn check_lucent_policy(&self) -> Result<(), CheckpointError> {
        match self.extensions.len() {
            0 => Ok(()),
            n => Err(CheckpointError::ExtensionLines(n)),
        }
    }

    pub fn check_origin(&self, expected: &str) -> Result<(), CheckpointError> {
        if self.origin == expected {
            Ok(())
        } else {
            Err(CheckpointError::OriginMismatch {
                expected: expected.to_owned(),
                found: self.origin.clone(),
            })
        }
    }

    /// `<origin>\n<size>\n<base64 root>\n`, then each extension line.
    pub fn to_text(&self) -> String {
        let mut text = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            self.root.to_base64()
        );
        for line in &self.extensions {
            let _ = writeln!(text, "{line}");
        }
        text
    }

    /// Signs this checkpoint as lucent's log: it must have no extension lines
    /// and its origin must be the key's name.
    pub fn sign(&self, key: &SigningKey) -> Result<String, CheckpointError> {
        self.check_lucent_policy()?;
        self.check_origin(key.name())?;
        Ok(key.sign_note(&self.to_text())?)
    }
}

/// Opens a lucent checkpoint: a note signed by `key` (an Ed25519 log key),
/// whose text is a checkpoint without extension lines and whose origin is the
/// key's name (SPEC section 3). Other signatures, such as witness
/// cosignatures, are ignored.
pub fn open_checkpoint(signed: &str, key: &VerifierKey) -> Result<Checkpoint, CheckpointError> {
    if key.key_type() != KeyType::Ed25519 {
        return Err(CheckpointError::WrongKeyType(key.key_type()));
    }
    let opened = Note::open(signed, std::slice::from_ref(key))?;
    let checkpoint = Checkpoint::parse_lucent(&opened.text)?;
    checkpoint.check_origin(key.name())?;
    Ok(checkpoint)
}

/// An ASCII decimal with no sign and no leading zeroes (except `0` itself)
/// that fits in a u64, as tree sizes and tlog-proof indexes are written.
pub(crate) fn parse_canonical_u64(text: &str) -> Option<u64> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if canonical { text.parse().ok() } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::empty_root;

    #[test]
    fn canonical_decimals() {
        assert_eq!(parse_canonical_u64("0"), Some(0));
        assert_eq!(parse_canonical_u64("18446744073709551615"), Some(u64::MAX));
        for bad in [
            "",
            "00",
            "01",
            "+1",
            "-1",
            " 1",
            "1 ",
            "18446744073709551616",
            "1_0",
            "٣",
        ] {
            assert_eq!(parse_canonical_u64(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn sign_and_open_round_trip_and_policy() {
        let key = SigningKey::from_seed("example.com/log", &[1; 32]).unwrap();
        let checkpoint = Checkpoint::new("example.com/log", 0, empty_root());
        let signed = checkpoint.sign(&key).unwrap();
        assert_eq!(
            open_checkpoint(&signed, &key.verifier_key()),
            Ok(checkpoint.clone())
        );

        let mut with_extension = checkpoint.clone();
        with_extension.extensions.push("ext".into());
        assert_eq!(
            with_extension.sign(&key),
            Err(CheckpointError::ExtensionLines(1))
        );
        let signed_with_extension = key.sign_note(&with_extension.to_text()).unwrap();
        assert_eq!(
            open_checkpoint(&signed_with_extension, &key.verifier_key()),
            Err(CheckpointError::ExtensionLines(1))
        );

        let other_origin = Checkpoint::new("example.com/other", 0, empty_root());
        assert!(matches!(
            other_origin.sign(&key),
            Err(CheckpointError::OriginMismatch { .. })
        ));
        let signed_other = key.sign_note(&other_origin.to_text()).unwrap();
        assert!(matches!(
            open_checkpoint(&signed_other, &key.verifier_key()),
            Err(CheckpointError::OriginMismatch { .. })
        ));

        let cosigner = key.verifier_key().to_cosignature_key();
        assert_eq!(
            open_checkpoint(&signed, &cosigner),
            Err(CheckpointError::WrongKeyType(KeyType::CosignatureV1))
        );
    }
}
