//! The JSON reader of report bodies and stored records and entries: it
//! checks each object's keys against [`FIELDS`] and parses each value by its
//! [`FieldKind`], so the error names the first field at fault.

use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::{
    Count, Day, Deployment, FIELDS, FieldDef, FieldKind, FieldProblem, Nonce, ParseError,
    ProductVersion, Report, SCHEMA, field,
};
use crate::hash::Hash;

/// The fields of a JSON object in body order, duplicates kept.
struct RawObject<'a>(Vec<(String, &'a RawValue)>);

impl<'de> serde::Deserialize<'de> for RawObject<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;
        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = RawObject<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut pairs = Vec::new();
                while let Some(pair) = map.next_entry::<String, &'de RawValue>()? {
                    pairs.push(pair);
                }
                Ok(RawObject(pairs))
            }
        }
        deserializer.deserialize_map(ObjectVisitor)
    }
}

impl<'a> RawObject<'a> {
    fn parse(body: &'a [u8]) -> Result<RawObject<'a>, ParseError> {
        let text = std::str::from_utf8(body)
            .map_err(|_| ParseError::Body("the body is not UTF-8".into()))?;
        serde_json::from_str(text).map_err(|e| ParseError::Body(e.to_string()))
    }

    /// Checks names against the scopes allowed, refusing unknown and
    /// duplicate keys, and returns each allowed field's raw value (if
    /// present) in [`FIELDS`] order.
    fn fields(
        &self,
        allowed: impl Fn(&FieldDef) -> bool,
    ) -> Result<Vec<(&'static FieldDef, Option<&'a str>)>, ParseError> {
        for (i, (name, _)) in self.0.iter().enumerate() {
            if !field(name).is_some_and(&allowed) {
                return Err(ParseError::field_problem(name, FieldProblem::Unknown));
            }
            if self.0[..i].iter().any(|(earlier, _)| earlier == name) {
                return Err(ParseError::field_problem(name, FieldProblem::Duplicate));
            }
        }
        Ok(FIELDS
            .iter()
            .filter(|def| allowed(def))
            .map(|def| {
                (
                    def,
                    self.0
                        .iter()
                        .find(|(name, _)| name == def.name)
                        .map(|(_, raw)| raw.get()),
                )
            })
            .collect())
    }
}

/// The fields of one object, each parsed by its [`FieldKind`]. Counts are
/// kept in [`FIELDS`] order.
#[derive(Default)]
pub(super) struct ParsedFields {
    nonce: Option<Nonce>,
    pub(super) version: Option<ProductVersion>,
    counts: Vec<Count>,
    pub(super) day: Option<Day>,
    pub(super) deployment: Option<Deployment>,
    pub(super) prev: Option<Hash>,
}

impl ParsedFields {
    /// Parses an object that must hold exactly the fields `allowed` selects.
    pub(super) fn parse(
        bytes: &[u8],
        allowed: impl Fn(&FieldDef) -> bool,
    ) -> Result<ParsedFields, ParseError> {
        let object = RawObject::parse(bytes)?;
        let mut parsed = ParsedFields::default();
        // Fields are checked in table order, so the error names the first
        // field at fault, whether it is missing or wrong.
        for (def, raw) in object.fields(allowed)? {
            let raw = raw.ok_or(FieldProblem::Missing);
            raw.and_then(|raw| parsed.set(def, raw))
                .map_err(|problem| ParseError::field_problem(def.name, problem))?;
        }
        Ok(parsed)
    }

    fn set(&mut self, def: &FieldDef, raw: &str) -> Result<(), FieldProblem> {
        match def.kind {
            FieldKind::Nonce => self.nonce = Some(Nonce::parse(&parse_json_string(raw)?)?),
            FieldKind::Version => {
                self.version = Some(ProductVersion::parse(&parse_json_string(raw)?)?)
            }
            FieldKind::Count => self.counts.push(Count::parse_json(raw)?),
            FieldKind::Schema => {
                if Count::parse_json(raw)?.get() != SCHEMA {
                    return Err(FieldProblem::Rule("only schema 1 is known"));
                }
            }
            FieldKind::Day => self.day = Some(Day::parse(&parse_json_string(raw)?)?),
            FieldKind::Deployment => self.deployment = Some(Deployment(parse_hex_hash(raw)?)),
            FieldKind::Prev => self.prev = Some(parse_hex_hash(raw)?),
        }
        Ok(())
    }

    pub(super) fn counts(&self) -> [Count; 3] {
        self.counts[..]
            .try_into()
            .expect("FIELDS has three count fields")
    }
}

fn parse_hex_hash(raw: &str) -> Result<Hash, FieldProblem> {
    Hash::from_hex(&parse_json_string(raw)?)
        .map_err(|_| FieldProblem::Rule("a hash is 64 lowercase hex digits"))
}

fn parse_json_string(raw: &str) -> Result<String, FieldProblem> {
    if !raw.starts_with('"') {
        return Err(FieldProblem::WrongType {
            expected: "a string",
        });
    }
    serde_json::from_str(raw).map_err(|_| FieldProblem::WrongType {
        expected: "a string",
    })
}

impl Report {
    /// Parses a report body: exactly the report fields, each once, each
    /// valid. The error names the first offending field.
    pub fn parse(body: &[u8]) -> Result<Report, ParseError> {
        let fields = ParsedFields::parse(body, FieldDef::is_sent)?;
        let [tokens_created, tokens_detokenized, grants_issued] = fields.counts();
        Ok(Report {
            nonce: fields.nonce.expect("nonce is a sent field"),
            version: fields.version.expect("version is a sent field"),
            tokens_created,
            tokens_detokenized,
            grants_issued,
        })
    }
}
