//! Exact aggregates over the published entries (`GET /v1/stats`, the
//! `/stats` page), in memory that does not grow with the log or with the
//! number of deployments, which anyone can inflate by minting nonces.
//!
//! Sums and reports per day come from `day_totals`
//! (`src/storage/day_totals.rs`), which each publication adds to. Distinct deployments over the windows come from merging the
//! windows' published runs: each root's new entries are sorted by
//! deployment, so a k-way merge meets all of a deployment's entries one
//! after the other and needs to hold only a chunk of each run.

use std::collections::BTreeMap;
use std::sync::Arc;

use lucent_core::period::{day_of, instant};
use lucent_core::record::{Day, ProductVersion};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use crate::storage::{DayTotals, LogReader, Result, RootRow, Roots, StorageError, Totals};
use windows::WindowCounts;

mod windows;

/// The most versions in use that the stats list.
pub const MAX_LISTED_VERSIONS: usize = 100;

/// The widest window over which active deployments and versions in use are
/// counted.
pub const WIDEST_WINDOW_DAYS: u16 = 30;

/// The windows of active deployments, in days.
const WINDOWS: [u16; 3] = [1, 7, WIDEST_WINDOW_DAYS];

/// Entries read from one run at a time: the merge holds at most this many
/// of each run of the widest window.
const RUN_CHUNK: u64 = 2048;

/// Distinct deployments with a published entry in the last days, counting
/// back from the latest root's day, that day included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ActiveDeployments {
    pub last_1_day: u64,
    pub last_7_days: u64,
    pub last_30_days: u64,
}

/// The aggregates of the log at one signed root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    /// The size of the root: the entries counted.
    pub size: u64,
    /// The day the root closes; `None` before the first root.
    pub day: Option<Day>,
    pub active: ActiveDeployments,
    /// Every day from the log's inception to `day`, zeros included.
    pub reports_per_day: Vec<(Day, u64)>,
    /// Distinct deployments that reported each version in the last
    /// [`WIDEST_WINDOW_DAYS`] days, most used first, at most
    /// [`MAX_LISTED_VERSIONS`].
    pub versions: Vec<(ProductVersion, u64)>,
    /// How many less used versions are in use beyond those listed.
    pub unlisted_versions: u64,
    pub totals: Totals,
}

/// Computes the stats of the latest signed root.
async fn compute(read: Arc<dyn LogReader>) -> Result<Stats> {
    let (root, day_totals) = read.day_totals().await?;
    let mut totals = DayTotals::default();
    for day in day_totals.values() {
        totals.add(day);
    }
    let Some(root) = root else {
        return Ok(Stats {
            size: 0,
            day: None,
            active: ActiveDeployments::default(),
            reports_per_day: Vec::new(),
            versions: Vec::new(),
            unlisted_versions: 0,
            totals: totals.totals,
        });
    };
    let size = root.entries();
    if totals.reports != size {
        return Err(StorageError::Corrupt(format!(
            "day_totals counts {} entries, the latest root {size}",
            totals.reports
        )));
    }
    let day =
        Day::parse(&root.day).map_err(|e| StorageError::Corrupt(format!("a root's day: {e}")))?;
    let mut windows = WindowCounts::new(day);
    let bounds = run_bounds(&*read, windows.starts[2], root.period_end).await?;
    windows.count(&*read, &bounds, RUN_CHUNK).await?;
    let inception = day_of(instant(read.log_info().await?.inception));
    let active = windows.active();
    let (versions, unlisted_versions) = windows.versions();
    Ok(Stats {
        size,
        day: Some(day),
        active,
        reports_per_day: every_day(inception, day, &day_totals),
        versions,
        unlisted_versions,
        totals: totals.totals,
    })
}

/// Where the runs of entries published for days from `first` on begin and
/// end: the size before them, then the size of each root up to the one
/// ending `period_end`.
async fn run_bounds(read: &dyn LogReader, first: Day, period_end: i64) -> Result<Vec<u64>> {
    let before = read.root(Roots::LastBefore(first)).await?;
    let since = read.roots(Roots::Since { first, period_end }).await?;
    Ok(std::iter::once(before.map_or(0, |root| root.entries()))
        .chain(since.iter().map(RootRow::entries))
        .collect())
}

/// The reports of every day from `first` to `last`, zeros included.
fn every_day(first: Day, last: Day, day_totals: &BTreeMap<Day, DayTotals>) -> Vec<(Day, u64)> {
    std::iter::successors(Some(first), |d| d.0.next_day().map(Day))
        .take_while(|d| *d <= last)
        .map(|d| (d, day_totals.get(&d).map_or(0, |t| t.reports)))
        .collect()
}

/// The stats of the latest signed root, computed once per root.
#[derive(Default)]
pub struct StatsCache {
    state: Mutex<CacheState>,
}

#[derive(Default)]
struct CacheState {
    latest: Option<Arc<Stats>>,
    /// The computation under way, and the root it started from. It runs in
    /// its own task, so a request that gives up waiting does not cancel it.
    running: Option<(RootKey, JoinHandle<Result<Stats>>)>,
}

/// What the stats depend on in a root: its size and its day (a root of a
/// period without reports moves the windows only if it closes a new day).
type RootKey = (u64, Option<String>);

impl Stats {
    fn root_key(&self) -> RootKey {
        (self.size, self.day.map(|day| day.to_string()))
    }
}

impl StatsCache {
    /// The stats over every entry the latest signed root covers.
    pub async fn get(&self, read: &Arc<dyn LogReader>) -> Result<Arc<Stats>> {
        // One caller at a time waits for the computation; the others wait
        // for the lock, then find its result.
        let mut state = self.state.lock().await;
        let root = read.root(Roots::Latest).await?;
        let key: RootKey = root.map_or((0, None), |r| (r.entries(), Some(r.day)));
        if let Some(stats) = state.latest.as_ref().filter(|s| s.root_key() == key) {
            return Ok(stats.clone());
        }
        if state
            .running
            .as_ref()
            .is_none_or(|(started, _)| *started != key)
        {
            if let Some((_, outdated)) = state.running.take() {
                outdated.abort();
            }
            let read = read.clone();
            state.running = Some((
                key,
                tokio::spawn(async move {
                    let started = std::time::Instant::now();
                    let stats = compute(read).await?;
                    tracing::info!(
                        size = stats.size,
                        millis = started.elapsed().as_millis() as u64,
                        "computed the stats"
                    );
                    Ok(stats)
                }),
            ));
        }
        let (_, computation) = state.running.as_mut().expect("running");
        let computed = computation.await;
        state.running = None;
        let stats =
            Arc::new(computed.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))?);
        state.latest = Some(stats.clone());
        Ok(stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> Day {
        Day::parse(text).unwrap()
    }

    #[test]
    fn every_day_fills_days_without_reports() {
        let mut day_totals = BTreeMap::new();
        day_totals.insert(
            day("2026-11-02"),
            DayTotals {
                reports: 3,
                ..DayTotals::default()
            },
        );
        assert_eq!(
            every_day(day("2026-11-01"), day("2026-11-03"), &day_totals),
            [
                (day("2026-11-01"), 0),
                (day("2026-11-02"), 3),
                (day("2026-11-03"), 0)
            ]
        );
    }
}
