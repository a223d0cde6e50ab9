//! `lucent serve`: opens the data directory, starts the writer, serves HTTP,
//! and shuts down in order (stop accepting, commit what is queued, close the
//! database).

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use lucent_core::note::VerifierKey;
use lucent_core::period::Period;

use crate::api::{RateLimiter, TrustedProxies};
use crate::clock::Clock;
use crate::cosigning::{self, Witness};
use crate::datadir::{DataDir, DataDirError};
use crate::listener::{ConnectionLimits, HttpListener};
use crate::metrics::Metrics;
use crate::pages::WitnessKeys;
use crate::published::{PublishedLog, ReadError};
use crate::routes::{self, Parts, ReportCounts};
use crate::sequencer::{Sequencer, StartupError, Writer, WriterConfig, WriterThread};
use crate::storage::{Database, LogReader};

/// Everything `serve` needs to know.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: String,
    pub data_dir: PathBuf,
    pub origin: String,
    pub publish_period: Period,
    /// Reports per minute per client address; `None` turns the limit off.
    pub rate_limit: Option<NonZeroU32>,
    pub trusted_proxies: Vec<IpAddr>,
    /// Reports that may wait for the writer before the server answers 503.
    pub queue_capacity: usize,
    pub connection_limits: ConnectionLimits,
    /// The longest a request may take before the server answers 503.
    pub request_timeout: Duration,
    /// The witnesses asked to cosign each new root.
    pub witnesses: Vec<Witness>,
    /// The log's database as a URL (`postgres://…`); `None` is the SQLite
    /// file in the data directory.
    pub database_url: Option<String>,
    /// Where `GET /metrics` is served for the operator; `None`: nowhere.
    pub metrics_listen: Option<String>,
    /// Whether `publish_period` may change the log's period (from the next
    /// UTC midnight); otherwise a different one is refused.
    pub change_publish_period: bool,
}

impl ServeConfig {
    /// A log in `data_dir` on a free port of 127.0.0.1, on SQLite, with no
    /// rate limit and no witnesses: for tests and local trials.
    pub fn loopback(data_dir: &Path, origin: &str, publish_period: Period) -> ServeConfig {
        let seconds = Duration::from_secs;
        ServeConfig {
            listen: "127.0.0.1:0".into(),
            data_dir: data_dir.to_owned(),
            origin: origin.into(),
            publish_period,
            rate_limit: None,
            trusted_proxies: Vec::new(),
            queue_capacity: crate::sequencer::DEFAULT_QUEUE_CAPACITY,
            connection_limits: ConnectionLimits {
                max_connections: 512,
                max_connections_per_address: 128,
                head_timeout: seconds(10),
                read_timeout: seconds(10),
                write_timeout: seconds(10),
            },
            request_timeout: seconds(8),
            witnesses: Vec::new(),
            database_url: None,
            metrics_listen: None,
            change_publish_period: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    #[error(transparent)]
    Startup(#[from] StartupError),
    #[error("opening the database: {0}")]
    Database(#[from] crate::storage::StorageError),
    #[error("reading the log: {0}")]
    Read(#[from] ReadError),
    #[error(
        "this data directory holds the log {found:?}, but --origin is {given:?}; pass --origin {found} \
         (an origin is fixed when its log is created)"
    )]
    OriginMismatch { found: String, given: String },
    #[error(
        "--request-timeout ({request:?}) must be shorter than --read-timeout ({read:?}): a connection's \
         read clock also runs while its answer is prepared, so a longer request would be cut off \
         without an answer instead of getting a 503"
    )]
    Timeouts { request: Duration, read: Duration },
    #[error("{given} witnesses are given; a log asks at most {max}")]
    TooManyWitnesses { given: usize, max: usize },
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: String,
        source: std::io::Error,
    },
}

/// A server that is running.
pub struct RunningServer {
    pub address: SocketAddr,
    /// Where `/metrics` is served, if it is.
    pub metrics_address: Option<SocketAddr>,
    report_counts: Arc<ReportCounts>,
    pub verifier_key: VerifierKey,
    pub sequencer: Sequencer,
    log: PublishedLog,
    stop: watch::Sender<bool>,
    http: JoinHandle<()>,
    writer: WriterThread,
}

/// Starts the server: the returned value is running and listening.
pub async fn start(
    config: ServeConfig,
    clock: Arc<dyn Clock>,
) -> Result<RunningServer, ServeError> {
    check_timeouts(&config)?;
    if config.witnesses.len() > cosigning::MAX_WITNESSES {
        return Err(ServeError::TooManyWitnesses {
            given: config.witnesses.len(),
            max: cosigning::MAX_WITNESSES,
        });
    }
    // Bound first: a server that cannot listen creates no log.
    let listener = bind(&config, &config.listen).await?;
    let metrics_listener = match &config.metrics_listen {
        Some(address) => Some(bind(&config, address).await?),
        None => None,
    };
    let metrics = Metrics::default();
    let (sequencer, writer, read) = start_writer(&config, clock.clone(), &metrics).await?;
    let log = PublishedLog::new(read);
    spawn_stats_refresh(&log, &sequencer);
    cosigning::spawn(
        &config.witnesses,
        &log,
        &sequencer.cosignature_sink(),
        &sequencer.published_ends(),
    );
    let address = listener.local_addr();
    let (stop, stopped) = watch::channel(false);
    let metrics_address = metrics_listener.map(|listener| {
        let address = listener.local_addr();
        let app = routes::metrics_app(metrics.clone(), sequencer.clone(), log.clone(), clock);
        tokio::spawn(listener.serve(app, stop_signal(stopped.clone())));
        address
    });
    let parts = app_parts(&config, &sequencer, &log, metrics);
    let report_counts = parts.report_counts.clone();
    let app = routes::app(parts, config.request_timeout);
    let http = tokio::spawn(listener.serve(app, stop_signal(stopped)));
    let verifier_key = sequencer.verifier_key();
    tracing::info!(%address, verifier_key = %verifier_key, "lucent is serving");
    if let Some(address) = metrics_address {
        tracing::info!(%address, "metrics for the operator at /metrics");
    }
    Ok(RunningServer {
        address,
        metrics_address,
        report_counts,
        verifier_key,
        sequencer,
        log,
        stop,
        http,
        writer,
    })
}

async fn bind(config: &ServeConfig, address: &str) -> Result<HttpListener, ServeError> {
    HttpListener::bind(
        address,
        config.connection_limits,
        config.trusted_proxies.clone(),
    )
    .await
    .map_err(|source| ServeError::Listen {
        address: address.to_owned(),
        source,
    })
}

/// Resolves once `stop` says so (or its sender is gone).
async fn stop_signal(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// The request timeout must be shorter than the read timeout: a
/// connection's read clock also runs while its answer is prepared.
fn check_timeouts(config: &ServeConfig) -> Result<(), ServeError> {
    let read = config.connection_limits.read_timeout;
    if config.request_timeout >= read {
        return Err(ServeError::Timeouts {
            request: config.request_timeout,
            read,
        });
    }
    Ok(())
}

/// Opens (or creates) the log in the data directory and starts its writer;
/// returns the read side too.
async fn start_writer(
    config: &ServeConfig,
    clock: Arc<dyn Clock>,
    metrics: &Metrics,
) -> Result<(Sequencer, WriterThread, Arc<dyn LogReader>), ServeError> {
    let database = Database::new(config.database_url.as_deref(), &config.data_dir)?;
    let mut data_dir = DataDir::open_or_create(&config.data_dir, &config.origin, &database)?;
    if data_dir.key.name() != config.origin {
        return Err(ServeError::OriginMismatch {
            found: data_dir.key.name().to_owned(),
            given: config.origin.clone(),
        });
    }
    let key = Arc::new(data_dir.key.clone());
    let (write, read) = crate::storage::open(&database, data_dir.created).await?;
    data_dir.finish_creation()?;
    let writer_config = WriterConfig {
        clock,
        period: config.publish_period,
        key,
        data_dir,
        queue_capacity: config.queue_capacity,
        metrics: metrics.clone(),
        change_period: config.change_publish_period,
    };
    let (sequencer, writer) = Writer::start(write, read.clone(), writer_config).await?;
    Ok((sequencer, writer, read))
}

/// What the endpoints are given, with the per-minute tasks of the rate
/// limiter and the report counts.
fn app_parts(
    config: &ServeConfig,
    sequencer: &Sequencer,
    log: &PublishedLog,
    metrics: Metrics,
) -> Parts {
    let rate_limiter = config.rate_limit.map(|limit| {
        let trusted = TrustedProxies::new(&config.trusted_proxies);
        Arc::new(RateLimiter::per_minute(limit, trusted))
    });
    if let Some(limiter) = &rate_limiter {
        // Addresses stay in memory for minutes only.
        every_minute(Arc::downgrade(limiter), RateLimiter::forget_idle);
    }
    let report_counts = Arc::new(ReportCounts::new(metrics, sequencer.queue_probe()));
    every_minute(Arc::downgrade(&report_counts), ReportCounts::log);
    Parts {
        sequencer: sequencer.clone(),
        log: log.clone(),
        publish_period: config.publish_period,
        rate_limiter,
        report_counts,
        witnesses: WitnessKeys(config.witnesses.iter().map(|w| w.key.clone()).collect()),
    }
}

/// Computes the stats at start and after each new root, so that visitors
/// seldom wait for them: on a large log they read the whole 30-day window.
/// Ends when the writer stops.
fn spawn_stats_refresh(log: &PublishedLog, sequencer: &Sequencer) {
    let log = log.clone();
    let mut published_ends = sequencer.published_ends();
    tokio::spawn(async move {
        loop {
            if let Err(e) = log.latest_stats().await {
                tracing::warn!(error = %e, "computing the stats");
            }
            if published_ends.changed().await.is_err() {
                return;
            }
        }
    });
}

/// Calls `task` on `target` once a minute, from a minute on, while the
/// server holds it.
fn every_minute<T: Send + Sync + 'static>(target: Weak<T>, task: fn(&T)) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(60));
        every.tick().await;
        loop {
            every.tick().await;
            let Some(target) = target.upgrade() else {
                return;
            };
            task(&target);
        }
    });
}

impl RunningServer {
    /// Ends the minute of the report counts now, as their timer does once
    /// a minute: the log line, and what the metrics show.
    pub fn close_minute(&self) {
        self.report_counts.log();
    }

    /// The size of the latest signed root.
    pub async fn published_size(&self) -> Result<u64, ReadError> {
        self.log.size().await
    }

    /// Stops accepting requests, lets the writer commit what is queued, and
    /// closes the database.
    pub async fn shutdown(self) {
        self.stop.send_replace(true);
        if let Err(e) = self.http.await {
            tracing::error!(error = %e, "the HTTP server task failed");
        }
        drop(self.sequencer);
        if !self.writer.join().await {
            tracing::error!("the writer stopped by a panic");
        }
    }
}
