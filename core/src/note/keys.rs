//! Verifier and signing keys, and their text forms (those of Go's
//! `golang.org/x/mod/sumdb/note`).

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::rand_core::CryptoRng;
use ed25519_dalek::{Signer as _, Verifier as _};

use super::signed::write_signed_note;
use super::{
    ED25519_SIGNATURE_LEN, GO_BASE64, KeyId, KeyType, NoteError, SIGNATURE_LINE_PREFIX,
    is_valid_key_name, key_id,
};

const PRIVATE_KEY_PREFIX: &str = "PRIVATE+KEY+";

/// Why a verifier or private key text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("malformed key: {0}")]
    Malformed(&'static str),
    #[error(
        "invalid key name {0:?}: a key name is non-empty, with no spaces, no '+' and no control characters"
    )]
    InvalidName(String),
    #[error("unsupported signature type {0:#04x}")]
    UnsupportedType(u8),
    #[error("key id {stated} does not match the key, whose id is {computed}")]
    KeyIdMismatch { stated: KeyId, computed: KeyId },
    #[error("the public key is not a valid Ed25519 point")]
    InvalidPublicKey,
}

/// A public key that verifies note signatures:
/// `<name>+<hex key id>+<base64(type ‖ public key)>`.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    key_id: KeyId,
    key_type: KeyType,
    public_key: ed25519_dalek::VerifyingKey,
}

impl VerifierKey {
    pub fn new(
        name: &str,
        key_type: KeyType,
        public_key: &[u8; 32],
    ) -> Result<VerifierKey, KeyError> {
        check_key_name(name)?;
        let verifying_key = ed25519_dalek::VerifyingKey::from_bytes(public_key)
            .map_err(|_| KeyError::InvalidPublicKey)?;
        Ok(VerifierKey {
            name: name.to_owned(),
            key_id: key_id(name, key_type, public_key),
            key_type,
            public_key: verifying_key,
        })
    }

    pub fn parse(text: &str) -> Result<VerifierKey, KeyError> {
        let make = |name: &str, type_byte, public_key: &[u8]| {
            let key_type =
                KeyType::from_byte(type_byte).ok_or(KeyError::UnsupportedType(type_byte))?;
            let public_key: &[u8; 32] = public_key
                .try_into()
                .map_err(|_| KeyError::Malformed("an Ed25519 public key is 32 bytes"))?;
            VerifierKey::new(name, key_type, public_key)
        };
        parse_key_text(text, make, VerifierKey::key_id)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    pub fn public_key(&self) -> [u8; 32] {
        self.public_key.to_bytes()
    }

    /// The same public key as a tlog-cosignature v1 (type 0x04) key, whose key
    /// id is computed with the type byte 0x04.
    pub fn to_cosignature_key(&self) -> VerifierKey {
        VerifierKey {
            key_id: key_id(
                &self.name,
                KeyType::CosignatureV1,
                self.public_key.as_bytes(),
            ),
            key_type: KeyType::CosignatureV1,
            ..self.clone()
        }
    }

    /// Whether `signature` (the bytes after the 4-byte key id) is this key's
    /// signature of the note text. A type 0x04 key checks a cosignature: an
    /// 8-byte big-endian timestamp and an Ed25519 signature of the
    /// cosignature/v1 message.
    pub fn verify(&self, text: &str, signature: &[u8]) -> bool {
        match self.key_type {
            KeyType::Ed25519 => self.verify_ed25519(text.as_bytes(), signature),
            KeyType::CosignatureV1 => self.verify_cosignature(text, signature),
        }
    }

    pub(super) fn verify_ed25519(&self, message: &[u8], signature: &[u8]) -> bool {
        ed25519_dalek::Signature::from_slice(signature)
            .is_ok_and(|signature| self.public_key.verify(message, &signature).is_ok())
    }
}

impl FromStr for VerifierKey {
    type Err = KeyError;

    fn from_str(text: &str) -> Result<VerifierKey, KeyError> {
        VerifierKey::parse(text)
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut blob = [0u8; 33];
        blob[0] = self.key_type.byte();
        blob[1..].copy_from_slice(self.public_key.as_bytes());
        write!(f, "{}+{}+{}", self.name, self.key_id, BASE64.encode(blob))
    }
}

impl fmt::Debug for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifierKey({self})")
    }
}

/// Reads `<name>+<hex key id>+<base64(type ‖ key)>`, the shape both key
/// text forms share: checks the name and the id's form, makes the key from
/// its name, type byte and key bytes with `make`, and refuses it if the id
/// the text states is not the one its key gives.
fn parse_key_text<K>(
    text: &str,
    make: impl FnOnce(&str, u8, &[u8]) -> Result<K, KeyError>,
    key_id_of: impl FnOnce(&K) -> KeyId,
) -> Result<K, KeyError> {
    let (name, rest) = text
        .split_once('+')
        .ok_or(KeyError::Malformed("expected <name>+<key id>+<key>"))?;
    let (id_hex, key_b64) = rest
        .split_once('+')
        .ok_or(KeyError::Malformed("expected <name>+<key id>+<key>"))?;
    check_key_name(name)?;
    let stated =
        KeyId::from_hex(id_hex).ok_or(KeyError::Malformed("the key id is not 8 hex digits"))?;
    let blob = GO_BASE64
        .decode(key_b64)
        .map_err(|_| KeyError::Malformed("the key is not standard base64"))?;
    let (&type_byte, key_bytes) = blob
        .split_first()
        .ok_or(KeyError::Malformed("the key is empty"))?;
    let key = make(name, type_byte, key_bytes)?;
    let computed = key_id_of(&key);
    if stated != computed {
        return Err(KeyError::KeyIdMismatch { stated, computed });
    }
    Ok(key)
}

/// An Ed25519 note signing key:
/// `PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 ‖ seed)>`.
///
/// Its `Display` is that secret text; its `Debug` shows only the name and id.
#[derive(Clone)]
pub struct SigningKey {
    name: String,
    key_id: KeyId,
    key: ed25519_dalek::SigningKey,
}

impl SigningKey {
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<SigningKey, KeyError> {
        check_key_name(name)?;
        let key = ed25519_dalek::SigningKey::from_bytes(seed);
        Ok(SigningKey {
            name: name.to_owned(),
            key_id: key_id(name, KeyType::Ed25519, key.verifying_key().as_bytes()),
            key,
        })
    }

    pub fn generate<R: CryptoRng + ?Sized>(
        name: &str,
        rng: &mut R,
    ) -> Result<SigningKey, KeyError> {
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        SigningKey::from_seed(name, &seed)
    }

    pub fn parse(text: &str) -> Result<SigningKey, KeyError> {
        let rest = text
            .strip_prefix(PRIVATE_KEY_PREFIX)
            .ok_or(KeyError::Malformed(
                "a private key starts with PRIVATE+KEY+",
            ))?;
        let make = |name: &str, type_byte, seed: &[u8]| {
            if type_byte != KeyType::Ed25519.byte() {
                return Err(KeyError::UnsupportedType(type_byte));
            }
            let seed: &[u8; 32] = seed
                .try_into()
                .map_err(|_| KeyError::Malformed("an Ed25519 private key is a 32-byte seed"))?;
            SigningKey::from_seed(name, seed)
        };
        parse_key_text(rest, make, SigningKey::key_id)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    pub fn verifier_key(&self) -> VerifierKey {
        VerifierKey {
            name: self.name.clone(),
            key_id: self.key_id,
            key_type: KeyType::Ed25519,
            public_key: self.key.verifying_key(),
        }
    }

    /// Signs `text` (which must end in a newline) and returns the whole signed
    /// note: the text, a blank line and this key's signature line.
    pub fn sign_note(&self, text: &str) -> Result<String, NoteError> {
        write_signed_note(text, &[], &[self])
    }

    /// The Ed25519 signature of `message`.
    pub(super) fn sign_bytes(&self, message: &[u8]) -> [u8; ED25519_SIGNATURE_LEN] {
        self.key.sign(message).to_bytes()
    }

    /// Appends `— <name> <base64(key id ‖ signature of text)>\n`.
    pub(super) fn write_signature_line(&self, text: &str, out: &mut String) {
        let mut blob = [0u8; 4 + ED25519_SIGNATURE_LEN];
        blob[..4].copy_from_slice(&self.key_id.to_bytes());
        blob[4..].copy_from_slice(&self.sign_bytes(text.as_bytes()));
        out.push_str(SIGNATURE_LINE_PREFIX);
        out.push_str(&self.name);
        out.push(' ');
        BASE64.encode_string(blob, out);
        out.push('\n');
    }
}

impl FromStr for SigningKey {
    type Err = KeyError;

    fn from_str(text: &str) -> Result<SigningKey, KeyError> {
        SigningKey::parse(text)
    }
}

// No `Display`: the private text is written only where asked for by name,
// so that a careless log line cannot leak it.
impl SigningKey {
    /// The secret text form `PRIVATE+KEY+<name>+<hex key id>+<base64>`.
    pub fn to_private_text(&self) -> String {
        let mut blob = [0u8; 33];
        blob[0] = KeyType::Ed25519.byte();
        blob[1..].copy_from_slice(self.key.as_bytes());
        format!(
            "{PRIVATE_KEY_PREFIX}{}+{}+{}",
            self.name,
            self.key_id,
            BASE64.encode(blob)
        )
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SigningKey({}+{}, secret redacted)",
            self.name, self.key_id
        )
    }
}

fn check_key_name(name: &str) -> Result<(), KeyError> {
    if is_valid_key_name(name) {
        Ok(())
    } else {
        Err(KeyError::InvalidName(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use crate::note::peter;

    #[test]
    fn debug_hides_the_secret() {
        let key = peter();
        let debug = format!("{key:?}");
        assert!(debug.contains("c74f20a3"));
        assert!(!debug.contains("AYEKFALV"));
    }
}
