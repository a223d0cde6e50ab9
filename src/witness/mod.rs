//! `lucent witness`: a C2SP tlog-witness server (SPEC section 8). It
//! follows the logs it is given (`<origin>=<verifier key>`), and cosigns a
//! log's checkpoint (C2SP tlog-cosignature v1, key type 0x04) only if it is
//! consistent with the latest one it cosigned for that log, which it
//! records durably before it answers.
//!
//! The parts: the protocol's pure rules (request body, checks, answers) are
//! in `lucent_core::witness`; `state` holds the key, the per-log state
//! files and the per-log locks; `http` serves the endpoints through the
//! same accept loop as `lucent serve` ([`crate::listener`]).

mod http;
mod state;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use poem::http::StatusCode;
use poem::{IntoResponse, Response};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use lucent_core::note::VerifierKey;
use lucent_core::witness::{Refusal, TLOG_SIZE_CONTENT_TYPE, tlog_size_body};

pub use state::{Cosigned, KEY_FILE, LogKey, LogSummary, StateError, Witness};

use crate::clock::Clock;
use crate::listener::{ConnectionLimits, HttpListener};

/// Everything `lucent witness` needs to know.
#[derive(Debug, Clone)]
pub struct WitnessConfig {
    pub listen: String,
    pub data_dir: PathBuf,
    /// The key name, used when the key is made (first start).
    pub name: Option<String>,
    /// The logs followed; an origin may have several keys.
    pub logs: Vec<LogKey>,
    pub connection_limits: ConnectionLimits,
    /// The longest a request may take before the answer is 503.
    pub request_timeout: Duration,
}

impl WitnessConfig {
    /// A configuration with the default connection limits: the clients of
    /// a witness are a few logs.
    pub fn new(listen: &str, data_dir: PathBuf, name: Option<String>, logs: Vec<LogKey>) -> Self {
        WitnessConfig {
            listen: listen.to_owned(),
            data_dir,
            name,
            logs,
            connection_limits: ConnectionLimits {
                max_connections: 256,
                max_connections_per_address: 64,
                head_timeout: Duration::from_secs(10),
                read_timeout: Duration::from_secs(10),
                write_timeout: Duration::from_secs(10),
            },
            request_timeout: Duration::from_secs(8),
        }
    }
}

/// Why the witness did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error("the request timeout ({request:?}) must be shorter than the read timeout ({read:?})")]
    Timeouts { request: Duration, read: Duration },
    #[error("listening on {address}: {source}")]
    Listen {
        address: String,
        source: std::io::Error,
    },
}

/// Every error a request can end with, and its answer (the one place
/// where statuses are chosen). Internal details are logged, never sent.
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error("the body could not be read")]
    BodyUnreadable,
    #[error("the request took too long; retry later")]
    TimedOut,
    #[error("not found")]
    NotFound,
    #[error("an internal error occurred")]
    Internal(String),
}

impl WitnessError {
    pub fn status(&self) -> StatusCode {
        match self {
            WitnessError::Refused(refusal) => match refusal {
                Refusal::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
                Refusal::Malformed(_) | Refusal::OldSizeAfterNew { .. } => StatusCode::BAD_REQUEST,
                Refusal::UnknownOrigin(_) => StatusCode::NOT_FOUND,
                Refusal::Unverified(_) => StatusCode::FORBIDDEN,
                Refusal::Conflict { .. } => StatusCode::CONFLICT,
                Refusal::EmptyTreeRoot
                | Refusal::ProofFromEmptyTree(_)
                | Refusal::SameSizeDifferentRoot
                | Refusal::Inconsistent(_) => StatusCode::UNPROCESSABLE_ENTITY,
            },
            WitnessError::BodyUnreadable => StatusCode::BAD_REQUEST,
            WitnessError::TimedOut => StatusCode::SERVICE_UNAVAILABLE,
            WitnessError::NotFound => StatusCode::NOT_FOUND,
            WitnessError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for WitnessError {
    /// A 409 is the witness's size as `text/x.tlog.size`; every other
    /// error is a line of plain text.
    fn into_response(self) -> Response {
        let status = self.status();
        match self {
            WitnessError::Refused(Refusal::Conflict { latest, .. }) => Response::builder()
                .status(status)
                .content_type(TLOG_SIZE_CONTENT_TYPE)
                .body(tlog_size_body(latest)),
            WitnessError::Internal(detail) => {
                tracing::error!(error = %detail, "a request failed");
                text(status, "an internal error occurred\n".into())
            }
            other => text(status, format!("{other}\n")),
        }
    }
}

fn text(status: StatusCode, body: String) -> Response {
    Response::builder()
        .status(status)
        .content_type("text/plain; charset=utf-8")
        .body(body)
}

/// A witness that is running.
pub struct RunningWitness {
    pub address: SocketAddr,
    /// The witness's verifier key, the tlog-cosignature (type 0x04) form.
    pub verifier_key: VerifierKey,
    stop: oneshot::Sender<()>,
    http: JoinHandle<()>,
}

/// Opens the data directory and starts serving: the returned witness is
/// listening.
pub async fn start(
    config: WitnessConfig,
    clock: Arc<dyn Clock>,
) -> Result<RunningWitness, StartError> {
    let read = config.connection_limits.read_timeout;
    if config.request_timeout >= read {
        return Err(StartError::Timeouts {
            request: config.request_timeout,
            read,
        });
    }
    let witness = Witness::open(
        &config.data_dir,
        config.name.as_deref(),
        &config.logs,
        clock,
    )?;
    let verifier_key = witness.verifier_key().clone();
    let listener = HttpListener::bind(&config.listen, config.connection_limits, Vec::new())
        .await
        .map_err(|source| StartError::Listen {
            address: config.listen.clone(),
            source,
        })?;
    let address = listener.local_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    let app = http::app(Arc::new(witness), config.request_timeout);
    let http = tokio::spawn(listener.serve(app, async {
        let _ = stopped.await;
    }));
    tracing::info!(%address, verifier_key = %verifier_key, "lucent witness is serving");
    Ok(RunningWitness {
        address,
        verifier_key,
        stop,
        http,
    })
}

impl RunningWitness {
    /// Stops accepting requests and lets those in flight finish (for up
    /// to the listener's grace period); then the data directory is free.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        if let Err(e) = self.http.await {
            tracing::error!(error = %e, "the HTTP server task failed");
        }
    }
}
