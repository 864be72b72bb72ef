//! Helpers shared by the integration tests: run a node over a signal, block by block.
#![allow(dead_code)]

use aether_graph::{BUFFER_SIZE, Block, DspNode, Inputs, MAX_INPUTS};
use aether_params::ParamBlock;

pub const SR: f32 = 48_000.0;

/// The parameter block the graph would build for `node`.
pub fn params_for(node: &dyn DspNode) -> ParamBlock {
    ParamBlock::from_metas(node.param_specs()).expect("valid parameter specs")
}

/// Sets parameter `name` of `params` to `value` at once.
pub fn set(params: &mut ParamBlock, name: &str, value: f32) {
    let index = params
        .index_of(name)
        .unwrap_or_else(|| panic!("no parameter {name}"));
    params.set_target(index, value, 0).unwrap();
}

/// Runs `node` for `samples` samples (rounded up to whole blocks, then truncated), feeding
/// `inputs[k]` (a whole signal, at least `samples` long) into input slot `k`.
pub fn render_inputs(
    node: &mut dyn DspNode,
    params: &mut ParamBlock,
    inputs: &[Option<&[f32]>],
    samples: usize,
    sample_rate: f32,
) -> Vec<f32> {
    let blocks = samples.div_ceil(BUFFER_SIZE);
    let mut out = Vec::with_capacity(blocks * BUFFER_SIZE);
    let mut input_blocks = [[0.0f32; BUFFER_SIZE]; MAX_INPUTS];
    for block in 0..blocks {
        let range = block * BUFFER_SIZE..(block + 1) * BUFFER_SIZE;
        for (slot, signal) in inputs.iter().enumerate() {
            if let Some(signal) = signal {
                for (i, x) in input_blocks[slot].iter_mut().enumerate() {
                    *x = signal.get(range.start + i).copied().unwrap_or(0.0);
                }
            }
        }
        let mut node_inputs: Inputs<'_> = [None; MAX_INPUTS];
        for (slot, signal) in inputs.iter().enumerate() {
            if signal.is_some() {
                node_inputs[slot] = Some(&input_blocks[slot]);
            }
        }
        // Garbage in the output buffer: the node must overwrite every sample.
        let mut output: Block = [f32::NAN; BUFFER_SIZE];
        node.process(&node_inputs, &mut output, params, sample_rate);
        out.extend_from_slice(&output);
    }
    out.truncate(samples);
    out
}

/// Runs a node with no inputs.
pub fn render(node: &mut dyn DspNode, params: &mut ParamBlock, samples: usize) -> Vec<f32> {
    render_inputs(node, params, &[], samples, SR)
}

/// Runs a node with one input.
pub fn render_one(
    node: &mut dyn DspNode,
    params: &mut ParamBlock,
    input: &[f32],
    sample_rate: f32,
) -> Vec<f32> {
    render_inputs(node, params, &[Some(input)], input.len(), sample_rate)
}

/// Complex DFT coefficient of `x` at `frequency` Hz, normalized so a full-scale sine of that
/// frequency (whole number of periods in `x`) has magnitude 1.
pub fn dft_at(x: &[f32], frequency: f64, sample_rate: f64) -> (f64, f64) {
    let w = 2.0 * std::f64::consts::PI * frequency / sample_rate;
    let (mut re, mut im) = (0.0, 0.0);
    for (n, &v) in x.iter().enumerate() {
        let (s, c) = (w * n as f64).sin_cos();
        re += f64::from(v) * c;
        im -= f64::from(v) * s;
    }
    let scale = 2.0 / x.len() as f64;
    (re * scale, im * scale)
}

/// Amplitude of the `frequency` component of `x` (see [`dft_at`]).
pub fn amplitude_at(x: &[f32], frequency: f64, sample_rate: f64) -> f64 {
    let (re, im) = dft_at(x, frequency, sample_rate);
    re.hypot(im)
}

pub fn db(ratio: f64) -> f64 {
    20.0 * ratio.log10()
}

/// Frequency of `x` from its rising zero crossings, each located by linear interpolation.
pub fn zero_crossing_frequency(x: &[f32], sample_rate: f64) -> f64 {
    let mut first = None;
    let mut last = 0.0;
    let mut count = 0usize;
    for i in 1..x.len() {
        let (a, b) = (f64::from(x[i - 1]), f64::from(x[i]));
        if a < 0.0 && b >= 0.0 {
            let t = (i - 1) as f64 + a / (a - b);
            first.get_or_insert(t);
            last = t;
            count += 1;
        }
    }
    let first = first.expect("at least one crossing");
    assert!(count >= 3, "too few crossings: {count}");
    (count - 1) as f64 / ((last - first) / sample_rate)
}
