//! The stats of `GET /v1/stats` and the `/stats` page as the server
//! computes them: the core's definition (`lucent_core::stats`), fed
//! incrementally, in memory that does not grow with the log or with the
//! number of deployments, which anyone can inflate by minting nonces.
//!
//! Sums and reports per day come from `day_totals`
//! (`src/storage/day_totals.rs`), which each publication adds to. Distinct
//! deployments over the windows come from merging the windows' published
//! runs (`windows.rs`).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use lucent_core::Hash;
use lucent_core::period::{day_of, instant};
use lucent_core::record::Day;
use lucent_core::stats::{DayTotals, StatsRoot, WindowCounts};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use crate::storage::{LogReader, Result, RootRow, Roots, StorageError};

pub use lucent_core::stats::{Stats, WIDEST_WINDOW_DAYS};

mod windows;

/// Entries read from one run at a time: the merge holds at most this many
/// of each run of the widest window.
const RUN_CHUNK: u64 = 2048;

/// The stats kept computed: the latest root's, and those of days a monitor
/// asked for.
const CACHED: usize = 8;

/// Which signed root's stats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatsAt {
    Latest,
    /// The last root that closes within the day.
    Day(Day),
}

/// The stats at `root`, with the totals of every day as of one snapshot
/// taken after `root` was signed.
async fn compute(
    read: Arc<dyn LogReader>,
    root: RootRow,
    day_totals: BTreeMap<Day, DayTotals>,
) -> Result<Stats> {
    let corrupt = |what: String| StorageError::Corrupt(what);
    let day = Day::parse(&root.day).map_err(|e| corrupt(format!("a root's day: {e}")))?;
    let root_hash = Hash::from_slice(&root.root_hash)
        .ok_or_else(|| corrupt(format!("the root hash of {}", root.day)))?;
    let mut windows = WindowCounts::new(day);
    let bounds = run_bounds(&*read, windows.widest_start(), root.period_end).await?;
    windows::count(&mut windows, &*read, &bounds, RUN_CHUNK).await?;
    let inception = day_of(instant(read.log_info().await?.inception));
    let root = StatsRoot {
        size: root.entries(),
        root_hash,
        day,
    };
    Stats::assemble(root, inception, &day_totals, windows).map_err(|e| corrupt(e.to_string()))
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

/// Stats computed once per root.
#[derive(Default)]
pub struct StatsCache {
    /// The most recently computed first. Looked up without waiting for a
    /// computation: asking for many past days must not hold up everyone
    /// else's answer from the cache.
    computed: std::sync::Mutex<VecDeque<Arc<Stats>>>,
    /// One computation at a time. A computation whose caller gave up
    /// waiting stays here: it runs in its own task, so that such a caller
    /// does not cancel it, and the next caller keeps its result.
    running: Mutex<Option<JoinHandle<Result<Stats>>>>,
}

impl StatsCache {
    fn remember(&self, stats: Stats) -> Arc<Stats> {
        let stats = Arc::new(stats);
        let mut computed = self.computed.lock().expect("not poisoned");
        computed.push_front(stats.clone());
        computed.truncate(CACHED);
        stats
    }

    /// Stats at a root of this size and day: they depend on nothing else.
    fn find(&self, root: &RootRow) -> Option<Arc<Stats>> {
        let computed = self.computed.lock().expect("not poisoned");
        computed
            .iter()
            .find(|s| {
                s.root
                    .is_some_and(|r| r.size == root.entries() && r.day.to_string() == root.day)
            })
            .cloned()
    }

    /// Waits for the running computation and keeps its result. A caller
    /// cancelled while waiting leaves it in `running`.
    async fn wait(&self, running: &mut Option<JoinHandle<Result<Stats>>>) -> Result<Arc<Stats>> {
        let computation = running.as_mut().expect("a computation");
        let computed = computation.await;
        *running = None;
        let stats = computed.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))?;
        Ok(self.remember(stats))
    }

    /// The stats at the latest root, or at the last root of a day; `None`
    /// if no root closes within that day.
    pub async fn get(&self, read: &Arc<dyn LogReader>, at: StatsAt) -> Result<Option<Arc<Stats>>> {
        let root = match at {
            StatsAt::Latest => read.root(Roots::Latest).await?,
            StatsAt::Day(day) => read.root(Roots::LastOfDay(day)).await?,
        };
        let Some(root) = root else {
            return Ok((at == StatsAt::Latest).then(|| Arc::new(Stats::empty())));
        };
        if let Some(stats) = self.find(&root) {
            return Ok(Some(stats));
        }
        let mut running = self.running.lock().await;
        if running.is_some()
            && let Err(e) = self.wait(&mut running).await
        {
            tracing::warn!(error = %e, "computing the stats");
        }
        // Perhaps computed while this caller waited for its turn.
        if let Some(stats) = self.find(&root) {
            return Ok(Some(stats));
        }
        let (latest, day_totals) = read.day_totals().await?;
        // A root of the same day signed since `root` was read is what the
        // totals now count: the stats are that root's.
        let root = latest.filter(|l| l.day == root.day).unwrap_or(root);
        let read = read.clone();
        *running = Some(tokio::spawn(async move {
            let started = std::time::Instant::now();
            let stats = compute(read, root, day_totals).await?;
            tracing::info!(
                size = stats.root.map_or(0, |r| r.size),
                millis = started.elapsed().as_millis() as u64,
                "computed the stats"
            );
            Ok(stats)
        }));
        self.wait(&mut running).await.map(Some)
    }
}

#[cfg(test)]
mod tests {
    use std::ops::RangeInclusive;

    use async_trait::async_trait;
    use futures_util::FutureExt as _;
    use tokio::sync::{Notify, Semaphore};

    use super::*;
    use crate::storage::{
        Cosignature, DayTotals, Entries, LogInfo, SchemaTable, StoredEntry, WitnessProgress,
    };

    /// Two empty roots, of 2026-11-01 and of 2026-11-02 (the latest), whose
    /// day totals wait for `gate` once it is closed, saying so in `entered`.
    struct SlowLog {
        gate: Semaphore,
        entered: Notify,
    }

    fn root(day: &str, period_end: i64) -> RootRow {
        RootRow {
            period_end,
            day: day.into(),
            size: 0,
            root_hash: lucent_core::hash::empty_root().0.to_vec(),
            checkpoint: String::new(),
            cosignatures: Vec::new(),
        }
    }

    #[async_trait]
    impl LogReader for SlowLog {
        async fn log_info(&self) -> Result<LogInfo> {
            Ok(LogInfo {
                origin: "test".into(),
                verifier_key: String::new(),
                inception: 1_793_491_200, // 2026-11-01
                publish_period: Some(86_400),
                next_publish_period: None,
                next_period_from: None,
            })
        }
        async fn roots(&self, which: Roots) -> Result<Vec<RootRow>> {
            Ok(match which {
                Roots::Latest => vec![root("2026-11-02", 1_793_664_000)],
                Roots::LastOfDay(_) => vec![root("2026-11-01", 1_793_577_600)],
                _ => Vec::new(),
            })
        }
        async fn day_totals(&self) -> Result<(Option<RootRow>, BTreeMap<Day, DayTotals>)> {
            if self.gate.available_permits() == 0 {
                self.entered.notify_one();
            }
            let _pass = self.gate.acquire().await.expect("open");
            Ok((self.roots(Roots::Latest).await?.pop(), BTreeMap::new()))
        }
        async fn entries(&self, _: Entries) -> Result<Vec<StoredEntry>> {
            unreachable!("not read by the stats")
        }
        async fn entries_joined(&self, _: u64, _: u64) -> Result<Vec<u8>> {
            unreachable!("empty roots")
        }
        async fn tile(&self, _: u8, _: u64) -> Result<Option<Vec<u8>>> {
            unreachable!("not read by the stats")
        }
        async fn cosignatures(&self, _: RangeInclusive<i64>) -> Result<Vec<Cosignature>> {
            unreachable!("not read by the stats")
        }
        async fn witness_progress(&self) -> Result<Vec<WitnessProgress>> {
            unreachable!("not read by the stats")
        }
        async fn schema(&self) -> Result<Vec<SchemaTable>> {
            unreachable!("not read by the stats")
        }
        async fn close(&self) {}
    }

    /// Anyone may ask for a past day's stats, which are computed on demand;
    /// meanwhile the latest root's, once computed, are answered at once.
    #[tokio::test]
    async fn a_past_day_being_computed_does_not_hold_up_the_latest() {
        let log = Arc::new(SlowLog {
            gate: Semaphore::new(1),
            entered: Notify::new(),
        });
        let read: Arc<dyn LogReader> = log.clone();
        let cache = Arc::new(StatsCache::default());
        let latest = cache.get(&read, StatsAt::Latest).await.unwrap().unwrap();
        assert_eq!(latest.root.unwrap().day.to_string(), "2026-11-02");

        let closed = log.gate.acquire().await.unwrap();
        let past = tokio::spawn({
            let (cache, read) = (cache.clone(), read.clone());
            let day = Day::parse("2026-11-01").unwrap();
            async move { cache.get(&read, StatsAt::Day(day)).await }
        });
        log.entered.notified().await;
        let answered = cache.get(&read, StatsAt::Latest).now_or_never();
        assert_eq!(answered.expect("answered at once").unwrap(), Some(latest));

        drop(closed);
        let past = past.await.unwrap().unwrap().unwrap();
        assert_eq!(past.root.unwrap().day.to_string(), "2026-11-01");
        assert_eq!(past.active, Default::default());
    }
}
