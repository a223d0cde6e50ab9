//! The JSON answers of SPEC section 5, as the server writes them and the
//! client reads them back: one definition for both, so that a deployment's
//! client (`lucent-client`) needs nothing of the server.
//!
//! Plain serde types. With the `openapi` feature, which only the server
//! turns on, each is also a `poem_openapi::Object`, so that the served
//! OpenAPI description is drawn from these same definitions and their
//! doc comments.

use serde::{Deserialize, Serialize};

/// The signed promise: what the server stored, and its signature that the
/// record will be in the root of its day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct PromiseBody {
    /// The UTC day on which the report was accepted (YYYY-MM-DD).
    pub day: String,
    /// The deployment hash (lowercase hex).
    pub deployment: String,
    /// The record bytes exactly as stored (canonical JSON, as a string).
    pub record: String,
    /// Lowercase hex SHA-256 of the record bytes.
    pub record_hash: String,
    /// When the root that covers this record will be signed (RFC 3339).
    pub publish_after: String,
    /// A signed note by the log key: `lucent-promise/v1`, origin, day, record_hash.
    pub promise: String,
}

/// The log's identity and published size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct RootBody {
    /// The UTC day the root closes.
    pub day: String,
    /// The end of the period it closes (RFC 3339).
    pub period_end: String,
    /// The number of entries it covers.
    pub size: u64,
    /// The Merkle tree root (lowercase hex).
    pub root_hash: String,
    /// The signed checkpoint (C2SP tlog-checkpoint note text): the log's
    /// signature, then the witnesses' cosignatures known when asked.
    pub checkpoint: String,
    /// The witnesses' cosignatures that `checkpoint` carries.
    #[serde(default)]
    pub cosignatures: Vec<CosignatureBody>,
}

/// A witness's cosignature of a root (SPEC section 8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct CosignatureBody {
    /// The witness's key name.
    pub witness: String,
    /// The witness's key id (8 lowercase hex digits).
    pub key_id: String,
    /// The time the cosignature signs (RFC 3339), for a C2SP
    /// tlog-cosignature; absent for a plain Ed25519 note signature.
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
}

/// The evidence that a record is in the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct EntryBody {
    /// The entry's index in the log.
    pub index: u64,
    /// The entry bytes exactly as stored and hashed (canonical JSON).
    pub entry: String,
    /// RFC 6962 leaf hash of the entry (lowercase hex).
    pub leaf_hash: String,
}

/// A page of entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct EntriesPage {
    pub entries: Vec<EntryBody>,
    /// The index of the last entry of this page when more follow (absent on
    /// the last page): the next page starts after it (`start=next_after+1`
    /// for `/v1/entries`, `after=next_after` for a deployment prefix).
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_after: Option<u64>,
}

/// An inclusion proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct InclusionProofBody {
    pub index: u64,
    pub size: u64,
    /// RFC 9162 inclusion proof, base64 hashes.
    pub proof: Vec<String>,
}

/// A consistency proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct ConsistencyProofBody {
    pub old: u64,
    pub new: u64,
    /// RFC 9162 consistency proof, base64 hashes (empty when old is 0 or equals new).
    pub proof: Vec<String>,
}

/// Aggregates over every entry a signed root covers, and that root: a function of its entries
/// alone, which `lucent verify` recomputes and compares field by field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct StatsBody {
    /// The size of the root: the number of entries counted (0 before the first root).
    pub size: u64,
    /// The root's hash (lowercase hex), as in its signed checkpoint. Absent before the first root.
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_hash: Option<String>,
    /// The UTC day the root closes; every window counts back from it. Absent before the first
    /// root.
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub day: Option<String>,
    /// Distinct deployments with a published entry in the last days.
    pub active_deployments: ActiveDeploymentsBody,
    /// Entries per UTC day, for every day from the log's inception to `day`, days
    /// without reports included (as 0).
    pub reports_per_day: Vec<DayReportsBody>,
    /// Versions in use: for each version, the distinct deployments that reported it in the 30
    /// days ending on `day` (a deployment that changed version in that time counts under each).
    /// Most used first, ties in the versions' text (byte) order; at most 100; versions no
    /// deployment reported in that time are left out.
    pub versions: Vec<VersionUseBody>,
    /// How many less used versions are in use beyond the 100 listed (anyone can invent a version).
    pub unlisted_versions: u64,
    /// Sums over every entry of the root.
    pub totals: TotalsBody,
}

/// Distinct deployments with a published entry in the last N days, counting back from the
/// root's day, that day included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct ActiveDeploymentsBody {
    /// On the root's day.
    pub last_1_day: u64,
    /// In the 7 days ending on the root's day.
    pub last_7_days: u64,
    /// In the 30 days ending on the root's day.
    pub last_30_days: u64,
}

/// The published entries of one UTC day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct DayReportsBody {
    /// The UTC day (YYYY-MM-DD).
    pub day: String,
    /// Entries whose `day` is this day: one per deployment that reported.
    pub reports: u64,
}

/// How many deployments use a version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct VersionUseBody {
    /// The product version, as reported.
    pub version: String,
    /// Distinct deployments that reported this version in the 30 days ending on the root's
    /// day.
    pub deployments: u64,
}

/// Sums over every entry of the root. They can exceed 64 bits, so each is a decimal string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct TotalsBody {
    /// The sum of `tokens_created`, in decimal.
    pub tokens_created: String,
    /// The sum of `tokens_detokenized`, in decimal.
    pub tokens_detokenized: String,
    /// The sum of `grants_issued`, in decimal.
    pub grants_issued: String,
}
