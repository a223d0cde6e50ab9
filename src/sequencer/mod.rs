//! The sequencer: the single writer. It owns the write connection, commits
//! accepted reports in batches (group commit) and closes each publication
//! period. Everything that changes the log goes through its queue, so
//! SQLite sees one writer and the order of events is the queue's order.

mod publish;
mod writer;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use lucent_core::Hash;
use lucent_core::note::{SigningKey, VerifierKey};
use lucent_core::period::day_of;
use lucent_core::promise::Promise;
use lucent_core::record::{Day, Deployment, Report, record_hash};
use tokio::sync::{mpsc, oneshot, watch};

use crate::clock::Clock;
use crate::storage::Cosignature;
pub use writer::{StartupError, Writer, WriterConfig, WriterThread};

/// Reports waiting for the writer, at most, by default; beyond this the
/// server answers 503 rather than queueing without bound.
pub const DEFAULT_QUEUE_CAPACITY: usize = 4096;

/// How a report was received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutcomeKind {
    /// New and now durable.
    Accepted,
    /// The same report again on the same day.
    Replayed,
    /// A different report from the same deployment on the same day; the
    /// outcome describes the stored (first) one.
    Conflict,
}

/// What the writer answers for a report: the stored record it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub kind: OutcomeKind,
    pub day: Day,
    pub deployment: Deployment,
    pub record: Vec<u8>,
    pub record_hash: Hash,
    /// Unix seconds at which the covering root is (or was) signed.
    pub publish_after: i64,
}

/// An outcome with its promise: the signed note that the stored record
/// will be in the root of its day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Promised {
    pub outcome: Outcome,
    pub promise: String,
}

/// A report made into its record, for the day the writer will most likely
/// give it: the caller's task does this work, not the single writer.
struct Prepared {
    report: Report,
    day: Day,
    deployment: Deployment,
    record: Vec<u8>,
    record_hash: Hash,
}

impl Prepared {
    fn new(report: Report, day: Day) -> Prepared {
        let record = report.to_record(day);
        let bytes = record.to_bytes();
        Prepared {
            report,
            day,
            deployment: record.deployment,
            record_hash: record_hash(&bytes),
            record: bytes,
        }
    }
}

/// Why a report could not be taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    #[error("the write queue is full")]
    Saturated,
    #[error("the database is full or out of reach")]
    StorageUnavailable,
    #[error("the writer failed")]
    Failed,
}

enum Command {
    Submit {
        prepared: Prepared,
        reply: oneshot::Sender<Result<Outcome, SubmitError>>,
    },
    /// Answered once every earlier command is done, every period that has
    /// ended is published, and the write-ahead log emptied after it.
    Sync(oneshot::Sender<()>),
    /// A verified cosignature to store.
    Cosign {
        cosignature: Cosignature,
        reply: oneshot::Sender<Result<(), WriteFailed>>,
    },
}

/// The writer could not store what it was given (the details are logged).
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the writer could not store it")]
pub struct WriteFailed;

/// Hands cosignatures to the writer without keeping it running: the
/// writer stops when the last [`Sequencer`] is dropped, whoever else waits
/// on a witness.
#[derive(Clone)]
pub struct CosignatureSink {
    queue: mpsc::WeakSender<Command>,
}

impl CosignatureSink {
    /// Stores a cosignature; returns once it is committed.
    pub async fn store(&self, cosignature: Cosignature) -> Result<(), WriteFailed> {
        let queue = self.queue.upgrade().ok_or(WriteFailed)?;
        let (reply, answer) = oneshot::channel();
        let command = Command::Cosign { cosignature, reply };
        queue.send(command).await.map_err(|_| WriteFailed)?;
        drop(queue);
        answer.await.unwrap_or(Err(WriteFailed))
    }
}

/// How many reports wait for the writer, without keeping the writer
/// running (as a [`Sequencer`] would).
#[derive(Clone)]
pub struct QueueProbe {
    queue: mpsc::WeakSender<Command>,
}

impl QueueProbe {
    /// Reports queued and not yet taken (none once the writer stopped).
    pub fn queued(&self) -> usize {
        self.queue
            .upgrade()
            .map_or(0, |queue| queue.max_capacity() - queue.capacity())
    }
}

/// A handle to the writer's queue. Cheap to clone.
#[derive(Clone)]
pub struct Sequencer {
    queue: mpsc::Sender<Command>,
    clock: Arc<dyn Clock>,
    key: Arc<SigningKey>,
    published_ends: watch::Receiver<i64>,
    cosignatures_stored: watch::Receiver<u64>,
    /// Set by the writer while its last commit of reports failed.
    commits_failing: Arc<AtomicBool>,
}

/// Why the server cannot take reports now (`/readyz`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotReady {
    #[error("the writer has stopped")]
    WriterStopped,
    #[error("the writer's queue is full")]
    QueueFull,
    #[error("the last commit of reports failed; the database is being retried")]
    CommitsFailing,
}

impl Sequencer {
    /// Whether a report sent now could be taken.
    pub fn ready(&self) -> Result<(), NotReady> {
        if self.queue.is_closed() {
            Err(NotReady::WriterStopped)
        } else if self.queue.capacity() == 0 {
            Err(NotReady::QueueFull)
        } else if self.commits_failing.load(Ordering::Relaxed) {
            Err(NotReady::CommitsFailing)
        } else {
            Ok(())
        }
    }

    /// Reports that may wait for the writer.
    pub fn queue_capacity(&self) -> usize {
        self.queue.max_capacity()
    }

    /// Queues a report, waits until it is durable (or refused), and returns
    /// what was stored with its promise. The promise is signed in the
    /// caller's task while the writer commits, so signing runs on every
    /// core and adds nothing to the wait; it is signed again only if the
    /// writer stored another record (a replay, a conflict, midnight).
    pub async fn submit(&self, report: Report) -> Result<Promised, SubmitError> {
        let prepared = Prepared::new(report, day_of(self.clock.now()));
        let guess = (prepared.day, prepared.record_hash);
        let (reply, answer) = oneshot::channel();
        self.queue
            .try_send(Command::Submit { prepared, reply })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => SubmitError::Saturated,
                mpsc::error::TrySendError::Closed(_) => SubmitError::Failed,
            })?;
        let (outcome, signed) = tokio::join!(answer, async { self.sign(guess.0, guess.1) });
        let outcome = outcome.unwrap_or(Err(SubmitError::Failed))?;
        let promise = match (outcome.day, outcome.record_hash) == guess {
            true => signed?,
            false => self.sign(outcome.day, outcome.record_hash)?,
        };
        Ok(Promised { outcome, promise })
    }

    fn sign(&self, day: Day, record_hash: Hash) -> Result<String, SubmitError> {
        Promise::new(self.key.name(), &day.to_string(), record_hash)
            .and_then(|p| p.sign(&self.key))
            .map_err(|e| {
                tracing::error!(error = %e, "signing a promise");
                SubmitError::Failed
            })
    }

    /// The verifier key of the key that signs promises and roots.
    pub fn verifier_key(&self) -> VerifierKey {
        self.key.verifier_key()
    }

    /// Where verified cosignatures are stored.
    pub fn cosignature_sink(&self) -> CosignatureSink {
        CosignatureSink {
            queue: self.queue.downgrade(),
        }
    }

    /// Reports queued for the writer and not yet taken into a batch.
    pub fn queued(&self) -> usize {
        self.queue.max_capacity() - self.queue.capacity()
    }

    /// A [`QueueProbe`] of this queue.
    pub fn queue_probe(&self) -> QueueProbe {
        QueueProbe {
            queue: self.queue.downgrade(),
        }
    }

    /// The end of the last period published (Unix seconds); it changes
    /// with each new root, and the channel closes when the writer stops.
    pub fn published_ends(&self) -> watch::Receiver<i64> {
        self.published_ends.clone()
    }

    /// How many cosignatures the writer has stored since it started; it
    /// changes with each one stored.
    pub fn cosignatures_stored(&self) -> watch::Receiver<u64> {
        self.cosignatures_stored.clone()
    }

    /// Waits until the writer has done everything queued before, including
    /// publishing every period that has ended by the writer's clock and
    /// emptying the write-ahead log after it.
    pub async fn sync(&self) {
        let (reply, done) = oneshot::channel();
        if self.queue.send(Command::Sync(reply)).await.is_ok() {
            let _ = done.await;
        }
    }
}
