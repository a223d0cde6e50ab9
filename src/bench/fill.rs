//! Fills a data directory with `days` published days of `per_day` reports,
//! through the real writer (not HTTP) and a driven clock, and measures what
//! the other targets need: publication time per day, disk bytes per entry,
//! and the time to start on the filled log.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lucent_core::record::Report;
use time::Date;

use crate::clock::{Clock as _, ManualClock};
use crate::server::{ServeConfig, ServeError, start};

/// What a fill measured.
#[derive(Debug)]
pub struct Filled {
    pub entries: u64,
    /// How long closing each day took (ordering, chaining, tree, tiles,
    /// signing, commit), as the writer's sync saw it.
    pub publish_times: Vec<Duration>,
    pub disk_bytes: u64,
    /// Starting the server again on the filled log (all startup checks).
    pub restart: Duration,
}

/// Reports the writer takes at once while filling.
const IN_FLIGHT: usize = 2048;

/// Fills `config.data_dir` (new or an earlier fill) with `days` days from `first_day`.
pub async fn fill(
    mut config: ServeConfig,
    first_day: Date,
    days: u32,
    per_day: u64,
) -> Result<Filled, ServeError> {
    // Reports go straight to the writer; the HTTP side only needs a port.
    config.listen = "127.0.0.1:0".into();
    let noon = |day: Date| day.with_hms(12, 0, 0).expect("noon").assume_utc();
    let clock = ManualClock::new(noon(first_day));
    let server = start(config.clone(), Arc::new(clock.clone())).await?;
    let mut publish_times = Vec::new();
    let mut day = first_day;
    for _ in 0..days {
        clock.set(noon(day));
        let mut sent = 0;
        while sent < per_day {
            let batch = (per_day - sent).min(IN_FLIGHT as u64);
            let submissions = (0..batch).map(|_| {
                let sequencer = server.sequencer.clone();
                let report = Report::parse(report_body().as_bytes()).expect("a valid report");
                tokio::spawn(async move { sequencer.submit(report).await })
            });
            for submission in submissions.collect::<Vec<_>>() {
                submission
                    .await
                    .expect("no panic")
                    .expect("the report is accepted");
            }
            sent += batch;
        }
        day = day.next_day().expect("a next day");
        let started = Instant::now();
        clock.set(day.midnight().assume_utc());
        server.sequencer.sync().await;
        publish_times.push(started.elapsed());
    }
    let last_now = clock.now();
    server.shutdown().await;
    let started = Instant::now();
    let again = start(config.clone(), Arc::new(ManualClock::new(last_now))).await?;
    let restart = started.elapsed();
    let entries = again.published_size().await?;
    again.shutdown().await;
    Ok(Filled {
        entries,
        publish_times,
        disk_bytes: directory_size(&config.data_dir),
        restart,
    })
}

fn report_body() -> String {
    format!(
        r#"{{"nonce":"{}","version":"1.4.2","tokens_created":120,"tokens_detokenized":45,"grants_issued":3}}"#,
        uuid::Uuid::new_v4()
    )
}

fn directory_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}
