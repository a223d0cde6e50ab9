//! Entry and record bytes, as served in entry bundles and receipts:
//! `Entry::parse` and `Record::parse` never panic, and what they accept is
//! exactly the canonical bytes of what they return.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lucent_core::Hash;
use lucent_core::hash::leaf_hash;
use lucent_core::record::{Entry, Record, record_hash};

fuzz_target!(|data: &[u8]| {
    if let Ok(entry) = Entry::parse(data) {
        assert_eq!(entry.to_bytes(), data);
        let record_bytes = entry.record.to_bytes();
        assert_eq!(Record::parse(&record_bytes).as_ref(), Ok(&entry.record));
        let _ = (record_hash(&record_bytes), leaf_hash(data));
    }
    if let Ok(record) = Record::parse(data) {
        assert_eq!(record.to_bytes(), data);
        let entry = Entry {
            record,
            prev: Hash::ZERO,
        };
        assert_eq!(Entry::parse(&entry.to_bytes()), Ok(entry));
    }
});
