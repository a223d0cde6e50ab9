//! One report and one receipt: [`submit`] sends a report and verifies the
//! signed promise; [`check`] later fetches the receipt of a saved promise
//! and verifies that the log holds exactly the promised record, in the root
//! of its day (SPEC sections 5 and 6). [`crate::Reporter`] adds the nonce
//! file, retries, and the promises kept; `lucent submit` and `lucent submit
//! --check` are these.
//!
//! `send.rs` is the submission, `promise.rs` the promise it answers with and
//! its file; `check.rs` is the receipt's check, whose steps are the receipt
//! on its own (`receipt.rs`) and the roots it must be in (`roots.rs`).

mod check;
mod promise;
mod receipt;
mod roots;
mod send;

pub use check::{CheckError, CheckReport, check};
pub use promise::{PromiseCheckError, SavedPromise};
pub(crate) use send::submit_to;
pub use send::{ReportFields, Submission, SubmitError, SubmitOptions, Usage, submit};
