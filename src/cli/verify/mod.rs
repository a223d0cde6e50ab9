//! `lucent verify`: a third party's full audit of a log over HTTP (SPEC
//! section 6).
//!
//! In order, cheapest first: every root's signature and the order of the
//! roots (`roots.rs`); with `--state`, that the latest root extends the root
//! verified last time (`state.rs`); the served consistency proofs between
//! consecutive roots; the latest root from the hash tiles alone
//! (`tiles.rs`); then one pass over every entry bundle and level-0 tile,
//! which checks each entry (schema 1, its `prev`, its leaf hash in the
//! tile, its day, its order) while rebuilding the tree, checks every higher
//! tile hash against the rebuilt nodes, compares the rebuilt root with
//! each signed root as the tree reaches its size (`rebuild.rs`), and
//! recomputes the served stats at the roots they name (`stats.rs`).

mod error;
mod rebuild;
mod report;
mod roots;
mod state;
mod stats;
mod tiles;

use std::path::PathBuf;

use lucent_core::hash::empty_root;
use lucent_core::note::VerifierKey;

pub use error::VerifyError;
pub use report::{Growth, VerifyReport};

use super::progress::Progress;
use lucent_client::http::LogClient;
use lucent_client::quorum::WitnessQuorum;
use rebuild::Rebuild;
use roots::{check_consistency, fetch_signed_roots};
use state::{Remembered, check_growth, load_state, save_state};
use stats::{latest_stats, served_stats};
use tiles::check_root_from_tiles;

/// Requests in flight at once.
const CONCURRENCY: usize = 8;

/// What to verify.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// The log's base URL.
    pub url: String,
    /// The log's verifier key, obtained out of band.
    pub key: VerifierKey,
    /// Monitor mode: the file that remembers the last verified root.
    pub state: Option<PathBuf>,
    /// The witnesses whose signatures the latest root must carry.
    pub witnesses: WitnessQuorum,
}

/// Audits the log at `options.url`; with `options.state`, also proves that
/// it only grew since the root remembered there, and remembers the latest.
pub async fn verify(
    options: &VerifyOptions,
    progress: &Progress,
) -> Result<VerifyReport, VerifyError> {
    let key = &options.key;
    let client = LogClient::new(&options.url)?;
    let remembered = match &options.state {
        Some(path) => load_state(path, key)?,
        None => None,
    };
    check_served_key(&client, key).await?;
    // Read before the roots, so that the root it names is among them.
    let latest_stats = latest_stats(&client).await?;
    let roots = fetch_signed_roots(&client, key).await?;
    let stats = served_stats(&client, latest_stats, &roots, remembered).await?;
    let stats_days = stats.iter().map(|s| roots[s.root].day).collect();
    let Some(latest) = roots.last() else {
        return verify_empty(key, remembered);
    };
    options
        .witnesses
        .check(&latest.checkpoint)
        .map_err(|e| VerifyError::Witnesses(e.to_string()))?;
    if let Some(remembered) = remembered {
        check_growth(&client, remembered, latest).await?;
    }
    check_consistency(&client, &roots, progress).await?;
    check_root_from_tiles(&client, latest).await?;
    Rebuild::new(&roots, remembered, stats)
        .run(&client, progress)
        .await?;

    if let Some(path) = &options.state {
        save_state(path, &client, key, latest)?;
    }
    Ok(VerifyReport {
        origin: key.name().to_owned(),
        roots: roots.len(),
        days: Some((roots[0].day, latest.day)),
        size: latest.size,
        root_hash: latest.root,
        growth: growth(remembered, latest.size),
        stats_days,
    })
}

/// The log must serve the key the verifier was given: a log that serves
/// another is another log, or a log that changed its key.
async fn check_served_key(client: &LogClient, key: &VerifierKey) -> Result<(), VerifyError> {
    let served_key = client.log().await?.verifier_key;
    if VerifierKey::parse(&served_key).ok().as_ref() != Some(key) {
        return Err(VerifyError::KeyMismatch {
            given: key.to_string(),
            served: served_key,
        });
    }
    Ok(())
}

/// A log that has signed no root yet: valid, unless a non-empty root was
/// verified before. Nothing is remembered, as there is no root to keep.
fn verify_empty(
    key: &VerifierKey,
    remembered: Option<Remembered>,
) -> Result<VerifyReport, VerifyError> {
    if let Some(remembered) = remembered.filter(|r| r.size > 0) {
        return Err(VerifyError::LogShrank {
            remembered: remembered.size,
            latest: 0,
        });
    }
    Ok(VerifyReport {
        origin: key.name().to_owned(),
        roots: 0,
        days: None,
        size: 0,
        root_hash: empty_root(),
        growth: growth(remembered, 0),
        stats_days: Vec::new(),
    })
}

/// In monitor mode, the growth from the remembered root to `size`.
fn growth(remembered: Option<Remembered>, size: u64) -> Option<Growth> {
    remembered.map(|r| Growth {
        from: r.size,
        to: size,
    })
}
