//! The JSON API of SPEC section 5 and its OpenAPI description, and the
//! limit on reports per client address.

mod rate_limit;
mod reads;
mod reports;
mod stats;
mod tiles;

use poem_openapi::OpenApiService;

pub use rate_limit::{Limit, RateLimiter, TrustedProxies};
pub use reports::MAX_BODY;
pub use tiles::tile;

type Apis = (
    reports::ReportsApi,
    reads::ReadsApi,
    stats::StatsApi,
    tiles::CheckpointApi,
);

/// The API's OpenAPI service (the operations poem-openapi describes).
pub fn openapi_service() -> OpenApiService<Apis, ()> {
    OpenApiService::new(
        (
            reports::ReportsApi,
            reads::ReadsApi,
            stats::StatsApi,
            tiles::CheckpointApi,
        ),
        "lucent",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "A transparent telemetry log: daily usage reports kept in an append-only Merkle-tree \
         log with signed daily roots. Errors are RFC 9457 `application/problem+json`. \
         `x-max-answer-bytes` on a read operation is the largest answer it ever gives.",
    )
}

/// The largest answer of each read operation, in bytes: no request makes
/// the server send more than a bounded amount (SPEC section 7). Published
/// as `x-max-answer-bytes` in the OpenAPI description. An entry is at most
/// about 420 bytes (three 20-digit version numbers, a 20-byte pre-release,
/// three 16-digit counts). A root carries at most 8 cosignatures
/// (`cosigning::MAX_WITNESSES`), each under 400 bytes: a signature line in
/// its checkpoint (a name of at most 64 bytes and 104 of base64) and its
/// fields beside it.
const MAX_ANSWER_BYTES: &[(&str, u64)] = &[
    ("health", 16),
    ("ready", 128),
    ("getLog", 4 << 10),
    ("getCheckpoint", 8 << 10),
    ("getLatestRoot", 8 << 10),
    ("getRootOfDay", 8 << 10),
    // 1 000 roots a page, each under 4 KiB with its cosignatures.
    ("listRoots", 4 << 20),
    // 1 000 entries a page.
    ("listEntries", 1 << 20),
    ("listDeploymentEntries", 1 << 20),
    ("getEntry", 4 << 10),
    // At most 64 hashes; a receipt holds them twice, with an entry and a checkpoint.
    ("getInclusionProof", 8 << 10),
    ("getConsistencyProof", 8 << 10),
    ("getReceipt", 24 << 10),
    // A line a day since the log began (about 40 bytes), and at most 100 versions.
    ("getStats", 1 << 20),
    ("getHashTile", 8 << 10),
    ("getEntryBundle", 128 << 10),
];

/// The whole OpenAPI description, as served at `/openapi.json` and
/// committed under `openapi/`: the operations plus the C2SP tile paths,
/// whose indexes span several path segments, which poem-openapi cannot
/// express.
pub fn openapi_json() -> String {
    let mut spec: serde_json::Value =
        serde_json::from_str(&openapi_service().spec()).expect("poem-openapi writes JSON");
    let paths = spec["paths"].as_object_mut().expect("a paths object");
    paths.extend(tiles::openapi_paths());
    for operation in paths.values_mut().filter_map(|path| path.get_mut("get")) {
        let id = &operation["operationId"];
        if let Some((_, limit)) = MAX_ANSWER_BYTES.iter().find(|(name, _)| id == name) {
            operation["x-max-answer-bytes"] = (*limit).into();
        }
    }
    serde_json::to_string_pretty(&spec).expect("JSON serializes") + "\n"
}
