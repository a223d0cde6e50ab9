//! `day_totals`: what each publication adds up for each day, so that the
//! stats need not read every entry for their sums.

use std::collections::BTreeMap;

use lucent_core::record::{Day, ParseError, counts_of, day_and_deployment};
use lucent_core::stats::{DayTotals, Totals};

use super::{Result, StorageError};

/// Adds canonical record or entry bytes to the totals of their day,
/// reading only the fields it needs.
pub fn add_to_day(days: &mut BTreeMap<Day, DayTotals>, bytes: &[u8]) -> Result<(), ParseError> {
    let (day, _) = day_and_deployment(bytes)?;
    days.entry(day)
        .or_default()
        .add(&DayTotals::of_counts(counts_of(bytes)?));
    Ok(())
}

/// A `day_totals` row: day, reports, and the three sums in decimal.
pub(super) type DayTotalsRow = (String, i64, String, String, String);

/// What `day_totals` takes back for a day: reports, and the three sums in
/// decimal.
pub(super) type DayTotalsColumns = (i64, String, String, String);

/// `added` on top of the row `day_totals` holds for its day, if any, as
/// the columns to write back.
pub(super) fn summed(stored: Option<DayTotalsRow>, added: &DayTotals) -> Result<DayTotalsColumns> {
    let mut sum = match stored {
        Some(row) => from_row(row)?.1,
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
