//! Cost of one 64-sample block of each node, with its usual inputs connected and its
//! parameters still (the common case) or ramping.
//!
//! `cargo bench -p aether-nodes -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use aether_graph::{BUFFER_SIZE, Block, DspNode, Inputs, MAX_INPUTS};
use aether_nodes::*;
use aether_params::ParamBlock;
use criterion::{Criterion, criterion_main};

const SR: f32 = 48_000.0;

fn bench_node(
    c: &mut Criterion,
    label: &str,
    mut node: Box<dyn DspNode>,
    inputs: &Inputs<'_>,
    ramping: bool,
) {
    let mut params = ParamBlock::from_metas(node.param_specs()).unwrap();
    let mut output: Block = [0.0; BUFFER_SIZE];
    let mut block = 0u32;
    c.bench_function(label, |b| {
        b.iter(|| {
            if ramping && block.is_multiple_of(16) {
                // Keep a ramp in flight on every parameter.
                for index in 0..params.len() {
                    let meta = *params.meta(index).unwrap();
                    let target = if block.is_multiple_of(32) {
                        meta.max
                    } else {
                        meta.min
                    };
                    let _ = params.set_target(index, target, 16 * BUFFER_SIZE as u32);
                }
            }
            block = block.wrapping_add(1);
            node.process(black_box(inputs), &mut output, &mut params, SR);
            black_box(&output);
        });
    });
}

fn nodes(c: &mut Criterion) {
    let tone: Block = core::array::from_fn(|n| (n as f32 * 0.3).sin());
    let gate: Block = core::array::from_fn(|n| if n < 32 { 1.0 } else { 0.0 });
    let hertz: Block = core::array::from_fn(|n| 300.0 + n as f32);
    let none: Inputs<'_> = [None; MAX_INPUTS];
    let audio: Inputs<'_> = [Some(&tone), None, None, None, None, None, None, None];
    let two: Inputs<'_> = [Some(&tone), Some(&tone), None, None, None, None, None, None];
    let eight: Inputs<'_> = [Some(&tone); MAX_INPUTS];
    let gated: Inputs<'_> = [Some(&gate), None, None, None, None, None, None, None];
    let modulated: Inputs<'_> = [
        Some(&tone),
        Some(&hertz),
        None,
        None,
        None,
        None,
        None,
        None,
    ];

    let cases: Vec<(&str, Box<dyn DspNode>, &Inputs<'_>)> = vec![
        ("Sine", Box::new(Sine::new()), &none),
        ("Saw", Box::new(Saw::new()), &none),
        ("Square", Box::new(Square::new()), &none),
        ("Triangle", Box::new(Triangle::new()), &none),
        ("WhiteNoise", Box::new(WhiteNoise::default()), &none),
        ("PinkNoise", Box::new(PinkNoise::default()), &none),
        ("Gain", Box::new(Gain::new()), &audio),
        ("Mixer (8 inputs)", Box::new(Mixer::new()), &eight),
        ("Multiply", Box::new(Multiply::new()), &two),
        ("Constant", Box::new(Constant::new()), &none),
        ("Biquad", Box::new(Biquad::new(BiquadMode::Lowpass)), &audio),
        ("Svf", Box::new(Svf::new(SvfMode::Lowpass)), &audio),
        (
            "Svf (cutoff input)",
            Box::new(Svf::new(SvfMode::Lowpass)),
            &modulated,
        ),
        ("Adsr", Box::new(Adsr::new()), &gated),
        ("Gate", Box::new(Gate::new()), &none),
        ("Sequencer", Box::new(Sequencer::default()), &gated),
        ("Delay", Box::new(Delay::default()), &audio),
    ];
    for (label, node, inputs) in cases {
        bench_node(c, &format!("block/{label}"), node, inputs, false);
    }
    bench_node(c, "ramping/Saw", Box::new(Saw::new()), &none, true);
    bench_node(
        c,
        "ramping/Biquad",
        Box::new(Biquad::new(BiquadMode::Peaking)),
        &audio,
        true,
    );
    bench_node(
        c,
        "ramping/Svf",
        Box::new(Svf::new(SvfMode::Lowpass)),
        &audio,
        true,
    );
    bench_node(c, "ramping/Delay", Box::new(Delay::default()), &audio, true);
}

/// `criterion_group!` generates an undocumented public function; keep it in its own module.
mod group {
    #![allow(missing_docs)]
    criterion::criterion_group!(benches, super::nodes);
}
criterion_main!(group::benches);
