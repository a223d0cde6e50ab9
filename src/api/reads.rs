//! The read side of SPEC section 5: the log, its roots and receipts. Only
//! what a signed root covers is served.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Json, PlainText};
use poem_openapi::{Object, OpenApi};

use lucent_core::Hash;
use lucent_core::hash::leaf_hash;
use lucent_core::merkle::{consistency_proof, inclusion_proof};
use lucent_core::period::{day_of, instant, rfc3339};
use lucent_core::record::{Entry, record_hash};
use lucent_core::tlog_proof::TlogProof;

use super::AppState;
use super::problem::{ApiError, Problems, ReadProblems};
use crate::sequencer::record_key;
use crate::storage::tiles::{ComputeError, TileNodes};
use crate::storage::{RootRow, StorageError};

/// The log's identity and published size.
#[derive(Debug, Clone, Object, serde::Deserialize)]
pub struct LogBody {
    /// The log's name and checkpoint origin.
    pub origin: String,
    /// The verifier key of the log key, in the signed-note text form.
    pub verifier_key: String,
    /// The size of the latest signed root (0 before the first).
    pub size: u64,
    /// The UTC day on which the log began.
    pub inception_day: String,
}

/// A signed root.
#[derive(Debug, Clone, Object, serde::Deserialize)]
pub struct RootBody {
    /// The UTC day the root closes.
    pub day: String,
    /// The end of the period it closes (RFC 3339).
    pub period_end: String,
    /// The number of entries it covers.
    pub size: u64,
    /// The Merkle tree root (lowercase hex).
    pub root_hash: String,
    /// The signed checkpoint (C2SP tlog-checkpoint note text).
    pub checkpoint: String,
}

/// The evidence that a record is in the log.
#[derive(Debug, Clone, Object, serde::Deserialize)]
pub struct ReceiptBody {
    /// The entry's index in the log.
    pub index: u64,
    /// The entry bytes exactly as stored and hashed.
    pub entry: String,
    /// RFC 6962 leaf hash of the entry (lowercase hex).
    pub leaf_hash: String,
    /// The signed daily root that first covered the entry.
    pub checkpoint: String,
    /// The inclusion proof of the entry in that root, base64 hashes.
    pub inclusion_proof: Vec<String>,
    /// The same evidence as one C2SP tlog-proof text, the entry base64 in its `extra` line.
    pub tlog_proof: String,
}

/// A published entry.
#[derive(Object)]
pub struct EntryBody {
    /// The entry's index in the log.
    pub index: u64,
    /// The entry bytes exactly as stored and hashed (canonical JSON).
    pub entry: String,
    /// RFC 6962 leaf hash of the entry (lowercase hex).
    pub leaf_hash: String,
}

/// A page of entries.
#[derive(Object)]
pub struct EntriesPage {
    pub entries: Vec<EntryBody>,
    /// The index of the last entry of this page when more follow (absent on
    /// the last page): the next page starts after it (`start=next_after+1`
    /// for `/v1/entries`, `after=next_after` for a deployment prefix).
    #[oai(skip_serializing_if_is_none)]
    pub next_after: Option<u64>,
}

/// An inclusion proof.
#[derive(Object)]
pub struct InclusionProofBody {
    pub index: u64,
    pub size: u64,
    /// RFC 9162 inclusion proof, base64 hashes.
    pub proof: Vec<String>,
}

/// A consistency proof.
#[derive(Object)]
pub struct ConsistencyProofBody {
    pub old: u64,
    pub new: u64,
    /// RFC 9162 consistency proof, base64 hashes (empty when old is 0 or equals new).
    pub proof: Vec<String>,
}

/// Most entries or roots one request returns.
const MAX_PAGE: u32 = 1000;

/// The page size asked for, 100 by default, within 1 to [`MAX_PAGE`].
fn page_limit(asked: Option<u32>) -> u32 {
    asked.unwrap_or(100).clamp(1, MAX_PAGE)
}

pub(crate) fn entry_body(stored: crate::storage::StoredEntry) -> Result<EntryBody, ApiError> {
    Ok(EntryBody {
        index: stored.index,
        leaf_hash: leaf_hash(&stored.entry).to_hex(),
        entry: String::from_utf8(stored.entry).map_err(|_| ApiError::Internal)?,
    })
}

fn base64_all(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(Hash::to_base64).collect()
}

impl From<RootRow> for RootBody {
    fn from(row: RootRow) -> RootBody {
        RootBody {
            day: row.day,
            period_end: rfc3339(row.period_end),
            size: row.size as u64,
            root_hash: hex::encode(&row.root_hash),
            checkpoint: row.checkpoint,
        }
    }
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> ApiError {
        match e {
            StorageError::OutOfRange(n) => {
                ApiError::BadRequest(format!("{n} is larger than any index or size of a log"))
            }
            e => {
                tracing::error!(error = %e, "storage");
                ApiError::Internal
            }
        }
    }
}

impl From<ComputeError> for ApiError {
    fn from(e: ComputeError) -> ApiError {
        match e {
            ComputeError::Storage(e) => e.into(),
            ComputeError::Proof(reason) => ApiError::BadRequest(reason),
        }
    }
}

/// A page of the published entries whose `deployment` starts with `prefix`
/// (2 to 8 lowercase hex digits), after index `after`: for the API and for
/// the `/deployment` page.
pub(crate) async fn entries_by_deployment(
    state: &AppState,
    prefix: &str,
    after: Option<u64>,
    limit: Option<u32>,
) -> Result<EntriesPage, ApiError> {
    if !(2..=8).contains(&prefix.len())
        || !prefix
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(ApiError::BadRequest(
            "a prefix is 2 to 8 lowercase hex digits".into(),
        ));
    }
    let limit = page_limit(limit);
    let size = published_size(state).await?;
    let after = after.map(|after| after.min(size));
    let stored = state
        .read
        .entries_by_deployment(prefix, after, size, limit)
        .await?;
    let next_after = (stored.len() == limit as usize)
        .then(|| stored.last().map(|e| e.index))
        .flatten();
    let entries = stored
        .into_iter()
        .map(entry_body)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(EntriesPage {
        entries,
        next_after,
    })
}

pub struct ReadsApi;

#[OpenApi]
impl ReadsApi {
    /// Liveness: answers `ok` while the server runs.
    #[oai(path = "/healthz", method = "get", operation_id = "health")]
    async fn healthz(&self) -> PlainText<&'static str> {
        PlainText("ok\n")
    }

    /// The log: origin, verifier key, published size, inception day.
    #[oai(path = "/v1/log", method = "get", operation_id = "getLog")]
    async fn log(
        &self,
        state: Data<&Arc<AppState>>,
    ) -> Result<Json<LogBody>, Problems<ReadProblems>> {
        let read = &state.read;
        let info = read.log_info().await?;
        let size = read.latest_root().await?.map_or(0, |r| r.size as u64);
        Ok(Json(LogBody {
            origin: info.origin,
            verifier_key: info.verifier_key,
            size,
            inception_day: day_of(instant(info.inception)).to_string(),
        }))
    }

    /// The signed roots, oldest first: at most `limit` (1000) from root
    /// number `start` (0, the first root). A full page may have more after
    /// it: ask again from `start` + its length.
    #[oai(path = "/v1/roots", method = "get", operation_id = "listRoots")]
    async fn roots(
        &self,
        state: Data<&Arc<AppState>>,
        start: Query<Option<u64>>,
        limit: Query<Option<u32>>,
    ) -> Result<Json<Vec<RootBody>>, Problems<ReadProblems>> {
        let start = start.0.unwrap_or(0);
        let limit = page_limit(Some(limit.0.unwrap_or(MAX_PAGE)));
        let roots = state.read.roots(start, limit).await?;
        Ok(Json(roots.into_iter().map(RootBody::from).collect()))
    }

    /// The latest signed root.
    #[oai(
        path = "/v1/roots/latest",
        method = "get",
        operation_id = "getLatestRoot"
    )]
    async fn latest_root(
        &self,
        state: Data<&Arc<AppState>>,
    ) -> Result<Json<RootBody>, Problems<ReadProblems>> {
        let root = state.read.latest_root().await?;
        let root = root.ok_or_else(|| ApiError::NotFound("no root has been signed yet".into()))?;
        Ok(Json(root.into()))
    }

    /// The last root that closes within a UTC day.
    #[oai(path = "/v1/roots/:day", method = "get", operation_id = "getRootOfDay")]
    async fn root_of_day(
        &self,
        state: Data<&Arc<AppState>>,
        day: Path<String>,
    ) -> Result<Json<RootBody>, Problems<ReadProblems>> {
        let day = lucent_core::record::Day::parse(&day.0)
            .map_err(|_| ApiError::BadRequest("a day is a date YYYY-MM-DD".into()))?;
        let root = state.read.root_of_day(&day.to_string()).await?;
        let root = root.ok_or_else(|| ApiError::NotFound(format!("no root closes {day}")))?;
        Ok(Json(root.into()))
    }

    /// Published entries from `start`, at most `limit` (1000).
    #[oai(path = "/v1/entries", method = "get", operation_id = "listEntries")]
    async fn entries(
        &self,
        state: Data<&Arc<AppState>>,
        start: Query<Option<u64>>,
        limit: Query<Option<u32>>,
    ) -> Result<Json<EntriesPage>, Problems<ReadProblems>> {
        let size = published_size(&state).await?;
        // Never past the published size, which SQLite's integers can hold.
        let start = start.0.unwrap_or(0).min(size);
        let end = start
            .saturating_add(u64::from(page_limit(limit.0)))
            .min(size);
        let stored = state.read.entries(start, end).await?;
        let entries = stored
            .into_iter()
            .map(entry_body)
            .collect::<Result<Vec<_>, _>>()?;
        let next_after = (end < size && !entries.is_empty()).then(|| end - 1);
        Ok(Json(EntriesPage {
            entries,
            next_after,
        }))
    }

    /// One published entry.
    #[oai(path = "/v1/entries/:index", method = "get", operation_id = "getEntry")]
    async fn entry(
        &self,
        state: Data<&Arc<AppState>>,
        index: Path<u64>,
    ) -> Result<Json<EntryBody>, Problems<ReadProblems>> {
        let size = published_size(&state).await?;
        let missing =
            || ApiError::NotFound(format!("entry {} is not published (size {size})", index.0));
        if index.0 >= size {
            return Err(missing().into());
        }
        let stored = state.read.entries(index.0, index.0 + 1).await?;
        Ok(Json(entry_body(
            stored.into_iter().next().ok_or_else(missing)?,
        )?))
    }

    /// Every published entry whose `deployment` starts with `prefix` (2 to 8
    /// lowercase hex digits), paged. Ask by a short prefix that many
    /// deployments share, and filter the answer yourself.
    #[oai(
        path = "/v1/deployments/:prefix/entries",
        method = "get",
        operation_id = "listDeploymentEntries"
    )]
    async fn deployment_entries(
        &self,
        state: Data<&Arc<AppState>>,
        prefix: Path<String>,
        after: Query<Option<u64>>,
        limit: Query<Option<u32>>,
    ) -> Result<Json<EntriesPage>, Problems<ReadProblems>> {
        Ok(Json(
            entries_by_deployment(&state, &prefix.0, after.0, limit.0).await?,
        ))
    }

    /// An inclusion proof of entry `index` in the tree of `size` entries
    /// (any size up to the published one).
    #[oai(
        path = "/v1/proofs/inclusion",
        method = "get",
        operation_id = "getInclusionProof"
    )]
    async fn inclusion(
        &self,
        state: Data<&Arc<AppState>>,
        index: Query<u64>,
        size: Query<u64>,
    ) -> Result<Json<InclusionProofBody>, Problems<ReadProblems>> {
        let (index, size) = (index.0, size.0);
        check_size(&state, size).await?;
        if index >= size {
            return Err(
                ApiError::BadRequest(format!("index {index} is not below size {size}")).into(),
            );
        }
        let proof =
            TileNodes::compute(&state.read, |nodes| inclusion_proof(index, size, nodes)).await?;
        Ok(Json(InclusionProofBody {
            index,
            size,
            proof: base64_all(&proof),
        }))
    }

    /// A consistency proof between the trees of `old` and `new` entries
    /// (`old=0` gives an empty proof).
    #[oai(
        path = "/v1/proofs/consistency",
        method = "get",
        operation_id = "getConsistencyProof"
    )]
    async fn consistency(
        &self,
        state: Data<&Arc<AppState>>,
        old: Query<u64>,
        new: Query<u64>,
    ) -> Result<Json<ConsistencyProofBody>, Problems<ReadProblems>> {
        let (old, new) = (old.0, new.0);
        check_size(&state, new).await?;
        if old > new {
            return Err(ApiError::BadRequest(format!(
                "old size {old} is larger than new size {new}"
            ))
            .into());
        }
        let proof =
            TileNodes::compute(&state.read, |nodes| consistency_proof(old, new, nodes)).await?;
        Ok(Json(ConsistencyProofBody {
            old,
            new,
            proof: base64_all(&proof),
        }))
    }

    /// The receipt of a published record: its entry, the root of its day,
    /// and the inclusion proof, also as one C2SP tlog-proof.
    #[oai(
        path = "/v1/receipts/:record_hash",
        method = "get",
        operation_id = "getReceipt"
    )]
    async fn receipt(
        &self,
        state: Data<&Arc<AppState>>,
        #[oai(name = "record_hash")] record_hash_hex: Path<String>,
    ) -> Result<Json<ReceiptBody>, Problems<ReadProblems>> {
        let wanted = Hash::from_hex(&record_hash_hex.0)
            .map_err(|_| ApiError::BadRequest("a record hash is 64 lowercase hex digits".into()))?;
        let read = &state.read;
        let found = read
            .entries_by_record_key(record_key(&wanted))
            .await?
            .into_iter()
            .find_map(|stored| {
                let entry = Entry::parse(&stored.entry).ok()?;
                (record_hash(&entry.record.to_bytes()) == wanted).then_some(stored)
            });
        // A pending record gets the same answer as one never received, so
        // that nobody can poll a guessed record to learn whether, or when,
        // a deployment reported (SPEC section 5).
        let Some(stored) = found else {
            return Err(ApiError::NotFound("no published record has this hash".into()).into());
        };
        let root = read.first_root_covering(stored.index).await?;
        let root = root.ok_or_else(|| StorageError::Corrupt("an entry no root covers".into()))?;
        let index = stored.index;
        let size = root.size as u64;
        let proof = TileNodes::compute(read, |nodes| inclusion_proof(index, size, nodes)).await?;
        let tlog_proof = TlogProof {
            extra: Some(stored.entry.clone()),
            index,
            proof: proof.clone(),
            checkpoint: root.checkpoint.clone(),
        };
        Ok(Json(ReceiptBody {
            index,
            leaf_hash: leaf_hash(&stored.entry).to_hex(),
            entry: String::from_utf8(stored.entry).map_err(|_| ApiError::Internal)?,
            checkpoint: root.checkpoint,
            inclusion_proof: base64_all(&proof),
            tlog_proof: tlog_proof.to_text(),
        }))
    }
}

/// The size of the latest signed root (0 before the first).
async fn published_size(state: &AppState) -> Result<u64, ApiError> {
    Ok(state.read.latest_root().await?.map_or(0, |r| r.size as u64))
}

/// Refuses sizes beyond the published one.
async fn check_size(state: &AppState, size: u64) -> Result<(), ApiError> {
    let published = published_size(state).await?;
    if size > published {
        return Err(ApiError::BadRequest(format!(
            "size {size} is larger than the published size {published}"
        )));
    }
    Ok(())
}
