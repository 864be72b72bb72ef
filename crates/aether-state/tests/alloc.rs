//! A restored engine's audio half runs without allocating or freeing: applying the commit that
//! delivers the restored graph, and steady-state processing.
//!
//! Run in a debug build: `assert_no_alloc` (feature `warn_debug`) counts every allocation and
//! deallocation made inside `assert_no_alloc(..)` on this thread. Everything is in one test so
//! nothing else in this binary touches the global counter meanwhile.

mod common;

use aether_state::GraphSnapshot;
use assert_no_alloc::{AllocDisabler, assert_no_alloc, violation_count};
use common::{SAMPLE_RATE, fixed_graph, registry};

#[global_allocator]
static ALLOCATOR: AllocDisabler = AllocDisabler;

/// Violations counted while `f` runs.
fn violations_during<R>(f: impl FnOnce() -> R) -> (R, u32) {
    let before = violation_count();
    let result = assert_no_alloc(f);
    (result, violation_count() - before)
}

#[test]
fn restored_engines_process_without_allocating() {
    // The harness detects an allocation.
    let (buffer, violations) = violations_during(|| Vec::<u8>::with_capacity(16));
    assert!(violations > 0, "the allocation check cannot fail");
    drop(buffer);

    let registry = registry();
    let mut graph = aether_graph::Graph::with_capacity(8);
    fixed_graph(&mut graph, &registry);
    let snapshot = GraphSnapshot::capture(&graph, SAMPLE_RATE);
    let bytes = snapshot.to_bytes();

    let mut scheduler = GraphSnapshot::from_bytes(&bytes)
        .unwrap()
        .restore_into_scheduler(&registry, None)
        .unwrap();
    scheduler.commit().unwrap();
    let (controller, mut audio) = scheduler.split();

    let (peak, violations) = violations_during(|| {
        let mut peak = 0.0f32;
        // The first block applies the commit carrying the restored graph.
        for _ in 0..32 {
            peak = audio
                .process_block()
                .iter()
                .fold(peak, |peak, sample| peak.max(sample.abs()));
        }
        peak
    });
    assert_eq!(violations, 0, "the audio half allocated or freed");
    assert!(peak > 0.0, "the restored graph played");
    assert_eq!(controller.stats().blocks, 32);
    assert!(controller.stats().commands_applied >= 1);
}
