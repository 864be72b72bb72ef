//! Noise sources: [`WhiteNoise`] and [`PinkNoise`], deterministic given their seed.

use aether_graph::{BUFFER_SIZE, Block, DspNode, Inputs, NodeState, StateError, StateValue};
use aether_params::{ParamBlock, ParamMeta};

use crate::oscillator::SOURCE_GAIN;
use crate::util::{check_keys, fill_params};

/// Parameters of both noise sources: `gain` (0 to 1, default 1).
pub const NOISE_PARAMS: [ParamMeta; 1] = [SOURCE_GAIN];
/// Index of the noise sources' `gain` parameter.
pub const NOISE_GAIN_PARAM: usize = 0;

/// State key of the noise seed (an integer; any value, including 0, is accepted).
pub const SEED_KEY: &str = "seed";
/// The seed a noise source uses when its state has none.
pub const DEFAULT_SEED: u64 = 0x5EED_AE7E_0000_0001;

/// A small, fast, deterministic generator (xorshift64*), seeded through SplitMix64 so every
/// seed (0 included) gives a well-mixed, non-zero state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rng(u64);

impl Rng {
    fn from_seed(seed: u64) -> Self {
        // One SplitMix64 step.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        // xorshift must not start at 0.
        Rng(if z == 0 { 0x9E37_79B9_7F4A_7C15 } else { z })
    }

    /// The next sample, uniform in `[-1, 1)` on a grid of 2^-23.
    #[inline]
    fn next_bipolar(&mut self) -> f32 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        let bits = x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40; // top 24 bits
        bits as f32 * (1.0 / 8_388_608.0) - 1.0
    }
}

/// Reads the seed from a state (default [`DEFAULT_SEED`]). The integer's bits are the seed.
fn seed_from_state(state: &NodeState, type_name: &'static str) -> Result<u64, StateError> {
    check_keys(state, type_name, &[SEED_KEY])?;
    match state.get(SEED_KEY) {
        None => Ok(DEFAULT_SEED),
        Some(_) => Ok(state.int(SEED_KEY)? as u64),
    }
}

fn seed_state(seed: u64) -> NodeState {
    NodeState::new().with(SEED_KEY, StateValue::Int(seed as i64))
}

/// White noise: independent samples uniform in `[-1, 1)`, times `gain`.
///
/// Inputs: none. Parameters: [`NOISE_PARAMS`]. State: `seed` (integer, default
/// [`DEFAULT_SEED`]); the same seed always gives the same samples, and
/// [`reset`](DspNode::reset) restarts the sequence. Two nodes with the same seed are identical
/// (fully correlated): give each its own seed. Works at any sample rate (even an invalid one:
/// the samples do not depend on it).
#[derive(Debug, Clone)]
pub struct WhiteNoise {
    seed: u64,
    rng: Rng,
}

impl WhiteNoise {
    /// Type name in patch files and the registry.
    pub const TYPE_NAME: &'static str = "WhiteNoise";

    /// White noise from `seed`.
    #[must_use]
    pub fn with_seed(seed: u64) -> Self {
        Self {
            seed,
            rng: Rng::from_seed(seed),
        }
    }

    /// The seed.
    #[must_use]
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Builds the node from saved settings (`seed`).
    ///
    /// # Errors
    ///
    /// [`StateError::WrongType`] for a non-integer seed, [`StateError::Invalid`] for an
    /// unknown entry.
    pub fn from_state(state: &NodeState) -> Result<Self, StateError> {
        Ok(Self::with_seed(seed_from_state(state, Self::TYPE_NAME)?))
    }
}

impl Default for WhiteNoise {
    fn default() -> Self {
        Self::with_seed(DEFAULT_SEED)
    }
}

impl DspNode for WhiteNoise {
    fn process(&mut self, _: &Inputs<'_>, output: &mut Block, params: &mut ParamBlock, _: f32) {
        let mut values = [[0.0; BUFFER_SIZE]; 1];
        fill_params(params, &NOISE_PARAMS, &mut values);
        let [gains] = &values;
        for (out, gain) in output.iter_mut().zip(gains) {
            *out = gain * self.rng.next_bipolar();
        }
    }

    fn type_name(&self) -> &'static str {
        Self::TYPE_NAME
    }

    fn cost_hint(&self) -> u64 {
        crate::cost_hint_of(Self::TYPE_NAME)
    }

    fn param_specs(&self) -> &[ParamMeta] {
        &NOISE_PARAMS
    }

    fn reset(&mut self) {
        self.rng = Rng::from_seed(self.seed);
    }

    fn save_state(&self) -> NodeState {
        seed_state(self.seed)
    }

    fn load_state(&mut self, state: &NodeState) -> Result<(), StateError> {
        *self = Self::from_state(state)?;
        Ok(())
    }
}

/// Paul Kellet's "refined" pink filter: six one-pole sections plus a direct term.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct KelletFilter {
    b: [f32; 7],
}

impl KelletFilter {
    /// Scales the filter's output (peaks near ±9 for full-scale white input) to about ±1.
    const OUTPUT_SCALE: f32 = 0.11;

    #[inline]
    fn process(&mut self, white: f32) -> f32 {
        let [b0, b1, b2, b3, b4, b5, b6] = &mut self.b;
        *b0 = 0.998_86 * *b0 + white * 0.055_517_9;
        *b1 = 0.993_32 * *b1 + white * 0.075_075_9;
        *b2 = 0.969_00 * *b2 + white * 0.153_852;
        *b3 = 0.866_50 * *b3 + white * 0.310_485_6;
        *b4 = 0.550_00 * *b4 + white * 0.532_952_2;
        *b5 = -0.761_6 * *b5 - white * 0.016_898_0;
        let pink = *b0 + *b1 + *b2 + *b3 + *b4 + *b5 + *b6 + white * 0.536_2;
        *b6 = white * 0.115_926;
        pink * Self::OUTPUT_SCALE
    }
}

/// Pink noise (power falling 3 dB per octave): [`WhiteNoise`]'s generator through Paul Kellet's
/// refined pink filter, scaled to about ±1, times `gain`.
///
/// The filter's coefficients are fixed (designed for 44.1 kHz, within 0.05 dB of -3 dB/octave
/// above 9.2 Hz there); at other sample rates the slope is the same and the band edges scale
/// with the rate. Inputs: none. Parameters: [`NOISE_PARAMS`]. State: `seed` (integer, default
/// [`DEFAULT_SEED`]); [`reset`](DspNode::reset) restarts the sequence and clears the filter.
#[derive(Debug, Clone)]
pub struct PinkNoise {
    seed: u64,
    rng: Rng,
    filter: KelletFilter,
}

impl PinkNoise {
    /// Type name in patch files and the registry.
    pub const TYPE_NAME: &'static str = "PinkNoise";

    /// Pink noise from `seed`.
    #[must_use]
    pub fn with_seed(seed: u64) -> Self {
        Self {
            seed,
            rng: Rng::from_seed(seed),
            filter: KelletFilter::default(),
        }
    }

    /// The seed.
    #[must_use]
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Builds the node from saved settings (`seed`).
    ///
    /// # Errors
    ///
    /// [`StateError::WrongType`] for a non-integer seed, [`StateError::Invalid`] for an
    /// unknown entry.
    pub fn from_state(state: &NodeState) -> Result<Self, StateError> {
        Ok(Self::with_seed(seed_from_state(state, Self::TYPE_NAME)?))
    }
}

impl Default for PinkNoise {
    fn default() -> Self {
        Self::with_seed(DEFAULT_SEED)
    }
}

impl DspNode for PinkNoise {
    fn process(&mut self, _: &Inputs<'_>, output: &mut Block, params: &mut ParamBlock, _: f32) {
        let mut values = [[0.0; BUFFER_SIZE]; 1];
        fill_params(params, &NOISE_PARAMS, &mut values);
        let [gains] = &values;
        for (out, gain) in output.iter_mut().zip(gains) {
            *out = gain * self.filter.process(self.rng.next_bipolar());
        }
    }

    fn type_name(&self) -> &'static str {
        Self::TYPE_NAME
    }

    fn cost_hint(&self) -> u64 {
        crate::cost_hint_of(Self::TYPE_NAME)
    }

    fn param_specs(&self) -> &[ParamMeta] {
        &NOISE_PARAMS
    }

    fn reset(&mut self) {
        self.rng = Rng::from_seed(self.seed);
        self.filter = KelletFilter::default();
    }

    fn save_state(&self) -> NodeState {
        seed_state(self.seed)
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
    fn generator_output_stays_in_range_and_seed_zero_works() {
        let mut rng = Rng::from_seed(0);
        let mut min = f32::MAX;
        let mut max = f32::MIN;
        for _ in 0..100_000 {
            let x = rng.next_bipolar();
            min = min.min(x);
            max = max.max(x);
        }
        assert!(min >= -1.0 && max < 1.0, "{min} {max}");
        assert!(min < -0.999 && max > 0.999, "{min} {max}");
    }

    #[test]
    fn negative_seeds_round_trip_through_their_bits() {
        let noise = WhiteNoise::from_state(&seed_state(u64::MAX)).unwrap();
        assert_eq!(noise.seed(), u64::MAX);
        assert_eq!(noise.save_state().int(SEED_KEY), Ok(-1));
    }
}
