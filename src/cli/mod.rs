//! The client side of the log (SPEC section 6): `lucent verify`, a third
//! party's audit over HTTP. `lucent submit`, a deployment's report, promise
//! and receipt, is the `lucent-client` crate, which a deployment embeds
//! without this server; `verify` reads the log with its HTTP client. The
//! command line in `main.rs` only parses arguments and prints what these
//! return.

pub mod progress;
pub mod verify;

/// The exit code of `lucent submit --check` while the record is pending.
pub const PENDING_EXIT_CODE: i32 = 3;
