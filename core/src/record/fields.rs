//! The one field table, [`FIELDS`], and the examples drawn from it.

use super::{Day, Entry, Report};
use crate::hash::Hash;

/// What a field holds, which decides how it is parsed and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Nonce,
    Version,
    Count,
    Day,
    Deployment,
    Schema,
    Prev,
}

/// Where a field lives: sent by a deployment, stored in the log, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldScope {
    /// Sent in the report and never stored (only its hash is).
    SentOnly,
    /// Sent in the report and copied into the record.
    SentAndStored,
    /// Added to the record by the server.
    Record,
    /// Added when the record is published as an entry.
    Entry,
}

/// One field of the report, the record or the entry.
#[derive(Debug, Clone, Copy)]
pub struct FieldDef {
    pub name: &'static str,
    pub kind: FieldKind,
    pub scope: FieldScope,
    /// The JSON type, as OpenAPI names it.
    pub json_type: &'static str,
    pub rule: &'static str,
    pub purpose: &'static str,
    pub example: &'static str,
}

impl FieldDef {
    pub fn is_sent(&self) -> bool {
        matches!(self.scope, FieldScope::SentOnly | FieldScope::SentAndStored)
    }

    pub fn is_stored(&self) -> bool {
        !matches!(self.scope, FieldScope::SentOnly)
    }
}

/// Every field, in the order a reader meets them: the report first, then
/// what the server adds.
pub const FIELDS: &[FieldDef] = &[
    FieldDef {
        name: "nonce",
        kind: FieldKind::Nonce,
        scope: FieldScope::SentOnly,
        json_type: "string",
        rule: "a random version-4 UUID in hyphenated form (any case; the nil UUID is refused)",
        purpose: "made once by each deployment and kept secret; only its hash (deployment) is stored, so \
                  reading the log does not let anyone report as that deployment",
        example: "786eb80c-4a1d-4e4f-9616-6211415c727c",
    },
    FieldDef {
        name: "version",
        kind: FieldKind::Version,
        scope: FieldScope::SentAndStored,
        json_type: "string",
        rule: "SemVer 2.0.0 MAJOR.MINOR.PATCH with an optional pre-release of at most 20 bytes; \
               build metadata (+…) is refused",
        purpose: "which releases are in use, so that old ones can be retired",
        example: "1.4.2",
    },
    FieldDef {
        name: "tokens_created",
        kind: FieldKind::Count,
        scope: FieldScope::SentAndStored,
        json_type: "integer",
        rule: "an integer from 0 to 2^53 − 1",
        purpose: "tokens created by the deployment in the last 24 hours",
        example: "120",
    },
    FieldDef {
        name: "tokens_detokenized",
        kind: FieldKind::Count,
        scope: FieldScope::SentAndStored,
        json_type: "integer",
        rule: "an integer from 0 to 2^53 − 1",
        purpose: "tokens turned back into their values in the last 24 hours",
        example: "45",
    },
    FieldDef {
        name: "grants_issued",
        kind: FieldKind::Count,
        scope: FieldScope::SentAndStored,
        json_type: "integer",
        rule: "an integer from 0 to 2^53 − 1",
        purpose: "access grants issued in the last 24 hours",
        example: "3",
    },
    FieldDef {
        name: "day",
        kind: FieldKind::Day,
        scope: FieldScope::Record,
        json_type: "string",
        rule: "the UTC date (YYYY-MM-DD) on which the server accepted the report",
        purpose: "one report per deployment per day; no finer time is kept",
        example: "2026-11-24",
    },
    FieldDef {
        name: "deployment",
        kind: FieldKind::Deployment,
        scope: FieldScope::Record,
        json_type: "string",
        rule: "lowercase hex SHA-256 of \"lucent/deployment/v1:\" followed by the lowercased nonce",
        purpose: "links one deployment's reports across days without storing its nonce",
        example: "01a302c3052641254409ee48686c9a724d8982259d36685f14b16fef7ebf9f22",
    },
    FieldDef {
        name: "schema",
        kind: FieldKind::Schema,
        scope: FieldScope::Record,
        json_type: "integer",
        rule: "1",
        purpose: "the record format version, so that readers know how to read it",
        example: "1",
    },
    FieldDef {
        name: "prev",
        kind: FieldKind::Prev,
        scope: FieldScope::Entry,
        json_type: "string",
        rule: "lowercase hex leaf hash of the entry before this one; 64 zeros for entry 0",
        purpose: "the hash chain: every entry names its predecessor",
        example: "0000000000000000000000000000000000000000000000000000000000000000",
    },
];

/// The definition of a field by name.
pub fn field(name: &str) -> Option<&'static FieldDef> {
    FIELDS.iter().find(|f| f.name == name)
}

/// The examples of [`FIELDS`] as one report body: the sent fields, in
/// table order.
pub fn example_report() -> String {
    let members: Vec<String> = FIELDS
        .iter()
        .filter(|f| f.is_sent())
        .map(|f| {
            let value = match f.json_type {
                "string" => serde_json::to_string(f.example).expect("a string serializes"),
                _ => f.example.to_owned(),
            };
            format!("\"{}\":{value}", f.name)
        })
        .collect();
    format!("{{{}}}", members.join(","))
}

/// The entry [`example_report`] becomes, on the example `day`, after the
/// example `prev`: the examples of every stored field, consistent.
pub fn example_entry() -> Entry {
    let example = |name| field(name).expect("a field of FIELDS").example;
    let report =
        Report::parse(example_report().as_bytes()).expect("the examples make a valid report");
    Entry {
        record: report.to_record(Day::parse(example("day")).expect("the example day is valid")),
        prev: Hash::from_hex(example("prev")).expect("the example prev is a hash"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Entry;

    #[test]
    fn every_sent_field_is_parsed_in_table_order() {
        let sent: Vec<_> = FIELDS
            .iter()
            .filter(|f| f.is_sent())
            .map(|f| f.name)
            .collect();
        assert_eq!(
            sent,
            [
                "nonce",
                "version",
                "tokens_created",
                "tokens_detokenized",
                "grants_issued"
            ]
        );
    }

    #[test]
    fn the_examples_make_one_consistent_entry() {
        let entry = example_entry();
        let bytes = String::from_utf8(entry.to_bytes()).unwrap();
        for def in FIELDS.iter().filter(|f| f.is_stored()) {
            let value = match def.json_type {
                "string" => format!("\"{}\"", def.example),
                _ => def.example.to_owned(),
            };
            assert!(
                bytes.contains(&format!("\"{}\":{value}", def.name)),
                "{} in {bytes}",
                def.name
            );
        }
        assert_eq!(Entry::parse(bytes.as_bytes()), Ok(entry));
    }
}
