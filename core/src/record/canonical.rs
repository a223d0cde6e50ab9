//! The canonical form (RFC 8785) of records and entries, written by hand
//! from typed values, and parsed back by writing it again and comparing.

use super::json::ParsedFields;
use super::{Entry, FieldDef, FieldScope, ParseError, Record, SCHEMA};
use crate::hash::Hash;

/// Writes RFC 8785 canonical JSON for an object whose values are strings of
/// printable ASCII without `"` or `\` (all ours are validated to be) or
/// non-negative integers. Keys must come sorted.
struct CanonicalObject(Vec<u8>);

impl CanonicalObject {
    fn new() -> Self {
        CanonicalObject(Vec::with_capacity(320))
    }

    fn key(&mut self, key: &str) {
        self.0.push(if self.0.is_empty() { b'{' } else { b',' });
        self.0.push(b'"');
        self.0.extend_from_slice(key.as_bytes());
        self.0.extend_from_slice(b"\":");
    }

    fn string(&mut self, key: &str, value: &str) {
        debug_assert!(
            value
                .bytes()
                .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
        );
        self.key(key);
        self.0.push(b'"');
        self.0.extend_from_slice(value.as_bytes());
        self.0.push(b'"');
    }

    fn integer(&mut self, key: &str, value: u64) {
        self.key(key);
        self.0.extend_from_slice(value.to_string().as_bytes());
    }

    fn finish(mut self) -> Vec<u8> {
        self.0.push(b'}');
        self.0
    }
}

impl Record {
    /// The canonical JSON of the record, or of the entry when `prev` is given
    /// (keys in sorted order, which puts `prev` between the counts).
    fn canonical(&self, prev: Option<&Hash>) -> Vec<u8> {
        let mut out = CanonicalObject::new();
        out.string("day", &self.day.to_string());
        out.string("deployment", &self.deployment.to_string());
        out.integer("grants_issued", self.grants_issued.get());
        if let Some(prev) = prev {
            out.string("prev", &prev.to_hex());
        }
        out.integer("schema", SCHEMA);
        out.integer("tokens_created", self.tokens_created.get());
        out.integer("tokens_detokenized", self.tokens_detokenized.get());
        out.string("version", self.version.as_str());
        out.finish()
    }

    /// The record bytes, as stored, promised and served.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.canonical(None)
    }

    /// Parses record bytes back, requiring them to be canonical.
    pub fn parse(bytes: &[u8]) -> Result<Record, ParseError> {
        let (record, prev) = parse_stored(bytes, |def| {
            matches!(def.scope, FieldScope::SentAndStored | FieldScope::Record)
        })?;
        debug_assert!(prev.is_none());
        Ok(record)
    }
}

/// `record_hash`: SHA-256 of the record bytes.
pub fn record_hash(record_bytes: &[u8]) -> Hash {
    Hash::sha256(record_bytes)
}

impl Entry {
    /// The entry bytes: the record with `prev`, canonical.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.record.canonical(Some(&self.prev))
    }

    /// Parses entry bytes back with every rule of SPEC section 2 checked:
    /// exactly the entry fields, each valid, schema 1, canonical bytes.
    pub fn parse(bytes: &[u8]) -> Result<Entry, ParseError> {
        let (record, prev) = parse_stored(bytes, FieldDef::is_stored)?;
        Ok(Entry {
            record,
            prev: prev.expect("prev is an entry field"),
        })
    }
}

fn parse_stored(
    bytes: &[u8],
    allowed: impl Fn(&FieldDef) -> bool,
) -> Result<(Record, Option<Hash>), ParseError> {
    let fields = ParsedFields::parse(bytes, allowed)?;
    let [tokens_created, tokens_detokenized, grants_issued] = fields.counts();
    let record = Record {
        day: fields.day.expect("day is a stored field"),
        deployment: fields.deployment.expect("deployment is a stored field"),
        version: fields.version.expect("version is a stored field"),
        tokens_created,
        tokens_detokenized,
        grants_issued,
    };
    if record.canonical(fields.prev.as_ref()) != bytes {
        return Err(ParseError::NotCanonical);
    }
    Ok((record, fields.prev))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Day, test_report};

    #[test]
    fn entry_round_trip_and_canonical_check() {
        let report = test_report("2873e12f-8ade-4977-93c5-57d19dc95a68", "1.0.0-rc.1");
        let record = report.to_record(Day::parse("2026-11-27").unwrap());
        assert_eq!(Record::parse(&record.to_bytes()), Ok(record.clone()));
        let entry = Entry {
            record,
            prev: Hash([7; 32]),
        };
        let bytes = entry.to_bytes();
        assert_eq!(Entry::parse(&bytes), Ok(entry));
        let spaced = String::from_utf8(bytes.clone())
            .unwrap()
            .replacen(',', ", ", 1);
        assert_eq!(
            Entry::parse(spaced.as_bytes()),
            Err(ParseError::NotCanonical)
        );
        // A record is not an entry, and an entry is not a record.
        assert!(Record::parse(&bytes).is_err());
    }
}
