//! Where the pending record with a given hash is: an index in memory, kept
//! by the writer, so that the `pending` table needs no index keyed by
//! record hash. Keys that are random hashes put each report on a page of
//! its own in such an index, and writing those pages cost the writer about
//! a fifth of its throughput.
//!
//! Per pending record it keeps 16 bytes: the first 8 bytes of the record
//! hash, and the record's day with the first 4 bytes of its deployment,
//! which find the record through the table's primary key. It only narrows
//! the search: the database answers, exactly.

use std::collections::HashMap;
use std::sync::RwLock;

use lucent_core::Hash;
use lucent_core::record::{Day, Deployment};

use super::record_key;

/// Where to look for a pending record: its day, and the first bytes of its
/// deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingLocation {
    pub day: Day,
    pub deployment_prefix: [u8; 4],
}

impl PendingLocation {
    pub fn new(day: Day, deployment: &Deployment) -> PendingLocation {
        let mut deployment_prefix = [0; 4];
        deployment_prefix.copy_from_slice(&deployment.0.0[..4]);
        PendingLocation {
            day,
            deployment_prefix,
        }
    }
}

#[derive(Default)]
struct Locations {
    by_key: HashMap<i64, PendingLocation>,
    /// The rare records whose key another record already has.
    collisions: Vec<(i64, PendingLocation)>,
}

/// The index; shared by the writer, which changes it, and the API.
#[derive(Default)]
pub struct PendingIndex {
    locations: RwLock<Locations>,
}

impl PendingIndex {
    /// Adds records that are now pending (committed).
    pub fn insert(&self, records: impl IntoIterator<Item = (Hash, PendingLocation)>) {
        let mut locations = self.locations.write().expect("not poisoned");
        for (hash, location) in records {
            let key = record_key(&hash);
            match locations.by_key.get(&key) {
                None => {
                    locations.by_key.insert(key, location);
                }
                Some(existing) if *existing == location => {}
                Some(_) if locations.collisions.contains(&(key, location)) => {}
                Some(_) => locations.collisions.push((key, location)),
            }
        }
    }

    /// Where a pending record with this hash may be; none if no pending
    /// record can have it.
    pub fn candidates(&self, record_hash: &Hash) -> Vec<PendingLocation> {
        let key = record_key(record_hash);
        let locations = self.locations.read().expect("not poisoned");
        let first = locations.by_key.get(&key).copied();
        first
            .into_iter()
            .chain(
                locations
                    .collisions
                    .iter()
                    .filter(|(k, _)| *k == key)
                    .map(|(_, location)| *location),
            )
            .collect()
    }

    /// Replaces the whole index (after a publication, with what is still
    /// pending: usually nothing).
    pub fn replace(&self, records: impl IntoIterator<Item = (Hash, PendingLocation)>) {
        *self.locations.write().expect("not poisoned") = Locations::default();
        self.insert(records);
    }

    pub fn count(&self) -> usize {
        let locations = self.locations.read().expect("not poisoned");
        locations.by_key.len() + locations.collisions.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> Day {
        Day::parse(text).unwrap()
    }

    fn hash(first: u8, last: u8) -> Hash {
        let mut hash = Hash::ZERO;
        hash.0[0] = first;
        hash.0[31] = last;
        hash
    }

    fn location(day_text: &str, first: u8) -> PendingLocation {
        PendingLocation {
            day: day(day_text),
            deployment_prefix: [first, 0, 0, 0],
        }
    }

    #[test]
    fn finds_what_was_inserted_and_forgets_it_when_replaced() {
        let index = PendingIndex::default();
        index.insert([(hash(1, 0), location("2026-11-28", 7))]);
        assert_eq!(
            index.candidates(&hash(1, 0)),
            vec![location("2026-11-28", 7)]
        );
        assert_eq!(index.candidates(&hash(2, 0)), vec![]);
        index.replace([]);
        assert_eq!(index.candidates(&hash(1, 0)), vec![]);
        assert_eq!(index.count(), 0);
    }

    #[test]
    fn hashes_that_share_their_first_eight_bytes_keep_both_locations() {
        let index = PendingIndex::default();
        index.insert([
            (hash(1, 0), location("2026-11-28", 7)),
            (hash(1, 9), location("2026-11-28", 8)),
            (hash(1, 9), location("2026-11-28", 8)),
        ]);
        assert_eq!(
            index.candidates(&hash(1, 0)),
            vec![location("2026-11-28", 7), location("2026-11-28", 8)]
        );
        assert_eq!(index.count(), 2);
    }
}
