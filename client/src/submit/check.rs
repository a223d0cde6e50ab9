//! `lucent submit --check`: the receipt of a saved promise, or why there is
//! none yet (pending) or none at all (a broken promise).

use std::fmt;
use std::path::{Path, PathBuf};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use lucent_core::Hash;
use lucent_core::checkpoint::{Checkpoint, CheckpointError};
use lucent_core::merkle;
use lucent_core::note::VerifierKey;
use lucent_core::record::{Day, ParseError};
use lucent_core::tlog_proof::TlogProofError;

use super::promise::{PromiseCheckError, SavedPromise, open_answer};
use super::receipt::verify_receipt;
use super::roots::{
    check_consistent, check_in_root_of_day, check_last_entry_day, last_entry_day, latest_root,
    root_of_day,
};
use crate::http::{HttpError, LogClient, ReceiptAnswer, ServedRoot};
use crate::quorum::{QuorumFailure, WitnessQuorum};

/// Why `lucent submit --check` did not verify the receipt.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("the record is not published yet; it will be after {publish_after}")]
    Pending { publish_after: String },
    #[error("the receipt's root, by its witnesses: {0}")]
    Witnesses(#[from] QuorumFailure),
    #[error(
        "the log signed a root for the period ending {period_end}, after the promised publication \
         ({publish_after}), but has no receipt for the record: it promised the record and did not \
         publish it"
    )]
    NotPublished {
        publish_after: String,
        period_end: String,
    },
    #[error(
        "the log's latest signed root (size {size}) ends with an entry of {later}, after the promised \
         day {promised}, but has no receipt for the record: it promised the record and did not \
         publish it"
    )]
    NotPublishedBefore {
        size: u64,
        later: Day,
        promised: Day,
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

/// Fetches the receipt of a saved promise and verifies it: the entry is
/// the promised record plus `prev`, it is included in the receipt's signed
/// root (also as the offline tlog-proof), that root ends with an entry of
/// the promise's day, it is the root of that day or consistent with it,
/// and the latest root extends it.
pub async fn check(
    promise_file: &Path,
    witnesses: &WitnessQuorum,
) -> Result<CheckReport, CheckError> {
    let (promise, key) = load_promise(promise_file)?;
    let opened = open_answer(&promise.answer, &key)?;
    let client = LogClient::new(&promise.url)?;
    // Asked before the receipt: a root that closes the promised period
    // holds the record, so a receipt missing after it is a broken promise,
    // not a root signed between the two requests.
    let latest = latest_root(&client, &key).await?;
    let day = opened.day;
    let publish_after = &promise.answer.publish_after;
    let receipt = match client.receipt(&opened.record_hash).await? {
        ReceiptAnswer::Published(receipt) => receipt,
        ReceiptAnswer::NotFound => {
            return Err(receipt_not_found(&client, publish_after, latest.as_ref(), day).await);
        }
    };
    let checkpoint = verify_receipt(&receipt, &promise.answer.record, &key)?;
    witnesses.check(&receipt.checkpoint)?;
    check_last_entry_day(&client, &checkpoint, day).await?;
    let day_root = root_of_day(&client, &key, day).await?;
    check_in_root_of_day(&client, receipt.index, &checkpoint, &day_root, day).await?;
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

/// The saved promise and the verifier key it was saved with.
fn load_promise(path: &Path) -> Result<(SavedPromise, VerifierKey), CheckError> {
    let promise = SavedPromise::load(path)?;
    let key = VerifierKey::parse(&promise.verifier_key).map_err(|e| CheckError::PromiseFile {
        path: path.to_owned(),
        reason: format!("its verifier key: {e}"),
    })?;
    Ok((promise, key))
}

/// Why a record has no receipt, judged against the latest root, asked for
/// before the receipt. The log's 404 says the same either way, and the
/// root's `period_end` is not signed: the record is pending only while the
/// root's period ends before `publish_after` and its last entry, which is
/// signed, is of the promised day or earlier.
async fn receipt_not_found(
    client: &LogClient,
    publish_after: &str,
    latest: Option<&(ServedRoot, Checkpoint)>,
    promised: Day,
) -> CheckError {
    let Some((served, checkpoint)) = latest else {
        return CheckError::Pending {
            publish_after: publish_after.to_owned(),
        };
    };
    let by_period = judge_by_period(publish_after, served);
    if !matches!(by_period, CheckError::Pending { .. }) || checkpoint.size == 0 {
        return by_period;
    }
    match last_entry_day(client, checkpoint).await {
        Ok(later) if later > promised => CheckError::NotPublishedBefore {
            size: checkpoint.size,
            later,
            promised,
        },
        Ok(_) => by_period,
        Err(error) => error,
    }
}

/// Pending until the log serves a root for a period that ends at or after
/// the promise's `publish_after`; after that, the log broke its promise.
fn judge_by_period(publish_after: &str, latest: &ServedRoot) -> CheckError {
    let pending = || CheckError::Pending {
        publish_after: publish_after.to_owned(),
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
