//! The typed values of the fields: each can only be made valid.

use std::fmt;

use time::Date;
use time::macros::format_description;

use super::FieldProblem;
use crate::hash::Hash;

/// The largest integer every JSON parser reads exactly: 2^53 − 1.
pub const MAX_COUNT: u64 = (1 << 53) - 1;
/// The longest pre-release part of a version (after the `-`), in bytes.
pub const MAX_PRERELEASE_LEN: usize = 20;
/// Domain separation for the deployment hash.
pub const DEPLOYMENT_PREFIX: &str = "lucent/deployment/v1:";

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

    /// SemVer precedence (2.0.0 before 10.0.0, 1.0.0-rc.1 before 1.0.0),
    /// for showing versions in order; the derived `Ord` compares the text.
    pub fn cmp_precedence(&self, other: &ProductVersion) -> std::cmp::Ordering {
        let semver = |v: &ProductVersion| semver::Version::parse(&v.0).expect("parsed when made");
        semver(self).cmp_precedence(&semver(other))
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
    pub(super) fn parse_json(raw: &str) -> Result<Count, FieldProblem> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::test_report;

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
        let report = test_report("2873e12f-8ade-4977-93c5-57d19dc95a68", "1.0.0");
        assert!(!format!("{report:?}").contains("2873e12f"));
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
