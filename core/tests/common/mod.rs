//! Shared helpers for the known-answer tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// `shared/testvectors/`, which lies beside the repository (override with
/// `LUCENT_TESTVECTORS`).
pub fn vectors_dir() -> PathBuf {
    match std::env::var_os("LUCENT_TESTVECTORS") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/testvectors"),
    }
}

/// Reads and parses one vector file, by its path under `testvectors/`.
pub fn load(rel: &str) -> serde_json::Value {
    let path = vectors_dir().join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
