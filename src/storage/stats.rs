//! Exact aggregates over the published entries (`GET /v1/stats`, the
//! `/stats` page), in memory that does not grow with the log or with the
//! number of deployments, which anyone can inflate by minting nonces.
//!
//! Sums and reports per day come from `day_totals`, which each publication
//! adds to. Distinct deployments over the windows come from merging the
//! windows' published runs: each root's new entries are sorted by
//! deployment, so a k-way merge meets all of a deployment's entries one
//! after the other and needs to hold only a chunk of each run.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};
use std::sync::Arc;

use lucent_core::period::{day_of, instant};
use lucent_core::record::{
    Day, Deployment, ParseError, ProductVersion, counts_of, day_and_deployment, version_of,
};
use time::Duration;
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use super::{ReadStore, Result, StorageError, split_entries};

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

/// Sums of entries' counts; 2^53 − 1 per entry times many entries needs
/// more than 64 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Totals {
    pub tokens_created: u128,
    pub tokens_detokenized: u128,
    pub grants_issued: u128,
}

/// What `day_totals` holds for a day: its entries and their sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DayTotals {
    pub reports: u64,
    pub totals: Totals,
}

impl DayTotals {
    /// Adds canonical record or entry bytes to the totals of their day.
    pub fn add_to_day(days: &mut BTreeMap<Day, DayTotals>, bytes: &[u8]) -> Result<(), ParseError> {
        let (day, _) = day_and_deployment(bytes)?;
        let [created, detokenized, grants] = counts_of(bytes)?;
        days.entry(day).or_default().add(&DayTotals {
            reports: 1,
            totals: Totals {
                tokens_created: created.get().into(),
                tokens_detokenized: detokenized.get().into(),
                grants_issued: grants.get().into(),
            },
        });
        Ok(())
    }

    pub fn add(&mut self, other: &DayTotals) {
        self.reports += other.reports;
        self.totals.tokens_created += other.totals.tokens_created;
        self.totals.tokens_detokenized += other.totals.tokens_detokenized;
        self.totals.grants_issued += other.totals.grants_issued;
    }
}

/// A `day_totals` row: day, reports, and the three sums in decimal.
pub(super) type DayTotalsRow = (String, i64, String, String, String);

impl DayTotals {
    pub(super) fn from_row(row: DayTotalsRow) -> Result<(Day, DayTotals)> {
        let (day, reports, created, detokenized, grants) = row;
        let corrupt = |what: &str| StorageError::Corrupt(format!("day_totals of {day}: {what}"));
        let sum = |text: &str| text.parse::<u128>().map_err(|_| corrupt("a sum"));
        let totals = DayTotals {
            reports: u64::try_from(reports).map_err(|_| corrupt("reports"))?,
            totals: Totals {
                tokens_created: sum(&created)?,
                tokens_detokenized: sum(&detokenized)?,
                grants_issued: sum(&grants)?,
            },
        };
        Ok((Day::parse(&day).map_err(|_| corrupt("the day"))?, totals))
    }
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

/// The first day of the `days`-day window that ends on `last`.
fn window_start(last: Day, days: u16) -> Day {
    Day(last
        .0
        .checked_sub(Duration::days(i64::from(days) - 1))
        .unwrap_or(time::Date::MIN))
}

/// What the windows need of an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Counted {
    day: Day,
    deployment: Deployment,
    version: ProductVersion,
}

impl Counted {
    fn parse(entry: &[u8]) -> Result<Counted, ParseError> {
        let (day, deployment) = day_and_deployment(entry)?;
        let version = version_of(entry)?;
        Ok(Counted {
            day,
            deployment,
            version,
        })
    }
}

/// Published entries by index, as the merge reads them.
trait EntrySource {
    /// Entries `start..end`, sorted by deployment (the order of a run).
    fn sorted_chunk(
        &self,
        start: u64,
        end: u64,
    ) -> impl Future<Output = Result<Vec<Counted>>> + Send;
}

impl EntrySource for ReadStore {
    async fn sorted_chunk(&self, start: u64, end: u64) -> Result<Vec<Counted>> {
        let joined = self.entries_joined(start, end).await?;
        let mut chunk = split_entries(&joined)
            .map(Counted::parse)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StorageError::Corrupt(format!("an entry of {start}..{end}: {e}")))?;
        // SQLite joins them in no promised order; a run's chunk is a
        // contiguous part of it, so sorting restores the run's order.
        chunk.sort_unstable_by_key(|c| c.deployment);
        Ok(chunk)
    }
}

/// Entries `next..end` of one run, read a chunk at a time.
struct Run {
    next: u64,
    end: u64,
    chunk: u64,
    buffered: VecDeque<Counted>,
}

impl Run {
    /// The run's next entry, reading a chunk if none is buffered.
    async fn head(&mut self, source: &impl EntrySource) -> Result<Option<&Counted>> {
        if self.buffered.is_empty() && self.next < self.end {
            let until = self.end.min(self.next + self.chunk);
            let entries = source.sorted_chunk(self.next, until).await?;
            if entries.len() as u64 != until - self.next {
                return Err(StorageError::Corrupt(format!(
                    "entries {}..{until} are missing below a signed size",
                    self.next
                )));
            }
            self.next = until;
            self.buffered = entries.into();
        }
        Ok(self.buffered.front())
    }
}

/// Active deployments and versions in use, counted one deployment at a
/// time.
struct WindowCounts {
    starts: [Day; 3],
    active: [u64; 3],
    versions: HashMap<ProductVersion, u64>,
}

impl WindowCounts {
    fn new(day: Day) -> WindowCounts {
        WindowCounts {
            starts: WINDOWS.map(|days| window_start(day, days)),
            active: [0; 3],
            versions: HashMap::new(),
        }
    }

    /// One deployment: the last day it reported within the widest window,
    /// and the versions it reported in it.
    fn add_deployment(&mut self, last: Day, versions: &[ProductVersion]) {
        for (active, start) in self.active.iter_mut().zip(self.starts) {
            *active += u64::from(last >= start);
        }
        for version in versions {
            *self.versions.entry(version.clone()).or_default() += 1;
        }
    }

    /// Merges the runs (each sorted by deployment) and counts each
    /// deployment once.
    async fn count(&mut self, source: &impl EntrySource, bounds: &[u64], chunk: u64) -> Result<()> {
        let widest = self.starts[2];
        let mut runs: Vec<Run> = bounds
            .windows(2)
            .filter(|w| w[0] < w[1])
            .map(|w| Run {
                next: w[0],
                end: w[1],
                chunk,
                buffered: VecDeque::new(),
            })
            .collect();
        let mut heads = BinaryHeap::new();
        for (i, run) in runs.iter_mut().enumerate() {
            if let Some(entry) = run.head(source).await? {
                heads.push(Reverse((entry.deployment, i)));
            }
        }
        // The deployment being counted, its last day, its versions.
        let mut current: Option<(Deployment, Day, Vec<ProductVersion>)> = None;
        while let Some(Reverse((deployment, i))) = heads.pop() {
            let record = runs[i].buffered.pop_front().expect("a head");
            if let Some(next) = runs[i].head(source).await? {
                heads.push(Reverse((next.deployment, i)));
            }
            if record.day < widest {
                continue;
            }
            match &mut current {
                Some((counted, last, versions)) if *counted == deployment => {
                    *last = (*last).max(record.day);
                    if !versions.contains(&record.version) {
                        versions.push(record.version);
                    }
                }
                _ => {
                    if let Some((_, last, versions)) = current.take() {
                        self.add_deployment(last, &versions);
                    }
                    current = Some((deployment, record.day, vec![record.version]));
                }
            }
        }
        if let Some((_, last, versions)) = current {
            self.add_deployment(last, &versions);
        }
        Ok(())
    }

    fn active(&self) -> ActiveDeployments {
        let [last_1_day, last_7_days, last_30_days] = self.active;
        ActiveDeployments {
            last_1_day,
            last_7_days,
            last_30_days,
        }
    }

    /// The most used versions, most used first, and how many more there
    /// are: anyone can invent versions, and the answer stays bounded.
    fn versions(self) -> (Vec<(ProductVersion, u64)>, u64) {
        let mut versions: Vec<_> = self.versions.into_iter().collect();
        versions.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let unlisted = versions.len().saturating_sub(MAX_LISTED_VERSIONS);
        versions.truncate(MAX_LISTED_VERSIONS);
        (versions, unlisted as u64)
    }
}

/// Computes the stats of the latest signed root.
async fn compute(read: ReadStore) -> Result<Stats> {
    let (root, day_totals) = read.latest_root_with_day_totals().await?;
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
    let size = root.size as u64;
    if totals.reports != size {
        return Err(StorageError::Corrupt(format!(
            "day_totals counts {} entries, the latest root {size}",
            totals.reports
        )));
    }
    let day =
        Day::parse(&root.day).map_err(|e| StorageError::Corrupt(format!("a root's day: {e}")))?;
    let mut windows = WindowCounts::new(day);
    let bounds = read
        .sizes_since_day(&windows.starts[2].to_string(), root.period_end)
        .await?;
    windows.count(&read, &bounds, RUN_CHUNK).await?;
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
    pub async fn get(&self, read: &ReadStore) -> Result<Arc<Stats>> {
        // One caller at a time waits for the computation; the others wait
        // for the lock, then find its result.
        let mut state = self.state.lock().await;
        let root = read.latest_root().await?;
        let key: RootKey = root.map_or((0, None), |r| (r.size as u64, Some(r.day)));
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
    use lucent_core::Hash;
    use lucent_core::record::{Count, Entry, MAX_COUNT, Record};

    fn day(text: &str) -> Day {
        Day::parse(text).unwrap()
    }

    fn entry(on: &str, deployment: u8, version: &str, count: u64) -> Entry {
        let count = Count::new(count).unwrap();
        Entry {
            record: Record {
                day: day(on),
                deployment: Deployment(Hash([deployment; 32])),
                version: ProductVersion::parse(version).unwrap(),
                tokens_created: count,
                tokens_detokenized: count,
                grants_issued: count,
            },
            prev: Hash::ZERO,
        }
    }

    /// A log in memory: runs of entries, each sorted by deployment.
    struct Log(Vec<Entry>);

    impl EntrySource for Log {
        async fn sorted_chunk(&self, start: u64, end: u64) -> Result<Vec<Counted>> {
            (start..end)
                .map(|i| Ok(Counted::parse(&self.0[i as usize].to_bytes()).unwrap()))
                .collect()
        }
    }

    impl Log {
        /// The log of `runs`, and the sizes at which each run ends, after 0.
        fn of(runs: Vec<Vec<Entry>>) -> (Log, Vec<u64>) {
            let mut bounds = vec![0];
            let mut entries = Vec::new();
            for run in runs {
                entries.extend(run);
                bounds.push(entries.len() as u64);
            }
            (Log(entries), bounds)
        }
    }

    async fn count(day_: &str, runs: Vec<Vec<Entry>>, chunk: u64) -> WindowCounts {
        let (log, bounds) = Log::of(runs);
        let mut windows = WindowCounts::new(day(day_));
        windows.count(&log, &bounds, chunk).await.unwrap();
        windows
    }

    fn versions(windows: WindowCounts) -> Vec<(String, u64)> {
        windows
            .versions()
            .0
            .into_iter()
            .map(|(v, n)| (v.as_str().to_owned(), n))
            .collect()
    }

    #[tokio::test]
    async fn windows_count_back_from_the_roots_day_inclusive() {
        let runs = vec![
            vec![entry("2026-10-01", 1, "1.0.0", 1)],
            vec![entry("2026-10-06", 2, "1.0.0", 1)],
            vec![entry("2026-10-29", 3, "1.1.0", 1)],
            vec![entry("2026-11-04", 1, "1.1.0", 1)],
        ];
        let windows = count("2026-11-04", runs, RUN_CHUNK).await;
        // 2026-10-06 is the 30th day back from 2026-11-04; 10-29 the 7th;
        // deployment 1's first report (and its version) is in no window.
        assert_eq!(
            windows.active(),
            ActiveDeployments {
                last_1_day: 1,
                last_7_days: 2,
                last_30_days: 3
            }
        );
        assert_eq!(
            versions(windows),
            [("1.1.0".to_owned(), 2), ("1.0.0".to_owned(), 1)]
        );
    }

    /// Anyone can invent versions: the most used are listed, the rest
    /// only counted.
    #[tokio::test]
    async fn versions_beyond_the_listed_ones_are_counted() {
        let mut run: Vec<Entry> = (0..=MAX_LISTED_VERSIONS as u8)
            .map(|d| entry("2026-11-04", d, &format!("1.0.{d}"), 1))
            .collect();
        run.push(entry("2026-11-04", 200, "1.0.7", 1));
        let (listed, unlisted) = count("2026-11-04", vec![run], RUN_CHUNK).await.versions();
        assert_eq!(listed.len(), MAX_LISTED_VERSIONS);
        assert_eq!((listed[0].0.as_str(), listed[0].1), ("1.0.7", 2));
        assert_eq!(unlisted, 1);
    }

    /// A deployment in many runs counts once in each window and once per
    /// version, whatever the chunks the runs are read in.
    #[tokio::test]
    async fn the_merge_counts_each_deployment_once() {
        let days = ["2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04"];
        let runs: Vec<Vec<Entry>> = days
            .iter()
            .enumerate()
            .map(|(n, on)| {
                // Deployments 0..=2n every day: sorted, overlapping runs;
                // deployment 0 changes version on the last day.
                (0..=2 * n as u8)
                    .map(|d| {
                        let version = if d == 0 && n == 3 { "2.0.0" } else { "1.0.0" };
                        entry(on, d, version, 1)
                    })
                    .collect()
            })
            .collect();
        for chunk in [1, 2, 3, RUN_CHUNK] {
            let windows = count("2026-11-04", runs.clone(), chunk).await;
            assert_eq!(
                windows.active(),
                ActiveDeployments {
                    last_1_day: 7,
                    last_7_days: 7,
                    last_30_days: 7
                },
                "chunk {chunk}"
            );
            assert_eq!(
                versions(windows),
                [("1.0.0".to_owned(), 7), ("2.0.0".to_owned(), 1)],
                "chunk {chunk}"
            );
        }
        let windows = count("2026-11-10", runs, 2).await;
        assert_eq!(windows.active().last_1_day, 0);
        assert_eq!(windows.active().last_7_days, 7, "11-04 is the 7th day back");
    }

    #[test]
    fn totals_do_not_wrap_at_64_bits() {
        let mut days = BTreeMap::new();
        for _ in 0..2049u32 {
            let bytes = entry("2026-11-01", 1, "1.0.0", MAX_COUNT).to_bytes();
            DayTotals::add_to_day(&mut days, &bytes).unwrap();
        }
        let totals = days[&day("2026-11-01")];
        let want = 2049 * u128::from(MAX_COUNT);
        assert!(want > u128::from(u64::MAX));
        assert_eq!(totals.reports, 2049);
        assert_eq!(totals.totals.tokens_created, want);
        assert_eq!(totals.totals.grants_issued, want);
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
