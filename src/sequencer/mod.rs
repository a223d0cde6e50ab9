//! The sequencer: the single writer. It owns the write connection, commits
//! accepted reports in batches (group commit) and closes each publication
//! period. Everything that changes the log goes through its queue, so
//! SQLite sees one writer and the order of events is the queue's order.

mod publish;
mod writer;

use lucent_core::Hash;
use lucent_core::record::{Day, Deployment, Report};
use tokio::sync::{mpsc, oneshot};

pub use publish::record_key;
pub use writer::{StartupError, Writer, WriterConfig};

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

/// Why a report could not be taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    #[error("the write queue is full")]
    Saturated,
    #[error("the database is full")]
    StorageFull,
    #[error("the writer failed")]
    Failed,
}

enum Command {
    Submit {
        report: Report,
        reply: oneshot::Sender<Result<Outcome, SubmitError>>,
    },
    /// Answered once every earlier command is done and every period that
    /// has ended is published.
    Sync(oneshot::Sender<()>),
}

/// A handle to the writer's queue. Cheap to clone.
#[derive(Clone)]
pub struct Sequencer {
    queue: mpsc::Sender<Command>,
}

impl Sequencer {
    /// Queues a report and waits until it is durable (or refused).
    pub async fn submit(&self, report: Report) -> Result<Outcome, SubmitError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .try_send(Command::Submit { report, reply })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => SubmitError::Saturated,
                mpsc::error::TrySendError::Closed(_) => SubmitError::Failed,
            })?;
        answer.await.unwrap_or(Err(SubmitError::Failed))
    }

    /// Waits until the writer has done everything queued before, including
    /// publishing every period that has ended by the writer's clock.
    pub async fn sync(&self) {
        let (reply, done) = oneshot::channel();
        if self.queue.send(Command::Sync(reply)).await.is_ok() {
            let _ = done.await;
        }
    }
}
