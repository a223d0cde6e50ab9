//! `--witness <verifier key>` (repeatable) and `--quorum N`: a checkpoint
//! must carry at least N valid signatures of the given witnesses (SPEC
//! section 8).

use lucent_core::note::{Note, VerifierKey};
use lucent_core::quorum::{QuorumError, check_quorum};

/// The witnesses a verifier trusts, and how many of them must have signed.
#[derive(Debug, Clone, Default)]
pub struct WitnessQuorum {
    pub witnesses: Vec<VerifierKey>,
    pub quorum: usize,
}

/// Why a checkpoint does not meet the quorum.
#[derive(Debug, thiserror::Error)]
pub enum QuorumFailure {
    #[error("{0}")]
    Short(#[from] QuorumError),
    #[error("the checkpoint is not a signed note: {0}")]
    Malformed(String),
}

impl WitnessQuorum {
    /// `quorum` of `witnesses`; without `quorum`, every one of them.
    pub fn new(
        witnesses: Vec<VerifierKey>,
        quorum: Option<usize>,
    ) -> Result<WitnessQuorum, String> {
        let quorum = quorum.unwrap_or(witnesses.len());
        if quorum > witnesses.len() {
            return Err(format!(
                "--quorum {quorum} asks for more witnesses than the {} given with --witness",
                witnesses.len()
            ));
        }
        Ok(WitnessQuorum { witnesses, quorum })
    }

    /// Checks the witnesses' signatures on a signed checkpoint note.
    pub fn check(&self, checkpoint: &str) -> Result<(), QuorumFailure> {
        if self.quorum == 0 {
            return Ok(());
        }
        let note = Note::parse(checkpoint).map_err(|e| QuorumFailure::Malformed(e.to_string()))?;
        check_quorum(&note, &self.witnesses, self.quorum)?;
        Ok(())
    }
}
