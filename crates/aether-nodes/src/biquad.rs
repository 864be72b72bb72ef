//! [`Biquad`]: the RBJ "Audio EQ Cookbook" filters in transposed direct form II.

use core::f64::consts::PI;

use alloc::format;
use alloc::string::ToString;

use aether_graph::{BUFFER_SIZE, Block, DspNode, Inputs, NodeState, StateError, StateValue};
use aether_params::{ParamBlock, ParamMeta, Unit};

use crate::util::{SILENCE, check_keys, clamp_frequency, fill_params, input};
use crate::util::{state_needs_clearing, usable_sample_rate};

/// State key of a filter's mode (text, one of the mode names).
pub const MODE_KEY: &str = "mode";

/// The response of a [`Biquad`]. Every mode is the bilinear transform (with the cutoff
/// pre-warped) of the analog prototype named in its documentation, `s` normalized to the
/// cutoff, as in Robert Bristow-Johnson's cookbook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum BiquadMode {
    /// `1 / (s² + s/Q + 1)`; 12 dB/octave above the cutoff. Name `"lowpass"`.
    #[default]
    Lowpass,
    /// `s² / (s² + s/Q + 1)`. Name `"highpass"`.
    Highpass,
    /// `(s/Q) / (s² + s/Q + 1)`: constant 0 dB peak gain at the center. Name `"bandpass"`.
    Bandpass,
    /// `(s² + 1) / (s² + s/Q + 1)`. Name `"notch"`.
    Notch,
    /// `(s² + s·A/Q + 1) / (s² + s/(A·Q) + 1)` with `A = 10^(gain_db/40)`: `gain_db` at the
    /// center. Name `"peaking"`.
    Peaking,
    /// `A·(s² + s·√A/Q + A) / (A·s² + s·√A/Q + 1)`: `gain_db` below the corner. Name
    /// `"lowshelf"`.
    LowShelf,
    /// `A·(A·s² + s·√A/Q + 1) / (s² + s·√A/Q + A)`: `gain_db` above the corner. Name
    /// `"highshelf"`.
    HighShelf,
    /// `(s² - s/Q + 1) / (s² + s/Q + 1)`: unit magnitude, phase turns through the cutoff.
    /// Name `"allpass"`.
    Allpass,
}

impl BiquadMode {
    /// Every mode, in declaration order.
    pub const ALL: [BiquadMode; 8] = [
        BiquadMode::Lowpass,
        BiquadMode::Highpass,
        BiquadMode::Bandpass,
        BiquadMode::Notch,
        BiquadMode::Peaking,
        BiquadMode::LowShelf,
        BiquadMode::HighShelf,
        BiquadMode::Allpass,
    ];

    /// The mode's name in a [`NodeState`].
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            BiquadMode::Lowpass => "lowpass",
            BiquadMode::Highpass => "highpass",
            BiquadMode::Bandpass => "bandpass",
            BiquadMode::Notch => "notch",
            BiquadMode::Peaking => "peaking",
            BiquadMode::LowShelf => "lowshelf",
            BiquadMode::HighShelf => "highshelf",
            BiquadMode::Allpass => "allpass",
        }
    }

    /// The mode called `name`, if any.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|mode| mode.name() == name)
    }

    /// Normalized coefficients `[b0, b1, b2, a1, a2]` (divided by `a0`) for a cutoff or center
    /// at `frequency` Hz (clamped to just below Nyquist), quality `q` (at least 0.01) and
    /// `gain_db` (used by the peaking and shelf modes), at `sample_rate` Hz. A sample rate that
    /// is not finite or is below [`MIN_SAMPLE_RATE`](crate::MIN_SAMPLE_RATE) gives all-zero
    /// coefficients (silence).
    #[must_use]
    pub fn coefficients(self, frequency: f32, q: f32, gain_db: f32, sample_rate: f32) -> [f64; 5] {
        let Some(sample_rate) = usable_sample_rate(sample_rate) else {
            return [0.0; 5];
        };
        let frequency = f64::from(clamp_frequency(frequency, sample_rate));
        let q = f64::from(q.max(0.01));
        let w0 = 2.0 * PI * frequency / f64::from(sample_rate);
        let (sin, cos) = w0.sin_cos();
        let alpha = sin / (2.0 * q);
        let a = 10.0_f64.powf(f64::from(gain_db) / 40.0);
        let sqrt_a_alpha_2 = 2.0 * a.sqrt() * alpha;
        let [b0, b1, b2, a0, a1, a2] = match self {
            BiquadMode::Lowpass => [
                (1.0 - cos) / 2.0,
                1.0 - cos,
                (1.0 - cos) / 2.0,
                1.0 + alpha,
                -2.0 * cos,
                1.0 - alpha,
            ],
            BiquadMode::Highpass => [
                (1.0 + cos) / 2.0,
                -(1.0 + cos),
                (1.0 + cos) / 2.0,
                1.0 + alpha,
                -2.0 * cos,
                1.0 - alpha,
            ],
            BiquadMode::Bandpass => [alpha, 0.0, -alpha, 1.0 + alpha, -2.0 * cos, 1.0 - alpha],
            BiquadMode::Notch => [1.0, -2.0 * cos, 1.0, 1.0 + alpha, -2.0 * cos, 1.0 - alpha],
            BiquadMode::Peaking => [
                1.0 + alpha * a,
                -2.0 * cos,
                1.0 - alpha * a,
                1.0 + alpha / a,
                -2.0 * cos,
                1.0 - alpha / a,
            ],
            BiquadMode::LowShelf => [
                a * ((a + 1.0) - (a - 1.0) * cos + sqrt_a_alpha_2),
                2.0 * a * ((a - 1.0) - (a + 1.0) * cos),
                a * ((a + 1.0) - (a - 1.0) * cos - sqrt_a_alpha_2),
                (a + 1.0) + (a - 1.0) * cos + sqrt_a_alpha_2,
                -2.0 * ((a - 1.0) + (a + 1.0) * cos),
                (a + 1.0) + (a - 1.0) * cos - sqrt_a_alpha_2,
            ],
            BiquadMode::HighShelf => [
                a * ((a + 1.0) + (a - 1.0) * cos + sqrt_a_alpha_2),
                -2.0 * a * ((a - 1.0) + (a + 1.0) * cos),
                a * ((a + 1.0) + (a - 1.0) * cos - sqrt_a_alpha_2),
                (a + 1.0) - (a - 1.0) * cos + sqrt_a_alpha_2,
                2.0 * ((a - 1.0) - (a + 1.0) * cos),
                (a + 1.0) - (a - 1.0) * cos - sqrt_a_alpha_2,
            ],
            BiquadMode::Allpass => [
                1.0 - alpha,
                -2.0 * cos,
                1.0 + alpha,
                1.0 + alpha,
                -2.0 * cos,
                1.0 - alpha,
            ],
        };
        // a0 > 0 for every mode: at least 1 for the first four and the all-pass, 1 + alpha/A
        // for peaking, at least min(2, 2A) for the shelves.
        [b0 / a0, b1 / a0, b2 / a0, a1 / a0, a2 / a0]
    }
}

/// Parses a filter mode from a state's `mode` entry (absent = `default`), naming the accepted
/// values on error.
pub(crate) fn mode_from_state<M: Copy>(
    state: &NodeState,
    default: M,
    all: &[M],
    name: fn(M) -> &'static str,
) -> Result<M, StateError> {
    if state.get(MODE_KEY).is_none() {
        return Ok(default);
    }
    let text = state.text(MODE_KEY)?;
    all.iter()
        .copied()
        .find(|mode| name(*mode) == text)
        .ok_or_else(|| {
            let accepted: alloc::vec::Vec<&str> = all.iter().map(|mode| name(*mode)).collect();
            StateError::Invalid {
                key: MODE_KEY,
                reason: format!(
                    "unknown mode {text:?}; expected one of {}",
                    accepted.join(", ")
                ),
            }
        })
}

/// Parameters of [`Biquad`]: `freq` (Hz, 10 to 20 000, default 1 000), `q` (0.1 to 40,
/// default 1/√2), `gain_db` (dB, -24 to 24, default 0; peaking and shelf modes only).
pub const BIQUAD_PARAMS: [ParamMeta; 3] = [
    ParamMeta::new("freq", 10.0, 20_000.0, 1_000.0, Unit::Hertz),
    ParamMeta::new("q", 0.1, 40.0, core::f32::consts::FRAC_1_SQRT_2, Unit::None),
    ParamMeta::new("gain_db", -24.0, 24.0, 0.0, Unit::Decibels),
];
/// Index of [`Biquad`]'s `freq` parameter.
pub const BIQUAD_FREQ_PARAM: usize = 0;
/// Index of [`Biquad`]'s `q` parameter.
pub const BIQUAD_Q_PARAM: usize = 1;
/// Index of [`Biquad`]'s `gain_db` parameter.
pub const BIQUAD_GAIN_DB_PARAM: usize = 2;

/// Samples per coefficient update while a parameter moves.
pub const BIQUAD_UPDATE_INTERVAL: usize = 16;

/// A second-order IIR filter from the RBJ cookbook ([`BiquadMode`]), run in transposed direct
/// form II with `f64` coefficients and state.
///
/// Inputs: 0 = signal (silence when unconnected). Parameters: [`BIQUAD_PARAMS`]. State:
/// `mode` (text, a [`BiquadMode`] name, default `"lowpass"`), fixed at construction.
///
/// Coefficients are recomputed only when the parameters move: at the start of every
/// [`BIQUAD_UPDATE_INTERVAL`]-sample stretch, from the parameter values at that sample, if they
/// (or the sample rate) differ from those of the current coefficients. Steady parameters cost
/// nothing; a sweep is followed in 16-sample steps. The cutoff is clamped to
/// `MAX_FREQUENCY_RATIO * sample_rate`. If the state ever becomes non-finite (a NaN or infinite
/// input) it is cleared at the end of the block, so the filter recovers instead of emitting NaN
/// forever; state that has decayed below [`TINY`](crate::TINY) is cleared too (no denormals).
#[derive(Debug, Clone)]
pub struct Biquad {
    mode: BiquadMode,
    /// `[b0, b1, b2, a1, a2]`.
    coefficients: [f64; 5],
    /// `(freq, q, gain_db, sample_rate)` the coefficients were computed for.
    designed_for: Option<[f32; 4]>,
    s1: f64,
    s2: f64,
}

impl Biquad {
    /// Type name in patch files and the registry.
    pub const TYPE_NAME: &'static str = "Biquad";

    /// A filter of the given mode with cleared state.
    #[must_use]
    pub fn new(mode: BiquadMode) -> Self {
        Self {
            mode,
            coefficients: [0.0; 5],
            designed_for: None,
            s1: 0.0,
            s2: 0.0,
        }
    }

    /// The filter's mode.
    #[must_use]
    pub fn mode(&self) -> BiquadMode {
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
        let mode = mode_from_state(
            state,
            BiquadMode::default(),
            &BiquadMode::ALL,
            BiquadMode::name,
        )?;
        Ok(Self::new(mode))
    }
}

impl Default for Biquad {
    fn default() -> Self {
        Self::new(BiquadMode::default())
    }
}

impl DspNode for Biquad {
    fn process(
        &mut self,
        inputs: &Inputs<'_>,
        output: &mut Block,
        params: &mut ParamBlock,
        sample_rate: f32,
    ) {
        let mut values = [[0.0; BUFFER_SIZE]; 3];
        fill_params(params, &BIQUAD_PARAMS, &mut values);
        let Some(sample_rate) = usable_sample_rate(sample_rate) else {
            *output = SILENCE;
            return;
        };
        let [frequencies, qs, gains] = &values;
        let signal = input(inputs, 0).unwrap_or(&SILENCE);
        let stretches = output
            .chunks_exact_mut(BIQUAD_UPDATE_INTERVAL)
            .zip(signal.chunks_exact(BIQUAD_UPDATE_INTERVAL))
            .zip(frequencies.chunks_exact(BIQUAD_UPDATE_INTERVAL))
            .zip(qs.chunks_exact(BIQUAD_UPDATE_INTERVAL))
            .zip(gains.chunks_exact(BIQUAD_UPDATE_INTERVAL));
        for ((((out, x), frequency), q), gain) in stretches {
            let wanted = [
                frequency
                    .first()
                    .copied()
                    .unwrap_or(BIQUAD_PARAMS[0].default),
                q.first().copied().unwrap_or(BIQUAD_PARAMS[1].default),
                gain.first().copied().unwrap_or(BIQUAD_PARAMS[2].default),
                sample_rate,
            ];
            if self.designed_for != Some(wanted) {
                let [frequency, q, gain_db, rate] = wanted;
                self.coefficients = self.mode.coefficients(frequency, q, gain_db, rate);
                self.designed_for = Some(wanted);
            }
            let [b0, b1, b2, a1, a2] = self.coefficients;
            let (mut s1, mut s2) = (self.s1, self.s2);
            for (out, &x) in out.iter_mut().zip(x) {
                let x = f64::from(x);
                let y = b0 * x + s1;
                s1 = b1 * x - a1 * y + s2;
                s2 = b2 * x - a2 * y;
                *out = y as f32;
            }
            self.s1 = s1;
            self.s2 = s2;
        }
        if state_needs_clearing(self.s1, self.s2) {
            self.s1 = 0.0;
            self.s2 = 0.0;
        }
    }

    fn type_name(&self) -> &'static str {
        Self::TYPE_NAME
    }

    fn cost_hint(&self) -> u64 {
        crate::cost_hint_of(Self::TYPE_NAME)
    }

    fn param_specs(&self) -> &[ParamMeta] {
        &BIQUAD_PARAMS
    }

    fn reset(&mut self) {
        self.s1 = 0.0;
        self.s2 = 0.0;
    }

    fn save_state(&self) -> NodeState {
        NodeState::new().with(MODE_KEY, StateValue::Text(self.mode.name().to_string()))
    }

    fn load_state(&mut self, state: &NodeState) -> Result<(), StateError> {
        *self = Self::from_state(state)?;
        Ok(())
    }
}
