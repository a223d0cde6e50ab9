//! One C2SP tlog-witness `add-checkpoint` request: `old <size>`, the
//! consistency proof from that size, a blank line, the checkpoint as the
//! log signed it; and the witness's answer.

use std::time::Duration;

use lucent_core::note::Note;
use lucent_core::quorum::signed_at;
use lucent_core::witness::{
    AddCheckpoint, TLOG_SIZE_CONTENT_TYPE, parse_tlog_size, verify_cosignature_response,
};

use super::Witness;
use crate::published::{PublishedLog, ReadError};
use crate::storage::RootRow;
use lucent_client::outbound::{BodyError, read_bounded};

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

/// A witness's verified signature of a root.
pub(super) struct Cosigned {
    /// The signature line, without its newline.
    pub line: String,
    /// The time a tlog-cosignature signs; none for a plain note signature.
    pub signed_at: Option<u64>,
}

/// Asks `witness` to cosign `root`, given that it last cosigned
/// `witness_size`.
pub(super) async fn ask(
    http: &reqwest::Client,
    witness: &Witness,
    log: &PublishedLog,
    root: &RootRow,
    witness_size: u64,
) -> Result<Cosigned, AskError> {
    let request = AddCheckpoint {
        old_size: witness_size,
        proof: log.consistency_proof(witness_size, root.entries()).await?,
        checkpoint: root.checkpoint.clone(),
    };
    let response = http
        .post(format!("{}/add-checkpoint", witness.url))
        .body(request.to_body())
        .send()
        .await
        .map_err(|e| AskError::Http(e.without_url().to_string()))?;
    let status = response.status().as_u16();
    let size_answer = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(TLOG_SIZE_CONTENT_TYPE.as_bytes()));
    let answer = read_bounded(response, MAX_ANSWER_BYTES).await?;
    match status {
        200 => {
            let text = Note::parse(&root.checkpoint)
                .map_err(|e| AskError::Answer(format!("the log's own checkpoint: {e}")))?
                .text;
            let mut answer = String::from_utf8_lossy(&answer).into_owned();
            // siglog's witness (0.1.0) ends its line without a newline.
            if !answer.ends_with('\n') {
                answer.push('\n');
            }
            let signature = verify_cosignature_response(&text, &answer, &witness.key)
                .map_err(|e| AskError::Answer(e.to_string()))?;
            Ok(Cosigned {
                line: signature.to_line().trim_end_matches('\n').to_owned(),
                signed_at: signed_at(&signature, &witness.key),
            })
        }
        409 if size_answer => match parse_tlog_size(&answer) {
            Some(size) => Err(AskError::Conflict(size)),
            None => Err(AskError::Answer("a 409 without a size".into())),
        },
        _ => Err(AskError::Status {
            status,
            body: String::from_utf8_lossy(&answer).chars().take(200).collect(),
        }),
    }
}
