//! The one place where errors become HTTP answers: RFC 9457
//! `application/problem+json`, naming the offending field. Internal details
//! are logged, never sent.

use poem::Response;
use poem::http::StatusCode;
use poem_openapi::Object;
use serde::Serialize;

use lucent_core::record::ParseError;

use crate::published::ReadError;
use crate::storage::StorageError;

/// An RFC 9457 problem: what went wrong, in words, and the field at fault.
#[derive(Debug, Clone, Serialize, Object)]
pub struct Problem {
    /// A URI naming the kind of problem (`about:blank` when the status says it all).
    #[serde(rename = "type")]
    #[oai(rename = "type")]
    pub kind: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What is wrong with this request.
    pub detail: String,
    /// The request field at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// For 409: the promise the server gave for the deployment's first report of the day.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub promise: Option<crate::wire::PromiseBody>,
}

/// Every error an endpoint can answer with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    InvalidReport(ParseError),
    #[error("the body is larger than {limit} bytes")]
    BodyTooLarge { limit: usize },
    #[error("the body must be application/json")]
    UnsupportedMediaType,
    #[error("this deployment already sent a different report today; the first one stands")]
    Conflict(Box<crate::wire::PromiseBody>),
    #[error("the server is saturated; retry later")]
    Saturated,
    #[error("the request took too long; retry later")]
    TimedOut,
    #[error("the server cannot store reports right now; retry later")]
    StorageUnavailable,
    #[error("too many reports from this address; retry later")]
    RateLimited { retry_after: u64 },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("an internal error occurred")]
    Internal,
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            ApiError::InvalidReport(_) | ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Saturated | ApiError::TimedOut | ApiError::StorageUnavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn retry_after(&self) -> Option<u64> {
        match self {
            ApiError::Saturated | ApiError::TimedOut => Some(1),
            ApiError::StorageUnavailable => Some(30),
            ApiError::RateLimited { retry_after } => Some(*retry_after),
            _ => None,
        }
    }

    pub fn problem(&self) -> Problem {
        let status = self.status();
        Problem {
            kind: "about:blank".into(),
            title: status.canonical_reason().unwrap_or("Error").into(),
            status: status.as_u16(),
            detail: self.to_string(),
            field: match self {
                ApiError::InvalidReport(e) => e.field().map(str::to_owned),
                _ => None,
            },
            promise: match self {
                ApiError::Conflict(promise) => Some((**promise).clone()),
                _ => None,
            },
        }
    }
}

impl From<ReadError> for ApiError {
    fn from(e: ReadError) -> ApiError {
        match e {
            ReadError::NotPublished(what) => ApiError::NotFound(what),
            ReadError::Invalid(why) => ApiError::BadRequest(why),
            ReadError::Storage(e) => e.into(),
        }
    }
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> ApiError {
        match e {
            StorageError::OutOfRange(n) => {
                ApiError::BadRequest(format!("{n} is larger than any index or size of a log"))
            }
            e => {
                tracing::error!(error = %e, "storage");
                ApiError::Internal
            }
        }
    }
}

/// A problem answer with its status and `Retry-After` where one applies.
pub fn problem_response(problem: &Problem, retry_after: Option<u64>) -> Response {
    let body = serde_json::to_vec(problem).expect("a problem serializes");
    let mut response = Response::builder()
        .status(StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .content_type("application/problem+json")
        .body(body);
    if let Some(seconds) = retry_after {
        response.headers_mut().insert("retry-after", seconds.into());
    }
    response
}

impl poem::error::ResponseError for ApiError {
    fn status(&self) -> StatusCode {
        ApiError::status(self)
    }

    fn as_response(&self) -> Response {
        problem_response(&self.problem(), self.retry_after())
    }
}

/// Turns any error that escaped an endpoint (an unknown route, a wrong
/// method, a bad path parameter, a content type poem refused) into a
/// problem, keeping its status. Our own errors pass through unchanged.
pub async fn into_problem(error: poem::Error) -> Response {
    if error.is::<ApiError>() {
        return error.into_response();
    }
    let status = error.status();
    if status.is_server_error() {
        tracing::error!(error = %error, "unhandled error");
    }
    let (detail, status) = match () {
        () if error.is::<poem_openapi::error::ContentTypeError>() => (
            ApiError::UnsupportedMediaType.to_string(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        () if status.is_server_error() => (ApiError::Internal.to_string(), status),
        () => (error.to_string(), status),
    };
    let problem = Problem {
        kind: "about:blank".into(),
        title: status.canonical_reason().unwrap_or("Error").into(),
        status: status.as_u16(),
        detail,
        field: None,
        promise: None,
    };
    problem_response(&problem, None)
}

/// The error statuses an endpoint can answer, for its OpenAPI description.
pub trait ProblemSet: Send + Sync + 'static {
    const STATUSES: &'static [(u16, &'static str)];
}

/// The errors of the read endpoints.
pub struct ReadProblems;

impl ProblemSet for ReadProblems {
    const STATUSES: &'static [(u16, &'static str)] = &[
        (
            400,
            "A parameter is invalid, e.g. a size beyond the published one.",
        ),
        (
            404,
            "Nothing published answers this request (a pending record's receipt too).",
        ),
        (500, "An internal error; details are logged, not sent."),
        (503, "The request took too long; see Retry-After."),
    ];
}

/// The errors of `POST /v1/reports`.
pub struct SubmitProblems;

impl ProblemSet for SubmitProblems {
    const STATUSES: &'static [(u16, &'static str)] = &[
        (
            400,
            "The body is not a valid report; `field` names the field at fault.",
        ),
        (
            409,
            "This deployment sent a different report today; `promise` is the stored one.",
        ),
        (413, "The body is larger than 4 KiB."),
        (415, "The body is not application/json."),
        (429, "Too many reports from this address; see Retry-After."),
        (500, "An internal error; details are logged, not sent."),
        (
            503,
            "The server is saturated or cannot store reports now; see Retry-After.",
        ),
    ];
}

/// An [`ApiError`] as an endpoint of set `S` answers it: documented in the
/// OpenAPI description as `application/problem+json` for each status of `S`.
pub struct Problems<S>(ApiError, std::marker::PhantomData<S>);

impl<S, E: Into<ApiError>> From<E> for Problems<S> {
    fn from(error: E) -> Self {
        Problems(error.into(), std::marker::PhantomData)
    }
}

impl<S> From<Problems<S>> for poem::Error {
    fn from(problems: Problems<S>) -> poem::Error {
        problems.0.into()
    }
}

impl<S: ProblemSet> poem_openapi::ApiResponse for Problems<S> {
    fn meta() -> poem_openapi::registry::MetaResponses {
        use poem_openapi::registry::{
            MetaHeader, MetaMediaType, MetaResponse, MetaSchema, MetaSchemaRef,
        };
        use poem_openapi::types::Type as _;
        let responses = S::STATUSES
            .iter()
            .map(|&(status, description)| MetaResponse {
                description,
                status: Some(status),
                status_range: None,
                content: vec![MetaMediaType {
                    content_type: "application/problem+json",
                    schema: Problem::schema_ref(),
                }],
                headers: match status {
                    429 | 503 => vec![MetaHeader {
                        name: "Retry-After".into(),
                        description: Some("Seconds to wait before trying again.".into()),
                        required: true,
                        deprecated: false,
                        schema: MetaSchemaRef::Inline(Box::new(MetaSchema::new("integer"))),
                    }],
                    _ => Vec::new(),
                },
            })
            .collect();
        poem_openapi::registry::MetaResponses { responses }
    }

    fn register(registry: &mut poem_openapi::registry::Registry) {
        <Problem as poem_openapi::types::Type>::register(registry);
    }
}
