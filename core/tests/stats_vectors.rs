//! Known-answer test for the stats of `GET /v1/stats` (issue 19): the log
//! of `testvectors/lucent/log.json`, its numbers worked out by hand.
//!
//! The reports, by day (deployments by their first 8 hex digits):
//! - 2026-11-24: 01a302c3 1.4.2 (120, 45, 3), b0083b98 1.4.2 (7, 0, 1),
//!   ffe00f2c 2.0.0-rc.1 (0, 0, 0), 838cd0d3 1.3.0 (98765, 4321, 12);
//! - 2026-11-25: none;
//! - 2026-11-26: cb7e50ad 1.4.3 (5, 5, 5), 01a302c3 1.4.3 (130, 50, 4),
//!   e30d6d26 1.4.2 (9007199254740991, 1, 2).

mod common;

use lucent_core::Hash;
use lucent_core::record::{Day, Entry, ProductVersion};
use lucent_core::stats::{ActiveDeployments, Stats, StatsBuilder, StatsRoot, Totals};

fn day(text: &str) -> Day {
    Day::parse(text).unwrap()
}

/// The stats at each of the vector log's roots, from its entries.
fn stats_at_each_root() -> Vec<Stats> {
    let vectors = common::load("lucent/log.json");
    let entries: Vec<Entry> = vectors["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| Entry::parse(e["entry"].as_str().unwrap().as_bytes()).unwrap())
        .collect();
    let inception = day(vectors["inception_day"].as_str().unwrap());
    let mut builder = StatsBuilder::new();
    let mut pushed = 0;
    let mut at_roots = Vec::new();
    for root in vectors["roots"].as_array().unwrap() {
        let size = root["size"].as_u64().unwrap();
        for entry in &entries[pushed..size as usize] {
            builder.push(&entry.record);
        }
        pushed = size as usize;
        let root = StatsRoot {
            size,
            root_hash: Hash::from_hex(root["root_hash"].as_str().unwrap()).unwrap(),
            day: day(root["day"].as_str().unwrap()),
        };
        at_roots.push(builder.stats_at(root, inception).unwrap());
    }
    at_roots
}

/// Versions in use as the stats list them.
fn listed(versions: &[(&str, u64)]) -> Vec<(ProductVersion, u64)> {
    versions
        .iter()
        .map(|(v, n)| (ProductVersion::parse(v).unwrap(), *n))
        .collect()
}

fn reports_per_day(stats: &Stats) -> Vec<(String, u64)> {
    stats
        .reports_per_day
        .iter()
        .map(|(d, n)| (d.to_string(), *n))
        .collect()
}

#[test]
fn the_vector_log_gives_the_stats_worked_out_by_hand() {
    let [first, second, third] = <[Stats; 3]>::try_from(stats_at_each_root()).unwrap();

    // 2026-11-24: four deployments, all on that day.
    let totals_24 = Totals {
        tokens_created: 120 + 7 + 98765,
        tokens_detokenized: 45 + 4321,
        grants_issued: 3 + 1 + 12,
    };
    assert_eq!(first.root.unwrap().size, 4);
    assert_eq!(
        first.active,
        ActiveDeployments {
            last_1_day: 4,
            last_7_days: 4,
            last_30_days: 4
        }
    );
    assert_eq!(reports_per_day(&first), [("2026-11-24".into(), 4)]);
    assert_eq!(
        first.versions,
        listed(&[("1.4.2", 2), ("1.3.0", 1), ("2.0.0-rc.1", 1)])
    );
    assert_eq!(first.unlisted_versions, 0);
    assert_eq!(first.totals, totals_24);

    // 2026-11-25: no report; the same entries, but nobody active that day.
    assert_eq!(second.root.unwrap().size, 4);
    assert_eq!(second.root.unwrap().day, day("2026-11-25"));
    assert_eq!(
        second.active,
        ActiveDeployments {
            last_1_day: 0,
            last_7_days: 4,
            last_30_days: 4
        }
    );
    assert_eq!(
        reports_per_day(&second),
        [("2026-11-24".into(), 4), ("2026-11-25".into(), 0)]
    );
    assert_eq!(second.versions, first.versions);
    assert_eq!(second.totals, totals_24);

    // 2026-11-26: three reports, one of them from 01a302c3 again, now on
    // 1.4.3; six distinct deployments in the week.
    assert_eq!(third.root.unwrap().size, 7);
    assert_eq!(
        third.active,
        ActiveDeployments {
            last_1_day: 3,
            last_7_days: 6,
            last_30_days: 6
        }
    );
    assert_eq!(
        reports_per_day(&third),
        [
            ("2026-11-24".into(), 4),
            ("2026-11-25".into(), 0),
            ("2026-11-26".into(), 3)
        ]
    );
    // 01a302c3 reported 1.4.2 on the 24th and 1.4.3 on the 26th: it counts
    // under both. Ties (1.3.0, 2.0.0-rc.1) go in text order.
    assert_eq!(
        third.versions,
        listed(&[("1.4.2", 3), ("1.4.3", 2), ("1.3.0", 1), ("2.0.0-rc.1", 1)])
    );
    assert_eq!(
        third.totals,
        Totals {
            tokens_created: 9_007_199_254_840_018,
            tokens_detokenized: 4422,
            grants_issued: 27,
        }
    );
}
