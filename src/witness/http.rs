//! The witness's endpoints: `POST /add-checkpoint` (C2SP tlog-witness),
//! `GET /<origin hash>/checkpoint` (its monitoring retrieval), `GET /` (the
//! verifier key, the logs and their latest cosigned checkpoints, as plain
//! text) and `GET /healthz`. Requests are logged by route and status,
//! never with a client address or a header.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use poem::http::header::CONTENT_LENGTH;
use poem::http::{Method, StatusCode};
use poem::web::{Data, Path};
use poem::{
    Body, Endpoint, EndpointExt, IntoResponse, Request, Response, Route, get, handler, post,
};

use lucent_core::witness::{AddCheckpoint, MAX_ADD_CHECKPOINT_BYTES, Refusal};

use super::{Witness, WitnessError, text};
use crate::listener::{call_logged, within_limit};

/// The witness's application.
pub fn app(witness: Arc<Witness>, request_timeout: Duration) -> impl Endpoint<Output = Response> {
    Route::new()
        .at("/add-checkpoint", post(add_checkpoint))
        .at("/healthz", get(healthz))
        .at("/:origin_hash/checkpoint", get(latest_checkpoint))
        .at("/", get(index))
        .data(witness)
        .around(move |next, request| within_limit(request_timeout, next, request, timed_out))
        .around(log_request)
}

#[handler]
async fn add_checkpoint(
    request: &Request,
    body: Body,
    Data(witness): Data<&Arc<Witness>>,
) -> Response {
    let answer = async {
        let body = read_body(request, body).await?;
        witness.add_checkpoint(AddCheckpoint::parse(&body)?).await
    };
    match answer.await {
        Ok(line) => text(StatusCode::OK, line),
        Err(e) => e.into_response(),
    }
}

/// Reads the body with the protocol's limit, chunked bodies included; a
/// declared length over it is refused before any byte of the body is read.
async fn read_body(request: &Request, body: Body) -> Result<Vec<u8>, WitnessError> {
    let too_large = || {
        WitnessError::Refused(Refusal::TooLarge {
            limit: MAX_ADD_CHECKPOINT_BYTES,
        })
    };
    let declared = request
        .header(CONTENT_LENGTH)
        .and_then(|length| length.parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_ADD_CHECKPOINT_BYTES as u64) {
        return Err(too_large());
    }
    body.into_bytes_limit(MAX_ADD_CHECKPOINT_BYTES)
        .await
        .map(|bytes| bytes.to_vec())
        .map_err(|e| match e {
            poem::error::ReadBodyError::PayloadTooLarge => too_large(),
            _ => WitnessError::BodyUnreadable,
        })
}

#[handler]
fn healthz() -> Response {
    text(StatusCode::OK, "ok\n".into())
}

/// The latest cosigned checkpoint of the log whose origin's SHA-256 is
/// `origin_hash` (lowercase hex), with the log's signatures and the
/// witness's cosignature; 404 if none.
#[handler]
async fn latest_checkpoint(
    Path(origin_hash): Path<String>,
    Data(witness): Data<&Arc<Witness>>,
) -> Response {
    let is_hash = origin_hash.len() == 64
        && origin_hash
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let note = match is_hash {
        true => witness.latest_by_origin_hash(&origin_hash).await,
        false => None,
    };
    match note {
        Some(note) => text(StatusCode::OK, note),
        None => WitnessError::NotFound.into_response(),
    }
}

/// The witness's verifier key, its logs and their latest cosigned
/// checkpoints, as plain text (no markup to escape, nothing to load).
#[handler]
async fn index(Data(witness): Data<&Arc<Witness>>) -> Response {
    let mut page = String::new();
    let _ = write!(
        page,
        "lucent witness (C2SP tlog-witness)\n\n\
         verifier key (C2SP tlog-cosignature, type 0x04):\n{}\n\n\
         POST /add-checkpoint to have a checkpoint cosigned;\n\
         GET /<lowercase hex SHA-256 of a log's origin>/checkpoint for its latest cosigned checkpoint.\n",
        witness.verifier_key()
    );
    for log in witness.summary().await {
        let _ = write!(page, "\nlog {}\n", log.origin);
        for key in &log.keys {
            let _ = writeln!(page, "  key: {key}");
        }
        match log.latest {
            None => page.push_str("  nothing cosigned yet\n"),
            Some(latest) => {
                let _ = writeln!(
                    page,
                    "  latest cosigned checkpoint: size {}, cosigned at {}:",
                    latest.checkpoint.size,
                    rfc3339(latest.timestamp)
                );
                for line in latest.note.lines() {
                    let _ = writeln!(page, "    {line}");
                }
            }
        }
    }
    text(StatusCode::OK, page)
}

fn rfc3339(timestamp: u64) -> String {
    i64::try_from(timestamp)
        .ok()
        .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("{timestamp} (POSIX seconds)"))
}

/// The 503 of a request over the time limit. A cosigning under way goes
/// on to its end (its state file included) on its own thread, holding its
/// log's lock; only its answer is lost.
fn timed_out() -> poem::Error {
    poem::Error::from_response(WitnessError::TimedOut.into_response())
}

/// Logs method, route, status and duration: never the client's address,
/// a header, or the origin hash of a path.
async fn log_request<E: Endpoint>(next: E, request: Request) -> poem::Result<Response> {
    let route = route_label(request.method(), request.uri().path());
    Ok(call_logged(next, request, Some(route)).await)
}

fn route_label(method: &Method, path: &str) -> &'static str {
    match path {
        "/add-checkpoint" => "/add-checkpoint",
        "/healthz" => "/healthz",
        "/" => "/",
        _ if method == Method::GET && path.ends_with("/checkpoint") => "/*/checkpoint",
        _ => "*",
    }
}
