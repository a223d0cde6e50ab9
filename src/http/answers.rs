//! The log's values as the JSON answers of SPEC section 5: the one place
//! where the read side's types become wire types.

use lucent_core::Hash;
use lucent_core::hash::leaf_hash;
use lucent_core::note::VerifierKey;
use lucent_core::tlog_proof::TlogProof;

use super::problem::ApiError;
use crate::published::{EntryPage, LogSummary, Receipt};
use crate::stats::Stats;
use crate::storage::{Cosignature, RootRow, StoredEntry};
use crate::wire::{
    ActiveDeploymentsBody, CosignatureBody, DayReportsBody, EntriesPage, EntryBody, LogBody,
    ReceiptBody, RootBody, StatsBody, TotalsBody, VersionUseBody,
};
use lucent_core::period::{day_of, instant, rfc3339};

/// Entries are canonical JSON, so UTF-8; one that is not is a fault of the
/// database, not of the request.
fn entry_text(entry: Vec<u8>) -> Result<String, ApiError> {
    String::from_utf8(entry).map_err(|_| ApiError::Internal)
}

pub fn entry_body(stored: StoredEntry) -> Result<EntryBody, ApiError> {
    Ok(EntryBody {
        index: stored.index,
        leaf_hash: leaf_hash(&stored.entry).to_hex(),
        entry: entry_text(stored.entry)?,
    })
}

pub fn entries_page(page: EntryPage) -> Result<EntriesPage, ApiError> {
    Ok(EntriesPage {
        entries: page
            .entries
            .into_iter()
            .map(entry_body)
            .collect::<Result<_, _>>()?,
        next_after: page.next_after,
    })
}

pub fn base64_all(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(Hash::to_base64).collect()
}

pub fn log_body(summary: LogSummary) -> LogBody {
    LogBody {
        origin: summary.info.origin,
        verifier_key: summary.info.verifier_key,
        size: summary.size,
        inception_day: day_of(instant(summary.info.inception)).to_string(),
    }
}

impl From<RootRow> for RootBody {
    fn from(row: RootRow) -> RootBody {
        RootBody {
            size: row.entries(),
            day: row.day,
            period_end: rfc3339(row.period_end),
            root_hash: hex::encode(&row.root_hash),
            checkpoint: row.checkpoint,
            cosignatures: row.cosignatures.iter().map(cosignature_body).collect(),
        }
    }
}

fn cosignature_body(cosignature: &Cosignature) -> CosignatureBody {
    let (witness, key_id) = match VerifierKey::parse(&cosignature.witness) {
        Ok(key) => (key.name().to_owned(), key.key_id().to_string()),
        Err(_) => (cosignature.witness.clone(), String::new()),
    };
    CosignatureBody {
        witness,
        key_id,
        time: cosignature.signed_at.map(rfc3339),
    }
}

pub fn receipt_body(receipt: Receipt) -> Result<ReceiptBody, ApiError> {
    let Receipt { entry, root, proof } = receipt;
    let tlog_proof = TlogProof {
        extra: Some(entry.entry.clone()),
        index: entry.index,
        proof: proof.clone(),
        checkpoint: root.checkpoint.clone(),
    };
    Ok(ReceiptBody {
        index: entry.index,
        leaf_hash: leaf_hash(&entry.entry).to_hex(),
        entry: entry_text(entry.entry)?,
        checkpoint: root.checkpoint,
        inclusion_proof: base64_all(&proof),
        tlog_proof: tlog_proof.to_text(),
    })
}

/// The stats as `/v1/stats` serves them, and as `lucent verify` compares
/// them.
pub fn stats_body(stats: &Stats) -> StatsBody {
    StatsBody {
        size: stats.root.map_or(0, |r| r.size),
        root_hash: stats.root.map(|r| r.root_hash.to_hex()),
        day: stats.root.map(|r| r.day.to_string()),
        active_deployments: ActiveDeploymentsBody {
            last_1_day: stats.active.last_1_day,
            last_7_days: stats.active.last_7_days,
            last_30_days: stats.active.last_30_days,
        },
        reports_per_day: stats
            .reports_per_day
            .iter()
            .map(|(day, reports)| DayReportsBody {
                day: day.to_string(),
                reports: *reports,
            })
            .collect(),
        versions: stats
            .versions
            .iter()
            .map(|(version, deployments)| VersionUseBody {
                version: version.as_str().to_owned(),
                deployments: *deployments,
            })
            .collect(),
        unlisted_versions: stats.unlisted_versions,
        totals: TotalsBody {
            tokens_created: stats.totals.tokens_created.to_string(),
            tokens_detokenized: stats.totals.tokens_detokenized.to_string(),
            grants_issued: stats.totals.grants_issued.to_string(),
        },
    }
}
