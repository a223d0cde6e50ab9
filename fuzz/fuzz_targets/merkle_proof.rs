//! Inclusion and consistency proofs as a client receives them (index and
//! sizes are the other side's numbers): verification never panics, whatever
//! the sizes and however many hashes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lucent_core::Hash;
use lucent_core::merkle::{root_from_inclusion_proof, verify_consistency, verify_inclusion};

// Layout: three u64 (little-endian) a, b, c; then 32-byte hashes: the
// first two are the leaf (or old root) and the root (or new root), the
// rest the proof.
fuzz_target!(|data: &[u8]| {
    let Some((numbers, rest)) = data.split_first_chunk::<24>() else {
        return;
    };
    let number = |i: usize| u64::from_le_bytes(numbers[i * 8..i * 8 + 8].try_into().expect("8"));
    // Small sizes are where the proof shapes vary; keep them likely.
    let small = |n: u64| if n & (1 << 63) != 0 { n } else { n % 1024 };
    let (a, b, c) = (small(number(0)), small(number(1)), small(number(2)));
    let hashes: Vec<Hash> = rest
        .chunks_exact(Hash::LEN)
        .map(|chunk| Hash::from_slice(chunk).expect("32 bytes"))
        .collect();
    let (first, second, proof) = match hashes.as_slice() {
        [first, second, proof @ ..] => (*first, *second, proof),
        _ => (Hash::ZERO, Hash::ZERO, &[][..]),
    };

    let _ = verify_inclusion(&first, a, b, proof, &second);
    if let Ok(root) = root_from_inclusion_proof(&first, a, b, proof) {
        assert!(a < b);
        assert!(verify_inclusion(&first, a, b, proof, &root).is_ok());
    }
    let _ = verify_consistency(a, c, proof, &first, &second);
    let _ = verify_consistency(b, c, proof, &first, &second);
});
