//! C2SP tlog-proofs (`c2sp.org/tlog-proof@v1`): an entry's index, its
//! inclusion proof and the signed checkpoint it is proven against, in one
//! offline-verifiable text. lucent puts the entry bytes in the `extra` line.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::checkpoint::{self, Checkpoint, CheckpointError};
use crate::hash::{Hash, leaf_hash};
use crate::merkle::{self, VerifyError};
use crate::note::{self, Note};

/// The first line of every tlog-proof.
pub const TLOG_PROOF_HEADER: &str = "c2sp.org/tlog-proof@v1";
/// The largest tlog-proof text accepted: a note of [`note::MAX_NOTE_BYTES`]
/// and as much again for the extra data and proof.
pub const MAX_TLOG_PROOF_BYTES: usize = 2 * note::MAX_NOTE_BYTES;
/// An inclusion proof in a tree of at most 2^64 − 1 leaves has at most 64
/// hashes.
pub const MAX_PROOF_HASHES: usize = 64;

/// A tlog-proof: `extra` (optional, not authenticated), the entry's `index`,
/// the inclusion `proof` from the leaf's sibling up, and the signed
/// `checkpoint` note text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlogProof {
    pub extra: Option<Vec<u8>>,
    pub index: u64,
    pub proof: Vec<Hash>,
    pub checkpoint: String,
}

/// Why a tlog-proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlogProofError {
    #[error("malformed tlog-proof: {0}")]
    Malformed(&'static str),
    #[error("the tlog-proof has no extra line to take the entry from")]
    NoExtra,
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error("inclusion proof: {0}")]
    Inclusion(#[from] VerifyError),
}

impl TlogProof {
    /// The tlog-proof text: header, `extra` line (if any), `index` line, one
    /// base64 hash per line, an empty line, then the checkpoint verbatim.
    pub fn to_text(&self) -> String {
        let extra_len = self
            .extra
            .as_ref()
            .map_or(0, |e| e.len().div_ceil(3) * 4 + 7);
        let mut text = String::with_capacity(
            TLOG_PROOF_HEADER.len()
                + extra_len
                + 27
                + self.proof.len() * 45
                + 2
                + self.checkpoint.len(),
        );
        text.push_str(TLOG_PROOF_HEADER);
        text.push('\n');
        if let Some(extra) = &self.extra {
            text.push_str("extra ");
            BASE64.encode_string(extra, &mut text);
            text.push('\n');
        }
        text.push_str("index ");
        text.push_str(&self.index.to_string());
        text.push('\n');
        for hash in &self.proof {
            text.push_str(&hash.to_base64());
            text.push('\n');
        }
        text.push('\n');
        text.push_str(&self.checkpoint);
        text
    }

    /// Parses a tlog-proof strictly: canonical base64 and decimals, at most
    /// [`MAX_PROOF_HASHES`] proof lines, and a checkpoint that is a well-formed
    /// signed note whose text is a checkpoint. Signatures are not checked
    /// here; see [`TlogProof::verify`].
    pub fn parse(text: &str) -> Result<TlogProof, TlogProofError> {
        if text.len() > MAX_TLOG_PROOF_BYTES {
            return Err(TlogProofError::Malformed("larger than 2 MiB"));
        }
        let rest = text
            .strip_prefix(TLOG_PROOF_HEADER)
            .and_then(|rest| rest.strip_prefix('\n'))
            .ok_or(TlogProofError::Malformed(
                "the first line is not c2sp.org/tlog-proof@v1",
            ))?;
        let (mut line, mut rest) = next_line(rest)?;

        let mut extra = None;
        if let Some(extra_b64) = line.strip_prefix("extra ") {
            let bytes = BASE64
                .decode(extra_b64)
                .map_err(|_| TlogProofError::Malformed("the extra data is not standard base64"))?;
            extra = Some(bytes);
            (line, rest) = next_line(rest)?;
        }

        let index = line
            .strip_prefix("index ")
            .and_then(checkpoint::parse_canonical_u64)
            .ok_or(TlogProofError::Malformed(
                "expected an index line: index and a decimal number without leading zeroes",
            ))?;

        let mut proof = Vec::new();
        loop {
            (line, rest) = next_line(rest)?;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_HASHES {
                return Err(TlogProofError::Malformed("more than 64 proof hashes"));
            }
            let hash = Hash::from_base64(line).map_err(|_| {
                TlogProofError::Malformed("a proof line is not a 32-byte hash in standard base64")
            })?;
            proof.push(hash);
        }

        let note = Note::parse(rest).map_err(CheckpointError::from)?;
        Checkpoint::parse(&note.text)?;
        Ok(TlogProof {
            extra,
            index,
            proof,
            checkpoint: rest.to_owned(),
        })
    }

    /// Verifies that `entry` is entry `index` of the log: the checkpoint is
    /// opened with the log `key` (see [`checkpoint::open_checkpoint`]), and the
    /// inclusion proof of the entry's leaf hash must give its root at its
    /// size. Returns the checkpoint.
    pub fn verify(
        &self,
        key: &note::VerifierKey,
        entry: &[u8],
    ) -> Result<Checkpoint, TlogProofError> {
        let checkpoint = checkpoint::open_checkpoint(&self.checkpoint, key)?;
        merkle::verify_inclusion(
            &leaf_hash(entry),
            self.index,
            checkpoint.size,
            &self.proof,
            &checkpoint.root,
        )?;
        Ok(checkpoint)
    }

    /// As [`TlogProof::verify`], with the entry taken from the `extra` line
    /// (as lucent writes its receipts). Returns the checkpoint and the entry.
    pub fn verify_extra(
        &self,
        key: &note::VerifierKey,
    ) -> Result<(Checkpoint, &[u8]), TlogProofError> {
        let entry = self.extra.as_deref().ok_or(TlogProofError::NoExtra)?;
        Ok((self.verify(key, entry)?, entry))
    }
}

/// Splits off one newline-terminated line.
fn next_line(text: &str) -> Result<(&str, &str), TlogProofError> {
    text.split_once('\n').ok_or(TlogProofError::Malformed(
        "ends before the empty line that precedes the checkpoint",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::MemoryTree;
    use crate::note::SigningKey;

    const ORIGIN: &str = "example.com/log";

    fn proof_for(entries: &[&[u8]], index: u64, key: &SigningKey) -> TlogProof {
        let tree = MemoryTree::from_leaf_hashes(entries.iter().map(|e| leaf_hash(e)));
        let proof = merkle::inclusion_proof(index, tree.size(), &tree).unwrap();
        let checkpoint = Checkpoint::new(ORIGIN, tree.size(), tree.root())
            .sign(key)
            .unwrap();
        TlogProof {
            extra: Some(entries[index as usize].to_vec()),
            index,
            proof,
            checkpoint,
        }
    }

    #[test]
    fn round_trip_and_verify_in_small_trees() {
        let key = SigningKey::from_seed(ORIGIN, &[9; 32]).unwrap();
        let entries: Vec<Vec<u8>> = (0..7u8).map(|i| vec![i; i as usize + 1]).collect();
        for size in 1..=entries.len() {
            let refs: Vec<&[u8]> = entries[..size].iter().map(Vec::as_slice).collect();
            for index in 0..size as u64 {
                let proof = proof_for(&refs, index, &key);
                let parsed = TlogProof::parse(&proof.to_text()).unwrap();
                assert_eq!(parsed, proof);
                let (checkpoint, entry) = parsed.verify_extra(&key.verifier_key()).unwrap();
                assert_eq!(
                    (checkpoint.size, entry),
                    (size as u64, refs[index as usize])
                );
            }
        }
    }

    #[test]
    fn proof_without_extra() {
        let key = SigningKey::from_seed(ORIGIN, &[9; 32]).unwrap();
        let mut proof = proof_for(&[b"a", b"b", b"c"], 2, &key);
        proof.extra = None;
        let text = proof.to_text();
        assert!(text.starts_with("c2sp.org/tlog-proof@v1\nindex 2\n"));
        let parsed = TlogProof::parse(&text).unwrap();
        assert_eq!(
            parsed.verify_extra(&key.verifier_key()),
            Err(TlogProofError::NoExtra)
        );
        assert!(parsed.verify(&key.verifier_key(), b"c").is_ok());
        assert!(parsed.verify(&key.verifier_key(), b"b").is_err());
    }

    #[test]
    fn malformed_texts_are_refused() {
        let key = SigningKey::from_seed(ORIGIN, &[9; 32]).unwrap();
        let good = proof_for(&[b"a", b"b", b"c"], 1, &key).to_text();
        let hash_line = good.lines().nth(3).unwrap().to_owned();
        let bad = [
            good.replacen("c2sp.org/tlog-proof@v1", "c2sp.org/tlog-proof@v2", 1),
            good.replacen("index 1", "index 01", 1),
            good.replacen("index 1", "index -1", 1),
            good.replacen("index 1", "index  1", 1),
            good.replacen("index 1\n", "", 1),
            good.replacen("extra ", "extra !", 1),
            good.replacen("extra ", "extras ", 1),
            good.replacen(&hash_line, &hash_line[..43], 1),
            good.replacen("\n\n", "\n", 1),
            good.replacen("\n\n", "\n\nnot a checkpoint\n", 1),
            format!("{}\n", good.lines().take(5).collect::<Vec<_>>().join("\n")),
            good.replacen(
                &format!("{hash_line}\n"),
                &format!("{hash_line}\n").repeat(65),
                1,
            ),
        ];
        for text in bad {
            assert!(TlogProof::parse(&text).is_err(), "{text:?}");
        }
    }
}
