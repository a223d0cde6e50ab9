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
    state: Mutex<CacheState>,
}

#[derive(Default)]
struct CacheState {
    /// The most recently computed first.
    computed: VecDeque<Arc<Stats>>,
    /// A computation whose caller gave up waiting. It runs in its own
    /// task, so that such a caller does not cancel it, and the next caller
    /// takes its result.
    running: Option<JoinHandle<Result<Stats>>>,
}

impl CacheState {
    fn remember(&mut self, stats: Stats) -> Arc<Stats> {
        let stats = Arc::new(stats);
        self.computed.push_front(stats.clone());
        self.computed.truncate(CACHED);
        stats
    }

    /// Stats at a root of this size and day: they depend on nothing else.
    fn find(&self, size: u64, day: &str) -> Option<Arc<Stats>> {
        self.computed
            .iter()
            .find(|s| {
                s.root
                    .is_some_and(|r| r.size == size && r.day.to_string() == day)
            })
            .cloned()
    }

    /// Waits for the running computation and keeps its result. A caller
    /// cancelled while waiting leaves it in `running`.
    async fn wait(&mut self) -> Result<Arc<Stats>> {
        let computation = self.running.as_mut().expect("a computation");
        let computed = computation.await;
        self.running = None;
        let stats = computed.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))?;
        Ok(self.remember(stats))
    }
}

impl StatsCache {
    /// The stats at the latest root, or at the last root of a day; `None`
    /// if no root closes within that day.
    pub async fn get(&self, read: &Arc<dyn LogReader>, at: StatsAt) -> Result<Option<Arc<Stats>>> {
        // One computation at a time: the others wait for the lock, then
        // find its result.
        let mut state = self.state.lock().await;
        if state.running.is_some()
            && let Err(e) = state.wait().await
        {
            tracing::warn!(error = %e, "computing the stats");
        }
        let root = match at {
            StatsAt::Latest => read.root(Roots::Latest).await?,
            StatsAt::Day(day) => read.root(Roots::LastOfDay(day)).await?,
        };
        let Some(root) = root else {
            return Ok((at == StatsAt::Latest).then(|| Arc::new(Stats::empty())));
        };
        if let Some(stats) = state.find(root.entries(), &root.day) {
            return Ok(Some(stats));
        }
        let (latest, day_totals) = read.day_totals().await?;
        // A root of the same day signed since `root` was read is what the
        // totals now count: the stats are that root's.
        let root = latest.filter(|l| l.day == root.day).unwrap_or(root);
        let read = read.clone();
        state.running = Some(tokio::spawn(async move {
            let started = std::time::Instant::now();
            let stats = compute(read, root, day_totals).await?;
            tracing::info!(
                size = stats.root.map_or(0, |r| r.size),
                millis = started.elapsed().as_millis() as u64,
                "computed the stats"
            );
            Ok(stats)
        }));
        state.wait().await.map(Some)
    }
}
