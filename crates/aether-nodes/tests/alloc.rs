//! Proves every node's audio-thread paths neither allocate nor free: `process` with parameter
//! ramps (linear, exponential, scheduled mid-block), with no inputs, every input and odd inputs
//! (NaN, infinities, absurd frequencies), at a bad sample rate, and `reset`.
//!
//! Run in a debug build: `assert_no_alloc` (feature `warn_debug`) counts every allocation and
//! deallocation made inside `assert_no_alloc(..)` on this thread. Everything runs in one
//! `#[test]` because the counter is global.
#![cfg(debug_assertions)]

use aether_graph::{BUFFER_SIZE, Block, DspNode, Inputs, MAX_INPUTS, NodeState, StateValue};
use aether_nodes::*;
use aether_params::{ParamBlock, Smoothing};
use assert_no_alloc::{assert_no_alloc, violation_count};

#[global_allocator]
static A: assert_no_alloc::AllocDisabler = assert_no_alloc::AllocDisabler;

/// Runs `work` under the allocation guard and returns how many allocations or frees it made.
fn violations_during<T>(work: impl FnOnce() -> T) -> (T, u32) {
    let before = violation_count();
    let result = assert_no_alloc(work);
    (result, violation_count() - before)
}

/// Every node type with default and non-default settings.
fn nodes() -> Vec<Box<dyn DspNode>> {
    let registry = registry();
    let mut nodes: Vec<Box<dyn DspNode>> = NODE_TYPES
        .iter()
        .map(|&(name, constructor)| {
            let node = constructor(&NodeState::new()).unwrap();
            assert_eq!(node.type_name(), name);
            node
        })
        .collect();
    for mode in BiquadMode::ALL {
        nodes.push(Box::new(Biquad::new(mode)));
    }
    for mode in SvfMode::ALL {
        nodes.push(Box::new(Svf::new(mode)));
    }
    let sequence = NodeState::new().with(NOTES_KEY, StateValue::Text("1 2 3 4 5 6 7".into()));
    nodes.push(registry.create("Sequencer", &sequence).unwrap());
    nodes.push(Box::new(Delay::new(0.01, 48_000.0).unwrap()));
    nodes
}

#[test]
fn node_processing_does_not_allocate_or_free() {
    // The harness can fail: an allocation (and its free) inside the guard is counted.
    let (_, caught) = violations_during(|| {
        let v = Vec::<u8>::with_capacity(16);
        core::hint::black_box(&v);
    });
    assert!(caught > 0, "the allocation guard must detect an allocation");

    // Set-up outside the guard: input blocks of every kind.
    let tone: Block = core::array::from_fn(|n| (n as f32 * 0.3).sin());
    let gate: Block = core::array::from_fn(|n| if n % 20 < 10 { 1.0 } else { 0.0 });
    let hertz: Block = core::array::from_fn(|n| 200.0 + n as f32 * 300.0);
    let mut odd: Block = core::array::from_fn(|n| n as f32 * 1e6 - 3e7);
    odd[3] = f32::NAN;
    odd[7] = f32::INFINITY;
    odd[9] = f32::NEG_INFINITY;
    let none: Inputs<'_> = [None; MAX_INPUTS];
    let all: Inputs<'_> = [
        Some(&gate),
        Some(&hertz),
        Some(&tone),
        Some(&tone),
        Some(&tone),
        Some(&tone),
        Some(&tone),
        Some(&tone),
    ];
    let audio: Inputs<'_> = [Some(&tone), None, None, None, None, None, None, None];
    let weird: Inputs<'_> = [Some(&odd); MAX_INPUTS];

    for mut node in nodes() {
        let name = node.type_name();
        let mut params = ParamBlock::from_metas(node.param_specs()).unwrap();
        let mut output: Block = [0.0; BUFFER_SIZE];
        let ((), count) = violations_during(|| {
            for index in 0..params.len() {
                let meta = *params.meta(index).unwrap();
                // A linear ramp across blocks, then changes scheduled inside a block.
                params.set_target(index, meta.max, 100).unwrap();
                params.set_target_at(index, meta.min, 30, 17).unwrap();
                params
                    .schedule(
                        index,
                        meta.default,
                        Smoothing::Exponential {
                            time_constant_samples: 8.0,
                        },
                        90,
                    )
                    .unwrap();
            }
            for inputs in [&none, &all, &audio, &weird, &all, &none] {
                for _ in 0..3 {
                    node.process(inputs, &mut output, &mut params, 48_000.0);
                    core::hint::black_box(&output);
                }
            }
            for sample_rate in [0.0, f32::NAN, -1.0, 1e30, 8_000.0] {
                node.process(&all, &mut output, &mut params, sample_rate);
            }
            node.reset();
            node.process(&all, &mut output, &mut params, 44_100.0);
            // A parameter block that is not the node's own.
            let mut empty = ParamBlock::new();
            node.process(&all, &mut output, &mut empty, 48_000.0);
            core::hint::black_box(node.param_specs());
            core::hint::black_box(node.type_name());
        });
        assert_eq!(count, 0, "{name}: process allocated or freed");
    }
}
