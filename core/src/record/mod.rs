//! Reports, records and entries (SPEC sections 1 and 2).
//!
//! One table, [`FIELDS`], defines every field a deployment sends or the log
//! stores: its JSON type, its rule, its purpose and an example. Validation,
//! record building, the OpenAPI descriptions and the transparency page all
//! read it, so what the page says is what the code does.
//!
//! Records and entries are produced as RFC 8785 canonical JSON by hand from
//! typed values (never by re-serialising a parsed `serde_json::Value`), and
//! an entry is parsed back by re-encoding it and comparing bytes, so a byte
//! that is not canonical is caught.
//!
//! The parts: `fields` is the table, `values` the typed field values,
//! `json` the reader of report (and stored) JSON, `canonical` the writer
//! of record and entry bytes, `layout` where canonical bytes put each field
//! and the fast readers that read it there, `chain` the publication of a
//! period's records as chained entries.

mod canonical;
mod chain;
mod errors;
mod fields;
mod json;
mod layout;
mod values;

pub use canonical::record_hash;
pub use chain::{ChainedEntry, chain_records};
pub use errors::{FieldProblem, ParseError};
pub use fields::{FIELDS, FieldDef, FieldKind, FieldScope, example_entry, example_report, field};
pub use layout::{DAY_BYTES, DEPLOYMENT_BYTES, counts_of, day_and_deployment, version_of};
pub use values::{
    Count, DEPLOYMENT_PREFIX, Day, Deployment, MAX_COUNT, MAX_PRERELEASE_LEN, Nonce, ProductVersion,
};

use crate::hash::Hash;

/// The record format version, `schema` in every record.
pub const SCHEMA: u64 = 1;

/// A valid report, as a deployment sends it. It can only be made by
/// [`Report::parse`] (or from valid parts), so holding one means it is valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub nonce: Nonce,
    pub version: ProductVersion,
    pub tokens_created: Count,
    pub tokens_detokenized: Count,
    pub grants_issued: Count,
}

impl Report {
    /// The record the server stores for this report, accepted on `day`.
    pub fn to_record(&self, day: Day) -> Record {
        Record {
            day,
            deployment: self.nonce.deployment(),
            version: self.version.clone(),
            tokens_created: self.tokens_created,
            tokens_detokenized: self.tokens_detokenized,
            grants_issued: self.grants_issued,
        }
    }
}

/// What the server stores for a report until it is published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub day: Day,
    pub deployment: Deployment,
    pub version: ProductVersion,
    pub tokens_created: Count,
    pub tokens_detokenized: Count,
    pub grants_issued: Count,
}

/// A published record: the record and the leaf hash of the entry before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub record: Record,
    pub prev: Hash,
}

/// A valid report with `nonce` and `version` and the counts 1, 2 and 3, for
/// the tests of every part.
#[cfg(test)]
fn test_report(nonce: &str, version: &str) -> Report {
    let body = format!(
        r#"{{"nonce":"{nonce}","version":"{version}","tokens_created":1,"tokens_detokenized":2,"grants_issued":3}}"#
    );
    Report::parse(body.as_bytes()).expect("the test report is valid")
}
