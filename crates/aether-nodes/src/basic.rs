//! Utility nodes: [`Gain`], [`Mixer`], [`Multiply`], [`Constant`].
//!
//! None of them depends on the sample rate: they work (and ramp their parameters per sample)
//! whatever rate they are given.

use aether_graph::{BUFFER_SIZE, Block, DspNode, Inputs, MAX_INPUTS, NodeState, StateError};
use aether_params::{MAX_PARAMS, ParamBlock, ParamMeta, Unit};

use crate::util::{SILENCE, fill_params, input};

/// Implements the constructors shared by nodes without state.
macro_rules! stateless_constructors {
    ($name:ident) => {
        impl $name {
            /// Type name in patch files and the registry.
            pub const TYPE_NAME: &'static str = stringify!($name);

            /// A new node with default parameters.
            #[must_use]
            pub fn new() -> Self {
                Self::default()
            }

            /// Builds the node from saved settings; it takes none, so any entry is refused.
            ///
            /// # Errors
            ///
            /// [`StateError::Invalid`] naming the unexpected entry.
            pub fn from_state(state: &NodeState) -> Result<Self, StateError> {
                $crate::util::check_keys(state, Self::TYPE_NAME, &[])?;
                Ok(Self::new())
            }
        }
    };
}
pub(crate) use stateless_constructors;

/// Parameters of [`Gain`]: `gain`, a linear factor from 0 to 16 (+24 dB), default 1.
pub const GAIN_PARAMS: [ParamMeta; 1] = [ParamMeta::new("gain", 0.0, 16.0, 1.0, Unit::None)];

/// Multiplies input 0 by `gain` (smoothed per sample). Silence when input 0 is not connected.
///
/// Inputs: 0 = signal. Parameters: [`GAIN_PARAMS`]. State: none.
#[derive(Debug, Clone, Default)]
pub struct Gain;

stateless_constructors!(Gain);

impl DspNode for Gain {
    fn process(
        &mut self,
        inputs: &Inputs<'_>,
        output: &mut Block,
        params: &mut ParamBlock,
        _: f32,
    ) {
        let mut values = [[0.0; BUFFER_SIZE]; 1];
        fill_params(params, &GAIN_PARAMS, &mut values);
        let [gains] = &values;
        let signal = input(inputs, 0).unwrap_or(&SILENCE);
        for ((out, x), gain) in output.iter_mut().zip(signal).zip(gains) {
            *out = x * gain;
        }
    }

    fn type_name(&self) -> &'static str {
        Self::TYPE_NAME
    }

    fn cost_hint(&self) -> u64 {
        crate::cost_hint_of(Self::TYPE_NAME)
    }

    fn param_specs(&self) -> &[ParamMeta] {
        &GAIN_PARAMS
    }
}

const fn mixer_gain(name: &'static str) -> ParamMeta {
    ParamMeta::new(name, 0.0, 4.0, 1.0, Unit::None)
}

/// Parameters of [`Mixer`]: `gain0` .. `gain7`, the linear gain of each input slot (0 to 4,
/// default 1).
pub const MIXER_PARAMS: [ParamMeta; MAX_PARAMS] = [
    mixer_gain("gain0"),
    mixer_gain("gain1"),
    mixer_gain("gain2"),
    mixer_gain("gain3"),
    mixer_gain("gain4"),
    mixer_gain("gain5"),
    mixer_gain("gain6"),
    mixer_gain("gain7"),
];

/// Sums its connected inputs, input `k` scaled by `gain{k}` (smoothed per sample). Silence when
/// nothing is connected.
///
/// Inputs: 0 to 7 = signals. Parameters: [`MIXER_PARAMS`] (every gain ramps in time whether or
/// not its input is connected). State: none.
#[derive(Debug, Clone, Default)]
pub struct Mixer;

stateless_constructors!(Mixer);

impl DspNode for Mixer {
    fn process(
        &mut self,
        inputs: &Inputs<'_>,
        output: &mut Block,
        params: &mut ParamBlock,
        _: f32,
    ) {
        let mut gains = [[0.0; BUFFER_SIZE]; MAX_PARAMS];
        fill_params(params, &MIXER_PARAMS, &mut gains);
        *output = SILENCE;
        for (slot, gains) in inputs.iter().zip(&gains).take(MAX_INPUTS) {
            if let Some(signal) = slot {
                for ((out, x), gain) in output.iter_mut().zip(signal.iter()).zip(gains) {
                    *out += x * gain;
                }
            }
        }
    }

    fn type_name(&self) -> &'static str {
        Self::TYPE_NAME
    }

    fn cost_hint(&self) -> u64 {
        crate::cost_hint_of(Self::TYPE_NAME)
    }

    fn param_specs(&self) -> &[ParamMeta] {
        &MIXER_PARAMS
    }
}

/// Multiplies its connected inputs sample by sample: a VCA (signal × envelope) or a ring
/// modulator (signal × signal).
///
/// A missing input counts as 1.0, so a lone connected input passes through unchanged. With
/// **no** input connected the output is silence (not the empty product 1.0: an unpatched node
/// never emits full-scale DC).
///
/// Inputs: 0 to 7 = factors (usually 0 and 1). Parameters: none. State: none.
#[derive(Debug, Clone, Default)]
pub struct Multiply;

stateless_constructors!(Multiply);

impl DspNode for Multiply {
    fn process(&mut self, inputs: &Inputs<'_>, output: &mut Block, _: &mut ParamBlock, _: f32) {
        let mut connected = inputs.iter().flatten();
        let Some(first) = connected.next() else {
            *output = SILENCE;
            return;
        };
        *output = **first;
        for factor in connected {
            for (out, x) in output.iter_mut().zip(factor.iter()) {
                *out *= x;
            }
        }
    }

    fn type_name(&self) -> &'static str {
        Self::TYPE_NAME
    }

    fn cost_hint(&self) -> u64 {
        crate::cost_hint_of(Self::TYPE_NAME)
    }
}

/// Parameters of [`Constant`]: `value`, from -100 000 to 100 000, default 0.
pub const CONSTANT_PARAMS: [ParamMeta; 1] = [ParamMeta::new(
    "value",
    -100_000.0,
    100_000.0,
    0.0,
    Unit::None,
)];

/// Outputs its `value` parameter: a DC offset, a fixed frequency for an oscillator's frequency
/// input, or (through parameter ramps) a sample-accurate automation line.
///
/// Inputs: none. Parameters: [`CONSTANT_PARAMS`]. State: none.
#[derive(Debug, Clone, Default)]
pub struct Constant;

stateless_constructors!(Constant);

impl DspNode for Constant {
    fn process(&mut self, _: &Inputs<'_>, output: &mut Block, params: &mut ParamBlock, _: f32) {
        let mut values = [[0.0; BUFFER_SIZE]; 1];
        fill_params(params, &CONSTANT_PARAMS, &mut values);
        let [value] = values;
        *output = value;
    }

    fn type_name(&self) -> &'static str {
        Self::TYPE_NAME
    }

    fn cost_hint(&self) -> u64 {
        crate::cost_hint_of(Self::TYPE_NAME)
    }

    fn param_specs(&self) -> &[ParamMeta] {
        &CONSTANT_PARAMS
    }
}
