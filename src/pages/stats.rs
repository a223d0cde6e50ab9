//! `/stats`: the aggregates of `/v1/stats` as charts, each with its numbers
//! in a table.

use std::sync::Arc;

use askama::Template;
use askama_web::WebTemplate;
use poem::handler;
use poem::web::Data;

use super::chart::{self, Bar, Svg};
use crate::http::problem::ApiError;
use crate::published::PublishedLog;
use crate::stats::{Stats, WIDEST_WINDOW_DAYS};

/// The days the reports chart shows, counting back from the latest root.
const CHART_DAYS: usize = 90;

#[derive(Template, WebTemplate)]
#[template(path = "stats.html")]
pub struct StatsPage {
    stats: Arc<Stats>,
    /// What the command that recomputes these numbers needs.
    public_url: String,
    verifier_key: String,
    version_window: u16,
    active: Vec<Bar>,
    active_chart: Svg,
    days: Vec<Bar>,
    days_chart: Svg,
    versions: Vec<Bar>,
    versions_chart: Svg,
}

impl StatsPage {
    fn path(&self) -> &'static str {
        "stats"
    }
}

#[handler]
pub async fn page(log: Data<&PublishedLog>) -> poem::Result<StatsPage> {
    let stats = log.latest_stats().await.map_err(ApiError::from)?;
    let info = log.info().await.map_err(ApiError::from)?;

    let active = vec![
        Bar {
            label: "On the latest day".into(),
            value: stats.active.last_1_day,
        },
        Bar {
            label: "In the last 7 days".into(),
            value: stats.active.last_7_days,
        },
        Bar {
            label: "In the last 30 days".into(),
            value: stats.active.last_30_days,
        },
    ];
    let first_shown = stats.reports_per_day.len().saturating_sub(CHART_DAYS);
    let days: Vec<Bar> = stats.reports_per_day[first_shown..]
        .iter()
        .map(|(day, reports)| Bar {
            label: day.to_string(),
            value: *reports,
        })
        .collect();
    // Listed in version order, oldest first, not by use.
    let mut listed: Vec<_> = stats.versions.iter().collect();
    listed.sort_by(|(a, _), (b, _)| a.cmp_precedence(b));
    let versions: Vec<Bar> = listed
        .into_iter()
        .map(|(version, deployments)| Bar {
            label: version.as_str().to_owned(),
            value: *deployments,
        })
        .collect();
    Ok(StatsPage {
        active_chart: chart::bars("Active deployments", &active),
        days_chart: chart::columns("Reports per day", "reports a day", &days),
        versions_chart: chart::bars(
            &format!("Deployments per version, the last {WIDEST_WINDOW_DAYS} days"),
            &versions,
        ),
        version_window: WIDEST_WINDOW_DAYS,
        stats,
        public_url: super::public_url(&info.origin),
        verifier_key: info.verifier_key,
        active,
        days,
        versions,
    })
}
