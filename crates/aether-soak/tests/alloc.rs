//! The soak callback never allocates or frees, while edits of every kind are applied.

use aether_soak::SoakRun;

#[global_allocator]
static A: assert_no_alloc::AllocDisabler = assert_no_alloc::AllocDisabler;

/// Violations counted (on this thread) while `f` runs under `assert_no_alloc`.
fn violations(f: impl FnOnce()) -> u32 {
    let before = assert_no_alloc::violation_count();
    assert_no_alloc::assert_no_alloc(f);
    assert_no_alloc::violation_count() - before
}

// One test function: the violation counter must not be shared between concurrently running tests.
#[test]
fn callback_allocates_nothing_while_every_edit_kind_is_applied() {
    // The harness sees an allocation and a free.
    assert!(violations(|| drop(std::hint::black_box(Vec::<u8>::with_capacity(16)))) >= 2);

    let (mut run, mut callback) = SoakRun::new(300, 21, 48_000).expect("run");
    let mut out = vec![0.0f32; 64];
    // Steady state with the initial patch.
    assert_eq!(violations(|| callback.process(&mut out)), 0);
    for _ in 0..600 {
        run.edit_once();
        assert_eq!(violations(|| callback.process(&mut out)), 0);
        assert_eq!(violations(|| callback.process(&mut out)), 0);
    }
    // Odd host buffer sizes too.
    let mut odd = vec![0.0f32; 37];
    for _ in 0..10 {
        run.edit_once();
        assert_eq!(violations(|| callback.process(&mut odd)), 0);
    }
    let check = run.finish(100, || callback.process(&mut out));
    assert!(check.drained);
    let edits = run.edits();
    for kind in aether_soak::EditKind::ALL {
        assert!(
            edits.attempted(kind) > 0,
            "no {} edit was exercised",
            kind.name()
        );
    }
    assert_eq!(callback.counters().snapshot().alloc_violations, 0);
}
