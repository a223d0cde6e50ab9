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

use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use time::Date;
use time::macros::format_description;

use crate::hash::{Hash, leaf_hash};

/// The largest integer every JSON parser reads exactly: 2^53 − 1.
pub const MAX_COUNT: u64 = (1 << 53) - 1;
/// The longest pre-release part of a version (after the `-`), in bytes.
pub const MAX_PRERELEASE_LEN: usize = 20;
/// The record format version, `schema` in every record.
pub const SCHEMA: u64 = 1;
/// Domain separation for the deployment hash.
pub const DEPLOYMENT_PREFIX: &str = "lucent/deployment/v1:";

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

/// What is wrong with a field (or, with no field, with the body as a whole).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldProblem {
    #[error("the field is missing")]
    Missing,
    #[error("the field is not part of a report")]
    Unknown,
    #[error("the field appears more than once")]
    Duplicate,
    #[error("expected {expected}")]
    WrongType { expected: &'static str },
    #[error("the value is out of range: {rule}")]
    OutOfRange { rule: &'static str },
    #[error("{0}")]
    Rule(&'static str),
}

/// Why a report body (or a stored entry) was refused. `field` names the
/// offending field; `None` means the body as a whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("the body is not a UTF-8 JSON object: {0}")]
    Body(String),
    #[error("field `{field}`: {problem}")]
    Field {
        field: String,
        problem: FieldProblem,
    },
    #[error("the entry is not in canonical form")]
    NotCanonical,
}

impl ParseError {
    /// The field the error names, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            ParseError::Field { field, .. } => Some(field),
            _ => None,
        }
    }

    fn field_problem(field: &str, problem: FieldProblem) -> ParseError {
        ParseError::Field {
            field: field.to_owned(),
            problem,
        }
    }
}

/// A deployment's secret: a version-4 UUID, kept lowercased.
#[derive(Clone, PartialEq, Eq)]
pub struct Nonce(String);

impl Nonce {
    pub fn parse(text: &str) -> Result<Nonce, FieldProblem> {
        const RULE: FieldProblem = FieldProblem::Rule(
            "a nonce is a random version-4 UUID in hyphenated form, e.g. 2873e12f-8ade-4977-93c5-57d19dc95a68",
        );
        // uuid also accepts the simple, braced and URN forms: require the
        // hyphenated one first.
        let bytes = text.as_bytes();
        let hyphens_ok = bytes.len() == 36
            && bytes
                .iter()
                .enumerate()
                .all(|(i, &b)| (b == b'-') == matches!(i, 8 | 13 | 18 | 23));
        if !hyphens_ok {
            return Err(RULE);
        }
        let uuid = uuid::Uuid::try_parse(text).map_err(|_| RULE)?;
        if uuid.is_nil() {
            return Err(FieldProblem::Rule("the nil UUID is not a nonce"));
        }
        if uuid.get_version_num() != 4 || uuid.get_variant() != uuid::Variant::RFC4122 {
            return Err(RULE);
        }
        Ok(Nonce(text.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The deployment hash that stands for this nonce in the log.
    pub fn deployment(&self) -> Deployment {
        let mut input = String::with_capacity(DEPLOYMENT_PREFIX.len() + self.0.len());
        input.push_str(DEPLOYMENT_PREFIX);
        input.push_str(&self.0);
        Deployment(Hash::sha256(input.as_bytes()))
    }
}

// A nonce is a secret: it never appears in debug output or logs.
impl fmt::Debug for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Nonce(…)")
    }
}

/// The hash that identifies a deployment in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Deployment(pub Hash);

impl fmt::Display for Deployment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// A product version: SemVer 2.0.0 without build metadata, with a short
/// pre-release. SemVer has one spelling per version, so the text is kept.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProductVersion(String);

impl ProductVersion {
    pub fn parse(text: &str) -> Result<ProductVersion, FieldProblem> {
        if text.contains('+') {
            return Err(FieldProblem::Rule(
                "build metadata (+…) is not accepted in a version",
            ));
        }
        let parsed = semver::Version::parse(text).map_err(|_| {
            FieldProblem::Rule("a version is SemVer 2.0.0 MAJOR.MINOR.PATCH[-PRERELEASE]")
        })?;
        if parsed.pre.len() > MAX_PRERELEASE_LEN {
            return Err(FieldProblem::Rule(
                "the pre-release part of a version is at most 20 bytes",
            ));
        }
        Ok(ProductVersion(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A count of events: an integer from 0 to 2^53 − 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Count(u64);

impl Count {
    pub fn new(n: u64) -> Option<Count> {
        (n <= MAX_COUNT).then_some(Count(n))
    }

    pub fn get(self) -> u64 {
        self.0
    }

    /// Parses the JSON text of a value: only a plain decimal integer is an
    /// integer (`1.0` and `1e1` are numbers, not integers).
    fn parse_json(raw: &str) -> Result<Count, FieldProblem> {
        const RULE: &str = "an integer from 0 to 2^53 − 1";
        let digits = raw.strip_prefix('-').unwrap_or(raw);
        let is_integer = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
        if !is_integer {
            return Err(FieldProblem::WrongType {
                expected: "an integer",
            });
        }
        if raw.starts_with('-') {
            return Err(FieldProblem::OutOfRange { rule: RULE });
        }
        raw.parse::<u64>()
            .ok()
            .and_then(Count::new)
            .ok_or(FieldProblem::OutOfRange { rule: RULE })
    }
}

/// A UTC calendar date, written `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(pub Date);

impl Day {
    pub fn parse(text: &str) -> Result<Day, FieldProblem> {
        let format = format_description!("[year]-[month]-[day]");
        // `time` accepts a sign and more digits in years; keep to 10 bytes.
        if text.len() != 10 {
            return Err(FieldProblem::Rule("a day is a date YYYY-MM-DD"));
        }
        Date::parse(text, format)
            .map(Day)
            .map_err(|_| FieldProblem::Rule("a day is a date YYYY-MM-DD"))
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        write!(
            f,
            "{:04}-{:02}-{:02}",
            d.year(),
            u8::from(d.month()),
            d.day()
        )
    }
}

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
struct ParsedFields {
    nonce: Option<Nonce>,
    version: Option<ProductVersion>,
    counts: Vec<Count>,
    day: Option<Day>,
    deployment: Option<Deployment>,
    prev: Option<Hash>,
}

impl ParsedFields {
    /// Parses an object that must hold exactly the fields `allowed` selects.
    fn parse(
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

    fn counts(&self) -> [Count; 3] {
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

/// An entry ready to append: its bytes, its leaf hash, and the hash of the
/// record it publishes (by which its receipt is found).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainedEntry {
    pub bytes: Vec<u8>,
    pub leaf_hash: Hash,
    pub record_hash: Hash,
}

/// Where `day` and `deployment` sit in canonical record and entry bytes,
/// which both begin `{"day":"YYYY-MM-DD","deployment":"`. Storage indexes
/// entries by these bytes.
pub const DAY_BYTES: std::ops::Range<usize> = 8..18;
pub const DEPLOYMENT_BYTES: std::ops::Range<usize> = 34..98;

/// The day and deployment of canonical record (or entry) bytes, read where
/// they sit, without parsing the rest.
pub fn day_and_deployment(bytes: &[u8]) -> Result<(Day, Deployment), ParseError> {
    let text = |range| {
        bytes
            .get(range)
            .and_then(|b| std::str::from_utf8(b).ok())
            .ok_or(ParseError::NotCanonical)
    };
    let day = Day::parse(text(DAY_BYTES)?).map_err(|_| ParseError::NotCanonical)?;
    let deployment =
        Hash::from_hex(text(DEPLOYMENT_BYTES)?).map_err(|_| ParseError::NotCanonical)?;
    Ok((day, Deployment(deployment)))
}

/// The version of canonical record (or entry) bytes, which both end
/// `,"version":"…"}`, read there without parsing the rest.
pub fn version_of(bytes: &[u8]) -> Result<ProductVersion, ParseError> {
    const KEY: &[u8] = b",\"version\":\"";
    let body = bytes.strip_suffix(b"\"}").ok_or(ParseError::NotCanonical)?;
    let at = body
        .windows(KEY.len())
        .rposition(|w| w == KEY)
        .ok_or(ParseError::NotCanonical)?;
    std::str::from_utf8(&body[at + KEY.len()..])
        .ok()
        .and_then(|text| ProductVersion::parse(text).ok())
        .ok_or(ParseError::NotCanonical)
}

/// The counts of canonical record (or entry) bytes, `[tokens_created,
/// tokens_detokenized, grants_issued]`, read where canonical bytes put
/// them (after `deployment`, and `prev` in an entry) without parsing the
/// rest.
pub fn counts_of(bytes: &[u8]) -> Result<[Count; 3], ParseError> {
    fn count(rest: &mut &[u8], key: &[u8]) -> Option<Count> {
        let value = rest.strip_prefix(key)?;
        let digits = value.iter().take_while(|b| b.is_ascii_digit()).count();
        let count = Count::parse_json(std::str::from_utf8(&value[..digits]).ok()?).ok()?;
        *rest = &value[digits..];
        Some(count)
    }
    let read = || {
        let mut rest = bytes.get(DEPLOYMENT_BYTES.end..)?;
        let grants = count(&mut rest, b"\",\"grants_issued\":")?;
        if let Some(after_prev) = rest.strip_prefix(b",\"prev\":\"") {
            rest = after_prev.get(65..)?;
        }
        let created = count(&mut rest, b",\"schema\":1,\"tokens_created\":")?;
        let detokenized = count(&mut rest, b",\"tokens_detokenized\":")?;
        Some([created, detokenized, grants])
    };
    read().ok_or(ParseError::NotCanonical)
}

/// Publishes one period's records, given as the bytes [`Record::to_bytes`]
/// made: orders them by `deployment` (so the log says nothing of arrival
/// order) and chains each to the one before, starting from `prev`, the leaf
/// hash of the log's last entry (zero for an empty log).
///
/// An entry is its record with `"prev":"…",` spliced in before `"schema"`,
/// the next key in sorted order; this is byte for byte what
/// [`Entry::to_bytes`] gives, without parsing a million records again.
pub fn chain_records(
    prev: Hash,
    mut records: Vec<Vec<u8>>,
) -> Result<Vec<ChainedEntry>, ParseError> {
    // A deployment reports once a day, so (deployment, day) orders fully.
    records.sort_unstable_by(|a, b| {
        (a.get(DEPLOYMENT_BYTES), a.get(DAY_BYTES))
            .cmp(&(b.get(DEPLOYMENT_BYTES), b.get(DAY_BYTES)))
    });
    let mut prev = prev;
    records
        .into_iter()
        .map(|record| {
            let bytes = splice_prev(&record, &prev)?;
            let leaf_hash = leaf_hash(&bytes);
            prev = leaf_hash;
            Ok(ChainedEntry {
                bytes,
                leaf_hash,
                record_hash: record_hash(&record),
            })
        })
        .collect()
}

fn splice_prev(record: &[u8], prev: &Hash) -> Result<Vec<u8>, ParseError> {
    const SCHEMA: &[u8] = b",\"schema\":1,";
    let canonical_start =
        record.starts_with(b"{\"day\":\"") && record.get(18..34) == Some(b"\",\"deployment\":\"");
    let at = record
        .windows(SCHEMA.len())
        .position(|w| w == SCHEMA)
        .filter(|_| canonical_start);
    let at = at.ok_or(ParseError::NotCanonical)?;
    let mut entry = Vec::with_capacity(record.len() + 76);
    entry.extend_from_slice(&record[..at]);
    entry.extend_from_slice(b",\"prev\":\"");
    entry.extend_from_slice(prev.to_hex().as_bytes());
    entry.push(b'"');
    entry.extend_from_slice(&record[at..]);
    Ok(entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(nonce: &str, version: &str) -> String {
        format!(
            r#"{{"nonce":"{nonce}","version":"{version}","tokens_created":1,"tokens_detokenized":2,"grants_issued":3}}"#
        )
    }

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

    #[test]
    fn count_json_forms() {
        assert_eq!(Count::parse_json("0"), Ok(Count(0)));
        assert_eq!(Count::parse_json("9007199254740991"), Ok(Count(MAX_COUNT)));
        assert!(matches!(
            Count::parse_json("9007199254740992"),
            Err(FieldProblem::OutOfRange { .. })
        ));
        assert!(matches!(
            Count::parse_json("99999999999999999999999"),
            Err(FieldProblem::OutOfRange { .. })
        ));
        assert!(matches!(
            Count::parse_json("-0"),
            Err(FieldProblem::OutOfRange { .. })
        ));
        for wrong in ["1.0", "1e1", "\"1\"", "true", "null", "[]", "{}"] {
            assert!(
                matches!(
                    Count::parse_json(wrong),
                    Err(FieldProblem::WrongType { .. })
                ),
                "{wrong}"
            );
        }
    }

    #[test]
    fn nonce_is_never_printed() {
        let report =
            Report::parse(body("2873e12f-8ade-4977-93c5-57d19dc95a68", "1.0.0").as_bytes())
                .unwrap();
        assert!(!format!("{report:?}").contains("2873e12f"));
    }

    #[test]
    fn entry_round_trip_and_canonical_check() {
        let report =
            Report::parse(body("2873e12f-8ade-4977-93c5-57d19dc95a68", "1.0.0-rc.1").as_bytes())
                .unwrap();
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

    #[test]
    fn chaining_splices_prev_exactly_as_entries_are_written() {
        let records: Vec<Record> = [
            "2873e12f-8ade-4977-93c5-57d19dc95a68",
            "b034656f-cb2b-44c1-86e2-e6b60e87a2b1",
        ]
        .iter()
        .map(|nonce| {
            let report = Report::parse(body(nonce, "2.0.0-rc.1").as_bytes()).unwrap();
            report.to_record(Day::parse("2026-11-27").unwrap())
        })
        .collect();
        let chained = chain_records(
            Hash([3; 32]),
            records.iter().map(Record::to_bytes).collect(),
        )
        .unwrap();
        let mut prev = Hash([3; 32]);
        let mut sorted = records.clone();
        sorted.sort_by_key(|r| r.deployment);
        for (entry, record) in chained.iter().zip(sorted) {
            assert_eq!(
                entry.bytes,
                Entry {
                    record: record.clone(),
                    prev
                }
                .to_bytes()
            );
            assert_eq!(entry.record_hash, record_hash(&record.to_bytes()));
            assert_eq!(
                day_and_deployment(&entry.bytes),
                Ok((record.day, record.deployment))
            );
            assert_eq!(
                day_and_deployment(&record.to_bytes()),
                Ok((record.day, record.deployment))
            );
            assert_eq!(version_of(&entry.bytes), Ok(record.version.clone()));
            let counts = [
                record.tokens_created,
                record.tokens_detokenized,
                record.grants_issued,
            ];
            assert_eq!(counts_of(&entry.bytes), Ok(counts));
            assert_eq!(counts_of(&record.to_bytes()), Ok(counts));
            assert_eq!(version_of(&record.to_bytes()), Ok(record.version.clone()));
            prev = entry.leaf_hash;
        }
        assert_eq!(
            chain_records(Hash::ZERO, vec![b"{}".to_vec()]),
            Err(ParseError::NotCanonical)
        );
        assert_eq!(day_and_deployment(b"{}"), Err(ParseError::NotCanonical));
        for bad in [
            &b"{}"[..],
            b"{\"version\":\"1.0.0\"}",
            b",\"version\":\"1.0\"}",
        ] {
            assert_eq!(version_of(bad), Err(ParseError::NotCanonical));
            assert_eq!(counts_of(bad), Err(ParseError::NotCanonical));
        }
    }

    #[test]
    fn day_is_strict() {
        assert_eq!(Day::parse("2026-02-28").unwrap().to_string(), "2026-02-28");
        for bad in [
            "2026-2-28",
            "2026-02-30",
            "+2026-02-28",
            "20260228",
            " 2026-02-28",
        ] {
            assert!(Day::parse(bad).is_err(), "{bad}");
        }
    }
}
