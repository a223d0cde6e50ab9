//! Benchmarks of the core: appending hashed entries, building proofs and
//! roots from an in-memory tree of a million leaves, and signing a promise
//! (the one signature the server makes per report).

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use lucent_core::hash::leaf_hash;
use lucent_core::merkle::{CompactRange, MemoryTree, consistency_proof, inclusion_proof, root_at};
use lucent_core::note::SigningKey;
use lucent_core::promise::Promise;

/// Entries of about 250 bytes, like lucent's JSON entries.
fn entries(count: u64) -> Vec<Vec<u8>> {
    (0..count)
        .map(|i| format!("{{\"index\":{i:020},\"padding\":\"{}\"}}", "x".repeat(210)).into_bytes())
        .collect()
}

fn append(c: &mut Criterion) {
    let mut group = c.benchmark_group("leaf_hash_and_append");
    for count in [1_000u64, 100_000] {
        let entries = entries(count);
        group.throughput(Throughput::Elements(count));
        group.bench_with_input(
            BenchmarkId::from_parameter(count),
            &entries,
            |b, entries| {
                b.iter(|| {
                    let mut range = CompactRange::new();
                    let mut nodes = 0u64;
                    for entry in entries {
                        range.append(leaf_hash(entry), |_, _| nodes += 1);
                    }
                    black_box((range.root(), nodes))
                });
            },
        );
    }
    group.finish();
}

fn proofs(c: &mut Criterion) {
    const SIZE: u64 = 1_000_000;
    let tree = MemoryTree::from_leaf_hashes((0..SIZE).map(|i| leaf_hash(&i.to_be_bytes())));
    let mut group = c.benchmark_group("size_1000000");
    // Step through indexes and sizes with a stride prime to SIZE, so each
    // iteration reads a different path.
    let mut index = 0;
    group.bench_function("inclusion_proof", |b| {
        b.iter(|| {
            index = (index + 7_919) % SIZE;
            inclusion_proof(black_box(index), SIZE, &tree).unwrap()
        });
    });
    let mut old = 0;
    group.bench_function("consistency_proof", |b| {
        b.iter(|| {
            old = (old + 7_919) % (SIZE - 1) + 1;
            consistency_proof(black_box(old), SIZE, &tree).unwrap()
        });
    });
    let mut size = 0;
    group.bench_function("root_at", |b| {
        b.iter(|| {
            size = (size + 7_919) % SIZE;
            root_at(black_box(size), &tree).unwrap()
        });
    });
    group.finish();
}

fn promise(c: &mut Criterion) {
    let key = SigningKey::from_seed("example.com/bench", &[7; 32]).unwrap();
    let promise = Promise::new("example.com/bench", "2026-11-28", leaf_hash(b"record")).unwrap();
    c.bench_function("sign_promise", |b| {
        b.iter(|| black_box(&promise).sign(&key).unwrap())
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = append, proofs, promise
}
criterion_main!(benches);
