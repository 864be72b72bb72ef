//! Proves the real-time operations neither allocate nor free.
//!
//! Everything runs in one `#[test]` so no other test in this binary touches the global
//! violation counter while a check is running. `assert_no_alloc` counts violations only in
//! debug builds (`warn_debug`), so this binary is empty in release builds.
#![cfg(debug_assertions)]

use aether_arena::{Arena, Id};
use assert_no_alloc::{assert_no_alloc, violation_count};

#[global_allocator]
static A: assert_no_alloc::AllocDisabler = assert_no_alloc::AllocDisabler;

/// Runs `f` with allocation checking on and returns how many allocations or frees it made.
fn violations_during<R>(f: impl FnOnce() -> R) -> (u32, R) {
    let before = violation_count();
    let result = assert_no_alloc(f);
    (violation_count() - before, result)
}

#[test]
fn realtime_operations_do_not_allocate_or_free() {
    // The harness must be able to fail.
    let (violations, _) = violations_during(|| Vec::<u8>::with_capacity(16));
    assert!(
        violations > 0,
        "an allocation inside the closure was not detected"
    );
    let prebuilt = Vec::<u8>::with_capacity(16);
    let (violations, ()) = violations_during(|| drop(prebuilt));
    assert!(violations > 0, "a free inside the closure was not detected");

    // u64 values: insert up to capacity, including a rejected insert on a full arena.
    const CAPACITY: usize = 64;
    let mut arena: Arena<u64> = Arena::with_capacity(CAPACITY);
    let mut ids = [Id::from_bits(0); CAPACITY];
    let (violations, full) = violations_during(|| {
        for (value, slot) in ids.iter_mut().enumerate() {
            *slot = arena.insert(value as u64).unwrap();
        }
        arena.insert(999).unwrap_err().into_inner()
    });
    assert_eq!(violations, 0, "insert allocated or freed");
    assert_eq!(full, 999);
    assert_eq!(arena.len(), CAPACITY);

    // get, get_mut, contains, get_by_index(_mut), with live, stale and fabricated ids.
    let (violations, sum) = violations_during(|| {
        let mut sum = 0;
        for id in &ids {
            sum += *arena.get(*id).unwrap();
            *arena.get_mut(*id).unwrap() += 1;
            assert!(arena.contains(*id));
            assert!(arena.get_by_index(id.index()).is_some());
            if let Some((_, value)) = arena.get_by_index_mut(id.index()) {
                *value += 1;
            }
        }
        let fabricated = Id::from_bits(u64::MAX);
        assert!(arena.get(fabricated).is_none());
        assert!(!arena.contains(fabricated));
        sum
    });
    assert_eq!(violations, 0, "lookups allocated or freed");
    assert_eq!(sum, (0..CAPACITY as u64).sum::<u64>());

    // Iteration (shared, mutable, ids).
    let (violations, (total, id_count)) = violations_during(|| {
        for (_, value) in arena.iter_mut() {
            *value *= 2;
        }
        let total: u64 = arena.iter().map(|(_, value)| *value).sum();
        (total, arena.ids().count())
    });
    assert_eq!(violations, 0, "iteration allocated or freed");
    assert_eq!(id_count, CAPACITY);
    assert_eq!(
        total,
        (0..CAPACITY as u64).map(|v| (v + 2) * 2).sum::<u64>()
    );

    // remove, stale remove, and slot reuse after remove.
    let (violations, removed) = violations_during(|| {
        let mut removed = 0;
        for id in &ids {
            removed += u64::from(arena.remove(*id).is_some());
            assert!(arena.remove(*id).is_none());
        }
        let reused = arena.insert(7).unwrap();
        assert_eq!(arena.remove(reused), Some(7));
        removed
    });
    assert_eq!(violations, 0, "remove allocated or freed");
    assert_eq!(removed, CAPACITY as u64);
    assert!(arena.is_empty());

    // [f32; 4] values: a second payload type through the same operations.
    let mut frames: Arena<[f32; 4]> = Arena::with_capacity(8);
    let (violations, ()) = violations_during(|| {
        let id = frames.insert([0.5; 4]).unwrap();
        frames.get_mut(id).unwrap()[0] = 1.0;
        assert_eq!(frames.get(id).map(|frame| frame[0]), Some(1.0));
        assert_eq!(frames.iter().count(), 1);
        assert_eq!(frames.remove(id), Some([1.0, 0.5, 0.5, 0.5]));
    });
    assert_eq!(violations, 0, "[f32; 4] operations allocated or freed");

    // clear of values without heap does not allocate or free either.
    let mut cleared: Arena<u64> = Arena::with_capacity(4);
    cleared.insert(1).unwrap();
    let (violations, ()) = violations_during(|| cleared.clear());
    assert_eq!(
        violations, 0,
        "clear of heap-free values allocated or freed"
    );
}
