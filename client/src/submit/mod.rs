//! `lucent submit`: sends a report, verifies the signed promise and saves
//! it; `lucent submit --check` later fetches the receipt and verifies that
//! the log holds exactly the promised record, in the root of its day
//! (SPEC sections 5 and 6).
//!
//! `send.rs` is the submission, `promise.rs` the promise it answers with and
//! its file; `check.rs` is `--check`, whose steps are the receipt on its own
//! (`receipt.rs`) and the roots it must be in (`roots.rs`).

mod check;
mod promise;
mod receipt;
mod roots;
mod send;

pub use check::{CheckError, CheckReport, check};
pub use promise::{PromiseCheckError, SavedPromise};
pub use send::{ReportFields, Submission, SubmitError, SubmitOptions, submit};
