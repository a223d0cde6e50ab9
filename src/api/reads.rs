//! The read side of SPEC section 5: the log, its roots and receipts. Only
//! what a signed root covers is served.

use std::sync::Arc;

use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use lucent_core::Hash;
use lucent_core::hash::leaf_hash;
use lucent_core::merkle::inclusion_proof;
use lucent_core::record::{Entry, record_hash};
use lucent_core::tlog_proof::TlogProof;

use super::AppState;
use super::problem::ApiError;
use crate::period::{day_of, instant, rfc3339};
use crate::sequencer::record_key;
use crate::storage::tiles::{ComputeError, TileNodes};
use crate::storage::{RootRow, StorageError};

/// The log's identity and published size.
#[derive(Object)]
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
#[derive(Object)]
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
#[derive(Object)]
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
        tracing::error!(error = %e, "storage");
        ApiError::Internal
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

pub struct ReadsApi {
    pub state: Arc<AppState>,
}

#[OpenApi]
impl ReadsApi {
    /// The log: origin, verifier key, published size, inception day.
    #[oai(path = "/v1/log", method = "get", operation_id = "getLog")]
    async fn log(&self) -> poem::Result<Json<LogBody>> {
        let read = &self.state.read;
        let info = read.log_info().await.map_err(ApiError::from)?;
        let size = read
            .latest_root()
            .await
            .map_err(ApiError::from)?
            .map_or(0, |r| r.size as u64);
        Ok(Json(LogBody {
            origin: info.origin,
            verifier_key: info.verifier_key,
            size,
            inception_day: day_of(instant(info.inception)).to_string(),
        }))
    }

    /// Every signed root, oldest first.
    #[oai(path = "/v1/roots", method = "get", operation_id = "listRoots")]
    async fn roots(&self) -> poem::Result<Json<Vec<RootBody>>> {
        let roots = self.state.read.roots().await.map_err(ApiError::from)?;
        Ok(Json(roots.into_iter().map(RootBody::from).collect()))
    }

    /// The latest signed root.
    #[oai(
        path = "/v1/roots/latest",
        method = "get",
        operation_id = "getLatestRoot"
    )]
    async fn latest_root(&self) -> poem::Result<Json<RootBody>> {
        let root = self
            .state
            .read
            .latest_root()
            .await
            .map_err(ApiError::from)?;
        let root = root.ok_or_else(|| ApiError::NotFound("no root has been signed yet".into()))?;
        Ok(Json(root.into()))
    }

    /// The last root that closes within a UTC day.
    #[oai(path = "/v1/roots/:day", method = "get", operation_id = "getRootOfDay")]
    async fn root_of_day(&self, day: Path<String>) -> poem::Result<Json<RootBody>> {
        let day = lucent_core::record::Day::parse(&day.0)
            .map_err(|_| ApiError::BadRequest("a day is a date YYYY-MM-DD".into()))?;
        let root = self
            .state
            .read
            .root_of_day(&day.to_string())
            .await
            .map_err(ApiError::from)?;
        let root = root.ok_or_else(|| ApiError::NotFound(format!("no root closes {day}")))?;
        Ok(Json(root.into()))
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
        #[oai(name = "record_hash")] record_hash_hex: Path<String>,
    ) -> poem::Result<Json<ReceiptBody>> {
        let wanted = Hash::from_hex(&record_hash_hex.0)
            .map_err(|_| ApiError::BadRequest("a record hash is 64 lowercase hex digits".into()))?;
        let read = &self.state.read;
        let found = read
            .entries_by_record_key(record_key(&wanted))
            .await
            .map_err(ApiError::from)?
            .into_iter()
            .find_map(|stored| {
                let entry = Entry::parse(&stored.entry).ok()?;
                (record_hash(&entry.record.to_bytes()) == wanted).then_some(stored)
            });
        let Some(stored) = found else {
            return Err(match read
                .pending_period_end(&wanted.0)
                .await
                .map_err(ApiError::from)?
            {
                Some(end) => ApiError::Pending {
                    publish_after: rfc3339(end),
                },
                None => ApiError::NotFound("no record with this hash is stored".into()),
            }
            .into());
        };
        let root = read
            .first_root_covering(stored.index)
            .await
            .map_err(ApiError::from)?;
        let root = root
            .ok_or_else(|| StorageError::Corrupt("an entry no root covers".into()))
            .map_err(ApiError::from)?;
        let index = stored.index;
        let size = root.size as u64;
        let proof = TileNodes::compute(read, |nodes| inclusion_proof(index, size, nodes))
            .await
            .map_err(ApiError::from)?;
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
            inclusion_proof: proof.iter().map(Hash::to_base64).collect(),
            tlog_proof: tlog_proof.to_text(),
        }))
    }
}
