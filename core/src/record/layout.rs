//! Where canonical bytes put each field, and the fast readers that read a
//! field there without parsing the rest: storage and the stats read every
//! entry of a window, and publication every record of a period.
//!
//! Canonical keys come in sorted order and the first two values have fixed
//! widths, so a record and an entry both begin
//! `{"day":"YYYY-MM-DD","deployment":"<64 hex>","grants_issued":`; an entry
//! then has `,"prev":"<64 hex>"` before `,"schema":1,`, and both end
//! `,"version":"…"}`. The offsets below are built from these pieces, and a
//! test walks bytes the canonical writer made through every one of them.

use std::ops::Range;

use super::{Count, Day, Deployment, ParseError, ProductVersion};
use crate::hash::Hash;

/// Lowercase hex of a SHA-256 hash, as `deployment` and `prev` hold it.
const HASH_HEX_LEN: usize = 64;
/// A day, `YYYY-MM-DD`.
const DAY_LEN: usize = "YYYY-MM-DD".len();

/// What canonical bytes open with: the object and its first key, `day`.
pub(super) const DAY_KEY: &[u8] = b"{\"day\":\"";
/// What closes the day and opens the next key, `deployment`.
pub(super) const DEPLOYMENT_KEY: &[u8] = b"\",\"deployment\":\"";
/// What closes the deployment and opens the next key, `grants_issued`.
const GRANTS_KEY: &[u8] = b"\",\"grants_issued\":";
/// An entry's `prev` key, which sorts after `grants_issued`.
pub(super) const PREV_KEY: &[u8] = b",\"prev\":\"";
/// `prev`'s value and its closing quote.
const PREV_VALUE_LEN: usize = HASH_HEX_LEN + 1;
/// All an entry adds to its record: `,"prev":"<64 hex>"`.
pub(super) const PREV_MEMBER_LEN: usize = PREV_KEY.len() + PREV_VALUE_LEN;
/// `schema`, always 1, between the member before and the key after: an
/// entry's `prev` goes right before it.
pub(super) const SCHEMA_MEMBER: &[u8] = b",\"schema\":1,";
/// `schema` and the key after it, `tokens_created`.
const SCHEMA_AND_CREATED_KEY: &[u8] = b",\"schema\":1,\"tokens_created\":";
/// The key after `tokens_created`.
const DETOKENIZED_KEY: &[u8] = b",\"tokens_detokenized\":";
/// The last key, `version`.
const VERSION_KEY: &[u8] = b",\"version\":\"";
/// What canonical bytes end with: the version's closing quote, the object's.
const VERSION_END: &[u8] = b"\"}";

/// Where `day` sits in canonical record and entry bytes. Storage indexes
/// entries by these bytes.
pub const DAY_BYTES: Range<usize> = DAY_KEY.len()..DAY_KEY.len() + DAY_LEN;
/// Where the `deployment` key sits, between the day and the deployment.
pub(super) const DEPLOYMENT_KEY_BYTES: Range<usize> =
    DAY_BYTES.end..DAY_BYTES.end + DEPLOYMENT_KEY.len();
/// Where `deployment` sits in canonical record and entry bytes. Storage
/// indexes entries by these bytes.
pub const DEPLOYMENT_BYTES: Range<usize> =
    DEPLOYMENT_KEY_BYTES.end..DEPLOYMENT_KEY_BYTES.end + HASH_HEX_LEN;

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
    let body = bytes
        .strip_suffix(VERSION_END)
        .ok_or(ParseError::NotCanonical)?;
    let at = body
        .windows(VERSION_KEY.len())
        .rposition(|w| w == VERSION_KEY)
        .ok_or(ParseError::NotCanonical)?;
    std::str::from_utf8(&body[at + VERSION_KEY.len()..])
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
        let grants = count(&mut rest, GRANTS_KEY)?;
        if let Some(after_prev) = rest.strip_prefix(PREV_KEY) {
            rest = after_prev.get(PREV_VALUE_LEN..)?;
        }
        let created = count(&mut rest, SCHEMA_AND_CREATED_KEY)?;
        let detokenized = count(&mut rest, DETOKENIZED_KEY)?;
        Some([created, detokenized, grants])
    };
    read().ok_or(ParseError::NotCanonical)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{SCHEMA, example_entry};

    /// Reads canonical bytes piece by piece, checking each piece is there.
    struct Walk<'a> {
        bytes: &'a [u8],
        at: usize,
    }

    impl Walk<'_> {
        fn expect(&mut self, piece: &[u8]) {
            let found = &self.bytes[self.at..self.at + piece.len()];
            assert_eq!(
                String::from_utf8_lossy(found),
                String::from_utf8_lossy(piece)
            );
            self.at += piece.len();
        }

        fn expect_text(&mut self, text: &str) {
            self.expect(text.as_bytes());
        }
    }

    #[test]
    fn every_offset_is_where_the_canonical_writer_puts_it() {
        let entry = example_entry();
        let record = &entry.record;
        assert_eq!(SCHEMA_MEMBER, format!(",\"schema\":{SCHEMA},").as_bytes());
        for (bytes, prev) in [
            (record.to_bytes(), None),
            (entry.to_bytes(), Some(entry.prev)),
        ] {
            let mut walk = Walk {
                bytes: &bytes,
                at: 0,
            };
            walk.expect(DAY_KEY);
            assert_eq!(walk.at, DAY_BYTES.start);
            walk.expect_text(&record.day.to_string());
            assert_eq!(walk.at, DAY_BYTES.end);
            assert_eq!(walk.at, DEPLOYMENT_KEY_BYTES.start);
            walk.expect(DEPLOYMENT_KEY);
            assert_eq!(walk.at, DEPLOYMENT_KEY_BYTES.end);
            assert_eq!(walk.at, DEPLOYMENT_BYTES.start);
            walk.expect_text(&record.deployment.to_string());
            assert_eq!(walk.at, DEPLOYMENT_BYTES.end);
            walk.expect(GRANTS_KEY);
            walk.expect_text(&record.grants_issued.get().to_string());
            if let Some(prev) = prev {
                let member_start = walk.at;
                walk.expect(PREV_KEY);
                let value_start = walk.at;
                walk.expect_text(&format!("{}\"", prev.to_hex()));
                assert_eq!(walk.at - value_start, PREV_VALUE_LEN);
                assert_eq!(walk.at - member_start, PREV_MEMBER_LEN);
            }
            assert!(bytes[walk.at..].starts_with(SCHEMA_MEMBER));
            walk.expect(SCHEMA_AND_CREATED_KEY);
            walk.expect_text(&record.tokens_created.get().to_string());
            walk.expect(DETOKENIZED_KEY);
            walk.expect_text(&record.tokens_detokenized.get().to_string());
            walk.expect(VERSION_KEY);
            walk.expect_text(record.version.as_str());
            walk.expect(VERSION_END);
            assert_eq!(walk.at, bytes.len());
        }
    }
}
