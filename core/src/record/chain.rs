//! A period's records published as entries: ordered by deployment and
//! chained, each naming the leaf hash of the one before.

use super::layout::{
    DAY_BYTES, DAY_KEY, DEPLOYMENT_BYTES, DEPLOYMENT_KEY, DEPLOYMENT_KEY_BYTES, PREV_KEY,
    PREV_MEMBER_LEN, SCHEMA_MEMBER,
};
use super::{ParseError, record_hash};
use crate::hash::{Hash, leaf_hash};

/// An entry ready to append: its bytes, its leaf hash, and the hash of the
/// record it publishes (by which its receipt is found).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainedEntry {
    pub bytes: Vec<u8>,
    pub leaf_hash: Hash,
    pub record_hash: Hash,
}

/// Publishes one period's records, given as the bytes
/// [`Record::to_bytes`](super::Record::to_bytes) made: orders them by
/// `deployment` (so the log says nothing of arrival order) and chains each
/// to the one before, starting from `prev`, the leaf hash of the log's last
/// entry (zero for an empty log).
///
/// An entry is its record with `"prev":"…",` spliced in before `"schema"`,
/// the next key in sorted order; this is byte for byte what
/// [`Entry::to_bytes`](super::Entry::to_bytes) gives, without parsing a
/// million records again.
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
    let canonical_start =
        record.starts_with(DAY_KEY) && record.get(DEPLOYMENT_KEY_BYTES) == Some(DEPLOYMENT_KEY);
    let at = record
        .windows(SCHEMA_MEMBER.len())
        .position(|w| w == SCHEMA_MEMBER)
        .filter(|_| canonical_start);
    let at = at.ok_or(ParseError::NotCanonical)?;
    let mut entry = Vec::with_capacity(record.len() + PREV_MEMBER_LEN);
    entry.extend_from_slice(&record[..at]);
    entry.extend_from_slice(PREV_KEY);
    entry.extend_from_slice(prev.to_hex().as_bytes());
    entry.push(b'"');
    entry.extend_from_slice(&record[at..]);
    Ok(entry)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{
        Day, Entry, Record, counts_of, day_and_deployment, test_report, version_of,
    };

    #[test]
    fn chaining_splices_prev_exactly_as_entries_are_written() {
        let records: Vec<Record> = [
            "2873e12f-8ade-4977-93c5-57d19dc95a68",
            "b034656f-cb2b-44c1-86e2-e6b60e87a2b1",
        ]
        .iter()
        .map(|nonce| {
            let report = test_report(nonce, "2.0.0-rc.1");
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
}
