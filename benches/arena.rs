//! Criterion benchmarks for `aether-arena`: insert/remove churn and lookups in a
//! pre-built arena (construction is never timed).

use aether_arena::{Arena, Id};
use std::hint::black_box;

use criterion::{Criterion, criterion_main};

const NODES: usize = 1000;

/// One round: 1000 inserts then 1000 removes, leaving the arena empty again.
///
/// The removed values are summed into one `black_box` rather than paying a `black_box`
/// per operation inside the measurement.
#[inline(always)]
fn insert_then_remove_all(arena: &mut Arena<u64>, ids: &mut [Id; NODES]) -> u64 {
    for (value, id) in ids.iter_mut().enumerate() {
        if let Ok(inserted) = arena.insert(value as u64) {
            *id = inserted;
        }
    }
    let mut removed_sum = 0_u64;
    for id in ids.iter() {
        if let Some(value) = arena.remove(*id) {
            removed_sum = removed_sum.wrapping_add(value);
        }
    }
    removed_sum
}

/// 1000 inserts then 1000 removes into an arena of capacity 1000, built outside the timing.
///
/// Each iteration leaves the arena empty again, so the same warm arena is reused, as the
/// audio thread would use it.
fn insert_remove(c: &mut Criterion) {
    let mut arena = Arena::<u64>::with_capacity(NODES);
    let mut ids = [Id::from_bits(0); NODES];
    c.bench_function("arena insert+remove x1000", |b| {
        b.iter(|| black_box(insert_then_remove_all(&mut arena, &mut ids)));
    });
    assert!(arena.is_empty(), "every insert succeeded and was removed");

    // Same work, but the arena is reached through an opaque pointer each round, so the
    // compiler must keep the arena's bookkeeping in memory between operations (the shape
    // of a caller that touches the arena once per call rather than in a tight loop).
    c.bench_function("arena insert+remove x1000 (opaque arena)", |b| {
        b.iter(|| black_box(insert_then_remove_all(black_box(&mut arena), &mut ids)));
    });
    assert!(arena.is_empty(), "every insert succeeded and was removed");
}

/// 1000 lookups of live ids in a full arena of capacity 1000.
fn get(c: &mut Criterion) {
    let mut arena = Arena::<u64>::with_capacity(NODES);
    let ids: Vec<Id> = (0..NODES as u64)
        .map(|value| arena.insert(value).expect("arena sized for every insert"))
        .collect();
    c.bench_function("arena get x1000", |b| {
        b.iter(|| {
            let arena = black_box(&arena);
            let mut sum = 0_u64;
            for id in &ids {
                if let Some(value) = arena.get(*id) {
                    sum = sum.wrapping_add(*value);
                }
            }
            black_box(sum)
        });
    });
}

/// `criterion_group!` generates an undocumented public function; keep it in its own module.
mod group {
    #![allow(missing_docs)]
    use super::{get, insert_remove};
    criterion::criterion_group!(benches, insert_remove, get);
}

criterion_main!(group::benches);
