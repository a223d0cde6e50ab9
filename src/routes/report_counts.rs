//! Reports are counted, never logged one by one: a log line carries its own
//! time of day, which would tell when a report arrived (SPEC section 2).
//! The counts are logged once a minute, and when the server stops.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::metrics::Metrics;
use crate::sequencer::QueueProbe;

/// The statuses `POST /v1/reports` answers, counted each on its own;
/// anything else is counted as `other`.
const STATUSES: [u16; 10] = [202, 200, 400, 409, 413, 415, 429, 500, 503, 0];

/// Answers to `POST /v1/reports` since the counts were last taken; also
/// counted, for good, in the operator's metrics, which show them a minute
/// at a time as the log does.
#[derive(Default)]
pub struct ReportCounts {
    since_logged: [AtomicU64; STATUSES.len()],
    metrics: Metrics,
    queue: Option<QueueProbe>,
}

impl ReportCounts {
    pub fn new(metrics: Metrics, queue: QueueProbe) -> ReportCounts {
        let counts = ReportCounts {
            since_logged: Default::default(),
            metrics,
            queue: Some(queue),
        };
        counts.metrics.close_minute(0);
        counts
    }

    pub fn count(&self, status: u16) {
        self.metrics.count_report(status);
        let slot = STATUSES
            .iter()
            .position(|s| *s == status)
            .unwrap_or(STATUSES.len() - 1);
        self.since_logged[slot].fetch_add(1, Ordering::Relaxed);
    }

    /// Logs the counts taken since the last call, if there are any, and
    /// starts counting again from zero; the metrics' minute ends too.
    pub fn log(&self) {
        let queued = self.queue.as_ref().map_or(0, QueueProbe::queued);
        self.metrics.close_minute(queued);
        let taken: Vec<(u16, u64)> = STATUSES
            .iter()
            .zip(&self.since_logged)
            .map(|(status, count)| (*status, count.swap(0, Ordering::Relaxed)))
            .filter(|(_, count)| *count > 0)
            .collect();
        if taken.is_empty() {
            return;
        }
        let count_of = |status| taken.iter().find(|(s, _)| *s == status).map_or(0, |c| c.1);
        let others: Vec<String> = taken
            .iter()
            .filter(|(status, _)| !matches!(status, 202 | 200))
            .map(|(status, count)| match status {
                0 => format!("other:{count}"),
                _ => format!("{status}:{count}"),
            })
            .collect();
        tracing::info!(
            accepted = count_of(202),
            replayed = count_of(200),
            refused = others.join(" "),
            "reports answered since the last count"
        );
    }
}

impl Drop for ReportCounts {
    /// The counts since the last minute, when the server stops.
    fn drop(&mut self) {
        self.log();
    }
}

#[cfg(test)]
mod tests {
    use super::ReportCounts;
    use std::sync::atomic::Ordering;

    #[test]
    fn counts_by_status_and_starts_again_after_logging() {
        let counts = ReportCounts::default();
        for status in [202, 202, 200, 409, 418] {
            counts.count(status);
        }
        let read = |c: &ReportCounts| -> Vec<u64> {
            c.since_logged
                .iter()
                .map(|n| n.load(Ordering::Relaxed))
                .collect()
        };
        assert_eq!(read(&counts), [2, 1, 0, 1, 0, 0, 0, 0, 0, 1]);
        counts.log();
        assert_eq!(read(&counts), [0; 10]);
    }
}
