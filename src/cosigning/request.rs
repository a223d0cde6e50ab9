//! One C2SP tlog-witness `add-checkpoint` request: `old <size>`, the
//! consistency proof from that size, a blank line, the checkpoint as the
//! log signed it; and the witness's answer.

use std::time::Duration;

use lucent_core::note::Note;
use lucent_core::quorum::{WitnessSignature, read_witness_answer};

use super::Witness;
use crate::outbound::{BodyError, read_bounded};
use crate::published::{PublishedLog, ReadError};
use crate::storage::RootRow;

/// The longest one request may take.
pub(super) const TIMEOUT: Duration = Duration::from_secs(30);

/// The most a witness's answer may hold: a few signature lines, or a size.
const MAX_ANSWER_BYTES: usize = 16 << 10;

/// Why a witness did not cosign.
#[derive(Debug, thiserror::Error)]
pub(super) enum AskError {
    /// 409: the witness's latest cosigned size is not the `old` sent.
    #[error("the witness has cosigned size {0}, not the size sent as old")]
    Conflict(u64),
    #[error("the witness answered {status}: {body}")]
    Status { status: u16, body: String },
    #[error("the witness's answer: {0}")]
    Answer(String),
    #[error("{0}")]
    Http(String),
    #[error("reading the log: {0}")]
    Log(#[from] ReadError),
}

impl From<BodyError> for AskError {
    fn from(e: BodyError) -> AskError {
        AskError::Http(e.to_string())
    }
}

/// Asks `witness` to cosign `root`, given that it last cosigned
/// `witness_size`; returns its signature line and what it says.
pub(super) async fn ask(
    http: &reqwest::Client,
    witness: &Witness,
    log: &PublishedLog,
    root: &RootRow,
    witness_size: u64,
) -> Result<(String, WitnessSignature), AskError> {
    let proof = log.consistency_proof(witness_size, root.entries()).await?;
    let mut body = format!("old {witness_size}\n");
    for hash in proof {
        body.push_str(&hash.to_base64());
        body.push('\n');
    }
    body.push('\n');
    body.push_str(&root.checkpoint);
    let response = http
        .post(format!("{}/add-checkpoint", witness.url))
        .body(body)
        .send()
        .await
        .map_err(|e| AskError::Http(e.without_url().to_string()))?;
    let status = response.status().as_u16();
    let size_answer = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"text/x.tlog.size"));
    let answer = read_bounded(response, MAX_ANSWER_BYTES).await?;
    let answer = String::from_utf8_lossy(&answer);
    match status {
        200 => {
            let text = Note::parse(&root.checkpoint)
                .map_err(|e| AskError::Answer(format!("the log's own checkpoint: {e}")))?
                .text;
            read_witness_answer(&text, &answer, &witness.key)
                .map_err(|e| AskError::Answer(e.to_string()))
        }
        409 if size_answer => {
            let size = answer.trim_end_matches('\n').parse().map_err(|_| {
                AskError::Answer(format!("a 409 whose size is not a number: {answer:?}"))
            })?;
            Err(AskError::Conflict(size))
        }
        _ => Err(AskError::Status {
            status,
            body: answer.chars().take(200).collect(),
        }),
    }
}
