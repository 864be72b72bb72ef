//! Oscillators: [`Sine`], and the band-limited [`Saw`], [`Square`] and [`Triangle`].
//!
//! All four share one phase accumulator in `f64` (so pitch stays exact over hours) and the same
//! inputs and first two parameters:
//!
//! - input 0: frequency in Hz, per sample. When connected it **replaces** the `freq` parameter.
//! - input 1: frequency offset in Hz (linear FM), added to the frequency.
//! - `freq` (Hz, 0 to 20 000, default 440) and `gain` (0 to 1, default 1).
//!
//! The resulting frequency is clamped to `[0, MAX_FREQUENCY_RATIO * sample_rate]` (NaN counts
//! as 0), so a negative or above-Nyquist request never produces garbage.
//!
//! Band limiting: [`Saw`] and [`Square`] subtract a two-sample polynomial band-limited step
//! (polyBLEP) at each discontinuity; [`Triangle`] adds a two-sample polynomial band-limited ramp
//! (polyBLAMP) at each corner. All four start at phase 0, where their first sample is 0: the
//! sine, the triangle and the square (on its rising edge) rise through zero there, in phase;
//! the saw is halfway down its step (its ramp crosses zero rising at mid-period).

use core::f32::consts::TAU;

use aether_graph::{BUFFER_SIZE, Block, DspNode, Inputs, NodeState, StateError};
use aether_params::{ParamBlock, ParamMeta, Unit};

use crate::util::{MAX_FREQUENCY_RATIO, check_keys, clamp_frequency, fill_params, input};
use crate::util::{SILENCE, usable_sample_rate};

/// The `freq` parameter of every oscillator.
const FREQ: ParamMeta = ParamMeta::new("freq", 0.0, 20_000.0, 440.0, Unit::Hertz);
/// The `gain` parameter of every oscillator and noise source.
pub(crate) const SOURCE_GAIN: ParamMeta = ParamMeta::new("gain", 0.0, 1.0, 1.0, Unit::None);
/// The [`Square`]'s `width` parameter.
const WIDTH: ParamMeta = ParamMeta::new("width", 0.05, 0.95, 0.5, Unit::None);

/// Parameters of [`Sine`], [`Saw`] and [`Triangle`]: `freq`, `gain`.
pub const OSCILLATOR_PARAMS: [ParamMeta; 2] = [FREQ, SOURCE_GAIN];
/// Parameters of [`Square`]: `freq`, `gain`, `width` (the fraction of each period spent high).
pub const SQUARE_PARAMS: [ParamMeta; 3] = [FREQ, SOURCE_GAIN, WIDTH];

/// Index of the `freq` parameter of every oscillator.
pub const FREQ_PARAM: usize = 0;
/// Index of the `gain` parameter of every oscillator.
pub const GAIN_PARAM: usize = 1;
/// Index of the [`Square`]'s `width` parameter.
pub const WIDTH_PARAM: usize = 2;

/// A phase in `[0, 1)` advanced by a per-sample increment in `[0, MAX_FREQUENCY_RATIO]`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Phase(f64);

impl Phase {
    /// Advances by `increment`; one subtraction keeps the phase in `[0, 1)` because the
    /// increment is below 1.
    #[inline]
    fn advance(&mut self, increment: f64) {
        let next = self.0 + increment;
        self.0 = if next >= 1.0 { next - 1.0 } else { next };
    }
}

/// Runs one block of an oscillator: works out each sample's frequency and phase increment,
/// calls `wave(phase, increment, sample_index)` and scales by `gain`.
#[inline]
fn run_oscillator(
    phase: &mut Phase,
    inputs: &Inputs<'_>,
    output: &mut Block,
    frequencies: &Block,
    gains: &Block,
    sample_rate: f32,
    mut wave: impl FnMut(f64, f64, usize) -> f32,
) {
    let Some(sample_rate) = usable_sample_rate(sample_rate) else {
        *output = SILENCE;
        return;
    };
    let base = input(inputs, 0).unwrap_or(frequencies);
    let offset = input(inputs, 1).unwrap_or(&SILENCE);
    let seconds_per_sample = 1.0 / f64::from(sample_rate);
    let max_increment = f64::from(MAX_FREQUENCY_RATIO);
    let samples = output.iter_mut().zip(base).zip(offset).zip(gains);
    for (index, (((out, &base), &offset), &gain)) in samples.enumerate() {
        let frequency = clamp_frequency(base + offset, sample_rate);
        let increment = (f64::from(frequency) * seconds_per_sample).min(max_increment);
        *out = gain * wave(phase.0, increment, index);
        phase.advance(increment);
    }
}

/// Correction for a unit upward step at phase 0, seen at phase `q` in `[0, 1)` with phase
/// increment `increment` per sample (the two-sample polyBLEP residual).
#[inline]
fn poly_blep(q: f64, increment: f64) -> f64 {
    if q < increment {
        // `d` samples after the step.
        let d = q / increment;
        -0.5 * (1.0 - d) * (1.0 - d)
    } else if q > 1.0 - increment {
        // `d` samples before the step.
        let d = (1.0 - q) / increment;
        0.5 * (1.0 - d) * (1.0 - d)
    } else {
        0.0
    }
}

/// Correction for a unit change of slope (one unit per sample) at phase 0, seen at phase `q`
/// (the two-sample polyBLAMP residual, the integral of [`poly_blep`]'s).
#[inline]
fn poly_blamp(q: f64, increment: f64) -> f64 {
    let d = if q < increment {
        q / increment
    } else if q > 1.0 - increment {
        (1.0 - q) / increment
    } else {
        return 0.0;
    };
    let r = 1.0 - d;
    r * r * r / 6.0
}

/// `x` in `(-1, 1)` wrapped into `[0, 1)`.
#[inline]
fn wrap(x: f64) -> f64 {
    if x < 0.0 { x + 1.0 } else { x }
}

macro_rules! simple_oscillator {
    ($(#[$doc:meta])* $name:ident, $wave:path) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default)]
        pub struct $name {
            phase: Phase,
        }

        impl $name {
            /// Type name in patch files and the registry.
            pub const TYPE_NAME: &'static str = stringify!($name);

            /// A new oscillator at phase 0.
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
                check_keys(state, Self::TYPE_NAME, &[])?;
                Ok(Self::new())
            }
        }

        impl DspNode for $name {
            fn process(
                &mut self,
                inputs: &Inputs<'_>,
                output: &mut Block,
                params: &mut ParamBlock,
                sample_rate: f32,
            ) {
                let mut values = [[0.0; BUFFER_SIZE]; 2];
                fill_params(params, &OSCILLATOR_PARAMS, &mut values);
                let [frequencies, gains] = &values;
                run_oscillator(
                    &mut self.phase,
                    inputs,
                    output,
                    frequencies,
                    gains,
                    sample_rate,
                    |phase, increment, _| $wave(phase, increment),
                );
            }

            fn type_name(&self) -> &'static str {
                Self::TYPE_NAME
            }


            fn cost_hint(&self) -> u64 {

                crate::cost_hint_of(Self::TYPE_NAME)

            }

            fn param_specs(&self) -> &[ParamMeta] {
                &OSCILLATOR_PARAMS
            }

            fn reset(&mut self) {
                self.phase = Phase::default();
            }
        }
    };
}

#[inline]
fn sine_wave(phase: f64, _increment: f64) -> f32 {
    (TAU * phase as f32).sin()
}

#[inline]
fn saw_wave(phase: f64, increment: f64) -> f32 {
    // A rising ramp from -1 to 1 with a downward step of 2 at phase 0.
    let naive = 2.0 * phase - 1.0;
    (naive - 2.0 * poly_blep(phase, increment)) as f32
}

#[inline]
fn triangle_wave(phase: f64, increment: f64) -> f32 {
    // 0 at phase 0, peak +1 at 0.25, trough -1 at 0.75: in phase with the sine.
    let naive = if phase < 0.25 {
        4.0 * phase
    } else if phase < 0.75 {
        2.0 - 4.0 * phase
    } else {
        4.0 * phase - 4.0
    };
    // The slope changes by -8 (peak) and +8 (trough) per period: 8 * increment per sample.
    let corner = 8.0 * increment;
    let peak = poly_blamp(wrap(phase - 0.25), increment);
    let trough = poly_blamp(wrap(phase - 0.75), increment);
    (naive - corner * peak + corner * trough) as f32
}

#[inline]
fn square_wave(phase: f64, increment: f64, width: f64) -> f32 {
    let naive = if phase < width { 1.0 } else { -1.0 };
    let rising = poly_blep(phase, increment);
    let falling = poly_blep(wrap(phase - width), increment);
    (naive + 2.0 * rising - 2.0 * falling) as f32
}

simple_oscillator!(
    /// A sine oscillator: `gain * sin(2π·phase)`.
    ///
    /// Inputs: 0 = frequency in Hz (replaces `freq`), 1 = FM offset in Hz. Parameters:
    /// [`OSCILLATOR_PARAMS`]. State: none. Real-time: one `sin` per sample, no allocation.
    Sine,
    sine_wave
);

simple_oscillator!(
    /// A band-limited rising sawtooth (naive ramp corrected by polyBLEP), from -1 to 1.
    ///
    /// Aliasing, measured at 48 kHz (power at non-harmonic frequencies relative to the
    /// fundamental's): at a 5 kHz fundamental -21 dB in total, strongest line -22 dB, mostly
    /// near Nyquist (a naive saw: -6.7 dB); at 440 Hz -33 dB in total, strongest line -43 dB.
    /// A two-sample polyBLEP cannot do much better at high fundamentals: the first harmonics
    /// above Nyquist are attenuated by only about 9 dB. Harmonics near Nyquist are
    /// attenuated too: measured at a 5 kHz fundamental, -0.3 dB at 5 kHz and -5.3 dB at
    /// 20 kHz against an ideal saw.
    ///
    /// Inputs: 0 = frequency in Hz (replaces `freq`), 1 = FM offset in Hz. Parameters:
    /// [`OSCILLATOR_PARAMS`]. State: none.
    Saw,
    saw_wave
);

simple_oscillator!(
    /// A band-limited triangle (naive triangle corrected by polyBLAMP at its corners), from
    /// -1 to 1, in phase with [`Sine`].
    ///
    /// Inputs: 0 = frequency in Hz (replaces `freq`), 1 = FM offset in Hz. Parameters:
    /// [`OSCILLATOR_PARAMS`]. State: none.
    Triangle,
    triangle_wave
);

/// A band-limited pulse wave (naive pulse corrected by polyBLEP at both edges): +1 for the
/// first `width` of each period, -1 for the rest.
///
/// Inputs: 0 = frequency in Hz (replaces `freq`), 1 = FM offset in Hz. Parameters:
/// [`SQUARE_PARAMS`] (`width` 0.05 to 0.95, default 0.5). State: none.
#[derive(Debug, Clone, Default)]
pub struct Square {
    phase: Phase,
}

impl Square {
    /// Type name in patch files and the registry.
    pub const TYPE_NAME: &'static str = "Square";

    /// A new oscillator at phase 0.
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
        check_keys(state, Self::TYPE_NAME, &[])?;
        Ok(Self::new())
    }
}

impl DspNode for Square {
    fn process(
        &mut self,
        inputs: &Inputs<'_>,
        output: &mut Block,
        params: &mut ParamBlock,
        sample_rate: f32,
    ) {
        let mut values = [[0.0; BUFFER_SIZE]; 3];
        fill_params(params, &SQUARE_PARAMS, &mut values);
        let [frequencies, gains, widths] = &values;
        run_oscillator(
            &mut self.phase,
            inputs,
            output,
            frequencies,
            gains,
            sample_rate,
            |phase, increment, index| {
                let width = widths.get(index).copied().unwrap_or(WIDTH.default);
                square_wave(phase, increment, f64::from(width))
            },
        );
    }

    fn type_name(&self) -> &'static str {
        Self::TYPE_NAME
    }

    fn cost_hint(&self) -> u64 {
        crate::cost_hint_of(Self::TYPE_NAME)
    }

    fn param_specs(&self) -> &[ParamMeta] {
        &SQUARE_PARAMS
    }

    fn reset(&mut self) {
        self.phase = Phase::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blep_residual_is_continuous_and_half_at_the_step() {
        let increment = 0.1;
        // Just before the step (q -> 1) and just after (q -> 0) the corrected step meets at 0.5.
        let before = poly_blep(1.0 - 1e-12, increment);
        let after = 1.0 + poly_blep(1e-12, increment);
        assert!((before - 0.5).abs() < 1e-9, "{before}");
        assert!((after - 0.5).abs() < 1e-9, "{after}");
        // Outside two samples around the step there is no correction.
        assert_eq!(poly_blep(0.5, increment), 0.0);
        assert_eq!(poly_blep(0.1, increment), 0.0);
    }

    #[test]
    fn blamp_residual_is_a_sixth_at_the_corner_and_zero_away() {
        let increment = 0.05;
        assert!((poly_blamp(0.0, increment) - 1.0 / 6.0).abs() < 1e-12);
        assert!((poly_blamp(1.0 - 1e-12, increment) - 1.0 / 6.0).abs() < 1e-9);
        assert_eq!(poly_blamp(0.3, increment), 0.0);
    }

    #[test]
    fn zero_frequency_holds_the_phase_without_dividing_by_zero() {
        let mut saw = Saw::new();
        let mut params = ParamBlock::from_metas(&OSCILLATOR_PARAMS).unwrap();
        params.set_target(FREQ_PARAM, 0.0, 0).unwrap();
        let mut out = [1.0; BUFFER_SIZE];
        saw.process(&[None; 8], &mut out, &mut params, 48_000.0);
        assert!(out.iter().all(|&x| x == -1.0), "{out:?}");
    }

    #[test]
    fn phase_stays_in_range_at_the_highest_increment() {
        let mut phase = Phase(0.99);
        for _ in 0..1000 {
            phase.advance(f64::from(MAX_FREQUENCY_RATIO));
            assert!((0.0..1.0).contains(&phase.0));
        }
    }
}
