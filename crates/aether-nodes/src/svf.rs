//! [`Svf`]: Andrew Simper's (Cytomic) trapezoidal-integration state-variable filter.

use core::f64::consts::PI;

use alloc::string::ToString;

use aether_graph::{BUFFER_SIZE, Block, DspNode, Inputs, NodeState, StateError, StateValue};
use aether_params::{ParamBlock, ParamMeta, Unit};

use crate::biquad::{MODE_KEY, mode_from_state};
use crate::util::{SILENCE, check_keys, clamp_frequency, fill_params, input};
use crate::util::{state_needs_clearing, usable_sample_rate};

/// Which output of the state-variable filter an [`Svf`] node emits. Each is the bilinear
/// transform (cutoff pre-warped) of the analog prototype named, `s` normalized to the cutoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SvfMode {
    /// `1 / (s² + s/Q + 1)`. Name `"lowpass"`.
    #[default]
    Lowpass,
    /// `s² / (s² + s/Q + 1)`. Name `"highpass"`.
    Highpass,
    /// `(s/Q) / (s² + s/Q + 1)`: the band output scaled by `1/Q`, so the peak is 0 dB.
    /// Name `"bandpass"`.
    Bandpass,
    /// `(s² + 1) / (s² + s/Q + 1)`. Name `"notch"`.
    Notch,
    /// `(s² - s/Q + 1) / (s² + s/Q + 1)`. Name `"allpass"`.
    Allpass,
}

impl SvfMode {
    /// Every mode, in declaration order.
    pub const ALL: [SvfMode; 5] = [
        SvfMode::Lowpass,
        SvfMode::Highpass,
        SvfMode::Bandpass,
        SvfMode::Notch,
        SvfMode::Allpass,
    ];

    /// The mode's name in a [`NodeState`].
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            SvfMode::Lowpass => "lowpass",
            SvfMode::Highpass => "highpass",
            SvfMode::Bandpass => "bandpass",
            SvfMode::Notch => "notch",
            SvfMode::Allpass => "allpass",
        }
    }

    /// The mode called `name`, if any.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|mode| mode.name() == name)
    }
}

/// Parameters of [`Svf`]: `freq` (Hz, 10 to 20 000, default 1 000), `q` (0.1 to 40, default
/// 1/√2).
pub const SVF_PARAMS: [ParamMeta; 2] = [
    ParamMeta::new("freq", 10.0, 20_000.0, 1_000.0, Unit::Hertz),
    ParamMeta::new("q", 0.1, 40.0, core::f32::consts::FRAC_1_SQRT_2, Unit::None),
];
/// Index of [`Svf`]'s `freq` parameter.
pub const SVF_FREQ_PARAM: usize = 0;
/// Index of [`Svf`]'s `q` parameter.
pub const SVF_Q_PARAM: usize = 1;

/// Coefficients for one `(freq, q)` pair.
#[derive(Debug, Clone, Copy, PartialEq)]
struct SvfCoefficients {
    k: f64,
    a1: f64,
    a2: f64,
    a3: f64,
}

impl SvfCoefficients {
    fn new(frequency: f32, q: f32, sample_rate: f32) -> Self {
        let frequency = f64::from(clamp_frequency(frequency, sample_rate));
        let g = (PI * frequency / f64::from(sample_rate)).tan();
        let k = 1.0 / f64::from(q.max(0.01));
        let a1 = 1.0 / (1.0 + g * (g + k));
        let a2 = g * a1;
        let a3 = g * a2;
        SvfCoefficients { k, a1, a2, a3 }
    }
}

/// A state-variable filter with trapezoidal integrators (Simper, "Linear Trap Integrated SVF"):
/// well behaved under fast modulation, the same magnitude response as the matching
/// [`Biquad`](crate::Biquad) mode when the cutoff is still.
///
/// Inputs: 0 = signal (silence when unconnected); 1 = cutoff frequency in Hz, per sample,
/// **replacing** `freq` when connected. Parameters: [`SVF_PARAMS`]. State: `mode` (text, an
/// [`SvfMode`] name, default `"lowpass"`), fixed at construction.
///
/// Coefficients (one `tan` and a division) are recomputed for a sample only when its cutoff,
/// `q` or the sample rate differ from the previous sample's, so a still filter costs only the
/// multiply-adds and a modulated one follows its cutoff sample by sample. The cutoff is clamped
/// to `[0, MAX_FREQUENCY_RATIO * sample_rate]`. Non-finite state (from NaN or infinite input)
/// is cleared at the end of the block, and so is state that has decayed below
/// [`TINY`](crate::TINY) (no denormals).
#[derive(Debug, Clone)]
pub struct Svf {
    mode: SvfMode,
    coefficients: SvfCoefficients,
    /// `(freq, q, sample_rate)` the coefficients were computed for.
    designed_for: Option<[f32; 3]>,
    ic1eq: f64,
    ic2eq: f64,
}

impl Svf {
    /// Type name in patch files and the registry.
    pub const TYPE_NAME: &'static str = "Svf";

    /// A filter emitting `mode`'s output, with cleared state.
    #[must_use]
    pub fn new(mode: SvfMode) -> Self {
        Self {
            mode,
            coefficients: SvfCoefficients {
                k: 0.0,
                a1: 0.0,
                a2: 0.0,
                a3: 0.0,
            },
            designed_for: None,
            ic1eq: 0.0,
            ic2eq: 0.0,
        }
    }

    /// The filter's mode.
    #[must_use]
    pub fn mode(&self) -> SvfMode {
        self.mode
    }

    /// Builds the node from saved settings (`mode`).
    ///
    /// # Errors
    ///
    /// [`StateError::WrongType`] for a non-text mode, [`StateError::Invalid`] for an unknown
    /// mode or entry.
    pub fn from_state(state: &NodeState) -> Result<Self, StateError> {
        check_keys(state, Self::TYPE_NAME, &[MODE_KEY])?;
        let mode = mode_from_state(state, SvfMode::default(), &SvfMode::ALL, SvfMode::name)?;
        Ok(Self::new(mode))
    }
}

impl Default for Svf {
    fn default() -> Self {
        Self::new(SvfMode::default())
    }
}

impl DspNode for Svf {
    fn process(
        &mut self,
        inputs: &Inputs<'_>,
        output: &mut Block,
        params: &mut ParamBlock,
        sample_rate: f32,
    ) {
        let mut values = [[0.0; BUFFER_SIZE]; 2];
        fill_params(params, &SVF_PARAMS, &mut values);
        let Some(sample_rate) = usable_sample_rate(sample_rate) else {
            *output = SILENCE;
            return;
        };
        let [frequencies, qs] = &values;
        let frequencies = input(inputs, 1).unwrap_or(frequencies);
        let signal = input(inputs, 0).unwrap_or(&SILENCE);
        let (mut ic1eq, mut ic2eq) = (self.ic1eq, self.ic2eq);
        let samples = output
            .iter_mut()
            .zip(signal)
            .zip(frequencies)
            .zip(qs.iter());
        for (((out, &x), &frequency), &q) in samples {
            let wanted = [frequency, q, sample_rate];
            if self.designed_for != Some(wanted) {
                self.coefficients = SvfCoefficients::new(frequency, q, sample_rate);
                self.designed_for = Some(wanted);
            }
            let SvfCoefficients { k, a1, a2, a3 } = self.coefficients;
            let v0 = f64::from(x);
            let v3 = v0 - ic2eq;
            let v1 = a1 * ic1eq + a2 * v3;
            let v2 = ic2eq + a2 * ic1eq + a3 * v3;
            ic1eq = 2.0 * v1 - ic1eq;
            ic2eq = 2.0 * v2 - ic2eq;
            let y = match self.mode {
                SvfMode::Lowpass => v2,
                SvfMode::Highpass => v0 - k * v1 - v2,
                SvfMode::Bandpass => k * v1,
                SvfMode::Notch => v0 - k * v1,
                SvfMode::Allpass => v0 - 2.0 * k * v1,
            };
            *out = y as f32;
        }
        if state_needs_clearing(ic1eq, ic2eq) {
            self.ic1eq = 0.0;
            self.ic2eq = 0.0;
        } else {
            self.ic1eq = ic1eq;
            self.ic2eq = ic2eq;
        }
    }

    fn type_name(&self) -> &'static str {
        Self::TYPE_NAME
    }

    fn cost_hint(&self) -> u64 {
        crate::cost_hint_of(Self::TYPE_NAME)
    }

    fn param_specs(&self) -> &[ParamMeta] {
        &SVF_PARAMS
    }

    fn reset(&mut self) {
        self.ic1eq = 0.0;
        self.ic2eq = 0.0;
    }

    fn save_state(&self) -> NodeState {
        NodeState::new().with(MODE_KEY, StateValue::Text(self.mode.name().to_string()))
    }

    fn load_state(&mut self, state: &NodeState) -> Result<(), StateError> {
        *self = Self::from_state(state)?;
        Ok(())
    }
}
