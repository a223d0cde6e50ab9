//! The promise a log answers a report with: its checks, and the file
//! `lucent submit` saves it in for `--check`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use lucent_core::Hash;
use lucent_core::note::VerifierKey;
use lucent_core::promise::{PromiseError, open_promise};
use lucent_core::record::{Day, ParseError, Record, record_hash};

use super::{CheckError, SubmitError};
use crate::http::PromiseAnswer;

/// A verified promise as `lucent submit` saves it: the server's answer,
/// and where and with which key to check it later. It holds no nonce.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedPromise {
    pub url: String,
    pub verifier_key: String,
    #[serde(flatten)]
    pub answer: PromiseAnswer,
}

impl SavedPromise {
    /// The promise file's text: pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a promise serializes") + "\n"
    }

    pub fn save(&self, path: &Path) -> Result<(), SubmitError> {
        std::fs::write(path, self.to_json()).map_err(|error| SubmitError::Save {
            path: path.to_owned(),
            error,
        })
    }

    pub fn load(path: &Path) -> Result<SavedPromise, CheckError> {
        let bad = |reason: String| CheckError::PromiseFile {
            path: path.to_owned(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        serde_json::from_str(&text).map_err(|e| bad(e.to_string()))
    }
}

/// Why a promise does not hold what it should.
#[derive(Debug, thiserror::Error)]
pub enum PromiseCheckError {
    #[error("the promise's signature does not verify: {0}")]
    Signature(PromiseError),
    #[error("the answer's {field} is {served}, but the signed promise says {signed}")]
    FieldMismatch {
        field: &'static str,
        served: String,
        signed: String,
    },
    #[error("the record is not a valid record: {0}")]
    InvalidRecord(ParseError),
    #[error("the promised record_hash {promised} is not the SHA-256 of the record, {computed}")]
    RecordHash { promised: Hash, computed: Hash },
    #[error("the record's {field} is {found}, but the promise's is {promised}")]
    RecordField {
        field: &'static str,
        found: String,
        promised: String,
    },
    #[error("the log stored the record {found}, but the report sent on {day} makes {expected}")]
    NotTheReportSent {
        day: Day,
        expected: String,
        found: String,
    },
}

/// A promise's contents once its signature and fields are checked.
pub(super) struct OpenedPromise {
    pub(super) day: Day,
    pub(super) record_hash: Hash,
}

/// Verifies a promise's signature with `key`, and that the answer's fields
/// are what the signed text says: the day, the record hash (SHA-256 of the
/// record), and the record's day and deployment.
pub(super) fn open_answer(
    answer: &PromiseAnswer,
    key: &VerifierKey,
) -> Result<OpenedPromise, PromiseCheckError> {
    let signed = open_promise(&answer.promise, key).map_err(PromiseCheckError::Signature)?;
    let mismatch = |field, served: &str, signed: String| PromiseCheckError::FieldMismatch {
        field,
        served: served.to_owned(),
        signed,
    };
    if answer.day != signed.day {
        return Err(mismatch("day", &answer.day, signed.day));
    }
    if answer.record_hash != signed.record_hash.to_hex() {
        return Err(mismatch(
            "record_hash",
            &answer.record_hash,
            signed.record_hash.to_hex(),
        ));
    }
    let computed = record_hash(answer.record.as_bytes());
    if computed != signed.record_hash {
        return Err(PromiseCheckError::RecordHash {
            promised: signed.record_hash,
            computed,
        });
    }
    let record =
        Record::parse(answer.record.as_bytes()).map_err(PromiseCheckError::InvalidRecord)?;
    if record.day.to_string() != signed.day {
        return Err(PromiseCheckError::RecordField {
            field: "day",
            found: record.day.to_string(),
            promised: signed.day,
        });
    }
    if record.deployment.to_string() != answer.deployment {
        return Err(PromiseCheckError::RecordField {
            field: "deployment",
            found: record.deployment.to_string(),
            promised: answer.deployment.clone(),
        });
    }
    Ok(OpenedPromise {
        day: record.day,
        record_hash: signed.record_hash,
    })
}
