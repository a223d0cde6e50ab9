//! What a deployment embeds to report to a lucent log (SPEC sections 4–6).
//!
//! A [`Reporter`] sends the deployment's daily report, with retries and a
//! random delay, verifies the signed promise against the log's pinned
//! verifier key, keeps it in its state directory, and later checks the
//! receipt of every kept promise. Its parts are public too: [`submit`]
//! sends one report and checks one receipt, [`http::LogClient`] reads a
//! log's endpoints with a bound on every answer.
//!
//! It depends on the core (`lucent-core`), the wire types (`lucent-wire`)
//! and an HTTP client, never on the server.

pub mod http;
pub mod outbound;
pub mod quorum;
mod reporter;
pub mod retry;
pub mod state;
pub mod submit;

pub use quorum::WitnessQuorum;
pub use reporter::{Reported, Reporter, ReporterBuilder, ReporterError};
pub use retry::{RetryPolicy, Sleeper, TokioSleeper};
pub use state::{ReceiptCheck, StateDir, StateError};
pub use submit::{CheckError, CheckReport, SavedPromise, Submission, SubmitError, Usage};

pub use lucent_core as core;
pub use lucent_wire as wire;
