//! The submission: the report sent, and the promise it is answered with,
//! verified to be for exactly that report.

use std::fmt;
use std::path::PathBuf;

use lucent_core::note::{KeyError, VerifierKey};
use lucent_core::record::{Day, ParseError, Report};

use super::promise::{PromiseCheckError, SavedPromise, open_answer};
use crate::http::{HttpError, LogClient, PromiseAnswer, SubmitAnswer};

/// What a deployment reports about its last 24 hours: every field of a
/// report but the nonce (SPEC section 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    /// The deployed product version (`1.4.2`, `2.0.0-rc.1`).
    pub version: String,
    pub tokens_created: u64,
    pub tokens_detokenized: u64,
    pub grants_issued: u64,
}

/// A report: the deployment's secret nonce and its usage. Its `Debug`
/// leaves the nonce out.
#[derive(Clone)]
pub struct ReportFields {
    pub nonce: String,
    pub usage: Usage,
}

impl fmt::Debug for ReportFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReportFields")
            .field("nonce", &"…")
            .field("usage", &self.usage)
            .finish()
    }
}

impl ReportFields {
    /// The JSON body of `POST /v1/reports`.
    pub fn to_json(&self) -> String {
        let usage = &self.usage;
        serde_json::json!({
            "nonce": self.nonce,
            "version": usage.version,
            "tokens_created": usage.tokens_created,
            "tokens_detokenized": usage.tokens_detokenized,
            "grants_issued": usage.grants_issued,
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

/// A report the log accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    pub promise: SavedPromise,
    /// True when the same report had already been accepted today.
    pub replayed: bool,
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

impl SubmitError {
    /// The failed request, when another try may succeed.
    pub fn transient(&self) -> Option<&HttpError> {
        match self {
            SubmitError::Http(error) if error.is_transient() => Some(error),
            _ => None,
        }
    }
}

/// Sends the report, and verifies the promise: signed by the log's key,
/// for exactly the record this report makes on the promised day.
pub async fn submit(options: &SubmitOptions) -> Result<Submission, SubmitError> {
    let client = LogClient::new(&options.url)?;
    submit_to(&client, &options.report, options.key.as_ref()).await
}

/// [`submit`] to the log of `client`; without `key`, with the one it serves.
pub(crate) async fn submit_to(
    client: &LogClient,
    report: &ReportFields,
    key: Option<&VerifierKey>,
) -> Result<Submission, SubmitError> {
    let body = report.to_json();
    let report = Report::parse(body.as_bytes()).map_err(SubmitError::InvalidReport)?;
    let key = served_key(client, key).await?;
    let (answer, replayed) = send(client, body).await?;
    let opened = open_answer(&answer, &key)?;
    check_record_is_report(&answer, &report, opened.day)?;
    Ok(Submission {
        promise: SavedPromise {
            url: client.base().to_owned(),
            verifier_key: key.to_string(),
            answer,
        },
        replayed,
    })
}

/// The key the log serves, which must be the `given` one if there is one:
/// the promise is checked with it, and saved with it for `--check`.
async fn served_key(
    client: &LogClient,
    given: Option<&VerifierKey>,
) -> Result<VerifierKey, SubmitError> {
    let served_key = client.log().await?.verifier_key;
    let served = VerifierKey::parse(&served_key).map_err(|error| SubmitError::BadServedKey {
        key: served_key.clone(),
        error,
    })?;
    if let Some(given) = given
        && *given != served
    {
        return Err(SubmitError::KeyMismatch {
            given: given.to_string(),
            served: served_key,
        });
    }
    Ok(served)
}

/// Posts the report: its promise, and whether the same report had already
/// been accepted today. A different report of the same day is refused.
async fn send(client: &LogClient, body: String) -> Result<(PromiseAnswer, bool), SubmitError> {
    match client.submit(body).await? {
        SubmitAnswer::Accepted(answer) => Ok((answer, false)),
        SubmitAnswer::Replayed(answer) => Ok((answer, true)),
        SubmitAnswer::Conflict(first) => Err(SubmitError::Conflict {
            day: first.day,
            record_hash: first.record_hash,
        }),
    }
}

/// The promised record must be the one the sent report makes on the
/// promised day: a log could otherwise promise a record it made up.
fn check_record_is_report(
    answer: &PromiseAnswer,
    report: &Report,
    day: Day,
) -> Result<(), PromiseCheckError> {
    let expected = report.to_record(day).to_bytes();
    if answer.record.as_bytes() != expected {
        return Err(PromiseCheckError::NotTheReportSent {
            day,
            expected: String::from_utf8_lossy(&expected).into_owned(),
            found: answer.record.clone(),
        });
    }
    Ok(())
}
