//! Unit tests for `Param` and `ParamBlock`.

use std::vec::Vec;

use crate::*;

const GAIN: ParamMeta = ParamMeta::new("gain", 0.0, 1.0, 0.25, Unit::None);
const CUTOFF: ParamMeta = ParamMeta::new("cutoff", 20.0, 20_000.0, 1_000.0, Unit::Hertz);

fn param(initial: f32) -> Param {
    Param::new(initial).unwrap()
}

fn ticks(param: &mut Param, count: usize) -> Vec<f32> {
    (0..count).map(|_| param.tick()).collect()
}

fn filled(param: &mut Param, count: usize) -> Vec<f32> {
    let mut out = std::vec![f32::NAN; count];
    param.fill_buffer(&mut out);
    out
}

fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

// ---- construction -------------------------------------------------------------------

#[test]
fn new_rejects_non_finite_initial_values() {
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        assert!(matches!(Param::new(bad), Err(ParamError::NonFinite { .. })));
    }
    let p = param(0.5);
    assert_eq!(
        (p.current(), p.target(), p.is_smoothing()),
        (0.5, 0.5, false)
    );
    assert_eq!(p.range(), (f32::NEG_INFINITY, f32::INFINITY));
}

#[test]
fn from_meta_starts_at_default_and_rejects_bad_meta() {
    let p = Param::from_meta(&CUTOFF).unwrap();
    assert_eq!(p.current(), 1_000.0);
    assert_eq!(p.range(), (20.0, 20_000.0));
    let bad = ParamMeta::new("bad", 1.0, 0.0, 0.5, Unit::None);
    assert!(matches!(
        Param::from_meta(&bad),
        Err(ParamError::InvalidMeta { name: "bad", .. })
    ));
}

#[test]
fn default_param_is_zero() {
    let mut p = Param::default();
    assert_eq!(p.tick(), 0.0);
}

// ---- linear ramps -------------------------------------------------------------------

#[test]
fn linear_ramp_hits_target_exactly_at_sample_n() {
    let mut p = param(0.0);
    p.set_target(1.0, 4).unwrap();
    assert!(p.is_smoothing());
    assert_eq!(ticks(&mut p, 6), [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]);
    assert!(!p.is_smoothing());
    assert_eq!(p.current(), 1.0);
}

#[test]
fn awkward_ramp_lands_bit_exactly_and_never_overshoots() {
    // 0.1 -> 0.7 over 3 samples: 0.1 + 0.2 * 3 rounds above 0.7 in f32 arithmetic.
    for (start, target, n) in [
        (0.1_f32, 0.7_f32, 3_u32),
        (0.7, 0.1, 3),
        (-1.3, 2.9, 7),
        (1e6, 1e6 + 0.5, 9),
    ] {
        let mut p = param(start);
        p.set_target(target, n).unwrap();
        let values = ticks(&mut p, n as usize + 2);
        assert_eq!(values[n as usize - 1].to_bits(), target.to_bits());
        for pair in values.windows(2) {
            if target > start {
                assert!(pair[0] <= pair[1] && pair[1] <= target, "{values:?}");
            } else {
                assert!(pair[0] >= pair[1] && pair[1] >= target, "{values:?}");
            }
        }
    }
}

#[test]
fn ramp_zero_jumps_at_the_next_sample() {
    let mut p = param(0.0);
    p.set_target(3.0, 0).unwrap();
    assert!(!p.is_smoothing());
    assert_eq!(p.current(), 0.0, "nothing produced yet");
    assert_eq!(p.target(), 3.0);
    assert_eq!(p.tick(), 3.0);
    let mut q = param(0.0);
    q.set_target(3.0, 0).unwrap();
    assert_eq!(filled(&mut q, 3), [3.0, 3.0, 3.0]);
}

#[test]
fn ramp_to_the_current_value_is_constant() {
    let mut p = param(2.0);
    p.set_target(2.0, 100).unwrap();
    assert!(!p.is_smoothing());
    assert_eq!(filled(&mut p, 4), [2.0; 4]);
}

#[test]
fn ramp_continues_across_blocks() {
    let mut p = param(0.0);
    p.set_target(1.0, 8).unwrap();
    let first = filled(&mut p, 3);
    assert!(p.is_smoothing());
    let second = filled(&mut p, 7);
    let mut joined = first;
    joined.extend(second);
    assert_eq!(
        joined,
        [0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1.0, 1.0, 1.0]
    );
}

#[test]
fn retarget_mid_ramp_starts_from_the_last_produced_value() {
    let mut p = param(0.0);
    p.set_target(1.0, 4).unwrap();
    assert_eq!(ticks(&mut p, 2), [0.25, 0.5]);
    p.set_target(0.0, 2).unwrap();
    assert_eq!(ticks(&mut p, 3), [0.25, 0.0, 0.0]);
}

#[test]
fn overlong_ramps_are_capped_and_still_move() {
    let mut p = param(0.0);
    p.set_target(1.0, u32::MAX).unwrap();
    let values = filled(&mut p, 64);
    assert!(values[0] > 0.0 && values[63] > values[0] && values[63] < 1.0);
    assert!(p.is_smoothing());
}

#[test]
fn extreme_distances_stay_finite_and_land() {
    let mut p = param(-f32::MAX);
    p.set_target(f32::MAX, 5).unwrap();
    let values = ticks(&mut p, 5);
    assert!(values.iter().all(|v| v.is_finite()), "{values:?}");
    assert!(values.windows(2).all(|w| w[0] <= w[1]), "{values:?}");
    assert_eq!(values[4], f32::MAX);

    let mut q = param(f32::MAX);
    q.set_target_exponential(-f32::MAX, 10.0).unwrap();
    assert_eq!(
        q.tick(),
        -f32::MAX,
        "beyond f32 range the exponential mode jumps"
    );
}

// ---- exponential --------------------------------------------------------------------

#[test]
fn exponential_moves_monotonically_snaps_and_stops() {
    let mut p = param(0.0);
    p.set_target_exponential(1.0, 10.0).unwrap();
    assert!(p.is_smoothing());
    let first = p.tick();
    let expected = 1.0 - (-0.1_f64).exp();
    assert!(
        (f64::from(first) - expected).abs() < 1e-6,
        "{first} vs {expected}"
    );
    let mut previous = first;
    let mut steps = 1;
    while p.is_smoothing() {
        let v = p.tick();
        assert!(v >= previous && v <= 1.0);
        previous = v;
        steps += 1;
        assert!(steps < 1_000, "exponential smoothing must terminate");
    }
    assert_eq!(p.current(), 1.0);
    assert_eq!(p.tick(), 1.0);
    // About ln(1 / 1e-6) = 13.8 time constants.
    assert!((130..=150).contains(&steps), "{steps}");
}

#[test]
fn exponential_terminates_at_the_longest_time_constant() {
    let mut p = param(1.0);
    p.set_target_exponential(0.0, f32::MAX).unwrap(); // capped to MAX_TIME_CONSTANT_SAMPLES
    let mut block = [0.0_f32; 4096];
    let mut previous = 1.0;
    let mut blocks = 0_u32;
    while p.is_smoothing() {
        p.fill_buffer(&mut block);
        assert!(block[4095] < previous, "the error must shrink every block");
        previous = block[4095];
        blocks += 1;
        assert!(blocks < 30_000, "must terminate");
    }
    assert_eq!(p.current(), 0.0);
}

#[test]
fn exponential_zero_time_constant_jumps_and_bad_time_constants_are_refused() {
    let mut p = param(0.0);
    p.set_target_exponential(1.0, 0.0).unwrap();
    assert!(!p.is_smoothing());
    assert_eq!(p.tick(), 1.0);
    for bad in [-1.0, f32::NAN, f32::INFINITY] {
        let before = p.clone();
        let err = p.set_target_exponential(0.5, bad).unwrap_err();
        assert!(
            matches!(err, ParamError::InvalidTimeConstant { .. }),
            "{err}"
        );
        assert_eq!(
            (p.target(), p.current()),
            (before.target(), before.current())
        );
    }
}

#[test]
fn exponential_downward_never_undershoots() {
    let mut p = param(20_000.0);
    p.set_target_exponential(20.0, 3.0).unwrap();
    let values = filled(&mut p, 200);
    assert!(values.iter().all(|&v| v >= 20.0));
    assert!(values.windows(2).all(|w| w[0] >= w[1]));
    assert_eq!(*values.last().unwrap(), 20.0);
    assert!(!p.is_smoothing());
}

// ---- range and NaN policy ---------------------------------------------------------

#[test]
fn finite_targets_are_clamped_into_the_meta_range() {
    let mut p = Param::from_meta(&GAIN).unwrap();
    p.set_target(5.0, 0).unwrap();
    assert_eq!(p.target(), 1.0);
    p.set_target(-5.0, 4).unwrap();
    assert_eq!(p.target(), 0.0);
    p.set_target_exponential(f32::MAX, 2.0).unwrap();
    assert_eq!(p.target(), 1.0);
    p.reset(9.0).unwrap();
    assert_eq!(p.current(), 1.0);
}

#[test]
fn non_finite_targets_are_rejected_and_leave_the_param_unchanged() {
    let mut p = Param::from_meta(&GAIN).unwrap();
    p.set_target(1.0, 10).unwrap();
    p.tick();
    let before = p.clone();
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        assert!(matches!(
            p.set_target(bad, 4),
            Err(ParamError::NonFinite { .. })
        ));
        assert!(matches!(
            p.set_target_exponential(bad, 4.0),
            Err(ParamError::NonFinite { .. })
        ));
        assert!(matches!(
            p.set_target_at(bad, 4, 8),
            Err(ParamError::NonFinite { .. })
        ));
        assert!(matches!(p.reset(bad), Err(ParamError::NonFinite { .. })));
    }
    assert_eq!(p.pending_len(), 0);
    let mut before = before;
    assert_eq!(bits(&ticks(&mut p, 12)), bits(&ticks(&mut before, 12)));
}

#[test]
fn reset_jumps_now_and_drops_scheduled_changes() {
    let mut p = param(0.0);
    p.set_target(1.0, 100).unwrap();
    p.set_target_at(0.5, 0, 3).unwrap();
    p.tick();
    p.reset(0.75).unwrap();
    assert_eq!(
        (p.current(), p.target(), p.is_smoothing(), p.pending_len()),
        (0.75, 0.75, false, 0)
    );
    assert_eq!(filled(&mut p, 5), [0.75; 5]);
}

// ---- scheduled changes --------------------------------------------------------------

#[test]
fn offset_change_starts_at_that_sample_of_the_block() {
    let mut p = param(0.0);
    p.set_target_at(1.0, 0, 17).unwrap();
    assert_eq!(p.pending_len(), 1);
    let block = filled(&mut p, 32);
    assert!(block[..17].iter().all(|&v| v == 0.0));
    assert!(block[17..].iter().all(|&v| v == 1.0));
    assert_eq!(p.pending_len(), 0);
}

#[test]
fn offset_ramp_starts_from_the_old_trajectory() {
    let mut p = param(0.0);
    p.set_target(1.0, 4).unwrap(); // 0.25 0.5 ...
    p.set_target_at(0.0, 2, 2).unwrap(); // starts at sample 2 from 0.5
    assert_eq!(filled(&mut p, 6), [0.25, 0.5, 0.25, 0.0, 0.0, 0.0]);
}

#[test]
fn offset_past_the_block_carries_into_the_next_block() {
    let mut p = param(0.0);
    p.set_target_at(1.0, 0, 70).unwrap();
    assert!(filled(&mut p, 64).iter().all(|&v| v == 0.0));
    assert_eq!(p.pending_len(), 1);
    let next = filled(&mut p, 64);
    assert!(next[..6].iter().all(|&v| v == 0.0) && next[6..].iter().all(|&v| v == 1.0));
}

#[test]
fn offset_landing_on_a_block_boundary_starts_the_next_block() {
    let mut p = param(0.0);
    p.set_target_at(1.0, 0, 64).unwrap();
    assert!(filled(&mut p, 64).iter().all(|&v| v == 0.0));
    assert_eq!(filled(&mut p, 2), [1.0, 1.0]);
}

#[test]
fn immediate_change_wins_over_a_change_due_at_the_same_sample() {
    let mut p = param(0.0);
    p.set_target_at(1.0, 0, 4).unwrap();
    assert_eq!(filled(&mut p, 4), [0.0; 4]);
    assert_eq!(p.pending_len(), 1, "due exactly at the next sample");
    p.set_target(2.0, 0).unwrap();
    assert_eq!(p.pending_len(), 0);
    assert_eq!(p.tick(), 2.0);
}

#[test]
fn several_changes_in_one_block_apply_in_offset_order() {
    let mut p = param(0.0);
    p.set_target_at(3.0, 0, 6).unwrap();
    p.set_target_at(1.0, 0, 2).unwrap();
    p.set_target_at(2.0, 0, 4).unwrap();
    assert_eq!(filled(&mut p, 8), [0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0]);
}

#[test]
fn changes_for_the_same_sample_apply_in_call_order() {
    let mut p = param(0.0);
    p.set_target_at(1.0, 0, 3).unwrap();
    p.set_target_at(2.0, 0, 3).unwrap();
    assert_eq!(ticks(&mut p, 4), [0.0, 0.0, 0.0, 2.0]);
}

#[test]
fn full_queue_is_a_typed_error_and_loses_nothing_queued() {
    let mut p = param(0.0);
    for i in 0..PENDING_CAPACITY {
        p.set_target_at(i as f32 + 1.0, 0, (i as u32 + 1) * 2)
            .unwrap();
    }
    let err = p.set_target_at(9.0, 0, 1).unwrap_err();
    assert_eq!(
        err,
        ParamError::QueueFull {
            capacity: PENDING_CAPACITY
        }
    );
    assert_eq!(p.pending_len(), PENDING_CAPACITY);
    assert_eq!(
        filled(&mut p, 9),
        [0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0]
    );
    // Offset 0 never queues, so it still works on a full queue.
    let mut q = param(0.0);
    for i in 0..PENDING_CAPACITY {
        q.set_target_at(1.0, 0, i as u32 + 1).unwrap();
    }
    q.set_target_at(5.0, 0, 0).unwrap();
    assert_eq!(q.tick(), 5.0);
}

#[test]
fn immediate_setters_keep_scheduled_changes_and_clear_pending_drops_them() {
    let mut p = param(0.0);
    p.set_target_at(1.0, 0, 3).unwrap();
    p.set_target(0.5, 0).unwrap();
    assert_eq!(ticks(&mut p, 4), [0.5, 0.5, 0.5, 1.0]);
    p.set_target_at(2.0, 0, 1).unwrap();
    p.clear_pending();
    assert_eq!(ticks(&mut p, 3), [1.0; 3]);
}

#[test]
fn scheduled_exponential_change() {
    let mut p = param(0.0);
    p.schedule(
        1.0,
        Smoothing::Exponential {
            time_constant_samples: 4.0,
        },
        5,
    )
    .unwrap();
    let block = filled(&mut p, 8);
    assert!(block[..5].iter().all(|&v| v == 0.0));
    assert!(block[5] > 0.0 && block[5] < block[6] && block[6] < block[7] && block[7] < 1.0);
}

#[test]
fn tick_and_fill_agree_on_a_mixed_script() {
    let script = |p: &mut Param| {
        p.set_target(1.0, 37).unwrap();
        p.set_target_at(-0.3, 5, 20).unwrap();
        p.schedule(
            0.8,
            Smoothing::Exponential {
                time_constant_samples: 6.5,
            },
            50,
        )
        .unwrap();
        p.set_target_at(0.1, 0, 130).unwrap();
    };
    let mut by_tick = param(0.2);
    let mut by_fill = param(0.2);
    script(&mut by_tick);
    script(&mut by_fill);
    let reference = ticks(&mut by_tick, 300);
    let mut produced = Vec::new();
    for size in [1, 7, 64, 0, 3, 100, 125] {
        produced.extend(filled(&mut by_fill, size));
    }
    assert_eq!(bits(&reference), bits(&produced));
    assert_eq!(by_tick.current().to_bits(), by_fill.current().to_bits());
    assert_eq!(by_tick.is_smoothing(), by_fill.is_smoothing());
}

#[test]
fn empty_fill_changes_nothing() {
    let mut p = param(0.0);
    p.set_target(1.0, 4).unwrap();
    p.fill_buffer(&mut []);
    assert_eq!(p.current(), 0.0);
    assert_eq!(p.tick(), 0.25);
}

// ---- ParamBlock ----------------------------------------------------------------------

#[test]
fn block_add_lookup_and_bad_indices() {
    let mut block = ParamBlock::new();
    assert!(block.is_empty());
    assert_eq!(block.add(GAIN), Ok(0));
    assert_eq!(block.add(CUTOFF), Ok(1));
    assert_eq!(block.len(), 2);
    assert_eq!(block.index_of("cutoff"), Some(1));
    assert_eq!(block.index_of("nope"), None);
    assert_eq!(block.meta(1), Some(&CUTOFF));
    assert_eq!(block.get(0).map(Param::current), Some(0.25));
    assert!(block.get(2).is_none() && block.get_mut(2).is_none() && block.meta(2).is_none());
    assert!(block.get(usize::MAX).is_none());
    assert_eq!(
        block.set_target(5, 1.0, 0),
        Err(ParamError::IndexOutOfRange { index: 5, len: 2 })
    );
    assert_eq!(
        block.set_target_at(2, 1.0, 0, 3),
        Err(ParamError::IndexOutOfRange { index: 2, len: 2 })
    );
    block.set_target(1, 50_000.0, 0).unwrap();
    assert_eq!(block.get(1).map(Param::target), Some(20_000.0));
    assert!(matches!(
        block.set_target(0, f32::NAN, 0),
        Err(ParamError::NonFinite { .. })
    ));
}

#[test]
fn block_capacity_is_a_typed_error() {
    const NAMES: [&str; MAX_PARAMS + 1] = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
    let mut block = ParamBlock::new();
    for (i, name) in NAMES.iter().take(MAX_PARAMS).enumerate() {
        assert_eq!(
            block.add(ParamMeta::new(name, 0.0, 1.0, 0.0, Unit::None)),
            Ok(i)
        );
    }
    let overflow = ParamMeta::new(NAMES[MAX_PARAMS], 0.0, 1.0, 0.0, Unit::None);
    assert_eq!(
        block.add(overflow),
        Err(ParamError::CapacityFull {
            capacity: MAX_PARAMS
        })
    );
    assert_eq!(block.len(), MAX_PARAMS);
    let metas: Vec<ParamMeta> = NAMES
        .iter()
        .map(|n| ParamMeta::new(n, 0.0, 1.0, 0.0, Unit::None))
        .collect();
    assert!(matches!(
        ParamBlock::from_metas(&metas),
        Err(ParamError::CapacityFull { .. })
    ));
    assert_eq!(
        ParamBlock::from_metas(&metas[..MAX_PARAMS]).map(|b| b.len()),
        Ok(MAX_PARAMS)
    );
}

#[test]
fn block_rejects_invalid_meta_and_duplicate_names_unchanged() {
    let mut block = ParamBlock::from_metas(&[GAIN]).unwrap();
    let bad = ParamMeta::new("bad", 0.0, 1.0, 2.0, Unit::None);
    assert!(matches!(
        block.add(bad),
        Err(ParamError::InvalidMeta { name: "bad", .. })
    ));
    assert_eq!(
        block.add(GAIN),
        Err(ParamError::DuplicateName { name: "gain" })
    );
    assert_eq!(block.len(), 1);
    assert!(matches!(
        ParamBlock::from_metas(&[GAIN, bad]),
        Err(ParamError::InvalidMeta { .. })
    ));
}

#[test]
fn block_iteration_debug_clone_and_default() {
    let mut block = ParamBlock::from_metas(&[GAIN, CUTOFF]).unwrap();
    let names: Vec<&str> = block.iter().map(|(meta, _)| meta.name).collect();
    assert_eq!(names, ["gain", "cutoff"]);
    for (_, param) in block.iter_mut() {
        param.set_target(0.0, 0).unwrap();
    }
    let snapshot = block.clone();
    for param in block.params_mut() {
        param.tick();
    }
    assert_eq!(block.get(0).map(Param::current), Some(0.0));
    assert_eq!(block.get(1).map(Param::current), Some(20.0));
    assert_eq!(
        snapshot.get(1).map(Param::current),
        Some(1_000.0),
        "clone is independent"
    );
    let text = std::format!("{block:?}");
    assert!(text.contains("gain") && text.contains("cutoff"), "{text}");
    assert!(ParamBlock::default().is_empty());
    assert_eq!(std::format!("{:?}", ParamBlock::default()), "{}");
}

#[test]
fn block_is_cheap_to_embed() {
    let size = core::mem::size_of::<ParamBlock>();
    assert!(size <= 1536, "ParamBlock is {size} bytes");
    let param = core::mem::size_of::<Param>();
    assert!(param <= 128, "Param is {param} bytes");
}

#[test]
fn error_messages_are_descriptive() {
    let cases = [
        (
            ParamError::NonFinite { value: f32::NAN },
            "value NaN is not finite",
        ),
        (
            ParamError::IndexOutOfRange { index: 9, len: 2 },
            "index 9 is out of range for a block of 2",
        ),
        (
            ParamError::CapacityFull { capacity: 8 },
            "at most 8 parameters",
        ),
        (
            ParamError::QueueFull { capacity: 4 },
            "queue is full (4 pending",
        ),
        (ParamError::DuplicateName { name: "gain" }, "named \"gain\""),
        (
            ParamError::InvalidTimeConstant { samples: -1.0 },
            "time constant of -1 samples",
        ),
    ];
    for (error, expected) in cases {
        let text = std::format!("{error}");
        assert!(text.contains(expected), "{text:?} lacks {expected:?}");
        let _: &dyn core::error::Error = &error;
    }
}

// ---- every ramp kernel against tick -------------------------------------------------

/// The ramp kernels `fill_buffer` can dispatch to on this machine.
#[cfg(target_arch = "x86_64")]
fn kernels() -> Vec<Option<crate::param::x86::Kernel>> {
    crate::param::x86::supported()
        .into_iter()
        .map(Some)
        .collect()
}

#[cfg(not(target_arch = "x86_64"))]
fn kernels() -> Vec<Option<()>> {
    std::vec![None]
}

/// Runs `body` with `kernel` forced on this thread (`None`: the normal dispatch).
#[cfg(target_arch = "x86_64")]
fn with_kernel<R>(kernel: Option<crate::param::x86::Kernel>, body: impl FnOnce() -> R) -> R {
    match kernel {
        Some(kernel) => crate::param::x86::with_kernel(kernel, body),
        None => body(),
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn with_kernel<R>(_kernel: Option<()>, body: impl FnOnce() -> R) -> R {
    body()
}

/// Fills `blocks` with each kernel from a copy of `start` and checks every value, the final
/// `current()` and `is_smoothing()` bit for bit against ticking another copy.
fn assert_kernels_match_tick(start: &Param, blocks: &[usize]) {
    let total = blocks.iter().sum();
    let mut by_tick = start.clone();
    let reference = ticks(&mut by_tick, total);
    for kernel in kernels() {
        let mut by_fill = start.clone();
        let produced = with_kernel(kernel, || {
            let mut produced = Vec::new();
            for &size in blocks {
                produced.extend(filled(&mut by_fill, size));
            }
            produced
        });
        assert_eq!(bits(&reference), bits(&produced), "kernel {kernel:?}");
        assert_eq!(by_tick.current().to_bits(), by_fill.current().to_bits());
        assert_eq!(by_tick.is_smoothing(), by_fill.is_smoothing());
    }
}

#[test]
fn every_kernel_is_checked_on_this_machine() {
    let kernels = kernels();
    assert!(!kernels.is_empty());
    #[cfg(target_arch = "x86_64")]
    {
        use crate::param::x86::Kernel;
        assert_eq!(kernels[0], Some(Kernel::Baseline));
        assert_eq!(
            kernels.contains(&Some(Kernel::Avx2)),
            std::is_x86_feature_detected!("avx2")
        );
    }
}

#[test]
fn kernels_match_tick_on_edge_ramps() {
    let max = MAX_RAMP_SAMPLES;
    for (start, target, length, elapsed) in [
        (0.0_f32, 1.0_f32, 64_u32, 0_u32), // lands on the last sample of a block
        (0.0, 1.0, 65, 0),                 // lands on the first sample of the next block
        (1.0, 0.0, 40, 0),                 // falling, lands mid-block
        (0.1, 0.7, 3, 0),                  // rounding would overshoot without the clamp
        (-f32::MAX, f32::MAX, 100, 0),     // distance beyond f32::MAX
        (f32::MAX, -f32::MAX, 77, 0),
        (1.0, 1.0 + f32::EPSILON, 500, 0), // one ulp over many samples
        (0.0, 1.0, max, max - 70),         // k near i32::MAX, lands inside the block
        (0.0, 1.0, max, max - 200),        // k near i32::MAX, whole blocks on the line
        (5.0, -5.0, max, max - 64),        // falling, lands exactly at the block's end
        (0.0, 1.0, 1 << 30, (1 << 24) - 3), // k crosses 2^24 (not every k is an f32)
    ] {
        let param = Param::ramp_in_progress(start, target, length, elapsed);
        assert_kernels_match_tick(&param, &[64, 64, 64, 1, 63, 100, 64]);
        assert_kernels_match_tick(&param, &[64; 4]);
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    #[test]
    fn kernels_match_tick_on_random_ramps(
        start in proptest::prop_oneof![-1.0e3_f32..1.0e3, -3.0e38_f32..3.0e38, -1.0e-30_f32..1.0e-30],
        distance in proptest::prop_oneof![-1.0e3_f32..1.0e3, -1.0e-3_f32..1.0e-3, -3.0e38_f32..3.0e38],
        length in proptest::prop_oneof![1_u32..300, 1_u32..=MAX_RAMP_SAMPLES],
        from_end in 0_u32..400,
        blocks in proptest::collection::vec(proptest::prop_oneof![proptest::strategy::Just(64_usize), 0_usize..130], 1..6),
    ) {
        let target = start + distance;
        proptest::prop_assume!(target.is_finite());
        let elapsed = length.saturating_sub(from_end);
        let param = Param::ramp_in_progress(start, target, length, elapsed);
        assert_kernels_match_tick(&param, &blocks);
        let fresh = Param::ramp_in_progress(start, target, length, 0);
        assert_kernels_match_tick(&fresh, &blocks);
    }
}

#[test]
fn clone_from_copies_the_used_slots_and_forgets_the_rest() {
    const Q: ParamMeta = ParamMeta::new("q", 0.1, 10.0, 1.0, Unit::None);
    // A block of two over one of three: the third slot must read as unused afterwards.
    let mut target = ParamBlock::from_metas(&[GAIN, CUTOFF, Q]).unwrap();
    for param in target.params_mut() {
        param.set_target(0.5, 0).unwrap();
    }
    let mut source = ParamBlock::from_metas(&[CUTOFF, GAIN]).unwrap();
    source.get_mut(0).unwrap().set_target(500.0, 10).unwrap();
    target.clone_from(&source);
    assert_eq!(target.len(), 2);
    assert!(target.get(2).is_none() && target.meta(2).is_none());
    let fresh = source.clone();
    for index in 0..2 {
        assert_eq!(target.meta(index), fresh.meta(index));
    }
    // Both run the same ramp, sample for sample.
    for _ in 0..12 {
        let a = target.get_mut(0).unwrap().tick();
        let b = source.get_mut(0).unwrap().tick();
        assert_eq!(a.to_bits(), b.to_bits());
    }
    // Growing back: a block of three over the two-slot one reads as the three-slot source.
    let three = ParamBlock::from_metas(&[GAIN, CUTOFF, Q]).unwrap();
    target.clone_from(&three);
    assert_eq!(target.len(), 3);
    assert_eq!(target.meta(2), three.meta(2));
}
