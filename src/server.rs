//! `lucent serve`: opens the data directory, starts the writer, serves HTTP,
//! and shuts down in order (stop accepting, commit what is queued, close the
//! database).

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use lucent_core::note::VerifierKey;
use lucent_core::period::Period;

use crate::api::{self, AppState, RateLimiter, TrustedProxies};
use crate::clock::Clock;
use crate::datadir::{DataDir, DataDirError};
use crate::listener::{ConnectionLimits, HttpListener};
use crate::sequencer::{Sequencer, StartupError, Writer, WriterConfig};
use crate::storage::ReadStore;

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
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    #[error(transparent)]
    Startup(#[from] StartupError),
    #[error("opening the database: {0}")]
    Database(#[from] crate::storage::StorageError),
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
    #[error("listening on {address}: {source}")]
    Listen {
        address: String,
        source: std::io::Error,
    },
}

/// A server that is running.
pub struct RunningServer {
    pub address: SocketAddr,
    pub verifier_key: VerifierKey,
    pub sequencer: Sequencer,
    read: ReadStore,
    stop: oneshot::Sender<()>,
    http: JoinHandle<()>,
    writer: JoinHandle<()>,
}

/// Starts the server: the returned value is running and listening.
pub async fn start(
    config: ServeConfig,
    clock: Arc<dyn Clock>,
) -> Result<RunningServer, ServeError> {
    let read = config.connection_limits.read_timeout;
    if config.request_timeout >= read {
        return Err(ServeError::Timeouts {
            request: config.request_timeout,
            read,
        });
    }
    let mut data_dir = DataDir::open_or_create(&config.data_dir, &config.origin)?;
    if data_dir.key.name() != config.origin {
        return Err(ServeError::OriginMismatch {
            found: data_dir.key.name().to_owned(),
            given: config.origin,
        });
    }
    let key = Arc::new(data_dir.key.clone());
    let verifier_key = key.verifier_key();
    let (write, read) = crate::storage::open(&data_dir.database_path(), data_dir.created).await?;
    data_dir.finish_creation()?;
    let writer_config = WriterConfig {
        clock,
        period: config.publish_period,
        key: key.clone(),
        data_dir,
        queue_capacity: config.queue_capacity,
    };
    let (sequencer, writer) = Writer::start(write, read.clone(), writer_config).await?;

    let rate_limiter = config.rate_limit.map(|limit| {
        RateLimiter::per_minute(limit, TrustedProxies(config.trusted_proxies.clone()))
    });
    let state = Arc::new(AppState {
        sequencer: sequencer.clone(),
        read: read.clone(),
        key,
        origin: verifier_key.name().to_owned(),
        rate_limiter,
        publish_period: config.publish_period,
        stats: Default::default(),
        report_counts: Default::default(),
    });
    spawn_forgetting(&state);
    spawn_report_count_log(&state);
    spawn_stats_refresh(&state);
    let listener = HttpListener::bind(
        &config.listen,
        config.connection_limits,
        config.trusted_proxies.clone(),
    )
    .await
    .map_err(|source| ServeError::Listen {
        address: config.listen.clone(),
        source,
    })?;
    let address = listener.local_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    let app = api::app(state, config.request_timeout);
    let http = tokio::spawn(listener.serve(app, async {
        let _ = stopped.await;
    }));
    tracing::info!(%address, verifier_key = %verifier_key, "lucent is serving");
    Ok(RunningServer {
        address,
        verifier_key,
        sequencer,
        read,
        stop,
        http,
        writer,
    })
}

/// Computes the stats at start and after each new root, so that visitors
/// seldom wait for them: on a large log they read the whole 30-day window.
/// Ends when the writer stops.
fn spawn_stats_refresh(state: &AppState) {
    let (stats, read) = (state.stats.clone(), state.read.clone());
    let mut published = state.sequencer.published();
    tokio::spawn(async move {
        loop {
            if let Err(e) = stats.get(&read).await {
                tracing::warn!(error = %e, "computing the stats");
            }
            if published.changed().await.is_err() {
                return;
            }
        }
    });
}

/// Logs the counts of answered reports once a minute.
fn spawn_report_count_log(state: &Arc<AppState>) {
    let state = Arc::downgrade(state);
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(60));
        every.tick().await;
        loop {
            every.tick().await;
            let Some(state) = state.upgrade() else { return };
            state.report_counts.log();
        }
    });
}

/// Drops rate-limiter entries that are idle, so addresses stay in memory
/// for minutes only.
fn spawn_forgetting(state: &Arc<AppState>) {
    let state = Arc::downgrade(state);
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(60));
        loop {
            every.tick().await;
            let Some(state) = state.upgrade() else { return };
            if let Some(limiter) = &state.rate_limiter {
                limiter.forget_idle();
            }
        }
    });
}

impl RunningServer {
    /// The size of the latest signed root.
    pub async fn published_size(&self) -> Result<u64, ServeError> {
        Ok(self
            .read
            .latest_root()
            .await?
            .map_or(0, |root| root.size as u64))
    }

    /// Stops accepting requests, lets the writer commit what is queued, and
    /// closes the database.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        if let Err(e) = self.http.await {
            tracing::error!(error = %e, "the HTTP server task failed");
        }
        drop(self.sequencer);
        if let Err(e) = self.writer.await {
            tracing::error!(error = %e, "the writer task failed");
        }
    }
}
