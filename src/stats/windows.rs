//! Active deployments and versions in use over the windows, by merging the
//! windows' published runs: each root's new entries are sorted by
//! deployment, so a k-way merge meets all of a deployment's entries one
//! after the other and needs to hold only a chunk of each run.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};

use lucent_core::record::{
    Day, Deployment, ParseError, ProductVersion, day_and_deployment, version_of,
};
use time::Duration;

use super::{ActiveDeployments, MAX_LISTED_VERSIONS, WINDOWS};
use crate::storage::{LogReader, Result, StorageError, split_entries};

/// The first day of the `days`-day window that ends on `last`.
fn window_start(last: Day, days: u16) -> Day {
    Day(last
        .0
        .checked_sub(Duration::days(i64::from(days) - 1))
        .unwrap_or(time::Date::MIN))
}

/// What the windows need of an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct WindowEntry {
    day: Day,
    deployment: Deployment,
    version: ProductVersion,
}

impl WindowEntry {
    fn parse(entry: &[u8]) -> Result<WindowEntry, ParseError> {
        let (day, deployment) = day_and_deployment(entry)?;
        let version = version_of(entry)?;
        Ok(WindowEntry {
            day,
            deployment,
            version,
        })
    }
}

/// Published entries by index, as the merge reads them.
pub(super) trait EntrySource {
    /// Entries `start..end`, sorted by deployment (the order of a run).
    fn sorted_chunk(
        &self,
        start: u64,
        end: u64,
    ) -> impl Future<Output = Result<Vec<WindowEntry>>> + Send;
}

impl EntrySource for dyn LogReader + '_ {
    async fn sorted_chunk(&self, start: u64, end: u64) -> Result<Vec<WindowEntry>> {
        let joined = self.entries_joined(start, end).await?;
        let mut chunk = split_entries(&joined)
            .map(WindowEntry::parse)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StorageError::Corrupt(format!("an entry of {start}..{end}: {e}")))?;
        // The engine joins them in no promised order; a run's chunk is a
        // contiguous part of it, so sorting restores the run's order.
        chunk.sort_unstable_by_key(|c| c.deployment);
        Ok(chunk)
    }
}

/// Entries `next..end` of one run, read a chunk at a time.
struct RunCursor {
    next: u64,
    end: u64,
    chunk: u64,
    buffered: VecDeque<WindowEntry>,
}

impl RunCursor {
    /// The run's next entry, reading a chunk if none is buffered.
    async fn head(&mut self, source: &(impl EntrySource + ?Sized)) -> Result<Option<&WindowEntry>> {
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
pub(super) struct WindowCounts {
    pub(super) starts: [Day; 3],
    active: [u64; 3],
    versions: HashMap<ProductVersion, u64>,
}

impl WindowCounts {
    pub(super) fn new(day: Day) -> WindowCounts {
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
    pub(super) async fn count(
        &mut self,
        source: &(impl EntrySource + ?Sized),
        bounds: &[u64],
        chunk: u64,
    ) -> Result<()> {
        let widest = self.starts[2];
        let mut runs: Vec<RunCursor> = bounds
            .windows(2)
            .filter(|w| w[0] < w[1])
            .map(|w| RunCursor {
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

    pub(super) fn active(&self) -> ActiveDeployments {
        let [last_1_day, last_7_days, last_30_days] = self.active;
        ActiveDeployments {
            last_1_day,
            last_7_days,
            last_30_days,
        }
    }

    /// The most used versions, most used first, and how many more there
    /// are: anyone can invent versions, and the answer stays bounded.
    pub(super) fn versions(self) -> (Vec<(ProductVersion, u64)>, u64) {
        let mut versions: Vec<_> = self.versions.into_iter().collect();
        versions.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let unlisted = versions.len().saturating_sub(MAX_LISTED_VERSIONS);
        versions.truncate(MAX_LISTED_VERSIONS);
        (versions, unlisted as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::super::RUN_CHUNK;
    use super::*;
    use lucent_core::Hash;
    use lucent_core::record::{Count, Entry, Record};

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
        async fn sorted_chunk(&self, start: u64, end: u64) -> Result<Vec<WindowEntry>> {
            (start..end)
                .map(|i| Ok(WindowEntry::parse(&self.0[i as usize].to_bytes()).unwrap()))
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
}
