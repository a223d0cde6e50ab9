//! A small HTTP client for a lucent log's public endpoints (SPEC section 5).
//! Every error names the URL it came from; answers are checked only for
//! shape here, and for meaning by [`crate::submit`] and by the server
//! crate's `lucent verify`.

use std::net::IpAddr;
use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use lucent_core::Hash;
use lucent_core::note::MAX_NOTE_BYTES;
use lucent_core::tiles::TilePath;

// The answers' wire types, shared with the server.
use crate::outbound::{BodyError, read_bounded};
use lucent_wire::{ConsistencyProofBody, EntryBody, InclusionProofBody};
pub use lucent_wire::{
    LogBody as LogInfo, PromiseBody as PromiseAnswer, ReceiptBody as Receipt,
    RootBody as ServedRoot, StatsBody,
};

/// One request may take this long, connection and body included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The most bytes a JSON answer may have, decompressed. The largest that
/// lucent sends are a receipt (a checkpoint note of at most 1 MiB and its
/// tlog-proof of at most 2 MiB, core's limits, in practice a few KiB) and
/// a page of 1000 roots (each a few hundred bytes, a few more per witness
/// cosignature).
pub const MAX_JSON_BYTES: usize = 4 << 20;
/// The longest entry read from an entry bundle. An entry is a report's
/// values (a version of at most 83 bytes, three counts of at most 16
/// digits) with a fixed-length day, deployment and `prev`: about 330 bytes.
/// The bundle format allows 64 KiB; a verifier need not hold that.
pub const MAX_ENTRY_BYTES: usize = 4096;
/// Roots asked for in one `GET /v1/roots` page (the server's maximum).
pub const ROOTS_PAGE: usize = 1000;
/// The most roots read from one log: a root an hour for a century, or a
/// root a minute for two years; a few hundred MiB of roots held at once.
pub const MAX_ROOTS: usize = 1 << 20;

/// Why a request did not give a usable answer.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("{url:?} is not an http(s) URL")]
    BadUrl { url: String },
    #[error("setting up the HTTP client: {0}")]
    Client(String),
    #[error("{method} {url}: {reason}")]
    Request {
        method: &'static str,
        url: String,
        reason: String,
    },
    #[error("{method} {url}: HTTP {status}: {detail}")]
    Status {
        method: &'static str,
        url: String,
        status: u16,
        detail: String,
        /// The answer's `Retry-After`, in seconds (not its HTTP-date form).
        retry_after: Option<Duration>,
    },
    #[error("{url}: the answer is not valid: {reason}")]
    Body { url: String, reason: String },
    #[error(
        "{method} {url}: the answer is longer than {limit} bytes, the most it can legitimately be"
    )]
    TooLarge {
        method: &'static str,
        url: String,
        limit: usize,
    },
    #[error("{url}: the log serves more than {limit} roots")]
    TooManyRoots { url: String, limit: usize },
}

impl HttpError {
    /// Whether another try may succeed: the request did not get through
    /// (no connection, a time-out, a cut answer), or the server said so
    /// (5xx, 429). Any other 4xx, or an answer that is not valid, would be
    /// the same again.
    pub fn is_transient(&self) -> bool {
        match self {
            HttpError::Request { .. } => true,
            HttpError::Status { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }

    /// How long the server asked the client to wait before trying again.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            HttpError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// What a receipt request found.
#[derive(Debug, Clone)]
pub enum ReceiptAnswer {
    Published(Receipt),
    /// 404: the log says the same for a record still pending as for one it
    /// never received; only the promise's `publish_after` tells them apart.
    NotFound,
}

/// What `POST /v1/reports` answered.
#[derive(Debug, Clone)]
pub enum SubmitAnswer {
    /// 202: accepted now.
    Accepted(PromiseAnswer),
    /// 200: the same report was already accepted today.
    Replayed(PromiseAnswer),
    /// 409: a different report of this deployment was accepted today.
    Conflict(PromiseAnswer),
}

/// The parts of an RFC 9457 problem that a client acts on.
#[derive(Debug, Default, Deserialize)]
struct Problem {
    detail: Option<String>,
    promise: Option<PromiseAnswer>,
}

/// An answer of any status, with its body read.
struct Answer {
    method: &'static str,
    url: String,
    status: u16,
    retry_after: Option<Duration>,
    body: Vec<u8>,
}

impl Answer {
    fn problem(&self) -> Problem {
        serde_json::from_slice(&self.body).unwrap_or_default()
    }

    /// Refuses any status but 200, with the problem's detail.
    fn check_ok(&self) -> Result<(), HttpError> {
        match self.status {
            200 => Ok(()),
            _ => Err(self.status_error()),
        }
    }

    fn status_error(&self) -> HttpError {
        let detail = self.problem().detail.unwrap_or_else(|| {
            String::from_utf8_lossy(&self.body)
                .chars()
                .take(200)
                .collect()
        });
        HttpError::Status {
            method: self.method,
            url: self.url.clone(),
            status: self.status,
            detail,
            retry_after: self.retry_after,
        }
    }

    fn json<T: DeserializeOwned>(&self) -> Result<T, HttpError> {
        serde_json::from_slice(&self.body).map_err(|e| self.invalid(e))
    }

    fn invalid(&self, reason: impl ToString) -> HttpError {
        HttpError::Body {
            url: self.url.clone(),
            reason: reason.to_string(),
        }
    }
}

/// A client of one log, by its base URL (`https://example.com/log`).
#[derive(Debug, Clone)]
pub struct LogClient {
    base: String,
    http: reqwest::Client,
}

impl LogClient {
    pub fn new(base: &str) -> Result<LogClient, HttpError> {
        let base = base.trim_end_matches('/');
        let parsed =
            reqwest::Url::parse(base).map_err(|_| HttpError::BadUrl { url: base.into() })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(HttpError::BadUrl { url: base.into() });
        }
        let mut headers = reqwest::header::HeaderMap::new();
        // Entry bundles shrink about 3 times with gzip, but compressing
        // them costs the server more than sending them over loopback. A
        // server may compress anyway: gzip stays on, so that the limits
        // count what it decompresses to.
        if is_loopback(&parsed) {
            headers.insert(
                reqwest::header::ACCEPT_ENCODING,
                reqwest::header::HeaderValue::from_static("identity"),
            );
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("lucent/", env!("CARGO_PKG_VERSION")))
            .timeout(REQUEST_TIMEOUT)
            .default_headers(headers)
            .gzip(true)
            .build()
            .map_err(|error| HttpError::Client(describe(error)))?;
        Ok(LogClient {
            base: base.to_owned(),
            http,
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// Sends the request and reads the answer's body, of any status, as it
    /// arrives (decompressed), refusing it once it passes `limit` bytes.
    async fn send(
        &self,
        method: &'static str,
        request: reqwest::RequestBuilder,
        url: String,
        limit: usize,
    ) -> Result<Answer, HttpError> {
        let failed = |error| HttpError::Request {
            method,
            url: url.clone(),
            reason: describe(error),
        };
        let too_large = || HttpError::TooLarge {
            method,
            url: url.clone(),
            limit,
        };
        let response = request.send().await.map_err(failed)?;
        let status = response.status().as_u16();
        let retry_after = retry_after(response.headers());
        let body = read_bounded(response, limit)
            .await
            .map_err(|error| match error {
                BodyError::TooLarge(_) => too_large(),
                BodyError::Read(error) => failed(error),
            })?;
        Ok(Answer {
            method,
            url,
            status,
            retry_after,
            body,
        })
    }

    /// GETs `path`, with a body of at most `limit` bytes.
    async fn get(&self, path: &str, limit: usize) -> Result<Answer, HttpError> {
        let url = format!("{}{path}", self.base);
        self.send("GET", self.http.get(&url), url, limit).await
    }

    async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, HttpError> {
        let answer = self.get(path, MAX_JSON_BYTES).await?;
        answer.check_ok()?;
        answer.json()
    }

    /// Like [`LogClient::get_json`], with `None` for a 404.
    async fn get_json_if_found<T: DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<Option<T>, HttpError> {
        let answer = self.get(path, MAX_JSON_BYTES).await?;
        if answer.status == 404 {
            return Ok(None);
        }
        answer.check_ok()?;
        answer.json().map(Some)
    }

    /// `GET /v1/log`.
    pub async fn log(&self) -> Result<LogInfo, HttpError> {
        self.get_json("/v1/log").await
    }

    /// `GET /v1/roots`: every signed root, oldest first, a page at a time
    /// while pages come back full (a server that does not page answers
    /// everything at once, and that page is not full). At most
    /// [`MAX_ROOTS`].
    pub async fn roots(&self) -> Result<Vec<ServedRoot>, HttpError> {
        let mut roots = Vec::new();
        loop {
            let start = roots.len();
            let page: Vec<ServedRoot> = self
                .get_json(&format!("/v1/roots?start={start}&limit={ROOTS_PAGE}"))
                .await?;
            let full = page.len() == ROOTS_PAGE;
            roots.extend(page);
            if roots.len() > MAX_ROOTS {
                return Err(HttpError::TooManyRoots {
                    url: format!("{}/v1/roots", self.base),
                    limit: MAX_ROOTS,
                });
            }
            if !full {
                return Ok(roots);
            }
        }
    }

    /// `GET /v1/roots/{day}`, `None` if no root closes that day.
    pub async fn root_of_day(&self, day: &str) -> Result<Option<ServedRoot>, HttpError> {
        self.get_json_if_found(&format!("/v1/roots/{day}")).await
    }

    /// `GET /v1/stats`: the stats at the latest root, which they name.
    pub async fn stats(&self) -> Result<StatsBody, HttpError> {
        self.get_json("/v1/stats").await
    }

    /// `GET /v1/stats?day=`: the stats at the last root of a day, `None` if
    /// no root closes that day.
    pub async fn stats_of_day(&self, day: &str) -> Result<Option<StatsBody>, HttpError> {
        self.get_json_if_found(&format!("/v1/stats?day={day}"))
            .await
    }

    /// `GET /v1/roots/latest`, `None` before the first root.
    pub async fn latest_root(&self) -> Result<Option<ServedRoot>, HttpError> {
        self.get_json_if_found("/v1/roots/latest").await
    }

    /// `GET /checkpoint`: the latest signed checkpoint's note text, `None`
    /// before the first root.
    pub async fn checkpoint(&self) -> Result<Option<String>, HttpError> {
        let answer = self.get("/checkpoint", MAX_NOTE_BYTES).await?;
        if answer.status == 404 {
            return Ok(None);
        }
        answer.check_ok()?;
        match String::from_utf8(answer.body) {
            Ok(text) => Ok(Some(text)),
            Err(e) => Err(HttpError::Body {
                url: answer.url,
                reason: e.to_string(),
            }),
        }
    }

    /// `GET /v1/proofs/consistency?old=&new=`.
    pub async fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, HttpError> {
        let path = format!("/v1/proofs/consistency?old={old}&new={new}");
        let (answer, proof) = self.proof::<ConsistencyProofBody>(&path).await?;
        base64_hashes(&proof.proof).map_err(|reason| answer.invalid(reason))
    }

    /// `GET /v1/proofs/inclusion?index=&size=`.
    pub async fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, HttpError> {
        let path = format!("/v1/proofs/inclusion?index={index}&size={size}");
        let (answer, proof) = self.proof::<InclusionProofBody>(&path).await?;
        base64_hashes(&proof.proof).map_err(|reason| answer.invalid(reason))
    }

    /// The proof at `path`, with its answer to name it in errors.
    async fn proof<T: DeserializeOwned>(&self, path: &str) -> Result<(Answer, T), HttpError> {
        let answer = self.get(path, MAX_JSON_BYTES).await?;
        answer.check_ok()?;
        let proof = answer.json()?;
        Ok((answer, proof))
    }

    /// `GET /v1/entries/{index}`.
    pub async fn entry(&self, index: u64) -> Result<EntryBody, HttpError> {
        self.get_json(&format!("/v1/entries/{index}")).await
    }

    /// The bytes of a hash tile or an entry bundle, `GET /tile/…`.
    pub async fn tile(&self, path: TilePath) -> Result<Vec<u8>, HttpError> {
        let answer = self.get(&format!("/{path}"), tile_limit(path)).await?;
        answer.check_ok()?;
        Ok(answer.body)
    }

    /// `GET /v1/receipts/{record_hash}`.
    pub async fn receipt(&self, record_hash: &Hash) -> Result<ReceiptAnswer, HttpError> {
        let answer = self
            .get(&format!("/v1/receipts/{record_hash}"), MAX_JSON_BYTES)
            .await?;
        if answer.status == 404 {
            return Ok(ReceiptAnswer::NotFound);
        }
        answer.check_ok()?;
        answer.json().map(ReceiptAnswer::Published)
    }

    /// `POST /v1/reports` with a JSON report body.
    pub async fn submit(&self, report: String) -> Result<SubmitAnswer, HttpError> {
        let url = format!("{}/v1/reports", self.base);
        let request = self
            .http
            .post(&url)
            .header("content-type", "application/json")
            .body(report);
        let answer = self.send("POST", request, url, MAX_JSON_BYTES).await?;
        match answer.status {
            202 => answer.json().map(SubmitAnswer::Accepted),
            200 => answer.json().map(SubmitAnswer::Replayed),
            409 => match answer.problem().promise {
                Some(promise) => Ok(SubmitAnswer::Conflict(promise)),
                None => Err(answer.status_error()),
            },
            _ => Err(answer.status_error()),
        }
    }
}

/// A request error with its causes ("connection refused" is a cause), and
/// without the URL, which [`HttpError`] names already.
fn describe(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut text = error.to_string();
    let mut cause = std::error::Error::source(&error);
    while let Some(inner) = cause {
        text = format!("{text}: {inner}");
        cause = inner.source();
    }
    text
}

/// The most bytes the tile at `path` can have: a hash tile is exactly its
/// width in hashes; an entry bundle, its width in entries, each with its
/// two-byte length.
fn tile_limit(path: TilePath) -> usize {
    let width = usize::from(path.width());
    match path {
        TilePath::Hash { .. } => width * Hash::LEN,
        TilePath::Entries { .. } => width * (2 + MAX_ENTRY_BYTES),
    }
}

/// `Retry-After` in delay-seconds, the form lucent sends; an HTTP-date is
/// left to the client's own backoff.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse().ok().map(Duration::from_secs)
}

/// Whether `url` names this machine.
fn is_loopback(url: &reqwest::Url) -> bool {
    let host = url.host_str().unwrap_or_default();
    let address = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost" || address.parse::<IpAddr>().is_ok_and(|a| a.is_loopback())
}

/// Parses proof hashes written in standard base64.
pub fn base64_hashes(texts: &[String]) -> Result<Vec<Hash>, String> {
    texts
        .iter()
        .map(|text| Hash::from_base64(text).map_err(|e| format!("{text:?}: {e}")))
        .collect()
}
