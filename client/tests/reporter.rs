//! The reporter against real lucent servers, started in this process with
//! a driven clock: a report and its receipt; a server down, then up; a
//! stand-in that answers 503 or 429 before forwarding, or 400; and promises
//! that do not verify (signed by another key, or for another record),
//! which are refused with nothing kept.

mod standin;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use time::OffsetDateTime;
use time::macros::datetime;
use tokio::sync::{mpsc, oneshot};

use lucent::clock::ManualClock;
use lucent::server::{RunningServer, ServeConfig};
use lucent_client::core::note::VerifierKey;
use lucent_client::core::period::Period;
use lucent_client::http::HttpError;
use lucent_client::retry::Sleep;
use lucent_client::submit::PromiseCheckError;
use lucent_client::{
    CheckError, ReceiptCheck, Reporter, ReporterError, RetryPolicy, Sleeper, StateDir, SubmitError,
    Usage, WitnessQuorum,
};
use standin::{Reply, StandIn};

const ORIGIN: &str = "test.example/lucent";
const NOON: OffsetDateTime = datetime!(2026-11-01 12:00 UTC);
const NEXT_DAY: OffsetDateTime = datetime!(2026-11-02 00:00 UTC);

/// A lucent server in this process, its clock driven by the test.
struct TestLog {
    server: RunningServer,
    clock: ManualClock,
    base: String,
}

impl TestLog {
    async fn start(dir: &Path) -> TestLog {
        TestLog::start_on(dir, "127.0.0.1:0").await
    }

    async fn start_on(dir: &Path, listen: &str) -> TestLog {
        let clock = ManualClock::new(NOON);
        let config = ServeConfig {
            listen: listen.into(),
            ..ServeConfig::loopback(dir, ORIGIN, Period::DAY)
        };
        let server = lucent::server::start(config, Arc::new(clock.clone()))
            .await
            .expect("the server starts");
        let base = format!("http://{}", server.address);
        TestLog {
            server,
            clock,
            base,
        }
    }

    /// Moves the clock and waits until the periods that ended are published.
    async fn set_time(&self, at: OffsetDateTime) {
        self.clock.set(at);
        self.server.sequencer.sync().await;
    }
}

/// Every wait a reporter asks for, recorded; each returns at once, or,
/// with a gate, once the test opens it.
#[derive(Clone, Default)]
struct Waits {
    asked: Arc<Mutex<Vec<Duration>>>,
    gate: Option<mpsc::UnboundedSender<oneshot::Sender<()>>>,
}

impl Waits {
    fn asked(&self) -> Vec<Duration> {
        self.asked.lock().unwrap().clone()
    }
}

impl Sleeper for Waits {
    fn sleep(&self, duration: Duration) -> Sleep {
        self.asked.lock().unwrap().push(duration);
        let Some(gate) = &self.gate else {
            return Box::pin(async {});
        };
        let (open, opened) = oneshot::channel();
        gate.send(open).unwrap();
        Box::pin(async move {
            let _ = opened.await;
        })
    }
}

/// Four tries, waits of up to 1 s, 2 s, 4 s, no initial delay.
fn policy() -> RetryPolicy {
    RetryPolicy {
        attempts: 4,
        backoff_base: Duration::from_secs(1),
        backoff_cap: Duration::from_secs(60),
        max_retry_after: Duration::from_secs(3600),
        max_initial_delay: Duration::ZERO,
    }
}

fn usage(tokens_created: u64) -> Usage {
    Usage {
        version: "1.4.2".into(),
        tokens_created,
        tokens_detokenized: 45,
        grants_issued: 3,
    }
}

/// A reporter to `url` pinned to `log`'s key, keeping its state in `dir`.
fn reporter(url: &str, log: &TestLog, dir: &Path, waits: &Waits) -> Reporter {
    pinned_reporter(url, log.server.verifier_key.clone(), dir, waits)
}

fn pinned_reporter(url: &str, key: VerifierKey, dir: &Path, waits: &Waits) -> Reporter {
    Reporter::builder(url, dir)
        .key(key)
        .retry(policy())
        .sleeper(Arc::new(waits.clone()))
        .build()
        .unwrap()
}

/// A log started in `data` to make its key, then stopped: the base URL it
/// had, free now, and its key.
async fn stopped_log(data: &Path) -> (String, VerifierKey) {
    let log = TestLog::start(data).await;
    let (base, key) = (log.base.clone(), log.server.verifier_key.clone());
    log.server.shutdown().await;
    (base, key)
}

/// The names in a state directory's folder.
fn names_in(state: &Path, folder: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(state.join(folder))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

fn nothing_kept(state: &Path) {
    assert_eq!(names_in(state, "promises"), Vec::<String>::new());
    assert_eq!(names_in(state, "verified"), Vec::<String>::new());
}

#[tokio::test]
async fn a_report_is_verified_kept_and_its_receipt_checked_once_published() {
    let dir = tempfile::tempdir().unwrap();
    let log = TestLog::start(&dir.path().join("log")).await;
    let state = dir.path().join("state");
    let waits = Waits::default();
    let reporter = Reporter::builder(&log.base, &state)
        .key(log.server.verifier_key.clone())
        .retry(RetryPolicy {
            max_initial_delay: Duration::from_secs(900),
            ..policy()
        })
        .sleeper(Arc::new(waits.clone()))
        .build()
        .unwrap();

    let reported = reporter.report(&usage(120)).await.unwrap();
    // One random wait before the first try, within the policy's bound.
    let asked = waits.asked();
    assert_eq!(asked.len(), 1);
    assert!(asked[0] <= Duration::from_secs(900), "{asked:?}");
    assert_eq!(reported.attempts, 1);
    assert!(!reported.submission.replayed);
    let answer = &reported.submission.promise.answer;
    assert_eq!(answer.day, "2026-11-01");
    assert_eq!(answer.deployment, reporter.deployment());
    assert!(answer.record.contains(r#""tokens_created":120"#));
    assert_eq!(
        reported.kept,
        state.join("promises").join("2026-11-01.json")
    );
    assert_eq!(names_in(&state, "promises"), ["2026-11-01.json"]);

    // The nonce: made once, private, sent but never kept with a promise.
    let nonce = StateDir::open(&state).unwrap().nonce().unwrap();
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(state.join("nonce"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    let kept = std::fs::read_to_string(&reported.kept).unwrap();
    assert!(!kept.contains(nonce.as_str()));
    assert_eq!(kept, reported.submission.promise.to_json());

    // The same reporter again (its state reopened): the same nonce, so
    // the log answers with the first promise; a different report of the
    // same day is refused, and what is kept does not change.
    let again = reporter_again(&log, &state)
        .report(&usage(120))
        .await
        .unwrap();
    assert!(again.submission.replayed);
    assert_eq!(again.submission.promise, reported.submission.promise);
    let error = reporter.report(&usage(121)).await.unwrap_err();
    assert!(
        matches!(
            error,
            ReporterError::Submit {
                attempts: 1,
                error: SubmitError::Conflict { .. }
            }
        ),
        "{error}"
    );
    assert_eq!(std::fs::read_to_string(&reported.kept).unwrap(), kept);

    // Before the day is published: pending, and still kept.
    let check = only_check(&reporter).await;
    assert!(check.is_pending(), "{}", check);
    assert_eq!(check.promise, reported.kept);
    assert!(check.to_string().contains("2026-11-02T00:00:00Z"));

    // Published: verified, and moved to verified/; then nothing is left.
    log.set_time(NEXT_DAY).await;
    let check = only_check(&reporter).await;
    let checked = check.outcome.as_ref().unwrap();
    assert_eq!((checked.index, checked.day_size), (0, 1));
    assert_eq!(checked.record_hash.to_hex(), answer.record_hash);
    assert_eq!(
        check.promise,
        state.join("verified").join("2026-11-01.json")
    );
    assert_eq!(names_in(&state, "promises"), Vec::<String>::new());
    assert_eq!(names_in(&state, "verified"), ["2026-11-01.json"]);
    let none = reporter
        .check_receipts(&WitnessQuorum::default())
        .await
        .unwrap();
    assert!(none.is_empty());
}

/// The receipt check of the one promise kept.
async fn only_check(reporter: &Reporter) -> ReceiptCheck {
    let mut checks = reporter
        .check_receipts(&WitnessQuorum::default())
        .await
        .unwrap();
    assert_eq!(checks.len(), 1);
    checks.pop().unwrap()
}

/// A second reporter on the same state directory, with no waits.
fn reporter_again(log: &TestLog, state: &Path) -> Reporter {
    reporter(&log.base, log, state, &Waits::default())
}

#[tokio::test]
async fn a_reporter_needs_a_key_pinned_or_trusted_explicitly() {
    let dir = tempfile::tempdir().unwrap();
    let log = TestLog::start(&dir.path().join("log")).await;
    let state = dir.path().join("state");
    let error = Reporter::builder(&log.base, &state).build().unwrap_err();
    assert!(matches!(error, ReporterError::NoKey), "{error}");

    let trusting = Reporter::builder(&log.base, &state)
        .trust_served_key()
        .retry(policy())
        .build()
        .unwrap();
    let reported = trusting.report(&usage(1)).await.unwrap();
    assert_eq!(
        reported.submission.promise.verifier_key,
        log.server.verifier_key.to_string()
    );

    let error = Reporter::builder(&log.base, &state)
        .trust_served_key()
        .nonce("secret-but-no-uuid")
        .build()
        .unwrap_err();
    assert!(matches!(error, ReporterError::BadNonce(_)), "{error}");
    assert!(!error.to_string().contains("secret-but-no-uuid"), "{error}");
}

#[tokio::test]
async fn a_server_that_is_down_gets_the_report_once_it_is_up() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("log");
    let (base, key) = stopped_log(&data).await;
    let (gate, mut waiting) = mpsc::unbounded_channel();
    let waits = Waits {
        gate: Some(gate),
        ..Waits::default()
    };
    let state = dir.path().join("state");
    let reporter = pinned_reporter(&base, key, &state, &waits);
    let reporting = tokio::spawn(async move { reporter.report(&usage(7)).await });

    // The first try found no server: the reporter waits. Twice the server
    // is still down; then it is started again, on the same port.
    for _ in 0..2 {
        waiting.recv().await.unwrap().send(()).unwrap();
    }
    let open = waiting.recv().await.unwrap();
    nothing_kept(&state);
    let log = TestLog::start_on(&data, base.trim_start_matches("http://")).await;
    open.send(()).unwrap();

    let reported = reporting.await.unwrap().unwrap();
    assert_eq!(reported.attempts, 4);
    let asked = waits.asked();
    assert_eq!(asked.len(), 3);
    for (wait, bound) in asked.iter().zip([1, 2, 4]) {
        assert!(*wait <= Duration::from_secs(bound), "{asked:?}");
    }
    assert_eq!(names_in(&state, "promises"), ["2026-11-01.json"]);
    log.server.shutdown().await;
}

#[tokio::test]
async fn a_server_down_for_every_try_gets_nothing_and_nothing_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (base, key) = stopped_log(&dir.path().join("log")).await;
    let state = dir.path().join("state");
    let waits = Waits::default();
    let error = pinned_reporter(&base, key, &state, &waits)
        .report(&usage(7))
        .await
        .unwrap_err();
    let ReporterError::Submit { attempts, error } = &error else {
        panic!("{error}");
    };
    assert_eq!(*attempts, 4);
    assert!(
        matches!(error, SubmitError::Http(HttpError::Request { .. })),
        "{error}"
    );
    assert_eq!(waits.asked().len(), 3);
    nothing_kept(&state);
}

/// The stand-in's answer to an overloaded or rate-limited report.
fn busy(status: u16, retry_after: &str) -> Reply {
    let mut reply = Reply::problem(status, "busy");
    if let Reply::Answer { headers, .. } = &mut reply {
        headers.push(("retry-after", retry_after.into()));
    }
    reply
}

#[tokio::test]
async fn a_503_or_429_is_retried_no_sooner_than_its_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let log = TestLog::start(&dir.path().join("log")).await;
    // The first report is answered 503 (Retry-After: 7), the second 429
    // (Retry-After: 30), the third goes through to the log.
    let standin = StandIn::before(&log.base, |request| match request.posts_so_far {
        1 if request.is_report() => Some(busy(503, "7")),
        2 if request.is_report() => Some(busy(429, "30")),
        _ => None,
    })
    .await;
    let state = dir.path().join("state");
    let waits = Waits::default();
    let reported = reporter(&standin.base, &log, &state, &waits)
        .report(&usage(7))
        .await
        .unwrap();
    assert_eq!(reported.attempts, 3);
    assert_eq!(standin.reports(), 3);
    let asked = waits.asked();
    assert_eq!(asked.len(), 2, "{asked:?}");
    // Retry-After, and at most the backoff's jitter more.
    assert!(asked[0] >= Duration::from_secs(7) && asked[0] <= Duration::from_secs(8));
    assert!(asked[1] >= Duration::from_secs(30) && asked[1] <= Duration::from_secs(32));
    assert_eq!(names_in(&state, "promises"), ["2026-11-01.json"]);
}

/// Reports through `url` to `log`'s pinned key, which must fail at the
/// first try, with no wait and nothing kept: the failure.
async fn refused_at_once(url: &str, log: &TestLog, dir: &Path) -> SubmitError {
    let state = dir.join("state");
    let waits = Waits::default();
    let error = reporter(url, log, &state, &waits)
        .report(&usage(7))
        .await
        .unwrap_err();
    let ReporterError::Submit { attempts: 1, error } = error else {
        panic!("{error}");
    };
    assert!(waits.asked().is_empty());
    nothing_kept(&state);
    error
}

#[tokio::test]
async fn a_refusal_is_not_retried_and_nothing_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let log = TestLog::start(&dir.path().join("log")).await;
    let standin = StandIn::before(&log.base, |request| {
        request
            .is_report()
            .then(|| Reply::problem(400, "version: refused"))
    })
    .await;
    let error = refused_at_once(&standin.base, &log, dir.path()).await;
    assert!(
        matches!(
            error,
            SubmitError::Http(HttpError::Status { status: 400, .. })
        ),
        "{error}"
    );
    assert!(error.to_string().contains("version: refused"), "{error}");
    assert_eq!(standin.reports(), 1);
}

#[tokio::test]
async fn a_promise_signed_by_another_key_is_refused_and_nothing_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let pinned = TestLog::start(&dir.path().join("pinned")).await;
    // Another log of the same name, with a key of its own, answers the
    // report; the pinned log's key is what is served as the log's.
    let other = TestLog::start(&dir.path().join("other")).await;
    let signer = other.base.clone();
    let standin = StandIn::before(&pinned.base, move |request| {
        request
            .is_report()
            .then(|| Reply::forward(&signer, request))
    })
    .await;
    let error = refused_at_once(&standin.base, &pinned, dir.path()).await;
    assert!(
        matches!(error, SubmitError::Promise(PromiseCheckError::Signature(_))),
        "{error}"
    );
    assert!(error.to_string().contains("does not verify"), "{error}");
}

#[tokio::test]
async fn a_promise_for_another_record_than_the_one_sent_is_refused_and_nothing_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let log = TestLog::start(&dir.path().join("log")).await;
    let upstream = log.base.clone();
    // The report reaches the log changed: the log signs, with its own key,
    // a promise of a record that is not the one the deployment sent.
    let standin = StandIn::start(move |request| {
        let body = String::from_utf8(request.body.clone())
            .unwrap()
            .replace(r#""tokens_created":7"#, r#""tokens_created":9"#);
        Reply::Forward(upstream.clone(), body.into_bytes())
    })
    .await;
    let error = refused_at_once(&standin.base, &log, dir.path()).await;
    let SubmitError::Promise(PromiseCheckError::NotTheReportSent {
        expected, found, ..
    }) = error
    else {
        panic!("{error}");
    };
    assert!(expected.contains(r#""tokens_created":7"#), "{expected}");
    assert!(found.contains(r#""tokens_created":9"#), "{found}");
}

#[tokio::test]
async fn a_kept_promise_whose_receipt_is_withheld_is_reported_as_broken() {
    let dir = tempfile::tempdir().unwrap();
    let log = TestLog::start(&dir.path().join("log")).await;
    let standin = StandIn::before(&log.base, |request| {
        (request.path.starts_with("/v1/receipts/")).then(|| Reply::problem(404, "not found"))
    })
    .await;
    let state = dir.path().join("state");
    let reporter = reporter(&standin.base, &log, &state, &Waits::default());
    reporter.report(&usage(7)).await.unwrap();
    log.set_time(NEXT_DAY).await;
    let check = only_check(&reporter).await;
    assert!(
        matches!(check.outcome, Err(CheckError::NotPublished { .. })),
        "{}",
        check
    );
    assert!(check.to_string().contains("does not verify"));
    // Kept, to be shown again.
    assert_eq!(names_in(&state, "promises"), ["2026-11-01.json"]);
}
