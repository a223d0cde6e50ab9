//! The promise of SPEC section 5: a note signed by the log key, given for
//! every accepted report, whose text is
//! `lucent-promise/v1\n<origin>\n<day>\n<record_hash>\n`.

use crate::hash::Hash;
use crate::note::{self, KeyType, Note, NoteError, SigningKey, VerifierKey};
use crate::record::Day;

/// The first line of every promise text.
pub const PROMISE_HEADER: &str = "lucent-promise/v1";

/// The log's promise to publish the record with `record_hash` in the root
/// that closes `day`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Promise {
    /// The log's origin, which is also its key name.
    pub origin: String,
    /// The UTC day, `YYYY-MM-DD`.
    pub day: String,
    pub record_hash: Hash,
}

/// Why a promise was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PromiseError {
    #[error("malformed promise: {0}")]
    Malformed(&'static str),
    #[error("the promise's origin is {found:?}, not {expected:?}")]
    OriginMismatch { expected: String, found: String },
    #[error("a promise is signed by an Ed25519 (type 0x01) log key, not a {0:?} key")]
    WrongKeyType(KeyType),
    #[error("promise note: {0}")]
    Note(#[from] NoteError),
}

impl Promise {
    pub fn new(origin: &str, day: &str, record_hash: Hash) -> Result<Promise, PromiseError> {
        let promise = Promise {
            origin: origin.to_owned(),
            day: day.to_owned(),
            record_hash,
        };
        promise.validate()?;
        Ok(promise)
    }

    /// Parses exactly the four lines of a promise text.
    pub fn parse(text: &str) -> Result<Promise, PromiseError> {
        let body = text.strip_suffix('\n').ok_or(PromiseError::Malformed(
            "the text does not end in a newline",
        ))?;
        let lines: Vec<&str> = body.split('\n').collect();
        let [header, origin, day, record_hash] = lines.as_slice() else {
            return Err(PromiseError::Malformed("a promise has exactly four lines"));
        };
        if *header != PROMISE_HEADER {
            return Err(PromiseError::Malformed(
                "the first line is not lucent-promise/v1",
            ));
        }
        let record_hash = Hash::from_hex(record_hash).map_err(|_| {
            PromiseError::Malformed("the record hash is not 64 lowercase hex digits")
        })?;
        Promise::new(origin, day, record_hash)
    }

    pub fn to_text(&self) -> String {
        format!(
            "{PROMISE_HEADER}\n{}\n{}\n{}\n",
            self.origin,
            self.day,
            self.record_hash.to_hex()
        )
    }

    /// Signs the promise with the log key, whose name must be the origin.
    pub fn sign(&self, key: &SigningKey) -> Result<String, PromiseError> {
        self.validate()?;
        self.check_origin(key.name())?;
        Ok(key.sign_note(&self.to_text())?)
    }

    fn validate(&self) -> Result<(), PromiseError> {
        if !note::is_valid_key_name(&self.origin) {
            return Err(PromiseError::Malformed(
                "the origin is not a valid key name",
            ));
        }
        // The day must be a real date, written in its one canonical form.
        let canonical = Day::parse(&self.day).is_ok_and(|day| day.to_string() == self.day);
        if !canonical {
            return Err(PromiseError::Malformed("the day is not a date YYYY-MM-DD"));
        }
        Ok(())
    }

    fn check_origin(&self, expected: &str) -> Result<(), PromiseError> {
        if self.origin == expected {
            Ok(())
        } else {
            Err(PromiseError::OriginMismatch {
                expected: expected.to_owned(),
                found: self.origin.clone(),
            })
        }
    }
}

/// Opens a promise signed by `key` (the Ed25519 log key) and checks that its
/// origin is the key's name.
pub fn open_promise(signed: &str, key: &VerifierKey) -> Result<Promise, PromiseError> {
    if key.key_type() != KeyType::Ed25519 {
        return Err(PromiseError::WrongKeyType(key.key_type()));
    }
    let opened = Note::open(signed, std::slice::from_ref(key))?;
    let promise = Promise::parse(&opened.text)?;
    promise.check_origin(key.name())?;
    Ok(promise)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;

    const ORIGIN: &str = "example.com/log";

    #[test]
    fn text_round_trip() {
        let promise = Promise::new(ORIGIN, "2024-02-29", leaf_hash(b"r")).unwrap();
        assert_eq!(Promise::parse(&promise.to_text()), Ok(promise));
    }

    #[test]
    fn malformed_promises_are_refused() {
        let hash = leaf_hash(b"r").to_hex();
        let bad_texts = [
            format!("lucent-promise/v2\n{ORIGIN}\n2024-01-01\n{hash}\n"),
            format!("lucent-promise/v1\n{ORIGIN}\n2024-01-01\n{hash}"),
            format!("lucent-promise/v1\n{ORIGIN}\n2024-01-01\n{hash}\nextra\n"),
            format!("lucent-promise/v1\n{ORIGIN}\n2024-01-01\n"),
            format!("lucent-promise/v1\nbad origin\n2024-01-01\n{hash}\n"),
            format!("lucent-promise/v1\n{ORIGIN}\n2023-02-29\n{hash}\n"),
            format!("lucent-promise/v1\n{ORIGIN}\n2024-1-01\n{hash}\n"),
            format!("lucent-promise/v1\n{ORIGIN}\n+024-01-01\n{hash}\n"),
            format!(
                "lucent-promise/v1\n{ORIGIN}\n2024-01-01\n{}\n",
                hash.to_uppercase()
            ),
        ];
        for text in bad_texts {
            assert!(Promise::parse(&text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn signing_and_opening_check_the_origin() {
        let key = SigningKey::from_seed(ORIGIN, &[3; 32]).unwrap();
        let promise = Promise::new(ORIGIN, "2024-01-01", leaf_hash(b"r")).unwrap();
        let signed = promise.sign(&key).unwrap();
        assert_eq!(
            open_promise(&signed, &key.verifier_key()),
            Ok(promise.clone())
        );

        let other = SigningKey::from_seed("example.com/other", &[3; 32]).unwrap();
        assert!(matches!(
            promise.sign(&other),
            Err(PromiseError::OriginMismatch { .. })
        ));
        let foreign = Promise::new("example.com/other", "2024-01-01", leaf_hash(b"r")).unwrap();
        let signed_foreign = other.sign_note(&foreign.to_text()).unwrap();
        assert!(matches!(
            open_promise(&signed_foreign, &other.verifier_key()),
            Ok(ref p) if *p == foreign
        ));
        let mislabeled = key.sign_note(&foreign.to_text()).unwrap();
        assert!(matches!(
            open_promise(&mislabeled, &key.verifier_key()),
            Err(PromiseError::OriginMismatch { .. })
        ));
    }
}
