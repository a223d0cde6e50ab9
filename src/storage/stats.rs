//! Exact aggregates over the published entries (`GET /v1/stats`, the
//! `/stats` page). Entries never change once published, so a tally is kept
//! in memory and each new root costs only the entries it added; the stats
//! themselves are computed once per root.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use lucent_core::record::{Day, Deployment, Entry, ProductVersion};
use time::Duration;
use tokio::sync::Mutex;

use super::{ReadStore, Result, StorageError};
use crate::period::{day_of, instant};

/// The widest window over which active deployments and versions in use are
/// counted; the tally forgets deployments that no window reaches.
pub const WIDEST_WINDOW_DAYS: u16 = 30;

/// Entries read per query while catching up, so no read transaction stays
/// open for a whole large log.
const SCAN_CHUNK: u64 = 10_000;

/// Distinct deployments with a published entry in the last days, counting
/// back from the latest root's day, that day included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ActiveDeployments {
    pub last_1_day: u64,
    pub last_7_days: u64,
    pub last_30_days: u64,
}

/// Sums over every published entry; 2^53 − 1 per entry times many entries
/// needs more than 64 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Totals {
    pub tokens_created: u128,
    pub tokens_detokenized: u128,
    pub grants_issued: u128,
}

/// The aggregates of the log at one published size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    /// The size of the latest root: the entries counted.
    pub size: u64,
    /// The day the latest root closes; `None` before the first root.
    pub day: Option<Day>,
    pub active: ActiveDeployments,
    /// Every day from the log's inception to `day`, zeros included.
    pub reports_per_day: Vec<(Day, u64)>,
    /// Distinct deployments that reported each version in the last
    /// [`WIDEST_WINDOW_DAYS`] days, most used first.
    pub versions: Vec<(ProductVersion, u64)>,
    pub totals: Totals,
}

/// Everything the stats are computed from, for entries `0..scanned`.
#[derive(Default)]
struct Tally {
    scanned: u64,
    totals: Totals,
    reports_per_day: BTreeMap<Day, u64>,
    /// The last day each deployment reported, and reported each version:
    /// what the windows count. Days never decrease along the log, so a
    /// later entry simply overwrites.
    last_report: HashMap<Deployment, Day>,
    last_version: HashMap<(Deployment, ProductVersion), Day>,
}

/// The first day of the `days`-day window that ends on `last`.
fn window_start(last: Day, days: u16) -> Day {
    Day(last
        .0
        .checked_sub(Duration::days(i64::from(days) - 1))
        .unwrap_or(time::Date::MIN))
}

impl Tally {
    fn add(&mut self, entry: Entry) {
        let record = entry.record;
        self.scanned += 1;
        self.totals.tokens_created += u128::from(record.tokens_created.get());
        self.totals.tokens_detokenized += u128::from(record.tokens_detokenized.get());
        self.totals.grants_issued += u128::from(record.grants_issued.get());
        *self.reports_per_day.entry(record.day).or_default() += 1;
        self.last_report.insert(record.deployment, record.day);
        self.last_version
            .insert((record.deployment, record.version), record.day);
    }

    /// The stats at `size` entries, whose latest root closes `day`, for a
    /// log that began on `inception`. Roots only move forward, so what the
    /// widest window ending on `day` misses is forgotten.
    fn stats(&mut self, size: u64, day: Option<Day>, inception: Day) -> Stats {
        let Some(day) = day else {
            return Stats {
                size,
                day: None,
                active: ActiveDeployments::default(),
                reports_per_day: Vec::new(),
                versions: Vec::new(),
                totals: self.totals,
            };
        };
        let widest = window_start(day, WIDEST_WINDOW_DAYS);
        self.last_report.retain(|_, last| *last >= widest);
        self.last_version.retain(|_, last| *last >= widest);
        let active_since = |days| {
            let first = window_start(day, days);
            self.last_report
                .values()
                .filter(|last| **last >= first)
                .count() as u64
        };
        let mut counts: HashMap<&ProductVersion, u64> = HashMap::new();
        for (_, version) in self.last_version.keys() {
            *counts.entry(version).or_default() += 1;
        }
        let mut versions: Vec<(ProductVersion, u64)> = counts
            .into_iter()
            .map(|(version, n)| (version.clone(), n))
            .collect();
        versions.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let reports_per_day = std::iter::successors(Some(inception), |d| d.0.next_day().map(Day))
            .take_while(|d| *d <= day)
            .map(|d| (d, self.reports_per_day.get(&d).copied().unwrap_or(0)))
            .collect();
        Stats {
            size,
            day: Some(day),
            active: ActiveDeployments {
                last_1_day: active_since(1),
                last_7_days: active_since(7),
                last_30_days: active_since(30),
            },
            reports_per_day,
            versions,
            totals: self.totals,
        }
    }
}

/// The stats of the latest signed root, computed once per root.
#[derive(Default)]
pub struct StatsCache {
    state: Mutex<CacheState>,
}

#[derive(Default)]
struct CacheState {
    tally: Tally,
    latest: Option<Arc<Stats>>,
}

impl StatsCache {
    /// The stats over every entry the latest signed root covers.
    pub async fn get(&self, read: &ReadStore) -> Result<Arc<Stats>> {
        // One caller at a time catches up, and the root is read under the
        // lock, so the tally only ever moves forward.
        let mut state = self.state.lock().await;
        let root = read.latest_root().await?;
        let size = root.as_ref().map_or(0, |r| r.size as u64);
        let day = root
            .map(|r| Day::parse(&r.day))
            .transpose()
            .map_err(|e| StorageError::Corrupt(format!("a root's day: {e}")))?;
        // A root over a day without reports keeps the size but moves the day.
        if let Some(stats) = state
            .latest
            .as_ref()
            .filter(|s| s.size == size && s.day == day)
        {
            return Ok(stats.clone());
        }
        let tally = &mut state.tally;
        while tally.scanned < size {
            let start = tally.scanned;
            let chunk = read.entries(start, size.min(start + SCAN_CHUNK)).await?;
            if chunk.is_empty() {
                return Err(StorageError::Corrupt(format!(
                    "entry {start} is missing below the published size {size}"
                )));
            }
            for stored in chunk {
                let entry = Entry::parse(&stored.entry)
                    .map_err(|e| StorageError::Corrupt(format!("entry {}: {e}", stored.index)))?;
                tally.add(entry);
            }
        }
        let inception = day_of(instant(read.log_info().await?.inception));
        let stats = Arc::new(tally.stats(size, day, inception));
        state.latest = Some(stats.clone());
        Ok(stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lucent_core::Hash;
    use lucent_core::record::{Count, MAX_COUNT, Record};

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

    #[test]
    fn windows_count_back_from_the_roots_day_inclusive() {
        let mut tally = Tally::default();
        for e in [
            entry("2026-10-01", 1, "1.0.0", 1),
            entry("2026-10-06", 2, "1.0.0", 1),
            entry("2026-10-29", 3, "1.1.0", 1),
            entry("2026-11-04", 1, "1.1.0", 1),
        ] {
            tally.add(e);
        }
        let stats = tally.stats(4, Some(day("2026-11-04")), day("2026-10-01"));
        // 2026-10-06 is the 30th day back from 2026-11-04; 10-29 the 7th.
        assert_eq!(
            stats.active,
            ActiveDeployments {
                last_1_day: 1,
                last_7_days: 2,
                last_30_days: 3
            }
        );
        let versions: Vec<(&str, u64)> = stats
            .versions
            .iter()
            .map(|(v, n)| (v.as_str(), *n))
            .collect();
        assert_eq!(versions, [("1.1.0", 2), ("1.0.0", 1)]);
        assert_eq!(stats.reports_per_day.len(), 35);
        assert_eq!(stats.reports_per_day[0], (day("2026-10-01"), 1));
        assert_eq!(stats.reports_per_day[1], (day("2026-10-02"), 0));
        // Deployment 1's first version is out of every window: forgotten.
        let first = (
            Deployment(Hash([1; 32])),
            ProductVersion::parse("1.0.0").unwrap(),
        );
        assert!(!tally.last_version.contains_key(&first));
        assert_eq!(tally.last_report.len(), 3);
    }

    #[test]
    fn a_later_root_without_entries_moves_the_windows() {
        let mut tally = Tally::default();
        tally.add(entry("2026-11-01", 1, "1.0.0", 1));
        let stats = tally.stats(1, Some(day("2026-11-08")), day("2026-11-01"));
        assert_eq!(stats.active.last_1_day, 0);
        assert_eq!(stats.active.last_7_days, 0);
        assert_eq!(stats.active.last_30_days, 1);
        assert_eq!(stats.reports_per_day.last(), Some(&(day("2026-11-08"), 0)));
    }

    #[test]
    fn totals_do_not_wrap_at_64_bits() {
        let mut tally = Tally::default();
        for i in 0..2049u32 {
            tally.add(entry("2026-11-01", (i % 256) as u8, "1.0.0", MAX_COUNT));
        }
        let want = 2049 * u128::from(MAX_COUNT);
        assert!(want > u128::from(u64::MAX));
        assert_eq!(tally.totals.tokens_created, want);
        assert_eq!(tally.totals.grants_issued, want);
    }
}
