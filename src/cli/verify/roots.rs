//! The signed roots: each one's checkpoint and served fields, their order,
//! and the served consistency proofs between them.

use futures_util::{StreamExt as _, TryStreamExt as _, stream};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use lucent_core::Hash;
use lucent_core::checkpoint::open_checkpoint;
use lucent_core::merkle::verify_consistency;
use lucent_core::note::{Note, VerifierKey};
use lucent_core::record::Day;

use super::{CONCURRENCY, VerifyError};
use crate::cli::progress::Progress;
use lucent_client::http::{LogClient, ServedRoot};
use lucent_core::period::{day_closed_by, rfc3339};

/// A root whose checkpoint verified, with its served fields checked
/// against the signed text.
#[derive(Debug, Clone)]
pub(super) struct SignedRoot {
    pub(super) day: Day,
    pub(super) period_end: OffsetDateTime,
    pub(super) size: u64,
    pub(super) root: Hash,
    /// The signed note, which the state file keeps as its proof.
    pub(super) checkpoint: String,
    /// The note's text, without its signatures.
    pub(super) text: String,
}

/// Every signed root, oldest first, and the latest checkpoint among them.
pub(super) async fn fetch_signed_roots(
    client: &LogClient,
    key: &VerifierKey,
) -> Result<Vec<SignedRoot>, VerifyError> {
    // Read before the roots, so that it must be among them even if a root
    // is signed in between.
    let latest_checkpoint = client.checkpoint().await?;
    let roots = signed_roots(&client.roots().await?, key)?;
    // Compared by their signed text: witnesses' cosignatures may arrive
    // between the two requests.
    if let Some(note) = latest_checkpoint {
        let text = Note::parse(&note)
            .map_err(|_| VerifyError::CheckpointNotARoot)?
            .text;
        if !roots.iter().any(|root| root.text == text) {
            return Err(VerifyError::CheckpointNotARoot);
        }
    }
    Ok(roots)
}

/// Opens every root's checkpoint, checks that the served fields say what
/// the signed text says, and that the roots follow each other: period ends
/// increasing, sizes not decreasing, a root for every day.
fn signed_roots(served: &[ServedRoot], key: &VerifierKey) -> Result<Vec<SignedRoot>, VerifyError> {
    let mut roots: Vec<SignedRoot> = Vec::with_capacity(served.len());
    for (position, served) in served.iter().enumerate() {
        let root = open_root(position, served, key)?;
        if let Some(previous) = roots.last() {
            check_follows(position, &served.period_end, &root, previous)?;
        }
        roots.push(root);
    }
    Ok(roots)
}

/// Opens the root served at `position`: its checkpoint verifies, its size
/// and root hash are the signed ones, and its period end closes its day.
fn open_root(
    position: usize,
    served: &ServedRoot,
    key: &VerifierKey,
) -> Result<SignedRoot, VerifyError> {
    let malformed = |reason: String| VerifyError::MalformedRoot {
        position,
        day: served.day.clone(),
        reason,
    };
    let checkpoint =
        open_checkpoint(&served.checkpoint, key).map_err(|error| VerifyError::RootSignature {
            position,
            day: served.day.clone(),
            error,
        })?;
    if checkpoint.size != served.size || checkpoint.root.to_hex() != served.root_hash {
        return Err(malformed(format!(
            "it is served with size {} and root hash {}, but its checkpoint says {} and {}",
            served.size, served.root_hash, checkpoint.size, checkpoint.root
        )));
    }
    let day = Day::parse(&served.day).map_err(|e| malformed(format!("its day: {e}")))?;
    let period_end = OffsetDateTime::parse(&served.period_end, &Rfc3339)
        .map_err(|e| malformed(format!("its period_end: {e}")))?;
    if day_closed_by(period_end.unix_timestamp()) != day {
        return Err(malformed(format!(
            "its period ends at {}, which does not close {day}",
            served.period_end
        )));
    }
    Ok(SignedRoot {
        day,
        period_end,
        size: checkpoint.size,
        root: checkpoint.root,
        text: checkpoint.to_text(),
        checkpoint: served.checkpoint.clone(),
    })
}

/// That `root`, served at `position` with the period end
/// `served_period_end` (quoted as served), comes after `previous`: its
/// period ends later, it is no smaller, and no day lies between them.
fn check_follows(
    position: usize,
    served_period_end: &str,
    root: &SignedRoot,
    previous: &SignedRoot,
) -> Result<(), VerifyError> {
    if root.period_end <= previous.period_end {
        return Err(VerifyError::RootsOutOfOrder {
            position,
            period_end: served_period_end.to_owned(),
            previous: rfc3339(previous.period_end.unix_timestamp()),
        });
    }
    if root.size < previous.size {
        return Err(VerifyError::RootShrank {
            day: root.day,
            size: root.size,
            previous: previous.size,
        });
    }
    if previous
        .day
        .0
        .next_day()
        .is_some_and(|next| next < root.day.0)
    {
        return Err(VerifyError::MissingDays {
            after: previous.day,
            next: root.day,
        });
    }
    Ok(())
}

/// Verifies the served consistency proof between each pair of consecutive
/// roots (no proof is needed from the empty tree or between equal sizes).
pub(super) async fn check_consistency(
    client: &LogClient,
    roots: &[SignedRoot],
    progress: &Progress,
) -> Result<(), VerifyError> {
    let pairs: Vec<(&SignedRoot, &SignedRoot)> = roots
        .windows(2)
        .map(|pair| (&pair[0], &pair[1]))
        .filter(|(old, _)| old.size > 0)
        .collect();
    progress.start("consistency proofs", pairs.len() as u64);
    let mut proofs = stream::iter(pairs)
        .map(|(old, new)| async move {
            let proof = match old.size == new.size {
                true => Vec::new(),
                false => client.consistency_proof(old.size, new.size).await?,
            };
            Ok::<_, VerifyError>((old, new, proof))
        })
        .buffered(CONCURRENCY);
    let mut checked = 0;
    while let Some((old, new, proof)) = proofs.try_next().await? {
        verify_consistency(old.size, new.size, &proof, &old.root, &new.root).map_err(|error| {
            VerifyError::InconsistentRoots {
                old_day: old.day,
                old_size: old.size,
                new_day: new.day,
                new_size: new.size,
                error,
            }
        })?;
        checked += 1;
        progress.set(checked);
    }
    Ok(())
}
