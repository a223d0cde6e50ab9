//! A report body, as `POST` by a deployment: `Report::parse` never panics,
//! and a valid report makes a record and an entry that parse back equal.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lucent_core::Hash;
use lucent_core::record::{Day, Entry, Record, Report, record_hash};

const DAYS: [&str; 4] = ["2026-11-27", "2024-02-29", "0000-01-01", "9999-12-31"];

fuzz_target!(|data: &[u8]| {
    let Ok(report) = Report::parse(data) else {
        return;
    };
    let deployment = report.nonce.deployment();
    // The nonce is kept lowercased, so its case does not change the hash.
    assert_eq!(
        report.nonce.as_str(),
        report.nonce.as_str().to_ascii_lowercase()
    );
    for day in DAYS {
        let day = Day::parse(day).expect("a valid day");
        let record = report.to_record(day);
        assert_eq!(record.deployment, deployment);
        let bytes = record.to_bytes();
        assert_eq!(Record::parse(&bytes).as_ref(), Ok(&record), "{bytes:?}");
        let _ = record_hash(&bytes);
        let entry = Entry {
            record,
            prev: Hash::sha256(data),
        };
        let bytes = entry.to_bytes();
        assert_eq!(Entry::parse(&bytes), Ok(entry), "{bytes:?}");
    }
});
