//! `GET /v1/stats`: exact aggregates over the published entries, at the
//! signed root they name. Nothing pending is counted, so the answer changes
//! only when a root is signed.

use poem::web::Data;
use poem_openapi::OpenApi;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;

use lucent_core::record::Day;

use crate::http::answers::stats_body;
use crate::http::problem::{ApiError, Problems, ReadProblems};
use crate::published::PublishedLog;
use crate::stats::StatsAt;
use crate::wire::StatsBody;

pub struct StatsApi;

#[OpenApi]
impl StatsApi {
    /// Exact aggregates over the entries of a signed root: active deployments, reports per day,
    /// versions in use, and token and grant totals. Pending reports are not counted. The answer
    /// names its root (`size`, `root_hash`, `day`) and is a function of that root's entries alone:
    /// `lucent verify` recomputes it. Without `day`, the latest root; with it, the last root that
    /// closes within that UTC day (404 if none does).
    #[oai(path = "/v1/stats", method = "get", operation_id = "getStats")]
    async fn stats(
        &self,
        log: Data<&PublishedLog>,
        /// A UTC day (YYYY-MM-DD): the stats at the last root that closes within it.
        day: Query<Option<String>>,
    ) -> Result<Json<StatsBody>, Problems<ReadProblems>> {
        let at = match &day.0 {
            None => StatsAt::Latest,
            Some(day) => StatsAt::Day(
                Day::parse(day)
                    .map_err(|_| ApiError::BadRequest("a day is a date YYYY-MM-DD".into()))?,
            ),
        };
        let stats = log
            .stats(at)
            .await?
            .ok_or_else(|| ApiError::NotFound("no signed root closes within that day".into()))?;
        Ok(Json(stats_body(&stats)))
    }
}
