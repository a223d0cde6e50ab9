//! `GET /v1/stats`: exact aggregates over the published entries. Nothing
//! pending is counted, so the answer changes only when a root is signed.

use poem::web::Data;
use poem_openapi::OpenApi;
use poem_openapi::payload::Json;

use crate::http::problem::{Problems, ReadProblems};
use crate::published::PublishedLog;
use crate::wire::StatsBody;

pub struct StatsApi;

#[OpenApi]
impl StatsApi {
    /// Exact aggregates over the published entries: active deployments, reports per day, versions
    /// in use, and token and grant totals. Pending reports are not counted.
    #[oai(path = "/v1/stats", method = "get", operation_id = "getStats")]
    async fn stats(
        &self,
        log: Data<&PublishedLog>,
    ) -> Result<Json<StatsBody>, Problems<ReadProblems>> {
        Ok(Json(StatsBody::from(&*log.stats().await?)))
    }
}
