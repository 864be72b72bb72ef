//! [`Adsr`]: a gate-driven attack-decay-sustain-release envelope with sample-exact stages.

use aether_graph::{BUFFER_SIZE, Block, DspNode, Inputs, NodeState, StateError};
use aether_params::{ParamBlock, ParamMeta, Unit};

use crate::basic::stateless_constructors;
use crate::util::{SILENCE, fill_params, input, is_high, usable_sample_rate};

/// Parameters of [`Adsr`]: `attack`, `decay`, `release` (seconds, 0 to 30; defaults 0.01, 0.1,
/// 0.2) and `sustain` (level, 0 to 1, default 0.7).
pub const ADSR_PARAMS: [ParamMeta; 4] = [
    ParamMeta::new("attack", 0.0, 30.0, 0.01, Unit::Seconds),
    ParamMeta::new("decay", 0.0, 30.0, 0.1, Unit::Seconds),
    ParamMeta::new("sustain", 0.0, 1.0, 0.7, Unit::None),
    ParamMeta::new("release", 0.0, 30.0, 0.2, Unit::Seconds),
];
/// Index of [`Adsr`]'s `attack` parameter.
pub const ATTACK_PARAM: usize = 0;
/// Index of [`Adsr`]'s `decay` parameter.
pub const DECAY_PARAM: usize = 1;
/// Index of [`Adsr`]'s `sustain` parameter.
pub const SUSTAIN_PARAM: usize = 2;
/// Index of [`Adsr`]'s `release` parameter.
pub const RELEASE_PARAM: usize = 3;

/// Where an envelope is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AdsrStage {
    /// Gate low and fully released: outputs 0.
    #[default]
    Idle,
    /// Rising to 1.
    Attack,
    /// Falling from 1 to the sustain level.
    Decay,
    /// Holding the sustain level while the gate stays high.
    Sustain,
    /// Falling to 0 after the gate went low.
    Release,
}

/// Stage length in samples for `seconds` at `sample_rate`: `round(seconds * sample_rate)`,
/// saturating.
#[inline]
fn stage_samples(seconds: f32, sample_rate: f32) -> u32 {
    // `as` saturates (and maps NaN to 0); the product is non-negative and finite here.
    (f64::from(seconds) * f64::from(sample_rate)).round() as u32
}

/// [`stage_samples`], recomputed only when its inputs change (`round` is a library call on
/// baseline x86-64, too slow to run three times a sample).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct StageLength {
    seconds: f32,
    sample_rate: f32,
    samples: u32,
}

impl StageLength {
    #[inline]
    fn samples(&mut self, seconds: f32, sample_rate: f32) -> u32 {
        if seconds != self.seconds || sample_rate != self.sample_rate {
            *self = StageLength {
                seconds,
                sample_rate,
                samples: stage_samples(seconds, sample_rate),
            };
        }
        self.samples
    }
}

/// A linear segment's value `position` samples in, from `from` to `to` over `length` samples;
/// exactly `to` at `position == length`.
#[inline]
fn segment(from: f32, to: f32, position: u32, length: u32) -> f32 {
    if position >= length {
        to
    } else {
        let fraction = (f64::from(position) / f64::from(length)) as f32;
        from + (to - from) * fraction
    }
}

/// An ADSR envelope of straight-line segments, driven by a gate on input 0 (high when
/// `> 0.5`), output from 0 to 1. Use it as a VCA with [`Multiply`](crate::Multiply)
/// (oscillator × envelope).
///
/// Inputs: 0 = gate (low when unconnected). Parameters: [`ADSR_PARAMS`]. State: none.
///
/// # Timing (sample-exact)
///
/// Stage lengths are `round(seconds * sample_rate)` samples. Call the sample where the gate
/// rises sample 0: the attack goes in a straight line from the level at that moment to 1.0,
/// which it reaches **exactly** at sample `A = round(attack * sr)` (from silence the output is
/// `k / A` at sample `k`); the decay falls in a straight line to `sustain`, reached exactly at
/// sample `A + D`; the level then holds at `sustain` (following the parameter). When the gate
/// falls (sample 0 of the release) the release goes in a straight line from the current level
/// to 0, reached exactly at sample `R`. Every segment takes its full length whatever level it
/// starts from (a retrigger mid-release attacks from that level, without a click). Zero-length
/// stages are skipped within the same sample. Stage lengths follow the parameters sample by
/// sample, so shortening a running stage below the time already spent ends it.
#[derive(Debug, Clone, Default)]
pub struct Adsr {
    stage: AdsrStage,
    /// Samples since the current stage started.
    position: u32,
    /// Level the current stage started from (attack and release).
    from: f32,
    /// Last output.
    level: f32,
    gate: bool,
    /// Attack, decay and release lengths.
    lengths: [StageLength; 3],
}

stateless_constructors!(Adsr);

impl Adsr {
    /// The current stage.
    #[must_use]
    pub fn stage(&self) -> AdsrStage {
        self.stage
    }

    /// The last output value.
    #[must_use]
    pub fn level(&self) -> f32 {
        self.level
    }

    /// One sample: gate edge detection, then the stage machine (at most three stage changes).
    #[inline]
    fn tick(&mut self, gate: bool, lengths: [u32; 3], sustain: f32) -> f32 {
        let [attack, decay, release] = lengths;
        if gate != self.gate {
            self.gate = gate;
            self.stage = if gate {
                AdsrStage::Attack
            } else {
                AdsrStage::Release
            };
            self.from = self.level;
            self.position = 0;
        }
        // Each pass either returns or moves strictly forward through Attack -> Decay -> Sustain.
        let value = loop {
            match self.stage {
                AdsrStage::Idle => break 0.0,
                AdsrStage::Attack if self.position >= attack => {
                    self.position -= attack;
                    self.stage = AdsrStage::Decay;
                }
                AdsrStage::Attack => break segment(self.from, 1.0, self.position, attack),
                AdsrStage::Decay if self.position >= decay => {
                    self.stage = AdsrStage::Sustain;
                }
                AdsrStage::Decay => break segment(1.0, sustain, self.position, decay),
                AdsrStage::Sustain => break sustain,
                AdsrStage::Release if self.position >= release => {
                    self.stage = AdsrStage::Idle;
                }
                AdsrStage::Release => break segment(self.from, 0.0, self.position, release),
            }
        };
        self.position = self.position.saturating_add(1);
        self.level = value;
        value
    }
}

impl DspNode for Adsr {
    fn process(
        &mut self,
        inputs: &Inputs<'_>,
        output: &mut Block,
        params: &mut ParamBlock,
        sample_rate: f32,
    ) {
        let mut values = [[0.0; BUFFER_SIZE]; 4];
        fill_params(params, &ADSR_PARAMS, &mut values);
        let Some(sample_rate) = usable_sample_rate(sample_rate) else {
            *output = SILENCE;
            return;
        };
        let [attacks, decays, sustains, releases] = &values;
        let gates = input(inputs, 0).unwrap_or(&SILENCE);
        let samples = output.iter_mut().zip(gates).zip(
            attacks
                .iter()
                .zip(decays)
                .zip(sustains.iter().zip(releases)),
        );
        for ((out, &gate), ((&attack, &decay), (&sustain, &release))) in samples {
            let [attack_length, decay_length, release_length] = &mut self.lengths;
            let lengths = [
                attack_length.samples(attack, sample_rate),
                decay_length.samples(decay, sample_rate),
                release_length.samples(release, sample_rate),
            ];
            *out = self.tick(is_high(gate), lengths, sustain);
        }
    }

    fn type_name(&self) -> &'static str {
        Self::TYPE_NAME
    }

    fn cost_hint(&self) -> u64 {
        crate::cost_hint_of(Self::TYPE_NAME)
    }

    fn param_specs(&self) -> &[ParamMeta] {
        &ADSR_PARAMS
    }

    fn reset(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_length_stages_collapse_into_one_sample() {
        let mut adsr = Adsr::new();
        assert_eq!(adsr.tick(true, [0, 0, 0], 0.25), 0.25);
        assert_eq!(adsr.stage(), AdsrStage::Sustain);
        assert_eq!(adsr.tick(false, [0, 0, 0], 0.25), 0.0);
        assert_eq!(adsr.stage(), AdsrStage::Idle);
    }

    #[test]
    fn a_retrigger_attacks_from_the_current_level() {
        let mut adsr = Adsr::new();
        for _ in 0..10 {
            adsr.tick(true, [4, 4, 100], 0.5);
        }
        assert_eq!(adsr.level(), 0.5);
        adsr.tick(false, [4, 4, 100], 0.5);
        let released = adsr.tick(false, [4, 4, 100], 0.5);
        assert!(released < 0.5 && released > 0.49);
        assert_eq!(adsr.tick(true, [4, 4, 100], 0.5), released);
        assert_eq!(adsr.stage(), AdsrStage::Attack);
    }
}
