//! Proves the audio-thread paths neither allocate nor free: `tick`, `fill_buffer` on
//! every path (ramp, constant, exponential, with a scheduled change inside the block),
//! the setters, and `ParamBlock` lookups.
//!
//! Everything runs in one `#[test]` because the violation counter is global.

use aether_params::{Param, ParamBlock, ParamMeta, Smoothing, Unit};
use assert_no_alloc::{assert_no_alloc, violation_count};

#[global_allocator]
static A: assert_no_alloc::AllocDisabler = assert_no_alloc::AllocDisabler;

/// Runs `work` under the allocation guard and returns how many allocations or frees it made.
fn violations_during<T>(work: impl FnOnce() -> T) -> (T, u32) {
    let before = violation_count();
    let result = assert_no_alloc(work);
    (result, violation_count() - before)
}

#[test]
fn audio_thread_paths_do_not_allocate_or_free() {
    // The harness can fail: an allocation (and its free) inside the guard is counted.
    let (_, caught) = violations_during(|| {
        let v = Vec::<u8>::with_capacity(16);
        core::hint::black_box(&v);
    });
    assert!(caught > 0, "the allocation guard must detect an allocation");

    const GAIN: ParamMeta = ParamMeta::new("gain", 0.0, 1.0, 0.5, Unit::None);
    const CUTOFF: ParamMeta = ParamMeta::new("cutoff", 20.0, 20_000.0, 1_000.0, Unit::Hertz);
    let mut block = ParamBlock::from_metas(&[GAIN, CUTOFF]).unwrap();
    let mut param = Param::from_meta(&CUTOFF).unwrap();
    let mut out = [0.0_f32; 64];

    let ((), count) = violations_during(|| {
        // Linear ramp, spanning blocks.
        param.set_target(5_000.0, 100).unwrap();
        param.fill_buffer(&mut out);
        param.fill_buffer(&mut out);
        // Constant path.
        param.fill_buffer(&mut out);
        // Exponential path.
        param.set_target_exponential(200.0, 16.0).unwrap();
        param.fill_buffer(&mut out);
        // A scheduled change inside the block, then per-sample ticks across one.
        param.set_target_at(300.0, 8, 17).unwrap();
        param.fill_buffer(&mut out);
        param
            .schedule(
                400.0,
                Smoothing::Exponential {
                    time_constant_samples: 4.0,
                },
                3,
            )
            .unwrap();
        for _ in 0..64 {
            core::hint::black_box(param.tick());
        }
        // Refusals build their errors without allocating.
        assert!(param.set_target(f32::NAN, 4).is_err());
        for offset in 1..=8 {
            let _ = param.set_target_at(1.0, 0, offset);
        }
        param.clear_pending();
        param.reset(1_000.0).unwrap();
    });
    assert_eq!(count, 0, "Param audio paths allocated or freed");

    let ((), count) = violations_during(|| {
        let index = block.index_of("cutoff").unwrap();
        core::hint::black_box(block.meta(index));
        core::hint::black_box(block.get(index).map(Param::current));
        assert!(block.get(99).is_none());
        assert!(block.set_target(99, 1.0, 0).is_err());
        block.set_target(index, 2_000.0, 64).unwrap();
        block.set_target_at(0, 1.0, 32, 10).unwrap();
        for (_, param) in block.iter_mut() {
            param.fill_buffer(&mut out);
        }
        for param in block.params_mut() {
            core::hint::black_box(param.tick());
        }
        core::hint::black_box(block.iter().count());
    });
    assert_eq!(count, 0, "ParamBlock lookups or setters allocated or freed");
}
