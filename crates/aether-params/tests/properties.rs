//! Property tests: `tick` and `fill_buffer` agree bit for bit, and linear ramps land
//! exactly on their target without overshooting, for random targets, ramp lengths,
//! offsets and block splits.

use aether_params::{Param, Smoothing};
use proptest::prelude::*;

/// Ordinary parameter values, plus any normal `f32` (including extreme magnitudes).
fn value() -> impl Strategy<Value = f32> {
    prop_oneof![
        4 => -1.0e4_f32..1.0e4_f32,
        1 => proptest::num::f32::NORMAL | proptest::num::f32::ZERO,
    ]
}

/// One step of a script run against a parameter.
#[derive(Debug, Clone)]
enum Step {
    Linear {
        target: f32,
        ramp: u32,
        offset: u32,
    },
    Exponential {
        target: f32,
        time_constant: f32,
        offset: u32,
    },
    Clear,
    Produce(usize),
}

fn step() -> impl Strategy<Value = Step> {
    let offset = prop_oneof![2 => Just(0_u32), 3 => 0_u32..300];
    prop_oneof![
        3 => (value(), 0_u32..400, offset.clone())
            .prop_map(|(target, ramp, offset)| Step::Linear { target, ramp, offset }),
        2 => (value(), 0.0_f32..80.0, offset)
            .prop_map(|(target, time_constant, offset)| Step::Exponential { target, time_constant, offset }),
        1 => Just(Step::Clear),
        6 => (0_usize..200).prop_map(Step::Produce),
    ]
}

/// Runs `script`, producing values with `tick` (`by_tick`) or `fill_buffer`.
fn run(start: f32, script: &[Step], by_tick: bool) -> (Vec<u32>, Param) {
    let mut param = Param::new(start).unwrap();
    let mut produced = Vec::new();
    for step in script {
        // A full queue is a legitimate outcome; both runs see the same one.
        let _ = match *step {
            Step::Linear {
                target,
                ramp,
                offset,
            } => param.set_target_at(target, ramp, offset),
            Step::Exponential {
                target,
                time_constant,
                offset,
            } => param.schedule(
                target,
                Smoothing::Exponential {
                    time_constant_samples: time_constant,
                },
                offset,
            ),
            Step::Clear => {
                param.clear_pending();
                Ok(())
            }
            Step::Produce(count) => {
                if by_tick {
                    produced.extend((0..count).map(|_| param.tick().to_bits()));
                } else {
                    let mut block = vec![f32::NAN; count];
                    param.fill_buffer(&mut block);
                    produced.extend(block.iter().map(|v| v.to_bits()));
                }
                Ok(())
            }
        };
    }
    (produced, param)
}

/// Splits `total` samples into blocks using `cuts` as relative sizes.
fn blocks(total: usize, cuts: &[usize]) -> Vec<usize> {
    let mut sizes = Vec::new();
    let mut left = total;
    for &cut in cuts {
        let size = cut.min(left);
        sizes.push(size);
        left -= size;
    }
    sizes.push(left);
    sizes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn tick_and_fill_buffer_are_bit_identical(
        start in value(),
        script in proptest::collection::vec(step(), 1..24),
    ) {
        let (ticked, by_tick) = run(start, &script, true);
        let (filled, by_fill) = run(start, &script, false);
        prop_assert_eq!(ticked, filled);
        prop_assert_eq!(by_tick.current().to_bits(), by_fill.current().to_bits());
        prop_assert_eq!(by_tick.target().to_bits(), by_fill.target().to_bits());
        prop_assert_eq!(by_tick.is_smoothing(), by_fill.is_smoothing());
        prop_assert_eq!(by_tick.pending_len(), by_fill.pending_len());
    }

    #[test]
    fn every_produced_value_is_finite(
        start in value(),
        script in proptest::collection::vec(step(), 1..24),
    ) {
        let (filled, _) = run(start, &script, false);
        prop_assert!(filled.iter().all(|&b| f32::from_bits(b).is_finite()));
    }

    #[test]
    fn linear_ramp_lands_exactly_at_n_and_never_overshoots(
        start in value(),
        target in value(),
        ramp in 1_u32..3000,
        extra in 0_usize..100,
        cuts in proptest::collection::vec(0_usize..300, 0..8),
    ) {
        let mut param = Param::new(start).unwrap();
        param.set_target(target, ramp).unwrap();
        let total = ramp as usize + extra;
        let mut values = Vec::with_capacity(total);
        for size in blocks(total, &cuts) {
            let mut block = vec![f32::NAN; size];
            param.fill_buffer(&mut block);
            values.extend_from_slice(&block);
        }
        let n = ramp as usize;
        prop_assert_eq!(values[n - 1].to_bits(), target.to_bits(), "value N must be the target");
        prop_assert!(values[n..].iter().all(|v| v.to_bits() == target.to_bits()));
        prop_assert!(!param.is_smoothing());
        let mut previous = start;
        for (k, &v) in values[..n].iter().enumerate() {
            if target >= start {
                prop_assert!(v >= previous && v <= target, "k={} v={} prev={}", k + 1, v, previous);
            } else {
                prop_assert!(v <= previous && v >= target, "k={} v={} prev={}", k + 1, v, previous);
            }
            previous = v;
        }
    }

    #[test]
    fn scheduled_ramp_starts_exactly_at_its_offset(
        start in -100.0_f32..100.0,
        target in -100.0_f32..100.0,
        ramp in 0_u32..200,
        offset in 1_u32..300,
        cuts in proptest::collection::vec(0_usize..130, 0..6),
    ) {
        prop_assume!((target - start).abs() > 1.0);
        let mut param = Param::new(start).unwrap();
        param.set_target_at(target, ramp, offset).unwrap();
        let offset = offset as usize;
        let lands = offset + (ramp as usize).max(1) - 1;
        let total = lands + 5;
        let mut values = Vec::with_capacity(total);
        for size in blocks(total, &cuts) {
            let mut block = vec![f32::NAN; size];
            param.fill_buffer(&mut block);
            values.extend_from_slice(&block);
        }
        prop_assert!(values[..offset].iter().all(|&v| v == start), "old value until the offset");
        prop_assert!(values[offset] != start, "the change starts at the offset");
        prop_assert!(values[offset..lands].iter().all(|&v| v != target), "no early landing");
        prop_assert_eq!(values[lands].to_bits(), target.to_bits());
    }

    #[test]
    fn exponential_approach_is_monotone_and_ends_on_target(
        start in value(),
        target in value(),
        time_constant in 0.0_f32..200.0,
    ) {
        let mut param = Param::new(start).unwrap();
        param.set_target_exponential(target, time_constant).unwrap();
        let mut previous = start;
        let mut block = [0.0_f32; 64];
        // Bounded: about 14 time constants plus the f32 snap distance; far below this.
        for _ in 0..2_000 {
            if !param.is_smoothing() { break; }
            param.fill_buffer(&mut block);
            for &v in &block {
                if target >= start {
                    prop_assert!(v >= previous && v <= target);
                } else {
                    prop_assert!(v <= previous && v >= target);
                }
                previous = v;
            }
        }
        prop_assert!(!param.is_smoothing());
        prop_assert_eq!(param.current().to_bits(), target.to_bits());
    }
}
