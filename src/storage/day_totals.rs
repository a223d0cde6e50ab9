//! `day_totals`: what each publication adds up for each day, so that the
//! stats need not read every entry for their sums.

use std::collections::BTreeMap;

use lucent_core::record::{Day, ParseError, counts_of, day_and_deployment};

use super::{Result, StorageError};

/// Sums of entries' counts; 2^53 − 1 per entry times many entries needs
/// more than 64 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Totals {
    pub tokens_created: u128,
    pub tokens_detokenized: u128,
    pub grants_issued: u128,
}

/// What `day_totals` holds for a day: its entries and their sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DayTotals {
    pub reports: u64,
    pub totals: Totals,
}

impl DayTotals {
    /// Adds canonical record or entry bytes to the totals of their day.
    pub fn add_to_day(days: &mut BTreeMap<Day, DayTotals>, bytes: &[u8]) -> Result<(), ParseError> {
        let (day, _) = day_and_deployment(bytes)?;
        let [created, detokenized, grants] = counts_of(bytes)?;
        days.entry(day).or_default().add(&DayTotals {
            reports: 1,
            totals: Totals {
                tokens_created: created.get().into(),
                tokens_detokenized: detokenized.get().into(),
                grants_issued: grants.get().into(),
            },
        });
        Ok(())
    }

    pub fn add(&mut self, other: &DayTotals) {
        self.reports += other.reports;
        self.totals.tokens_created += other.totals.tokens_created;
        self.totals.tokens_detokenized += other.totals.tokens_detokenized;
        self.totals.grants_issued += other.totals.grants_issued;
    }
}

/// A `day_totals` row: day, reports, and the three sums in decimal.
pub(super) type DayTotalsRow = (String, i64, String, String, String);

/// What `day_totals` takes back for a day: reports, and the three sums in
/// decimal.
pub(super) type DayTotalsColumns = (i64, String, String, String);

impl DayTotals {
    /// `added` on top of the row `day_totals` holds for its day, if any, as
    /// the columns to write back.
    pub(super) fn summed(
        stored: Option<DayTotalsRow>,
        added: &DayTotals,
    ) -> Result<DayTotalsColumns> {
        let mut sum = match stored {
            Some(row) => DayTotals::from_row(row)?.1,
            None => DayTotals::default(),
        };
        sum.add(added);
        Ok((
            sum.reports as i64,
            sum.totals.tokens_created.to_string(),
            sum.totals.tokens_detokenized.to_string(),
            sum.totals.grants_issued.to_string(),
        ))
    }

    pub(super) fn from_row(row: DayTotalsRow) -> Result<(Day, DayTotals)> {
        let (day, reports, created, detokenized, grants) = row;
        let corrupt = |what: &str| StorageError::Corrupt(format!("day_totals of {day}: {what}"));
        let sum = |text: &str| text.parse::<u128>().map_err(|_| corrupt("a sum"));
        let totals = DayTotals {
            reports: u64::try_from(reports).map_err(|_| corrupt("reports"))?,
            totals: Totals {
                tokens_created: sum(&created)?,
                tokens_detokenized: sum(&detokenized)?,
                grants_issued: sum(&grants)?,
            },
        };
        Ok((Day::parse(&day).map_err(|_| corrupt("the day"))?, totals))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lucent_core::Hash;
    use lucent_core::record::{Count, Deployment, Entry, MAX_COUNT, ProductVersion, Record};

    fn day(text: &str) -> Day {
        Day::parse(text).unwrap()
    }

    #[test]
    fn totals_do_not_wrap_at_64_bits() {
        let mut days = BTreeMap::new();
        for _ in 0..2049u32 {
            let bytes = Entry {
                record: Record {
                    day: day("2026-11-01"),
                    deployment: Deployment(Hash([1; 32])),
                    version: ProductVersion::parse("1.0.0").unwrap(),
                    tokens_created: Count::new(MAX_COUNT).unwrap(),
                    tokens_detokenized: Count::new(MAX_COUNT).unwrap(),
                    grants_issued: Count::new(MAX_COUNT).unwrap(),
                },
                prev: Hash::ZERO,
            }
            .to_bytes();
            DayTotals::add_to_day(&mut days, &bytes).unwrap();
        }
        let totals = days[&day("2026-11-01")];
        let want = 2049 * u128::from(MAX_COUNT);
        assert!(want > u128::from(u64::MAX));
        assert_eq!(totals.reports, 2049);
        assert_eq!(totals.totals.tokens_created, want);
        assert_eq!(totals.totals.grants_issued, want);
    }
}
