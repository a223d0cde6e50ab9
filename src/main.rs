//! The `lucent` command line.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use std::process::ExitCode;

use lucent::bench::{fill, load};
use lucent::cli::PENDING_EXIT_CODE;
use lucent::cli::progress::Progress;
use lucent::cli::verify::{self, VerifyOptions};
use lucent::clock::{Clock, ManualClock, SystemClock};
use lucent::core::note::{SigningKey, VerifierKey};
use lucent::core::period::Period;
use lucent::core::record::Nonce;
use lucent::cosigning::Witness;
use lucent::listener::ConnectionLimits;
use lucent::sequencer::DEFAULT_QUEUE_CAPACITY;
use lucent::server::{self, ServeConfig};
use lucent::witness::{LogKey, WitnessConfig};
use lucent_client::state::PROMISES_DIR;
use lucent_client::submit::{self, CheckError};
use lucent_client::{
    ReceiptCheck, Reporter, RetryPolicy, Sleeper, StateDir, TokioSleeper, Usage, WitnessQuorum,
};

/// `println!` for a command's answer; see [`write_line`].
macro_rules! out {
    ($($arg:tt)*) => {
        write_line(format_args!($($arg)*))
    };
}

#[derive(Parser)]
#[command(
    name = "lucent",
    version,
    about = "A transparent telemetry log with signed daily roots"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// How log lines are written to stderr: text for people, json (one
    /// object per line) for log shippers. RUST_LOG picks the levels.
    #[arg(long, global = true, env = "LUCENT_LOG_FORMAT", default_value = "text")]
    log_format: LogFormat,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve(ServeArgs),
    /// Print a new signing key and its verifier key.
    Keygen {
        /// The key name: the log's origin.
        #[arg(long, default_value = "localhost:8080")]
        name: String,
    },
    /// Print the deployment hash of a nonce, computed locally.
    DeploymentId {
        #[arg(long, env = "LUCENT_NONCE", hide_env_values = true)]
        nonce: String,
    },
    /// Audit a log over HTTP: every root's signature, the tree from the
    /// tiles, the hash chain from the entries, the consistency of the roots,
    /// the days and the order of the entries.
    Verify(VerifyArgs),
    /// Send this deployment's report of the day, with retries; verify its
    /// signed promise and keep it; with --check, verify the receipts of
    /// promises kept once they are published.
    Submit(SubmitArgs),
    /// Measure a server (see BENCHMARKS.md).
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Run a C2SP tlog-witness: cosign the checkpoints of the logs given
    /// with --log, each only if consistent with the last one cosigned.
    Witness(WitnessArgs),
}

#[derive(Args)]
struct WitnessArgs {
    /// Address to listen on.
    #[arg(long, env = "LUCENT_WITNESS_LISTEN", default_value = "127.0.0.1:8081")]
    listen: String,
    /// Where the witness key (witness.key) and the latest cosigned
    /// checkpoint of each log live.
    #[arg(
        long,
        env = "LUCENT_WITNESS_DATA_DIR",
        default_value = "./lucent-witness-data"
    )]
    data_dir: PathBuf,
    /// A log to witness, as <origin>=<verifier key> (its Ed25519 checkpoint
    /// key); repeat for more logs, or more keys of one log.
    #[arg(
        long = "log",
        env = "LUCENT_WITNESS_LOGS",
        value_delimiter = ',',
        required = true,
        value_name = "ORIGIN=KEY"
    )]
    logs: Vec<LogKey>,
    /// The witness's name (e.g. witness.example.com/w1), for the key made
    /// on first start; afterwards it must match the key's name if given.
    #[arg(long, env = "LUCENT_WITNESS_NAME")]
    name: Option<String>,
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Offer reports to a running server and, in the same run, measure its
    /// /healthz ceiling with the same load.
    Load {
        /// The server, e.g. http://127.0.0.1:8080 (start it with --rate-limit 0).
        url: String,
        /// Requests in flight at all times.
        #[arg(long, default_value_t = 64, conflicts_with = "rate")]
        concurrency: usize,
        /// Requests started per second instead (open model).
        #[arg(long)]
        rate: Option<u64>,
        /// Seconds for each of the two measurements.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// Fill a data directory with published days of reports, through the
    /// real writer, and report publication time, disk use and restart time.
    Fill {
        // Boxed: the serve flags are most of the enum's size.
        #[command(flatten)]
        serve: Box<ServeArgs>,
        /// Days to fill.
        #[arg(long, default_value_t = 1)]
        days: u32,
        /// Reports per day.
        #[arg(long, default_value_t = 100_000)]
        per_day: u64,
        /// The first day (YYYY-MM-DD); by default the days end yesterday,
        /// so that a server started on the directory today is up to date.
        #[arg(long)]
        first_day: Option<String>,
    },
}

#[derive(Args)]
struct VerifyArgs {
    /// The log's URL, e.g. https://example.com/log.
    url: String,
    /// The log's verifier key, obtained from a source you trust.
    #[arg(long, env = "LUCENT_VERIFIER_KEY")]
    key: String,
    /// Monitor mode: remember the verified root in FILE, and prove on the
    /// next run that the log only grew since.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    #[command(flatten)]
    witnesses: TrustedWitnesses,
}

/// The witnesses a verifier trusts (SPEC section 8).
#[derive(Args)]
struct TrustedWitnesses {
    /// A witness's verifier key (repeatable): the root checked must carry
    /// its valid signature, a tlog-cosignature for a type 0x04 key, a plain
    /// note signature for a type 0x01 key.
    #[arg(long = "witness", value_name = "VERIFIER_KEY")]
    keys: Vec<String>,
    /// How many of the --witness keys must have signed (default: all).
    #[arg(long, requires = "keys")]
    quorum: Option<usize>,
}

impl TrustedWitnesses {
    fn quorum(&self) -> anyhow::Result<WitnessQuorum> {
        let keys = self
            .keys
            .iter()
            .map(|key| VerifierKey::parse(key).map_err(|e| anyhow::anyhow!("--witness {key}: {e}")))
            .collect::<anyhow::Result<_>>()?;
        WitnessQuorum::new(keys, self.quorum).map_err(anyhow::Error::msg)
    }
}

#[derive(Args)]
struct SubmitArgs {
    /// The log's URL, e.g. https://log.example.com.
    #[arg(required_unless_present = "check")]
    url: Option<String>,
    /// Instead of reporting, verify the receipt of a saved promise, or of
    /// every promise kept in a state directory whose receipt has not
    /// verified yet (one that verifies moves to its verified/ folder).
    /// Exits with 3 while a record is not yet published, 1 if a receipt
    /// does not verify.
    #[arg(long, value_name = "PROMISE_FILE|STATE_DIR", conflicts_with_all = [
        "url", "version", "tokens_created", "tokens_detokenized", "grants_issued", "key", "out",
    ])]
    check: Option<PathBuf>,
    /// The deployment's secret nonce, a random version-4 UUID, if you keep
    /// it yourself; by default the one in --state-dir, made there on first
    /// use. Sent in the report only, never saved or printed.
    #[arg(long, env = "LUCENT_NONCE", hide_env_values = true)]
    nonce: Option<String>,
    /// The deployed product version: SemVer MAJOR.MINOR.PATCH with an
    /// optional pre-release (1.4.2, 2.0.0-rc.1), no build metadata.
    #[arg(long, required_unless_present = "check")]
    version: Option<String>,
    /// Tokens created in the last 24 hours (0 to 2^53 - 1).
    #[arg(long, required_unless_present = "check")]
    tokens_created: Option<u64>,
    /// Tokens detokenized in the last 24 hours (0 to 2^53 - 1).
    #[arg(long, required_unless_present = "check")]
    tokens_detokenized: Option<u64>,
    /// Grants issued in the last 24 hours (0 to 2^53 - 1).
    #[arg(long, required_unless_present = "check")]
    grants_issued: Option<u64>,
    /// The log's verifier key, from a source you trust: the promise must be
    /// signed with it, and the log must serve it. Without it, submit trusts
    /// the key that the log sends, and says so.
    #[arg(long)]
    key: Option<String>,
    /// Where the deployment's nonce (the file nonce, made on first use,
    /// mode 0600) and the promises (promises/<day>.json, until their
    /// receipts verify) are kept.
    #[arg(long, env = "LUCENT_STATE_DIR", default_value = "./lucent-state")]
    state_dir: PathBuf,
    /// Also save the promise to FILE.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Tries in all while the log cannot be reached or answers 5xx or 429,
    /// with exponential backoff and jitter, never sooner than its
    /// Retry-After.
    #[arg(long, default_value_t = RetryPolicy::default().attempts)]
    attempts: u32,
    /// Before sending, wait a random time of up to this many seconds, so
    /// that deployments that report from cron at the same time do not all
    /// arrive in the same second (e.g. 900).
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    max_delay: u64,
    /// With --check: the witnesses whose signatures the receipt's root must
    /// carry.
    #[command(flatten)]
    witnesses: TrustedWitnesses,
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "LUCENT_LISTEN", default_value = "127.0.0.1:8080")]
    listen: String,
    /// Where the database, the signing key and the state file live.
    #[arg(long, env = "LUCENT_DATA_DIR", default_value = "./lucent-data")]
    data_dir: PathBuf,
    /// The log's name: its public URL prefix without the scheme.
    #[arg(long, env = "LUCENT_ORIGIN", default_value = "localhost:8080")]
    origin: String,
    /// How often a root is signed; must divide a day (10s, 1m, 1h, 24h).
    /// Fixed when the log is created (see --change-publish-period).
    #[arg(long, env = "LUCENT_PUBLISH_PERIOD", default_value = "24h")]
    publish_period: Period,
    /// Reports per minute per client address (IPv6 by /64); 0 turns it off.
    #[arg(long, env = "LUCENT_RATE_LIMIT", default_value_t = 60)]
    rate_limit: u32,
    /// Addresses of reverse proxies whose X-Forwarded-For is believed.
    #[arg(long, env = "LUCENT_TRUSTED_PROXY", value_delimiter = ',')]
    trusted_proxy: Vec<IpAddr>,
    /// Reports that may wait for the writer before the server answers 503.
    #[arg(long, env = "LUCENT_QUEUE_CAPACITY", default_value_t = DEFAULT_QUEUE_CAPACITY)]
    queue_capacity: usize,
    /// Connections served at once; more wait in the kernel's backlog.
    // Eight times the per-address cap: it takes eight hosts to fill it.
    #[arg(long, env = "LUCENT_MAX_CONNECTIONS", default_value_t = 1024)]
    max_connections: usize,
    /// Connections one client address (IPv6: one /64) may hold open; more
    /// are closed at once. Trusted proxies are exempt; 0 turns it off.
    // Twice what `lucent bench load` and wrk open (64): a client's
    // connection pool briefly holds more connections than it uses.
    #[arg(
        long,
        env = "LUCENT_MAX_CONNECTIONS_PER_ADDRESS",
        default_value_t = 128
    )]
    max_connections_per_address: usize,
    /// Seconds a client has to send a whole request head, counted from when
    /// the server waits for it (so also the longest idle keep-alive).
    #[arg(long, env = "LUCENT_HEAD_TIMEOUT", default_value_t = 10)]
    head_timeout: u64,
    /// Seconds a connection may send nothing while the server reads from it
    /// (between bytes of a head or body, while an answer is prepared).
    #[arg(long, env = "LUCENT_READ_TIMEOUT", default_value_t = 10)]
    read_timeout: u64,
    /// Seconds a client may take none of an answer before it is dropped.
    #[arg(long, env = "LUCENT_WRITE_TIMEOUT", default_value_t = 10)]
    write_timeout: u64,
    /// Seconds a request may take before the answer is 503; less than
    /// --read-timeout, whose clock also runs while an answer is prepared.
    #[arg(long, env = "LUCENT_REQUEST_TIMEOUT", default_value_t = 8)]
    request_timeout: u64,
    /// A witness to ask for cosignatures of each new root, as
    /// <verifier key>=<URL> (repeatable; SPEC section 8). The key's type
    /// says what it returns: 0x04 a tlog-cosignature, 0x01 a plain
    /// Ed25519 note signature.
    #[arg(long, env = "LUCENT_WITNESSES", value_delimiter = ',')]
    witness: Vec<Witness>,
    /// The log's database, when not the SQLite file in --data-dir: a
    /// PostgreSQL URL (postgres://user:password@host/db), which several
    /// instances of one log may share (SPEC section 9).
    #[arg(long, env = "LUCENT_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Change the log's publication period to --publish-period, from the
    /// next UTC midnight on. Without it, a period other than the log's is
    /// refused: it is fixed when the log is created.
    #[arg(long, env = "LUCENT_CHANGE_PUBLISH_PERIOD")]
    change_publish_period: bool,
    /// Serve GET /metrics (Prometheus) on this address, for the operator
    /// only: it shows the flow of reports, which the public pages never
    /// do. Off unless given; keep it off the public network.
    #[arg(long, env = "LUCENT_METRICS_LISTEN")]
    metrics_listen: Option<String>,
    /// For tests and demos only: a clock stopped at this RFC 3339 instant.
    #[arg(long, env = "LUCENT_FROZEN_CLOCK", hide = true)]
    frozen_clock: Option<String>,
}

impl Default for ServeArgs {
    fn default() -> Self {
        let Some(Command::Serve(args)) = Cli::parse_from(["lucent", "serve"]).command else {
            unreachable!("parsing `lucent serve` gives Serve")
        };
        args
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let Cli {
        command,
        log_format,
    } = Cli::parse();
    init_tracing(log_format);
    match run(command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprint!("{}", error_report(&e));
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Option<Command>) -> anyhow::Result<()> {
    match command {
        None => serve(ServeArgs::default()).await,
        Some(Command::Serve(args)) => serve(args).await,
        Some(Command::Bench(command)) => bench(command).await,
        Some(Command::Keygen { name }) => keygen(&name),
        Some(Command::DeploymentId { nonce }) => deployment_id(&nonce),
        Some(Command::Verify(args)) => verify(args).await,
        Some(Command::Submit(SubmitArgs {
            check: Some(promise_file),
            witnesses,
            ..
        })) => check(&promise_file, &witnesses.quorum()?).await,
        Some(Command::Submit(args)) => submit(args).await,
        Some(Command::Witness(args)) => witness(args).await,
    }
}

/// Writes a line of a command's answer to stdout. A reader that has gone
/// (`lucent keygen | head -1`) ends the command quietly with the status a
/// shell gives a process killed by SIGPIPE (141), as other tools end;
/// `println!` would panic. (Rust ignores SIGPIPE, which also keeps a
/// network write to a closed connection from killing the process.)
fn write_line(line: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = writeln!(stdout, "{line}").and_then(|()| stdout.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(141);
        }
        panic!("writing to stdout: {e}");
    }
}

/// An error once: its message, then each cause whose text the lines above
/// do not already say, a hint where one helps, and the backtrace only if
/// `RUST_BACKTRACE` asks for it.
fn error_report(error: &anyhow::Error) -> String {
    let mut said = format!("error: {error}\n");
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !said.contains(&cause) {
            said.push_str(&format!("  because: {cause}\n"));
        }
    }
    if let Some(hint) = hint(error) {
        said.push_str(&format!("hint: {hint}\n"));
    }
    if std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0") {
        said.push_str(&format!("{}\n", error.backtrace()));
    }
    said
}

/// What to try, for the mistakes of a first run.
fn hint(error: &anyhow::Error) -> Option<&'static str> {
    let text = format!("{error:#}");
    if text.contains("InvalidContentType") || text.contains("wrong version number") {
        return Some(
            "the server answered in plain HTTP: use an http:// URL, or put TLS in front of it",
        );
    }
    let connect = error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<reqwest::Error>())
        .any(reqwest::Error::is_connect);
    if connect || text.contains("Connection refused") {
        return Some(
            "nothing answered at that address: is the server running, and is the URL right?",
        );
    }
    None
}

/// Logs go to stderr, so that stdout holds only a command's answer.
fn init_tracing(format: LogFormat) {
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => logs
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        LogFormat::Json => logs.json().init(),
    }
}

fn keygen(name: &str) -> anyhow::Result<()> {
    let key = SigningKey::generate(name, &mut rand::rng()).context("making a key")?;
    out!("{}", key.to_private_text());
    out!("{}", key.verifier_key());
    Ok(())
}

fn deployment_id(nonce: &str) -> anyhow::Result<()> {
    let nonce = Nonce::parse(nonce).map_err(|e| anyhow::anyhow!("the nonce: {e}"))?;
    out!("{}", nonce.deployment());
    Ok(())
}

async fn verify(args: VerifyArgs) -> anyhow::Result<()> {
    let options = VerifyOptions {
        url: args.url,
        key: parse_key(&args.key)?,
        state: args.state,
        witnesses: args.witnesses.quorum()?,
    };
    let report = verify::verify(&options, &Progress::stderr())
        .await
        .context("verification failed")?;
    out!("{report}");
    Ok(())
}

/// `submit --check`: a pending record is not a failure but its own exit
/// code, so that a script can tell "try later" from "the log cheated".
async fn check(promise: &Path, witnesses: &WitnessQuorum) -> anyhow::Result<()> {
    if promise.is_dir() {
        return check_kept(promise, witnesses).await;
    }
    match submit::check(promise, witnesses).await {
        Ok(report) => {
            out!("{report}");
            Ok(())
        }
        Err(pending @ CheckError::Pending { .. }) => {
            eprintln!("{pending}");
            std::process::exit(PENDING_EXIT_CODE)
        }
        Err(e) => Err(e).context("the receipt does not verify"),
    }
}

/// `submit --check <state dir>`: every kept promise; fails if any receipt
/// does not verify, else exits with 3 if any record is pending.
async fn check_kept(dir: &Path, witnesses: &WitnessQuorum) -> anyhow::Result<()> {
    if !dir.join(PROMISES_DIR).is_dir() {
        anyhow::bail!(
            "{} is not a state directory: it has no {PROMISES_DIR} folder",
            dir.display()
        );
    }
    let checks = StateDir::open(dir)?.check_receipts(witnesses).await?;
    let failed = checks
        .iter()
        .filter(|c| c.outcome.is_err() && !c.is_pending())
        .count();
    for checked in &checks {
        match checked.outcome {
            Ok(_) => out!("{checked}"),
            Err(_) => eprintln!("{checked}"),
        }
    }
    if failed > 0 {
        anyhow::bail!("{failed} of {} receipts do not verify", checks.len());
    }
    if checks.iter().any(ReceiptCheck::is_pending) {
        std::process::exit(PENDING_EXIT_CODE);
    }
    Ok(())
}

async fn submit(args: SubmitArgs) -> anyhow::Result<()> {
    if !args.witnesses.keys.is_empty() {
        anyhow::bail!("--witness and --quorum check a receipt: they go with --check");
    }
    // clap requires these without --check.
    let required = "required without --check";
    let usage = Usage {
        version: args.version.expect(required),
        tokens_created: args.tokens_created.expect(required),
        tokens_detokenized: args.tokens_detokenized.expect(required),
        grants_issued: args.grants_issued.expect(required),
    };
    let retry = RetryPolicy {
        attempts: args.attempts,
        max_initial_delay: Duration::from_secs(args.max_delay),
        ..RetryPolicy::default()
    };
    let mut reporter = Reporter::builder(args.url.expect(required), &args.state_dir)
        .retry(retry)
        .sleeper(Arc::new(SaysWhenItWaits));
    reporter = match &args.key {
        Some(key) => reporter.key(parse_key(key)?),
        None => reporter.trust_served_key(),
    };
    if let Some(nonce) = args.nonce {
        reporter = reporter.nonce(nonce);
    }
    let reported = reporter
        .build()?
        .report(&usage)
        .await
        .context("submitting failed")?;
    let promise = &reported.submission.promise;
    if args.key.is_none() {
        eprintln!(
            "no --key given: trusted the verifier key that the server sent, {}; pin it with \
             --key, from a source you trust",
            promise.verifier_key
        );
    }
    out!("{}", reported.submission);
    out!("promise kept in {}", reported.kept.display());
    if let Some(out) = &args.out {
        promise.save(out)?;
        out!("promise saved to {}", out.display());
    }
    Ok(())
}

/// Waits as tokio does, saying so on stderr first.
struct SaysWhenItWaits;

impl Sleeper for SaysWhenItWaits {
    fn sleep(&self, duration: Duration) -> lucent_client::retry::Sleep {
        eprintln!("waiting {:.1} s before sending", duration.as_secs_f64());
        TokioSleeper.sleep(duration)
    }
}

fn parse_key(text: &str) -> anyhow::Result<VerifierKey> {
    VerifierKey::parse(text).map_err(|e| anyhow::anyhow!("--key: {e}"))
}

impl ServeArgs {
    fn config(&self) -> ServeConfig {
        ServeConfig {
            listen: self.listen.clone(),
            data_dir: self.data_dir.clone(),
            origin: self.origin.clone(),
            publish_period: self.publish_period,
            rate_limit: NonZeroU32::new(self.rate_limit),
            trusted_proxies: self.trusted_proxy.clone(),
            queue_capacity: self.queue_capacity,
            connection_limits: ConnectionLimits {
                max_connections: self.max_connections,
                max_connections_per_address: self.max_connections_per_address,
                head_timeout: Duration::from_secs(self.head_timeout),
                read_timeout: Duration::from_secs(self.read_timeout),
                write_timeout: Duration::from_secs(self.write_timeout),
            },
            request_timeout: Duration::from_secs(self.request_timeout),
            witnesses: self.witness.clone(),
            database_url: self.database_url.clone(),
            metrics_listen: self.metrics_listen.clone(),
            change_publish_period: self.change_publish_period,
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let config = args.config();
    let clock: Arc<dyn Clock> = match args.frozen_clock {
        None => Arc::new(SystemClock),
        Some(at) => {
            let at =
                time::OffsetDateTime::parse(&at, &time::format_description::well_known::Rfc3339)
                    .context("--frozen-clock is an RFC 3339 instant")?;
            Arc::new(ManualClock::new(at))
        }
    };
    let running = server::start(config, clock).await?;
    out!("lucent listening on http://{}", running.address);
    out!("verifier key: {}", running.verifier_key);
    shutdown_signal().await;
    tracing::info!("shutting down");
    running.shutdown().await;
    Ok(())
}

async fn witness(args: WitnessArgs) -> anyhow::Result<()> {
    let config = WitnessConfig::new(&args.listen, args.data_dir, args.name, args.logs);
    let running = lucent::witness::start(config, Arc::new(SystemClock)).await?;
    out!("lucent witness listening on http://{}", running.address);
    out!("verifier key: {}", running.verifier_key);
    shutdown_signal().await;
    tracing::info!("shutting down");
    running.shutdown().await;
    Ok(())
}

async fn bench(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Load {
            url,
            concurrency,
            rate,
            seconds,
        } => {
            let offered = rate.map_or(load::Load::Concurrency(concurrency), load::Load::Rate);
            bench_load(&url, offered, Duration::from_secs(seconds)).await;
            Ok(())
        }
        BenchCommand::Fill {
            serve,
            days,
            per_day,
            first_day,
        } => bench_fill(*serve, days, per_day, first_day).await,
    }
}

/// Reports, and the /healthz ceiling under the same load: the ratio is
/// the figure that holds on a noisy machine.
async fn bench_load(url: &str, offered: load::Load, duration: Duration) {
    let health = load::run(url, load::Target::Health, offered, duration).await;
    out!("{}", health.summary("GET /healthz"));
    let reports = load::run(url, load::Target::Reports, offered, duration).await;
    out!("{}", reports.summary("POST /v1/reports"));
    out!(
        "reports/s as a share of the /healthz ceiling: {:.1}%",
        100.0 * reports.per_second() / health.per_second()
    );
}

async fn bench_fill(
    serve: ServeArgs,
    days: u32,
    per_day: u64,
    first_day: Option<String>,
) -> anyhow::Result<()> {
    let first_day = match first_day {
        Some(day) => {
            lucent::core::record::Day::parse(&day)
                .map_err(|e| anyhow::anyhow!("--first-day: {e}"))?
                .0
        }
        None => time::OffsetDateTime::now_utc().date() - time::Duration::days(days.into()),
    };
    let filled = fill::fill(serve.config(), first_day, days, per_day).await?;
    for (day, took) in filled.publish_times.iter().enumerate() {
        out!(
            "day {}: published {per_day} reports in {:.3} s",
            day + 1,
            took.as_secs_f64()
        );
    }
    out!(
        "{} entries, {} bytes on disk = {:.0} bytes per entry; restart took {:.3} s",
        filled.entries,
        filled.disk_bytes,
        filled.disk_bytes as f64 / filled.entries.max(1) as f64,
        filled.restart.as_secs_f64()
    );
    Ok(())
}

async fn shutdown_signal() {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("a SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::Cli;

    /// `lucent submit --help` describes every field.
    #[test]
    fn every_submit_argument_is_described() {
        let command = Cli::command();
        let submit = command.find_subcommand("submit").unwrap();
        let undescribed: Vec<_> = submit
            .get_arguments()
            .filter(|arg| arg.get_help().is_none() && arg.get_long_help().is_none())
            .map(|arg| arg.get_id().to_string())
            .collect();
        assert_eq!(undescribed, Vec::<String>::new());
        assert!(submit.get_arguments().count() >= 14);
    }
}
