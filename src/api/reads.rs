//! The read endpoints of SPEC section 5: parameters parsed, the published
//! log asked ([`PublishedLog`]), and its answer given as a wire type.

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Json, PlainText};
use poem_openapi::{ApiResponse, OpenApi};

use lucent_core::Hash;
use lucent_core::record::Day;

use crate::http::answers::{base64_all, entries_page, entry_body, log_body, receipt_body};
use crate::http::problem::{ApiError, Problems, ReadProblems};
use crate::published::PublishedLog;
use crate::sequencer::Sequencer;
use crate::wire::{
    ConsistencyProofBody, EntriesPage, EntryBody, InclusionProofBody, LogBody, ReceiptBody,
    RootBody,
};

type Answer<T> = Result<Json<T>, Problems<ReadProblems>>;

#[derive(ApiResponse)]
enum Readiness {
    /// Reports are taken.
    #[oai(status = 200)]
    Ready(PlainText<String>),
    /// Reports would be refused now; try another server, or later.
    #[oai(status = 503)]
    NotReady(PlainText<String>),
}

pub struct ReadsApi;

#[OpenApi]
impl ReadsApi {
    /// Liveness: answers `ok` while the server runs.
    #[oai(path = "/healthz", method = "get", operation_id = "health")]
    async fn healthz(&self) -> PlainText<&'static str> {
        PlainText("ok\n")
    }

    /// Readiness: `ready` if a report sent now could be taken; 503 with
    /// the reason if not (the writer's queue is full, or its last commit
    /// failed and the database is being retried). For load balancers.
    #[oai(path = "/readyz", method = "get", operation_id = "ready")]
    async fn readyz(&self, sequencer: Data<&Sequencer>) -> Readiness {
        match sequencer.ready() {
            Ok(()) => Readiness::Ready(PlainText("ready\n".into())),
            Err(e) => Readiness::NotReady(PlainText(format!("not ready: {e}\n"))),
        }
    }

    /// The log: origin, verifier key, published size, inception day.
    #[oai(path = "/v1/log", method = "get", operation_id = "getLog")]
    async fn log(&self, log: Data<&PublishedLog>) -> Answer<LogBody> {
        Ok(Json(log_body(log.summary().await?)))
    }

    /// The signed roots, oldest first: at most `limit` (1000) from root
    /// number `start` (0, the first root). A full page may have more after
    /// it: ask again from `start` + its length.
    #[oai(path = "/v1/roots", method = "get", operation_id = "listRoots")]
    async fn roots(
        &self,
        log: Data<&PublishedLog>,
        /// The position of the first root to list (0, the first root, if absent).
        start: Query<Option<u64>>,
        /// The most roots to list, at most 1000 (1000 if absent).
        limit: Query<Option<u32>>,
    ) -> Answer<Vec<RootBody>> {
        let roots = log.roots(start.0, limit.0).await?;
        Ok(Json(roots.into_iter().map(RootBody::from).collect()))
    }

    /// The latest signed root.
    #[oai(
        path = "/v1/roots/latest",
        method = "get",
        operation_id = "getLatestRoot"
    )]
    async fn latest_root(&self, log: Data<&PublishedLog>) -> Answer<RootBody> {
        let root = log.latest_root().await?;
        let root = root.ok_or_else(|| ApiError::NotFound("no root has been signed yet".into()))?;
        Ok(Json(root.into()))
    }

    /// The last root that closes within a UTC day.
    #[oai(path = "/v1/roots/:day", method = "get", operation_id = "getRootOfDay")]
    async fn root_of_day(
        &self,
        log: Data<&PublishedLog>,
        /// A UTC day (YYYY-MM-DD).
        day: Path<String>,
    ) -> Answer<RootBody> {
        let day = Day::parse(&day.0)
            .map_err(|_| ApiError::BadRequest("a day is a date YYYY-MM-DD".into()))?;
        Ok(Json(log.root_of_day(day).await?.into()))
    }

    /// Published entries from `start`, at most `limit` (1000).
    #[oai(path = "/v1/entries", method = "get", operation_id = "listEntries")]
    async fn entries(
        &self,
        log: Data<&PublishedLog>,
        /// The index of the first entry (0 if absent).
        start: Query<Option<u64>>,
        /// The most entries to list, at most 1000 (100 if absent).
        limit: Query<Option<u32>>,
    ) -> Answer<EntriesPage> {
        Ok(Json(entries_page(log.entries(start.0, limit.0).await?)?))
    }

    /// One published entry.
    #[oai(path = "/v1/entries/:index", method = "get", operation_id = "getEntry")]
    async fn entry(
        &self,
        log: Data<&PublishedLog>,
        /// The entry's index in the log (its leaf index).
        index: Path<u64>,
    ) -> Answer<EntryBody> {
        Ok(Json(entry_body(log.entry(index.0).await?)?))
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
        log: Data<&PublishedLog>,
        /// 2 to 8 lowercase hex digits.
        prefix: Path<String>,
        /// List only entries whose index is above this one (the last index of the page before).
        after: Query<Option<u64>>,
        /// The most entries to list, at most 1000 (100 if absent).
        limit: Query<Option<u32>>,
    ) -> Answer<EntriesPage> {
        let page = log.entries_by_deployment(&prefix.0, after.0, limit.0);
        Ok(Json(entries_page(page.await?)?))
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
        log: Data<&PublishedLog>,
        /// The entry's index.
        index: Query<u64>,
        /// The size of the tree, up to the published one.
        size: Query<u64>,
    ) -> Answer<InclusionProofBody> {
        let (index, size) = (index.0, size.0);
        let proof = log.inclusion_proof(index, size).await?;
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
        log: Data<&PublishedLog>,
        /// The size of the older tree (0 to `new`).
        old: Query<u64>,
        /// The size of the newer tree, up to the published one.
        new: Query<u64>,
    ) -> Answer<ConsistencyProofBody> {
        let (old, new) = (old.0, new.0);
        let proof = log.consistency_proof(old, new).await?;
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
        log: Data<&PublishedLog>,
        /// The record's `record_hash` from its promise: 64 lowercase hex digits.
        #[oai(name = "record_hash")]
        record_hash_hex: Path<String>,
    ) -> Answer<ReceiptBody> {
        let wanted = Hash::from_hex(&record_hash_hex.0)
            .map_err(|_| ApiError::BadRequest("a record hash is 64 lowercase hex digits".into()))?;
        Ok(Json(receipt_body(log.receipt(&wanted).await?)?))
    }
}
