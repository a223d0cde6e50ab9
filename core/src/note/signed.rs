//! Signed notes: their layout, opening them against known keys (as
//! golang/mod `note.Open`), and writing them signed (as `note.Sign`).

use base64::Engine as _;

use super::{
    ED25519_SIGNATURE_LEN, GO_BASE64, KeyId, SIGNATURE_LINE_PREFIX, SigningKey, VerifierKey,
    is_valid_key_name,
};

/// The largest signed note accepted, in bytes.
pub const MAX_NOTE_BYTES: usize = 1 << 20;
/// The most signature lines a note may carry (golang/mod's limit).
pub const MAX_SIGNATURES: usize = 100;
/// The base64 length of a key id and an Ed25519 signature.
const ED25519_SIGNATURE_B64_LEN: usize = (4 + ED25519_SIGNATURE_LEN).div_ceil(3) * 4;

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

    /// Reads a block of 1 to [`MAX_SIGNATURES`] signature lines, each
    /// ending in a newline: the end of a signed note, or what a witness
    /// answers to `add-checkpoint` (C2SP tlog-witness).
    pub fn parse_lines(block: &str) -> Result<Vec<Signature>, NoteError> {
        if block.is_empty() {
            return Err(NoteError::Malformed("no signature lines"));
        }
        let lines = block.strip_suffix('\n').ok_or(NoteError::Malformed(
            "the signature lines must each end in a newline",
        ))?;
        let signatures = lines
            .split('\n')
            .map(Signature::parse_line)
            .take(MAX_SIGNATURES + 1)
            .collect::<Result<Vec<_>, _>>()?;
        if signatures.len() > MAX_SIGNATURES {
            return Err(NoteError::Malformed("more than 100 signatures"));
        }
        Ok(signatures)
    }

    /// The signature line, `— <name> <base64>\n`, as written.
    pub fn to_line(&self) -> String {
        let mut line = String::with_capacity(
            SIGNATURE_LINE_PREFIX.len() + self.name.len() + self.base64.len() + 2,
        );
        self.write_line(&mut line);
        line
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
        Ok(Note {
            text: text.to_owned(),
            signatures: Signature::parse_lines(signature_block)?,
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
                .filter(|key| key.name() == signature.name && key.key_id() == signature.key_id);
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

pub(super) fn write_signed_note(
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
            .map(|s| line_len(s.name(), ED25519_SIGNATURE_B64_LEN))
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
            .any(|s| s.name() == signature.name && s.key_id() == signature.key_id);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::peter;

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
}
