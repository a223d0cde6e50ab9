//! `GET /v1/stats`: exact aggregates over the published entries. Nothing
//! pending is counted, so the answer changes only when a root is signed.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::AppState;
use super::problem::{Problems, ReadProblems};
use crate::storage::stats::Stats;

/// Aggregates over every entry the latest signed root covers.
#[derive(Object)]
pub struct StatsBody {
    /// The size of the latest signed root: the number of entries counted (0 before the first root).
    pub size: u64,
    /// The UTC day the latest signed root closes; every window counts back from it. Absent before
    /// the first root.
    #[oai(skip_serializing_if_is_none)]
    pub day: Option<String>,
    /// Distinct deployments with a published entry in the last days.
    pub active_deployments: ActiveDeploymentsBody,
    /// Published entries per UTC day, for every day from the log's inception to `day`, days
    /// without reports included (as 0).
    pub reports_per_day: Vec<DayReportsBody>,
    /// Versions in use: for each version, the distinct deployments that reported it in the 30
    /// days ending on `day` (a deployment that changed version in that time counts under each).
    /// Most used first, at most 100; versions no deployment reported in that time are left out.
    pub versions: Vec<VersionUseBody>,
    /// How many less used versions are in use beyond the 100 listed (anyone can invent a version).
    pub unlisted_versions: u64,
    /// Sums over every published entry.
    pub totals: TotalsBody,
}

/// Distinct deployments with a published entry in the last N days, counting back from the
/// latest root's day, that day included.
#[derive(Object)]
pub struct ActiveDeploymentsBody {
    /// On the latest root's day.
    pub last_1_day: u64,
    /// In the 7 days ending on the latest root's day.
    pub last_7_days: u64,
    /// In the 30 days ending on the latest root's day.
    pub last_30_days: u64,
}

/// The published entries of one UTC day.
#[derive(Object)]
pub struct DayReportsBody {
    /// The UTC day (YYYY-MM-DD).
    pub day: String,
    /// Entries whose `day` is this day: one per deployment that reported.
    pub reports: u64,
}

/// How many deployments use a version.
#[derive(Object)]
pub struct VersionUseBody {
    /// The product version, as reported.
    pub version: String,
    /// Distinct deployments that reported this version in the 30 days ending on the latest
    /// root's day.
    pub deployments: u64,
}

/// Sums over every published entry. They can exceed 64 bits, so each is a decimal string.
#[derive(Object)]
pub struct TotalsBody {
    /// The sum of `tokens_created`, in decimal.
    pub tokens_created: String,
    /// The sum of `tokens_detokenized`, in decimal.
    pub tokens_detokenized: String,
    /// The sum of `grants_issued`, in decimal.
    pub grants_issued: String,
}

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
