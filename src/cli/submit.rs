//! `lucent submit`: sends a report, verifies the signed promise and saves
//! it; `lucent submit --check` later fetches the receipt and verifies that
//! the log holds exactly the promised record, in the root of its day
//! (SPEC sections 5 and 6).

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use lucent_core::Hash;
use lucent_core::checkpoint::{Checkpoint, CheckpointError, open_checkpoint};
use lucent_core::hash::leaf_hash;
use lucent_core::merkle::{self, verify_consistency, verify_inclusion};
use lucent_core::note::{KeyError, VerifierKey};
use lucent_core::promise::{PromiseError, open_promise};
use lucent_core::record::{Day, Entry, ParseError, Record, Report, record_hash};
use lucent_core::tlog_proof::{TlogProof, TlogProofError};

use super::http::{
    HttpError, LogClient, PromiseAnswer, Receipt, ReceiptAnswer, ServedRoot, SubmitAnswer,
    base64_hashes,
};

/// The exit code of `lucent submit --check` while the record is pending.
pub const PENDING_EXIT_CODE: i32 = 3;

/// The fields of a report, as given on the command line.
#[derive(Debug, Clone)]
pub struct ReportFields {
    pub nonce: String,
    pub version: String,
    pub tokens_created: u64,
    pub tokens_detokenized: u64,
    pub grants_issued: u64,
}

impl ReportFields {
    /// The JSON body of `POST /v1/reports`.
    pub fn to_json(&self) -> String {
        serde_json::json!({
            "nonce": self.nonce,
            "version": self.version,
            "tokens_created": self.tokens_created,
            "tokens_detokenized": self.tokens_detokenized,
            "grants_issued": self.grants_issued,
        })
        .to_string()
    }
}

/// What to submit, and where.
#[derive(Debug, Clone)]
pub struct SubmitOptions {
    pub url: String,
    pub report: ReportFields,
    /// The log's verifier key, if known out of band; else the served one.
    pub key: Option<VerifierKey>,
}

/// A verified promise as `lucent submit` saves it: the server's answer,
/// and where and with which key to check it later. It holds no nonce.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedPromise {
    pub url: String,
    pub verifier_key: String,
    #[serde(flatten)]
    pub answer: PromiseAnswer,
}

/// A report the log accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    pub promise: SavedPromise,
    /// True when the same report had already been accepted today.
    pub replayed: bool,
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

/// Why `lucent submit` failed.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("the report is not valid: {0}")]
    InvalidReport(ParseError),
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("the log serves a verifier key that is not valid ({key}): {error}")]
    BadServedKey { key: String, error: KeyError },
    #[error("the log serves the verifier key {served}, not the given {given}")]
    KeyMismatch { given: String, served: String },
    #[error(
        "this deployment already sent a different report on {day} (record {record_hash}); the first one \
         stands"
    )]
    Conflict { day: String, record_hash: String },
    #[error("the promise does not verify: {0}")]
    Promise(#[from] PromiseCheckError),
    #[error("saving the promise to {path}: {error}")]
    Save {
        path: PathBuf,
        error: std::io::Error,
    },
}

/// Why `lucent submit --check` did not verify the receipt.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("the record is not published yet; it will be after {publish_after}")]
    Pending { publish_after: String },
    #[error(
        "the log signed a root for the period ending {period_end}, after the promised publication \
         ({publish_after}), but has no receipt for the record: it promised the record and did not \
         publish it"
    )]
    NotPublished {
        publish_after: String,
        period_end: String,
    },
    #[error("the {what} {value:?} is not an RFC 3339 time: {reason}")]
    BadTime {
        what: &'static str,
        value: String,
        reason: String,
    },
    #[error("reading the promise file {path}: {reason}")]
    PromiseFile { path: PathBuf, reason: String },
    #[error("the saved promise does not verify: {0}")]
    Promise(#[from] PromiseCheckError),
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("the receipt's entry is not a valid entry: {0}")]
    InvalidEntry(ParseError),
    #[error("the receipt's entry holds the record {found}, but the promised record is {promised}")]
    EntryMismatch { promised: String, found: String },
    #[error("the receipt says leaf hash {served}, but the entry's leaf hash is {computed}")]
    LeafHash { served: String, computed: Hash },
    #[error("the receipt's checkpoint does not verify: {0}")]
    Checkpoint(CheckpointError),
    #[error("the receipt's inclusion proof is malformed: {0}")]
    MalformedProof(String),
    #[error("the inclusion proof of entry {index} does not verify: {error}")]
    Inclusion {
        index: u64,
        error: merkle::VerifyError,
    },
    #[error("the receipt's tlog-proof does not verify: {0}")]
    TlogProof(TlogProofError),
    #[error("the receipt's tlog-proof has a different {0} than the receipt")]
    TlogProofDiffers(&'static str),
    #[error("no root of {day} is served")]
    NoRootOfDay { day: Day },
    #[error("the root of {day} does not verify: {error}")]
    DayRoot { day: Day, error: CheckpointError },
    #[error("entry {index} is not in the root of {day}, which has {size} entries")]
    NotInRootOfDay { index: u64, day: Day, size: u64 },
    #[error("the latest root does not verify: {0}")]
    LatestRoot(CheckpointError),
    #[error("entry {index} is not a valid entry: {error}")]
    InvalidServedEntry { index: u64, error: ParseError },
    #[error(
        "entry {index}, the last of the root of size {size} that holds the record, is of {found}, not \
         of the promised day {promised}: the record was not published in a root of its day"
    )]
    LastEntryOfAnotherDay {
        index: u64,
        size: u64,
        found: Day,
        promised: Day,
    },
    #[error("the roots of sizes {old} and {new} are not consistent: {error}")]
    Inconsistent {
        old: u64,
        new: u64,
        error: merkle::VerifyError,
    },
}

/// What `lucent submit --check` verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    pub origin: String,
    pub record_hash: Hash,
    pub index: u64,
    pub day: Day,
    /// The size of the root of the promise's day.
    pub day_size: u64,
    /// The size of the latest root, consistent with the day's.
    pub latest_size: u64,
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "record {} is entry {} of {}, exactly as promised, in the signed root of {} (size {})",
            self.record_hash, self.index, self.origin, self.day, self.day_size
        )?;
        if self.latest_size > self.day_size {
            write!(
                f,
                "; the latest root (size {}) is consistent with it",
                self.latest_size
            )?;
        }
        Ok(())
    }
}

impl fmt::Display for Submission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let answer = &self.promise.answer;
        let what = if self.replayed {
            "already accepted today"
        } else {
            "accepted"
        };
        write!(
            f,
            "{what}: record {} on {}, promise verified; it will be published after {}",
            answer.record_hash, answer.day, answer.publish_after
        )
    }
}

/// A promise's contents once its signature and fields are checked.
struct OpenedPromise {
    day: Day,
    record_hash: Hash,
}

/// Verifies a promise's signature with `key`, and that the answer's fields
/// are what the signed text says: the day, the record hash (SHA-256 of the
/// record), and the record's day and deployment.
fn open_answer(
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

impl SavedPromise {
    /// `lucent-promise-<day>.json`.
    pub fn default_file_name(&self) -> PathBuf {
        PathBuf::from(format!("lucent-promise-{}.json", self.answer.day))
    }

    pub fn save(&self, path: &Path) -> Result<(), SubmitError> {
        let text = serde_json::to_string_pretty(self).expect("a promise serializes");
        std::fs::write(path, text + "\n").map_err(|error| SubmitError::Save {
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

/// Sends the report, and verifies the promise: signed by the log's key,
/// for exactly the record this report makes on the promised day.
pub async fn submit(options: &SubmitOptions) -> Result<Submission, SubmitError> {
    let body = options.report.to_json();
    let report = Report::parse(body.as_bytes()).map_err(SubmitError::InvalidReport)?;
    let client = LogClient::new(&options.url)?;
    let served_key = client.log().await?.verifier_key;
    let served = VerifierKey::parse(&served_key).map_err(|error| SubmitError::BadServedKey {
        key: served_key.clone(),
        error,
    })?;
    if let Some(given) = &options.key
        && *given != served
    {
        return Err(SubmitError::KeyMismatch {
            given: given.to_string(),
            served: served_key,
        });
    }
    let (answer, replayed) = match client.submit(body).await? {
        SubmitAnswer::Accepted(answer) => (answer, false),
        SubmitAnswer::Replayed(answer) => (answer, true),
        SubmitAnswer::Conflict(first) => {
            return Err(SubmitError::Conflict {
                day: first.day,
                record_hash: first.record_hash,
            });
        }
    };
    let opened = open_answer(&answer, &served)?;
    let expected = report.to_record(opened.day).to_bytes();
    if answer.record.as_bytes() != expected {
        return Err(PromiseCheckError::NotTheReportSent {
            day: opened.day,
            expected: String::from_utf8_lossy(&expected).into_owned(),
            found: answer.record.clone(),
        }
        .into());
    }
    Ok(Submission {
        promise: SavedPromise {
            url: client.base().to_owned(),
            verifier_key: served.to_string(),
            answer,
        },
        replayed,
    })
}

/// Fetches the receipt of a saved promise and verifies it: the entry is
/// the promised record plus `prev`, it is included in the receipt's signed
/// root (also as the offline tlog-proof), that root ends with an entry of
/// the promise's day, it is the root of that day or consistent with it,
/// and the latest root extends it.
pub async fn check(promise_file: &Path) -> Result<CheckReport, CheckError> {
    let promise = SavedPromise::load(promise_file)?;
    let key = VerifierKey::parse(&promise.verifier_key).map_err(|e| CheckError::PromiseFile {
        path: promise_file.to_owned(),
        reason: format!("its verifier key: {e}"),
    })?;
    let opened = open_answer(&promise.answer, &key)?;
    let client = LogClient::new(&promise.url)?;
    // Asked before the receipt: a root that closes the promised period
    // holds the record, so a receipt missing after it is a broken promise,
    // not a root signed between the two requests.
    let latest = latest_root(&client, &key).await?;
    let receipt = match client.receipt(&opened.record_hash).await? {
        ReceiptAnswer::Published(receipt) => receipt,
        ReceiptAnswer::NotFound => {
            let latest = latest.as_ref().map(|(served, _)| served);
            return Err(receipt_not_found(&promise.answer.publish_after, latest));
        }
    };
    let checkpoint = verify_receipt(&receipt, &promise.answer.record, &key)?;
    let day = opened.day;
    check_last_entry_day(&client, &checkpoint, day).await?;
    let day_root = client
        .root_of_day(&day.to_string())
        .await?
        .ok_or(CheckError::NoRootOfDay { day })?;
    let day_root = open_checkpoint(&day_root.checkpoint, &key)
        .map_err(|error| CheckError::DayRoot { day, error })?;
    if receipt.index >= day_root.size {
        return Err(CheckError::NotInRootOfDay {
            index: receipt.index,
            day,
            size: day_root.size,
        });
    }
    // With a publish period shorter than a day, the receipt's root is the
    // root of the record's period, an earlier root of the same day.
    check_consistent(&client, &checkpoint, &day_root).await?;
    if day_root.size != checkpoint.size {
        check_last_entry_day(&client, &day_root, day).await?;
    }
    let latest = latest.map_or_else(|| day_root.clone(), |(_, checkpoint)| checkpoint);
    check_consistent(&client, &day_root, &latest).await?;
    Ok(CheckReport {
        origin: key.name().to_owned(),
        record_hash: opened.record_hash,
        index: receipt.index,
        day,
        day_size: day_root.size,
        latest_size: latest.size,
    })
}

/// The latest root as served and as signed, `None` before the first.
async fn latest_root(
    client: &LogClient,
    key: &VerifierKey,
) -> Result<Option<(ServedRoot, Checkpoint)>, CheckError> {
    let Some(served) = client.latest_root().await? else {
        return Ok(None);
    };
    let checkpoint = open_checkpoint(&served.checkpoint, key).map_err(CheckError::LatestRoot)?;
    Ok(Some((served, checkpoint)))
}

/// Why a record has no receipt: pending until the log signs a root for a
/// period that ends at or after the promise's `publish_after`; after that,
/// the log broke its promise. The log's 404 says the same either way.
fn receipt_not_found(publish_after: &str, latest: Option<&ServedRoot>) -> CheckError {
    let pending = || CheckError::Pending {
        publish_after: publish_after.to_owned(),
    };
    let Some(latest) = latest else {
        return pending();
    };
    let parse = |what, value: &str| {
        OffsetDateTime::parse(value, &Rfc3339).map_err(|e| CheckError::BadTime {
            what,
            value: value.to_owned(),
            reason: e.to_string(),
        })
    };
    let times = parse("promise's publish_after", publish_after)
        .and_then(|due| Ok((due, parse("latest root's period_end", &latest.period_end)?)));
    match times {
        Err(error) => error,
        Ok((due, period_end)) if period_end < due => pending(),
        Ok(_) => CheckError::NotPublished {
            publish_after: publish_after.to_owned(),
            period_end: latest.period_end.clone(),
        },
    }
}

/// Verifies a receipt on its own: its entry is the promised record plus
/// `prev`, with the leaf hash it says, included in its signed checkpoint,
/// and its tlog-proof says the same. Returns the checkpoint.
fn verify_receipt(
    receipt: &Receipt,
    promised_record: &str,
    key: &VerifierKey,
) -> Result<Checkpoint, CheckError> {
    let entry = Entry::parse(receipt.entry.as_bytes()).map_err(CheckError::InvalidEntry)?;
    let entry_record = entry.record.to_bytes();
    if entry_record != promised_record.as_bytes() {
        return Err(CheckError::EntryMismatch {
            promised: promised_record.to_owned(),
            found: String::from_utf8_lossy(&entry_record).into_owned(),
        });
    }
    let leaf = leaf_hash(receipt.entry.as_bytes());
    if receipt.leaf_hash != leaf.to_hex() {
        return Err(CheckError::LeafHash {
            served: receipt.leaf_hash.clone(),
            computed: leaf,
        });
    }
    let checkpoint = open_checkpoint(&receipt.checkpoint, key).map_err(CheckError::Checkpoint)?;
    let proof = base64_hashes(&receipt.inclusion_proof).map_err(CheckError::MalformedProof)?;
    verify_included(&leaf, receipt.index, &checkpoint, &proof)?;
    let tlog_proof = TlogProof::parse(&receipt.tlog_proof).map_err(CheckError::TlogProof)?;
    let (_, extra) = tlog_proof
        .verify_extra(key)
        .map_err(CheckError::TlogProof)?;
    if extra != receipt.entry.as_bytes() {
        return Err(CheckError::TlogProofDiffers("entry"));
    }
    if tlog_proof.index != receipt.index {
        return Err(CheckError::TlogProofDiffers("index"));
    }
    if tlog_proof.checkpoint != receipt.checkpoint {
        return Err(CheckError::TlogProofDiffers("checkpoint"));
    }
    Ok(checkpoint)
}

/// Verifies that entry `index` with leaf hash `leaf` is in `root`.
fn verify_included(
    leaf: &Hash,
    index: u64,
    root: &Checkpoint,
    proof: &[Hash],
) -> Result<(), CheckError> {
    verify_inclusion(leaf, index, root.size, proof, &root.root)
        .map_err(|error| CheckError::Inclusion { index, error })
}

/// The day of a root is served, not signed; its last entry's is, through
/// the root hash. Fetches that entry with its inclusion proof in `root`
/// and requires it to be of `day`: a record published in the root of a
/// later day ends before entries of that day.
async fn check_last_entry_day(
    client: &LogClient,
    root: &Checkpoint,
    day: Day,
) -> Result<(), CheckError> {
    // The root holds the record, so it is not empty.
    let index = root.size - 1;
    let (served, proof) = tokio::try_join!(
        client.entry(index),
        client.inclusion_proof(index, root.size)
    )?;
    verify_included(&leaf_hash(served.entry.as_bytes()), index, root, &proof)?;
    let entry = Entry::parse(served.entry.as_bytes())
        .map_err(|error| CheckError::InvalidServedEntry { index, error })?;
    if entry.record.day != day {
        return Err(CheckError::LastEntryOfAnotherDay {
            index,
            size: root.size,
            found: entry.record.day,
            promised: day,
        });
    }
    Ok(())
}

/// Verifies the served consistency proof between two non-empty roots, in
/// whichever order their sizes come.
async fn check_consistent(
    client: &LogClient,
    a: &Checkpoint,
    b: &Checkpoint,
) -> Result<(), CheckError> {
    let (old, new) = if a.size <= b.size { (a, b) } else { (b, a) };
    let proof = if old.size == new.size {
        Vec::new()
    } else {
        client.consistency_proof(old.size, new.size).await?
    };
    verify_consistency(old.size, new.size, &proof, &old.root, &new.root).map_err(|error| {
        CheckError::Inconsistent {
            old: old.size,
            new: new.size,
            error,
        }
    })
}
