//! Helpers shared by the nodes: parameter blocks, sample-rate checks, state validation.

use alloc::format;
use alloc::string::String;

use aether_graph::{BUFFER_SIZE, Block, Inputs, NodeState, StateError};
use aether_params::{ParamBlock, ParamMeta};

/// Highest frequency any node synthesizes or tunes a filter to, as a fraction of the sample
/// rate (just below Nyquist, 0.5). Frequencies above it are clamped to it.
pub const MAX_FREQUENCY_RATIO: f32 = 0.49;

/// A block of silence.
pub(crate) const SILENCE: Block = [0.0; BUFFER_SIZE];

/// Fills `blocks[i]` with the next block of parameter `i` (smoothed, per sample), clamped into
/// `metas[i]`'s range. A parameter missing from `params` (a block not built from the node's
/// `param_specs`) reads as its default.
///
/// Real-time safe: `N` `fill_buffer` calls plus a clamp pass, no allocation.
#[inline]
pub(crate) fn fill_params<const N: usize>(
    params: &mut ParamBlock,
    metas: &[ParamMeta; N],
    blocks: &mut [Block; N],
) {
    for (index, (meta, block)) in metas.iter().zip(blocks.iter_mut()).enumerate() {
        match params.get_mut(index) {
            Some(param) => param.fill_buffer(block),
            None => block.fill(meta.default),
        }
        let (min, max) = (meta.min, meta.max);
        for value in block.iter_mut() {
            // `max`/`min` also map a NaN to `min` (never produced by `Param`, but cheap).
            *value = value.max(min).min(max);
        }
    }
}

/// Lowest sample rate, in Hz, a time-dependent node runs at.
pub const MIN_SAMPLE_RATE: f32 = 1.0;

/// `Some(sample_rate)` when it is finite and at least [`MIN_SAMPLE_RATE`]. Nodes that depend on
/// time output silence (and keep their state) for any other rate.
#[inline]
pub(crate) fn usable_sample_rate(sample_rate: f32) -> Option<f32> {
    (sample_rate.is_finite() && sample_rate >= MIN_SAMPLE_RATE).then_some(sample_rate)
}

/// Clamps a frequency in Hz into `[0, MAX_FREQUENCY_RATIO * sample_rate]`; NaN becomes 0.
#[inline]
pub(crate) fn clamp_frequency(frequency: f32, sample_rate: f32) -> f32 {
    frequency.max(0.0).min(MAX_FREQUENCY_RATIO * sample_rate)
}

/// Input slot `slot`, or `None` when it is not connected (or out of range).
#[inline]
pub(crate) fn input<'a>(inputs: &Inputs<'a>, slot: usize) -> Option<&'a Block> {
    inputs.get(slot).copied().flatten()
}

/// `true` for a gate or clock sample that counts as "high".
#[inline]
pub(crate) fn is_high(sample: f32) -> bool {
    sample > 0.5
}

/// Refuses any entry of `state` whose key is not in `allowed`, naming it and the node type.
pub(crate) fn check_keys(
    state: &NodeState,
    type_name: &'static str,
    allowed: &[&'static str],
) -> Result<(), StateError> {
    match state.0.keys().find(|key| !allowed.contains(&key.as_str())) {
        None => Ok(()),
        Some(unknown) => {
            let accepted = if allowed.is_empty() {
                String::from("it takes no settings")
            } else {
                format!("it takes {}", allowed.join(", "))
            };
            Err(StateError::Invalid {
                key: "state",
                reason: format!("{type_name} has no setting {unknown:?}; {accepted}"),
            })
        }
    }
}

/// The number under `key` (integers accepted), or `default` when absent.
pub(crate) fn float_or(
    state: &NodeState,
    key: &'static str,
    default: f64,
) -> Result<f64, StateError> {
    match state.get(key) {
        None => Ok(default),
        Some(_) => state.float(key),
    }
}

/// Magnitude below which filter and delay state is flushed to zero (about -600 dB): far below
/// any audible signal, far above the denormal range, so decaying state never turns denormal.
pub const TINY: f32 = 1e-30;

/// `x`, or 0 when it is not finite or smaller than [`TINY`] in magnitude.
#[inline]
pub(crate) fn flush(x: f32) -> f32 {
    let magnitude = x.abs();
    // A NaN fails both comparisons.
    if magnitude > TINY && magnitude < f32::INFINITY {
        x
    } else {
        0.0
    }
}

/// `true` when filter state must be cleared: not finite (from NaN or infinite input) or so
/// small it would decay into denormals.
#[inline]
pub(crate) fn state_needs_clearing(a: f64, b: f64) -> bool {
    let tiny = f64::from(TINY);
    !(a.is_finite() && b.is_finite()) || (a.abs() < tiny && b.abs() < tiny)
}

/// Rounding slack of a clock phase: a phase within this much below a boundary (a period's end,
/// a gate's length) counts as having reached it. At 48 kHz and 100 Hz it is 10^-11 s, far
/// below a sample, and it stops an accumulated `f64` rounding error from moving an edge that
/// is due exactly on a sample to the next one.
pub(crate) const PHASE_EPSILON: f64 = 1e-9;

/// Advances a clock phase in `[0, 1)` by `increment` (in `[0, 0.5]`); returns `true` when a
/// new period started (the phase wrapped).
#[inline]
pub(crate) fn advance_clock(phase: &mut f64, increment: f64) -> bool {
    let next = *phase + increment;
    if next + PHASE_EPSILON >= 1.0 {
        *phase = (next - 1.0).max(0.0);
        true
    } else {
        *phase = next;
        false
    }
}
