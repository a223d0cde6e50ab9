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

/// A string field of a vector, or a panic naming it.
pub fn str_of<'a>(value: &'a serde_json::Value, field: &str) -> &'a str {
    value[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} is not a string in {value}"))
}

/// An array field of a vector, or a panic naming it.
pub fn array_of<'a>(value: &'a serde_json::Value, field: &str) -> &'a Vec<serde_json::Value> {
    value[field]
        .as_array()
        .unwrap_or_else(|| panic!("{field} is not an array in {value}"))
}
