//! [`Delay`]: a feedback delay line, allocated once at construction.

use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

use aether_graph::{BUFFER_SIZE, Block, DspNode, Inputs, NodeState, StateError, StateValue};
use aether_params::{ParamBlock, ParamMeta, Unit};

use crate::util::{SILENCE, check_keys, fill_params, float_or, flush, input, usable_sample_rate};

/// State key of the longest delay, in seconds (a number in `(0, 60]`, default 2).
pub const MAX_SECONDS_KEY: &str = "max_seconds";
/// State key of the highest sample rate the longest delay must fit at, in Hz (a number in
/// `[1 000, 384 000]`, default 96 000).
pub const MAX_SAMPLE_RATE_KEY: &str = "max_sample_rate";
/// Default longest delay, in seconds.
pub const DEFAULT_MAX_SECONDS: f64 = 2.0;
/// Default highest sample rate the longest delay fits at, in Hz.
pub const DEFAULT_MAX_SAMPLE_RATE: f64 = 96_000.0;
/// Upper bound of [`MAX_SECONDS_KEY`] (and of the `time` parameter).
pub const MAX_DELAY_SECONDS: f64 = 60.0;
/// Most samples a delay line may hold (2^24, 64 MiB of `f32`).
pub const MAX_LINE_SAMPLES: usize = 1 << 24;

/// Parameters of [`Delay`]: `time` (seconds, 0 to 60, default 0.25; clamped to the line's
/// length), `feedback` (0 to 0.99, default 0.3), `mix` (0 = dry only, 1 = delayed only,
/// default 0.5).
pub const DELAY_PARAMS: [ParamMeta; 3] = [
    ParamMeta::new("time", 0.0, MAX_DELAY_SECONDS as f32, 0.25, Unit::Seconds),
    ParamMeta::new("feedback", 0.0, 0.99, 0.3, Unit::None),
    ParamMeta::new("mix", 0.0, 1.0, 0.5, Unit::None),
];
/// Index of [`Delay`]'s `time` parameter.
pub const DELAY_TIME_PARAM: usize = 0;
/// Index of [`Delay`]'s `feedback` parameter.
pub const DELAY_FEEDBACK_PARAM: usize = 1;
/// Index of [`Delay`]'s `mix` parameter.
pub const DELAY_MIX_PARAM: usize = 2;

/// Where a read `back` samples behind write position `write` lands, in a line of `len`
/// samples. Needs `write < len` and `back <= len`.
#[inline]
fn behind(write: usize, back: usize, len: usize) -> usize {
    if write >= back {
        write - back
    } else {
        write + len - back
    }
}

/// The line length for `max_seconds` at `max_sample_rate`, after checking both.
fn line_len_for(max_seconds: f64, max_sample_rate: f64) -> Result<usize, StateError> {
    if !(max_seconds.is_finite() && max_seconds > 0.0 && max_seconds <= MAX_DELAY_SECONDS) {
        return Err(StateError::Invalid {
            key: MAX_SECONDS_KEY,
            reason: format!("{max_seconds} is outside (0, {MAX_DELAY_SECONDS}]"),
        });
    }
    if !(1_000.0..=384_000.0).contains(&max_sample_rate) {
        return Err(StateError::Invalid {
            key: MAX_SAMPLE_RATE_KEY,
            reason: format!("{max_sample_rate} is outside [1000, 384000]"),
        });
    }
    // Finite and at most 60 * 384 000: fits a usize comfortably.
    let longest = (max_seconds * max_sample_rate).ceil() as usize;
    let len = longest.saturating_add(1);
    if len > MAX_LINE_SAMPLES {
        return Err(StateError::Invalid {
            key: MAX_SECONDS_KEY,
            reason: format!(
                "{max_seconds} s at {max_sample_rate} Hz needs {len} samples, more than \
                 {MAX_LINE_SAMPLES}"
            ),
        });
    }
    Ok(len)
}

/// A delay line with feedback:
/// `delayed = line(time · sr samples ago)`, `line ← input + feedback · delayed`,
/// `output = (1 - mix) · input + mix · delayed`.
///
/// Inputs: 0 = signal (silence when unconnected). Parameters: [`DELAY_PARAMS`], smoothed per
/// sample. State: `max_seconds` (default 2) and `max_sample_rate` (default 96 000 Hz).
///
/// # Timing and memory
///
/// The line holds `ceil(max_seconds · max_sample_rate) + 1` samples, allocated by the
/// constructor (control thread) and never resized; `process` never allocates. The delay in
/// samples is `time · sample_rate` (computed in `f32`), clamped to `[1, line length - 1]`: at
/// least one sample (the feedback path needs it), and at most `max_seconds` at
/// `max_sample_rate` (longer at lower rates, shorter at higher rates). A whole number of samples
/// is exact: an impulse comes out exactly that many samples later, unchanged. Fractional delays
/// are read with linear interpolation, so a moving `time` glides (tape-style pitch bend) instead
/// of clicking. Non-finite samples are written into the line as 0, so a NaN never circulates,
/// and so are samples below [`TINY`](crate::TINY) in magnitude, so a dying echo ends in true
/// silence instead of denormals.
/// [`reset`](DspNode::reset) zeroes the whole line (O(line length)).
#[derive(Debug, Clone)]
pub struct Delay {
    max_seconds: f64,
    max_sample_rate: f64,
    line: Vec<f32>,
    write: usize,
}

impl Delay {
    /// Type name in patch files and the registry.
    pub const TYPE_NAME: &'static str = "Delay";

    /// A delay line holding `max_seconds` at up to `max_sample_rate` Hz. Allocates the line.
    ///
    /// # Errors
    ///
    /// [`StateError::Invalid`] if `max_seconds` is not in `(0, 60]`, `max_sample_rate` not in
    /// `[1 000, 384 000]`, or the line would exceed [`MAX_LINE_SAMPLES`].
    pub fn new(max_seconds: f64, max_sample_rate: f64) -> Result<Self, StateError> {
        let len = line_len_for(max_seconds, max_sample_rate)?;
        Ok(Self {
            max_seconds,
            max_sample_rate,
            line: vec![0.0; len],
            write: 0,
        })
    }

    /// The bytes of delay line [`from_state`](Self::from_state) would allocate for `state`,
    /// after the same checks, without allocating them: the node's
    /// [`Footprint`](aether_graph::Footprint), so a patch can be held to a memory budget.
    ///
    /// # Errors
    ///
    /// Exactly those of [`from_state`](Self::from_state).
    pub fn state_bytes(state: &NodeState) -> Result<usize, StateError> {
        let (max_seconds, max_sample_rate) = Self::settings(state)?;
        let len = line_len_for(max_seconds, max_sample_rate)?;
        Ok(len * core::mem::size_of::<f32>())
    }

    /// The checked settings in `state`: `(max_seconds, max_sample_rate)`.
    fn settings(state: &NodeState) -> Result<(f64, f64), StateError> {
        check_keys(
            state,
            Self::TYPE_NAME,
            &[MAX_SECONDS_KEY, MAX_SAMPLE_RATE_KEY],
        )?;
        let max_seconds = float_or(state, MAX_SECONDS_KEY, DEFAULT_MAX_SECONDS)?;
        let max_sample_rate = float_or(state, MAX_SAMPLE_RATE_KEY, DEFAULT_MAX_SAMPLE_RATE)?;
        Ok((max_seconds, max_sample_rate))
    }

    /// Builds the node from saved settings (`max_seconds`, `max_sample_rate`).
    ///
    /// # Errors
    ///
    /// [`StateError::WrongType`] for a non-number, [`StateError::Invalid`] as for
    /// [`new`](Self::new) or for an unknown entry.
    pub fn from_state(state: &NodeState) -> Result<Self, StateError> {
        let (max_seconds, max_sample_rate) = Self::settings(state)?;
        Self::new(max_seconds, max_sample_rate)
    }

    /// The line's length in samples (the longest delay is one less).
    #[must_use]
    pub fn line_len(&self) -> usize {
        self.line.len()
    }

    /// The longest delay in seconds at `sample_rate`.
    #[must_use]
    pub fn longest_delay(&self, sample_rate: f32) -> f64 {
        self.line.len().saturating_sub(1) as f64 / f64::from(sample_rate)
    }
}

impl Default for Delay {
    /// [`DEFAULT_MAX_SECONDS`] at [`DEFAULT_MAX_SAMPLE_RATE`].
    fn default() -> Self {
        let len = (DEFAULT_MAX_SECONDS * DEFAULT_MAX_SAMPLE_RATE) as usize + 1;
        Self {
            max_seconds: DEFAULT_MAX_SECONDS,
            max_sample_rate: DEFAULT_MAX_SAMPLE_RATE,
            line: vec![0.0; len],
            write: 0,
        }
    }
}

impl DspNode for Delay {
    fn process(
        &mut self,
        inputs: &Inputs<'_>,
        output: &mut Block,
        params: &mut ParamBlock,
        sample_rate: f32,
    ) {
        let mut values = [[0.0; BUFFER_SIZE]; 3];
        fill_params(params, &DELAY_PARAMS, &mut values);
        let Some(sample_rate) = usable_sample_rate(sample_rate) else {
            *output = SILENCE;
            return;
        };
        let [times, feedbacks, mixes] = &values;
        let signal = input(inputs, 0).unwrap_or(&SILENCE);
        let len = self.line.len();
        // The constructor makes `len >= 2`; treat anything shorter as a pass-through.
        if len < 2 {
            *output = *signal;
            return;
        }
        let longest = (len - 1) as f64;
        let mut write = self.write.min(len - 1);
        let samples = output
            .iter_mut()
            .zip(signal)
            .zip(times.iter().zip(feedbacks).zip(mixes));
        for ((out, &x), ((&time, &feedback), &mix)) in samples {
            // max/min rather than clamp: no panic path, whatever the product.
            let delay = f64::from(time * sample_rate).max(1.0).min(longest);
            // 1 <= whole <= len - 1, so both taps are at most `len` behind.
            // Truncation is floor for a positive delay (and needs no libm call).
            let whole = (delay as usize).max(1).min(len - 1);
            let fraction = (delay - whole as f64) as f32;
            let near = self
                .line
                .get(behind(write, whole, len))
                .copied()
                .unwrap_or(0.0);
            let far = self
                .line
                .get(behind(write, whole + 1, len))
                .copied()
                .unwrap_or(0.0);
            let delayed = near * (1.0 - fraction) + far * fraction;
            let fed_back = x + feedback * delayed;
            if let Some(slot) = self.line.get_mut(write) {
                *slot = flush(fed_back);
            }
            *out = x * (1.0 - mix) + delayed * mix;
            write += 1;
            if write == len {
                write = 0;
            }
        }
        self.write = write;
    }

    fn type_name(&self) -> &'static str {
        Self::TYPE_NAME
    }

    fn cost_hint(&self) -> u64 {
        crate::cost_hint_of(Self::TYPE_NAME)
    }

    fn param_specs(&self) -> &[ParamMeta] {
        &DELAY_PARAMS
    }

    fn reset(&mut self) {
        self.line.fill(0.0);
        self.write = 0;
    }

    fn save_state(&self) -> NodeState {
        NodeState::new()
            .with(MAX_SECONDS_KEY, StateValue::Float(self.max_seconds))
            .with(MAX_SAMPLE_RATE_KEY, StateValue::Float(self.max_sample_rate))
    }

    fn load_state(&mut self, state: &NodeState) -> Result<(), StateError> {
        *self = Self::from_state(state)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taps_wrap_around_the_line() {
        assert_eq!(behind(5, 2, 10), 3);
        assert_eq!(behind(1, 2, 10), 9);
        assert_eq!(behind(0, 10, 10), 0);
        assert_eq!(behind(9, 10, 10), 9);
    }

    #[test]
    fn default_matches_the_default_state() {
        let from_state = Delay::from_state(&NodeState::new()).unwrap();
        assert_eq!(Delay::default().line_len(), from_state.line_len());
        assert_eq!(from_state.line_len(), 192_001);
    }

    #[test]
    fn bad_sizes_are_refused() {
        for (seconds, rate) in [
            (0.0, 48_000.0),
            (-1.0, 48_000.0),
            (61.0, 48_000.0),
            (f64::NAN, 48_000.0),
            (1.0, 999.0),
            (1.0, f64::INFINITY),
            (60.0, 384_000.0),
        ] {
            assert!(Delay::new(seconds, rate).is_err(), "{seconds} {rate}");
        }
    }
}
