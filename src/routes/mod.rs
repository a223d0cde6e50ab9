//! The whole application: the API and the pages under one router, with
//! what every request goes through (CORS, a time limit, problem answers,
//! and a log line without addresses; reports only counted).

mod metrics;
mod report_counts;

use std::sync::Arc;
use std::time::Duration;

use poem::endpoint::make_sync;
use poem::middleware::{Compression, Cors};
use poem::{Endpoint, EndpointExt, Request, Response, Route, get};

pub use metrics::metrics_app;
pub use report_counts::ReportCounts;

use crate::api::{self, Limit, RateLimiter};
use crate::http::problem::{self, ApiError};
use crate::listener::{call_logged, within_limit};
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
    let docs = Arc::new(pages::DocsPage::new(&spec));
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
        .at("/docs", pages::docs())
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
        .data(docs)
        .with(Cors::new())
        .around(move |next, request| {
            within_limit(request_timeout, next, request, || ApiError::TimedOut.into())
        })
        .catch_all_error(problem::into_problem)
        .around(move |next, request| log_request(next, request, report_counts.clone()))
}

/// Logs method, route, status and duration: never the client's address,
/// a header, or the path's variable parts (a path can name a deployment).
/// Reports are counted instead (see [`ReportCounts`]).
async fn log_request<E: Endpoint>(
    next: E,
    request: Request,
    report_counts: Arc<ReportCounts>,
) -> poem::Result<Response> {
    let path = request.uri().path();
    let is_report = request.method() == poem::http::Method::POST && path == "/v1/reports";
    // Labelled only if logged: reports are the hot path.
    let route = (!is_report).then(|| route_label(path));
    let response = call_logged(next, request, route.as_deref()).await;
    if is_report {
        report_counts.count(response.status().as_u16());
    }
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
