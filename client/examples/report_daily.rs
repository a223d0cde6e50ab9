//! What a deployment runs beside the product: once a day, the usage of the
//! last 24 hours reported to a lucent log, the signed promise verified and
//! kept, and the receipts of earlier promises checked.
//!
//! ```sh
//! LUCENT_URL=http://127.0.0.1:8080 LUCENT_VERIFIER_KEY='localhost:8080+…' \
//!   cargo run -p lucent-client --example report_daily -- --once
//! ```
//!
//! `LUCENT_STATE_DIR` (default `./lucent-state`) keeps the nonce and the
//! promises; `--once` reports once, now, and exits.

use std::time::Duration;

use lucent_client::core::note::VerifierKey;
use lucent_client::{Reporter, RetryPolicy, Usage, WitnessQuorum};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let once = std::env::args().any(|arg| arg == "--once");
    let var = |name: &str| std::env::var(name).map_err(|_| format!("set {name}"));
    // The log's key, pinned: from the log's operator or its documentation,
    // never from the log itself.
    let key = VerifierKey::parse(&var("LUCENT_VERIFIER_KEY")?)?;
    let state_dir = var("LUCENT_STATE_DIR").unwrap_or_else(|_| "./lucent-state".into());
    let reporter = Reporter::builder(var("LUCENT_URL")?, state_dir)
        .key(key)
        .retry(RetryPolicy {
            // Run by hand: report now, not up to 15 minutes later.
            max_initial_delay: if once {
                Duration::ZERO
            } else {
                RetryPolicy::default().max_initial_delay
            },
            ..RetryPolicy::default()
        })
        .build()?;
    println!("deployment {}", reporter.deployment());
    loop {
        match reporter.report(&usage_of_the_last_day()).await {
            Ok(reported) => println!(
                "{}; kept in {}",
                reported.submission,
                reported.kept.display()
            ),
            // Tried again tomorrow; nothing was kept.
            Err(error) => eprintln!("report failed: {error}"),
        }
        for checked in reporter.check_receipts(&WitnessQuorum::default()).await? {
            println!("{checked}");
        }
        if once {
            return Ok(());
        }
        tokio::time::sleep(until_next_utc_day()).await;
    }
}

/// The product's own counters; fixed numbers in this example.
fn usage_of_the_last_day() -> Usage {
    Usage {
        version: "1.4.2".into(),
        tokens_created: 120,
        tokens_detokenized: 45,
        grants_issued: 3,
    }
}

/// The time left until the next 00:00 UTC, when the log has published the
/// day that ended (the reporter then waits a random share of its
/// `max_initial_delay` more).
fn until_next_utc_day() -> Duration {
    let now = time::OffsetDateTime::now_utc();
    let midnight = now
        .date()
        .next_day()
        .expect("not the end of time")
        .midnight();
    (midnight.assume_utc() - now).unsigned_abs()
}
