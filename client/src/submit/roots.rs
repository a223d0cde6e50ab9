//! The roots a published record must be in: the root of its day, which
//! ends with an entry of that day, consistent with the receipt's root and
//! with the latest root.

use lucent_core::checkpoint::{Checkpoint, open_checkpoint};
use lucent_core::hash::leaf_hash;
use lucent_core::merkle::verify_consistency;
use lucent_core::note::VerifierKey;
use lucent_core::record::{Day, Entry};

use super::CheckError;
use super::receipt::verify_included;
use crate::http::{LogClient, ServedRoot};

/// The latest root as served and as signed, `None` before the first.
pub(super) async fn latest_root(
    client: &LogClient,
    key: &VerifierKey,
) -> Result<Option<(ServedRoot, Checkpoint)>, CheckError> {
    let Some(served) = client.latest_root().await? else {
        return Ok(None);
    };
    let checkpoint = open_checkpoint(&served.checkpoint, key).map_err(CheckError::LatestRoot)?;
    Ok(Some((served, checkpoint)))
}

/// The signed root of `day`, which must be served.
pub(super) async fn root_of_day(
    client: &LogClient,
    key: &VerifierKey,
    day: Day,
) -> Result<Checkpoint, CheckError> {
    let served = client
        .root_of_day(&day.to_string())
        .await?
        .ok_or(CheckError::NoRootOfDay { day })?;
    open_checkpoint(&served.checkpoint, key).map_err(|error| CheckError::DayRoot { day, error })
}

/// Entry `index`, included in the receipt's root `receipt_root`, must be in
/// `day_root`, the root of its `day`, and the two roots consistent.
pub(super) async fn check_in_root_of_day(
    client: &LogClient,
    index: u64,
    receipt_root: &Checkpoint,
    day_root: &Checkpoint,
    day: Day,
) -> Result<(), CheckError> {
    if index >= day_root.size {
        return Err(CheckError::NotInRootOfDay {
            index,
            day,
            size: day_root.size,
        });
    }
    // With a publish period shorter than a day, the receipt's root is the
    // root of the record's period, an earlier root of the same day.
    check_consistent(client, receipt_root, day_root).await?;
    if day_root.size != receipt_root.size {
        check_last_entry_day(client, day_root, day).await?;
    }
    Ok(())
}

/// The day of a root is served, not signed; its last entry's is, through
/// the root hash. Fetches that entry with its inclusion proof in `root`
/// and requires it to be of `day`: a record published in the root of a
/// later day ends before entries of that day.
pub(super) async fn check_last_entry_day(
    client: &LogClient,
    root: &Checkpoint,
    day: Day,
) -> Result<(), CheckError> {
    // The root holds the record, so it is not empty.
    let found = last_entry_day(client, root).await?;
    if found != day {
        return Err(CheckError::LastEntryOfAnotherDay {
            index: root.size - 1,
            size: root.size,
            found,
            promised: day,
        });
    }
    Ok(())
}

/// The day of the last entry of a non-empty signed root, its inclusion in
/// that root verified: unlike the day a root is served with, it is signed.
pub(super) async fn last_entry_day(
    client: &LogClient,
    root: &Checkpoint,
) -> Result<Day, CheckError> {
    let index = root.size - 1;
    let (served, proof) = tokio::try_join!(
        client.entry(index),
        client.inclusion_proof(index, root.size)
    )?;
    verify_included(&leaf_hash(served.entry.as_bytes()), index, root, &proof)?;
    let entry = Entry::parse(served.entry.as_bytes())
        .map_err(|error| CheckError::InvalidServedEntry { index, error })?;
    Ok(entry.record.day)
}

/// Verifies the served consistency proof between two non-empty roots, in
/// whichever order their sizes come.
pub(super) async fn check_consistent(
    client: &LogClient,
    a: &Checkpoint,
    b: &Checkpoint,
) -> Result<(), CheckError> {
    let (old, new) = if a.size <= b.size { (a, b) } else { (b, a) };
    let proof = if old.size == new.size {
        Vec::new()
    } else {
        client.consistency_proof(old.size, new.size).await?
    };
    verify_consistency(old.size, new.size, &proof, &old.root, &new.root).map_err(|error| {
        CheckError::Inconsistent {
            old: old.size,
            new: new.size,
            error,
        }
    })
}
