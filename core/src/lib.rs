//! The transparency-log core of lucent: pure functions and types, no I/O, no
//! async, no SQL. Everything that reaches the outside world as bytes (hashes,
//! proofs, tiles, signed notes, checkpoints, tlog-proofs, records, entries) is
//! produced and parsed here, and tested against `shared/testvectors/`. So are
//! the witness protocol's requests, checks and answers ([`witness`]).

pub mod checkpoint;
pub mod hash;
pub mod merkle;
pub mod note;
pub mod period;
pub mod promise;
pub mod quorum;
pub mod record;
pub mod stats;
pub mod tiles;
pub mod tlog_proof;
pub mod witness;

pub use hash::Hash;
