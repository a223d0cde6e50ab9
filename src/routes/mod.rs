//! The whole application: the API and the pages under one router, with
//! what every request goes through (CORS, a time limit, problem answers,
//! and a log line without addresses; reports only counted).

mod report_counts;

use std::sync::Arc;
use std::time::{Duration, Instant};

use poem::endpoint::make_sync;
use poem::middleware::{Compression, Cors};
use poem::web::Html;
use poem::{Endpoint, EndpointExt, IntoResponse, Request, Response, Route, get};

pub use report_counts::ReportCounts;

use crate::api::{self, Limit, RateLimiter};
use crate::http::problem::{self, ApiError};
use crate::pages;
use crate::published::PublishedLog;
use crate::sequencer::Sequencer;
use lucent_core::period::Period;

/// What the endpoints are given.
pub struct Parts {
    pub sequencer: Sequencer,
    pub log: PublishedLog,
    pub publish_period: Period,
    /// `None`: reports are not limited per address.
    pub rate_limiter: Option<Arc<RateLimiter>>,
    pub report_counts: Arc<ReportCounts>,
    pub witnesses: pages::WitnessKeys,
}

/// The whole application.
pub fn app(parts: Parts, request_timeout: Duration) -> impl Endpoint<Output = Response> {
    let api = api::openapi_service();
    let spec = api::openapi_json();
    // The interactive docs embed the spec: give them the whole one.
    let docs = api.scalar_html().replace(&api.spec(), &spec);
    let writes = Limit {
        limiter: parts.rate_limiter,
    };
    let report_counts = parts.report_counts;
    Route::new()
        .nest("/", pages::index_or(api.with(writes)))
        .at(
            "/openapi.json",
            get(make_sync(move |_| {
                Response::builder()
                    .content_type("application/json; charset=utf-8")
                    .body(spec.clone())
            })),
        )
        .at("/docs", get(make_sync(move |_| Html(docs.clone()))))
        .at(
            "/tile/entries/*rest",
            get(api::tile).with(Compression::new()),
        )
        .at("/tile/*rest", get(api::tile))
        .at("/stats", pages::stats())
        .at("/deployment", pages::deployment())
        .nest("/assets", pages::assets())
        .data(parts.sequencer)
        .data(parts.log)
        .data(parts.publish_period)
        .data(parts.witnesses)
        .with(Cors::new())
        .around(move |next, request| with_timeout(next, request, request_timeout))
        .catch_all_error(problem::into_problem)
        .around(move |next, request| log_request(next, request, report_counts.clone()))
}

/// Answers 503 to a request that takes longer than `limit`.
async fn with_timeout<E: Endpoint>(
    next: E,
    request: Request,
    limit: Duration,
) -> poem::Result<Response> {
    match tokio::time::timeout(limit, next.call(request)).await {
        Ok(result) => result.map(IntoResponse::into_response),
        Err(_) => Err(ApiError::TimedOut.into()),
    }
}

/// Logs method, route, status and duration: never the client's address,
/// a header, or the path's variable parts (a path can name a deployment).
/// Reports are counted instead (see [`ReportCounts`]).
async fn log_request<E: Endpoint>(
    next: E,
    request: Request,
    report_counts: Arc<ReportCounts>,
) -> poem::Result<Response> {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path();
    let is_report = method == poem::http::Method::POST && path == "/v1/reports";
    // Labelled only if logged: reports are the hot path.
    let route = (!is_report).then(|| route_label(path));
    let response = next
        .call(request)
        .await
        .map(IntoResponse::into_response)
        .unwrap_or_else(|e| e.into_response());
    let Some(route) = route else {
        report_counts.count(response.status().as_u16());
        return Ok(response);
    };
    tracing::info!(
        %method,
        route,
        status = response.status().as_u16(),
        micros = started.elapsed().as_micros() as u64,
        "request"
    );
    Ok(response)
}

/// The path with every segment that is not a fixed word of a route
/// replaced by `*`: `/v1/receipts/*`, `/tile/*/*`.
fn route_label(path: &str) -> String {
    const WORDS: &[&str] = &[
        "",
        "v1",
        "reports",
        "receipts",
        "roots",
        "latest",
        "entries",
        "deployments",
        "proofs",
        "inclusion",
        "consistency",
        "log",
        "stats",
        "tile",
        "checkpoint",
        "openapi.json",
        "docs",
        "healthz",
        "deployment",
        "assets",
    ];
    path.split('/')
        .map(|segment| {
            if WORDS.contains(&segment) {
                segment
            } else {
                "*"
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::route_label;

    #[test]
    fn route_labels_hide_variable_parts() {
        assert_eq!(route_label("/v1/reports"), "/v1/reports");
        assert_eq!(route_label("/v1/receipts/0a1b"), "/v1/receipts/*");
        assert_eq!(
            route_label("/v1/deployments/abcd/entries"),
            "/v1/deployments/*/entries"
        );
        assert_eq!(route_label("/tile/0/x001/002.p/7"), "/tile/*/*/*/*");
    }
}
