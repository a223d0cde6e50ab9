//! The HTTP load generator: distinct valid reports (a fresh nonce each) at
//! a fixed concurrency or a fixed offered rate, for a duration; and, in the
//! same run, the same server's `GET /healthz` ceiling, so that the figure
//! that counts is a ratio that holds on a noisy machine.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::sync::Mutex;

/// Connections that carry an offered rate.
const RATE_CONNECTIONS: usize = 256;

/// How requests are offered.
#[derive(Debug, Clone, Copy)]
pub enum Load {
    /// This many requests in flight at all times (closed model).
    Concurrency(usize),
    /// This many requests started per second, whatever the answers
    /// (open model; latency counts from the scheduled start).
    Rate(u64),
}

/// What one run measured.
#[derive(Debug, Default)]
pub struct Measured {
    pub elapsed: Duration,
    pub ok: u64,
    /// Answers that were not 2xx, by status (0: no answer).
    pub failures: BTreeMap<u16, u64>,
    pub latency: Option<Histogram<u64>>,
}

impl Measured {
    pub fn per_second(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    /// Latency at quantile `q`, in milliseconds.
    pub fn latency_ms(&self, q: f64) -> f64 {
        self.latency
            .as_ref()
            .map_or(0.0, |h| h.value_at_quantile(q) as f64 / 1000.0)
    }

    pub fn summary(&self, what: &str) -> String {
        let mut text = format!(
            "{what}: {} ok in {:.1} s = {:.0}/s; latency ms p50 {:.2} p90 {:.2} p99 {:.2} max {:.2}",
            self.ok,
            self.elapsed.as_secs_f64(),
            self.per_second(),
            self.latency_ms(0.5),
            self.latency_ms(0.9),
            self.latency_ms(0.99),
            self.latency
                .as_ref()
                .map_or(0.0, |h| h.max() as f64 / 1000.0),
        );
        for (status, count) in &self.failures {
            text.push_str(&format!(
                "; {count} × {}",
                if *status == 0 {
                    "no answer".into()
                } else {
                    status.to_string()
                }
            ));
        }
        text
    }
}

/// What to request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Reports,
    Health,
}

fn report_body() -> Bytes {
    let nonce = uuid::Uuid::new_v4();
    Bytes::from(format!(
        r#"{{"nonce":"{nonce}","version":"1.4.2","tokens_created":120,"tokens_detokenized":45,"grants_issued":3}}"#
    ))
}

/// Offers `load` of `target` requests to `base` (e.g. `http://127.0.0.1:8080`) for `duration`.
pub async fn run(base: &str, target: Target, load: Load, duration: Duration) -> Measured {
    let requester = Arc::new(Requester::new(base, target));
    let started = Instant::now();
    let deadline = started + duration;
    match load {
        Load::Concurrency(workers) => closed_loop(&requester, workers, deadline).await,
        Load::Rate(per_second) => open_loop(&requester, per_second, deadline).await,
    }
    let tally = std::mem::replace(&mut *requester.tally.lock().await, Tally::new());
    tally.into_measured(started.elapsed())
}

/// `workers` tasks, each sending its next request as soon as the last one
/// is answered, until `deadline`.
async fn closed_loop(requester: &Arc<Requester>, workers: usize, deadline: Instant) {
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let requester = requester.clone();
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    requester.send(Instant::now()).await;
                }
            })
        })
        .collect();
    for task in tasks {
        let _ = task.await;
    }
}

/// `per_second` requests started on schedule until `deadline`, whatever
/// the answers.
async fn open_loop(requester: &Arc<Requester>, per_second: u64, deadline: Instant) {
    // A fixed set of connections takes the scheduled starts in
    // order, so a slow server shows as latency (counted from the
    // scheduled start), not as thousands of new connections.
    let interval = Duration::from_secs_f64(1.0 / per_second.max(1) as f64);
    let (starts, queue) = async_channel::bounded::<Instant>(1 << 20);
    let workers: Vec<_> = (0..RATE_CONNECTIONS)
        .map(|_| {
            let (requester, queue) = (requester.clone(), queue.clone());
            tokio::spawn(async move {
                while let Ok(scheduled) = queue.recv().await {
                    requester.send(scheduled).await;
                }
            })
        })
        .collect();
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    loop {
        // The instant the tick was due, even if it fires late.
        let scheduled = ticks.tick().await.into_std();
        if scheduled >= deadline {
            break;
        }
        let _ = starts.send(scheduled).await;
    }
    starts.close();
    for worker in workers {
        let _ = worker.await;
    }
}

/// Sends one kind of request to one server, and tallies the answers.
struct Requester {
    client: Client<HttpConnector, Full<Bytes>>,
    uri: hyper::Uri,
    target: Target,
    tally: Mutex<Tally>,
}

impl Requester {
    fn new(base: &str, target: Target) -> Requester {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let uri = match target {
            Target::Reports => format!("{base}/v1/reports"),
            Target::Health => format!("{base}/healthz"),
        }
        .parse()
        .expect("a valid base URL");
        Requester {
            client: Client::builder(TokioExecutor::new()).build(connector),
            uri,
            target,
            tally: Mutex::new(Tally::new()),
        }
    }

    /// Sends one request and records its status and its latency, counted
    /// from `from` (now, or when it was scheduled).
    async fn send(&self, from: Instant) {
        let request = match self.target {
            Target::Reports => Request::post(self.uri.clone())
                .header("content-type", "application/json")
                .body(Full::new(report_body())),
            Target::Health => Request::get(self.uri.clone()).body(Full::new(Bytes::new())),
        }
        .expect("a valid request");
        let status = match self.client.request(request).await {
            Ok(response) => {
                let status = response.status().as_u16();
                let _ = response.into_body().collect().await;
                status
            }
            Err(_) => 0,
        };
        self.tally.lock().await.record(status, from.elapsed());
    }
}

/// The answers so far: successes with their latency, failures by status.
struct Tally {
    ok: u64,
    failures: BTreeMap<u16, u64>,
    latency: Histogram<u64>,
}

impl Tally {
    fn new() -> Tally {
        Tally {
            ok: 0,
            failures: BTreeMap::new(),
            latency: Histogram::new(3).expect("3 significant figures"),
        }
    }

    fn record(&mut self, status: u16, latency: Duration) {
        if (200..300).contains(&status) {
            self.ok += 1;
            let _ = self.latency.record(latency.as_micros() as u64);
        } else {
            *self.failures.entry(status).or_default() += 1;
        }
    }

    fn into_measured(self, elapsed: Duration) -> Measured {
        Measured {
            elapsed,
            ok: self.ok,
            failures: self.failures,
            latency: Some(self.latency),
        }
    }
}
