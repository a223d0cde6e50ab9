//! `GET /v1/stats`: exact aggregates over the published entries. Nothing
//! pending is counted, so the answer changes only when a root is signed.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::OpenApi;
use poem_openapi::payload::Json;

use super::AppState;
use super::problem::{Problems, ReadProblems};
use crate::storage::stats::Stats;
use crate::wire::{ActiveDeploymentsBody, DayReportsBody, StatsBody, TotalsBody, VersionUseBody};

impl From<&Stats> for StatsBody {
    fn from(stats: &Stats) -> StatsBody {
        StatsBody {
            size: stats.size,
            day: stats.day.map(|d| d.to_string()),
            active_deployments: ActiveDeploymentsBody {
                last_1_day: stats.active.last_1_day,
                last_7_days: stats.active.last_7_days,
                last_30_days: stats.active.last_30_days,
            },
            reports_per_day: stats
                .reports_per_day
                .iter()
                .map(|(day, reports)| DayReportsBody {
                    day: day.to_string(),
                    reports: *reports,
                })
                .collect(),
            versions: stats
                .versions
                .iter()
                .map(|(version, deployments)| VersionUseBody {
                    version: version.as_str().to_owned(),
                    deployments: *deployments,
                })
                .collect(),
            unlisted_versions: stats.unlisted_versions,
            totals: TotalsBody {
                tokens_created: stats.totals.tokens_created.to_string(),
                tokens_detokenized: stats.totals.tokens_detokenized.to_string(),
                grants_issued: stats.totals.grants_issued.to_string(),
            },
        }
    }
}

pub struct StatsApi;

#[OpenApi]
impl StatsApi {
    /// Exact aggregates over the published entries: active deployments, reports per day, versions
    /// in use, and token and grant totals. Pending reports are not counted.
    #[oai(path = "/v1/stats", method = "get", operation_id = "getStats")]
    async fn stats(
        &self,
        state: Data<&Arc<AppState>>,
    ) -> Result<Json<StatsBody>, Problems<ReadProblems>> {
        let stats = state.stats.get(&state.read).await?;
        Ok(Json(StatsBody::from(&*stats)))
    }
}
