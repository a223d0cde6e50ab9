//! The [`Reporter`]: a deployment's daily report, its promise verified and
//! kept, and later the receipts of the promises kept.

use std::path::PathBuf;
use std::sync::Arc;

use lucent_core::note::VerifierKey;
use lucent_core::record::{FieldProblem, Nonce};

use crate::http::{HttpError, LogClient};
use crate::quorum::WitnessQuorum;
use crate::retry::{RetryPolicy, Sleeper, TokioSleeper};
use crate::state::{ReceiptCheck, StateDir, StateError};
use crate::submit::{ReportFields, Submission, SubmitError, Usage, submit_to};

/// Reports a deployment's usage to one log.
///
/// ```no_run
/// # async fn daily() -> Result<(), lucent_client::ReporterError> {
/// use lucent_client::{Reporter, Usage, core::note::VerifierKey};
///
/// // The log's verifier key, from a source you trust (not from the log).
/// let key = VerifierKey::parse("log.example.com+1c3a7c8f+AeR2…").unwrap();
/// let reporter = Reporter::builder("https://log.example.com", "/var/lib/product/lucent")
///     .key(key)
///     .build()?;
/// let reported = reporter
///     .report(&Usage {
///         version: "1.4.2".into(),
///         tokens_created: 120,
///         tokens_detokenized: 45,
///         grants_issued: 3,
///     })
///     .await?;
/// println!("{}", reported.submission);
/// for checked in reporter.check_receipts(&Default::default()).await? {
///     println!("{checked}");
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Reporter {
    client: LogClient,
    key: Option<VerifierKey>,
    state: StateDir,
    nonce: Nonce,
    retry: RetryPolicy,
    sleeper: Arc<dyn Sleeper>,
}

/// How to build a [`Reporter`]: the log, its key, the state directory.
#[must_use]
pub struct ReporterBuilder {
    url: String,
    state_dir: PathBuf,
    trust: Trust,
    nonce: Option<String>,
    retry: RetryPolicy,
    sleeper: Arc<dyn Sleeper>,
}

/// Which key a promise must be signed with.
enum Trust {
    Unset,
    Pinned(Box<VerifierKey>),
    Served,
}

/// Why a reporter could not be built, report, or check its receipts.
#[derive(Debug, thiserror::Error)]
pub enum ReporterError {
    #[error(
        "no verifier key: pin the log's key (ReporterBuilder::key), or trust the one it serves \
         (ReporterBuilder::trust_served_key)"
    )]
    NoKey,
    #[error("the nonce given is not a nonce: {0}")]
    BadNonce(FieldProblem),
    #[error(transparent)]
    Url(HttpError),
    #[error("the state directory: {0}")]
    State(#[from] StateError),
    #[error("{error} ({attempts} {tries}); nothing was kept", tries = if *attempts == 1 { "try" } else { "tries" })]
    Submit { attempts: u32, error: SubmitError },
}

/// A report the log accepted, its promise verified and kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reported {
    pub submission: Submission,
    /// Where the promise is kept until its receipt verifies.
    pub kept: PathBuf,
    /// How many times the report was sent.
    pub attempts: u32,
}

impl Reporter {
    /// A reporter to the log at `url`, keeping its nonce and promises in
    /// `state_dir`, with [`RetryPolicy::default`].
    pub fn builder(url: impl Into<String>, state_dir: impl Into<PathBuf>) -> ReporterBuilder {
        ReporterBuilder {
            url: url.into(),
            state_dir: state_dir.into(),
            trust: Trust::Unset,
            nonce: None,
            retry: RetryPolicy::default(),
            sleeper: Arc::new(TokioSleeper),
        }
    }

    pub fn state(&self) -> &StateDir {
        &self.state
    }

    /// The deployment hash that stands for this deployment in the log.
    pub fn deployment(&self) -> String {
        self.nonce.deployment().to_string()
    }

    /// Sends today's report after the policy's random delay, retrying as
    /// it says while the log cannot be reached or answers 5xx or 429 (never
    /// sooner than its `Retry-After`); verifies the promise (signed by the
    /// pinned key, for exactly the record this report makes) and keeps it.
    /// A promise that does not verify is refused, and nothing is kept.
    pub async fn report(&self, usage: &Usage) -> Result<Reported, ReporterError> {
        let delay = self.retry.initial_delay();
        if !delay.is_zero() {
            self.sleeper.sleep(delay).await;
        }
        let report = ReportFields {
            nonce: self.nonce.as_str().to_owned(),
            usage: usage.clone(),
        };
        let transient = |error: &SubmitError| error.transient().map(HttpError::retry_after);
        let (outcome, attempts) = self
            .retry
            .run(self.sleeper.as_ref(), transient, || {
                submit_to(&self.client, &report, self.key.as_ref())
            })
            .await;
        let submission = outcome.map_err(|error| ReporterError::Submit { attempts, error })?;
        let kept = self.state.keep(&submission.promise)?;
        Ok(Reported {
            submission,
            kept,
            attempts,
        })
    }

    /// Checks the receipts of the kept promises: [`StateDir::check_receipts`].
    pub async fn check_receipts(
        &self,
        witnesses: &WitnessQuorum,
    ) -> Result<Vec<ReceiptCheck>, ReporterError> {
        Ok(self.state.check_receipts(witnesses).await?)
    }
}

impl ReporterBuilder {
    /// Pins the log's verifier key, obtained from a source you trust: every
    /// promise must be signed with it, and the log must serve it.
    pub fn key(mut self, key: VerifierKey) -> Self {
        self.trust = Trust::Pinned(Box::new(key));
        self
    }

    /// Verifies promises with whichever key the log serves when asked.
    /// That proves only that the answer is the log's as served: pin the key
    /// with [`ReporterBuilder::key`] instead wherever you can.
    pub fn trust_served_key(mut self) -> Self {
        self.trust = Trust::Served;
        self
    }

    /// Reports with this nonce instead of the state directory's (which is
    /// then neither read nor made): for a deployment that keeps its nonce
    /// itself.
    pub fn nonce(mut self, nonce: impl Into<String>) -> Self {
        self.nonce = Some(nonce.into());
        self
    }

    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Waits with `sleeper` instead of tokio's timer.
    pub fn sleeper(mut self, sleeper: Arc<dyn Sleeper>) -> Self {
        self.sleeper = sleeper;
        self
    }

    /// Opens the state directory (making it, mode 0700, if need be) and
    /// reads the nonce, or makes it on first use.
    pub fn build(self) -> Result<Reporter, ReporterError> {
        let key = match self.trust {
            Trust::Unset => return Err(ReporterError::NoKey),
            Trust::Pinned(key) => Some(*key),
            Trust::Served => None,
        };
        let client = LogClient::new(&self.url).map_err(ReporterError::Url)?;
        let state = StateDir::open(self.state_dir)?;
        let nonce = match self.nonce {
            Some(given) => Nonce::parse(&given).map_err(ReporterError::BadNonce)?,
            None => state.nonce()?,
        };
        Ok(Reporter {
            client,
            key,
            state,
            nonce,
            retry: self.retry,
            sleeper: self.sleeper,
        })
    }
}
