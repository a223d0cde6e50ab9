//! The HTTP interface: routes, the OpenAPI description, and the middleware
//! that logs requests (without addresses or headers; reports only as counts)
//! and limits the rate of reports per client address.

mod problem;
mod rate_limit;
mod reads;
mod report_counts;
mod reports;
mod stats;
mod tiles;

use std::sync::Arc;
use std::time::{Duration, Instant};

use poem::endpoint::make_sync;
use poem::middleware::{Compression, Cors};
use poem::web::Html;
use poem::{Endpoint, EndpointExt, IntoResponse, Request, Response, Route, get};
use poem_openapi::OpenApiService;

use lucent_core::note::SigningKey;
use lucent_core::period::Period;

pub use problem::{ApiError, Problem};
pub use rate_limit::{RateLimiter, TrustedProxies};
pub(crate) use reads::{EntriesPage, EntryBody, entries_by_deployment, entry_body};
pub use reads::{LogBody, ReceiptBody, RootBody};
pub use report_counts::ReportCounts;
pub use reports::{MAX_BODY, PromiseBody};

use crate::sequencer::Sequencer;
use crate::storage::ReadStore;
use crate::storage::stats::StatsCache;

/// What every endpoint shares.
pub struct AppState {
    pub sequencer: Sequencer,
    pub read: ReadStore,
    pub key: Arc<SigningKey>,
    pub origin: String,
    pub rate_limiter: Option<RateLimiter>,
    pub publish_period: Period,
    /// `/v1/stats` and the pages' numbers, computed once per root, after
    /// each new one (see `server::spawn_stats_refresh`).
    pub stats: Arc<StatsCache>,
    /// Answers to reports, logged as counts (see `server::spawn_report_count_log`).
    pub report_counts: ReportCounts,
}

impl Drop for AppState {
    /// The counts of the last minute, when the server stops.
    fn drop(&mut self) {
        self.report_counts.log();
    }
}

type Apis = (
    reports::ReportsApi,
    reads::ReadsApi,
    stats::StatsApi,
    tiles::CheckpointApi,
);

/// The API's OpenAPI service (the operations poem-openapi describes).
pub fn openapi_service() -> OpenApiService<Apis, ()> {
    OpenApiService::new(
        (
            reports::ReportsApi,
            reads::ReadsApi,
            stats::StatsApi,
            tiles::CheckpointApi,
        ),
        "lucent",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "A transparent telemetry log: daily usage reports kept in an append-only Merkle-tree \
         log with signed daily roots. Errors are RFC 9457 `application/problem+json`. \
         `x-max-answer-bytes` on a read operation is the largest answer it ever gives.",
    )
}

/// The largest answer of each read operation, in bytes: no request makes
/// the server send more than a bounded amount (SPEC section 7). Published
/// as `x-max-answer-bytes` in the OpenAPI description. An entry is at most
/// about 420 bytes (three 20-digit version numbers, a 20-byte pre-release,
/// three 16-digit counts).
const MAX_ANSWER_BYTES: &[(&str, u64)] = &[
    ("health", 16),
    ("getLog", 4 << 10),
    ("getCheckpoint", 4 << 10),
    ("getLatestRoot", 4 << 10),
    ("getRootOfDay", 4 << 10),
    // 1 000 roots or entries a page.
    ("listRoots", 1 << 20),
    ("listEntries", 1 << 20),
    ("listDeploymentEntries", 1 << 20),
    ("getEntry", 4 << 10),
    // At most 64 hashes; a receipt holds them twice, with an entry and a checkpoint.
    ("getInclusionProof", 8 << 10),
    ("getConsistencyProof", 8 << 10),
    ("getReceipt", 16 << 10),
    // A line a day since the log began (about 40 bytes), and at most 100 versions.
    ("getStats", 1 << 20),
    ("getHashTile", 8 << 10),
    ("getEntryBundle", 128 << 10),
];

/// The whole OpenAPI description, as served at `/openapi.json` and
/// committed under `openapi/`: the operations plus the C2SP tile paths,
/// whose indexes span several path segments, which poem-openapi cannot
/// express.
pub fn openapi_json() -> String {
    let mut spec: serde_json::Value =
        serde_json::from_str(&openapi_service().spec()).expect("poem-openapi writes JSON");
    let paths = spec["paths"].as_object_mut().expect("a paths object");
    paths.extend(tiles::openapi_paths());
    for operation in paths.values_mut().filter_map(|path| path.get_mut("get")) {
        let id = &operation["operationId"];
        if let Some((_, limit)) = MAX_ANSWER_BYTES.iter().find(|(name, _)| id == name) {
            operation["x-max-answer-bytes"] = (*limit).into();
        }
    }
    serde_json::to_string_pretty(&spec).expect("JSON serializes") + "\n"
}

/// The whole application.
pub fn app(state: Arc<AppState>, request_timeout: Duration) -> impl Endpoint<Output = Response> {
    let api = openapi_service();
    let spec = openapi_json();
    // The interactive docs embed the spec: give them the whole one.
    let docs = api.scalar_html().replace(&api.spec(), &spec);
    let writes = rate_limit::Limit {
        state: state.clone(),
    };
    let logged = state.clone();
    Route::new()
        .nest("/", crate::pages::index_or(api.with(writes)))
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
            get(tiles::tile).with(Compression::new()),
        )
        .at("/tile/*rest", get(tiles::tile))
        .at("/stats", crate::pages::stats())
        .at("/deployment", crate::pages::deployment())
        .nest("/assets", crate::pages::assets())
        .data(state)
        .with(Cors::new())
        .around(move |next, request| with_timeout(next, request, request_timeout))
        .catch_all_error(problem::into_problem)
        .around(move |next, request| log_request(next, request, logged.clone()))
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
    state: Arc<AppState>,
) -> poem::Result<Response> {
    let started = Instant::now();
    let method = request.method().clone();
    let is_report = method == poem::http::Method::POST && request.uri().path() == "/v1/reports";
    let route = route_label(request.uri().path());
    let response = next
        .call(request)
        .await
        .map(IntoResponse::into_response)
        .unwrap_or_else(|e| e.into_response());
    if is_report {
        state.report_counts.count(response.status().as_u16());
        return Ok(response);
    }
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
