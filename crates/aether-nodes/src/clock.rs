//! [`Gate`]: a free-running clock that outputs a gate pattern.

use aether_graph::{BUFFER_SIZE, Block, DspNode, Inputs, NodeState, StateError};
use aether_params::{ParamBlock, ParamMeta, Unit};

use crate::basic::stateless_constructors;
use crate::util::{PHASE_EPSILON, SILENCE, advance_clock, fill_params, usable_sample_rate};

/// Parameters of [`Gate`]: `rate` (Hz, 0 to 100, default 2) and `length` (fraction of each
/// period the gate is high, 0 to 1, default 0.5).
pub const GATE_PARAMS: [ParamMeta; 2] = [
    ParamMeta::new("rate", 0.0, 100.0, 2.0, Unit::Hertz),
    ParamMeta::new("length", 0.0, 1.0, 0.5, Unit::None),
];
/// Index of [`Gate`]'s `rate` parameter.
pub const GATE_RATE_PARAM: usize = 0;
/// Index of [`Gate`]'s `length` parameter.
pub const GATE_LENGTH_PARAM: usize = 1;

/// Largest per-sample phase step of a clock: a period lasts at least two samples.
pub(crate) const MAX_CLOCK_INCREMENT: f64 = 0.5;

/// A clock: outputs 1.0 for the first `length` of each period of `rate` Hz and 0.0 for the
/// rest, so patches can play notes without external input (feed it to an [`Adsr`](crate::Adsr)
/// gate and a [`Sequencer`](crate::Sequencer) clock).
///
/// It starts a period (gate high, unless `length` is 0) at its first sample and after
/// [`reset`](DspNode::reset). The phase accumulates in `f64`, so the pattern keeps time over
/// hours; a period need not be a whole number of samples (each edge falls on the first sample
/// at or after its exact time, so a 10 Hz gate at 48 kHz rises exactly every 4 800 samples).
/// `length` 1 holds the gate high, `length` 0 low. The rate is clamped to half the sample rate
/// (a period of at least two samples).
///
/// Inputs: none. Parameters: [`GATE_PARAMS`]. State: none.
#[derive(Debug, Clone, Default)]
pub struct Gate {
    phase: f64,
}

stateless_constructors!(Gate);

impl DspNode for Gate {
    fn process(&mut self, _: &Inputs<'_>, output: &mut Block, params: &mut ParamBlock, sr: f32) {
        let mut values = [[0.0; BUFFER_SIZE]; 2];
        fill_params(params, &GATE_PARAMS, &mut values);
        let Some(sample_rate) = usable_sample_rate(sr) else {
            *output = SILENCE;
            return;
        };
        let [rates, lengths] = &values;
        let seconds_per_sample = 1.0 / f64::from(sample_rate);
        for ((out, &rate), &length) in output.iter_mut().zip(rates).zip(lengths) {
            let high = self.phase + PHASE_EPSILON < f64::from(length);
            *out = if high { 1.0 } else { 0.0 };
            let increment = (f64::from(rate) * seconds_per_sample).min(MAX_CLOCK_INCREMENT);
            advance_clock(&mut self.phase, increment);
        }
    }

    fn type_name(&self) -> &'static str {
        Self::TYPE_NAME
    }

    fn cost_hint(&self) -> u64 {
        crate::cost_hint_of(Self::TYPE_NAME)
    }

    fn param_specs(&self) -> &[ParamMeta] {
        &GATE_PARAMS
    }

    fn reset(&mut self) {
        self.phase = 0.0;
    }
}
