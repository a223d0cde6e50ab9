//! What the API and the pages share of HTTP: errors as RFC 9457 problems,
//! and the log's values as the wire types of SPEC section 5.

pub mod answers;
pub mod problem;
