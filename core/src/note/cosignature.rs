//! tlog-cosignature v1 (`c2sp.org/tlog-cosignature`, signature type
//! 0x04): a timestamp and an Ed25519 signature of the cosignature/v1 message.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::{
    ED25519_SIGNATURE_LEN, GO_BASE64, KeyId, NoteError, SIGNATURE_LINE_PREFIX, Signature,
    SigningKey, VerifierKey, has_control_character,
};

/// A cosignature's timestamp: big-endian POSIX seconds.
const TIMESTAMP_LEN: usize = 8;
/// The latest timestamp a cosignature may carry: 2^63 - 1, Go's largest
/// `int64`.
const MAX_TIMESTAMP: u64 = i64::MAX as u64;

/// A tlog-cosignature v1 signature: key id ‖ 8-byte big-endian timestamp ‖
/// 64-byte Ed25519 signature of [`cosignature_message`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cosignature {
    pub key_id: KeyId,
    /// POSIX seconds, at most 2^63 - 1.
    pub timestamp: u64,
    pub signature: [u8; ED25519_SIGNATURE_LEN],
}

impl Cosignature {
    pub const ENCODED_LEN: usize = 4 + TIMESTAMP_LEN + ED25519_SIGNATURE_LEN;

    /// Decodes the base64 of a cosignature line.
    pub fn decode(base64: &str) -> Result<Cosignature, NoteError> {
        let blob = GO_BASE64
            .decode(base64)
            .map_err(|_| NoteError::MalformedSignature("not standard base64"))?;
        let blob: &[u8; Cosignature::ENCODED_LEN] = blob
            .as_slice()
            .try_into()
            .map_err(|_| NoteError::MalformedSignature("a cosignature is 76 bytes"))?;
        let (id, rest) = blob.split_first_chunk::<4>().expect("76 > 4");
        let (timestamp, signature) = rest.split_first_chunk::<TIMESTAMP_LEN>().expect("72 > 8");
        let timestamp = u64::from_be_bytes(*timestamp);
        if timestamp > MAX_TIMESTAMP {
            return Err(NoteError::MalformedSignature(
                "a cosignature timestamp is at most 2^63 - 1",
            ));
        }
        Ok(Cosignature {
            key_id: KeyId(u32::from_be_bytes(*id)),
            timestamp,
            signature: signature.try_into().expect("64 bytes remain"),
        })
    }

    /// base64(key id ‖ timestamp ‖ signature), as written after the name in
    /// a signature line.
    pub fn to_base64(&self) -> String {
        let mut blob = [0u8; Cosignature::ENCODED_LEN];
        blob[..4].copy_from_slice(&self.key_id.to_bytes());
        blob[4..4 + TIMESTAMP_LEN].copy_from_slice(&self.timestamp.to_be_bytes());
        blob[4 + TIMESTAMP_LEN..].copy_from_slice(&self.signature);
        BASE64.encode(blob)
    }
}

impl SigningKey {
    /// This key as a tlog-cosignature v1 cosigner: the same name and public
    /// key, signature type 0x04 (and so another key id). This is the
    /// witness's verifier key, the one logs and verifiers are given.
    pub fn cosignature_verifier_key(&self) -> VerifierKey {
        self.verifier_key().to_cosignature_key()
    }

    /// Cosigns a checkpoint as a C2SP tlog-cosignature v1 (type 0x04): signs
    /// `cosignature/v1\ntime <timestamp>\n<checkpoint_text>` and returns the
    /// signature line `— <name> <base64(key id ‖ u64 BE timestamp ‖
    /// signature)>\n`, which is what a witness answers to `add-checkpoint`
    /// and what a log appends to its checkpoint note.
    ///
    /// `checkpoint_text` is the whole note text (extension lines included,
    /// signatures excluded), ending in a newline. `timestamp` is in POSIX
    /// seconds, from 1 (tlog-witness forbids omitting it as 0) to 2^63 - 1.
    pub fn cosign(&self, checkpoint_text: &str, timestamp: u64) -> Result<String, NoteError> {
        if !checkpoint_text.ends_with('\n') {
            return Err(NoteError::Malformed("the text does not end in a newline"));
        }
        if has_control_character(checkpoint_text) {
            return Err(NoteError::Malformed(
                "contains a control character other than newline",
            ));
        }
        if timestamp == 0 || timestamp > MAX_TIMESTAMP {
            return Err(NoteError::MalformedSignature(
                "a cosignature's timestamp is from 1 to 2^63 - 1",
            ));
        }
        let cosignature = Cosignature {
            key_id: self.cosignature_verifier_key().key_id(),
            timestamp,
            signature: self.sign_bytes(cosignature_message(timestamp, checkpoint_text).as_bytes()),
        };
        let base64 = cosignature.to_base64();
        let mut line = String::with_capacity(
            SIGNATURE_LINE_PREFIX.len() + self.name().len() + base64.len() + 2,
        );
        line.push_str(SIGNATURE_LINE_PREFIX);
        line.push_str(self.name());
        line.push(' ');
        line.push_str(&base64);
        line.push('\n');
        Ok(line)
    }
}

/// The message a tlog-cosignature v1 signs: `cosignature/v1\ntime <timestamp>\n`
/// followed by the whole checkpoint text.
pub fn cosignature_message(timestamp: u64, checkpoint_text: &str) -> String {
    format!("cosignature/v1\ntime {timestamp}\n{checkpoint_text}")
}

impl Signature {
    /// Reads this signature as a tlog-cosignature v1 (type 0x04) cosignature.
    pub fn cosignature(&self) -> Result<Cosignature, NoteError> {
        let cosignature = Cosignature::decode(&self.base64)?;
        if cosignature.key_id != self.key_id {
            return Err(NoteError::MalformedSignature(
                "its first four bytes are not its key id",
            ));
        }
        Ok(cosignature)
    }
}

impl VerifierKey {
    /// Whether `signature` (the bytes after the key id) is this key's
    /// cosignature of `checkpoint_text`: an 8-byte big-endian timestamp and
    /// an Ed25519 signature of the cosignature/v1 message.
    pub(super) fn verify_cosignature(&self, checkpoint_text: &str, signature: &[u8]) -> bool {
        let Some((timestamp, signature)) = signature.split_first_chunk::<TIMESTAMP_LEN>() else {
            return false;
        };
        let timestamp = u64::from_be_bytes(*timestamp);
        timestamp <= MAX_TIMESTAMP
            && self.verify_ed25519(
                cosignature_message(timestamp, checkpoint_text).as_bytes(),
                signature,
            )
    }
}

#[cfg(test)]
mod tests {
    use crate::note::{KeyType, Note, NoteError, peter};

    const TEXT: &str = "example.com/log\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";

    #[test]
    fn a_cosignature_opens_with_the_type_4_key_only() {
        let key = peter();
        let line = key.cosign(TEXT, 1_700_000_000).unwrap();
        let cosigner = key.cosignature_verifier_key();
        assert_eq!(cosigner.key_type(), KeyType::CosignatureV1);
        assert_eq!(cosigner.public_key(), key.verifier_key().public_key());
        assert_ne!(cosigner.key_id(), key.key_id());
        assert!(line.starts_with("— PeterNeumann "));
        assert!(line.ends_with('\n'));

        let note = format!("{TEXT}\n{line}");
        let opened = Note::open(&note, std::slice::from_ref(&cosigner)).unwrap();
        let cosignature = opened.verified[0].cosignature().unwrap();
        assert_eq!(cosignature.key_id, cosigner.key_id());
        assert_eq!(cosignature.timestamp, 1_700_000_000);
        assert_eq!(
            opened.verified[0].base64,
            cosignature.to_base64(),
            "decoding and encoding round-trip"
        );
        // The plain key has another id: the cosignature is not its.
        assert!(matches!(
            Note::open(&note, &[key.verifier_key()]),
            Err(NoteError::NoVerifiedSignature(_))
        ));
        // Another time is another message.
        let later = key.cosign(TEXT, 1_700_000_001).unwrap();
        assert_ne!(later, line);
    }

    #[test]
    fn cosigning_refuses_what_cannot_be_verified() {
        let key = peter();
        for timestamp in [0, 1 << 63, u64::MAX] {
            assert!(matches!(
                key.cosign(TEXT, timestamp),
                Err(NoteError::MalformedSignature(_))
            ));
        }
        assert!(key.cosign(TEXT, 1).is_ok());
        assert!(key.cosign(TEXT, (1 << 63) - 1).is_ok());
        for text in ["", "no newline", "tab\there\n"] {
            assert!(matches!(key.cosign(text, 1), Err(NoteError::Malformed(_))));
        }
    }
}
