//! `GET /metrics` on the operator's own address (`--metrics-listen`): the
//! counters of [`Metrics`] and the gauges of the moment, in the
//! OpenMetrics text format that Prometheus scrapes.

use std::sync::Arc;

use poem::http::StatusCode;
use poem::{Endpoint, EndpointExt, IntoResponse, Response, Route, get, handler, web::Data};

use crate::clock::Clock;
use crate::metrics::{Gauges, Metrics};
use crate::published::PublishedLog;
use crate::sequencer::Sequencer;

/// What a scrape reads.
#[derive(Clone)]
struct Scraped {
    metrics: Metrics,
    sequencer: Sequencer,
    log: PublishedLog,
    clock: Arc<dyn Clock>,
}

pub fn metrics_app(
    metrics: Metrics,
    sequencer: Sequencer,
    log: PublishedLog,
    clock: Arc<dyn Clock>,
) -> impl Endpoint<Output = Response> {
    let scraped = Scraped {
        metrics,
        sequencer,
        log,
        clock,
    };
    Route::new()
        .at("/metrics", get(scrape))
        .data(scraped)
        .map_to_response()
}

#[handler]
async fn scrape(scraped: Data<&Scraped>) -> Response {
    let Scraped {
        metrics,
        sequencer,
        log,
        clock,
    } = *scraped;
    let last_root = match log.latest_signed_root().await {
        Ok(root) => root.map(|root| {
            let age = clock.now().unix_timestamp() - root.period_end;
            (root.entries(), age)
        }),
        Err(e) => {
            tracing::warn!(error = %e, "reading the latest root for the metrics");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let witnesses = match log.witness_progress().await {
        Ok(progress) => progress
            .into_iter()
            .map(|p| (p.witness, u64::try_from(p.size).unwrap_or(0)))
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "reading the witnesses' progress for the metrics");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let gauges = Gauges {
        queue_capacity: sequencer.queue_capacity() as u64,
        ready: sequencer.ready().is_ok(),
        last_root,
        witnesses,
    };
    Response::builder()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(metrics.render(&gauges))
}
