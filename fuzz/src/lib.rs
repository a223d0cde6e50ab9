//! Fixed keys shared by the fuzz targets. They come from
//! `shared/testvectors/` so that the seed inputs name known keys and the
//! fuzzer reaches the signature-checking paths.

use std::sync::OnceLock;

use lucent_core::note::{SigningKey, VerifierKey};

/// The log key of `testvectors/lucent/log.json`.
pub const LOG_VERIFIER_KEY: &str =
    "vectors.example/lucent+6306abdd+AfuXn8KiErIYM+1IUvKDKZsQ8cblwHJjIruRyXULRAtI";

/// The verifier key of the lucent test-vector log.
pub fn log_key() -> &'static VerifierKey {
    static KEY: OnceLock<VerifierKey> = OnceLock::new();
    KEY.get_or_init(|| VerifierKey::parse(LOG_VERIFIER_KEY).expect("a valid verifier key"))
}

/// Known keys for `Note::open`: the log key, two keys of the signed-note
/// vectors (golang/mod and C2SP), and a tlog-cosignature (type 0x04) key.
pub fn note_keys() -> &'static [VerifierKey] {
    static KEYS: OnceLock<Vec<VerifierKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let peter = VerifierKey::parse(
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        )
        .expect("a valid verifier key");
        let example = VerifierKey::parse(
            "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        )
        .expect("a valid verifier key");
        vec![
            log_key().clone(),
            peter.to_cosignature_key(),
            peter,
            example,
        ]
    })
}

/// A signing key with a fixed seed, for round trips through signing.
pub fn signer() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| {
        SigningKey::from_seed("fuzz.example/signer", &[42; 32]).expect("a valid name")
    })
}

/// The 32-byte seed used when a target signs with a key named after its
/// input (a checkpoint's or promise's origin).
pub const SEED: [u8; 32] = [7; 32];
