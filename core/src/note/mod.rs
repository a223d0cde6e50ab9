//! C2SP signed notes (`c2sp.org/signed-note`), with the key text forms of Go's
//! `golang.org/x/mod/sumdb/note`, and Ed25519 witness cosignatures
//! (`c2sp.org/tlog-cosignature`, signature type 0x04).
//!
//! Parsing, opening and signing follow golang/mod `note.Open` and `note.Sign`,
//! as encoded in `testvectors/note/`, with three deliberate differences: a
//! whole note is checked for layout before any signature is verified (so a
//! malformed line is reported even after a bad signature); key names may not
//! contain ASCII control characters (no such name can appear in a valid note);
//! and a verifier key's public key must be a valid Ed25519 point.
//!
//! The parts: `key_id` names keys (type, id, name rules), `keys` holds the
//! verifier and signing keys and their text forms, `signed` reads, opens
//! and writes signed notes, `cosignature` is the tlog-cosignature format.

mod cosignature;
mod key_id;
mod keys;
mod signed;

pub use cosignature::{Cosignature, cosignature_message};
pub use key_id::{KeyId, KeyType, is_valid_key_name, key_id};
pub use keys::{KeyError, SigningKey, VerifierKey};
pub(crate) use signed::has_control_character;
pub use signed::{MAX_NOTE_BYTES, MAX_SIGNATURES, Note, NoteError, OpenedNote, Signature};

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};

/// Go's `base64.StdEncoding` ignores non-zero trailing bits when decoding;
/// signatures and keys are decoded the same way, so that `open` accepts exactly
/// the notes Go accepts. Signature text is kept as written, never re-encoded.
const GO_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
);

/// The `— ` that opens every signature line.
const SIGNATURE_LINE_PREFIX: &str = "— ";
/// An Ed25519 signature, in bytes.
const ED25519_SIGNATURE_LEN: usize = 64;

/// Peter Neumann's key from golang/mod's note tests, for the tests of every
/// part.
#[cfg(test)]
fn peter() -> SigningKey {
    SigningKey::parse(
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
    )
    .unwrap()
}
