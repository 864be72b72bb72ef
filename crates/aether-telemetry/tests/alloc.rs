//! The audio-side call, `StatsRecorder::record`, neither allocates nor frees.

use aether_telemetry::callback_stats;

#[global_allocator]
static ALLOCATOR: assert_no_alloc::AllocDisabler = assert_no_alloc::AllocDisabler;

/// Runs `f` with allocation forbidden and returns how many allocations and frees it made.
fn violations_in(f: impl FnOnce()) -> u32 {
    let before = assert_no_alloc::violation_count();
    assert_no_alloc::assert_no_alloc(f);
    assert_no_alloc::violation_count() - before
}

#[test]
fn recording_does_not_allocate() {
    // One test function: the violation counter is global to this binary.
    assert!(
        violations_in(|| drop(std::hint::black_box(Vec::<u8>::with_capacity(16)))) > 0,
        "the harness must detect an allocation"
    );

    let (mut recorder, reader) = callback_stats();
    let violations = violations_in(|| {
        for index in 0..10_000u64 {
            recorder.record(index * 997 % 3_000_000, 1_333_333);
        }
        recorder.record(u64::MAX, 0);
        recorder.record(0, u64::MAX);
    });
    assert_eq!(violations, 0, "record allocated or freed");
    assert_eq!(reader.snapshot().callbacks(), 10_002);
}
