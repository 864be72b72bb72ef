//! The one range of sample rates AetherDSP supports, checked in one place.
//!
//! Every sample rate the project accepts (an engine's, a patch file's, a command-line flag's)
//! goes through [`check_sample_rate`], so they all agree and a bad one gets the same typed
//! error everywhere. The range covers every rate audio hardware and hosts use (8 kHz telephony
//! to 768 kHz converters) with room below for tests and control-rate graphs; outside it, time
//! quantities stop making sense (a block would last more than 64 ms, or a WAV header could not
//! hold the rate) and buffers sized from the rate could not be allocated.

use core::fmt;

/// The lowest supported sample rate, in Hz.
pub const MIN_SAMPLE_RATE: f32 = 1_000.0;

/// The highest supported sample rate, in Hz.
pub const MAX_SAMPLE_RATE: f32 = 768_000.0;

/// A sample rate outside [`MIN_SAMPLE_RATE`]..=[`MAX_SAMPLE_RATE`] (or not a number).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleRateError {
    /// The refused value, in Hz.
    pub value: f32,
}

impl fmt::Display for SampleRateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "sample rate {} Hz is outside the supported range {MIN_SAMPLE_RATE} to \
             {MAX_SAMPLE_RATE} Hz",
            self.value
        )
    }
}

impl core::error::Error for SampleRateError {}

/// `Ok(rate)` when `rate` lies in the supported range (which also excludes NaN and
/// infinities), otherwise the typed error.
///
/// ```
/// use aether_graph::{check_sample_rate, MAX_SAMPLE_RATE};
/// assert_eq!(check_sample_rate(48_000.0), Ok(48_000.0));
/// assert!(check_sample_rate(0.3).is_err());
/// assert!(check_sample_rate(f32::NAN).is_err());
/// assert!(check_sample_rate(MAX_SAMPLE_RATE * 2.0).is_err());
/// ```
pub fn check_sample_rate(rate: f32) -> Result<f32, SampleRateError> {
    if (MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&rate) {
        Ok(rate)
    } else {
        Err(SampleRateError { value: rate })
    }
}
