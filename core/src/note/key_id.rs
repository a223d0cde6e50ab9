//! What names a key in a signature line: its name and its key id, which
//! hashes the name, the signature type and the public key.

use std::fmt;

use sha2::{Digest, Sha256};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::SigningKey;

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
}
