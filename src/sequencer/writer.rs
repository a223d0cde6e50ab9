//! The writer task: group commit of reports, and the publication loop.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use lucent_core::Hash;
use lucent_core::checkpoint::open_checkpoint;
use lucent_core::hash::leaf_hash;
use lucent_core::merkle::CompactRange;
use lucent_core::note::{SigningKey, VerifierKey};
use lucent_core::period::{Period, PeriodSchedule, day_closed_by, day_of, instant, next_midnight};
use lucent_core::record::{Day, Deployment, Entry, record_hash};
use tokio::sync::{mpsc, oneshot, watch};

use super::{Command, Outcome, OutcomeKind, Prepared, Sequencer, SubmitError, WriteFailed};
use crate::clock::Clock;
use crate::datadir::{DataDir, SignedState};
use crate::metrics::Metrics;
use crate::storage::tiles::TileNodes;
use crate::storage::{
    Cosignature, Entries, FirstReport, LogInfo, LogReader, LogWriter, NewPending, RootRow, Roots,
    StorageError,
};

/// Reports committed in one transaction, at most.
const MAX_BATCH: usize = 1024;

/// What the writer needs besides storage.
pub struct WriterConfig {
    pub clock: Arc<dyn Clock>,
    pub period: Period,
    pub key: Arc<SigningKey>,
    pub data_dir: DataDir,
    /// Reports that may wait for the writer; see [`super::DEFAULT_QUEUE_CAPACITY`].
    pub queue_capacity: usize,
    /// Where commit and publication times are counted.
    pub metrics: Metrics,
    /// Whether `period` may differ from the log's: the change then takes
    /// effect at the next UTC midnight.
    pub change_period: bool,
}

/// Why the log could not be opened for writing. Each message says what is
/// wrong and what to do.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("the state file: {0}")]
    DataDir(#[from] crate::datadir::DataDirError),
    #[error(
        "the database belongs to the log {found:?}, but the signing key is for {expected:?}; \
         the data directory mixes two logs"
    )]
    WrongLog { expected: String, found: String },
    #[error(
        "the database is behind the last root this log signed (size {signed_size}, period ending {signed_end}; \
         the database has size {db_size}, period ending {db_end}). This looks like a restored backup: signing \
         from it would fork the log. Restore a database at least as recent as the state file (see README, Backups)"
    )]
    DatabaseBehind {
        signed_size: u64,
        signed_end: i64,
        db_size: u64,
        db_end: i64,
    },
    #[error(
        "the state file is older than the database (state: period ending {state_end}; database: {db_end}); \
         it was replaced or restored from an old backup"
    )]
    StateBehind { state_end: i64, db_end: i64 },
    #[error("starting the writer's thread: {0}")]
    Thread(std::io::Error),
    #[error("the stored tree does not match the last signed root: {0}")]
    TreeMismatch(String),
    #[error(
        "this log publishes every {stored}, fixed when it was created; --publish-period {given} would change \
         it. To change it from the next UTC midnight on, pass --change-publish-period as well (every server \
         of the log needs the new period)"
    )]
    PeriodChange { stored: Period, given: Period },
}

/// The writer's thread, which ends once every [`Sequencer`] is dropped and
/// the database is closed.
pub struct WriterThread(oneshot::Receiver<()>);

impl WriterThread {
    /// Waits until the writer has closed the database; false if it
    /// stopped by a panic.
    pub async fn join(self) -> bool {
        self.0.await.is_ok()
    }
}

/// The single writer.
pub struct Writer {
    pub(super) store: Box<dyn LogWriter>,
    pub(super) read: Arc<dyn LogReader>,
    pub(super) config: WriterConfig,
    /// The log's periods: the one in force, and a change at a midnight.
    pub(super) periods: PeriodSchedule,
    /// The published tree.
    pub(super) tree: CompactRange,
    /// The leaf hash of the last published entry (`prev` of the next).
    pub(super) last_leaf: Hash,
    /// The end of the last closed period (the inception for a new log).
    pub(super) last_end: i64,
    /// A root the state file records but the database lacks: the next
    /// publication must reproduce it exactly (a crash between the state file
    /// and the commit), or the writer stops before signing anything.
    pub(super) unfinished_root: Option<SignedState>,
    /// Answers when the database has settled after the last publication
    /// ([`LogWriter::settle`]).
    pub(super) settled: Option<oneshot::Receiver<()>>,
    /// The end of the last period published, for whoever follows the roots.
    pub(super) last_published_end: watch::Sender<i64>,
    /// Cosignatures stored since the start, for whoever follows them.
    pub(super) cosignatures_stored: watch::Sender<u64>,
    /// Set while the last commit of reports failed, until a new connection
    /// opens or a commit succeeds (see [`Sequencer::ready`]).
    pub(super) commits_failing: Arc<AtomicBool>,
}

impl Writer {
    /// Opens the log for writing: creates it in a new data directory, else
    /// checks that the database, the tiles and the state file agree. Then
    /// closes every period that ended while the server was down.
    pub async fn start(
        mut store: Box<dyn LogWriter>,
        read: Arc<dyn LogReader>,
        config: WriterConfig,
    ) -> Result<(Sequencer, WriterThread), StartupError> {
        let info = open_log(&mut *store, &config).await?;
        let last_root = read.root(Roots::Latest).await?;
        let (size, last_end) = match &last_root {
            Some(root) => (root.entries(), root.period_end),
            None => (0, info.inception),
        };
        let periods = publish_periods(&mut *store, &info, &config, last_end).await?;
        let (tree, last_leaf) = load_tree(&*read, size).await?;
        if let Some(root) = &last_root {
            check_last_root(root, &config.key.verifier_key(), &tree)?;
        }
        let checked = check_state(&config, &periods, &last_root, size, last_end, &tree);
        let unfinished_root = match checked {
            // Another server sharing the database signed the later roots
            // (the latest one verified above).
            Err(StartupError::StateBehind { .. }) if store.shared() => {
                if let Some(signed) = &config.data_dir.state {
                    check_signed_root_stored(&*read, signed).await?;
                }
                None
            }
            checked => checked?,
        };
        let (queue, commands) = mpsc::channel(config.queue_capacity.max(1));
        let mut writer = Writer {
            store,
            read,
            config,
            periods,
            tree,
            last_leaf,
            last_end,
            unfinished_root,
            settled: None,
            last_published_end: watch::Sender::new(last_end),
            cosignatures_stored: watch::Sender::new(0),
            commits_failing: Arc::default(),
        };
        writer.count_day_totals().await?;
        writer.publish_due().await?;
        let sequencer = Sequencer {
            queue,
            clock: writer.config.clock.clone(),
            key: writer.config.key.clone(),
            published_ends: writer.last_published_end.subscribe(),
            cosignatures_stored: writer.cosignatures_stored.subscribe(),
            commits_failing: writer.commits_failing.clone(),
        };
        // A thread of its own: on the request tasks' threads, the writer
        // waited its turn behind them between two batches.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(StartupError::Thread)?;
        let (stopped, writer_stopped) = oneshot::channel();
        std::thread::Builder::new()
            .name("lucent-writer".into())
            .spawn(move || {
                runtime.block_on(async move {
                    if let Err(e) = writer.store.reconnect_on_this_thread().await {
                        tracing::warn!(error = %e, "connecting on the writer's thread");
                    }
                    writer.run(commands).await;
                });
                let _ = stopped.send(());
            })
            .map_err(StartupError::Thread)?;
        Ok((sequencer, WriterThread(writer_stopped)))
    }

    /// Serves the queue until every [`Sequencer`] is dropped, then closes
    /// the database. Periods are closed as they end.
    async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        loop {
            let next_end = self.periods.next_end_after(self.last_end);
            let failing = self.commits_failing.load(Ordering::Relaxed);
            let first = tokio::select! {
                biased;
                () = self.config.clock.sleep_until(instant(next_end)) => None,
                command = commands.recv() => match command {
                    Some(command) => Some(command),
                    None => break,
                },
                // No report may come while /readyz says no: try the
                // database again meanwhile.
                () = tokio::time::sleep(Duration::from_secs(1)), if failing => {
                    if self.store.reopen().await.is_ok() {
                        self.commits_failing.store(false, Ordering::Relaxed);
                    }
                    continue;
                }
            };
            if let Err(e) = self.publish_due().await {
                tracing::error!(error = %e, "publishing failed; retrying in a second");
                self.reopen().await;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            let Some(first) = first else { continue };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match commands.try_recv() {
                    Ok(command) => batch.push(command),
                    Err(_) => break,
                }
            }
            self.handle(batch).await;
        }
        // The write connection last: on SQLite, the last connection to
        // close copies the write-ahead log into the database.
        self.read.close().await;
        self.store.close().await;
        tracing::info!("writer stopped; database closed");
    }

    /// Starts over with a new write connection after a failed write.
    async fn reopen(&mut self) {
        if let Err(e) = self.store.reopen().await {
            tracing::error!(error = %e, "reopening the database");
        }
    }

    async fn handle(&mut self, batch: Vec<Command>) {
        let mut reports = Vec::with_capacity(batch.len());
        let mut syncs = Vec::new();
        let mut cosignatures = Vec::new();
        for command in batch {
            match command {
                Command::Submit { prepared, reply } => reports.push((prepared, reply)),
                Command::Sync(reply) => syncs.push(reply),
                Command::Cosign { cosignature, reply } => cosignatures.push((cosignature, reply)),
            }
        }
        if !cosignatures.is_empty() {
            self.store_cosignatures(cosignatures).await;
        }
        if !reports.is_empty() {
            let (reports, replies): (Vec<_>, Vec<_>) = reports.into_iter().unzip();
            let started = Instant::now();
            let accepted = self.accept(reports).await;
            // Another server closing the period first is no failure.
            let failed = matches!(&accepted, Err(e) if !matches!(e, StorageError::PeriodClosed(_)));
            self.config
                .metrics
                .observe_commit(started.elapsed(), !failed);
            self.commits_failing.store(failed, Ordering::Relaxed);
            let answers = match accepted {
                Ok(outcomes) => outcomes.into_iter().map(Ok).collect(),
                Err(e) => {
                    tracing::error!(error = %e, "committing reports failed");
                    self.reopen().await;
                    let error = match e {
                        StorageError::Full | StorageError::Unavailable(_) => {
                            SubmitError::StorageUnavailable
                        }
                        // Another server closed the period first (its clock
                        // ran ahead): the report is taken again in a moment,
                        // for the next period.
                        StorageError::PeriodClosed(_) => SubmitError::Saturated,
                        _ => SubmitError::Failed,
                    };
                    vec![Err(error); replies.len()]
                }
            };
            for (reply, answer) in replies.into_iter().zip(answers) {
                let _ = reply.send(answer);
            }
        }
        if !syncs.is_empty()
            && let Some(settled) = self.settled.take()
        {
            let _ = settled.await;
        }
        for reply in syncs {
            let _ = reply.send(());
        }
    }

    async fn store_cosignatures(
        &mut self,
        cosignatures: Vec<(Cosignature, oneshot::Sender<Result<(), WriteFailed>>)>,
    ) {
        let (cosignatures, replies): (Vec<_>, Vec<_>) = cosignatures.into_iter().unzip();
        let stored = match self.store.add_cosignatures(&cosignatures).await {
            Ok(()) => {
                let count = cosignatures.len() as u64;
                self.cosignatures_stored
                    .send_modify(|stored| *stored += count);
                Ok(())
            }
            Err(e) => {
                tracing::error!(error = %e, "storing cosignatures failed");
                self.reopen().await;
                Err(WriteFailed)
            }
        };
        for reply in replies {
            let _ = reply.send(stored);
        }
    }

    /// Stores a batch of reports in one transaction and returns, after the
    /// commit, what each one became.
    async fn accept(&mut self, reports: Vec<Prepared>) -> Result<Vec<Outcome>, StorageError> {
        // The writer's clock at the commit decides the day; it never runs
        // behind a period that is already closed.
        let now = self.config.clock.now().max(instant(self.last_end));
        let day = day_of(now);
        let day_text = day.to_string();
        let period_end = self.periods.end_of_period_containing(now);
        // Prepared for another day (around midnight): made again.
        let records: Vec<Prepared> = reports
            .into_iter()
            .map(|p| match p.day == day {
                true => p,
                false => Prepared::new(p.report, day),
            })
            .collect();
        // No transaction around these reads and the insert: the writer is
        // the only one that changes the database, and the insert alone is
        // one atomic, durable transaction.
        let mut first_reports = self.published_today(day, &records).await?;
        let new: Vec<NewPending> = records
            .iter()
            .filter(|p| !first_reports.contains_key(&p.deployment.0.0))
            .map(|p| NewPending {
                deployment: p.deployment.0.0,
                record: &p.record,
            })
            .collect();
        let mut inserted = self
            .store
            .insert_pending(&day_text, period_end, &new)
            .await?;
        // The first report of a deployment in the batch took the row; any
        // other one is answered from what is stored.
        let accepted: Vec<bool> = records
            .iter()
            .map(|p| inserted.remove(&p.deployment.0.0))
            .collect();
        let lookups: Vec<[u8; 32]> = records
            .iter()
            .zip(&accepted)
            .map(|(p, accepted)| (p.deployment.0.0, *accepted))
            .filter(|(d, accepted)| !accepted && !first_reports.contains_key(d))
            .map(|(d, _)| d)
            .collect();
        first_reports.extend(self.store.stored_pending(&day_text, &lookups).await?);
        records
            .into_iter()
            .zip(accepted)
            .map(|(p, accepted)| outcome(p, accepted, &first_reports, day, period_end))
            .collect()
    }

    /// The records that deployments of the batch already have among
    /// today's published entries: only periods shorter than a day can have
    /// published today's reports.
    async fn published_today(
        &self,
        day: Day,
        records: &[Prepared],
    ) -> Result<HashMap<[u8; 32], FirstReport>, StorageError> {
        let mut published = HashMap::new();
        let day_start = day.0.midnight().assume_utc().unix_timestamp();
        if self.last_end <= day_start {
            return Ok(published);
        }
        let size = self.tree.size();
        for p in records {
            if let Some((record, period_end)) =
                published_record(&*self.read, size, day, &p.deployment).await?
            {
                published.insert(p.deployment.0.0, FirstReport { record, period_end });
            }
        }
        Ok(published)
    }
}

/// What a report of the batch gets: accepted now, or answered from the
/// deployment's first report of the day (the same again: a replay; another:
/// a conflict).
fn outcome(
    p: Prepared,
    accepted: bool,
    first_reports: &HashMap<[u8; 32], FirstReport>,
    day: Day,
    period_end: i64,
) -> Result<Outcome, StorageError> {
    let (kind, record, hash, publish_after) = match first_reports.get(&p.deployment.0.0) {
        _ if accepted => (OutcomeKind::Accepted, p.record, p.record_hash, period_end),
        Some(first) if first.record == p.record => (
            OutcomeKind::Replayed,
            p.record,
            p.record_hash,
            first.period_end,
        ),
        Some(first) => (
            OutcomeKind::Conflict,
            first.record.clone(),
            record_hash(&first.record),
            first.period_end,
        ),
        None => {
            return Err(StorageError::Corrupt(
                "a report was neither stored nor found".into(),
            ));
        }
    };
    Ok(Outcome {
        kind,
        day,
        deployment: p.deployment,
        record_hash: hash,
        record,
        publish_after,
    })
}

/// The record a deployment already has for `day` among the first `size`
/// entries of the log.
async fn published_record(
    read: &dyn LogReader,
    size: u64,
    day: Day,
    deployment: &Deployment,
) -> Result<Option<(Vec<u8>, i64)>, StorageError> {
    let hex = deployment.to_string();
    let candidates = Entries::Deployment {
        prefix: hex[..8].to_owned(),
        after: None,
        end: size,
        limit: u32::MAX,
    };
    for stored in read.entries(candidates).await? {
        let entry = Entry::parse(&stored.entry)
            .map_err(|e| StorageError::Corrupt(format!("entry {}: {e}", stored.index)))?;
        if entry.record.deployment == *deployment && entry.record.day == day {
            let root = read.root(Roots::Covering(stored.index)).await?;
            let root =
                root.ok_or_else(|| StorageError::Corrupt("an entry no root covers".into()))?;
            return Ok(Some((entry.record.to_bytes(), root.period_end)));
        }
    }
    Ok(None)
}

/// The log the database holds, made now in a new database; refused if it
/// is another log than the signing key's.
async fn open_log(
    store: &mut dyn LogWriter,
    config: &WriterConfig,
) -> Result<LogInfo, StartupError> {
    let verifier_key = config.key.verifier_key().to_string();
    let origin = config.key.name();
    let now = config.clock.now();
    let new = LogInfo {
        origin: origin.to_owned(),
        verifier_key: verifier_key.clone(),
        inception: config.period.end_of_period_containing(now) - config.period.seconds(),
        publish_period: Some(config.period.seconds()),
        next_publish_period: None,
        next_period_from: None,
    };
    let info = store.open_log(&new).await?;
    if info.origin != origin || info.verifier_key != verifier_key {
        return Err(StartupError::WrongLog {
            expected: verifier_key,
            found: info.verifier_key,
        });
    }
    Ok(info)
}

/// The log's periods, from the database and the period asked for: the
/// stored one unless a change is asked for explicitly, which then takes
/// effect at the next UTC midnight. A change becomes the log's period once
/// the log is published up to its midnight (`last_end`), not when the clock
/// passes it: the periods before it are closed as they began, also after a
/// crash or a stop across that midnight. A log made before periods were
/// recorded takes the one asked for.
async fn publish_periods(
    store: &mut dyn LogWriter,
    info: &LogInfo,
    config: &WriterConfig,
    last_end: i64,
) -> Result<PeriodSchedule, StartupError> {
    let seconds = |s: i64| {
        Period::from_seconds(s)
            .map_err(|e| StorageError::Corrupt(format!("the stored publication period: {e}")))
    };
    let now = config.clock.now();
    let stored = info.publish_period.map(seconds).transpose()?;
    let change = match (info.next_publish_period, info.next_period_from) {
        (Some(period), Some(from)) => Some((from, seconds(period)?)),
        _ => None,
    };
    let mut periods = match stored {
        Some(period) => PeriodSchedule { period, change },
        None => PeriodSchedule::fixed(config.period),
    };
    if let Some((from, period)) = periods.change
        && from <= last_end
    {
        periods = PeriodSchedule::fixed(period);
    }
    let wanted = periods.change.map_or(periods.period, |(_, period)| period);
    if wanted != config.period {
        if !config.change_period {
            return Err(StartupError::PeriodChange {
                stored: wanted,
                given: config.period,
            });
        }
        periods.change =
            (config.period != periods.period).then(|| (next_midnight(now), config.period));
        tracing::warn!(
            from = %wanted,
            to = %config.period,
            "the publication period changes at the next UTC midnight"
        );
    }
    let recorded = LogInfo {
        publish_period: Some(periods.period.seconds()),
        next_publish_period: periods.change.map(|(_, period)| period.seconds()),
        next_period_from: periods.change.map(|(from, _)| from),
        ..info.clone()
    };
    if recorded != *info {
        store.set_publish_periods(&recorded).await?;
    }
    Ok(periods)
}

/// The published tree of `size` entries from its tiles, and the leaf hash
/// of its last entry, which must be entry `size − 1`.
pub(super) async fn load_tree(
    read: &dyn LogReader,
    size: u64,
) -> Result<(CompactRange, Hash), StartupError> {
    let tree = TileNodes::compute(read, |nodes| CompactRange::load(size, nodes))
        .await
        .map_err(|e| StartupError::TreeMismatch(e.to_string()))?;
    // The last entry, and the one after it if the database holds more
    // entries than the root covers.
    let last = Entries::Range {
        start: size.saturating_sub(1),
        end: size + 1,
    };
    let stored = read.entries(last).await?;
    let last_leaf = match stored.as_slice() {
        [last] if last.index + 1 == size => leaf_hash(&last.entry),
        [] if size == 0 => Hash::ZERO,
        _ => {
            return Err(StartupError::TreeMismatch(format!(
                "the entries stored around index {size} do not end where the root of size {size} does"
            )));
        }
    };
    Ok((tree, last_leaf))
}

/// The root that this server signed (`signed`, from its state file) and
/// another server, sharing the database, then stored for the same period
/// is the same root: the period was closed to new records before it was
/// signed ([`crate::storage::LogWriter::close_period`]).
pub(super) async fn check_signed_root_stored(
    read: &dyn LogReader,
    signed: &SignedState,
) -> Result<(), StartupError> {
    let roots = read
        .roots(Roots::Since {
            first: day_closed_by(signed.period_end),
            period_end: signed.period_end,
        })
        .await?;
    match roots.last().filter(|r| r.period_end == signed.period_end) {
        Some(root) if root.entries() == signed.size && root.root_hash == signed.root.0 => Ok(()),
        stored => Err(StartupError::TreeMismatch(format!(
            "the state file records root {} at size {} for the period ending {}, but the database \
             holds {}; refusing to sign a different history",
            signed.root,
            signed.size,
            signed.period_end,
            stored.map_or("no root for it".into(), |r| format!(
                "a root of size {}",
                r.entries()
            ))
        ))),
    }
}

/// The last signed checkpoint verifies, and names the tree the tiles give.
pub(super) fn check_last_root(
    root: &RootRow,
    verifier_key: &VerifierKey,
    tree: &CompactRange,
) -> Result<(), StartupError> {
    let checkpoint = open_checkpoint(&root.checkpoint, verifier_key)
        .map_err(|e| StartupError::TreeMismatch(format!("the last signed checkpoint: {e}")))?;
    let size = root.entries();
    if checkpoint.size != size || checkpoint.root != tree.root() || root.root_hash != tree.root().0
    {
        return Err(StartupError::TreeMismatch(format!(
            "the tiles give root {} at size {size}; the checkpoint says {} at size {}",
            tree.root(),
            checkpoint.root,
            checkpoint.size
        )));
    }
    Ok(())
}

/// Compares the state file with the database (see [`StartupError`]).
fn check_state(
    config: &WriterConfig,
    periods: &PeriodSchedule,
    last_root: &Option<RootRow>,
    size: u64,
    last_end: i64,
    tree: &CompactRange,
) -> Result<Option<SignedState>, StartupError> {
    let db_end = last_root.as_ref().map_or(i64::MIN, |r| r.period_end);
    let Some(state) = config.data_dir.state.clone() else {
        return match last_root {
            None => Ok(None),
            Some(_) => Err(StartupError::StateBehind {
                state_end: i64::MIN,
                db_end,
            }),
        };
    };
    let behind = StartupError::DatabaseBehind {
        signed_size: state.size,
        signed_end: state.period_end,
        db_size: size,
        db_end: last_end,
    };
    match state.period_end.cmp(&db_end) {
        std::cmp::Ordering::Equal if state.size == size && state.root == tree.root() => Ok(None),
        std::cmp::Ordering::Equal => Err(StartupError::TreeMismatch(format!(
            "the state file records root {} at size {}; the database has {} at size {size}",
            state.root,
            state.size,
            tree.root()
        ))),
        std::cmp::Ordering::Less => Err(StartupError::StateBehind {
            state_end: state.period_end,
            db_end,
        }),
        // One publication ahead: the server stopped between writing the state
        // file and committing; publishing that period again must give the
        // same root. Anything further behind is a restored backup.
        std::cmp::Ordering::Greater if periods.next_end_after(last_end) == state.period_end => {
            tracing::warn!(
                size = state.size,
                "the last publication stopped after the state file was written; publishing it again"
            );
            Ok(Some(state))
        }
        std::cmp::Ordering::Greater => Err(behind),
    }
}
