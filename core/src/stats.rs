//! The aggregates of `GET /v1/stats` (SPEC section 5) as a pure function of
//! the entries a signed root covers: the one definition that the server
//! computes incrementally and `lucent verify` recomputes from scratch.
//!
//! - Totals and reports per day: sums over every entry, by the entry's day.
//! - Active deployments: distinct deployments with an entry in the 1, 7
//!   and 30 days that end on the root's day, that day included.
//! - Versions in use: for each version, the distinct deployments that
//!   reported it in the 30 days ending on the root's day; most used first,
//!   ties in the versions' text order; at most [`MAX_LISTED_VERSIONS`], the
//!   rest only counted.
//!
//! Both ways of computing them meet in [`WindowCounts`], fed one
//! deployment at a time, and [`Stats::assemble`].

use std::collections::{BTreeMap, HashMap};

use time::Duration;

use crate::Hash;
use crate::record::{Count, Day, Deployment, ProductVersion, Record};

/// The most versions in use that the stats list.
pub const MAX_LISTED_VERSIONS: usize = 100;

/// The widest window over which active deployments and versions in use are
/// counted.
pub const WIDEST_WINDOW_DAYS: u16 = 30;

/// The windows of active deployments, in days.
const WINDOWS: [u16; 3] = [1, 7, WIDEST_WINDOW_DAYS];

/// Sums of entries' counts; 2^53 − 1 per entry times many entries needs
/// more than 64 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Totals {
    pub tokens_created: u128,
    pub tokens_detokenized: u128,
    pub grants_issued: u128,
}

/// The entries of a day and their sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DayTotals {
    pub reports: u64,
    pub totals: Totals,
}

impl DayTotals {
    /// What one record adds, from its `tokens_created`,
    /// `tokens_detokenized` and `grants_issued`.
    pub fn of_counts([created, detokenized, grants]: [Count; 3]) -> DayTotals {
        DayTotals {
            reports: 1,
            totals: Totals {
                tokens_created: created.get().into(),
                tokens_detokenized: detokenized.get().into(),
                grants_issued: grants.get().into(),
            },
        }
    }

    pub fn add(&mut self, other: &DayTotals) {
        self.reports += other.reports;
        self.totals.tokens_created += other.totals.tokens_created;
        self.totals.tokens_detokenized += other.totals.tokens_detokenized;
        self.totals.grants_issued += other.totals.grants_issued;
    }
}

/// Distinct deployments with an entry in the last days, counting back from
/// the root's day, that day included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ActiveDeployments {
    pub last_1_day: u64,
    pub last_7_days: u64,
    pub last_30_days: u64,
}

/// The signed root the stats are computed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatsRoot {
    /// The entries it covers: the entries counted.
    pub size: u64,
    pub root_hash: Hash,
    /// The day it closes; every window counts back from it.
    pub day: Day,
}

/// The aggregates of the log at one signed root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    /// `None` before the first root, when every number is zero.
    pub root: Option<StatsRoot>,
    pub active: ActiveDeployments,
    /// Every day from the log's inception to the root's day, zeros included.
    pub reports_per_day: Vec<(Day, u64)>,
    /// Distinct deployments that reported each version in the last
    /// [`WIDEST_WINDOW_DAYS`] days, most used first, at most
    /// [`MAX_LISTED_VERSIONS`].
    pub versions: Vec<(ProductVersion, u64)>,
    /// How many less used versions are in use beyond those listed.
    pub unlisted_versions: u64,
    pub totals: Totals,
}

/// Why day totals cannot be the stats of a root.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatsError {
    #[error("the day totals up to {day} count {counted} entries, the root covers {size}")]
    CountMismatch { day: Day, counted: u64, size: u64 },
}

impl Stats {
    /// The stats before the first root.
    pub fn empty() -> Stats {
        Stats {
            root: None,
            active: ActiveDeployments::default(),
            reports_per_day: Vec::new(),
            versions: Vec::new(),
            unlisted_versions: 0,
            totals: Totals::default(),
        }
    }

    /// The stats at `root` of a log that began on `inception`, from the
    /// totals of each day (days after the root's are ignored) and the
    /// windows counted back from the root's day.
    pub fn assemble(
        root: StatsRoot,
        inception: Day,
        day_totals: &BTreeMap<Day, DayTotals>,
        windows: WindowCounts,
    ) -> Result<Stats, StatsError> {
        let mut sum = DayTotals::default();
        for totals in day_totals.range(..=root.day).map(|(_, t)| t) {
            sum.add(totals);
        }
        if sum.reports != root.size {
            return Err(StatsError::CountMismatch {
                day: root.day,
                counted: sum.reports,
                size: root.size,
            });
        }
        let reports_per_day = std::iter::successors(Some(inception), |d| d.0.next_day().map(Day))
            .take_while(|d| *d <= root.day)
            .map(|d| (d, day_totals.get(&d).map_or(0, |t| t.reports)))
            .collect();
        let active = windows.active();
        let (versions, unlisted_versions) = windows.versions();
        Ok(Stats {
            root: Some(root),
            active,
            reports_per_day,
            versions,
            unlisted_versions,
            totals: sum.totals,
        })
    }
}

/// The first day of the `days`-day window that ends on `last`.
fn window_start(last: Day, days: u16) -> Day {
    Day(last
        .0
        .checked_sub(Duration::days(i64::from(days) - 1))
        .unwrap_or(time::Date::MIN))
}

/// Active deployments and versions in use, counted one deployment at a
/// time.
#[derive(Debug)]
pub struct WindowCounts {
    /// The first day of each window of [`WINDOWS`].
    starts: [Day; 3],
    active: [u64; 3],
    versions: HashMap<ProductVersion, u64>,
}

impl WindowCounts {
    /// Windows that end on `day`.
    pub fn new(day: Day) -> WindowCounts {
        WindowCounts {
            starts: WINDOWS.map(|days| window_start(day, days)),
            active: [0; 3],
            versions: HashMap::new(),
        }
    }

    /// The first day of the widest window: entries before it count in no
    /// window.
    pub fn widest_start(&self) -> Day {
        self.starts[2]
    }

    /// One deployment, each deployment once: the last day it reported
    /// within the widest window, and the distinct versions it reported in
    /// that window.
    pub fn add_deployment(&mut self, last: Day, versions: &[ProductVersion]) {
        for (active, start) in self.active.iter_mut().zip(self.starts) {
            *active += u64::from(last >= start);
        }
        for version in versions {
            *self.versions.entry(version.clone()).or_default() += 1;
        }
    }

    pub fn active(&self) -> ActiveDeployments {
        let [last_1_day, last_7_days, last_30_days] = self.active;
        ActiveDeployments {
            last_1_day,
            last_7_days,
            last_30_days,
        }
    }

    /// The most used versions, most used first, and how many more there
    /// are: anyone can invent versions, and the answer stays bounded.
    pub fn versions(self) -> (Vec<(ProductVersion, u64)>, u64) {
        let mut versions: Vec<_> = self.versions.into_iter().collect();
        versions.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let unlisted = versions.len().saturating_sub(MAX_LISTED_VERSIONS);
        versions.truncate(MAX_LISTED_VERSIONS);
        (versions, unlisted as u64)
    }
}

/// The stats from scratch: fed every entry's record in log order, it gives
/// the stats at any root whose size it has reached. It holds the totals of
/// each day and, for each deployment seen in the last
/// [`WIDEST_WINDOW_DAYS`] days, the versions it reported and when.
#[derive(Debug, Default)]
pub struct StatsBuilder {
    size: u64,
    day_totals: BTreeMap<Day, DayTotals>,
    last_day: Option<Day>,
    /// Each version a deployment reported, with the last day it did.
    recent: HashMap<Deployment, Vec<(ProductVersion, Day)>>,
}

impl StatsBuilder {
    pub fn new() -> StatsBuilder {
        StatsBuilder::default()
    }

    /// The records counted so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The next entry's record. Days never decrease along a log, which is
    /// what lets a deployment unseen for [`WIDEST_WINDOW_DAYS`] days be
    /// forgotten.
    pub fn push(&mut self, record: &Record) {
        if self.last_day.is_none_or(|last| record.day > last) {
            let start = window_start(record.day, WIDEST_WINDOW_DAYS);
            self.recent.retain(|_, versions| {
                versions.retain(|(_, last)| *last >= start);
                !versions.is_empty()
            });
            self.last_day = Some(record.day);
        }
        self.size += 1;
        self.day_totals
            .entry(record.day)
            .or_default()
            .add(&DayTotals::of_counts([
                record.tokens_created,
                record.tokens_detokenized,
                record.grants_issued,
            ]));
        let versions = self.recent.entry(record.deployment).or_default();
        match versions.iter_mut().find(|(v, _)| *v == record.version) {
            Some((_, last)) => *last = (*last).max(record.day),
            None => versions.push((record.version.clone(), record.day)),
        }
    }

    /// The stats at `root` of a log that began on `inception`; `root.size`
    /// must be the number of records pushed.
    pub fn stats_at(&self, root: StatsRoot, inception: Day) -> Result<Stats, StatsError> {
        let mut windows = WindowCounts::new(root.day);
        let start = windows.widest_start();
        let mut in_window = Vec::new();
        for versions in self.recent.values() {
            in_window.clear();
            in_window.extend(
                versions
                    .iter()
                    .filter(|(_, last)| *last >= start && *last <= root.day),
            );
            if let Some(last) = in_window.iter().map(|(_, last)| *last).max() {
                let versions: Vec<ProductVersion> =
                    in_window.iter().map(|(v, _)| v.clone()).collect();
                windows.add_deployment(last, &versions);
            }
        }
        Stats::assemble(root, inception, &self.day_totals, windows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> Day {
        Day::parse(text).unwrap()
    }

    fn record(on: &str, deployment: u8, version: &str, count: u64) -> Record {
        let count = Count::new(count).unwrap();
        Record {
            day: day(on),
            deployment: Deployment(Hash([deployment; 32])),
            version: ProductVersion::parse(version).unwrap(),
            tokens_created: count,
            tokens_detokenized: count,
            grants_issued: count,
        }
    }

    fn root(size: u64, on: &str) -> StatsRoot {
        StatsRoot {
            size,
            root_hash: Hash::ZERO,
            day: day(on),
        }
    }

    fn built(records: &[Record]) -> StatsBuilder {
        let mut builder = StatsBuilder::new();
        for record in records {
            builder.push(record);
        }
        builder
    }

    fn versions(stats: &Stats) -> Vec<(&str, u64)> {
        stats
            .versions
            .iter()
            .map(|(v, n)| (v.as_str(), *n))
            .collect()
    }

    #[test]
    fn windows_count_back_from_the_roots_day_inclusive() {
        let builder = built(&[
            record("2026-10-01", 1, "1.0.0", 1),
            record("2026-10-06", 2, "1.0.0", 1),
            record("2026-10-29", 3, "1.1.0", 1),
            record("2026-11-04", 1, "1.1.0", 1),
        ]);
        let stats = builder
            .stats_at(root(4, "2026-11-04"), day("2026-10-01"))
            .unwrap();
        // 2026-10-06 is the 30th day back from 2026-11-04; 10-29 the 7th;
        // deployment 1's first report (and its version) is in no window.
        assert_eq!(
            stats.active,
            ActiveDeployments {
                last_1_day: 1,
                last_7_days: 2,
                last_30_days: 3
            }
        );
        assert_eq!(versions(&stats), [("1.1.0", 2), ("1.0.0", 1)]);
        assert_eq!(stats.reports_per_day.len(), 35);
        assert_eq!(stats.totals.grants_issued, 4);
    }

    #[test]
    fn a_later_root_without_entries_moves_the_windows() {
        let builder = built(&[record("2026-11-04", 1, "1.0.0", 1)]);
        let stats = builder
            .stats_at(root(1, "2026-11-10"), day("2026-11-04"))
            .unwrap();
        assert_eq!(stats.active.last_1_day, 0);
        assert_eq!(stats.active.last_7_days, 1, "11-04 is the 7th day back");
        assert_eq!(stats.reports_per_day.last(), Some(&(day("2026-11-10"), 0)));
    }

    /// Anyone can invent versions: the most used are listed, the rest
    /// only counted; ties go in the versions' text order.
    #[test]
    fn versions_beyond_the_listed_ones_are_counted() {
        let mut records: Vec<Record> = (0..=MAX_LISTED_VERSIONS as u8)
            .map(|d| record("2026-11-04", d, &format!("1.0.{d}"), 1))
            .collect();
        records.push(record("2026-11-04", 200, "1.0.7", 1));
        let stats = built(&records)
            .stats_at(root(records.len() as u64, "2026-11-04"), day("2026-11-04"))
            .unwrap();
        assert_eq!(stats.versions.len(), MAX_LISTED_VERSIONS);
        assert_eq!(
            versions(&stats)[..3],
            [("1.0.7", 2), ("1.0.0", 1), ("1.0.1", 1)]
        );
        assert_eq!(versions(&stats)[3].0, "1.0.10", "text order, not SemVer");
        assert_eq!(stats.unlisted_versions, 1);
    }

    #[test]
    fn a_deployment_counts_once_and_once_per_version() {
        let builder = built(&[
            record("2026-11-01", 1, "1.0.0", 1),
            record("2026-11-02", 1, "1.0.0", 1),
            record("2026-11-03", 1, "2.0.0", 1),
        ]);
        let stats = builder
            .stats_at(root(3, "2026-11-03"), day("2026-11-01"))
            .unwrap();
        assert_eq!(stats.active.last_30_days, 1);
        assert_eq!(versions(&stats), [("1.0.0", 1), ("2.0.0", 1)]);
    }

    #[test]
    fn totals_do_not_wrap_at_64_bits() {
        let max = crate::record::MAX_COUNT;
        let records = vec![record("2026-11-01", 1, "1.0.0", max); 2049];
        let stats = built(&records)
            .stats_at(root(2049, "2026-11-01"), day("2026-11-01"))
            .unwrap();
        let want = 2049 * u128::from(max);
        assert!(want > u128::from(u64::MAX));
        assert_eq!(stats.totals.tokens_created, want);
        assert_eq!(stats.totals.grants_issued, want);
    }

    #[test]
    fn a_root_of_another_size_is_refused() {
        let builder = built(&[record("2026-11-01", 1, "1.0.0", 1)]);
        assert_eq!(
            builder.stats_at(root(2, "2026-11-01"), day("2026-11-01")),
            Err(StatsError::CountMismatch {
                day: day("2026-11-01"),
                counted: 1,
                size: 2
            })
        );
    }
}
