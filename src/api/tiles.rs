//! C2SP tlog-tiles over the latest signed root: `/checkpoint`, hash tiles
//! and entry bundles. Tiles never change once served at a width, so they
//! are cached as immutable; the checkpoint changes with each root.

use std::sync::Arc;

use poem::http::StatusCode;
use poem::http::Uri;
use poem::web::Data;
use poem::{Response, handler};

use lucent_core::tiles::{TILE_WIDTH, TilePath, encode_entry_bundle, tile_width_at};

use super::AppState;
use super::problem::ApiError;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

fn published_size(root: &Option<crate::storage::RootRow>) -> u64 {
    root.as_ref().map_or(0, |r| r.size as u64)
}

/// `GET /checkpoint`: the latest signed root.
#[handler]
pub async fn checkpoint(state: Data<&Arc<AppState>>) -> poem::Result<Response> {
    let root = state.read.latest_root().await.map_err(ApiError::from)?;
    let root = root.ok_or_else(|| ApiError::NotFound("no root has been signed yet".into()))?;
    Ok(Response::builder()
        .content_type("text/plain; charset=utf-8")
        .header("cache-control", "public, max-age=10")
        .body(root.checkpoint))
}

/// `GET /tile/...`: a hash tile or an entry bundle, at any width the
/// published tree has.
#[handler]
pub async fn tile(state: Data<&Arc<AppState>>, uri: &Uri) -> poem::Result<Response> {
    let path = uri.path().trim_start_matches('/');
    let path = TilePath::parse(path).map_err(|e| ApiError::NotFound(e.to_string()))?;
    let root = state.read.latest_root().await.map_err(ApiError::from)?;
    let size = published_size(&root);
    let not_published = || {
        ApiError::NotFound(format!(
            "{path} is not part of the published tree (size {size})"
        ))
    };
    let body = match path {
        TilePath::Hash {
            level,
            index,
            width,
        } => {
            if width > tile_width_at(level, index, size) {
                return Err(not_published().into());
            }
            let stored = state
                .read
                .tile(level, index)
                .await
                .map_err(ApiError::from)?;
            let mut bytes = stored.ok_or_else(not_published)?;
            bytes.truncate(usize::from(width) * 32);
            bytes
        }
        TilePath::Entries { index, width } => {
            let start = index
                .checked_mul(u64::from(TILE_WIDTH))
                .ok_or_else(not_published)?;
            let end = start + u64::from(width);
            if end > size {
                return Err(not_published().into());
            }
            let entries = state
                .read
                .entries(start, end)
                .await
                .map_err(ApiError::from)?;
            if entries.len() as u64 != end - start {
                return Err(ApiError::Internal.into());
            }
            encode_entry_bundle(entries.iter().map(|e| &e.entry)).map_err(|_| ApiError::Internal)?
        }
    };
    Ok(Response::builder()
        .status(StatusCode::OK)
        .content_type("application/octet-stream")
        .header("cache-control", IMMUTABLE)
        .body(body))
}
