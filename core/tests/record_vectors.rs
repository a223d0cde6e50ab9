//! Known-answer tests for SPEC sections 1 and 2: `testvectors/lucent/`
//! deployment.json and records.json.

mod common;

use lucent_core::record::{Day, Nonce, ParseError, Report, record_hash};

#[test]
fn deployment_hashes() {
    let vectors = common::load("lucent/deployment.json");
    let cases = vectors["vectors"].as_array().unwrap();
    assert!(cases.len() >= 6);
    for case in cases {
        let nonce = Nonce::parse(case["nonce"].as_str().unwrap()).unwrap();
        let hashed = case["hashed"].as_str().unwrap();
        assert_eq!(
            hashed.strip_prefix("lucent/deployment/v1:"),
            Some(nonce.as_str())
        );
        assert_eq!(
            nonce.deployment().to_string(),
            case["deployment"].as_str().unwrap(),
            "{}",
            case["desc"]
        );
    }
}

#[test]
fn valid_reports_give_the_exact_record() {
    let vectors = common::load("lucent/records.json");
    let cases = vectors["valid"].as_array().unwrap();
    assert!(cases.len() >= 9);
    for case in cases {
        let desc = case["desc"].as_str().unwrap();
        let report = Report::parse(case["body"].as_str().unwrap().as_bytes())
            .unwrap_or_else(|e| panic!("{desc}: {e}"));
        let want = &case["report"];
        assert_eq!(
            report.nonce.as_str(),
            want["nonce"].as_str().unwrap().to_ascii_lowercase(),
            "{desc}"
        );
        assert_eq!(
            report.version.as_str(),
            want["version"].as_str().unwrap(),
            "{desc}"
        );
        assert_eq!(
            report.tokens_created.get(),
            want["tokens_created"].as_u64().unwrap(),
            "{desc}"
        );
        assert_eq!(
            report.tokens_detokenized.get(),
            want["tokens_detokenized"].as_u64().unwrap(),
            "{desc}"
        );
        assert_eq!(
            report.grants_issued.get(),
            want["grants_issued"].as_u64().unwrap(),
            "{desc}"
        );
        let day = Day::parse(case["day"].as_str().unwrap()).unwrap();
        let record = report.to_record(day);
        assert_eq!(
            record.deployment.to_string(),
            case["deployment"].as_str().unwrap(),
            "{desc}"
        );
        let bytes = record.to_bytes();
        assert_eq!(
            std::str::from_utf8(&bytes).unwrap(),
            case["record"].as_str().unwrap(),
            "{desc}"
        );
        assert_eq!(
            record_hash(&bytes).to_hex(),
            case["record_hash"].as_str().unwrap(),
            "{desc}"
        );
    }
}

/// Bodies refused for their content. The HTTP layer decides 413 and 415;
/// every body with status 400 must be refused here, naming the field.
#[test]
fn invalid_reports_are_refused_naming_the_field() {
    let vectors = common::load("lucent/records.json");
    let cases = vectors["invalid"].as_array().unwrap();
    let mut checked = 0;
    for case in cases.iter().filter(|c| c["status"] == 400) {
        let desc = case["desc"].as_str().unwrap();
        let body = match case.get("body_hex") {
            Some(hex) => hex::decode(hex.as_str().unwrap()).unwrap(),
            None => case["body"].as_str().unwrap().as_bytes().to_vec(),
        };
        let err: ParseError = Report::parse(&body).expect_err(desc);
        assert_eq!(err.field(), case["field"].as_str(), "{desc}: {err}");
        checked += 1;
    }
    assert!(checked >= 35, "only {checked} cases");
}

/// `lucent/log.json`: each day's records, in arrival order, ordered and
/// chained into exactly the entries of the log.
#[test]
fn days_are_ordered_and_chained_into_the_vector_entries() {
    use lucent_core::Hash;
    use lucent_core::record::{Entry, chain_records};

    let vectors = common::load("lucent/log.json");
    let mut days: Vec<(String, Vec<Vec<u8>>)> = Vec::new();
    for report in vectors["reports"].as_array().unwrap() {
        let day = report["day"].as_str().unwrap().to_owned();
        let record = report["record"].as_str().unwrap().as_bytes().to_vec();
        match days.last_mut() {
            Some((last, records)) if *last == day => records.push(record),
            _ => days.push((day, vec![record])),
        }
    }
    let mut prev = Hash::ZERO;
    let mut chained = Vec::new();
    for (_, records) in days {
        let entries = chain_records(prev, records).unwrap();
        prev = entries.last().unwrap().leaf_hash;
        chained.extend(entries);
    }
    let want = vectors["entries"].as_array().unwrap();
    assert_eq!(chained.len(), want.len());
    for (got, want) in chained.iter().zip(want) {
        assert_eq!(
            std::str::from_utf8(&got.bytes).unwrap(),
            want["entry"].as_str().unwrap()
        );
        assert_eq!(got.leaf_hash.to_hex(), want["leaf_hash"].as_str().unwrap());
        assert_eq!(
            got.record_hash.to_hex(),
            want["record_hash"].as_str().unwrap()
        );
        assert_eq!(
            Entry::parse(&got.bytes).unwrap().prev.to_hex(),
            want["prev"].as_str().unwrap()
        );
    }
}
