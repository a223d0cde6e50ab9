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
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build(connector);
    let uri: hyper::Uri = match target {
        Target::Reports => format!("{base}/v1/reports"),
        Target::Health => format!("{base}/healthz"),
    }
    .parse()
    .expect("a valid base URL");
    let state = Arc::new(Mutex::new(Tally::new()));
    let started = Instant::now();
    let deadline = started + duration;
    let one = move |client: Client<HttpConnector, Full<Bytes>>,
                    uri: hyper::Uri,
                    state: Arc<Mutex<Tally>>,
                    from: Instant| async move {
        let request = match target {
            Target::Reports => Request::post(uri)
                .header("content-type", "application/json")
                .body(Full::new(report_body())),
            Target::Health => Request::get(uri).body(Full::new(Bytes::new())),
        }
        .expect("a valid request");
        let status = match client.request(request).await {
            Ok(response) => {
                let status = response.status().as_u16();
                let _ = response.into_body().collect().await;
                status
            }
            Err(_) => 0,
        };
        state.lock().await.record(status, from.elapsed());
    };
    match load {
        Load::Concurrency(workers) => {
            let tasks: Vec<_> = (0..workers)
                .map(|_| {
                    let (client, uri, state) = (client.clone(), uri.clone(), state.clone());
                    tokio::spawn(async move {
                        while Instant::now() < deadline {
                            one(client.clone(), uri.clone(), state.clone(), Instant::now()).await;
                        }
                    })
                })
                .collect();
            for task in tasks {
                let _ = task.await;
            }
        }
        Load::Rate(per_second) => {
            // A fixed set of connections takes the scheduled starts in
            // order, so a slow server shows as latency (counted from the
            // scheduled start), not as thousands of new connections.
            let interval = Duration::from_secs_f64(1.0 / per_second.max(1) as f64);
            let (starts, queue) = async_channel::bounded::<Instant>(1 << 20);
            let workers: Vec<_> = (0..RATE_CONNECTIONS)
                .map(|_| {
                    let (client, uri, state, queue) =
                        (client.clone(), uri.clone(), state.clone(), queue.clone());
                    tokio::spawn(async move {
                        while let Ok(scheduled) = queue.recv().await {
                            one(client.clone(), uri.clone(), state.clone(), scheduled).await;
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
    }
    let tally = std::mem::replace(&mut *state.lock().await, Tally::new());
    Measured {
        elapsed: started.elapsed(),
        ok: tally.ok,
        failures: tally.failures,
        latency: Some(tally.latency),
    }
}

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
}
