//! tlog-cosignature v1 (`c2sp.org/tlog-cosignature`, signature type
//! 0x04): a timestamp and an Ed25519 signature of the cosignature/v1 message.

use base64::Engine as _;

use super::{ED25519_SIGNATURE_LEN, GO_BASE64, KeyId, NoteError, Signature, VerifierKey};

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
