//! The C2SP tlog-witness protocol (`c2sp.org/tlog-witness`), both sides, as
//! pure functions: the `add-checkpoint` request body (written by a log,
//! parsed by a witness), the witness's checks in the order the protocol
//! answers them, and the witness's answers as a log reads them (the
//! cosignature lines of a 200, the size of a 409).
//!
//! The cosignature itself is made by [`SigningKey::cosign`] and checked by
//! [`VerifierKey::verify`] with the witness's type 0x04 key.
//!
//! [`SigningKey::cosign`]: crate::note::SigningKey::cosign

use crate::checkpoint::{Checkpoint, parse_canonical_u64};
use crate::hash::{Hash, empty_root};
use crate::merkle::{VerifyError, verify_consistency};
use crate::note::{Note, NoteError, OpenedNote, Signature, VerifierKey};

/// The most consistency proof lines a request may carry: enough for any
/// pair of sizes below 2^63.
pub const MAX_PROOF_LINES: usize = 63;

/// The content type of a 409 answer, whose body is the witness's size.
pub const TLOG_SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";

/// The largest `add-checkpoint` body accepted, in bytes. The protocol sets
/// no limit; this leaves, besides the old size line and 63 proof lines
/// (under 3 KiB), room for a checkpoint note with [`MAX_SIGNATURES`]
/// Ed25519 signature lines or about 18 ML-DSA-44 cosignatures.
///
/// [`MAX_SIGNATURES`]: crate::note::MAX_SIGNATURES
pub const MAX_ADD_CHECKPOINT_BYTES: usize = 64 * 1024;

/// An `add-checkpoint` request: the size the client believes the witness
/// last cosigned, a consistency proof from that size, and the signed
/// checkpoint note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddCheckpoint {
    pub old_size: u64,
    pub proof: Vec<Hash>,
    /// The whole signed note: checkpoint text, blank line, signatures.
    pub checkpoint: String,
}

/// Why a witness does not cosign, each case one answer of the protocol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The body is over [`MAX_ADD_CHECKPOINT_BYTES`].
    #[error("the body is larger than {limit} bytes")]
    TooLarge { limit: usize },
    /// 400: the body, the note or the checkpoint is malformed.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// 404: no log with this origin is followed.
    #[error("unknown log origin {0:?}")]
    UnknownOrigin(String),
    /// 403: no signature by a configured key of the log verifies, or one
    /// by such a key fails to.
    #[error("the checkpoint is not signed by a known key of its log: {0}")]
    Unverified(NoteError),
    /// 400: the old size is larger than the checkpoint's.
    #[error("the old size {old} is larger than the checkpoint's size {size}")]
    OldSizeAfterNew { old: u64, size: u64 },
    /// 409: the old size is not the size of the latest checkpoint
    /// cosigned (0 if none), which the answer states.
    #[error("the old size {old} is not the size of the latest cosigned checkpoint, {latest}")]
    Conflict { old: u64, latest: u64 },
    /// 422: a checkpoint of size 0 whose root is not the empty tree's.
    #[error("a checkpoint of size 0 must have the root of the empty tree")]
    EmptyTreeRoot,
    /// 422: a proof from old size 0, which must be empty.
    #[error("the old size is 0, so the consistency proof must be empty, but it has {0} lines")]
    ProofFromEmptyTree(usize),
    /// 422: the same size as the latest cosigned checkpoint, another root.
    #[error("the checkpoint has the size of the latest cosigned checkpoint but another root")]
    SameSizeDifferentRoot,
    /// 422: the consistency proof does not verify.
    #[error("the consistency proof does not verify: {0}")]
    Inconsistent(VerifyError),
}

impl Refusal {
    /// Whether the checkpoint, validly signed, is not consistent with the
    /// latest one cosigned (the 422 answers): evidence of a log that forked,
    /// worth keeping.
    pub fn is_inconsistency(&self) -> bool {
        matches!(
            self,
            Refusal::EmptyTreeRoot
                | Refusal::ProofFromEmptyTree(_)
                | Refusal::SameSizeDifferentRoot
                | Refusal::Inconsistent(_)
        )
    }
}

fn malformed(reason: impl ToString) -> Refusal {
    Refusal::Malformed(reason.to_string())
}

/// A checkpoint whose signature by its log verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenedCheckpoint {
    pub checkpoint: Checkpoint,
    /// The note, with the log's verified signatures apart from the others.
    pub note: OpenedNote,
}

impl AddCheckpoint {
    /// Reads a request body: `old <size>\n`, at most [`MAX_PROOF_LINES`]
    /// lines of one base64 hash each, a blank line, then the checkpoint
    /// note (read here as UTF-8 only; [`AddCheckpoint::open`] reads it).
    pub fn parse(body: &[u8]) -> Result<AddCheckpoint, Refusal> {
        if body.len() > MAX_ADD_CHECKPOINT_BYTES {
            return Err(Refusal::TooLarge {
                limit: MAX_ADD_CHECKPOINT_BYTES,
            });
        }
        // The old size line and the proof lines are never empty, so the
        // first blank line is the one before the checkpoint.
        let blank = body
            .windows(2)
            .position(|pair| pair == b"\n\n")
            .ok_or_else(|| malformed("no blank line before the checkpoint"))?;
        let head = std::str::from_utf8(&body[..blank])
            .map_err(|_| malformed("the lines before the checkpoint are not UTF-8"))?;
        let checkpoint = std::str::from_utf8(&body[blank + 2..])
            .map_err(|_| malformed("the checkpoint is not UTF-8"))?;
        let mut lines = head.split('\n');
        let old_size = lines
            .next()
            .and_then(|line| line.strip_prefix("old "))
            .and_then(parse_canonical_u64)
            .ok_or_else(|| {
                malformed(
                    "the first line is not `old <size>` with a decimal size without leading zeroes",
                )
            })?;
        let proof = lines
            .take(MAX_PROOF_LINES + 1)
            .map(|line| {
                Hash::from_base64(line)
                    .map_err(|_| malformed("a consistency proof line is not a base64 hash"))
            })
            .collect::<Result<Vec<Hash>, Refusal>>()?;
        if proof.len() > MAX_PROOF_LINES {
            return Err(malformed("more than 63 consistency proof lines"));
        }
        Ok(AddCheckpoint {
            old_size,
            proof,
            checkpoint: checkpoint.to_owned(),
        })
    }

    /// The request body, as a log sends it.
    pub fn to_body(&self) -> String {
        let mut body =
            String::with_capacity(24 + self.proof.len() * 45 + 1 + self.checkpoint.len());
        body.push_str("old ");
        body.push_str(&self.old_size.to_string());
        body.push('\n');
        for hash in &self.proof {
            body.push_str(&hash.to_base64());
            body.push('\n');
        }
        body.push('\n');
        body.push_str(&self.checkpoint);
        body
    }

    /// Reads the checkpoint note and verifies it with the keys that
    /// `keys_of` gives for its origin, in the protocol's order: a malformed
    /// note or checkpoint (C2SP tlog-checkpoint, extension lines allowed),
    /// then an unknown origin, then the signatures (those by other keys are
    /// ignored).
    pub fn open<'k>(
        &self,
        keys_of: impl FnOnce(&str) -> Option<&'k [VerifierKey]>,
    ) -> Result<OpenedCheckpoint, Refusal> {
        let note = Note::parse(&self.checkpoint).map_err(malformed)?;
        let checkpoint = Checkpoint::parse(&note.text).map_err(malformed)?;
        let keys = keys_of(&checkpoint.origin)
            .ok_or_else(|| Refusal::UnknownOrigin(checkpoint.origin.clone()))?;
        let note = note.verify(keys).map_err(Refusal::Unverified)?;
        Ok(OpenedCheckpoint { checkpoint, note })
    }
}

/// The witness's consistency checks, in the protocol's order, of a
/// checkpoint against `latest`, the latest checkpoint it cosigned for the
/// log (`None` if none): the old size is at most the new size (400), is
/// the latest size (409), a size-0 checkpoint has the empty root, a proof
/// from 0 is empty, the same size has the same root, and the proof verifies
/// (422).
pub fn check_consistency(
    latest: Option<&Checkpoint>,
    old_size: u64,
    proof: &[Hash],
    new: &Checkpoint,
) -> Result<(), Refusal> {
    if old_size > new.size {
        return Err(Refusal::OldSizeAfterNew {
            old: old_size,
            size: new.size,
        });
    }
    let latest_size = latest.map_or(0, |c| c.size);
    if old_size != latest_size {
        return Err(Refusal::Conflict {
            old: old_size,
            latest: latest_size,
        });
    }
    if new.size == 0 && new.root != empty_root() {
        return Err(Refusal::EmptyTreeRoot);
    }
    let Some(latest) = latest.filter(|c| c.size > 0) else {
        return match proof.len() {
            0 => Ok(()),
            n => Err(Refusal::ProofFromEmptyTree(n)),
        };
    };
    if new.size == latest.size && new.root != latest.root {
        return Err(Refusal::SameSizeDifferentRoot);
    }
    verify_consistency(latest.size, new.size, proof, &latest.root, &new.root)
        .map_err(Refusal::Inconsistent)
}

/// The body of a 409 answer: the witness's latest size and a newline.
pub fn tlog_size_body(size: u64) -> String {
    format!("{size}\n")
}

/// Reads the body of a 409 answer ([`TLOG_SIZE_CONTENT_TYPE`]): a decimal
/// size without leading zeroes, then a newline.
pub fn parse_tlog_size(body: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(body).ok()?.strip_suffix('\n')?;
    parse_canonical_u64(text)
}

/// Why a witness's 200 answer gave no valid cosignature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CosignatureResponseError {
    #[error("the answer is not signature lines: {0}")]
    Malformed(NoteError),
    #[error("the answer has no signature by {0}")]
    Missing(String),
    #[error("the signature by {0} does not verify")]
    Invalid(String),
}

/// Reads a witness's answer to `add-checkpoint` (one or more signature
/// lines) and returns its signature by `key` on `checkpoint_text` (the
/// note text the log sent), verified: a tlog-cosignature if `key` is a
/// type 0x04 key, a plain note signature if it is a type 0x01 key. Lines by
/// other keys are ignored. The returned line goes after the log's own
/// signature in the checkpoint note ([`Signature::to_line`]); its time is
/// [`Signature::cosignature`].
pub fn verify_cosignature_response(
    checkpoint_text: &str,
    body: &str,
    key: &VerifierKey,
) -> Result<Signature, CosignatureResponseError> {
    let signatures = Signature::parse_lines(body).map_err(CosignatureResponseError::Malformed)?;
    verified_signature(checkpoint_text, &signatures, key).cloned()
}

/// The first of `signatures` by `key` (its name and key id), verified over
/// `text`, as a verifier reads one witness's signature on a note.
pub fn verified_signature<'s>(
    text: &str,
    signatures: &'s [Signature],
    key: &VerifierKey,
) -> Result<&'s Signature, CosignatureResponseError> {
    let named = || format!("{}+{}", key.name(), key.key_id());
    let signature = signatures
        .iter()
        .find(|s| s.name == key.name() && s.key_id == key.key_id())
        .ok_or_else(|| CosignatureResponseError::Missing(named()))?;
    let bytes = signature
        .bytes()
        .map_err(CosignatureResponseError::Malformed)?;
    if !key.verify(text, &bytes) {
        return Err(CosignatureResponseError::Invalid(named()));
    }
    Ok(signature)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{MemoryTree, consistency_proof};
    use crate::note::SigningKey;

    const ORIGIN: &str = "example.com/log";

    fn log_key() -> SigningKey {
        SigningKey::from_seed(ORIGIN, &[1; 32]).unwrap()
    }

    fn tree(size: u64, fork: u8) -> MemoryTree {
        MemoryTree::from_leaf_hashes((0..size).map(|i| {
            let mut leaf = [fork; 32];
            leaf[..8].copy_from_slice(&i.to_be_bytes());
            Hash(leaf)
        }))
    }

    fn checkpoint(tree: &MemoryTree) -> Checkpoint {
        Checkpoint::new(ORIGIN, tree.size(), tree.root())
    }

    #[test]
    fn request_bodies_round_trip() {
        let big = tree(20, 0);
        let request = AddCheckpoint {
            old_size: 7,
            proof: consistency_proof(7, 20, &big).unwrap(),
            checkpoint: checkpoint(&big).sign(&log_key()).unwrap(),
        };
        let body = request.to_body();
        assert!(body.starts_with("old 7\n"));
        assert_eq!(AddCheckpoint::parse(body.as_bytes()), Ok(request.clone()));

        let first = AddCheckpoint {
            old_size: 0,
            proof: Vec::new(),
            checkpoint: request.checkpoint.clone(),
        };
        assert_eq!(first.to_body(), format!("old 0\n\n{}", request.checkpoint));
        assert_eq!(AddCheckpoint::parse(first.to_body().as_bytes()), Ok(first));
    }

    #[test]
    fn malformed_bodies_are_refused() {
        let note = checkpoint(&tree(3, 0)).sign(&log_key()).unwrap();
        let hash = Hash([5; 32]).to_base64();
        let too_many = format!("old 1\n{}\n{note}", format!("{hash}\n").repeat(64));
        for body in [
            format!("old 0\n{note}"),
            format!("old 00\n\n{note}"),
            format!("old 01\n\n{note}"),
            format!("old -1\n\n{note}"),
            format!("old  1\n\n{note}"),
            format!("Old 1\n\n{note}"),
            format!("old 18446744073709551616\n\n{note}"),
            format!("\nold 0\n\n{note}"),
            format!("old 1\nnot base64\n\n{note}"),
            format!("old 1\n{}\n\n{note}", &hash[..40]),
            format!("old 1\n{hash}\r\n\n{note}"),
            too_many,
            "old 0\n".to_owned(),
            String::new(),
        ] {
            assert!(
                matches!(
                    AddCheckpoint::parse(body.as_bytes()),
                    Err(Refusal::Malformed(_))
                ),
                "{body:?}"
            );
        }
        let at_limit = format!("old 1\n{}\n{note}", format!("{hash}\n").repeat(63));
        assert_eq!(
            AddCheckpoint::parse(at_limit.as_bytes())
                .unwrap()
                .proof
                .len(),
            63
        );
        let huge = format!("old 0\n\n{}", "a".repeat(MAX_ADD_CHECKPOINT_BYTES));
        assert_eq!(
            AddCheckpoint::parse(huge.as_bytes()),
            Err(Refusal::TooLarge {
                limit: MAX_ADD_CHECKPOINT_BYTES
            })
        );
        let mut not_utf8 = b"old 0\n\n".to_vec();
        not_utf8.extend_from_slice(&[0xff, b'\n']);
        assert!(matches!(
            AddCheckpoint::parse(&not_utf8),
            Err(Refusal::Malformed(_))
        ));
    }

    #[test]
    fn opening_checks_note_then_origin_then_signature() {
        let key = log_key();
        let keys = [key.verifier_key()];
        let keys_of = |origin: &str| (origin == ORIGIN).then_some(&keys[..]);
        let request = |checkpoint: String| AddCheckpoint {
            old_size: 0,
            proof: Vec::new(),
            checkpoint,
        };
        let good = checkpoint(&tree(3, 0));
        let opened = request(good.sign(&key).unwrap()).open(keys_of).unwrap();
        assert_eq!(opened.checkpoint, good);
        assert_eq!(opened.note.verified.len(), 1);

        // Extension lines are C2SP's to allow; the witness cosigns them too.
        let mut extended = good.clone();
        extended.extensions.push("extension".into());
        let signed = key.sign_note(&extended.to_text()).unwrap();
        assert_eq!(request(signed).open(keys_of).unwrap().checkpoint, extended);

        assert!(matches!(
            request("no note".into()).open(keys_of),
            Err(Refusal::Malformed(_))
        ));
        let not_a_checkpoint = key.sign_note("example.com/log\nten\n").unwrap();
        assert!(matches!(
            request(not_a_checkpoint).open(keys_of),
            Err(Refusal::Malformed(_))
        ));
        let stranger = SigningKey::from_seed("example.com/other", &[2; 32]).unwrap();
        let other = Checkpoint::new("example.com/other", 1, Hash([1; 32]));
        assert_eq!(
            request(other.sign(&stranger).unwrap()).open(keys_of),
            Err(Refusal::UnknownOrigin("example.com/other".into()))
        );
        // Same name, another key: unknown, so nothing verifies.
        let impostor = SigningKey::from_seed(ORIGIN, &[3; 32]).unwrap();
        assert!(matches!(
            request(good.sign(&impostor).unwrap()).open(keys_of),
            Err(Refusal::Unverified(NoteError::NoVerifiedSignature(_)))
        ));
        // The right key's line over another text: it fails to verify.
        let signed = good.sign(&key).unwrap();
        let forged = signed.replacen("\n3\n", "\n4\n", 1);
        assert!(matches!(
            request(forged).open(keys_of),
            Err(Refusal::Unverified(NoteError::InvalidSignature { .. }))
        ));
    }

    #[test]
    fn consistency_checks_follow_the_protocol() {
        let (t5, t8, f8) = (tree(5, 0), tree(8, 0), tree(8, 9));
        let (c5, c8, fork8) = (checkpoint(&t5), checkpoint(&t8), checkpoint(&f8));
        let proof = consistency_proof(5, 8, &t8).unwrap();
        let empty = Checkpoint::new(ORIGIN, 0, empty_root());

        // First checkpoint: any size, no proof.
        assert_eq!(check_consistency(None, 0, &[], &c5), Ok(()));
        assert_eq!(check_consistency(None, 0, &[], &empty), Ok(()));
        assert_eq!(
            check_consistency(None, 0, &proof, &c5),
            Err(Refusal::ProofFromEmptyTree(proof.len()))
        );
        let bad_empty = Checkpoint::new(ORIGIN, 0, Hash([1; 32]));
        assert_eq!(
            check_consistency(None, 0, &[], &bad_empty),
            Err(Refusal::EmptyTreeRoot)
        );
        assert_eq!(
            check_consistency(None, 3, &[], &c5),
            Err(Refusal::Conflict { old: 3, latest: 0 })
        );
        assert_eq!(
            check_consistency(None, 6, &[], &c5),
            Err(Refusal::OldSizeAfterNew { old: 6, size: 5 })
        );
        // After an empty tree was cosigned, any tree follows without proof.
        assert_eq!(check_consistency(Some(&empty), 0, &[], &c8), Ok(()));

        // Growing with a proof.
        assert_eq!(check_consistency(Some(&c5), 5, &proof, &c8), Ok(()));
        assert_eq!(
            check_consistency(Some(&c5), 0, &[], &c8),
            Err(Refusal::Conflict { old: 0, latest: 5 })
        );
        assert!(matches!(
            check_consistency(Some(&c5), 5, &proof, &fork8),
            Err(Refusal::Inconsistent(_))
        ));
        assert!(matches!(
            check_consistency(Some(&c5), 5, &[], &c8),
            Err(Refusal::Inconsistent(_))
        ));
        // The same checkpoint again is cosigned again; another root is not.
        assert_eq!(check_consistency(Some(&c8), 8, &[], &c8), Ok(()));
        assert_eq!(
            check_consistency(Some(&c8), 8, &[], &fork8),
            Err(Refusal::SameSizeDifferentRoot)
        );
        assert!(matches!(
            check_consistency(Some(&c8), 8, &proof, &c8),
            Err(Refusal::Inconsistent(_))
        ));
        // Shrinking is malformed, as the protocol says (400), whatever the
        // witness's size.
        assert_eq!(
            check_consistency(Some(&c8), 8, &[], &c5),
            Err(Refusal::OldSizeAfterNew { old: 8, size: 5 })
        );
    }

    #[test]
    fn size_bodies() {
        assert_eq!(tlog_size_body(0), "0\n");
        assert_eq!(
            parse_tlog_size(tlog_size_body(12345).as_bytes()),
            Some(12345)
        );
        for bad in [
            "", "\n", "5", "05\n", "5\n\n", " 5\n", "5 \n", "-5\n", "x\n",
        ] {
            assert_eq!(parse_tlog_size(bad.as_bytes()), None, "{bad:?}");
        }
    }

    #[test]
    fn cosignature_answers_are_verified() {
        let witness = SigningKey::from_seed("witness.example/w1", &[4; 32]).unwrap();
        let cosigner = witness.cosignature_verifier_key();
        let text = checkpoint(&tree(3, 0)).to_text();
        let line = witness.cosign(&text, 1_700_000_000).unwrap();
        let other = SigningKey::from_seed("witness.example/w2", &[5; 32])
            .unwrap()
            .cosign(&text, 1_700_000_000)
            .unwrap();

        let found =
            verify_cosignature_response(&text, &format!("{other}{line}"), &cosigner).unwrap();
        assert_eq!(found.to_line(), line);
        assert_eq!(found.cosignature().unwrap().timestamp, 1_700_000_000);

        let other_text = checkpoint(&tree(4, 0)).to_text();
        assert!(matches!(
            verify_cosignature_response(&other_text, &line, &cosigner),
            Err(CosignatureResponseError::Invalid(_))
        ));
        assert!(matches!(
            verify_cosignature_response(&text, &other, &cosigner),
            Err(CosignatureResponseError::Missing(_))
        ));
        // The plain (type 0x01) key has another key id: not its line.
        assert!(matches!(
            verify_cosignature_response(&text, &line, &witness.verifier_key()),
            Err(CosignatureResponseError::Missing(_))
        ));
        for bad in ["", "\n", line.trim_end(), "— name\n"] {
            assert!(matches!(
                verify_cosignature_response(&text, bad, &cosigner),
                Err(CosignatureResponseError::Malformed(_))
            ));
        }
        // An older witness's plain note signature, with its type 0x01 key.
        let signed = witness.sign_note(&text).unwrap();
        let plain = &signed[text.len() + 1..];
        assert!(verify_cosignature_response(&text, plain, &witness.verifier_key()).is_ok());
    }
}
