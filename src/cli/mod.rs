//! The client side of the log (SPEC section 6): `lucent verify`, a third
//! party's audit over HTTP, and `lucent submit`, a deployment's report,
//! promise and receipt. The command line in `main.rs` only parses
//! arguments and prints what these return.

pub mod http;
pub mod progress;
pub mod quorum;
pub mod submit;
pub mod verify;
