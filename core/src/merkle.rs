//! The RFC 6962 / RFC 9162 §2.1 Merkle tree: node addressing, the compact
//! range that appends leaves in O(log n) memory, roots of earlier sizes,
//! inclusion and consistency proofs, and their verification.
//!
//! Storage is reached only through [`NodeReader`], which reads the hashes of
//! complete subtrees ([`NodeId`]s) in one batch. Every function here asks for
//! all the nodes it needs in a single `read_nodes` call.
//!
//! A tree's root for a size that is not a power of two is not stored
//! anywhere: it is the right-to-left fold of the size's maximal complete
//! subtrees ([`compact_range_ids`]), which is also how proofs are built.

use std::ops::Range;

use crate::hash::{Hash, empty_root, node_hash};

/// A complete subtree: the `2^level` leaves starting at `index << level`.
///
/// Level 0 nodes are leaf hashes; the node at `(level, index)` hashes the
/// nodes `(level - 1, 2 * index)` and `(level - 1, 2 * index + 1)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId {
    pub level: u8,
    pub index: u64,
}

impl NodeId {
    pub const fn new(level: u8, index: u64) -> NodeId {
        NodeId { level, index }
    }

    /// The node of leaf `index`.
    pub const fn leaf(index: u64) -> NodeId {
        NodeId { level: 0, index }
    }
}

/// Batched read access to stored node hashes, implemented by storage.
pub trait NodeReader {
    type Error;
    /// Returns the hashes of `ids`, in the same order and one per id.
    fn read_nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, Self::Error>;
}

/// Why a root or proof could not be built from stored nodes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError<E> {
    #[error("leaf index {index} is not in a tree of size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("old tree size {old} is larger than new tree size {new}")]
    OldSizeAfterNew { old: u64, new: u64 },
    #[error("the node reader returned {got} hashes for {expected} node ids")]
    WrongNodeCount { expected: usize, got: usize },
    #[error("reading node hashes failed: {0}")]
    Reader(E),
}

/// Why a proof did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("leaf index {index} is not in a tree of size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("a consistency proof from the empty tree proves nothing (old size is 0)")]
    OldSizeZero,
    #[error("old tree size {old} is larger than new tree size {new}")]
    OldSizeAfterNew { old: u64, new: u64 },
    #[error("the proof has {got} hashes, but these sizes need exactly {expected}")]
    WrongProofLength { expected: usize, got: usize },
    #[error("the proof gives root {computed}, but the expected root is {expected}")]
    RootMismatch { computed: Hash, expected: Hash },
    #[error("the proof gives old root {computed}, but the expected old root is {expected}")]
    OldRootMismatch { computed: Hash, expected: Hash },
    #[error("the sizes are equal but the roots differ: {old_root} and {new_root}")]
    EqualSizesDifferentRoots { old_root: Hash, new_root: Hash },
}

/// Why parts do not make a [`CompactRange`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a compact range of size {size} has {expected} hashes (one per set bit), not {got}")]
pub struct CompactRangeError {
    pub size: u64,
    pub expected: usize,
    pub got: usize,
}

/// The maximal complete subtrees of a tree of `size` leaves, left to right:
/// one per set bit of `size`, largest first.
pub fn compact_range_ids(size: u64) -> Vec<NodeId> {
    subtree_ids(0, size)
}

/// Decomposes the leaf range `[start, end)` into the fewest aligned complete
/// subtrees, left to right. Empty when `start >= end`.
pub fn subtree_ids(start: u64, end: u64) -> Vec<NodeId> {
    let mut ids = Vec::new();
    let mut at = start;
    while at < end {
        // The largest subtree that is aligned at `at` (any size is aligned at
        // 0, whose trailing_zeros is 64) and fits before `end`.
        let level = (end - at).ilog2().min(at.trailing_zeros());
        ids.push(NodeId::new(level as u8, at >> level));
        at += 1 << level;
    }
    ids
}

/// Folds the roots of consecutive subtrees right to left, which is how
/// RFC 6962 hashes a range that ends at the tree's right edge.
fn fold_right_edge(hashes: &[Hash]) -> Option<Hash> {
    let (last, rest) = hashes.split_last()?;
    Some(
        rest.iter()
            .rev()
            .fold(*last, |right, left| node_hash(left, &right)),
    )
}

/// The right edge of a growing tree: the roots of its maximal complete
/// subtrees. Appending costs O(log n) hashing and memory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompactRange {
    size: u64,
    /// Roots of `compact_range_ids(size)`, left (largest) to right.
    hashes: Vec<Hash>,
}

impl CompactRange {
    /// The empty tree.
    pub fn new() -> CompactRange {
        CompactRange::default()
    }

    /// Restores a range from its size and the hashes of
    /// `compact_range_ids(size)`, for example at startup.
    pub fn from_parts(size: u64, hashes: Vec<Hash>) -> Result<CompactRange, CompactRangeError> {
        let expected = size.count_ones() as usize;
        if hashes.len() != expected {
            return Err(CompactRangeError {
                size,
                expected,
                got: hashes.len(),
            });
        }
        Ok(CompactRange { size, hashes })
    }

    /// Restores the range of an earlier or current size from stored nodes.
    pub fn load<R: NodeReader>(
        size: u64,
        reader: &R,
    ) -> Result<CompactRange, ProofError<R::Error>> {
        let hashes = read_exact(reader, &compact_range_ids(size))?;
        Ok(CompactRange { size, hashes })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The hashes of `compact_range_ids(self.size())`, left to right.
    pub fn hashes(&self) -> &[Hash] {
        &self.hashes
    }

    /// Appends a leaf hash. `on_node` is called for every complete subtree
    /// this forms, bottom up: the leaf itself at level 0, then each node that
    /// the new leaf completes. Storage keeps these to answer [`NodeReader`].
    ///
    /// # Panics
    /// When the tree already holds `u64::MAX` leaves.
    pub fn append(&mut self, leaf: Hash, mut on_node: impl FnMut(NodeId, Hash)) {
        let old_size = self.size;
        self.size = old_size
            .checked_add(1)
            .expect("a tree holds at most u64::MAX leaves");
        on_node(NodeId::leaf(old_size), leaf);
        let mut hash = leaf;
        let mut level = 0u8;
        // Every set low bit of the old size is a subtree the new leaf's
        // subtree now pairs with, as in binary addition.
        while (old_size >> level) & 1 == 1 {
            let left = self.hashes.pop().expect("one hash per set bit of the size");
            hash = node_hash(&left, &hash);
            level += 1;
            on_node(NodeId::new(level, old_size >> level), hash);
        }
        self.hashes.push(hash);
    }

    /// The tree's root hash (the empty root for size 0).
    pub fn root(&self) -> Hash {
        fold_right_edge(&self.hashes).unwrap_or_else(empty_root)
    }
}

/// Reads `ids` in one call and checks the reader answered each of them.
fn read_exact<R: NodeReader>(
    reader: &R,
    ids: &[NodeId],
) -> Result<Vec<Hash>, ProofError<R::Error>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let hashes = reader.read_nodes(ids).map_err(ProofError::Reader)?;
    if hashes.len() != ids.len() {
        return Err(ProofError::WrongNodeCount {
            expected: ids.len(),
            got: hashes.len(),
        });
    }
    Ok(hashes)
}

/// Computes the Merkle hash of each leaf range from stored nodes, with one
/// read for all of them. Every range is non-empty and either a complete
/// subtree or a range ending at the right edge of a tree.
fn range_hashes<R: NodeReader>(
    ranges: &[Range<u64>],
    reader: &R,
) -> Result<Vec<Hash>, ProofError<R::Error>> {
    let per_range: Vec<Vec<NodeId>> = ranges.iter().map(|r| subtree_ids(r.start, r.end)).collect();
    let ids: Vec<NodeId> = per_range.iter().flatten().copied().collect();
    let hashes = read_exact(reader, &ids)?;
    let mut rest = hashes.as_slice();
    let mut out = Vec::with_capacity(ranges.len());
    for ids in &per_range {
        let (these, tail) = rest.split_at(ids.len());
        out.push(fold_right_edge(these).expect("proof ranges are non-empty"));
        rest = tail;
    }
    Ok(out)
}

/// The root of the tree of the first `size` leaves (the empty root for 0).
pub fn root_at<R: NodeReader>(size: u64, reader: &R) -> Result<Hash, ProofError<R::Error>> {
    Ok(CompactRange::load(size, reader)?.root())
}

/// The largest power of two smaller than `n` (RFC 9162's `k`), for `n >= 2`.
fn split_point(n: u64) -> u64 {
    1 << (n - 1).ilog2()
}

/// The leaf ranges whose hashes make the inclusion proof of `index` in a
/// tree of `size` (RFC 9162 §2.1.3.1 `PATH`), leaf end first.
fn inclusion_ranges(index: u64, size: u64) -> Vec<Range<u64>> {
    let (mut lo, mut hi) = (0, size);
    let mut ranges = Vec::new();
    while hi - lo > 1 {
        let mid = lo + split_point(hi - lo);
        if index < mid {
            ranges.push(mid..hi);
            hi = mid;
        } else {
            ranges.push(lo..mid);
            lo = mid;
        }
    }
    ranges.reverse();
    ranges
}

/// The leaf ranges whose hashes make the consistency proof between sizes
/// `0 < old < new` (RFC 9162 §2.1.4.1 `SUBPROOF`), innermost first.
fn consistency_ranges(old: u64, new: u64) -> Vec<Range<u64>> {
    let (mut lo, mut hi) = (0, new);
    // Whether the current subtree [lo, old) is the whole old tree, whose
    // root the verifier already has.
    let mut old_is_whole = true;
    let mut ranges = Vec::new();
    while old != hi {
        let mid = lo + split_point(hi - lo);
        if old <= mid {
            ranges.push(mid..hi);
            hi = mid;
        } else {
            ranges.push(lo..mid);
            lo = mid;
            old_is_whole = false;
        }
    }
    if !old_is_whole {
        ranges.push(lo..hi);
    }
    ranges.reverse();
    ranges
}

/// The inclusion proof of leaf `index` in the tree of the first `size`
/// leaves (RFC 9162 §2.1.3.1), from the leaf's sibling up.
pub fn inclusion_proof<R: NodeReader>(
    index: u64,
    size: u64,
    reader: &R,
) -> Result<Vec<Hash>, ProofError<R::Error>> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    range_hashes(&inclusion_ranges(index, size), reader)
}

/// The consistency proof between the trees of the first `old` and `new`
/// leaves (RFC 9162 §2.1.4.1).
///
/// The proof is empty when `old == new`, and also when `old == 0`: every
/// tree extends the empty tree, so there is nothing to prove (SPEC §5 serves
/// that empty proof). [`verify_consistency`] refuses `old == 0` as RFC 9162
/// does, so a verifier must treat the empty old tree itself.
pub fn consistency_proof<R: NodeReader>(
    old: u64,
    new: u64,
    reader: &R,
) -> Result<Vec<Hash>, ProofError<R::Error>> {
    if old > new {
        return Err(ProofError::OldSizeAfterNew { old, new });
    }
    if old == 0 || old == new {
        return Ok(Vec::new());
    }
    range_hashes(&consistency_ranges(old, new), reader)
}

/// How an inclusion proof of `index` in a tree of `size` splits: `inner`
/// hashes below the point where the leaf's path meets the right edge of the
/// tree, then `border` hashes along that edge.
fn inclusion_proof_shape(index: u64, size: u64) -> (usize, usize) {
    let inner = (u64::BITS - (index ^ (size - 1)).leading_zeros()) as usize;
    // `inner` is 64 when the path meets the right edge only at the root of a
    // tree of more than 2^63 leaves: then no bits are left for the border.
    let border = index.checked_shr(inner as u32).unwrap_or(0).count_ones() as usize;
    (inner, border)
}

/// Hashes `seed` with the inner proof hashes; bit `i` of `index` says on
/// which side proof hash `i` goes.
fn chain_inner(seed: Hash, proof: &[Hash], index: u64) -> Hash {
    proof.iter().enumerate().fold(seed, |acc, (i, p)| {
        if (index >> i) & 1 == 0 {
            node_hash(&acc, p)
        } else {
            node_hash(p, &acc)
        }
    })
}

/// Like [`chain_inner`] but only takes left siblings: the hashes to the
/// right of the old tree's edge are not part of the old tree.
fn chain_inner_right(seed: Hash, proof: &[Hash], index: u64) -> Hash {
    proof.iter().enumerate().fold(seed, |acc, (i, p)| {
        if (index >> i) & 1 == 1 {
            node_hash(p, &acc)
        } else {
            acc
        }
    })
}

/// Hashes `seed` with proof hashes that all lie to its left.
fn chain_border_right(seed: Hash, proof: &[Hash]) -> Hash {
    proof.iter().fold(seed, |acc, p| node_hash(p, &acc))
}

/// The root that an inclusion proof of `leaf` at `index` gives for a tree
/// of `size` (RFC 9162 §2.1.3.2), after checking the proof's length.
pub fn root_from_inclusion_proof(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
) -> Result<Hash, VerifyError> {
    if index >= size {
        return Err(VerifyError::IndexOutOfRange { index, size });
    }
    let (inner, border) = inclusion_proof_shape(index, size);
    if proof.len() != inner + border {
        return Err(VerifyError::WrongProofLength {
            expected: inner + border,
            got: proof.len(),
        });
    }
    let (inner_proof, border_proof) = proof.split_at(inner);
    Ok(chain_border_right(
        chain_inner(*leaf, inner_proof, index),
        border_proof,
    ))
}

/// Verifies that `leaf` is leaf `index` of the tree of `size` with `root`.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), VerifyError> {
    let computed = root_from_inclusion_proof(leaf, index, size, proof)?;
    if computed != *root {
        return Err(VerifyError::RootMismatch {
            computed,
            expected: *root,
        });
    }
    Ok(())
}

/// Verifies that the tree of `old` leaves with `old_root` is a prefix of the
/// tree of `new` leaves with `new_root` (RFC 9162 §2.1.4.2).
///
/// `old == 0` is refused (the proof would prove nothing), and equal sizes
/// need an empty proof and equal roots, compared without hashing.
pub fn verify_consistency(
    old: u64,
    new: u64,
    proof: &[Hash],
    old_root: &Hash,
    new_root: &Hash,
) -> Result<(), VerifyError> {
    if old == 0 {
        return Err(VerifyError::OldSizeZero);
    }
    if old > new {
        return Err(VerifyError::OldSizeAfterNew { old, new });
    }
    if old == new {
        return verify_equal_sizes(proof, old_root, new_root);
    }
    let path = ConsistencyPath::split(old, new, proof, old_root)?;
    let computed_old = path.old_root();
    if computed_old != *old_root {
        return Err(VerifyError::OldRootMismatch {
            computed: computed_old,
            expected: *old_root,
        });
    }
    let computed_new = path.new_root();
    if computed_new != *new_root {
        return Err(VerifyError::RootMismatch {
            computed: computed_new,
            expected: *new_root,
        });
    }
    Ok(())
}

/// A consistency proof between equal sizes proves the roots equal only if
/// it is empty and they are.
fn verify_equal_sizes(proof: &[Hash], old_root: &Hash, new_root: &Hash) -> Result<(), VerifyError> {
    if !proof.is_empty() {
        return Err(VerifyError::WrongProofLength {
            expected: 0,
            got: proof.len(),
        });
    }
    if old_root != new_root {
        return Err(VerifyError::EqualSizesDifferentRoots {
            old_root: *old_root,
            new_root: *new_root,
        });
    }
    Ok(())
}

/// A consistency proof between sizes `0 < old < new`, in its parts: one
/// chain of hashes from which both roots are computed.
struct ConsistencyPath<'a> {
    /// The root of the largest complete subtree that ends at `old`.
    seed: Hash,
    /// The hashes beside the path from `seed` up to where it meets the new
    /// tree's right edge; the old root takes only those on its left.
    inner: &'a [Hash],
    /// The hashes along the new tree's right edge above that point, all to
    /// the left of the path.
    border: &'a [Hash],
    /// Leaf old-1's index above `seed`'s level: bit `i` says on which side
    /// `inner[i]` goes.
    mask: u64,
}

impl<'a> ConsistencyPath<'a> {
    /// Splits `proof`, checking its length. The proof is the inclusion proof
    /// of leaf old-1 in the new tree, minus the hashes inside the largest
    /// complete subtree that ends at `old`, plus that subtree's root first
    /// unless it is the whole old tree (then it is `old_root`).
    fn split(
        old: u64,
        new: u64,
        proof: &'a [Hash],
        old_root: &Hash,
    ) -> Result<ConsistencyPath<'a>, VerifyError> {
        let shift = old.trailing_zeros() as usize;
        let (inner, border) = inclusion_proof_shape(old - 1, new);
        let inner = inner - shift;
        let old_is_subtree = old == 1 << shift;
        let expected = usize::from(!old_is_subtree) + inner + border;
        if proof.len() != expected {
            return Err(VerifyError::WrongProofLength {
                expected,
                got: proof.len(),
            });
        }
        let (seed, path) = if old_is_subtree {
            (*old_root, proof)
        } else {
            (proof[0], &proof[1..])
        };
        let (inner, border) = path.split_at(inner);
        Ok(ConsistencyPath {
            seed,
            inner,
            border,
            mask: (old - 1) >> shift,
        })
    }

    /// The old root: only the hashes to the left of the path count.
    fn old_root(&self) -> Hash {
        chain_border_right(
            chain_inner_right(self.seed, self.inner, self.mask),
            self.border,
        )
    }

    /// The new root: every hash of the path counts.
    fn new_root(&self) -> Hash {
        chain_border_right(chain_inner(self.seed, self.inner, self.mask), self.border)
    }
}

/// A whole tree in memory that answers [`NodeReader`]: for tests, tools and
/// benchmarks, not for a log that must outlive the process.
#[derive(Debug, Clone, Default)]
pub struct MemoryTree {
    /// `levels[l][i]` is the hash of node `(l, i)`.
    levels: Vec<Vec<Hash>>,
    range: CompactRange,
}

/// A node that a [`MemoryTree`] does not hold (its subtree is not complete).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("node {0:?} is not in the tree")]
pub struct MissingNode(pub NodeId);

impl MemoryTree {
    pub fn new() -> MemoryTree {
        MemoryTree::default()
    }

    /// The tree of these leaf hashes.
    pub fn from_leaf_hashes(leaves: impl IntoIterator<Item = Hash>) -> MemoryTree {
        let mut tree = MemoryTree::new();
        for leaf in leaves {
            tree.append(leaf);
        }
        tree
    }

    pub fn append(&mut self, leaf: Hash) {
        let levels = &mut self.levels;
        self.range.append(leaf, |id, hash| {
            let level = usize::from(id.level);
            if levels.len() <= level {
                levels.push(Vec::new());
            }
            levels[level].push(hash);
        });
    }

    pub fn size(&self) -> u64 {
        self.range.size()
    }

    pub fn root(&self) -> Hash {
        self.range.root()
    }

    /// The hash of a complete subtree, if the tree holds it.
    pub fn node(&self, id: NodeId) -> Option<Hash> {
        let level = self.levels.get(usize::from(id.level))?;
        level.get(usize::try_from(id.index).ok()?).copied()
    }

    /// The compact range at the current size, e.g. to go on appending elsewhere.
    pub fn compact_range(&self) -> &CompactRange {
        &self.range
    }
}

impl NodeReader for MemoryTree {
    type Error = MissingNode;

    fn read_nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, MissingNode> {
        ids.iter()
            .map(|&id| self.node(id).ok_or(MissingNode(id)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;

    #[test]
    fn subtree_ids_decompose_unaligned_ranges() {
        assert_eq!(subtree_ids(0, 0), vec![]);
        assert_eq!(subtree_ids(5, 5), vec![]);
        assert_eq!(
            subtree_ids(0, 7),
            vec![NodeId::new(2, 0), NodeId::new(1, 2), NodeId::new(0, 6)]
        );
        assert_eq!(
            subtree_ids(3, 13),
            vec![
                NodeId::new(0, 3),
                NodeId::new(2, 1),
                NodeId::new(2, 2),
                NodeId::new(0, 12)
            ]
        );
        assert_eq!(subtree_ids(8, 16), vec![NodeId::new(3, 1)]);
        assert_eq!(compact_range_ids(u64::MAX).len(), 64);
        assert_eq!(compact_range_ids(u64::MAX)[0], NodeId::new(63, 0));
    }

    #[test]
    fn split_point_is_largest_power_of_two_below() {
        assert_eq!(split_point(2), 1);
        assert_eq!(split_point(3), 2);
        assert_eq!(split_point(8), 4);
        assert_eq!(split_point(9), 8);
    }

    #[test]
    fn proof_ranges_follow_rfc_9162_examples() {
        // RFC 9162 §2.1.5: the inclusion proof of d0 in the 7-leaf tree is
        // [b, h, l] = [1,2), [2,4), [4,7).
        assert_eq!(inclusion_ranges(0, 7), vec![1..2, 2..4, 4..7]);
        // ... of d3 is [c, g, l]; of d4 is [f, j, k].
        assert_eq!(inclusion_ranges(3, 7), vec![2..3, 0..2, 4..7]);
        assert_eq!(inclusion_ranges(4, 7), vec![5..6, 6..7, 0..4]);
        // Consistency 3→7 is [c, d, g, l]; 4→7 is [l]; 6→7 is [i, j, k].
        assert_eq!(consistency_ranges(3, 7), vec![2..3, 3..4, 0..2, 4..7]);
        assert_eq!(consistency_ranges(4, 7), vec![4..7]);
        assert_eq!(consistency_ranges(6, 7), vec![4..6, 6..7, 0..4]);
    }

    #[test]
    fn from_parts_checks_the_hash_count() {
        let err = CompactRange::from_parts(5, vec![Hash::ZERO]).unwrap_err();
        assert_eq!(
            err,
            CompactRangeError {
                size: 5,
                expected: 2,
                got: 1
            }
        );
        let range = CompactRange::from_parts(5, vec![Hash::ZERO, Hash::ZERO]).unwrap();
        assert_eq!(range.size(), 5);
        assert_eq!(CompactRange::new().root(), empty_root());
    }

    #[test]
    fn append_reports_each_new_complete_subtree() {
        let mut range = CompactRange::new();
        let mut seen = Vec::new();
        for i in 0..4u8 {
            range.append(leaf_hash(&[i]), |id, _| seen.push(id));
        }
        assert_eq!(
            seen,
            vec![
                NodeId::new(0, 0),
                NodeId::new(0, 1),
                NodeId::new(1, 0),
                NodeId::new(0, 2),
                NodeId::new(0, 3),
                NodeId::new(1, 1),
                NodeId::new(2, 0),
            ]
        );
    }

    #[test]
    fn reader_that_answers_short_is_an_error() {
        struct Short;
        impl NodeReader for Short {
            type Error = ();
            fn read_nodes(&self, _: &[NodeId]) -> Result<Vec<Hash>, ()> {
                Ok(vec![Hash::ZERO])
            }
        }
        assert_eq!(
            root_at(3, &Short),
            Err(ProofError::WrongNodeCount {
                expected: 2,
                got: 1
            })
        );
    }

    #[test]
    fn consistency_proof_edge_sizes() {
        let tree = MemoryTree::from_leaf_hashes((0..5u8).map(|i| leaf_hash(&[i])));
        assert_eq!(consistency_proof(0, 5, &tree), Ok(vec![]));
        assert_eq!(consistency_proof(5, 5, &tree), Ok(vec![]));
        assert_eq!(
            consistency_proof(6, 5, &tree),
            Err(ProofError::OldSizeAfterNew { old: 6, new: 5 })
        );
        assert_eq!(
            inclusion_proof(5, 5, &tree),
            Err(ProofError::IndexOutOfRange { index: 5, size: 5 })
        );
        assert_eq!(
            root_at(6, &tree),
            Err(ProofError::Reader(MissingNode(NodeId::new(1, 2))))
        );
    }
}
