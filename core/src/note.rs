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

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD as BASE64};
use ed25519_dalek::rand_core::CryptoRng;
use ed25519_dalek::{Signer as _, Verifier as _};
use sha2::{Digest, Sha256};

/// Go's `base64.StdEncoding` ignores non-zero trailing bits when decoding;
/// signatures and keys are decoded the same way, so that `open` accepts exactly
/// the notes Go accepts. Signature text is kept as written, never re-encoded.
const GO_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
);

/// The largest signed note accepted, in bytes.
pub const MAX_NOTE_BYTES: usize = 1 << 20;
/// The most signature lines a note may carry (golang/mod's limit).
pub const MAX_SIGNATURES: usize = 100;

const SIGNATURE_LINE_PREFIX: &str = "— ";
const PRIVATE_KEY_PREFIX: &str = "PRIVATE+KEY+";
const ED25519_SIGNATURE_LEN: usize = 64;
const TIMESTAMP_LEN: usize = 8;
/// The base64 length of a key id and an Ed25519 signature.
const ED25519_SIGNATURE_B64_LEN: usize = (4 + ED25519_SIGNATURE_LEN).div_ceil(3) * 4;

/// The signature type of a key, its first byte in the key's encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// 0x01: Ed25519 over the note text.
    Ed25519,
    /// 0x04: a timestamped Ed25519 witness cosignature (tlog-cosignature v1).
    CosignatureV1,
}

impl KeyType {
    pub fn byte(self) -> u8 {
        match self {
            KeyType::Ed25519 => 0x01,
            KeyType::CosignatureV1 => 0x04,
        }
    }

    pub fn from_byte(byte: u8) -> Option<KeyType> {
        match byte {
            0x01 => Some(KeyType::Ed25519),
            0x04 => Some(KeyType::CosignatureV1),
            _ => None,
        }
    }
}

/// The 32-bit key id that, with the key name, names a key in signature lines.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub u32);

impl KeyId {
    /// Exactly 8 hex digits. Either case is accepted, as Go does; the id is
    /// always checked against the key it names.
    pub fn from_hex(text: &str) -> Option<KeyId> {
        if text.len() != 8 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u32::from_str_radix(text, 16).ok().map(KeyId)
    }

    pub fn to_bytes(self) -> [u8; 4] {
        self.0.to_be_bytes()
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08x}", self.0)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// The key id: the first 4 bytes of SHA-256(name ‖ 0x0A ‖ type ‖ public key).
pub fn key_id(name: &str, key_type: KeyType, public_key: &[u8; 32]) -> KeyId {
    let digest = Sha256::new()
        .chain_update(name.as_bytes())
        .chain_update([b'\n', key_type.byte()])
        .chain_update(public_key)
        .finalize();
    KeyId(u32::from_be_bytes([
        digest[0], digest[1], digest[2], digest[3],
    ]))
}

/// A key name is non-empty, with no Unicode white space, no `+` and no ASCII
/// control character.
pub fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_ascii_control())
}

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

/// Why a note could not be parsed, opened or signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("malformed note: {0}")]
    Malformed(&'static str),
    #[error("malformed signature: {0}")]
    MalformedSignature(&'static str),
    /// The note is well formed but no known key signed it; the note is kept
    /// so that callers can report its signatures.
    #[error("the note has no signature by a known key")]
    NoVerifiedSignature(Box<OpenedNote>),
    #[error("the signature by known key {name}+{key_id} does not verify")]
    InvalidSignature { name: String, key_id: KeyId },
    #[error("more than one known key has the name {name} and key id {key_id}")]
    AmbiguousKey { name: String, key_id: KeyId },
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
        let (name, stated, blob) = split_key_text(text)?;
        let (&type_byte, public_key) = blob
            .split_first()
            .ok_or(KeyError::Malformed("the key is empty"))?;
        let key_type = KeyType::from_byte(type_byte).ok_or(KeyError::UnsupportedType(type_byte))?;
        let public_key: &[u8; 32] = public_key
            .try_into()
            .map_err(|_| KeyError::Malformed("an Ed25519 public key is 32 bytes"))?;
        let key = VerifierKey::new(name, key_type, public_key)?;
        check_key_id(stated, key.key_id)?;
        Ok(key)
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
            KeyType::CosignatureV1 => {
                let Some((timestamp, signature)) = signature.split_first_chunk::<TIMESTAMP_LEN>()
                else {
                    return false;
                };
                let timestamp = u64::from_be_bytes(*timestamp);
                timestamp <= i64::MAX as u64
                    && self
                        .verify_ed25519(cosignature_message(timestamp, text).as_bytes(), signature)
            }
        }
    }

    fn verify_ed25519(&self, message: &[u8], signature: &[u8]) -> bool {
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

/// Splits `<name>+<hex key id>+<base64 key>`, the shape both key text forms
/// share, checking the name and the id's form.
fn split_key_text(text: &str) -> Result<(&str, KeyId, Vec<u8>), KeyError> {
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
    Ok((name, stated, blob))
}

/// Refuses a key whose text states another key id than its key gives.
fn check_key_id(stated: KeyId, computed: KeyId) -> Result<(), KeyError> {
    match stated == computed {
        true => Ok(()),
        false => Err(KeyError::KeyIdMismatch { stated, computed }),
    }
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
        let (name, stated, blob) = split_key_text(rest)?;
        let (&type_byte, seed) = blob
            .split_first()
            .ok_or(KeyError::Malformed("the key is empty"))?;
        if type_byte != KeyType::Ed25519.byte() {
            return Err(KeyError::UnsupportedType(type_byte));
        }
        let seed: &[u8; 32] = seed
            .try_into()
            .map_err(|_| KeyError::Malformed("an Ed25519 private key is a 32-byte seed"))?;
        let key = SigningKey::from_seed(name, seed)?;
        check_key_id(stated, key.key_id)?;
        Ok(key)
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

    /// Appends `— <name> <base64(key id ‖ signature of text)>\n`.
    fn write_signature_line(&self, text: &str, out: &mut String) {
        let mut blob = [0u8; 4 + ED25519_SIGNATURE_LEN];
        blob[..4].copy_from_slice(&self.key_id.to_bytes());
        blob[4..].copy_from_slice(&self.key.sign(text.as_bytes()).to_bytes());
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

/// One signature line of a note, verified or not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    pub name: String,
    pub key_id: KeyId,
    /// base64(key id ‖ signature) exactly as written in the line.
    pub base64: String,
}

impl Signature {
    /// The signature proper: the decoded bytes after the 4-byte key id, which
    /// must equal `key_id`.
    pub fn bytes(&self) -> Result<Vec<u8>, NoteError> {
        let blob = GO_BASE64
            .decode(&self.base64)
            .map_err(|_| NoteError::MalformedSignature("not standard base64"))?;
        match blob.split_first_chunk::<4>() {
            Some((id, signature)) if KeyId(u32::from_be_bytes(*id)) == self.key_id => {
                Ok(signature.to_vec())
            }
            Some(_) => Err(NoteError::MalformedSignature(
                "its first four bytes are not its key id",
            )),
            None => Err(NoteError::MalformedSignature("shorter than a key id")),
        }
    }

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

    /// Reads `— <name> <base64>` (without its newline).
    fn parse_line(line: &str) -> Result<Signature, NoteError> {
        let rest = line
            .strip_prefix(SIGNATURE_LINE_PREFIX)
            .ok_or(NoteError::Malformed(
                "a signature line must start with an em dash and a space",
            ))?;
        let (name, base64) = rest.split_once(' ').unwrap_or((rest, ""));
        if !is_valid_key_name(name) {
            return Err(NoteError::Malformed("invalid key name in a signature line"));
        }
        let blob = GO_BASE64
            .decode(base64)
            .map_err(|_| NoteError::Malformed("a signature is not standard base64"))?;
        match blob.split_first_chunk::<4>() {
            Some((id, signature)) if !signature.is_empty() => Ok(Signature {
                name: name.to_owned(),
                key_id: KeyId(u32::from_be_bytes(*id)),
                base64: base64.to_owned(),
            }),
            _ => Err(NoteError::Malformed("a signature is shorter than 5 bytes")),
        }
    }

    fn write_line(&self, out: &mut String) {
        out.push_str(SIGNATURE_LINE_PREFIX);
        out.push_str(&self.name);
        out.push(' ');
        out.push_str(&self.base64);
        out.push('\n');
    }
}

/// A note as written: its text and every signature line, in order, none of
/// them verified yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// The text, including its final newline.
    pub text: String,
    pub signatures: Vec<Signature>,
}

/// A note whose signatures were checked against a list of known keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenedNote {
    pub text: String,
    /// Signatures by known keys, each verified, in note order.
    pub verified: Vec<Signature>,
    /// Signatures by unknown keys, in note order.
    pub unverified: Vec<Signature>,
}

impl Note {
    /// Reads the layout of a signed note: valid UTF-8 without control
    /// characters other than newline, a text ending in a newline, a blank
    /// line, and 1 to [`MAX_SIGNATURES`] signature lines, each ending in a
    /// newline. The text ends at the last blank line.
    pub fn parse(msg: impl AsRef<[u8]>) -> Result<Note, NoteError> {
        let msg = msg.as_ref();
        if msg.len() > MAX_NOTE_BYTES {
            return Err(NoteError::Malformed("larger than 1 MiB"));
        }
        let msg = std::str::from_utf8(msg).map_err(|_| NoteError::Malformed("not valid UTF-8"))?;
        if has_control_character(msg) {
            return Err(NoteError::Malformed(
                "contains a control character other than newline",
            ));
        }
        let split = msg.rfind("\n\n").ok_or(NoteError::Malformed(
            "no blank line between the text and the signatures",
        ))?;
        let (text, signature_block) = (&msg[..split + 1], &msg[split + 2..]);
        if signature_block.is_empty() {
            return Err(NoteError::Malformed(
                "no signature lines after the blank line",
            ));
        }
        let signature_lines = signature_block
            .strip_suffix('\n')
            .ok_or(NoteError::Malformed(
                "the signature lines must each end in a newline",
            ))?;
        let signatures = signature_lines
            .split('\n')
            .map(Signature::parse_line)
            .take(MAX_SIGNATURES + 1)
            .collect::<Result<Vec<_>, _>>()?;
        if signatures.len() > MAX_SIGNATURES {
            return Err(NoteError::Malformed("more than 100 signatures"));
        }
        Ok(Note {
            text: text.to_owned(),
            signatures,
        })
    }

    /// Parses `msg` and checks its signatures against `known`, as golang/mod
    /// `note.Open`: signatures by unknown keys are kept as unverified (exact
    /// duplicate lines once); a key is known when both its name and key id
    /// match; each known key's first signature must verify, or the note is
    /// rejected, and its later ones are dropped; at least one must verify.
    pub fn open(msg: impl AsRef<[u8]>, known: &[VerifierKey]) -> Result<OpenedNote, NoteError> {
        Note::parse(msg)?.verify(known)
    }

    /// Checks this note's signatures against `known`, as [`Note::open`].
    pub fn verify(self, known: &[VerifierKey]) -> Result<OpenedNote, NoteError> {
        let mut verified: Vec<Signature> = Vec::new();
        let mut unverified: Vec<Signature> = Vec::new();
        for signature in self.signatures {
            let mut keys = known
                .iter()
                .filter(|key| key.name == signature.name && key.key_id == signature.key_id);
            let Some(key) = keys.next() else {
                if !unverified.contains(&signature) {
                    unverified.push(signature);
                }
                continue;
            };
            if keys.next().is_some() {
                return Err(NoteError::AmbiguousKey {
                    name: signature.name,
                    key_id: signature.key_id,
                });
            }
            if verified
                .iter()
                .any(|v| v.name == signature.name && v.key_id == signature.key_id)
            {
                continue;
            }
            if !key.verify(&self.text, &signature.bytes()?) {
                return Err(NoteError::InvalidSignature {
                    name: signature.name,
                    key_id: signature.key_id,
                });
            }
            verified.push(signature);
        }
        let opened = OpenedNote {
            text: self.text,
            verified,
            unverified,
        };
        if opened.verified.is_empty() {
            return Err(NoteError::NoVerifiedSignature(Box::new(opened)));
        }
        Ok(opened)
    }

    /// Writes the note signed by `signers`, as golang/mod `note.Sign`: the
    /// existing signatures first, except those by a key among `signers`
    /// (which are replaced), then one new signature per signer.
    pub fn sign(&self, signers: &[&SigningKey]) -> Result<String, NoteError> {
        write_signed_note(&self.text, &self.signatures, signers)
    }
}

impl From<OpenedNote> for Note {
    /// The verified signatures, then the unverified ones (golang/mod's order
    /// when re-signing an opened note).
    fn from(opened: OpenedNote) -> Note {
        let mut signatures = opened.verified;
        signatures.extend(opened.unverified);
        Note {
            text: opened.text,
            signatures,
        }
    }
}

fn write_signed_note(
    text: &str,
    existing: &[Signature],
    signers: &[&SigningKey],
) -> Result<String, NoteError> {
    if !text.ends_with('\n') {
        return Err(NoteError::Malformed("the text does not end in a newline"));
    }
    if has_control_character(text) {
        return Err(NoteError::Malformed(
            "contains a control character other than newline",
        ));
    }
    let line_len =
        |name: &str, base64_len: usize| SIGNATURE_LINE_PREFIX.len() + name.len() + base64_len + 2;
    let capacity = text.len()
        + 1
        + existing
            .iter()
            .map(|s| line_len(&s.name, s.base64.len()))
            .sum::<usize>()
        + signers
            .iter()
            .map(|s| line_len(&s.name, ED25519_SIGNATURE_B64_LEN))
            .sum::<usize>();
    let mut out = String::with_capacity(capacity);
    out.push_str(text);
    out.push('\n');
    for signature in existing {
        if !is_valid_key_name(&signature.name) {
            return Err(NoteError::MalformedSignature(
                "an existing signature has an invalid key name",
            ));
        }
        let replaced = signers
            .iter()
            .any(|s| s.name == signature.name && s.key_id == signature.key_id);
        if replaced {
            continue;
        }
        signature.bytes()?;
        signature.write_line(&mut out);
    }
    for signer in signers {
        signer.write_signature_line(text, &mut out);
    }
    Ok(out)
}

pub(crate) fn has_control_character(text: &str) -> bool {
    text.bytes().any(|b| b < 0x20 && b != b'\n')
}

fn check_key_name(name: &str) -> Result<(), KeyError> {
    if is_valid_key_name(name) {
        Ok(())
    } else {
        Err(KeyError::InvalidName(name.to_owned()))
    }
}

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
        if timestamp > i64::MAX as u64 {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn peter() -> SigningKey {
        SigningKey::parse(
            "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        )
        .unwrap()
    }

    #[test]
    fn signed_note_opens_with_its_own_key_only() {
        let key = peter();
        let signed = key.sign_note("hello\n").unwrap();
        let opened = Note::open(&signed, &[key.verifier_key()]).unwrap();
        assert_eq!(opened.text, "hello\n");
        assert_eq!(opened.verified.len(), 1);
        let other = SigningKey::from_seed("PeterNeumann", &[7; 32]).unwrap();
        assert!(matches!(
            Note::open(&signed, &[other.verifier_key()]),
            Err(NoteError::NoVerifiedSignature(_))
        ));
    }

    #[test]
    fn signing_refuses_texts_that_cannot_be_opened() {
        let key = peter();
        assert!(key.sign_note("no newline").is_err());
        assert!(key.sign_note("tab\there\n").is_err());
        assert!(key.sign_note("").is_err());
    }

    #[test]
    fn note_size_and_signature_count_are_bounded() {
        let key = peter();
        let huge = "a".repeat(MAX_NOTE_BYTES) + "\n";
        let signed = key.sign_note(&huge).unwrap();
        assert_eq!(
            Note::parse(&signed),
            Err(NoteError::Malformed("larger than 1 MiB"))
        );

        let one = key.sign_note("x\n").unwrap();
        let line = &one["x\n\n".len()..];
        let at_limit = format!("x\n\n{}", line.repeat(MAX_SIGNATURES));
        assert_eq!(
            Note::parse(&at_limit).unwrap().signatures.len(),
            MAX_SIGNATURES
        );
        let over = format!("x\n\n{}", line.repeat(MAX_SIGNATURES + 1));
        assert!(Note::parse(&over).is_err());
    }

    #[test]
    fn key_names_follow_go_rules() {
        assert!(is_valid_key_name("example.com/log"));
        assert!(is_valid_key_name("é"));
        for bad in [
            "",
            "a b",
            "a+b",
            "a\u{a0}b",
            "a\u{2028}b",
            "a\u{3000}b",
            "a\u{1}b",
            "a\tb",
        ] {
            assert!(!is_valid_key_name(bad), "{bad:?}");
            assert!(SigningKey::from_seed(bad, &[0; 32]).is_err());
        }
    }

    #[test]
    fn signature_base64_is_read_as_go_reads_it_and_kept_as_written() {
        let key = peter();
        let signed = key.sign_note("hello\n").unwrap();
        // 68 bytes leave 2 unused bits in the last base64 digit (always 0 when
        // encoded, so the digit is one of AEIM…048); setting one changes the
        // text but not the decoded bytes.
        let last = signed.rfind("=\n").unwrap() - 1;
        let mut lenient = signed.clone().into_bytes();
        lenient[last] += 1;
        let lenient = String::from_utf8(lenient).unwrap();
        let opened = Note::open(&lenient, &[key.verifier_key()]).unwrap();
        assert!(lenient.ends_with(&format!("{}\n", opened.verified[0].base64)));
        assert_ne!(lenient, signed);
    }

    #[test]
    fn debug_hides_the_secret() {
        let key = peter();
        let debug = format!("{key:?}");
        assert!(debug.contains("c74f20a3"));
        assert!(!debug.contains("AYEKFALV"));
    }
}
