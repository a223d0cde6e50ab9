//! C2SP tlog-tiles over the latest signed root: `/checkpoint`, hash tiles
//! and entry bundles. Tiles never change once served at a width, so they
//! are cached as immutable; the checkpoint changes with each root.

use poem::http::StatusCode;
use poem::http::Uri;
use poem::web::Data;
use poem::{Response, handler};
use poem_openapi::payload::PlainText;
use poem_openapi::{ApiResponse, OpenApi};

use lucent_core::tiles::TilePath;

use crate::http::problem::{ApiError, Problems, ReadProblems};
use crate::published::PublishedLog;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

#[derive(ApiResponse)]
pub enum CheckpointResponse {
    /// The latest signed root, a C2SP tlog-checkpoint signed note.
    #[oai(status = 200)]
    Ok(PlainText<String>, #[oai(header = "Cache-Control")] String),
}

pub struct CheckpointApi;

#[OpenApi]
impl CheckpointApi {
    /// The latest signed daily root (C2SP tlog-checkpoint), for tlog-tiles
    /// clients. Tiles are served under `/tile/` as C2SP tlog-tiles describes.
    #[oai(path = "/checkpoint", method = "get", operation_id = "getCheckpoint")]
    async fn checkpoint(
        &self,
        log: Data<&PublishedLog>,
    ) -> Result<CheckpointResponse, Problems<ReadProblems>> {
        let root = log.latest_root().await?;
        let root = root.ok_or_else(|| ApiError::NotFound("no root has been signed yet".into()))?;
        Ok(CheckpointResponse::Ok(
            PlainText(root.checkpoint),
            "public, max-age=10".into(),
        ))
    }
}

/// `GET /tile/...`: a hash tile or an entry bundle, at any width the
/// published tree has.
#[handler]
pub async fn tile(log: Data<&PublishedLog>, uri: &Uri) -> poem::Result<Response> {
    let path = uri.path().trim_start_matches('/');
    let path = TilePath::parse(path).map_err(|e| ApiError::NotFound(e.to_string()))?;
    let body = log.tile(path).await.map_err(ApiError::from)?;
    Ok(Response::builder()
        .status(StatusCode::OK)
        .content_type("application/octet-stream")
        .header("cache-control", IMMUTABLE)
        .body(body))
}

/// The OpenAPI description of the tile paths (C2SP tlog-tiles).
pub fn openapi_paths() -> serde_json::Map<String, serde_json::Value> {
    let binary = |what: &str| {
        serde_json::json!({
            "description": what,
            "headers": {"Cache-Control": {"schema": {"type": "string"}, "description": "public, max-age=31536000, immutable"}},
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
        })
    };
    let not_found = serde_json::json!({
        "description": "Not a canonical tile path, or not part of the published tree.",
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    });
    let index = serde_json::json!({
        "name": "index", "in": "path", "required": true, "schema": {"type": "string"},
        "description": "The tile index in C2SP form, which spans path segments: `x001/x234/067`, \
                        and for a partial tile `067.p/<width>`."
    });
    let mut paths = serde_json::Map::new();
    paths.insert("/tile/{level}/{index}".into(), serde_json::json!({"get": {
        "operationId": "getHashTile",
        "summary": "A C2SP tlog-tiles hash tile of the latest signed tree.",
        "parameters": [{"name": "level", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 0, "maximum": 63},
            "description": "The tile level: its hashes are of tree level 8 × level."}, index],
        "responses": {"200": binary("Concatenated 32-byte hashes of tree level 8 × level."), "404": not_found}
    }}));
    paths.insert("/tile/entries/{index}".into(), serde_json::json!({"get": {
        "operationId": "getEntryBundle",
        "summary": "A C2SP tlog-tiles entry bundle: entries with big-endian uint16 length prefixes; gzip when accepted.",
        "parameters": [index],
        "responses": {"200": binary("Up to 256 entries, each prefixed by its length."), "404": not_found}
    }}));
    paths
}
