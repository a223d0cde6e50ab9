//! Active deployments and versions in use over the windows, by merging the
//! windows' published runs: each root's new entries are sorted by
//! deployment, so a k-way merge meets all of a deployment's entries one
//! after the other and needs to hold only a chunk of each run.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use lucent_core::record::{
    Day, Deployment, ParseError, ProductVersion, day_and_deployment, version_of,
};
use lucent_core::stats::WindowCounts;

use crate::storage::{LogReader, Result, StorageError, split_entries};

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

/// Merges the runs (each sorted by deployment) and counts each
/// deployment once.
pub(super) async fn count(
    windows: &mut WindowCounts,
    source: &(impl EntrySource + ?Sized),
    bounds: &[u64],
    chunk: u64,
) -> Result<()> {
    let widest = windows.widest_start();
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
                    windows.add_deployment(last, &versions);
                }
                current = Some((deployment, record.day, vec![record.version]));
            }
        }
    }
    if let Some((_, last, versions)) = current {
        windows.add_deployment(last, &versions);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::RUN_CHUNK;
    use super::*;
    use lucent_core::Hash;
    use lucent_core::record::{Count, Entry, Record};
    use lucent_core::stats::{Stats, StatsBuilder, StatsRoot};
    use proptest::prelude::*;

    fn record(on: Day, deployment: u8, version: &str) -> Record {
        let count = Count::new(1).unwrap();
        Record {
            day: on,
            deployment: Deployment(Hash([deployment; 32])),
            version: ProductVersion::parse(version).unwrap(),
            tokens_created: count,
            tokens_detokenized: count,
            grants_issued: count,
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

    /// The merge's counts and the core's from-scratch ones, at a root of
    /// `root_day` over `runs`.
    fn both(runs: &[Vec<Record>], root_day: Day, chunk: u64) -> (WindowCounts, Stats) {
        let mut bounds = vec![0];
        let mut entries = Vec::new();
        let mut builder = StatsBuilder::new();
        for run in runs {
            for record in run {
                builder.push(record);
                entries.push(Entry {
                    record: record.clone(),
                    prev: Hash::ZERO,
                });
            }
            bounds.push(entries.len() as u64);
        }
        let mut windows = WindowCounts::new(root_day);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime
            .block_on(count(&mut windows, &Log(entries), &bounds, chunk))
            .unwrap();
        let root = StatsRoot {
            size: builder.size(),
            root_hash: Hash::ZERO,
            day: root_day,
        };
        let first = runs
            .first()
            .and_then(|r| r.first())
            .map_or(root_day, |r| r.day);
        (windows, builder.stats_at(root, first).unwrap())
    }

    proptest! {
        /// Whatever the runs and the chunks they are read in, the merge
        /// counts what the core's definition counts.
        #[test]
        fn the_merge_counts_what_the_definition_counts(
            runs in prop::collection::vec(
                (0u8..12, prop::collection::btree_map(0u8..10, 0usize..3, 0..8)),
                1..12,
            ),
            after in 0u8..40,
            chunk in 1u64..5,
        ) {
            let mut on = Day::parse("2026-10-01").unwrap();
            let runs: Vec<Vec<Record>> = runs
                .into_iter()
                .map(|(gap, deployments)| {
                    on = Day(on.0 + time::Duration::days(gap.into()));
                    deployments
                        .into_iter()
                        .map(|(d, v)| record(on, d, ["1.0.0", "1.1.0", "2.0.0-rc.1"][v]))
                        .collect()
                })
                .collect();
            let root_day = Day(on.0 + time::Duration::days(after.into()));
            let (windows, defined) = both(&runs, root_day, chunk);
            prop_assert_eq!(windows.active(), defined.active);
            prop_assert_eq!(windows.versions(), (defined.versions, defined.unlisted_versions));
        }
    }

    #[test]
    fn a_deployment_in_many_runs_counts_once() {
        let on = |d: &str| Day::parse(d).unwrap();
        let runs = vec![
            vec![
                record(on("2026-11-01"), 1, "1.0.0"),
                record(on("2026-11-01"), 2, "1.0.0"),
            ],
            vec![record(on("2026-11-02"), 1, "1.0.0")],
            vec![record(on("2026-11-03"), 1, "2.0.0-rc.1")],
        ];
        let (windows, _) = both(&runs, on("2026-11-03"), RUN_CHUNK);
        assert_eq!(windows.active().last_30_days, 2);
        assert_eq!(windows.active().last_1_day, 1);
    }
}
