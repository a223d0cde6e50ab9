//! Metrics for the operator, in the Prometheus text format. They are served
//! only on `--metrics-listen`, an address of their own that is off by
//! default, because the flow of reports they show (how many, when) is
//! exactly what the public pages never tell.
//!
//! Counters and histograms are updated where things happen (the routes,
//! the writer). What follows the flow of reports (answers, commits, the
//! queue) is shown as it stood at the end of the last whole minute, never
//! live: SPEC section 2 lets the server tell how many reports it took per
//! minute or coarser, and a scraper that stores every sample would
//! otherwise keep each report's arrival to the scrape interval. The rest
//! (readiness, last root, publications, witnesses) is read when scraped.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReportLabels {
    /// accepted (202), replayed (200), or refused (any other status).
    outcome: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WitnessLabels {
    witness: String,
}

/// The counters and histograms, shared by whoever updates them.
#[derive(Clone, Debug)]
pub struct Metrics {
    reports: Family<ReportLabels, Counter>,
    commit_seconds: Histogram,
    commit_failures: Counter,
    publication_seconds: Histogram,
    /// The exposition of the report series at the last minute's end.
    last_minute: Arc<Mutex<String>>,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics {
            reports: Family::default(),
            // 0.25 ms to 4 s.
            commit_seconds: Histogram::new(exponential_buckets(0.000_25, 2.0, 15)),
            commit_failures: Counter::default(),
            // 10 ms to 160 s.
            publication_seconds: Histogram::new(exponential_buckets(0.01, 2.0, 15)),
            last_minute: Arc::default(),
        }
    }
}

/// What the server is at the moment of a scrape.
#[derive(Debug, Clone, Default)]
pub struct Gauges {
    pub queue_capacity: u64,
    /// Whether `/readyz` says ready.
    pub ready: bool,
    /// The latest signed root: its size, and the seconds since its period
    /// ended.
    pub last_root: Option<(u64, i64)>,
    /// Each witness's name and the size of the latest root it cosigned.
    pub witnesses: Vec<(String, u64)>,
}

impl Metrics {
    /// An answer to `POST /v1/reports`.
    pub fn count_report(&self, status: u16) {
        let outcome = match status {
            202 => "accepted",
            200 => "replayed",
            _ => "refused",
        };
        self.reports
            .get_or_create(&ReportLabels { outcome, status })
            .inc();
    }

    /// A batch of reports committed (or failed), and how long it took.
    pub fn observe_commit(&self, took: Duration, committed: bool) {
        self.commit_seconds.observe(took.as_secs_f64());
        if !committed {
            self.commit_failures.inc();
        }
    }

    /// A period published, from the lock to the commit of its root.
    pub fn observe_publication(&self, took: Duration) {
        self.publication_seconds.observe(took.as_secs_f64());
    }

    /// Ends a minute: the report series are shown as they are now until
    /// the next call, with `queue_depth` (reports waiting for the writer).
    pub fn close_minute(&self, queue_depth: usize) {
        let mut registry = Registry::with_prefix("lucent");
        registry.register(
            "reports",
            "Answers to POST /v1/reports, by outcome and status, to the last whole minute",
            self.reports.clone(),
        );
        registry.register(
            "commit_seconds",
            "Time to commit a batch of accepted reports (group commit), to the last whole minute",
            self.commit_seconds.clone(),
        );
        registry.register(
            "commit_failures",
            "Batches of reports whose commit failed (answered 503), to the last whole minute",
            self.commit_failures.clone(),
        );
        gauge(
            &mut registry,
            "queue_depth",
            "Reports waiting for the writer, at the last minute's end",
            count(queue_depth as u64),
        );
        let text = encode(&registry);
        *self.last_minute.lock().expect("not poisoned") = text;
    }

    /// The text exposition: the report series of the last minute, and
    /// `now`'s gauges.
    pub fn render(&self, now: &Gauges) -> String {
        let mut registry = Registry::with_prefix("lucent");
        registry.register(
            "publication_seconds",
            "Time to publish a period, from the publication lock to the commit of its root",
            self.publication_seconds.clone(),
        );
        gauge(
            &mut registry,
            "queue_capacity",
            "Reports that may wait before the server answers 503",
            count(now.queue_capacity),
        );
        gauge(
            &mut registry,
            "ready",
            "1 if the server can take reports now (as /readyz says)",
            i64::from(now.ready),
        );
        if let Some((size, age)) = now.last_root {
            gauge(
                &mut registry,
                "last_root_size",
                "Entries under the latest signed root",
                count(size),
            );
            gauge(
                &mut registry,
                "last_root_age_seconds",
                "Seconds since the period of the latest signed root ended",
                age,
            );
        }
        let witnesses = Family::<WitnessLabels, Gauge<i64>>::default();
        for (witness, size) in &now.witnesses {
            witnesses
                .get_or_create(&WitnessLabels {
                    witness: witness.clone(),
                })
                .set(count(*size));
        }
        registry.register(
            "witness_cosigned_size",
            "Size of the latest root each witness cosigned",
            witnesses,
        );
        let last_minute = self.last_minute.lock().expect("not poisoned").clone();
        // Two expositions as one: the first without its end line.
        let mut text = last_minute
            .strip_suffix(EOF)
            .unwrap_or(&last_minute)
            .to_owned();
        text.push_str(&encode(&registry));
        text
    }
}

/// The line that ends an OpenMetrics exposition.
const EOF: &str = "# EOF\n";

fn encode(registry: &Registry) -> String {
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, registry)
        .expect("writing to a String does not fail");
    text
}

fn gauge(registry: &mut Registry, name: &str, help: &str, value: i64) {
    let gauge = Gauge::<i64>::default();
    gauge.set(value);
    registry.register(name, help, gauge);
}

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::{Gauges, Metrics};
    use std::time::Duration;

    #[test]
    fn counts_and_gauges_are_exposed() {
        let metrics = Metrics::default();
        metrics.count_report(202);
        metrics.count_report(202);
        metrics.count_report(409);
        metrics.observe_commit(Duration::from_millis(3), true);
        let gauges = Gauges {
            queue_capacity: 4096,
            ready: true,
            last_root: Some((10, 30)),
            witnesses: vec![("w.example".into(), 7)],
        };
        // Nothing of the reports before the minute ends.
        assert!(!metrics.render(&gauges).contains("lucent_reports_total"));
        metrics.close_minute(5);
        metrics.count_report(202); // shown at the next minute
        let text = metrics.render(&gauges);
        for line in [
            "lucent_reports_total{outcome=\"accepted\",status=\"202\"} 2",
            "lucent_reports_total{outcome=\"refused\",status=\"409\"} 1",
            "lucent_commit_seconds_count 1",
            "lucent_commit_seconds_bucket{le=\"0.004\"} 1",
            "lucent_queue_depth 5",
            "lucent_ready 1",
            "lucent_last_root_size 10",
            "lucent_last_root_age_seconds 30",
            "lucent_witness_cosigned_size{witness=\"w.example\"} 7",
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
        assert!(text.ends_with("# EOF\n"));
        assert_eq!(text.matches("# EOF").count(), 1);
    }
}
