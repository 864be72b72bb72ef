//! [`Sequencer`]: steps through a list of notes and outputs each one's frequency in Hz.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use aether_graph::{BUFFER_SIZE, Block, DspNode, Inputs, NodeState, StateError, StateValue};
use aether_params::{ParamBlock, ParamMeta, Unit};

use crate::clock::MAX_CLOCK_INCREMENT;
use crate::util::{MAX_FREQUENCY_RATIO, check_keys, fill_params, input, is_high};
use crate::util::{SILENCE, advance_clock, usable_sample_rate};

/// State key of the note list: text, note numbers separated by spaces or commas.
pub const NOTES_KEY: &str = "notes";
/// The notes a sequencer plays when its state has none (a C major arpeggio).
pub const DEFAULT_NOTES: &str = "60 64 67 72";
/// [`DEFAULT_NOTES`] as numbers.
const DEFAULT_NOTE_NUMBERS: [f32; 4] = [60.0, 64.0, 67.0, 72.0];
/// Most notes a sequence holds.
pub const MAX_NOTES: usize = 1024;
/// Frequency of note 69 (A4), in Hz: equal temperament, `440 · 2^((note - 69) / 12)`.
pub const A4_HZ: f64 = 440.0;

/// Parameters of [`Sequencer`]: `rate` (steps per second, 0 to 100, default 4; used only when
/// no clock is connected) and `transpose` (semitones, -48 to 48, default 0).
pub const SEQUENCER_PARAMS: [ParamMeta; 2] = [
    ParamMeta::new("rate", 0.0, 100.0, 4.0, Unit::Hertz),
    ParamMeta::new("transpose", -48.0, 48.0, 0.0, Unit::Semitones),
];
/// Index of [`Sequencer`]'s `rate` parameter.
pub const SEQUENCER_RATE_PARAM: usize = 0;
/// Index of [`Sequencer`]'s `transpose` parameter.
pub const SEQUENCER_TRANSPOSE_PARAM: usize = 1;

/// Equal-tempered frequency of a (possibly fractional) note number.
fn note_to_hz(note: f64) -> f64 {
    A4_HZ * ((note - 69.0) / 12.0).exp2()
}

/// Parses a note list: 1 to [`MAX_NOTES`] numbers in `[0, 127]` (fractions allowed, for
/// microtonal steps), separated by whitespace or commas.
fn parse_notes(text: &str) -> Result<Vec<f32>, StateError> {
    let invalid = |reason: String| StateError::Invalid {
        key: NOTES_KEY,
        reason,
    };
    let mut notes = Vec::new();
    for token in text
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|token| !token.is_empty())
    {
        let note: f32 = token
            .parse()
            .map_err(|_| invalid(format!("{token:?} is not a note number")))?;
        if !(0.0..=127.0).contains(&note) {
            return Err(invalid(format!("note {token} is outside 0 to 127")));
        }
        if notes.len() == MAX_NOTES {
            return Err(invalid(format!("more than {MAX_NOTES} notes")));
        }
        notes.push(note);
    }
    if notes.is_empty() {
        return Err(invalid(String::from("the list has no notes")));
    }
    Ok(notes)
}

/// A step sequencer: outputs the frequency in Hz of the current note of a list, to drive an
/// oscillator's frequency input (input 0).
///
/// Inputs: 0 = clock. When connected, each rising edge (crossing above 0.5) moves to the next
/// step; the first edge plays the first note, so a [`Gate`](crate::Gate) feeding both this
/// clock and an [`Adsr`](crate::Adsr) plays note 1 on its first pulse. When unconnected, an
/// internal clock advances one step every `1 / rate` seconds (exactly every 12 000 samples for
/// 4 Hz at 48 kHz), starting at the first note.
/// After the last note the sequence starts again. Before the first clock edge the output is the
/// first note's frequency, so an oscillator is always in tune.
///
/// Parameters: [`SEQUENCER_PARAMS`]. State: `notes` (text, default [`DEFAULT_NOTES`]),
/// parsed and validated at construction into a list allocated once; frequencies are
/// `440 · 2^((note + transpose - 69) / 12)`, recomputed only when the step or `transpose`
/// changes. Output frequencies are clamped below `MAX_FREQUENCY_RATIO * sample_rate`.
#[derive(Debug, Clone)]
pub struct Sequencer {
    text: String,
    notes: Vec<f32>,
    step: usize,
    /// `true` once the clock input has produced its first rising edge.
    started: bool,
    clock_high: bool,
    /// Internal clock phase in `[0, 1)`.
    phase: f64,
    /// `(step, transpose)` of the cached frequency.
    cached_for: Option<(usize, f32)>,
    frequency: f32,
}

impl Sequencer {
    /// Type name in patch files and the registry.
    pub const TYPE_NAME: &'static str = "Sequencer";

    /// A sequencer playing `notes` (see [`NOTES_KEY`] for the format).
    ///
    /// # Errors
    ///
    /// [`StateError::Invalid`] for an empty list, a token that is not a number, a note outside
    /// `[0, 127]` or more than [`MAX_NOTES`] notes.
    pub fn new(notes: &str) -> Result<Self, StateError> {
        let parsed = parse_notes(notes)?;
        Ok(Self::with_notes(String::from(notes), parsed))
    }

    fn with_notes(text: String, notes: Vec<f32>) -> Self {
        Self {
            text,
            notes,
            step: 0,
            started: false,
            clock_high: false,
            phase: 0.0,
            cached_for: None,
            frequency: 0.0,
        }
    }

    /// The note numbers, in order.
    #[must_use]
    pub fn notes(&self) -> &[f32] {
        &self.notes
    }

    /// The index of the step playing now.
    #[must_use]
    pub fn step(&self) -> usize {
        self.step
    }

    /// Builds the node from saved settings (`notes`).
    ///
    /// # Errors
    ///
    /// [`StateError::WrongType`] for non-text notes, [`StateError::Invalid`] as for
    /// [`new`](Self::new) or for an unknown entry.
    pub fn from_state(state: &NodeState) -> Result<Self, StateError> {
        check_keys(state, Self::TYPE_NAME, &[NOTES_KEY])?;
        match state.get(NOTES_KEY) {
            None => Self::new(DEFAULT_NOTES),
            Some(_) => Self::new(state.text(NOTES_KEY)?),
        }
    }

    /// Moves to the next step, wrapping after the last.
    #[inline]
    fn advance(&mut self) {
        let next = self.step.saturating_add(1);
        self.step = if next >= self.notes.len() { 0 } else { next };
    }

    /// The current step's frequency with `transpose`, cached.
    #[inline]
    fn current_frequency(&mut self, transpose: f32) -> f32 {
        if self.cached_for != Some((self.step, transpose)) {
            let note = self.notes.get(self.step).copied().unwrap_or(69.0);
            self.frequency = note_to_hz(f64::from(note) + f64::from(transpose)) as f32;
            self.cached_for = Some((self.step, transpose));
        }
        self.frequency
    }
}

impl Default for Sequencer {
    /// Plays [`DEFAULT_NOTES`].
    fn default() -> Self {
        Self::with_notes(String::from(DEFAULT_NOTES), DEFAULT_NOTE_NUMBERS.to_vec())
    }
}

impl DspNode for Sequencer {
    fn process(
        &mut self,
        inputs: &Inputs<'_>,
        output: &mut Block,
        params: &mut ParamBlock,
        sample_rate: f32,
    ) {
        let mut values = [[0.0; BUFFER_SIZE]; 2];
        fill_params(params, &SEQUENCER_PARAMS, &mut values);
        let Some(sample_rate) = usable_sample_rate(sample_rate) else {
            *output = SILENCE;
            return;
        };
        let [rates, transposes] = &values;
        let highest = MAX_FREQUENCY_RATIO * sample_rate;
        let clock = input(inputs, 0);
        let seconds_per_sample = 1.0 / f64::from(sample_rate);
        for (index, ((out, &rate), &transpose)) in
            output.iter_mut().zip(rates).zip(transposes).enumerate()
        {
            match clock {
                Some(clock) => {
                    // An edge on this sample plays the new note on this sample.
                    let high = clock.get(index).is_some_and(|&x| is_high(x));
                    if high && !self.clock_high {
                        if self.started {
                            self.advance();
                        }
                        self.started = true;
                    }
                    self.clock_high = high;
                    *out = self.current_frequency(transpose).min(highest);
                }
                None => {
                    // The internal clock's period starts on this sample; the step changes on
                    // the first sample of the next period.
                    *out = self.current_frequency(transpose).min(highest);
                    let increment = (f64::from(rate) * seconds_per_sample).min(MAX_CLOCK_INCREMENT);
                    if advance_clock(&mut self.phase, increment) {
                        self.advance();
                    }
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
        &SEQUENCER_PARAMS
    }

    fn reset(&mut self) {
        self.step = 0;
        self.started = false;
        self.clock_high = false;
        self.phase = 0.0;
    }

    fn save_state(&self) -> NodeState {
        NodeState::new().with(NOTES_KEY, StateValue::Text(self.text.clone()))
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
    fn default_notes_parse() {
        assert_eq!(parse_notes(DEFAULT_NOTES).unwrap(), DEFAULT_NOTE_NUMBERS);
        assert_eq!(Sequencer::default().notes(), [60.0, 64.0, 67.0, 72.0]);
    }

    #[test]
    fn separators_and_fractions() {
        assert_eq!(parse_notes(" 60,61.5\t62 ").unwrap(), [60.0, 61.5, 62.0]);
    }

    #[test]
    fn bad_lists_are_refused_with_a_reason() {
        for (text, needle) in [
            ("", "no notes"),
            ("60 x", "\"x\" is not a note number"),
            ("128", "outside 0 to 127"),
            ("-1", "outside 0 to 127"),
            ("NaN", "outside 0 to 127"),
        ] {
            let error = parse_notes(text).unwrap_err();
            assert!(error.to_string().contains(needle), "{text}: {error}");
        }
        let long = "60 ".repeat(MAX_NOTES + 1);
        assert!(parse_notes(&long).is_err());
        assert!(parse_notes(&"60 ".repeat(MAX_NOTES)).is_ok());
    }

    #[test]
    fn equal_temperament() {
        assert!((note_to_hz(69.0) - 440.0).abs() < 1e-9);
        assert!((note_to_hz(81.0) - 880.0).abs() < 1e-9);
        assert!((note_to_hz(60.0) - 261.625_565_300_6).abs() < 1e-6);
    }
}
